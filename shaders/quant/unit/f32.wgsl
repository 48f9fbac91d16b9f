// unit_runs for F32: unit of 32 floats at byte b, run j the 16 at b + 64j.
// Layout: quant/unit/consecutive.wgsl.
fn f32_run(r: u32) -> Run {
    return Run(bitcast<vec4<f32>>(load_16(r)), bitcast<vec4<f32>>(load_16(r + 16u)),
               bitcast<vec4<f32>>(load_16(r + 32u)), bitcast<vec4<f32>>(load_16(r + 48u)), 1.0, 0.0);
}

fn unit_runs(b: u32, ub: u32) -> array<Run, 4> {
    return runs2(f32_run(b), f32_run(b + 64u));
}
