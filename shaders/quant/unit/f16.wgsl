// unit_runs for F16: unit of 32 halves at byte b (2-byte aligned), two per word, low half first;
// run j the 16 at b + 32j.
// Layout: quant/unit/consecutive.wgsl.
fn halves_f32(a: u32, b: u32) -> vec4<f32> {
    return vec4<f32>(f16_bits_to_f32(a & 0xffffu), f16_bits_to_f32(a >> 16u),
                     f16_bits_to_f32(b & 0xffffu), f16_bits_to_f32(b >> 16u));
}

fn f16_run(r: u32) -> Run {
    let p = load_16(r);
    let q = load_16(r + 16u);
    return Run(halves_f32(p.x, p.y), halves_f32(p.z, p.w), halves_f32(q.x, q.y), halves_f32(q.z, q.w), 1.0, 0.0);
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    return runs2(f16_run(b), f16_run(b + 32u));
}
