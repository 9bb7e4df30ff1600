//! Cluster quality indices, defined as scikit-learn defines them and computed in f64.
//!
//! Internal indices ([`davies_bouldin`], [`calinski_harabasz`]) leave noise (negative labels)
//! out; the silhouette lives in [`crate::engine::silhouette`]. External indices compare a labelling with
//! a reference one ([`External::compare`]); there noise is one more cluster, as in scikit-learn.

use rayon::prelude::*;

use crate::engine::Matrix;
use crate::engine::kernels::fixed_ranges;

/// `f` over fixed ranges of `n` rows in parallel, results in range order: the parts do not
/// depend on the thread count, so neither do the sums added from them.
fn over_rows<T: Send>(n: usize, f: impl Fn(std::ops::Range<usize>) -> T + Sync) -> Vec<T> {
    fixed_ranges(n, n.div_ceil(8192).min(64)).into_par_iter().map(&f).collect()
}

/// Why an index is undefined for a labelling.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QualityError {
    /// Fewer than 2 clusters, or as many clusters as points.
    #[error("needs between 2 and n−1 clusters; this labelling has {clusters} clusters over {points} points (noise excluded)")]
    ClusterCount {
        /// Clusters (noise excluded).
        clusters: usize,
        /// Points (noise excluded).
        points: usize,
    },
    /// Labels and points disagree in length.
    #[error("{labels} labels for {points} points")]
    LengthMismatch {
        /// Labels given.
        labels: usize,
        /// Points in the data.
        points: usize,
    },
}

/// Per-cluster centroids (f64) and sizes over the non-noise points, and the number of points.
struct Groups {
    centroids: Vec<f64>,
    sizes: Vec<usize>,
    /// Cluster index (dense) of every point, `usize::MAX` for noise.
    dense: Vec<usize>,
    points: usize,
}

fn groups(x: &Matrix, labels: &[i32]) -> Result<Groups, QualityError> {
    if labels.len() != x.n() {
        return Err(QualityError::LengthMismatch { labels: labels.len(), points: x.n() });
    }
    let d = x.d();
    // Dense ids in order of label value.
    let mut ids: Vec<i32> = labels.iter().copied().filter(|&l| l >= 0).collect();
    ids.sort_unstable();
    ids.dedup();
    let k = ids.len();
    let dense: Vec<usize> = labels.iter().map(|&l| if l < 0 { usize::MAX } else { ids.binary_search(&l).unwrap_or(usize::MAX) }).collect();
    let points = dense.iter().filter(|&&c| c != usize::MAX).count();
    if k < 2 || k >= points {
        return Err(QualityError::ClusterCount { clusters: k, points });
    }
    let parts = over_rows(x.n(), |r| {
        let mut centroids = vec![0.0f64; k * d];
        let mut sizes = vec![0usize; k];
        for i in r {
            let c = dense[i];
            if c == usize::MAX {
                continue;
            }
            sizes[c] += 1;
            for (s, &v) in centroids[c * d..(c + 1) * d].iter_mut().zip(x.row(i)) {
                *s += f64::from(v);
            }
        }
        (centroids, sizes)
    });
    let mut centroids = vec![0.0f64; k * d];
    let mut sizes = vec![0usize; k];
    for (pc, ps) in parts {
        centroids.iter_mut().zip(pc).for_each(|(a, b)| *a += b);
        sizes.iter_mut().zip(ps).for_each(|(a, b)| *a += b);
    }
    for c in 0..k {
        let inv = 1.0 / sizes[c] as f64;
        centroids[c * d..(c + 1) * d].iter_mut().for_each(|v| *v *= inv);
    }
    Ok(Groups { centroids, sizes, dense, points })
}

/// Euclidean distance in f64, over four running sums so that it vectorises.
fn dist_f64(a: &[f32], c: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, ta) = a.as_chunks::<4>();
    let (cc, tc) = c.as_chunks::<4>();
    for (x, m) in ca.iter().zip(cc) {
        for l in 0..4 {
            let t = f64::from(x[l]) - m[l];
            acc[l] += t * t;
        }
    }
    let tail: f64 = ta.iter().zip(tc).map(|(&v, &m)| (f64::from(v) - m) * (f64::from(v) - m)).sum();
    ((acc[0] + acc[1]) + (acc[2] + acc[3]) + tail).sqrt()
}

/// Davies-Bouldin index (lower is better): the mean over clusters of the worst ratio of summed
/// scatter to centroid separation. Euclidean, in the space of `x`.
pub fn davies_bouldin(x: &Matrix, labels: &[i32]) -> Result<f64, QualityError> {
    davies_bouldin_of(x, &groups(x, labels)?)
}

/// [`davies_bouldin`] and [`calinski_harabasz`] from one pass for the centroids.
pub fn internal_indices(x: &Matrix, labels: &[i32]) -> (Result<f64, QualityError>, Result<f64, QualityError>) {
    match groups(x, labels) {
        Ok(g) => (davies_bouldin_of(x, &g), calinski_harabasz_of(x, &g)),
        Err(e) => (Err(e.clone()), Err(e)),
    }
}

fn davies_bouldin_of(x: &Matrix, g: &Groups) -> Result<f64, QualityError> {
    let (k, d) = (g.sizes.len(), x.d());
    let mut intra = vec![0.0f64; k];
    for part in over_rows(x.n(), |r| {
        let mut s = vec![0.0f64; k];
        for i in r {
            let c = g.dense[i];
            if c != usize::MAX {
                s[c] += dist_f64(x.row(i), &g.centroids[c * d..(c + 1) * d]);
            }
        }
        s
    }) {
        intra.iter_mut().zip(part).for_each(|(a, b)| *a += b);
    }
    for (v, &s) in intra.iter_mut().zip(&g.sizes) {
        {
            *v /= s as f64;
        }
    }
    let mut cdist = vec![0.0f64; k * k];
    for a in 0..k {
        for b in 0..k {
            let (ca, cb) = (&g.centroids[a * d..(a + 1) * d], &g.centroids[b * d..(b + 1) * d]);
            cdist[a * k + b] = ca.iter().zip(cb).map(|(p, q)| (p - q) * (p - q)).sum::<f64>().sqrt();
        }
    }
    let close = |v: f64| v.abs() <= 1e-8; // numpy.allclose(·, 0) with its default atol
    if intra.iter().all(|&v| close(v)) || cdist.iter().all(|&v| close(v)) {
        return Ok(0.0);
    }
    let mut total = 0.0;
    for a in 0..k {
        let mut worst = f64::NEG_INFINITY;
        for b in 0..k {
            let sep = if cdist[a * k + b] == 0.0 { f64::INFINITY } else { cdist[a * k + b] };
            worst = worst.max((intra[a] + intra[b]) / sep);
        }
        total += worst;
    }
    Ok(total / k as f64)
}

/// Calinski-Harabasz index (higher is better): between-cluster over within-cluster dispersion,
/// each divided by its degrees of freedom. Euclidean, in the space of `x`.
pub fn calinski_harabasz(x: &Matrix, labels: &[i32]) -> Result<f64, QualityError> {
    calinski_harabasz_of(x, &groups(x, labels)?)
}

fn calinski_harabasz_of(x: &Matrix, g: &Groups) -> Result<f64, QualityError> {
    let (k, d) = (g.sizes.len(), x.d());
    let mut mean = vec![0.0f64; d];
    for (c, &s) in g.sizes.iter().enumerate() {
        let w = s as f64;
        for (m, &v) in mean.iter_mut().zip(&g.centroids[c * d..(c + 1) * d]) {
            *m += w * v;
        }
    }
    let inv = 1.0 / g.points as f64;
    mean.iter_mut().for_each(|m| *m *= inv);
    let mut extra = 0.0;
    for (c, &s) in g.sizes.iter().enumerate() {
        let sq: f64 = g.centroids[c * d..(c + 1) * d].iter().zip(&mean).map(|(a, b)| (a - b) * (a - b)).sum();
        {
            extra += s as f64 * sq;
        }
    }
    let intra: f64 = over_rows(x.n(), |r| {
        let mut s = 0.0f64;
        for i in r {
            let c = g.dense[i];
            if c != usize::MAX {
                let r = dist_f64(x.row(i), &g.centroids[c * d..(c + 1) * d]);
                s += r * r;
            }
        }
        s
    })
    .into_iter()
    .sum();
    if intra == 0.0 {
        return Ok(1.0);
    }
    Ok(extra * (g.points - k) as f64 / (intra * (k as f64 - 1.0)))
}

/// Maps values to dense ids in sorted order: `(ids, distinct values)`.
pub fn encode<T: Ord + Clone>(values: &[T]) -> (Vec<usize>, Vec<T>) {
    let mut distinct = values.to_vec();
    distinct.sort();
    distinct.dedup();
    let ids = values.iter().map(|v| distinct.binary_search(v).unwrap_or(0)).collect();
    (ids, distinct)
}

/// Counts of points per (reference class, cluster).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Contingency {
    /// Reference classes (rows).
    pub n_true: usize,
    /// Clusters (columns).
    pub n_pred: usize,
    /// `n_true × n_pred` counts, row-major.
    pub counts: Vec<u64>,
}

impl Contingency {
    /// Tabulates two dense labellings of the same points.
    ///
    /// # Panics
    /// When the labellings differ in length or an id is out of range.
    #[must_use]
    pub fn new(truth: &[usize], n_true: usize, pred: &[usize], n_pred: usize) -> Self {
        assert_eq!(truth.len(), pred.len());
        let mut counts = vec![0u64; n_true * n_pred];
        for (&t, &p) in truth.iter().zip(pred) {
            counts[t * n_pred + p] += 1;
        }
        Self { n_true, n_pred, counts }
    }

    fn row_sums(&self) -> Vec<u64> {
        self.counts.chunks_exact(self.n_pred.max(1)).map(|r| r.iter().sum()).collect()
    }

    fn col_sums(&self) -> Vec<u64> {
        let mut s = vec![0u64; self.n_pred];
        for r in self.counts.chunks_exact(self.n_pred.max(1)) {
            for (a, &b) in s.iter_mut().zip(r) {
                *a += b;
            }
        }
        s
    }
}

/// Agreement of a clustering with a reference labelling.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct External {
    /// Adjusted Rand index.
    pub ari: f64,
    /// Normalised mutual information (arithmetic mean of the entropies).
    pub nmi: f64,
    /// Each cluster holds one class.
    pub homogeneity: f64,
    /// Each class lies in one cluster.
    pub completeness: f64,
    /// Harmonic mean of homogeneity and completeness.
    pub v_measure: f64,
    /// The table behind the figures.
    pub contingency: Contingency,
}

fn entropy(sums: &[u64]) -> f64 {
    let nz: Vec<f64> = sums.iter().filter(|&&c| c > 0).map(|&c| c as f64).collect();
    if nz.len() <= 1 {
        return 0.0;
    }
    let total: f64 = nz.iter().sum();
    -nz.iter().map(|&p| (p / total) * (p.ln() - total.ln())).sum::<f64>()
}

fn mutual_info(c: &Contingency) -> f64 {
    let (rows, cols) = (c.row_sums(), c.col_sums());
    if rows.len() == 1 || cols.len() == 1 {
        return 0.0;
    }
    let total: u64 = rows.iter().sum();
    let (tf, ln_t) = (total as f64, (total as f64).ln());
    let ln_sums = (rows.iter().sum::<u64>() as f64).ln() + (cols.iter().sum::<u64>() as f64).ln();
    let mut mi = 0.0;
    for (row, &rs) in c.counts.chunks_exact(c.n_pred.max(1)).zip(&rows) {
        for (&v, &cs) in row.iter().zip(&cols) {
            if v == 0 {
                continue;
            }
            let (vf, outer) = (v as f64, (rs * cs) as f64);
            let term = vf / tf * (vf.ln() - ln_t) + vf / tf * (-outer.ln() + ln_sums);
            if term.abs() >= f64::EPSILON {
                mi += term;
            }
        }
    }
    mi.max(0.0)
}

fn ari(c: &Contingency) -> f64 {
    let n: i128 = c.counts.iter().map(|&v| i128::from(v)).sum();
    let sum_sq: i128 = c.counts.iter().map(|&v| i128::from(v) * i128::from(v)).sum();
    let (rows, cols) = (c.row_sums(), c.col_sums());
    let mut c_dot_k: i128 = 0; // Σ_ij n_ij · colsum_j
    let mut ct_dot_c: i128 = 0; // Σ_ij n_ij · rowsum_i
    for (row, &rs) in c.counts.chunks_exact(c.n_pred.max(1)).zip(&rows) {
        for (&v, &cs) in row.iter().zip(&cols) {
            c_dot_k += i128::from(v) * i128::from(cs);
            ct_dot_c += i128::from(v) * i128::from(rs);
        }
    }
    let tp = sum_sq - n;
    let fp = c_dot_k - sum_sq;
    let fn_ = ct_dot_c - sum_sq;
    let tn = n * n - fp - fn_ - sum_sq;
    if fn_ == 0 && fp == 0 {
        return 1.0;
    }
    let num = (tp * tn - fn_ * fp) as f64;
    let den = ((tp + fn_) * (fn_ + tn) + (tp + fp) * (fp + tn)) as f64;
    2.0 * num / den
}

impl External {
    /// Compares `pred` with the reference `truth` (dense ids, see [`encode`]).
    #[must_use]
    pub fn compare(truth: &[usize], n_true: usize, pred: &[usize], n_pred: usize) -> Self {
        let c = Contingency::new(truth, n_true, pred, n_pred);
        let (rows, cols) = (c.row_sums(), c.col_sums());
        let used_rows = rows.iter().filter(|&&v| v > 0).count();
        let used_cols = cols.iter().filter(|&&v| v > 0).count();
        let mi = mutual_info(&c);
        let (h_true, h_pred) = (entropy(&rows), entropy(&cols));
        let nmi = if (used_rows == 1 && used_cols == 1) || (used_rows == 0 && used_cols == 0) {
            1.0
        } else if mi == 0.0 {
            0.0
        } else {
            mi / f64::midpoint(h_true, h_pred)
        };
        let homogeneity = if truth.is_empty() || h_true == 0.0 { 1.0 } else { mi / h_true };
        let completeness = if truth.is_empty() || h_pred == 0.0 { 1.0 } else { mi / h_pred };
        let v_measure =
            if homogeneity + completeness == 0.0 { 0.0 } else { 2.0 * homogeneity * completeness / (homogeneity + completeness) };
        Self { ari: ari(&c), nmi, homogeneity, completeness, v_measure, contingency: c }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_indices_match_the_separate_ones_and_keep_noise_out() {
        let mut rng = crate::engine::rng::Rng::new(8);
        let (n, d) = (300, 13);
        #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
        let data: Vec<f32> = (0..n * d).map(|i| rng.next_f64() as f32 + (i / d % 3) as f32).collect();
        let x = Matrix::new(data, n, d).unwrap();
        #[expect(clippy::cast_possible_truncation, clippy::cast_possible_wrap, reason = "test data: small generated values and indices")]
        let labels: Vec<i32> = (0..n).map(|i| if i % 17 == 0 { -1 } else { (i % 3) as i32 }).collect();
        let (db, ch) = internal_indices(&x, &labels);
        assert_eq!(db.unwrap(), davies_bouldin(&x, &labels).unwrap());
        assert_eq!(ch.unwrap(), calinski_harabasz(&x, &labels).unwrap());
        let (db, ch) = internal_indices(&x, &vec![0; n]);
        assert!(matches!(db, Err(QualityError::ClusterCount { clusters: 1, .. })) && ch.is_err());
    }

    #[test]
    fn identical_partitions_score_one_and_independent_ones_near_zero() {
        let truth = [0, 0, 0, 1, 1, 1, 2, 2, 2];
        let pred = [2, 2, 2, 0, 0, 0, 1, 1, 1];
        let e = External::compare(&truth, 3, &pred, 3);
        assert!((e.ari - 1.0).abs() < 1e-12 && (e.nmi - 1.0).abs() < 1e-12 && (e.v_measure - 1.0).abs() < 1e-12);
        let pred = [0, 1, 2, 0, 1, 2, 0, 1, 2];
        let e = External::compare(&truth, 3, &pred, 3);
        assert!(e.ari < 0.0 && e.nmi.abs() < 1e-12);
        assert_eq!(e.contingency.counts, vec![1; 9]);
    }

    #[test]
    fn internal_indices_refuse_one_cluster() {
        let x = Matrix::new(vec![0.0, 1.0, 2.0, 3.0], 4, 1).unwrap();
        assert!(matches!(davies_bouldin(&x, &[0, 0, 0, -1]), Err(QualityError::ClusterCount { clusters: 1, points: 3 })));
        assert!(calinski_harabasz(&x, &[0, 0, 1]).is_err());
        let db = davies_bouldin(&x, &[0, 0, 1, 1]).unwrap();
        // Scatter 0.5 each, centroids 2 apart.
        assert!((db - 0.5).abs() < 1e-12);
        let ch = calinski_harabasz(&x, &[0, 0, 1, 1]).unwrap();
        // Between: 4 · 1² = 4 over 1 dof; within: 4 · 0.25 = 1 over 2 dof.
        assert!((ch - 8.0).abs() < 1e-12);
    }
}
