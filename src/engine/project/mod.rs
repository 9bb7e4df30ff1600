//! One entry point for every 2-D map: which projection, with which parameters, and what it
//! reports (PCA's explained variance; UMAP's and t-SNE's start, iterations and stage times).

pub mod pca;
pub mod spectral;
pub mod trust;
pub mod tsne;
pub mod umap;

use crate::engine::control::{Cancelled, Control};
use crate::engine::project::pca::pca_2d;
use crate::engine::project::tsne::{TsneError, TsneParams, TsneRunError, TsneTimings, tsne};
use crate::engine::project::umap::{EpochFn, Sampled, UmapError, UmapParams, UmapRunError, UmapTimings, umap};
use crate::engine::{Embeddings, Metric};

/// A projection and its parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum ProjectionParams {
    /// The two leading principal axes (of the vectors as loaded).
    Pca,
    /// UMAP in the given metric.
    Umap {
        /// Metric of the neighbour graph.
        metric: Metric,
        /// UMAP's parameters.
        #[serde(flatten)]
        params: UmapParams,
    },
    /// t-SNE in the given metric.
    Tsne {
        /// Metric of the neighbour graph.
        metric: Metric,
        /// t-SNE's parameters.
        #[serde(flatten)]
        params: TsneParams,
    },
}

impl ProjectionParams {
    /// "PCA", "UMAP" or "t-SNE".
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pca => "PCA",
            Self::Umap { .. } => "UMAP",
            Self::Tsne { .. } => "t-SNE",
        }
    }
}

/// What a projection reports besides its coordinates.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum ProjectionDetail {
    /// PCA.
    Pca {
        /// Share of the variance along each axis.
        explained_variance_ratio: [f64; 2],
        /// The axes, to place new rows (a saved model's projection).
        #[serde(skip)]
        axes: std::sync::Arc<crate::engine::project::pca::PcaAxes>,
    },
    /// UMAP.
    Umap {
        /// How the layout started.
        init: String,
        /// Epochs run.
        n_epochs: usize,
        /// Neighbourhood size used (at most the number of rows).
        n_neighbors: usize,
        /// The fitted curve's a.
        a: f64,
        /// The fitted curve's b.
        b: f64,
        /// Stage times.
        timings_ms: UmapTimings,
        /// The approximate neighbour graph's construction and recall (`None`: exact).
        knn_graph: Option<crate::engine::neighbors::ann::AnnReport>,
        /// A large input: the sample fitted and the rows placed (`None`: every row fitted).
        #[serde(skip_serializing_if = "Option::is_none")]
        sampled: Option<Sampled>,
    },
    /// t-SNE.
    Tsne {
        /// How the layout started.
        init: String,
        /// Neighbours per row of the affinities.
        k: usize,
        /// The perplexity used (capped by the rows).
        perplexity: f64,
        /// Iterations of early exaggeration.
        early_exaggeration_iter: usize,
        /// Iterations after it.
        n_iter: usize,
        /// The step size after the early exaggeration.
        learning_rate: f64,
        /// The final Kullback–Leibler divergence.
        kl_divergence: f64,
        /// Stage times.
        timings_ms: TsneTimings,
        /// The approximate neighbour graph's construction and recall (`None`: exact).
        knn_graph: Option<crate::engine::neighbors::ann::AnnReport>,
    },
}

/// A finished map.
#[derive(Clone, Debug)]
pub struct Projected {
    /// Every row's position.
    pub coords: Vec<[f32; 2]>,
    /// What made it.
    pub params: ProjectionParams,
    /// What it reports.
    pub detail: ProjectionDetail,
    /// Wall time in milliseconds.
    pub ms: f64,
}

/// Why a projection did not finish.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ProjectError {
    /// Parameters or input the projection refuses.
    #[error(transparent)]
    Invalid(#[from] UmapError),
    /// t-SNE parameters or input refused.
    #[error(transparent)]
    InvalidTsne(#[from] TsneError),
    /// Stopped by a newer job or the user.
    #[error("cancelled")]
    Cancelled(#[from] Cancelled),
}

impl From<UmapRunError> for ProjectError {
    fn from(e: UmapRunError) -> Self {
        match e {
            UmapRunError::Invalid(e) => Self::Invalid(e),
            UmapRunError::Cancelled(c) => Self::Cancelled(c),
        }
    }
}

impl From<TsneRunError> for ProjectError {
    fn from(e: TsneRunError) -> Self {
        match e {
            TsneRunError::Invalid(e) => Self::InvalidTsne(e),
            TsneRunError::Cancelled(c) => Self::Cancelled(c),
        }
    }
}

/// Projects `emb` as `params` says; `on_epoch` receives UMAP's and t-SNE's intermediate
/// layouts.
pub fn project(
    emb: &Embeddings,
    params: &ProjectionParams,
    ctl: &Control,
    on_epoch: Option<&EpochFn<'_>>,
) -> Result<Projected, ProjectError> {
    let t = std::time::Instant::now();
    let (coords, detail) = match params {
        ProjectionParams::Pca => {
            let p = pca_2d(emb.raw(), ctl)?;
            let axes = std::sync::Arc::new(crate::engine::project::pca::PcaAxes { mean: p.mean, components: p.components });
            (p.projection, ProjectionDetail::Pca { explained_variance_ratio: p.explained_variance_ratio, axes })
        }
        ProjectionParams::Umap { metric, params: up } => {
            let l = umap(emb, *metric, up, ctl, on_epoch)?;
            let detail = ProjectionDetail::Umap {
                init: l.init.describe(),
                n_epochs: l.params.n_epochs,
                n_neighbors: l.params.n_neighbors,
                a: l.params.a,
                b: l.params.b,
                timings_ms: l.timings_ms,
                knn_graph: l.knn.clone(),
                sampled: l.sampled.clone(),
            };
            (l.coords, detail)
        }
        ProjectionParams::Tsne { metric, params: tp } => {
            let l = tsne(emb, *metric, tp, ctl, on_epoch)?;
            let detail = ProjectionDetail::Tsne {
                init: l.init.describe(),
                k: l.params.k,
                perplexity: l.params.perplexity,
                early_exaggeration_iter: l.params.early_exaggeration_iter,
                n_iter: l.params.n_iter,
                learning_rate: l.params.learning_rate,
                kl_divergence: l.kl_divergence,
                timings_ms: l.timings_ms,
                knn_graph: l.knn,
            };
            (l.coords, detail)
        }
    };
    Ok(Projected { coords, params: params.clone(), detail, ms: t.elapsed().as_secs_f64() * 1e3 })
}
