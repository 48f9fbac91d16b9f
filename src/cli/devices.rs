//! `wgpu-ds devices`: every adapter with its features and the limits that matter here.

use wgpu_ds::gpu::context::{adapters, describe};
use wgpu_ds::gpu::GpuOptions;
use wgpu_ds::{Error, Result};

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_: Args) -> Result<()> {
    let list = adapters(&GpuOptions::default());
    if list.is_empty() {
        return Err(Error::Gpu(
            "no adapter found; install a Vulkan, Metal or DX12 driver".into(),
        ));
    }
    for (i, a) in list.iter().enumerate() {
        let (f, l) = (a.features(), a.limits());
        println!("[{i}] {}", describe(&a.get_info()));
        println!(
            "    shader-f16 {}, subgroups {}, timestamps {}",
            f.contains(wgpu::Features::SHADER_F16),
            f.contains(wgpu::Features::SUBGROUP),
            f.contains(wgpu::Features::TIMESTAMP_QUERY)
        );
        println!(
            "    max storage binding {} B, max buffer {} B, workgroup storage {} B, invocations {}",
            l.max_storage_buffer_binding_size,
            l.max_buffer_size,
            l.max_compute_workgroup_storage_size,
            l.max_compute_invocations_per_workgroup
        );
    }
    Ok(())
}
