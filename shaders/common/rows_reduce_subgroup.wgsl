// rows_reduce with subgroup operations: subgroupAdd per row, then the subgroup totals summed
// through workgroup memory (two barriers). Same contract as common/rows_reduce.wgsl. naga takes
// subgroup operations without an `enable subgroups;` directive (and rejects the directive).

struct Lane {
    @builtin(local_invocation_index) lid: u32,
    @builtin(subgroup_invocation_id) sg_lane: u32,
    @builtin(subgroup_id) sg_id: u32,
    @builtin(num_subgroups) n_sg: u32,
}

override RED: u32 = WG * NACC;
var<workgroup> red: array<f32, RED>;
var<workgroup> row_totals: array<f32, NACC>;

fn rows_reduce(acc: ptr<function, array<f32, ACC_MAX>>, l: Lane) {
    for (var r = 0u; r < NACC; r = r + 1u) {
        let s = subgroupAdd((*acc)[r]);
        if (l.sg_lane == 0u) {
            red[r * WG + l.sg_id] = s;
        }
    }
    workgroupBarrier();
    for (var r = l.lid; r < NACC; r = r + WG) {
        var total = 0.0;
        for (var i = 0u; i < l.n_sg; i = i + 1u) {
            total = total + red[r * WG + i];
        }
        row_totals[r] = total;
    }
    workgroupBarrier();
}
