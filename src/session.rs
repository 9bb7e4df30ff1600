//! What a clustering job is asked to do, and what it produced: plain data shared by the
//! worker, the window and the command line.

use std::time::Instant;

use crate::engine::kmeans::{KMeansParams, kmeans};
use crate::engine::silhouette::{Silhouette, SilhouetteMode, silhouette};
use crate::engine::{Cancelled, Control, Embeddings};

/// A clustering request.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClusterRequest {
    /// K-means settings (the only algorithm so far).
    pub kmeans: KMeansParams,
    /// Exact or sampled euclidean silhouette.
    pub silhouette: SilhouetteMode,
}

impl Default for ClusterRequest {
    fn default() -> Self {
        Self { kmeans: KMeansParams::default(), silhouette: SilhouetteMode::Auto }
    }
}

/// A finished clustering with its quality figures.
#[derive(Clone, Debug)]
pub struct ClusterOutcome {
    /// What was asked.
    pub request: ClusterRequest,
    /// Cluster of every row.
    pub labels: Vec<i32>,
    /// Rows per cluster, by cluster id.
    pub sizes: Vec<usize>,
    /// K-means objective (see [`crate::engine::kmeans::KMeansResult::inertia`]).
    pub inertia: f64,
    /// Lloyd iterations of the kept restart.
    pub n_iter: usize,
    /// Whether that restart converged.
    pub converged: bool,
    /// The silhouette, or why there is none.
    pub silhouette: Result<Silhouette, String>,
    /// Wall time of the clustering.
    pub cluster_ms: f64,
    /// Wall time of the silhouette.
    pub silhouette_ms: f64,
}

/// Milliseconds since `t`.
#[must_use]
pub fn elapsed_ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Why a request could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Settings rejected.
    #[error("{0}")]
    Params(String),
    /// Superseded.
    #[error("cancelled")]
    Cancelled,
}

impl From<Cancelled> for RunError {
    fn from(_: Cancelled) -> Self {
        Self::Cancelled
    }
}

/// Clusters and scores: the same code path for the window and the command line, so the same
/// settings give the same labels in both.
pub fn run_cluster(emb: &Embeddings, req: &ClusterRequest, ctl: &Control) -> Result<ClusterOutcome, RunError> {
    let n = emb.raw().n();
    let cfg = req.kmeans.check(n).map_err(|e| RunError::Params(e.to_string()))?;
    let t = Instant::now();
    let km = kmeans(emb, &cfg, ctl)?;
    let cluster_ms = elapsed_ms(t);
    // Cluster ids fit in i32: k ≤ n and the labels came from u32 indices below k.
    #[allow(clippy::cast_possible_wrap)]
    let labels: Vec<i32> = km.labels.iter().map(|&l| l as i32).collect();
    let mut sizes = vec![0usize; req.kmeans.k];
    for &l in &km.labels {
        sizes[l as usize] += 1;
    }
    let t = Instant::now();
    let sil = match silhouette(emb, &labels, req.kmeans.metric, req.silhouette, req.kmeans.seed, ctl) {
        Ok(s) => Ok(s),
        Err(crate::engine::silhouette::SilhouetteError::Cancelled) => return Err(RunError::Cancelled),
        Err(e) => Err(e.to_string()),
    };
    let silhouette_ms = elapsed_ms(t);
    Ok(ClusterOutcome {
        request: req.clone(),
        labels,
        sizes,
        inertia: km.inertia,
        n_iter: km.n_iter,
        converged: km.converged,
        silhouette: sil,
        cluster_ms,
        silhouette_ms,
    })
}
