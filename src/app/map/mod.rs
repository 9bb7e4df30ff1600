//! The centre: the 2-D projection, drawn by the CPU rasteriser into one texture (so a million
//! points stay interactive without a GPU), coloured by cluster, silhouette or a metadata column.
//! Scroll zooms at the pointer, drag pans, shift-drag selects a box, ctrl-drag a lasso; a click
//! pins a point and lists its nearest neighbours in the full-dimensional space.

pub(crate) mod projection;
pub mod raster;

use std::sync::Arc;
use std::time::Instant;

use eframe::egui::{self, Color32, Pos2, Rect, Sense, Stroke, Vec2};

use super::raster::{Frame, Grid, View, rasterize};
use super::tasks::{Output, Task};
use super::{Command, EmbedmapApp, palette, silhouette_plot};
use crate::engine::Metric;
use crate::jobs::{Policy, Priority};

/// Longest hover text per field, in characters.
const HOVER_CHARS: usize = 240;
/// Neighbours listed for a pinned point.
const NEIGHBOURS: usize = 10;
/// Above this many points, a moving view draws a subsample and the full image follows when it stops.
const PREVIEW_POINTS: usize = 200_000;
/// Extra hover reach beyond the marker, in points.
const HOVER_SLACK: f32 = 3.0;

/// What the points are coloured by.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum ColorBy {
    /// Their cluster (noise grey).
    #[default]
    Cluster,
    /// Their silhouette, on a diverging ramp.
    Silhouette,
    /// A metadata column: categories by frequency, or a numeric ramp.
    Column(String),
    /// How much of its 15 nearest rows in the full space each row keeps on the map.
    NeighbourhoodKept,
}

/// What a drag on the map does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Tool {
    #[default]
    Pan,
    Box,
    Lasso,
}

/// One entry of the colour legend (categories and ramps; clusters have their own checkboxes).
#[derive(Debug, Clone)]
pub(crate) struct Swatch {
    pub(crate) label: String,
    pub(crate) color: Color32,
}

/// A pinned point and its nearest neighbours (side work; `None` until they arrive).
#[derive(Debug)]
pub(crate) struct Pinned {
    pub(crate) row: usize,
    pub(crate) metric: Metric,
    pub(crate) neighbours: Option<Vec<(usize, f32)>>,
}

/// Everything the map keeps between frames. Colours are recomputed only when `dirty` is set; the
/// image only when the view, the size or the colours change.
#[derive(Default)]
pub(crate) struct MapCache {
    /// The silhouette plot's shapes.
    pub(crate) silhouette: Vec<silhouette_plot::Shape>,
    pub(crate) view: Option<View>,
    texture: Option<egui::TextureHandle>,
    drawn: Option<DrawKey>,
    grid: Option<(usize, Grid)>,
    /// The points' bounding box, found once per projection (the view fits it).
    bounds: Option<(f64, f64, f64, f64)>,
    /// The projection the view was set on: a zoom is kept while that projection's points move
    /// (UMAP's epochs) and reset when another projection is shown.
    view_for: Option<String>,
    /// Colour of every row (transparent: hidden).
    pub(crate) colors: Vec<Color32>,
    /// Rows in drawing order: faded rows first, emphasised rows last.
    pub(crate) order: Vec<u32>,
    version: u64,
    /// Set when anything the colours depend on changed.
    pub(crate) dirty: bool,
    /// The running clustering's labels so far that the colours show (by address), if any.
    interim: Option<usize>,
    /// Hidden clusters (index k: noise).
    pub(crate) hidden: Vec<bool>,
    /// The cluster shown over the others, the rest faded.
    pub(crate) highlight: Option<usize>,
    /// Selected rows, ascending.
    pub(crate) selection: Vec<usize>,
    pub(crate) pinned: Option<Pinned>,
    pub(crate) color_by: ColorBy,
    pub(crate) legend: Vec<Swatch>,
    pub(crate) tool: Tool,
    /// Search text and the column searched.
    pub(crate) search: String,
    pub(crate) search_column: Option<String>,
    /// Rows matching the search.
    pub(crate) matches: usize,
    texts: Option<(String, Arc<Vec<String>>)>,
    base: Option<Arc<BaseColors>>,
    drag: Option<Vec<Pos2>>,
    pub(crate) background: Color32,
    /// Time of the last full rasterisation, in ms.
    pub(crate) raster_ms: f64,
    /// The canvas and the view of the last frame.
    pub(crate) shown: Option<(Rect, View)>,
    /// Draw the moving-view preview even without a drag (the frame benchmark's panning).
    pub(crate) preview: bool,
    /// Time of the last image drawing of any kind, in ms.
    pub(crate) last_draw_ms: f64,
}

impl MapCache {
    /// The visible row under screen position `p` in the last frame, if any.
    pub(crate) fn hover_row(&self, app: &EmbedmapApp, p: Pos2) -> Option<usize> {
        let (rect, view) = self.shown?;
        self.row_at(&app.pca.as_ref()?.projection, &view, rect, p, app.settings.point_radius)
    }

    /// The visible row within reach of a marker of `radius` at screen position `p`.
    fn row_at(&self, xy: &[[f32; 2]], view: &View, rect: Rect, p: Pos2, radius: f32) -> Option<usize> {
        let reach = f64::from(radius + HOVER_SLACK) / view.scale;
        let [x, y] = to_data(view, rect, p);
        self.grid.as_ref().and_then(|(_, g)| g.nearest(xy, x, y, reach, |i| visible(self, i)))
    }

    /// Screen position (points) of `row` in the last frame.
    pub(crate) fn position(&self, xy: &[[f32; 2]], row: usize) -> Option<Pos2> {
        let (rect, view) = self.shown?;
        let p = xy.get(row)?;
        let (px, py) = view.to_px(f64::from(p[0]), f64::from(p[1]), rect.width(), rect.height());
        Some(rect.min + Vec2::new(px, py))
    }
}

impl std::fmt::Debug for MapCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapCache").field("view", &self.view).field("selection", &self.selection.len()).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct DrawKey {
    view: View,
    width: usize,
    height: usize,
    version: u64,
    radius: f32,
    opacity: f32,
    stride: usize,
}

impl MapCache {
    /// Forgets everything tied to the previous dataset.
    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }

    /// The lower-cased texts of `column`, loaded once.
    fn texts(&mut self, ds: &crate::data::Dataset, column: &str) -> Arc<Vec<String>> {
        if let Some((c, t)) = &self.texts
            && c == column
        {
            return Arc::clone(t);
        }
        let t: Arc<Vec<String>> = Arc::new(ds.column_texts(column).into_iter().map(|v| v.unwrap_or_default().to_lowercase()).collect());
        self.texts = Some((column.to_string(), Arc::clone(&t)));
        t
    }
}

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

fn truncated(v: &str) -> String {
    if v.chars().count() > HOVER_CHARS { format!("{}…", v.chars().take(HOVER_CHARS).collect::<String>()) } else { v.to_string() }
}

/// Cluster of row `i` in the outcome on screen (`None`: noise or no clustering).
fn cluster_of(app: &EmbedmapApp, i: usize) -> Option<usize> {
    let o = app.outcome.as_ref()?;
    usize::try_from(*o.labels.get(i)?).ok().filter(|&c| c < o.sizes.len())
}

/// Colours of every row under one colouring, with its legend.
struct BaseColors {
    color_by: ColorBy,
    /// The per-row recall it was coloured with (its address), for the neighbourhood colouring.
    recall: usize,
    outcome: Option<Arc<crate::session::ClusterOutcome>>,
    colors: Vec<Color32>,
    legend: Vec<Swatch>,
}

fn same_outcome(a: Option<&Arc<crate::session::ClusterOutcome>>, b: Option<&Arc<crate::session::ClusterOutcome>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Every row's colour under `color_by`, and the legend that explains it.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
)]
fn base_colors(
    ds: &crate::data::Dataset,
    o: Option<&Arc<crate::session::ClusterOutcome>>,
    labels: &[Option<usize>],
    color_by: &ColorBy,
    recall: Option<&[f32]>,
) -> (Vec<Color32>, Vec<Swatch>) {
    let n = labels.len();
    let mut legend = Vec::new();
    let colors = match color_by {
        ColorBy::Cluster => {
            labels.iter().map(|l| l.map_or(if o.is_some() { palette::NOISE } else { Color32::GRAY }, palette::cluster)).collect()
        }
        ColorBy::NeighbourhoodKept => match recall.filter(|r| r.len() == n) {
            Some(r) => {
                for t in [0.0f32, 0.2, 0.4, 0.6, 0.8, 1.0] {
                    legend.push(Swatch { label: format!("{:.0}% of its 15 neighbours kept", t * 100.0), color: palette::ramp(t) });
                }
                r.iter().map(|&v| palette::ramp(v)).collect()
            }
            None => {
                legend.push(Swatch { label: "not measured yet (or above 50,000 rows)".into(), color: palette::NOISE });
                vec![palette::NOISE; n]
            }
        },
        ColorBy::Silhouette => {
            let sil = o.as_ref().and_then(|o| o.silhouette.as_ref().ok());
            let value = |i: usize| sil.and_then(|s| s.values.get(i).copied()).filter(|v| v.is_finite() && labels[i].is_some());
            // A scale symmetric around 0 that spans the bulk of the values (2nd–98th percentile),
            // so that typical silhouettes of 0.1–0.3 are not all one pale shade.
            let mut vals: Vec<f32> = (0..n).filter_map(value).collect();
            vals.sort_by(f32::total_cmp);
            let q = |p: f32| vals.get(((vals.len() as f32 - 1.0) * p).round() as usize).copied().unwrap_or(0.0);
            let lim = q(0.02).abs().max(q(0.98).abs()).clamp(0.05, 1.0);
            for t in [-1.0f32, -0.5, 0.0, 0.5, 1.0] {
                legend.push(Swatch { label: format!("silhouette {:+.2}", t * lim), color: palette::diverging(t) });
            }
            legend.push(Swatch { label: "not scored (noise, unsampled)".into(), color: palette::NOISE });
            (0..n).map(|i| value(i).map_or(palette::NOISE, |v| palette::diverging(v / lim))).collect()
        }
        ColorBy::Column(col) => {
            if let Some(nums) = ds.column_numbers(col) {
                let mut finite: Vec<f64> = nums.iter().copied().filter(|v| v.is_finite()).collect();
                finite.sort_by(f64::total_cmp);
                let q = |p: f64| finite.get(((finite.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0);
                let (lo, hi) = (q(0.02), q(0.98));
                let span = if hi > lo { hi - lo } else { 1.0 };
                for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
                    legend.push(Swatch { label: format!("{col} {:.4}", lo + t * span), color: palette::ramp(t as f32) });
                }
                legend.push(Swatch { label: "missing".into(), color: palette::NOISE });
                nums.iter().map(|&v| if v.is_finite() { palette::ramp(((v - lo) / span) as f32) } else { palette::NOISE }).collect()
            } else {
                let texts = ds.column_texts(col);
                let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
                for t in texts.iter().flatten() {
                    *counts.entry(t.as_str()).or_default() += 1;
                }
                let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
                ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                let rank: std::collections::HashMap<&str, usize> = ranked.iter().enumerate().map(|(i, (v, _))| (*v, i)).collect();
                for (i, (v, c)) in ranked.iter().take(palette::CATEGORIES).enumerate() {
                    legend.push(Swatch { label: format!("{} ({c})", truncated(v)), color: palette::category(i) });
                }
                if ranked.len() > palette::CATEGORIES {
                    let rest: usize = ranked[palette::CATEGORIES..].iter().map(|(_, c)| c).sum();
                    legend.push(Swatch {
                        label: format!("{} other values ({rest})", ranked.len() - palette::CATEGORIES),
                        color: palette::OTHER,
                    });
                }
                if texts.iter().any(Option::is_none) {
                    legend.push(Swatch { label: "missing".into(), color: palette::NOISE });
                }
                texts.iter().map(|t| t.as_deref().map_or(palette::NOISE, |t| palette::category(rank[t]))).collect()
            }
        }
    };
    (colors, legend)
}

/// The labels so far of a running clustering, while the map is coloured by cluster.
fn interim_labels(app: &EmbedmapApp) -> Option<Arc<Vec<u32>>> {
    let labels = app.clustering.as_ref()?.interim.clone()?;
    let n = app.pca.as_ref()?.projection.len();
    (app.map.color_by == ColorBy::Cluster && labels.len() == n).then_some(labels)
}

/// Recomputes every row's colour, the drawing order and the legend.
#[expect(clippy::cast_possible_truncation, reason = "screen pixels, counts and colour channels: small values, clamped before the cast")]
fn recolor(app: &mut EmbedmapApp) {
    let (Some(ds), Some(pca)) = (app.dataset.clone(), app.pca.clone()) else { return };
    let n = pca.projection.len();
    if let Some(labels) = interim_labels(app) {
        // A long K-means shows its labels after each pass until the result arrives: plain
        // cluster colours, nothing hidden or emphasised (those name the clusters of a result).
        let map = &mut app.map;
        map.dirty = false;
        map.version += 1;
        map.colors = labels.iter().map(|&l| palette::cluster(l as usize)).collect();
        map.order = (0..n as u32).collect();
        return;
    }
    let o = app.outcome.clone();
    let k = o.as_ref().map_or(0, |o| o.sizes.len());
    let recall = app.shown_recall();
    let recall_key = if app.map.color_by == ColorBy::NeighbourhoodKept { recall.as_ref().map_or(0, |r| r.as_ptr() as usize) } else { 0 };
    let map = &mut app.map;
    map.dirty = false;
    map.version += 1;
    map.hidden.resize(k + 1, false);
    map.highlight = map.highlight.filter(|&c| c < k);
    let labels: Vec<Option<usize>> =
        (0..n).map(|i| o.as_ref().and_then(|o| usize::try_from(o.labels[i]).ok().filter(|&c| c < k))).collect();
    // The colours of the chosen colouring, computed once per (colouring, outcome); hiding,
    // highlighting, selecting and searching only change what is drawn over them.
    let cached =
        map.base.as_ref().filter(|b| b.color_by == map.color_by && same_outcome(b.outcome.as_ref(), o.as_ref()) && b.recall == recall_key);
    let base = match cached {
        Some(b) => Arc::clone(b),
        None => {
            let (colors, legend) = base_colors(&ds, o.as_ref(), &labels, &map.color_by, recall.as_deref().map(Vec::as_slice));
            let b = Arc::new(BaseColors { color_by: map.color_by.clone(), recall: recall_key, outcome: o.clone(), colors, legend });
            map.base = Some(Arc::clone(&b));
            b
        }
    };
    map.legend.clone_from(&base.legend);
    let mut colors = base.colors.clone();
    // Emphasis: the highlighted cluster, the selection and the search matches; the rest fades.
    let mut emphasised = vec![false; n];
    let mut any = false;
    if let Some(h) = map.highlight {
        any = true;
        for (e, l) in emphasised.iter_mut().zip(&labels) {
            *e |= *l == Some(h);
        }
    }
    if !map.selection.is_empty() {
        any = true;
        for &r in &map.selection {
            if let Some(e) = emphasised.get_mut(r) {
                *e = true;
            }
        }
    }
    let needle = map.search.trim().to_lowercase();
    map.matches = 0;
    if !needle.is_empty()
        && let Some(col) = map.search_column.clone()
    {
        any = true;
        let texts = map.texts(&ds, &col);
        for (e, t) in emphasised.iter_mut().zip(texts.iter()) {
            if t.contains(&needle) {
                *e = true;
                map.matches += 1;
            }
        }
    }
    let bg = map.background;
    for (i, c) in colors.iter_mut().enumerate() {
        let hidden = labels[i].map_or(map.hidden.get(k).copied().unwrap_or(false), |l| map.hidden[l]);
        if hidden {
            *c = Color32::TRANSPARENT;
        } else if any && !emphasised[i] {
            *c = palette::fade(*c, bg, 0.18);
        }
    }
    // Noise under clusters, faded rows under emphasised ones; row order within each group.
    let rank = |i: usize| usize::from(labels[i].is_some()) + 2 * usize::from(emphasised[i]);
    let mut order: Vec<u32> = Vec::with_capacity(n);
    for r in 0..4 {
        order.extend((0..n).filter(|&i| rank(i) == r).map(|i| i as u32));
    }
    map.colors = colors;
    map.order = order;
}

/// Pins `row` and starts the search of its nearest neighbours (a newer pin replaces it).
pub(crate) fn pin(app: &mut EmbedmapApp, row: usize) {
    let Some(ds) = &app.dataset else { return };
    let metric = app.settings.metric;
    let emb = Arc::clone(&ds.embeddings);
    let started = app.tasks.start(Task::Neighbours, Policy::Replace, Priority::Background, "the neighbour search", move |_| {
        let neighbours = crate::engine::neighbors::nearest_rows(&emb, metric, row, NEIGHBOURS);
        Output::Neighbours { row, metric, neighbours }
    });
    match started {
        Ok(_) => app.map.pinned = Some(Pinned { row, metric, neighbours: None }),
        Err(e) => app.error = Some(e.to_string()),
    }
}

/// The hover text of a row.
fn row_text(app: &EmbedmapApp, row: usize) -> String {
    let Some(ds) = &app.dataset else { return String::new() };
    let mut s = format!("row {}", row + 1);
    match cluster_of(app, row) {
        Some(c) => s.push_str(&format!(" · cluster {c}")),
        None if app.outcome.is_some() => s.push_str(" · noise"),
        None => {}
    }
    for col in ds.hover_columns() {
        let v = ds.cell_text(row, &col);
        if !v.is_empty() {
            s.push_str(&format!("\n{col}: {}", wrap(&truncated(&v), 60)));
        }
    }
    s
}

/// Draws the map panel.
pub(crate) fn map_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
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
        let xy = app.xy().unwrap_or_else(|| Arc::new(pca.projection.clone()));
        toolbar_ui(app, ui, &ds);
        if !app.map.selection.is_empty() {
            selection_ui(app, ui);
        }
        egui::Panel::right("legend").default_size(190.0).min_size(140.0).show(ui, |ui| legend_ui(app, ui));
        let bg = ui.visuals().extreme_bg_color;
        if app.map.background != bg {
            app.map.background = bg;
            app.map.dirty = true;
        }
        let interim = interim_labels(app).map(|l| Arc::as_ptr(&l) as usize);
        if app.map.interim != interim {
            app.map.interim = interim;
            app.map.dirty = true;
        }
        if app.map.dirty || app.map.colors.len() != pca.projection.len() {
            recolor(app);
        }
        canvas_ui(app, ui, &xy);
        pinned_ui(app, ui);
    });
}

fn toolbar_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui, ds: &crate::data::Dataset) {
    ui.horizontal_wrapped(|ui| {
        super::projection::projection_ui(app, ui);
    });
    ui.horizontal_wrapped(|ui| {
        let current = match &app.map.color_by {
            ColorBy::Cluster => "cluster".to_string(),
            ColorBy::Silhouette => "silhouette".to_string(),
            ColorBy::NeighbourhoodKept => "neighbourhood kept".to_string(),
            ColorBy::Column(c) => c.clone(),
        };
        let before = app.map.color_by.clone();
        egui::ComboBox::from_label("Colour by").selected_text(current).show_ui(ui, |ui| {
            ui.selectable_value(&mut app.map.color_by, ColorBy::Cluster, "cluster");
            ui.selectable_value(&mut app.map.color_by, ColorBy::Silhouette, "silhouette");
            ui.selectable_value(&mut app.map.color_by, ColorBy::NeighbourhoodKept, "neighbourhood kept")
                .on_hover_text("Each row by the share of its 15 nearest rows in the full space that are also its 15 nearest on this map: where the map misleads, it is dark");
            for c in ds.metadata_columns() {
                ui.selectable_value(&mut app.map.color_by, ColorBy::Column(c.clone()), c);
            }
        });
        if app.map.color_by != before {
            app.map.dirty = true;
        }
        ui.separator();
        ui.selectable_value(&mut app.map.tool, Tool::Pan, "Pan").on_hover_text("Drag to pan, scroll to zoom, double-click to fit");
        ui.selectable_value(&mut app.map.tool, Tool::Box, "Box").on_hover_text("Drag a box to select (or shift-drag in any mode)");
        ui.selectable_value(&mut app.map.tool, Tool::Lasso, "Lasso").on_hover_text("Draw around points to select (or ctrl-drag)");
        if ui.button("Fit").on_hover_text("Fit the view to the points (to the central 99% on each axis when a few lie far from the rest; zoom out to see those)").clicked() {
            app.map.view = None;
        }
        ui.separator();
        let cols = ds.metadata_columns();
        if app.map.search_column.as_ref().is_none_or(|c| !cols.contains(c)) {
            app.map.search_column = ds.hover_columns().into_iter().next().or_else(|| cols.first().cloned());
        }
        if let Some(col) = app.map.search_column.clone() {
            let r = ui.add(egui::TextEdit::singleline(&mut app.map.search).hint_text(format!("search {col}…")).desired_width(150.0));
            if r.changed() {
                app.map.dirty = true;
            }
            let mut chosen = col.clone();
            egui::ComboBox::from_label("column").selected_text(&chosen).show_ui(ui, |ui| {
                for c in &cols {
                    ui.selectable_value(&mut chosen, c.clone(), c);
                }
            });
            if chosen != col {
                app.map.search_column = Some(chosen);
                app.map.dirty = true;
            }
            if !app.map.search.trim().is_empty() {
                ui.label(format!("{} matches", app.map.matches));
            }
        }
    });
}

fn selection_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    let sel = &app.map.selection;
    let mut mix: Vec<(Option<usize>, usize)> = Vec::new();
    for &r in sel {
        let c = cluster_of(app, r);
        match mix.iter_mut().find(|(m, _)| *m == c) {
            Some(e) => e.1 += 1,
            None => mix.push((c, 1)),
        }
    }
    mix.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let total = sel.len();
    ui.horizontal_wrapped(|ui| {
        ui.strong(format!("{total} selected"));
        let parts: Vec<String> = mix
            .iter()
            .take(6)
            .map(|(c, m)| {
                let name = c.map_or("noise".to_string(), |c| format!("cluster {c}"));
                format!("{name} {:.0}%", *m as f64 * 100.0 / total as f64)
            })
            .collect();
        ui.label(parts.join(" · ") + if mix.len() > 6 { " · …" } else { "" });
        if ui.button("Export selection…").clicked() {
            app.push(super::Command::ExportSelectionDialog);
        }
        if ui
            .button("Create cluster from selection")
            .on_hover_text("The selected rows become a cluster of their own; the quality figures are recomputed")
            .clicked()
        {
            app.push(super::Command::CreateClusterFromSelection);
        }
        if ui.button("Clear selection").clicked() {
            app.map.selection.clear();
            app.map.dirty = true;
        }
    });
}

fn legend_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
        if !app.map.legend.is_empty() {
            ui.strong(match &app.map.color_by {
                ColorBy::Column(c) => c.clone(),
                ColorBy::NeighbourhoodKept => "neighbourhood kept".into(),
                _ => "silhouette".into(),
            });
            for s in &app.map.legend {
                ui.horizontal(|ui| {
                    let (r, _) = ui.allocate_exact_size(Vec2::splat(10.0), Sense::hover());
                    ui.painter().circle_filled(r.center(), 5.0, s.color);
                    ui.label(egui::RichText::new(&s.label).small());
                });
            }
            ui.separator();
        }
        let Some(o) = app.outcome.clone() else { return };
        ui.strong("Clusters").on_hover_text("Untick to hide; click the dot to bring a cluster forward");
        let k = o.sizes.len();
        app.map.hidden.resize(k + 1, false);
        let mut changed = false;
        for c in 0..k {
            ui.horizontal(|ui| {
                let focused = app.map.highlight == Some(c);
                let (r, resp) = ui.allocate_exact_size(Vec2::splat(12.0), Sense::click());
                ui.painter().circle_filled(r.center(), if focused { 6.0 } else { 4.5 }, palette::cluster(c));
                if focused {
                    ui.painter().circle_stroke(r.center(), 6.0, Stroke::new(1.5, ui.visuals().strong_text_color()));
                }
                if resp.on_hover_text("Bring this cluster forward").clicked() {
                    app.map.highlight = if focused { None } else { Some(c) };
                    changed = true;
                }
                let mut shown = !app.map.hidden[c];
                if ui.checkbox(&mut shown, format!("cluster {c} ({})", o.sizes[c])).changed() {
                    app.map.hidden[c] = !shown;
                    changed = true;
                }
            });
            let name = super::cluster_table::display_name(app, c);
            if name != format!("cluster {c}") {
                ui.label(egui::RichText::new(name).small().weak());
            }
        }
        if o.n_noise > 0 {
            ui.horizontal(|ui| {
                let (r, _) = ui.allocate_exact_size(Vec2::splat(12.0), Sense::hover());
                ui.painter().circle_filled(r.center(), 4.5, palette::NOISE);
                let mut shown = !app.map.hidden[k];
                if ui.checkbox(&mut shown, format!("noise ({})", o.n_noise)).changed() {
                    app.map.hidden[k] = !shown;
                    changed = true;
                }
            });
        }
        if changed {
            app.map.dirty = true;
        }
    });
}

/// Whether row `i` is drawn (not in a hidden cluster).
fn visible(map: &MapCache, i: usize) -> bool {
    map.colors.get(i).is_some_and(|c| c.a() > 0)
}

#[expect(
    clippy::too_many_lines,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
)]
fn canvas_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui, xy: &[[f32; 2]]) {
    let (rect, resp) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
    if rect.width() < 2.0 || rect.height() < 2.0 {
        return;
    }
    let (w, h) = (rect.width(), rect.height());
    let key_ptr = xy.as_ptr() as usize;
    if app.map.grid.as_ref().is_none_or(|(p, _)| *p != key_ptr) {
        app.map.grid = Some((key_ptr, Grid::build(xy)));
        app.map.bounds = super::raster::view_bounds(xy);
        let shown = app.shown_key();
        if app.map.view_for.as_ref() != Some(&shown) {
            app.map.view = None;
            app.map.view_for = Some(shown);
        }
    }
    // Until the user zooms or pans, the view follows the panel's size.
    let mut view = app.map.view.unwrap_or_else(|| View::fit_bounds(app.map.bounds, w, h));
    let before = view;
    let local = |p: Pos2| (p.x - rect.min.x, p.y - rect.min.y);
    // Zoom at the pointer.
    if resp.hovered()
        && let Some(p) = resp.hover_pos()
    {
        let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
        let factor = f64::from(zoom) * (f64::from(scroll) * 0.0025).exp();
        if (factor - 1.0).abs() > 1e-6 {
            let (px, py) = local(p);
            view.zoom_at(factor, px, py, w, h);
        }
    }
    let mods = ui.input(|i| i.modifiers);
    let tool = if mods.shift {
        Tool::Box
    } else if mods.command || mods.alt {
        Tool::Lasso
    } else {
        app.map.tool
    };
    if resp.drag_started_by(egui::PointerButton::Primary)
        && tool != Tool::Pan
        && let Some(p) = ui.input(|i| i.pointer.press_origin()).or(resp.interact_pointer_pos())
    {
        // From where the button went down, not where the drag was recognised.
        app.map.drag = Some(vec![p]);
    }
    if resp.dragged_by(egui::PointerButton::Primary) {
        match (&mut app.map.drag, resp.interact_pointer_pos()) {
            (Some(pts), Some(p)) => {
                if tool == Tool::Box || pts.len() < 2 {
                    pts.truncate(1);
                    pts.push(p);
                } else if pts.last().is_none_or(|l| l.distance(p) > 2.0) {
                    pts.push(p);
                }
            }
            (None, _) => {
                let d = resp.drag_delta();
                view.pan(d.x, d.y);
            }
            _ => {}
        }
    }
    if resp.drag_stopped()
        && let Some(pts) = app.map.drag.take()
    {
        let poly: Vec<[f64; 2]> = if pts.len() == 2 || tool == Tool::Box {
            let (a, b) = (pts[0], *pts.last().unwrap_or(&pts[0]));
            [(a.x, a.y), (b.x, a.y), (b.x, b.y), (a.x, b.y)].iter().map(|&(x, y)| to_data(&view, rect, Pos2::new(x, y))).collect()
        } else {
            pts.iter().map(|&p| to_data(&view, rect, p)).collect()
        };
        if let Some((_, grid)) = &app.map.grid {
            let map = &app.map;
            let sel = grid.inside(xy, &poly, |i| visible(map, i));
            app.map.selection = sel;
            app.map.dirty = true;
        }
    }
    let refit = resp.double_clicked();
    // The point under the pointer.
    let hovered =
        resp.hover_pos().filter(|_| app.map.drag.is_none()).and_then(|p| app.map.row_at(xy, &view, rect, p, app.settings.point_radius));
    if resp.clicked() && !resp.double_clicked() {
        match hovered {
            Some(row) if app.map.pinned.as_ref().is_none_or(|p| p.row != row) => app.push(Command::Pin(Some(row))),
            Some(_) => {}
            None => app.push(Command::Pin(None)),
        }
    }
    if view != before {
        app.map.view = Some(view);
    }
    if refit {
        app.map.view = None;
        view = View::fit_bounds(app.map.bounds, w, h);
    }
    app.map.shown = Some((rect, view));

    // The image: redrawn only when something it shows changed.
    let ppp = ui.ctx().pixels_per_point();
    let (pw, ph) = ((w * ppp).round() as usize, (h * ppp).round() as usize);
    let moving = app.map.preview
        || (resp.dragged() && app.map.drag.is_none())
        || ui.input(|i| i.smooth_scroll_delta.y != 0.0 || i.zoom_delta() != 1.0);
    let stride = if moving && xy.len() > PREVIEW_POINTS { xy.len().div_ceil(PREVIEW_POINTS) } else { 1 };
    let key = DrawKey {
        view,
        width: pw,
        height: ph,
        version: app.map.version,
        radius: app.settings.point_radius * ppp,
        opacity: app.settings.point_opacity,
        stride,
    };
    if app.map.drawn != Some(key) || app.map.texture.is_none() {
        let t = Instant::now();
        let pixel_view = View { scale: view.scale * f64::from(ppp), ..view };
        let pixels = super::raster::on_window_pool(|| {
            rasterize(&Frame {
                xy,
                colors: &app.map.colors,
                order: &app.map.order,
                stride,
                view: pixel_view,
                width: pw,
                height: ph,
                radius: key.radius,
                opacity: key.opacity,
                background: app.map.background,
            })
        });
        let image = egui::ColorImage::new([pw, ph], pixels);
        match &mut app.map.texture {
            Some(t) => t.set(image, egui::TextureOptions::NEAREST),
            None => app.map.texture = Some(ui.ctx().load_texture("map", image, egui::TextureOptions::NEAREST)),
        }
        app.map.drawn = Some(key);
        app.map.last_draw_ms = t.elapsed().as_secs_f64() * 1e3;
        if stride == 1 {
            app.map.raster_ms = t.elapsed().as_secs_f64() * 1e3;
        } else {
            // The full image follows once the view stops moving.
            ui.ctx().request_repaint();
        }
    }
    let painter = ui.painter_at(rect);
    if let Some(t) = &app.map.texture {
        painter.image(t.id(), rect, Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)), Color32::WHITE);
    }
    let ink = ui.visuals().strong_text_color();
    let screen = |row: usize| -> Pos2 {
        let (px, py) = view.to_px(f64::from(xy[row][0]), f64::from(xy[row][1]), w, h);
        rect.min + Vec2::new(px, py)
    };
    let r = app.settings.point_radius;
    if let Some(p) = &app.map.pinned {
        if let Some(nb) = &p.neighbours {
            for &(j, _) in nb {
                painter.circle_stroke(screen(j), r + 3.0, Stroke::new(1.5, palette::WARNING));
            }
        }
        painter.circle_stroke(screen(p.row), r + 5.0, Stroke::new(2.5, ink));
    }
    if let Some(pts) = &app.map.drag {
        let stroke = Stroke::new(1.5, ink);
        if pts.len() >= 2 && (tool == Tool::Box || pts.len() == 2) {
            painter.rect_stroke(Rect::from_two_pos(pts[0], pts[pts.len() - 1]), 0.0, stroke, egui::StrokeKind::Middle);
        } else if pts.len() >= 2 {
            let mut closed = pts.clone();
            closed.push(pts[0]);
            painter.add(egui::Shape::line(closed, stroke));
        }
    }
    let shows_pca = app.projection.pca_xy.as_ref().is_some_and(|p| p.as_ptr() == xy.as_ptr());
    let axis = match app.settings.projection {
        super::projection::Choice::Umap if !shows_pca => "UMAP 1 →",
        super::projection::Choice::Tsne if !shows_pca => "t-SNE 1 →",
        _ => "PCA 1 →",
    };
    painter.text(rect.left_bottom() + Vec2::new(6.0, -6.0), egui::Align2::LEFT_BOTTOM, axis, egui::FontId::proportional(11.0), ink);
    if let Some(row) = hovered {
        painter.circle_stroke(screen(row), r + 2.0, Stroke::new(1.5, ink));
        let text = row_text(app, row);
        resp.on_hover_ui_at_pointer(|ui| {
            ui.label(text);
        });
    }
}

fn to_data(view: &View, rect: Rect, p: Pos2) -> [f64; 2] {
    let (x, y) = view.to_data(p.x - rect.min.x, p.y - rect.min.y, rect.width(), rect.height());
    [x, y]
}

fn pinned_ui(app: &mut EmbedmapApp, ui: &egui::Ui) {
    let Some(p) = &app.map.pinned else { return };
    let row = p.row;
    let mut open = true;
    let mut repin = None;
    let header = row_text(app, row);
    let neighbours = p.neighbours.clone();
    let metric = p.metric;
    // Over the controls at the left, clear of the map where the neighbours are marked.
    let at = egui::pos2(8.0, 40.0);
    egui::Window::new(format!("Row {}", row + 1)).id(egui::Id::unique("pinned")).open(&mut open).default_width(360.0).default_pos(at).show(
        ui.ctx(),
        |ui| {
            ui.label(header);
            ui.separator();
            ui.strong(format!("{NEIGHBOURS} nearest rows ({} distance, full-dimensional)", metric.name()));
            match &neighbours {
                None => {
                    ui.horizontal(|ui| {
                        super::chrome::spinner(ui);
                        ui.label("searching…");
                    });
                }
                Some(nb) => {
                    let col = app.dataset.as_ref().and_then(|d| d.hover_columns().into_iter().next());
                    egui::ScrollArea::vertical().max_height(320.0).show(ui, |ui| {
                        for &(j, dist) in nb {
                            let c = cluster_of(app, j).map_or("noise".to_string(), |c| format!("c{c}"));
                            let text = match (&app.dataset, &col) {
                                (Some(ds), Some(col)) => ds.cell_text(j, col).chars().take(90).collect::<String>(),
                                _ => String::new(),
                            };
                            if ui.link(format!("{dist:.4}  row {} · {c}  {text}", j + 1)).on_hover_text("Pin this row").clicked() {
                                repin = Some(j);
                            }
                        }
                    });
                }
            }
        },
    );
    if !open {
        app.push(Command::Pin(None));
    } else if let Some(j) = repin {
        app.push(Command::Pin(Some(j)));
    }
}
