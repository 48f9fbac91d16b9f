//! Token sampling, in llama.cpp's default order: repetition penalty → top-k → top-p → min-p →
//! temperature → draw. Temperature ≤ 0 means greedy (argmax, ties to the lower id).

/// Sampling settings. The defaults are llama.cpp's (top-k 40, top-p 0.95, min-p 0.05, temp 0.8).
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerConfig {
    pub temperature: f32,
    pub top_k: usize,
    pub top_p: f32,
    pub min_p: f32,
    /// 1.0 disables it.
    pub repeat_penalty: f32,
    /// How many recent tokens the penalty looks at.
    pub repeat_last_n: usize,
    pub seed: u64,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            seed: 0,
        }
    }
}

impl SamplerConfig {
    pub fn greedy() -> Self {
        SamplerConfig {
            temperature: 0.0,
            ..Default::default()
        }
    }
}

/// SplitMix64: small, seedable, and the same on every platform (and in the browser).
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub struct Sampler {
    cfg: SamplerConfig,
    rng: Rng,
    recent: Vec<u32>,
}

/// Index of the largest value, ties to the lower index.
pub fn argmax(x: &[f32]) -> usize {
    (0..x.len()).fold(0, |best, i| if x[i] > x[best] { i } else { best })
}

impl Sampler {
    pub fn new(cfg: SamplerConfig) -> Sampler {
        let rng = Rng(cfg.seed);
        Sampler {
            cfg,
            rng,
            recent: Vec::new(),
        }
    }

    pub fn is_greedy(&self) -> bool {
        self.cfg.temperature <= 0.0 && self.cfg.repeat_penalty == 1.0
    }

    /// Records a token (prompt or generated) for the repetition penalty.
    pub fn accept(&mut self, id: u32) {
        self.recent.push(id);
        let n = self.cfg.repeat_last_n;
        if self.recent.len() > n {
            self.recent.drain(..self.recent.len() - n);
        }
    }

    /// Picks the next token from a row of logits.
    pub fn sample(&mut self, logits: &[f32]) -> u32 {
        let mut logits = logits.to_vec();
        if self.cfg.repeat_penalty != 1.0 {
            for &id in &self.recent {
                let l = &mut logits[id as usize];
                *l = if *l > 0.0 {
                    *l / self.cfg.repeat_penalty
                } else {
                    *l * self.cfg.repeat_penalty
                };
            }
        }
        if self.cfg.temperature <= 0.0 {
            return argmax(&logits) as u32;
        }
        // Candidates sorted by logit, best first (ties to the lower id).
        let mut cand: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (i as u32, l))
            .collect();
        cand.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        if self.cfg.top_k > 0 {
            cand.truncate(self.cfg.top_k);
        }
        let probs = softmax_of(&cand, 1.0);
        if self.cfg.top_p < 1.0 {
            let mut cum = 0.0;
            let keep = probs.iter().position(|&p| {
                cum += p;
                cum >= self.cfg.top_p as f64
            });
            cand.truncate(keep.map_or(cand.len(), |k| k + 1));
        }
        if self.cfg.min_p > 0.0 {
            let probs = softmax_of(&cand, 1.0);
            let floor = probs[0] * self.cfg.min_p as f64;
            let keep = probs.iter().take_while(|&&p| p >= floor).count().max(1);
            cand.truncate(keep);
        }
        let probs = softmax_of(&cand, self.cfg.temperature);
        let r = self.rng.next_f64();
        let mut cum = 0.0;
        for (i, p) in probs.iter().enumerate() {
            cum += p;
            if r < cum {
                return cand[i].0;
            }
        }
        cand.last().expect("at least one candidate").0
    }
}

fn softmax_of(cand: &[(u32, f32)], temperature: f32) -> Vec<f64> {
    let max = cand[0].1 as f64;
    let e: Vec<f64> = cand
        .iter()
        .map(|c| ((c.1 as f64 - max) / temperature as f64).exp())
        .collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|v| v / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_argmax_with_ties_to_the_lower_id() {
        let mut s = Sampler::new(SamplerConfig::greedy());
        assert_eq!(s.sample(&[0.1, 2.0, 2.0, -1.0]), 1);
    }

    #[test]
    fn same_seed_same_tokens_and_top_k_1_is_greedy() {
        let logits: Vec<f32> = (0..50).map(|i| ((i * 37) % 11) as f32 * 0.3).collect();
        let cfg = SamplerConfig {
            temperature: 1.5,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            seed: 7,
            ..Default::default()
        };
        let a: Vec<u32> = {
            let mut s = Sampler::new(cfg.clone());
            (0..20).map(|_| s.sample(&logits)).collect()
        };
        let b: Vec<u32> = {
            let mut s = Sampler::new(cfg.clone());
            (0..20).map(|_| s.sample(&logits)).collect()
        };
        assert_eq!(a, b);
        assert!(
            a.iter().collect::<std::collections::HashSet<_>>().len() > 1,
            "temperature 1.5 should vary"
        );
        let mut s = Sampler::new(SamplerConfig { top_k: 1, ..cfg });
        assert_eq!(s.sample(&logits), argmax(&logits) as u32);
    }

    #[test]
    fn top_p_and_min_p_cut_the_tail() {
        // One dominant token: top-p 0.5 and min-p 0.5 both leave only it.
        let logits = [10.0, 0.0, 0.0, 0.0];
        for cfg in [
            SamplerConfig {
                temperature: 5.0,
                top_k: 0,
                top_p: 0.5,
                min_p: 0.0,
                ..Default::default()
            },
            SamplerConfig {
                temperature: 5.0,
                top_k: 0,
                top_p: 1.0,
                min_p: 0.5,
                ..Default::default()
            },
        ] {
            let mut s = Sampler::new(cfg);
            assert!((0..50).all(|_| s.sample(&logits) == 0));
        }
    }

    #[test]
    fn repetition_penalty_demotes_recent_tokens() {
        let mut s = Sampler::new(SamplerConfig {
            temperature: 0.0,
            repeat_penalty: 2.0,
            ..Default::default()
        });
        s.accept(0);
        assert_eq!(s.sample(&[3.0, 2.0]), 1);
    }
}
