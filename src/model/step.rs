//! The shape of a step and where its tokens sit: `StepSpec` decides the op list
//! (`graph::build`), the places (cache slot, position per token) are set per step.

use super::graph::AttnForm;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepSpec {
    pub n_tokens: usize,
    /// 1: the tokens are consecutive positions of one sequence. n_tokens: one token of each of
    /// n_tokens sequences (batched decode), every token's logits returned.
    pub n_seqs: usize,
    /// Logits for every token of the chunk (scoring, oracle checks) or only the last.
    pub all_logits: bool,
    pub attn: AttnForm,
}

impl StepSpec {
    /// A step of `n_tokens` consecutive tokens of one sequence.
    pub fn run(n_tokens: usize, all_logits: bool, attn: AttnForm) -> StepSpec {
        StepSpec {
            n_tokens,
            n_seqs: 1,
            all_logits,
            attn,
        }
    }

    /// One decode token of each of `n_seqs` sequences (absorbed attention, every logits row).
    pub fn batch(n_seqs: usize) -> StepSpec {
        StepSpec {
            n_tokens: n_seqs,
            n_seqs,
            all_logits: true,
            attn: AttnForm::Absorbed,
        }
    }

    /// Rows of the logits node: every token's, or the last token's of each sequence.
    pub fn logits_rows(&self) -> usize {
        if self.all_logits {
            self.n_tokens
        } else {
            self.n_seqs
        }
    }
}

/// Where a token of a step sits: the latent-cache slot of its sequence and its position there.
/// It sees the positions 0 ..= `pos` of its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub slot: usize,
    pub pos: usize,
}

impl Place {
    /// The places of `n` consecutive tokens of the sequence in `slot` from position `pos0`.
    pub fn run(slot: usize, pos0: usize, n: usize) -> Vec<Place> {
        (pos0..pos0 + n).map(|pos| Place { slot, pos }).collect()
    }
}

/// Checks a step's `tokens` and `places` against its shape `spec` and a cache of `n_slots`
/// slots of `n_ctx` positions: as many tokens as the spec says, at least one, then
/// [`check_places`]. Both executors run it before anything else.
pub fn check_step(
    spec: &StepSpec,
    tokens: &[u32],
    places: &[Place],
    n_ctx: usize,
    n_slots: usize,
) -> std::result::Result<(), String> {
    if tokens.len() != spec.n_tokens {
        return Err(format!(
            "step expects {} tokens, got {}",
            spec.n_tokens,
            tokens.len()
        ));
    }
    if tokens.is_empty() {
        return Err("a step needs at least one token".into());
    }
    check_places(spec, places, n_ctx, n_slots)
}

/// Checks that `places` fit a step of shape `spec` over a cache of `n_slots` slots of `n_ctx`
/// positions: one place per token, positions inside the context, one sequence's tokens
/// consecutive in one slot, a batch's sequences in distinct slots.
pub fn check_places(
    spec: &StepSpec,
    places: &[Place],
    n_ctx: usize,
    n_slots: usize,
) -> std::result::Result<(), String> {
    if places.len() != spec.n_tokens {
        return Err(format!(
            "step of {} tokens has {} places",
            spec.n_tokens,
            places.len()
        ));
    }
    if let Some(p) = places.iter().find(|p| p.pos >= n_ctx) {
        return Err(match (spec.n_seqs, places.first()) {
            (1, Some(first)) => format!(
                "positions {}..{} exceed the context of {n_ctx} tokens (-c)",
                first.pos,
                first.pos + places.len()
            ),
            _ => format!(
                "position {} of slot {} exceeds the context of {n_ctx} tokens (-c)",
                p.pos, p.slot
            ),
        });
    }
    if let Some(p) = places.iter().find(|p| p.slot >= n_slots) {
        return Err(format!("cache slot {} of {n_slots}", p.slot));
    }
    if spec.n_seqs == 1 {
        let consecutive = places
            .windows(2)
            .all(|w| w[1].slot == w[0].slot && w[1].pos == w[0].pos + 1);
        if !consecutive {
            return Err(
                "the tokens of one sequence must be consecutive positions of one slot".into(),
            );
        }
    } else {
        let mut slots: Vec<usize> = places.iter().map(|p| p.slot).collect();
        slots.sort_unstable();
        if slots.windows(2).any(|w| w[0] == w[1]) {
            return Err("a batched step holds one token per sequence (distinct slots)".into());
        }
    }
    Ok(())
}
