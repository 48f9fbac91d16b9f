//! `bench --profile`: one decode step with every dispatch timed on the GPU (timestamp queries),
//! summed per kernel variant.

use std::collections::HashMap;

use crate::gpu::recorder::DispatchTime;

/// The dispatches of one kernel variant in a step.
#[derive(Clone, Debug)]
pub struct KernelKind {
    /// The variant's key (`matvec.q4_k.sg`).
    pub key: String,
    pub count: usize,
    pub seconds: f64,
    /// Weight bytes read by those dispatches (matvecs).
    pub weight_bytes: u64,
}

/// `times` summed per kernel variant, most time first.
pub fn by_kind(times: &[DispatchTime]) -> Vec<KernelKind> {
    let mut kinds: HashMap<String, KernelKind> = HashMap::new();
    for t in times {
        let key = t.kernel.key();
        let k = kinds.entry(key.clone()).or_insert(KernelKind {
            key,
            count: 0,
            seconds: 0.0,
            weight_bytes: 0,
        });
        k.count += 1;
        k.seconds += t.seconds;
        k.weight_bytes += t.weight_bytes;
    }
    let mut v: Vec<KernelKind> = kinds.into_values().collect();
    v.sort_by(|a, b| b.seconds.total_cmp(&a.seconds).then(a.key.cmp(&b.key)));
    v
}
