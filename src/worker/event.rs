//! What the worker is asked to load, and what it reports back.

use super::*;

/// What to load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadSource {
    /// The bundled demo dataset.
    Demo,
    /// A file.
    File(PathBuf),
}

/// Something the worker reports.
#[derive(Debug)]
pub enum Event {
    /// A job advanced.
    Progress {
        /// Job generation.
        generation: u64,
        /// What it is doing.
        stage: String,
        /// Fraction done.
        fraction: f32,
    },
    /// A dataset finished loading (with its 2-D projection).
    Loaded {
        /// Job generation.
        generation: u64,
        /// The data.
        dataset: Arc<Dataset>,
        /// Its PCA.
        pca: Arc<Pca>,
        /// Time to read and validate.
        load_ms: f64,
        /// Time to project.
        project_ms: f64,
    },
    /// Loading failed.
    LoadFailed {
        /// Job generation.
        generation: u64,
        /// Why (its message is what the user reads).
        error: data::LoadError,
        /// What was being loaded.
        source: LoadSource,
    },
    /// A first answer for a running clustering (see [`crate::session::run_preview`]); its
    /// seeded result follows as [`Event::Clustered`] with the same generation.
    ClusterPreview {
        /// Job generation.
        generation: u64,
        /// The preview (its `preview` field says what it is).
        outcome: Arc<ClusterOutcome>,
    },
    /// A clustering finished.
    Clustered {
        /// Job generation.
        generation: u64,
        /// The result.
        outcome: Arc<ClusterOutcome>,
    },
    /// A k-distance curve is ready.
    KDistance {
        /// Job generation.
        generation: u64,
        /// The embeddings it belongs to.
        embeddings: Arc<Embeddings>,
        /// Metric.
        metric: Metric,
        /// Neighbour rank (the point itself counted first).
        min_samples: usize,
        /// Sorted distances.
        curve: Arc<Vec<f32>>,
    },
    /// The labels a running clustering has so far (K-means after a pass), at most a few a
    /// second and only once the job has run for a moment.
    ClusterStep {
        /// Job generation.
        generation: u64,
        /// One label per row.
        labels: Arc<Vec<u32>>,
    },
    /// A clustering was refused or failed.
    ClusterFailed {
        /// Job generation.
        generation: u64,
        /// What to tell the user.
        error: String,
    },
    /// A running layout's positions so far (UMAP between epochs), at most ten a second.
    ProjectionStep {
        /// Job generation.
        generation: u64,
        /// Every row's position.
        coords: Arc<Vec<[f32; 2]>>,
        /// Epochs done.
        epoch: usize,
        /// Epochs in all.
        n_epochs: usize,
    },
    /// A projection finished, with its trust figures.
    Projected {
        /// Job generation.
        generation: u64,
        /// The embeddings it belongs to.
        embeddings: Arc<Embeddings>,
        /// The layout.
        projected: Arc<Projected>,
        /// Trustworthiness and kNN recall at 15 (`None` for inputs too small to measure).
        trust: Option<Trust>,
        /// Every row's own kNN recall at 15 (up to [`RECALL_ROWS_MAX`] rows).
        recall: Option<Arc<Vec<f32>>>,
    },
    /// A projection was refused or failed.
    ProjectionFailed {
        /// Job generation.
        generation: u64,
        /// What to tell the user.
        error: String,
    },
}

/// How soon the window should look at a new event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    /// A result: at once.
    Now,
    /// Progress or an intermediate state: within a tenth of a second is soon enough, so that
    /// several coalesce into one frame.
    Soon,
}
