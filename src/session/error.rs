//! Why a request could not run: the refusing rule, a structure that could not be built, or a
//! cancel.

use super::*;

/// Settings refused before anything runs, by what refused them; each message says what is allowed.
#[derive(Debug, thiserror::Error)]
pub enum ParamError {
    /// K-means' settings.
    #[error(transparent)]
    Kmeans(#[from] crate::engine::kmeans::KMeansParamError),
    /// Mini-batch K-means' settings.
    #[error(transparent)]
    MiniBatch(#[from] crate::engine::kmeans::minibatch::MiniBatchParamError),
    /// DBSCAN's settings.
    #[error(transparent)]
    Dbscan(#[from] crate::engine::dbscan::DbscanParamError),
    /// The hierarchical clustering's settings.
    #[error(transparent)]
    Hierarchical(#[from] crate::engine::hierarchical::HierarchicalParamError),
    /// HDBSCAN's settings.
    #[error(transparent)]
    Hdbscan(#[from] crate::engine::hdbscan::HdbscanParamError),
    /// The UMAP reduction clustered on.
    #[error(transparent)]
    Reduce(#[from] crate::engine::project::umap::UmapError),
    /// More clusters asked for than there are distinct rows.
    #[error("k={k} is more than the {distinct} distinct points in the data ({n} rows, some of them identical); choose k ≤ {distinct}")]
    TooFewDistinct {
        /// Clusters asked for.
        k: usize,
        /// Distinct rows.
        distinct: usize,
        /// Rows.
        n: usize,
    },
    /// A tree over micro-clusters has fewer leaves than k.
    #[error("above {dense_max} rows the tree is built on {leaves} micro-clusters, so k must be at most {leaves}")]
    MicroClusters {
        /// Rows up to which the tree is built on single rows.
        dense_max: usize,
        /// Its leaves.
        leaves: usize,
    },
}

/// Why a request could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Settings refused.
    #[error(transparent)]
    Params(#[from] ParamError),
    /// A neighbourhood structure could not be built.
    #[error(transparent)]
    Graph(GraphError),
    /// Superseded.
    #[error("cancelled")]
    Cancelled,
}

impl From<Cancelled> for RunError {
    fn from(_: Cancelled) -> Self {
        Self::Cancelled
    }
}

impl From<crate::engine::project::umap::UmapRunError> for RunError {
    fn from(e: crate::engine::project::umap::UmapRunError) -> Self {
        match e {
            crate::engine::project::umap::UmapRunError::Cancelled(_) => Self::Cancelled,
            crate::engine::project::umap::UmapRunError::Invalid(e) => Self::Params(ParamError::Reduce(e)),
        }
    }
}

impl From<GraphError> for RunError {
    fn from(e: GraphError) -> Self {
        match e {
            GraphError::Cancelled => Self::Cancelled,
            other => Self::Graph(other),
        }
    }
}
