//! Exact neighbourhoods by blocked GEMM: the k-nearest-neighbour graph, the ε-neighbourhood
//! graph up to a radius, and the condensed distance matrix. DBSCAN, HDBSCAN, hierarchical
//! clustering, the k-distance curve and nearest-neighbour lookups all read these.
//!
//! Distances come from tiles of dot products: ‖a − b‖² = ‖a‖² + ‖b‖² − 2a·b on mean-centred
//! rows (centring leaves distances unchanged and keeps the cancellation small), and
//! 1 − a·b on unit rows for cosine. Rows of length zero are at cosine distance 1 from
//! everything, as in scikit-learn.

pub mod ann;

use std::borrow::Cow;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::engine::disjoint::Disjoint;
use crate::engine::kernels::{ROW_BLOCK, dot_nt, fixed_ranges, sum_sq};
use crate::engine::{Cancelled, Control, Embeddings, Matrix, Metric};

/// Columns per tile: 256 × 256 dot products (256 KiB, in L2) per GEMM call.
const COL_BLOCK: usize = 256;
/// Values in one distance tile; the buffer size [`Pairwise::tile`] needs at most.
pub const TILE: usize = ROW_BLOCK * COL_BLOCK;

/// The points of a dataset prepared for distance tiles in one metric.
pub struct Pairwise<'a> {
    pts: Cow<'a, [f32]>,
    norms: Vec<f32>,
    n: usize,
    d: usize,
    metric: Metric,
    squared: bool,
}

impl<'a> Pairwise<'a> {
    /// Prepares `emb` for `metric`: a centred copy with row norms for euclidean, the unit rows
    /// for cosine.
    #[must_use]
    pub fn new(emb: &'a Embeddings, metric: Metric) -> Self {
        let m = emb.points(metric);
        let (n, d) = (m.n(), m.d());
        match metric {
            Metric::Cosine => Self { pts: Cow::Borrowed(m.as_slice()), norms: Vec::new(), n, d, metric, squared: false },
            Metric::Euclidean => {
                let mut mean = vec![0.0f64; d];
                for i in 0..n {
                    for (s, &v) in mean.iter_mut().zip(m.row(i)) {
                        *s += f64::from(v);
                    }
                }
                // Counts below 2^53 are exact in f64.
                let inv = 1.0 / n.max(1) as f64;
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
                )]
                let mean: Vec<f32> = mean.iter().map(|s| (s * inv) as f32).collect();
                let mut pts = m.as_slice().to_vec();
                if d > 0 {
                    pts.par_chunks_mut(d).for_each(|row| row.iter_mut().zip(&mean).for_each(|(v, mu)| *v -= mu));
                }
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
                )]
                let norms = if d == 0 { vec![0.0; n] } else { pts.par_chunks(d).map(|r| sum_sq(r) as f32).collect() };
                Self { pts: Cow::Owned(pts), norms, n, d, metric, squared: false }
            }
        }
    }

    /// Euclidean tiles give squared distances (no square root); cosine ones are unchanged.
    #[must_use]
    pub fn squared(self) -> Self {
        Self { squared: true, ..self }
    }

    /// `‖a − b‖` (or its square) from the dot product and the two squared norms.
    #[inline]
    fn euclid(&self, ni: f32, nj: f32, dot: f32) -> f32 {
        let sq = (ni + nj - 2.0 * dot).max(0.0);
        if self.squared { sq } else { sq.sqrt() }
    }

    /// Number of points.
    #[must_use]
    pub fn n(&self) -> usize {
        self.n
    }

    /// The metric.
    #[must_use]
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Distances from `rows` to `cols` into `out` (row-major, `rows.len() × cols.len()`).
    pub fn tile(&self, rows: Range<usize>, cols: Range<usize>, out: &mut [f32]) {
        let (m, k, d) = (rows.len(), cols.len(), self.d);
        let out = &mut out[..m * k];
        dot_nt(&self.pts[rows.start * d..rows.end * d], m, &self.pts[cols.start * d..cols.end * d], k, d, out, k);
        match self.metric {
            Metric::Cosine => out.iter_mut().for_each(|v| *v = (1.0 - *v).clamp(0.0, 2.0)),
            Metric::Euclidean => {
                for (r, row) in out.chunks_exact_mut(k).enumerate() {
                    let ni = self.norms[rows.start + r];
                    for (v, &nj) in row.iter_mut().zip(&self.norms[cols.clone()]) {
                        *v = self.euclid(ni, nj, *v);
                    }
                }
            }
        }
    }

    /// Distances from the listed rows to `cols` into `out` (row-major, `rows.len() × cols.len()`).
    pub fn tile_gathered(&self, rows: &[usize], cols: Range<usize>, gathered: &mut Vec<f32>, out: &mut [f32]) {
        let (m, k, d) = (rows.len(), cols.len(), self.d);
        gathered.clear();
        for &r in rows {
            gathered.extend_from_slice(&self.pts[r * d..(r + 1) * d]);
        }
        let out = &mut out[..m * k];
        dot_nt(gathered, m, &self.pts[cols.start * d..cols.end * d], k, d, out, k);
        match self.metric {
            Metric::Cosine => out.iter_mut().for_each(|v| *v = (1.0 - *v).clamp(0.0, 2.0)),
            Metric::Euclidean => {
                for (row, &r) in out.chunks_exact_mut(k).zip(rows) {
                    let ni = self.norms[r];
                    for (v, &nj) in row.iter_mut().zip(&self.norms[cols.clone()]) {
                        *v = self.euclid(ni, nj, *v);
                    }
                }
            }
        }
    }

    /// The tiles of the upper triangle: row blocks of [`ROW_BLOCK`] × aligned column blocks with
    /// some column above the block's first row. Pairs with `j ≤ i` inside a tile are the
    /// caller's to skip.
    #[must_use]
    pub fn upper_tiles(&self) -> Vec<(Range<usize>, Range<usize>)> {
        let n = self.n;
        let mut tiles = Vec::new();
        for r0 in (0..n).step_by(ROW_BLOCK) {
            let rows = r0..(r0 + ROW_BLOCK).min(n);
            for c0 in (0..n).step_by(COL_BLOCK) {
                let cols = c0..(c0 + COL_BLOCK).min(n);
                if cols.end > rows.start + 1 {
                    tiles.push((rows.clone(), cols.start.max(rows.start)..cols.end));
                }
            }
        }
        tiles
    }

    /// Visits every tile of the upper triangle (row block × column block with some column above
    /// its rows' indices) in parallel; `visit(rows, cols, distances)`. Pairs with `j ≤ i` inside
    /// a tile are the caller's to skip.
    pub(crate) fn for_upper_tiles<F>(&self, stage: &str, ctl: &Control, visit: F) -> Result<(), Cancelled>
    where
        F: Fn(Range<usize>, Range<usize>, &[f32]) + Sync,
    {
        let tiles = self.upper_tiles();
        let done = AtomicUsize::new(0);
        let total = tiles.len().max(1);
        tiles.into_par_iter().try_for_each_init(
            || vec![0.0f32; ROW_BLOCK * COL_BLOCK],
            |buf, (rows, cols)| {
                ctl.check()?;
                self.tile(rows.clone(), cols.clone(), buf);
                visit(rows, cols, buf);
                let t = done.fetch_add(1, Ordering::Relaxed) + 1;
                if t.is_multiple_of(16) {
                    ctl.progress(stage, t as f32 / total as f32);
                }
                Ok(())
            },
        )
    }
}

/// The `k` nearest other points of every point, exactly, nearest first (ties: lower index
/// first).
#[derive(Clone, Debug)]
pub struct KnnGraph {
    /// Metric the distances are in.
    pub metric: Metric,
    /// Neighbours per point.
    pub k: usize,
    /// `n × k` neighbour indices.
    pub indices: Vec<u32>,
    /// `n × k` distances, ascending per row.
    pub distances: Vec<f32>,
}

impl KnnGraph {
    /// Builds the graph with `k` neighbours per point (`k` is capped at n − 1).
    pub fn build(emb: &Embeddings, metric: Metric, k: usize, ctl: &Control) -> Result<Self, Cancelled> {
        let pw = Pairwise::new(emb, metric);
        let n = pw.n;
        let k = k.min(n.saturating_sub(1));
        let mut indices = vec![0u32; n * k];
        let mut distances = vec![0.0f32; n * k];
        if k == 0 {
            return Ok(Self { metric, k, indices, distances });
        }
        let done = AtomicUsize::new(0);
        indices.par_chunks_mut(ROW_BLOCK * k).zip(distances.par_chunks_mut(ROW_BLOCK * k)).enumerate().try_for_each_init(
            || vec![0.0f32; ROW_BLOCK * COL_BLOCK],
            |buf, (b, (idx, dist))| {
                let rows = b * ROW_BLOCK..(b * ROW_BLOCK + ROW_BLOCK).min(n);
                dist.fill(f32::INFINITY);
                idx.fill(u32::MAX);
                for c0 in (0..n).step_by(COL_BLOCK) {
                    ctl.check()?;
                    let cols = c0..(c0 + COL_BLOCK).min(n);
                    pw.tile(rows.clone(), cols.clone(), buf);
                    let w = cols.len();
                    for (r, i) in rows.clone().enumerate() {
                        let bd = &mut dist[r * k..(r + 1) * k];
                        let bi = &mut idx[r * k..(r + 1) * k];
                        for (c, &dv) in buf[r * w..(r + 1) * w].iter().enumerate() {
                            let j = cols.start + c;
                            if dv < bd[k - 1] && j != i {
                                insert_sorted(bd, bi, dv, j);
                            }
                        }
                    }
                }
                let t = done.fetch_add(rows.len(), Ordering::Relaxed) + rows.len();
                ctl.progress("neighbours", t as f32 / n as f32);
                Ok(())
            },
        )?;
        Ok(Self { metric, k, indices, distances })
    }

    /// Number of points.
    #[must_use]
    pub fn n(&self) -> usize {
        self.indices.len().checked_div(self.k).unwrap_or(0)
    }

    /// Neighbours of point `i`, nearest first.
    #[must_use]
    pub fn neighbors(&self, i: usize) -> (&[u32], &[f32]) {
        (&self.indices[i * self.k..(i + 1) * self.k], &self.distances[i * self.k..(i + 1) * self.k])
    }

    /// The k-distance curve: every point's distance to its `min_samples`-th nearest point,
    /// counting the point itself as the first (so `min_samples = 1` gives zeros), sorted
    /// ascending. `None` when the graph holds fewer than `min_samples − 1` neighbours.
    #[must_use]
    pub fn k_distance(&self, min_samples: usize) -> Option<Vec<f32>> {
        let kk = min_samples.checked_sub(1)?;
        if kk > self.k {
            return None;
        }
        let mut curve: Vec<f32> = if kk == 0 {
            vec![0.0; self.indices.len().checked_div(self.k).unwrap_or(0)]
        } else {
            self.distances.chunks_exact(self.k).map(|row| row[kk - 1]).collect()
        };
        curve.sort_by(f32::total_cmp);
        Some(curve)
    }
}

/// Rows above which [`k_distance_curve`] measures a sample instead of every point.
pub const K_DISTANCE_EXACT_MAX: usize = 5_000;

/// The k-distance curve (see [`KnnGraph::k_distance`]) for choosing eps: exact up to
/// [`K_DISTANCE_EXACT_MAX`] rows (and reusing a cached graph when there is one); above, the
/// curve of a seeded sample of that many points, each measured exactly against all points —
/// the same distribution at a fraction of the cost (m·n instead of n² distances).
pub fn k_distance_curve(emb: &Embeddings, metric: Metric, min_samples: usize, seed: u64, ctl: &Control) -> Result<Vec<f32>, Cancelled> {
    let n = emb.raw().n();
    let kk = min_samples.saturating_sub(1).min(n.saturating_sub(1));
    if n <= K_DISTANCE_EXACT_MAX || kk == 0 {
        let (g, _) = emb.knn_graph(metric, kk.max(1), ctl)?;
        return Ok(g.k_distance(kk + 1).unwrap_or_default());
    }
    let sample = crate::engine::rng::Rng::new(seed).sample_indices(n, K_DISTANCE_EXACT_MAX);
    let pw = Pairwise::new(emb, metric);
    let done = AtomicUsize::new(0);
    let mut curve: Vec<f32> = sample
        .par_chunks(ROW_BLOCK)
        .map_init(
            || (Vec::new(), vec![0.0f32; ROW_BLOCK * COL_BLOCK]),
            |(gathered, buf), rows| {
                let m = rows.len();
                let mut top = vec![f32::INFINITY; m * kk];
                for c0 in (0..n).step_by(COL_BLOCK) {
                    ctl.check()?;
                    let cols = c0..(c0 + COL_BLOCK).min(n);
                    let w = cols.len();
                    pw.tile_gathered(rows, cols.clone(), gathered, buf);
                    for (r, &i) in rows.iter().enumerate() {
                        let t = &mut top[r * kk..(r + 1) * kk];
                        for (c, &v) in buf[r * w..(r + 1) * w].iter().enumerate() {
                            if v < t[kk - 1] && cols.start + c != i {
                                keep_smallest(t, v);
                            }
                        }
                    }
                }
                let finished = done.fetch_add(m, Ordering::Relaxed) + m;
                ctl.progress("neighbour distances", finished as f32 / K_DISTANCE_EXACT_MAX as f32);
                Ok(top.chunks_exact(kk).map(|t| t[kk - 1]).collect::<Vec<f32>>())
            },
        )
        .collect::<Result<Vec<_>, Cancelled>>()?
        .into_iter()
        .flatten()
        .collect();
    curve.sort_by(f32::total_cmp);
    Ok(curve)
}

/// A first eps for DBSCAN from an ascending k-distance curve: its median, the radius at which
/// half of the points are core points. (The curve's knee, the textbook choice, sits near the top
/// on sentence embeddings, where the curve rises smoothly, and joins nearly everything into one
/// cluster.) `None` for an empty curve.
#[must_use]
pub fn suggested_eps(curve: &[f32]) -> Option<f32> {
    curve.get(curve.len() / 2).copied()
}

/// The `k` rows nearest row `query` in `metric` (the row itself and its exact duplicates
/// excluded only by index: duplicates elsewhere are neighbours at distance 0), nearest first,
/// with their distances (euclidean, or cosine distance). Exact: one parallel pass over the rows.
/// Ties go to the lower row index.
#[must_use]
pub fn nearest_rows(emb: &Embeddings, metric: Metric, query: usize, k: usize) -> Vec<(usize, f32)> {
    let points = emb.points(metric);
    let n = points.n();
    if query >= n || k == 0 {
        return Vec::new();
    }
    let q = points.row(query);
    let k = k.min(n - 1);
    if k == 0 {
        return Vec::new();
    }
    let best = fixed_ranges(n, n.div_ceil(8192).min(64))
        .into_par_iter()
        .map(|r| {
            let (mut bd, mut bi) = (vec![f32::INFINITY; k], vec![u32::MAX; k]);
            for i in r {
                if i == query {
                    continue;
                }
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
                )]
                let dv = match metric {
                    Metric::Euclidean => crate::engine::kernels::sq_dist(q, points.row(i)).sqrt() as f32,
                    Metric::Cosine => (1.0 - crate::engine::kernels::dot_f64(q, points.row(i))).max(0.0) as f32,
                };
                if dv < bd[k - 1] {
                    insert_sorted(&mut bd, &mut bi, dv, i);
                }
            }
            (bd, bi)
        })
        .reduce(
            || (vec![f32::INFINITY; k], vec![u32::MAX; k]),
            |(mut ad, mut ai), (bd, bi)| {
                // Both lists are ascending; ranges are merged in row order, so equal distances keep the lower row.
                let mut merged: Vec<(f32, u32)> = ad.iter().copied().zip(ai.iter().copied()).chain(bd.into_iter().zip(bi)).collect();
                merged.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                for (slot, (dv, j)) in merged.into_iter().take(k).enumerate() {
                    ad[slot] = dv;
                    ai[slot] = j;
                }
                (ad, ai)
            },
        );
    best.0.into_iter().zip(best.1).filter(|&(dv, j)| j != u32::MAX && dv.is_finite()).map(|(dv, j)| (j as usize, dv)).collect()
}

/// Inserts `v` into the ascending list `top` of the smallest values seen, dropping its last
/// entry (callers test `v < top[last]` first: most values fail it).
pub(crate) fn keep_smallest(top: &mut [f32], v: f32) {
    let mut p = top.len() - 1;
    while p > 0 && top[p - 1] > v {
        top[p] = top[p - 1];
        p -= 1;
    }
    top[p] = v;
}

/// The `k` smallest values offered to each of `n` lists. Each list has `2k` slots: values below
/// its threshold are appended, and a full list is cut back to its `k` smallest by a selection,
/// whose largest becomes the new threshold (amortised O(1) per accepted value, where a sorted
/// insertion shifts k/2 entries). Eight offered values at a time are tested against the
/// threshold with a branch-free fold, which vectorises.
pub(crate) struct KSmallest {
    k: usize,
    vals: Vec<f32>,
    lens: Vec<u32>,
    thr: Vec<f32>,
}

impl KSmallest {
    /// `n` empty lists keeping `k` (≥ 1) values each.
    pub(crate) fn new(n: usize, k: usize) -> Self {
        assert!(k >= 1);
        Self { k, vals: vec![0.0; n * 2 * k], lens: vec![0; n], thr: vec![f32::INFINITY; n] }
    }

    /// Offers `values` to list `i`.
    pub(crate) fn offer(&mut self, i: usize, values: &[f32]) {
        let mut groups = values.chunks_exact(8);
        for g in groups.by_ref() {
            let thr = self.thr[i];
            if g.iter().fold(false, |any, &v| any | (v < thr)) {
                for &v in g {
                    self.push(i, v);
                }
            }
        }
        for &v in groups.remainder() {
            self.push(i, v);
        }
    }

    fn push(&mut self, i: usize, v: f32) {
        if v < self.thr[i] {
            let k = self.k;
            let list = &mut self.vals[i * 2 * k..(i + 1) * 2 * k];
            let len = self.lens[i] as usize;
            list[len] = v;
            if len + 1 == 2 * k {
                self.thr[i] = *list.select_nth_unstable_by(k - 1, f32::total_cmp).1;
                #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
                let k32 = k as u32;
                self.lens[i] = k32;
            } else {
                self.lens[i] += 1;
            }
        }
    }

    /// The values list `i` holds: its `k` smallest among others that may be larger.
    pub(crate) fn held(&self, i: usize) -> &[f32] {
        &self.vals[i * 2 * self.k..i * 2 * self.k + self.lens[i] as usize]
    }

    /// The `k`-th smallest value list `i` was offered (infinity when it was offered fewer).
    pub(crate) fn kth(&mut self, i: usize) -> f32 {
        let (k, len) = (self.k, self.lens[i] as usize);
        Self::kth_of(&mut self.vals[i * 2 * k..i * 2 * k + len], k)
    }

    /// The `k`-th smallest of `values` (infinity when there are fewer than `k`).
    pub(crate) fn kth_of(values: &mut [f32], k: usize) -> f32 {
        if values.len() < k { f32::INFINITY } else { *values.select_nth_unstable_by(k - 1, f32::total_cmp).1 }
    }
}

/// Inserts `(dv, j)` into the ascending top list, dropping its last entry.
pub(crate) fn insert_sorted(bd: &mut [f32], bi: &mut [u32], dv: f32, j: usize) {
    let mut p = bd.len() - 1;
    while p > 0 && bd[p - 1] > dv {
        bd[p] = bd[p - 1];
        bi[p] = bi[p - 1];
        p -= 1;
    }
    bd[p] = dv;
    // Point indices fit in u32 (the loaders refuse more rows).
    #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
    {
        bi[p] = j as u32;
    }
}

/// Why a radius graph was not built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GraphError {
    /// Stopped by a newer job.
    #[error("cancelled")]
    Cancelled,
    /// The radius holds too many pairs to keep in memory.
    #[error(
        "within a distance of {radius} there are more than {limit} neighbour pairs (about {per_point:.0} per point); \
         choose a smaller eps"
    )]
    TooDense {
        /// Radius asked for.
        radius: f32,
        /// Pair budget.
        limit: usize,
        /// Average neighbours per point at the point the budget ran out (a lower bound).
        per_point: f64,
    },
}

impl From<Cancelled> for GraphError {
    fn from(_: Cancelled) -> Self {
        Self::Cancelled
    }
}

/// Every pair of points within `radius`, as sorted adjacency lists (compressed rows).
#[derive(Clone, Debug)]
pub struct RadiusGraph {
    /// Metric the distances are in.
    pub metric: Metric,
    /// Largest distance stored.
    pub radius: f32,
    offsets: Vec<usize>,
    nbrs: Vec<u32>,
    dists: Vec<f32>,
}

/// Default pair budget of a radius graph: 2 × 10⁸ directed pairs, 1.6 GB.
pub const MAX_RADIUS_PAIRS: usize = 200_000_000;

impl RadiusGraph {
    /// Builds the graph of all pairs at distance ≤ `radius`, refusing when it would hold more
    /// than `max_pairs` directed pairs.
    pub fn build(emb: &Embeddings, metric: Metric, radius: f32, max_pairs: usize, ctl: &Control) -> Result<Self, GraphError> {
        let pw = Pairwise::new(emb, metric);
        let n = pw.n;
        let count = AtomicUsize::new(0);
        let over = std::sync::atomic::AtomicBool::new(false);
        let parts = std::sync::Mutex::new(Vec::<Vec<(u32, u32, f32)>>::new());
        let sweep = pw.for_upper_tiles("neighbourhoods", ctl, |rows, cols, buf| {
            if over.load(Ordering::Relaxed) {
                return;
            }
            let w = cols.len();
            let mut local = Vec::new();
            for (r, i) in rows.clone().enumerate() {
                for (c, &dv) in buf[r * w..(r + 1) * w].iter().enumerate() {
                    let j = cols.start + c;
                    if j > i && dv <= radius {
                        #[expect(
                            clippy::cast_possible_truncation,
                            reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)"
                        )]
                        local.push((i as u32, j as u32, dv));
                    }
                }
            }
            if local.is_empty() {
                return;
            }
            if count.fetch_add(2 * local.len(), Ordering::Relaxed) + 2 * local.len() > max_pairs {
                over.store(true, Ordering::Relaxed);
                return;
            }
            parts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(local);
        });
        sweep?;
        if over.load(Ordering::Relaxed) {
            let per_point = count.load(Ordering::Relaxed) as f64 / n.max(1) as f64;
            return Err(GraphError::TooDense { radius, limit: max_pairs, per_point });
        }
        let parts = parts.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut degree = vec![0usize; n + 1];
        for p in &parts {
            for &(i, j, _) in p {
                degree[i as usize] += 1;
                degree[j as usize] += 1;
            }
        }
        let mut offsets = vec![0usize; n + 1];
        for i in 0..n {
            offsets[i + 1] = offsets[i] + degree[i];
        }
        let total = offsets[n];
        let mut nbrs = vec![0u32; total];
        let mut dists = vec![0.0f32; total];
        let mut fill = offsets.clone();
        for p in parts {
            for (i, j, dv) in p {
                let (iu, ju) = (i as usize, j as usize);
                nbrs[fill[iu]] = j;
                dists[fill[iu]] = dv;
                fill[iu] += 1;
                nbrs[fill[ju]] = i;
                dists[fill[ju]] = dv;
                fill[ju] += 1;
            }
        }
        ctl.check()?;
        // Sort every row by (distance, index) so that a smaller eps is a prefix.
        let mut rows: Vec<(&mut [u32], &mut [f32])> = Vec::with_capacity(n);
        {
            let (mut rest_n, mut rest_d) = (nbrs.as_mut_slice(), dists.as_mut_slice());
            for i in 0..n {
                let len = offsets[i + 1] - offsets[i];
                let (a, b) = std::mem::take(&mut rest_n).split_at_mut(len);
                let (c, e) = std::mem::take(&mut rest_d).split_at_mut(len);
                rows.push((a, c));
                rest_n = b;
                rest_d = e;
            }
        }
        rows.into_par_iter().for_each(|(nb, ds)| {
            let mut pairs: Vec<(f32, u32)> = ds.iter().copied().zip(nb.iter().copied()).collect();
            pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (k, (dv, j)) in pairs.into_iter().enumerate() {
                ds[k] = dv;
                nb[k] = j;
            }
        });
        Ok(Self { metric, radius, offsets, nbrs, dists })
    }

    /// Number of points.
    #[must_use]
    pub fn n(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Stored directed pairs.
    #[must_use]
    pub fn pairs(&self) -> usize {
        self.nbrs.len()
    }

    /// Neighbours of `i` within `eps` (≤ the graph's radius), nearest first.
    #[must_use]
    pub fn within(&self, i: usize, eps: f32) -> (&[u32], &[f32]) {
        let r = self.offsets[i]..self.offsets[i + 1];
        let ds = &self.dists[r.clone()];
        let m = ds.partition_point(|&v| v <= eps);
        (&self.nbrs[r.start..r.start + m], &ds[..m])
    }
}

/// The upper triangle of the distance matrix, row by row (scipy's condensed form):
/// the distance between `i < j` is at `n·i − i(i+1)/2 + (j − i − 1)`.
pub struct Condensed {
    /// Number of points.
    pub n: usize,
    /// `n(n−1)/2` distances.
    pub data: Vec<f32>,
}

impl Condensed {
    /// Bytes needed for `n` points.
    #[must_use]
    pub fn bytes_for(n: usize) -> usize {
        n * n.saturating_sub(1) / 2 * std::mem::size_of::<f32>()
    }

    /// Computes every pairwise distance.
    pub fn build(emb: &Embeddings, metric: Metric, ctl: &Control) -> Result<Self, Cancelled> {
        Self::build_from(&Pairwise::new(emb, metric), ctl)
    }

    /// Computes every squared euclidean distance.
    pub fn build_squared(emb: &Embeddings, ctl: &Control) -> Result<Self, Cancelled> {
        Self::build_from(&Pairwise::new(emb, Metric::Euclidean).squared(), ctl)
    }

    fn build_from(pw: &Pairwise<'_>, ctl: &Control) -> Result<Self, Cancelled> {
        let n = pw.n;
        let mut data = big_zeroed(n * n.saturating_sub(1) / 2);
        let out = Disjoint::new(&mut data);
        pw.for_upper_tiles("distances", ctl, |rows, cols, buf| {
            let w = cols.len();
            for (r, i) in rows.clone().enumerate() {
                let j0 = cols.start.max(i + 1);
                if j0 >= cols.end {
                    continue;
                }
                let at = index(n, i, j0);
                let src = &buf[r * w + (j0 - cols.start)..r * w + w];
                // SAFETY: tiles cover disjoint (i, j) pairs, so the ranges written here do not
                // overlap between tasks, and they lie inside `data` (index < n(n−1)/2).
                unsafe { out.write(at, src) };
            }
        })?;
        Ok(Self { n, data })
    }

    /// Distance between `i` and `j` (`i ≠ j`).
    #[must_use]
    pub fn get(&self, i: usize, j: usize) -> f32 {
        let (a, b) = if i < j { (i, j) } else { (j, i) };
        self.data[index(self.n, a, b)]
    }
}

/// The full n × n distance matrix, row-major (zeros on the diagonal): twice the memory of
/// [`Condensed`], for algorithms that read whole rows (Prim's minimum spanning tree).
pub struct Square {
    /// Number of points.
    pub n: usize,
    /// `n²` distances.
    pub data: Vec<f32>,
}

impl std::fmt::Debug for Square {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Square").field("n", &self.n).finish_non_exhaustive()
    }
}

impl Square {
    /// Bytes needed for `n` points.
    #[must_use]
    pub fn bytes_for(n: usize) -> usize {
        n * n * std::mem::size_of::<f32>()
    }

    /// Computes every pairwise distance (each pair once, mirrored).
    pub fn build(emb: &Embeddings, metric: Metric, ctl: &Control) -> Result<Self, Cancelled> {
        Ok(Self::build_with_nearest(emb, metric, 0, ctl)?.0)
    }

    /// Most `kth` for which [`Square::build_with_nearest`] keeps its lists while the tiles are
    /// computed; above it, the rows are read once more afterwards.
    pub const NEAREST_IN_PASS: usize = 128;

    /// Most bytes the per-thread lists of [`Square::build_with_nearest`] may take together
    /// (2·kth values per point and thread); beyond, the rows are read once more instead.
    const NEAREST_LISTS_MAX_BYTES: usize = 256 << 20;

    /// [`Square::build`], and every point's distance to its `kth` nearest other point (0 when
    /// `kth` is 0; infinity when there are fewer than `kth` other points).
    ///
    /// Up to [`Square::NEAREST_IN_PASS`] (and while the lists fit in 256 MiB), each thread keeps
    /// the `kth` smallest distances it has seen for every point and offers each tile to them
    /// while it is still in cache, rows and mirrored columns alike; the threads' lists are
    /// merged at the end. That saves a second read of the n² matrix, about a tenth of the build.
    pub fn build_with_nearest(emb: &Embeddings, metric: Metric, kth: usize, ctl: &Control) -> Result<(Self, Vec<f32>), Cancelled> {
        use std::sync::{Mutex, PoisonError};
        let pw = Pairwise::new(emb, metric);
        let n = pw.n;
        // Rows are read whole and in sequence here, so huge pages save little, and on a
        // fragmented system their synchronous compaction costs more than it saves.
        let mut data = vec![0.0f32; n * n];
        let out = Disjoint::new(&mut data);
        let threads = rayon::current_num_threads().max(1);
        let lists_bytes = threads.saturating_mul(n).saturating_mul(2 * kth * std::mem::size_of::<f32>());
        let kk = if kth <= Self::NEAREST_IN_PASS && lists_bytes <= Self::NEAREST_LISTS_MAX_BYTES { kth } else { 0 };
        // Per thread: the transposed tile and, when asked, the nearest-distance lists.
        let states: Vec<Mutex<(Vec<f32>, Option<KSmallest>)>> =
            (0..threads).map(|_| Mutex::new((Vec::new(), (kk > 0).then(|| KSmallest::new(n, kk))))).collect();
        pw.for_upper_tiles("distances", ctl, |rows, cols, buf| {
            let (m, w) = (rows.len(), cols.len());
            let slot = rayon::current_thread_index().unwrap_or(0) % states.len();
            let mut state = states[slot].lock().unwrap_or_else(PoisonError::into_inner);
            let (t, near) = &mut *state;
            for (r, i) in rows.clone().enumerate() {
                let j0 = cols.start.max(i + 1);
                if j0 < cols.end {
                    let vals = &buf[r * w + (j0 - cols.start)..r * w + w];
                    // SAFETY: tiles cover disjoint pairs i < j, and each pair's two cells (i, j)
                    // and (j, i) are written only by its tile, inside n².
                    unsafe { out.write(i * n + j0, vals) };
                    if let Some(near) = near {
                        near.offer(i, vals);
                    }
                }
            }
            // The mirror (j, i), i < j: the transposed tile's rows, each one contiguous write.
            transpose_tile(buf, m, w, t);
            for (c, j) in cols.clone().enumerate() {
                let count = rows.end.min(j).saturating_sub(rows.start);
                if count > 0 {
                    let vals = &t[c * m..c * m + count];
                    // SAFETY: as above, the mirrored cells (j, i) for i < j of this tile.
                    unsafe { out.write(j * n + rows.start, vals) };
                    if let Some(near) = near {
                        near.offer(j, vals);
                    }
                }
            }
        })?;
        let square = Self { n, data };
        let nearest = if kth == 0 {
            vec![0.0; n]
        } else if kk == 0 {
            square.nearest_by_rows(kth)
        } else {
            let lists: Vec<KSmallest> =
                states.into_iter().filter_map(|m| m.into_inner().unwrap_or_else(PoisonError::into_inner).1).collect();
            (0..n)
                .into_par_iter()
                .map_init(Vec::new, |all: &mut Vec<f32>, i| {
                    all.clear();
                    for l in &lists {
                        all.extend_from_slice(l.held(i));
                    }
                    KSmallest::kth_of(all, kk)
                })
                .collect()
        };
        Ok((square, nearest))
    }

    /// Every point's distance to its `kth` (≥ 1) nearest other point, reading each row whole
    /// (0 for every point when `kth` is 0).
    pub fn nearest_by_rows(&self, kth: usize) -> Vec<f32> {
        if kth == 0 {
            return vec![0.0; self.n];
        }
        (0..self.n)
            .into_par_iter()
            .map(|i| {
                let mut near = KSmallest::new(1, kth);
                let row = self.row(i);
                near.offer(0, &row[..i]);
                near.offer(0, &row[i + 1..]);
                near.kth(0)
            })
            .collect()
    }

    /// Row `i`.
    #[must_use]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.n..(i + 1) * self.n]
    }
}

/// A zeroed buffer for a large matrix. On Linux its pages are backed by transparent huge pages
/// where the system allows it: far fewer page faults and TLB misses when it is filled and read
/// (the nearest-neighbour chain's column reads over the condensed matrix run 1.6× faster here).
fn big_zeroed(len: usize) -> Vec<f32> {
    let v = vec![0.0f32; len];
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = len * std::mem::size_of::<f32>();
        if bytes >= 4 * HUGE {
            let start = v.as_ptr() as usize;
            let aligned = start.next_multiple_of(HUGE);
            let end = (start + bytes) & !(HUGE - 1);
            if end > aligned {
                // SAFETY: the range lies inside the allocation of `v`; MADV_HUGEPAGE only changes how
                // its pages are backed, not their contents. Failure is harmless and ignored.
                unsafe {
                    libc::madvise(aligned as *mut libc::c_void, end - aligned, libc::MADV_HUGEPAGE);
                }
            }
        }
    }
    v
}

/// Position of pair `i < j` in the condensed matrix of `n` points.
#[must_use]
pub fn index(n: usize, i: usize, j: usize) -> usize {
    n * i - i * (i + 1) / 2 + (j - i - 1)
}

/// `t` (resized to `w × m`) becomes the transpose of the `m × w` tile `buf`, moved in 8 × 8
/// blocks so that reads and writes both stay within a few cache lines.
fn transpose_tile(buf: &[f32], m: usize, w: usize, t: &mut Vec<f32>) {
    t.resize(m * w, 0.0);
    for rb in (0..m).step_by(8) {
        let re = (rb + 8).min(m);
        for cb in (0..w).step_by(8) {
            let ce = (cb + 8).min(w);
            for r in rb..re {
                for c in cb..ce {
                    t[c * m + r] = buf[r * w + c];
                }
            }
        }
    }
}

/// The `k` nearest rows of `fitted` to every query, nearest first (ties: the lower index), by
/// blocked GEMM: `k` indices and distances per query, `u32::MAX` past the end when `fitted` has
/// fewer rows. Both matrices are in the metric's space (unit rows for cosine).
pub fn knn_among(fitted: &Matrix, queries: &Matrix, metric: Metric, k: usize, ctl: &Control) -> Result<(Vec<u32>, Vec<f32>), Cancelled> {
    let (nf, nq, d) = (fitted.n(), queries.n(), fitted.d());
    let fnorm: Vec<f32> = (0..nf).map(|i| fitted.row(i).iter().map(|v| v * v).sum()).collect();
    const QB: usize = 256;
    const FB: usize = 2048;
    let mut idx = vec![u32::MAX; nq * k];
    let mut dist = vec![f32::INFINITY; nq * k];
    idx.par_chunks_mut(QB * k).zip(dist.par_chunks_mut(QB * k)).enumerate().try_for_each(|(b, (bi, bd))| {
        let rows = b * QB..((b + 1) * QB).min(nq);
        let q = &queries.as_slice()[rows.start * d..rows.end * d];
        let qn: Vec<f32> = (0..rows.len()).map(|r| q[r * d..(r + 1) * d].iter().map(|v| v * v).sum()).collect();
        let mut best: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(k + 1); rows.len()];
        let mut tile = vec![0.0f32; QB * FB];
        for c0 in (0..nf).step_by(FB) {
            ctl.check()?;
            let cols = c0..(c0 + FB).min(nf);
            let w = cols.len();
            dot_nt(q, rows.len(), &fitted.as_slice()[cols.start * d..cols.end * d], w, d, &mut tile, w);
            for (r, list) in best.iter_mut().enumerate() {
                for (c, &dot) in tile[r * w..(r + 1) * w].iter().enumerate() {
                    let dv = match metric {
                        Metric::Cosine => (1.0 - dot).clamp(0.0, 2.0),
                        Metric::Euclidean => (qn[r] + fnorm[cols.start + c] - 2.0 * dot).max(0.0).sqrt(),
                    };
                    if list.len() < k || dv < list[k - 1].0 {
                        #[expect(
                            clippy::cast_possible_truncation,
                            reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)"
                        )]
                        let j = (cols.start + c) as u32;
                        let pos = list.partition_point(|&(x, jj)| (x, jj) <= (dv, j));
                        list.insert(pos, (dv, j));
                        list.truncate(k);
                    }
                }
            }
        }
        for (r, list) in best.iter().enumerate() {
            for (t, &(dv, j)) in list.iter().enumerate() {
                bi[r * k + t] = j;
                bd[r * k + t] = dv;
            }
        }
        Ok(())
    })?;
    Ok((idx, dist))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Matrix;
    use crate::engine::kernels::sq_dist_f64;
    use crate::engine::rng::Rng;

    fn random(n: usize, d: usize, seed: u64) -> Embeddings {
        let mut rng = Rng::new(seed);
        #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
        let data = (0..n * d).map(|_| (rng.next_f64() * 4.0 - 2.0) as f32).collect();
        Embeddings::new(Matrix::new(data, n, d).unwrap())
    }

    #[test]
    fn nearest_rows_match_a_scan_in_both_metrics() {
        let emb = random(300, 7, 5);
        let m = emb.raw();
        for metric in [Metric::Euclidean, Metric::Cosine] {
            let got = nearest_rows(&emb, metric, 17, 10);
            let q = emb.points(metric).row(17);
            let mut all: Vec<(f64, usize)> = (0..300)
                .filter(|&j| j != 17)
                .map(|j| {
                    let r = emb.points(metric).row(j);
                    let d = match metric {
                        Metric::Euclidean => sq_dist_f64(m.row(17), m.row(j)).sqrt(),
                        Metric::Cosine => 1.0 - crate::engine::kernels::dot_f64(q, r),
                    };
                    (d, j)
                })
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert_eq!(got.len(), 10);
            for (g, w) in got.iter().zip(&all) {
                assert_eq!(g.0, w.1, "{metric:?}");
                assert!((f64::from(g.1) - w.0).abs() < 1e-5);
            }
        }
        assert!(nearest_rows(&emb, Metric::Euclidean, 300, 5).is_empty());
        assert_eq!(nearest_rows(&emb, Metric::Euclidean, 0, 1000).len(), 299);
    }

    fn exact(emb: &Embeddings, metric: Metric, i: usize, j: usize) -> f64 {
        let p = emb.points(metric);
        match metric {
            Metric::Euclidean => sq_dist_f64(p.row(i), p.row(j)).sqrt(),
            Metric::Cosine => 1.0 - crate::engine::kernels::dot_f64(p.row(i), p.row(j)),
        }
    }

    #[test]
    fn knn_matches_brute_force_in_both_metrics() {
        let emb = random(1300, 9, 3);
        for metric in Metric::ALL {
            let g = KnnGraph::build(&emb, metric, 7, &Control::default()).unwrap();
            for i in [0, 1, 517, 1299] {
                let mut all: Vec<(f64, usize)> = (0..1300).filter(|&j| j != i).map(|j| (exact(&emb, metric, i, j), j)).collect();
                all.sort_by(|a, b| a.0.total_cmp(&b.0));
                let (idx, d) = g.neighbors(i);
                for t in 0..7 {
                    assert_eq!(idx[t] as usize, all[t].1, "{metric} row {i} rank {t}");
                    assert!((f64::from(d[t]) - all[t].0).abs() < 1e-4);
                }
            }
            let curve = g.k_distance(3).unwrap();
            assert!(curve.windows(2).all(|w| w[0] <= w[1]));
            assert_eq!(g.k_distance(9), None);
        }
    }

    #[test]
    fn sampled_k_distance_curve_follows_the_exact_one() {
        let emb = random(6000, 4, 9);
        let exact = KnnGraph::build(&emb, Metric::Euclidean, 4, &Control::default()).unwrap().k_distance(5).unwrap();
        let sampled = k_distance_curve(&emb, Metric::Euclidean, 5, 1, &Control::default()).unwrap();
        assert_eq!(sampled.len(), K_DISTANCE_EXACT_MAX);
        for q in [0.1, 0.5, 0.9] {
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "test data: small generated values and indices")]
            let (a, b) = (exact[(q * exact.len() as f64) as usize], sampled[(q * sampled.len() as f64) as usize]);
            assert!((a - b).abs() < 0.03 * a, "quantile {q}: {a} vs {b}");
        }
    }

    #[test]
    fn suggested_eps_makes_half_the_points_core() {
        let curve: Vec<f32> = (0..101).map(|i| i as f32).collect();
        assert_eq!(suggested_eps(&curve), Some(50.0));
        assert_eq!(suggested_eps(&[]), None);
    }

    #[test]
    fn square_mirrors_every_pair_and_finds_each_points_kth_nearest() {
        // 611 points: partial row and column blocks, and tiles across the diagonal.
        let n = 611;
        let emb = random(n, 6, 21);
        for metric in Metric::ALL {
            let c = Condensed::build(&emb, metric, &Control::default()).unwrap();
            for kth in [1, 4, 49, Square::NEAREST_IN_PASS, Square::NEAREST_IN_PASS + 3] {
                let (sq, near) = Square::build_with_nearest(&emb, metric, kth, &Control::default()).unwrap();
                for i in 0..n {
                    let row = sq.row(i);
                    assert_eq!(row[i], 0.0);
                    for j in (0..n).filter(|&j| j != i) {
                        assert_eq!(row[j], c.get(i, j), "{metric} ({i}, {j})");
                    }
                    let mut others: Vec<f32> = (0..n).filter(|&j| j != i).map(|j| row[j]).collect();
                    others.sort_by(f32::total_cmp);
                    assert_eq!(near[i], others[kth - 1], "{metric} kth {kth} point {i}");
                }
            }
            let (_, zero) = Square::build_with_nearest(&emb, metric, 0, &Control::default()).unwrap();
            assert!(zero.iter().all(|&v| v == 0.0));
        }
    }

    #[test]
    fn radius_graph_and_condensed_agree_with_brute_force() {
        let emb = random(700, 5, 8);
        for metric in Metric::ALL {
            let radius = if metric == Metric::Cosine { 0.2 } else { 1.2 };
            let g = RadiusGraph::build(&emb, metric, radius, usize::MAX, &Control::default()).unwrap();
            let c = Condensed::build(&emb, metric, &Control::default()).unwrap();
            let sq = Square::build(&emb, metric, &Control::default()).unwrap();
            let mut pairs = 0;
            for i in 0..700 {
                let (nb, ds) = g.within(i, radius);
                let want: Vec<usize> = (0..700).filter(|&j| j != i && exact(&emb, metric, i, j) <= f64::from(radius) - 1e-5).collect();
                for j in &want {
                    assert!(nb.contains(&u32::try_from(*j).unwrap()), "{metric} {i}-{j}");
                }
                assert!(ds.windows(2).all(|w| w[0] <= w[1]));
                pairs += nb.len();
                for j in (i + 1..700).step_by(37) {
                    assert!((f64::from(c.get(i, j)) - exact(&emb, metric, i, j)).abs() < 1e-4);
                    assert_eq!(sq.row(i)[j], c.get(i, j));
                    assert_eq!(sq.row(j)[i], c.get(i, j));
                }
            }
            assert_eq!(pairs, g.pairs());
            assert!((0..700).all(|i| sq.row(i)[i] == 0.0));
            let small = RadiusGraph::build(&emb, metric, radius, 10, &Control::default());
            assert!(matches!(small, Err(GraphError::TooDense { .. })), "{metric}");
        }
    }
}
