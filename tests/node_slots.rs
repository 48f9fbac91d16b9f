//! Node buffers shared by the layers of one parity (`gpu::node_slots`): on V2-Lite and V3
//! graphs (dense and MoE layers, both attention forms, decode and prefill), no node's buffer is
//! written by another node between the node's write and any of its reads, even with every read
//! pushed to the end of the next layer (the lowering's folds read a layer's nodes at most there),
//! and the activations shrink to about two layers' worth. The GPU tests run the shared buffers
//! against the CPU (tests/gpu_model.rs, tests/gpu_fused.rs, `check`).

use wgpu_ds::gpu::node_slots::NodeSlots;
use wgpu_ds::model::graph::{inputs, outputs, Graph};
use wgpu_ds::model::{AttnForm, Model, StepSpec};

/// The layer of a node named `<role>-<il>`.
fn layer(name: &str) -> Option<usize> {
    name.rsplit_once('-')?.1.parse().ok()
}

/// Panics if a node's buffer is overwritten by another node while the node can still be read:
/// each read counts as lasting until the first op of the layer after the reader's (the lowering
/// folds a layer's MoE mix into the next layer's attn_norm), or the end for readers of no layer.
fn assert_no_overwrite(g: &Graph, s: &NodeSlots, what: &str) {
    let n_ops = g.ops.len();
    // The first op index of each layer.
    let mut layer_start: Vec<usize> = vec![];
    for (i, op) in g.ops.iter().enumerate() {
        for o in outputs(op) {
            if let Some(l) = layer(&g.nodes[o].name) {
                layer_start.resize(layer_start.len().max(l + 1), usize::MAX);
                layer_start[l] = layer_start[l].min(i);
            }
        }
    }
    let mut written_at = vec![usize::MAX; g.nodes.len()];
    let mut last_read = vec![0; g.nodes.len()];
    for (i, op) in g.ops.iter().enumerate() {
        // The reader's layer: its output's, or for an op that writes no node (KvStore writes
        // the latent cache) its inputs'.
        let named = outputs(op).into_iter().chain(inputs(op));
        let reader = named.filter_map(|n| layer(&g.nodes[n].name)).next();
        let late = reader.map_or(n_ops, |l| *layer_start.get(l + 1).unwrap_or(&n_ops));
        for x in inputs(op) {
            last_read[x] = last_read[x].max(late.max(i));
        }
        for o in outputs(op) {
            written_at[o] = written_at[o].min(i);
        }
    }
    for (a, &wa) in written_at.iter().enumerate() {
        for (b, &wb) in written_at.iter().enumerate() {
            if a == b || s.slot[a] != s.slot[b] || wa == usize::MAX {
                continue;
            }
            assert!(
                !(wa < wb && wb <= last_read[a]),
                "{what}: {} (written at op {wa}, read until {}) is overwritten by {} at op {wb}",
                g.nodes[a].name,
                last_read[a],
                g.nodes[b].name
            );
        }
    }
}

#[test]
fn shared_node_buffers_are_never_overwritten_while_read() {
    for stem in ["tiny-v2lite-s-Q8_0", "tiny-v3-s-Q8_0", "tiny-v3-k256-F16"] {
        let path = format!("tests/fixtures/oracle/models/{stem}.gguf");
        let model = Model::open(path).unwrap();
        for (t, attn) in [
            (1, AttnForm::Absorbed),
            (7, AttnForm::Absorbed),
            (7, AttnForm::Materialized),
        ] {
            let g = model.graph(StepSpec::run(t, false, attn));
            let shared = NodeSlots::shared(&g);
            let distinct = NodeSlots::distinct(&g);
            let what = format!("{stem} {t} tokens {attn:?}");
            assert_no_overwrite(&g, &shared, &what);
            assert_eq!(distinct.slot.len(), g.nodes.len());
            // Two parities of each role, plus the nodes of no layer.
            let n_layer = model.config.n_layer;
            if n_layer > 2 {
                assert!(shared.total() < distinct.total(), "{what}: nothing shared");
            }
        }
    }
}

#[test]
fn every_node_gets_a_buffer_of_its_size() {
    let model = Model::open("tests/fixtures/oracle/models/tiny-v3-s-Q8_0.gguf").unwrap();
    let g = model.graph(StepSpec::run(5, false, AttnForm::Absorbed));
    let s = NodeSlots::shared(&g);
    for (n, node) in g.nodes.iter().enumerate() {
        assert!(
            s.bytes[s.slot[n]] >= (node.len().max(1) * 4) as u64,
            "{}",
            node.name
        );
    }
    // Nodes of one buffer: one role, layers of one parity.
    for (a, na) in g.nodes.iter().enumerate() {
        for (b, nb) in g.nodes.iter().enumerate().skip(a + 1) {
            if s.slot[a] == s.slot[b] {
                let (ra, la) = na.name.rsplit_once('-').unwrap();
                let (rb, lb) = nb.name.rsplit_once('-').unwrap();
                let (la, lb): (usize, usize) = (la.parse().unwrap(), lb.parse().unwrap());
                assert!(ra == rb && la % 2 == lb % 2, "{} and {}", na.name, nb.name);
            }
        }
    }
}
