// rows_reduce without subgroup operations: the NR per-invocation partial sums of a multi-row
// kernel summed over the workgroup by a tree in workgroup memory. Invocation r < NR gets the total
// of row r. Needs `override WG` (a power of two), `override NR`, `const NR_MAX`; every invocation
// must call it (barriers).

struct Lane {
    @builtin(local_invocation_index) lid: u32,
}

override RED: u32 = WG * NR;
var<workgroup> red: array<f32, RED>;

fn rows_reduce(acc: ptr<function, array<f32, NR_MAX>>, l: Lane) -> f32 {
    for (var r = 0u; r < NR; r = r + 1u) {
        red[r * WG + l.lid] = (*acc)[r];
    }
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (l.lid < s) {
            for (var r = 0u; r < NR; r = r + 1u) {
                red[r * WG + l.lid] = red[r * WG + l.lid] + red[r * WG + l.lid + s];
            }
        }
        workgroupBarrier();
    }
    return red[min(l.lid, NR - 1u) * WG];
}
