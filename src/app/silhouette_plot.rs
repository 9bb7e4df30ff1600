//! The silhouette plot: every cluster's per-point silhouettes, sorted, side by side — wide,
//! tall shapes are solid clusters; shapes dipping below zero hold points closer to another
//! cluster. Noise is left out, as in the readout.

use eframe::egui;
use egui_plot::{HLine, Legend, Line, Plot, PlotPoints};

use super::{EmbedmapApp, palette};

/// Most points drawn per cluster (quantiles of its sorted values).
const PER_CLUSTER: usize = 300;

/// Draws the right panel when the clustering has per-point silhouettes.
pub(super) fn silhouette_panel_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    let Some(o) = app.outcome.clone() else { return };
    let Ok(sil) = &o.silhouette else { return };
    let k = o.n_clusters;
    let mut per: Vec<Vec<f32>> = vec![Vec::new(); k];
    // The algorithm's own clusters: the silhouette was scored on them.
    let own: Vec<i32> = if o.is_noise.is_empty() {
        o.labels.clone()
    } else {
        o.labels.iter().zip(&o.is_noise).map(|(&l, &nz)| if nz { -1 } else { l }).collect()
    };
    for (&l, &v) in own.iter().zip(&sil.values) {
        if let Ok(c) = usize::try_from(l)
            && c < k
            && v.is_finite()
        {
            per[c].push(v);
        }
    }
    egui::Panel::right("silhouette").default_size(280.0).min_size(200.0).show(ui, |ui| {
        ui.heading("Per-cluster silhouette");
        ui.label(
            egui::RichText::new(if sil.exact {
                "every point, sorted within its cluster"
            } else {
                "the sampled points, sorted within their cluster"
            })
            .small(),
        );
        let mut x0 = 0.0f64;
        let mut lines = Vec::new();
        for (c, vals) in per.iter_mut().enumerate() {
            if vals.is_empty() {
                continue;
            }
            vals.sort_by(|a, b| b.total_cmp(a));
            let step = vals.len().div_ceil(PER_CLUSTER);
            #[allow(clippy::cast_precision_loss)]
            let width = vals.len() as f64;
            #[allow(clippy::cast_precision_loss)]
            let pts: Vec<[f64; 2]> = vals
                .iter()
                .enumerate()
                .filter(|(i, _)| i % step == 0 || *i + 1 == vals.len())
                .map(|(i, &v)| [x0 + i as f64, f64::from(v)])
                .collect();
            #[allow(clippy::cast_precision_loss)]
            let mean = vals.iter().map(|&v| f64::from(v)).sum::<f64>() / width;
            lines.push((c, pts, mean));
            // A gap between clusters of 1% of the points so far (at least 5).
            x0 += width + (x0 * 0.01).max(5.0);
        }
        Plot::new("silhouette plot")
            .legend(Legend::default().follow_insertion_order(true).title("cluster: mean"))
            .show_axes([false, true])
            .y_axis_label("silhouette")
            .include_y(0.0)
            .allow_scroll(false)
            .show(ui, |plot_ui| {
                for (c, pts, mean) in lines {
                    plot_ui.line(
                        Line::new(format!("{c}: {mean:.3}"), PlotPoints::new(pts)).color(palette::cluster(c)).fill(0.0).fill_alpha(0.6),
                    );
                }
                plot_ui.hline(HLine::new(format!("mean {:.3}", sil.mean), sil.mean).color(palette::WARNING));
            });
    });
}
