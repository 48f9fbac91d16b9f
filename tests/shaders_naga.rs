//! Every composed shader variant parses, validates, and is written by naga for SPIR-V (Vulkan),
//! MSL (Metal), HLSL (DX12) and GLSL ES 3.1 compute (GL), so a construct one backend rejects fails
//! here, on a machine without any of those GPUs; each with the overridable constants a GPU and a
//! CPU adapter set.

use naga::back::{glsl, hlsl, msl, spv};
use naga::valid::{Capabilities, ValidationFlags, Validator};
use wgpu_ds::gpu::kernels::{Kernel, Reduce};
use wgpu_ds::gpu::pipelines::{MatVecShape, Pipelines};

/// The overridable constants a GPU (the defaults) and a CPU adapter (8 × 16, 4 tokens × 32
/// rows and 16 gated, word loads, Q4_K units of 64) set.
fn adapter_pipelines() -> [(&'static str, Pipelines); 2] {
    let cpu = MatVecShape {
        wg: 8,
        nr: 16,
        cols_nr: 32,
        cols_nr_glu: 16,
        word_loads: true,
        ..MatVecShape::default()
    };
    [
        ("gpu", Pipelines::new(MatVecShape::default())),
        ("cpu", Pipelines::new(cpu)),
    ]
}

fn check(kernel: Kernel, (adapter, pipes): &(&str, Pipelines)) -> Result<(), String> {
    let src = pipes.source(kernel);
    let key = format!("{} ({adapter} constants)", kernel.key());
    let module = naga::front::wgsl::parse_str(&src)
        .map_err(|e| format!("{key}: parse: {}", e.emit_to_string(&src)))?;
    // Default capabilities: what every backend (and WebGPU without extensions) accepts; subgroup
    // variants add exactly the subgroup capability (wgpu uses them only where the adapter has it).
    let caps = if kernel.needs_subgroups() {
        Capabilities::SUBGROUP
    } else {
        Capabilities::default()
    };
    let info = Validator::new(ValidationFlags::all(), caps)
        .validate(&module)
        .map_err(|e| format!("{key}: validate: {}", e.emit_to_string(&src)))?;
    // Pipeline-overridable constants as the pipelines set them, resolved as wgpu does before
    // a backend.
    let constants = pipes
        .constants(kernel)
        .into_iter()
        .map(|(name, v)| (name.to_string(), v))
        .collect();
    let (module, info) = naga::back::pipeline_constants::process_overrides(
        &module,
        &info,
        Some((naga::ShaderStage::Compute, "main")),
        &constants,
    )
    .map_err(|e| format!("{key}: overrides: {e}"))?;
    let (module, info) = (module.as_ref(), info.as_ref());
    let sg = kernel.needs_subgroups();

    spv::write_vec(module, info, &spv::Options::default(), None)
        .map_err(|e| format!("{key}: SPIR-V: {e}"))?;

    let msl_pipeline = msl::PipelineOptions {
        entry_point: Some((naga::ShaderStage::Compute, "main".into())),
        ..Default::default()
    };
    // Subgroup (SIMD-group) reductions need MSL 2.1 and HLSL shader model 6.0.
    let msl_options = msl::Options {
        lang_version: if sg {
            (2, 1)
        } else {
            msl::Options::default().lang_version
        },
        ..Default::default()
    };
    msl::write_string(module, info, &msl_options, &msl_pipeline)
        .map_err(|e| format!("{key}: MSL: {e}"))?;

    let hlsl_options = hlsl::Options {
        shader_model: if sg {
            hlsl::ShaderModel::V6_0
        } else {
            hlsl::Options::default().shader_model
        },
        ..Default::default()
    };
    let hlsl_pipeline = hlsl::PipelineOptions {
        entry_point: Some((naga::ShaderStage::Compute, "main".into())),
    };
    let mut out = String::new();
    hlsl::Writer::new(&mut out, &hlsl_options, &hlsl_pipeline)
        .write(module, info, None)
        .map_err(|e| format!("{key}: HLSL: {e}"))?;

    // GLSL ES 3.10, the compute minimum; subgroup variants need desktop GLSL 4.50 (wgpu's GL
    // backend exposes subgroups only there).
    let glsl_options = if sg {
        glsl::Options {
            version: glsl::Version::Desktop(450),
            ..Default::default()
        }
    } else {
        glsl::Options::default()
    };
    let glsl_pipeline = glsl::PipelineOptions {
        shader_stage: naga::ShaderStage::Compute,
        entry_point: "main".into(),
        multiview: None,
    };
    let mut out = String::new();
    glsl::Writer::new(
        &mut out,
        module,
        info,
        &glsl_options,
        &glsl_pipeline,
        naga::proc::BoundsCheckPolicies::default(),
    )
    .and_then(|mut w| w.write())
    .map_err(|e| format!("{key}: GLSL: {e}"))?;
    Ok(())
}

#[test]
fn every_shader_variant_validates_and_translates_to_every_backend() {
    let kernels = Kernel::all();
    assert!(kernels.len() >= 26, "only {} variants", kernels.len());
    let adapters = adapter_pipelines();
    let failures: Vec<String> = kernels
        .iter()
        .flat_map(|&k| adapters.iter().filter_map(move |a| check(k, a).err()))
        .collect();
    assert!(
        failures.is_empty(),
        "{} variants failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn composed_sources_name_their_files() {
    let src = Kernel::MatVec(wgpu_ds::quant::QuantType::Q4K, Reduce::Workgroup).source();
    for f in [
        "common/bytes.wgsl",
        "quant/k4_scales.wgsl",
        "quant/q4_k.wgsl",
        "quant/unit/q4_k.wgsl",
        "common/rows_reduce.wgsl",
        "matvec.wgsl",
    ] {
        assert!(
            src.contains(&format!("// ---- shaders/{f} ----")),
            "{f} missing"
        );
    }
}

/// Size of the WGSL uniform `P` of a kernel, from naga's layout rules.
fn params_size(kernel: Kernel) -> (u32, usize) {
    let module = naga::front::wgsl::parse_str(&kernel.source()).unwrap();
    let mut layouter = naga::proc::Layouter::default();
    layouter.update(module.to_ctx()).unwrap();
    let (_, var) = module
        .global_variables
        .iter()
        .find(|(_, v)| v.name.as_deref() == Some("P"))
        .expect("uniform P");
    let members = match &module.types[var.ty].inner {
        naga::TypeInner::Struct { members, .. } => members.len(),
        other => panic!("P is not a struct: {other:?}"),
    };
    (layouter[var.ty].size, members)
}

#[test]
fn rust_params_structs_match_their_wgsl_layout() {
    use std::mem::size_of;
    use wgpu_ds::gpu::attention::{AttnAbsorbedParams, AttnCombineParams};
    use wgpu_ds::gpu::elementwise::{BinaryParams, RopeParams, SliceParams, WeightedSumParams};
    use wgpu_ds::gpu::latent_cache::{CacheF32Params, KvStoreParams};
    use wgpu_ds::gpu::mla_prefill::{AttnMhaParams, MatVecTParams};
    use wgpu_ds::gpu::norm::RmsNormParams;
    use wgpu_ds::gpu::params::{GetRowsParams, MatVecParams, MoeGroupParams};
    use wgpu_ds::gpu::routing::{ArgmaxParams, MoeRouteParams};
    use wgpu_ds::quant::QuantType;
    let mut cases: Vec<(Kernel, usize)> = vec![];
    for ty in [QuantType::F32, QuantType::Q4K] {
        for reduce in [Reduce::Workgroup, Reduce::Subgroup] {
            cases.push((Kernel::MatVec(ty, reduce), size_of::<MatVecParams>()));
            cases.push((Kernel::MatVecGrouped(ty, reduce), size_of::<MatVecParams>()));
        }
        cases.push((Kernel::MatVecT(ty), size_of::<MatVecTParams>()));
        cases.push((
            Kernel::MulMm(ty),
            size_of::<wgpu_ds::gpu::mul_mm::MulMmParams>(),
        ));
        cases.push((
            Kernel::MulMmId(ty),
            size_of::<wgpu_ds::gpu::mul_mm::MulMmIdParams>(),
        ));
        cases.push((Kernel::GetRows(ty), size_of::<GetRowsParams>()));
        cases.push((Kernel::GetRowsNorm(ty), size_of::<GetRowsParams>()));
    }
    for (name, size) in [
        ("rms_norm", size_of::<RmsNormParams>()),
        ("slice", size_of::<SliceParams>()),
        ("add", size_of::<BinaryParams>()),
        ("swiglu", size_of::<BinaryParams>()),
        ("weighted_sum", size_of::<WeightedSumParams>()),
        ("rope", size_of::<RopeParams>()),
        ("kv_store", size_of::<KvStoreParams>()),
        ("cache_f32", size_of::<CacheF32Params>()),
        ("moe_route", size_of::<MoeRouteParams>()),
        ("moe_route_norm", size_of::<MoeRouteParams>()),
        ("moe_group", size_of::<MoeGroupParams>()),
        ("argmax", size_of::<ArgmaxParams>()),
        ("attn_absorbed", size_of::<AttnAbsorbedParams>()),
        ("attn_combine", size_of::<AttnCombineParams>()),
        ("attn_mha", size_of::<AttnMhaParams>()),
    ] {
        cases.push((Kernel::Op(name), size));
    }
    for (kernel, size) in cases {
        assert_eq!(
            params_size(kernel),
            (size as u32, size / 4),
            "{}",
            kernel.key()
        );
    }
}
