// moe_route's entry (after moe_route.wgsl): the router reads LOGITS' rows as they are.

@group(0) @binding(6) var<uniform> P: Params;

fn router_x(i: u32) -> f32 {
    return LOGITS[i];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let t = wg.x + wg.y * nwg.x;
    // Whole workgroups leave together, so the barriers in route_token stay uniform.
    if (t >= P.n_tok) {
        return;
    }
    route_token(t, lid);
}
