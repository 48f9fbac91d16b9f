//! Absorbed MLA attention on the GPU against cpu::attention::attn_absorbed, on a latent cache with
//! planted outliers (positions whose latent points along the queries of the even heads, so their
//! softmax is sharp; the odd heads stay flat and average many positions): decode at positions 0,
//! 1, 37, 1500 and 4000, prefill chunks (causality inside the chunk, with and without a split into
//! chunks, including chunks that are empty for the first tokens), V2-Lite/V3 dimensions (kv 512,
//! rope 64) with 16 and 128 heads, an odd small shape, and batched decode steps (one token of
//! each of several sequences, each over its own slot of the cache). Runs on lavapipe in CI
//! (WGPU_BACKEND=vulkan). Without an adapter the tests fail when CI is set and skip otherwise.

mod common;
use common::{assert_close, values};

use wgpu_ds::cpu::attention::{attn_absorbed, LatentCache};
use wgpu_ds::gpu::attention::{attn_chunk, encode_attn_absorbed, AttnAbsorbed, QPe};
use wgpu_ds::gpu::ops::{read_f32, storage_f32};
use wgpu_ds::gpu::pipelines::Pipelines;
use wgpu_ds::gpu::recorder::Recorder;
use wgpu_ds::gpu::GpuContext;
use wgpu_ds::model::{CacheType, Place};

/// One attention step: a cache of `n_slots` slots and the queries of n_tok tokens at `places`.
struct Case {
    kv: usize,
    rope: usize,
    n_head: usize,
    places: Vec<Place>,
    n_tok: usize,
    cache: LatentCache,
    q_abs: Vec<f32>,
    q_pe: Vec<f32>,
}

/// Every 61st position (from 7) carries β·d on top of its noise, d a ±1 direction shared with
/// the queries of the even heads, β varying by position: those heads score the planted positions
/// about 10 above the rest (after the scale), a sharp softmax over a few positions.
fn case(kv: usize, rope: usize, n_head: usize, pos0: usize, n_tok: usize) -> Case {
    case_at(
        kv,
        rope,
        n_head,
        Place::run(0, pos0, n_tok),
        pos0 + n_tok,
        1,
    )
}

/// As `case`, with the tokens at `places` over a cache of `n_slots` slots of `n_ctx` positions
/// (each slot's rows from its own noise).
fn case_at(
    kv: usize,
    rope: usize,
    n_head: usize,
    places: Vec<Place>,
    n_ctx: usize,
    n_slots: usize,
) -> Case {
    let w = kv + rope;
    let n_tok = places.len();
    let d: Vec<f32> = values(w, 11)
        .iter()
        .map(|v| if *v < 0.0 { -1.0 } else { 1.0 })
        .collect();
    let mut cache = LatentCache::with_slots(1, n_ctx, n_slots, kv, rope, CacheType::F32);
    for slot in 0..n_slots {
        let noise = values(n_ctx * w, 12 + 100 * slot as u64);
        for s in 0..n_ctx {
            let beta = if s % 61 == 7 {
                0.25 + 0.02 * (s % 5) as f32
            } else {
                0.0
            };
            let row = cache.row_mut(0, Place { slot, pos: s });
            for (j, r) in row.iter_mut().enumerate() {
                *r = noise[s * w + j] + beta * d[j];
            }
        }
    }
    let qn = values(n_tok * n_head * w, 13);
    let (mut q_abs, mut q_pe) = (Vec::new(), Vec::new());
    for t in 0..n_tok {
        for h in 0..n_head {
            let q: Vec<f32> = (0..w)
                .map(|j| {
                    let u = qn[(t * n_head + h) * w + j];
                    if h % 2 == 0 {
                        0.5 * u + d[j]
                    } else {
                        u
                    }
                })
                .collect();
            q_abs.extend_from_slice(&q[..kv]);
            q_pe.extend_from_slice(&q[kv..]);
        }
    }
    Case {
        kv,
        rope,
        n_head,
        places,
        n_tok,
        cache,
        q_abs,
        q_pe,
    }
}

impl Case {
    /// The most positions a token sees.
    fn n_kv(&self) -> usize {
        self.places.iter().map(|p| p.pos + 1).max().unwrap()
    }
    /// Every row of the cache (all slots).
    fn all_rows(&self) -> &[f32] {
        self.cache.rows(0, 0, self.cache.n_slots * self.cache.n_ctx)
    }
}

/// A RoPE of 64 dims (V2-Lite's), for the step table's cos/sin.
fn rope64() -> wgpu_ds::cpu::rope::Rope {
    let model =
        wgpu_ds::model::Model::open("tests/fixtures/oracle/models/tiny-v2lite-s-F32.gguf").unwrap();
    wgpu_ds::cpu::rope::Rope::new(&model.config)
}

/// The test data means something: the even heads put nearly all their weight on the 25 planted
/// positions (most on the 5 strongest), the odd heads spread it over all 1501.
#[test]
fn planted_outliers_make_even_heads_sharp_and_odd_heads_flat() {
    let c = case(512, 64, 2, 1500, 1);
    let rows = c.cache.rows(0, 0, 1501);
    for h in 0..2 {
        let q: Vec<f32> = [&c.q_abs[h * 512..][..512], &c.q_pe[h * 64..][..64]].concat();
        let mut p: Vec<f32> = rows
            .chunks_exact(576)
            .map(|r| r.iter().zip(&q).map(|(a, b)| a * b).sum::<f32>() * SCALE)
            .collect();
        wgpu_ds::cpu::ops::softmax(&mut p);
        let top = p.iter().copied().fold(0.0, f32::max);
        let planted: f32 = p.iter().skip(7).step_by(61).sum();
        eprintln!("head {h}: max weight {top:.3}, planted positions {planted:.3}");
        if h == 0 {
            assert!(top > 0.1 && planted > 0.99, "head 0: {top}, {planted}");
        } else {
            assert!(top < 0.01 && planted < 0.1, "head 1: {top}, {planted}");
        }
    }
}

/// V2-Lite's 1/sqrt(nope + rope) = 1/sqrt(192).
const SCALE: f32 = 0.072_168_78;

/// Runs the GPU kernel (with the encoder's own chunking, or `chunk` positions per chunk) and
/// compares with the CPU.
fn check(ctx: &GpuContext, pipes: &Pipelines, c: &Case, chunk: Option<usize>) {
    let n_kv = c.n_kv();
    let want = attn_absorbed(&c.cache, 0, &c.places, &c.q_abs, &c.q_pe, c.n_head, SCALE);
    let cb = storage_f32(ctx, "cache", c.all_rows());
    let (tb, at) = common::step_table(ctx, &rope64(), &c.places, c.cache.n_ctx);
    let qa = storage_f32(ctx, "q_abs", &c.q_abs);
    let qp = storage_f32(ctx, "q_pe", &c.q_pe);
    let ob = storage_f32(ctx, "out", &vec![f32::NAN; want.len()]);
    let mut enc = Recorder::new();
    let attn = AttnAbsorbed {
        cache: &cb,
        cache_ty: CacheType::F32,
        q_abs: &qa,
        q_pe: QPe::plain(&qp),
        out: &ob,
        table: common::table_of(&tb, at, c.n_tok),
        n_kv,
        n_tok: c.n_tok,
        n_head: c.n_head,
        kv: c.kv,
        rope: c.rope,
        scale: SCALE,
        chunk,
    };
    encode_attn_absorbed(ctx, pipes, &mut enc, &attn);
    enc.submit(ctx, pipes);
    let got = read_f32(ctx, &ob, want.len()).unwrap();
    let ch = chunk.unwrap_or_else(|| attn_chunk(n_kv, c.n_tok, c.n_head));
    let what = format!(
        "attn kv {} rope {} H {} at {:?} T {} ({} chunks of {ch})",
        c.kv,
        c.rope,
        c.n_head,
        &c.places[..c.n_tok.min(3)],
        c.n_tok,
        n_kv.div_ceil(ch)
    );
    assert_close(&what, &got, &want, 1e-5, 1e-4);
}

#[test]
fn attn_absorbed_matches_cpu_decode_v2_lite_dims() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    for pos0 in [0, 1, 37, 1500, 4000] {
        check(&ctx, &pipes, &case(512, 64, 16, pos0, 1), None);
    }
}

#[test]
fn attn_absorbed_prefill_chunk_is_causal() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    // One chunk, written directly.
    check(&ctx, &pipes, &case(512, 64, 16, 3, 5), None);
    // Split in chunks of 64: the last chunk [192, 195) is empty for tokens 0 and 1 (positions
    // 190, 191) and holds one position for token 2.
    check(&ctx, &pipes, &case(512, 64, 16, 190, 5), Some(64));
    // The encoder's own split over a longer prefix.
    check(&ctx, &pipes, &case(512, 64, 16, 300, 5), None);
}

#[test]
fn attn_absorbed_matches_cpu_with_128_heads() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    check(&ctx, &pipes, &case(512, 64, 128, 700, 1), None);
    check(&ctx, &pipes, &case(512, 64, 128, 40, 2), None);
}

#[test]
fn attn_absorbed_matches_cpu_for_an_odd_small_shape() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    // kv not a multiple of the workgroup, rope of 8, 3 heads, tiles cut mid-way.
    check(&ctx, &pipes, &case(72, 8, 3, 70, 2), Some(64));
    // Chunks that are not whole tiles, and one chunk for everything.
    check(&ctx, &pipes, &case(72, 8, 3, 70, 2), Some(37));
    check(&ctx, &pipes, &case(72, 8, 3, 70, 2), Some(4096));
}

/// A batched decode step: one token of each of several sequences, each over its own slot (at
/// positions from 0 to past the split into chunks), equals the CPU's per-slot attention; with
/// the encoder's split and a forced split that leaves chunks empty for the short sequences.
#[test]
fn attn_absorbed_batched_decode_reads_each_tokens_own_slot() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    let places = vec![
        Place { slot: 2, pos: 0 },
        Place { slot: 0, pos: 299 },
        Place { slot: 3, pos: 64 },
        Place { slot: 1, pos: 130 },
    ];
    let c = case_at(512, 64, 16, places, 300, 4);
    check(&ctx, &pipes, &c, None);
    check(&ctx, &pipes, &c, Some(64));
}

/// q_pe read from the rope part of q's rows (128 nope + 64 rope per head) and rotated on load
/// (the executor's folded RoPE) gives the CPU's attention over the rotated q_pe.
#[test]
fn attn_absorbed_rotates_q_pe_on_load_from_q_rows() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    let model =
        wgpu_ds::model::Model::open("tests/fixtures/oracle/models/tiny-v2lite-s-F32.gguf").unwrap();
    let rope = wgpu_ds::cpu::rope::Rope::new(&model.config);
    let d = rope.n_dims();
    let (nope, n_head, pos0, n_tok) = (128, 16, 70, 2);
    let c = case(512, d, n_head, pos0, n_tok);
    // q rows: nope values, then the unrotated q_pe; the CPU attends with the rotated one.
    let stride = nope + d;
    let noise = values(n_tok * n_head * nope, 17);
    let mut q = Vec::new();
    let mut rotated = c.q_pe.clone();
    for th in 0..n_tok * n_head {
        q.extend_from_slice(&noise[th * nope..][..nope]);
        q.extend_from_slice(&c.q_pe[th * d..][..d]);
        rope.apply(&mut rotated[th * d..][..d], pos0 + th / n_head);
    }
    let want = attn_absorbed(&c.cache, 0, &c.places, &c.q_abs, &rotated, n_head, SCALE);
    let cb = storage_f32(&ctx, "cache", c.all_rows());
    let (qa, qb) = (
        storage_f32(&ctx, "q_abs", &c.q_abs),
        storage_f32(&ctx, "q", &q),
    );
    let (tb, at) = common::step_table(&ctx, &rope, &c.places, c.cache.n_ctx);
    let ob = storage_f32(&ctx, "out", &vec![f32::NAN; want.len()]);
    let view = wgpu_ds::gpu::elementwise::RowView {
        stride,
        offset: nope,
    };
    for chunk in [None, Some(64)] {
        let attn = AttnAbsorbed {
            cache: &cb,
            cache_ty: CacheType::F32,
            q_abs: &qa,
            q_pe: QPe {
                buf: &qb,
                view: Some(view),
                rotate: true,
            },
            out: &ob,
            table: common::table_of(&tb, at, n_tok),
            n_kv: pos0 + n_tok,
            n_tok,
            n_head,
            kv: 512,
            rope: d,
            scale: SCALE,
            chunk,
        };
        let mut enc = Recorder::new();
        encode_attn_absorbed(&ctx, &pipes, &mut enc, &attn);
        enc.submit(&ctx, &pipes);
        let got = read_f32(&ctx, &ob, want.len()).unwrap();
        assert_close(
            &format!("q_pe rotated on load, chunk {chunk:?}"),
            &got,
            &want,
            1e-5,
            1e-4,
        );
    }
}

/// With the cache in f16 (halves two per word, each value rounded to the nearest half), the
/// kernel gives the CPU's attention over a cache rounded the same way: at V2-Lite and V3 head
/// counts, one chunk and many.
#[test]
fn attn_absorbed_over_an_f16_cache_matches_cpu_over_the_same_halves() {
    let Some(ctx) = common::gpu() else { return };
    let pipes = Pipelines::default();
    for (n_head, pos0, chunk) in [(16, 1500, None), (16, 1500, Some(64)), (128, 300, None)] {
        let mut c = case(512, 64, n_head, pos0, 1);
        let n_kv = pos0 + 1;
        let w = c.kv + c.rope;
        // Round the cache as an f16 cache stores it, and pack the halves two per word.
        let mut halves = Vec::with_capacity(n_kv * w);
        for s in 0..n_kv {
            let row: Vec<f32> = c.cache.rows(0, 0, n_kv)[s * w..][..w].to_vec();
            c.cache.store(
                0,
                Place { slot: 0, pos: s },
                &CacheType::F16.round_row(&row[..c.kv]),
                &CacheType::F16.round_row(&row[c.kv..]),
            );
            halves.extend(row.iter().map(|&v| half::f16::from_f32(v).to_bits()));
        }
        let words: Vec<u32> = halves
            .chunks(2)
            .map(|p| p[0] as u32 | (p[1] as u32) << 16)
            .collect();
        let want = attn_absorbed(&c.cache, 0, &c.places, &c.q_abs, &c.q_pe, n_head, SCALE);
        let (tb, at) = common::step_table(&ctx, &rope64(), &c.places, n_kv);
        let cb = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("cache f16"),
            size: (words.len() * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        ctx.queue.write_buffer(&cb, 0, bytemuck::cast_slice(&words));
        let qa = storage_f32(&ctx, "q_abs", &c.q_abs);
        let qp = storage_f32(&ctx, "q_pe", &c.q_pe);
        let ob = storage_f32(&ctx, "out", &vec![f32::NAN; want.len()]);
        let attn = AttnAbsorbed {
            cache: &cb,
            cache_ty: CacheType::F16,
            q_abs: &qa,
            q_pe: QPe::plain(&qp),
            out: &ob,
            table: common::table_of(&tb, at, 1),
            n_kv,
            n_tok: 1,
            n_head,
            kv: c.kv,
            rope: c.rope,
            scale: SCALE,
            chunk,
        };
        let mut enc = Recorder::new();
        encode_attn_absorbed(&ctx, &pipes, &mut enc, &attn);
        enc.submit(&ctx, &pipes);
        let got = read_f32(&ctx, &ob, want.len()).unwrap();
        let what = format!("f16 cache, {n_head} heads, pos0 {pos0}, chunk {chunk:?}");
        assert_close(&what, &got, &want, 1e-5, 1e-4);
    }
}
