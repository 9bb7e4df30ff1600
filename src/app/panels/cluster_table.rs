//! The cluster table: one row per cluster with its colour, name (automatic from its most
//! distinguishing terms, or the user's), size, mean silhouette, HDBSCAN membership, the most
//! frequent values of a chosen metadata column and the texts nearest its centroid. Rows sort by
//! any column; a click on a row brings the cluster forward on the map.
//!
//! The descriptions are side work (c-TF-IDF over a million texts takes seconds), started
//! before the panels draw and shown when ready.

use std::sync::Arc;

use eframe::egui::{self, RichText, Sense, Vec2};

use crate::app::tasks::{Output, Task};
use crate::app::{EmbedmapApp, palette};
use crate::data::Dataset;
use crate::describe;
use crate::engine::Metric;
use crate::jobs::{Policy, Priority};
use crate::session::ClusterOutcome;

/// Terms per cluster kept, and shown in the automatic name.
const TERMS: usize = 8;
const NAME_TERMS: usize = 3;
/// Metadata values and nearest texts per cluster.
const VALUES: usize = 3;
const NEAREST: usize = 3;

/// What describes the clusters of one outcome.
#[derive(Debug)]
pub(crate) struct Profiles {
    /// The outcome described (held, so that no other outcome can take its place in memory).
    outcome: Option<Arc<ClusterOutcome>>,
    value_column: Option<String>,
    /// The column the terms and nearest texts come from.
    pub(crate) text_column: Option<String>,
    pub(crate) terms: Vec<Vec<(String, f64)>>,
    pub(crate) values: Vec<Vec<(String, usize, f64)>>,
    pub(crate) nearest: Vec<Vec<usize>>,
}

/// Table columns a user can sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SortBy {
    #[default]
    Cluster,
    Name,
    Size,
    Silhouette,
    Membership,
}

/// The table's state.
#[derive(Default)]
pub(crate) struct TableState {
    pub(crate) profiles: Option<Arc<Profiles>>,
    /// The outcome and column being described.
    pub(crate) pending: Option<(Arc<ClusterOutcome>, Option<String>)>,
    pub(crate) sort: SortBy,
    pub(crate) descending: bool,
    /// The metadata column whose frequent values are listed.
    pub(crate) value_column: Option<String>,
    /// Names the user gave, per cluster of the outcome on screen (empty: automatic).
    pub(crate) names: Vec<String>,
    names_for: Option<Arc<ClusterOutcome>>,
    editing: Option<(usize, String)>,
    value_chosen: bool,
    /// Names from a reopened session, for the clustering it asks for.
    pub(crate) pending_names: Option<(crate::session::Algorithm, std::collections::BTreeMap<usize, String>)>,
}

impl TableState {
    /// Whether descriptions are being computed.
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.is_some()
    }
}

impl std::fmt::Debug for TableState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableState").field("sort", &self.sort).field("names", &self.names).finish_non_exhaustive()
    }
}

fn same(a: Option<&Arc<ClusterOutcome>>, b: &Arc<ClusterOutcome>) -> bool {
    a.is_some_and(|a| Arc::ptr_eq(a, b))
}

/// The text column of a dataset: the first hover column that holds text.
fn text_column(ds: &Dataset) -> Option<String> {
    ds.hover_columns().into_iter().find(|c| ds.column_type(c).contains("str"))
}

fn compute(ds: &Dataset, o: &ClusterOutcome, value_column: Option<&str>) -> Profiles {
    let k = o.sizes.len();
    let text_col = text_column(ds);
    let terms = text_col.as_ref().map_or_else(
        || vec![Vec::new(); k],
        |col| {
            let texts = ds.column_texts(col);
            describe::ctfidf_terms(&o.labels, k, |i| texts.get(i).and_then(|t| t.as_deref()), TERMS)
        },
    );
    // Between stages, a clustering that started meanwhile goes first.
    let never = std::sync::atomic::AtomicBool::new(false);
    crate::background::pause_for_foreground(&never);
    let values = value_column.map_or_else(
        || vec![Vec::new(); k],
        |col| {
            let vals = ds.column_texts(col);
            describe::top_values(&o.labels, k, |i| vals.get(i).cloned().flatten(), VALUES)
        },
    );
    crate::background::pause_for_foreground(&never);
    let raw = ds.embeddings.raw();
    let nearest =
        describe::nearest_to_centroid(raw.as_slice(), raw.d(), &o.labels, k, o.request.algorithm.metric() == Metric::Cosine, NEAREST);
    Profiles { outcome: None, value_column: value_column.map(str::to_string), text_column: text_col, terms, values, nearest }
}

/// Starts describing the outcome on screen when it or the chosen column changed (before the
/// panels draw).
pub(crate) fn ensure_described(app: &mut EmbedmapApp) {
    let (Some(ds), Some(o)) = (app.dataset.clone(), app.outcome.clone()) else { return };
    if !o.is_final() {
        // Described once the seeded result with its exact figures replaces it, a moment later.
        return;
    }
    let t = &mut app.table;
    if !t.value_chosen {
        // A label-like column (theme, category, class…) is the natural first choice.
        t.value_column = ds.hover_columns().into_iter().find(|c| {
            let l = c.to_ascii_lowercase();
            ["label", "theme", "category", "class", "section", "topic"].iter().any(|w| l.contains(w))
        });
        t.value_chosen = true;
    }
    if !same(t.names_for.as_ref(), &o) {
        t.names = vec![String::new(); o.sizes.len()];
        t.names_for = Some(Arc::clone(&o));
        t.editing = None;
        if let Some((algo, names)) = t.pending_names.take() {
            if algo == o.request.algorithm {
                for (c, name) in names {
                    if let Some(slot) = t.names.get_mut(c) {
                        *slot = name;
                    }
                }
            } else {
                t.pending_names = Some((algo, names));
            }
        }
    }
    let want = t.value_column.clone();
    if t.profiles.as_ref().is_some_and(|p| same(p.outcome.as_ref(), &o) && p.value_column == want) {
        return;
    }
    if t.pending.as_ref().is_some_and(|(k, col)| Arc::ptr_eq(k, &o) && *col == want) {
        return;
    }
    let col = want.clone();
    let job = Arc::clone(&o);
    let started = app.tasks.start(Task::Describe, Policy::Replace, Priority::Background, "the cluster descriptions", move |_| {
        let mut p = compute(&ds, &job, col.as_deref());
        p.outcome = Some(job);
        Output::Profiles(Box::new(p))
    });
    app.table.pending = started.ok().map(|_| (o, want));
}

/// Descriptions arrived: shown if they are of the outcome and column still asked for.
pub(crate) fn described(app: &mut EmbedmapApp, p: Profiles) {
    let t = &mut app.table;
    let asked = t.pending.as_ref().is_some_and(|(o, col)| same(p.outcome.as_ref(), o) && *col == p.value_column);
    if asked {
        t.profiles = Some(Arc::new(p));
        t.pending = None;
    }
}

/// The name shown for cluster `c`: the user's, else the automatic one, else "cluster c".
pub(crate) fn display_name(app: &EmbedmapApp, c: usize) -> String {
    if let Some(n) = app.table.names.get(c).filter(|n| !n.trim().is_empty()) {
        return n.trim().to_string();
    }
    // Only the descriptions of the clusters on screen: a preview's (or a new result's, until it is
    // described) numbers are not the old clusters'.
    app.table
        .profiles
        .as_ref()
        .filter(|p| p.outcome.as_ref().zip(app.outcome.as_ref()).is_some_and(|(a, b)| Arc::ptr_eq(a, b)))
        .and_then(|p| p.terms.get(c))
        .map(|t| describe::auto_name(t, NAME_TERMS))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("cluster {c}"))
}

/// Draws the table in a bottom panel under the map.
#[expect(clippy::too_many_lines, reason = "one drawing function, read top to bottom")]
pub(crate) fn cluster_table_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    let (Some(ds), Some(o)) = (app.dataset.clone(), app.outcome.clone()) else { return };
    egui::Panel::bottom("cluster table").resizable(true).default_size(220.0).min_size(80.0).show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.heading("Cluster table");
            let cols = ds.metadata_columns();
            if app.table.value_column.as_ref().is_some_and(|c| !cols.contains(c)) {
                app.table.value_column = None;
            }
            egui::ComboBox::from_label("Frequent values of")
                .selected_text(app.table.value_column.clone().unwrap_or_else(|| "(none)".into()))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut app.table.value_column, None, "(none)");
                    for c in cols {
                        ui.selectable_value(&mut app.table.value_column, Some(c.clone()), c);
                    }
                });
            if !o.is_final() {
                ui.label(RichText::new("described once the seeded result and its exact figures are in").small());
            } else if app.table.pending.is_some() {
                crate::app::chrome::spinner(ui);
                ui.label("describing clusters…");
            } else if let Some(col) = app.table.profiles.as_ref().and_then(|p| p.text_column.clone()) {
                ui.label(RichText::new(format!("names from the most distinguishing terms of '{col}' (class-based TF-IDF)")).small());
            }
        });
        let k = o.sizes.len();
        let mut rows: Vec<usize> = (0..k).collect();
        let fig = |c: usize, f: fn(&crate::session::ClusterFigures) -> Option<f64>| {
            o.clusters.iter().find(|x| usize::try_from(x.cluster).ok() == Some(c)).and_then(f).unwrap_or(f64::NEG_INFINITY)
        };
        let names: Vec<String> = (0..k).map(|c| display_name(app, c)).collect();
        match app.table.sort {
            SortBy::Cluster => {}
            SortBy::Name => rows.sort_by(|&a, &b| names[a].to_lowercase().cmp(&names[b].to_lowercase())),
            SortBy::Size => rows.sort_by_key(|&c| o.sizes[c]),
            SortBy::Silhouette => rows.sort_by(|&a, &b| fig(a, |x| x.mean_silhouette).total_cmp(&fig(b, |x| x.mean_silhouette))),
            SortBy::Membership => rows.sort_by(|&a, &b| fig(a, |x| x.mean_membership).total_cmp(&fig(b, |x| x.mean_membership))),
        }
        if app.table.descending {
            rows.reverse();
        }
        let has_membership = o.clusters.iter().any(|x| x.mean_membership.is_some());
        let text_col = app.table.profiles.as_ref().and_then(|p| p.text_column.clone());
        let mut clicked = None;
        let mut rename: Option<(usize, String)> = None;
        egui::ScrollArea::both().auto_shrink([false, false]).show(ui, |ui| {
            egui::Grid::new("clusters grid").striped(true).spacing([14.0, 4.0]).show(ui, |ui| {
                let mut header = |ui: &mut egui::Ui, label: &str, by: SortBy| {
                    let arrow = if app.table.sort == by { if app.table.descending { " ↓" } else { " ↑" } } else { "" };
                    if ui
                        .add(egui::Button::new(RichText::new(format!("{label}{arrow}")).strong()).frame(false))
                        .on_hover_text("Sort")
                        .clicked()
                    {
                        if app.table.sort == by {
                            app.table.descending = !app.table.descending;
                        } else {
                            app.table.sort = by;
                            app.table.descending = matches!(by, SortBy::Size | SortBy::Silhouette | SortBy::Membership);
                        }
                    }
                };
                header(ui, "#", SortBy::Cluster);
                header(ui, "name", SortBy::Name);
                header(ui, "size", SortBy::Size);
                header(ui, "silhouette", SortBy::Silhouette);
                if has_membership {
                    header(ui, "membership", SortBy::Membership);
                }
                ui.strong(app.table.value_column.clone().unwrap_or_else(|| "frequent values".into()));
                ui.strong(text_col.as_ref().map_or("nearest the centre".to_string(), |c| format!("{c} nearest the centre")));
                ui.end_row();
                for &c in &rows {
                    let focused = app.map.highlight == Some(c);
                    ui.horizontal(|ui| {
                        let (r, resp) = ui.allocate_exact_size(Vec2::splat(12.0), Sense::click());
                        ui.painter().circle_filled(r.center(), 5.0, palette::cluster(c));
                        let label = ui.selectable_label(focused, format!("{c}"));
                        if resp.clicked() || label.on_hover_text("Bring this cluster forward on the map").clicked() {
                            clicked = Some(c);
                        }
                    });
                    match &mut app.table.editing {
                        Some((e, text)) if *e == c => {
                            let r = ui.add(egui::TextEdit::singleline(text).desired_width(220.0).hint_text(describe_hint(&names[c])));
                            if r.lost_focus() {
                                rename = Some((c, text.clone()));
                            } else {
                                r.request_focus();
                            }
                        }
                        _ => {
                            let r = ui
                                .add(egui::Label::new(&names[c]).sense(Sense::click()))
                                .on_hover_text("Double-click (or right-click ▸ Rename) to rename");
                            let mut start = r.double_clicked();
                            r.context_menu(|ui| {
                                if ui.button("Rename…").clicked() {
                                    start = true;
                                    ui.close();
                                }
                            });
                            if start {
                                app.table.editing = Some((c, app.table.names.get(c).cloned().unwrap_or_default()));
                            } else if r.clicked() {
                                clicked = Some(c);
                            }
                        }
                    }
                    ui.label(o.sizes[c].to_string());
                    let sil = fig(c, |x| x.mean_silhouette);
                    ui.label(if sil.is_finite() { format!("{sil:.3}") } else { "—".into() });
                    if has_membership {
                        let m = fig(c, |x| x.mean_membership);
                        ui.label(if m.is_finite() { format!("{m:.2}") } else { "—".into() });
                    }
                    let p = app.table.profiles.as_ref().filter(|p| same(p.outcome.as_ref(), &o));
                    let values = p.and_then(|p| p.values.get(c)).map_or(String::new(), |v| {
                        v.iter().map(|(val, _, share)| format!("{} {:.0}%", clip(val, 24), share * 100.0)).collect::<Vec<_>>().join(" · ")
                    });
                    ui.label(values);
                    let nearest = p.and_then(|p| p.nearest.get(c)).cloned().unwrap_or_default();
                    let full: Vec<String> = nearest
                        .iter()
                        .map(|&r| text_col.as_ref().map_or_else(|| format!("row {}", r + 1), |col| ds.cell_text(r, col)))
                        .collect();
                    let texts: Vec<String> = full.iter().map(|t| clip(t, 60)).collect();
                    ui.label(texts.join(" | ")).on_hover_text(full.join("\n\n"));
                    ui.end_row();
                }
            });
        });
        if let Some((c, name)) = rename {
            if let Some(slot) = app.table.names.get_mut(c) {
                *slot = name.trim().to_string();
            }
            app.table.editing = None;
        }
        if let Some(c) = clicked {
            app.push(crate::app::Command::ToggleHighlight(c));
        }
    });
}

fn describe_hint(auto: &str) -> String {
    format!("name (empty: {auto})")
}

fn clip(s: &str, n: usize) -> String {
    let s = s.trim();
    if s.chars().count() > n { format!("{}…", s.chars().take(n).collect::<String>()) } else { s.to_string() }
}
