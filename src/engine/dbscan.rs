//! DBSCAN as scikit-learn defines it, relabelled from a stored neighbourhood graph.
//!
//! A point is *core* when at least `min_samples` points (itself included) lie within `eps`
//! (distance ≤ eps). Core points within `eps` of each other share a cluster (union-find over the
//! graph's edges); a non-core point within `eps` of a core point is a *border* point and joins the
//! cluster of its nearest core neighbour (ties: the lower row index); every other point is noise
//! (−1). Clusters are numbered in the order of their first core point by row, as scikit-learn
//! numbers them; labels then equal scikit-learn's except for border points within reach of two
//! clusters, which scikit-learn gives to whichever cluster its expansion reaches first.
//!
//! Once the [`RadiusGraph`] for a radius exists, any `eps` up to it and any `min_samples`
//! relabel in O(pairs) without computing a distance.

use crate::engine::neighbors::{Pairwise, RadiusGraph};
use crate::engine::unionfind::UnionFind;
use crate::engine::{Cancelled, Control, Embeddings, Metric};

/// DBSCAN settings.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DbscanParams {
    /// Neighbourhood radius, in the metric's distance.
    pub eps: f32,
    /// Points within `eps` (the point included) that make a point core.
    pub min_samples: usize,
    /// Distance.
    pub metric: Metric,
}

impl Default for DbscanParams {
    fn default() -> Self {
        Self { eps: 0.5, min_samples: 5, metric: Metric::Euclidean }
    }
}

/// Settings DBSCAN refuses.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DbscanParamError {
    /// eps not a positive finite number.
    #[error("eps must be a positive number (got {0})")]
    Eps(f32),
    /// min_samples of zero.
    #[error("min_samples must be at least 1 (it counts the point itself)")]
    MinSamples,
}

impl DbscanParams {
    /// Checks the settings.
    pub fn check(&self) -> Result<(), DbscanParamError> {
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(DbscanParamError::Eps(self.eps));
        }
        if self.min_samples == 0 {
            return Err(DbscanParamError::MinSamples);
        }
        Ok(())
    }
}

/// A DBSCAN labelling.
#[derive(Clone, Debug, PartialEq)]
pub struct DbscanResult {
    /// Cluster per point, −1 for noise.
    pub labels: Vec<i32>,
    /// Whether each point is core.
    pub core: Vec<bool>,
    /// Clusters found.
    pub n_clusters: usize,
    /// Points labelled noise.
    pub n_noise: usize,
}

/// Finishes a labelling: clusters of core points numbered by their first row (`root` gives a
/// core point's set representative), then each border point labelled like its nearest core
/// neighbour (`nearest_core`), the rest noise.
fn number_clusters(core: Vec<bool>, mut root: impl FnMut(usize) -> usize, nearest_core: impl Fn(usize) -> Option<usize>) -> DbscanResult {
    let n = core.len();
    let mut root_label = vec![-1i32; n];
    let mut labels = vec![-1i32; n];
    let mut next = 0i32;
    for i in (0..n).filter(|&i| core[i]) {
        let r = root(i);
        if root_label[r] < 0 {
            root_label[r] = next;
            next += 1;
        }
        labels[i] = root_label[r];
    }
    for i in (0..n).filter(|&i| !core[i]) {
        if let Some(j) = nearest_core(i) {
            labels[i] = labels[j];
        }
    }
    let n_noise = labels.iter().filter(|&&l| l < 0).count();
    #[expect(clippy::cast_sign_loss, reason = "a count of clusters, never negative")]
    DbscanResult { labels, core, n_clusters: next as usize, n_noise }
}

/// Labels the points of `graph` for `eps` (≤ `graph.radius`) and `min_samples`.
///
/// # Panics
/// When `eps` exceeds the graph's radius: the neighbourhoods would be incomplete.
pub fn dbscan(graph: &RadiusGraph, eps: f32, min_samples: usize, ctl: &Control) -> Result<DbscanResult, Cancelled> {
    assert!(eps <= graph.radius, "eps {eps} beyond the graph's radius {}", graph.radius);
    let n = graph.n();
    let core: Vec<bool> = (0..n).map(|i| graph.within(i, eps).0.len() + 1 >= min_samples).collect();
    ctl.check()?;
    let mut uf = UnionFind::new(n);
    for i in 0..n {
        if !core[i] {
            continue;
        }
        for &j in graph.within(i, eps).0 {
            let j = j as usize;
            if j > i && core[j] {
                uf.union(i, j);
            }
        }
        if i % 4096 == 0 {
            ctl.check()?;
        }
    }
    // Nearest first, and ties in index order: the first core neighbour is the one.
    let nearest = |i: usize| graph.within(i, eps).0.iter().find(|&&j| core[j as usize]).map(|&j| j as usize);
    let nearest: Vec<Option<usize>> = (0..n).map(|i| if core[i] { None } else { nearest(i) }).collect();
    Ok(number_clusters(core, |i| uf.find(i), |i| nearest[i]))
}

/// DBSCAN for one `min_samples` and any eps up to a graph's radius, in O(n) per eps.
///
/// A point is core at eps exactly when its core distance — the distance to its
/// (min_samples − 1)-th neighbour — is ≤ eps; two core points share a cluster exactly when a
/// path of graph edges joins them whose every step has max(core(a), core(b), d(a, b)) ≤ eps. So
/// the clusters of core points at eps are the components of the minimum spanning forest of
/// that "mutual reachability" weight, cut at eps (the observation behind HDBSCAN). The forest is
/// built once (Kruskal over the stored edges); a new eps unions only the forest edges ≤ eps and
/// looks up border points' nearest core neighbours.
#[derive(Clone, Debug)]
pub struct DbscanIndex {
    graph: std::sync::Arc<RadiusGraph>,
    /// `min_samples` the index answers for.
    pub min_samples: usize,
    core_dist: Vec<f32>,
    /// Forest edges `(weight, a, b)`, lightest first.
    forest: Vec<(f32, u32, u32)>,
}

impl DbscanIndex {
    /// Builds the index over `graph` for `min_samples`.
    pub fn build(graph: std::sync::Arc<RadiusGraph>, min_samples: usize, ctl: &Control) -> Result<Self, Cancelled> {
        use rayon::prelude::*;
        let n = graph.n();
        let need = min_samples.saturating_sub(1);
        let core_dist: Vec<f32> = (0..n)
            .map(|i| {
                if need == 0 {
                    return 0.0;
                }
                let (_, d) = graph.within(i, graph.radius);
                d.get(need - 1).copied().unwrap_or(f32::INFINITY)
            })
            .collect();
        ctl.check()?;
        // Edges between points that can be core within the radius, weighted by mutual reachability.
        let mut edges: Vec<(f32, u32, u32)> = (0..n)
            .into_par_iter()
            .flat_map_iter(|i| {
                let (nb, d) = graph.within(i, graph.radius);
                let ci = core_dist[i];
                let g = &graph;
                let cd = &core_dist;
                nb.iter().zip(d).filter_map(move |(&j, &dv)| {
                    let w = ci.max(cd[j as usize]).max(dv);
                    #[expect(
                        clippy::cast_possible_truncation,
                        reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)"
                    )]
                    ((j as usize) > i && w <= g.radius).then_some((w, i as u32, j))
                })
            })
            .collect();
        ctl.check()?;
        edges.par_sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        ctl.check()?;
        let mut uf = UnionFind::new(n);
        let mut forest = Vec::with_capacity(n.saturating_sub(1));
        for e in edges {
            if uf.union(e.1 as usize, e.2 as usize).is_some() {
                forest.push(e);
                if forest.len() + 1 == n {
                    break;
                }
            }
        }
        Ok(Self { graph, min_samples, core_dist, forest })
    }

    /// The graph the index reads.
    #[must_use]
    pub fn graph(&self) -> &RadiusGraph {
        &self.graph
    }

    /// Labels for `eps` (≤ the graph's radius); the same result as [`dbscan`].
    ///
    /// # Panics
    /// When `eps` exceeds the graph's radius.
    #[must_use]
    pub fn labels(&self, eps: f32) -> DbscanResult {
        let graph = &self.graph;
        assert!(eps <= graph.radius, "eps {eps} beyond the graph's radius {}", graph.radius);
        let n = graph.n();
        let core: Vec<bool> = self.core_dist.iter().map(|&c| c <= eps).collect();
        let mut uf = UnionFind::new(n);
        for &(w, a, b) in &self.forest {
            if w > eps {
                break;
            }
            uf.union(a as usize, b as usize);
        }
        let nearest: Vec<Option<usize>> = (0..n)
            .map(|i| if core[i] { None } else { graph.within(i, eps).0.iter().find(|&&j| core[j as usize]).map(|&j| j as usize) })
            .collect();
        number_clusters(core, |i| uf.find(i), |i| nearest[i])
    }
}

/// DBSCAN without storing the neighbourhood graph, for an eps whose graph would not fit in
/// memory: one sweep over the distance tiles counts neighbours, a second joins core points
/// (a lock-free union-find) and finds every border point's nearest core point. Same labels as
/// [`dbscan`]; a new eps costs both sweeps again.
pub fn dbscan_streaming(emb: &Embeddings, metric: Metric, eps: f32, min_samples: usize, ctl: &Control) -> Result<DbscanResult, Cancelled> {
    use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
    let pw = Pairwise::new(emb, metric);
    let n = pw.n();
    let counts: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
    pw.for_upper_tiles("counting neighbours", ctl, |rows, cols, buf| {
        let w = cols.len();
        let mut col_counts = vec![0u32; w];
        for (r, i) in rows.clone().enumerate() {
            let mut c_i = 0;
            for (c, &v) in buf[r * w..(r + 1) * w].iter().enumerate() {
                if cols.start + c > i && v <= eps {
                    c_i += 1;
                    col_counts[c] += 1;
                }
            }
            counts[i].fetch_add(c_i, Relaxed);
        }
        for (c, &k) in col_counts.iter().enumerate().filter(|&(_, &k)| k > 0) {
            counts[cols.start + c].fetch_add(k, Relaxed);
        }
    })?;
    let core: Vec<bool> = counts.iter().map(|c| c.load(Relaxed) as usize + 1 >= min_samples).collect();
    // Union-find whose roots are the smallest index of their set; border candidates packed as
    // (distance bits, core index) so that fetch_min keeps the nearest, then the lowest index.
    #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
    let parent: Vec<AtomicU32> = (0..n).map(|i| AtomicU32::new(i as u32)).collect();
    let nearest: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(u64::MAX)).collect();
    let find = |mut x: u32| -> u32 {
        loop {
            let p = parent[x as usize].load(Relaxed);
            if p == x {
                return x;
            }
            let g = parent[p as usize].load(Relaxed);
            if g != p {
                let _ = parent[x as usize].compare_exchange_weak(p, g, Relaxed, Relaxed);
            }
            x = p;
        }
    };
    let union = |a: u32, b: u32| loop {
        let (ra, rb) = (find(a), find(b));
        if ra == rb {
            return;
        }
        let (hi, lo) = if ra > rb { (ra, rb) } else { (rb, ra) };
        if parent[hi as usize].compare_exchange(hi, lo, Relaxed, Relaxed).is_ok() {
            return;
        }
    };
    let offer = |border: usize, core_pt: usize, v: f32| {
        // Non-negative floats order like their bit patterns.
        let packed = (u64::from(v.to_bits()) << 32) | core_pt as u64;
        nearest[border].fetch_min(packed, Relaxed);
    };
    pw.for_upper_tiles("joining core points", ctl, |rows, cols, buf| {
        let w = cols.len();
        for (r, i) in rows.clone().enumerate() {
            for (c, &v) in buf[r * w..(r + 1) * w].iter().enumerate() {
                let j = cols.start + c;
                if j <= i || v > eps {
                    continue;
                }
                match (core[i], core[j]) {
                    #[expect(
                        clippy::cast_possible_truncation,
                        reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)"
                    )]
                    (true, true) => union(i as u32, j as u32),
                    (true, false) => offer(j, i, v),
                    (false, true) => offer(i, j, v),
                    (false, false) => {}
                }
            }
        }
    })?;
    #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
    let roots: Vec<usize> = (0..n).map(|i| if core[i] { find(i as u32) as usize } else { i }).collect();
    let nearest = |i: usize| {
        let packed = nearest[i].load(Relaxed);
        (packed != u64::MAX).then_some((packed & 0xffff_ffff) as usize)
    };
    Ok(number_clusters(core, |i| roots[i], nearest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Matrix;

    #[test]
    fn two_groups_a_bridge_and_an_outlier() {
        // 0..4 tight group, 4..8 tight group, 8 alone far away, 9 between the groups' edges.
        let mut pts = Vec::new();
        for i in 0..4 {
            pts.extend_from_slice(&[f32::from(u8::try_from(i).unwrap()) * 0.1, 0.0]);
        }
        for i in 0..4 {
            pts.extend_from_slice(&[5.0 + f32::from(u8::try_from(i).unwrap()) * 0.1, 0.0]);
        }
        pts.extend_from_slice(&[50.0, 50.0]);
        pts.extend_from_slice(&[0.7, 0.0]);
        let emb = Embeddings::new(Matrix::new(pts, 10, 2).unwrap());
        let g = RadiusGraph::build(&emb, Metric::Euclidean, 1.0, usize::MAX, &Control::default()).unwrap();
        let r = dbscan(&g, 0.45, 3, &Control::default()).unwrap();
        assert_eq!(r.labels, vec![0, 0, 0, 0, 1, 1, 1, 1, -1, 0]);
        assert_eq!((r.n_clusters, r.n_noise), (2, 1));
        assert!(!r.core[9] && r.core[3]);
        // A larger eps after the graph exists: the bridge point becomes core-reachable.
        let r = dbscan(&g, 1.0, 2, &Control::default()).unwrap();
        assert_eq!(r.labels[9], 0);
        assert!(r.core[9]);
        // Everything noise.
        let r = dbscan(&g, 0.05, 2, &Control::default()).unwrap();
        assert_eq!(r.n_noise, 10);
        // From the spanning-forest index: the same labels for every eps and min_samples.
        let shared = std::sync::Arc::new(g.clone());
        for ms in [1, 2, 3, 4] {
            let index = DbscanIndex::build(std::sync::Arc::clone(&shared), ms, &Control::default()).unwrap();
            for eps in [0.05, 0.1, 0.15, 0.3, 0.45, 0.6, 1.0] {
                assert_eq!(index.labels(eps), dbscan(&g, eps, ms, &Control::default()).unwrap(), "eps {eps} min_samples {ms}");
            }
        }
        // Without storing the graph: the same labels.
        for (eps, ms) in [(0.45, 3), (1.0, 2), (0.05, 2), (0.15, 2)] {
            let stored = dbscan(&g, eps, ms, &Control::default()).unwrap();
            let streamed = dbscan_streaming(&emb, Metric::Euclidean, eps, ms, &Control::default()).unwrap();
            assert_eq!(stored, streamed, "eps {eps} min_samples {ms}");
        }
        assert!(DbscanParams { eps: 0.0, ..DbscanParams::default() }.check().is_err());
        assert!(DbscanParams { min_samples: 0, ..DbscanParams::default() }.check().is_err());
    }
}
