//! t-SNE to two dimensions, after openTSNE 1.0: affinities calibrated to a perplexity on the
//! k-nearest-neighbour graph (k = 3 · perplexity, the graph the UMAP layout and the trust
//! figures share), a PCA start scaled to a standard deviation of 10⁻⁴, 250 iterations of early
//! exaggeration (12) and then 500 plain ones, gradient descent with momentum 0.8, per-coordinate
//! gains, the learning rate n / exaggeration and steps clipped to length 5. The repulsion is
//! interpolated on a grid by FFT above a few thousand points ([`repulsion`]).
//!
//! **Deterministic in parallel**: each point's attraction sums its own row of P in index
//! order, the repulsion runs in a fixed order (see [`repulsion`]), and the means and
//! normalisations sum over fixed blocks; so the same seed gives the same layout bit for bit
//! whatever the thread count. The seed enters through the neighbour graph (seeded above the
//! exact search's size) and the random start a degenerate PCA falls back to.

pub mod repulsion;

use rayon::prelude::*;

use crate::engine::control::{Cancelled, Control};
use crate::engine::kernels::fixed_ranges;
use crate::engine::neighbors::KnnGraph;
use crate::engine::project::pca::pca_2d;
use crate::engine::project::spectral::SparseGraph;
use crate::engine::project::umap::EpochFn;
use crate::engine::rng::Rng;
use crate::engine::{Embeddings, Metric};
use repulsion::Repulsion;

/// t-SNE's parameters as the user gives them (openTSNE's names and defaults).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TsneParams {
    /// Effective number of neighbours each row's affinities are calibrated to.
    pub perplexity: f32,
    /// Iterations after the early exaggeration.
    pub n_iter: usize,
    /// Iterations of early exaggeration.
    pub early_exaggeration_iter: usize,
    /// Factor on the attraction during the early exaggeration.
    pub early_exaggeration: f32,
    /// Factor on the attraction afterwards (1: plain t-SNE; above 1 tightens clusters).
    pub exaggeration: f32,
    /// Step size; `None`: n / exaggeration of the phase (openTSNE's "auto").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f32>,
    /// Seed of the approximate neighbour graph and of a random start.
    pub seed: u64,
}

impl Default for TsneParams {
    fn default() -> Self {
        Self {
            perplexity: 30.0,
            n_iter: 500,
            early_exaggeration_iter: 250,
            early_exaggeration: 12.0,
            exaggeration: 1.0,
            learning_rate: None,
            seed: 0,
        }
    }
}

/// A rejected parameter or input.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TsneError {
    /// Too few rows to lay out.
    #[error("t-SNE needs at least 3 rows; this input has {0}")]
    TooFewRows(usize),
    /// A parameter out of range.
    #[error("{0}")]
    Param(String),
}

/// Why a t-SNE layout did not finish.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TsneRunError {
    /// Rejected parameters.
    #[error(transparent)]
    Invalid(#[from] TsneError),
    /// Stopped by a newer job or the user.
    #[error("cancelled")]
    Cancelled(#[from] Cancelled),
}

/// Checked t-SNE parameters for a given number of rows.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CheckedTsne {
    /// Neighbours per row: 3 · perplexity, at most n − 1.
    pub k: usize,
    /// The perplexity used: as given, or k / 3 when fewer rows than it were there.
    pub perplexity: f64,
    /// See [`TsneParams::n_iter`].
    pub n_iter: usize,
    /// See [`TsneParams::early_exaggeration_iter`].
    pub early_exaggeration_iter: usize,
    /// See [`TsneParams::early_exaggeration`].
    pub early_exaggeration: f64,
    /// See [`TsneParams::exaggeration`].
    pub exaggeration: f64,
    /// Step size of the early exaggeration.
    pub learning_rate_early: f64,
    /// Step size afterwards.
    pub learning_rate: f64,
    /// See [`TsneParams::seed`].
    pub seed: u64,
}

/// Momentum of both phases (openTSNE 1.0).
const MOMENTUM: f64 = 0.8;
/// The gains' floor.
const MIN_GAIN: f64 = 0.01;
/// Longest step a point takes in one iteration.
const MAX_STEP: f64 = 5.0;
/// Points per block of the parallel loops.
const BLOCK: usize = 2048;

impl TsneParams {
    /// Checks the parameters for an input of `n` rows.
    pub fn check(&self, n: usize) -> Result<CheckedTsne, TsneError> {
        if n < 3 {
            return Err(TsneError::TooFewRows(n));
        }
        let range = |name: &str, v: f32, lo: f32, hi: f32| -> Result<f64, TsneError> {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(f64::from(v))
            } else {
                Err(TsneError::Param(format!("{name} must be between {lo} and {hi}, not {v}")))
            }
        };
        let perplexity = range("perplexity", self.perplexity, 1.0, 100.0)?;
        let early_exaggeration = range("early_exaggeration", self.early_exaggeration, 1.0, 100.0)?;
        let exaggeration = range("exaggeration", self.exaggeration, 0.1, 100.0)?;
        if !(1..=10_000).contains(&self.n_iter) {
            return Err(TsneError::Param(format!("n_iter must be between 1 and 10000, not {}", self.n_iter)));
        }
        if self.early_exaggeration_iter > 10_000 {
            return Err(TsneError::Param(format!("early_exaggeration_iter must be at most 10000, not {}", self.early_exaggeration_iter)));
        }
        let given = match self.learning_rate {
            Some(l) => Some(range("learning_rate", l, 1e-3, 1e7)?),
            None => None,
        };
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a non-negative figure (positive or clamped by construction) rounded down to a bounded count or index"
        )]
        let k = ((3.0 * perplexity) as usize).min(n - 1);
        let perplexity = if perplexity > k as f64 { k as f64 / 3.0 } else { perplexity };
        let nf = n as f64;
        Ok(CheckedTsne {
            k,
            perplexity,
            n_iter: self.n_iter,
            early_exaggeration_iter: self.early_exaggeration_iter,
            early_exaggeration,
            exaggeration,
            learning_rate_early: given.unwrap_or(nf / early_exaggeration),
            learning_rate: given.unwrap_or(nf / exaggeration),
            seed: self.seed,
        })
    }
}

/// How the layout started.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum TsneInit {
    /// The two principal axes, scaled to a standard deviation of 10⁻⁴ on the first.
    Pca,
    /// Gaussian noise of standard deviation 10⁻⁴, and why.
    Random {
        /// Why PCA was not used.
        reason: String,
    },
}

impl TsneInit {
    /// A short description for reports and the window.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Pca => "PCA".to_string(),
            Self::Random { reason } => format!("random ({reason})"),
        }
    }
}

/// Where a layout's time went, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct TsneTimings {
    /// The neighbour graph (0 when reused).
    pub knn_ms: f64,
    /// The perplexity calibration and symmetrisation.
    pub affinity_ms: f64,
    /// The start.
    pub init_ms: f64,
    /// The early exaggeration.
    pub early_ms: f64,
    /// The iterations after it.
    pub optimize_ms: f64,
}

/// A finished layout and how it was made.
#[derive(Clone, Debug)]
pub struct TsneLayout {
    /// Every row's position.
    pub coords: Vec<[f32; 2]>,
    /// The parameters used.
    pub params: CheckedTsne,
    /// How the positions started.
    pub init: TsneInit,
    /// The final Kullback–Leibler divergence of the map's affinities from P.
    pub kl_divergence: f64,
    /// Stage times.
    pub timings_ms: TsneTimings,
    /// How the approximate neighbour graph was built and its recall (`None`: exact).
    pub knn: Option<crate::engine::neighbors::ann::AnnReport>,
}

fn ms(t: std::time::Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// One row's conditional probabilities p(j | i) over its neighbours at `dists`, with the
/// Gaussian's precision found by bisection so that the entropy is ln(perplexity) (openTSNE's
/// `compute_gaussian_perplexity`: squared distances, tolerance 10⁻⁸, at most 200 steps). The
/// exponent is shifted by the nearest distance, which changes nothing but underflow.
#[must_use]
pub fn conditional_row(dists: &[f32], perplexity: f64) -> Vec<f64> {
    let d2: Vec<f64> = dists.iter().map(|&d| f64::from(d) * f64::from(d)).collect();
    let d0 = d2.iter().copied().fold(f64::INFINITY, f64::min);
    let target = perplexity.ln();
    let (mut lo, mut hi, mut beta) = (f64::NEG_INFINITY, f64::INFINITY, 1.0f64);
    let mut p = vec![0.0f64; d2.len()];
    for _ in 0..200 {
        let mut sum = 0.0;
        for (pj, &d) in p.iter_mut().zip(&d2) {
            *pj = (-(d - d0) * beta).exp();
            sum += *pj;
        }
        let sum = sum.max(f64::EPSILON);
        let mut spread = 0.0;
        for (pj, &d) in p.iter_mut().zip(&d2) {
            *pj /= sum;
            spread += (d - d0) * *pj;
        }
        let diff = sum.ln() + beta * spread - target;
        if diff.abs() <= 1e-8 {
            break;
        }
        if diff > 0.0 {
            lo = beta;
            beta = if hi.is_infinite() { beta * 2.0 } else { (beta + hi) / 2.0 };
        } else {
            hi = beta;
            beta = if lo.is_infinite() { beta / 2.0 } else { (beta + lo) / 2.0 };
        }
    }
    p
}

/// The symmetric affinities P = (P₍ⱼ|ᵢ₎ + P₍ᵢ|ⱼ₎) / 2, normalised to sum to 1, from the first `k`
/// neighbours of every row.
#[must_use]
pub fn affinities(knn: &KnnGraph, k: usize, perplexity: f64) -> SparseGraph {
    let n = knn.n();
    let k = k.min(knn.k);
    let rows: Vec<(Vec<u32>, Vec<f64>)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let (idx, d) = knn.neighbors(i);
            let keep: Vec<usize> = (0..k).filter(|&c| idx[c] != u32::MAX && idx[c] as usize != i).collect();
            let ds: Vec<f32> = keep.iter().map(|&c| d[c]).collect();
            let p = conditional_row(&ds, perplexity);
            (keep.iter().map(|&c| idx[c]).collect(), p)
        })
        .collect();
    let mut entries: Vec<(u32, u32, f64)> = Vec::with_capacity(2 * n * k);
    for (i, (idx, p)) in rows.iter().enumerate() {
        #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
        let iu = i as u32;
        for (&j, &v) in idx.iter().zip(p) {
            entries.push((iu, j, v));
            entries.push((j, iu, v));
        }
    }
    entries.par_sort_unstable_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)).then(x.2.total_cmp(&y.2)));
    let mut merged: Vec<(u32, u32, f64)> = Vec::with_capacity(entries.len());
    for e in entries {
        match merged.last_mut() {
            Some(l) if l.0 == e.0 && l.1 == e.1 => l.2 += e.2,
            _ => merged.push(e),
        }
    }
    let total: f64 = merged.iter().map(|e| e.2).sum();
    let mut g =
        SparseGraph { indptr: vec![0; n + 1], indices: Vec::with_capacity(merged.len()), weights: Vec::with_capacity(merged.len()) };
    for (i, j, v) in merged {
        g.indices.push(j);
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
        )]
        g.weights.push((v / total) as f32);
        g.indptr[i as usize + 1] += 1;
    }
    for i in 0..n {
        g.indptr[i + 1] += g.indptr[i];
    }
    g
}

/// Lays out `emb` in `metric` by t-SNE. `on_iter` receives the positions after every iteration.
pub fn tsne(
    emb: &Embeddings,
    metric: Metric,
    params: &TsneParams,
    ctl: &Control,
    on_iter: Option<&EpochFn<'_>>,
) -> Result<TsneLayout, TsneRunError> {
    let n = emb.raw().n();
    let checked = params.check(n)?;
    let t = std::time::Instant::now();
    // At least 15 neighbours, so that the trust figures reuse the same graph.
    let (knn, ann, origin) = emb.layout_knn_graph(metric, checked.k.max(15), checked.seed, ctl)?;
    let knn_ms = if origin == crate::engine::cache::Origin::Cached { 0.0 } else { ms(t) };
    ctl.progress("affinities", 0.0);
    let t = std::time::Instant::now();
    let p = affinities(&knn, checked.k, checked.perplexity);
    drop(knn);
    let affinity_ms = ms(t);
    ctl.check()?;
    let t = std::time::Instant::now();
    let (mut y, init) = start(emb, checked.seed, ctl)?;
    let init_ms = ms(t);
    let mut gd = Descent::new(n);
    let total = checked.early_exaggeration_iter + checked.n_iter;
    let t = std::time::Instant::now();
    let phase = Phase {
        exaggeration: checked.early_exaggeration,
        learning_rate: checked.learning_rate_early,
        iters: checked.early_exaggeration_iter,
    };
    gd.run(&p, &mut y, &phase, 0, total, ctl, on_iter)?;
    let early_ms = ms(t);
    let t = std::time::Instant::now();
    let phase = Phase { exaggeration: checked.exaggeration, learning_rate: checked.learning_rate, iters: checked.n_iter };
    gd.run(&p, &mut y, &phase, checked.early_exaggeration_iter, total, ctl, on_iter)?;
    let optimize_ms = ms(t);
    let kl_divergence = kl_divergence(&p, &y, &mut gd.repulsion);
    #[expect(
        clippy::cast_possible_truncation,
        reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
    )]
    let coords = y.iter().map(|p| [p[0] as f32, p[1] as f32]).collect();
    Ok(TsneLayout {
        coords,
        params: checked,
        init,
        kl_divergence,
        timings_ms: TsneTimings { knn_ms, affinity_ms, init_ms, early_ms, optimize_ms },
        knn: ann,
    })
}

/// openTSNE's start: the two principal axes scaled so that the first has standard deviation
/// 10⁻⁴; Gaussian noise of that size when the axes have no spread (identical rows).
fn start(emb: &Embeddings, seed: u64, ctl: &Control) -> Result<(Vec<[f64; 2]>, TsneInit), Cancelled> {
    let pca = pca_2d(emb.raw(), ctl)?;
    let n = pca.projection.len();
    let nf = n as f64;
    let mean = pca.projection.iter().map(|p| f64::from(p[0])).sum::<f64>() / nf;
    let sd = (pca.projection.iter().map(|p| (f64::from(p[0]) - mean).powi(2)).sum::<f64>() / nf).sqrt();
    if sd.is_finite() && sd > 1e-12 && pca.projection.iter().all(|p| p[0].is_finite() && p[1].is_finite()) {
        let s = 1e-4 / sd;
        return Ok((pca.projection.iter().map(|p| [f64::from(p[0]) * s, f64::from(p[1]) * s]).collect(), TsneInit::Pca));
    }
    let mut rng = Rng::derive(seed, 0x75e);
    let y = (0..n).map(|_| [rng.next_gaussian() * 1e-4, rng.next_gaussian() * 1e-4]).collect();
    Ok((y, TsneInit::Random { reason: "the principal axes have no spread".to_string() }))
}

/// One phase of the descent.
struct Phase {
    exaggeration: f64,
    learning_rate: f64,
    iters: usize,
}

/// The descent's state, carried from the early exaggeration into the rest (as openTSNE's).
struct Descent {
    update: Vec<[f64; 2]>,
    gains: Vec<[f64; 2]>,
    grad: Vec<[f64; 2]>,
    repulsion: Repulsion,
    blocks: Vec<std::ops::Range<usize>>,
}

impl Descent {
    fn new(n: usize) -> Self {
        Self {
            update: vec![[0.0; 2]; n],
            gains: vec![[1.0; 2]; n],
            grad: vec![[0.0; 2]; n],
            repulsion: Repulsion::default(),
            blocks: fixed_ranges(n, n.div_ceil(BLOCK)),
        }
    }

    #[expect(clippy::too_many_arguments, reason = "the kernel's inputs are separate slices and sizes; a struct would only name them again")]
    fn run(
        &mut self,
        p: &SparseGraph,
        y: &mut [[f64; 2]],
        phase: &Phase,
        done: usize,
        total: usize,
        ctl: &Control,
        on_iter: Option<&EpochFn<'_>>,
    ) -> Result<(), Cancelled> {
        let n = y.len();
        let mut shown: Vec<[f32; 2]> = Vec::new();
        for it in 0..phase.iters {
            ctl.check()?;
            for g in &mut self.grad {
                *g = [0.0; 2];
            }
            self.repulsion.apply(y, &mut self.grad);
            attraction(p, y, phase.exaggeration, &mut self.grad);
            let lr = phase.learning_rate;
            self.update.par_iter_mut().zip(self.gains.par_iter_mut()).zip(self.grad.par_iter()).zip(y.par_iter_mut()).for_each(
                |(((u, g), d), yi)| {
                    for c in 0..2 {
                        if sign(u[c]) == sign(d[c]) {
                            g[c] = g[c] * 0.8 + MIN_GAIN;
                        } else {
                            g[c] += 0.2;
                        }
                        u[c] = MOMENTUM * u[c] - lr * g[c] * d[c];
                    }
                    let norm = u[0].hypot(u[1]);
                    if norm > MAX_STEP {
                        u[0] *= MAX_STEP / norm;
                        u[1] *= MAX_STEP / norm;
                    }
                    yi[0] += u[0];
                    yi[1] += u[1];
                },
            );
            // Centre, the sum in fixed blocks.
            let sums: Vec<[f64; 2]> =
                self.blocks.par_iter().map(|r| y[r.clone()].iter().fold([0.0; 2], |s, p| [s[0] + p[0], s[1] + p[1]])).collect();
            let s = sums.iter().fold([0.0; 2], |s, p| [s[0] + p[0], s[1] + p[1]]);
            let mean = [s[0] / n as f64, s[1] / n as f64];
            y.par_iter_mut().for_each(|p| {
                p[0] -= mean[0];
                p[1] -= mean[1];
            });
            let step = done + it + 1;
            ctl.progress("layout", step as f32 / total as f32);
            if let Some(f) = on_iter {
                #[expect(clippy::cast_possible_truncation, reason = "an f64 position rounded to the engine's f32")]
                {
                    shown.clear();
                    shown.extend(y.iter().map(|p| [p[0] as f32, p[1] as f32]));
                }
                f(step, total, &shown);
            }
        }
        Ok(())
    }
}

/// np.sign: −1, 0 or 1.
fn sign(v: f64) -> i8 {
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

/// Adds every point's attraction, exaggeration · Σⱼ pᵢⱼ q̃ᵢⱼ (yᵢ − yⱼ), to `grad`.
fn attraction(p: &SparseGraph, y: &[[f64; 2]], exaggeration: f64, grad: &mut [[f64; 2]]) {
    grad.par_iter_mut().enumerate().with_min_len(256).for_each(|(i, g)| {
        let yi = y[i];
        let (mut fx, mut fy) = (0.0f64, 0.0f64);
        for e in p.indptr[i]..p.indptr[i + 1] {
            let yj = y[p.indices[e] as usize];
            let d = [yi[0] - yj[0], yi[1] - yj[1]];
            let w = f64::from(p.weights[e]) / (1.0 + d[0] * d[0] + d[1] * d[1]);
            fx += w * d[0];
            fy += w * d[1];
        }
        g[0] += exaggeration * fx;
        g[1] += exaggeration * fy;
    });
}

/// KL(P ‖ Q) = Σ pᵢⱼ ln(pᵢⱼ / qᵢⱼ), with qᵢⱼ = q̃ᵢⱼ / Z.
fn kl_divergence(p: &SparseGraph, y: &[[f64; 2]], rep: &mut Repulsion) -> f64 {
    let mut scratch = vec![[0.0; 2]; y.len()];
    let z = rep.apply(y, &mut scratch);
    let n = y.len();
    let blocks = fixed_ranges(n, n.div_ceil(BLOCK));
    let parts: Vec<f64> = blocks
        .par_iter()
        .map(|r| {
            let mut s = 0.0;
            for i in r.clone() {
                for e in p.indptr[i]..p.indptr[i + 1] {
                    let pij = f64::from(p.weights[e]).max(f64::EPSILON);
                    let yj = y[p.indices[e] as usize];
                    let d = [y[i][0] - yj[0], y[i][1] - yj[1]];
                    let q = (1.0 / (1.0 + d[0] * d[0] + d[1] * d[1])).max(f64::EPSILON);
                    s += pij * (pij / q).ln();
                }
            }
            s
        })
        .collect();
    let psum: f64 = p.weights.iter().map(|&w| f64::from(w)).sum();
    parts.iter().sum::<f64>() + psum * z.ln()
}

/// The gradient openTSNE's optimiser steps along for positions `y` (attraction minus
/// repulsion, without the factor 4), and Z; for tests against openTSNE's.
#[must_use]
pub fn gradient(p: &SparseGraph, y: &[[f64; 2]], interpolated: bool) -> (Vec<[f64; 2]>, f64) {
    let mut g = vec![[0.0; 2]; y.len()];
    let z = if interpolated { Repulsion::default().interpolated(y, &mut g) } else { repulsion::exact(y, &mut g) };
    attraction(p, y, 1.0, &mut g);
    (g, z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_row_meets_the_perplexity() {
        let d: Vec<f32> = (1..=90).map(|i| 0.2 + 0.01 * i as f32).collect();
        let p = conditional_row(&d, 30.0);
        let s: f64 = p.iter().sum();
        assert!((s - 1.0).abs() < 1e-12);
        let h: f64 = -p.iter().filter(|&&v| v > 0.0).map(|&v| v * v.ln()).sum::<f64>();
        assert!((h - 30f64.ln()).abs() < 1e-6, "entropy {h}");
        // Far rows (euclidean distances in the hundreds) underflow nothing.
        let far: Vec<f32> = (0..90).map(|i| 300.0 + i as f32).collect();
        let p = conditional_row(&far, 30.0);
        assert!(p.iter().all(|v| v.is_finite()) && (p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn check_caps_the_perplexity_by_the_rows() {
        let c = TsneParams::default().check(10).unwrap();
        assert_eq!(c.k, 9);
        assert!((c.perplexity - 3.0).abs() < 1e-12);
        let c = TsneParams::default().check(50).unwrap();
        assert_eq!((c.k, c.perplexity), (49, 30.0));
        assert_eq!(TsneParams::default().check(2), Err(TsneError::TooFewRows(2)));
        let bad = TsneParams { perplexity: f32::NAN, ..TsneParams::default() };
        assert!(matches!(bad.check(100), Err(TsneError::Param(m)) if m.contains("perplexity")));
        let c = TsneParams::default().check(24_000).unwrap();
        assert!((c.learning_rate_early - 2000.0).abs() < 1e-9 && (c.learning_rate - 24_000.0).abs() < 1e-9);
    }
}
