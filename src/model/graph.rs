//! The deepseek2 forward pass as one list of named ops for a step (a prefill chunk of T tokens of
//! one sequence, one decode token, or one decode token of each of several sequences). Where each
//! token sits (its sequence's cache slot and its position) is the graph's [`Place`] list, set per
//! step: the op list depends only on the step's shape. The CPU reference and the GPU executor run this same
//! list; intermediates are named as llama.cpp's `src/models/deepseek2.cpp` names them
//! (`<name>-<layer>`), so a divergence can be found by name and compared with llama.cpp's dumps.
//!
//! Every node is a contiguous f32 (or i32) array whose first dimension is the token; shapes are
//! in numpy order, e.g. `q_nope-3` is [T, n_head, nope].

use crate::model::config::{Config, Gating};
use crate::model::weights::{DenseFfn, Ffn, QProj, WeightId, Weights};

pub use super::step::{check_places, check_step, Place, StepSpec};

pub type NodeId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    I32,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: DType,
}

impl Node {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Routing hyperparameters carried by [`Op::MoeRoute`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Routing {
    pub gating: Gating,
    pub n_expert_used: usize,
    pub n_groups: usize,
    pub n_group_used: usize,
    pub norm: bool,
    pub scale: f32,
}

#[derive(Clone, Debug)]
pub enum Op {
    /// out[t, :] = row `ids[t]` of `w` [n_rows, n], dequantized. out: [T, n]
    GetRows {
        w: WeightId,
        ids: NodeId,
        out: NodeId,
    },
    /// out = x / sqrt(mean(x²) + eps) · w over rows of length w.len(). x, out: [.., n]
    RmsNorm {
        x: NodeId,
        w: WeightId,
        eps: f32,
        out: NodeId,
    },
    /// out[t, r] = Σ_c W[r, c] · x[t, c]. W ne = [cols, rows]; x: [T, cols]; out: [T, rows]
    MatMul { w: WeightId, x: NodeId, out: NodeId },
    /// Per head: out[t, h, r] = Σ_c W[h, r, c] · x[t, h, c]. W ne = [cols, rows, H]; x: [T, H, cols]
    MatMulHeads { w: WeightId, x: NodeId, out: NodeId },
    /// Experts chosen per token: out[t, k, r] = Σ_c W[ids[t, k], r, c] · x[t, k|0, c].
    /// W ne = [cols, rows, n_expert]; ids: i32 [T, K]; x: [T, cols] (shared by all k) or [T, K, cols]
    MatMulId {
        w: WeightId,
        x: NodeId,
        ids: NodeId,
        out: NodeId,
    },
    /// Per-head column slice: out[t, h, :] = x[t, h, offset .. offset + out_width]. x: [T, H, w_in]
    Slice {
        x: NodeId,
        offset: usize,
        out: NodeId,
    },
    /// out = rows `start ..` of x (as many as out holds). x: [T, n]; out: [T', n]
    Rows {
        x: NodeId,
        start: usize,
        out: NodeId,
    },
    /// YaRN RoPE on adjacent pairs (2i, 2i+1) of every head, token t at its place's position.
    /// x, out: [T, H, rope]
    Rope { x: NodeId, out: NodeId },
    /// Writes this step's latent rows into the cache of `layer`, token t at its place (slot,
    /// position): [kv_cmpr ‖ k_pe]. kv_cmpr: [T, kv_lora]; k_pe: [T, 1, rope]
    KvStore {
        layer: usize,
        kv_cmpr: NodeId,
        k_pe: NodeId,
    },
    /// Absorbed MLA over the latent cache (causal: token t sees positions 0 ..= its own of its
    /// own slot): scores = (q_abs·c_kv + q_pe·k_pe) · scale,
    /// out = softmax(scores) · c_kv. q_abs: [T, H, kv_lora]; q_pe: [T, H, rope]; out: [T, H, kv_lora]
    AttnAbsorbed {
        layer: usize,
        q_abs: NodeId,
        q_pe: NodeId,
        scale: f32,
        out: NodeId,
    },
    /// MLA with K/V materialized from the cache: k_nope = W_kb·c_kv, v = W_vb·c_kv per head, then
    /// ordinary causal attention. q_nope: [T, H, nope]; q_pe: [T, H, rope]; out: [T, H, v]
    AttnMaterialized {
        layer: usize,
        q_nope: NodeId,
        q_pe: NodeId,
        k_b: WeightId,
        v_b: WeightId,
        scale: f32,
        out: NodeId,
    },
    /// Router: probs = softmax|sigmoid(logits); selection = probs + bias; group-limited top-k;
    /// weights = probs of the chosen experts, normalized and scaled.
    /// logits: [T, E]; probs: [T, E]; topk: i32 [T, K]; weights: [T, K]
    MoeRoute {
        logits: NodeId,
        bias: Option<WeightId>,
        routing: Routing,
        probs: NodeId,
        topk: NodeId,
        weights: NodeId,
    },
    /// out = silu(gate) · up, elementwise.
    SwiGlu {
        gate: NodeId,
        up: NodeId,
        out: NodeId,
    },
    /// out[t, :] = Σ_k weights[t, k] · x[t, k, :]. x: [T, K, n]; weights: [T, K]; out: [T, n]
    WeightedSum {
        x: NodeId,
        weights: NodeId,
        out: NodeId,
    },
    /// out = a + b, elementwise.
    Add { a: NodeId, b: NodeId, out: NodeId },
}

/// Which of the two equivalent MLA forms a step uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttnForm {
    /// Queries mapped into latent space; the cheap form for decode.
    Absorbed,
    /// K and V expanded from the latent cache; cheaper in compute for long prefill chunks.
    Materialized,
}

pub struct Graph {
    pub spec: StepSpec,
    /// [T]: where each token of this step sits (set per step; the ops do not depend on it).
    pub places: Vec<Place>,
    pub nodes: Vec<Node>,
    pub ops: Vec<Op>,
    /// i32 [T]: the token ids of the step (the executor fills it).
    pub tokens: NodeId,
    /// [T or 1, n_vocab]
    pub logits: NodeId,
}

struct Builder<'a> {
    c: &'a Config,
    w: &'a Weights,
    t: usize,
    nodes: Vec<Node>,
    ops: Vec<Op>,
}

impl Builder<'_> {
    fn node(&mut self, name: String, shape: &[usize]) -> NodeId {
        self.typed(name, shape, DType::F32)
    }
    fn typed(&mut self, name: String, shape: &[usize], dtype: DType) -> NodeId {
        self.nodes.push(Node {
            name,
            shape: shape.to_vec(),
            dtype,
        });
        self.nodes.len() - 1
    }
    fn rows_of(&self, w: WeightId) -> usize {
        self.w.tensors[w].ne[1]
    }

    fn rms_norm(&mut self, x: NodeId, w: WeightId, name: String) -> NodeId {
        let out = self.node(name, &self.nodes[x].shape.clone());
        self.ops.push(Op::RmsNorm {
            x,
            w,
            eps: self.c.rms_eps,
            out,
        });
        out
    }
    fn matmul(&mut self, w: WeightId, x: NodeId, name: String) -> NodeId {
        let rows = self.nodes[x].shape[0];
        let out = self.node(name, &[rows, self.rows_of(w)]);
        self.ops.push(Op::MatMul { w, x, out });
        out
    }
    fn slice(
        &mut self,
        x: NodeId,
        heads: usize,
        offset: usize,
        width: usize,
        name: String,
    ) -> NodeId {
        let out = self.node(name, &[self.t, heads, width]);
        self.ops.push(Op::Slice { x, offset, out });
        out
    }
    fn binary(&mut self, a: NodeId, b: NodeId, name: String, swiglu: bool) -> NodeId {
        let out = self.node(name, &self.nodes[a].shape.clone());
        self.ops.push(if swiglu {
            Op::SwiGlu {
                gate: a,
                up: b,
                out,
            }
        } else {
            Op::Add { a, b, out }
        });
        out
    }

    /// gate/up → SwiGLU → down, the dense FFN and the shared experts.
    fn dense_ffn(&mut self, f: &DenseFfn, x: NodeId, prefix: &str, il: usize) -> NodeId {
        let gate = self.matmul(f.gate, x, format!("{prefix}_gate-{il}"));
        let up = self.matmul(f.up, x, format!("{prefix}_up-{il}"));
        let act = self.binary(gate, up, format!("{prefix}_swiglu-{il}"), true);
        self.matmul(f.down, act, format!("{prefix}_down-{il}"))
    }

    fn attention(&mut self, il: usize, cur: NodeId, form: AttnForm) -> NodeId {
        let (c, t, h) = (self.c, self.t, self.c.n_head);
        let (nope, rope, kv) = (c.n_embd_head_qk_nope, c.n_embd_head_qk_rope, c.kv_lora_rank);
        let lw = &self.w.layers[il];
        let q = match lw.q {
            QProj::Direct { q } => self.matmul(q, cur, format!("q-{il}")),
            QProj::Lora { q_a, q_a_norm, q_b } => {
                let qa = self.matmul(q_a, cur, format!("q_a-{il}"));
                let qa = self.rms_norm(qa, q_a_norm, format!("q_a_norm-{il}"));
                self.matmul(q_b, qa, format!("q-{il}"))
            }
        };
        let q_nope = self.slice(q, h, 0, nope, format!("q_nope-{il}"));
        let q_pe_in = self.slice(q, h, nope, rope, format!("q_pe_in-{il}"));
        let q_pe = self.node(format!("q_pe-{il}"), &[t, h, rope]);
        self.ops.push(Op::Rope {
            x: q_pe_in,
            out: q_pe,
        });

        let kv_cmpr_pe = self.matmul(lw.kv_a_mqa, cur, format!("kv_cmpr_pe-{il}"));
        let kv_cmpr_in = self.slice(kv_cmpr_pe, 1, 0, kv, format!("kv_cmpr_in-{il}"));
        let kv_cmpr = self.rms_norm(kv_cmpr_in, lw.kv_a_norm, format!("kv_cmpr-{il}"));
        let k_pe_in = self.slice(kv_cmpr_pe, 1, kv, rope, format!("k_pe_in-{il}"));
        let k_pe = self.node(format!("k_pe-{il}"), &[t, 1, rope]);
        self.ops.push(Op::Rope {
            x: k_pe_in,
            out: k_pe,
        });
        self.ops.push(Op::KvStore {
            layer: il,
            kv_cmpr,
            k_pe,
        });

        let scale = c.kq_scale();
        let kqv_out = match form {
            AttnForm::Absorbed => {
                let q_abs = self.node(format!("q_nope_absorbed-{il}"), &[t, h, kv]);
                self.ops.push(Op::MatMulHeads {
                    w: lw.k_b,
                    x: q_nope,
                    out: q_abs,
                });
                let kqv = self.node(format!("kqv-{il}"), &[t, h, kv]);
                self.ops.push(Op::AttnAbsorbed {
                    layer: il,
                    q_abs,
                    q_pe,
                    scale,
                    out: kqv,
                });
                let out = self.node(format!("kqv_out-{il}"), &[t, h, c.n_embd_head_v]);
                self.ops.push(Op::MatMulHeads {
                    w: lw.v_b,
                    x: kqv,
                    out,
                });
                out
            }
            AttnForm::Materialized => {
                let out = self.node(format!("kqv_out-{il}"), &[t, h, c.n_embd_head_v]);
                self.ops.push(Op::AttnMaterialized {
                    layer: il,
                    q_nope,
                    q_pe,
                    k_b: lw.k_b,
                    v_b: lw.v_b,
                    scale,
                    out,
                });
                out
            }
        };
        let out = self.node(format!("attn_out-{il}"), &[t, c.n_embd]);
        self.ops.push(Op::MatMul {
            w: lw.attn_output,
            x: kqv_out,
            out,
        });
        out
    }

    fn moe(&mut self, il: usize, cur: NodeId) -> NodeId {
        let (c, t) = (self.c, self.t);
        let Ffn::Moe {
            gate_inp,
            exp_probs_b,
            gate_exps,
            up_exps,
            down_exps,
            ref shared,
        } = self.w.layers[il].ffn
        else {
            unreachable!("moe() is called for MoE layers")
        };
        let k = c.n_expert_used;
        let logits = self.matmul(gate_inp, cur, format!("ffn_moe_logits-{il}"));
        let probs = self.node(format!("ffn_moe_probs-{il}"), &[t, c.n_expert]);
        let topk = self.typed(format!("ffn_moe_topk-{il}"), &[t, k], DType::I32);
        let weights = self.node(format!("ffn_moe_weights-{il}"), &[t, k]);
        let routing = Routing {
            gating: c.gating,
            n_expert_used: k,
            n_groups: c.n_expert_groups,
            n_group_used: c.n_group_used,
            norm: c.expert_weights_norm,
            scale: c.expert_weights_scale,
        };
        self.ops.push(Op::MoeRoute {
            logits,
            bias: exp_probs_b,
            routing,
            probs,
            topk,
            weights,
        });

        let ff = c.n_ff_exp;
        let mut by_expert = |w: WeightId, x: NodeId, rows: usize, name: &str| {
            let out = self.node(format!("{name}-{il}"), &[t, k, rows]);
            self.ops.push(Op::MatMulId {
                w,
                x,
                ids: topk,
                out,
            });
            out
        };
        let gate = by_expert(gate_exps, cur, ff, "ffn_moe_gate");
        let up = by_expert(up_exps, cur, ff, "ffn_moe_up");
        let act = self.binary(gate, up, format!("ffn_moe_swiglu-{il}"), true);
        let down = self.node(format!("ffn_moe_down-{il}"), &[t, k, c.n_embd]);
        self.ops.push(Op::MatMulId {
            w: down_exps,
            x: act,
            ids: topk,
            out: down,
        });
        let moe_out = self.node(format!("ffn_moe_out-{il}"), &[t, c.n_embd]);
        self.ops.push(Op::WeightedSum {
            x: down,
            weights,
            out: moe_out,
        });
        match shared {
            None => moe_out,
            Some(f) => {
                let sh = self.dense_ffn(f, cur, "ffn_shexp", il);
                self.nodes[sh].name = format!("ffn_shexp-{il}");
                self.binary(moe_out, sh, format!("ffn_out-{il}"), false)
            }
        }
    }
}

/// Builds the op list of one step.
pub fn build(c: &Config, w: &Weights, spec: StepSpec) -> Graph {
    let t = spec.n_tokens;
    assert!(
        spec.n_seqs == 1 || (spec.n_seqs == t && spec.attn == AttnForm::Absorbed),
        "a step is one sequence or one absorbed decode token per sequence"
    );
    let mut b = Builder {
        c,
        w,
        t,
        nodes: Vec::new(),
        ops: Vec::new(),
    };
    let tokens = b.typed("inp_tokens".into(), &[t], DType::I32);
    let mut x = b.node("inp_embd".into(), &[t, c.n_embd]);
    b.ops.push(Op::GetRows {
        w: w.token_embd,
        ids: tokens,
        out: x,
    });
    for il in 0..c.n_layer {
        let lw = &w.layers[il];
        let cur = b.rms_norm(x, lw.attn_norm, format!("attn_norm-{il}"));
        let attn = b.attention(il, cur, spec.attn);
        let ffn_inp = b.binary(attn, x, format!("ffn_inp-{il}"), false);
        let cur = b.rms_norm(ffn_inp, lw.ffn_norm, format!("ffn_norm-{il}"));
        let ffn_out = match &lw.ffn {
            Ffn::Dense(f) => {
                let out = b.dense_ffn(f, cur, "ffn", il);
                b.nodes[out].name = format!("ffn_out-{il}");
                out
            }
            Ffn::Moe { .. } => b.moe(il, cur),
        };
        x = b.binary(ffn_out, ffn_inp, format!("l_out-{il}"), false);
    }
    if !spec.all_logits && spec.n_seqs == 1 && t > 1 {
        let last = b.node("inp_out_ids".into(), &[1, c.n_embd]);
        b.ops.push(Op::Rows {
            x,
            start: t - 1,
            out: last,
        });
        x = last;
    }
    let norm = b.rms_norm(x, w.output_norm, "result_norm".into());
    let logits = b.matmul(w.output, norm, "result_output".into());
    Graph {
        spec,
        places: Place::run(0, 0, t),
        nodes: b.nodes,
        ops: b.ops,
        tokens,
        logits,
    }
}

/// The nodes an op reads.
pub fn inputs(op: &Op) -> Vec<NodeId> {
    match *op {
        Op::GetRows { ids, .. } => vec![ids],
        Op::RmsNorm { x, .. } | Op::MatMul { x, .. } | Op::MatMulHeads { x, .. } => vec![x],
        Op::Slice { x, .. } | Op::Rows { x, .. } | Op::Rope { x, .. } => vec![x],
        Op::MatMulId { x, ids, .. } => vec![x, ids],
        Op::KvStore { kv_cmpr, k_pe, .. } => vec![kv_cmpr, k_pe],
        Op::AttnAbsorbed { q_abs, q_pe, .. } => vec![q_abs, q_pe],
        Op::AttnMaterialized { q_nope, q_pe, .. } => vec![q_nope, q_pe],
        Op::MoeRoute { logits, .. } => vec![logits],
        Op::SwiGlu { gate, up, .. } => vec![gate, up],
        Op::WeightedSum { x, weights, .. } => vec![x, weights],
        Op::Add { a, b, .. } => vec![a, b],
    }
}

/// The nodes an op writes (none for the cache store).
pub fn outputs(op: &Op) -> Vec<NodeId> {
    match *op {
        Op::GetRows { out, .. }
        | Op::RmsNorm { out, .. }
        | Op::MatMul { out, .. }
        | Op::MatMulHeads { out, .. }
        | Op::MatMulId { out, .. }
        | Op::Slice { out, .. }
        | Op::Rows { out, .. }
        | Op::Rope { out, .. }
        | Op::AttnAbsorbed { out, .. }
        | Op::AttnMaterialized { out, .. }
        | Op::SwiGlu { out, .. }
        | Op::WeightedSum { out, .. }
        | Op::Add { out, .. } => vec![out],
        Op::KvStore { .. } => vec![],
        Op::MoeRoute {
            probs,
            topk,
            weights,
            ..
        } => vec![probs, topk, weights],
    }
}
