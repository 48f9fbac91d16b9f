// moe_group: the slots of a multi-token MatMulId listed by expert, for matvec_grouped (a
// reordering of work, not a graph op: tests compare its lists with a count on the CPU).
//   G[m] = Σ_{m' < m} |{s : IDS[s] = m'}|, G[n_expert] = the slots listed,
//   G[n_expert + 1 + G[m] ..] = the slots s with IDS[s] = m, in increasing order.
// Bindings: IDS i32 [n_slots] the expert of each slot (ffn_moe_topk, slot = t · K + k),
//           G i32 [n_expert + 1 + n_slots], P params. A slot whose id is not an expert is not
//           listed.
// Mapping: one workgroup. Invocation i counts experts i, i + WG, ... over all slots, invocation 0
// turns the counts into first indices (a serial prefix sum over at most MAX_EXPERTS), then each
// invocation lists its experts' slots. Every slot is read 2 · n_expert / WG times per
// invocation: a few microseconds for DeepSeek-V3's 256 experts and a 512-token chunk.

const WG: u32 = 64u;
const MAX_EXPERTS: u32 = 1024u;

struct Params {
    n_slots: u32,
    n_expert: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<storage, read> IDS: array<i32>;
@group(0) @binding(1) var<storage, read_write> G: array<i32>;
@group(0) @binding(2) var<uniform> P: Params;

// Expert m's count, then its first index in the list.
var<workgroup> first: array<u32, MAX_EXPERTS>;

fn slots_of(m: u32) -> u32 {
    var n = 0u;
    for (var s = 0u; s < P.n_slots; s = s + 1u) {
        n = n + select(0u, 1u, IDS[s] == i32(m));
    }
    return n;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
    let n_expert = min(P.n_expert, MAX_EXPERTS);
    for (var m = lid; m < n_expert; m = m + WG) {
        first[m] = slots_of(m);
    }
    workgroupBarrier();
    if (lid == 0u) {
        var at = 0u;
        for (var m = 0u; m < n_expert; m = m + 1u) {
            let n = first[m];
            first[m] = at;
            G[m] = i32(at);
            at = at + n;
        }
        G[n_expert] = i32(at);
    }
    workgroupBarrier();
    let list = n_expert + 1u;
    for (var m = lid; m < n_expert; m = m + WG) {
        var at = first[m];
        for (var s = 0u; s < P.n_slots; s = s + 1u) {
            if (IDS[s] == i32(m)) {
                G[list + at] = i32(s);
                at = at + 1u;
            }
        }
    }
}
