// matvec's unit interface for types whose unit is 32 elements (two runs of 16): unit_dot_x takes
// the four runs matvec loads for 64-element units and dots the first two.
const UNIT: u32 = 32u;

fn unit_dot_x(b: u32, ub: u32, x0: X16, x1: X16, x2: X16, x3: X16) -> f32 {
    return unit_dot(b, ub, x0, x1);
}
