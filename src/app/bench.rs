//! `embedmap --benchmark-frames N FILE`: once the file is loaded and clustered, the window times
//! N frames of a still view, N frames of panning (the preview path a drag takes) and N frames
//! that redraw the full image, then 1,000 hover look-ups, prints the medians and closes.

use std::time::Instant;

use eframe::egui;

use super::EmbedmapApp;
use super::raster::View;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Wait,
    Still,
    Pan,
    Redraw,
}

/// The frame benchmark's progress.
#[derive(Debug)]
pub(crate) struct Bench {
    frames: usize,
    phase: Phase,
    last: Option<Instant>,
    intervals: Vec<f64>,
    results: Vec<(Phase, f64, f64)>,
    draw_ms: Vec<f64>,
}

impl Bench {
    pub(crate) fn new(frames: usize) -> Self {
        Self { frames: frames.max(3), phase: Phase::Wait, last: None, intervals: Vec::new(), results: Vec::new(), draw_ms: Vec::new() }
    }
}

pub(super) fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Called at the start of every frame while the benchmark runs.
pub(super) fn before_frame(app: &mut EmbedmapApp, ctx: &egui::Context) {
    let Some(mut b) = app.bench.take() else { return };
    ctx.request_repaint();
    let now = Instant::now();
    if b.phase == Phase::Wait {
        if app.is_busy() || app.outcome.is_none() || app.map.shown.is_none() || app.map.dirty {
            app.bench = Some(b);
            return;
        }
        b.phase = Phase::Still;
        b.last = None;
    } else if let Some(last) = b.last {
        b.intervals.push(now.duration_since(last).as_secs_f64() * 1e3);
        if b.phase != Phase::Still {
            b.draw_ms.push(app.map.last_draw_ms);
        }
    }
    b.last = Some(now);
    if b.intervals.len() >= b.frames {
        let mut iv = std::mem::take(&mut b.intervals);
        let mut dm = std::mem::take(&mut b.draw_ms);
        b.results.push((b.phase, median(&mut iv), median(&mut dm)));
        b.last = None;
        b.phase = match b.phase {
            Phase::Wait | Phase::Still => Phase::Pan,
            Phase::Pan => Phase::Redraw,
            Phase::Redraw => {
                report(app, &b);
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                return;
            }
        };
    }
    // Move the view a few pixels per frame, as a drag would.
    if matches!(b.phase, Phase::Pan | Phase::Redraw)
        && let Some((_, view)) = app.map.shown
    {
        let step = if b.intervals.len() % 2 == 0 { 3.0 } else { -3.0 };
        let mut v: View = view;
        v.pan(step, 0.0);
        app.map.view = Some(v);
        app.map.preview = b.phase == Phase::Pan;
    } else {
        app.map.preview = false;
    }
    app.bench = Some(b);
}

fn report(app: &EmbedmapApp, b: &Bench) {
    let n = app.pca.as_ref().map_or(0, |p| p.projection.len());
    let (rect, _) = app.map.shown.unwrap_or((egui::Rect::ZERO, View { cx: 0.0, cy: 0.0, scale: 1.0 }));
    println!("map frame benchmark: {n} points, canvas {:.0}×{:.0} points, {} frames per phase", rect.width(), rect.height(), b.frames);
    for (phase, frame, draw) in &b.results {
        let what = match phase {
            Phase::Still => "still view",
            Phase::Pan => "panning (preview while moving)",
            Phase::Redraw => "panning (full image every frame)",
            Phase::Wait => continue,
        };
        let draw = if draw.is_nan() { String::new() } else { format!(", image drawn in {draw:.1} ms") };
        println!("  {what:<34} median frame {frame:7.2} ms = {:6.1} fps{draw}", 1e3 / frame);
    }
    // Hover: the look-up a pointer move makes, at 1,000 spread-out positions.
    let mut times = Vec::with_capacity(1000);
    let mut found = 0usize;
    for i in 0..1000u32 {
        let (fx, fy) = ((f64::from(i) * 0.618_034).fract(), (f64::from(i) * 0.414_214).fract());
        #[expect(
            clippy::cast_possible_truncation,
            reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
        )]
        let p = rect.min + egui::vec2((fx * f64::from(rect.width())) as f32, (fy * f64::from(rect.height())) as f32);
        let t = Instant::now();
        found += usize::from(app.map.hover_row(app, p).is_some());
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    println!(
        "  hover look-up                      median {:.1} µs, max {:.1} µs ({found} of 1000 hit a point)",
        median(&mut times),
        times.last().copied().unwrap_or(0.0)
    );
}
