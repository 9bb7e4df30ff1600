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

use super::neighbors::RadiusGraph;
use super::unionfind::UnionFind;
use super::{Cancelled, Control, Metric};

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
    let mut root_label = vec![-1i32; n];
    let mut labels = vec![-1i32; n];
    let mut next = 0i32;
    for i in 0..n {
        if core[i] {
            let r = uf.find(i);
            if root_label[r] < 0 {
                root_label[r] = next;
                next += 1;
            }
            labels[i] = root_label[r];
        }
    }
    for i in 0..n {
        if !core[i] {
            // Nearest first, and ties in index order: the first core neighbour is the one.
            if let Some(&j) = graph.within(i, eps).0.iter().find(|&&j| core[j as usize]) {
                labels[i] = labels[j as usize];
            }
        }
    }
    let n_noise = labels.iter().filter(|&&l| l < 0).count();
    #[allow(clippy::cast_sign_loss)]
    Ok(DbscanResult { labels, core, n_clusters: next as usize, n_noise })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Embeddings, Matrix};

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
        assert!(DbscanParams { eps: 0.0, ..DbscanParams::default() }.check().is_err());
        assert!(DbscanParams { min_samples: 0, ..DbscanParams::default() }.check().is_err());
    }
}
