//! MoE routing and greedy sampling on the GPU, so expert ids and the sampled token stay on the
//! device: `moe_route.wgsl` (all of cpu::moe::route, one workgroup per token) and `argmax.wgsl`.

use bytemuck::{Pod, Zeroable};
use wgpu::Buffer;

use super::context::GpuContext;
use super::kernels::Kernel;
use super::ops::{encode_op, grid};
use super::pipelines::Pipelines;
use super::recorder::Recorder;
use crate::model::graph::Routing;
use crate::model::Gating;

/// Largest expert count, group count and experts per token moe_route.wgsl handles (its MAX_E,
/// MAX_G, MAX_K workgroup arrays).
pub const MOE_MAX_EXPERTS: usize = 512;
pub const MOE_MAX_GROUPS: usize = 64;
pub const MOE_MAX_USED: usize = 64;

/// shaders/moe_route.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct MoeRouteParams {
    pub n_tok: u32,
    pub n_expert: u32,
    pub n_used: u32,
    /// 1 when grouping does not apply (one group, or every group used).
    pub n_groups: u32,
    pub n_group_used: u32,
    /// 0 softmax, 1 sigmoid
    pub gating: u32,
    pub has_bias: u32,
    pub norm: u32,
    pub scale: f32,
}

/// shaders/argmax.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ArgmaxParams {
    pub n: u32,
}

/// Encodes DeepSeek's routing of `n_tok` tokens (cpu::moe::route per token).
/// logits: [T, E] f32; bias: [E] f32 (V3's exp_probs_b); probs: [T, E] f32 (the unbiased scores);
/// topk: [T, K] i32 (chosen experts, best first); weights: [T, K] f32. K = routing.n_expert_used.
#[allow(clippy::too_many_arguments)]
pub fn encode_moe_route(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    logits: &Buffer,
    bias: Option<&Buffer>,
    probs: &Buffer,
    topk: &Buffer,
    weights: &Buffer,
    n_tok: usize,
    n_expert: usize,
    routing: &Routing,
) {
    let k = routing.n_expert_used;
    let grouped = routing.n_groups > 1 && routing.n_group_used < routing.n_groups;
    let n_groups = if grouped { routing.n_groups } else { 1 };
    assert!(
        n_expert <= MOE_MAX_EXPERTS && n_groups <= MOE_MAX_GROUPS && (1..=MOE_MAX_USED).contains(&k),
        "moe_route: {n_expert} experts, {n_groups} groups, {k} used (limits {MOE_MAX_EXPERTS}, {MOE_MAX_GROUPS}, {MOE_MAX_USED})"
    );
    assert!(
        k <= n_expert && n_expert.is_multiple_of(n_groups),
        "moe_route: {k} of {n_expert} experts in {n_groups} groups"
    );
    let (te, tk) = ((n_tok * n_expert * 4) as u64, (n_tok * k * 4) as u64);
    assert!(
        logits.size() >= te && probs.size() >= te && topk.size() >= tk && weights.size() >= tk,
        "moe_route: buffers smaller than [{n_tok}, {n_expert}] / [{n_tok}, {k}]"
    );
    if let Some(b) = bias {
        assert!(
            b.size() >= (n_expert * 4) as u64,
            "moe_route: bias shorter than {n_expert}"
        );
    }
    let p = MoeRouteParams {
        n_tok: n_tok as u32,
        n_expert: n_expert as u32,
        n_used: k as u32,
        n_groups: n_groups as u32,
        n_group_used: if grouped {
            routing.n_group_used as u32
        } else {
            1
        },
        gating: match routing.gating {
            Gating::Softmax => 0,
            Gating::Sigmoid => 1,
        },
        has_bias: bias.is_some() as u32,
        norm: routing.norm as u32,
        scale: routing.scale,
    };
    // Without a bias the shader never reads binding 1; the logits (also read-only) stand in.
    let bias = bias.unwrap_or(logits);
    let (gx, gy) = grid(ctx, n_tok);
    encode_op(
        ctx,
        pipes,
        enc,
        Kernel::Op("moe_route"),
        &p,
        &[logits, bias, probs, topk, weights],
        (gx, gy, 1),
    );
}

/// Encodes out[0] = argmax(logits[0 .. n]) as u32, ties to the lower id (sample::argmax).
pub fn encode_argmax(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    logits: &Buffer,
    out: &Buffer,
    n: usize,
) {
    assert!(
        logits.size() >= (n * 4) as u64 && out.size() >= 4,
        "argmax: logits shorter than {n}"
    );
    encode_op(
        ctx,
        pipes,
        enc,
        Kernel::Op("argmax"),
        &ArgmaxParams { n: n as u32 },
        &[logits, out],
        (1, 1, 1),
    );
}
