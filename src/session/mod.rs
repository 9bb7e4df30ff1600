//! What a clustering job is asked to do, and what it produced: plain data shared by the
//! worker, the window and the command line.

mod error;
mod file;
mod request;
mod sweep;

pub use error::{ParamError, RunError};
pub use file::{SESSION_VERSION, SessionFile};
pub use request::{Algorithm, AlgorithmKind, ClusterRequest, Reduce};
pub use sweep::{SweepRow, run_sweep};

use std::time::Instant;

use crate::engine::cache::Origin;
use crate::engine::dbscan::{DbscanParams, dbscan, dbscan_streaming};
use crate::engine::hdbscan::HdbscanParams;
use crate::engine::hierarchical::HierarchicalParams;
use crate::engine::kmeans::minibatch::{MiniBatchParams, minibatch_kmeans};
use crate::engine::kmeans::{KMeansParams, kmeans};
use crate::engine::neighbors::GraphError;
use crate::engine::noise::{NoisePolicy, assign_to_nearest};
use crate::engine::quality::{External, calinski_harabasz, davies_bouldin, encode, internal_indices};
use crate::engine::silhouette::{Silhouette, SilhouetteMode, silhouette};
use crate::engine::{Cancelled, Control, Embeddings, Metric};

/// Per-cluster figures.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ClusterFigures {
    /// Cluster id.
    pub cluster: i32,
    /// Points (after noise handling).
    pub size: usize,
    /// Mean silhouette of its scored points, when defined.
    pub mean_silhouette: Option<f64>,
    /// Mean membership strength (HDBSCAN).
    pub mean_membership: Option<f64>,
}

/// What a clustering leaves for a saved model besides its labels.
#[derive(Clone, Debug, PartialEq)]
pub enum FitData {
    /// K-means' centroids (k×d, row-major, in the metric's space: unit rows under cosine); the
    /// labels are every row's exact nearest centroid.
    Centroids(std::sync::Arc<Vec<f32>>),
    /// DBSCAN's verdict per row: a core point or not.
    Core(std::sync::Arc<Vec<bool>>),
    /// HDBSCAN's condensed tree and core distances, to place new rows.
    Hdbscan(std::sync::Arc<crate::engine::hdbscan::Predictor>),
}

/// A finished clustering with its quality figures.
#[derive(Clone, Debug)]
pub struct ClusterOutcome {
    /// What was asked.
    pub request: ClusterRequest,
    /// Cluster of every row after noise handling (−1 = noise when kept).
    pub labels: Vec<i32>,
    /// The algorithm's own verdict per row: true for noise. Empty for algorithms without noise.
    pub is_noise: Vec<bool>,
    /// Rows per cluster id (after noise handling).
    pub sizes: Vec<usize>,
    /// Clusters found.
    pub n_clusters: usize,
    /// Points the algorithm called noise.
    pub n_noise: usize,
    /// K-means objective (K-means only).
    pub inertia: Option<f64>,
    /// Lloyd iterations (K-means) or batches (mini-batch).
    pub n_iter: Option<usize>,
    /// Whether K-means converged.
    pub converged: Option<bool>,
    /// HDBSCAN membership strengths.
    pub probabilities: Option<Vec<f64>>,
    /// The merge tree the labels were cut from (hierarchical clustering).
    pub dendrogram: Option<std::sync::Arc<crate::engine::hierarchical::Dendrogram>>,
    /// What a saved model needs besides the labels (K-means' centroids, DBSCAN's core points).
    pub fit: Option<FitData>,
    /// The silhouette of the algorithm's labels (noise excluded), or why there is none.
    pub silhouette: Result<Silhouette, String>,
    /// Davies-Bouldin (noise excluded), or why it is undefined.
    pub davies_bouldin: Result<f64, String>,
    /// Calinski-Harabasz (noise excluded), or why it is undefined.
    pub calinski_harabasz: Result<f64, String>,
    /// Per-cluster size, mean silhouette and membership.
    pub clusters: Vec<ClusterFigures>,
    /// Remarks for the reader: what was reused, what was approximated.
    pub notes: Vec<String>,
    /// Wall time of the clustering.
    pub cluster_ms: f64,
    /// Wall time of the silhouette.
    pub silhouette_ms: f64,
    /// Wall time of Davies-Bouldin and Calinski-Harabasz.
    pub indices_ms: f64,
    /// `Some(what it is)` for a first answer shown until the seeded result arrives
    /// ([`run_preview`]); never exported or saved.
    pub preview: Option<String>,
    /// `Some(what it is)` for the seeded labels shown with their figures on a sample while the
    /// exact figures are computed ([`run_cluster_then_exact`]); never exported or saved.
    pub exact_follows: Option<String>,
}

impl ClusterOutcome {
    /// Whether this is the result to keep: the seeded labels with their exact figures.
    #[must_use]
    pub fn is_final(&self) -> bool {
        self.preview.is_none() && self.exact_follows.is_none()
    }
}

impl ClusterOutcome {
    #[cfg(feature = "io")]
    /// The result columns of an export: labels, the given silhouette values and map
    /// coordinates, the noise verdict when noise was reassigned, HDBSCAN memberships.
    #[must_use]
    pub fn export_columns<'a>(&'a self, silhouette: &'a [f32], xy: &'a [[f32; 2]]) -> crate::data::ExportColumns<'a> {
        let reassigned = self.request.noise == NoisePolicy::Nearest && !self.is_noise.is_empty();
        crate::data::ExportColumns {
            labels: &self.labels,
            silhouette,
            xy,
            is_noise: reassigned.then_some(self.is_noise.as_slice()),
            membership: self.probabilities.as_deref(),
        }
    }
}

/// `labels` with each group of rows in `manual` made a new cluster (rows out of range are
/// ignored); clusters left empty disappear and the others keep their order, numbered from 0.
#[must_use]
pub fn apply_manual(labels: &[i32], manual: &[Vec<u32>]) -> Vec<i32> {
    let mut out = labels.to_vec();
    let mut next = out.iter().copied().max().unwrap_or(-1).max(-1) + 1;
    for group in manual {
        let mut used = false;
        for &r in group {
            if let Some(l) = out.get_mut(r as usize) {
                *l = next;
                used = true;
            }
        }
        next += i32::from(used);
    }
    // Compact: ids in order of their first appearance in the old numbering.
    let top = usize::try_from(next).unwrap_or(0);
    let mut present = vec![false; top];
    for &l in &out {
        if let Ok(c) = usize::try_from(l) {
            present[c] = true;
        }
    }
    let mut map = vec![-1i32; top];
    let mut id = 0;
    for (c, &p) in present.iter().enumerate() {
        if p {
            map[c] = id;
            id += 1;
        }
    }
    for l in &mut out {
        if let Ok(c) = usize::try_from(*l) {
            *l = map[c];
        }
    }
    out
}

/// Milliseconds since `t`.
#[must_use]
pub fn elapsed_ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// The algorithm's raw result.
#[derive(Clone)]
struct Raw {
    labels: Vec<i32>,
    inertia: Option<f64>,
    n_iter: Option<usize>,
    converged: Option<bool>,
    probabilities: Option<Vec<f64>>,
    has_noise: bool,
    notes: Vec<String>,
    dendrogram: Option<std::sync::Arc<crate::engine::hierarchical::Dendrogram>>,
    fit: Option<FitData>,
}

fn to_i32(labels: &[u32]) -> Vec<i32> {
    // Cluster ids are below k ≤ n, which the loaders keep below i32::MAX.
    #[expect(clippy::cast_possible_wrap, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
    labels.iter().map(|&l| l as i32).collect()
}

fn reuse_note(what: &str, origin: Origin, notes: &mut Vec<String>) {
    if origin == Origin::Cached {
        notes.push(format!("reused the {what} of an earlier run"));
    }
}

fn run_algorithm(emb: &Embeddings, algo: &Algorithm, interactive: bool, ctl: &Control) -> Result<Raw, RunError> {
    let n = emb.raw().n();
    let mut notes = Vec::new();
    let plain = |labels: Vec<i32>, notes: Vec<String>| Raw {
        labels,
        inertia: None,
        n_iter: None,
        converged: None,
        probabilities: None,
        has_noise: false,
        notes,
        dendrogram: None,
        fit: None,
    };
    Ok(match algo {
        Algorithm::Kmeans(_) | Algorithm::MinibatchKmeans(_) => {
            let km = match algo {
                Algorithm::Kmeans(p) => kmeans(emb, &p.check(n).map_err(ParamError::from)?, ctl)?,
                Algorithm::MinibatchKmeans(p) => minibatch_kmeans(emb, &p.check(n).map_err(ParamError::from)?, ctl)?,
                _ => unreachable!("matched above"),
            };
            let labels = to_i32(&km.labels);
            Raw {
                inertia: Some(km.inertia),
                n_iter: Some(km.n_iter),
                converged: Some(km.converged),
                fit: Some(FitData::Centroids(std::sync::Arc::new(km.centroids))),
                ..plain(labels, notes)
            }
        }
        Algorithm::Dbscan(p) => {
            let headroom = if interactive { 1.25 } else { 1.0 };
            // The window keeps an index so that the next eps costs O(n); a one-off run labels
            // straight from the graph.
            let stored = if interactive {
                emb.dbscan_index(p.metric, p.eps, headroom, p.min_samples, ctl).map(|(ix, origin)| {
                    reuse_note("neighbourhood graph", origin, &mut notes);
                    ix.labels(p.eps)
                })
            } else {
                emb.radius_graph(p.metric, p.eps, headroom, ctl).and_then(|(graph, _)| Ok(dbscan(&graph, p.eps, p.min_samples, ctl)?))
            };
            let r = match stored {
                Ok(r) => r,
                Err(GraphError::TooDense { per_point, .. }) => {
                    notes.push(format!(
                        "at this eps the neighbourhood graph would hold over {} pairs (≥ {per_point:.0} per point), too many to keep: \
                         DBSCAN ran over the distances without storing them, so the next eps computes them again",
                        crate::engine::neighbors::MAX_RADIUS_PAIRS
                    ));
                    dbscan_streaming(emb, p.metric, p.eps, p.min_samples, ctl)?
                }
                Err(GraphError::Cancelled) => return Err(RunError::Cancelled),
            };
            Raw { has_noise: true, fit: Some(FitData::Core(std::sync::Arc::new(r.core))), ..plain(r.labels, notes) }
        }
        Algorithm::Hierarchical(p) => {
            let cfg = p.check(n).map_err(ParamError::from)?;
            let (tree, origin) = emb.dendrogram(cfg.tree, ctl)?;
            reuse_note("dendrogram", origin, &mut notes);
            if tree.leaf_of.is_some() {
                if p.k > tree.n {
                    return Err(ParamError::MicroClusters { dense_max: crate::engine::hierarchical::DENSE_MAX, leaves: tree.n }.into());
                }
                notes.push(format!(
                    "the tree was built on {} K-means micro-clusters, not on single rows (more than {} rows)",
                    tree.n,
                    crate::engine::hierarchical::DENSE_MAX
                ));
            }
            Raw { dendrogram: Some(std::sync::Arc::clone(&tree)), ..plain(tree.cut(p.k), notes) }
        }
        Algorithm::Hdbscan(p) => {
            let cfg = p.check(n).map_err(ParamError::from)?;
            let (tree, origin) = emb.hdbscan_tree(p.metric, cfg.rank(), ctl)?;
            reuse_note("spanning tree", origin, &mut notes);
            if let Some((k, pieces)) = tree.from_graph {
                notes.push(format!(
                    "more rows than the full distance matrix allows: the spanning tree was built from the exact \
                     {k}-nearest-neighbour graph, an approximation{}",
                    if pieces > 1 {
                        format!(" ({pieces} pieces it leaves unconnected were joined at infinite distance)")
                    } else {
                        String::new()
                    }
                ));
            }
            let r = tree.select(p.min_cluster_size, p.selection, p.cluster_selection_epsilon);
            let fit = Some(FitData::Hdbscan(std::sync::Arc::new(crate::engine::hdbscan::Predictor::new(&tree, &r))));
            Raw { has_noise: true, fit, probabilities: Some(r.probabilities), ..plain(r.labels, notes) }
        }
    })
}

/// Clusters and scores: the same code path for the window and the command line, so the same
/// settings give the same labels in both.
pub fn run_cluster(emb: &Embeddings, req: &ClusterRequest, ctl: &Control) -> Result<ClusterOutcome, RunError> {
    run_cluster_then_exact(emb, req, ctl, None)
}

/// Rows from which the window shows the seeded labels with their figures on a sample first
/// ([`run_cluster_then_exact`]): at 1M × 384 the exact silhouette and indices over every row
/// take 1.5–2.5 s after the clustering.
pub const EXACT_LATER_ROWS: usize = 200_000;

/// [`run_cluster`], and from [`EXACT_LATER_ROWS`] rows (when no noise is reassigned) first
/// `sampled(the seeded labels with the silhouette and indices on a fixed sample)`, its
/// `exact_follows` saying so, before the exact figures are computed and returned.
pub fn run_cluster_then_exact(
    emb: &Embeddings,
    req: &ClusterRequest,
    ctl: &Control,
    sampled: Option<&(dyn Fn(ClusterOutcome) + Sync)>,
) -> Result<ClusterOutcome, RunError> {
    run_with(emb, req, ctl, sampled, Scoring::Request)
}

/// [`run_cluster`] without the silhouette and the quality indices (their fields say "not
/// computed"): the labels, noise handling and fit data only, for callers that score
/// separately (the Python package's `fit`).
pub fn run_cluster_unscored(emb: &Embeddings, req: &ClusterRequest, ctl: &Control) -> Result<ClusterOutcome, RunError> {
    run_with(emb, req, ctl, None, Scoring::Skip)
}

fn run_with(
    emb: &Embeddings,
    req: &ClusterRequest,
    ctl: &Control,
    sampled: Option<&(dyn Fn(ClusterOutcome) + Sync)>,
    scoring: Scoring,
) -> Result<ClusterOutcome, RunError> {
    let n = emb.raw().n();
    req.algorithm.check(n)?;
    let k = req.algorithm.k();
    if let Some(k) = k.filter(|&k| k > 1) {
        let distinct = emb.distinct_rows();
        if k > distinct {
            return Err(ParamError::TooFewDistinct { k, distinct, n }.into());
        }
    }
    let metric = req.algorithm.metric();
    let t = Instant::now();
    // The space the algorithm runs in: the full embedding, or a UMAP of it (euclidean there).
    let reduced = match &req.reduce {
        None => None,
        Some(r) => {
            ctl.progress("UMAP reduction", 0.0);
            Some(emb.reduced(metric, r.dim, &r.umap, ctl)?)
        }
    };
    let (space_emb, algorithm) = match &reduced {
        None => (emb, req.algorithm.clone()),
        Some((e, _, _)) => (e.as_ref(), req.algorithm.with_metric(Metric::Euclidean)),
    };
    let mut raw = run_algorithm(space_emb, &algorithm, req.interactive, ctl)?;
    if let (Some(r), Some((_, red, origin))) = (&req.reduce, &reduced) {
        let how = if *origin == Origin::Cached { "kept".to_string() } else { format!("{:.1} s", red.ms / 1e3) };
        let graph = red.knn.as_ref().map_or_else(String::new, |g| format!(", approximate neighbours (recall {:.3})", g.recall));
        raw.notes.insert(
            0,
            format!(
                "clustered on a {} of the embedding ({} start{graph}, {how}; euclidean there); the quality indices are in the full {}-d space, {metric}",
                r.describe(),
                red.init.describe(),
                emb.raw().d()
            ),
        );
    }
    if !req.manual.is_empty() {
        let moved: usize = req.manual.iter().map(Vec::len).sum();
        raw.labels = apply_manual(&raw.labels, &req.manual);
        raw.notes.push(format!("{} cluster(s) made by hand from {moved} selected rows", req.manual.len()));
        // The tree's cuts no longer describe these labels, nor the centroids their means.
        raw.dendrogram = None;
        if matches!(raw.fit, Some(FitData::Centroids(_))) {
            raw.fit = None;
        }
        raw.probabilities = None;
    }
    let cluster_ms = elapsed_ms(t);
    let reassigns = req.noise == NoisePolicy::Nearest && raw.labels.iter().any(|&l| l < 0);
    if let Some(sampled) = sampled.filter(|_| n >= EXACT_LATER_ROWS && !reassigns) {
        let mut o = finish(emb, space_emb, &algorithm, req, raw.clone(), cluster_ms, Scoring::Preview, ctl)?;
        o.exact_follows = Some(format!(
            "the seeded result; its silhouette and indices are on a fixed sample of {PREVIEW_EVAL_ROWS} rows, the exact figures over all {n} rows follow"
        ));
        sampled(o);
        ctl.progress("exact silhouette and indices over every row", 0.0);
    }
    finish(emb, space_emb, &algorithm, req, raw, cluster_ms, scoring, ctl)
}

/// Rows from which the window shows a preview before the seeded result: below, that result
/// itself comes within about a tenth of a second.
pub const PREVIEW_MIN_ROWS: usize = 5000;

/// A first answer for `req` within a few tens of milliseconds, for the requests that have one
/// (on the full embedding, from [`PREVIEW_MIN_ROWS`] rows, no hand-made clusters):
/// - K-means and mini-batch K-means: K-means on a fixed sample from the clusters on screen
///   (`previous`), every row labelled;
/// - HDBSCAN whose min_samples changed: the new min_cluster_size selected from the spanning
///   tree kept for the old min_samples, while the new tree is built.
///
/// Its quality indices are computed on a fixed sample of up to 20,000 rows, the silhouette on a
/// sample of those. Its notes open with
/// what it is, and so does its `preview` field. `Ok(None)`: no preview for this request.
pub fn run_preview(
    emb: &Embeddings,
    req: &ClusterRequest,
    previous: Option<&[i32]>,
    ctl: &Control,
) -> Result<Option<ClusterOutcome>, RunError> {
    let n = emb.raw().n();
    if n < PREVIEW_MIN_ROWS || req.reduce.is_some() || !req.manual.is_empty() {
        return Ok(None);
    }
    let t = Instant::now();
    let (raw, what) = match &req.algorithm {
        algorithm @ (Algorithm::Kmeans(_) | Algorithm::MinibatchKmeans(_)) => {
            let params = match algorithm {
                Algorithm::MinibatchKmeans(p) => KMeansParams { k: p.k, metric: p.metric, seed: p.seed, ..KMeansParams::default() },
                Algorithm::Kmeans(p) => p.clone(),
                _ => unreachable!("matched above"),
            };
            let Ok(cfg) = params.check(n) else { return Ok(None) };
            if params.k > emb.distinct_rows() {
                return Ok(None);
            }
            let (km, rep) = crate::engine::kmeans::preview::kmeans_preview(emb, &cfg, previous, ctl)?;
            let from = if rep.kept > 0 { format!("from the {} clusters on screen", rep.kept) } else { "from k-means++".to_string() };
            let what = format!("preview: K-means on {} sampled rows {from}, every row to its nearest centre; refining…", rep.sample);
            let raw = Raw {
                labels: to_i32(&km.labels),
                inertia: Some(km.inertia),
                n_iter: Some(km.n_iter),
                converged: Some(false),
                probabilities: None,
                has_noise: false,
                notes: Vec::new(),
                dendrogram: None,
                fit: None,
            };
            (raw, what)
        }
        Algorithm::Hdbscan(p) => {
            if p.check(n).is_err() {
                return Ok(None);
            }
            let Some(tree) = emb.kept_hdbscan_tree(p.metric).filter(|t| t.min_samples != p.min_samples()) else { return Ok(None) };
            let r = tree.select(p.min_cluster_size, p.selection, p.cluster_selection_epsilon);
            let what = format!(
                "preview: min_cluster_size {} selected from the spanning tree of min_samples {}; the tree of min_samples {} follows",
                p.min_cluster_size,
                tree.min_samples,
                p.min_samples()
            );
            let raw = Raw {
                labels: r.labels,
                inertia: None,
                n_iter: None,
                converged: None,
                probabilities: Some(r.probabilities),
                has_noise: true,
                notes: Vec::new(),
                dendrogram: None,
                fit: None,
            };
            (raw, what)
        }
        _ => return Ok(None),
    };
    let raw = Raw { notes: vec![what.clone()], ..raw };
    let mut o = finish(emb, emb, &req.algorithm, req, raw, elapsed_ms(t), Scoring::Preview, ctl)?;
    o.preview = Some(what);
    Ok(Some(o))
}

/// A preview of a K-means run between its restarts: the best labels after `done` of `total`
/// restarts (each converged), scored as a preview; `ran_ms` is how long the run has taken so far.
pub fn restart_preview(
    emb: &Embeddings,
    req: &ClusterRequest,
    labels: &[u32],
    inertia: f64,
    (done, total): (usize, usize),
    ran_ms: f64,
    ctl: &Control,
) -> Result<ClusterOutcome, RunError> {
    let what = format!("preview: the best of {done} of {total} K-means restarts (converged); the others follow, then the seeded result");
    let raw = Raw {
        labels: to_i32(labels),
        inertia: Some(inertia),
        n_iter: None,
        converged: Some(true),
        probabilities: None,
        has_noise: false,
        notes: vec![what.clone()],
        dendrogram: None,
        fit: None,
    };
    let mut o = finish(emb, emb, &req.algorithm, req, raw, ran_ms, Scoring::Preview, ctl)?;
    o.preview = Some(what);
    Ok(o)
}

/// Rows a preview's quality indices are computed on (a fixed sample above).
const PREVIEW_EVAL_ROWS: usize = 20_000;

/// How [`finish`] scores a labelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scoring {
    /// As the request says, on every row.
    Request,
    /// A preview's: sampled silhouette, and every index on a fixed sample of rows.
    Preview,
    /// None: the labels alone.
    Skip,
}

/// What the silhouette and the indices say when [`run_cluster_unscored`] left them out.
pub const NOT_COMPUTED: &str = "not computed";

/// Noise handling, sizes and the quality indices of a labelling `raw` made in `space_emb`
/// (the full embedding `emb` or a reduction of it); the indices in `emb`.
#[expect(clippy::too_many_arguments, reason = "the kernel's inputs are separate slices and sizes; a struct would only name them again")]
fn finish(
    emb: &Embeddings,
    space_emb: &Embeddings,
    algorithm: &Algorithm,
    req: &ClusterRequest,
    raw: Raw,
    cluster_ms: f64,
    scoring: Scoring,
    ctl: &Control,
) -> Result<ClusterOutcome, RunError> {
    let n = emb.raw().n();
    let metric = req.algorithm.metric();
    let own = raw.labels;
    let n_noise = own.iter().filter(|&&l| l < 0).count();
    let n_clusters = own.iter().copied().max().map_or(0, |m| usize::try_from(m + 1).unwrap_or(0));
    let mut notes = raw.notes;
    let is_noise: Vec<bool> = if raw.has_noise { own.iter().map(|&l| l < 0).collect() } else { Vec::new() };
    let labels = if req.noise == NoisePolicy::Nearest && n_noise > 0 {
        if n_noise == n {
            notes.push("every point is noise: nothing to assign noise to".into());
            own.clone()
        } else {
            notes.push(format!("{n_noise} noise points assigned to the cluster of their nearest clustered point"));
            assign_to_nearest(space_emb, algorithm.metric(), &own, ctl)?
        }
    } else {
        own.clone()
    };
    let mut sizes = vec![0usize; n_clusters];
    for &l in &labels {
        if let Ok(c) = usize::try_from(l) {
            sizes[c] += 1;
        }
    }
    // Quality of the algorithm's own verdict: noise excluded.
    let seed = req.algorithm.seed();
    // A preview scores a fixed sample of rows, copied out once, so that its cost does not grow
    // with the data.
    let sample = (scoring == Scoring::Preview && n > PREVIEW_EVAL_ROWS).then(|| emb.row_sample(metric, seed, PREVIEW_EVAL_ROWS));
    let silhouette_mode = if scoring == Scoring::Preview { SilhouetteMode::Sample } else { req.silhouette };
    let sampled_labels: Option<Vec<i32>> = sample.as_ref().map(|s| s.rows.iter().map(|&r| own[r]).collect());
    let (score_emb, scored_labels) = match (&sample, &sampled_labels) {
        (Some(s), Some(l)) => (&s.emb, l.as_slice()),
        _ => (emb, own.as_slice()),
    };
    let t = Instant::now();
    let computed = (scoring != Scoring::Skip).then(|| silhouette(score_emb, scored_labels, metric, silhouette_mode, seed, ctl));
    let sil = match computed.unwrap_or(Err(crate::engine::silhouette::SilhouetteError::NotComputed)) {
        Ok(mut s) => {
            s.n_noise = n_noise;
            if let Some(sample) = &sample {
                // Per-row values back in place: NaN outside the sample, as for unscored rows.
                let mut values = vec![f32::NAN; n];
                for (&r, &v) in sample.rows.iter().zip(&s.values) {
                    values[r] = v;
                }
                s.values = values;
            }
            Ok(s)
        }
        Err(crate::engine::silhouette::SilhouetteError::Cancelled) => return Err(RunError::Cancelled),
        Err(e) => Err(e.to_string()),
    };
    let silhouette_ms = elapsed_ms(t);
    ctl.check()?;
    let t = Instant::now();
    let space = score_emb.points(metric);
    let (davies_bouldin, calinski_harabasz) = if scoring == Scoring::Skip {
        (Err(NOT_COMPUTED.to_string()), Err(NOT_COMPUTED.to_string()))
    } else {
        let (db, ch) = internal_indices(space, scored_labels);
        (db.map_err(|e| e.to_string()), ch.map_err(|e| e.to_string()))
    };
    let indices_ms = elapsed_ms(t);
    let clusters = per_cluster(&sizes, &own, sil.as_ref().ok(), raw.probabilities.as_deref());
    Ok(ClusterOutcome {
        request: req.clone(),
        labels,
        is_noise,
        sizes,
        n_clusters,
        n_noise,
        inertia: raw.inertia,
        n_iter: raw.n_iter,
        converged: raw.converged,
        probabilities: raw.probabilities,
        dendrogram: raw.dendrogram,
        fit: raw.fit,
        silhouette: sil,
        davies_bouldin,
        calinski_harabasz,
        clusters,
        notes,
        cluster_ms,
        silhouette_ms,
        indices_ms,
        preview: None,
        exact_follows: None,
    })
}

fn per_cluster(sizes: &[usize], own: &[i32], sil: Option<&Silhouette>, prob: Option<&[f64]>) -> Vec<ClusterFigures> {
    let k = sizes.len();
    let mut s_sum = vec![(0.0f64, 0usize); k];
    let mut p_sum = vec![(0.0f64, 0usize); k];
    for (i, &o) in own.iter().enumerate() {
        if let Ok(c) = usize::try_from(o) {
            if let Some(v) = sil.map(|s| s.values[i]).filter(|v| v.is_finite()) {
                s_sum[c].0 += f64::from(v);
                s_sum[c].1 += 1;
            }
            if let Some(p) = prob {
                p_sum[c].0 += p[i];
                p_sum[c].1 += 1;
            }
        }
    }
    let mean = |(s, c): (f64, usize)| (c > 0).then(|| s / c as f64);
    (0..k)
        .map(|c| ClusterFigures {
            cluster: i32::try_from(c).unwrap_or(i32::MAX),
            size: sizes[c],
            mean_silhouette: mean(s_sum[c]),
            mean_membership: prob.and(mean(p_sum[c])),
        })
        .collect()
}

/// Agreement of `labels` with a reference column (noise counts as one more cluster).
#[must_use]
pub fn external_indices(truth: &[String], labels: &[i32]) -> External {
    let (t, classes) = encode(truth);
    let (p, clusters) = encode(labels);
    External::compare(&t, classes.len(), &p, clusters.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_parameter_rule_refuses_by_its_own_variant_and_the_valid_settings_pass() {
        use crate::engine::dbscan::DbscanParamError as D;
        use crate::engine::hdbscan::HdbscanParamError as H;
        use crate::engine::hierarchical::{HierarchicalParamError as A, Linkage};
        use crate::engine::kmeans::KMeansParamError as K;
        use crate::engine::kmeans::minibatch::MiniBatchParamError as B;
        let n = 10;
        let km = |f: fn(&mut KMeansParams)| {
            let mut p = KMeansParams { k: 3, ..Default::default() };
            f(&mut p);
            Algorithm::Kmeans(p)
        };
        let mb = |f: fn(&mut MiniBatchParams)| {
            let mut p = MiniBatchParams { k: 3, ..Default::default() };
            f(&mut p);
            Algorithm::MinibatchKmeans(p)
        };
        let db = |eps: f32, min_samples: usize| Algorithm::Dbscan(DbscanParams { eps, min_samples, metric: Metric::Euclidean });
        let hc = |k: usize, linkage: Linkage, metric: Metric| Algorithm::Hierarchical(HierarchicalParams { k, linkage, metric });
        let hd = |f: fn(&mut HdbscanParams)| {
            let mut p = HdbscanParams { min_cluster_size: 3, ..Default::default() };
            f(&mut p);
            Algorithm::Hdbscan(p)
        };
        let valid = [km(|_| {}), mb(|_| {}), db(0.5, 3), hc(3, Linkage::Average, Metric::Cosine), hd(|_| {})];
        for a in &valid {
            assert!(a.check(n).is_ok(), "{a:?}");
        }
        let refused: Vec<(Algorithm, fn(&ParamError) -> bool)> = vec![
            (km(|p| p.k = 0), |e| matches!(e, ParamError::Kmeans(K::BadK { k: 0, n: 10 }))),
            (km(|p| p.k = 11), |e| matches!(e, ParamError::Kmeans(K::BadK { k: 11, n: 10 }))),
            (km(|p| p.n_init = 0), |e| matches!(e, ParamError::Kmeans(K::ZeroInit))),
            (km(|p| p.max_iter = 0), |e| matches!(e, ParamError::Kmeans(K::ZeroIter))),
            (km(|p| p.tol = f64::NAN), |e| matches!(e, ParamError::Kmeans(K::BadTol))),
            (km(|p| p.tol = -1.0), |e| matches!(e, ParamError::Kmeans(K::BadTol))),
            (mb(|p| p.k = 11), |e| matches!(e, ParamError::MiniBatch(B::BadK { k: 11, n: 10 }))),
            (mb(|p| p.batch_size = 0), |e| matches!(e, ParamError::MiniBatch(B::Zero))),
            (mb(|p| p.max_epochs = 0), |e| matches!(e, ParamError::MiniBatch(B::Zero))),
            (mb(|p| p.n_init = 0), |e| matches!(e, ParamError::MiniBatch(B::Zero))),
            (db(0.0, 3), |e| matches!(e, ParamError::Dbscan(D::Eps(_)))),
            (db(f32::INFINITY, 3), |e| matches!(e, ParamError::Dbscan(D::Eps(_)))),
            (db(0.5, 0), |e| matches!(e, ParamError::Dbscan(D::MinSamples))),
            (hc(3, Linkage::Ward, Metric::Cosine), |e| matches!(e, ParamError::Hierarchical(A::WardNeedsEuclidean))),
            (hc(11, Linkage::Average, Metric::Euclidean), |e| matches!(e, ParamError::Hierarchical(A::K { k: 11, n: 10 }))),
            (hd(|p| p.min_cluster_size = 1), |e| matches!(e, ParamError::Hdbscan(H::MinClusterSize(1)))),
            (hd(|p| p.min_samples = Some(0)), |e| matches!(e, ParamError::Hdbscan(H::MinSamples { got: 0, n: 10 }))),
            (hd(|p| p.min_samples = Some(11)), |e| matches!(e, ParamError::Hdbscan(H::MinSamples { got: 11, n: 10 }))),
            (hd(|p| p.cluster_selection_epsilon = -0.5), |e| matches!(e, ParamError::Hdbscan(H::Epsilon(_)))),
        ];
        for (a, is_rule) in &refused {
            let e = a.check(n).expect_err(&format!("{a:?} passed"));
            assert!(is_rule(&e), "{a:?} refused as {e:?}");
        }
    }

    #[test]
    fn refused_settings_arrive_as_the_refusing_rule_with_the_message_unchanged() {
        use crate::engine::Matrix;
        // Three distinct points among six rows.
        let data: Vec<f32> = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0].repeat(2);
        let emb = Embeddings::new(Matrix::new(data, 6, 2).unwrap());
        let ask = |algorithm| run_cluster(&emb, &ClusterRequest { algorithm, ..ClusterRequest::default() }, &Control::default());
        let km = |k| Algorithm::Kmeans(KMeansParams { k, ..Default::default() });
        match ask(km(4)) {
            Err(RunError::Params(e @ ParamError::TooFewDistinct { k: 4, distinct: 3, n: 6 })) => assert_eq!(
                e.to_string(),
                "k=4 is more than the 3 distinct points in the data (6 rows, some of them identical); choose k ≤ 3"
            ),
            other => panic!("{:?}", other.map(|o| o.sizes)),
        }
        match ask(km(7)) {
            Err(RunError::Params(ParamError::Kmeans(crate::engine::kmeans::KMeansParamError::BadK { k: 7, n: 6 }))) => {}
            other => panic!("{:?}", other.map(|o| o.sizes)),
        }
        let dbscan =
            Algorithm::Dbscan(crate::engine::dbscan::DbscanParams { eps: -1.0, min_samples: 2, metric: crate::engine::Metric::Euclidean });
        assert!(matches!(ask(dbscan), Err(RunError::Params(ParamError::Dbscan(_)))));
    }

    #[test]
    fn session_files_round_trip_and_bad_ones_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let s = SessionFile {
            embedmap_session: SESSION_VERSION,
            file: Some(dir.path().join("data.parquet")),
            embedding_columns: Some("emb_*".into()),
            drop_nonfinite: true,
            request: ClusterRequest::default(),
            cluster_names: [(2, "refunds".to_string())].into_iter().collect(),
            rows: Some(10),
            sizes: Some(vec![4, 6]),
            projection: Some(crate::engine::project::ProjectionParams::Umap {
                metric: crate::engine::Metric::Cosine,
                params: crate::engine::project::umap::UmapParams { min_dist: 0.25, seed: 7, ..Default::default() },
            }),
        };
        s.write(&path).unwrap();
        assert_eq!(SessionFile::read(&path).unwrap(), s);
        std::fs::write(&path, "not json").unwrap();
        assert!(SessionFile::read(&path).unwrap_err().contains("is not a session file"));
        std::fs::write(&path, "{\"embedmap_session\": 99, \"request\": {}}").unwrap();
        assert!(SessionFile::read(&path).unwrap_err().contains("newer embedmap"));
        std::fs::write(&path, "{\"embedmap_session\": 1}").unwrap();
        assert!(SessionFile::read(&path).unwrap_err().contains("damaged"));
        assert!(SessionFile::read(&dir.path().join("missing.json")).unwrap_err().contains("cannot read"));
    }

    #[test]
    fn big_results_show_their_labels_first_with_sampled_figures_then_the_exact_ones() {
        use crate::engine::{Matrix, Metric, rng::Rng};
        let (n, d) = (EXACT_LATER_ROWS, 8);
        let mut rng = Rng::new(5);
        #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
        let data: Vec<f32> = (0..n * d).map(|i| ((i / d) % 4 == i % d) as u8 as f32 + 0.3 * rng.next_f64() as f32).collect();
        let emb = Embeddings::new(Matrix::new(data, n, d).unwrap());
        let req = ClusterRequest {
            algorithm: Algorithm::Kmeans(KMeansParams { k: 4, metric: Metric::Cosine, n_init: 1, ..KMeansParams::default() }),
            ..ClusterRequest::default()
        };
        let first = std::sync::Mutex::new(Vec::new());
        let exact =
            run_cluster_then_exact(&emb, &req, &Control::default(), Some(&|o: ClusterOutcome| first.lock().unwrap().push(o))).unwrap();
        let first = first.into_inner().unwrap();
        assert_eq!(first.len(), 1);
        let s = &first[0];
        assert!(s.preview.is_none() && s.exact_follows.as_deref().is_some_and(|w| w.contains("exact figures")), "{:?}", s.exact_follows);
        assert!(!s.is_final() && exact.is_final());
        // The same seeded labels; the first figures come from the sample, the last from every row.
        assert_eq!(s.labels, exact.labels);
        assert_eq!(s.labels, run_cluster(&emb, &req, &Control::default()).unwrap().labels);
        let (ss, es) = (s.silhouette.as_ref().unwrap(), exact.silhouette.as_ref().unwrap());
        assert!(!ss.exact && es.exact && es.n_scored == n && ss.n_scored < n);
        let (lo, hi) = ss.ci95.unwrap();
        assert!(lo - 0.02 <= es.mean && es.mean <= hi + 0.02, "{} not near [{lo}, {hi}]", es.mean);
        // Below the size, and without a window to show it, there is no first stage.
        let small = Embeddings::new(emb.raw().select_rows(&(0..1000).collect::<Vec<_>>()));
        let called = std::sync::atomic::AtomicBool::new(false);
        let _ =
            run_cluster_then_exact(&small, &req, &Control::default(), Some(&|_| called.store(true, std::sync::atomic::Ordering::Relaxed)));
        assert!(!called.into_inner());
    }

    #[test]
    fn hand_made_clusters_take_their_rows_and_empty_clusters_disappear() {
        let labels = [0, 0, 1, 1, 2, -1, 2];
        // Rows 2 and 3 (all of cluster 1) and the noise row 5 become a new cluster.
        let out = apply_manual(&labels, &[vec![2, 3, 5, 99]]);
        assert_eq!(out, vec![0, 0, 2, 2, 1, 2, 1]);
        // Two groups, the second taking a row of the first.
        let out = apply_manual(&labels, &[vec![0], vec![0, 1]]);
        assert_eq!(out, vec![2, 2, 0, 0, 1, -1, 1]);
        assert_eq!(apply_manual(&labels, &[]), labels.to_vec());
    }
}
