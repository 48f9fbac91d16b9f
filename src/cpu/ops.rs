//! Scalar reference ops. Plain loops, f64 accumulation for every reduction, no fused tricks: these
//! functions are the specification the GPU kernels are checked against.

use crate::error::Result;
use crate::quant::{self, QuantType};

/// Running sums in `dot`: element i goes to sum i mod DOT_LANES.
const DOT_LANES: usize = 8;

/// Dot product accumulated in f64: every product is exact in f64, and DOT_LANES running sums keep
/// the additions independent, so a core overlaps them instead of waiting on one chain; the sums
/// are added pairwise in a fixed order, so the result is deterministic.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f64; DOT_LANES];
    let (a_n, b_n) = (a.chunks_exact(DOT_LANES), b.chunks_exact(DOT_LANES));
    let (a_tail, b_tail) = (a_n.remainder(), b_n.remainder());
    for (x, y) in a_n.zip(b_n) {
        for i in 0..DOT_LANES {
            acc[i] += x[i] as f64 * y[i] as f64;
        }
    }
    for (i, (&x, &y)) in a_tail.iter().zip(b_tail).enumerate() {
        acc[i] += x as f64 * y as f64;
    }
    let mut n = DOT_LANES;
    while n > 1 {
        n /= 2;
        for i in 0..n {
            acc[i] += acc[i + n];
        }
    }
    acc[0] as f32
}

/// A matrix as stored: `rows` rows of `cols` elements of type `ty`, one GGUF row after another.
#[derive(Clone, Copy)]
pub struct QMatrix<'a> {
    pub ty: QuantType,
    pub bytes: &'a [u8],
    pub rows: usize,
    pub cols: usize,
}

impl<'a> QMatrix<'a> {
    pub fn row_bytes(&self) -> usize {
        self.ty
            .row_bytes(self.cols as u64)
            .expect("shape checked at load") as usize
    }
    /// Matrix `i` of a stack of equal matrices (per head, per expert).
    pub fn slab(&self, i: usize, rows: usize) -> QMatrix<'a> {
        let size = rows * self.row_bytes();
        QMatrix {
            bytes: &self.bytes[i * size..(i + 1) * size],
            rows,
            ..*self
        }
    }
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) -> Result<()> {
        let rb = self.row_bytes();
        quant::dequantize_row(self.ty, &self.bytes[r * rb..(r + 1) * rb], out)
    }
}

/// Below this many multiply-adds a matmul runs on one thread (spawning costs more).
const PAR_MIN_WORK: usize = 1 << 20;

/// y[t, r] = Σ_c W[r, c] · x[t, c] for t < n_tok. x: [n_tok, cols]; returns [n_tok, rows].
/// Rows are split over the available cores; each row is dequantized once and used for every token.
pub fn matmul(w: QMatrix, x: &[f32], n_tok: usize) -> Result<Vec<f32>> {
    debug_assert_eq!(x.len(), n_tok * w.cols);
    let threads = if w.rows * w.cols * n_tok < PAR_MIN_WORK {
        1
    } else {
        n_threads().min(w.rows)
    };
    let chunk = w.rows.div_ceil(threads);
    let work = |r0: usize, r1: usize| -> Result<Vec<f32>> {
        let mut row = vec![0f32; w.cols];
        let mut part = vec![0f32; n_tok * (r1 - r0)];
        for r in r0..r1 {
            w.dequantize_row(r, &mut row)?;
            for t in 0..n_tok {
                part[t * (r1 - r0) + r - r0] = dot(&row, &x[t * w.cols..(t + 1) * w.cols]);
            }
        }
        Ok(part)
    };
    let parts: Vec<(usize, usize, Result<Vec<f32>>)> = if threads == 1 {
        vec![(0, w.rows, work(0, w.rows))]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|i| (i * chunk, ((i + 1) * chunk).min(w.rows)))
                .filter(|(r0, r1)| r0 < r1)
                .map(|(r0, r1)| (r0, r1, s.spawn(move || work(r0, r1))))
                .collect();
            handles
                .into_iter()
                .map(|(r0, r1, h)| (r0, r1, h.join().expect("matmul worker panicked")))
                .collect()
        })
    };
    let mut y = vec![0f32; n_tok * w.rows];
    for (r0, r1, part) in parts {
        let part = part?;
        for t in 0..n_tok {
            y[t * w.rows + r0..t * w.rows + r1]
                .copy_from_slice(&part[t * (r1 - r0)..(t + 1) * (r1 - r0)]);
        }
    }
    Ok(y)
}

fn n_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// out = x / sqrt(mean(x²) + eps) · w for each row of length w.len().
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let n = w.len();
    for (xr, yr) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
        let mean = xr.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / n as f64;
        let scale = 1.0 / (mean + eps as f64).sqrt();
        for ((y, &v), &g) in yr.iter_mut().zip(xr).zip(w) {
            *y = ((v as f64 * scale) as f32) * g;
        }
    }
}

pub fn silu(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// In-place softmax with max subtraction and an f64 sum.
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f64;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v as f64;
    }
    let inv = (1.0 / sum) as f32;
    x.iter_mut().for_each(|v| *v *= inv);
}

#[cfg(test)]
mod tests {
    use super::dot;

    /// The lane sums agree with one sequential f64 sum at every length around the lane count
    /// (the tail included), to f32 rounding.
    #[test]
    fn dot_matches_a_sequential_f64_sum_at_every_tail_length() {
        for n in 0..=41usize {
            let a: Vec<f32> = (0..n).map(|i| ((i * 7 % 13) as f32 - 6.0) * 0.37).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 5 % 11) as f32 - 5.0) * 1.9).collect();
            let want = a
                .iter()
                .zip(&b)
                .map(|(&x, &y)| x as f64 * y as f64)
                .sum::<f64>() as f32;
            let got = dot(&a, &b);
            assert!(
                (got - want).abs() <= f32::EPSILON * want.abs(),
                "n = {n}: {got} against {want}"
            );
        }
    }
}
