//! What the window remembers between runs: preferences only, never data or results.

use super::*;

/// What persists between runs: preferences only, never data or results.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Dark or light theme.
    pub dark: bool,
    /// Marker radius on the map.
    pub point_radius: f32,
    /// Marker opacity on the map, 0–1.
    pub point_opacity: f32,
    /// Last folder a file was opened from or exported to.
    pub last_dir: Option<PathBuf>,
    /// Last algorithm.
    pub algorithm: AlgorithmKind,
    /// Last number of clusters.
    pub k: usize,
    /// Last metric.
    pub metric: Metric,
    /// Last seed.
    pub seed: u64,
    /// Last number of restarts.
    pub n_init: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// DBSCAN's min_samples.
    pub min_samples: usize,
    /// Hierarchical linkage.
    pub linkage: Linkage,
    /// HDBSCAN's min_cluster_size.
    pub min_cluster_size: usize,
    /// HDBSCAN's min_samples (`None`: min_cluster_size).
    pub hdbscan_min_samples: Option<usize>,
    /// HDBSCAN's cluster selection.
    pub selection: Selection,
    /// Noise handling of DBSCAN and HDBSCAN.
    pub noise: NoisePolicy,
    /// Recently opened files, newest first.
    pub recent: Vec<PathBuf>,
    /// HDBSCAN's cluster_selection_epsilon.
    pub selection_epsilon: f64,
    /// The map's projection.
    pub projection: projection::Choice,
    /// UMAP's parameters (its metric is the clustering's).
    pub umap: crate::engine::project::umap::UmapParams,
    /// t-SNE's parameters (its metric is the clustering's).
    pub tsne: crate::engine::project::tsne::TsneParams,
    /// Cluster on a UMAP embedding in a few dimensions (`None`: the full embedding).
    pub reduce: Option<crate::session::Reduce>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            dark: true,
            point_radius: 2.0,
            point_opacity: 0.85,
            last_dir: None,
            algorithm: AlgorithmKind::Kmeans,
            k: 12,
            metric: Metric::Cosine,
            seed: 0,
            n_init: 3,
            batch_size: 1024,
            min_samples: 5,
            linkage: Linkage::Average,
            min_cluster_size: 15,
            hdbscan_min_samples: None,
            selection: Selection::Eom,
            noise: NoisePolicy::Keep,
            recent: Vec::new(),
            selection_epsilon: 0.0,
            projection: projection::Choice::default(),
            umap: crate::engine::project::umap::UmapParams::default(),
            tsne: crate::engine::project::tsne::TsneParams::default(),
            reduce: None,
        }
    }
}
