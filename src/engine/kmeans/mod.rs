//! K-means: greedy k-means++ initialisation and Lloyd iterations whose assignment step is a
//! blocked f32 GEMM, with Hamerly's or Elkan's bounds skipping the rows whose label provably stays
//! (`lloyd.rs`); spherical K-means (unit centroids) under the cosine metric.
//!
//! Follows scikit-learn's `KMeans(algorithm="lloyd")`: the same initialisation scheme, the same
//! tolerance (relative to the mean per-feature variance), the same empty-cluster relocation and
//! a final assignment step so that labels always match the returned centroids.

pub(crate) mod lloyd;
pub mod minibatch;
pub mod preview;

use rayon::prelude::*;

use crate::engine::control::{Cancelled, Control};
use crate::engine::kernels::{ROW_BLOCK, add_assign, dot_nt, fixed_ranges, row_norms_sq, split_by_ranges, sq_dist};
use crate::engine::kmeans::lloyd::lloyd;
use crate::engine::matrix::Matrix;
use crate::engine::metric::{Embeddings, Metric};
use crate::engine::rng::Rng;

/// K-means settings as a user gives them; [`KMeansParams::check`] turns them into [`KMeansConfig`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct KMeansParams {
    /// Number of clusters.
    pub k: usize,
    /// Distance: euclidean (Lloyd) or cosine (spherical K-means).
    pub metric: Metric,
    /// Independent k-means++ restarts; the one with the lowest inertia is kept.
    pub n_init: usize,
    /// Lloyd iterations per restart at most.
    pub max_iter: usize,
    /// Convergence tolerance, relative to the mean per-feature variance (as scikit-learn).
    pub tol: f64,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Default for KMeansParams {
    fn default() -> Self {
        Self { k: 8, metric: Metric::Euclidean, n_init: 3, max_iter: 300, tol: 1e-4, seed: 0 }
    }
}

/// Why K-means settings were rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KMeansParamError {
    /// k outside `1..=n`.
    #[error("k must be between 1 and the number of rows ({n}), got {k}")]
    BadK {
        /// Requested k.
        k: usize,
        /// Rows available.
        n: usize,
    },
    /// `n_init` of zero.
    #[error("n_init must be at least 1")]
    ZeroInit,
    /// `max_iter` of zero.
    #[error("max_iter must be at least 1")]
    ZeroIter,
    /// Negative or non-finite tolerance.
    #[error("tol must be a finite number ≥ 0")]
    BadTol,
}

/// Checked K-means settings: the only form an algorithm accepts.
#[derive(Clone, Debug, PartialEq)]
pub struct KMeansConfig(KMeansParams);

impl KMeansConfig {
    /// The settings.
    #[must_use]
    pub fn params(&self) -> &KMeansParams {
        &self.0
    }
}

impl KMeansParams {
    /// Validates the settings for a dataset of `n` rows.
    pub fn check(&self, n: usize) -> Result<KMeansConfig, KMeansParamError> {
        if self.k == 0 || self.k > n {
            return Err(KMeansParamError::BadK { k: self.k, n });
        }
        if self.n_init == 0 {
            return Err(KMeansParamError::ZeroInit);
        }
        if self.max_iter == 0 {
            return Err(KMeansParamError::ZeroIter);
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(KMeansParamError::BadTol);
        }
        Ok(KMeansConfig(self.clone()))
    }
}

/// The outcome of K-means.
#[derive(Clone, Debug)]
pub struct KMeansResult {
    /// Cluster of every row, `0..k`.
    pub labels: Vec<u32>,
    /// k×d centroids, row-major (unit length under cosine).
    pub centroids: Vec<f32>,
    /// Sum of squared euclidean distances to the centroid (euclidean), or of cosine distances
    /// to the unit centroid (cosine), over all rows.
    pub inertia: f64,
    /// Lloyd iterations of the kept restart.
    pub n_iter: usize,
    /// Whether the kept restart converged before `max_iter`.
    pub converged: bool,
    /// Which restart was kept (0-based).
    pub best_init: usize,
}

/// Runs K-means on `emb` in the configured metric.
pub fn kmeans(emb: &Embeddings, config: &KMeansConfig, ctl: &Control) -> Result<KMeansResult, Cancelled> {
    let p = config.params();
    let points = emb.points(p.metric);
    let spherical = p.metric == Metric::Cosine;
    let mut best: Option<KMeansResult> = None;
    for init in 0..p.n_init {
        let mut rng = Rng::derive(p.seed, init as u64);
        let stage = format!("k-means restart {}/{}", init + 1, p.n_init);
        let centers = init_centers(points, p.k, &mut rng, (p.max_iter, p.tol), spherical, ctl)?;
        let run = lloyd(points, centers, p.max_iter, p.tol, spherical, ctl, &stage)?;
        let run = KMeansResult { best_init: init, ..run };
        if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
            best = Some(run);
        }
        if init + 1 < p.n_init
            && let Some(b) = &best
        {
            ctl.restart_done(&b.labels, b.inertia, init + 1, p.n_init);
        }
    }
    // n_init ≥ 1 is guaranteed by `check`, so at least one run happened.
    let mut best = best.ok_or(Cancelled)?;
    exact_labels(points, p.metric, &mut best);
    Ok(best)
}

/// Labels every row by its exact nearest centre ([`crate::engine::assign::nearest`]), the rule a saved
/// model applies to new rows: Lloyd's last pass decides near-ties from the GEMM's estimates,
/// which can differ in the last bits from the exact distances. Rows that change (near-ties only)
/// change the inertia by no more than rounding.
pub(crate) fn exact_labels(points: &Matrix, metric: Metric, r: &mut KMeansResult) {
    let d = points.d();
    let Some(centres) = Matrix::new(r.centroids.clone(), r.centroids.len() / d.max(1), d) else { return };
    r.labels = crate::engine::assign::nearest(points, &centres, metric).index;
}

/// Rows per cluster in the initialisation sample of large inputs (as FAISS's default cap).
const SAMPLE_ROWS_PER_CLUSTER: usize = 256;
/// Smallest initialisation sample.
const SAMPLE_MIN: usize = 10_000;

/// Starting centres. Up to twice the sample size this is k-means++ on all rows. Above, k-means++
/// runs on a seeded sample of max(256·k, 10,000) rows and Lloyd refines the centres on that
/// sample before the full data takes over: every k-means++ step reads all rows, so on 100k × 384
/// the full seeding alone costs more than the whole sampled start, and the full Lloyd passes that
/// follow begin close to convergence.
fn init_centers(
    points: &Matrix,
    k: usize,
    rng: &mut Rng,
    (max_iter, tol): (usize, f64),
    spherical: bool,
    ctl: &Control,
) -> Result<Vec<f32>, Cancelled> {
    let n = points.n();
    let m = (SAMPLE_ROWS_PER_CLUSTER * k).max(SAMPLE_MIN);
    if n <= 2 * m {
        return kmeans_plus_plus(points, &row_norms_sq(points.as_slice(), points.d()), k, rng, ctl);
    }
    let mut idx = rng.sample_indices(n, m);
    idx.sort_unstable();
    let sample = points.select_rows(&idx);
    let centers = kmeans_plus_plus(&sample, &row_norms_sq(sample.as_slice(), sample.d()), k, rng, ctl)?;
    let r = lloyd(&sample, centers, max_iter, tol, spherical, &ctl.without_steps(), "k-means on a sample")?;
    Ok(r.centroids)
}

/// Squared euclidean distances from every row to each of `cands` (c×d), as c×n f32, computed by
/// blocked GEMM in parallel. Also returns, per candidate, Σ_i min(closest[i], dist).
fn distances_to_candidates(points: &Matrix, norms: &[f64], cands: &[f32], closest: &[f64], out: &mut [f32]) -> Vec<f64> {
    let (n, d) = (points.n(), points.d());
    let c = cands.len() / d.max(1);
    let cand_norms = row_norms_sq(cands, d);
    let ranges = fixed_ranges(n, n.div_ceil(1024).min(64));
    // Each range writes its own columns of `out`; gather per-range potentials and reduce in order.
    let out_view = crate::engine::disjoint::Disjoint::new(out);
    let partial: Vec<Vec<f64>> = ranges
        .par_iter()
        .map(|r| {
            let out_view = &out_view;
            let mut pot = vec![0.0f64; c];
            let mut buf = vec![0.0f32; ROW_BLOCK * c];
            let mut start = r.start;
            while start < r.end {
                let end = (start + ROW_BLOCK).min(r.end);
                let m = end - start;
                dot_nt(&points.as_slice()[start * d..end * d], m, cands, c, d, &mut buf, c);
                for i in 0..m {
                    let xi = norms[start + i];
                    for j in 0..c {
                        let dist = (xi + cand_norms[j] - 2.0 * f64::from(buf[i * c + j])).max(0.0);
                        pot[j] += dist.min(closest[start + i]);
                        #[expect(clippy::cast_possible_truncation, reason = "a squared distance rounded to f32")]
                        let dist = dist as f32;
                        // SAFETY: ranges are disjoint, so (j, start + i) is written by this task only.
                        unsafe { out_view.set(j * n + start + i, dist) };
                    }
                }
                start = end;
            }
            pot
        })
        .collect();
    let mut pot = vec![0.0f64; c];
    for p in partial {
        for (a, b) in pot.iter_mut().zip(p) {
            *a += b;
        }
    }
    pot
}

/// A raw pointer that may cross threads; every use states why the writes are disjoint.
/// Greedy k-means++ (Arthur & Vassilvitskii; scikit-learn's variant with 2 + ⌊ln k⌋ local trials).
pub(crate) fn kmeans_plus_plus(points: &Matrix, norms: &[f64], k: usize, rng: &mut Rng, ctl: &Control) -> Result<Vec<f32>, Cancelled> {
    let (n, d) = (points.n(), points.d());
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a non-negative figure (positive or clamped by construction) rounded down to a bounded count or index"
    )]
    let trials = 2 + (k as f64).ln() as usize;
    let mut centers = Vec::with_capacity(k * d);
    let first = rng.below(n);
    centers.extend_from_slice(points.row(first));
    let mut closest = vec![f64::INFINITY; n];
    let mut buf = vec![0.0f32; n];
    distances_to_candidates(points, norms, points.row(first), &closest, &mut buf);
    for (c, &b) in closest.iter_mut().zip(&buf) {
        *c = f64::from(b);
    }
    let mut pot: f64 = closest.iter().sum();
    let mut cumsum = vec![0.0f64; n];
    let mut cand_buf = vec![0.0f32; trials * n];
    let mut cands = vec![0.0f32; trials * d];
    for c in 1..k {
        ctl.check()?;
        ctl.progress("k-means++", c as f32 / k as f32);
        let mut acc = 0.0;
        for (s, &v) in cumsum.iter_mut().zip(&closest) {
            acc += v;
            *s = acc;
        }
        let ids: Vec<usize> = (0..trials)
            .map(|_| {
                let r = rng.next_f64() * pot;
                cumsum.partition_point(|&s| s < r).min(n - 1)
            })
            .collect();
        for (t, &id) in ids.iter().enumerate() {
            cands[t * d..(t + 1) * d].copy_from_slice(points.row(id));
        }
        let pots = distances_to_candidates(points, norms, &cands, &closest, &mut cand_buf);
        let mut best = 0;
        for t in 1..trials {
            if pots[t] < pots[best] {
                best = t;
            }
        }
        pot = pots[best];
        for (cl, &dist) in closest.iter_mut().zip(&cand_buf[best * n..(best + 1) * n]) {
            *cl = cl.min(f64::from(dist));
        }
        centers.extend_from_slice(points.row(ids[best]));
    }
    Ok(centers)
}

/// One pass over the data: assign each row to its nearest centre (through GEMM), record its
/// distance to that centre (squared euclidean, computed directly from the row rather than from
/// the GEMM's norms expansion, so it has no cancellation error; cosine distance under spherical),
/// and return the per-cluster sums and counts of the new assignment and how many labels changed.
pub(crate) struct Step {
    pub(crate) sums: Vec<f64>,
    pub(crate) counts: Vec<usize>,
    pub(crate) changed: usize,
}

pub(crate) fn assign_step(
    points: &Matrix,
    centers: &[f32],
    k: usize,
    spherical: bool,
    labels: &mut [u32],
    dists: &mut [f64],
    accumulate: bool,
) -> Step {
    let (n, d) = (points.n(), points.d());
    let cnorms = row_norms_sq(centers, d);
    let ranges = fixed_ranges(n, n.div_ceil(1024).min(64));
    let label_chunks = split_by_ranges(labels, &ranges);
    let dist_chunks = split_by_ranges(dists, &ranges);
    let parts: Vec<Step> = ranges
        .par_iter()
        .zip(label_chunks.into_par_iter().zip(dist_chunks.into_par_iter()))
        .map(|(r, (lab, dst))| {
            let mut sums = if accumulate { vec![0.0f64; k * d] } else { Vec::new() };
            // Each block's rows are summed per cluster in f32 (vectorised, at most 256 terms),
            // then added to the f64 sums: the rows are read while still in cache from the GEMM.
            let mut block_sums = if accumulate { vec![0.0f32; k * d] } else { Vec::new() };
            let mut touched = vec![false; k];
            let mut counts = vec![0usize; k];
            let mut changed = 0;
            let mut buf = vec![0.0f32; ROW_BLOCK * k];
            let mut start = r.start;
            while start < r.end {
                let end = (start + ROW_BLOCK).min(r.end);
                let m = end - start;
                dot_nt(&points.as_slice()[start * d..end * d], m, centers, k, d, &mut buf, k);
                for i in 0..m {
                    let row = &buf[i * k..(i + 1) * k];
                    let x = points.row(start + i);
                    let (best, dist) = if spherical {
                        let mut best = 0;
                        for j in 1..k {
                            if row[j] > row[best] {
                                best = j;
                            }
                        }
                        (best, (1.0 - f64::from(row[best])).max(0.0))
                    } else {
                        let mut best = 0;
                        let mut bv = cnorms[0] - 2.0 * f64::from(row[0]);
                        for j in 1..k {
                            let v = cnorms[j] - 2.0 * f64::from(row[j]);
                            if v < bv {
                                bv = v;
                                best = j;
                            }
                        }
                        (best, sq_dist(x, &centers[best * d..(best + 1) * d]))
                    };
                    let li = start + i - r.start;
                    #[expect(
                        clippy::cast_possible_truncation,
                        reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)"
                    )]
                    let best_u = best as u32;
                    if lab[li] != best_u {
                        changed += 1;
                        lab[li] = best_u;
                    }
                    dst[li] = dist;
                    counts[best] += 1;
                    if accumulate {
                        touched[best] = true;
                        add_assign(&mut block_sums[best * d..(best + 1) * d], x);
                    }
                }
                if accumulate {
                    for j in 0..k {
                        if std::mem::take(&mut touched[j]) {
                            let bs = &mut block_sums[j * d..(j + 1) * d];
                            for (a, b) in sums[j * d..(j + 1) * d].iter_mut().zip(bs.iter_mut()) {
                                *a += f64::from(std::mem::take(b));
                            }
                        }
                    }
                }
                start = end;
            }
            Step { sums, counts, changed }
        })
        .collect();
    let mut total = Step { sums: if accumulate { vec![0.0; k * d] } else { Vec::new() }, counts: vec![0; k], changed: 0 };
    for p in parts {
        for (a, b) in total.sums.iter_mut().zip(&p.sums) {
            *a += b;
        }
        for (a, b) in total.counts.iter_mut().zip(&p.counts) {
            *a += b;
        }
        total.changed += p.changed;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn between_restarts_the_best_labels_so_far_are_handed_over() {
        use std::sync::{Arc, Mutex};
        let emb = two_blobs();
        let seen: Arc<Mutex<Vec<(usize, usize, f64, usize)>>> = Arc::default();
        let s = Arc::clone(&seen);
        let ctl = Control::default().with_restarts(Arc::new(move |labels: &[u32], inertia: f64, done: usize, total: usize| {
            s.lock().unwrap().push((done, total, inertia, labels.len()));
        }));
        let cfg = KMeansParams { k: 3, n_init: 3, seed: 2, ..Default::default() }.check(200).unwrap();
        let r = kmeans(&emb, &cfg, &ctl).unwrap();
        let got = std::mem::take(&mut *seen.lock().unwrap());
        // After every restart but the last, the best so far: never worse than the one before,
        // never better than the result.
        assert_eq!(got.iter().map(|s| (s.0, s.1, s.3)).collect::<Vec<_>>(), vec![(1, 3, 200), (2, 3, 200)]);
        assert!(got[1].2 <= got[0].2 && r.inertia <= got[1].2);
        // Inner runs do not report.
        kmeans(&emb, &cfg, &ctl.without_steps()).unwrap();
        assert!(seen.lock().unwrap().is_empty());
    }

    fn two_blobs() -> Embeddings {
        let mut data = Vec::new();
        let mut rng = Rng::new(1);
        for i in 0..200 {
            let off = if i % 2 == 0 { 10.0 } else { -10.0 };
            for _ in 0..3 {
                #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
                data.push(off + rng.next_f64() as f32);
            }
        }
        Embeddings::new(Matrix::new(data, 200, 3).unwrap())
    }

    #[test]
    fn kmeans_separates_two_far_blobs() {
        let emb = two_blobs();
        let cfg = KMeansParams { k: 2, ..KMeansParams::default() }.check(200).unwrap();
        let r = kmeans(&emb, &cfg, &Control::default()).unwrap();
        for i in 0..200 {
            assert_eq!(r.labels[i] == r.labels[0], i % 2 == 0);
        }
        assert!(r.converged);
    }

    #[test]
    fn kmeans_same_seed_same_labels() {
        let emb = two_blobs();
        let cfg = KMeansParams { k: 5, seed: 9, ..KMeansParams::default() }.check(200).unwrap();
        let a = kmeans(&emb, &cfg, &Control::default()).unwrap();
        let b = kmeans(&emb, &cfg, &Control::default()).unwrap();
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.inertia.to_bits(), b.inertia.to_bits());
    }

    #[test]
    fn kmeans_hands_over_the_labels_of_every_pass() {
        let emb = two_blobs();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Vec<u32>>::new()));
        let sink = std::sync::Arc::clone(&seen);
        let ctl = Control::default().with_steps(std::sync::Arc::new(move |l: &[u32]| sink.lock().unwrap().push(l.to_vec())));
        let cfg = KMeansParams { k: 3, n_init: 2, ..KMeansParams::default() }.check(200).unwrap();
        let r = kmeans(&emb, &cfg, &ctl).unwrap();
        let seen = seen.lock().unwrap();
        // At least one pass per restart, every one over all rows.
        assert!(seen.len() >= 2);
        assert!(seen.iter().all(|l| l.len() == 200 && l.iter().all(|&c| c < 3)));
        assert!(seen.contains(&r.labels));
    }

    #[test]
    fn kmeans_rejects_k_larger_than_n() {
        assert_eq!(KMeansParams { k: 11, ..KMeansParams::default() }.check(10), Err(KMeansParamError::BadK { k: 11, n: 10 }));
        assert!(KMeansParams { k: 0, ..KMeansParams::default() }.check(10).is_err());
        assert!(KMeansParams { n_init: 0, ..KMeansParams::default() }.check(10).is_err());
        assert!(KMeansParams { max_iter: 0, ..KMeansParams::default() }.check(10).is_err());
        assert!(KMeansParams { tol: f64::NAN, ..KMeansParams::default() }.check(10).is_err());
    }

    #[test]
    fn kmeans_stops_when_cancelled() {
        let emb = two_blobs();
        let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let cfg = KMeansParams { k: 2, ..KMeansParams::default() }.check(200).unwrap();
        assert!(kmeans(&emb, &cfg, &Control::new(cancel, None)).is_err());
    }
}
