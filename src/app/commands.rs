//! Commands: what a click or a key asks for, applied once per frame by [`EmbedmapApp::apply`];
//! file dialogs, exports and models start their side work here.

use super::*;

/// Something the user asked for; applied by [`EmbedmapApp::apply`].
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Show the file dialog.
    OpenDialog,
    /// Load a file.
    OpenPath(PathBuf),
    /// Load the bundled demo.
    OpenDemo,
    /// Reload the current file with other loading options.
    Reload(LoadOptions),
    /// Show the export dialog.
    ExportDialog,
    /// Export to a path.
    ExportTo(PathBuf),
    /// Show the export dialog for the selected rows.
    ExportSelectionDialog,
    /// Export the selected rows to a path.
    ExportSelectionTo(PathBuf),
    /// Make the selected rows a cluster of their own.
    CreateClusterFromSelection,
    /// Show the dialog to save the session.
    SaveSessionDialog,
    /// Save the session to a path.
    SaveSessionTo(PathBuf),
    /// Show the dialog to open a session.
    OpenSessionDialog,
    /// Reopen a saved session.
    OpenSession(PathBuf),
    /// Show the dialog to save the map as PNG.
    ExportPngDialog,
    /// Save the map as PNG to a path.
    ExportPngTo(PathBuf),
    /// Show the dialog to save the clustering as a model.
    ExportModelDialog,
    /// Save the clustering as a model to a path.
    ExportModelTo(PathBuf),
    /// The clustering settings changed.
    Recluster,
    /// Stop the running clustering.
    CancelCluster,
    /// Stop the running layout (the map keeps PCA until the settings ask again).
    CancelProjection,
    /// Dismiss the error banner.
    DismissError,
    /// Pin a row and look up its nearest neighbours (`None`: unpin).
    Pin(Option<usize>),
    /// Bring a cluster forward on the map, or back if it is forward already.
    ToggleHighlight(usize),
    /// Compare the clusters with a label column (`None`: with none).
    CompareWith(Option<String>),
    /// Run K-means over the sweep's range of k.
    StartSweep,
    /// Stop the running sweep.
    CancelSweep,
    /// Close the window.
    Quit,
}

/// The path a file dialog returned, by what it was for.
pub(crate) enum DialogResult {
    Open(Option<PathBuf>),
    Export(Option<PathBuf>),
    ExportSelection(Option<PathBuf>),
    SaveSession(Option<PathBuf>),
    OpenSession(Option<PathBuf>),
    ExportPng(Option<PathBuf>),
    ExportModel(Option<PathBuf>),
}

impl EmbedmapApp {
    pub(super) fn apply(&mut self, ctx: &egui::Context, c: Command) {
        match c {
            Command::OpenDialog => {
                let dir = self.settings.last_dir.clone();
                self.spawn_dialog(move || {
                    let d = rfd::FileDialog::new()
                        .set_title("Open embeddings")
                        .add_filter("Embeddings", &["csv", "tsv", "parquet", "jsonl", "ndjson", "arrow", "feather", "ipc", "npy"]);
                    let d = match dir {
                        Some(dir) => d.set_directory(dir),
                        None => d,
                    };
                    DialogResult::Open(d.pick_file())
                });
            }
            Command::ExportDialog | Command::ExportSelectionDialog => {
                let selection = matches!(c, Command::ExportSelectionDialog);
                if self.outcome.is_none() || (selection && self.map.selection.is_empty()) {
                    return;
                }
                let dir = self.settings.last_dir.clone();
                let stem = files::file_stem(self);
                self.spawn_dialog(move || {
                    let d = rfd::FileDialog::new()
                        .set_title(if selection { "Export the selected rows" } else { "Export labelled data" })
                        .set_file_name(format!("{stem}_{}.csv", if selection { "selection" } else { "clusters" }))
                        .add_filter("CSV", &["csv"])
                        .add_filter("Parquet", &["parquet"])
                        .add_filter("TSV", &["tsv"]);
                    let d = match dir {
                        Some(dir) => d.set_directory(dir),
                        None => d,
                    };
                    let path = d.save_file();
                    if selection { DialogResult::ExportSelection(path) } else { DialogResult::Export(path) }
                });
            }
            Command::OpenPath(p) => {
                self.load_options = LoadOptions::default();
                self.start_load(LoadSource::File(p));
            }
            Command::OpenDemo => {
                self.load_options = LoadOptions::default();
                self.start_load(LoadSource::Demo);
            }
            Command::Reload(opts) => {
                let source = match (&self.load_failure, &self.dataset) {
                    (Some(f), _) => f.source.clone(),
                    (None, Some(ds)) => ds.path.clone().map_or(LoadSource::Demo, LoadSource::File),
                    (None, None) => LoadSource::Demo,
                };
                self.load_options = opts;
                self.start_load(source);
            }
            Command::ExportTo(path) => self.export_to(path, None),
            Command::SaveSessionDialog | Command::ExportPngDialog => {
                let session = matches!(c, Command::SaveSessionDialog);
                if self.outcome.is_none() {
                    return;
                }
                let dir = self.settings.last_dir.clone();
                let name = files::suggested_name(self, if session { "session.json" } else { "map.png" });
                self.spawn_dialog(move || {
                    let d = rfd::FileDialog::new()
                        .set_title(if session { "Save session" } else { "Export the map as PNG" })
                        .set_file_name(name)
                        .add_filter(if session { "Session" } else { "PNG image" }, &[if session { "json" } else { "png" }]);
                    let d = match dir {
                        Some(dir) => d.set_directory(dir),
                        None => d,
                    };
                    let path = d.save_file();
                    if session { DialogResult::SaveSession(path) } else { DialogResult::ExportPng(path) }
                });
            }
            Command::ExportModelDialog => {
                if self.outcome.is_none() {
                    return;
                }
                let dir = self.settings.last_dir.clone();
                let stem = files::file_stem(self);
                self.spawn_dialog(move || {
                    let d = rfd::FileDialog::new()
                        .set_title("Export the clustering as a model")
                        .set_file_name(format!("{stem}.embedmap.json"))
                        .add_filter("embedmap model", &["json"]);
                    let d = match dir {
                        Some(dir) => d.set_directory(dir),
                        None => d,
                    };
                    DialogResult::ExportModel(d.save_file())
                });
            }
            Command::ExportModelTo(path) => self.export_model_to(path),
            Command::OpenSessionDialog => {
                let dir = self.settings.last_dir.clone();
                self.spawn_dialog(move || {
                    let d = rfd::FileDialog::new().set_title("Open session").add_filter("Session", &["json"]);
                    let d = match dir {
                        Some(dir) => d.set_directory(dir),
                        None => d,
                    };
                    DialogResult::OpenSession(d.pick_file())
                });
            }
            Command::CreateClusterFromSelection => {
                let Some(o) = &self.outcome else { return };
                if self.map.selection.is_empty() {
                    return;
                }
                let key = (o.request.algorithm.clone(), o.request.noise);
                if self.manual_for.as_ref() != Some(&key) {
                    self.manual = o.request.manual.clone();
                    self.manual_for = Some(key);
                }
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
                )]
                self.manual.push(self.map.selection.iter().map(|&r| r as u32).collect());
                self.map.selection.clear();
                self.recluster();
            }
            Command::SaveSessionTo(path) => files::save_session(self, &path),
            Command::OpenSession(path) => files::open_session(self, &path),
            Command::ExportPngTo(path) => files::export_png(self, &path),
            Command::ExportSelectionTo(path) => {
                if self.map.selection.is_empty() {
                    self.error = Some("nothing is selected: drag a box (shift-drag) or a lasso (ctrl-drag) on the map first".into());
                } else {
                    let rows = self.map.selection.clone();
                    self.export_to(path, Some(rows));
                }
            }
            Command::Recluster => self.recluster(),
            Command::CancelProjection => {
                self.worker.cancel_projection();
                if let Some((_, k, _)) = self.projection.running.take() {
                    self.projection.failed = Some((k, "layout cancelled; choose the projection again to restart it".into()));
                }
                self.projection.live = None;
                self.map.dirty = true;
            }
            Command::CancelCluster => {
                self.worker.cancel_cluster();
                self.clustering = None;
            }
            Command::DismissError => {
                self.error = None;
                self.load_failure = None;
                self.notice = None;
            }
            Command::Pin(Some(row)) => map::pin(self, row),
            Command::Pin(None) => self.map.pinned = None,
            Command::ToggleHighlight(c) => {
                self.map.highlight = if self.map.highlight == Some(c) { None } else { Some(c) };
                self.map.dirty = true;
            }
            Command::CompareWith(col) => {
                self.reference = col;
                self.ensure_agreement();
            }
            Command::StartSweep => sweep::start(self),
            Command::CancelSweep => {
                self.tasks.cancel(Task::Sweep);
                if let Some(s) = &mut self.sweep.sweep {
                    s.running = false;
                }
            }
            Command::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
        }
    }

    /// Runs a (blocking) file dialog as side work; one dialog at a time.
    pub(super) fn spawn_dialog(&mut self, show: impl FnOnce() -> DialogResult + Send + 'static) {
        if self.tasks.is_running(Task::Dialog) {
            return;
        }
        if let Err(e) = self.tasks.start(Task::Dialog, Policy::One, Priority::Io, "a file dialog", move |_| tasks::Output::Dialog(show())) {
            self.error = Some(e.to_string());
        }
    }

    /// The path a dialog returned becomes the command it was asked for.
    pub(super) fn chosen(&mut self, r: DialogResult) {
        self.commands.push(match r {
            DialogResult::Open(Some(p)) => Command::OpenPath(p),
            DialogResult::Export(Some(p)) => Command::ExportTo(p),
            DialogResult::ExportSelection(Some(p)) => Command::ExportSelectionTo(p),
            DialogResult::SaveSession(Some(p)) => Command::SaveSessionTo(p),
            DialogResult::OpenSession(Some(p)) => Command::OpenSession(p),
            DialogResult::ExportPng(Some(p)) => Command::ExportPngTo(p),
            DialogResult::ExportModel(Some(p)) => Command::ExportModelTo(p),
            DialogResult::Open(None)
            | DialogResult::Export(None)
            | DialogResult::ExportSelection(None)
            | DialogResult::SaveSession(None)
            | DialogResult::OpenSession(None)
            | DialogResult::ExportPng(None)
            | DialogResult::ExportModel(None) => {
                self.notice = Some("no file chosen (if no dialog appeared, type the path in the Dataset panel)".into());
                return;
            }
        });
    }

    pub(super) fn export_to(&mut self, path: PathBuf, rows: Option<Vec<usize>>) {
        let (Some(ds), Some(o)) = (self.dataset.clone(), self.outcome.clone()) else {
            self.error = Some("nothing to export yet: wait for the clustering to finish".into());
            return;
        };
        let Some((projection, xy, fell_back)) = self.exported_layout() else {
            self.error = Some("nothing to export yet: the map has no positions".into());
            return;
        };
        // The parameters file is a session file of what was exported, so
        // `embedmap cluster --session FILE.params.json` reproduces the export.
        let mut session = match files::session_file(self) {
            Ok(s) => s,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        session.projection = Some(projection);
        if let Some(dir) = path.parent() {
            self.settings.last_dir = Some(dir.to_path_buf());
        }
        let started = self.tasks.start(Task::Export, Policy::One, Priority::Io, "an export", move |_| {
            let sil = o.silhouette.as_ref().map_or_else(|_| vec![f32::NAN; ds.n()], |s| s.values.clone());
            let cols = o.export_columns(&sil, &xy);
            let written = match &rows {
                Some(rows) => crate::data::export_rows(&ds, cols, rows, &path),
                None => crate::data::export_labelled(&ds, cols, &path),
            };
            let r = written.map_err(|e| e.to_string()).and_then(|summary| {
                let mut params = serde_json::to_value(&session).unwrap_or_default();
                if let Some(m) = params.as_object_mut() {
                    m.insert("embedding".into(), serde_json::json!(ds.source));
                    m.insert("algorithm".into(), serde_json::json!(o.request.algorithm.name()));
                    m.insert("silhouette".into(), serde_json::json!(o.silhouette.as_ref().ok().map(|s| s.mean)));
                    m.insert("inertia".into(), serde_json::json!(o.inertia));
                    m.insert(
                        "export".into(),
                        serde_json::json!({ "path": summary.path.display().to_string(), "rows": summary.rows, "selection": rows.is_some() }),
                    );
                }
                let side = path.with_extension("params.json");
                let text = serde_json::to_string_pretty(&params).unwrap_or_default();
                crate::data::write_atomically(&side, |f| {
                    use std::io::Write as _;
                    f.write_all(text.as_bytes()).map_err(|e| e.to_string())
                })
                .map_err(|e| format!("the data was exported, but the parameters file could not be written ({e}): {}", side.display()))?;
                let note = if fell_back { " · x, y from PCA: the UMAP layout was not finished" } else { "" };
                Ok(format!("exported {} rows to {} (parameters in {}){note}", summary.rows, summary.path.display(), side.display()))
            });
            tasks::Output::Written(r)
        });
        if let Err(e) = started {
            self.error = Some(e.to_string());
        }
    }

    /// Saves the clustering on screen as a model, on the export thread: its centroids or core
    /// points, parameters, cluster names and (for PCA) the map's axes.
    pub(super) fn export_model_to(&mut self, path: PathBuf) {
        let (Some(ds), Some(o)) = (self.dataset.clone(), self.outcome.clone()) else {
            self.error = Some("nothing to export yet: wait for the clustering to finish".into());
            return;
        };
        if !o.is_final() {
            self.error = Some("the clustering on screen is not final yet: wait for its exact figures, then export the model".into());
            return;
        }
        if let Err(e) = crate::model::check_path(&path) {
            self.error = Some(e.to_string());
            return;
        }
        if let Some(dir) = path.parent() {
            self.settings.last_dir = Some(dir.to_path_buf());
        }
        // The map's own layout when it is not PCA (the model says what it cannot hold); PCA's
        // axes are computed again, which places the rows exactly where the map has them.
        let layout = self
            .current_layout()
            .map(|l| Arc::clone(&l.projected))
            .filter(|p| !matches!(p.params, crate::engine::project::ProjectionParams::Pca));
        let names = self.table.names.iter().map(|n| n.trim().to_string()).collect::<Vec<_>>();
        let started = self.tasks.start(Task::Export, Policy::One, Priority::Io, "an export", move |_| {
            let r = (|| -> Result<String, String> {
                let projected = match layout {
                    Some(p) => p,
                    None => {
                        let pca = crate::engine::project::ProjectionParams::Pca;
                        Arc::new(crate::engine::project::project(&ds.embeddings, &pca, &crate::engine::Control::default(), None).map_err(|e| e.to_string())?)
                    }
                };
                let file = ds.path.as_ref().map(|p| p.display().to_string());
                let model = crate::model::Model::from_clustering(&ds.embeddings, &ds.source, file, &o, Some(&projected), &names)
                    .map_err(|e| e.to_string())?;
                model.save(&path).map_err(|e| e.to_string())?;
                let ag = model.file.agreement;
                let share = 100.0 * ag.same as f64 / ag.rows.max(1) as f64;
                let map = if model.file.projection.is_some() { ", with the map's PCA axes" } else { ", without x, y (see its notes)" };
                Ok(format!(
                    "saved the model to {} ({share:.2}% of the rows labelled as on screen{map}); label other files with: embedmap assign FILES --model {} --out OUT",
                    path.display(),
                    path.display()
                ))
            })();
            tasks::Output::Written(r)
        });
        if let Err(e) = started {
            self.error = Some(e.to_string());
        }
    }
}
