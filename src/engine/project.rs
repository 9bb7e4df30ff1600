//! One entry point for every 2-D map: which projection, with which parameters, and what it
//! reports (PCA's explained variance; UMAP's initialisation, epochs and stage times).

use super::control::{Cancelled, Control};
use super::pca::pca_2d;
use super::umap::{EpochFn, Sampled, UmapError, UmapParams, UmapRunError, UmapTimings, umap};
use super::{Embeddings, Metric};

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
}

impl ProjectionParams {
    /// "PCA" or "UMAP".
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pca => "PCA",
            Self::Umap { .. } => "UMAP",
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
        knn_graph: Option<super::ann::AnnReport>,
        /// A large input: the sample fitted and the rows placed (`None`: every row fitted).
        #[serde(skip_serializing_if = "Option::is_none")]
        sampled: Option<Sampled>,
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

/// Projects `emb` as `params` says; `on_epoch` receives UMAP's intermediate layouts.
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
            (p.projection, ProjectionDetail::Pca { explained_variance_ratio: p.explained_variance_ratio })
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
    };
    Ok(Projected { coords, params: params.clone(), detail, ms: t.elapsed().as_secs_f64() * 1e3 })
}
