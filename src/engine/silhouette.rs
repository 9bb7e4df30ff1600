//! Silhouette coefficients, in the metric the clustering used.
//!
//! * cosine: exact in O(n·k·d). With unit vectors the sum of cosine distances from `x` to a
//!   cluster C is |C| − x·S_C, where S_C is the cluster's vector sum.
//! * euclidean: exact through blocked GEMM while n²·d stays under a budget (about a second
//!   here), otherwise on a seeded sample of points, each scored exactly against all points,
//!   with a 95% confidence interval for the mean.
//!
//! Points labelled negative (noise) are left out, as is usual; clusters of one point score 0,
//! as in scikit-learn.

use rayon::prelude::*;

use crate::engine::control::{Cancelled, Control};
use crate::engine::kernels::{ROW_BLOCK, dot_nt, fixed_ranges, row_norms_sq};
use crate::engine::matrix::Matrix;
use crate::engine::metric::{Embeddings, Metric};
use crate::engine::rng::Rng;

/// Whether the silhouette is computed exactly or from a sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SilhouetteMode {
    /// Euclidean: exact while it is affordable (n²·d ≤ [`EXACT_BUDGET`]), sampled above.
    /// Cosine: exact (it costs O(n·k·d)).
    #[default]
    Auto,
    /// Always exact, whatever it costs.
    Exact,
    /// Always sampled, in both metrics (exact when the sample would hold every point).
    Sample,
}

/// Largest n²·d for which `Auto` computes the euclidean silhouette exactly: about a second on two
/// cores here (e.g. 16k rows at 384 dimensions; each distance is computed once, see
/// `euclidean_exact_symmetric`).
pub const EXACT_BUDGET: f64 = 1.0e11;

/// Work budget (m·n·d) for a sampled silhouette of m points.
const SAMPLE_BUDGET: f64 = 1.0e10;

/// The silhouette of a labelling.
#[derive(Clone, Debug, PartialEq)]
pub struct Silhouette {
    /// Per-point coefficient; NaN for noise and for points outside the sample.
    pub values: Vec<f32>,
    /// Mean over the scored points.
    pub mean: f64,
    /// Whether every non-noise point was scored.
    pub exact: bool,
    /// 95% confidence interval of the mean when sampled.
    pub ci95: Option<(f64, f64)>,
    /// Points that were scored.
    pub n_scored: usize,
    /// Points left out as noise.
    pub n_noise: usize,
    /// Metric the distances were measured in.
    pub metric: Metric,
}

/// Why a silhouette cannot be computed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SilhouetteError {
    /// Fewer than 2 clusters, or as many clusters as points.
    #[error("the silhouette needs between 2 and n−1 clusters; this labelling has {clusters} clusters over {points} points")]
    BadClusterCount {
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
    /// Stopped by a newer job.
    #[error("cancelled")]
    Cancelled,
    /// Left out on purpose ([`crate::session::run_cluster_unscored`]).
    #[error("not computed")]
    NotComputed,
}

impl From<Cancelled> for SilhouetteError {
    fn from(_: Cancelled) -> Self {
        Self::Cancelled
    }
}

/// Computes the silhouette of `labels` (negative = noise) over `emb` in `metric`.
pub fn silhouette(
    emb: &Embeddings,
    labels: &[i32],
    metric: Metric,
    mode: SilhouetteMode,
    seed: u64,
    ctl: &Control,
) -> Result<Silhouette, SilhouetteError> {
    let raw = emb.raw();
    let n = raw.n();
    if labels.len() != n {
        return Err(SilhouetteError::LengthMismatch { labels: labels.len(), points: n });
    }
    // Compact cluster ids 0..k over the non-noise points.
    let (compact, k) = compact_labels(labels);
    let members: Vec<usize> = (0..n).filter(|&i| labels[i] >= 0).collect();
    let n_noise = n - members.len();
    if k < 2 || k >= members.len() {
        return Err(SilhouetteError::BadClusterCount { clusters: k, points: members.len() });
    }
    let mut sizes = vec![0usize; k];
    for &i in &members {
        sizes[compact[i] as usize] += 1;
    }
    let d = raw.d();
    let mut values = vec![f32::NAN; n];
    let sample_of = |m: usize| {
        let mut rng = Rng::derive(seed, 0x5117);
        let mut q: Vec<usize> = rng.sample_indices(members.len(), m).into_iter().map(|j| members[j]).collect();
        q.sort_unstable();
        q
    };
    let (scored, exact) = match metric {
        Metric::Cosine => {
            // Exact costs O(n·k·d) and is the rule; `Sample` scores a sample of rows against
            // the exact cluster sums (a preview at a million rows).
            let sample = (mode == SilhouetteMode::Sample).then_some(COSINE_SAMPLE).filter(|&m| m < members.len());
            let queries = sample.map_or_else(|| members.clone(), sample_of);
            let s = cosine_scores(raw, &compact, &sizes, &members, &queries, ctl)?;
            (s, sample.is_none())
        }
        Metric::Euclidean => {
            let cost = (members.len() as f64).powi(2) * d as f64;
            let sample = match mode {
                SilhouetteMode::Exact => None,
                SilhouetteMode::Auto if cost <= EXACT_BUDGET => None,
                SilhouetteMode::Auto | SilhouetteMode::Sample => {
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "a non-negative figure (positive or clamped by construction) rounded down to a bounded count or index"
                    )]
                    let m = (SAMPLE_BUDGET / (members.len() as f64 * d.max(1) as f64)) as usize;
                    let m = m.clamp(300, 5000);
                    (m < members.len()).then_some(m)
                }
            };
            let queries: Vec<usize> = sample.map_or_else(|| members.clone(), sample_of);
            let symmetric = if sample.is_none() { euclidean_exact_symmetric(emb, &compact, &sizes, &members, ctl)? } else { None };
            let s = match symmetric {
                Some(s) => s,
                None => euclidean_scores(emb, &compact, &sizes, &members, &queries, ctl)?,
            };
            (s, sample.is_none())
        }
    };
    let mut sum = 0.0;
    for &(i, s) in &scored {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
        )]
        {
            values[i] = s as f32;
        }
        sum += s;
    }
    let m = scored.len() as f64;
    let mean = sum / m;
    let ci95 = (!exact).then(|| {
        let var = scored.iter().map(|&(_, s)| (s - mean) * (s - mean)).sum::<f64>() / (m - 1.0).max(1.0);
        let fpc = (1.0 - m / members.len() as f64).max(0.0).sqrt();
        let half = 1.96 * (var / m).sqrt() * fpc;
        (mean - half, mean + half)
    });
    Ok(Silhouette { values, mean, exact, ci95, n_scored: scored.len(), n_noise, metric })
}

/// Maps labels ≥ 0 to 0..k in order of first appearance of each distinct value (sorted); noise maps to u32::MAX.
fn compact_labels(labels: &[i32]) -> (Vec<u32>, usize) {
    let mut distinct: Vec<i32> = labels.iter().copied().filter(|&l| l >= 0).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let compact = labels
        .iter()
        .map(|&l| {
            if l < 0 {
                u32::MAX
            } else {
                // `l` is in `distinct` by construction, and k < 2^32 because labels are i32.
                #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
                let c = distinct.binary_search(&l).unwrap_or(0) as u32;
                c
            }
        })
        .collect();
    (compact, distinct.len())
}

/// s = (b − a) / max(a, b) from the per-cluster distance sums of one point.
fn score(sums: &[f64], own: usize, sizes: &[usize]) -> f64 {
    if sizes[own] <= 1 {
        return 0.0;
    }
    let a = sums[own] / (sizes[own] - 1) as f64;
    let mut b = f64::INFINITY;
    for (c, (&s, &size)) in sums.iter().zip(sizes).enumerate() {
        if c != own && size > 0 {
            let v = s / size as f64;
            b = b.min(v);
        }
    }
    let den = a.max(b);
    if den > 0.0 { (b - a) / den } else { 0.0 }
}

#[inline(always)]
fn unit_f64(row: &[f32], out: &mut [f64]) -> f64 {
    let norm = crate::engine::kernels::sum_sq(row).sqrt();
    let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
    for (o, &v) in out.iter_mut().zip(row) {
        *o = f64::from(v) * inv;
    }
    if norm > 0.0 { 1.0 } else { 0.0 }
}

/// Dot product with eight independent accumulators, so the compiler can vectorise it.
#[inline(always)]
fn dot_lanes(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// Rows a sampled cosine silhouette scores.
const COSINE_SAMPLE: usize = 2000;

/// The cosine silhouette of each of `queries` from the unit-vector sums of the clusters over all
/// `members`: O(n·d + q·k·d), exact for every query, unit vectors formed in f64 on the fly.
fn cosine_scores(
    raw: &Matrix,
    compact: &[u32],
    sizes: &[usize],
    members: &[usize],
    queries: &[usize],
    ctl: &Control,
) -> Result<Vec<(usize, f64)>, Cancelled> {
    let (k, d) = (sizes.len(), raw.d());
    let ranges = fixed_ranges(members.len(), members.len().div_ceil(4096).min(32));
    let partial: Vec<Vec<f64>> = ranges
        .par_iter()
        .map(|r| {
            let mut s = vec![0.0f64; k * d];
            let mut u = vec![0.0f64; d];
            for &i in &members[r.clone()] {
                unit_f64(raw.row(i), &mut u);
                let c = compact[i] as usize;
                for (a, b) in s[c * d..(c + 1) * d].iter_mut().zip(&u) {
                    *a += b;
                }
            }
            s
        })
        .collect();
    let mut cluster_sums = vec![0.0f64; k * d];
    for p in partial {
        for (a, b) in cluster_sums.iter_mut().zip(p) {
            *a += b;
        }
    }
    ctl.check()?;
    let q = CosineQueries { raw, compact, sizes, cluster_sums: &cluster_sums };
    let out = queries
        .par_chunks(1024)
        .map(|chunk| {
            #[cfg(target_arch = "x86_64")]
            {
                if crate::engine::kernels::direct_available() {
                    // SAFETY: the CPU has AVX2 and FMA (checked).
                    return unsafe { cosine_chunk_avx2(&q, chunk) };
                }
            }
            cosine_chunk(&q, chunk)
        })
        .flatten()
        .collect();
    Ok(out)
}

/// What [`cosine_chunk`] reads.
struct CosineQueries<'a> {
    raw: &'a Matrix,
    compact: &'a [u32],
    sizes: &'a [usize],
    cluster_sums: &'a [f64],
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn cosine_chunk_avx2(q: &CosineQueries, chunk: &[usize]) -> Vec<(usize, f64)> {
    cosine_chunk(q, chunk)
}

/// The scores of one chunk of [`cosine_scores`]' queries. The same arithmetic in any vector
/// width (no contraction into FMAs), so the AVX2 copy gives the same numbers, about twice as fast.
#[inline(always)]
#[expect(clippy::needless_range_loop, reason = "c indexes the cluster sums, the sizes and the output together")]
fn cosine_chunk(q: &CosineQueries, chunk: &[usize]) -> Vec<(usize, f64)> {
    let (k, d) = (q.sizes.len(), q.raw.d());
    let mut u = vec![0.0f64; d];
    let mut sums = vec![0.0f64; k];
    chunk
        .iter()
        .map(|&i| {
            let self_sq = unit_f64(q.raw.row(i), &mut u);
            let self_sq = if self_sq > 0.0 { dot_lanes(&u, &u) } else { 0.0 };
            for c in 0..k {
                let dot = dot_lanes(&u, &q.cluster_sums[c * d..(c + 1) * d]);
                let size = q.sizes[c] as f64;
                sums[c] = size - dot;
            }
            let own = q.compact[i] as usize;
            // The formula counts the point's distance to itself, 1 − ‖u‖², which is 0 by definition.
            sums[own] -= 1.0 - self_sq;
            (i, score(&sums, own, q.sizes))
        })
        .collect()
}

/// Largest per-cluster distance table (points × clusters) the symmetric exact silhouette keeps
/// per part; above it, [`euclidean_scores`] computes every row instead.
const SYMMETRIC_TABLE_LIMIT: usize = 1 << 22;
/// Fixed number of parts the symmetric silhouette splits its tiles into, so that its sums are
/// added in the same order whatever the thread count.
const SYMMETRIC_PARTS: usize = 8;

/// The exact euclidean silhouette of every member from the upper triangle of the distance
/// matrix only: each distance d(i, j) is computed once, in 256×256 GEMM tiles, and added to
/// both i's sum for j's cluster and j's sum for i's cluster — half the GEMM work of scoring
/// every row against all points. `None` when the per-part tables would be too large.
fn euclidean_exact_symmetric(
    emb: &Embeddings,
    compact: &[u32],
    sizes: &[usize],
    members: &[usize],
    ctl: &Control,
) -> Result<Option<Vec<(usize, f64)>>, Cancelled> {
    let (m, k) = (members.len(), sizes.len());
    if m * k > SYMMETRIC_TABLE_LIMIT {
        return Ok(None);
    }
    let raw = emb.raw();
    let sub_store;
    let sub = if m == raw.n() {
        emb
    } else {
        let keep: Vec<bool> = compact.iter().map(|&c| c != u32::MAX).collect();
        sub_store = Embeddings::new(raw.filter_rows(&keep));
        &sub_store
    };
    let lab: Vec<usize> = members.iter().map(|&i| compact[i] as usize).collect();
    let pw = crate::engine::neighbors::Pairwise::new(sub, Metric::Euclidean);
    let tiles = pw.upper_tiles();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let parts: Vec<Vec<f64>> = fixed_ranges(tiles.len(), SYMMETRIC_PARTS)
        .into_par_iter()
        .map(|range| {
            let mut acc = vec![0.0f64; m * k];
            let mut buf = vec![0.0f32; crate::engine::neighbors::TILE];
            for (rows, cols) in &tiles[range] {
                ctl.check()?;
                pw.tile(rows.clone(), cols.clone(), &mut buf);
                let w = cols.len();
                for (r, i) in rows.clone().enumerate() {
                    let li = lab[i];
                    let j0 = cols.start.max(i + 1);
                    for (j, &dist) in (j0..cols.end).zip(&buf[r * w + (j0 - cols.start)..(r + 1) * w]) {
                        let dist = f64::from(dist);
                        acc[i * k + lab[j]] += dist;
                        acc[j * k + li] += dist;
                    }
                }
                let t = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                ctl.progress("silhouette", t as f32 / tiles.len() as f32);
            }
            Ok(acc)
        })
        .collect::<Result<_, Cancelled>>()?;
    let mut sums = vec![0.0f64; m * k];
    for p in parts {
        sums.iter_mut().zip(p).for_each(|(a, b)| *a += b);
    }
    Ok(Some((0..m).map(|idx| (members[idx], score(&sums[idx * k..(idx + 1) * k], lab[idx], sizes))).collect()))
}

/// Largest matrix (in values) that the euclidean silhouette copies in order to centre it.
const CENTRE_COPY_LIMIT: usize = 64 << 20;

/// Exact euclidean silhouette of each query point against all member points.
fn euclidean_scores(
    emb: &Embeddings,
    compact: &[u32],
    sizes: &[usize],
    members: &[usize],
    queries: &[usize],
    ctl: &Control,
) -> Result<Vec<(usize, f64)>, Cancelled> {
    let raw = emb.raw();
    let (n, k, d) = (raw.n(), sizes.len(), raw.d());
    // Centring leaves distances unchanged but shrinks the norms, and with them the cancellation
    // error of ‖x‖² + ‖y‖² − 2x·y in f32. It needs a copy, so only while the copy is small.
    let centred_store: Vec<f32>;
    // A sample scores few points, so copying all of them to centre would cost more than it saves.
    let points: &[f32] = if n * d <= CENTRE_COPY_LIMIT && queries.len() == members.len() {
        let mut mean = vec![0.0f64; d];
        for &i in members {
            for (m, &v) in mean.iter_mut().zip(raw.row(i)) {
                *m += f64::from(v);
            }
        }
        let nm = members.len() as f64;
        mean.iter_mut().for_each(|m| *m /= nm);
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
        )]
        let centred = raw.as_slice().chunks_exact(d).flat_map(|r| r.iter().zip(&mean).map(|(&v, &m)| (f64::from(v) - m) as f32)).collect();
        centred_store = centred;
        &centred_store
    } else {
        raw.as_slice()
    };
    let norms = row_norms_sq(points, d);
    const COL_BLOCK: usize = 2048;
    let blocks: Vec<&[usize]> = queries.chunks(ROW_BLOCK / 4).collect();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Result<Vec<(usize, f64)>, Cancelled>> = blocks
        .par_iter()
        .map(|block| {
            ctl.check()?;
            let m = block.len();
            let mut q = Vec::with_capacity(m * d);
            for &p in *block {
                q.extend_from_slice(&points[p * d..(p + 1) * d]);
            }
            let mut sums = vec![0.0f64; m * k];
            let mut buf = vec![0.0f32; m * COL_BLOCK];
            let mut start = 0;
            while start < n {
                let end = (start + COL_BLOCK).min(n);
                let w = end - start;
                dot_nt(&q, m, &points[start * d..end * d], w, d, &mut buf, COL_BLOCK);
                for (ii, &p) in block.iter().enumerate() {
                    let qn = norms[p];
                    let row = &buf[ii * COL_BLOCK..ii * COL_BLOCK + w];
                    let s = &mut sums[ii * k..(ii + 1) * k];
                    for (jj, &dot) in row.iter().enumerate() {
                        let j = start + jj;
                        let c = compact[j];
                        // Noise is not part of any cluster; a point is at distance 0 from itself.
                        if c == u32::MAX || j == p {
                            continue;
                        }
                        s[c as usize] += (qn + norms[j] - 2.0 * f64::from(dot)).max(0.0).sqrt();
                    }
                }
                start = end;
            }
            let finished = done.fetch_add(m, std::sync::atomic::Ordering::Relaxed) + m;
            ctl.progress("silhouette", finished as f32 / queries.len() as f32);
            Ok(block.iter().enumerate().map(|(ii, &p)| (p, score(&sums[ii * k..(ii + 1) * k], compact[p] as usize, sizes))).collect())
        })
        .collect();
    let mut out = Vec::with_capacity(queries.len());
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    #[test]
    #[expect(clippy::needless_range_loop, reason = "i indexes the rows and their compact labels together")]
    fn the_avx2_cosine_scores_are_the_portable_ones_exactly() {
        if !crate::engine::kernels::direct_available() {
            return;
        }
        let mut rng = crate::engine::rng::Rng::new(12);
        let (n, d, k) = (200, 37, 3);
        #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
        let raw = Matrix::new((0..n * d).map(|_| rng.next_f64() as f32 - 0.3).collect(), n, d).unwrap();
        #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
        let compact: Vec<u32> = (0..n).map(|i| (i % k) as u32).collect();
        let sizes = vec![67, 67, 66];
        let mut cluster_sums = vec![0.0f64; k * d];
        let mut u = vec![0.0f64; d];
        for i in 0..n {
            unit_f64(raw.row(i), &mut u);
            let c = compact[i] as usize;
            cluster_sums[c * d..(c + 1) * d].iter_mut().zip(&u).for_each(|(a, b)| *a += b);
        }
        let q = CosineQueries { raw: &raw, compact: &compact, sizes: &sizes, cluster_sums: &cluster_sums };
        let chunk: Vec<usize> = (0..n).collect();
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        let fast = unsafe { cosine_chunk_avx2(&q, &chunk) };
        assert_eq!(fast, cosine_chunk(&q, &chunk));
    }

    #[expect(clippy::cast_sign_loss, reason = "the reference takes labels without noise, so never negative")]
    fn naive(raw: &Matrix, labels: &[i32], cosine: bool) -> f64 {
        let n = raw.n();
        let dist = |a: usize, b: usize| {
            if cosine {
                let (x, y) = (raw.row(a), raw.row(b));
                let dot = crate::engine::kernels::dot_f64(x, y);
                let nx = crate::engine::kernels::dot_f64(x, x).sqrt();
                let ny = crate::engine::kernels::dot_f64(y, y).sqrt();
                1.0 - dot / (nx * ny)
            } else {
                crate::engine::kernels::sq_dist_f64(raw.row(a), raw.row(b)).sqrt()
            }
        };
        let k = labels.iter().copied().max().unwrap() as usize + 1;
        let mut total = 0.0;
        for i in 0..n {
            let mut sums = vec![0.0; k];
            let mut sizes = vec![0usize; k];
            for j in 0..n {
                sizes[labels[j] as usize] += 1;
                if i != j {
                    sums[labels[j] as usize] += dist(i, j);
                }
            }
            total += score(&sums, labels[i] as usize, &sizes);
        }
        total / n as f64
    }

    #[expect(clippy::cast_possible_truncation, clippy::cast_possible_wrap, reason = "test data: small generated values and labels")]
    fn data() -> (Embeddings, Vec<i32>) {
        let mut rng = Rng::new(5);
        let n = 120;
        let d = 6;
        let labels: Vec<i32> = (0..n).map(|i| (i % 4) as i32).collect();
        let v: Vec<f32> = (0..n * d).map(|i| (labels[i / d] as f32) * 0.7 + rng.next_f64() as f32).collect();
        (Embeddings::new(Matrix::new(v, n, d).unwrap()), labels)
    }

    #[test]
    fn euclidean_silhouette_matches_pairwise_definition() {
        let (emb, labels) = data();
        let s = silhouette(&emb, &labels, Metric::Euclidean, SilhouetteMode::Exact, 0, &Control::default()).unwrap();
        let want = naive(emb.raw(), &labels, false);
        assert!((s.mean - want).abs() < 1e-6 * want.abs().max(1e-3), "{} vs {want}", s.mean);
        assert!(s.exact && s.ci95.is_none());
    }

    #[test]
    fn cosine_silhouette_matches_pairwise_definition() {
        let (emb, labels) = data();
        let s = silhouette(&emb, &labels, Metric::Cosine, SilhouetteMode::Auto, 0, &Control::default()).unwrap();
        let want = naive(emb.raw(), &labels, true);
        assert!((s.mean - want).abs() < 1e-9 * want.abs().max(1e-3), "{} vs {want}", s.mean);
    }

    #[test]
    fn sampled_silhouette_brackets_the_exact_mean() {
        let (emb, labels) = data();
        let exact = silhouette(&emb, &labels, Metric::Euclidean, SilhouetteMode::Exact, 0, &Control::default()).unwrap();
        // With 120 points the sample of 300 would hold everything, so it is exact.
        let s = silhouette(&emb, &labels, Metric::Euclidean, SilhouetteMode::Sample, 1, &Control::default()).unwrap();
        assert!(s.exact);
        assert!((s.mean - exact.mean).abs() < 1e-12);
    }

    #[test]
    fn noise_points_are_left_out() {
        let (emb, mut labels) = data();
        labels[0] = -1;
        labels[5] = -1;
        let s = silhouette(&emb, &labels, Metric::Euclidean, SilhouetteMode::Exact, 0, &Control::default()).unwrap();
        assert_eq!(s.n_noise, 2);
        assert_eq!(s.n_scored, 118);
        assert!(s.values[0].is_nan() && s.values[5].is_nan() && !s.values[1].is_nan());
    }

    #[test]
    fn one_cluster_is_rejected_with_a_reason() {
        let (emb, _) = data();
        let labels = vec![0; 120];
        let e = silhouette(&emb, &labels, Metric::Cosine, SilhouetteMode::Auto, 0, &Control::default()).unwrap_err();
        assert!(e.to_string().contains("between 2 and n−1 clusters"));
    }
}
