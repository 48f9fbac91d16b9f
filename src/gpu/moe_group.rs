//! Lists of a multi-token MatMulId's slots by expert (`moe_group.wgsl`), made on the GPU right
//! after the routing (no readback), so the grouped matvec (`Slots::groups`) reads each expert's
//! rows from memory once per step instead of once per slot that chose it.

use super::context::GpuContext;
use super::kernels::Kernel;
use super::ops::encode_op;
use super::params::MoeGroupParams;
use super::pipelines::Pipelines;
use super::recorder::Recorder;
use crate::error::{Error, Result};

/// Whether multi-token steps group a MatMulId's slots by expert: on every adapter by default. GPUs read each expert once per step instead of once per slot; CPU
/// adapters decode each expert's weight units once per 4 of its slots (matvec_glu_grouped's
/// NCOLS), which measured faster than per slot on lavapipe (pp64 of the 4-layer V2-Lite-width
/// bench: 2.59 tok/s grouped, 2.25–2.33 per slot, docs/PERFORMANCE.md).
/// `WGPU_DS_MOE_GROUPED=on|off` overrides, to measure the two against each other.
pub fn grouped() -> bool {
    !matches!(std::env::var("WGPU_DS_MOE_GROUPED").as_deref(), Ok("off"))
}

/// Experts moe_group lists at most (shaders/moe_group.wgsl `MAX_EXPERTS`).
pub const MOE_GROUP_MAX_EXPERTS: usize = 1024;

/// Bytes of moe_group's lists for `n_slots` slots over `n_expert` experts.
pub fn moe_group_bytes(n_expert: usize, n_slots: usize) -> u64 {
    4 * (n_expert + 1 + n_slots) as u64
}

/// Encodes the lists of the `n_slots` slots of ids (i32 [n_slots]) by expert into `groups`
/// (i32 [n_expert + 1 + n_slots], see shaders/moe_group.wgsl): one workgroup.
pub fn encode_moe_group(
    ctx: &GpuContext,
    pipes: &Pipelines,
    enc: &mut Recorder,
    (ids, groups): (&wgpu::Buffer, &wgpu::Buffer),
    n_slots: usize,
    n_expert: usize,
) -> Result<()> {
    if n_expert > MOE_GROUP_MAX_EXPERTS || groups.size() < moe_group_bytes(n_expert, n_slots) {
        return Err(Error::Gpu(format!(
            "moe_group: {n_slots} slots over {n_expert} experts in {} bytes",
            groups.size()
        )));
    }
    let p = MoeGroupParams {
        n_slots: n_slots as u32,
        n_expert: n_expert as u32,
        ..Default::default()
    };
    encode_op(
        ctx,
        pipes,
        enc,
        Kernel::Op("moe_group"),
        &p,
        &[ids, groups],
        (1, 1, 1),
    );
    Ok(())
}
