//! `embedmap --benchmark-tuning[=PARAM] FILE`: opens the window on FILE with default settings,
//! waits for the first clustering on screen, then moves one slider through a fixed script, one
//! step at a time as a hand on a slider does, and prints one JSON line of latencies, then closes.
//!
//! A move is timed from the moment the setting changes to the end of the frame that draws its
//! labels with their silhouette: `first` when anything for the new setting is on screen (a
//! preview when there is one), `final` when the seeded, converged labels are (from 200,000 rows
//! their silhouette and indices are first on a sample, with its CI), `exact` when their exact
//! figures over every row are too. The next move is
//! made as soon as the exact result shows, so whatever work a result starts in the background
//! (descriptions, agreement figures) runs during the next move, as it does for a user. The
//! window's own result cache is emptied before each move so that the way back measures work, not
//! look-ups; the engine keeps what it keeps (neighbour graphs, trees).

use std::time::Instant;

use eframe::egui;

use super::{AlgorithmKind, EmbedmapApp, Settings};
use crate::cli::TuneParam;

/// The script: from the default value, four steps up, eight down, four up.
const UP: usize = 4;

/// The tuning benchmark's progress.
#[derive(Debug)]
pub(crate) struct Tuning {
    param: TuneParam,
    opened: Instant,
    open_ms: Option<f64>,
    /// Values still to set, in order.
    script: Vec<f64>,
    /// The current move: when it was made, its first answer and its seeded labels so far.
    moving: Option<(Instant, Option<(f64, bool)>, Option<f64>)>,
    first: Vec<f64>,
    /// Move to the seeded labels on screen (their figures may still be on a sample).
    last: Vec<f64>,
    /// Move to the seeded labels with their exact figures on screen.
    exact: Vec<f64>,
    previews: usize,
    /// Engine time of each final result (clustering + silhouette + indices).
    engine: Vec<f64>,
    /// Engine time of each preview.
    preview_engine: Vec<f64>,
    frame_started: Option<Instant>,
    frames: Vec<f64>,
}

impl Tuning {
    pub(crate) fn new(param: TuneParam) -> Self {
        Self {
            param,
            opened: Instant::now(),
            open_ms: None,
            script: Vec::new(),
            moving: None,
            first: Vec::new(),
            last: Vec::new(),
            exact: Vec::new(),
            previews: 0,
            engine: Vec::new(),
            preview_engine: Vec::new(),
            frame_started: None,
            frames: Vec::new(),
        }
    }

    /// The settings the benchmark starts from: the defaults, with the algorithm `param` tunes.
    pub(crate) fn settings(param: TuneParam, kept: &Settings) -> Settings {
        let algorithm = match param {
            TuneParam::K => AlgorithmKind::Kmeans,
            TuneParam::Eps => AlgorithmKind::Dbscan,
            TuneParam::MinClusterSize => AlgorithmKind::Hdbscan,
        };
        Settings { algorithm, dark: kept.dark, ..Settings::default() }
    }
}

fn median(v: &[f64]) -> f64 {
    super::bench::median(&mut v.to_vec())
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NAN, f64::max)
}

/// The setting's current value.
fn value(app: &EmbedmapApp, param: TuneParam) -> Option<f64> {
    match param {
        TuneParam::K => Some(app.settings.k as f64),
        TuneParam::Eps => app.eps.map(f64::from),
        TuneParam::MinClusterSize => Some(app.settings.min_cluster_size as f64),
    }
}

#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
)]
fn set(app: &mut EmbedmapApp, param: TuneParam, v: f64) {
    match param {
        TuneParam::K => app.settings.k = v.round() as usize,
        TuneParam::Eps => {
            app.eps = Some(v as f32);
            app.eps_metric = app.settings.metric;
        }
        TuneParam::MinClusterSize => app.settings.min_cluster_size = v.round() as usize,
    }
}

/// The values to move through from `v0`: additive steps of one for counts, 5% steps for eps.
fn script(param: TuneParam, v0: f64) -> Vec<f64> {
    let at = |i: i32| match param {
        TuneParam::Eps => v0 * (1.0 + 0.05 * f64::from(i)),
        TuneParam::K | TuneParam::MinClusterSize => (v0 + f64::from(i)).max(2.0),
    };
    #[expect(clippy::cast_possible_wrap, clippy::cast_possible_truncation, reason = "a small constant step count")]
    let up = UP as i32;
    let mut s: Vec<f64> = (1..=up).map(at).collect();
    s.extend((-up..up).rev().map(at));
    s.extend((-up + 1..=0).map(at));
    s
}

/// Called at the start of every frame while the benchmark runs.
pub(super) fn before_frame(app: &mut EmbedmapApp) {
    if let Some(t) = &mut app.tuning {
        t.frame_started = Some(Instant::now());
    }
}

/// Called at the end of every frame while the benchmark runs, once the map is drawn.
pub(super) fn after_frame(app: &mut EmbedmapApp, ctx: &egui::Context) {
    let Some(mut t) = app.tuning.take() else { return };
    // Look again soon even if nothing wakes the window.
    ctx.request_repaint_after(std::time::Duration::from_secs(1));
    let now = Instant::now();
    if t.moving.is_some()
        && let Some(s) = t.frame_started
    {
        t.frames.push(now.duration_since(s).as_secs_f64() * 1e3);
    }
    if app.load_failure.is_some() {
        eprintln!("tuning benchmark: the file did not load");
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        return;
    }
    let Some(request) = app.request() else {
        app.tuning = Some(t);
        return;
    };
    let drawn = !app.map.dirty && app.map.shown.is_some();
    let ours = app.outcome.as_ref().filter(|o| o.request == request);
    let seeded = drawn && ours.is_some_and(|o| o.preview.is_none());
    let done = seeded && app.clustering.is_none() && ours.is_some_and(|o| o.is_final());
    let preview = drawn && ours.is_some_and(|o| o.preview.is_some());
    match &mut t.moving {
        None if done => {
            // The first clustering is on screen: the script starts from its setting.
            t.open_ms = Some(now.duration_since(t.opened).as_secs_f64() * 1e3);
            let Some(v0) = value(app, t.param) else {
                app.tuning = Some(t);
                return;
            };
            t.script = script(t.param, v0);
            t.script.reverse();
        }
        None => {
            app.tuning = Some(t);
            return;
        }
        Some((moved, first, labels)) => {
            let ms = now.duration_since(*moved).as_secs_f64() * 1e3;
            if first.is_none() && (preview || seeded) {
                *first = Some((ms, preview && !seeded));
                if let Some(o) = app.outcome.as_ref().filter(|o| o.preview.is_some()) {
                    t.preview_engine.push(o.cluster_ms + o.silhouette_ms + o.indices_ms);
                }
            }
            if labels.is_none() && seeded {
                *labels = Some(ms);
            }
            if !done {
                app.tuning = Some(t);
                return;
            }
            let (f, was_preview) = first.unwrap_or((ms, false));
            t.first.push(f);
            t.last.push(labels.unwrap_or(ms));
            t.exact.push(ms);
            t.previews += usize::from(was_preview);
            if let Some(o) = &app.outcome {
                t.engine.push(o.cluster_ms + o.silhouette_ms + o.indices_ms);
            }
        }
    }
    // Make the next move, or report.
    let Some(v) = t.script.pop() else {
        report(app, &t);
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        return;
    };
    app.cache.clear();
    set(app, t.param, v);
    // Applied at the end of this frame, as a slider's change is at the end of the frame it moved in.
    let moved = Instant::now();
    app.apply(ctx, super::Command::Recluster);
    t.moving = Some((moved, None, None));
    ctx.request_repaint();
    app.tuning = Some(t);
}

fn report(app: &EmbedmapApp, t: &Tuning) {
    let (n, d) = app.dataset.as_ref().map_or((0, 0), |ds| (ds.n(), ds.dim()));
    let algorithm = app.outcome.as_ref().map_or_else(String::new, |o| o.request.algorithm.name().to_string());
    let param = match t.param {
        TuneParam::K => "k",
        TuneParam::Eps => "eps",
        TuneParam::MinClusterSize => "min_cluster_size",
    };
    let round = |v: f64| (v * 10.0).round() / 10.0;
    let line = serde_json::json!({
        "benchmark": "tuning",
        "file": app.dataset.as_ref().map(|d| d.name.clone()),
        "rows": n,
        "dims": d,
        "algorithm": algorithm,
        "metric": app.settings.metric.to_string(),
        "param": param,
        "moves": t.first.len(),
        "load_ms": round(app.timings.load_ms),
        "project_ms": round(app.timings.project_ms),
        "open_ms": t.open_ms.map(round),
        "first_ms_median": round(median(&t.first)),
        "first_ms_max": round(max(&t.first)),
        "final_ms_median": round(median(&t.last)),
        "final_ms_max": round(max(&t.last)),
        "exact_ms_median": round(median(&t.exact)),
        "exact_ms_max": round(max(&t.exact)),
        "previews": t.previews,
        "engine_ms_median": round(median(&t.engine)),
        "preview_engine_ms_median": round(median(&t.preview_engine)),
        "frame_ms_median": round(median(&t.frames)),
        "frame_ms_max": round(max(&t.frames)),
        "first_ms": t.first.iter().map(|&v| round(v)).collect::<Vec<_>>(),
        "final_ms": t.last.iter().map(|&v| round(v)).collect::<Vec<_>>(),
    });
    println!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_goes_up_down_and_back_one_step_at_a_time() {
        let s = script(TuneParam::K, 12.0);
        assert_eq!(s, vec![13.0, 14.0, 15.0, 16.0, 15.0, 14.0, 13.0, 12.0, 11.0, 10.0, 9.0, 8.0, 9.0, 10.0, 11.0, 12.0]);
        let e = script(TuneParam::Eps, 1.0);
        assert_eq!(e.len(), 16);
        assert!((e[3] - 1.2).abs() < 1e-12 && (e[11] - 0.8).abs() < 1e-12 && (e[15] - 1.0).abs() < 1e-12);
        // Counts never go below 2.
        assert!(script(TuneParam::MinClusterSize, 3.0).iter().all(|&v| v >= 2.0));
    }
}
