//! How far to trust a 2-D map: trustworthiness (as `sklearn.manifold.trustworthiness`) and kNN
//! recall (the share of each row's k nearest rows in the full space that are also among its k
//! nearest on the map), exact up to [`EXACT_MAX`] rows and on a seeded sample with a 95%
//! confidence interval above; and every row's own recall, for colouring the map by it.

use rayon::prelude::*;

use crate::engine::control::{Cancelled, Control};
use crate::engine::kernels::{ROW_BLOCK, dot_nt, fixed_ranges};
use crate::engine::rng::Rng;
use crate::engine::{Embeddings, Metric};

/// Rows up to which the figures are exact (every row's full distance row is ranked).
pub const EXACT_MAX: usize = 10_000;
/// Rows measured above [`EXACT_MAX`], up to [`SAMPLE_FULL_UNTIL`] rows.
pub const SAMPLE_ROWS: usize = 2_000;
/// Rows up to which [`SAMPLE_ROWS`] are measured; above, fewer (never under
/// [`SAMPLE_ROWS_MIN`]), so that the sample costs about as much as at this size. Each measured
/// row is ranked against every row: at 1M × 384, 2,000 rows took 85 s through `embedmap cluster`.
pub const SAMPLE_FULL_UNTIL: usize = 250_000;
/// Fewest rows measured.
pub const SAMPLE_ROWS_MIN: usize = 500;

/// Rows a sampled measurement of `n` rows measures.
#[must_use]
pub fn sample_rows(n: usize) -> usize {
    let budget = SAMPLE_ROWS * SAMPLE_FULL_UNTIL;
    (budget / n.max(1)).clamp(SAMPLE_ROWS_MIN, SAMPLE_ROWS).min(n)
}

/// The trust figures of a map.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Trust {
    /// Neighbourhood size.
    pub k: usize,
    /// Trustworthiness in [0, 1] (1: every map neighbour is a true neighbour).
    pub trustworthiness: f64,
    /// Mean kNN recall in [0, 1].
    pub knn_recall: f64,
    /// Rows measured (all of them when exact).
    pub rows_measured: usize,
    /// Half-widths of the 95% confidence intervals when sampled: (trustworthiness, recall).
    pub ci95: Option<(f64, f64)>,
}

impl Trust {
    /// "trust 0.912 · kNN kept 31%" (with ± when sampled).
    #[must_use]
    pub fn describe(&self) -> String {
        match self.ci95 {
            None => format!("trustworthiness {:.3} · kNN recall@{} {:.1}%", self.trustworthiness, self.k, self.knn_recall * 100.0),
            Some((ct, cr)) => format!(
                "trustworthiness {:.3} ± {:.3} · kNN recall@{} {:.1}% ± {:.1} (sample of {})",
                self.trustworthiness,
                ct,
                self.k,
                self.knn_recall * 100.0,
                cr * 100.0,
                self.rows_measured
            ),
        }
    }
}

/// The `k` nearest other rows of every point on the map, exactly (squared distances in f64,
/// ties to the lower index), through a uniform grid.
#[must_use]
pub fn map_knn(coords: &[[f32; 2]], k: usize) -> Vec<u32> {
    let n = coords.len();
    let k = k.min(n.saturating_sub(1));
    if k == 0 {
        return Vec::new();
    }
    let grid = Grid::new(coords);
    let mut out = vec![0u32; n * k];
    out.par_chunks_mut(k).enumerate().for_each(|(i, row)| grid.nearest(coords, i, k, row));
    out
}

struct Grid {
    lo: [f64; 2],
    cell: f64,
    side: [usize; 2],
    /// Row starts per cell, then the points of each cell.
    start: Vec<u32>,
    items: Vec<u32>,
}

impl Grid {
    fn new(coords: &[[f32; 2]]) -> Self {
        let n = coords.len();
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in coords {
            for a in 0..2 {
                let v = f64::from(p[a]);
                if v.is_finite() {
                    lo[a] = lo[a].min(v);
                    hi[a] = hi[a].max(v);
                }
            }
        }
        if !lo[0].is_finite() {
            lo = [0.0; 2];
            hi = [1.0; 2];
        }
        let span = [(hi[0] - lo[0]).max(1e-12), (hi[1] - lo[1]).max(1e-12)];
        // About two points per cell.
        let cell = ((span[0] * span[1]) / (n.max(1) as f64 / 2.0)).sqrt().max(span[0].max(span[1]) / 4096.0);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a non-negative figure (positive or clamped by construction) rounded down to a bounded count or index"
        )]
        let side = [((span[0] / cell) as usize + 1).min(4096), ((span[1] / cell) as usize + 1).min(4096)];
        let mut g = Self { lo, cell, side, start: vec![0; side[0] * side[1] + 1], items: vec![0; n] };
        let cells: Vec<usize> = coords.iter().map(|p| g.cell_of(p)).collect();
        for &c in &cells {
            g.start[c + 1] += 1;
        }
        for c in 0..side[0] * side[1] {
            g.start[c + 1] += g.start[c];
        }
        let mut fill = g.start.clone();
        for (i, &c) in cells.iter().enumerate() {
            #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
            {
                g.items[fill[c] as usize] = i as u32;
            }
            fill[c] += 1;
        }
        g
    }

    fn coord(&self, v: f32, a: usize) -> usize {
        let v = f64::from(v);
        if !v.is_finite() {
            return 0;
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a non-negative figure (positive or clamped by construction) rounded down to a bounded count or index"
        )]
        let c = ((v - self.lo[a]) / self.cell).max(0.0) as usize;
        c.min(self.side[a] - 1)
    }

    fn cell_of(&self, p: &[f32; 2]) -> usize {
        self.coord(p[1], 1) * self.side[0] + self.coord(p[0], 0)
    }

    /// The `k` nearest of `i`, by rings of cells until the next ring is farther than the k-th.
    fn nearest(&self, coords: &[[f32; 2]], i: usize, k: usize, out: &mut [u32]) {
        let p = coords[i];
        let (cx, cy) = (self.coord(p[0], 0), self.coord(p[1], 1));
        let mut best: Vec<(f64, u32)> = Vec::with_capacity(k + 1);
        let d2 = |j: usize| {
            let q = coords[j];
            let (dx, dy) = (f64::from(p[0]) - f64::from(q[0]), f64::from(p[1]) - f64::from(q[1]));
            let v = dx * dx + dy * dy;
            if v.is_nan() { f64::INFINITY } else { v }
        };
        let max_ring = self.side[0].max(self.side[1]);
        for ring in 0..=max_ring {
            if best.len() == k {
                // Every point in ring r is at least (r − 1) cells away.
                let reach = (ring as f64 - 1.0).max(0.0) * self.cell;
                if reach * reach > best[k - 1].0 {
                    break;
                }
            }
            let (x0, x1) = (cx.saturating_sub(ring), (cx + ring).min(self.side[0] - 1));
            let (y0, y1) = (cy.saturating_sub(ring), (cy + ring).min(self.side[1] - 1));
            for y in y0..=y1 {
                for x in x0..=x1 {
                    if x.abs_diff(cx) != ring && y.abs_diff(cy) != ring {
                        continue;
                    }
                    let c = y * self.side[0] + x;
                    for &j in &self.items[self.start[c] as usize..self.start[c + 1] as usize] {
                        if j as usize == i {
                            continue;
                        }
                        let dv = d2(j as usize);
                        if best.len() < k || (dv, j) < best[k - 1] {
                            let pos = best.partition_point(|&e| e < (dv, j));
                            best.insert(pos, (dv, j));
                            best.truncate(k);
                        }
                    }
                }
            }
        }
        for (o, &(_, j)) in out.iter_mut().zip(&best) {
            *o = j;
        }
    }
}

/// Trustworthiness and kNN recall of `coords` as a map of `emb` in `metric`, at `k`.
/// Exact up to [`EXACT_MAX`] rows, else on [`sample_rows`] seeded rows.
pub fn trust(
    emb: &Embeddings,
    metric: Metric,
    coords: &[[f32; 2]],
    k: usize,
    seed: u64,
    ctl: &Control,
) -> Result<Option<Trust>, Cancelled> {
    let n = coords.len();
    if n != emb.raw().n() || k == 0 || 2 * n < 3 * k + 2 {
        // sklearn requires k < n / 2.
        return Ok(None);
    }
    let rows: Vec<usize> = if n <= EXACT_MAX {
        (0..n).collect()
    } else {
        let mut r = Rng::derive(seed, 0x7a57).sample_indices(n, sample_rows(n));
        r.sort_unstable();
        r
    };
    let map_nn = map_knn(coords, k);
    let pts = emb.points(metric);
    let d = pts.d();
    // Euclidean distances come from mean-centred rows (small cancellation), centred a block at
    // a time here rather than in a copy of the data; f32 tiles are exact to a few ulps of the
    // squared norms involved, so pairs closer than that to a map neighbour's distance are
    // decided by an exact f64 distance.
    let (mean, norm_sq, max_norm_sq) = match metric {
        Metric::Cosine => (Vec::new(), Vec::new(), 1.0),
        Metric::Euclidean => {
            let mut mean = vec![0.0f64; d];
            for i in 0..n {
                mean.iter_mut().zip(pts.row(i)).for_each(|(m, &v)| *m += f64::from(v));
            }
            mean.iter_mut().for_each(|m| *m /= n as f64);
            let ns: Vec<f64> =
                (0..n).into_par_iter().map(|i| pts.row(i).iter().zip(&mean).map(|(&v, m)| (f64::from(v) - m).powi(2)).sum()).collect();
            let mx = ns.iter().copied().fold(0.0f64, f64::max);
            #[expect(
                clippy::cast_possible_truncation,
                reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
            )]
            (mean.iter().map(|&m| m as f32).collect::<Vec<f32>>(), ns, mx)
        }
    };
    let exact = |i: usize, j: usize| -> f64 {
        match metric {
            Metric::Euclidean => crate::engine::kernels::sq_dist_f64(pts.row(i), pts.row(j)),
            Metric::Cosine => 1.0 - crate::engine::kernels::dot_f64(pts.row(i), pts.row(j)),
        }
    };
    let tolerance = |i: usize| -> f32 {
        #[expect(clippy::cast_possible_truncation, reason = "tolerances are small constants")]
        match metric {
            Metric::Cosine => 4e-6,
            Metric::Euclidean => (4e-6 * (norm_sq[i] + max_norm_sq)) as f32,
        }
    };
    let tiles = Tiles { data: pts.as_slice(), d, mean: &mean };
    // The measured rows, prepared once: their map neighbours by distance, and their vectors.
    let targets: Vec<Targets> = rows.par_iter().map(|&i| Targets::new(i, &map_nn[i * k..(i + 1) * k], tolerance(i), &exact)).collect();
    let (gathered, gathered_norms) = tiles.gather(&rows);
    // Every column range is met by every measured row, so the data streams through once; each
    // range keeps its own counts, summed after (integers: the order does not matter).
    let threads = rayon::current_num_threads().max(1);
    let ranges = fixed_ranges(n, (4 * threads).min(n.div_ceil(COLS)).max(1));
    let done = std::sync::atomic::AtomicUsize::new(0);
    let partial: Result<Vec<Vec<Counts>>, Cancelled> = ranges
        .par_iter()
        .map(|range| {
            let mut counts: Vec<Counts> = targets.iter().map(Counts::new).collect();
            let mut block = Vec::new();
            let mut block_norms = Vec::new();
            let mut tile = vec![0.0f32; ROW_BLOCK * COLS];
            let mut c0 = range.start;
            while c0 < range.end {
                ctl.check()?;
                let cols = c0..(c0 + COLS).min(range.end);
                let w = cols.len();
                tiles.columns(cols.clone(), &mut block, &mut block_norms);
                for r0 in (0..rows.len()).step_by(ROW_BLOCK) {
                    let m = ROW_BLOCK.min(rows.len() - r0);
                    let out = &mut tile[..m * w];
                    dot_nt(&gathered[r0 * d..(r0 + m) * d], m, &block, w, d, out, w);
                    for (r, line) in out.chunks_exact_mut(w).enumerate() {
                        let i = rows[r0 + r];
                        match metric {
                            Metric::Cosine => line.iter_mut().for_each(|v| *v = (1.0 - *v).clamp(0.0, 2.0)),
                            Metric::Euclidean => {
                                let ni = gathered_norms[r0 + r];
                                line.iter_mut().zip(&block_norms).for_each(|(v, &nj)| *v = (ni + nj - 2.0 * *v).max(0.0));
                            }
                        }
                        counts[r0 + r].add(&targets[r0 + r], line, cols.start, i);
                    }
                }
                c0 = cols.end;
                let t = done.fetch_add(w, std::sync::atomic::Ordering::Relaxed) + w;
                ctl.progress("map trust", t as f32 / n as f32);
            }
            Ok(counts)
        })
        .collect();
    let mut partial = partial?.into_iter();
    let mut counts = partial.next().unwrap_or_default();
    for more in partial {
        counts.iter_mut().zip(more).for_each(|(c, m)| c.merge(m));
    }
    // Per measured row: Σ max(0, rank − k) over its map neighbours, and its recall.
    let per_row: Vec<(f64, f64)> = targets.par_iter().zip(counts.par_iter()).map(|(t, c)| t.terms(c, k, &exact)).collect();
    let (nf, kf, m) = (n as f64, k as f64, per_row.len() as f64);
    let scale = 2.0 / (nf * kf * (2.0 * nf - 3.0 * kf - 1.0));
    // Fixed-order sums (the rows are in order): deterministic.
    let pen: Vec<f64> = per_row.iter().map(|p| p.0).collect();
    let rec: Vec<f64> = per_row.iter().map(|p| p.1).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / m;
    let (mp, mr) = (mean(&pen), mean(&rec));
    let trustworthiness = 1.0 - scale * mp * nf;
    let ci95 = if rows.len() < n {
        let sd = |v: &[f64], mu: f64| (v.iter().map(|x| (x - mu) * (x - mu)).sum::<f64>() / (m - 1.0).max(1.0)).sqrt();
        // Finite-population correction: the sample is drawn without replacement.
        let fpc = ((nf - m) / (nf - 1.0)).max(0.0).sqrt();
        let se = |s: f64| 1.96 * s / m.sqrt() * fpc;
        Some((se(sd(&pen, mp)) * scale * nf, se(sd(&rec, mr))))
    } else {
        None
    };
    Ok(Some(Trust { k, trustworthiness, knn_recall: mr, rows_measured: rows.len(), ci95 }))
}

/// Columns per distance tile in [`trust`].
const COLS: usize = 256;

/// The data as distance tiles: unit rows for cosine, rows centred on `mean` for euclidean.
struct Tiles<'a> {
    data: &'a [f32],
    d: usize,
    /// Empty for cosine.
    mean: &'a [f32],
}

impl Tiles<'_> {
    /// Row `i` as the tiles see it, into `out`; its squared norm.
    fn row_into(&self, i: usize, out: &mut Vec<f32>) -> f32 {
        let row = &self.data[i * self.d..(i + 1) * self.d];
        if self.mean.is_empty() {
            out.extend_from_slice(row);
            0.0
        } else {
            let start = out.len();
            out.extend(row.iter().zip(self.mean).map(|(v, m)| v - m));
            #[expect(
                clippy::cast_possible_truncation,
                reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
            )]
            let norm = crate::engine::kernels::sum_sq(&out[start..]) as f32;
            norm
        }
    }

    /// The rows `rows`, one after the other, with their squared norms.
    fn gather(&self, rows: &[usize]) -> (Vec<f32>, Vec<f32>) {
        let mut out = Vec::with_capacity(rows.len() * self.d);
        let norms = rows.iter().map(|&i| self.row_into(i, &mut out)).collect();
        (out, norms)
    }

    /// The rows `cols` (the columns of a tile) into `out`, with their squared norms.
    fn columns(&self, cols: std::ops::Range<usize>, out: &mut Vec<f32>, norms: &mut Vec<f32>) {
        out.clear();
        norms.clear();
        if self.mean.is_empty() {
            out.extend_from_slice(&self.data[cols.start * self.d..cols.end * self.d]);
        } else {
            for i in cols {
                let norm = self.row_into(i, out);
                norms.push(norm);
            }
        }
    }
}

/// A measured row's map neighbours, nearest first in the full space, with the bounds within
/// which another row's tile distance does not settle whether it is nearer.
struct Targets {
    /// The measured row.
    row: usize,
    /// (exact distance, index) of each map neighbour, ascending (ties by index).
    by_distance: Vec<(f64, usize)>,
    lower: Vec<f32>,
    upper: Vec<f32>,
}

impl Targets {
    fn new(i: usize, map_nn: &[u32], tol: f32, exact: &dyn Fn(usize, usize) -> f64) -> Self {
        let mut by_distance: Vec<(f64, usize)> = map_nn.iter().map(|&j| (exact(i, j as usize), j as usize)).collect();
        by_distance.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
        )]
        let lower = by_distance.iter().map(|t| t.0 as f32 - tol).collect();
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
        )]
        let upper = by_distance.iter().map(|t| t.0 as f32 + tol).collect();
        Self { row: i, by_distance, lower, upper }
    }

    /// The row's trustworthiness penalty Σ max(0, rank(j) − k) over its map neighbours j (rank
    /// among the row's full-space distances, 1 = nearest) and its recall (share of map
    /// neighbours among the k nearest in full space), from its counts. Rows whose tile distance
    /// was within the bounds of a neighbour's are compared by `exact` (f64); exact ties rank by
    /// index, as a stable sort would.
    fn terms(&self, counts: &Counts, k: usize, exact: &dyn Fn(usize, usize) -> f64) -> (f64, f64) {
        let i = self.row;
        let mut rank = vec![1usize; self.by_distance.len()];
        let mut acc = 0usize;
        for (t, r) in rank.iter_mut().enumerate() {
            acc += counts.below[t];
            *r += acc;
        }
        let mut pen = 0.0;
        let mut kept = 0usize;
        for (t, &(dj, j)) in self.by_distance.iter().enumerate() {
            for &c in &counts.close[t] {
                if c == j {
                    continue;
                }
                let dc = exact(i, c);
                if dc < dj || (dc == dj && c < j) {
                    rank[t] += 1;
                }
            }
            if rank[t] > k {
                {
                    pen += (rank[t] - k) as f64;
                }
            } else {
                kept += 1;
            }
        }
        (pen, kept as f64 / k as f64)
    }
}

/// What a measured row's distances to a range of rows say about its map neighbours' ranks.
struct Counts {
    /// `below[p]`: rows surely nearer than the map neighbours p.. (and not than p − 1).
    below: Vec<usize>,
    /// Per map neighbour: the rows whose tile distance lies within its bounds.
    close: Vec<Vec<usize>>,
}

impl Counts {
    fn new(t: &Targets) -> Self {
        Self { below: vec![0; t.lower.len() + 1], close: vec![Vec::new(); t.lower.len()] }
    }

    /// Counts the rows `first..first + line.len()` at tile distances `line` from the measured row.
    #[expect(clippy::neg_cmp_op_on_partial_ord, reason = "written so that a NaN distance is skipped too")]
    fn add(&mut self, t: &Targets, line: &[f32], first: usize, i: usize) {
        let last = t.upper.last().copied().unwrap_or(f32::NEG_INFINITY);
        for (c, &v) in (first..).zip(line) {
            if !(v <= last) || c == i {
                continue;
            }
            // Neighbours pos.. are surely farther than this row.
            let pos = t.lower.partition_point(|&l| l <= v);
            self.below[pos] += 1;
            let mut p = pos;
            while p > 0 && t.upper[p - 1] >= v {
                p -= 1;
                self.close[p].push(c);
            }
        }
    }

    fn merge(&mut self, other: Self) {
        self.below.iter_mut().zip(&other.below).for_each(|(a, b)| *a += b);
        self.close.iter_mut().zip(other.close).for_each(|(a, b)| a.extend(b));
    }
}

/// Every row's kNN recall at `k` from its exact full-space neighbours (`full_nn`, `n × kf`
/// indices nearest first with `kf ≥ k`) and its map neighbours: for colouring the map.
#[must_use]
pub fn per_row_recall(full_nn: &[u32], kf: usize, coords: &[[f32; 2]], k: usize) -> Vec<f32> {
    let n = coords.len();
    let k = k.min(kf);
    if k == 0 || full_nn.len() < n * kf {
        return vec![0.0; n];
    }
    let map_nn = map_knn(coords, k);
    let parts = fixed_ranges(n, n.div_ceil(4096));
    parts
        .into_par_iter()
        .flat_map_iter(|r| {
            let map_nn = &map_nn;
            r.map(move |i| {
                let truth = &full_nn[i * kf..i * kf + k];
                let kept = map_nn[i * k..(i + 1) * k].iter().filter(|j| truth.contains(j)).count();
                kept as f32 / k as f32
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_inputs_measure_fewer_rows_at_a_bounded_cost() {
        assert_eq!(sample_rows(20_000), SAMPLE_ROWS);
        assert_eq!(sample_rows(SAMPLE_FULL_UNTIL), SAMPLE_ROWS);
        assert_eq!(sample_rows(1_000_000), 500);
        assert_eq!(sample_rows(500_000), 1000);
        assert_eq!(sample_rows(100_000_000), SAMPLE_ROWS_MIN);
        // The cost stays bounded down to the fewest rows (at 1M).
        assert!((EXACT_MAX + 1..=1_000_000).step_by(10_007).all(|n| sample_rows(n) * n <= SAMPLE_ROWS * SAMPLE_FULL_UNTIL + n));
    }

    #[test]
    fn map_knn_matches_brute_force() {
        let mut rng = Rng::new(4);
        #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
        let coords: Vec<[f32; 2]> =
            (0..700).map(|_| [(rng.next_f64() * 3.0) as f32, (rng.next_f64() * rng.next_f64() * 50.0) as f32]).collect();
        let k = 9;
        let got = map_knn(&coords, k);
        for i in 0..coords.len() {
            let mut all: Vec<(f64, u32)> = (0..coords.len())
                .filter(|&j| j != i)
                .map(|j| {
                    let dx = f64::from(coords[i][0]) - f64::from(coords[j][0]);
                    let dy = f64::from(coords[i][1]) - f64::from(coords[j][1]);
                    (dx * dx + dy * dy, u32::try_from(j).unwrap())
                })
                .collect();
            all.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let want: Vec<u32> = all[..k].iter().map(|e| e.1).collect();
            assert_eq!(&got[i * k..(i + 1) * k], &want[..], "row {i}");
        }
    }
}
