// Workgroup sum and max of one f32 per invocation, without subgroup operations. Every invocation
// of the workgroup must call them (they contain barriers); all of them get the result. Needs
// `const WG: u32` (a power of two, the workgroup size). Both use one buffer, released by a final
// barrier before they return.

var<workgroup> reduce_buf: array<f32, WG>;

fn workgroup_sum(v: f32, lid: u32) -> f32 {
    reduce_buf[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            reduce_buf[lid] = reduce_buf[lid] + reduce_buf[lid + s];
        }
        workgroupBarrier();
    }
    let total = reduce_buf[0];
    workgroupBarrier();
    return total;
}

fn workgroup_max(v: f32, lid: u32) -> f32 {
    reduce_buf[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            reduce_buf[lid] = max(reduce_buf[lid], reduce_buf[lid + s]);
        }
        workgroupBarrier();
    }
    let m = reduce_buf[0];
    workgroupBarrier();
    return m;
}
