// rows_reduce with subgroup operations: subgroupAdd per row, then the subgroup totals summed
// through workgroup memory (one barrier). Same contract as common/rows_reduce.wgsl. naga takes
// subgroup operations without an `enable subgroups;` directive (and rejects the directive).

struct Lane {
    @builtin(local_invocation_index) lid: u32,
    @builtin(subgroup_invocation_id) sg_lane: u32,
    @builtin(subgroup_id) sg_id: u32,
    @builtin(num_subgroups) n_sg: u32,
}

override RED: u32 = WG * NACC;
var<workgroup> red: array<f32, RED>;

fn rows_reduce(acc: ptr<function, array<f32, NR_MAX>>, l: Lane) -> f32 {
    for (var r = 0u; r < NACC; r = r + 1u) {
        let s = subgroupAdd((*acc)[r]);
        if (l.sg_lane == 0u) {
            red[r * WG + l.sg_id] = s;
        }
    }
    workgroupBarrier();
    let r = min(l.lid, NACC - 1u);
    var total = 0.0;
    for (var i = 0u; i < l.n_sg; i = i + 1u) {
        total = total + red[r * WG + i];
    }
    return total;
}
