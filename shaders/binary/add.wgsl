// add: a + b. CPU twin: the Add op in cpu/mod.rs.
fn binary_op(a: f32, b: f32) -> f32 {
    return a + b;
}
