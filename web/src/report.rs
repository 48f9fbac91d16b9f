//! The page's JSON: the adapter, and `check`'s table (the same rows `wgpu-ds check` prints).

use serde_json::{json, Value};
use wgpu_ds::check::{node_tier, summarize, NodeReport, FAST_LOGITS_NMSE, NEAR_TIE_KIND};
use wgpu_ds::gpu::context::GpuContext;
use wgpu_ds::model::CacheType;

/// Exact first (f32 latent cache on both sides), then the fast default (f16), as `wgpu-ds check`.
pub const CHECK_TIERS: [CacheType; 2] = [CacheType::F32, CacheType::F16];

pub fn adapter(ctx: &GpuContext) -> Value {
    let (info, l, o) = (&ctx.info, &ctx.limits, &ctx.optional);
    json!({
        "name": info.name,
        "backend": format!("{:?}", info.backend),
        "device_type": format!("{:?}", info.device_type),
        "driver": info.driver,
        "features": {
            "shader-f16": o.shader_f16,
            "subgroups": o.subgroups,
            "timestamp-query": o.timestamps,
        },
        "limits": {
            "maxStorageBufferBindingSize": l.max_storage_buffer_binding_size,
            "maxBufferSize": l.max_buffer_size,
            "maxComputeWorkgroupStorageSize": l.max_compute_workgroup_storage_size,
            "maxComputeInvocationsPerWorkgroup": l.max_compute_invocations_per_workgroup,
            "maxStorageBuffersPerShaderStage": l.max_storage_buffers_per_shader_stage,
        },
    })
}

fn node(r: &NodeReport) -> Value {
    json!({ "name": r.name, "kind": r.kind, "nmse": r.nmse, "max_abs": r.max_abs })
}

/// One tier's table rows (op kind × weight type), its node count and first diverging node.
fn tier(ty: CacheType, reports: &[NodeReport]) -> Value {
    let rows: Vec<Value> = summarize(reports)
        .into_iter()
        .map(|(kind, (n, fail, nmse, max_abs))| {
            json!({ "kind": kind, "nodes": n, "fail": fail, "nmse": nmse, "max_abs": max_abs })
        })
        .collect();
    let label = match ty {
        CacheType::F32 => "exact: f32 latent cache",
        CacheType::F16 => "fast (default): f16 latent cache",
    };
    json!({
        "cache": ty.name(),
        "label": label,
        "tier": node_tier(ty),
        "logits_tier": if ty == CacheType::F32 { node_tier(ty) } else { FAST_LOGITS_NMSE },
        // Followed near-tied expert choices are reported beside the nodes, not as nodes.
        "nodes": reports.iter().filter(|r| r.kind != NEAR_TIE_KIND).count(),
        "near_ties": reports.iter().filter(|r| r.kind == NEAR_TIE_KIND).map(node).collect::<Vec<_>>(),
        "failed": reports.iter().filter(|r| !r.ok).count(),
        "first_failure": reports.iter().find(|r| !r.ok).map(node),
        "rows": rows,
    })
}

pub fn check(tokens: &[u32], tiers: &[(CacheType, Vec<NodeReport>)]) -> Value {
    let all_ok = tiers.iter().all(|(_, r)| r.iter().all(|r| r.ok));
    json!({
        "tokens": tokens.len(),
        "ok": all_ok,
        "tiers": tiers.iter().map(|(ty, r)| tier(*ty, r)).collect::<Vec<_>>(),
    })
}
