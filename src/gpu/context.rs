//! Adapter and device: backend choice, the adapter's own limits requested (wgpu's defaults are far
//! below what GPUs offer: 128 MiB bindings), and optional features detected once. Async at the core
//! for the browser; `*_blocking` wrappers for native code.

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// Which adapter to use.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Backends to consider; None means `WGPU_BACKEND` from the environment, else all.
    pub backends: Option<wgpu::Backends>,
    /// Index into the adapter list of `wgpu-ds devices`; None picks the high-performance adapter.
    pub adapter: Option<usize>,
    /// Cap on the storage-binding size (tests use it to force weight chunking).
    pub max_binding: Option<u64>,
    /// Do not use optional features even when present (every kernel must work without them).
    pub no_optional_features: bool,
}

/// Optional features, detected at start; every kernel has a path that needs none of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Optional {
    pub shader_f16: bool,
    pub subgroups: bool,
    pub timestamps: bool,
}

pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub optional: Optional,
    /// Errors wgpu reports outside any error scope (out of memory, validation). wgpu's default
    /// handler panics; this one records them so the executor can return them as errors.
    errors: Arc<Mutex<Vec<DeviceError>>>,
    /// The readback staging buffer (MAP_READ | COPY_DST), kept between reads and grown to the
    /// largest (`gpu::ops::read_many_async` takes it out while mapped), so a decode step
    /// allocates no buffer to read its token back.
    staging: Mutex<Option<wgpu::Buffer>>,
}

/// An error the device reported, kept as text: wgpu's error is not `Send` in the browser.
enum DeviceError {
    OutOfMemory,
    Other(String),
}

fn instance(opts: &GpuOptions) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    if let Some(b) = opts.backends {
        desc.backends = b;
    }
    wgpu::Instance::new(desc)
}

/// One line per adapter: index, name, backend, device type, driver.
pub fn describe(info: &wgpu::AdapterInfo) -> String {
    format!(
        "{} ({:?}, {:?}, driver {} {})",
        info.name, info.backend, info.device_type, info.driver, info.driver_info
    )
}

/// Every adapter the backends offer (native only: the browser has exactly one).
#[cfg(feature = "native")]
pub fn adapters(opts: &GpuOptions) -> Vec<wgpu::Adapter> {
    let inst = instance(opts);
    let backends = opts.backends.unwrap_or(wgpu::Backends::all());
    pollster::block_on(inst.enumerate_adapters(backends))
}

impl GpuContext {
    pub async fn new(opts: &GpuOptions) -> Result<GpuContext> {
        let inst = instance(opts);
        let adapter = match opts.adapter {
            #[cfg(not(target_arch = "wasm32"))]
            Some(i) => {
                let backends = opts.backends.unwrap_or(wgpu::Backends::all());
                let mut all = inst.enumerate_adapters(backends).await;
                if i >= all.len() {
                    return Err(Error::Gpu(format!("adapter {i} does not exist ({} found; see `wgpu-ds devices`)", all.len())));
                }
                all.swap_remove(i)
            }
            _ => inst
                .request_adapter(&wgpu::RequestAdapterOptions { power_preference: wgpu::PowerPreference::HighPerformance, ..Default::default() })
                .await
                .map_err(|e| Error::Gpu(format!("no GPU adapter found ({e}); install a Vulkan, Metal or DX12 driver, or use --backend cpu")))?,
        };
        let info = adapter.get_info();
        let have = adapter.features();
        let optional = if opts.no_optional_features {
            Optional::default()
        } else {
            Optional {
                shader_f16: have.contains(wgpu::Features::SHADER_F16),
                subgroups: have.contains(wgpu::Features::SUBGROUP),
                timestamps: have.contains(wgpu::Features::TIMESTAMP_QUERY),
            }
        };
        let mut features = wgpu::Features::empty();
        if optional.shader_f16 {
            features |= wgpu::Features::SHADER_F16;
        }
        if optional.subgroups {
            features |= wgpu::Features::SUBGROUP;
        }
        if optional.timestamps {
            features |= wgpu::Features::TIMESTAMP_QUERY;
        }
        let mut limits = adapter.limits();
        if let Some(cap) = opts.max_binding {
            limits.max_storage_buffer_binding_size =
                limits.max_storage_buffer_binding_size.min(cap);
        }
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("wgpu-ds"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::Gpu(format!("{}: cannot open the device: {e}", describe(&info))))?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(match e {
                    wgpu::Error::OutOfMemory { .. } => DeviceError::OutOfMemory,
                    e => DeviceError::Other(e.to_string()),
                });
            }
        }));
        Ok(GpuContext {
            device,
            queue,
            info,
            limits,
            optional,
            errors,
            staging: Mutex::new(None),
        })
    }

    #[cfg(feature = "native")]
    pub fn new_blocking(opts: &GpuOptions) -> Result<GpuContext> {
        pollster::block_on(GpuContext::new(opts))
    }

    /// The first error the device reported since the last call, as an error saying what was
    /// being done (`doing`): out of GPU memory, or a validation failure naming the object.
    pub fn take_error(&self, doing: &str) -> Result<()> {
        let first = self.errors.lock().ok().and_then(|mut v| {
            let first = v.drain(..).next();
            first
        });
        match first {
            None => Ok(()),
            Some(DeviceError::OutOfMemory) => Err(Error::Gpu(format!(
                "out of GPU memory while {doing} on {}; try a smaller -c or a smaller quantization",
                self.info.name
            ))),
            Some(DeviceError::Other(e)) => Err(Error::Gpu(format!("{doing}: {e}"))),
        }
    }

    /// A staging buffer of at least `size` bytes for a readback: the kept one, or a new one (when
    /// it is smaller, or in use by another read). Give it back with `return_staging`.
    pub fn take_staging(&self, size: u64) -> wgpu::Buffer {
        let kept = self.staging.lock().ok().and_then(|mut s| s.take());
        match kept {
            Some(b) if b.size() >= size => b,
            _ => self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("readback"),
                size: size.next_power_of_two().max(256),
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
        }
    }

    /// Keeps an unmapped staging buffer from `take_staging` for the next read.
    pub fn return_staging(&self, buf: wgpu::Buffer) {
        if let Ok(mut s) = self.staging.lock() {
            if s.as_ref().is_none_or(|k| k.size() < buf.size()) {
                *s = Some(buf);
            }
        }
    }

    /// Largest storage binding usable for one weight chunk (also capped by the buffer size).
    pub fn max_binding(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }
}
