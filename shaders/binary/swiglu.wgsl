// swiglu: silu(gate) · up, silu(g) = g / (1 + exp(-g)). CPU twin: the SwiGlu op in cpu/mod.rs
// with cpu::ops::silu. For g < -88 exp(-g) overflows to +inf and silu gives -0, as on the CPU.
fn binary_op(gate: f32, up: f32) -> f32 {
    return gate / (1.0 + exp(-gate)) * up;
}
