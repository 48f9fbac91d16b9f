//! The GPU path: shader variants composed from WGSL files, the device, weights uploaded as stored
//! (chunked to the binding limit), and the encoding of ops. `gpu/` keeps to what also runs in a
//! browser: no mmap, no threads; blocking helpers are native-only wrappers over async cores.

pub mod context;
pub mod executor;
pub mod kernels;
pub mod limits;
pub mod lower;
pub mod matvec;
pub mod memory_plan;
pub mod node_slots;
pub mod ops;
pub mod params;
pub mod pipelines;
pub mod recorder;
pub mod step_clock;
// elementwise and normalization ops, the latent cache's kernels
pub mod elementwise;
pub mod latent_cache;
pub mod norm;
// routing and attention ops
pub mod attention;
pub mod mla_prefill;
pub mod moe_group;
pub mod mul_mm;
pub mod routing;
pub mod step_table;

pub use context::{GpuContext, GpuOptions};
