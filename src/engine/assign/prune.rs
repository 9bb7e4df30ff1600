//! A shortcut for [`crate::engine::assign::nearest`] where clusters are well apart: guess each row's
//! nearest target from a few principal directions of the targets, measure the exact distance
//! `D` to the guess, and rule out every target `j` that the triangle inequality puts farther:
//! `‖x − c_j‖ ≥ ‖c_a − c_j‖ − D`. The targets left (the guess and those not ruled out) are
//! compared by their exact distances, as the full scan compares its candidates, so the answer is
//! the same target; only the work differs. A row with more than a few targets left goes to the
//! full scan, and so does everything once most rows do (real text, where clusters overlap).
//!
//! The guess costs a GEMM with `GUESS_DIMS` columns instead of `k`, plus one exact distance per
//! row: on 1M × 384 rows with k = 100 well-separated centroids, a fifth of the full scan's
//! arithmetic.

use crate::engine::kernels::{dot_f64, dot_nt, sq_dist_exact, sum_sq};
use crate::engine::matrix::Matrix;
use crate::engine::metric::Metric;

/// Principal directions of the targets that the guess uses.
const GUESS_DIMS: usize = 8;
/// Targets beyond which the k × k distances between them cost too much.
const MAX_TARGETS: usize = 256;
/// A row with more targets left than this goes to the full scan.
const MAX_LEFT: usize = 6;
/// Relative margin by which a ruled-out target must be farther than the guess: far above the
/// rounding of the f64 distances (about 1e-13 relative at d = 1000).
const MARGIN: f64 = 1e-9;

/// The targets prepared for the shortcut.
pub(super) struct Pruner {
    /// `dims × d`: the principal directions, row by row.
    axes: Vec<f32>,
    dims: usize,
    /// `k × dims`: the targets along them, and their squared lengths there.
    t_axes: Vec<f32>,
    t_axes_sq: Vec<f32>,
    /// `k × k` exact euclidean distances between targets.
    between: Vec<f64>,
    /// Squared norms of the targets (f64).
    t_sq: Vec<f64>,
}

/// One row's answer: (target, exact key), or `None` for the full scan.
pub(super) type Answer = Option<(u32, f64)>;

impl Pruner {
    /// The shortcut for `targets`, when `rows` rows make its preparation worth it.
    pub(super) fn new(targets: &Matrix, rows: usize) -> Option<Self> {
        let (k, d) = (targets.n(), targets.d());
        if !(3..=MAX_TARGETS).contains(&k) || d < 2 * GUESS_DIMS {
            return None;
        }
        // Preparation ≈ 2k²d + min(k, d)³; a full scan 2nkd: worth it from ~20× that.
        let (kf, df, nf) = (k as f64, d as f64, rows as f64);
        let small = kf.min(df);
        if 2.0 * nf * kf * df < 20.0 * (2.0 * kf * kf * df + small * small * small) {
            return None;
        }
        let dims = GUESS_DIMS.min(k - 1);
        let axes = principal_axes(targets, dims);
        let mut t_axes = vec![0.0f32; k * dims];
        dot_nt(targets.as_slice(), k, &axes, dims, d, &mut t_axes, dims);
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
        )]
        let t_axes_sq = t_axes.chunks_exact(dims).map(|r| sum_sq(r) as f32).collect();
        let mut between = vec![0.0f64; k * k];
        for a in 0..k {
            for j in a + 1..k {
                let v = sq_dist_exact(targets.row(a), targets.row(j)).sqrt();
                between[a * k + j] = v;
                between[j * k + a] = v;
            }
        }
        let t_sq = (0..k).map(|j| sum_sq(targets.row(j))).collect();
        Some(Self { axes, dims, t_axes, t_axes_sq, between, t_sq })
    }

    /// Answers for the `m` rows of `block` (row-major, `d` values each).
    pub(super) fn resolve(
        &self,
        block: &[f32],
        m: usize,
        targets: &Matrix,
        metric: Metric,
        key: impl Fn(&[f32], &[f32]) -> f64,
    ) -> Vec<Answer> {
        let (k, d, dims) = (targets.n(), targets.d(), self.dims);
        let mut along = vec![0.0f32; m * dims];
        dot_nt(block, m, &self.axes, dims, d, &mut along, dims);
        let mut prods = vec![0.0f32; m * k];
        dot_nt(&along, m, &self.t_axes, k, dims, &mut prods, k);
        let mut left: Vec<u32> = Vec::with_capacity(MAX_LEFT + 1);
        (0..m)
            .map(|r| {
                let x = &block[r * d..(r + 1) * d];
                let row = &prods[r * k..(r + 1) * k];
                // The guess: nearest along the axes (any target would be correct; a near one
                // rules out more).
                let mut a = 0;
                let mut best = f32::INFINITY;
                for (j, (&p, &sq)) in row.iter().zip(&self.t_axes_sq).enumerate() {
                    let v = sq - 2.0 * p;
                    if v < best {
                        (a, best) = (j, v);
                    }
                }
                let d2 = sq_dist_exact(x, targets.row(a));
                let dist = d2.sqrt();
                let (na, between) = (self.t_sq[a], &self.between[a * k..(a + 1) * k]);
                left.clear();
                for (j, &cc) in between.iter().enumerate() {
                    if j == a {
                        continue;
                    }
                    let lower = cc - dist;
                    // How much larger target j's key is at least: ‖x − c_j‖² − ‖x − c_a‖²
                    // (euclidean), or x·c_a − x·c_j = half that plus half ‖c_a‖² − ‖c_j‖².
                    let ruled_out = lower > 0.0 && {
                        let l2 = lower * lower;
                        match metric {
                            Metric::Euclidean => l2 - d2 > MARGIN * (l2 + d2),
                            Metric::Cosine => {
                                let nj = self.t_sq[j];
                                l2 - d2 + na - nj > MARGIN * (l2 + d2 + na + nj)
                            }
                        }
                    };
                    if !ruled_out {
                        if left.len() == MAX_LEFT {
                            return None;
                        }
                        #[expect(
                            clippy::cast_possible_truncation,
                            reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)"
                        )]
                        left.push(j as u32);
                    }
                }
                let ka = match metric {
                    Metric::Euclidean => d2,
                    Metric::Cosine => -dot_f64(x, targets.row(a)),
                };
                #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
                let mut win = (a as u32, ka);
                for &j in &left {
                    let kj = key(x, targets.row(j as usize));
                    if kj < win.1 || (kj == win.1 && j < win.0) {
                        win = (j, kj);
                    }
                }
                Some(win)
            })
            .collect()
    }
}

/// The `dims` leading principal directions of the rows of `m` (about their mean), as a
/// `dims × d` row-major f32 matrix of unit rows; from the k × k Gram matrix when k ≤ d, else
/// from the d × d covariance.
fn principal_axes(m: &Matrix, dims: usize) -> Vec<f32> {
    let (k, d) = (m.n(), m.d());
    let mut mean = vec![0.0f64; d];
    for j in 0..k {
        mean.iter_mut().zip(m.row(j)).for_each(|(s, &v)| *s += f64::from(v));
    }
    mean.iter_mut().for_each(|s| *s /= k as f64);
    let centred: Vec<f64> = (0..k).flat_map(|j| m.row(j).iter().zip(&mean).map(|(&v, mu)| f64::from(v) - mu).collect::<Vec<_>>()).collect();
    let mut axes = vec![0.0f32; dims * d];
    if k <= d {
        let mut gram = vec![0.0f64; k * k];
        for a in 0..k {
            for b in a..k {
                let v: f64 = centred[a * d..(a + 1) * d].iter().zip(&centred[b * d..(b + 1) * d]).map(|(p, q)| p * q).sum();
                gram[a * k + b] = v;
                gram[b * k + a] = v;
            }
        }
        let (_, vecs) = crate::engine::eigen::symmetric_eigen(&gram, k);
        for (t, axis) in axes.chunks_exact_mut(d).enumerate() {
            // Eigenvector k − 1 − t (largest first), a column of `vecs`.
            let col = k - 1 - t;
            let mut dir = vec![0.0f64; d];
            for a in 0..k {
                let w = vecs[a * k + col];
                dir.iter_mut().zip(&centred[a * d..(a + 1) * d]).for_each(|(s, &c)| *s += w * c);
            }
            write_unit(&dir, axis);
        }
    } else {
        let mut cov = vec![0.0f64; d * d];
        for a in 0..k {
            let row = &centred[a * d..(a + 1) * d];
            for p in 0..d {
                for q in p..d {
                    cov[p * d + q] += row[p] * row[q];
                }
            }
        }
        for p in 0..d {
            for q in 0..p {
                cov[p * d + q] = cov[q * d + p];
            }
        }
        let (_, vecs) = crate::engine::eigen::symmetric_eigen(&cov, d);
        for (t, axis) in axes.chunks_exact_mut(d).enumerate() {
            let col = d - 1 - t;
            let dir: Vec<f64> = (0..d).map(|p| vecs[p * d + col]).collect();
            write_unit(&dir, axis);
        }
    }
    axes
}

/// `dir` scaled to unit length into `out` (zeros when it has none).
fn write_unit(dir: &[f64], out: &mut [f32]) {
    let norm = dir.iter().map(|v| v * v).sum::<f64>().sqrt();
    #[expect(
        clippy::cast_possible_truncation,
        reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
    )]
    out.iter_mut().zip(dir).for_each(|(o, &v)| *o = if norm > 0.0 { (v / norm) as f32 } else { 0.0 });
}
