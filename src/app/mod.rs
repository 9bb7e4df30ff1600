//! The window: state, the per-frame loop, and commands. Panels live in their own files and only
//! read state and push [`Command`]s; the app applies them once per frame.

mod bench;
mod chrome;
mod cluster_table;
mod dendrogram;
mod files;
mod kdist;
mod map;
mod palette;
mod projection;
pub mod raster;
mod side_panel;
mod silhouette_plot;
mod sweep;
mod tasks;
mod tuning;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use eframe::egui;

use crate::data::{Dataset, LoadOptions};
use crate::engine::Metric;
use crate::engine::dbscan::DbscanParams;
use crate::engine::hdbscan::{HdbscanParams, Selection};
use crate::engine::hierarchical::{HierarchicalParams, Linkage};
use crate::engine::kmeans::KMeansParams;
use crate::engine::kmeans::minibatch::MiniBatchParams;
use crate::engine::noise::NoisePolicy;
use crate::engine::project::pca::Pca;
use crate::jobs::{Policy, Priority};
use crate::session::{Algorithm, AlgorithmKind, ClusterOutcome, ClusterRequest};
use crate::worker::{Event, LoadSource, Worker};
use tasks::Task;

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

/// The window's result cache key: one request on one loaded dataset.
#[derive(Debug, Clone, PartialEq)]
struct CacheKey {
    dataset: u64,
    request: ClusterRequest,
}

// Requests with a NaN parameter are refused before they run and never reach the cache, so the
// equality of kept keys is reflexive.
impl Eq for CacheKey {}

impl std::hash::Hash for CacheKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        // What equal requests share (their floats are compared, not hashed).
        self.dataset.hash(h);
        self.request.algorithm.kind().hash(h);
        self.request.algorithm.k().hash(h);
        self.request.reduce.as_ref().map(|r| r.dim).hash(h);
    }
}

/// A k-distance curve of the current dataset.
#[derive(Debug, Clone)]
pub(crate) struct KDist {
    pub(crate) metric: Metric,
    pub(crate) min_samples: usize,
    pub(crate) curve: Arc<Vec<f32>>,
}

/// Something the user asked for; applied by [`EmbedmapApp::apply`].
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Show the file dialog.
    OpenDialog,
    /// Load a file.
    OpenPath(PathBuf),
    /// Load the bundled demo.
    OpenDemo,
    /// Reload the current file with other loading options.
    Reload(LoadOptions),
    /// Show the export dialog.
    ExportDialog,
    /// Export to a path.
    ExportTo(PathBuf),
    /// Show the export dialog for the selected rows.
    ExportSelectionDialog,
    /// Export the selected rows to a path.
    ExportSelectionTo(PathBuf),
    /// Make the selected rows a cluster of their own.
    CreateClusterFromSelection,
    /// Show the dialog to save the session.
    SaveSessionDialog,
    /// Save the session to a path.
    SaveSessionTo(PathBuf),
    /// Show the dialog to open a session.
    OpenSessionDialog,
    /// Reopen a saved session.
    OpenSession(PathBuf),
    /// Show the dialog to save the map as PNG.
    ExportPngDialog,
    /// Save the map as PNG to a path.
    ExportPngTo(PathBuf),
    /// Show the dialog to save the clustering as a model.
    ExportModelDialog,
    /// Save the clustering as a model to a path.
    ExportModelTo(PathBuf),
    /// The clustering settings changed.
    Recluster,
    /// Stop the running clustering.
    CancelCluster,
    /// Stop the running layout (the map keeps PCA until the settings ask again).
    CancelProjection,
    /// Dismiss the error banner.
    DismissError,
    /// Pin a row and look up its nearest neighbours (`None`: unpin).
    Pin(Option<usize>),
    /// Bring a cluster forward on the map, or back if it is forward already.
    ToggleHighlight(usize),
    /// Compare the clusters with a label column (`None`: with none).
    CompareWith(Option<String>),
    /// Run K-means over the sweep's range of k.
    StartSweep,
    /// Stop the running sweep.
    CancelSweep,
    /// Close the window.
    Quit,
}

/// A job in flight, for the progress display.
#[derive(Debug, Clone)]
pub(crate) struct Running {
    pub(crate) generation: u64,
    pub(crate) started: Instant,
    pub(crate) stage: String,
    pub(crate) fraction: f32,
    /// A clustering's labels so far (K-means after a pass), shown on the map until it ends.
    pub(crate) interim: Option<Arc<Vec<u32>>>,
    /// A first answer arrived and the worker waits for it to be drawn.
    pub(crate) undrawn: bool,
}

/// A failed load the user can retry by dropping the rows with NaN/inf.
#[derive(Debug, Clone)]
pub(crate) struct LoadFailure {
    pub(crate) message: String,
    pub(crate) source: LoadSource,
    pub(crate) can_drop_nonfinite: bool,
}

/// The embedmap window.
pub struct EmbedmapApp {
    pub(crate) settings: Settings,
    worker: Worker,
    pub(crate) dataset: Option<Arc<Dataset>>,
    pub(crate) pca: Option<Arc<Pca>>,
    pub(crate) load_options: LoadOptions,
    pub(crate) loading: Option<(Running, LoadSource)>,
    pub(crate) load_failure: Option<LoadFailure>,
    pub(crate) timings: Timings,
    pub(crate) clustering: Option<Running>,
    pub(crate) outcome: Option<Arc<ClusterOutcome>>,
    pub(crate) previous: Option<Arc<ClusterOutcome>>,
    /// Clusterings already computed, by dataset and request.
    cache: HashMap<CacheKey, Arc<ClusterOutcome>>,
    /// Which load the dataset on screen came from: the dataset part of a cache key.
    dataset_id: u64,
    pub(crate) error: Option<String>,
    pub(crate) notice: Option<String>,
    pub(crate) map: map::MapCache,
    /// DBSCAN's eps for the current dataset (`None` until the k-distance curve suggests one).
    pub(crate) eps: Option<f32>,
    /// The metric `eps` is a distance in.
    pub(crate) eps_metric: Metric,
    /// The k-distance curve for DBSCAN's eps range.
    pub(crate) kdist: Option<KDist>,
    kdist_pending: Option<u64>,
    pub(crate) spec_edit: String,
    pub(crate) path_edit: String,
    /// The side work running (dialogs, exports, descriptions…).
    tasks: tasks::Tasks,
    commands: Vec<Command>,
    bench: Option<bench::Bench>,
    tuning: Option<tuning::Tuning>,
    pub(crate) table: cluster_table::TableState,
    pub(crate) sweep: sweep::SweepState,
    pub(crate) dendrogram: Option<((Arc<ClusterOutcome>, usize), dendrogram::Drawing)>,
    pub(crate) dendrogram_transform: Option<egui_plot::PlotTransform>,
    /// A session being reopened: applied once its file has loaded.
    pub(crate) pending_session: Option<crate::session::SessionFile>,
    /// The reopened session's algorithm and cluster sizes, checked against the clustering it gives.
    session_check: Option<(Algorithm, Vec<usize>)>,
    /// Clusters made by hand from selections, and the clustering they were made on.
    manual: Vec<Vec<u32>>,
    manual_for: Option<(Algorithm, NoisePolicy)>,
    /// The label column the clusters are compared with, and the figures already computed.
    pub(crate) reference: Option<String>,
    external_cache: Vec<ExternalEntry>,
    /// Agreement figures being computed off the window's thread (large data).
    external_pending: Vec<(Arc<ClusterOutcome>, String)>,
    /// The map's layouts.
    pub(crate) projection: projection::ProjectionState,
}

/// Up to this many rows the agreement figures are computed at once (a few milliseconds);
/// above, on a helper thread while the readout says so.
const EXTERNAL_INLINE_MAX: usize = 50_000;

/// ARI, NMI and V-measure of `o`'s labels against the values of the column `col` of `ds`.
fn compute_external(ds: &Dataset, o: &ClusterOutcome, col: &str) -> crate::engine::quality::External {
    let truth: Vec<String> = ds.column_texts(col).into_iter().map(Option::unwrap_or_default).collect();
    crate::session::external_indices(&truth, &o.labels)
}

/// Agreement figures of one outcome with one label column.
type ExternalEntry = ((Arc<ClusterOutcome>, String), Arc<crate::engine::quality::External>);

/// Load and projection times of the current dataset.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Timings {
    pub(crate) load_ms: f64,
    pub(crate) project_ms: f64,
}

/// The path a file dialog returned, by what it was for.
pub(crate) enum DialogResult {
    Open(Option<PathBuf>),
    Export(Option<PathBuf>),
    ExportSelection(Option<PathBuf>),
    SaveSession(Option<PathBuf>),
    OpenSession(Option<PathBuf>),
    ExportPng(Option<PathBuf>),
    ExportModel(Option<PathBuf>),
}

impl EmbedmapApp {
    /// Builds the app and starts loading `source`. `storage` restores settings when present.
    #[must_use]
    pub fn new(ctx: &egui::Context, storage: Option<&dyn eframe::Storage>, source: LoadSource, load_options: LoadOptions) -> Self {
        let settings: Settings = storage.and_then(|s| eframe::get_value(s, eframe::APP_KEY)).unwrap_or_default();
        ctx.set_visuals(if settings.dark { egui::Visuals::dark() } else { egui::Visuals::light() });
        install_fonts(ctx);
        let repaint = ctx.clone();
        let tasks = tasks::Tasks::new(Arc::new(move || repaint.request_repaint()));
        let repaint = ctx.clone();
        let worker = Worker::spawn(Arc::new(move |u: crate::worker::Urgency| match u {
            crate::worker::Urgency::Now => repaint.request_repaint(),
            crate::worker::Urgency::Soon => repaint.request_repaint_after(chrome::busy_frame(&repaint)),
        }));
        let mut app = Self {
            settings,
            worker,
            dataset: None,
            pca: None,
            spec_edit: load_options.embedding_columns.clone().unwrap_or_default(),
            load_options,
            loading: None,
            load_failure: None,
            timings: Timings::default(),
            clustering: None,
            outcome: None,
            previous: None,
            cache: HashMap::new(),
            dataset_id: 0,
            error: None,
            notice: None,
            map: map::MapCache::default(),
            eps: None,
            eps_metric: Metric::default(),
            kdist: None,
            kdist_pending: None,
            path_edit: String::new(),
            tasks,
            commands: Vec::new(),
            bench: None,
            tuning: None,
            table: cluster_table::TableState::default(),
            sweep: sweep::SweepState::default(),
            dendrogram: None,
            dendrogram_transform: None,
            pending_session: None,
            session_check: None,
            manual: Vec::new(),
            manual_for: None,
            reference: None,
            external_cache: Vec::new(),
            external_pending: Vec::new(),
            projection: projection::ProjectionState::default(),
        };
        app.start_load(source);
        app
    }

    /// Above [`crate::engine::kmeans::minibatch::DEFAULT_ABOVE`] rows a newly opened file is clustered
    /// with mini-batch K-means, as `embedmap cluster` does by default: full K-means there takes
    /// half a minute a slider move (1M × 384, k = 12, 3 restarts: 31 s against 5 s). The status
    /// bar says so; choosing K-means again is kept until the next file opens.
    fn size_default_algorithm(&mut self) {
        let n = self.dataset.as_ref().map_or(0, |d| d.n());
        if self.settings.algorithm == AlgorithmKind::Kmeans && n > crate::engine::kmeans::minibatch::DEFAULT_ABOVE {
            self.settings.algorithm = AlgorithmKind::MinibatchKmeans;
            self.notice = Some(format!(
                "mini-batch K-means, the default above {} rows (as on the command line); K-means is in Algorithm",
                crate::engine::kmeans::minibatch::DEFAULT_ABOVE
            ));
        }
    }

    /// The algorithm the controls are set to.
    #[must_use]
    pub fn algorithm(&self) -> AlgorithmKind {
        self.settings.algorithm
    }

    /// The note in the status bar, if any.
    #[must_use]
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// Whether a load or a clustering is still running (for tests and scripted use).
    #[must_use]
    pub fn is_busy(&self) -> bool {
        self.loading.is_some()
            || self.clustering.is_some()
            || tasks::waited_for(&self.tasks)
            || self.kdist_pending.is_some()
            || !self.external_pending.is_empty()
    }

    /// The loaded dataset.
    #[must_use]
    pub fn dataset(&self) -> Option<&Arc<Dataset>> {
        self.dataset.as_ref()
    }

    /// The clustering on screen.
    #[must_use]
    pub fn outcome(&self) -> Option<&Arc<ClusterOutcome>> {
        self.outcome.as_ref()
    }

    /// The error shown in the window, if any.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref().or(self.load_failure.as_ref().map(|f| f.message.as_str()))
    }

    /// Rows selected on the map, ascending.
    #[must_use]
    pub fn selection(&self) -> &[usize] {
        &self.map.selection
    }

    /// The pinned row, and its nearest neighbours (row, distance) once they are found.
    #[must_use]
    pub fn pinned(&self) -> Option<(usize, Option<&[(usize, f32)]>)> {
        self.map.pinned.as_ref().map(|p| (p.row, p.neighbours.as_deref()))
    }

    /// Where `row` was drawn on screen in the last frame (points).
    #[must_use]
    pub fn map_position(&self, row: usize) -> Option<egui::Pos2> {
        self.map.position(&self.xy()?, row)
    }

    /// Rows the map draws (those not in a hidden cluster).
    #[must_use]
    pub fn drawn_rows(&self) -> usize {
        self.map.colors.iter().filter(|c| c.a() > 0).count()
    }

    /// Milliseconds the last full drawing of the map's image took.
    #[must_use]
    pub fn map_draw_ms(&self) -> f64 {
        self.map.raster_ms
    }

    /// The name the cluster table shows for cluster `c` (the user's, else the automatic one).
    #[must_use]
    pub fn cluster_name(&self, c: usize) -> String {
        cluster_table::display_name(self, c)
    }

    /// Whether the cluster descriptions of the outcome on screen are still being computed.
    #[must_use]
    pub fn describing(&self) -> bool {
        self.table.is_pending()
    }

    /// The k-sweep's rows so far, and whether it is still running.
    #[must_use]
    pub fn sweep_rows(&self) -> (Vec<crate::session::SweepRow>, bool) {
        (self.sweep.sweep.as_ref().map(|s| s.rows.clone()).unwrap_or_default(), self.sweep.running())
    }

    /// Where the k-sweep chart drew k in the last frame (on its x axis, at half height).
    #[must_use]
    pub fn sweep_position(&self, k: usize) -> Option<egui::Pos2> {
        self.sweep.transform.as_ref().map(|t| t.position_from_point(&egui_plot::PlotPoint::new(k as f64, 0.5)))
    }

    /// Where the dendrogram drew height `y` in the last frame (in the middle of its width).
    #[must_use]
    pub fn dendrogram_position(&self, y: f64) -> Option<egui::Pos2> {
        let t = self.dendrogram_transform.as_ref()?;
        let b = t.bounds();
        Some(t.position_from_point(&egui_plot::PlotPoint::new((b.min()[0] + b.max()[0]) / 2.0, y)))
    }

    /// ARI, NMI and V-measure of `o` against the metadata column `col`, once they are computed
    /// (see [`Self::ensure_agreement`]).
    pub(crate) fn external_for(&self, o: &Arc<ClusterOutcome>, col: &str) -> Option<Arc<crate::engine::quality::External>> {
        self.external_cache.iter().find(|((held, c), _)| Arc::ptr_eq(held, o) && c == col).map(|(_, e)| Arc::clone(e))
    }

    /// Computes the agreement figures the readout shows (the outcome on screen and the previous
    /// one against the chosen label column) unless they are known: at once for small data, as
    /// side work above [`EXTERNAL_INLINE_MAX`] rows.
    fn ensure_agreement(&mut self) {
        let (Some(ds), Some(col)) = (self.dataset.clone(), self.reference.clone()) else { return };
        for o in [self.outcome.clone(), self.previous.clone()].into_iter().flatten() {
            if self.external_for(&o, &col).is_some() || self.external_pending.iter().any(|(held, c)| Arc::ptr_eq(held, &o) && *c == col) {
                continue;
            }
            if ds.n() <= EXTERNAL_INLINE_MAX {
                let e = Arc::new(compute_external(&ds, &o, &col));
                self.remember_external(&o, &col, e);
                continue;
            }
            let (ds, outcome, column) = (Arc::clone(&ds), Arc::clone(&o), col.clone());
            let started = self.tasks.start(Task::Agreement, Policy::Alongside, Priority::Background, "the agreement figures", move |_| {
                let e = compute_external(&ds, &outcome, &column);
                tasks::Output::Agreement(outcome, column, e)
            });
            match started {
                Ok(_) => self.external_pending.push((o, col.clone())),
                Err(e) => {
                    self.error = Some(e.to_string());
                    return;
                }
            }
        }
    }

    /// Starts the side work the state on screen needs: agreement figures, the cluster
    /// descriptions; a sweep of a closed dataset stops.
    fn ensure_side_work(&mut self) {
        self.ensure_agreement();
        cluster_table::ensure_described(self);
        sweep::ensure_current(self);
    }

    fn remember_external(&mut self, o: &Arc<ClusterOutcome>, col: &str, e: Arc<crate::engine::quality::External>) {
        if self.external_cache.len() >= 8 {
            self.external_cache.remove(0);
        }
        self.external_cache.push(((Arc::clone(o), col.to_string()), e));
    }

    /// Queues a command, as a click would.
    pub fn push(&mut self, c: Command) {
        self.commands.push(c);
    }

    /// The clustering request the controls describe; `None` while DBSCAN waits for the
    /// k-distance curve that suggests its eps.
    #[must_use]
    pub fn request(&self) -> Option<ClusterRequest> {
        let st = &self.settings;
        let metric = st.metric;
        let algorithm = match st.algorithm {
            AlgorithmKind::Kmeans => {
                Algorithm::Kmeans(KMeansParams { k: st.k, metric, seed: st.seed, n_init: st.n_init, ..Default::default() })
            }
            AlgorithmKind::MinibatchKmeans => Algorithm::MinibatchKmeans(MiniBatchParams {
                k: st.k,
                metric,
                seed: st.seed,
                n_init: st.n_init,
                batch_size: st.batch_size,
                ..Default::default()
            }),
            AlgorithmKind::Dbscan => Algorithm::Dbscan(DbscanParams { eps: self.eps?, min_samples: st.min_samples, metric }),
            AlgorithmKind::Hierarchical => Algorithm::Hierarchical(HierarchicalParams { k: st.k, linkage: st.linkage, metric }),
            AlgorithmKind::Hdbscan => Algorithm::Hdbscan(HdbscanParams {
                min_cluster_size: st.min_cluster_size,
                min_samples: st.hdbscan_min_samples,
                selection: st.selection,
                cluster_selection_epsilon: st.selection_epsilon,
                metric,
            }),
        };
        let noise = if matches!(st.algorithm, AlgorithmKind::Dbscan | AlgorithmKind::Hdbscan) { st.noise } else { NoisePolicy::Keep };
        // Hand-made clusters belong to the clustering they were made on.
        let manual = if self.manual_for.as_ref() == Some(&(algorithm.clone(), noise)) { self.manual.clone() } else { Vec::new() };
        // DBSCAN's eps is suggested from the full space's neighbour distances: full space only.
        let reduce = if st.algorithm == AlgorithmKind::Dbscan { None } else { st.reduce.clone() };
        Some(ClusterRequest { algorithm, reduce, noise, manual, interactive: true, ..ClusterRequest::default() })
    }

    /// The neighbour rank of the k-distance chart: DBSCAN's min_samples, HDBSCAN's core-distance rank.
    pub(crate) fn kdist_rank(&self) -> usize {
        let st = &self.settings;
        if st.algorithm == AlgorithmKind::Hdbscan {
            st.hdbscan_min_samples.unwrap_or(st.min_cluster_size).max(2)
        } else {
            st.min_samples.max(2)
        }
    }

    /// Asks for the k-distance curve DBSCAN's eps slider (and HDBSCAN's chart) is scaled to, unless it is there.
    fn ensure_kdistance(&mut self) {
        let Some(ds) = &self.dataset else { return };
        let (metric, ms) = (self.settings.metric, self.kdist_rank());
        // HDBSCAN keeps the curve it has (labelled with its rank) while min_cluster_size moves: a
        // new curve would queue ahead of the re-selection, which the kept tree makes instant.
        let hdbscan = self.settings.algorithm == AlgorithmKind::Hdbscan;
        if self.kdist.as_ref().is_some_and(|k| k.metric == metric && (k.min_samples == ms || hdbscan)) {
            return;
        }
        self.kdist_pending = Some(self.worker.k_distance(Arc::clone(&ds.embeddings), metric, ms));
    }

    fn start_load(&mut self, source: LoadSource) {
        let generation = self.worker.load(source.clone(), self.load_options.clone());
        self.loading = Some((
            Running { generation, started: Instant::now(), stage: "reading".into(), fraction: 0.0, interim: None, undrawn: false },
            source,
        ));
        self.load_failure = None;
    }

    /// The rules between settings, applied before every clustering whatever widget changed
    /// them: ward linkage is euclidean only (choosing hierarchical under cosine leaves ward for
    /// average), and eps is a distance in one metric's units (another metric asks for a new
    /// suggestion).
    fn settle_settings(&mut self) {
        let st = &mut self.settings;
        if st.algorithm == AlgorithmKind::Hierarchical && st.linkage == Linkage::Ward && st.metric == Metric::Cosine {
            st.linkage = Linkage::Average;
        }
        if self.eps.is_some() && self.eps_metric != st.metric {
            self.eps = None;
        }
    }

    fn recluster(&mut self) {
        self.settle_settings();
        let Some(ds) = &self.dataset else { return };
        let n = ds.n();
        self.settings.k = self.settings.k.clamp(2, n.saturating_sub(1).max(2));
        if matches!(self.settings.algorithm, AlgorithmKind::Dbscan | AlgorithmKind::Hdbscan) {
            self.ensure_kdistance();
        }
        let Some(req) = self.request() else {
            // DBSCAN without an eps yet: the k-distance curve will suggest one.
            self.worker.cancel_cluster();
            self.clustering = None;
            return;
        };
        let Some(ds) = &self.dataset else { return };
        let key = CacheKey { dataset: self.dataset_id, request: req };
        if let Some(hit) = self.cache.get(&key).cloned() {
            self.worker.cancel_cluster();
            self.clustering = None;
            self.set_outcome(hit);
            return;
        }
        // A first answer from the clusters on screen, then the seeded result.
        let generation = self.worker.cluster_with_preview(Arc::clone(&ds.embeddings), key.request, self.outcome.clone());
        self.clustering =
            Some(Running { generation, started: Instant::now(), stage: "clustering".into(), fraction: 0.0, interim: None, undrawn: false });
    }

    /// A kept clustering with the same settings as `o` in the other space (full embedding or
    /// a UMAP reduction), to show both noise shares.
    pub(crate) fn other_space(&self, o: &ClusterOutcome) -> Option<Arc<ClusterOutcome>> {
        self.cache
            .iter()
            .filter(|(k, v)| {
                k.dataset == self.dataset_id
                    && v.request.algorithm == o.request.algorithm
                    && v.request.noise == o.request.noise
                    && v.request.manual.is_empty()
                    && v.request.reduce.is_some() != o.request.reduce.is_some()
            })
            .map(|(_, v)| Arc::clone(v))
            .min_by_key(|v| v.request.reduce.as_ref().map_or(0, |r| r.dim))
    }

    fn set_outcome(&mut self, o: Arc<ClusterOutcome>) {
        if let Some((algo, sizes)) = &self.session_check
            && *algo == o.request.algorithm
        {
            if *sizes != o.sizes {
                self.notice =
                    Some("the reopened session gave different clusters than when it was saved: has the data file changed?".into());
            }
            self.session_check = None;
        }
        // "Previous" is the last seeded result: a preview only stands in for the next one.
        if self.outcome.as_ref().is_some_and(|cur| !Arc::ptr_eq(cur, &o) && cur.is_final()) {
            self.previous = self.outcome.take();
        }
        self.outcome = Some(o);
        self.rebuild_map();
    }

    fn rebuild_map(&mut self) {
        self.map.dirty = true;
        self.map.silhouette = self.outcome.as_deref().map(silhouette_plot::shapes).unwrap_or_default();
        // A selection or pin stays (rows are the same); a highlight names a cluster of the old labels.
        self.map.highlight = None;
    }

    fn handle(&mut self, e: Event) {
        match e {
            Event::Progress { generation, stage, fraction } => {
                if let Some((r, _)) = &mut self.loading
                    && r.generation == generation
                {
                    r.stage = stage.clone();
                    r.fraction = fraction;
                }
                if self.projection.running.as_ref().is_some_and(|r| r.0 == generation) {
                    self.projection.stage = Some((stage.clone(), fraction));
                }
                if let Some(r) = &mut self.clustering
                    && r.generation == generation
                {
                    r.stage = stage;
                    r.fraction = fraction;
                }
            }
            Event::Loaded { generation, dataset, pca, load_ms, project_ms } => {
                if self.loading.as_ref().is_some_and(|(r, _)| r.generation == generation) {
                    self.loading = None;
                    if let Some(dir) = dataset.path.as_ref().and_then(|p| p.parent()) {
                        self.settings.last_dir = Some(dir.to_path_buf());
                    }
                    self.spec_edit = self.load_options.embedding_columns.clone().unwrap_or_default();
                    self.dataset = Some(dataset);
                    self.projection.reset(Arc::new(pca.projection.clone()));
                    self.pca = Some(pca);
                    self.timings = Timings { load_ms, project_ms };
                    self.outcome = None;
                    self.previous = None;
                    self.cache.clear();
                    self.dataset_id += 1;
                    self.map.reset();
                    self.table = cluster_table::TableState::default();
                    self.external_cache.clear();
                    self.external_pending.clear();
                    self.tasks.cancel(Task::Agreement);
                    self.tasks.cancel(Task::Describe);
                    self.tasks.cancel(Task::Neighbours);
                    self.eps = None;
                    self.kdist = None;
                    self.kdist_pending = None;
                    self.error = None;
                    if let Some(p) = self.dataset.as_ref().and_then(|d| d.path.clone()) {
                        files::remember(self, &p);
                    }
                    self.session_check = None;
                    if let Some(s) = self.pending_session.take() {
                        files::apply_request(self, &s.request);
                        files::apply_projection(self, s.projection.as_ref());
                        self.table.pending_names = Some((s.request.algorithm.clone(), s.cluster_names.clone()));
                        self.session_check = s.sizes.clone().map(|z| (s.request.algorithm.clone(), z));
                    } else {
                        self.size_default_algorithm();
                    }
                    self.recluster();
                }
            }
            Event::LoadFailed { generation, error, source } => {
                if self.loading.as_ref().is_some_and(|(r, _)| r.generation == generation) {
                    self.loading = None;
                    let can_drop_nonfinite = matches!(error, crate::data::LoadError::NonFinite { .. }) && !self.load_options.drop_nonfinite;
                    self.load_failure = Some(LoadFailure { message: error.to_string(), source, can_drop_nonfinite });
                }
            }
            Event::Clustered { generation, outcome } => {
                if self.clustering.as_ref().is_some_and(|r| r.generation == generation) {
                    self.clustering = None;
                    if self.dataset.is_some() {
                        let key = CacheKey { dataset: self.dataset_id, request: outcome.request.clone() };
                        if self.cache.len() > 64 {
                            self.cache.clear();
                        }
                        self.cache.insert(key, Arc::clone(&outcome));
                    }
                    self.set_outcome(outcome);
                }
            }
            Event::KDistance { generation, embeddings, metric, min_samples, curve } => {
                let current = self.dataset.as_ref().is_some_and(|d| Arc::ptr_eq(&d.embeddings, &embeddings));
                if current && self.kdist_pending == Some(generation) {
                    self.kdist_pending = None;
                    let fresh = self.eps.is_none();
                    if fresh {
                        self.eps_metric = metric;
                        self.eps = crate::engine::neighbors::suggested_eps(&curve)
                            .filter(|&e| e > 0.0)
                            .or(curve.last().copied().filter(|&e| e > 0.0));
                    }
                    self.kdist = Some(KDist { metric, min_samples, curve });
                    if fresh && self.eps.is_some() {
                        self.recluster();
                    }
                }
            }
            Event::ClusterPreview { generation, outcome } => {
                if let Some(r) = &mut self.clustering
                    && r.generation == generation
                {
                    r.undrawn = true;
                    self.set_outcome(outcome);
                }
            }
            Event::ClusterStep { generation, labels } => {
                // A preview on screen stays until the seeded result replaces it.
                let previewed = self.outcome.as_ref().is_some_and(|o| o.preview.is_some());
                if let Some(r) = &mut self.clustering
                    && r.generation == generation
                    && !previewed
                {
                    r.interim = Some(labels);
                }
            }
            Event::ClusterFailed { generation, error } => {
                if self.clustering.as_ref().is_some_and(|r| r.generation == generation) {
                    self.clustering = None;
                    self.error = Some(error);
                }
            }
            Event::ProjectionStep { generation, coords, epoch, n_epochs } => {
                if self.projection.running.as_ref().is_some_and(|r| r.0 == generation) {
                    self.projection.live = Some((coords, epoch, n_epochs));
                }
            }
            Event::Projected { generation, embeddings, projected, trust, recall } => {
                if self.dataset.as_ref().is_some_and(|d| Arc::ptr_eq(&d.embeddings, &embeddings)) {
                    self.on_projected(generation, projected, trust, recall);
                    self.map.dirty = true;
                }
            }
            Event::ProjectionFailed { generation, error } => {
                if let Some((g, k, _)) = self.projection.running.clone()
                    && g == generation
                {
                    self.projection.running = None;
                    self.projection.live = None;
                    self.projection.failed = Some((k, error));
                }
            }
        }
    }

    fn apply(&mut self, ctx: &egui::Context, c: Command) {
        match c {
            Command::OpenDialog => {
                let dir = self.settings.last_dir.clone();
                self.spawn_dialog(move || {
                    let d = rfd::FileDialog::new()
                        .set_title("Open embeddings")
                        .add_filter("Embeddings", &["csv", "tsv", "parquet", "jsonl", "ndjson", "arrow", "feather", "ipc", "npy"]);
                    let d = match dir {
                        Some(dir) => d.set_directory(dir),
                        None => d,
                    };
                    DialogResult::Open(d.pick_file())
                });
            }
            Command::ExportDialog | Command::ExportSelectionDialog => {
                let selection = matches!(c, Command::ExportSelectionDialog);
                if self.outcome.is_none() || (selection && self.map.selection.is_empty()) {
                    return;
                }
                let dir = self.settings.last_dir.clone();
                let stem = files::file_stem(self);
                self.spawn_dialog(move || {
                    let d = rfd::FileDialog::new()
                        .set_title(if selection { "Export the selected rows" } else { "Export labelled data" })
                        .set_file_name(format!("{stem}_{}.csv", if selection { "selection" } else { "clusters" }))
                        .add_filter("CSV", &["csv"])
                        .add_filter("Parquet", &["parquet"])
                        .add_filter("TSV", &["tsv"]);
                    let d = match dir {
                        Some(dir) => d.set_directory(dir),
                        None => d,
                    };
                    let path = d.save_file();
                    if selection { DialogResult::ExportSelection(path) } else { DialogResult::Export(path) }
                });
            }
            Command::OpenPath(p) => {
                self.load_options = LoadOptions::default();
                self.start_load(LoadSource::File(p));
            }
            Command::OpenDemo => {
                self.load_options = LoadOptions::default();
                self.start_load(LoadSource::Demo);
            }
            Command::Reload(opts) => {
                let source = match (&self.load_failure, &self.dataset) {
                    (Some(f), _) => f.source.clone(),
                    (None, Some(ds)) => ds.path.clone().map_or(LoadSource::Demo, LoadSource::File),
                    (None, None) => LoadSource::Demo,
                };
                self.load_options = opts;
                self.start_load(source);
            }
            Command::ExportTo(path) => self.export_to(path, None),
            Command::SaveSessionDialog | Command::ExportPngDialog => {
                let session = matches!(c, Command::SaveSessionDialog);
                if self.outcome.is_none() {
                    return;
                }
                let dir = self.settings.last_dir.clone();
                let name = files::suggested_name(self, if session { "session.json" } else { "map.png" });
                self.spawn_dialog(move || {
                    let d = rfd::FileDialog::new()
                        .set_title(if session { "Save session" } else { "Export the map as PNG" })
                        .set_file_name(name)
                        .add_filter(if session { "Session" } else { "PNG image" }, &[if session { "json" } else { "png" }]);
                    let d = match dir {
                        Some(dir) => d.set_directory(dir),
                        None => d,
                    };
                    let path = d.save_file();
                    if session { DialogResult::SaveSession(path) } else { DialogResult::ExportPng(path) }
                });
            }
            Command::ExportModelDialog => {
                if self.outcome.is_none() {
                    return;
                }
                let dir = self.settings.last_dir.clone();
                let stem = files::file_stem(self);
                self.spawn_dialog(move || {
                    let d = rfd::FileDialog::new()
                        .set_title("Export the clustering as a model")
                        .set_file_name(format!("{stem}.embedmap.json"))
                        .add_filter("embedmap model", &["json"]);
                    let d = match dir {
                        Some(dir) => d.set_directory(dir),
                        None => d,
                    };
                    DialogResult::ExportModel(d.save_file())
                });
            }
            Command::ExportModelTo(path) => self.export_model_to(path),
            Command::OpenSessionDialog => {
                let dir = self.settings.last_dir.clone();
                self.spawn_dialog(move || {
                    let d = rfd::FileDialog::new().set_title("Open session").add_filter("Session", &["json"]);
                    let d = match dir {
                        Some(dir) => d.set_directory(dir),
                        None => d,
                    };
                    DialogResult::OpenSession(d.pick_file())
                });
            }
            Command::CreateClusterFromSelection => {
                let Some(o) = &self.outcome else { return };
                if self.map.selection.is_empty() {
                    return;
                }
                let key = (o.request.algorithm.clone(), o.request.noise);
                if self.manual_for.as_ref() != Some(&key) {
                    self.manual = o.request.manual.clone();
                    self.manual_for = Some(key);
                }
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
                )]
                self.manual.push(self.map.selection.iter().map(|&r| r as u32).collect());
                self.map.selection.clear();
                self.recluster();
            }
            Command::SaveSessionTo(path) => files::save_session(self, &path),
            Command::OpenSession(path) => files::open_session(self, &path),
            Command::ExportPngTo(path) => files::export_png(self, &path),
            Command::ExportSelectionTo(path) => {
                if self.map.selection.is_empty() {
                    self.error = Some("nothing is selected: drag a box (shift-drag) or a lasso (ctrl-drag) on the map first".into());
                } else {
                    let rows = self.map.selection.clone();
                    self.export_to(path, Some(rows));
                }
            }
            Command::Recluster => self.recluster(),
            Command::CancelProjection => {
                self.worker.cancel_projection();
                if let Some((_, k, _)) = self.projection.running.take() {
                    self.projection.failed = Some((k, "layout cancelled; choose the projection again to restart it".into()));
                }
                self.projection.live = None;
                self.map.dirty = true;
            }
            Command::CancelCluster => {
                self.worker.cancel_cluster();
                self.clustering = None;
            }
            Command::DismissError => {
                self.error = None;
                self.load_failure = None;
                self.notice = None;
            }
            Command::Pin(Some(row)) => map::pin(self, row),
            Command::Pin(None) => self.map.pinned = None,
            Command::ToggleHighlight(c) => {
                self.map.highlight = if self.map.highlight == Some(c) { None } else { Some(c) };
                self.map.dirty = true;
            }
            Command::CompareWith(col) => {
                self.reference = col;
                self.ensure_agreement();
            }
            Command::StartSweep => sweep::start(self),
            Command::CancelSweep => {
                self.tasks.cancel(Task::Sweep);
                if let Some(s) = &mut self.sweep.sweep {
                    s.running = false;
                }
            }
            Command::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
        }
    }

    /// Runs a (blocking) file dialog as side work; one dialog at a time.
    fn spawn_dialog(&mut self, show: impl FnOnce() -> DialogResult + Send + 'static) {
        if self.tasks.is_running(Task::Dialog) {
            return;
        }
        if let Err(e) = self.tasks.start(Task::Dialog, Policy::One, Priority::Io, "a file dialog", move |_| tasks::Output::Dialog(show())) {
            self.error = Some(e.to_string());
        }
    }

    /// The path a dialog returned becomes the command it was asked for.
    fn chosen(&mut self, r: DialogResult) {
        self.commands.push(match r {
            DialogResult::Open(Some(p)) => Command::OpenPath(p),
            DialogResult::Export(Some(p)) => Command::ExportTo(p),
            DialogResult::ExportSelection(Some(p)) => Command::ExportSelectionTo(p),
            DialogResult::SaveSession(Some(p)) => Command::SaveSessionTo(p),
            DialogResult::OpenSession(Some(p)) => Command::OpenSession(p),
            DialogResult::ExportPng(Some(p)) => Command::ExportPngTo(p),
            DialogResult::ExportModel(Some(p)) => Command::ExportModelTo(p),
            DialogResult::Open(None)
            | DialogResult::Export(None)
            | DialogResult::ExportSelection(None)
            | DialogResult::SaveSession(None)
            | DialogResult::OpenSession(None)
            | DialogResult::ExportPng(None)
            | DialogResult::ExportModel(None) => {
                self.notice = Some("no file chosen (if no dialog appeared, type the path in the Dataset panel)".into());
                return;
            }
        });
    }

    fn export_to(&mut self, path: PathBuf, rows: Option<Vec<usize>>) {
        if self.tasks.is_running(Task::Export) {
            self.error = Some("an export is already running; wait for it to finish".into());
            return;
        }
        let (Some(ds), Some(o)) = (self.dataset.clone(), self.outcome.clone()) else {
            self.error = Some("nothing to export yet: wait for the clustering to finish".into());
            return;
        };
        let Some((projection, xy, fell_back)) = self.exported_layout() else {
            self.error = Some("nothing to export yet: the map has no positions".into());
            return;
        };
        // The parameters file is a session file of what was exported, so
        // `embedmap cluster --session FILE.params.json` reproduces the export.
        let mut session = match files::session_file(self) {
            Ok(s) => s,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        session.projection = Some(projection);
        if let Some(dir) = path.parent() {
            self.settings.last_dir = Some(dir.to_path_buf());
        }
        let started = self.tasks.start(Task::Export, Policy::One, Priority::Io, "an export", move |_| {
            let sil = o.silhouette.as_ref().map_or_else(|_| vec![f32::NAN; ds.n()], |s| s.values.clone());
            let cols = o.export_columns(&sil, &xy);
            let written = match &rows {
                Some(rows) => crate::data::export_rows(&ds, cols, rows, &path),
                None => crate::data::export_labelled(&ds, cols, &path),
            };
            let r = written.map_err(|e| e.to_string()).and_then(|summary| {
                let mut params = serde_json::to_value(&session).unwrap_or_default();
                if let Some(m) = params.as_object_mut() {
                    m.insert("embedding".into(), serde_json::json!(ds.source));
                    m.insert("algorithm".into(), serde_json::json!(o.request.algorithm.name()));
                    m.insert("silhouette".into(), serde_json::json!(o.silhouette.as_ref().ok().map(|s| s.mean)));
                    m.insert("inertia".into(), serde_json::json!(o.inertia));
                    m.insert(
                        "export".into(),
                        serde_json::json!({ "path": summary.path.display().to_string(), "rows": summary.rows, "selection": rows.is_some() }),
                    );
                }
                let side = path.with_extension("params.json");
                let text = serde_json::to_string_pretty(&params).unwrap_or_default();
                crate::data::write_atomically(&side, |f| {
                    use std::io::Write as _;
                    f.write_all(text.as_bytes()).map_err(|e| e.to_string())
                })
                .map_err(|e| format!("the data was exported, but the parameters file could not be written ({e}): {}", side.display()))?;
                let note = if fell_back { " · x, y from PCA: the UMAP layout was not finished" } else { "" };
                Ok(format!("exported {} rows to {} (parameters in {}){note}", summary.rows, summary.path.display(), side.display()))
            });
            tasks::Output::Written(r)
        });
        if let Err(e) = started {
            self.error = Some(e.to_string());
        }
    }

    /// Saves the clustering on screen as a model, on the export thread: its centroids or core
    /// points, parameters, cluster names and (for PCA) the map's axes.
    fn export_model_to(&mut self, path: PathBuf) {
        if self.tasks.is_running(Task::Export) {
            self.error = Some("an export is already running; wait for it to finish".into());
            return;
        }
        let (Some(ds), Some(o)) = (self.dataset.clone(), self.outcome.clone()) else {
            self.error = Some("nothing to export yet: wait for the clustering to finish".into());
            return;
        };
        if !o.is_final() {
            self.error = Some("the clustering on screen is not final yet: wait for its exact figures, then export the model".into());
            return;
        }
        if let Err(e) = crate::model::check_path(&path) {
            self.error = Some(e.to_string());
            return;
        }
        if let Some(dir) = path.parent() {
            self.settings.last_dir = Some(dir.to_path_buf());
        }
        // The map's own layout when it is not PCA (the model says what it cannot hold); PCA's
        // axes are computed again, which places the rows exactly where the map has them.
        let layout = self
            .current_layout()
            .map(|l| Arc::clone(&l.projected))
            .filter(|p| !matches!(p.params, crate::engine::project::ProjectionParams::Pca));
        let names = self.table.names.iter().map(|n| n.trim().to_string()).collect::<Vec<_>>();
        let started = self.tasks.start(Task::Export, Policy::One, Priority::Io, "an export", move |_| {
            let r = (|| -> Result<String, String> {
                let projected = match layout {
                    Some(p) => p,
                    None => {
                        let pca = crate::engine::project::ProjectionParams::Pca;
                        Arc::new(crate::engine::project::project(&ds.embeddings, &pca, &crate::engine::Control::default(), None).map_err(|e| e.to_string())?)
                    }
                };
                let file = ds.path.as_ref().map(|p| p.display().to_string());
                let model = crate::model::Model::from_clustering(&ds.embeddings, &ds.source, file, &o, Some(&projected), &names)
                    .map_err(|e| e.to_string())?;
                model.save(&path).map_err(|e| e.to_string())?;
                let ag = model.file.agreement;
                let share = 100.0 * ag.same as f64 / ag.rows.max(1) as f64;
                let map = if model.file.projection.is_some() { ", with the map's PCA axes" } else { ", without x, y (see its notes)" };
                Ok(format!(
                    "saved the model to {} ({share:.2}% of the rows labelled as on screen{map}); label other files with: embedmap assign FILES --model {} --out OUT",
                    path.display(),
                    path.display()
                ))
            })();
            tasks::Output::Written(r)
        });
        if let Err(e) = started {
            self.error = Some(e.to_string());
        }
    }

    fn poll(&mut self, ctx: &egui::Context) {
        for e in self.worker.poll() {
            let loaded = matches!(e, Event::Loaded { .. });
            self.handle(e);
            if loaded && let Some(ds) = &self.dataset {
                ctx.send_viewport_cmd(egui::ViewportCommand::Title(format!("embedmap — {}", ds.name)));
            }
        }
        tasks::poll(self);
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        if let Some(p) = dropped.into_iter().next() {
            self.commands.push(Command::OpenPath(p));
        }
        for c in std::mem::take(&mut self.commands) {
            self.apply(ctx, c);
        }
        chrome::set_foreground_busy(ctx, self.clustering.is_some());
        if self.is_busy() {
            // Keep the progress display moving while the worker runs.
            ctx.request_repaint_after(chrome::busy_frame(ctx));
        }
    }
}

/// The default proportional font lacks arrows and triangles (↑ ↓ ▸); the bundled monospace font
/// has them, so it becomes the proportional fallback.
fn install_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    if let Some(family) = fonts.families.get_mut(&egui::FontFamily::Proportional) {
        family.push("Hack".to_owned());
    }
    ctx.set_fonts(fonts);
}

impl eframe::App for EmbedmapApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.poll(ctx);
        self.ensure_projection();
        self.ensure_side_work();
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        tuning::before_frame(self);
        bench::before_frame(self, &ui.ctx().clone());
        chrome::menu_ui(self, ui);
        chrome::status_ui(self, ui);
        side_panel::side_panel_ui(self, ui);
        silhouette_plot::silhouette_panel_ui(self, ui);
        cluster_table::cluster_table_ui(self, ui);
        map::map_ui(self, ui);
        chrome::drop_overlay_ui(ui);
        let cmds = std::mem::take(&mut self.commands);
        let ctx = ui.ctx().clone();
        for c in cmds {
            self.apply(&ctx, c);
        }
        // What the commands changed starts its side work in this frame, not the next.
        self.ensure_side_work();
        if let Some(r) = &mut self.clustering
            && r.undrawn
            && !self.map.dirty
        {
            r.undrawn = false;
            self.worker.drawn(r.generation);
        }
        tuning::after_frame(self, &ctx);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.bench.is_some() || self.tuning.is_some() {
            // A benchmark's settings are its own, not the user's.
            return;
        }
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }
}

/// A benchmark the window runs on itself, printing its figures before it closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Benchmark {
    /// `--benchmark-frames N`: frame times of the map.
    Frames(usize),
    /// `--benchmark-tuning`: latencies of a slider.
    Tuning(crate::cli::TuneParam),
}

/// Opens the window on `source`; with a benchmark, runs it once the data is clustered, prints
/// the figures and closes.
pub fn run(source: LoadSource, load_options: LoadOptions, benchmark: Option<Benchmark>) -> anyhow::Result<()> {
    let title = match &source {
        LoadSource::Demo => "embedmap — demo".to_string(),
        LoadSource::File(p) => format!("embedmap — {}", p.display()),
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_title(title).with_inner_size([1400.0, 880.0]).with_min_inner_size([720.0, 480.0]),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native(
        "embedmap",
        options,
        Box::new(move |cc| {
            let mut app = EmbedmapApp::new(&cc.egui_ctx, cc.storage, source, load_options);
            match benchmark {
                Some(Benchmark::Frames(n)) => app.bench = Some(bench::Bench::new(n)),
                Some(Benchmark::Tuning(p)) => {
                    app.settings = tuning::Tuning::settings(p, &app.settings);
                    app.tuning = Some(tuning::Tuning::new(p));
                }
                None => {}
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
