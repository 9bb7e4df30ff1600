//! The left panel: dataset summary, the algorithm and its parameters, the live quality readout.

use eframe::egui;

use crate::app::{AlgorithmKind, Command, EmbedmapApp, palette};
use crate::data::LoadOptions;
use crate::engine::Metric;
use crate::engine::hdbscan::Selection;
use crate::engine::hierarchical::Linkage;
use crate::engine::noise::NoisePolicy;
use crate::session::Reduce;

/// Draws the left panel.
pub(crate) fn side_panel_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    egui::Panel::left("controls").default_size(330.0).min_size(260.0).show(ui, |ui| {
        egui::ScrollArea::vertical().auto_shrink(false).show(ui, |ui| {
            load_state_ui(app, ui);
            dataset_ui(app, ui);
            ui.separator();
            controls_ui(app, ui);
            ui.separator();
            readout_ui(app, ui);
        });
    });
}

fn load_state_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    if let Some((r, _)) = &app.loading {
        ui.horizontal(|ui| {
            crate::app::chrome::spinner(ui);
            ui.label(format!("Loading: {}", r.stage));
        });
        ui.add(egui::ProgressBar::new(r.fraction).show_percentage());
    }
    if let Some(f) = app.load_failure.clone() {
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(egui::RichText::new("Cannot open the file").strong().color(palette::ERROR));
            ui.add(egui::Label::new(&f.message).wrap());
            ui.horizontal(|ui| {
                if f.can_drop_nonfinite && ui.button("Drop those rows and continue").clicked() {
                    let mut o = app.load_options.clone();
                    o.drop_nonfinite = true;
                    app.push(Command::Reload(o));
                }
                if ui.button("Dismiss").clicked() {
                    app.push(Command::DismissError);
                }
            });
        });
    }
}

fn dataset_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    ui.heading("Dataset");
    ui.horizontal(|ui| {
        if ui.button("Open…").on_hover_text("Choose a file (Ctrl+O)").clicked() {
            app.push(Command::OpenDialog);
        }
        let edit = ui
            .add(egui::TextEdit::singleline(&mut app.path_edit).hint_text("or type a path and press Enter").desired_width(f32::INFINITY))
            .on_hover_text("File to open");
        if edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) && !app.path_edit.trim().is_empty() {
            app.push(Command::OpenPath(app.path_edit.trim().into()));
        }
    });
    let Some(ds) = app.dataset.clone() else {
        ui.label("No dataset yet.");
        return;
    };
    egui::Grid::new("summary").num_columns(2).show(ui, |ui| {
        ui.label("Source");
        ui.add(egui::Label::new(ds.display_path()).truncate());
        ui.end_row();
        ui.label("Rows");
        ui.label(ds.n().to_string());
        ui.end_row();
        ui.label("Dimension");
        ui.label(ds.dim().to_string());
        ui.end_row();
        ui.label("Embedding");
        ui.add(egui::Label::new(ds.source.describe()).truncate());
        ui.end_row();
    });
    let meta = ds.metadata_columns();
    egui::CollapsingHeader::new(format!("Metadata columns ({})", meta.len())).show(ui, |ui| {
        for c in &meta {
            ui.label(format!("{c}  ({})", ds.column_type(c)));
        }
    });
    for w in &ds.warnings {
        ui.add(egui::Label::new(egui::RichText::new(format!("Warning: {w}")).color(palette::WARNING)).wrap());
    }
    egui::CollapsingHeader::new("Embedding columns").show(ui, |ui| {
        let candidates = ds.embedding_candidates().to_vec();
        let current = app.load_options.embedding_columns.clone();
        let listed = candidates.len() > 1 || current.is_some();
        if listed {
            ui.label("Use:");
            if ui.selectable_label(current.is_none(), "detect automatically").clicked() && current.is_some() {
                app.push(Command::Reload(LoadOptions { embedding_columns: None, drop_nonfinite: app.load_options.drop_nonfinite }));
            }
            for (spec, label) in candidates {
                let selected = current.as_deref() == Some(spec.as_str());
                if ui.selectable_label(selected, label).clicked() && !selected {
                    app.push(Command::Reload(LoadOptions {
                        embedding_columns: Some(spec),
                        drop_nonfinite: app.load_options.drop_nonfinite,
                    }));
                }
            }
            ui.separator();
        }
        ui.label(if listed {
            "Or name them: names, globs (emb_*) or a range (emb_0..emb_383)."
        } else {
            "Name the columns: names, globs (emb_*) or a range (emb_0..emb_383)."
        });
        ui.horizontal(|ui| {
            ui.add(egui::TextEdit::singleline(&mut app.spec_edit).hint_text("detect automatically").desired_width(180.0))
                .on_hover_text("Embedding columns");
            if ui.button("Apply").clicked() {
                let spec = app.spec_edit.trim();
                let opts = LoadOptions {
                    embedding_columns: (!spec.is_empty()).then(|| spec.to_string()),
                    drop_nonfinite: app.load_options.drop_nonfinite,
                };
                app.push(Command::Reload(opts));
            }
        });
    });
}

/// "Cluster on": the full embedding, or a UMAP of it in a few dimensions.
fn space_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui, algo: AlgorithmKind) -> bool {
    let mut changed = false;
    let dbscan = algo == AlgorithmKind::Dbscan;
    let reduced = app.settings.reduce.is_some() && !dbscan;
    let shown = if reduced { app.settings.reduce.as_ref().map_or_else(String::new, Reduce::describe) } else { "full embedding".into() };
    egui::ComboBox::from_label("Cluster on").selected_text(shown).show_ui(ui, |ui| {
        if ui.selectable_label(!reduced, "full embedding").clicked() && reduced {
            app.settings.reduce = None;
            changed = true;
        }
        let r = ui.add_enabled(!dbscan, egui::Button::selectable(reduced, "UMAP n-d"));
        let r = r
            .on_hover_text(
                "Cluster on a UMAP of the rows in a few dimensions (n_neighbors 15, min_dist 0), as BERTopic does: \
                 density methods then call far less of real text noise. The indices stay in the full space.",
            )
            .on_disabled_hover_text(
                "DBSCAN's eps is suggested from the full space's distances; use HDBSCAN, or --reduce on the command line",
            );
        if r.clicked() && !reduced {
            app.settings.reduce = Some(app.settings.reduce.take().unwrap_or_else(|| Reduce::umap(10)));
            changed = true;
        }
    });
    if reduced && let Some(r) = &mut app.settings.reduce {
        changed |= ui
            .add(egui::Slider::new(&mut r.dim, 2..=crate::engine::project::umap::MAX_REDUCE_DIM).text("dimensions"))
            .on_hover_text("dimensions of the UMAP embedding the algorithm clusters (5–15 is usual)")
            .changed();
    }
    changed
}

fn controls_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    ui.heading("Clustering");
    let n = app.dataset.as_ref().map_or(50, |d| d.n());
    let max_k = 50.min(n.saturating_sub(1)).max(2);
    let mut changed = false;
    egui::ComboBox::from_label("Algorithm").selected_text(app.settings.algorithm.label()).show_ui(ui, |ui| {
        for a in AlgorithmKind::ALL {
            changed |= ui.selectable_value(&mut app.settings.algorithm, a, a.label()).changed();
        }
    });
    let algo = app.settings.algorithm;
    if matches!(algo, AlgorithmKind::Kmeans | AlgorithmKind::MinibatchKmeans | AlgorithmKind::Hierarchical) {
        changed |= ui.add(egui::Slider::new(&mut app.settings.k, 2..=max_k).text("k")).changed();
    }
    let ward = algo == AlgorithmKind::Hierarchical && app.settings.linkage == Linkage::Ward;
    egui::ComboBox::from_label("Metric").selected_text(app.settings.metric.name()).show_ui(ui, |ui| {
        for m in Metric::ALL {
            let allowed = !(ward && m == Metric::Cosine);
            let r = ui.add_enabled(allowed, egui::Button::selectable(app.settings.metric == m, m.name()));
            let r = r.on_disabled_hover_text("ward linkage is defined for euclidean distances only");
            if r.clicked() && app.settings.metric != m {
                app.settings.metric = m;
                changed = true;
            }
        }
    });
    changed |= space_ui(app, ui, algo);
    match algo {
        AlgorithmKind::Kmeans | AlgorithmKind::MinibatchKmeans => {
            ui.horizontal(|ui| {
                changed |= ui.add(egui::DragValue::new(&mut app.settings.seed).prefix("seed ")).changed();
                changed |= ui.add(egui::DragValue::new(&mut app.settings.n_init).range(1..=50).prefix("restarts ")).changed();
            });
            if algo == AlgorithmKind::MinibatchKmeans {
                changed |=
                    ui.add(egui::Slider::new(&mut app.settings.batch_size, 64..=8192).logarithmic(true).text("batch size")).changed();
            }
        }
        AlgorithmKind::Dbscan => {
            let range = app.kdist.as_ref().and_then(|k| Some((*k.curve.first()?, *k.curve.last()?)));
            match (app.eps, range) {
                (Some(mut eps), Some((lo, hi))) => {
                    let (lo, hi) = (lo.max(f32::EPSILON), hi.max(lo.max(f32::EPSILON) * 1.01));
                    let slider = egui::Slider::new(&mut eps, lo..=hi).text("eps").max_decimals(4).clamping(egui::SliderClamping::Never);
                    let r = ui.add(slider).on_hover_text(format!(
                        "neighbourhood radius; the range spans the distance of every point to its {}th neighbour",
                        app.kdist.as_ref().map_or(0, |k| k.min_samples)
                    ));
                    if r.changed() && eps > 0.0 && eps.is_finite() {
                        app.eps = Some(eps);
                        changed = true;
                    }
                }
                _ => {
                    ui.horizontal(|ui| {
                        crate::app::chrome::spinner(ui);
                        ui.label("measuring neighbour distances to suggest eps…");
                    });
                }
            }
            changed |= ui.add(egui::Slider::new(&mut app.settings.min_samples, 1..=100).text("min_samples")).changed();
            changed |= noise_ui(app, ui);
            if let Some(eps) = app.eps
                && let Some(new) = crate::app::kdist::kdist_ui(app, ui, eps, "eps")
            {
                app.eps = Some(new);
                changed = true;
            }
        }
        AlgorithmKind::Hierarchical => {
            egui::ComboBox::from_label("Linkage").selected_text(app.settings.linkage.name()).show_ui(ui, |ui| {
                for l in Linkage::ALL {
                    let allowed = !(l == Linkage::Ward && app.settings.metric == Metric::Cosine);
                    let r = ui.add_enabled(allowed, egui::Button::selectable(app.settings.linkage == l, l.name()));
                    let r = r.on_disabled_hover_text("ward linkage needs the euclidean metric");
                    if r.clicked() && app.settings.linkage != l {
                        app.settings.linkage = l;
                        changed = true;
                    }
                }
            });
        }
        AlgorithmKind::Hdbscan => {
            let max_mcs = (n / 2).clamp(2, 500);
            changed |= ui.add(egui::Slider::new(&mut app.settings.min_cluster_size, 2..=max_mcs).text("min_cluster_size")).changed();
            let mut same = app.settings.hdbscan_min_samples.is_none();
            ui.horizontal(|ui| {
                if ui.checkbox(&mut same, "min_samples = min_cluster_size").changed() {
                    app.settings.hdbscan_min_samples = if same { None } else { Some(app.settings.min_cluster_size.min(10)) };
                    changed = true;
                }
            });
            if let Some(ms) = &mut app.settings.hdbscan_min_samples {
                changed |= ui.add(egui::Slider::new(ms, 1..=100).text("min_samples")).changed();
            }
            egui::ComboBox::from_label("Selection")
                .selected_text(match app.settings.selection {
                    Selection::Eom => "excess of mass",
                    Selection::Leaf => "leaf",
                })
                .show_ui(ui, |ui| {
                    changed |= ui.selectable_value(&mut app.settings.selection, Selection::Eom, "excess of mass").changed();
                    changed |= ui.selectable_value(&mut app.settings.selection, Selection::Leaf, "leaf").changed();
                });
            changed |= noise_ui(app, ui);
            ui.horizontal(|ui| {
                let l = ui.label("cluster_selection_epsilon");
                let mut e = app.settings.selection_epsilon;
                if ui.add(egui::DragValue::new(&mut e).range(0.0..=f64::MAX).speed(0.01).max_decimals(4)).labelled_by(l.id).changed() {
                    app.settings.selection_epsilon = e.max(0.0);
                    changed = true;
                }
                if app.settings.selection_epsilon > 0.0 && ui.small_button("off").on_hover_text("back to 0").clicked() {
                    app.settings.selection_epsilon = 0.0;
                    changed = true;
                }
            });
            #[expect(
                clippy::cast_possible_truncation,
                reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
            )]
            if let Some(new) = crate::app::kdist::kdist_ui(app, ui, app.settings.selection_epsilon as f32, "cluster_selection_epsilon") {
                app.settings.selection_epsilon = f64::from(new);
                changed = true;
            }
        }
    }
    if changed {
        app.push(Command::Recluster);
    }
    if let Some(r) = app.clustering.clone() {
        // Only jobs that last show progress, so quick ones do not flicker.
        if r.started.elapsed().as_millis() > 300 {
            // The stage above the bar, wrapped: inside it a long stage was cut off.
            ui.add(egui::Label::new(egui::RichText::new(&r.stage).small()).wrap());
            ui.horizontal(|ui| {
                ui.add(egui::ProgressBar::new(r.fraction).show_percentage().desired_width(200.0));
                if ui.button("Cancel").clicked() {
                    app.push(Command::CancelCluster);
                }
            });
        } else {
            ui.label("computing…");
        }
    }
}

fn noise_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) -> bool {
    let mut changed = false;
    egui::ComboBox::from_label("Noise")
        .selected_text(match app.settings.noise {
            NoisePolicy::Keep => "keep as noise",
            NoisePolicy::Nearest => "join nearest cluster",
        })
        .show_ui(ui, |ui| {
            changed |= ui.selectable_value(&mut app.settings.noise, NoisePolicy::Keep, "keep as noise").changed();
            changed |= ui
                .selectable_value(&mut app.settings.noise, NoisePolicy::Nearest, "join nearest cluster")
                .on_hover_text("each noise point takes the cluster of its nearest clustered point; the export keeps an is_noise column")
                .changed();
        });
    changed
}

fn delta_ui(ui: &mut egui::Ui, now: f64, before: Option<f64>, higher_is_better: bool) {
    let Some(b) = before else { return };
    let d = now - b;
    if d.abs() < 1e-12 {
        ui.label("=");
        return;
    }
    let better = (d > 0.0) == higher_is_better;
    let arrow = if d > 0.0 { "↑" } else { "↓" };
    ui.label(egui::RichText::new(format!("{arrow} {:+.4}", d)).color(if better { palette::BETTER } else { palette::WORSE }))
        .on_hover_text(format!("previous setting: {b:.4}"));
}

/// Agreement with a chosen label column: ARI, NMI, V-measure (homogeneity, completeness), each
/// with how it moved since the previous setting. Noise (−1) counts as one more cluster.
fn reference_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui, o: &std::sync::Arc<crate::session::ClusterOutcome>) {
    let Some(ds) = app.dataset.clone() else { return };
    let cols = ds.metadata_columns();
    if cols.is_empty() {
        return;
    }
    if app.reference.as_ref().is_some_and(|c| !cols.contains(c)) {
        app.reference = None;
    }
    let mut chosen = app.reference.clone();
    egui::ComboBox::from_label("Compare with")
        .selected_text(app.reference.clone().unwrap_or_else(|| "(no label column)".into()))
        .show_ui(ui, |ui| {
            ui.selectable_value(&mut chosen, None, "(no label column)");
            for c in cols {
                ui.selectable_value(&mut chosen, Some(c.clone()), c);
            }
        })
        .response
        .on_hover_text("A column of known labels: how well the clusters agree with it");
    if chosen != app.reference {
        app.push(Command::CompareWith(chosen));
    }
    let Some(col) = app.reference.clone() else { return };
    let Some(now) = app.external_for(o, &col) else {
        ui.horizontal(|ui| {
            crate::app::chrome::spinner(ui);
            ui.label(format!("comparing with '{col}'…"));
        });
        return;
    };
    let before = app.previous.clone().and_then(|p| app.external_for(&p, &col));
    let row = |ui: &mut egui::Ui, name: &str, v: f64, b: Option<f64>| {
        ui.horizontal(|ui| {
            ui.label(format!("{name} {v:.4}"));
            delta_ui(ui, v, b, true);
        });
    };
    row(ui, "ARI", now.ari, before.as_ref().map(|e| e.ari));
    row(ui, "NMI", now.nmi, before.as_ref().map(|e| e.nmi));
    row(ui, "V-measure", now.v_measure, before.as_ref().map(|e| e.v_measure));
    ui.label(
        egui::RichText::new(format!(
            "homogeneity {:.3} · completeness {:.3} · {} classes in '{col}'",
            now.homogeneity, now.completeness, now.contingency.n_true
        ))
        .small(),
    );
}

fn readout_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    ui.heading("Quality");
    let Some(o) = app.outcome.clone() else {
        ui.label("waiting for the first clustering…");
        return;
    };
    if let Some(what) = &o.preview {
        ui.horizontal(|ui| {
            crate::app::chrome::spinner(ui);
            ui.label(egui::RichText::new("preview · refining…").strong().color(palette::WARNING))
                .on_hover_text(format!("{what}. The figures below are the preview's; the seeded result replaces them."));
        });
    }
    if let Some(what) = &o.exact_follows {
        ui.horizontal(|ui| {
            crate::app::chrome::spinner(ui);
            ui.label(egui::RichText::new("seeded · exact figures follow…").strong().color(palette::WARNING))
                .on_hover_text(format!("{what}. The labels are final; the figures below are estimates from the sample."));
        });
    }
    let prev_sil = app.previous.as_ref().and_then(|p| p.silhouette.as_ref().ok().map(|s| s.mean));
    match &o.silhouette {
        Ok(s) => {
            ui.horizontal(|ui| {
                ui.label(egui::RichText::new(format!("Silhouette {:.4}", s.mean)).size(20.0).strong());
                delta_ui(ui, s.mean, prev_sil, true);
            });
            let noise = if s.n_noise > 0 { ", noise excluded" } else { "" };
            let how = if s.exact {
                format!("exact over {} points{noise}, {} distance", s.n_scored, s.metric)
            } else {
                let (lo, hi) = s.ci95.unwrap_or((s.mean, s.mean));
                format!("sampled: {} points{noise}, 95% CI {lo:.4} – {hi:.4}, {} distance", s.n_scored, s.metric)
            };
            ui.label(how);
            ui.label(format!("computed in {:.0} ms", o.silhouette_ms));
        }
        Err(e) => {
            ui.label(egui::RichText::new(format!("Silhouette: not defined ({e})")).color(palette::WARNING));
        }
    }
    let prev = app.previous.as_ref().filter(|p| p.request.algorithm.metric() == o.request.algorithm.metric());
    if let Some(inertia) = o.inertia {
        let before = prev.and_then(|p| p.inertia);
        ui.horizontal(|ui| {
            ui.label(format!("Inertia {inertia:.4}"));
            delta_ui(ui, inertia, before, false);
        });
    }
    match &o.davies_bouldin {
        Ok(v) => {
            let before = prev.and_then(|p| p.davies_bouldin.as_ref().ok().copied());
            ui.horizontal(|ui| {
                ui.label(format!("Davies-Bouldin {v:.4}"));
                delta_ui(ui, *v, before, false);
            });
        }
        Err(e) => {
            ui.label(format!("Davies-Bouldin: not defined ({e})"));
        }
    }
    if let Ok(v) = &o.calinski_harabasz {
        let before = prev.and_then(|p| p.calinski_harabasz.as_ref().ok().copied());
        ui.horizontal(|ui| {
            ui.label(format!("Calinski-Harabasz {v:.1}"));
            delta_ui(ui, *v, before, true);
        });
    }
    reference_ui(app, ui, &o);
    let iterations = match (o.n_iter, o.converged) {
        (Some(it), _) if o.preview.is_some() => format!(" · {it} iterations on a sample (preview)"),
        (Some(it), Some(true)) => format!(" · {it} iterations"),
        (Some(it), _) => format!(" · {it} iterations (not converged)"),
        _ => String::new(),
    };
    ui.label(format!("{} clusters{iterations} · {:.0} ms", o.sizes.iter().filter(|&&s| s > 0).count(), o.cluster_ms));
    if o.n_noise > 0 {
        let share = 100.0 * o.n_noise as f64 / o.labels.len().max(1) as f64;
        let text = format!("Noise: {} points ({share:.1}%), left out of the indices", o.n_noise);
        let color = if share >= 50.0 { palette::WARNING } else { ui.visuals().text_color() };
        ui.label(egui::RichText::new(text).color(color));
    }
    // The same settings in the other space, when already computed: both noise shares.
    if o.is_noise.len() == o.labels.len()
        && !o.labels.is_empty()
        && let Some(other) = app.other_space(&o)
    {
        let share = |x: &crate::session::ClusterOutcome| 100.0 * x.n_noise as f64 / x.labels.len().max(1) as f64;
        let name =
            |x: &crate::session::ClusterOutcome| x.request.reduce.as_ref().map_or_else(|| "full embedding".to_string(), Reduce::describe);
        ui.label(format!(
            "noise share: {:.1}% on {} · {:.1}% on {} ({} clusters there)",
            share(&o),
            name(&o),
            share(&other),
            name(&other),
            other.n_clusters
        ));
    }
    for note in &o.notes {
        ui.add(egui::Label::new(egui::RichText::new(note).small()).wrap());
    }
}
