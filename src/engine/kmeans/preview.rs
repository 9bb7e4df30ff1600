//! First answers: a K-means labelling within a few tens of milliseconds, shown while the seeded,
//! converged result is computed, and then replaced by it.
//!
//! Lloyd runs on a fixed sample of rows (whatever k is, the same rows, so that previews for
//! neighbouring settings differ only by the setting), starting from the clusters on screen when
//! there are any (their means over the sample; the largest ones when k shrank, D²-sampled new
//! centres when it grew), else from k-means++ on the sample; then every row goes to its nearest
//! centre in one GEMM pass. A preview depends on the previous labels, so it is never exported or
//! saved: only the seeded result is (which depends on k and the seed alone).

use crate::engine::control::{Cancelled, Control};
use crate::engine::kernels::{row_norms_sq, sq_dist, sum_sq};
use crate::engine::kmeans::lloyd::lloyd;
use crate::engine::kmeans::{KMeansConfig, KMeansResult, kmeans_plus_plus};
use crate::engine::matrix::Matrix;
use crate::engine::metric::{Embeddings, Metric};
use crate::engine::rng::Rng;

/// Rows of the sample a preview iterates on (at least this many, and 64 per cluster).
pub const PREVIEW_ROWS: usize = 1024;

/// Lloyd passes over the sample at most.
const PREVIEW_ITER: usize = 12;

/// What a preview did, for its note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewReport {
    /// Rows Lloyd iterated on.
    pub sample: usize,
    /// Clusters of the previous labelling its start kept.
    pub kept: usize,
}

/// The sample a preview iterates on: the same for every k of one dataset and seed.
fn sample_rows(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let m = PREVIEW_ROWS.max(64 * k).min(n);
    if m == n {
        return (0..n).collect();
    }
    let mut idx = Rng::derive(seed, 0x9e37_79b9).sample_indices(n, m);
    idx.sort_unstable();
    idx
}

/// Starting centres from the labels a previous clustering gave (`previous[i] < 0`: noise): the
/// means over the sample of its largest clusters, completed by D²-sampling when k grew.
fn start_from(sample: &Matrix, rows: &[usize], previous: &[i32], k: usize, spherical: bool, rng: &mut Rng) -> (Vec<f32>, usize) {
    let (m, d) = (sample.n(), sample.d());
    let c = previous.iter().copied().max().map_or(0, |v| usize::try_from(v + 1).unwrap_or(0));
    let mut sums = vec![0.0f64; c * d];
    let mut counts = vec![0usize; c];
    for (s, &r) in rows.iter().enumerate() {
        if let Some(l) = previous.get(r).and_then(|&l| usize::try_from(l).ok()) {
            counts[l] += 1;
            for (a, &x) in sums[l * d..(l + 1) * d].iter_mut().zip(sample.row(s)) {
                *a += f64::from(x);
            }
        }
    }
    let mut order: Vec<usize> = (0..c).filter(|&l| counts[l] > 0).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    order.truncate(k);
    // In their own order: a cluster that stays keeps its number (and its colour).
    order.sort_unstable();
    let mut centers = Vec::with_capacity(k * d);
    for &l in &order {
        let inv = 1.0 / counts[l] as f64;
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
        )]
        let mut v: Vec<f32> = sums[l * d..(l + 1) * d].iter().map(|&s| (s * inv) as f32).collect();
        if spherical {
            let norm = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
            if norm > 0.0 {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
                )]
                let inv = (1.0 / norm) as f32;
                v.iter_mut().for_each(|x| *x *= inv);
            }
        }
        centers.extend_from_slice(&v);
    }
    let kept = order.len();
    // New centres where the present ones are farthest, D²-sampled (as k-means++ continues).
    let mut closest: Vec<f64> =
        (0..m).map(|s| (0..kept).map(|j| sq_dist(sample.row(s), &centers[j * d..(j + 1) * d])).fold(f64::INFINITY, f64::min)).collect();
    while centers.len() < k * d {
        let total: f64 = closest.iter().filter(|v| v.is_finite()).sum();
        let pick = if total > 0.0 && closest.iter().all(|v| v.is_finite()) {
            let mut r = rng.next_f64() * total;
            let mut p = m - 1;
            for (s, &v) in closest.iter().enumerate() {
                if r < v {
                    p = s;
                    break;
                }
                r -= v;
            }
            p
        } else {
            rng.below(m)
        };
        let start = centers.len();
        centers.extend_from_slice(sample.row(pick));
        for (s, cl) in closest.iter_mut().enumerate() {
            *cl = cl.min(sq_dist(sample.row(s), &centers[start..start + d]));
        }
    }
    (centers, kept)
}

/// A preview of K-means with `config` on `emb`: Lloyd on a fixed sample from the `previous`
/// labels (or k-means++), then every row to its nearest centre.
pub fn kmeans_preview(
    emb: &Embeddings,
    config: &KMeansConfig,
    previous: Option<&[i32]>,
    ctl: &Control,
) -> Result<(KMeansResult, PreviewReport), Cancelled> {
    let p = config.params();
    let points = emb.points(p.metric);
    let spherical = p.metric == Metric::Cosine;
    let rows = sample_rows(points.n(), p.k, p.seed);
    let sample = points.select_rows(&rows);
    let mut rng = Rng::derive(p.seed, 0x0070_7265);
    let quiet = ctl.without_steps();
    let (centers, kept) = match previous.filter(|l| l.len() == points.n()) {
        Some(prev) => start_from(&sample, &rows, prev, p.k, spherical, &mut rng),
        None => (kmeans_plus_plus(&sample, &row_norms_sq(sample.as_slice(), sample.d()), p.k, &mut rng, &quiet)?, 0),
    };
    let on_sample = lloyd(&sample, centers, PREVIEW_ITER, p.tol, spherical, &quiet, "preview")?;
    ctl.check()?;
    // Every row to the nearest of the sample's centres: one GEMM pass, no sums.
    let (labels, inertia) = nearest_centres(points, &on_sample.centroids, spherical);
    let result = KMeansResult { labels, centroids: on_sample.centroids, inertia, n_iter: on_sample.n_iter, converged: false, best_init: 0 };
    Ok((result, PreviewReport { sample: rows.len(), kept }))
}

/// Rows per block of [`nearest_centres`].
const ASSIGN_BLOCK: usize = 1024;

/// Every row's nearest centre, and the inertia (squared euclidean distances, or cosine
/// distances to unit centres under `spherical`), in fixed blocks of rows so that the sum does
/// not depend on the thread count.
pub fn nearest_centres(points: &Matrix, centers: &[f32], spherical: bool) -> (Vec<u32>, f64) {
    use rayon::prelude::*;
    let (n, d) = (points.n(), points.d());
    let k = centers.len() / d.max(1);
    let c_norms: Vec<f64> = (0..k).map(|j| sum_sq(&centers[j * d..(j + 1) * d])).collect();
    let mut labels = vec![0u32; n];
    let parts: Vec<f64> = labels
        .par_chunks_mut(ASSIGN_BLOCK)
        .enumerate()
        .map(|(b, out)| {
            let start = b * ASSIGN_BLOCK;
            let m = out.len();
            let block = &points.as_slice()[start * d..(start + m) * d];
            let mut dots = vec![0.0f32; m * k];
            crate::engine::kernels::dot_nt_direct(block, m, centers, k, d, &mut dots, k);
            let mut sum = 0.0f64;
            for (r, l) in out.iter_mut().enumerate() {
                let row = &dots[r * k..(r + 1) * k];
                // Nearest: the largest dot under cosine, the smallest ‖c‖² − 2x·c otherwise.
                let score = |j: usize| if spherical { -f64::from(row[j]) } else { c_norms[j] - 2.0 * f64::from(row[j]) };
                let best = (1..k).fold(0, |b, j| if score(j) < score(b) { j } else { b });
                #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
                {
                    *l = best as u32;
                }
                sum += if spherical { 1.0 - f64::from(row[best]) } else { (sum_sq(&block[r * d..(r + 1) * d]) + score(best)).max(0.0) };
            }
            sum
        })
        .collect();
    (labels, parts.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kmeans::{KMeansParams, kmeans};

    fn blobs(n: usize, d: usize, k: usize) -> Embeddings {
        let mut rng = Rng::derive(7, 0);
        let mut v = Vec::with_capacity(n * d);
        for i in 0..n {
            for j in 0..d {
                #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
                let noise = (rng.next_f64() - 0.5) as f32;
                v.push(if j % k == i % k { 3.0 } else { 0.0 } + noise);
            }
        }
        Embeddings::new(Matrix::new(v, n, d).unwrap())
    }

    #[test]
    fn a_preview_finds_well_separated_clusters_from_a_sample_and_labels_every_row() {
        let emb = blobs(6000, 16, 8);
        let cfg = KMeansParams { k: 8, seed: 1, ..Default::default() }.check(6000).unwrap();
        let (r, rep) = kmeans_preview(&emb, &cfg, None, &Control::default()).unwrap();
        assert_eq!(rep.sample, PREVIEW_ROWS);
        assert_eq!(r.labels.len(), 6000);
        // Every row with its blob-mates, and the inertia within a percent of K-means' own (the
        // centres are the sample's means).
        for i in 0..6000 {
            assert_eq!(r.labels[i], r.labels[i % 8], "row {i}");
        }
        let exact = kmeans(&emb, &cfg, &Control::default()).unwrap();
        assert!(r.inertia >= exact.inertia * (1.0 - 1e-9) && r.inertia <= 1.01 * exact.inertia, "{} vs {}", r.inertia, exact.inertia);
    }

    #[test]
    fn a_preview_starts_from_the_labels_on_screen_and_adds_or_drops_centres() {
        let emb = blobs(6000, 16, 8);
        let labels: Vec<i32> = (0..6000).map(|i| i % 8).collect();
        for k in [5, 8, 10] {
            let cfg = KMeansParams { k, seed: 1, metric: Metric::Cosine, ..Default::default() }.check(6000).unwrap();
            let (r, rep) = kmeans_preview(&emb, &cfg, Some(&labels), &Control::default()).unwrap();
            assert_eq!(rep.kept, k.min(8));
            let used: std::collections::BTreeSet<u32> = r.labels.iter().copied().collect();
            assert_eq!(used.len(), k, "k = {k}");
            if k == 8 {
                // From the right clusters, the same clusters, in the same order.
                assert!(r.labels.iter().zip(&labels).all(|(&a, &b)| i64::from(a) == i64::from(b)));
            }
        }
    }

    #[test]
    fn a_preview_is_the_same_for_the_same_inputs() {
        let emb = blobs(5000, 12, 6);
        let cfg = KMeansParams { k: 9, seed: 4, ..Default::default() }.check(5000).unwrap();
        let a = kmeans_preview(&emb, &cfg, None, &Control::default()).unwrap().0;
        let b = kmeans_preview(&emb, &cfg, None, &Control::default()).unwrap().0;
        assert_eq!(a.labels, b.labels);
    }
}
