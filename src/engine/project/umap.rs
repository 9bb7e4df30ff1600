//! UMAP to two dimensions, after umap-learn 0.5: the exact k-nearest-neighbour graph, the fuzzy
//! simplicial set (ρ and σ per row by binary search, fuzzy union), a spectral initialisation,
//! and stochastic gradient descent with edge sampling by weight, negative sampling, gradient
//! clipping and a linearly decaying learning rate.
//!
//! **Deterministic in parallel.** umap-learn's parallel optimisation lets threads overwrite each
//! other's points (Hogwild), so a seed does not fix the layout. Here every epoch reads the
//! positions of the other points as they stood at its start, and each point makes only its own
//! moves, one after another: the attraction along each of its edges (twice, standing in for the
//! move its neighbour's copy of the edge gives it in umap-learn) and the repulsion of its
//! negative samples, drawn from a hash of (seed, epoch, edge, sample). Points are split into fixed blocks, each block written by
//! one thread into the next epoch's positions, so the sums run in the same order whatever the
//! thread count and the same seed gives the same layout bit for bit.

use std::sync::Arc;

use rayon::prelude::*;

use crate::engine::control::{Cancelled, Control};
use crate::engine::kernels::fixed_ranges;
use crate::engine::matrix::Matrix;
use crate::engine::neighbors::{KnnGraph, knn_among};
use crate::engine::project::spectral::{InitKind, SparseGraph, spectral_layout};
use crate::engine::rng::Rng;
use crate::engine::{Embeddings, Metric};

/// UMAP's parameters as the user gives them.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct UmapParams {
    /// Neighbourhood size, counting the row itself (umap-learn's convention).
    pub n_neighbors: usize,
    /// Smallest distance between points on the map.
    pub min_dist: f32,
    /// Scale of the embedded points.
    pub spread: f32,
    /// Optimisation epochs; `None` chooses 500 up to 10,000 rows and 200 above.
    pub n_epochs: Option<usize>,
    /// Seed of the initialisation noise and the negative samples.
    pub seed: u64,
    /// Above this many rows the layout is fitted on a seeded sample of this size and the other
    /// rows are placed by their nearest fitted rows; `None`: [`FIT_MAX`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fit_rows: Option<usize>,
}

/// Rows up to which every row is laid out (measured here: 100,000 rows of 384-d take 25 s,
/// the neighbour search growing faster than n); above, a sample of this size is fitted and the
/// rest placed.
pub const FIT_MAX: usize = 100_000;

impl Default for UmapParams {
    fn default() -> Self {
        Self { n_neighbors: 15, min_dist: 0.1, spread: 1.0, n_epochs: None, seed: 0, fit_rows: None }
    }
}

/// A rejected parameter or input.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum UmapError {
    /// Too few rows to lay out.
    #[error("UMAP needs at least 3 rows; this input has {0}")]
    TooFewRows(usize),
    /// A parameter out of range.
    #[error("{0}")]
    Param(String),
}

/// Checked UMAP parameters for a given number of rows.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedUmap {
    /// Rows laid out in full; above, a sample of this size (see [`UmapParams::fit_rows`]).
    pub fit_rows: usize,
    /// Neighbourhood size counting the row itself, at most the number of rows.
    pub n_neighbors: usize,
    /// See [`UmapParams::min_dist`].
    pub min_dist: f32,
    /// See [`UmapParams::spread`].
    pub spread: f32,
    /// Epochs to run.
    pub n_epochs: usize,
    /// Whether the epochs were given (else chosen by size); decides the epochs of new rows.
    pub n_epochs_given: bool,
    /// See [`UmapParams::seed`].
    pub seed: u64,
    /// The curve 1 / (1 + a·d^(2b)) fitted to min_dist and spread.
    pub a: f64,
    /// See `a`.
    pub b: f64,
}

/// Epochs when not given: 500 up to this many rows, 200 above (umap-learn's rule).
const SMALL_N: usize = 10_000;
/// Negative samples per positive one.
const NEGATIVE_RATE: f64 = 5.0;
/// Points per block of the parallel epoch.
const BLOCK: usize = 1024;

impl UmapParams {
    /// Checks the parameters for an input of `n` rows.
    pub fn check(&self, n: usize) -> Result<CheckedUmap, UmapError> {
        if n < 3 {
            return Err(UmapError::TooFewRows(n));
        }
        if !(2..=200).contains(&self.n_neighbors) {
            return Err(UmapError::Param(format!("n_neighbors must be between 2 and 200, not {}", self.n_neighbors)));
        }
        if !(self.spread.is_finite() && self.spread > 0.0 && self.spread <= 100.0) {
            return Err(UmapError::Param(format!("spread must be above 0 and at most 100, not {}", self.spread)));
        }
        if !(self.min_dist.is_finite() && self.min_dist >= 0.0 && self.min_dist <= self.spread) {
            return Err(UmapError::Param(format!("min_dist must be between 0 and spread ({}), not {}", self.spread, self.min_dist)));
        }
        let n_epochs = match self.n_epochs {
            Some(e) if (1..=10_000).contains(&e) => e,
            Some(e) => return Err(UmapError::Param(format!("n_epochs must be between 1 and 10000, not {e}"))),
            None if n <= SMALL_N => 500,
            None => 200,
        };
        let fit_rows = match self.fit_rows {
            Some(f) if f < 3 || f < self.n_neighbors + 1 => {
                return Err(UmapError::Param(format!("fit_rows must be at least n_neighbors + 1 ({}), not {f}", self.n_neighbors + 1)));
            }
            Some(f) => f,
            None => FIT_MAX,
        };
        let n_epochs = if n > fit_rows && self.n_epochs.is_none() { if fit_rows <= SMALL_N { 500 } else { 200 } } else { n_epochs };
        let (a, b) = find_ab(f64::from(self.spread), f64::from(self.min_dist));
        Ok(CheckedUmap {
            n_epochs_given: self.n_epochs.is_some(),
            fit_rows,
            n_neighbors: self.n_neighbors.min(n),
            min_dist: self.min_dist,
            spread: self.spread,
            n_epochs,
            seed: self.seed,
            a,
            b,
        })
    }
}

/// Fits `1 / (1 + a·x^(2b))` to the target curve (1 below min_dist, exp(−(x − min_dist)/spread)
/// above) on 300 points of [0, 3·spread] by least squares (Levenberg–Marquardt from (1, 1), as
/// scipy's `curve_fit` in umap-learn's `find_ab_params`).
#[must_use]
pub fn find_ab(spread: f64, min_dist: f64) -> (f64, f64) {
    let xs: Vec<f64> = (0..300).map(|i| f64::from(i) * 3.0 * spread / 299.0).collect();
    let ys: Vec<f64> = xs.iter().map(|&x| if x < min_dist { 1.0 } else { (-(x - min_dist) / spread).exp() }).collect();
    let cost = |a: f64, b: f64| -> f64 {
        xs.iter()
            .zip(&ys)
            .map(|(&x, &y)| {
                let r = 1.0 / (1.0 + a * x.powf(2.0 * b)) - y;
                r * r
            })
            .sum()
    };
    let (mut a, mut b) = (1.0f64, 1.0f64);
    let mut lambda = 1e-3;
    let mut c = cost(a, b);
    for _ in 0..500 {
        // Normal equations of the Gauss–Newton step.
        let (mut jtj, mut jtr) = ([[0.0f64; 2]; 2], [0.0f64; 2]);
        for (&x, &y) in xs.iter().zip(&ys) {
            if x <= 0.0 {
                let r = 1.0 - y;
                let _ = r;
                continue;
            }
            let p = x.powf(2.0 * b);
            let den = 1.0 + a * p;
            let f = 1.0 / den;
            let da = -p / (den * den);
            let db = -a * p * 2.0 * x.ln() / (den * den);
            let r = f - y;
            jtj[0][0] += da * da;
            jtj[0][1] += da * db;
            jtj[1][1] += db * db;
            jtr[0] += da * r;
            jtr[1] += db * r;
        }
        let mut improved = false;
        for _ in 0..30 {
            let m00 = jtj[0][0] * (1.0 + lambda);
            let m11 = jtj[1][1] * (1.0 + lambda);
            let m01 = jtj[0][1];
            let det = m00 * m11 - m01 * m01;
            if det.abs() < 1e-300 {
                lambda *= 10.0;
                continue;
            }
            let sa = -(m11 * jtr[0] - m01 * jtr[1]) / det;
            let sb = -(m00 * jtr[1] - m01 * jtr[0]) / det;
            let (na, nb) = (a + sa, b + sb);
            let nc = if na > 0.0 && nb > 0.0 { cost(na, nb) } else { f64::INFINITY };
            if nc < c {
                let rel = (c - nc) / c.max(1e-300);
                a = na;
                b = nb;
                c = nc;
                lambda = (lambda / 10.0).max(1e-12);
                improved = rel > 1e-15;
                break;
            }
            lambda *= 10.0;
        }
        if !improved {
            break;
        }
    }
    (a, b)
}

/// The fuzzy simplicial set of a dataset: the symmetric weighted neighbour graph UMAP lays out.
#[derive(Clone, Debug)]
pub struct FuzzyGraph {
    /// The symmetric graph (fuzzy union of the directed memberships).
    pub graph: SparseGraph,
    /// Neighbourhood size it was built with, counting the row itself.
    pub n_neighbors: usize,
    /// Metric of the neighbour distances.
    pub metric: Metric,
    /// Every row's distance to its nearest neighbour (ρ).
    pub rho: Vec<f32>,
    /// Every row's bandwidth (σ).
    pub sigma: Vec<f32>,
}

/// umap-learn's `smooth_knn_dist` for one row: ρ (the distance to the nearest row at a non-zero
/// distance, `local_connectivity` = 1) and σ such that Σ exp(−(dⱼ − ρ)/σ) over the row's
/// neighbours equals log2(k). `dists` are the neighbours' distances ascending, without the row
/// itself; `mean_all` is the mean distance over all rows (the floor for rows with ρ = 0).
#[must_use]
pub fn smooth_knn_row(dists: &[f32], k: f64, mean_all: f64) -> (f32, f32) {
    let rho = dists.iter().copied().find(|&d| d > 0.0).map_or_else(|| 0.0, f64::from);
    smooth_with_rho(dists, k, mean_all, rho)
}

/// σ of a new row's distances to its fitted neighbours, as umap-learn's `transform` computes
/// it: local connectivity 0 (so ρ = 0), and its loop's first term skipped, as for a fitted row
/// whose first neighbour is itself.
pub fn smooth_new_row(dists: &[f32], k: f64, mean_all: f64) -> f32 {
    smooth_with_rho(dists.get(1..).unwrap_or(&[]), k, mean_all, 0.0).1
}

fn smooth_with_rho(dists: &[f32], k: f64, mean_all: f64, rho: f64) -> (f32, f32) {
    const TOLERANCE: f64 = 1e-5;
    const MIN_SCALE: f64 = 1e-3;
    let target = k.log2();
    // umap-learn's row includes the row itself first and skips it in the sum; the mean counts it.
    let (mut lo, mut hi, mut mid) = (0.0f64, f64::INFINITY, 1.0f64);
    for _ in 0..64 {
        let psum: f64 = dists
            .iter()
            .map(|&d| {
                let d = f64::from(d) - rho;
                if d > 0.0 { (-(d / mid)).exp() } else { 1.0 }
            })
            .sum();
        if (psum - target).abs() < TOLERANCE {
            break;
        }
        if psum > target {
            hi = mid;
            mid = (lo + hi) / 2.0;
        } else {
            lo = mid;
            mid = if hi.is_infinite() { mid * 2.0 } else { (lo + hi) / 2.0 };
        }
    }
    let mean_row = dists.iter().map(|&d| f64::from(d)).sum::<f64>() / (dists.len() + 1) as f64;
    let floor = if rho > 0.0 { MIN_SCALE * mean_row } else { MIN_SCALE * mean_all };
    #[expect(
        clippy::cast_possible_truncation,
        reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
    )]
    (rho as f32, mid.max(floor) as f32)
}

/// Membership strength of a neighbour at distance `d` for a row with (ρ, σ).
#[expect(clippy::cast_possible_truncation, reason = "a membership strength in [0, 1]")]
fn membership(d: f32, rho: f32, sigma: f32) -> f32 {
    if d - rho <= 0.0 || sigma == 0.0 { 1.0 } else { (-(f64::from(d - rho) / f64::from(sigma))).exp() as f32 }
}

impl FuzzyGraph {
    /// Builds the fuzzy set from an exact neighbour graph (its first `n_neighbors − 1` columns).
    #[must_use]
    pub fn from_knn(knn: &KnnGraph, n_neighbors: usize) -> Self {
        let n = knn.n();
        let m = n_neighbors.saturating_sub(1).min(knn.k);
        let cols = |i: usize| {
            let (idx, d) = knn.neighbors(i);
            (&idx[..m], &d[..m])
        };
        let mean_all = (0..n).map(|i| cols(i).1.iter().map(|&d| f64::from(d)).sum::<f64>()).sum::<f64>() / ((n * (m + 1)).max(1) as f64);
        let k = (m + 1) as f64;
        let (rho, sigma): (Vec<f32>, Vec<f32>) = (0..n).into_par_iter().map(|i| smooth_knn_row(cols(i).1, k, mean_all)).unzip();
        // Directed memberships, then the fuzzy union w = a + b − a·b over both directions.
        let mut entries: Vec<(u32, u32, f32)> = Vec::with_capacity(n * m * 2);
        for i in 0..n {
            let (idx, d) = cols(i);
            #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
            let iu = i as u32;
            for (&j, &dv) in idx.iter().zip(d) {
                if j as usize == i || j == u32::MAX {
                    continue;
                }
                let w = membership(dv, rho[i], sigma[i]);
                if w > 0.0 {
                    entries.push((iu, j, w));
                    entries.push((j, iu, w));
                }
            }
        }
        entries.par_sort_unstable_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)).then(x.2.total_cmp(&y.2)));
        let mut g = SparseGraph { indptr: vec![0; n + 1], indices: Vec::with_capacity(entries.len() / 2 + n), weights: Vec::new() };
        let mut t = 0;
        while t < entries.len() {
            let (i, j, w) = entries[t];
            // At most two entries per ordered pair: i's membership of j and j's of i.
            let w = if t + 1 < entries.len() && entries[t + 1].0 == i && entries[t + 1].1 == j {
                let v = entries[t + 1].2;
                t += 2;
                w + v - w * v
            } else {
                t += 1;
                w
            };
            g.indices.push(j);
            g.weights.push(w);
            g.indptr[i as usize + 1] += 1;
        }
        for i in 0..n {
            g.indptr[i + 1] += g.indptr[i];
        }
        Self { graph: g, n_neighbors: m + 1, metric: knn.metric, rho, sigma }
    }
}

/// A finished layout and how it was made.
#[derive(Clone, Debug)]
pub struct UmapLayout {
    /// Every row's position.
    pub coords: Vec<[f32; 2]>,
    /// The parameters used.
    pub params: CheckedUmap,
    /// How the positions started.
    pub init: InitKind,
    /// The fuzzy graph, kept so that a new min_dist or spread reruns only the optimisation.
    pub graph: Arc<FuzzyGraph>,
    /// Stage times in milliseconds: neighbours, fuzzy set, initialisation, optimisation.
    pub timings_ms: UmapTimings,
    /// How the approximate neighbour graph was built and its recall (`None`: exact).
    pub knn: Option<crate::engine::neighbors::ann::AnnReport>,
    /// A large input: the sample fitted and the rows placed (`None`: every row fitted).
    pub sampled: Option<Sampled>,
}

/// Where a layout's time went.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct UmapTimings {
    /// The neighbour graph (0 when reused).
    pub knn_ms: f64,
    /// The fuzzy simplicial set.
    pub fuzzy_ms: f64,
    /// The spectral initialisation.
    pub init_ms: f64,
    /// The optimisation.
    pub optimize_ms: f64,
    /// Whether the fuzzy graph and start were reused from an earlier layout (a new min_dist,
    /// spread or epoch count), so that only the optimisation ran.
    pub reused: bool,
}

/// Positions handed out while the optimisation runs: epoch done, epochs in all, positions.
pub type EpochFn<'a> = dyn Fn(usize, usize, &[[f32; 2]]) + Sync + 'a;

fn ms(t: std::time::Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// What a layout needs before its optimisation: the fuzzy graph and the starting positions.
/// It depends on the data, the metric, n_neighbors and the seed only, so a new min_dist,
/// spread or epoch count starts from the one kept (see [`Embeddings::umap_prepared`]).
#[derive(Debug)]
pub struct Prepared {
    /// Metric of the neighbour graph.
    pub metric: Metric,
    /// Neighbourhood size, counting the row itself.
    pub n_neighbors: usize,
    /// Seed of the start's noise and of any random start.
    pub seed: u64,
    /// The fuzzy simplicial set.
    pub graph: Arc<FuzzyGraph>,
    /// The starting positions (spectral, with umap-learn's noise and rescaling).
    pub init: Vec<[f32; 2]>,
    /// How the positions started.
    pub init_kind: InitKind,
    /// How the approximate neighbour graph was built (`None`: exact).
    pub knn: Option<crate::engine::neighbors::ann::AnnReport>,
    /// Time of the neighbours, fuzzy set and start (optimisation 0).
    pub timings_ms: UmapTimings,
}

/// Builds the neighbour graph (from the dataset's cache when it has one large enough), the
/// fuzzy set and the spectral start.
pub fn prepare(emb: &Embeddings, metric: Metric, params: &CheckedUmap, ctl: &Control) -> Result<Prepared, UmapRunError> {
    let t = std::time::Instant::now();
    // At least 15 neighbours, so that the map's trust figures reuse the same graph.
    let (knn, ann, origin) = emb.layout_knn_graph(metric, (params.n_neighbors - 1).max(15), params.seed, ctl)?;
    let knn_ms = if origin == crate::engine::cache::Origin::Cached { 0.0 } else { ms(t) };
    ctl.progress("fuzzy graph", 0.0);
    let t = std::time::Instant::now();
    let graph = Arc::new(FuzzyGraph::from_knn(&knn, params.n_neighbors));
    let fuzzy_ms = ms(t);
    let t = std::time::Instant::now();
    let (init, init_kind) = start(&graph, params.seed, ctl)?;
    Ok(Prepared {
        metric,
        n_neighbors: params.n_neighbors,
        seed: params.seed,
        graph,
        init,
        init_kind,
        knn: ann,
        timings_ms: UmapTimings { knn_ms, fuzzy_ms, init_ms: ms(t), optimize_ms: 0.0, reused: false },
    })
}

/// Lays out `emb` in `metric`: the prepared graph and start (kept per dataset, so that a new
/// min_dist, spread or epoch count reruns only the optimisation), then the optimisation.
pub fn umap(
    emb: &Embeddings,
    metric: Metric,
    params: &UmapParams,
    ctl: &Control,
    on_epoch: Option<&EpochFn<'_>>,
) -> Result<UmapLayout, UmapRunError> {
    let n = emb.raw().n();
    let checked = params.check(n)?;
    if n > checked.fit_rows {
        return umap_sampled(emb, metric, params, &checked, ctl);
    }
    let (prepared, origin) = emb.umap_prepared(metric, &checked, ctl)?;
    let t = std::time::Instant::now();
    let coords = optimize(&prepared.graph.graph, prepared.init.clone(), None, &checked, 1.0, ctl, on_epoch)?;
    let mut timings_ms = if origin == crate::engine::cache::Origin::Cached {
        UmapTimings { reused: true, ..UmapTimings::default() }
    } else {
        prepared.timings_ms
    };
    timings_ms.optimize_ms = ms(t);
    Ok(UmapLayout {
        coords,
        params: checked,
        init: prepared.init_kind.clone(),
        graph: Arc::clone(&prepared.graph),
        timings_ms,
        knn: prepared.knn.clone(),
        sampled: None,
    })
}

/// The most dimensions [`reduce`] embeds in.
pub const MAX_REDUCE_DIM: usize = 16;

/// How a UMAP reduction was made.
#[derive(Clone, Debug)]
pub struct ReduceReport {
    /// How the positions started.
    pub init: InitKind,
    /// How the approximate neighbour graph was built (`None`: exact).
    pub knn: Option<crate::engine::neighbors::ann::AnnReport>,
    /// Wall time, neighbours included unless they were kept.
    pub ms: f64,
}

/// Embeds `emb` by UMAP in `dim` dimensions (2 to [`MAX_REDUCE_DIM`]), as BERTopic does before
/// a density clustering: the same fuzzy graph the map's UMAP uses (kept per dataset, metric,
/// n_neighbors and seed), a `dim`-dimensional spectral start, and the same deterministic
/// optimisation. Every row is embedded (no sampled fit). Returns the `n × dim` rows.
pub fn reduce(
    emb: &Embeddings,
    metric: Metric,
    dim: usize,
    params: &UmapParams,
    ctl: &Control,
) -> Result<(crate::engine::Matrix, ReduceReport), UmapRunError> {
    let out_of_range = || UmapRunError::from(UmapError::Param(format!("a UMAP reduction has 2 to {MAX_REDUCE_DIM} dimensions, not {dim}")));
    let n = emb.raw().n();
    let checked = params.check(n)?;
    let t = std::time::Instant::now();
    macro_rules! embed_in {
        ($($d:literal)*) => {
            match dim {
                $($d => {
                    let (prepared, _) = emb.umap_prepared(metric, &checked, ctl)?;
                    let (data, init) = embed::<$d>(&prepared.graph, &checked, ctl)?;
                    (data, init, prepared.knn.clone())
                })*
                _ => return Err(out_of_range()),
            }
        };
    }
    let (data, init, knn) = embed_in!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    let points = crate::engine::Matrix::new(data, n, dim).ok_or_else(out_of_range)?;
    Ok((points, ReduceReport { init, knn, ms: ms(t) }))
}

fn embed<const D: usize>(graph: &FuzzyGraph, params: &CheckedUmap, ctl: &Control) -> Result<(Vec<f32>, InitKind), Cancelled> {
    let (init, kind) = start::<D>(graph, params.seed, ctl)?;
    let coords = optimize::<D>(&graph.graph, init, None, params, 1.0, ctl, None)?;
    Ok((coords.into_iter().flatten().collect(), kind))
}

/// Epochs for placing `new_rows` new rows, as umap-learn's `transform`: a third of the epochs
/// given, else 100 up to 10,000 new rows and 30 above.
fn transform_epochs(params: &CheckedUmap, new_rows: usize) -> usize {
    if params.n_epochs_given {
        (params.n_epochs / 3).max(1)
    } else if new_rows <= SMALL_N {
        100
    } else {
        30
    }
}

/// How a large input was laid out: a seeded sample fitted, the other rows placed.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Sampled {
    /// Rows fitted.
    pub fitted: usize,
    /// Rows placed by their nearest fitted rows.
    pub placed: usize,
    /// How the placed rows' neighbours among the fitted rows were found, and their recall.
    pub search: crate::engine::neighbors::ann::AnnReport,
    /// Time of the search and placement, in milliseconds.
    pub place_ms: f64,
    /// The rows fitted, ascending (a saved model's UMAP holds them).
    #[serde(skip)]
    pub fitted_rows: Arc<Vec<usize>>,
}

/// A large input: UMAP on a seeded sample of `fit_rows`, then every other row placed as
/// umap-learn's `transform` places new rows: its `n_neighbors` nearest fitted rows (an
/// inverted-file search with measured recall), a start at their positions' mean weighted by
/// fuzzy membership, and 30 epochs (100 up to 10,000 new rows) with the fitted rows fixed.
fn umap_sampled(
    emb: &Embeddings,
    metric: Metric,
    params: &UmapParams,
    checked: &CheckedUmap,
    ctl: &Control,
) -> Result<UmapLayout, UmapRunError> {
    let n = emb.raw().n();
    let fit = checked.fit_rows;
    let mut rng = Rng::derive(checked.seed, 0xf17);
    let mut rows = rng.sample_indices(n, fit);
    rows.sort_unstable();
    let sub = Embeddings::new(emb.raw().select_rows(&rows));
    let inner = UmapParams { fit_rows: Some(fit), ..params.clone() };
    let mut layout = umap(&sub, metric, &inner, ctl, None)?;
    let t = std::time::Instant::now();
    let mut fitted = vec![false; n];
    let mut at = vec![u32::MAX; n];
    for (s, &i) in rows.iter().enumerate() {
        fitted[i] = true;
        #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
        {
            at[i] = s as u32;
        }
    }
    let k = checked.n_neighbors.min(fit);
    let (idx, dist, search) = crate::engine::neighbors::ann::ivf_cross_knn(emb, metric, &fitted, k, checked.seed, ctl)?;
    let mut coords = vec![[0.0f32; 2]; n];
    for (s, &i) in rows.iter().enumerate() {
        coords[i] = layout.coords[s];
    }
    let rest: Vec<usize> = (0..n).filter(|&i| !fitted[i]).collect();
    let placed = place(&idx, &dist, k, &layout.coords, |j| at[j as usize], checked, ctl)?;
    for (&i, p) in rest.iter().zip(placed) {
        coords[i] = p;
    }
    layout.coords = coords;
    layout.params = checked.clone();
    layout.sampled = Some(Sampled { fitted: fit, placed: rest.len(), search, place_ms: ms(t), fitted_rows: Arc::new(rows) });
    Ok(layout)
}

/// Why a layout did not finish.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum UmapRunError {
    /// Rejected parameters.
    #[error(transparent)]
    Invalid(#[from] UmapError),
    /// Stopped by a newer job or the user.
    #[error("cancelled")]
    Cancelled(#[from] Cancelled),
}

/// Initialises and optimises a layout of a fuzzy graph already built (a new min_dist, spread,
/// epoch count or seed reuses it).
pub fn layout_graph(
    graph: Arc<FuzzyGraph>,
    params: &CheckedUmap,
    ctl: &Control,
    on_epoch: Option<&EpochFn<'_>>,
) -> Result<UmapLayout, UmapRunError> {
    let t = std::time::Instant::now();
    let (init, kind) = start(&graph, params.seed, ctl)?;
    let init_ms = ms(t);
    let t = std::time::Instant::now();
    let coords = optimize(&graph.graph, init, None, params, 1.0, ctl, on_epoch)?;
    let optimize_ms = ms(t);
    Ok(UmapLayout {
        coords,
        params: params.clone(),
        init: kind,
        graph,
        timings_ms: UmapTimings { knn_ms: 0.0, fuzzy_ms: 0.0, init_ms, optimize_ms, reused: false },
        knn: None,
        sampled: None,
    })
}

/// The spectral start with umap-learn's noise (σ 1e-4), each axis rescaled to [0, 10].
fn start<const D: usize>(graph: &FuzzyGraph, seed: u64, ctl: &Control) -> Result<(Vec<[f32; D]>, InitKind), Cancelled> {
    ctl.progress("spectral start", 0.0);
    let (mut init, kind) = spectral_layout::<D>(&graph.graph, seed, ctl)?;
    let mut rng = Rng::derive(seed, 0x0a15e);
    for p in &mut init {
        for v in p.iter_mut() {
            #[expect(
                clippy::cast_possible_truncation,
                reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
            )]
            {
                *v += (rng.next_gaussian() * 1e-4) as f32;
            }
        }
    }
    rescale_box(&mut init, 10.0);
    Ok((init, kind))
}

/// Rescales each axis to [0, size].
fn rescale_box<const D: usize>(coords: &mut [[f32; D]], size: f32) {
    for axis in 0..D {
        let (lo, hi) = coords.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), p| (a.min(p[axis]), b.max(p[axis])));
        let span = hi - lo;
        for p in coords.iter_mut() {
            p[axis] = if span > 0.0 { size * (p[axis] - lo) / span } else { size / 2.0 };
        }
    }
}

/// A 64-bit mix of the sample's coordinates: the negative sample drawn at (epoch, edge, slot).
#[inline]
fn sample_hash(seed: u64, epoch: usize, edge: usize, slot: usize) -> u64 {
    let mut z = seed
        ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (edge as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)
        ^ (slot as u64).wrapping_mul(0x8CB9_2BA7_2F3D_8DD7);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `a − b` and its squared length (summed in axis order).
#[inline]
fn offset<const D: usize>(a: &[f32; D], b: &[f32; D]) -> ([f32; D], f32) {
    let mut dx = [0.0f32; D];
    let mut d2 = 0.0f32;
    for k in 0..D {
        dx[k] = a[k] - b[k];
        d2 += dx[k] * dx[k];
    }
    (dx, d2)
}

#[inline]
fn clip(v: f32) -> f32 {
    v.clamp(-4.0, 4.0)
}

/// One edge's moves of a point in an epoch: the attraction towards the edge's other end when
/// the edge is due, then its negative samples (drawn by `draw(sample)` from `tail`).
struct EdgeStep {
    a: f32,
    b: f32,
    alpha: f32,
    attract: f32,
    now: f64,
    tail_n: usize,
    /// A tail index never repelled (the point itself in a fit; `usize::MAX` in a transform).
    skip: usize,
}

impl EdgeStep {
    #[inline]
    #[expect(clippy::too_many_arguments, reason = "the kernel's inputs are separate slices and sizes; a struct would only name them again")]
    fn run<const D: usize>(
        &self,
        yi: &mut [f32; D],
        yj: &[f32; D],
        tail: &[[f32; D]],
        eps: f64,
        next_sample: &mut f64,
        next_negative: &mut f64,
        draw: impl Fn(usize) -> u64,
    ) {
        let (af, bf, alphaf) = (self.a, self.b, self.alpha);
        if eps <= 0.0 || *next_sample > self.now {
            return;
        }
        let (dx, d2) = offset(yi, yj);
        if d2 > 0.0 {
            // d2^(b−1) = d2^b / d2: one power per sample.
            let pb = d2.powf(bf);
            let g = -2.0 * af * bf * (pb / d2) / (af * pb + 1.0);
            for (v, d) in yi.iter_mut().zip(dx) {
                *v += self.attract * clip(g * d) * alphaf;
            }
        }
        *next_sample += eps;
        let epn = eps / NEGATIVE_RATE;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a non-negative figure (positive or clamped by construction) rounded down to a bounded count or index"
        )]
        let n_neg = ((self.now - *next_negative) / epn).max(0.0) as usize;
        // The negative samples all push from the same position: independent of each other, so
        // they overlap in the pipeline.
        let mut push = [0.0f32; D];
        for p in 0..n_neg {
            // The hash's high half scaled to 0..tail_n (a multiplication, not a division).
            let k = (((draw(p) >> 32) * self.tail_n as u64) >> 32) as usize;
            if k == self.skip {
                continue;
            }
            let (dx, d2) = offset(yi, &tail[k]);
            if d2 > 0.0 {
                let g = 2.0 * bf / ((0.001 + d2) * (af * d2.powf(bf) + 1.0));
                for (v, d) in push.iter_mut().zip(dx) {
                    *v += clip(g * d) * alphaf;
                }
            }
        }
        for (v, p) in yi.iter_mut().zip(push) {
            *v += p;
        }
        {
            *next_negative += n_neg as f64 * epn;
        }
    }
}

/// Runs the optimisation over `graph` from `init`. With `fixed = Some(tail)`, the rows of the
/// graph are new points whose edges point into the fixed layout `tail` (transform): only the
/// new points move, and negative samples are drawn from the fixed layout. `attract` scales the
/// attraction (umap-learn moves both ends of a fitted edge, whose two copies give each end two
/// moves; a new point has one).
fn optimize<const D: usize>(
    graph: &SparseGraph,
    mut head: Vec<[f32; D]>,
    fixed: Option<&[[f32; D]]>,
    params: &CheckedUmap,
    initial_alpha: f64,
    ctl: &Control,
    on_epoch: Option<&(dyn Fn(usize, usize, &[[f32; D]]) + Sync + '_)>,
) -> Result<Vec<[f32; D]>, Cancelled> {
    let n = graph.n();
    let n_epochs = params.n_epochs;
    let (a, b) = (params.a, params.b);
    let attract: f32 = if fixed.is_some() { 1.0 } else { 2.0 };
    let tail_n = fixed.map_or(n, <[_]>::len);
    // Edges lighter than max / n_epochs are never sampled (umap-learn drops them).
    let wmax = graph.weights.iter().copied().fold(0.0f32, f32::max);
    let floor = f64::from(wmax) / n_epochs as f64;
    let epochs_per_sample: Vec<f64> =
        graph.weights.iter().map(|&w| if f64::from(w) >= floor && w > 0.0 { f64::from(wmax) / f64::from(w) } else { -1.0 }).collect();
    let mut next_sample = epochs_per_sample.clone();
    let mut next_negative: Vec<f64> = epochs_per_sample.iter().map(|e| e / NEGATIVE_RATE).collect();
    let blocks = fixed_ranges(n, n.div_ceil(BLOCK));
    let mut next = head.clone();
    for epoch in 0..n_epochs {
        if epoch % 4 == 0 {
            ctl.check()?;
        }
        let alpha = initial_alpha * (1.0 - epoch as f64 / n_epochs as f64);
        let now = epoch as f64;
        // Split the per-edge state and the next positions by block (disjoint slices).
        let mut parts = Vec::with_capacity(blocks.len());
        {
            let (mut ns, mut nn, mut nx) = (&mut next_sample[..], &mut next_negative[..], &mut next[..]);
            for r in &blocks {
                let edges = graph.indptr[r.end] - graph.indptr[r.start];
                let (s0, s1) = std::mem::take(&mut ns).split_at_mut(edges);
                let (n0, n1) = std::mem::take(&mut nn).split_at_mut(edges);
                let (x0, x1) = std::mem::take(&mut nx).split_at_mut(r.len());
                parts.push((r.clone(), s0, n0, x0));
                ns = s1;
                nn = n1;
                nx = x1;
            }
        }
        let cur: &[[f32; D]] = &head;
        let tail: &[[f32; D]] = fixed.unwrap_or(cur);
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
        )]
        let (af, bf, alphaf) = (a as f32, b as f32, alpha as f32);
        parts.into_par_iter().for_each(|(r, ns, nn, out)| {
            let e0 = graph.indptr[r.start];
            for (slot, i) in r.clone().enumerate() {
                // The point moves after every sample (as in umap-learn), its neighbours stay as
                // they stood at the epoch's start.
                let mut yi = cur[i];
                let step =
                    EdgeStep { a: af, b: bf, alpha: alphaf, attract, now, tail_n, skip: if fixed.is_none() { i } else { usize::MAX } };
                for e in graph.indptr[i]..graph.indptr[i + 1] {
                    let le = e - e0;
                    step.run(&mut yi, &tail[graph.indices[e] as usize], tail, epochs_per_sample[e], &mut ns[le], &mut nn[le], |p| {
                        sample_hash(params.seed, epoch, e, p)
                    });
                }
                out[slot] = yi;
            }
        });
        std::mem::swap(&mut head, &mut next);
        ctl.progress("layout", (epoch + 1) as f32 / n_epochs as f32);
        if let Some(f) = on_epoch {
            f(epoch + 1, n_epochs, &head);
        }
    }
    Ok(head)
}

/// Places new rows on a fitted layout (umap-learn's `transform`): each row's neighbours among
/// the fitted rows, memberships by the same smoothing, a start at the membership-weighted mean of
/// its neighbours' positions, then [`transform_epochs`] with the fitted layout fixed.
///
/// `fitted` and `queries` are the rows in the metric's space (unit rows for cosine).
pub fn transform(
    fitted: &Matrix,
    layout: &[[f32; 2]],
    queries: &Matrix,
    metric: Metric,
    params: &CheckedUmap,
    ctl: &Control,
) -> Result<Vec<[f32; 2]>, Cancelled> {
    let nq = queries.n();
    if nq == 0 {
        return Ok(Vec::new());
    }
    let k = params.n_neighbors.min(fitted.n());
    let (idx, dist) = knn_among(fitted, queries, metric, k, ctl)?;
    place(&idx, &dist, k, layout, |j| j, params, ctl)
}

/// What places new rows on a finished layout one at a time (a saved model's UMAP).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Placement {
    /// Metric of the neighbour search.
    pub metric: Metric,
    /// Fitted neighbours per new row.
    pub n_neighbors: usize,
    /// The fitted curve's a.
    pub a: f64,
    /// The fitted curve's b.
    pub b: f64,
    /// Epochs per new row.
    pub n_epochs: usize,
    /// Seed of the negative samples.
    pub seed: u64,
}

impl Placement {
    /// The placement of new rows on a layout made with `params`: umap-learn's `transform`
    /// epochs for a batch of up to 10,000 rows (a third of the epochs when they were given).
    #[must_use]
    pub fn of(metric: Metric, params: &CheckedUmap) -> Self {
        Self { metric, n_neighbors: params.n_neighbors, a: params.a, b: params.b, n_epochs: transform_epochs(params, 1), seed: params.seed }
    }
}

/// Places `queries` on the fixed layout of `fitted` (`layout[j]` is fitted row `j`'s position),
/// as [`transform`] does, but each row on its own, so that a row's position does not depend on
/// the batch it comes in, its order, or the thread count: the same row of a 100M-row input gets
/// the same x, y whether it is assigned alone, in a batch of the command line or by a worker
/// of a pipeline. Against umap-learn's `transform` three things are per row instead of per
/// batch: the epochs (`placement.n_epochs`), the σ floor (the row's own mean neighbour
/// distance) and the sampling rate (each edge's weight against 1, the largest a membership
/// can be); the negative samples are drawn from a hash of the row's values.
///
/// `fitted` and `queries` are the rows in the metric's space (unit rows for cosine).
pub fn place_each(
    fitted: &Matrix,
    layout: &[[f32; 2]],
    queries: &Matrix,
    placement: &Placement,
    ctl: &Control,
) -> Result<Vec<[f32; 2]>, Cancelled> {
    let nq = queries.n();
    if nq == 0 || fitted.n() == 0 {
        return Ok(vec![[0.0; 2]; nq]);
    }
    let k = placement.n_neighbors.clamp(1, fitted.n());
    let (idx, dist) = knn_among(fitted, queries, placement.metric, k, ctl)?;
    let n_epochs = placement.n_epochs.max(1);
    let (kf, floor) = (k as f64, 1.0 / n_epochs as f64);
    #[expect(
        clippy::cast_possible_truncation,
        reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
    )]
    let (af, bf) = (placement.a as f32, placement.b as f32);
    let out = (0..nq)
        .into_par_iter()
        .map(|q| {
            let (ri, rd) = (&idx[q * k..(q + 1) * k], &dist[q * k..(q + 1) * k]);
            let m = ri.iter().take_while(|&&j| j != u32::MAX).count();
            if m == 0 {
                return layout[0];
            }
            let mean = rd[..m].iter().map(|&d| f64::from(d)).sum::<f64>() / m as f64;
            let sigma = smooth_new_row(&rd[..m], kf, mean);
            let w: Vec<f32> = rd[..m].iter().map(|&d| membership(d, 0.0, sigma)).collect();
            let (mut sum, mut wsum) = ([0.0f64; 2], 0.0f64);
            for (&j, &wj) in ri[..m].iter().zip(&w) {
                let p = layout[j as usize];
                sum[0] += f64::from(wj) * f64::from(p[0]);
                sum[1] += f64::from(wj) * f64::from(p[1]);
                wsum += f64::from(wj);
            }
            #[expect(
                clippy::cast_possible_truncation,
                reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
            )]
            let mut yi = if wsum > 0.0 { [(sum[0] / wsum) as f32, (sum[1] / wsum) as f32] } else { layout[ri[0] as usize] };
            let key = row_key(placement.seed, queries.row(q));
            let eps: Vec<f64> = w.iter().map(|&wj| if f64::from(wj) >= floor && wj > 0.0 { 1.0 / f64::from(wj) } else { -1.0 }).collect();
            let mut next_sample = eps.clone();
            let mut next_negative: Vec<f64> = eps.iter().map(|e| e / NEGATIVE_RATE).collect();
            for epoch in 0..n_epochs {
                #[expect(clippy::cast_possible_truncation, reason = "UMAP's a, b and learning rate are small constants")]
                let step = EdgeStep {
                    a: af,
                    b: bf,
                    alpha: (0.25 * (1.0 - epoch as f64 / n_epochs as f64)) as f32,
                    attract: 1.0,
                    now: epoch as f64,
                    tail_n: layout.len(),
                    skip: usize::MAX,
                };
                for e in 0..m {
                    step.run(&mut yi, &layout[ri[e] as usize], layout, eps[e], &mut next_sample[e], &mut next_negative[e], |p| {
                        sample_hash(key, epoch, e, p)
                    });
                }
            }
            yi
        })
        .collect();
    ctl.check()?;
    Ok(out)
}

/// The seed of a row's negative samples: the seed mixed with a hash of the row's values.
fn row_key(seed: u64, row: &[f32]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::with_seed(seed);
    for v in row {
        h.update(&v.to_le_bytes());
    }
    h.digest()
}

/// Positions of new rows from their `k` nearest fitted rows (`idx`, `dist`: `k` per row,
/// nearest first, `u32::MAX` past the end when fewer were found; `at(j)` is fitted row `j`'s
/// position in `layout`), as umap-learn's `transform`: memberships with ρ = 0, a start at the
/// membership-weighted mean of the neighbours' positions, then [`transform_epochs`] with the
/// layout fixed, at a quarter of the fitted learning rate.
fn place(
    idx: &[u32],
    dist: &[f32],
    k: usize,
    layout: &[[f32; 2]],
    at: impl Fn(u32) -> u32 + Sync,
    params: &CheckedUmap,
    ctl: &Control,
) -> Result<Vec<[f32; 2]>, Cancelled> {
    let nq = idx.len() / k.max(1);
    let finite: Vec<f64> = dist.iter().filter(|d| d.is_finite()).map(|&d| f64::from(d)).collect();
    let mean_all = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
    let kf = k as f64;
    let rows: Vec<(Vec<u32>, Vec<f32>, [f32; 2])> = (0..nq)
        .into_par_iter()
        .map(|q| {
            let (ri, rd) = (&idx[q * k..(q + 1) * k], &dist[q * k..(q + 1) * k]);
            let m = ri.iter().take_while(|&&j| j != u32::MAX).count();
            if m == 0 {
                return (Vec::new(), Vec::new(), layout[0]);
            }
            let sigma = smooth_new_row(&rd[..m], kf, mean_all);
            let (mut sum, mut wsum) = ([0.0f64; 2], 0.0f64);
            let (mut js, mut ws) = (Vec::with_capacity(m), Vec::with_capacity(m));
            for (&j, &d) in ri[..m].iter().zip(&rd[..m]) {
                let w = membership(d, 0.0, sigma);
                let s = at(j);
                let p = layout[s as usize];
                sum[0] += f64::from(w) * f64::from(p[0]);
                sum[1] += f64::from(w) * f64::from(p[1]);
                wsum += f64::from(w);
                js.push(s);
                ws.push(w);
            }
            #[expect(
                clippy::cast_possible_truncation,
                reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
            )]
            let start = if wsum > 0.0 { [(sum[0] / wsum) as f32, (sum[1] / wsum) as f32] } else { layout[js[0] as usize] };
            (js, ws, start)
        })
        .collect();
    let mut g = SparseGraph { indptr: vec![0], indices: Vec::with_capacity(nq * k), weights: Vec::with_capacity(nq * k) };
    let mut init = Vec::with_capacity(nq);
    for (js, ws, start) in rows {
        g.indices.extend(js);
        g.weights.extend(ws);
        g.indptr.push(g.indices.len());
        init.push(start);
    }
    let mut p = params.clone();
    p.n_epochs = transform_epochs(params, nq);
    optimize(&g, init, Some(layout), &p, 0.25, ctl, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_ab_matches_umap_learn_defaults() {
        // umap-learn 0.5: find_ab_params(1.0, 0.1) = (1.5769, 0.8951).
        let (a, b) = find_ab(1.0, 0.1);
        assert!((a - 1.576_943_5).abs() < 2e-3 && (b - 0.895_060_6).abs() < 2e-3, "a {a} b {b}");
    }

    #[test]
    fn smooth_knn_row_hits_log2_k() {
        let d = [0.5f32, 0.6, 0.7, 0.9, 1.2, 1.3, 1.5];
        let (rho, sigma) = smooth_knn_row(&d, 8.0, 1.0);
        assert_eq!(rho, 0.5);
        let s: f64 = d.iter().map(|&x| (-(f64::from(x - rho)) / f64::from(sigma)).exp()).sum();
        assert!((s - 3.0).abs() < 1e-4, "{s}");
    }

    #[test]
    fn rejects_too_few_rows_and_bad_parameters() {
        assert_eq!(UmapParams::default().check(2), Err(UmapError::TooFewRows(2)));
        let p = UmapParams { min_dist: 2.0, ..UmapParams::default() };
        assert!(matches!(p.check(100), Err(UmapError::Param(m)) if m.contains("min_dist")));
        let p = UmapParams { n_neighbors: 1, ..UmapParams::default() };
        assert!(matches!(p.check(100), Err(UmapError::Param(m)) if m.contains("n_neighbors")));
        assert_eq!(UmapParams::default().check(10).unwrap().n_neighbors, 10);
    }
}
