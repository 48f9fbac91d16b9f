// Online softmax over positions walked in tiles of WG (one position per invocation), shared by
// the attention kernels. Needs common/reduce.wgsl and `const WG`.

const NEG: f32 = -3.0e38;

// Running max m and sum l = Σ exp(score − m) of the positions folded in so far.
struct Softmax {
    m: f32,
    l: f32,
}

var<workgroup> tile_p: array<f32, WG>;  // exp(score − m) of the tile's positions

fn softmax_start() -> Softmax {
    return Softmax(NEG, 0.0);
}

// Folds one tile into `st`: invocation lid holds the score of its position (`valid` false past
// the last one). Leaves exp(score − m) of the tile's positions in tile_p and returns the factor by
// which the caller must scale what it accumulated so far. Every invocation must call it.
fn softmax_tile(st: ptr<function, Softmax>, score: f32, valid: bool, lid: u32) -> f32 {
    let m_new = max((*st).m, workgroup_max(select(NEG, score, valid), lid));
    var p = 0.0;
    if (valid) {
        p = exp(score - m_new);
    }
    tile_p[lid] = p;
    // workgroup_sum's first barrier also publishes tile_p.
    let tile_l = workgroup_sum(p, lid);
    let alpha = exp((*st).m - m_new);
    (*st).l = (*st).l * alpha + tile_l;
    (*st).m = m_new;
    return alpha;
}
