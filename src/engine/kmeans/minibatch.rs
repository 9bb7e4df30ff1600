//! Mini-batch K-means (Sculley 2010, as scikit-learn's `MiniBatchKMeans`): k-means++ on a
//! sample, then centre updates from random batches with per-centre learning rates 1/count,
//! stopped when the smoothed batch inertia stops improving; a final full assignment gives every
//! row its label and the exact inertia.
//!
//! One batch step costs `batch_size·k·d` instead of a Lloyd pass's `n·k·d`; above
//! [`DEFAULT_ABOVE`] rows it is the default.

use rayon::prelude::*;

use crate::engine::kernels::row_norms_sq;
use crate::engine::kmeans::{KMeansResult, assign_step, kmeans_plus_plus};
use crate::engine::rng::Rng;
use crate::engine::{Cancelled, Control, Embeddings, Matrix, Metric};

/// Row count above which mini-batch K-means is the default. Its cost is set by its batches, not
/// by the data: full K-means skips most rows once clustered data settles (1M × 128 blobs,
/// k = 100: 2.2 s to convergence against mini-batch's 4.1 s), but on data without clear
/// clusters its bounds clear few rows and each of up to 300 iterations is a full pass (≈ 25 ms
/// per 100k rows × 384 dims at k = 20), tens of seconds at this size and above.
pub const DEFAULT_ABOVE: usize = 500_000;

/// Mini-batch K-means settings.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MiniBatchParams {
    /// Number of clusters.
    pub k: usize,
    /// Distance (spherical updates under cosine).
    pub metric: Metric,
    /// Rows per batch.
    pub batch_size: usize,
    /// Passes over the data at most (in batches).
    pub max_epochs: usize,
    /// Stop after this many batches without improvement of the smoothed inertia.
    pub max_no_improvement: usize,
    /// Independent runs; the one with the lowest inertia is kept.
    pub n_init: usize,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Default for MiniBatchParams {
    fn default() -> Self {
        Self { k: 8, metric: Metric::Euclidean, batch_size: 1024, max_epochs: 100, max_no_improvement: 10, n_init: 3, seed: 0 }
    }
}

/// Settings mini-batch K-means refuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MiniBatchParamError {
    /// k out of range.
    #[error("k must be between 1 and the number of rows ({n}), got {k}")]
    BadK {
        /// Asked.
        k: usize,
        /// Rows.
        n: usize,
    },
    /// A zero count.
    #[error("batch_size, max_epochs and n_init must be at least 1")]
    Zero,
}

/// Checked mini-batch K-means settings: the only form [`minibatch_kmeans`] accepts.
#[derive(Clone, Debug, PartialEq)]
pub struct MiniBatchConfig(MiniBatchParams);

impl MiniBatchConfig {
    /// The settings.
    #[must_use]
    pub fn params(&self) -> &MiniBatchParams {
        &self.0
    }
}

impl MiniBatchParams {
    /// Checks the settings for `n` rows.
    ///
    /// # Errors
    /// k outside `1..=n`, or a zero batch size, epoch count or restart count.
    pub fn check(&self, n: usize) -> Result<MiniBatchConfig, MiniBatchParamError> {
        if self.k == 0 || self.k > n {
            return Err(MiniBatchParamError::BadK { k: self.k, n });
        }
        if self.batch_size == 0 || self.max_epochs == 0 || self.n_init == 0 {
            return Err(MiniBatchParamError::Zero);
        }
        Ok(MiniBatchConfig(self.clone()))
    }
}

/// Runs mini-batch K-means: `n_init` independent runs (each its own k-means++ start and batch
/// sequence), keeping the one with the lowest inertia over all rows. `n_iter` counts batches.
pub fn minibatch_kmeans(emb: &Embeddings, cfg: &MiniBatchConfig, ctl: &Control) -> Result<KMeansResult, Cancelled> {
    let p = cfg.params();
    let points = emb.points(p.metric);
    // The runs are independent, and a batch of 1,024 rows keeps one core busy: the runs share
    // the cores, and the lowest inertia wins in run order whatever finishes first.
    let runs: Vec<Result<KMeansResult, Cancelled>> =
        (0..p.n_init).into_par_iter().map(|run| one_run(points, p, Rng::derive(p.seed, run as u64), ctl, run == 0)).collect();
    let mut best: Option<KMeansResult> = None;
    for (run, r) in runs.into_iter().enumerate() {
        let r = r?;
        if best.as_ref().is_none_or(|b| r.inertia < b.inertia) {
            best = Some(KMeansResult { best_init: run, ..r });
        }
    }
    best.ok_or(Cancelled)
}

/// One run; `report`: whether its progress is the one shown.
fn one_run(points: &Matrix, p: &MiniBatchParams, mut rng: Rng, ctl: &Control, report: bool) -> Result<KMeansResult, Cancelled> {
    let (n, d, k) = (points.n(), points.d(), p.k);
    let spherical = p.metric == Metric::Cosine;
    let batch = p.batch_size.min(n);
    // Initialisation on a sample, as scikit-learn: 3 × batch rows (at least 3k).
    let init_n = (3 * batch).max(3 * k).min(n);
    let sample = points.select_rows(&rng.sample_indices(n, init_n));
    let sample_norms = row_norms_sq(sample.as_slice(), d);
    let mut centers = kmeans_plus_plus(&sample, &sample_norms, k, &mut rng, ctl)?;
    let mut counts = vec![0u64; k];
    // Running means of the rows each centre has seen; under cosine the centres used for the
    // assignment are these means scaled to unit length (the means keep their shorter length, so
    // history and new batches are weighted by their counts alone).
    let mut means: Vec<f64> = centers.iter().map(|&v| f64::from(v)).collect();
    let steps = (p.max_epochs * n).div_ceil(batch);
    let alpha = (2.0 * batch as f64 / (n as f64 + 1.0)).min(1.0);
    let (mut ewa, mut best_ewa, mut no_improve) = (f64::NAN, f64::INFINITY, 0usize);
    let mut labels = vec![u32::MAX; batch];
    let mut dists = vec![0.0f64; batch];
    let mut n_iter = 0;
    let mut converged = false;
    for step in 0..steps {
        if step % 8 == 0 {
            ctl.check()?;
            if report {
                ctl.progress("mini-batch k-means", step as f32 / steps as f32);
            }
        }
        let idx: Vec<usize> = (0..batch).map(|_| rng.below(n)).collect();
        let b = points.select_rows(&idx);
        labels.fill(u32::MAX);
        let s = assign_step(&b, &centers, k, spherical, &mut labels, &mut dists, true);
        for j in 0..k {
            if s.counts[j] == 0 {
                continue;
            }
            counts[j] += s.counts[j] as u64;
            let (nj, total) = (s.counts[j] as f64, counts[j] as f64);
            let mu = &mut means[j * d..(j + 1) * d];
            for (m, &sv) in mu.iter_mut().zip(&s.sums[j * d..(j + 1) * d]) {
                *m += (sv - nj * *m) / total;
            }
            let scale = if spherical {
                let norm = mu.iter().map(|v| v * v).sum::<f64>().sqrt();
                if norm > 0.0 { 1.0 / norm } else { 1.0 }
            } else {
                1.0
            };
            #[expect(
                clippy::cast_possible_truncation,
                reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
            )]
            centers[j * d..(j + 1) * d].iter_mut().zip(mu.iter()).for_each(|(c, &m)| *c = (m * scale) as f32);
        }
        n_iter = step + 1;
        let batch_inertia = dists.iter().sum::<f64>() / batch as f64;
        ewa = if ewa.is_nan() { batch_inertia } else { ewa * (1.0 - alpha) + batch_inertia * alpha };
        if ewa < best_ewa {
            best_ewa = ewa;
            no_improve = 0;
        } else {
            no_improve += 1;
            if no_improve >= p.max_no_improvement {
                converged = true;
                break;
            }
        }
    }
    // Every row to its exact nearest centre, as a saved model labels new rows.
    let centres = Matrix::new(centers, k, d).expect("k centres of d values");
    let near = crate::engine::assign::nearest(points, &centres, p.metric);
    let inertia = near.distance.iter().map(|&v| if spherical { f64::from(v) } else { f64::from(v) * f64::from(v) }).sum();
    Ok(KMeansResult { labels: near.index, centroids: centres.as_slice().to_vec(), inertia, n_iter, converged, best_init: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kmeans::{KMeansParams, kmeans};

    #[test]
    fn close_to_full_kmeans_on_separated_blobs() {
        let mut rng = Rng::new(11);
        let (n, d, k) = (6000, 8, 5);
        let mut data = Vec::with_capacity(n * d);
        for i in 0..n {
            for j in 0..d {
                #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
                data.push(((i % k) as f64 * 3.0 * if j % 2 == 0 { 1.0 } else { -1.0 } + rng.next_f64()) as f32);
            }
        }
        let emb = Embeddings::new(Matrix::new(data, n, d).unwrap());
        let full = kmeans(&emb, &KMeansParams { k, ..KMeansParams::default() }.check(n).unwrap(), &Control::default()).unwrap();
        let mb = minibatch_kmeans(
            &emb,
            &MiniBatchParams { k, batch_size: 256, ..MiniBatchParams::default() }.check(n).unwrap(),
            &Control::default(),
        )
        .unwrap();
        assert!(mb.inertia <= full.inertia * 1.02, "{} vs {}", mb.inertia, full.inertia);
        let again = minibatch_kmeans(
            &emb,
            &MiniBatchParams { k, batch_size: 256, ..MiniBatchParams::default() }.check(n).unwrap(),
            &Control::default(),
        )
        .unwrap();
        assert_eq!(mb.labels, again.labels);
    }
}
