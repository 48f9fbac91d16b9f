//! Models with grid i-quant tensors (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M): the
//! CPU reference runs them exactly as the same model with those tensors dequantized to F32, and
//! the GPU executor, which does not decode them yet, refuses them at load with the tensor and the
//! type named (never a panic when a pipeline is built).

mod common;

use wgpu_ds::cpu::CpuExecutor;
use wgpu_ds::gguf::{Bytes, GgufFile, GgufWriter};
use wgpu_ds::gpu::executor::GpuExecutor;
use wgpu_ds::model::Model;
use wgpu_ds::quant::{self, QuantType};
use wgpu_ds::session::Executor;

const BASE: &str = "tests/fixtures/oracle/models/tiny-v2lite-s-F16.gguf";

/// `n_blocks` random blocks of `ty` with a small finite scale (0.01, or IQ1_M's 0.01 in the top
/// nibbles of its scale words).
fn random_blocks(ty: QuantType, n_blocks: usize, seed: u64) -> Vec<u8> {
    let size = ty.info().type_size;
    let mut state = seed;
    let mut out = Vec::with_capacity(size * n_blocks);
    let d = half::f16::from_f32(0.01).to_bits();
    for _ in 0..n_blocks {
        let start = out.len();
        for _ in 0..size {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            out.push((state >> 56) as u8);
        }
        let block = &mut out[start..];
        if ty == QuantType::IQ1_M {
            // Scale words 0..4 at bytes 48..56; nibble k of d goes to the top of word k.
            for k in 0..4 {
                let at = 48 + 2 * k + 1;
                block[at] = (block[at] & 0x0f) | ((((d >> (4 * k)) & 0xf) as u8) << 4);
            }
        } else {
            block[..2].copy_from_slice(&d.to_le_bytes());
        }
    }
    out
}

/// The tiny model with every FFN down projection (rows of 256) stored as `ty`, and the same model
/// with those tensors as F32 of their dequantized values.
fn models(ty: QuantType) -> (Model, Model) {
    let base = GgufFile::open(BASE).unwrap();
    let mut grid = GgufWriter::from_file(&base);
    let mut dense = GgufWriter::from_file(&base);
    let mut replaced = 0;
    for (i, t) in base.tensors().iter().enumerate() {
        if !t.name.contains("ffn_down") || t.ne[0] % 256 != 0 {
            continue;
        }
        let n: u64 = t.ne.iter().product();
        let bytes = random_blocks(ty, (n / 256) as usize, 0x9e37_79b9 + i as u64);
        let values = quant::dequantize(ty, &bytes, n as usize).unwrap();
        grid.tensors[i].ty = ty;
        grid.tensors[i].data = bytes;
        dense.tensors[i].ty = QuantType::F32;
        dense.tensors[i].data = bytemuck::cast_slice(&values).to_vec();
        replaced += 1;
    }
    assert!(
        replaced > 0,
        "no FFN down projection with rows of 256 in {BASE}"
    );
    let open = |w: &GgufWriter, name: &str| {
        Model::from_file(GgufFile::from_bytes(name, Bytes::Owned(w.to_bytes())).unwrap()).unwrap()
    };
    (open(&grid, "grid.gguf"), open(&dense, "dense.gguf"))
}

fn logits(model: &Model, tokens: &[u32]) -> Vec<f32> {
    let mut cpu = CpuExecutor::new(model, 16);
    let mut last = Vec::new();
    for (pos, &t) in tokens.iter().enumerate() {
        last = cpu.step(&[t], pos, false).unwrap();
    }
    last
}

#[test]
fn the_cpu_reference_runs_every_grid_type_as_its_dequantized_values() {
    for &ty in quant::CPU_ONLY {
        let (grid, dense) = models(ty);
        let tokens = [1, 7, 3, 12];
        let got = logits(&grid, &tokens);
        let want = logits(&dense, &tokens);
        assert!(got.iter().all(|v| v.is_finite()), "{ty}: logits not finite");
        assert_eq!(
            got, want,
            "{ty}: logits differ from the dequantized model's"
        );
    }
}

#[test]
fn grid_types_are_refused_by_the_gpu_at_load_with_the_tensor_named() {
    let Some(ctx) = common::gpu() else { return };
    let (grid, _) = models(QuantType::IQ2_XXS);
    let e = match GpuExecutor::new(&grid, ctx, 16) {
        Ok(_) => panic!("the GPU executor loaded an IQ2_XXS model"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("ffn_down") && e.contains("IQ2_XXS") && e.contains("--backend cpu"),
        "{e}"
    );
}

#[test]
fn grid_types_are_not_written() {
    let x = vec![0.5f32; 256];
    for &ty in quant::CPU_ONLY {
        let e = quant::quantize_row(ty, &x).unwrap_err().to_string();
        assert!(
            e.contains(ty.name()) && e.contains("importance matrix"),
            "{e}"
        );
    }
}
