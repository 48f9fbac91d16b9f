//! MoE routing for one token, DeepSeek's rule (V2, V2-Lite, V3, R1 differ only in parameters):
//!   scores    = softmax(logits) | sigmoid(logits)
//!   selection = scores + exp_probs_b (V3's bias; selection only)
//!   groups    : with n_groups > 1, keep the best n_group_used groups, scoring a group by the sum of
//!               its top-2 selection scores when the gate has a bias and by its max when it has none
//!               (DeepSeek's inference/model.py; llama.cpp always uses the top-2 sum, which departs
//!               from DeepSeek on V2 files with groups)
//!   top-k     : the n_expert_used best selection scores of the kept groups, best first, ties to
//!               the lower expert id
//!   weights   = unbiased scores of the chosen experts, / max(sum, 2^-14) if normalized, × scale

use crate::model::graph::Routing;
use crate::model::Gating;

use super::ops::{sigmoid, softmax};

/// Smallest normalizer, as llama.cpp clamps the weight sum.
const MIN_WEIGHT_SUM: f32 = 6.103_515_6e-5;

/// Indices of the `k` largest values, largest first, ties to the lower index.
pub fn top_k(values: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// Routes one token. `probs` receives the scores [n_expert]; `topk` and `weights` [n_expert_used].
pub fn route(
    logits: &[f32],
    bias: Option<&[f32]>,
    r: &Routing,
    probs: &mut [f32],
    topk: &mut [i32],
    weights: &mut [f32],
) {
    scores(logits, r, probs);
    for (slot, e) in topk.iter_mut().zip(select(probs, bias, r)) {
        *slot = e as i32;
    }
    weigh(probs, topk, r, weights);
}

/// Routes one token to the experts `ids` [n_expert_used] instead of the ones the rule selects:
/// the scores and the weights as [`route`] makes them for that choice. `check` uses it to follow
/// the GPU's choice where the GPU's own router logits tip a near-tie the other way.
pub fn route_to(logits: &[f32], ids: &[i32], r: &Routing, probs: &mut [f32], weights: &mut [f32]) {
    scores(logits, r, probs);
    weigh(probs, ids, r, weights);
}

/// probs [n_expert] = softmax(logits) | sigmoid(logits).
fn scores(logits: &[f32], r: &Routing, probs: &mut [f32]) {
    probs.copy_from_slice(logits);
    match r.gating {
        Gating::Softmax => softmax(probs),
        Gating::Sigmoid => probs.iter_mut().for_each(|p| *p = sigmoid(*p)),
    }
}

/// The n_expert_used experts of the kept groups with the best selection scores, best first.
fn select(probs: &[f32], bias: Option<&[f32]>, r: &Routing) -> Vec<usize> {
    let mut selection: Vec<f32> = match bias {
        Some(b) => probs.iter().zip(b).map(|(p, b)| p + b).collect(),
        None => probs.to_vec(),
    };
    if r.n_groups > 1 && r.n_group_used < r.n_groups {
        let per_group = selection.len() / r.n_groups;
        let group_scores: Vec<f32> = selection
            .chunks_exact(per_group)
            .map(|g| match bias {
                Some(_) => top_k(g, 2).iter().map(|&i| g[i]).sum(),
                None => g.iter().copied().fold(f32::NEG_INFINITY, f32::max),
            })
            .collect();
        let kept = top_k(&group_scores, r.n_group_used);
        for (gi, g) in selection.chunks_exact_mut(per_group).enumerate() {
            if !kept.contains(&gi) {
                g.fill(f32::NEG_INFINITY);
            }
        }
    }
    top_k(&selection, r.n_expert_used)
}

/// weights [n_expert_used] = the unbiased scores of experts `ids`, normalized if the model
/// normalizes, × scale.
fn weigh(probs: &[f32], ids: &[i32], r: &Routing, weights: &mut [f32]) {
    for (w, &e) in weights.iter_mut().zip(ids) {
        *w = probs[e as usize];
    }
    if r.norm {
        let sum: f32 = weights.iter().sum();
        let inv = 1.0 / sum.max(MIN_WEIGHT_SUM);
        weights.iter_mut().for_each(|w| *w *= inv);
    }
    if r.scale != 0.0 && r.scale != 1.0 {
        weights.iter_mut().for_each(|w| *w *= r.scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing(gating: Gating, n_groups: usize, n_group_used: usize) -> Routing {
        Routing {
            gating,
            n_expert_used: 2,
            n_groups,
            n_group_used,
            norm: true,
            scale: 2.5,
        }
    }

    #[test]
    fn group_score_is_top2_sum_with_bias_and_max_without() {
        // Two groups of 3. Group 0 has one high expert, group 1 two medium ones.
        let logits = [2.0, -3.0, -3.0, 1.2, 1.2, -3.0];
        let (mut p, mut t, mut w) = ([0f32; 6], [0i32; 2], [0f32; 2]);
        // Without a bias (V2 rule): the max wins, group 0 is kept.
        route(
            &logits,
            None,
            &routing(Gating::Sigmoid, 2, 1),
            &mut p,
            &mut t,
            &mut w,
        );
        assert_eq!(t, [0, 1]);
        // With a (zero) bias (V3 rule): top-2 sums, group 1 is kept.
        route(
            &logits,
            Some(&[0.0; 6]),
            &routing(Gating::Sigmoid, 2, 1),
            &mut p,
            &mut t,
            &mut w,
        );
        assert_eq!(t, [3, 4]);
        assert!((w[0] + w[1] - 2.5).abs() < 1e-6, "normalized then scaled");
    }

    #[test]
    fn weights_come_from_unbiased_scores() {
        let logits = [0.0, 0.1, 0.2, 0.3];
        let bias = [1.0, 0.0, 0.0, 0.0];
        let r = Routing {
            gating: Gating::Softmax,
            n_expert_used: 2,
            n_groups: 1,
            n_group_used: 1,
            norm: false,
            scale: 1.0,
        };
        let (mut p, mut t, mut w) = ([0f32; 4], [0i32; 2], [0f32; 2]);
        route(&logits, Some(&bias), &r, &mut p, &mut t, &mut w);
        assert_eq!(t, [0, 3]);
        assert_eq!(w, [p[0], p[3]]);
    }

    #[test]
    fn ties_go_to_the_lower_id() {
        assert_eq!(top_k(&[1.0, 3.0, 3.0, 2.0], 3), vec![1, 2, 3]);
    }

    #[test]
    fn route_to_weighs_the_given_experts_as_route_would() {
        let logits = [0.3, -1.0, 0.9, 0.2];
        let r = routing(Gating::Softmax, 1, 1);
        let (mut p, mut t, mut w) = ([0f32; 4], [0i32; 2], [0f32; 2]);
        route(&logits, None, &r, &mut p, &mut t, &mut w);
        assert_eq!(t, [2, 0]);
        let (mut p2, mut w2) = ([0f32; 4], [0f32; 2]);
        route_to(&logits, &t, &r, &mut p2, &mut w2);
        assert_eq!(
            (p, w),
            (p2, w2),
            "the rule's own choice gives the same scores and weights"
        );
        route_to(&logits, &[2, 3], &r, &mut p2, &mut w2);
        assert!((w2[1] / w2[0] - p[3] / p[2]).abs() < 1e-6 && (w2[0] + w2[1] - 2.5).abs() < 1e-6);
    }
}
