//! What a clustering job is asked to do: the algorithm with its settings, the space it runs
//! in, the noise policy and the clusters made by hand.

use super::*;

/// The algorithms, without their settings: what the window's menu, the command line's `--algo`
/// and an [`Algorithm`]'s tag name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "io", derive(clap::ValueEnum))]
pub enum AlgorithmKind {
    /// K-means (spherical under cosine).
    #[default]
    Kmeans,
    /// Mini-batch K-means (the default above 500,000 rows).
    MinibatchKmeans,
    /// DBSCAN (needs eps).
    Dbscan,
    /// Agglomerative clustering (needs k; a linkage).
    Hierarchical,
    /// HDBSCAN (min_cluster_size, min_samples).
    Hdbscan,
}

impl AlgorithmKind {
    /// Every algorithm, in menu order.
    pub const ALL: [Self; 5] = [Self::Kmeans, Self::MinibatchKmeans, Self::Dbscan, Self::Hierarchical, Self::Hdbscan];

    /// Name shown to the user.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Kmeans => "K-means",
            Self::MinibatchKmeans => "Mini-batch K-means",
            Self::Dbscan => "DBSCAN",
            Self::Hierarchical => "Hierarchical",
            Self::Hdbscan => "HDBSCAN",
        }
    }

    /// The name used on the command line and in reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Kmeans => "kmeans",
            Self::MinibatchKmeans => "minibatch-kmeans",
            Self::Dbscan => "dbscan",
            Self::Hierarchical => "hierarchical",
            Self::Hdbscan => "hdbscan",
        }
    }

    /// Whether the algorithm calls some rows noise.
    #[must_use]
    pub fn has_noise(self) -> bool {
        matches!(self, Self::Dbscan | Self::Hdbscan)
    }
}

/// An algorithm with its settings.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "algorithm", rename_all = "kebab-case")]
pub enum Algorithm {
    /// K-means (spherical under cosine).
    Kmeans(KMeansParams),
    /// Mini-batch K-means.
    MinibatchKmeans(MiniBatchParams),
    /// DBSCAN.
    Dbscan(DbscanParams),
    /// Agglomerative clustering.
    Hierarchical(HierarchicalParams),
    /// HDBSCAN.
    Hdbscan(HdbscanParams),
}

impl Algorithm {
    /// The number of clusters asked for, for the algorithms that take one.
    #[must_use]
    pub fn k(&self) -> Option<usize> {
        match self {
            Self::Kmeans(p) => Some(p.k),
            Self::MinibatchKmeans(p) => Some(p.k),
            Self::Hierarchical(p) => Some(p.k),
            Self::Dbscan(_) | Self::Hdbscan(_) => None,
        }
    }

    /// Which algorithm it is.
    #[must_use]
    pub fn kind(&self) -> AlgorithmKind {
        match self {
            Self::Kmeans(_) => AlgorithmKind::Kmeans,
            Self::MinibatchKmeans(_) => AlgorithmKind::MinibatchKmeans,
            Self::Dbscan(_) => AlgorithmKind::Dbscan,
            Self::Hierarchical(_) => AlgorithmKind::Hierarchical,
            Self::Hdbscan(_) => AlgorithmKind::Hdbscan,
        }
    }

    /// The name used on the command line and in reports.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The metric the clustering measures distances in.
    #[must_use]
    pub fn metric(&self) -> Metric {
        match self {
            Self::Kmeans(p) => p.metric,
            Self::MinibatchKmeans(p) => p.metric,
            Self::Dbscan(p) => p.metric,
            Self::Hierarchical(p) => p.metric,
            Self::Hdbscan(p) => p.metric,
        }
    }

    /// The same settings in another metric.
    #[must_use]
    pub fn with_metric(&self, metric: Metric) -> Self {
        let mut a = self.clone();
        match &mut a {
            Self::Kmeans(p) => p.metric = metric,
            Self::MinibatchKmeans(p) => p.metric = metric,
            Self::Dbscan(p) => p.metric = metric,
            Self::Hierarchical(p) => p.metric = metric,
            Self::Hdbscan(p) => p.metric = metric,
        }
        a
    }

    /// Seed of the random choices (0 for deterministic algorithms).
    #[must_use]
    pub fn seed(&self) -> u64 {
        match self {
            Self::Kmeans(p) => p.seed,
            Self::MinibatchKmeans(p) => p.seed,
            _ => 0,
        }
    }

    /// Checks the settings against `n` rows; the error says what is allowed.
    ///
    /// # Errors
    /// The algorithm's own [`ParamError`].
    pub fn check(&self, n: usize) -> Result<(), ParamError> {
        match self {
            Self::Kmeans(p) => p.check(n).map(|_| ()).map_err(ParamError::from),
            Self::MinibatchKmeans(p) => p.check(n).map(|_| ()).map_err(ParamError::from),
            Self::Dbscan(p) => p.check().map_err(ParamError::from),
            Self::Hierarchical(p) => p.check(n).map(|_| ()).map_err(ParamError::from),
            Self::Hdbscan(p) => p.check(n).map(|_| ()).map_err(ParamError::from),
        }
    }
}

impl Default for Algorithm {
    fn default() -> Self {
        Self::Kmeans(KMeansParams::default())
    }
}

/// Clustering on a UMAP embedding of the rows in a few dimensions instead of the full
/// embedding (as BERTopic does before HDBSCAN). The algorithm then measures euclidean distances
/// in that space; the quality indices stay in the full space, in the algorithm's metric.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reduce {
    /// Dimensions of the embedding (5 to 15 is the usual range).
    pub dim: usize,
    /// The UMAP that embeds them (in the algorithm's metric); min_dist 0 by default, so that
    /// clusters stay dense.
    #[serde(default = "Reduce::default_umap")]
    pub umap: crate::engine::project::umap::UmapParams,
}

impl Reduce {
    /// A reduction to `dim` dimensions with the default UMAP.
    #[must_use]
    pub fn umap(dim: usize) -> Self {
        Self { dim, umap: Self::default_umap() }
    }

    /// n_neighbors 15, min_dist 0, seed 0.
    #[must_use]
    pub fn default_umap() -> crate::engine::project::umap::UmapParams {
        crate::engine::project::umap::UmapParams { min_dist: 0.0, ..crate::engine::project::umap::UmapParams::default() }
    }

    /// "UMAP 10-d", for notes and the window.
    #[must_use]
    pub fn describe(&self) -> String {
        format!("UMAP {}-d", self.dim)
    }
}

impl std::str::FromStr for Reduce {
    type Err = String;
    /// `umap:N` (N dimensions) or `none`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad =
            || format!("--reduce takes umap:N with N from 2 to {}, e.g. umap:10; not '{s}'", crate::engine::project::umap::MAX_REDUCE_DIM);
        let dim = s.strip_prefix("umap:").ok_or_else(bad)?.parse::<usize>().map_err(|_| bad())?;
        if (2..=crate::engine::project::umap::MAX_REDUCE_DIM).contains(&dim) { Ok(Self::umap(dim)) } else { Err(bad()) }
    }
}

/// A clustering request.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClusterRequest {
    /// Cluster on a UMAP embedding instead of the full one (`None`: the full embedding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduce: Option<Reduce>,
    /// Algorithm and settings.
    #[serde(flatten)]
    pub algorithm: Algorithm,
    /// Exact or sampled euclidean silhouette.
    #[serde(default)]
    pub silhouette: SilhouetteMode,
    /// What happens to noise points.
    #[serde(default)]
    pub noise: NoisePolicy,
    /// Clusters made by hand after the algorithm ran: each entry's rows become a new cluster, in
    /// order (clusters left empty disappear and the rest are renumbered in order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manual: Vec<Vec<u32>>,
    /// Set by the window, where the next request is usually a nearby setting: reusable
    /// structures are built with spare reach (DBSCAN's graph covers 25% beyond eps) so that it
    /// comes back at once. A one-off run builds exactly what it needs.
    #[serde(skip)]
    pub interactive: bool,
}

impl ClusterRequest {
    /// K-means settings, when the algorithm is K-means.
    #[must_use]
    pub fn kmeans(&self) -> Option<&KMeansParams> {
        match &self.algorithm {
            Algorithm::Kmeans(p) => Some(p),
            _ => None,
        }
    }
}
