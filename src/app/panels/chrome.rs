//! Menu bar, status bar and the file-drop overlay.

use eframe::egui;

use crate::app::{Command, EmbedmapApp, palette};

const OPEN: egui::KeyboardShortcut = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::O);
const EXPORT: egui::KeyboardShortcut = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::E);
const QUIT: egui::KeyboardShortcut = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::Q);
const SAVE_SESSION: egui::KeyboardShortcut = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::S);

/// The menu bar and its shortcuts.
pub(crate) fn menu_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    if ui.input_mut(|i| i.consume_shortcut(&OPEN)) {
        app.push(Command::OpenDialog);
    }
    if ui.input_mut(|i| i.consume_shortcut(&EXPORT)) {
        app.push(Command::ExportDialog);
    }
    if ui.input_mut(|i| i.consume_shortcut(&QUIT)) {
        app.push(Command::Quit);
    }
    if ui.input_mut(|i| i.consume_shortcut(&SAVE_SESSION)) {
        app.push(Command::SaveSessionDialog);
    }
    egui::Panel::top("menu").show(ui, |ui| {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.add(egui::Button::new("Open…").shortcut_text(ui.ctx().format_shortcut(&OPEN))).clicked() {
                    app.push(Command::OpenDialog);
                }
                let recent = crate::app::files::recent(app);
                ui.add_enabled_ui(!recent.is_empty(), |ui| {
                    ui.menu_button("Open recent", |ui| {
                        for p in recent {
                            let name = p.file_name().map_or_else(|| p.display().to_string(), |f| f.to_string_lossy().into_owned());
                            if ui.button(name).on_hover_text(p.display().to_string()).clicked() {
                                app.push(Command::OpenPath(p));
                            }
                        }
                    });
                });
                if ui.button("Open demo dataset").clicked() {
                    app.push(Command::OpenDemo);
                }
                ui.separator();
                if ui.button("Open session…").clicked() {
                    app.push(Command::OpenSessionDialog);
                }
                let can_export = app.outcome.is_some();
                if ui
                    .add_enabled(can_export, egui::Button::new("Save session…").shortcut_text(ui.ctx().format_shortcut(&SAVE_SESSION)))
                    .on_hover_text("The file, embedding columns, algorithm, parameters and cluster names: reopening reproduces the labels")
                    .clicked()
                {
                    app.push(Command::SaveSessionDialog);
                }
                ui.separator();
                if ui
                    .add_enabled(can_export, egui::Button::new("Export labelled data…").shortcut_text(ui.ctx().format_shortcut(&EXPORT)))
                    .clicked()
                {
                    app.push(Command::ExportDialog);
                }
                let can_model = app.outcome.as_ref().is_some_and(|o| o.is_final());
                if ui
                    .add_enabled(can_model, egui::Button::new("Export model…"))
                    .on_hover_text(
                        "Centroids or core points, metric, parameters, cluster names and the map's axes: \
                         `embedmap assign FILES --model M.embedmap.json` labels other files as these rows are labelled",
                    )
                    .clicked()
                {
                    app.push(Command::ExportModelDialog);
                }
                if ui.add_enabled(can_export, egui::Button::new("Export plot as PNG…")).clicked() {
                    app.push(Command::ExportPngDialog);
                }
                ui.separator();
                if ui.add(egui::Button::new("Quit").shortcut_text(ui.ctx().format_shortcut(&QUIT))).clicked() {
                    app.push(Command::Quit);
                }
            });
            ui.menu_button("View", |ui| {
                if ui.checkbox(&mut app.settings.dark, "Dark theme").changed() {
                    ui.ctx().set_visuals(if app.settings.dark { egui::Visuals::dark() } else { egui::Visuals::light() });
                }
                ui.add(egui::Slider::new(&mut app.settings.point_radius, 0.5..=6.0).text("Point size"));
                ui.add(egui::Slider::new(&mut app.settings.point_opacity, 0.1..=1.0).text("Point opacity"));
            });
        });
    });
}

/// The status bar: dataset, size, last job time, and dismissable messages.
pub(crate) fn status_ui(app: &mut EmbedmapApp, ui: &mut egui::Ui) {
    egui::Panel::bottom("status").show(ui, |ui| {
        ui.horizontal(|ui| {
            if let Some(ds) = &app.dataset {
                ui.label(format!("{}  ·  {} × {}", ds.name, ds.n(), ds.dim()));
                ui.separator();
                ui.label(format!("load {:.0} ms · PCA {:.0} ms", app.timings.load_ms, app.timings.project_ms));
                if let Some(o) = &app.outcome {
                    ui.separator();
                    let what = if o.preview.is_some() {
                        " preview"
                    } else if o.exact_follows.is_some() {
                        " (figures on a sample)"
                    } else {
                        ""
                    };
                    ui.label(format!("{}{what} {:.0} ms · silhouette {:.0} ms", o.request.algorithm.name(), o.cluster_ms, o.silhouette_ms));
                }
            } else if app.loading.is_some() {
                ui.label("loading…");
            } else {
                ui.label("no data: File ▸ Open…, or drop a file here");
            }
            let message =
                app.error.clone().map(|e| (e, palette::ERROR)).or_else(|| app.notice.clone().map(|n| (n, ui.visuals().text_color())));
            if let Some((text, color)) = message {
                ui.separator();
                if ui.small_button("×").on_hover_text("Dismiss").clicked() {
                    app.push(Command::DismissError);
                }
                ui.add(egui::Label::new(egui::RichText::new(text).color(color)).truncate());
            }
        });
    });
}

/// Darkens the window while a file is dragged over it.
pub(crate) fn drop_overlay_ui(ui: &egui::Ui) {
    if ui.input(|i| i.raw.hovered_files.is_empty()) {
        return;
    }
    let painter = ui.ctx().layer_painter(egui::LayerId::new(egui::Order::Foreground, egui::Id::unique("file_drop_target")));
    let rect = ui.ctx().content_rect();
    painter.rect_filled(rect, 0.0, egui::Color32::from_black_alpha(180));
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        "Drop a file of embeddings to open it",
        egui::TextStyle::Heading.resolve(ui.style()),
        egui::Color32::WHITE,
    );
}

/// How often a busy indicator redraws: ten frames a second. (egui's own spinner asks for a new
/// frame every frame; on a machine without a GPU the software renderer then takes both cores
/// from the job the spinner waits for.)
pub(crate) const BUSY_FRAME: std::time::Duration = std::time::Duration::from_millis(100);

/// How often a busy indicator redraws while a clustering runs: twice a second. That job is
/// the one the user waits for, and each frame of the software renderer costs both cores some
/// 50 ms (on the Debian set a K-means move took 1.03 s in the window at ten frames a second,
/// 0.68 s at one).
pub(crate) const QUIET_FRAME: std::time::Duration = std::time::Duration::from_millis(500);

fn foreground_id() -> egui::Id {
    egui::Id::unique("embedmap-foreground-busy")
}

/// Tells the busy indicators whether a clustering, the job a user waits for, is running.
pub(crate) fn set_foreground_busy(ctx: &egui::Context, busy: bool) {
    ctx.data_mut(|d| d.insert_temp(foreground_id(), busy));
}

/// How long a busy indicator or a progress display waits before its next frame.
pub(crate) fn busy_frame(ctx: &egui::Context) -> std::time::Duration {
    if ctx.data(|d| d.get_temp::<bool>(foreground_id())).unwrap_or(false) { QUIET_FRAME } else { BUSY_FRAME }
}

/// A spinner that animates at [`busy_frame`].
pub(crate) fn spinner(ui: &mut egui::Ui) {
    let size = ui.style().spacing.interact_size.y;
    let (rect, response) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
    response.widget_info(|| egui::WidgetInfo::new(egui::Role::ProgressIndicator));
    if ui.is_rect_visible(rect) {
        let every = busy_frame(ui.ctx());
        ui.ctx().request_repaint_after(every);
        let color = ui.visuals().strong_text_color();
        let radius = rect.height().min(rect.width()) * 0.5 - 2.0;
        // A quarter turn per frame, snapped to the frame so the picture only changes on it.
        let frames = (ui.input(|i| i.time) / every.as_secs_f64()).floor();
        let start = frames * std::f64::consts::FRAC_PI_2 * 0.5;
        let points: Vec<egui::Pos2> = (0..=24)
            .map(|i| {
                let a = start + f64::from(i) / 24.0 * 240f64.to_radians();
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
                )]
                let (s, c) = (a.sin() as f32, a.cos() as f32);
                rect.center() + radius * egui::vec2(c, s)
            })
            .collect();
        ui.painter().add(egui::Shape::line(points, egui::Stroke::new(3.0, color)));
    }
}
