//! An approximate k-nearest-neighbour graph for inputs where the exact one (n² distances)
//! costs too much: an inverted file over a K-means partition, searched by GEMM.
//!
//! The rows are split into about 2√n lists by K-means on a seeded sample. The rows of one list
//! are searched together against the rows of the `probes` lists whose centres are nearest to
//! that list's centre, as tiles of dot products, so the work runs through the same kernels as
//! the exact graph. The number of probes is chosen by measuring recall on a seeded sample of
//! rows against exact search, doubling until the goal is met; the recall reached is reported.

use rayon::prelude::*;

use crate::engine::control::{Cancelled, Control};
use crate::engine::kernels::dot_nt;
use crate::engine::kmeans::{KMeansParams, kmeans};
use crate::engine::neighbors::{KnnGraph, insert_sorted};
use crate::engine::rng::Rng;
use crate::engine::{Embeddings, Metric};

/// Rows up to which callers should build the exact graph instead (measured: the exact graph of
/// 9,506 × 384 takes about 0.5 s and grows as n²).
pub const EXACT_MAX: usize = 15_000;
/// Rows whose neighbours are checked against exact search.
pub const RECALL_SAMPLE: usize = 1_000;
/// The recall the number of probes is chosen for.
pub const RECALL_GOAL: f64 = 0.97;
/// The recall the placement search ([`ivf_cross_knn`]) is chosen for: its neighbours only start
/// each placed row and weigh its few epochs, so a rarer miss costs little, and on real text at
/// 1M rows 0.97 took twice the lists (128 of 632, 156 s of searching) that 0.95 did.
pub const PLACE_RECALL_GOAL: f64 = 0.95;

/// How an approximate graph was built and how good it is.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AnnReport {
    /// Lists of the partition.
    pub lists: usize,
    /// Lists searched per list.
    pub probes: usize,
    /// Share of the exact k nearest found, on the sample.
    pub recall: f64,
    /// Rows in the recall sample.
    pub sample: usize,
}

/// The partition: rows in list order and where each list starts.
struct Partition {
    /// Points in the metric's space, permuted into list order (centred for euclidean).
    pts: Vec<f32>,
    /// Their squared norms (euclidean).
    norms: Vec<f32>,
    /// Original row of each permuted position.
    order: Vec<u32>,
    /// List `l` is `start[l]..start[l + 1]` of the permuted rows.
    start: Vec<usize>,
    /// List `l`'s searchable rows are `start[l]..fit_end[l]` (all of it, or its fitted rows
    /// when only those are searched; they come first in the list).
    fit_end: Vec<usize>,
    /// Each list's probe order: lists by distance of their centres to this list's centre.
    near: Vec<Vec<u32>>,
    /// Permuted position of each original row.
    pos: Vec<u32>,
    d: usize,
    metric: Metric,
}

impl Partition {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a positive square root of a row count, clamped to 8..=4096"
    )]
    fn build(emb: &Embeddings, metric: Metric, fitted: Option<&[bool]>, seed: u64, ctl: &Control) -> Result<Self, Cancelled> {
        let src = emb.points(metric);
        let (n, d) = (src.n(), src.d());
        // About 2√m lists for the m rows searched (all, or the fitted ones).
        let m = fitted.map_or(n, |f| f.iter().filter(|&&x| x).count()).max(1);
        let lists = ((2.0 * (m as f64).sqrt()) as usize).clamp(8, 4096).min(n);
        let sample_rows = (32 * lists).min(n);
        let mut rng = Rng::derive(seed, 0xa77);
        let mut idx = rng.sample_indices(n, sample_rows);
        idx.sort_unstable();
        let sample = Embeddings::new(src.select_rows(&idx));
        ctl.progress("neighbours · partition", 0.0);
        let params = KMeansParams { k: lists, metric, n_init: 1, max_iter: 10, tol: 1e-3, seed };
        let centres = match params.check(sample_rows) {
            Ok(cfg) => kmeans(&sample, &cfg.clone(), &ctl.without_steps())?.centroids,
            Err(_) => idx.iter().flat_map(|&i| src.row(i).to_vec()).collect(),
        };
        let lists = centres.len() / d.max(1);
        // Centre the rows for euclidean distances through dot products.
        let mean: Vec<f32> = match metric {
            Metric::Cosine => vec![0.0; d],
            Metric::Euclidean => {
                let mut m = vec![0.0f64; d];
                for i in 0..n {
                    m.iter_mut().zip(src.row(i)).for_each(|(a, &v)| *a += f64::from(v));
                }
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
                )]
                m.iter().map(|s| (s / n as f64) as f32).collect()
            }
        };
        let centred = |row: &[f32]| -> Vec<f32> { row.iter().zip(&mean).map(|(v, m)| v - m).collect() };
        let c: Vec<f32> = centres.chunks_exact(d).flat_map(centred).collect();
        let cn: Vec<f32> = c.chunks_exact(d).map(|r| r.iter().map(|v| v * v).sum()).collect();
        // Every row's list: the nearest centre.
        const B: usize = 512;
        let home: Vec<u32> = (0..n.div_ceil(B))
            .into_par_iter()
            .map(|b| {
                ctl.check()?;
                let rows = b * B..((b + 1) * B).min(n);
                let block: Vec<f32> = rows.clone().flat_map(|i| centred(src.row(i))).collect();
                let mut out = vec![0.0f32; rows.len() * lists];
                dot_nt(&block, rows.len(), &c, lists, d, &mut out, lists);
                Ok(out
                    .chunks_exact(lists)
                    .map(|r| {
                        let score = |j: usize| match metric {
                            Metric::Cosine => -r[j],
                            Metric::Euclidean => cn[j] - 2.0 * r[j],
                        };
                        #[expect(
                            clippy::cast_possible_truncation,
                            reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)"
                        )]
                        let best = (0..lists).min_by(|&a, &b| score(a).total_cmp(&score(b))).unwrap_or(0) as u32;
                        best
                    })
                    .collect::<Vec<u32>>())
            })
            .collect::<Result<Vec<_>, Cancelled>>()?
            .concat();
        let mut start = vec![0usize; lists + 1];
        for &h in &home {
            start[h as usize + 1] += 1;
        }
        for l in 0..lists {
            start[l + 1] += start[l];
        }
        // Within a list, the searchable (fitted) rows first.
        let searchable = |i: usize| fitted.is_none_or(|f| f[i]);
        let mut fit_end = start[..lists].to_vec();
        for (i, &h) in home.iter().enumerate() {
            if searchable(i) {
                fit_end[h as usize] += 1;
            }
        }
        let mut fill = start.clone();
        let mut fill_rest = fit_end.clone();
        let mut order = vec![0u32; n];
        let mut pos = vec![0u32; n];
        for (i, &h) in home.iter().enumerate() {
            let slot = if searchable(i) { &mut fill[h as usize] } else { &mut fill_rest[h as usize] };
            let p = *slot;
            *slot += 1;
            #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
            {
                order[p] = i as u32;
                pos[i] = p as u32;
            }
        }
        let mut pts = vec![0.0f32; n * d];
        pts.par_chunks_mut(d.max(1)).zip(order.par_iter()).for_each(|(dst, &i)| {
            for ((o, &v), m) in dst.iter_mut().zip(src.row(i as usize)).zip(&mean) {
                *o = v - m;
            }
        });
        let norms = if metric == Metric::Euclidean {
            pts.par_chunks(d.max(1)).map(|r| r.iter().map(|v| v * v).sum()).collect()
        } else {
            Vec::new()
        };
        // Probe order of each list: the other centres by distance to its own.
        let mut cc = vec![0.0f32; lists * lists];
        dot_nt(&c, lists, &c, lists, d, &mut cc, lists);
        let near = (0..lists)
            .into_par_iter()
            .map(|l| {
                let row = &cc[l * lists..(l + 1) * lists];
                let score = |j: usize| match metric {
                    Metric::Cosine => -row[j],
                    Metric::Euclidean => cn[j] - 2.0 * row[j],
                };
                let mut o: Vec<u32> = (0..lists).filter_map(|j| u32::try_from(j).ok()).collect();
                o.sort_by(|&a, &b| score(a as usize).total_cmp(&score(b as usize)).then(a.cmp(&b)));
                // Its own list first, whatever the ties.
                if let Some(p) = o.iter().position(|&j| j as usize == l) {
                    o.remove(p);
                }
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)"
                )]
                o.insert(0, l as u32);
                o
            })
            .collect();
        Ok(Self { pts, norms, order, start, fit_end, near, pos, d, metric })
    }

    fn lists(&self) -> usize {
        self.start.len() - 1
    }

    /// The full pass: the rows `queries_of(l)` of every list `l` (permuted positions) against
    /// its first `probes` lists, in parallel over lists; `total` queries in all, for progress.
    fn search_all(
        &self,
        probes: usize,
        k: usize,
        ctl: &Control,
        stage: &str,
        total: usize,
        queries_of: impl Fn(usize) -> std::ops::Range<usize> + Sync,
    ) -> Result<Vec<(Vec<f32>, Vec<u32>)>, Cancelled> {
        let done = std::sync::atomic::AtomicUsize::new(0);
        (0..self.lists())
            .into_par_iter()
            .map(|l| {
                ctl.check()?;
                let qs: Vec<usize> = queries_of(l).collect();
                let (mut dd, mut ii) = (vec![0.0f32; qs.len() * k], vec![0u32; qs.len() * k]);
                if !qs.is_empty() {
                    self.search(l, &qs, probes, k, &mut dd, &mut ii);
                }
                let t = done.fetch_add(qs.len(), std::sync::atomic::Ordering::Relaxed) + qs.len();
                ctl.progress(stage, t as f32 / total.max(1) as f32);
                Ok((dd, ii))
            })
            .collect()
    }

    fn dist(&self, qi: usize, pj: usize, dot: f32) -> f32 {
        match self.metric {
            Metric::Cosine => (1.0 - dot).clamp(0.0, 2.0),
            Metric::Euclidean => (self.norms[qi] + self.norms[pj] - 2.0 * dot).max(0.0).sqrt(),
        }
    }

    /// The `k` nearest (permuted positions) of the permuted rows `queries` (all in list `l`)
    /// among the rows of `l`'s first `probes` lists.
    fn search(&self, l: usize, queries: &[usize], probes: usize, k: usize, out_d: &mut [f32], out_i: &mut [u32]) {
        let d = self.d;
        out_d.fill(f32::INFINITY);
        out_i.fill(u32::MAX);
        let q: Vec<f32> = queries.iter().flat_map(|&p| self.pts[p * d..(p + 1) * d].iter().copied()).collect();
        let mut tile = Vec::new();
        for &j in self.near[l].iter().take(probes) {
            let cols = self.start[j as usize]..self.fit_end[j as usize];
            if cols.is_empty() {
                continue;
            }
            let w = cols.len();
            tile.resize(queries.len() * w, 0.0);
            dot_nt(&q, queries.len(), &self.pts[cols.start * d..cols.end * d], w, d, &mut tile, w);
            for (r, &qp) in queries.iter().enumerate() {
                let (bd, bi) = (&mut out_d[r * k..(r + 1) * k], &mut out_i[r * k..(r + 1) * k]);
                for (c, &dot) in tile[r * w..(r + 1) * w].iter().enumerate() {
                    let pj = cols.start + c;
                    if pj == qp {
                        continue;
                    }
                    let dv = self.dist(qp, pj, dot);
                    if dv < bd[k - 1] {
                        insert_sorted(bd, bi, dv, pj);
                    }
                }
            }
        }
    }
}

/// The approximate k-nearest-neighbour graph of `emb` in `metric` (same form as the exact one:
/// nearest first, the row itself left out), with its measured recall.
pub fn ivf_knn(emb: &Embeddings, metric: Metric, k: usize, seed: u64, ctl: &Control) -> Result<(KnnGraph, AnnReport), Cancelled> {
    let n = emb.raw().n();
    let k = k.min(n.saturating_sub(1));
    if k == 0 || n <= 2 * k + 2 {
        let g = KnnGraph::build(emb, metric, k, ctl)?;
        return Ok((g, AnnReport { lists: 1, probes: 1, recall: 1.0, sample: 0 }));
    }
    let part = Partition::build(emb, metric, None, seed, ctl)?;
    let lists = part.lists();
    // The recall sample and its exact neighbours.
    let mut rng = Rng::derive(seed, 0x5a3);
    let mut sample = rng.sample_indices(n, RECALL_SAMPLE.min(n));
    sample.sort_unstable();
    ctl.progress("neighbours · recall sample", 0.0);
    let exact = exact_for(&part, &sample, k, ctl)?;
    let sampled_recall = |probes: usize| -> f64 {
        // Group the sample by list, search as the full pass will.
        let mut by_list: Vec<Vec<usize>> = vec![Vec::new(); lists];
        for (s, &i) in sample.iter().enumerate() {
            let p = part.pos[i] as usize;
            let l = part.start.partition_point(|&st| st <= p) - 1;
            by_list[l].push(s);
        }
        let found: usize = by_list
            .par_iter()
            .enumerate()
            .map(|(l, members)| {
                if members.is_empty() {
                    return 0;
                }
                let qs: Vec<usize> = members.iter().map(|&s| part.pos[sample[s]] as usize).collect();
                let (mut dd, mut ii) = (vec![0.0f32; qs.len() * k], vec![0u32; qs.len() * k]);
                part.search(l, &qs, probes, k, &mut dd, &mut ii);
                members
                    .iter()
                    .enumerate()
                    .map(|(r, &s)| ii[r * k..(r + 1) * k].iter().filter(|p| exact[s * k..(s + 1) * k].contains(p)).count())
                    .sum()
            })
            .sum();
        found as f64 / (sample.len() * k) as f64
    };
    let (probes, recall) = choose_probes(lists, RECALL_GOAL, ctl, sampled_recall)?;
    // The full pass: every list against its probes, in parallel over lists.
    let per_list = part.search_all(probes, k, ctl, "neighbours (approximate)", n, |l| part.start[l]..part.start[l + 1])?;
    let mut indices = vec![u32::MAX; n * k];
    let mut distances = vec![f32::INFINITY; n * k];
    for (l, (dd, ii)) in per_list.into_iter().enumerate() {
        for (r, p) in (part.start[l]..part.start[l + 1]).enumerate() {
            let i = part.order[p] as usize;
            distances[i * k..(i + 1) * k].copy_from_slice(&dd[r * k..(r + 1) * k]);
            for (o, &pj) in indices[i * k..(i + 1) * k].iter_mut().zip(&ii[r * k..(r + 1) * k]) {
                *o = if pj == u32::MAX { u32::MAX } else { part.order[pj as usize] };
            }
        }
    }
    // A row whose probes held fewer than k others: fill from its own exact search, so that
    // every row has k real neighbours.
    for i in 0..n {
        if indices[i * k + k - 1] == u32::MAX {
            let row = crate::engine::neighbors::nearest_rows(emb, metric, i, k);
            for (t, (j, dv)) in row.into_iter().enumerate() {
                #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
                {
                    indices[i * k + t] = j as u32;
                }
                distances[i * k + t] = dv;
            }
        }
    }
    Ok((KnnGraph { metric, k, indices, distances }, AnnReport { lists, probes, recall, sample: sample.len() }))
}

/// Every row not in `fitted` with its `k` nearest rows among those in `fitted` (original row
/// numbers, nearest first, `u32::MAX` past the end when fewer were found), rows in ascending
/// order; with the recall measured on a seeded sample of them against exact search. The
/// partition is of all rows, each list holding its fitted rows first, so a list's other rows
/// are searched against the fitted rows of its probes only.
pub fn ivf_cross_knn(
    emb: &Embeddings,
    metric: Metric,
    fitted: &[bool],
    k: usize,
    seed: u64,
    ctl: &Control,
) -> Result<(Vec<u32>, Vec<f32>, AnnReport), Cancelled> {
    let part = Partition::build(emb, metric, Some(fitted), seed, ctl)?;
    let lists = part.lists();
    let queries_of = |l: usize| part.fit_end[l]..part.start[l + 1];
    let list_of = |p: usize| part.start.partition_point(|&st| st <= p) - 1;
    let rest: Vec<usize> = (0..fitted.len()).filter(|&i| !fitted[i]).collect();
    let mut rng = Rng::derive(seed, 0x5a4);
    let mut sample: Vec<usize> = rng.sample_indices(rest.len(), RECALL_SAMPLE.min(rest.len())).into_iter().map(|s| rest[s]).collect();
    sample.sort_unstable();
    let search_sample = |probes: usize| -> Vec<Vec<u32>> {
        let mut by_list: Vec<Vec<usize>> = vec![Vec::new(); lists];
        for (s, &i) in sample.iter().enumerate() {
            by_list[list_of(part.pos[i] as usize)].push(s);
        }
        let mut out = vec![Vec::new(); sample.len()];
        let found: Vec<(usize, Vec<u32>)> = by_list
            .par_iter()
            .enumerate()
            .flat_map_iter(|(l, members)| {
                let qs: Vec<usize> = members.iter().map(|&s| part.pos[sample[s]] as usize).collect();
                let (mut dd, mut ii) = (vec![0.0f32; qs.len() * k], vec![0u32; qs.len() * k]);
                if !qs.is_empty() {
                    part.search(l, &qs, probes, k, &mut dd, &mut ii);
                }
                members.iter().enumerate().map(|(r, &s)| (s, ii[r * k..(r + 1) * k].to_vec())).collect::<Vec<_>>()
            })
            .collect();
        for (s, v) in found {
            out[s] = v;
        }
        out
    };
    ctl.progress("placing · recall sample", 0.0);
    let exact = search_sample(lists);
    ctl.check()?;
    let recall_at = |probes: usize| -> f64 {
        let got = search_sample(probes);
        let hit: usize = got.iter().zip(&exact).map(|(g, e)| g.iter().filter(|p| **p != u32::MAX && e.contains(p)).count()).sum();
        let want: usize = exact.iter().map(|e| e.iter().filter(|p| **p != u32::MAX).count()).sum();
        if want == 0 { 1.0 } else { hit as f64 / want as f64 }
    };
    let (probes, recall) = choose_probes(lists, PLACE_RECALL_GOAL, ctl, recall_at)?;
    let per_list = part.search_all(probes, k, ctl, "placing · neighbours", rest.len(), queries_of)?;
    // Back to original rows, ascending.
    let mut slot = vec![0usize; fitted.len()];
    for (r, &i) in rest.iter().enumerate() {
        slot[i] = r;
    }
    let mut indices = vec![u32::MAX; rest.len() * k];
    let mut distances = vec![f32::INFINITY; rest.len() * k];
    for (l, (dd, ii)) in per_list.into_iter().enumerate() {
        for (r, p) in queries_of(l).enumerate() {
            let q = slot[part.order[p] as usize];
            distances[q * k..(q + 1) * k].copy_from_slice(&dd[r * k..(r + 1) * k]);
            for (o, &pj) in indices[q * k..(q + 1) * k].iter_mut().zip(&ii[r * k..(r + 1) * k]) {
                *o = if pj == u32::MAX { u32::MAX } else { part.order[pj as usize] };
            }
        }
    }
    Ok((indices, distances, AnnReport { lists, probes, recall, sample: sample.len() }))
}

/// Lists to probe: doubled from 8 until `recall_at` reaches `goal` or every list is probed;
/// with the recall reached.
fn choose_probes(lists: usize, goal: f64, ctl: &Control, recall_at: impl Fn(usize) -> f64) -> Result<(usize, f64), Cancelled> {
    let mut probes = 8.min(lists);
    let mut recall = recall_at(probes);
    while recall < goal && probes < lists {
        ctl.check()?;
        probes = (probes * 2).min(lists);
        recall = recall_at(probes);
    }
    Ok((probes, recall))
}

/// Exact k nearest (permuted positions) of the sample rows, by tiles against every row.
fn exact_for(part: &Partition, sample: &[usize], k: usize, ctl: &Control) -> Result<Vec<u32>, Cancelled> {
    let d = part.d;
    let n = part.order.len();
    const QB: usize = 64;
    const CB: usize = 4096;
    let blocks: Vec<Vec<u32>> = sample
        .par_chunks(QB)
        .map(|chunk| {
            let qp: Vec<usize> = chunk.iter().map(|&i| part.pos[i] as usize).collect();
            let q: Vec<f32> = qp.iter().flat_map(|&p| part.pts[p * d..(p + 1) * d].iter().copied()).collect();
            let mut bd = vec![f32::INFINITY; chunk.len() * k];
            let mut bi = vec![u32::MAX; chunk.len() * k];
            let mut tile = vec![0.0f32; chunk.len() * CB];
            for c0 in (0..n).step_by(CB) {
                ctl.check()?;
                let w = CB.min(n - c0);
                dot_nt(&q, chunk.len(), &part.pts[c0 * d..(c0 + w) * d], w, d, &mut tile, w);
                for (r, &p) in qp.iter().enumerate() {
                    for (c, &dot) in tile[r * w..(r + 1) * w].iter().enumerate() {
                        let pj = c0 + c;
                        if pj == p {
                            continue;
                        }
                        let dv = part.dist(p, pj, dot);
                        if dv < bd[r * k + k - 1] {
                            insert_sorted(&mut bd[r * k..(r + 1) * k], &mut bi[r * k..(r + 1) * k], dv, pj);
                        }
                    }
                }
            }
            Ok(bi)
        })
        .collect::<Result<_, Cancelled>>()?;
    Ok(blocks.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Matrix;

    #[test]
    #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and row numbers")]
    fn cross_search_finds_the_nearest_fitted_rows_of_the_others() {
        // 6,000 points in 40 blobs in 32-d; every third row fitted.
        let mut rng = Rng::new(11);
        let (n, d) = (6000, 32);
        let centres: Vec<f32> = (0..40 * d).map(|_| (rng.next_f64() * 20.0 - 10.0) as f32).collect();
        let mut data = Vec::with_capacity(n * d);
        for i in 0..n {
            for j in 0..d {
                let g = (rng.next_f64() + rng.next_f64() + rng.next_f64() - 1.5) as f32;
                data.push(centres[(i % 40) * d + j] + g);
            }
        }
        let emb = Embeddings::new(Matrix::new(data, n, d).unwrap());
        let fitted: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
        let fit_rows: Vec<usize> = (0..n).filter(|&i| fitted[i]).collect();
        let k = 15;
        for metric in [Metric::Euclidean, Metric::Cosine] {
            let (idx, dist, rep) = ivf_cross_knn(&emb, metric, &fitted, k, 3, &Control::default()).unwrap();
            let pts = emb.points(metric);
            let dist_to = |a: usize, b: usize| -> f32 {
                let (x, y) = (pts.row(a), pts.row(b));
                match metric {
                    Metric::Cosine => 1.0 - x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>(),
                    Metric::Euclidean => x.iter().zip(y).map(|(p, q)| (p - q) * (p - q)).sum::<f32>().sqrt(),
                }
            };
            let (mut found, mut q) = (0usize, 0usize);
            for i in (0..n).filter(|&i| !fitted[i]) {
                let mut all: Vec<(f32, usize)> = fit_rows.iter().map(|&j| (dist_to(i, j), j)).collect();
                all.sort_by(|a, b| a.0.total_cmp(&b.0));
                let want: Vec<u32> = all[..k].iter().map(|&(_, j)| j as u32).collect();
                let got = &idx[q * k..(q + 1) * k];
                assert!(got.iter().all(|&j| j == u32::MAX || fitted[j as usize]), "row {i}: a neighbour that is not fitted");
                assert!(dist[q * k..(q + 1) * k].windows(2).all(|w| w[0] <= w[1]), "row {i}: not nearest first");
                found += got.iter().filter(|j| want.contains(j)).count();
                q += 1;
            }
            let recall = found as f64 / (q * k) as f64;
            // The goal is met on the sample; the whole is within its sampling error.
            assert!(rep.recall >= PLACE_RECALL_GOAL || rep.probes == rep.lists, "{metric}: {rep:?}");
            assert!(recall >= PLACE_RECALL_GOAL - 0.02, "{metric}: true recall {recall}, reported {rep:?}");
            assert!((recall - rep.recall).abs() < 0.03, "{metric}: sampled recall {} far from the true {recall}", rep.recall);
        }
    }

    #[test]
    #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and row numbers")]
    fn ivf_graph_reaches_its_recall_goal_on_clustered_data() {
        // 6,000 points in 40 gaussian blobs in 32-d.
        let mut rng = Rng::new(9);
        let (n, d) = (6000, 32);
        let centres: Vec<f32> = (0..40 * d).map(|_| (rng.next_f64() * 20.0 - 10.0) as f32).collect();
        let mut data = Vec::with_capacity(n * d);
        for i in 0..n {
            let c = i % 40;
            for j in 0..d {
                let g = (rng.next_f64() + rng.next_f64() + rng.next_f64() - 1.5) as f32;
                data.push(centres[c * d + j] + g);
            }
        }
        let emb = Embeddings::new(Matrix::new(data, n, d).unwrap());
        for metric in [Metric::Euclidean, Metric::Cosine] {
            let (g, rep) = ivf_knn(&emb, metric, 15, 1, &Control::default()).unwrap();
            let exact = KnnGraph::build(&emb, metric, 15, &Control::default()).unwrap();
            let mut found = 0usize;
            for i in 0..n {
                let (a, _) = g.neighbors(i);
                let (b, _) = exact.neighbors(i);
                found += a.iter().filter(|x| b.contains(x)).count();
                assert!(a.iter().all(|&j| (j as usize) < n && j as usize != i), "row {i}: {a:?}");
            }
            let recall = found as f64 / (n * 15) as f64;
            assert!(rep.recall >= RECALL_GOAL || rep.probes == rep.lists, "{metric}: {rep:?}");
            assert!(recall >= 0.95, "{metric}: true recall {recall}, reported {rep:?}");
            assert!((recall - rep.recall).abs() < 0.03, "{metric}: sampled recall {} far from the true {recall}", rep.recall);
        }
    }
}
