//! Cancellation and progress for long computations.
//!
//! Every loop over the data checks [`Control::check`] between blocks, so a newer job can stop
//! an older one within a few milliseconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A computation was stopped because a newer one replaced it or the user cancelled it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

/// Progress callback: a stage name and the fraction of it done, in `[0, 1]`.
pub type ProgressFn = dyn Fn(&str, f32) + Send + Sync;

/// Intermediate labels of an iterative algorithm (K-means after each pass), one per row.
pub type StepFn = dyn Fn(&[u32]) + Send + Sync;

/// The best labels after a K-means restart, their inertia, restarts done and restarts in all.
pub type RestartFn = dyn Fn(&[u32], f64, usize, usize) + Send + Sync;

/// Handed to every engine routine: tells it whether to stop and where to report progress and
/// intermediate labels.
#[derive(Clone, Default)]
pub struct Control {
    cancel: Arc<AtomicBool>,
    progress: Option<Arc<ProgressFn>>,
    steps: Option<Arc<StepFn>>,
    restarts: Option<Arc<RestartFn>>,
    /// Background work: [`Control::check`] waits while a foreground job runs.
    yields: bool,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").field("cancelled", &self.is_cancelled()).finish_non_exhaustive()
    }
}

impl Control {
    /// A control that reports progress to `progress` and stops once `cancel` is set.
    #[must_use]
    pub fn new(cancel: Arc<AtomicBool>, progress: Option<Arc<ProgressFn>>) -> Self {
        Self { cancel, progress, steps: None, restarts: None, yields: false }
    }

    /// The same control for background work: every [`Control::check`] first waits while a
    /// job the user waits for runs (see [`crate::background`]), unless cancelled meanwhile.
    #[must_use]
    pub fn yielding(mut self) -> Self {
        self.yields = true;
        self
    }

    /// The same control, also handing intermediate labels to `steps`.
    #[must_use]
    pub fn with_steps(mut self, steps: Arc<StepFn>) -> Self {
        self.steps = Some(steps);
        self
    }

    /// The same control without the intermediate labels: for inner runs whose labels are not
    /// the caller's (a start on a sample, micro-clusters).
    #[must_use]
    pub fn without_steps(&self) -> Self {
        Self { steps: None, restarts: None, ..self.clone() }
    }

    /// The same control, also handing the best labels so far to `restarts` after each K-means
    /// restart but the last.
    #[must_use]
    pub fn with_restarts(mut self, restarts: Arc<RestartFn>) -> Self {
        self.restarts = Some(restarts);
        self
    }

    /// Hands over the best labels after `done` of `total` restarts.
    pub fn restart_done(&self, labels: &[u32], inertia: f64, done: usize, total: usize) {
        if let Some(r) = &self.restarts {
            r(labels, inertia, done, total);
        }
    }

    /// Hands over the labels every row has at this step.
    pub fn step(&self, labels: &[u32]) {
        if let Some(s) = &self.steps {
            s(labels);
        }
    }

    /// Whether the computation should stop.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once cancelled; call between blocks of work.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.yields {
            crate::background::pause_for_foreground(&self.cancel);
        }
        if self.is_cancelled() { Err(Cancelled) } else { Ok(()) }
    }

    /// Reports that `fraction` of `stage` is done.
    pub fn progress(&self, stage: &str, fraction: f32) {
        if let Some(p) = &self.progress {
            p(stage, fraction.clamp(0.0, 1.0));
        }
    }
}
