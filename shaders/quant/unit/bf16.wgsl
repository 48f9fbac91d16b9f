// unit_runs for BF16: unit of 32 values at byte b (2-byte aligned), two per word, low half first
// (a bf16 is the top half of an f32); run j the 16 at b + 32j.
// Layout: quant/unit/consecutive.wgsl.
fn bf16s_f32(a: u32, b: u32) -> vec4<f32> {
    return bitcast<vec4<f32>>(vec4<u32>(a << 16u, a & 0xffff0000u, b << 16u, b & 0xffff0000u));
}

fn bf16_run(r: u32) -> Run {
    let p = load_16(r);
    let q = load_16(r + 16u);
    return Run(bf16s_f32(p.x, p.y), bf16s_f32(p.z, p.w), bf16s_f32(q.x, q.y), bf16s_f32(q.z, q.w), 1.0, 0.0);
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    return runs2(bf16_run(b), bf16_run(b + 32u));
}
