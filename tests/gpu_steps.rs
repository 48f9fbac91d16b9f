//! How decode steps are recorded on the GPU: a steady step records one compute pass and finds
//! every bind group in the cache, and a step whose recording would be the previous one's
//! replays it (`gpu::executor`'s replay) until absorbed attention's cache split moves, with
//! logits that still agree with the CPU reference. GPU tests run on lavapipe in CI; without an
//! adapter they fail when CI is set and skip with a reason otherwise.

mod common;

use wgpu_ds::cpu::Buf;
use wgpu_ds::gpu::executor::{GpuExecutor, Readback};
use wgpu_ds::model::{AttnForm, Model, Place, StepSpec};

const ORACLE: &str = "tests/fixtures/oracle/models";

#[test]
fn steady_decode_steps_make_no_new_bind_groups_and_one_pass() {
    if common::gpu().is_none() {
        return;
    }
    let model = Model::open(format!("{ORACLE}/tiny-v2lite-s-Q4_K_M.gguf")).unwrap();
    let mut ex = GpuExecutor::new(&model, common::gpu().unwrap(), 16).unwrap();
    for pos in 0..4 {
        let g = common::decode_graph(&model, pos);
        ex.run(&g, &[7 + pos as u32], Readback::Argmax).unwrap();
        let r = ex.last_step.recorded;
        // The first step makes every bind group; later ones find them all in the cache.
        if pos > 0 {
            assert_eq!(r.new_bind_groups, 0, "step at {pos}");
        }
        assert_eq!(r.passes, 1, "step at {pos}: a decode step has no copies");
        assert_eq!(
            r.dispatches as u64, ex.last_step.dispatches,
            "step at {pos}"
        );
    }
}

/// Decode steps submit the previous step's recording again (no encoder runs) while absorbed
/// attention's split of the cache stays (every 64 positions here), and record anew when it moves
/// (at n_kv = 65 a second chunk and the combine pass appear); every step's logits stay within
/// the f32 tier of the CPU reference's.
#[test]
fn decode_steps_replay_their_recording_until_the_cache_split_moves() {
    if common::gpu().is_none() {
        return;
    }
    let model = Model::open(format!("{ORACLE}/tiny-v2lite-s-Q4_K_M.gguf")).unwrap();
    let mut gpu = GpuExecutor::new(&model, common::gpu().unwrap(), 80).unwrap();
    let mut cpu = wgpu_ds::cpu::CpuExecutor::new(&model, 80);
    let prompt: Vec<u32> = (0..60u32).map(|i| (i * 37 + 5) % 300).collect();
    let g = model.graph_at(
        StepSpec::run(prompt.len(), false, AttnForm::Absorbed),
        Place::run(0, 0, prompt.len()),
    );
    gpu.run(&g, &prompt, Readback::Logits).unwrap();
    cpu.run(&g, &prompt, false).unwrap();
    let mut dispatches = Vec::new();
    for pos in 60..70 {
        let g = common::decode_graph(&model, pos);
        let token = [(pos as u32 * 11) % 300];
        let want = cpu
            .run(&g, &token, false)
            .unwrap()
            .take_f32(g.logits)
            .unwrap();
        let got = match gpu.run(&g, &token, Readback::Logits).unwrap().bufs[g.logits].take() {
            Some(Buf::F32(l)) => l,
            _ => panic!("no logits at {pos}"),
        };
        let num: f64 = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
            .sum();
        let den: f64 = want.iter().map(|b| (*b as f64).powi(2)).sum();
        assert!(
            num / den <= wgpu_ds::check::MAX_NMSE,
            "logits at {pos}: NMSE {:.3e}",
            num / den
        );
        let s = gpu.last_step;
        assert_eq!(s.dispatches, s.recorded.dispatches as u64, "step at {pos}");
        dispatches.push(s.dispatches);
        // The first decode step follows a prefill; the split moves at position 64 (n_kv 65).
        let fresh = pos == 60 || pos == 64;
        assert_eq!(s.times.replayed, !fresh, "step at {pos}");
    }
    assert!(
        dispatches[..4].iter().all(|&d| d == dispatches[0])
            && dispatches[4..].iter().all(|&d| d > dispatches[0]),
        "a second chunk adds the combine dispatches: {dispatches:?}"
    );
}
