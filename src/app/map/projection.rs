//! The map's projection: which one is shown, UMAP's parameters, and the layouts computed so
//! far (one per set of parameters, so switching back and forth is instant). Layouts are worker
//! jobs on the projection thread; a running UMAP hands its positions over as it goes, so the
//! points move on the map while it optimises.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use eframe::egui;

use crate::app::{Command, EmbedmapApp};
use crate::engine::Metric;
use crate::engine::project::trust::Trust;
use crate::engine::project::tsne::TsneParams;
use crate::engine::project::umap::UmapParams;
use crate::engine::project::{Projected, ProjectionDetail, ProjectionParams};

/// The projections the map offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Choice {
    /// Principal axes: at once, but on text embeddings the two axes carry a few percent.
    Pca,
    /// UMAP in the clustering's metric: the default, as on text embeddings it is the map that
    /// shows the clusters (PCA is shown while it runs).
    #[default]
    Umap,
    /// t-SNE in the clustering's metric: tighter, more separated clusters than UMAP's, at the
    /// price of the distances between them.
    Tsne,
}

/// Above this many rows UMAP (and t-SNE) starts only when asked (100k rows take about 20 s here,
/// and the layout pauses whenever a clustering runs); PCA is shown until then.
pub(crate) const AUTO_UMAP_MAX: usize = 200_000;

/// A finished layout with its trust figures.
#[derive(Debug)]
pub(crate) struct Layout {
    pub(crate) xy: Arc<Vec<[f32; 2]>>,
    pub(crate) projected: Arc<Projected>,
    pub(crate) trust: Option<Trust>,
    /// Every row's own kNN recall at 15 (small and medium inputs).
    pub(crate) recall: Option<Arc<Vec<f32>>>,
}

/// The projection thread's running job and the layouts it made.
#[derive(Debug, Default)]
pub(crate) struct ProjectionState {
    /// PCA's positions, from the load.
    pub(crate) pca_xy: Option<Arc<Vec<[f32; 2]>>>,
    /// Finished layouts by [`key`].
    pub(crate) layouts: HashMap<String, Arc<Layout>>,
    /// The running job: its generation, key and start.
    pub(crate) running: Option<(u64, String, Instant)>,
    /// The running layout's positions so far, epoch done and epochs in all.
    pub(crate) live: Option<(Arc<Vec<[f32; 2]>>, usize, usize)>,
    /// The last refusal, by key.
    pub(crate) failed: Option<(String, String)>,
    /// The user asked for UMAP on this dataset (needed above [`AUTO_UMAP_MAX`] rows).
    pub(crate) asked: bool,
    /// The running job's last progress: its stage and the fraction done.
    pub(crate) stage: Option<(String, f32)>,
}

impl ProjectionState {
    /// Forgets everything (a new dataset).
    pub(crate) fn reset(&mut self, pca_xy: Arc<Vec<[f32; 2]>>) {
        *self = Self { pca_xy: Some(pca_xy), ..Self::default() };
    }
}

/// The cache key of a projection measured in `metric`.
pub(crate) fn key(params: &ProjectionParams, metric: Metric) -> String {
    format!("{}|{metric}", serde_json::to_string(params).unwrap_or_default())
}

impl EmbedmapApp {
    /// The projection the settings ask for (UMAP in the clustering's metric).
    pub(crate) fn wanted_projection(&self) -> ProjectionParams {
        match self.settings.projection {
            Choice::Pca => ProjectionParams::Pca,
            Choice::Umap => ProjectionParams::Umap { metric: self.settings.metric, params: self.settings.umap.clone() },
            Choice::Tsne => ProjectionParams::Tsne { metric: self.settings.metric, params: self.settings.tsne.clone() },
        }
    }

    /// Starts the wanted layout when it is neither computed, running nor refused. Called once
    /// per frame from the app's logic.
    pub(crate) fn ensure_projection(&mut self) {
        let Some(ds) = self.dataset.clone() else { return };
        let params = self.wanted_projection();
        let k = key(&params, self.settings.metric);
        let st = &self.projection;
        if !matches!(params, ProjectionParams::Pca) && ds.n() > AUTO_UMAP_MAX && !st.asked {
            return;
        }
        if st.layouts.contains_key(&k) || st.running.as_ref().is_some_and(|r| r.1 == k) || st.failed.as_ref().is_some_and(|f| f.0 == k) {
            return;
        }
        let generation = self.worker.project(Arc::clone(&ds.embeddings), params, self.settings.metric);
        self.projection.running = Some((generation, k, Instant::now()));
        self.projection.live = None;
        self.projection.stage = None;
    }

    /// The finished layout the settings ask for, if there is one.
    pub(crate) fn current_layout(&self) -> Option<Arc<Layout>> {
        self.projection.layouts.get(&key(&self.wanted_projection(), self.settings.metric)).cloned()
    }

    /// The positions the map shows: the wanted layout, else its positions so far, else PCA's.
    #[must_use]
    pub fn xy(&self) -> Option<Arc<Vec<[f32; 2]>>> {
        if let Some(l) = self.current_layout() {
            return Some(Arc::clone(&l.xy));
        }
        let wanted = key(&self.wanted_projection(), self.settings.metric);
        if self.projection.running.as_ref().is_some_and(|r| r.1 == wanted)
            && let Some((xy, _, _)) = &self.projection.live
        {
            return Some(Arc::clone(xy));
        }
        self.projection.pca_xy.clone()
    }

    /// Which projection [`Self::xy`] shows: the wanted one's key when its layout (finished or so
    /// far) is shown, else PCA's. The map keeps a zoom while the same projection moves.
    pub(crate) fn shown_key(&self) -> String {
        let wanted = key(&self.wanted_projection(), self.settings.metric);
        let live = self.projection.running.as_ref().is_some_and(|r| r.1 == wanted) && self.projection.live.is_some();
        if self.projection.layouts.contains_key(&wanted) || live { wanted } else { key(&ProjectionParams::Pca, self.settings.metric) }
    }

    /// The positions an export writes and the projection that made them: the finished layout
    /// asked for, else PCA's (`true`: fell back, as the layout was not finished). Never the
    /// positions of a layout still optimising.
    pub(crate) fn exported_layout(&self) -> Option<(ProjectionParams, Arc<Vec<[f32; 2]>>, bool)> {
        if let Some(l) = self.current_layout() {
            return Some((l.projected.params.clone(), Arc::clone(&l.xy), false));
        }
        let pca = self.projection.pca_xy.clone()?;
        Some((ProjectionParams::Pca, pca, !matches!(self.wanted_projection(), ProjectionParams::Pca)))
    }

    /// Whether a layout is being computed (for tests and scripted use).
    #[must_use]
    pub fn is_projecting(&self) -> bool {
        self.projection.running.is_some()
    }

    /// The trust figures of the map shown, once measured.
    #[must_use]
    pub fn map_trust(&self) -> Option<Trust> {
        self.current_layout().and_then(|l| l.trust.clone())
    }

    /// Every row's kNN recall at 15 on the map shown, once measured.
    #[must_use]
    pub fn map_recall(&self) -> Option<Arc<Vec<f32>>> {
        self.shown_recall()
    }

    /// Every row's kNN recall on the map shown, once measured.
    pub(crate) fn shown_recall(&self) -> Option<Arc<Vec<f32>>> {
        self.current_layout().and_then(|l| l.recall.clone())
    }

    /// A finished projection arrived.
    pub(crate) fn on_projected(&mut self, generation: u64, projected: Arc<Projected>, trust: Option<Trust>, recall: Option<Arc<Vec<f32>>>) {
        let Some((g, k, _)) = self.projection.running.clone() else { return };
        if g != generation {
            return;
        }
        let xy = Arc::new(projected.coords.clone());
        self.projection.layouts.insert(k, Arc::new(Layout { xy, projected, trust, recall }));
        self.projection.running = None;
        self.projection.live = None;
    }
}

/// The projection's part of the map toolbar: the choice, UMAP's settings, progress and the
/// trust figures.
pub(crate) fn projection_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    let before = (app.settings.projection, app.settings.umap.clone(), app.settings.tsne.clone());
    ui.selectable_value(&mut app.settings.projection, Choice::Pca, "PCA")
        .on_hover_text("Principal axes: instant, but keeps little of each row's neighbourhood on text embeddings");
    if ui
        .selectable_value(&mut app.settings.projection, Choice::Umap, "UMAP")
        .on_hover_text("UMAP in the clustering's metric: keeps far more of each row's neighbourhood")
        .clicked()
    {
        // Choosing it again restarts a cancelled layout.
        app.projection.asked = true;
        app.projection.failed = None;
    }
    if app.settings.projection == Choice::Umap {
        ui.menu_button("UMAP settings", |ui| {
            let u = &mut app.settings.umap;
            ui.add(egui::Slider::new(&mut u.n_neighbors, 2..=100).text("n_neighbors"));
            ui.add(egui::Slider::new(&mut u.min_dist, 0.0..=1.0).text("min_dist"));
            ui.add(egui::Slider::new(&mut u.spread, 0.5..=3.0).text("spread"));
            ui.add(egui::Slider::new(&mut u.seed, 0..=99).text("seed"));
            if u.min_dist > u.spread {
                u.min_dist = u.spread;
            }
            if ui.button("Defaults").clicked() {
                *u = UmapParams { seed: u.seed, ..UmapParams::default() };
            }
        });
    }
    if ui
        .selectable_value(&mut app.settings.projection, Choice::Tsne, "t-SNE")
        .on_hover_text("t-SNE in the clustering's metric: well separated clusters; the distances between clusters mean little")
        .clicked()
    {
        app.projection.asked = true;
        app.projection.failed = None;
    }
    if app.settings.projection == Choice::Tsne {
        ui.menu_button("t-SNE settings", |ui| {
            let t = &mut app.settings.tsne;
            ui.add(egui::Slider::new(&mut t.perplexity, 5.0..=100.0).text("perplexity"));
            ui.add(egui::Slider::new(&mut t.n_iter, 100..=2000).text("iterations"));
            ui.add(egui::Slider::new(&mut t.exaggeration, 1.0..=4.0).text("exaggeration"))
                .on_hover_text("Above 1 pulls each cluster tighter (openTSNE's exaggeration)");
            ui.add(egui::Slider::new(&mut t.seed, 0..=99).text("seed"));
            if ui.button("Defaults").clicked() {
                *t = TsneParams { seed: t.seed, ..TsneParams::default() };
            }
        });
    }
    if (app.settings.projection, app.settings.umap.clone(), app.settings.tsne.clone()) != before {
        app.map.dirty = true;
    }
    let wanted = key(&app.wanted_projection(), app.settings.metric);
    if let Some((_, k, started)) = &app.projection.running
        && *k == wanted
    {
        let (name, step) = if app.settings.projection == Choice::Tsne { ("t-SNE", "iteration") } else { ("UMAP", "epoch") };
        let what = match (&app.projection.live, &app.projection.stage) {
            (_, Some((stage, f))) if stage != "layout" => format!("{name} · {stage} {:.0}%", f * 100.0),
            (Some((_, epoch, n)), _) => format!("{name} · {step} {epoch}/{n}"),
            (None, Some((stage, f))) => format!("{name} · {stage} {:.0}%", f * 100.0),
            (None, None) => format!("{name} · neighbours and start…"),
        };
        crate::app::chrome::spinner(ui);
        ui.label(format!("{what} · {:.1} s", started.elapsed().as_secs_f32()));
        if ui.button("Cancel").clicked() {
            app.commands.push(Command::CancelProjection);
        }
        return;
    }
    if let Some((k, err)) = &app.projection.failed
        && *k == wanted
    {
        ui.colored_label(ui.visuals().error_fg_color, err.clone());
        return;
    }
    let Some(layout) = app.current_layout() else {
        if app.settings.projection != Choice::Pca
            && let Some(ds) = &app.dataset
            && ds.n() > AUTO_UMAP_MAX
            && !app.projection.asked
        {
            let name = if app.settings.projection == Choice::Tsne { "t-SNE" } else { "UMAP" };
            let how = if app.settings.projection == Choice::Tsne { "" } else { " (fitted on a sample)" };
            ui.label(format!("showing PCA: {name} on {} rows takes a minute or more{how}", ds.n()));
            if ui.button(format!("Start {name}")).clicked() {
                app.projection.asked = true;
            }
        }
        return;
    };
    let what = match &layout.projected.detail {
        ProjectionDetail::Pca { explained_variance_ratio: r, .. } => format!("axis 1 {:.1}% · axis 2 {:.1}%", r[0] * 100.0, r[1] * 100.0),
        ProjectionDetail::Umap { init, n_epochs, knn_graph, timings_ms, sampled, .. } => {
            let mut graph = knn_graph.as_ref().map_or_else(String::new, |g| format!(" · approximate neighbours (recall {:.3})", g.recall));
            if let Some(s) = sampled {
                graph += &format!(
                    " · fitted on {} sampled rows, {} placed by their nearest fitted rows (recall {:.3})",
                    s.fitted, s.placed, s.search.recall
                );
            }
            let reused = if timings_ms.reused { " (graph and start reused)" } else { "" };
            format!("{n_epochs} epochs · {init} start{graph} · {:.1} s{reused}", layout.projected.ms / 1e3)
        }
        ProjectionDetail::Tsne { perplexity, early_exaggeration_iter, n_iter, kl_divergence, knn_graph, init, .. } => {
            let graph = knn_graph.as_ref().map_or_else(String::new, |g| format!(" · approximate neighbours (recall {:.3})", g.recall));
            format!(
                "perplexity {perplexity:.0} · {} iterations · {init} start · KL {kl_divergence:.3}{graph} · {:.1} s",
                early_exaggeration_iter + n_iter,
                layout.projected.ms / 1e3
            )
        }
    };
    ui.label(what);
    if let Some(t) = &layout.trust {
        ui.label(t.describe()).on_hover_text(
            "How far to trust the map: trustworthiness (1 = every map neighbour is a true neighbour) and the share of each row's \
             15 nearest rows in the full space that are also among its 15 nearest on the map. Clusters are computed in the full space.",
        );
    }
}
