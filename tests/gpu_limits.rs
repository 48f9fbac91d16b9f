//! `gpu::limits::check`: a model runs on an adapter or the first limit that fails is named, before
//! anything is uploaded. No adapter needed: the check reads a config and a `wgpu::Limits`. Also
//! the step limits both executors check (on the GPU where an adapter is found).

mod common;

use wgpu_ds::gpu::limits::check;
use wgpu_ds::model::{CacheShape, CacheType, Config, Model};

fn config() -> Config {
    Model::open("tests/fixtures/oracle/models/tiny-v3-s-F32.gguf")
        .unwrap()
        .config
}

fn fails(c: &Config, limits: &wgpu::Limits, n_ctx: usize, cache: CacheType, names: &str) {
    let e = check(c, limits, n_ctx, 1, cache)
        .expect_err(names)
        .to_string();
    assert!(e.contains(names), "{e:?} should name {names}");
}

#[test]
fn the_oracle_models_fit_webgpus_default_limits() {
    let c = config();
    check(&c, &wgpu::Limits::default(), 4096, 1, CacheType::F32).unwrap();
    check(&c, &wgpu::Limits::default(), 4096, 1, CacheType::F16).unwrap();
}

#[test]
fn each_model_limit_that_fails_is_named() {
    let limits = wgpu::Limits::default();
    let mut c = config();
    c.kv_lora_rank = 2048;
    fails(&c, &limits, 64, CacheType::F32, "kv_lora_rank 2048");
    let mut c = config();
    c.n_embd_head_qk_rope = 96;
    fails(&c, &limits, 64, CacheType::F32, "rope dims 96");
    let mut c = config();
    c.n_expert = 1024;
    fails(&c, &limits, 64, CacheType::F32, "1024 experts");
    let mut c = config();
    c.n_expert_used = 0;
    fails(&c, &limits, 64, CacheType::F32, "0 experts per token");
}

#[test]
fn adapter_limits_that_fail_are_named_with_what_would_fit() {
    let c = config();
    let few = wgpu::Limits {
        max_storage_buffers_per_shader_stage: 4,
        ..Default::default()
    };
    fails(&c, &few, 64, CacheType::F32, "8 storage buffers");
    let small = wgpu::Limits {
        max_compute_invocations_per_workgroup: 128,
        ..Default::default()
    };
    fails(&c, &small, 64, CacheType::F32, "256 invocations");
    // A 1 MiB binding holds 1 MiB / (width · 4) f32 latent rows, twice as many f16 ones.
    let one_mib = wgpu::Limits {
        max_storage_buffer_binding_size: 1 << 20,
        ..Default::default()
    };
    let w = c.n_embd_latent();
    let f32_rows = (1 << 20) / (w * 4);
    fails(
        &c,
        &one_mib,
        f32_rows + 1,
        CacheType::F32,
        &format!("-c {f32_rows} fits, or --cache-type f16"),
    );
    check(&c, &one_mib, f32_rows + 1, 1, CacheType::F16).unwrap();
    // Slots share the binding: four sequences fit a quarter of the context each.
    let e = check(&c, &one_mib, f32_rows, 4, CacheType::F32)
        .unwrap_err()
        .to_string();
    let quarter = f32_rows / 4;
    assert!(
        e.contains("for each of 4 sequences (-np)") && e.contains(&format!("-c {quarter} fits")),
        "{e}"
    );
    let f16_rows = (1 << 20) / (w * 2);
    fails(
        &c,
        &one_mib,
        f16_rows + 1,
        CacheType::F16,
        &format!("-c {f16_rows} fits"),
    );
}

/// A step of no tokens, or past the context, is an error naming the problem on both executors
/// (the session never makes one; a library caller might).
#[test]
fn empty_and_overlong_steps_are_errors() {
    use wgpu_ds::cpu::CpuExecutor;
    use wgpu_ds::gpu::executor::GpuExecutor;
    use wgpu_ds::session::Executor;
    let model = Model::open("tests/fixtures/oracle/models/tiny-v3-s-F32.gguf").unwrap();
    let mut execs: Vec<Box<dyn Executor>> = vec![Box::new(CpuExecutor::new(&model, 8))];
    if let Some(ctx) = common::gpu() {
        execs.push(Box::new(GpuExecutor::new(&model, ctx, 8).unwrap()));
    }
    for exec in &mut execs {
        let err = exec.step(&[], 0, false).unwrap_err().to_string();
        assert!(err.contains("at least one token"), "{err}");
        let err = exec.step(&[1, 2, 3], 6, false).unwrap_err().to_string();
        assert!(err.contains("exceed the context"), "{err}");
    }
}

/// A device error during generation comes back as an error from the sampled path (logits read
/// back) and from the greedy path (argmax read back) alike, never as tokens.
#[test]
fn device_errors_stop_sampled_and_greedy_generation() {
    use wgpu_ds::gpu::executor::GpuExecutor;
    use wgpu_ds::sample::SamplerConfig;
    use wgpu_ds::session::{generate, GenerateOptions};
    let model = Model::open("tests/fixtures/oracle/models/tiny-v3-s-F32.gguf").unwrap();
    for sampler in [
        SamplerConfig {
            seed: 7,
            ..Default::default()
        },
        SamplerConfig::greedy(),
    ] {
        let Some(ctx) = common::gpu() else { return };
        let mut ex = GpuExecutor::new(&model, ctx, 32).unwrap();
        let opts = GenerateOptions {
            n_predict: 4,
            ignore_eos: true,
            sampler: sampler.clone(),
            ..Default::default()
        };
        let ok = generate(&mut ex, &[1, 2, 3], &opts, &|_| false, &mut |_| Ok(true));
        assert_eq!(ok.unwrap().ids.len(), 4, "{sampler:?}");
        // A buffer beyond the device's limit: a validation error the device reports later.
        let _too_big = ex.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("too big"),
            size: ex.ctx.limits.max_buffer_size + 4,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let e = generate(&mut ex, &[1, 2, 3], &opts, &|_| false, &mut |_| Ok(true))
            .map(|g| g.ids)
            .unwrap_err()
            .to_string();
        assert!(e.contains("running a step"), "{sampler:?}: {e}");
    }
}

/// The memory plan printed before loading: the weights' bytes as stored, the latent cache of the
/// context, and node buffers that grow with the step.
#[test]
fn the_memory_plan_adds_up() {
    use wgpu_ds::gpu::memory_plan::memory_plan;
    let model = Model::open("tests/fixtures/oracle/models/tiny-v3-s-F32.gguf").unwrap();
    let c = &model.config;
    let weights: u64 = model.file.tensors().iter().map(|t| t.n_bytes).sum();
    let one = memory_plan(&model, CacheShape::one(64, CacheType::F16), 1);
    assert_eq!(one.weights, weights);
    assert_eq!(one.cache, (c.n_layer * 64 * c.n_embd_latent() * 2) as u64);
    let chunk = memory_plan(&model, CacheShape::one(64, CacheType::F32), 32);
    assert_eq!(chunk.cache, 2 * one.cache);
    assert!(chunk.activations > 16 * one.activations, "{one} / {chunk}");
    assert_eq!(
        memory_plan(&model, CacheShape::one(8, CacheType::F32), 512).step_tokens,
        8
    );
    // Four sequences served at once hold four caches.
    let four = CacheShape {
        n_slots: 4,
        ..CacheShape::one(64, CacheType::F16)
    };
    assert_eq!(memory_plan(&model, four, 1).cache, 4 * one.cache);
    assert!(one.to_string().contains("MB in all"));
}
