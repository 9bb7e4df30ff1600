//! Sessions, recent files and the map as a PNG: what the File menu saves and reopens.

use std::path::{Path, PathBuf};

use super::projection::Choice;
use super::raster::{Frame, View, rasterize};
use super::tasks::{Output, Task, refuse_input};
use super::{AlgorithmKind, EmbedmapApp};
use crate::data::LoadOptions;
use crate::engine::noise::NoisePolicy;
use crate::engine::project::ProjectionParams;
use crate::jobs::{Policy, Priority};
use crate::session::{Algorithm, ClusterRequest, SESSION_VERSION, SessionFile};
use crate::worker::LoadSource;

/// Recent files kept in the File menu.
pub(crate) const RECENT: usize = 8;

/// Remembers `path` as the most recent file.
pub(crate) fn remember(app: &mut EmbedmapApp, path: &Path) {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    app.settings.recent.retain(|p| p != &path);
    app.settings.recent.insert(0, path);
    app.settings.recent.truncate(RECENT);
}

/// The session on screen: file, columns, clustering, names and the map's projection.
pub(crate) fn session_file(app: &EmbedmapApp) -> Result<SessionFile, String> {
    let (Some(ds), Some(o)) = (&app.dataset, &app.outcome) else {
        return Err("nothing to save yet: open a file and wait for the clustering".into());
    };
    if o.preview.is_some() {
        return Err(
            "the clustering is still being refined (the map shows a preview): try again when the readout no longer says preview".into()
        );
    }
    if o.exact_follows.is_some() {
        return Err(
            "the exact silhouette over every row is still being computed: try again in a moment, when the readout says exact".into()
        );
    }
    let names = app.table.names.iter().enumerate().filter(|(_, n)| !n.trim().is_empty()).map(|(c, n)| (c, n.trim().to_string())).collect();
    Ok(SessionFile {
        embedmap_session: SESSION_VERSION,
        file: ds.path.as_ref().map(|p| p.canonicalize().unwrap_or_else(|_| p.clone())),
        embedding_columns: app.load_options.embedding_columns.clone(),
        drop_nonfinite: app.load_options.drop_nonfinite,
        request: o.request.clone(),
        cluster_names: names,
        rows: Some(ds.n()),
        sizes: Some(o.sizes.clone()),
        projection: Some(app.wanted_projection()),
    })
}

/// Writes the session on screen to `path`, as side work.
pub(crate) fn save_session(app: &mut EmbedmapApp, path: &Path) {
    let s = match session_file(app) {
        Ok(s) => s,
        Err(e) => {
            app.error = Some(e);
            return;
        }
    };
    let Some(ds) = app.dataset.clone() else { return };
    if let Some(dir) = path.parent() {
        app.settings.last_dir = Some(dir.to_path_buf());
    }
    let path = path.to_path_buf();
    let started = app.tasks.start(Task::SaveSession, Policy::One, Priority::Io, "saving the session", move |_| {
        Output::Written(refuse_input(&ds, &path, "session").and_then(|()| {
            s.write(&path)
                .map(|()| format!("saved the session to {}", path.display()))
                .map_err(|e| format!("cannot save the session to {}: {e}", path.display()))
        }))
    });
    if let Err(e) = started {
        app.error = Some(e.to_string());
    }
}

/// Sets the map's projection to a session's (older sessions, without one, showed PCA).
pub(crate) fn apply_projection(app: &mut EmbedmapApp, p: Option<&ProjectionParams>) {
    match p {
        None | Some(ProjectionParams::Pca) => app.settings.projection = Choice::Pca,
        Some(ProjectionParams::Umap { params, .. }) => {
            app.settings.projection = Choice::Umap;
            app.projection.asked = true;
            app.settings.umap = params.clone();
        }
        Some(ProjectionParams::Tsne { params, .. }) => {
            app.settings.projection = Choice::Tsne;
            app.projection.asked = true;
            app.settings.tsne = params.clone();
        }
    }
    app.map.dirty = true;
}

/// Reads a session as side work; [`reopen`] follows.
pub(crate) fn open_session(app: &mut EmbedmapApp, path: &Path) {
    let path = path.to_path_buf();
    let started = app.tasks.start(Task::OpenSession, Policy::One, Priority::Io, "reading the session", move |_| {
        Output::SessionRead(SessionFile::read(&path).and_then(|s| match &s.file {
            Some(f) if !f.exists() => Err(format!("the session's data file is missing: {} (named in {})", f.display(), path.display())),
            _ => Ok(Box::new(s)),
        }))
    });
    if let Err(e) = started {
        app.error = Some(e.to_string());
    }
}

/// Starts loading a session's file; the clustering follows once it is loaded.
pub(crate) fn reopen(app: &mut EmbedmapApp, s: SessionFile) {
    app.load_options = LoadOptions { embedding_columns: s.embedding_columns.clone(), drop_nonfinite: s.drop_nonfinite };
    let source = s.file.clone().map_or(LoadSource::Demo, LoadSource::File);
    app.pending_session = Some(s);
    app.start_load(source);
}

/// Sets the controls to `r` (after its data loaded), so the next clustering is exactly `r`.
pub(crate) fn apply_request(app: &mut EmbedmapApp, r: &ClusterRequest) {
    let st = &mut app.settings;
    st.metric = r.algorithm.metric();
    match &r.algorithm {
        Algorithm::Kmeans(p) => {
            st.algorithm = AlgorithmKind::Kmeans;
            (st.k, st.seed, st.n_init) = (p.k, p.seed, p.n_init);
        }
        Algorithm::MinibatchKmeans(p) => {
            st.algorithm = AlgorithmKind::MinibatchKmeans;
            (st.k, st.seed, st.n_init, st.batch_size) = (p.k, p.seed, p.n_init, p.batch_size);
        }
        Algorithm::Dbscan(p) => {
            st.algorithm = AlgorithmKind::Dbscan;
            st.min_samples = p.min_samples;
            app.eps = Some(p.eps);
            app.eps_metric = p.metric;
        }
        Algorithm::Hierarchical(p) => {
            st.algorithm = AlgorithmKind::Hierarchical;
            (st.k, st.linkage) = (p.k, p.linkage);
        }
        Algorithm::Hdbscan(p) => {
            st.algorithm = AlgorithmKind::Hdbscan;
            (st.min_cluster_size, st.hdbscan_min_samples, st.selection) = (p.min_cluster_size, p.min_samples, p.selection);
            st.selection_epsilon = p.cluster_selection_epsilon;
        }
    }
    st.noise = if matches!(r.algorithm, Algorithm::Dbscan(_) | Algorithm::Hdbscan(_)) { r.noise } else { NoisePolicy::Keep };
    st.reduce = r.reduce.clone();
    app.manual = r.manual.clone();
    app.manual_for = Some((r.algorithm.clone(), st.noise));
}

/// Writes the map as it is on screen (view, colours, hidden clusters) to a PNG at twice the
/// screen resolution, as side work: rasterising a million points and encoding the image takes
/// longer than a frame.
pub(crate) fn export_png(app: &mut EmbedmapApp, path: &Path) {
    let (Some(xy), Some((rect, view))) = (app.xy(), app.map.shown) else {
        app.error = Some("nothing to export yet: the map has not been drawn".into());
        return;
    };
    let Some(ds) = app.dataset.clone() else { return };
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
    )]
    let (w, h) = ((rect.width() * 2.0).round() as usize, (rect.height() * 2.0).round() as usize);
    let (colors, order) = (app.map.colors.clone(), app.map.order.clone());
    let (radius, opacity, background) = (app.settings.point_radius * 2.0, app.settings.point_opacity, app.map.background);
    let path = path.to_path_buf();
    let started = app.tasks.start(Task::Png, Policy::One, Priority::Io, "saving the map", move |_| {
        if let Err(e) = refuse_input(&ds, &path, "map") {
            return Output::Written(Err(e));
        }
        let pixels = super::raster::on_window_pool(|| {
            rasterize(&Frame {
                xy: &xy,
                colors: &colors,
                order: &order,
                stride: 1,
                view: View { scale: view.scale * 2.0, ..view },
                width: w,
                height: h,
                radius,
                opacity,
                background,
            })
        });
        let rgba: Vec<u8> = pixels.iter().flat_map(|c| c.to_array()).collect();
        let written = crate::data::write_atomically(&path, |f| {
            #[expect(
                clippy::cast_possible_truncation,
                reason = "screen pixels, counts and colour channels: small values, clamped before the cast"
            )]
            let mut enc = png::Encoder::new(std::io::BufWriter::new(f), w as u32, h as u32);
            enc.set_color(png::ColorType::Rgba);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc.write_header().map_err(|e| e.to_string())?;
            writer.write_image_data(&rgba).map_err(|e| e.to_string())?;
            writer.finish().map_err(|e| e.to_string())
        });
        Output::Written(match written {
            Ok(()) => Ok(format!("saved the map ({w}×{h} pixels) to {}", path.display())),
            Err(e) => Err(format!("cannot save the map: {e}")),
        })
    });
    if let Err(e) = started {
        app.error = Some(e.to_string());
    }
}

/// A file name for saving beside the data: `<stem>_<suffix>`.
pub(crate) fn suggested_name(app: &EmbedmapApp, suffix: &str) -> String {
    format!("{}_{suffix}", file_stem(app))
}

/// The open file's name without its extension, safe in a file name ("embedmap" for none).
pub(crate) fn file_stem(app: &EmbedmapApp) -> String {
    app.dataset
        .as_ref()
        .map_or("embedmap".to_string(), |d| d.name.rsplit_once('.').map_or(d.name.clone(), |(s, _)| s.to_string()).replace([' ', ':'], "_"))
}

/// The recent files that still exist.
pub(crate) fn recent(app: &EmbedmapApp) -> Vec<PathBuf> {
    app.settings.recent.iter().filter(|p| p.exists()).cloned().collect()
}
