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
    /// Hidden size when the kernel computes the logits itself (0: LOGITS holds them).
    pub n_embd: u32,
    /// RMSNorm epsilon (`moe_route_norm` only).
    pub eps: f32,
    pub pad1: u32,
    pub pad2: u32,
}

/// shaders/argmax.wgsl `Params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct ArgmaxParams {
    pub n: u32,
}

/// What the router scores: logits [T, E] f32, or (the router's matvec folded in) the hidden
/// states x [T, n_embd] f32 and the F32 gate weights w [E, n_embd].
#[derive(Clone, Copy)]
pub enum RouterInput<'a> {
    Logits(&'a Buffer),
    Gate {
        x: &'a Buffer,
        w: &'a Buffer,
        n_embd: usize,
    },
}

/// The FFN's RMSNorm of a residual Add, computed by the routing kernel before its router matvec
/// (`moe_route_norm`): sum = a + b, stored; x = rms_norm(sum) · w, stored and scored. The
/// router input is then `RouterInput::Gate` with `x` = a.
pub struct RouteNorm<'a> {
    /// [T, n_embd] f32: the Add's second input.
    pub b: &'a Buffer,
    /// [n_embd] f32: the norm weight.
    pub w: &'a Buffer,
    /// [T, n_embd] f32: the Add's output.
    pub sum: &'a Buffer,
    /// [T, n_embd] f32: the norm's output (read by the experts after the routing).
    pub out: &'a Buffer,
    pub eps: f32,
}

/// Storage buffers `moe_route_norm` binds: the executor folds the norm in only where the
/// adapter allows this many per stage.
pub const ROUTE_NORM_STORAGE_BUFFERS: u32 = 10;

/// The buffers and shape of DeepSeek's routing of `n_tok` tokens (`encode_moe_route`).
pub struct MoeRoute<'a> {
    pub input: RouterInput<'a>,
    /// The FFN norm folded in (with a `Gate` input whose `x` is the Add's first input).
    pub norm: Option<RouteNorm<'a>>,
    /// [E] f32 (V3's exp_probs_b)
    pub bias: Option<&'a Buffer>,
    /// [T, E] f32 (the unbiased scores)
    pub probs: &'a Buffer,
    /// [T, K] i32 (chosen experts, best first)
    pub topk: &'a Buffer,
    /// [T, K] f32
    pub weights: &'a Buffer,
    pub n_tok: usize,
    pub n_expert: usize,
    /// K = routing.n_expert_used.
    pub routing: &'a Routing,
}

/// Encodes `a` (cpu::moe::route per token, after the router's matvec when the input is the
/// hidden state).
pub fn encode_moe_route(ctx: &GpuContext, pipes: &Pipelines, enc: &mut Recorder, a: &MoeRoute) {
    let (n_tok, n_expert, routing) = (a.n_tok, a.n_expert, a.routing);
    let (probs, topk, weights) = (a.probs, a.topk, a.weights);
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
    let (first, gate, n_embd) = match a.input {
        RouterInput::Logits(l) => {
            assert!(
                l.size() >= te,
                "moe_route: logits smaller than [{n_tok}, {n_expert}]"
            );
            (l, None, 0)
        }
        RouterInput::Gate { x, w, n_embd } => {
            let (tx, tw) = ((n_tok * n_embd * 4) as u64, (n_expert * n_embd * 4) as u64);
            assert!(
                n_embd > 0 && x.size() >= tx && w.size() >= tw,
                "moe_route: hidden states or gate weights smaller than [{n_tok} | {n_expert}, {n_embd}]"
            );
            (x, Some(w), n_embd)
        }
    };
    assert!(
        probs.size() >= te && topk.size() >= tk && weights.size() >= tk,
        "moe_route: buffers smaller than [{n_tok}, {n_expert}] / [{n_tok}, {k}]"
    );
    if let Some(b) = a.bias {
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
        has_bias: a.bias.is_some() as u32,
        norm: routing.norm as u32,
        scale: routing.scale,
        n_embd: n_embd as u32,
        eps: a.norm.as_ref().map_or(0.0, |n| n.eps),
        ..Default::default()
    };
    // The shader never reads a binding it has no use for; the first input (also read-only)
    // stands in for a missing bias or gate.
    let bias = a.bias.unwrap_or(first);
    let gate = gate.unwrap_or(first);
    let (gx, gy) = grid(ctx, n_tok);
    let mut buffers = vec![first, bias, probs, topk, weights, gate];
    let kernel = match &a.norm {
        None => Kernel::Op("moe_route"),
        Some(norm) => {
            let tx = (n_tok * n_embd * 4) as u64;
            assert!(
                n_embd > 0 && [norm.b, norm.sum, norm.out].iter().all(|b| b.size() >= tx),
                "moe_route_norm: the norm needs the router's hidden states and [{n_tok}, {n_embd}] buffers"
            );
            assert!(
                norm.w.size() >= (n_embd * 4) as u64,
                "moe_route_norm: norm weight shorter than {n_embd}"
            );
            buffers.extend([norm.b, norm.w, norm.sum, norm.out]);
            Kernel::Op("moe_route_norm")
        }
    };
    encode_op(ctx, pipes, enc, kernel, &p, &buffers, (gx, gy, 1));
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
