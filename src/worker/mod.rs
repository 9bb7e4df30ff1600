//! One named compute thread. The window hands it jobs and never waits for it: results come
//! back as events tagged with a generation number, and a newer job of the same kind cancels
//! the older one (latest wins).

mod event;

pub use event::{Event, LoadSource, Urgency};

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use crate::data::{self, Dataset, LoadOptions};
use crate::engine::project::pca::{Pca, pca_2d};
use crate::engine::project::trust::{Trust, trust};
use crate::engine::project::{ProjectError, Projected, ProjectionParams, project};
use crate::engine::{Control, Embeddings, Metric};
use crate::session::{ClusterOutcome, ClusterRequest, RunError, elapsed_ms, run_preview};

/// Rows up to which every row's own kNN recall is computed (from the exact neighbour graph,
/// whose cost grows as n²).
pub const RECALL_ROWS_MAX: usize = 50_000;

/// How often a running layout shows its positions.
const LAYOUT_STEP_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// A K-means running longer than this shows its best restart so far between restarts (a
/// shorter one's result comes soon enough, and each preview costs a frame).
const RESTART_PREVIEW_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// How often a running clustering shows its labels so far (and how long it runs before the first).
const STEP_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// A preview's start: the clustering on screen, if any.
type Previous = Option<Arc<ClusterOutcome>>;

enum Job {
    Load { source: LoadSource, options: LoadOptions },
    Cluster { embeddings: Arc<Embeddings>, request: ClusterRequest, preview: Option<Previous> },
    KDistance { embeddings: Arc<Embeddings>, metric: Metric, min_samples: usize },
    Project { embeddings: Arc<Embeddings>, params: ProjectionParams, trust_metric: Metric },
}

/// The worker's kinds of job, each with one slot: a newer job of a kind replaces the older.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    /// Reading a file; a new load makes every older job stale.
    Load,
    /// A clustering.
    Cluster,
    /// An analysis such as the k-distance curve.
    Analysis,
    /// A map layout, served by its own thread.
    Projection,
}

impl Lane {
    const ALL: [Self; 4] = [Self::Load, Self::Cluster, Self::Analysis, Self::Projection];

    /// The lanes a new job of this lane makes stale.
    fn replaces(self) -> &'static [Self] {
        match self {
            Self::Load => &Self::ALL,
            Self::Cluster => &[Self::Cluster],
            Self::Analysis => &[Self::Analysis],
            Self::Projection => &[Self::Projection],
        }
    }
}

/// A queued job with its generation and cancel flag.
type Queued = (u64, Arc<AtomicBool>, Job);

#[derive(Default)]
struct Queue {
    load: Option<Queued>,
    cluster: Option<Queued>,
    analysis: Option<Queued>,
    /// Served by its own thread, so a long layout never delays a clustering.
    projection: Option<Queued>,
    shutdown: bool,
}

impl Queue {
    fn slot(&mut self, lane: Lane) -> &mut Option<Queued> {
        match lane {
            Lane::Load => &mut self.load,
            Lane::Cluster => &mut self.cluster,
            Lane::Analysis => &mut self.analysis,
            Lane::Projection => &mut self.projection,
        }
    }
}

/// The cancel flags of the running and queued jobs, one per lane.
#[derive(Default)]
struct Flags([Option<Arc<AtomicBool>>; 4]);

impl Flags {
    fn slot(&mut self, lane: Lane) -> &mut Option<Arc<AtomicBool>> {
        &mut self.0[lane as usize]
    }
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Cancel flags of the running and queued jobs.
    running: Mutex<Flags>,
    /// What the window has drawn.
    shown: Shown,
}

/// Longest a clustering waits for the window to draw its first answer before going on.
const SHOWN_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Whether the window has drawn the first answer sent last: the clustering generation it
/// reported drawing since that answer was sent (0 until then). After sending a first answer, a
/// clustering waits for it to be drawn (at most [`SHOWN_WAIT`]) before going on:
/// at a million rows the drawing of a map (its colours and a million discs, on the CPU) took
/// 0.2–0.65 s beside the seeded run and 0.1 s alone.
#[derive(Default)]
struct Shown {
    drawn: Mutex<u64>,
    changed: Condvar,
    /// Whether a window reports its drawings (without one nothing waits).
    watched: AtomicBool,
}

impl Shown {
    /// Sends a first answer of the clustering `generation` and waits for the window to draw it.
    fn send_and_wait(&self, send: &(dyn Fn(Event) + Sync), outcome: ClusterOutcome, generation: u64, ctl: &Control) {
        *lock(&self.drawn) = 0;
        send(Event::ClusterPreview { generation, outcome: Arc::new(outcome) });
        if !self.watched.load(Ordering::Relaxed) {
            return;
        }
        let deadline = Instant::now() + SHOWN_WAIT;
        let mut drawn = lock(&self.drawn);
        while *drawn < generation && !ctl.is_cancelled() {
            let Some(left) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) else { break };
            let step = left.min(std::time::Duration::from_millis(10));
            drawn = self.changed.wait_timeout(drawn, step).map_or_else(|e| e.into_inner().0, |r| r.0);
        }
    }
}

/// Handle to the compute thread. Dropping it stops the thread after its current job.
pub struct Worker {
    shared: Arc<Shared>,
    generation: AtomicU64,
    events: Receiver<Event>,
    thread: Option<std::thread::JoinHandle<()>>,
    projection_thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}

/// Called after every event so the window wakes up (e.g. `egui::Context::request_repaint`).
pub type Notify = Arc<dyn Fn(Urgency) + Send + Sync>;

impl Worker {
    /// Starts the thread.
    ///
    /// # Panics
    /// If the operating system refuses to start a thread.
    #[must_use]
    pub fn spawn(notify: Notify) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            running: Mutex::new(Flags::default()),
            shown: Shown::default(),
        });
        let (tx, rx) = channel();
        let (s, tx2, notify2) = (Arc::clone(&shared), tx.clone(), Arc::clone(&notify));
        let thread = crate::jobs::spawn("worker", move || run(&s, &tx, &notify, false))
            // Without a worker thread the application cannot do anything; this is fatal at startup.
            .expect("cannot start the worker thread");
        let s = Arc::clone(&shared);
        let projection_thread =
            crate::jobs::spawn("projection", move || run(&s, &tx2, &notify2, true)).expect("cannot start the projection thread");
        Self { shared, generation: AtomicU64::new(0), events: rx, thread: Some(thread), projection_thread: Some(projection_thread) }
    }

    fn submit(&self, lane: Lane, job: Job) -> u64 {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let cancel = Arc::new(AtomicBool::new(false));
        {
            let mut running = lock(&self.shared.running);
            for &stale in lane.replaces() {
                if let Some(old) = running.slot(stale).take() {
                    old.store(true, Ordering::Relaxed);
                }
            }
            *running.slot(lane) = Some(Arc::clone(&cancel));
        }
        let mut q = lock(&self.shared.queue);
        for &stale in lane.replaces() {
            *q.slot(stale) = None;
        }
        *q.slot(lane) = Some((generation, cancel, job));
        drop(q);
        // Two threads wait on the queue, each for its own jobs.
        self.shared.wake.notify_all();
        generation
    }

    /// Loads a dataset; returns the job's generation.
    pub fn load(&self, source: LoadSource, options: LoadOptions) -> u64 {
        self.submit(Lane::Load, Job::Load { source, options })
    }

    /// Clusters `embeddings`; returns the job's generation.
    pub fn cluster(&self, embeddings: Arc<Embeddings>, request: ClusterRequest) -> u64 {
        self.submit(Lane::Cluster, Job::Cluster { embeddings, request, preview: None })
    }

    /// Clusters `embeddings`, first sending a preview when the request has them, started from
    /// the labels of `on_screen`; returns the job's generation.
    pub fn cluster_with_preview(
        &self,
        embeddings: Arc<Embeddings>,
        request: ClusterRequest,
        on_screen: Option<Arc<ClusterOutcome>>,
    ) -> u64 {
        self.submit(Lane::Cluster, Job::Cluster { embeddings, request, preview: Some(on_screen) })
    }

    /// Computes the k-distance curve of `embeddings`; returns the job's generation.
    pub fn k_distance(&self, embeddings: Arc<Embeddings>, metric: Metric, min_samples: usize) -> u64 {
        self.submit(Lane::Analysis, Job::KDistance { embeddings, metric, min_samples })
    }

    /// Lays out `embeddings` as `params` says and measures the map's trust; returns the job's
    /// generation. A newer projection replaces a running one.
    /// The trust figures are measured in `trust_metric` (the clustering's).
    pub fn project(&self, embeddings: Arc<Embeddings>, params: ProjectionParams, trust_metric: Metric) -> u64 {
        self.submit(Lane::Projection, Job::Project { embeddings, params, trust_metric })
    }

    /// Stops the running projection, if any.
    pub fn cancel_projection(&self) {
        if let Some(c) = lock(&self.shared.running).slot(Lane::Projection).take() {
            c.store(true, Ordering::Relaxed);
        }
        lock(&self.shared.queue).projection = None;
    }

    /// Stops the running clustering, if any.
    pub fn cancel_cluster(&self) {
        if let Some(c) = lock(&self.shared.running).slot(Lane::Cluster).take() {
            c.store(true, Ordering::Relaxed);
        }
        lock(&self.shared.queue).cluster = None;
    }

    /// The window has drawn the first answer of the clustering `generation`.
    pub fn drawn(&self, generation: u64) {
        self.shared.shown.watched.store(true, Ordering::Relaxed);
        let mut d = lock(&self.shared.shown.drawn);
        *d = (*d).max(generation);
        self.shared.shown.changed.notify_all();
    }

    /// Events that arrived since the last call; never blocks.
    pub fn poll(&self) -> Vec<Event> {
        self.events.try_iter().collect()
    }

    /// Waits up to `timeout` for the next event (for tests and the command line).
    pub fn wait(&self, timeout: std::time::Duration) -> Option<Event> {
        self.events.recv_timeout(timeout).ok()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        {
            let mut q = lock(&self.shared.queue);
            q.shutdown = true;
            q.load = None;
            q.cluster = None;
            q.analysis = None;
            q.projection = None;
        }
        for c in lock(&self.shared.running).0.iter().flatten() {
            c.store(true, Ordering::Relaxed);
        }
        self.shared.wake.notify_all();
        for t in [self.thread.take(), self.projection_thread.take()].into_iter().flatten() {
            // A panic on the worker has already been reported by the panic hook.
            let _ = t.join();
        }
    }
}

/// Locks a mutex, recovering the data if a previous holder panicked (the queue stays consistent:
/// every update to it is a single assignment).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One thread's loop: the compute thread serves loads, analyses and clusterings; the projection
/// thread (`projections`) serves projections only.
fn run(shared: &Shared, tx: &Sender<Event>, notify: &Notify, projections: bool) {
    loop {
        let (generation, cancel, job) = {
            let mut q = lock(&shared.queue);
            loop {
                if q.shutdown {
                    return;
                }
                let next = if projections {
                    q.projection.take()
                } else {
                    q.load.take().or_else(|| q.analysis.take()).or_else(|| q.cluster.take())
                };
                if let Some(j) = next {
                    break j;
                }
                q = shared.wake.wait(q).unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        };
        let send = |e: Event| {
            // The receiver only disappears when the window closes; nothing is left to tell.
            let urgency = if matches!(e, Event::Progress { .. } | Event::ProjectionStep { .. } | Event::ClusterStep { .. }) {
                Urgency::Soon
            } else {
                Urgency::Now
            };
            let _ = tx.send(e);
            notify(urgency);
        };
        let progress_tx = tx.clone();
        let progress_notify = Arc::clone(notify);
        let last = Mutex::new(Instant::now());
        let progress: Arc<crate::engine::control::ProgressFn> = Arc::new(move |stage: &str, fraction: f32| {
            // At most ten progress events a second reach the window: each one is a repaint, and
            // without a GPU a repaint costs a core for a few milliseconds.
            let mut l = lock(&last);
            if l.elapsed().as_millis() >= 100 || fraction >= 1.0 {
                *l = Instant::now();
                let _ = progress_tx.send(Event::Progress { generation, stage: stage.to_string(), fraction });
                progress_notify(Urgency::Soon);
            }
        });
        let mut ctl = Control::new(Arc::clone(&cancel), Some(Arc::clone(&progress)));
        // Loads, clusterings and the k-distance curve are what the user waits for; layouts yield to them.
        let _foreground = (!projections).then(crate::background::foreground);
        if projections {
            ctl = ctl.yielding();
        }
        if matches!(job, Job::Cluster { .. }) {
            let step_tx = tx.clone();
            let step_notify = Arc::clone(notify);
            let started = Instant::now();
            let last = Mutex::new(None::<Instant>);
            ctl = ctl.with_steps(Arc::new(move |labels: &[u32]| {
                // Quick jobs show only their result; longer ones a step every STEP_EVERY.
                let mut l = lock(&last);
                let due = l.map_or(started.elapsed() >= STEP_EVERY, |t| t.elapsed() >= STEP_EVERY);
                if due {
                    *l = Some(Instant::now());
                    let _ = step_tx.send(Event::ClusterStep { generation, labels: Arc::new(labels.to_vec()) });
                    step_notify(Urgency::Soon);
                }
            }));
        }
        if let Job::Cluster { embeddings, request, preview: Some(_) } = &job
            && request.reduce.is_none()
            && request.manual.is_empty()
            && request.kmeans().is_some()
        {
            // A long K-means shows its best restart so far between restarts.
            let (emb, req, started) = (Arc::clone(embeddings), request.clone(), Instant::now());
            let (restart_tx, restart_notify, inner) = (tx.clone(), Arc::clone(notify), ctl.without_steps());
            ctl = ctl.with_restarts(Arc::new(move |labels: &[u32], inertia: f64, done: usize, total: usize| {
                if started.elapsed() < RESTART_PREVIEW_AFTER {
                    return;
                }
                if let Ok(outcome) =
                    crate::session::restart_preview(&emb, &req, labels, inertia, (done, total), elapsed_ms(started), &inner)
                {
                    let _ = restart_tx.send(Event::ClusterPreview { generation, outcome: Arc::new(outcome) });
                    restart_notify(Urgency::Now);
                }
            }));
        }
        // A panic inside a job (a reader meeting a file it cannot handle, say) must not take the
        // worker down and leave the window waiting forever: it becomes an error event.
        let failure = match &job {
            Job::Load { source, .. } => Some(source.clone()),
            Job::Cluster { .. } | Job::KDistance { .. } | Job::Project { .. } => None,
        };
        let is_projection = matches!(job, Job::Project { .. });
        // Layouts are background work: they yield the cores to a clustering (see `background`).
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if projections {
                crate::background::run(|| run_job(job, generation, &ctl, &progress, &send, &shared.shown));
            } else {
                run_job(job, generation, &ctl, &progress, &send, &shared.shown);
            }
        }));
        if let Err(panic) = ran {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into());
            let doing = if failure.is_some() {
                "loading"
            } else if is_projection {
                "projecting"
            } else {
                "clustering"
            };
            let error = format!("internal error while {doing}: {what}");
            send(match failure {
                Some(source) => Event::LoadFailed { generation, error: data::LoadError::Internal { message: what }, source },
                None if is_projection => Event::ProjectionFailed { generation, error },
                None => Event::ClusterFailed { generation, error },
            });
        }
        let mut running = lock(&shared.running);
        for slot in &mut running.0 {
            if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, &cancel)) {
                *slot = None;
            }
        }
    }
}

fn run_job(
    job: Job,
    generation: u64,
    ctl: &Control,
    progress: &Arc<crate::engine::control::ProgressFn>,
    send: &(dyn Fn(Event) + Sync),
    shown: &Shown,
) {
    match job {
        Job::Load { source, options } => {
            let t = Instant::now();
            let loaded = match &source {
                LoadSource::Demo => data::load_demo(),
                LoadSource::File(p) => data::load(p, &options, &|stage, f| progress(stage, f)),
            };
            match loaded {
                Err(error) => send(Event::LoadFailed { generation, error, source }),
                Ok(ds) => {
                    let load_ms = elapsed_ms(t);
                    let t = Instant::now();
                    // An error here means a newer load cancelled this one: nothing to report.
                    if let Ok(pca) = pca_2d(ds.embeddings.raw(), ctl) {
                        send(Event::Loaded { generation, dataset: Arc::new(ds), pca: Arc::new(pca), load_ms, project_ms: elapsed_ms(t) });
                    }
                }
            }
        }
        Job::Cluster { embeddings, request, preview } => {
            let windowed = preview.is_some();
            if let Some(on_screen) = preview {
                let previous = on_screen.as_ref().map(|o| o.labels.as_slice());
                match run_preview(&embeddings, &request, previous, &ctl.without_steps()) {
                    Ok(Some(outcome)) => shown.send_and_wait(send, outcome, generation, ctl),
                    Err(RunError::Cancelled) => return,
                    // Refused settings: the seeded run below says why.
                    Ok(None) | Err(RunError::Params(_) | RunError::Graph(_)) => {}
                }
            }
            // The window shows a big result's labels at once, its exact figures after.
            let sampled = |outcome: ClusterOutcome| shown.send_and_wait(send, outcome, generation, ctl);
            let sampled: Option<&(dyn Fn(ClusterOutcome) + Sync)> = if windowed { Some(&sampled) } else { None };
            match crate::session::run_cluster_then_exact(&embeddings, &request, ctl, sampled) {
                Ok(outcome) => send(Event::Clustered { generation, outcome: Arc::new(outcome) }),
                Err(RunError::Cancelled) => {}
                Err(e @ (RunError::Params(_) | RunError::Graph(_))) => send(Event::ClusterFailed { generation, error: e.to_string() }),
            }
        }
        Job::KDistance { embeddings, metric, min_samples } => {
            // Cancelled when a newer request replaced it: nothing to report.
            if let Ok(curve) = crate::engine::neighbors::k_distance_curve(&embeddings, metric, min_samples, 0, ctl) {
                send(Event::KDistance { generation, embeddings, metric, min_samples, curve: Arc::new(curve) });
            }
        }
        Job::Project { embeddings, params, trust_metric } => {
            let last = Mutex::new(Instant::now());
            let on_epoch = |epoch: usize, n_epochs: usize, coords: &[[f32; 2]]| {
                let mut l = lock(&last);
                if l.elapsed() >= LAYOUT_STEP_EVERY && epoch < n_epochs {
                    *l = Instant::now();
                    send(Event::ProjectionStep { generation, coords: Arc::new(coords.to_vec()), epoch, n_epochs });
                }
            };
            match project(&embeddings, &params, ctl, Some(&on_epoch)) {
                Ok(p) => {
                    let Ok(t) = trust(&embeddings, trust_metric, &p.coords, 15, 0, ctl) else { return };
                    let n = p.coords.len();
                    let recall = if n <= RECALL_ROWS_MAX && n > 15 {
                        let Ok((g, _)) = embeddings.knn_graph(trust_metric, 15, ctl) else { return };
                        Some(Arc::new(crate::engine::project::trust::per_row_recall(&g.indices, g.k, &p.coords, 15)))
                    } else {
                        None
                    };
                    send(Event::Projected { generation, embeddings, projected: Arc::new(p), trust: t, recall });
                }
                Err(ProjectError::Cancelled(_)) => {}
                Err(e @ (ProjectError::Invalid(_) | ProjectError::InvalidTsne(_))) => {
                    send(Event::ProjectionFailed { generation, error: format!("{}: {e}", params.name()) });
                }
            }
        }
    }
}
