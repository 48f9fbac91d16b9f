//! Models with grid i-quant tensors (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M): the
//! CPU reference runs them exactly as the same model with those tensors dequantized to F32, and
//! the GPU agrees with the CPU on the logits (its kernels read the grids from the start of each
//! weight chunk).

mod common;

use wgpu_ds::check::check_prefill;
use wgpu_ds::cpu::CpuExecutor;
use wgpu_ds::gguf::{Bytes, GgufFile, GgufWriter};
use wgpu_ds::gpu::executor::GpuExecutor;
use wgpu_ds::model::Model;
use wgpu_ds::quant::{self, iq_grid, QuantType};
use wgpu_ds::session::Executor;

const BASE: &str = "tests/fixtures/oracle/models/tiny-v2lite-s-F16.gguf";

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
        let bytes = iq_grid::random_blocks(ty, (n / 256) as usize, 0.01, 0x9e37_79b9 + i as u64);
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
    for &ty in quant::GRID_TYPES {
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
fn the_gpu_agrees_with_the_cpu_on_every_grid_type() {
    let tokens = [1u32, 7, 3, 12];
    for &ty in quant::GRID_TYPES {
        let Some(ctx) = common::gpu() else { return };
        let (grid, _) = models(ty);
        let want = logits(&grid, &tokens);
        let mut gpu = GpuExecutor::new(&grid, ctx, 16).unwrap();
        let mut got = Vec::new();
        for (pos, &t) in tokens.iter().enumerate() {
            got = gpu.step(&[t], pos, false).unwrap();
        }
        common::assert_close(&format!("{ty} logits"), &got, &want, 1e-3, 1e-3);
    }
}

/// The oracle's 256-wide Q4_K_M model (Q4_K, Q5_0, Q6_K, Q8_0) with its dense FFN down projection
/// and its routed experts' gate and up stacks (a gated expert matvec) in grid type `ty`, every
/// attention output requantized to IQ4_XS and every attn_q_a to IQ4_NL.
fn mixed(ty: QuantType) -> Model {
    let base = GgufFile::open("tests/fixtures/oracle/models/tiny-v3-k256-Q4_K_M.gguf").unwrap();
    let mut w = GgufWriter::from_file(&base);
    for (i, t) in base.tensors().iter().enumerate() {
        let n: u64 = t.ne.iter().product();
        let name = t.name.as_str();
        let grid = name.ends_with("ffn_down.weight")
            || name.ends_with("ffn_gate_exps.weight")
            || name.ends_with("ffn_up_exps.weight");
        let iq4 = if name.ends_with("attn_output.weight") {
            Some(QuantType::IQ4_XS)
        } else if name.ends_with("attn_q_a.weight") {
            Some(QuantType::IQ4_NL)
        } else {
            None
        };
        if grid {
            w.tensors[i].ty = ty;
            w.tensors[i].data =
                iq_grid::random_blocks_rms(ty, (n / 256) as usize, 0.06, 5 + i as u64);
        } else if let Some(q) = iq4 {
            let values = quant::dequantize(t.ty, base.tensor_data(t), n as usize).unwrap();
            w.tensors[i].ty = q;
            w.tensors[i].data = quant::quantize_row(q, &values).unwrap();
        }
    }
    Model::from_file(GgufFile::from_bytes("mixed.gguf", Bytes::Owned(w.to_bytes())).unwrap())
        .unwrap()
}

/// `check`'s node-by-node comparison on models mixing each grid type with IQ4_NL, IQ4_XS and
/// K-quants: every node of both attention forms agrees with the CPU reference.
#[test]
fn mixed_models_agree_with_the_cpu_node_by_node() {
    for &ty in quant::GRID_TYPES {
        let Some(ctx) = common::gpu() else { return };
        let model = mixed(ty);
        let types: std::collections::BTreeSet<QuantType> =
            model.weights.tensors.iter().map(|w| w.ty).collect();
        for want in [
            ty,
            QuantType::IQ4_NL,
            QuantType::IQ4_XS,
            QuantType::Q4K,
            QuantType::Q6K,
        ] {
            assert!(
                types.contains(&want),
                "{ty}: the mixed model has no {want} tensor"
            );
        }
        let mut gpu = GpuExecutor::new(&model, ctx, 16).unwrap();
        let reports = check_prefill(&model, &mut gpu, &[1, 7, 3, 12, 5]).unwrap();
        if let Some(r) = reports.iter().find(|r| !r.ok) {
            panic!(
                "{ty}: first diverging node '{}' ({}): NMSE {:.3e}, max abs {:.3e}",
                r.name, r.kind, r.nmse, r.max_abs
            );
        }
        // Decode steps run the fused lowering (the gated expert matvec over the grid stacks).
        let tokens = [1u32, 7, 3];
        let mut fused = Vec::new();
        for (pos, &t) in tokens.iter().enumerate() {
            fused = gpu.step(&[t], 5 + pos, false).unwrap();
        }
        let mut cpu = CpuExecutor::new(&model, 16);
        cpu.step(&[1, 7, 3, 12, 5], 0, false).unwrap();
        let mut want = Vec::new();
        for (pos, &t) in tokens.iter().enumerate() {
            want = cpu.step(&[t], 5 + pos, false).unwrap();
        }
        common::assert_close(&format!("{ty} decode logits"), &fused, &want, 1e-3, 1e-3);
    }
}

#[test]
fn grid_types_are_not_written() {
    let x = vec![0.5f32; 256];
    for &ty in quant::GRID_TYPES {
        let e = quant::quantize_row(ty, &x).unwrap_err().to_string();
        assert!(
            e.contains(ty.name()) && e.contains("importance matrix"),
            "{e}"
        );
    }
}
