// argmax: OUT[0] = the index of the largest of X[0 .. n], ties to the lower index (greedy
// sampling on the GPU, so only one u32 comes back). CPU twin: sample::argmax.
//
// Bindings: X [n] f32, OUT [1] u32, P params.
// Mapping: one workgroup. Invocation i scans i, i + WG, ... keeping its first largest value, then
// a tree reduction over (value, index) pairs keeps the larger value, or the lower index on equal
// values. For the 129,280 logits of V3 that is 505 loads per invocation.

const WG: u32 = 256u;
const NONE: u32 = 0xffffffffu;

struct Params {
    n: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> OUT: array<u32>;
@group(0) @binding(2) var<uniform> P: Params;

var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_i: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
    var bv = 0.0;
    var bi = NONE;
    for (var i = lid; i < P.n; i = i + WG) {
        let v = X[i];
        if (bi == NONE || v > bv) {
            bv = v;
            bi = i;
        }
    }
    best_v[lid] = bv;
    best_i[lid] = bi;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            let oi = best_i[lid + s];
            let ov = best_v[lid + s];
            let mi = best_i[lid];
            let mv = best_v[lid];
            // An invocation that saw nothing has NONE, the largest index: it loses every tie.
            if (oi != NONE && (mi == NONE || ov > mv || (ov == mv && oi < mi))) {
                best_v[lid] = ov;
                best_i[lid] = oi;
            }
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        OUT[0] = select(best_i[0], 0u, best_i[0] == NONE);
    }
}
