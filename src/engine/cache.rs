//! Structures derived from a dataset that later requests reuse: the neighbourhood graphs, the
//! dendrogram, the HDBSCAN tree and UMAP's fuzzy graph with its start. One of each kind is kept per dataset (the latest), so a new
//! eps, k or min_cluster_size is answered without computing a distance.

use std::sync::{Arc, Mutex, PoisonError};

use crate::engine::dbscan::DbscanIndex;
use crate::engine::hdbscan::{CoreRank, HdbscanTree};
use crate::engine::hierarchical::{Dendrogram, TreeSpec, dendrogram};
use crate::engine::neighbors::ann::{AnnReport, EXACT_MAX, ivf_knn};
use crate::engine::neighbors::{GraphError, KnnGraph, MAX_RADIUS_PAIRS, RadiusGraph, Square};

/// Largest distance matrix the store keeps for HDBSCAN (about 11,500 points): above, each new
/// min_samples computes the distances again rather than hold more memory.
pub const KEEP_SQUARE_BYTES: usize = 512 << 20;
use crate::engine::project::umap::{CheckedUmap, Prepared, ReduceReport, UmapParams, UmapRunError, prepare, reduce};
use crate::engine::{Cancelled, Control, Embeddings, Metric};

/// The per-dataset store (inside [`Embeddings`]).
#[derive(Debug, Default)]
pub struct Derived {
    radius: Mutex<Option<Arc<RadiusGraph>>>,
    dbscan: Mutex<Option<Arc<DbscanIndex>>>,
    knn: Mutex<Option<Arc<KnnGraph>>>,
    ann: Mutex<Option<(Arc<KnnGraph>, AnnReport, u64)>>,
    dendrogram: Mutex<Option<Arc<Dendrogram>>>,
    hdbscan: Mutex<Option<Arc<HdbscanTree>>>,
    /// HDBSCAN's distance matrix, kept up to [`KEEP_SQUARE_BYTES`] so that a new min_samples
    /// costs core distances and a spanning tree, not n²·d of distances.
    square: Mutex<Option<(Metric, Arc<Square>)>>,
    umap: Mutex<Option<Arc<Prepared>>>,
    reduced: Mutex<Option<ReducedEntry>>,
    /// The latest [`RowSample`], with its metric, seed and size.
    sample: Mutex<Option<(Metric, u64, usize, Arc<RowSample>)>>,
}

/// A fixed sample of a dataset's rows, copied out contiguously: a preview scores its labels on
/// it. Scattered rows are read from memory one by one, which on 100k × 384 made the four passes
/// of the indices over a 20k-row sample cost about 55 ms; over the copy they cost a few.
#[derive(Debug)]
pub struct RowSample {
    /// The rows, in increasing order.
    pub rows: Vec<usize>,
    /// Those rows in the metric's space (unit rows under cosine).
    pub emb: Embeddings,
}

/// A kept UMAP reduction: metric, dimensions, parameters, the rows as embeddings and how they
/// were made.
type ReducedEntry = (Metric, usize, UmapParams, Arc<Embeddings>, Arc<ReduceReport>);

/// Whether a structure came from the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Reused.
    Cached,
    /// Computed now.
    Built,
}

fn get<T: Clone>(m: &Mutex<Option<T>>) -> Option<T> {
    m.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

fn put<T>(m: &Mutex<Option<T>>, v: T) {
    *m.lock().unwrap_or_else(PoisonError::into_inner) = Some(v);
}

impl Embeddings {
    /// The ε-graph covering `eps` in `metric`: reused when one with a radius ≥ eps exists, else
    /// built to `eps × headroom` (≥ 1, so that nearby eps values reuse it; exactly to eps when
    /// that would not fit in memory).
    pub fn radius_graph(&self, metric: Metric, eps: f32, headroom: f32, ctl: &Control) -> Result<(Arc<RadiusGraph>, Origin), GraphError> {
        let d = self.derived();
        if let Some(g) = get(&d.radius).filter(|g| g.metric == metric && g.radius >= eps) {
            return Ok((g, Origin::Cached));
        }
        // Drop the old graph before building a new one: both may be large.
        *d.radius.lock().unwrap_or_else(PoisonError::into_inner) = None;
        let g = match RadiusGraph::build(self, metric, eps * headroom.max(1.0), MAX_RADIUS_PAIRS, ctl) {
            Err(GraphError::TooDense { .. }) if headroom > 1.0 => RadiusGraph::build(self, metric, eps, MAX_RADIUS_PAIRS, ctl)?,
            other => other?,
        };
        let g = Arc::new(g);
        put(&d.radius, Arc::clone(&g));
        Ok((g, Origin::Built))
    }

    /// The DBSCAN index for `min_samples` over a graph covering `eps` (see
    /// [`Embeddings::radius_graph`]): a new eps within the graph's radius then costs O(n).
    pub fn dbscan_index(
        &self,
        metric: Metric,
        eps: f32,
        headroom: f32,
        min_samples: usize,
        ctl: &Control,
    ) -> Result<(Arc<DbscanIndex>, Origin), GraphError> {
        let (graph, graph_origin) = self.radius_graph(metric, eps, headroom, ctl)?;
        let d = self.derived();
        if let Some(ix) = get(&d.dbscan).filter(|ix| ix.min_samples == min_samples && std::ptr::eq(ix.graph(), graph.as_ref())) {
            return Ok((ix, Origin::Cached));
        }
        *d.dbscan.lock().unwrap_or_else(PoisonError::into_inner) = None;
        let ix = Arc::new(DbscanIndex::build(graph, min_samples, ctl)?);
        put(&d.dbscan, Arc::clone(&ix));
        Ok((ix, graph_origin))
    }

    /// The k-nearest-neighbour graph with at least `k` neighbours per point.
    pub fn knn_graph(&self, metric: Metric, k: usize, ctl: &Control) -> Result<(Arc<KnnGraph>, Origin), Cancelled> {
        let d = self.derived();
        let want = k.min(self.raw().n().saturating_sub(1));
        if let Some(g) = get(&d.knn).filter(|g| g.metric == metric && g.k >= want) {
            return Ok((g, Origin::Cached));
        }
        let g = Arc::new(KnnGraph::build(self, metric, k, ctl)?);
        put(&d.knn, Arc::clone(&g));
        Ok((g, Origin::Built))
    }

    /// A k-nearest-neighbour graph for layouts: the exact one up to [`EXACT_MAX`] rows, above
    /// that the inverted-file graph of [`ivf_knn`] (seeded) with its measured recall.
    pub fn layout_knn_graph(
        &self,
        metric: Metric,
        k: usize,
        seed: u64,
        ctl: &Control,
    ) -> Result<(Arc<KnnGraph>, Option<AnnReport>, Origin), Cancelled> {
        if self.raw().n() <= EXACT_MAX {
            let (g, o) = self.knn_graph(metric, k, ctl)?;
            return Ok((g, None, o));
        }
        let d = self.derived();
        let want = k.min(self.raw().n().saturating_sub(1));
        if let Some((g, r, _)) = get(&d.ann).filter(|(g, _, s)| g.metric == metric && g.k >= want && *s == seed) {
            return Ok((g, Some(r), Origin::Cached));
        }
        *d.ann.lock().unwrap_or_else(PoisonError::into_inner) = None;
        let (g, r) = ivf_knn(self, metric, k, seed, ctl)?;
        let g = Arc::new(g);
        put(&d.ann, (Arc::clone(&g), r.clone(), seed));
        Ok((g, Some(r), Origin::Built))
    }

    /// UMAP's fuzzy graph and start for `metric`, n_neighbors and seed (the last one is kept).
    pub fn umap_prepared(&self, metric: Metric, params: &CheckedUmap, ctl: &Control) -> Result<(Arc<Prepared>, Origin), UmapRunError> {
        let d = self.derived();
        if let Some(p) = get(&d.umap).filter(|p| p.metric == metric && p.n_neighbors == params.n_neighbors && p.seed == params.seed) {
            return Ok((p, Origin::Cached));
        }
        let p = Arc::new(prepare(self, metric, params, ctl)?);
        put(&d.umap, Arc::clone(&p));
        Ok((p, Origin::Built))
    }

    /// The rows embedded by UMAP in `dim` dimensions, as embeddings to cluster on, and how they
    /// were made (the last one is kept).
    pub fn reduced(
        &self,
        metric: Metric,
        dim: usize,
        params: &UmapParams,
        ctl: &Control,
    ) -> Result<(Arc<Embeddings>, Arc<ReduceReport>, Origin), UmapRunError> {
        let d = self.derived();
        if let Some((_, _, _, e, r)) = get(&d.reduced).filter(|(m, k, p, _, _)| *m == metric && *k == dim && p == params) {
            return Ok((e, r, Origin::Cached));
        }
        let (points, r) = reduce(self, metric, dim, params, ctl)?;
        let (e, r) = (Arc::new(Embeddings::new(points)), Arc::new(r));
        put(&d.reduced, (metric, dim, params.clone(), Arc::clone(&e), Arc::clone(&r)));
        Ok((e, r, Origin::Built))
    }

    /// The dendrogram `tree` describes.
    pub fn dendrogram(&self, tree: TreeSpec, ctl: &Control) -> Result<(Arc<Dendrogram>, Origin), Cancelled> {
        let d = self.derived();
        if let Some(t) = get(&d.dendrogram).filter(|t| t.linkage == tree.linkage() && t.metric == tree.metric()) {
            return Ok((t, Origin::Cached));
        }
        let t = Arc::new(dendrogram(self, tree, ctl)?);
        put(&d.dendrogram, Arc::clone(&t));
        Ok((t, Origin::Built))
    }

    /// `m` rows drawn from `seed` (every row when `m ≥ n`), copied out in `metric`'s space; the
    /// latest is kept.
    #[must_use]
    pub fn row_sample(&self, metric: Metric, seed: u64, m: usize) -> Arc<RowSample> {
        let d = self.derived();
        if let Some((.., s)) = get(&d.sample).filter(|(mm, ss, c, _)| *mm == metric && *ss == seed && *c == m) {
            return s;
        }
        let n = self.raw().n();
        let mut rows = if m >= n { (0..n).collect() } else { crate::engine::rng::Rng::derive(seed, 0x0065_7661).sample_indices(n, m) };
        rows.sort_unstable();
        let s = Arc::new(RowSample { emb: Embeddings::new(self.points(metric).select_rows(&rows)), rows });
        put(&d.sample, (metric, seed, m, Arc::clone(&s)));
        s
    }

    /// The HDBSCAN tree kept for `metric`, whatever its min_samples (a preview selects from it
    /// while the tree of a new min_samples is built).
    #[must_use]
    pub fn kept_hdbscan_tree(&self, metric: Metric) -> Option<Arc<HdbscanTree>> {
        get(&self.derived().hdbscan).filter(|t| t.metric == metric)
    }

    /// The HDBSCAN tree for `metric` and `min_samples` (exact while the distance matrix fits,
    /// see [`HdbscanTree::build_fitting`]).
    pub fn hdbscan_tree(&self, metric: Metric, rank: CoreRank, ctl: &Control) -> Result<(Arc<HdbscanTree>, Origin), Cancelled> {
        let min_samples = rank.get();
        let d = self.derived();
        if let Some(t) = get(&d.hdbscan).filter(|t| t.metric == metric && t.min_samples == min_samples) {
            return Ok((t, Origin::Cached));
        }
        *d.hdbscan.lock().unwrap_or_else(PoisonError::into_inner) = None;
        let n = self.raw().n();
        let t = if n >= 2 && Square::bytes_for(n) <= KEEP_SQUARE_BYTES {
            let kept = get(&d.square).filter(|(m, _)| *m == metric).map(|(_, s)| s);
            let (square, core) = match kept {
                Some(s) => {
                    let core = s.nearest_by_rows(min_samples - 1);
                    (s, core)
                }
                None => {
                    *d.square.lock().unwrap_or_else(PoisonError::into_inner) = None;
                    let (s, core) = Square::build_with_nearest(self, metric, min_samples - 1, ctl)?;
                    let s = Arc::new(s);
                    put(&d.square, (metric, Arc::clone(&s)));
                    (s, core)
                }
            };
            Arc::new(HdbscanTree::from_square(&square, core, metric, min_samples, ctl)?)
        } else {
            Arc::new(HdbscanTree::build_fitting(self, metric, rank, ctl)?)
        };
        put(&d.hdbscan, Arc::clone(&t));
        Ok((t, Origin::Built))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Matrix;

    #[test]
    fn a_row_sample_is_a_sorted_copy_of_the_metric_space_and_is_kept() {
        let data: Vec<f32> = (0..500 * 4).map(|i| ((i * 7919) % 113) as f32 + 1.0).collect();
        let emb = Embeddings::new(Matrix::new(data, 500, 4).unwrap());
        let s = emb.row_sample(Metric::Cosine, 3, 120);
        assert_eq!(s.rows.len(), 120);
        assert!(s.rows.windows(2).all(|w| w[0] < w[1]));
        for (i, &r) in s.rows.iter().enumerate() {
            assert_eq!(s.emb.raw().row(i), emb.points(Metric::Cosine).row(r));
        }
        assert!(Arc::ptr_eq(&s, &emb.row_sample(Metric::Cosine, 3, 120)));
        assert!(!Arc::ptr_eq(&s, &emb.row_sample(Metric::Cosine, 4, 120)));
        assert_eq!(emb.row_sample(Metric::Euclidean, 3, 900).rows, (0..500).collect::<Vec<_>>());
    }
}
