// rows_reduce without subgroup operations: the NACC per-invocation partial sums of a multi-row
// kernel summed over the workgroup by a tree in workgroup memory, row r's total left in
// row_totals[r] for every invocation to read. Needs `override WG` (a power of two),
// `override NACC`, `const ACC_MAX` (≥ NACC); every invocation must call it (barriers).

struct Lane {
    @builtin(local_invocation_index) lid: u32,
}

override RED: u32 = WG * NACC;
var<workgroup> red: array<f32, RED>;
var<workgroup> row_totals: array<f32, NACC>;

fn rows_reduce(acc: ptr<function, array<f32, ACC_MAX>>, l: Lane) {
    for (var r = 0u; r < NACC; r = r + 1u) {
        red[r * WG + l.lid] = (*acc)[r];
    }
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (l.lid < s) {
            for (var r = 0u; r < NACC; r = r + 1u) {
                red[r * WG + l.lid] = red[r * WG + l.lid] + red[r * WG + l.lid + s];
            }
        }
        workgroupBarrier();
    }
    for (var r = l.lid; r < NACC; r = r + WG) {
        row_totals[r] = red[r * WG];
    }
    workgroupBarrier();
}
