//! The k-sweep chart: K-means for every k in a range, run as side work on request, each k's
//! silhouette, Davies-Bouldin, Calinski-Harabasz and inertia drawn as it arrives. The four indices
//! have different scales, so each is drawn relative to its own range (0 = its worst, 1 = its best
//! k), with the real values in the hover text. The current k is marked; a click applies a k.

use std::sync::Arc;

use eframe::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints, Points, VLine};

use crate::app::tasks::{Output, Task};
use crate::app::{AlgorithmKind, Command, EmbedmapApp, palette};
use crate::engine::kmeans::KMeansParams;
use crate::engine::silhouette::SilhouetteMode;
use crate::engine::{Control, Metric};
use crate::jobs::{Policy, Priority};
use crate::session::{SweepRow, run_sweep};

/// A sweep: its settings, the rows so far, and the running job.
pub(crate) struct Sweep {
    pub(crate) metric: Metric,
    pub(crate) seed: u64,
    pub(crate) rows: Vec<SweepRow>,
    pub(crate) error: Option<String>,
    /// Whether its job still runs.
    pub(crate) running: bool,
    /// The data swept (held, so that no other dataset can take its place in memory).
    dataset: Arc<crate::data::Dataset>,
    total: usize,
}

/// The sweep panel's state.
pub(crate) struct SweepState {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) sweep: Option<Sweep>,
    /// Where the chart put its points in the last frame.
    pub(crate) transform: Option<egui_plot::PlotTransform>,
}

impl Default for SweepState {
    fn default() -> Self {
        Self { from: 2, to: 20, sweep: None, transform: None }
    }
}

impl SweepState {
    /// Whether a sweep is running.
    pub(crate) fn running(&self) -> bool {
        self.sweep.as_ref().is_some_and(|s| s.running)
    }
}

/// Starts a sweep over `from..=to` on the current data, metric and seed (replacing a running one).
pub(crate) fn start(app: &mut EmbedmapApp) {
    let Some(ds) = &app.dataset else { return };
    let n = ds.n();
    let to = app.sweep.to.min(n.saturating_sub(1)).max(2);
    let from = app.sweep.from.clamp(2, to);
    let ks: Vec<usize> = (from..=to).collect();
    let base = KMeansParams { metric: app.settings.metric, seed: app.settings.seed, n_init: app.settings.n_init, ..Default::default() };
    let emb = Arc::clone(&ds.embeddings);
    let total = ks.len();
    let started = app.tasks.start(Task::Sweep, Policy::Replace, Priority::Background, "the k-sweep", move |job| {
        let ctl = Control::new(job.cancel_flag(), None).yielding();
        let r = run_sweep(&emb, &ks, &base, SilhouetteMode::Auto, &ctl, |row| job.send(Output::SweepRow(row.clone())));
        Output::SweepDone(r.map(|_| ()).map_err(|e| e.to_string()))
    });
    match started {
        Ok(_) => {
            app.sweep.sweep = Some(Sweep {
                metric: app.settings.metric,
                seed: app.settings.seed,
                rows: Vec::new(),
                error: None,
                running: true,
                dataset: Arc::clone(ds),
                total,
            });
        }
        Err(e) => app.error = Some(e.to_string()),
    }
}

/// A sweep of another dataset than the one open is stopped and forgotten (before the panels draw).
pub(crate) fn ensure_current(app: &mut EmbedmapApp) {
    let Some(s) = &app.sweep.sweep else { return };
    if !app.dataset.as_ref().is_some_and(|d| Arc::ptr_eq(d, &s.dataset)) {
        app.tasks.cancel(Task::Sweep);
        app.sweep.sweep = None;
    }
}

/// One index's points scaled to 0 (worst k) … 1 (best k).
fn scaled(rows: &[SweepRow], value: impl Fn(&SweepRow) -> Option<f64>, higher_is_better: bool) -> Vec<[f64; 2]> {
    let vals: Vec<(usize, f64)> = rows.iter().filter_map(|r| value(r).filter(|v| v.is_finite()).map(|v| (r.k, v))).collect();
    let (lo, hi) = vals.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &(_, v)| (a.min(v), b.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    vals.iter().map(|&(k, v)| [k as f64, if higher_is_better { (v - lo) / span } else { (hi - v) / span }]).collect()
}

/// The best k of one index, with its value.
fn best(rows: &[SweepRow], value: impl Fn(&SweepRow) -> Option<f64>, higher_is_better: bool) -> Option<(usize, f64)> {
    rows.iter().filter_map(|r| value(r).filter(|v| v.is_finite()).map(|v| (r.k, v))).max_by(|a, b| {
        let o = a.1.total_cmp(&b.1);
        if higher_is_better { o } else { o.reverse() }
    })
}

/// Draws the sweep section (in the right panel, under the silhouette plot).
#[expect(clippy::too_many_lines, reason = "one drawing function, read top to bottom")]
pub(crate) fn sweep_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    let Some(n) = app.dataset.as_ref().map(|d| d.n()) else { return };
    ui.heading("k-sweep");
    ui.horizontal(|ui| {
        let max = n.saturating_sub(1).max(3);
        let l = ui.label("k from");
        ui.add(egui::DragValue::new(&mut app.sweep.from).range(2..=max)).labelled_by(l.id);
        let l = ui.label("to");
        ui.add(egui::DragValue::new(&mut app.sweep.to).range(2..=max)).labelled_by(l.id);
        if app.sweep.running() {
            if ui.button("Cancel sweep").clicked() {
                app.push(Command::CancelSweep);
            }
        } else if ui.button("Run sweep").on_hover_text("K-means at every k of the range, with the current metric and seed").clicked() {
            app.push(Command::StartSweep);
        }
    });
    let Some(s) = &app.sweep.sweep else {
        ui.label(egui::RichText::new("K-means at every k, with silhouette, Davies-Bouldin, Calinski-Harabasz and inertia.").small());
        return;
    };
    if app.sweep.running() {
        let f = s.rows.len() as f32 / s.total.max(1) as f32;
        ui.add(egui::ProgressBar::new(f).text(format!("k {} of {}", s.rows.len(), s.total)));
    }
    if let Some(e) = &s.error {
        ui.colored_label(palette::ERROR, e);
    }
    let rows = s.rows.clone();
    let stale = s.metric != app.settings.metric || s.seed != app.settings.seed;
    if stale {
        ui.label(egui::RichText::new(format!("swept with {} distance, seed {}", s.metric.name(), s.seed)).small().color(palette::WARNING));
    }
    let sil = |r: &SweepRow| r.silhouette;
    let db = |r: &SweepRow| r.davies_bouldin;
    let ch = |r: &SweepRow| r.calinski_harabasz;
    let inertia = |r: &SweepRow| Some(r.inertia);
    let fmt = |b: Option<(usize, f64)>| b.map_or("—".to_string(), |(k, _)| format!("best k {k}"));
    let series = [
        (format!("silhouette {}", fmt(best(&rows, sil, true))), scaled(&rows, sil, true), palette::cluster(0)),
        (format!("Davies-Bouldin {}", fmt(best(&rows, db, false))), scaled(&rows, db, false), palette::cluster(1)),
        (format!("Calinski-H. {}", fmt(best(&rows, ch, true))), scaled(&rows, ch, true), palette::cluster(2)),
        ("inertia ↓ (look for the elbow)".to_string(), scaled(&rows, inertia, false), palette::cluster(3)),
    ];
    let current = matches!(app.settings.algorithm, AlgorithmKind::Kmeans | AlgorithmKind::MinibatchKmeans | AlgorithmKind::Hierarchical)
        .then_some(app.settings.k);
    let by_k: Vec<(usize, String)> = rows
        .iter()
        .map(|r| {
            let o = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.4}"));
            (
                r.k,
                format!(
                    "k = {}\nsilhouette {}{}\nDavies-Bouldin {}\nCalinski-Harabasz {}\ninertia {:.6}\n{:.0} ms\nclick to use this k",
                    r.k,
                    o(r.silhouette),
                    if r.silhouette_exact { "" } else { " (sampled)" },
                    o(r.davies_bouldin),
                    o(r.calinski_harabasz),
                    r.inertia,
                    r.ms
                ),
            )
        })
        .collect();
    let resp = Plot::new("k-sweep")
        .legend(Legend::default().follow_insertion_order(true).position(egui_plot::Corner::RightBottom).background_alpha(0.6))
        .height(ui.available_height().max(160.0))
        .x_axis_label("k")
        .y_axis_label("relative (1 = best)")
        .include_y(0.0)
        .include_y(1.05)
        .allow_scroll(false)
        .allow_drag(false)
        .allow_zoom(false)
        .label_formatter(|pos: &egui_plot::HoverPosition<'_>| {
            let (egui_plot::HoverPosition::NearDataPoint { position: p, .. } | egui_plot::HoverPosition::Elsewhere { position: p }) = pos;
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
            )]
            let k = p.x.round().max(0.0) as usize;
            by_k.iter().find(|(kk, _)| *kk == k).map(|(_, t)| t.clone())
        })
        .show(ui, |plot_ui| {
            for (name, pts, color) in &series {
                plot_ui.line(Line::new(name.clone(), PlotPoints::new(pts.clone())).color(*color).width(1.5));
                plot_ui.points(Points::new(name.clone(), pts.clone()).color(*color).radius(2.5));
            }
            if let Some(k) = current {
                plot_ui.vline(VLine::new(format!("k = {k}"), k as f64).color(palette::WARNING));
            }
            plot_ui.pointer_coordinate()
        });
    app.sweep.transform = Some(resp.transform);
    if resp.response.clicked()
        && let Some(p) = resp.inner
        && !rows.is_empty()
    {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
        )]
        let k = p.x.round().max(2.0) as usize;
        if rows.iter().any(|r| r.k == k) {
            apply_k(app, k);
        }
    }
}

/// Uses `k` (switching a density algorithm to K-means, whose k it is).
pub(crate) fn apply_k(app: &mut EmbedmapApp, k: usize) {
    if !matches!(app.settings.algorithm, AlgorithmKind::Kmeans | AlgorithmKind::MinibatchKmeans | AlgorithmKind::Hierarchical) {
        app.settings.algorithm = AlgorithmKind::Kmeans;
    }
    app.settings.k = k;
    app.push(Command::Recluster);
}
