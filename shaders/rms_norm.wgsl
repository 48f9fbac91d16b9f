// rms_norm: Y[r, c] = X[r, c] / sqrt(mean_c(X[r, c]²) + eps) · W[c], over rows of length n.
// CPU twin: cpu::ops::rms_norm (the RmsNorm op); it sums in f64, this kernel in f32 (a tree of WG
// partial sums, each over n / WG elements, so the rounding error stays ~1e-7 relative).
//
// With `add` set, the row is X + B first (the residual Add before a norm, folded by the executor):
// that sum is also written to S [n_rows, n], and normalized into Y.
//
// Bindings: X f32 (row r at r · x_stride: a prefix of longer rows, or the rows themselves),
//           W [n] f32, Y f32 (row r at r · y_stride + y_offset: [n_rows, n] itself, or rows of
//           the latent cache), B and S [n_rows, n] f32 (used only with `add`), P params.
// Mapping: one workgroup per row, rows over workgroup x + y · (x count) so any row count fits the
// per-dimension limit. The WG invocations stride over the row twice: sum of squares, then scale.

const WG: u32 = 256u;

struct Params {
    n_rows: u32,
    n: u32,
    eps: f32,
    x_stride: u32,
    y_stride: u32,
    y_offset: u32,
    add: u32,
    pad0: u32,
}

@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read_write> S: array<f32>;
@group(0) @binding(5) var<uniform> P: Params;

// Element c of row r: X, or X + B (stored to S) with `add`.
fn load_row(x_row: u32, r: u32, c: u32) -> f32 {
    if (P.add == 0u) {
        return X[x_row + c];
    }
    return X[x_row + c] + B[r * P.n + c];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let r = wg.x + wg.y * nwg.x;
    // Whole workgroups leave together, so the barriers in workgroup_sum stay uniform.
    if (r >= P.n_rows) {
        return;
    }
    let row = r * P.y_stride + P.y_offset;
    let x_row = r * P.x_stride;
    var acc = 0.0;
    for (var c = lid; c < P.n; c = c + WG) {
        let v = load_row(x_row, r, c);
        if (P.add != 0u) {
            S[r * P.n + c] = v;
        }
        acc = acc + v * v;
    }
    let sum_sq = workgroup_sum(acc, lid);
    let scale = 1.0 / sqrt(sum_sq / f32(P.n) + P.eps);
    for (var c = lid; c < P.n; c = c + WG) {
        Y[row + c] = (load_row(x_row, r, c) * scale) * W[c];
    }
}
