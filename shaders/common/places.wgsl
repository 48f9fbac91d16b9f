// Where token t of a step sits, from the step table (gpu::step_table) that the kernel binds as
// TABLE: array<f32>; P.places_at is the word where the places start, two u32 per token: the
// token's row in a layer's latent cache (slot · n_ctx + position) and the positions it sees
// (position + 1, causal).

fn place_row(t: u32) -> u32 {
    return bitcast<u32>(TABLE[P.places_at + 2u * t]);
}

fn place_n_kv(t: u32) -> u32 {
    return bitcast<u32>(TABLE[P.places_at + 2u * t + 1u]);
}
