//! The centre: the 2-D projection coloured by cluster, with a legend and hover text.

use std::collections::HashMap;

use eframe::egui;
use egui_plot::{HoverPosition, Legend, MarkerShape, Plot, Points};

use super::{EmbedmapApp, palette};

/// Longest hover text per field, in characters.
const HOVER_CHARS: usize = 240;

fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        if line + word.len() > width && line > 0 {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.len();
    }
    out
}

/// Draws the map.
pub(super) fn map_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    egui::CentralPanel::default().show(ui, |ui| {
        let (Some(ds), Some(pca)) = (app.dataset.clone(), app.pca.clone()) else {
            ui.centered_and_justified(|ui| {
                ui.label(if app.loading.is_some() {
                    "Loading…"
                } else {
                    "Open a file of embeddings (File ▸ Open…) or drop one here."
                });
            });
            return;
        };
        ui.horizontal(|ui| {
            ui.label(format!(
                "PCA · axis 1 {:.1}% · axis 2 {:.1}% of the variance",
                pca.explained_variance_ratio[0] * 100.0,
                pca.explained_variance_ratio[1] * 100.0
            ));
        });
        let hover_cols = ds.hover_columns();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let names: Vec<String> = app
            .map
            .clusters
            .iter()
            .enumerate()
            .map(|(c, (_, rows))| {
                let name = format!("cluster {c} ({})", rows.len());
                by_name.insert(name.clone(), c);
                name
            })
            .collect();
        let clusters = &app.map.clusters;
        let noise = &app.map.noise;
        let noise_name = format!("noise ({})", noise.1.len());
        let radius = app.settings.point_radius;

        let formatter = |pos: &HoverPosition<'_>| -> Option<String> {
            let HoverPosition::NearDataPoint { plot_name, index, .. } = pos else { return None };
            let is_noise = *plot_name == noise_name && !noise.1.is_empty();
            let row = if let Some(&c) = by_name.get(*plot_name) {
                *clusters[c].1.get(*index)?
            } else if is_noise {
                *noise.1.get(*index)?
            } else {
                *index
            };
            let mut s = format!("row {}", row + 1);
            if let Some(c) = by_name.get(*plot_name) {
                s.push_str(&format!(" · cluster {c}"));
            } else if is_noise {
                s.push_str(" · noise");
            }
            for col in &hover_cols {
                let v = ds.cell_text(row, col);
                if v.is_empty() {
                    continue;
                }
                let v: String =
                    if v.chars().count() > HOVER_CHARS { format!("{}…", v.chars().take(HOVER_CHARS).collect::<String>()) } else { v };
                s.push_str(&format!("\n{col}: {}", wrap(&v, 60)));
            }
            Some(s)
        };
        let unclustered = clusters.is_empty() && noise.0.is_empty();
        let all_points: Vec<[f64; 2]> =
            if unclustered { pca.projection.iter().map(|p| [f64::from(p[0]), f64::from(p[1])]).collect() } else { Vec::new() };
        Plot::new("map")
            .legend(Legend::default().follow_insertion_order(true).title("Clusters"))
            .show_crosshair(false)
            .data_aspect(1.0)
            .label_formatter(formatter)
            .x_axis_label("PCA 1")
            .y_axis_label("PCA 2")
            .show(ui, |plot_ui| {
                if unclustered {
                    plot_ui.add(Points::new("", all_points.clone()).radius(radius).color(egui::Color32::GRAY));
                }
                if !noise.0.is_empty() {
                    plot_ui.add(
                        Points::new(noise_name.clone(), &noise.0[..]).id("noise").radius(radius * 0.8).filled(true).color(palette::NOISE),
                    );
                }
                for (c, (pts, _)) in clusters.iter().enumerate() {
                    plot_ui.add(
                        Points::new(names[c].clone(), &pts[..])
                            .id(("cluster", c))
                            .radius(radius)
                            .shape(MarkerShape::Circle)
                            .filled(true)
                            .color(palette::cluster(c)),
                    );
                }
            });
    });
}
