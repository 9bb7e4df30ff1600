//! The one place the program starts threads of its own: a registry of background jobs with
//! typed kinds, generations, cancel flags and progress. The window hands its side work here
//! (file dialogs, exports, the map as PNG, sessions, agreement figures, cluster descriptions,
//! neighbour look-ups, sweeps) and the compute worker ([`crate::worker`]) starts its two
//! threads through [`spawn`]; the engine's parallel loops use rayon and scoped threads, which
//! end before the function that starts them returns.
//!
//! A job runs on a thread of its own and reports through the registry's channel: any number of
//! intermediate outputs ([`Context::send`]) and one final output, its return value. The window
//! collects them once per frame with [`Jobs::poll`]; outputs of a job that was cancelled or
//! replaced since are dropped there, so a stale answer never reaches the screen. A job whose
//! thread ends without an answer (a panic) is reported as [`Report::Lost`], never left running.
//!
//! The registry knows nothing of the window: its kinds and outputs are type parameters.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Starts a named thread: the program's only `std::thread` spawn outside scoped threads.
///
/// # Errors
/// When the operating system refuses a thread.
pub fn spawn<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> std::io::Result<std::thread::JoinHandle<T>> {
    std::thread::Builder::new().name(format!("embedmap-{name}")).spawn(f)
}

/// How a job runs against the machine's cores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// The user waits for it and it mostly waits itself (a dialog, writing a file): normal priority.
    Io,
    /// Figures shown when ready: idle priority, and paused while a foreground job (a load, a
    /// clustering) runs (see [`crate::background`]).
    Background,
}

/// What starting a job does to the others of its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Cancels the running ones of its kind: the latest wins (a new pin's neighbours).
    Replace,
    /// Refused while one of its kind runs (an export: a second would race for the same files).
    One,
    /// Runs beside the others of its kind (agreement figures of two outcomes).
    Alongside,
}

/// Why a job did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A job of a [`Policy::One`] kind runs already.
    #[error("{0} is already running; wait for it to finish")]
    Busy(String),
    /// The operating system refused a thread.
    #[error("cannot start {what}: {source}")]
    Thread {
        /// The job's label.
        what: String,
        /// The refusal.
        source: std::io::Error,
    },
}

/// A job's progress: its current stage and the fraction done.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// What it does now.
    pub stage: String,
    /// 0–1.
    pub fraction: f32,
}

enum Message<O> {
    Step(u64, O),
    Done(u64, O),
    Lost(u64),
}

/// What a job hands its work: its cancel flag, a way to report, its progress.
pub struct Context<O> {
    generation: u64,
    cancel: Arc<AtomicBool>,
    progress: Arc<Mutex<Progress>>,
    tx: Sender<Message<O>>,
    notify: Notify,
}

impl<O> Context<O> {
    /// Whether the job was cancelled or replaced (its outputs are dropped anyway).
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The cancel flag, for an engine [`Control`](crate::engine::Control).
    #[must_use]
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    /// Reports an intermediate output (a sweep's row).
    pub fn send(&self, output: O) {
        // The registry may be gone (the window closed): then nobody waits.
        let _ = self.tx.send(Message::Step(self.generation, output));
        (self.notify)();
    }

    /// Reports progress.
    pub fn progress(&self, stage: &str, fraction: f32) {
        *self.progress.lock().unwrap_or_else(PoisonError::into_inner) = Progress { stage: stage.to_string(), fraction };
        (self.notify)();
    }
}

/// Sends [`Message::Lost`] unless the job finished: a panic unwinding through the job's thread
/// still tells the registry.
struct Finish<O> {
    generation: u64,
    tx: Option<Sender<Message<O>>>,
    notify: Notify,
}

impl<O> Drop for Finish<O> {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Message::Lost(self.generation));
            (self.notify)();
        }
    }
}

/// Called whenever a job reports, so the window wakes up.
pub type Notify = Arc<dyn Fn() + Send + Sync>;

/// A job that runs.
#[derive(Debug)]
struct Live<K> {
    kind: K,
    generation: u64,
    label: String,
    started: Instant,
    cancel: Arc<AtomicBool>,
    progress: Arc<Mutex<Progress>>,
}

/// One report of a job, from [`Jobs::poll`].
#[derive(Debug)]
pub enum Report<K, O> {
    /// An intermediate output.
    Step(K, u64, O),
    /// The final output; the job has ended.
    Done(K, u64, O),
    /// The job's thread ended without an answer.
    Lost(K, u64, String),
}

/// A running job as the status bar shows it.
#[derive(Clone, Debug)]
pub struct Running<K> {
    /// Its kind.
    pub kind: K,
    /// Its label ("saving the map").
    pub label: String,
    /// When it started.
    pub started: Instant,
    /// Its progress, if it reports any.
    pub progress: Progress,
}

/// The registry.
pub struct Jobs<K, O> {
    next: u64,
    live: Vec<Live<K>>,
    tx: Sender<Message<O>>,
    rx: Receiver<Message<O>>,
    notify: Notify,
}

impl<K: std::fmt::Debug, O> std::fmt::Debug for Jobs<K, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs").field("live", &self.live).finish_non_exhaustive()
    }
}

impl<K: Copy + Eq + std::fmt::Debug + Send + 'static, O: Send + 'static> Jobs<K, O> {
    /// An empty registry; `notify` is called whenever a job reports.
    #[must_use]
    pub fn new(notify: Notify) -> Self {
        let (tx, rx) = channel();
        Self { next: 0, live: Vec::new(), tx, rx, notify }
    }

    /// Starts `work` on a thread of its own; returns its generation.
    ///
    /// # Errors
    /// [`StartError::Busy`] when `policy` is [`Policy::One`] and a job of `kind` runs;
    /// [`StartError::Thread`] when no thread could be started.
    pub fn start(
        &mut self,
        kind: K,
        policy: Policy,
        priority: Priority,
        label: &str,
        work: impl FnOnce(&Context<O>) -> O + Send + 'static,
    ) -> Result<u64, StartError> {
        match policy {
            Policy::One => {
                if let Some(l) = self.live.iter().find(|l| l.kind == kind) {
                    return Err(StartError::Busy(l.label.clone()));
                }
            }
            Policy::Replace => self.cancel(kind),
            Policy::Alongside => {}
        }
        self.next += 1;
        let generation = self.next;
        let cancel = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(Mutex::new(Progress::default()));
        let ctx = Context {
            generation,
            cancel: Arc::clone(&cancel),
            progress: Arc::clone(&progress),
            tx: self.tx.clone(),
            notify: Arc::clone(&self.notify),
        };
        let mut finish = Finish { generation, tx: Some(self.tx.clone()), notify: Arc::clone(&self.notify) };
        let name = format!("{kind:?}").to_lowercase();
        let spawned = spawn(&name, move || {
            let output = match priority {
                Priority::Io => work(&ctx),
                Priority::Background => crate::background::run(|| work(&ctx)),
            };
            if let Some(tx) = finish.tx.take() {
                let _ = tx.send(Message::Done(generation, output));
                (finish.notify)();
            }
        });
        match spawned {
            Ok(_) => {
                self.live.push(Live { kind, generation, label: label.to_string(), started: Instant::now(), cancel, progress });
                Ok(generation)
            }
            Err(source) => Err(StartError::Thread { what: label.to_string(), source }),
        }
    }

    /// Cancels the jobs of `kind`: their cancel flags are set and their outputs dropped.
    pub fn cancel(&mut self, kind: K) {
        self.live.retain(|l| {
            let keep = l.kind != kind;
            if !keep {
                l.cancel.store(true, Ordering::Relaxed);
            }
            keep
        });
    }

    /// Cancels every job.
    pub fn cancel_all(&mut self) {
        for l in self.live.drain(..) {
            l.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// Whether a job of `kind` runs.
    #[must_use]
    pub fn is_running(&self, kind: K) -> bool {
        self.live.iter().any(|l| l.kind == kind)
    }

    /// Whether the job `generation` runs.
    #[must_use]
    pub fn is_live(&self, generation: u64) -> bool {
        self.live.iter().any(|l| l.generation == generation)
    }

    /// The running jobs, oldest first.
    #[must_use]
    pub fn running(&self) -> Vec<Running<K>> {
        self.live
            .iter()
            .map(|l| Running {
                kind: l.kind,
                label: l.label.clone(),
                started: l.started,
                progress: l.progress.lock().unwrap_or_else(PoisonError::into_inner).clone(),
            })
            .collect()
    }

    /// The reports that arrived since the last call, in the order they were sent; those of
    /// cancelled or replaced jobs are dropped.
    pub fn poll(&mut self) -> Vec<Report<K, O>> {
        let mut out = Vec::new();
        while let Ok(m) = self.rx.try_recv() {
            let generation = match &m {
                Message::Step(g, _) | Message::Done(g, _) | Message::Lost(g) => *g,
            };
            let Some(i) = self.live.iter().position(|l| l.generation == generation) else { continue };
            let kind = self.live[i].kind;
            match m {
                Message::Step(_, o) => out.push(Report::Step(kind, generation, o)),
                Message::Done(_, o) => {
                    self.live.remove(i);
                    out.push(Report::Done(kind, generation, o));
                }
                Message::Lost(_) => {
                    let l = self.live.remove(i);
                    out.push(Report::Lost(kind, generation, l.label));
                }
            }
        }
        out
    }
}

impl<K, O> Drop for Jobs<K, O> {
    fn drop(&mut self) {
        for l in &self.live {
            l.cancel.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Kind {
        A,
        B,
    }

    fn jobs() -> Jobs<Kind, u32> {
        Jobs::new(Arc::new(|| {}))
    }

    /// Polls until no job runs (at most ten seconds).
    fn drain(j: &mut Jobs<Kind, u32>) -> Vec<Report<Kind, u32>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut all = Vec::new();
        loop {
            all.extend(j.poll());
            if j.running().is_empty() {
                return all;
            }
            assert!(Instant::now() < deadline, "the jobs did not finish");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn steps_arrive_in_order_before_the_final_output() {
        let mut j = jobs();
        let g = j
            .start(Kind::A, Policy::One, Priority::Io, "counting", |ctx| {
                for i in 0..5 {
                    ctx.send(i);
                }
                99
            })
            .unwrap();
        let got: Vec<String> = drain(&mut j)
            .into_iter()
            .map(|r| match r {
                Report::Step(Kind::A, gg, v) if gg == g => format!("step {v}"),
                Report::Done(Kind::A, gg, v) if gg == g => format!("done {v}"),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got, ["step 0", "step 1", "step 2", "step 3", "step 4", "done 99"]);
    }

    #[test]
    fn a_replaced_job_is_cancelled_and_its_outputs_never_arrive() {
        let mut j = jobs();
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let first = j
            .start(Kind::A, Policy::Replace, Priority::Io, "first", move |ctx| {
                let _ = wait.recv();
                assert!(ctx.is_cancelled());
                ctx.send(1);
                1
            })
            .unwrap();
        let second = j.start(Kind::A, Policy::Replace, Priority::Io, "second", |_| 2).unwrap();
        assert!(!j.is_live(first) && j.is_live(second));
        go.send(()).unwrap();
        let reports = drain(&mut j);
        assert!(matches!(reports.as_slice(), [Report::Done(Kind::A, g, 2)] if *g == second), "{reports:?}");
    }

    #[test]
    fn a_second_job_of_a_one_at_a_time_kind_is_refused_with_the_running_ones_name_and_other_kinds_run() {
        let mut j = jobs();
        let (go, wait) = std::sync::mpsc::channel::<()>();
        j.start(Kind::A, Policy::One, Priority::Io, "the export", move |_| {
            let _ = wait.recv();
            0
        })
        .unwrap();
        let e = j.start(Kind::A, Policy::One, Priority::Io, "another export", |_| 0).unwrap_err();
        assert_eq!(e.to_string(), "the export is already running; wait for it to finish");
        j.start(Kind::B, Policy::One, Priority::Io, "other", |_| 7).unwrap();
        go.send(()).unwrap();
        assert_eq!(drain(&mut j).len(), 2);
    }

    #[test]
    fn a_job_that_panics_is_reported_lost_and_no_longer_runs() {
        let mut j = jobs();
        let g = j.start(Kind::B, Policy::One, Priority::Io, "the doomed job", |_| panic!("on purpose")).unwrap();
        let reports = drain(&mut j);
        assert!(matches!(reports.as_slice(), [Report::Lost(Kind::B, gg, label)] if *gg == g && label == "the doomed job"), "{reports:?}");
        assert!(!j.is_running(Kind::B));
    }

    #[test]
    fn progress_is_visible_while_the_job_runs() {
        let mut j = jobs();
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let (ready, seen) = std::sync::mpsc::channel::<()>();
        j.start(Kind::A, Policy::One, Priority::Io, "writing", move |ctx| {
            ctx.progress("writing rows", 0.5);
            ready.send(()).unwrap();
            let _ = wait.recv();
            0
        })
        .unwrap();
        seen.recv().unwrap();
        let r = j.running();
        assert_eq!(
            (r.len(), r[0].label.as_str(), r[0].progress.stage.as_str(), r[0].progress.fraction),
            (1, "writing", "writing rows", 0.5)
        );
        go.send(()).unwrap();
        drain(&mut j);
    }
}
