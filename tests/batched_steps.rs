//! Steps over several sequences at once (`serve`'s batched decode): each sequence in its own slot
//! of the latent cache, one decode token per sequence per step. The CPU reference's batched
//! logits equal each sequence run alone, and the GPU's batched step agrees with the CPU's node by
//! node (unfused), at the logits (fused), with f32 and f16 caches. Runs on lavapipe in CI
//! (WGPU_BACKEND=vulkan); without an adapter the GPU tests fail when CI is set and skip otherwise.

mod common;

use wgpu_ds::check::{compare, node_tier};
use wgpu_ds::cpu::{Buf, CpuExecutor};
use wgpu_ds::gpu::executor::{GpuExecutor, Readback};
use wgpu_ds::model::{CacheShape, CacheType, Model, Place, StepSpec};
use wgpu_ds::session::Executor;

const MODELS: [&str; 2] = ["tiny-v2lite-s-F32", "tiny-v3-k256-Q4_K_M"];
const N_CTX: usize = 24;

fn model(stem: &str) -> Model {
    Model::open(format!("tests/fixtures/oracle/models/{stem}.gguf")).unwrap()
}

/// Three prompts of different lengths, each in its own slot (slot i holds prompt i).
fn prompts() -> Vec<Vec<u32>> {
    vec![
        vec![1, 17, 300, 42, 7],
        vec![5, 9, 11, 200, 3, 3, 80, 12, 64],
        vec![2, 250],
    ]
}

/// Decode steps: (slot, token) per sequence in the step, in the order of the step's rows. The
/// second step leaves slot 1 out, the third lists the slots in another order.
fn batches() -> Vec<Vec<(usize, u32)>> {
    vec![
        vec![(0, 33), (1, 44), (2, 55)],
        vec![(2, 66), (0, 77)],
        vec![(1, 88), (2, 99), (0, 101)],
    ]
}

/// Runs the prompts (one slot each) and then the batches on `ex`; returns every batch's logits
/// rows, and the places the last batch used.
fn run_batched(ex: &mut dyn Executor) -> (Vec<Vec<f32>>, Vec<usize>) {
    let mut len: Vec<usize> = Vec::new();
    for (slot, p) in prompts().iter().enumerate() {
        ex.step_places(p, &Place::run(slot, 0, p.len()), false)
            .unwrap();
        len.push(p.len());
    }
    let mut out = Vec::new();
    for b in batches() {
        let tokens: Vec<u32> = b.iter().map(|&(_, t)| t).collect();
        let places: Vec<Place> = b
            .iter()
            .map(|&(slot, _)| Place {
                slot,
                pos: len[slot],
            })
            .collect();
        out.push(ex.step_places(&tokens, &places, false).unwrap());
        for &(slot, _) in &b {
            len[slot] += 1;
        }
    }
    (out, len)
}

/// The logits each sequence gets alone: [batch][row] in the batches' row order.
fn run_alone(m: &Model) -> Vec<Vec<f32>> {
    let n_vocab = m.config.n_vocab;
    let mut rows: Vec<Vec<f32>> = batches()
        .iter()
        .map(|b| vec![0.0; b.len() * n_vocab])
        .collect();
    for (slot, p) in prompts().iter().enumerate() {
        let mut ex = CpuExecutor::new(m, N_CTX);
        ex.step(p, 0, false).unwrap();
        let mut pos = p.len();
        for (bi, b) in batches().iter().enumerate() {
            let Some(r) = b.iter().position(|&(s, _)| s == slot) else {
                continue;
            };
            let l = ex.step(&[b[r].1], pos, false).unwrap();
            rows[bi][r * n_vocab..][..n_vocab].copy_from_slice(&l);
            pos += 1;
        }
    }
    rows
}

fn nmse(got: &[f32], want: &[f32]) -> f64 {
    let num: f64 = got
        .iter()
        .zip(want)
        .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
        .sum();
    let den: f64 = want.iter().map(|&b| (b as f64).powi(2)).sum();
    num / den.max(1e-30)
}

#[test]
fn a_batched_cpu_step_equals_each_sequence_run_alone() {
    for stem in MODELS {
        let m = model(stem);
        let mut ex = CpuExecutor::with_slots(&m, N_CTX, 3, CacheType::F32);
        let (got, _) = run_batched(&mut ex);
        for (i, (g, w)) in got.iter().zip(run_alone(&m)).enumerate() {
            assert_eq!(
                g.len(),
                w.len(),
                "{stem} batch {i}: one logits row per sequence"
            );
            assert!(g == &w, "{stem} batch {i}: NMSE {:e}", nmse(g, &w));
        }
    }
}

#[test]
fn places_that_do_not_fit_are_refused() {
    let m = model(MODELS[0]);
    let mut ex = CpuExecutor::with_slots(&m, N_CTX, 2, CacheType::F32);
    let bad = [
        // a slot the cache does not have
        vec![Place { slot: 2, pos: 0 }],
        // a position past the context
        vec![Place {
            slot: 0,
            pos: N_CTX,
        }],
        // two tokens of one batch in one slot, not consecutive
        vec![Place { slot: 1, pos: 3 }, Place { slot: 1, pos: 5 }],
    ];
    for places in bad {
        let tokens = vec![1u32; places.len()];
        let e = ex.step_places(&tokens, &places, false);
        assert!(e.is_err(), "{places:?} should be refused");
    }
    // Distinct slots make a batch even when one repeats a position.
    let two = [Place { slot: 0, pos: 0 }, Place { slot: 1, pos: 0 }];
    let l = ex.step_places(&[1, 2], &two, false).unwrap();
    assert_eq!(l.len(), 2 * m.config.n_vocab);
}

fn gpu_exec(m: &Model, ty: CacheType) -> Option<GpuExecutor<'_>> {
    let ctx = common::gpu()?;
    let shape = CacheShape {
        n_ctx: N_CTX,
        n_slots: 3,
        ty,
    };
    Some(GpuExecutor::load(m, ctx, shape, &mut |_| {}).unwrap())
}

/// The GPU's fused batched steps give the CPU's logits (same cache type on both sides), and the
/// last batch run unfused agrees node by node.
#[test]
fn a_batched_gpu_step_agrees_with_the_cpu_node_by_node() {
    for stem in MODELS {
        let m = model(stem);
        for ty in [CacheType::F32, CacheType::F16] {
            let Some(mut gpu) = gpu_exec(&m, ty) else {
                return;
            };
            let mut cpu = CpuExecutor::with_slots(&m, N_CTX, 3, ty);
            let (g_rows, len) = run_batched(&mut gpu);
            let (c_rows, _) = run_batched(&mut cpu);
            for (i, (g, c)) in g_rows.iter().zip(&c_rows).enumerate() {
                let e = nmse(g, c);
                eprintln!("{stem} {} batch {i}: logits NMSE {e:.3e}", ty.name());
                assert!(
                    e < 1e-5,
                    "{stem} {} batch {i}: logits NMSE {e:e}",
                    ty.name()
                );
            }
            // One more batch, every node compared.
            let places: Vec<Place> = (0..3)
                .map(|slot| Place {
                    slot,
                    pos: len[slot],
                })
                .collect();
            let tokens = [120u32, 121, 122];
            let g = m.graph_at(StepSpec::batch(3), places);
            let cv = cpu.run(&g, &tokens, true).unwrap();
            let gv = gpu.run(&g, &tokens, Readback::Everything).unwrap();
            let cpu_bufs: Vec<Option<&Buf>> = (0..g.nodes.len()).map(|n| cv.get(n)).collect();
            let reports = compare(&m, &g, &cpu_bufs, &gv.bufs, node_tier(ty));
            assert!(
                reports.len() > 20,
                "{stem}: {} nodes compared",
                reports.len()
            );
            let bad: Vec<_> = reports
                .iter()
                .filter(|r| !r.ok)
                .map(|r| (&r.name, r.nmse))
                .collect();
            assert!(
                bad.is_empty(),
                "{stem} {}: nodes differ: {bad:?}",
                ty.name()
            );
        }
    }
}
