//! The k-distance chart for DBSCAN and HDBSCAN: every point's distance to its min_samples-th
//! neighbour, sorted, with DBSCAN's eps (or HDBSCAN's cluster_selection_epsilon) as a horizontal
//! line that a click or a drag moves.

use eframe::egui;
use egui_plot::{HLine, Line, Plot, PlotPoints};

use crate::app::{EmbedmapApp, palette};

/// Most points drawn of the curve (it is monotone, so a thinned copy looks the same).
const MAX_DRAWN: usize = 600;

/// Draws the chart with `eps` (DBSCAN's eps, or HDBSCAN's cluster_selection_epsilon, named
/// `what`); returns the value the user moved it to.
pub(crate) fn kdist_ui(app: &EmbedmapApp, ui: &mut egui::Ui, eps: f32, what: &str) -> Option<f32> {
    let k = app.kdist.clone()?;
    let curve = &k.curve;
    if curve.len() < 2 {
        return None;
    }
    let step = curve.len().div_ceil(MAX_DRAWN);
    let last = (curve.len() - 1) as f64;
    let pts: Vec<[f64; 2]> = curve
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || *i + 1 == curve.len())
        .map(|(i, &v)| [i as f64 / last, f64::from(v)])
        .collect();
    let (lo, hi) = (f64::from(curve[0]), f64::from(curve[curve.len() - 1]));
    let mut moved = None;
    ui.label(egui::RichText::new(format!("Distance to the {}th neighbour, all points sorted", k.min_samples)).small());
    Plot::new("k-distance")
        .height(130.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .show_x(false)
        .x_axis_label("share of points")
        .include_y(lo)
        .include_y(hi)
        .show(ui, |plot_ui| {
            plot_ui.line(Line::new("k-distance", PlotPoints::new(pts)).color(palette::cluster(0)));
            plot_ui.hline(HLine::new(what, f64::from(eps)).color(palette::WARNING).width(1.5));
            let r = plot_ui.response();
            if (r.clicked() || r.dragged())
                && let Some(p) = plot_ui.pointer_coordinate()
            {
                moved = Some(p.y.clamp(lo, hi));
            }
        })
        .response
        .on_hover_text(format!("click or drag to set {what}"));
    let core = curve.partition_point(|&v| v <= eps);
    let share = 100.0 * core as f64 / curve.len() as f64;
    ui.label(
        egui::RichText::new(if what == "eps" {
            format!("{share:.0}% of the points are core at this eps")
        } else {
            format!("{share:.0}% of the points have their core distance below {what}")
        })
        .small(),
    );
    match moved {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
        )]
        Some(y) if y > 0.0 && (y as f32 - eps).abs() > f32::EPSILON * eps.abs().max(f32::EPSILON) => Some(y as f32),
        _ => None,
    }
}
