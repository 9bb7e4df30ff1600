//! The window's side work, through the one job registry ([`crate::jobs`]): file dialogs,
//! exports, the map as PNG, sessions, agreement figures, cluster descriptions, a pin's
//! neighbours and the k-sweep. The compute jobs (loads, clusterings, layouts, the k-distance
//! curve) go to the [`Worker`](crate::worker::Worker), whose lanes schedule them against each
//! other.
//!
//! Jobs are started only from the apply step ([`EmbedmapApp::apply`] and the `ensure_*` steps
//! before the panels draw), never from a panel; their reports come back here once per frame.

use std::sync::Arc;

use super::cluster_table::Profiles;
use super::{DialogResult, EmbedmapApp};
use crate::engine::Metric;
use crate::engine::quality::External;
use crate::jobs::{Jobs, Report};
use crate::session::{ClusterOutcome, SessionFile, SweepRow};

/// The kinds of side work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Task {
    /// A file dialog (it blocks its thread until the user chooses).
    Dialog,
    /// Writing labelled data or a model.
    Export,
    /// Rasterising and writing the map as PNG.
    Png,
    /// Writing the session file.
    SaveSession,
    /// Reading a session file.
    OpenSession,
    /// ARI, NMI and V-measure against a label column.
    Agreement,
    /// The cluster table's terms, values and nearest texts.
    Describe,
    /// A pinned row's nearest neighbours.
    Neighbours,
    /// K-means at every k of a range.
    Sweep,
}

/// What side work reports.
pub(crate) enum Output {
    /// The path chosen in a dialog (`None`: none).
    Dialog(DialogResult),
    /// A file was written (the message for the status bar) or not (the error).
    Written(Result<String, String>),
    /// A session file was read, its data file checked.
    SessionRead(Result<Box<SessionFile>, String>),
    /// Agreement figures of one outcome with one column.
    Agreement(Arc<ClusterOutcome>, String, External),
    /// Descriptions of one outcome's clusters.
    Profiles(Box<Profiles>),
    /// The nearest neighbours of a pinned row.
    Neighbours { row: usize, metric: Metric, neighbours: Vec<(usize, f32)> },
    /// One k of the sweep.
    SweepRow(SweepRow),
    /// The sweep ended (an error unless it finished or was cancelled).
    SweepDone(Result<(), String>),
}

/// The registry of the window's side work.
pub(crate) type Tasks = Jobs<Task, Output>;

/// Tasks the user waits for: while one runs the window counts as busy.
const WAITED_FOR: [Task; 4] = [Task::Export, Task::Png, Task::SaveSession, Task::OpenSession];

/// Whether a task the user waits for runs.
pub(crate) fn waited_for(tasks: &Tasks) -> bool {
    WAITED_FOR.iter().any(|&t| tasks.is_running(t))
}

/// Applies what the side work reported since the last frame.
pub(crate) fn poll(app: &mut EmbedmapApp) {
    for r in app.tasks.poll() {
        match r {
            // A sweep's rows arrive as steps; every other output is a job's last.
            Report::Step(_, _, output) | Report::Done(_, _, output) => done(app, output),
            Report::Lost(task, _, label) => lost(app, task, &label),
        }
    }
}

/// Applies one output of side work.
fn done(app: &mut EmbedmapApp, output: Output) {
    match output {
        Output::Dialog(r) => app.chosen(r),
        Output::Written(Ok(msg)) => app.notice = Some(msg),
        Output::Written(Err(e)) => app.error = Some(e),
        Output::SessionRead(Ok(s)) => super::files::reopen(app, *s),
        Output::SessionRead(Err(e)) => app.error = Some(e),
        Output::Agreement(o, col, e) => {
            app.external_pending.retain(|(held, c)| !(Arc::ptr_eq(held, &o) && *c == col));
            app.remember_external(&o, &col, Arc::new(e));
        }
        Output::Profiles(p) => super::cluster_table::described(app, *p),
        Output::Neighbours { row, metric, neighbours } => {
            if let Some(p) = &mut app.map.pinned
                && p.row == row
                && p.metric == metric
            {
                p.neighbours = Some(neighbours);
            }
        }
        Output::SweepRow(row) => {
            if let Some(s) = &mut app.sweep.sweep {
                s.rows.push(row);
            }
        }
        Output::SweepDone(r) => {
            if let Some(s) = &mut app.sweep.sweep {
                s.running = false;
                if let Err(e) = r
                    && e != "cancelled"
                {
                    s.error = Some(e);
                }
            }
        }
    }
}

/// A task's thread ended without an answer: say so, and leave nothing waiting for it.
fn lost(app: &mut EmbedmapApp, task: Task, label: &str) {
    match task {
        Task::Agreement => app.external_pending.clear(),
        Task::Describe => app.table.pending = None,
        Task::Sweep => {
            if let Some(s) = &mut app.sweep.sweep {
                s.running = false;
            }
        }
        Task::Dialog | Task::Export | Task::Png | Task::SaveSession | Task::OpenSession | Task::Neighbours => {}
    }
    app.error = Some(format!("internal error: {label} stopped without an answer"));
}

/// A file the user chose to write: refused when it is the open data file (or its sidecar).
pub(crate) fn refuse_input(ds: &crate::data::Dataset, path: &std::path::Path, what: &str) -> Result<(), String> {
    if ds.path.iter().chain(ds.sidecar.iter()).any(|input| crate::data::same_file(input, path)) {
        return Err(format!("refusing to overwrite the data file with the {what}; choose another name: {}", path.display()));
    }
    Ok(())
}
