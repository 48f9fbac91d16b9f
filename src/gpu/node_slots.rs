//! Which buffer holds each node of a step. Every node of layer `il` is named `<role>-<il>` by
//! `model::graph`, and a layer's nodes are read by its own ops and by the next layer's first
//! ops (the residual stream, and the MoE mix the lowering folds into the next attn_norm), never
//! later. So the layers of one parity share buffers role by role: layer il + 2 writes a role's
//! buffer only after layer il + 1 has read everything of layer il, and no dispatch binds nodes
//! of two layers of one parity. A step's activations then take two layers' worth of memory
//! instead of n_layer (V2-Lite, 27 layers: 656 MB for a 68-token step before, under 60 MB
//! after). Nodes without a layer suffix (the embedding, the logits) keep buffers of their own;
//! `check`, which reads back every node, gives every node its own (`NodeSlots::distinct`).

use std::collections::HashMap;

use crate::model::graph::Graph;

/// Node n lives in buffer `slot[n]` of `bytes[slot[n]]` bytes (the largest node it holds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSlots {
    pub slot: Vec<usize>,
    pub bytes: Vec<u64>,
    /// A name for each buffer (its wgpu label): the role and the layers' parity, or the node.
    pub label: Vec<String>,
}

/// Bytes of a node's buffer: f32 or i32 elements, at least one.
fn node_bytes(len: usize) -> u64 {
    (len.max(1) * 4) as u64
}

/// The role and layer of a node named `<role>-<il>`.
fn role_layer(name: &str) -> Option<(&str, usize)> {
    let (role, il) = name.rsplit_once('-')?;
    Some((role, il.parse().ok()?))
}

impl NodeSlots {
    /// One buffer per node.
    pub fn distinct(g: &Graph) -> NodeSlots {
        NodeSlots {
            slot: (0..g.nodes.len()).collect(),
            bytes: g.nodes.iter().map(|n| node_bytes(n.len())).collect(),
            label: g.nodes.iter().map(|n| n.name.clone()).collect(),
        }
    }

    /// One buffer per (role, layer parity), and one per node without a layer.
    pub fn shared(g: &Graph) -> NodeSlots {
        let mut by_key: HashMap<(&str, usize), usize> = HashMap::new();
        let mut s = NodeSlots {
            slot: Vec::with_capacity(g.nodes.len()),
            bytes: vec![],
            label: vec![],
        };
        for node in &g.nodes {
            let bytes = node_bytes(node.len());
            let found = role_layer(&node.name).and_then(|(role, il)| {
                let key = (role, il % 2);
                let next = s.bytes.len();
                let slot = *by_key.entry(key).or_insert(next);
                (slot < next).then_some(slot)
            });
            match found {
                Some(slot) => s.bytes[slot] = s.bytes[slot].max(bytes),
                None => {
                    let label = match role_layer(&node.name) {
                        Some((role, il)) => format!("{role} (layers {} mod 2)", il % 2),
                        None => node.name.clone(),
                    };
                    s.bytes.push(bytes);
                    s.label.push(label);
                }
            }
            s.slot.push(found.unwrap_or(s.bytes.len() - 1));
        }
        s
    }

    /// Bytes of all the buffers.
    pub fn total(&self) -> u64 {
        self.bytes.iter().sum()
    }
}
