//! Whether a model runs on an adapter, decided before anything is uploaded: every limit a kernel
//! relies on, checked against the model's config and the adapter's limits, the first that fails
//! named with what would help. The encoders still assert their shapes (a failure there is a bug
//! in the executor); what a model or an adapter can make fail is checked here.

use super::attention::{ATTN_HG, ATTN_MAX_LATENT, ATTN_MAX_ROPE};
use super::mla_prefill::MHA_MAX_V;
use super::routing::{MOE_MAX_EXPERTS, MOE_MAX_GROUPS, MOE_MAX_USED};
use crate::error::{Error, Result};
use crate::model::{CacheType, Config};

/// Storage buffers the widest kernels bind (matvec: weights ×4, activations, ids, two outputs;
/// rms_norm with a folded mix and RoPE tail).
pub const STORAGE_BUFFERS: u32 = 8;
/// Invocations of the widest workgroups (rms_norm, moe_route, rope, the elementwise ops).
pub const INVOCATIONS: u32 = 256;
/// Workgroup memory the kernels may use (moe_route's expert arrays, the matvec's row partials on
/// the default shapes), WebGPU's default limit.
pub const WORKGROUP_STORAGE: u32 = 16384;

fn unfit(what: String) -> Error {
    Error::Gpu(format!("this model cannot run on this adapter: {what}"))
}

/// Ok when `c` runs on an adapter with `limits` with a latent cache of `n_slots` sequences of
/// `n_ctx` positions of `cache`; else the first limit that does not hold.
pub fn check(
    c: &Config,
    limits: &wgpu::Limits,
    n_ctx: usize,
    n_slots: usize,
    cache: CacheType,
) -> Result<()> {
    let other = "another adapter";
    if limits.max_storage_buffers_per_shader_stage < STORAGE_BUFFERS {
        return Err(unfit(format!(
            "its kernels bind {STORAGE_BUFFERS} storage buffers, the adapter allows {} ({other})",
            limits.max_storage_buffers_per_shader_stage
        )));
    }
    if limits.max_compute_invocations_per_workgroup < INVOCATIONS
        || limits.max_compute_workgroup_size_x < INVOCATIONS
    {
        return Err(unfit(format!(
            "its kernels run {INVOCATIONS} invocations per workgroup, the adapter allows {} ({other})",
            limits.max_compute_invocations_per_workgroup.min(limits.max_compute_workgroup_size_x)
        )));
    }
    if limits.max_compute_workgroup_storage_size < WORKGROUP_STORAGE {
        return Err(unfit(format!(
            "its kernels use up to {WORKGROUP_STORAGE} bytes of workgroup memory, the adapter has {} ({other})",
            limits.max_compute_workgroup_storage_size
        )));
    }
    let (kv, rope) = (c.kv_lora_rank, c.n_embd_head_qk_rope);
    if kv > ATTN_MAX_LATENT || !kv.is_multiple_of(2) {
        return Err(unfit(format!(
            "kv_lora_rank {kv}: the absorbed attention keeps at most {ATTN_MAX_LATENT} latent channels, an even number"
        )));
    }
    if rope > ATTN_MAX_ROPE || !rope.is_multiple_of(2) {
        return Err(unfit(format!(
            "rope dims {rope}: the attention keeps at most {ATTN_MAX_ROPE} per head, an even number"
        )));
    }
    if c.n_embd_head_v > MHA_MAX_V {
        return Err(unfit(format!(
            "value head length {}: the materialized attention takes at most {MHA_MAX_V}",
            c.n_embd_head_v
        )));
    }
    if c.n_head == 0
        || c.n_head.div_ceil(ATTN_HG) > limits.max_compute_workgroups_per_dimension as usize
    {
        return Err(unfit(format!("{} attention heads", c.n_head)));
    }
    if c.n_expert > 0 {
        let groups = c.n_expert_groups.max(1);
        if c.n_expert > MOE_MAX_EXPERTS || groups > MOE_MAX_GROUPS {
            return Err(unfit(format!(
                "{} experts in {groups} groups: the routing takes at most {MOE_MAX_EXPERTS} experts in {MOE_MAX_GROUPS} groups",
                c.n_expert
            )));
        }
        if !(1..=MOE_MAX_USED.min(c.n_expert)).contains(&c.n_expert_used) {
            return Err(unfit(format!(
                "{} experts per token of {}: the routing takes 1 to {MOE_MAX_USED}",
                c.n_expert_used, c.n_expert
            )));
        }
    }
    let width = c.n_embd_latent();
    let rows = n_ctx.saturating_mul(n_slots);
    let bytes = (rows.saturating_mul(width).next_multiple_of(2) as u64)
        .saturating_mul(cache.bytes() as u64);
    let max = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    if bytes > max {
        let fits = max as usize / (width * cache.bytes() * n_slots).max(1);
        let f16 = if cache == CacheType::F32 {
            ", or --cache-type f16"
        } else {
            ""
        };
        let slots = if n_slots > 1 {
            format!(" for each of {n_slots} sequences (-np)")
        } else {
            String::new()
        };
        return Err(unfit(format!(
            "a latent cache of {n_ctx} positions{slots} needs {bytes} bytes per layer ({}), above the binding limit of {max}; -c {fits} fits{f16}",
            cache.name()
        )));
    }
    Ok(())
}
