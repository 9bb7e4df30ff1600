//! The silhouette plot: every cluster's per-point silhouettes, sorted, side by side — wide,
//! tall shapes are solid clusters; shapes dipping below zero hold points closer to another
//! cluster. Noise is left out, as in the readout.

use eframe::egui;
use egui_plot::{HLine, Legend, Line, Plot, PlotPoints};

use crate::app::{EmbedmapApp, palette};
use crate::session::ClusterOutcome;

/// Most points drawn per cluster (quantiles of its sorted values).
const PER_CLUSTER: usize = 300;

/// One cluster's shape in the plot: its id, the sorted values placed side by side (thinned to
/// [`PER_CLUSTER`] points) and its mean.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    cluster: usize,
    points: Vec<[f64; 2]>,
    mean: f64,
}

/// The shapes of `o`'s clusters, computed once per clustering (sorting is O(n log n)).
pub(crate) fn shapes(o: &ClusterOutcome) -> Vec<Shape> {
    let Ok(sil) = &o.silhouette else { return Vec::new() };
    let k = o.n_clusters;
    let mut per: Vec<Vec<f32>> = vec![Vec::new(); k];
    // The algorithm's own clusters: the silhouette was scored on them.
    for (i, (&l, &v)) in o.labels.iter().zip(&sil.values).enumerate() {
        let noise = o.is_noise.get(i).copied().unwrap_or(false);
        if let Ok(c) = usize::try_from(l)
            && c < k
            && v.is_finite()
            && !noise
        {
            per[c].push(v);
        }
    }
    let mut x0 = 0.0f64;
    let mut out = Vec::new();
    for (cluster, vals) in per.iter_mut().enumerate() {
        if vals.is_empty() {
            continue;
        }
        vals.sort_by(|a, b| b.total_cmp(a));
        let step = vals.len().div_ceil(PER_CLUSTER);
        let width = vals.len() as f64;
        let points: Vec<[f64; 2]> = vals
            .iter()
            .enumerate()
            .filter(|(i, _)| i % step == 0 || *i + 1 == vals.len())
            .map(|(i, &v)| [x0 + i as f64, f64::from(v)])
            .collect();
        let mean = vals.iter().map(|&v| f64::from(v)).sum::<f64>() / width;
        out.push(Shape { cluster, points, mean });
        // A gap between clusters of 1% of the points so far (at least 5).
        x0 += width + (x0 * 0.01).max(5.0);
    }
    out
}

/// Draws the right panel: the silhouette plot (when the clustering has per-point silhouettes)
/// above the dendrogram of a hierarchical clustering, or else the k-sweep.
pub(crate) fn silhouette_panel_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    if app.dataset.is_none() {
        return;
    }
    egui::Panel::right("silhouette").default_size(300.0).min_size(220.0).show(ui, |ui| {
        let height = ui.available_height();
        if let Some(o) = app.outcome.clone()
            && let Ok(sil) = &o.silhouette
        {
            silhouette_ui(app, ui, sil, (height * 0.5).max(180.0));
            ui.separator();
        }
        if app.outcome.as_ref().is_some_and(|o| o.dendrogram.is_some()) {
            crate::app::dendrogram::dendrogram_ui(app, ui);
        } else {
            crate::app::sweep::sweep_ui(app, ui);
        }
    });
}

/// Clusters up to which the plot has a legend.
const LEGEND_MAX: usize = 16;

fn silhouette_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui, sil: &crate::engine::silhouette::Silhouette, height: f32) {
    let shapes = &app.map.silhouette;
    let mut clicked = None;
    ui.heading("Per-cluster silhouette");
    ui.label(
        egui::RichText::new(if sil.exact {
            "every point, sorted within its cluster; click a shape to bring its cluster forward"
        } else {
            "the sampled points, sorted within their cluster; click a shape to bring its cluster forward"
        })
        .small(),
    );
    // A legend of more clusters than fit beside the plot would cover it.
    let with_legend = shapes.len() <= LEGEND_MAX;
    if !with_legend {
        ui.label(
            egui::RichText::new(format!("{} clusters: too many to list beside the plot (the map's legend names them)", shapes.len()))
                .small(),
        );
    }
    let plot = Plot::new("silhouette plot");
    let plot = if with_legend { plot.legend(Legend::default().follow_insertion_order(true).title("cluster: mean")) } else { plot };
    let resp = plot
        .height(height - if with_legend { 40.0 } else { 58.0 })
        .show_axes([false, true])
        .y_axis_label("silhouette")
        .include_y(0.0)
        .allow_scroll(false)
        .show(ui, |plot_ui| {
            for s in shapes {
                plot_ui.line(
                    Line::new(format!("{}: {:.3}", s.cluster, s.mean), PlotPoints::new(s.points.clone()))
                        .color(palette::cluster(s.cluster))
                        .fill(0.0)
                        .fill_alpha(0.6)
                        .id(egui_plot::ItemId::new(("silhouette shape", s.cluster))),
                );
            }
            plot_ui.hline(HLine::new(format!("mean {:.3}", sil.mean), sil.mean).color(palette::WARNING));
        });
    if resp.response.clicked()
        && let Some(id) = resp.hovered_plot_item
    {
        clicked = shapes.iter().find(|s| egui_plot::ItemId::new(("silhouette shape", s.cluster)) == id).map(|s| s.cluster);
    }
    if let Some(c) = clicked {
        app.push(crate::app::Command::ToggleHighlight(c));
    }
}
