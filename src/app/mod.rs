//! The window: its state and the per-frame loop.
//!
//! * `settings.rs`: what persists between runs; `commands.rs`: what a click asks for and how it
//!   is applied; `events.rs`: what the worker reports; `tasks.rs`: the side work and its reports;
//!   `agreement.rs`: the comparison with a label column; `inspect.rs`: read access for tests;
//! * `panels/`: the side panel, the silhouette plot, the cluster table, the sweep, the dendrogram,
//!   the k-distance chart, the menu and status bar; they read state and push [`Command`]s;
//! * `map/`: the map's state, colours and interaction (`mod.rs`), its CPU rasteriser and the
//!   projections' state;
//! * `files.rs` (sessions, PNG, recent files), `palette.rs`, `bench.rs` and `tuning.rs` (the
//!   window's own benchmarks).
//!
//! A frame: `logic` applies what the worker and the side work reported and starts the side work
//! the state needs; the panels draw; the commands they pushed are applied, and every job starts
//! there.

mod agreement;
mod bench;
mod commands;
mod events;
mod files;
mod inspect;
mod map;
mod palette;
mod panels;
mod settings;
mod tasks;
mod tuning;

use agreement::ExternalEntry;
pub use commands::Command;
pub(crate) use commands::DialogResult;
use map::projection;
pub use map::raster;
use panels::{chrome, cluster_table, dendrogram, kdist, side_panel, silhouette_plot, sweep};
pub use settings::Settings;

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
    /// Whether the settings are saved on exit (not after a benchmark, whose settings are its own).
    persist: bool,
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

/// Load and projection times of the current dataset.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Timings {
    pub(crate) load_ms: f64,
    pub(crate) project_ms: f64,
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
            persist: true,
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

    /// Starts the side work the state on screen needs: agreement figures, the cluster
    /// descriptions; a sweep of a closed dataset stops.
    fn ensure_side_work(&mut self) {
        self.ensure_agreement();
        cluster_table::ensure_described(self);
        sweep::ensure_current(self);
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
        if !self.persist {
            // A benchmark's settings are its own, not the user's (also once it has finished
            // and the window closes).
            return;
        }
        eframe::set_value(storage, eframe::APP_KEY, &self.settings);
    }
}

impl EmbedmapApp {
    /// Runs `b` once the data is clustered, then closes; the user's saved settings stay as they
    /// were, before, during and after it.
    pub fn run_benchmark(&mut self, b: Benchmark) {
        self.persist = false;
        match b {
            Benchmark::Frames(n) => self.bench = Some(bench::Bench::new(n)),
            Benchmark::Tuning(p) => {
                self.settings = tuning::Tuning::settings(p, &self.settings);
                self.tuning = Some(tuning::Tuning::new(p));
            }
        }
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
            if let Some(b) = benchmark {
                app.run_benchmark(b);
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))
}
