//! The real window, driven through its accessibility tree.

mod common;

use std::time::{Duration, Instant};

use common::fixture;
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use embedmap::app::EmbedmapApp;
use embedmap::data::LoadOptions;
use embedmap::worker::LoadSource;

fn wait_idle(h: &mut Harness<'_, EmbedmapApp>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    h.step();
    // The map's layout too, so that map positions stay where they are.
    while h.state().is_busy() || h.state().is_projecting() {
        assert!(Instant::now() < deadline, "the worker did not finish");
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.run_steps(3);
}

/// Steps the window until the map shown has its trust figures (its layout finished).
fn wait_for_trust(h: &mut Harness<'_, EmbedmapApp>, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while h.state().map_trust().is_none() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
        h.step();
    }
}

fn silhouette_text(h: &Harness<'_, EmbedmapApp>) -> String {
    h.get_by_label_contains("Silhouette ").value().unwrap_or_default()
}

fn legend_entries(h: &Harness<'_, EmbedmapApp>) -> Vec<String> {
    h.query_all_by_role(Role::CheckBox).filter_map(|n| n.accesskit_node().label()).filter(|l| l.starts_with("cluster ")).collect()
}

fn app_on(source: LoadSource) -> Harness<'static, EmbedmapApp> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .with_max_steps(20)
        .build_eframe(move |cc| EmbedmapApp::new(&cc.egui_ctx, None, source, LoadOptions::default()))
}

#[test]
fn moving_k_reclusters_and_updates_readout_and_legend() {
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    wait_idle(&mut h);
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
    assert_eq!(h.state().dataset().unwrap().n(), 400);
    let before = silhouette_text(&h);
    assert!(before.starts_with("Silhouette "), "{before}");
    let legend = legend_entries(&h);
    assert_eq!(legend.len(), 12, "{legend:?}");
    h.get_by_role_and_label(Role::Slider, "k").set_value_accesskit(5.0);
    wait_idle(&mut h);
    assert_eq!(h.state().outcome().unwrap().request.kmeans().unwrap().k, 5);
    let after = silhouette_text(&h);
    assert_ne!(before, after, "the silhouette readout did not change");
    let legend = legend_entries(&h);
    assert_eq!(legend.len(), 5, "{legend:?}");
    let total: usize = h.state().outcome().unwrap().sizes.iter().sum();
    assert_eq!(total, 400);
    // Going back to k = 12 comes from the cache and restores the first readout.
    h.get_by_role_and_label(Role::Slider, "k").set_value_accesskit(12.0);
    wait_idle(&mut h);
    assert_eq!(silhouette_text(&h), before);
}

#[test]
fn a_bad_file_shows_its_error_in_the_window() {
    let mut h = app_on(LoadSource::File(fixture("formats/bad/nan.csv")));
    wait_idle(&mut h);
    let err = h.state().error().unwrap().to_string();
    assert!(err.contains("NaN or infinite"), "{err}");
    h.get_by_label_contains("NaN or infinite");
    // The user chooses to drop the rows; the file then opens.
    h.get_by_label("Drop those rows and continue").click();
    wait_idle(&mut h);
    assert!(h.state().error().is_none());
    assert_eq!(h.state().dataset().unwrap().n(), 37);
}

#[test]
fn the_demo_opens_with_clusters() {
    let mut h = app_on(LoadSource::Demo);
    wait_idle(&mut h);
    let ds = h.state().dataset().unwrap();
    assert!(ds.n() >= 1000);
    assert!(h.state().outcome().is_some());
    assert!(silhouette_text(&h).starts_with("Silhouette "));
}

#[derive(Debug)]
struct Dropped(std::path::PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn dropping_a_file_opens_it_and_export_writes_a_reloadable_file() {
    let mut h = app_on(LoadSource::Demo);
    wait_idle(&mut h);
    h.input_mut().dropped_files.push(std::sync::Arc::new(Dropped(fixture("formats/list.parquet"))));
    wait_idle(&mut h);
    assert_eq!(h.state().dataset().unwrap().n(), 40, "the dropped file was not opened");
    h.get_by_role_and_label(Role::Slider, "k").set_value_accesskit(4.0);
    wait_idle(&mut h);
    assert_eq!(legend_entries(&h).len(), 4);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("labelled.csv");
    h.state_mut().push(embedmap::app::Command::ExportTo(out.clone()));
    wait_idle(&mut h);
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
    let back = embedmap::data::load(&out, &LoadOptions::default(), &|_, _| {}).unwrap();
    let cols = back.column_names();
    assert_eq!(cols, vec!["id", "label", "embedding", "score", "note", "cluster", "silhouette", "x", "y"]);
    let labels = &h.state().outcome().unwrap().labels;
    for (row, l) in labels.iter().enumerate() {
        assert_eq!(back.cell_text(row, "cluster"), l.to_string());
    }
    // The parameters file is a session of the export: the command line reproduces it.
    let back = assert_command_line_reproduces(&dir.path().join("labelled.params.json"), labels);
    assert_eq!(exported_xy(&back), *h.state().xy().unwrap());
    h.get_by_label_contains("exported 40 rows");
}

#[test]
fn typing_a_path_opens_the_file() {
    let mut h = app_on(LoadSource::Demo);
    wait_idle(&mut h);
    let path = fixture("formats/wide.tsv");
    let field = h.get_by_label("File to open");
    field.focus();
    h.step();
    h.get_by_label("File to open").type_text(path.to_str().unwrap());
    h.step();
    h.key_press(egui::Key::Enter);
    wait_idle(&mut h);
    let ds = h.state().dataset().unwrap();
    assert_eq!(ds.path.as_deref(), Some(path.as_path()));
    assert_eq!((ds.n(), ds.dim()), (40, 8));
}

#[test]
fn switching_the_metric_rescores_in_that_metric() {
    let mut h = app_on(LoadSource::File(fixture("sphere.npy")));
    wait_idle(&mut h);
    assert_eq!(h.state().outcome().unwrap().request.kmeans().unwrap().metric, embedmap::engine::Metric::Cosine);
    h.get_by_label_contains("cosine distance");
    h.get_by_label("Metric").click();
    h.run_steps(2);
    h.get_by_label("euclidean").click();
    wait_idle(&mut h);
    let o = h.state().outcome().unwrap();
    assert_eq!(o.request.kmeans().unwrap().metric, embedmap::engine::Metric::Euclidean);
    assert_eq!(o.silhouette.as_ref().unwrap().metric, embedmap::engine::Metric::Euclidean);
    h.get_by_label_contains("euclidean distance");
}

#[test]
fn a_corrupt_parquet_file_shows_an_error_and_the_window_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.parquet");
    let mut bytes = std::fs::read(fixture("formats/list.parquet")).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&bad, bytes).unwrap();
    let mut h = app_on(LoadSource::File(bad));
    wait_idle(&mut h);
    let err = h.state().error().unwrap().to_string();
    assert!(err.contains("broken.parquet"), "{err}");
    assert!(h.state().dataset().is_none());
    h.state_mut().push(embedmap::app::Command::OpenDemo);
    wait_idle(&mut h);
    assert!(h.state().dataset().is_some());
}

#[test]
fn the_embedding_picker_reloads_with_the_chosen_columns() {
    let mut h = app_on(LoadSource::File(fixture("formats/wide.csv")));
    wait_idle(&mut h);
    assert_eq!(h.state().dataset().unwrap().dim(), 8);
    h.get_by_label("Embedding columns").click();
    h.run_steps(2);
    let field = || |n: &egui_kittest::Node<'_>| n.accesskit_node().label().as_deref() == Some("Embedding columns");
    h.query_all_by_role(Role::TextInput).find(field()).expect("the column field").focus();
    h.step();
    h.query_all_by_role(Role::TextInput).find(field()).expect("the column field").type_text("emb_0..emb_3");
    h.run_steps(2);
    h.get_by_label("Apply").click();
    wait_idle(&mut h);
    let ds = h.state().dataset().unwrap();
    assert_eq!(ds.dim(), 4);
    assert!(ds.metadata_columns().contains(&"emb_7".to_string()));
    h.get_by_label("detect automatically").click();
    wait_idle(&mut h);
    assert_eq!(h.state().dataset().unwrap().dim(), 8);
}

#[test]
fn the_window_and_the_command_line_give_the_same_labels_for_the_same_seed() {
    let data = fixture("sphere.npy");
    let mut h = app_on(LoadSource::File(data.clone()));
    wait_idle(&mut h);
    h.get_by_role_and_label(Role::Slider, "k").set_value_accesskit(6.0);
    wait_idle(&mut h);
    let o = h.state().outcome().unwrap().clone();
    let r = o.request.kmeans().unwrap();
    assert_eq!(r.k, 6);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cli.csv");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_embedmap"))
        .args(["cluster", data.to_str().unwrap(), "--k", "6", "--metric", r.metric.name()])
        .args(["--seed", &r.seed.to_string(), "--n-init", &r.n_init.to_string(), "--out", out.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    let cli: Vec<i32> = text.lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    assert_eq!(cli, o.labels);
}

fn pick(h: &mut Harness<'_, EmbedmapApp>, combo: &str, item: &str) {
    h.get_by_label(combo).click();
    h.run_steps(2);
    h.get_by_label(item).click();
    wait_idle(h);
}

#[test]
fn every_algorithm_runs_from_the_window_with_its_own_controls() {
    use embedmap::session::Algorithm;
    let mut h = app_on(LoadSource::File(fixture("density.npy")));
    wait_idle(&mut h);
    pick(&mut h, "Metric", "euclidean");
    // DBSCAN: eps is suggested from the k-distance curve, then moves with its slider.
    pick(&mut h, "Algorithm", "DBSCAN");
    let o = h.state().outcome().unwrap().clone();
    let Algorithm::Dbscan(p) = &o.request.algorithm else { panic!("{:?}", o.request) };
    assert!(p.eps > 0.0 && p.min_samples == 5);
    assert!(o.n_clusters >= 1, "the suggested eps finds clusters");
    let eps = p.eps;
    h.get_by_role_and_label(Role::Slider, "eps").set_value_accesskit(f64::from(eps) * 0.9);
    wait_idle(&mut h);
    let o = h.state().outcome().unwrap().clone();
    let Algorithm::Dbscan(p) = &o.request.algorithm else { panic!() };
    assert!((p.eps - eps * 0.9).abs() < 1e-3 * eps, "{} vs {}", p.eps, eps * 0.9);
    assert!(o.notes.iter().any(|n| n.contains("reused the neighbourhood graph")), "{:?}", o.notes);
    // The k-distance chart says how many points are core at the chosen eps.
    h.get_by_label_contains("of the points are core at this eps");
    if o.n_noise > 0 {
        h.get_by_label_contains("Noise: ");
        let legend: Vec<String> = h.query_all_by_role(Role::CheckBox).filter_map(|n| n.accesskit_node().label()).collect();
        assert!(legend.iter().any(|l| l.starts_with("noise (")), "{legend:?}");
    }
    // Hierarchical: ward is the one linkage that refuses cosine.
    pick(&mut h, "Algorithm", "Hierarchical");
    pick(&mut h, "Linkage", "ward");
    h.get_by_role_and_label(Role::Slider, "k").set_value_accesskit(5.0);
    wait_idle(&mut h);
    let o = h.state().outcome().unwrap().clone();
    let Algorithm::Hierarchical(p) = &o.request.algorithm else { panic!("{:?}", o.request) };
    assert_eq!((p.k, p.linkage), (5, embedmap::engine::hierarchical::Linkage::Ward));
    assert_eq!(legend_entries(&h).len(), 5);
    // HDBSCAN.
    pick(&mut h, "Algorithm", "HDBSCAN");
    let o = h.state().outcome().unwrap().clone();
    let Algorithm::Hdbscan(p) = &o.request.algorithm else { panic!("{:?}", o.request) };
    assert_eq!(p.min_cluster_size, 15);
    assert_eq!(o.n_clusters, 5, "density.npy has five blobs");
    assert!(o.probabilities.is_some());
    // HDBSCAN's chart: core distances, with cluster_selection_epsilon as its line.
    h.get_by_label_contains("have their core distance below cluster_selection_epsilon");
    h.get_by_role_and_label(Role::SpinButton, "cluster_selection_epsilon").set_value_accesskit(1e6);
    wait_idle(&mut h);
    let o = h.state().outcome().unwrap().clone();
    let Algorithm::Hdbscan(p) = &o.request.algorithm else { panic!("{:?}", o.request) };
    assert!(p.cluster_selection_epsilon > 1e5, "{}", p.cluster_selection_epsilon);
    assert!(o.n_clusters < 5, "an epsilon above every merge keeps the top of the tree: {} clusters", o.n_clusters);
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
}

#[test]
fn the_rules_between_settings_hold_whichever_control_changed_them() {
    use embedmap::engine::hierarchical::Linkage;
    use embedmap::engine::{Control, Metric};
    use embedmap::session::Algorithm;
    let mut h = app_on(LoadSource::File(fixture("density.npy")));
    wait_idle(&mut h);
    pick(&mut h, "Metric", "euclidean");
    pick(&mut h, "Algorithm", "DBSCAN");
    let Algorithm::Dbscan(before) = h.state().outcome().unwrap().request.algorithm.clone() else { panic!() };
    // eps is a distance in one metric: another metric gets that metric's own suggestion.
    pick(&mut h, "Metric", "cosine");
    let Algorithm::Dbscan(after) = h.state().outcome().unwrap().request.algorithm.clone() else { panic!() };
    let emb = &h.state().dataset().unwrap().embeddings;
    let curve = embedmap::engine::neighbors::k_distance_curve(emb, Metric::Cosine, 5, 0, &Control::default()).unwrap();
    let suggested = embedmap::engine::neighbors::suggested_eps(&curve).unwrap();
    assert_eq!((after.metric, after.eps), (Metric::Cosine, suggested), "the euclidean eps was {}", before.eps);
    assert_ne!(after.eps, before.eps);
    // Ward is euclidean only: hierarchical chosen under cosine leaves a kept ward for average.
    pick(&mut h, "Metric", "euclidean");
    pick(&mut h, "Algorithm", "Hierarchical");
    pick(&mut h, "Linkage", "ward");
    pick(&mut h, "Algorithm", "K-means");
    pick(&mut h, "Metric", "cosine");
    pick(&mut h, "Algorithm", "Hierarchical");
    let Algorithm::Hierarchical(p) = h.state().outcome().unwrap().request.algorithm.clone() else { panic!() };
    assert_eq!((p.metric, p.linkage), (Metric::Cosine, Linkage::Average));
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
}

fn press(h: &mut Harness<'_, EmbedmapApp>, pos: egui::Pos2, pressed: bool) {
    h.event(egui::Event::PointerButton { pos, button: egui::PointerButton::Primary, pressed, modifiers: egui::Modifiers::NONE });
}

#[test]
fn a_box_on_the_map_selects_the_points_inside_and_exports_them() {
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    wait_idle(&mut h);
    // A box around the middle of the points, from their drawn positions.
    let (pos, a, b) = box_over(&mut h, 0.25, 0.75);
    let n = pos.len();
    let want: Vec<usize> = (0..n).filter(|&r| pos[r].x > a.x && pos[r].x < b.x && pos[r].y > a.y && pos[r].y < b.y).collect();
    let got = h.state().selection().to_vec();
    assert!(!want.is_empty());
    // Points within a pixel of the edge may fall either way after rounding.
    let near_edge = |r: usize| [pos[r].x - a.x, b.x - pos[r].x, pos[r].y - a.y, b.y - pos[r].y].iter().any(|d| d.abs() < 1.0);
    let differ: Vec<usize> = (0..n).filter(|r| want.contains(r) != got.contains(r)).collect();
    assert!(differ.iter().all(|&r| near_edge(r)), "selection differs away from the edge: {differ:?}");
    h.get_by_label(&format!("{} selected", got.len()));
    // Export only the selection, and read it back.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("selection.csv");
    h.state_mut().push(embedmap::app::Command::ExportSelectionTo(out.clone()));
    wait_idle(&mut h);
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
    let back = embedmap::data::load(&out, &LoadOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(back.n(), got.len());
    let ds = h.state().dataset().unwrap().clone();
    let labels = h.state().outcome().unwrap().labels.clone();
    for (i, &r) in got.iter().enumerate() {
        assert_eq!(back.cell_text(i, "id"), ds.cell_text(r, "id"));
        assert_eq!(back.cell_text(i, "cluster"), labels[r].to_string());
    }
    h.get_by_label("Clear selection").click();
    h.run_steps(2);
    assert!(h.state().selection().is_empty());
}

#[test]
fn clicking_a_point_pins_it_and_lists_its_nearest_neighbours_in_full_dimension() {
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    wait_idle(&mut h);
    // A row whose drawn position has no other point within a few pixels, so the click is unambiguous.
    let n = h.state().dataset().unwrap().n();
    let pos: Vec<egui::Pos2> = (0..n).map(|r| h.state().map_position(r).unwrap()).collect();
    let row = (0..n).find(|&r| (0..n).all(|j| j == r || pos[j].distance(pos[r]) > 8.0)).expect("an isolated point");
    h.hover_at(pos[row]);
    h.step();
    press(&mut h, pos[row], true);
    press(&mut h, pos[row], false);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        h.step();
        if h.state().pinned().is_some_and(|(_, nb)| nb.is_some()) {
            break;
        }
        assert!(Instant::now() < deadline, "no neighbours: {:?}", h.state().pinned().map(|p| p.0));
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
    let (pinned, nb) = h.state().pinned().unwrap();
    assert_eq!(pinned, row);
    let nb = nb.unwrap().to_vec();
    assert_eq!(nb.len(), 10);
    // The same neighbours as a plain scan in the clustering's metric (cosine by default), in f64.
    let emb = h.state().dataset().unwrap().embeddings.clone();
    let m = emb.raw();
    let unit = |i: usize| {
        let r = m.row(i);
        let norm = r.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt();
        r.iter().map(move |&v| f64::from(v) / norm).collect::<Vec<f64>>()
    };
    let q = unit(row);
    let mut all: Vec<(f64, usize)> =
        (0..n).filter(|&j| j != row).map(|j| (1.0 - unit(j).iter().zip(&q).map(|(a, b)| a * b).sum::<f64>(), j)).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (i, &(j, dist)) in nb.iter().enumerate() {
        assert!((f64::from(dist) - all[i].0).abs() < 1e-4, "neighbour {i}: {dist} vs {}", all[i].0);
        assert!(j == all[i].1 || (all[i].0 - f64::from(dist)).abs() < 1e-5, "neighbour {i}: row {j} vs {}", all[i].1);
    }
    h.get_by_label_contains(&format!("Row {}", row + 1));
    h.get_by_label_contains("10 nearest rows (cosine distance, full-dimensional)");
}

#[test]
fn legend_hides_clusters_and_colour_by_metadata_lists_its_values() {
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    wait_idle(&mut h);
    let n = h.state().dataset().unwrap().n();
    assert_eq!(h.state().drawn_rows(), n);
    let size0 = h.state().outcome().unwrap().sizes[0];
    let entry = legend_entries(&h).into_iter().find(|l| l.starts_with("cluster 0 (")).unwrap();
    h.get_by_role_and_label(Role::CheckBox, &entry).click();
    h.run_steps(3);
    assert_eq!(h.state().drawn_rows(), n - size0);
    h.get_by_role_and_label(Role::CheckBox, &entry).click();
    h.run_steps(3);
    assert_eq!(h.state().drawn_rows(), n);
    // Colour by the category column: its most frequent values, with counts, in the legend.
    // ("category" also names the cluster table's frequent-values column: take the open list's entry.)
    h.get_by_label("Colour by").click();
    h.run_steps(2);
    h.get_all_by_label("category").last().unwrap().click();
    wait_idle(&mut h);
    let ds = h.state().dataset().unwrap().clone();
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for r in 0..n {
        *counts.entry(ds.cell_text(r, "category")).or_default() += 1;
    }
    let (top, c) = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).unwrap();
    h.get_by_label(&format!("{top} ({c})"));
}

fn wait_described(h: &mut Harness<'_, EmbedmapApp>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    h.run_steps(2);
    while h.state().describing() {
        assert!(Instant::now() < deadline, "the cluster descriptions did not finish");
        std::thread::sleep(Duration::from_millis(10));
        h.step();
    }
    h.run_steps(2);
}

#[test]
fn the_cluster_table_names_clusters_by_their_terms_lists_frequent_values_and_renames() {
    use embedmap::describe;
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    wait_idle(&mut h);
    wait_described(&mut h);
    let ds = h.state().dataset().unwrap().clone();
    let o = h.state().outcome().unwrap().clone();
    let k = o.sizes.len();
    let texts = ds.column_texts("text");
    let terms = describe::ctfidf_terms(&o.labels, k, |i| texts[i].as_deref(), 8);
    for (c, t) in terms.iter().enumerate() {
        assert_eq!(h.state().cluster_name(c), describe::auto_name(t, 3), "cluster {c}");
    }
    // The label-like column is chosen for the frequent values, with each value's share of the cluster.
    let values = describe::top_values(&o.labels, k, |i| Some(ds.cell_text(i, "category")), 3);
    let (v, _, share) = &values[0][0];
    h.get_by_label_contains(&format!("{v} {:.0}%", share * 100.0));
    // Rename cluster 0 in the table (right-click its name ▸ Rename…, type, Enter).
    let name0 = h.state().cluster_name(0);
    let node = h.get_all_by_label(&name0).max_by(|a, b| a.rect().center().y.total_cmp(&b.rect().center().y)).unwrap();
    node.click_secondary();
    h.run_steps(2);
    h.get_by_label("Rename…").click();
    h.run_steps(3);
    let input = h.query_all_by_role(Role::TextInput).find(|n| n.is_focused()).expect("a focused name field");
    input.type_text("Rust packages");
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    assert_eq!(h.state().cluster_name(0), "Rust packages");
    assert!(h.query_all_by_label("Rust packages").count() >= 2, "the table and the legend show the new name");
}

#[test]
fn the_k_sweep_streams_every_k_and_a_click_applies_one() {
    use embedmap::engine::Control;
    use embedmap::engine::kmeans::KMeansParams;
    use embedmap::engine::silhouette::SilhouetteMode;
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    wait_idle(&mut h);
    h.get_by_label("Run sweep").click();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        h.step();
        let (rows, running) = h.state().sweep_rows();
        if !running && !rows.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the sweep did not finish");
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(3);
    let (rows, _) = h.state().sweep_rows();
    assert_eq!(rows.iter().map(|r| r.k).collect::<Vec<_>>(), (2..=20).collect::<Vec<_>>());
    // The same figures as the library's sweep with the window's metric and seed (cosine, 0, 3 restarts).
    let emb = h.state().dataset().unwrap().embeddings.clone();
    let base = KMeansParams { metric: embedmap::engine::Metric::Cosine, seed: 0, n_init: 3, ..Default::default() };
    let want = embedmap::session::run_sweep(&emb, &[2, 7, 20], &base, SilhouetteMode::Auto, &Control::default(), |_| {}).unwrap();
    for w in &want {
        let got = rows.iter().find(|r| r.k == w.k).unwrap();
        assert!((got.inertia - w.inertia).abs() <= 1e-9 * w.inertia.abs(), "k {}: {} vs {}", w.k, got.inertia, w.inertia);
        assert_eq!(got.silhouette, w.silhouette);
    }
    // A click on k = 7 in the chart applies it.
    let p = h.state().sweep_position(7).unwrap();
    h.hover_at(p);
    h.step();
    press(&mut h, p, true);
    press(&mut h, p, false);
    wait_idle(&mut h);
    assert_eq!(h.state().outcome().unwrap().request.kmeans().unwrap().k, 7);
    assert_eq!(legend_entries(&h).len(), 7);
}

#[test]
fn dragging_the_dendrogram_cut_changes_k_without_rebuilding_the_tree() {
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    wait_idle(&mut h);
    pick(&mut h, "Algorithm", "Hierarchical");
    let o = h.state().outcome().unwrap().clone();
    let tree = o.dendrogram.clone().expect("a hierarchical outcome keeps its tree");
    assert_eq!(o.request.algorithm.k(), Some(12));
    h.get_by_label_contains(": k = 12");
    // Click between the merges that leave 5 clusters: k becomes 5, the labels are that cut.
    let (lo, hi) = tree.cut_height(5).unwrap();
    let p = h.state().dendrogram_position((lo + hi) / 2.0).unwrap();
    h.hover_at(p);
    h.step();
    press(&mut h, p, true);
    press(&mut h, p, false);
    wait_idle(&mut h);
    let o = h.state().outcome().unwrap().clone();
    assert_eq!(o.request.algorithm.k(), Some(5));
    assert_eq!(o.labels, tree.cut(5));
    assert!(o.notes.iter().any(|n| n.contains("reused the dendrogram")), "{:?}", o.notes);
    assert_eq!(legend_entries(&h).len(), 5);
}

/// `embedmap cluster --session SESSION --out …` writes `labels`; returns what it wrote.
fn assert_command_line_reproduces(session: &std::path::Path, labels: &[i32]) -> embedmap::data::Dataset {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_embedmap"))
        .args(["cluster", "--session"])
        .arg(session)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let back = embedmap::data::load(&out, &LoadOptions::default(), &|_, _| {}).unwrap();
    for (row, l) in labels.iter().enumerate() {
        assert_eq!(back.cell_text(row, "cluster"), l.to_string());
    }
    back
}

/// The `x`, `y` columns of an export.
fn exported_xy(back: &embedmap::data::Dataset) -> Vec<[f32; 2]> {
    (0..back.n()).map(|i| [back.cell_text(i, "x").parse().unwrap(), back.cell_text(i, "y").parse().unwrap()]).collect()
}

fn rename(h: &mut Harness<'_, EmbedmapApp>, c: usize, name: &str) {
    wait_described(h);
    let current = h.state().cluster_name(c);
    let node = h.get_all_by_label(&current).max_by(|a, b| a.rect().center().y.total_cmp(&b.rect().center().y)).unwrap();
    node.click_secondary();
    h.run_steps(2);
    h.get_by_label("Rename…").click();
    h.run_steps(3);
    h.query_all_by_role(Role::TextInput).find(|n| n.is_focused()).expect("a focused name field").type_text(name);
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    assert_eq!(h.state().cluster_name(c), name);
}

#[test]
fn a_saved_session_reopens_with_the_same_labels_and_names_in_the_window_and_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("debian400.parquet");
    std::fs::copy(fixture("debian400.parquet"), &data).unwrap();
    let mut h = app_on(LoadSource::File(data.clone()));
    wait_idle(&mut h);
    h.get_by_role_and_label(Role::Slider, "k").set_value_accesskit(5.0);
    wait_idle(&mut h);
    rename(&mut h, 0, "first group");
    // A map that is not the default one: min_dist 0.3.
    h.get_by_label("UMAP settings").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Slider, "min_dist").set_value_accesskit(0.3);
    h.run_steps(2);
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    wait_for_trust(&mut h, "the UMAP layout did not finish");
    let xy = h.state().xy().unwrap();
    let labels = h.state().outcome().unwrap().labels.clone();
    let session = dir.path().join("s.json");
    h.state_mut().push(embedmap::app::Command::SaveSessionTo(session.clone()));
    wait_idle(&mut h);
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&session).unwrap()).unwrap();
    assert_eq!(saved["request"]["k"], 5);
    assert_eq!(saved["cluster_names"]["0"], "first group");
    assert_eq!(saved["projection"]["method"], "umap");
    assert!((saved["projection"]["min_dist"].as_f64().unwrap() - 0.3).abs() < 1e-6, "{}", saved["projection"]);
    // Reopen in a fresh window that started on the demo.
    let mut h2 = app_on(LoadSource::Demo);
    wait_idle(&mut h2);
    h2.state_mut().push(embedmap::app::Command::OpenSession(session.clone()));
    wait_idle(&mut h2);
    wait_described(&mut h2);
    assert_eq!(h2.state().dataset().unwrap().n(), 400);
    assert_eq!(h2.state().outcome().unwrap().labels, labels);
    assert_eq!(h2.state().cluster_name(0), "first group");
    // The same map, bit for bit.
    wait_for_trust(&mut h2, "the reopened session's UMAP layout did not finish");
    assert_eq!(*h2.state().xy().unwrap(), *xy);
    // And headless.
    let back = assert_command_line_reproduces(&session, &labels);
    assert_eq!(exported_xy(&back), *xy);
    // A damaged session gives a message naming the file, and the window keeps its data.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"hello\": 1}").unwrap();
    h2.state_mut().push(embedmap::app::Command::OpenSession(bad));
    wait_idle(&mut h2);
    assert!(h2.state().error().unwrap().contains("is not an embedmap session"), "{:?}", h2.state().error());
    assert_eq!(h2.state().dataset().unwrap().n(), 400);
}

#[test]
fn the_map_exports_as_a_png_of_what_is_on_screen() {
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    wait_idle(&mut h);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("map.png");
    h.state_mut().push(embedmap::app::Command::ExportPngTo(out.clone()));
    wait_idle(&mut h);
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert!(info.width > 200 && info.height > 200);
    let pixels: std::collections::HashSet<[u8; 3]> = buf.chunks_exact(4).map(|p| [p[0], p[1], p[2]]).collect();
    assert!(pixels.len() > 12, "the image has the clusters' colours, not one flat fill");
}

/// A primary-button drag from `a` to `b` in a few steps.
fn drag(h: &mut Harness<'_, EmbedmapApp>, a: egui::Pos2, b: egui::Pos2) {
    h.hover_at(a);
    h.step();
    h.drag_at(a);
    h.step();
    for t in 1..=4 {
        h.hover_at(a + (b - a) * (t as f32 / 4.0));
        h.step();
    }
    h.drop_at(b);
    h.run_steps(3);
}

/// With the Box tool, drags a box between the `lo` and `hi` quantiles of the drawn points' x and
/// y; returns every row's drawn position and the box's corners.
fn box_over(h: &mut Harness<'_, EmbedmapApp>, lo: f32, hi: f32) -> (Vec<egui::Pos2>, egui::Pos2, egui::Pos2) {
    h.get_by_label("Box").click();
    h.run_steps(2);
    let n = h.state().dataset().unwrap().n();
    let pos: Vec<egui::Pos2> = (0..n).map(|r| h.state().map_position(r).unwrap()).collect();
    let mut xs: Vec<f32> = pos.iter().map(|p| p.x).collect();
    let mut ys: Vec<f32> = pos.iter().map(|p| p.y).collect();
    xs.sort_by(f32::total_cmp);
    ys.sort_by(f32::total_cmp);
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "test data: small generated values and indices")]
    let q = |v: &[f32], f: f32| v[((n - 1) as f32 * f) as usize];
    let (a, b) = (egui::pos2(q(&xs, lo), q(&ys, lo)), egui::pos2(q(&xs, hi), q(&ys, hi)));
    drag(h, a, b);
    (pos, a, b)
}

#[test]
fn a_selection_becomes_a_cluster_of_its_own_and_the_session_keeps_it() {
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    wait_idle(&mut h);
    h.get_by_role_and_label(Role::Slider, "k").set_value_accesskit(4.0);
    wait_idle(&mut h);
    box_over(&mut h, 1.0 / 3.0, 2.0 / 3.0);
    let sel = h.state().selection().to_vec();
    assert!(!sel.is_empty());
    h.get_by_label("Create cluster from selection").click();
    wait_idle(&mut h);
    let o = h.state().outcome().unwrap().clone();
    let id = o.labels[sel[0]];
    assert!(sel.iter().all(|&r| o.labels[r] == id), "every selected row is in the new cluster");
    assert_eq!(o.labels.iter().filter(|&&l| l == id).count(), sel.len(), "and nothing else is");
    assert!(o.n_clusters == 5 || o.n_clusters == 4, "{}", o.n_clusters);
    assert_eq!(legend_entries(&h).len(), o.n_clusters);
    assert!(o.notes.iter().any(|n| n.contains("made by hand")), "{:?}", o.notes);
    assert!(o.silhouette.is_ok());
    // The session keeps the hand-made cluster; the command line reproduces it.
    let dir = tempfile::tempdir().unwrap();
    let session = dir.path().join("s.json");
    h.state_mut().push(embedmap::app::Command::SaveSessionTo(session.clone()));
    wait_idle(&mut h);
    assert_command_line_reproduces(&session, &o.labels);
    // Another k starts from the algorithm's clusters again.
    h.get_by_role_and_label(Role::Slider, "k").set_value_accesskit(3.0);
    wait_idle(&mut h);
    assert_eq!(h.state().outcome().unwrap().n_clusters, 3);
}

#[test]
fn a_lasso_selects_the_points_inside_the_drawn_shape() {
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    wait_idle(&mut h);
    h.get_by_label("Lasso").click();
    h.run_steps(2);
    let n = h.state().dataset().unwrap().n();
    let pos: Vec<egui::Pos2> = (0..n).map(|r| h.state().map_position(r).unwrap()).collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for p in &pos {
        (x0, x1, y0, y1) = (x0.min(p.x), x1.max(p.x), y0.min(p.y), y1.max(p.y));
    }
    // A triangle over the points: top-left, top-right, bottom-middle.
    let corners = [egui::pos2(x0, y0), egui::pos2(x1, y0), egui::pos2((x0 + x1) / 2.0, y1)];
    let mut path = Vec::new();
    for i in 0..3 {
        let (a, b) = (corners[i], corners[(i + 1) % 3]);
        for t in 0..8 {
            path.push(a + (b - a) * (t as f32 / 8.0));
        }
    }
    h.hover_at(path[0]);
    h.step();
    h.drag_at(path[0]);
    for &p in &path[1..] {
        h.hover_at(p);
        h.step();
    }
    h.drop_at(corners[0]);
    h.run_steps(3);
    let got = h.state().selection().to_vec();
    // Inside the triangle: below its top edge and between its two slanted edges.
    let side = |a: egui::Pos2, b: egui::Pos2, p: egui::Pos2| (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
    let inside = |p: egui::Pos2| {
        let s = [side(corners[0], corners[1], p), side(corners[1], corners[2], p), side(corners[2], corners[0], p)];
        s.iter().all(|&v| v > 0.0) || s.iter().all(|&v| v < 0.0)
    };
    let near_edge = |p: egui::Pos2| {
        (0..3).any(|i| {
            let (a, b) = (corners[i], corners[(i + 1) % 3]);
            side(a, b, p).abs() / (b - a).length() < 1.5
        })
    };
    let want: Vec<usize> = (0..n).filter(|&r| inside(pos[r])).collect();
    assert!(want.len() > 20 && want.len() < n, "{} of {n}", want.len());
    let differ: Vec<usize> = (0..n).filter(|r| want.contains(r) != got.contains(r)).collect();
    assert!(differ.iter().all(|&r| near_edge(pos[r])), "lasso selection differs away from its edge: {differ:?}");
}

#[test]
fn searching_a_column_highlights_the_rows_that_contain_the_text() {
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    wait_idle(&mut h);
    let n = h.state().dataset().unwrap().n();
    let field =
        h.query_all_by_role(Role::TextInput).find(|t| t.accesskit_node().placeholder() == Some("search text…")).expect("the search field");
    field.focus();
    h.step();
    h.query_all_by_role(Role::TextInput).find(|t| t.accesskit_node().placeholder() == Some("search text…")).unwrap().type_text("Library");
    h.run_steps(3);
    let ds = h.state().dataset().unwrap().clone();
    let want = (0..n).filter(|&r| ds.cell_text(r, "text").to_lowercase().contains("library")).count();
    assert!(want > 0 && want < n);
    h.get_by_label(&format!("{want} matches"));
    // The matches are drawn over the faded rest: every row is still drawn.
    assert_eq!(h.state().drawn_rows(), n);
}

#[test]
fn comparing_with_a_label_column_shows_ari_nmi_and_v_measure_and_how_they_moved() {
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    wait_idle(&mut h);
    h.get_by_label("Compare with").click();
    h.run_steps(2);
    // The open list is in the side panel, left of the cluster table's "category" header.
    h.get_all_by_label("category").min_by(|a, b| a.rect().left().total_cmp(&b.rect().left())).unwrap().click();
    h.run_steps(3);
    let ds = h.state().dataset().unwrap().clone();
    let truth: Vec<String> = (0..ds.n()).map(|r| ds.cell_text(r, "category")).collect();
    let e = embedmap::session::external_indices(&truth, &h.state().outcome().unwrap().labels);
    h.get_by_label(&format!("ARI {:.4}", e.ari));
    h.get_by_label(&format!("NMI {:.4}", e.nmi));
    h.get_by_label(&format!("V-measure {:.4}", e.v_measure));
    // Another k: the figures follow, with their change since the previous setting.
    h.get_by_role_and_label(Role::Slider, "k").set_value_accesskit(6.0);
    wait_idle(&mut h);
    let e2 = embedmap::session::external_indices(&truth, &h.state().outcome().unwrap().labels);
    h.get_by_label(&format!("ARI {:.4}", e2.ari));
    let arrow = if e2.ari > e.ari { "↑" } else { "↓" };
    h.get_by_label(&format!("{arrow} {:+.4}", e2.ari - e.ari));
}

#[test]
fn agreement_with_a_label_column_of_a_large_file_arrives_from_a_helper_thread() {
    // 60,000 rows (above the size computed on the window's thread): three groups in 8 dims.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.csv");
    let mut csv = String::from("truth");
    for t in 0..8 {
        csv.push_str(&format!(",emb_{t}"));
    }
    csv.push('\n');
    let mut state = 12345u64;
    for r in 0..60_000usize {
        let g = r % 3;
        csv.push_str(["north", "east", "west"][g]);
        for t in 0..8 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let noise = (state >> 40) as f64 / (1u64 << 24) as f64 - 0.5;
            let centre = if t == g { 6.0 } else { 0.0 };
            csv.push_str(&format!(",{:.4}", centre + noise));
        }
        csv.push('\n');
    }
    std::fs::write(&path, csv).unwrap();
    let mut h = app_on(LoadSource::File(path));
    wait_idle(&mut h);
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
    assert_eq!(h.state().dataset().unwrap().n(), 60_000);
    h.get_by_label("Compare with").click();
    h.run_steps(2);
    h.get_all_by_label("truth").min_by(|a, b| a.rect().left().total_cmp(&b.rect().left())).unwrap().click();
    wait_idle(&mut h);
    let ds = h.state().dataset().unwrap().clone();
    let truth: Vec<String> = (0..ds.n()).map(|r| ds.cell_text(r, "truth")).collect();
    let e = embedmap::session::external_indices(&truth, &h.state().outcome().unwrap().labels);
    h.get_by_label(&format!("ARI {:.4}", e.ari));
    h.get_by_label(&format!("NMI {:.4}", e.nmi));
}

#[test]
fn switching_to_umap_moves_the_points_and_shows_the_trust_figures() {
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    // The map opens on UMAP (PCA's positions shown until it finishes).
    wait_idle(&mut h);
    wait_for_trust(&mut h, "the UMAP layout did not finish");
    let umap_trust = h.state().map_trust().unwrap();
    let umap_xy = h.state().xy().unwrap();
    assert!(h.query_by_label_contains("epochs · spectral start").is_some(), "the map does not say it is UMAP");
    h.get_by_label("PCA").click();
    h.run_steps(2);
    // PCA's own trust figures appear once measured on the projection thread.
    wait_for_trust(&mut h, "PCA's trust figures did not appear");
    let pca_trust = h.state().map_trust().unwrap();
    let pca_xy = h.state().xy().unwrap();
    assert_eq!(pca_xy.len(), 400);
    assert_ne!(*umap_xy, *pca_xy, "the points did not move");
    assert!(umap_trust.trustworthiness > pca_trust.trustworthiness + 0.05, "{umap_trust:?} vs {pca_trust:?}");
    assert!(h.query_by_label_contains("trustworthiness 0.").is_some(), "the trust figures are not on the toolbar");
    // Back to UMAP is instant: the layout is kept.
    h.get_by_label("UMAP").click();
    h.run_steps(2);
    assert_eq!(*h.state().xy().unwrap(), *umap_xy);
    assert!(!h.state().is_busy() && !h.state().is_projecting());
}

#[test]
fn neighbourhood_colouring_paints_each_row_by_its_own_recall() {
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    wait_idle(&mut h);
    wait_for_trust(&mut h, "the UMAP layout did not finish");
    let trust = h.state().map_trust().unwrap();
    let recall = h.state().map_recall().expect("every row's recall is measured at 400 rows");
    assert_eq!(recall.len(), 400);
    // The rows' own recalls average to the map's figure.
    let mean = recall.iter().map(|&v| f64::from(v)).sum::<f64>() / 400.0;
    assert!((mean - trust.knn_recall).abs() < 1e-6, "{mean} vs {}", trust.knn_recall);
    h.get_by_label("Colour by").click();
    h.run_steps(2);
    h.get_by_label("neighbourhood kept").click();
    h.run_steps(3);
    assert_eq!(h.query_all_by_label_contains("of its 15 neighbours kept").count(), 6, "the legend does not explain the colouring");
}

#[test]
fn switching_to_tsne_lays_out_the_same_map_as_the_engine_and_shows_its_trust() {
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    wait_idle(&mut h);
    wait_for_trust(&mut h, "the UMAP layout did not finish");
    let umap_xy = h.state().xy().unwrap();
    h.get_by_label("t-SNE").click();
    h.run_steps(2);
    let deadline = Instant::now() + Duration::from_secs(60);
    while h.state().is_projecting() || h.query_by_label_contains("perplexity 30 · 750 iterations").is_none() {
        assert!(Instant::now() < deadline, "the t-SNE layout did not finish");
        std::thread::sleep(Duration::from_millis(20));
        h.step();
    }
    wait_for_trust(&mut h, "t-SNE's trust figures did not appear");
    let xy = h.state().xy().unwrap();
    assert_ne!(*xy, *umap_xy, "the points did not move");
    // The window's layout is the engine's for the same data, metric and seed, bit for bit.
    let ds = h.state().dataset().unwrap().clone();
    let metric = h.state().request().unwrap().algorithm.metric();
    let want = embedmap::engine::project::tsne::tsne(
        &ds.embeddings,
        metric,
        &embedmap::engine::project::tsne::TsneParams::default(),
        &embedmap::engine::Control::default(),
        None,
    )
    .unwrap();
    assert_eq!(*xy, want.coords);
    let t = h.state().map_trust().unwrap();
    assert!(t.trustworthiness > 0.75, "{t:?}");
    // Back to UMAP is instant: its layout is kept.
    h.get_by_label("UMAP").click();
    h.run_steps(2);
    assert_eq!(*h.state().xy().unwrap(), *umap_xy);
}

#[test]
fn clustering_on_a_umap_reduction_says_so_and_shows_both_noise_shares() {
    use embedmap::session::{Algorithm, Reduce, run_cluster};
    let mut h = app_on(LoadSource::File(fixture("debian400.parquet")));
    wait_idle(&mut h);
    pick(&mut h, "Algorithm", "HDBSCAN");
    h.get_by_role_and_label(Role::Slider, "min_cluster_size").set_value_accesskit(8.0);
    wait_idle(&mut h);
    let full = h.state().outcome().unwrap().clone();
    assert!(full.request.reduce.is_none());
    pick(&mut h, "Cluster on", "UMAP n-d");
    let red = h.state().outcome().unwrap().clone();
    assert_eq!(red.request.reduce, Some(Reduce::umap(10)));
    assert!(matches!(red.request.algorithm, Algorithm::Hdbscan(_)));
    assert!(red.n_noise < full.n_noise, "{} vs {}", red.n_noise, full.n_noise);
    assert!(h.query_by_label_contains("clustered on a UMAP 10-d").is_some(), "the readout does not say which space clustered");
    assert!(h.query_by_label_contains("noise share:").is_some(), "both noise shares are not shown");
    // The window's labels are the engine's for the same request.
    let ds = h.state().dataset().unwrap().clone();
    let want = run_cluster(&ds.embeddings, &red.request, &embedmap::engine::Control::default()).unwrap();
    assert_eq!(want.labels, red.labels);
    // Fewer dimensions, then back to the full embedding: that one is kept.
    h.get_by_role_and_label(Role::Slider, "dimensions").set_value_accesskit(5.0);
    wait_idle(&mut h);
    assert_eq!(h.state().outcome().unwrap().request.reduce.as_ref().map(|r| r.dim), Some(5));
    pick(&mut h, "Cluster on", "full embedding");
    assert_eq!(h.state().outcome().unwrap().labels, full.labels);
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
}

/// Writes `rows` × `d` float32 values as a `.npy` file.
fn write_npy(path: &std::path::Path, values: &[f32], rows: usize, d: usize) {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {d}), }}");
    // Magic, version 1.0, header length, then the dictionary padded with spaces to a multiple of 64.
    let unpadded = 10 + dict.len() + 1;
    let header = format!("{dict}{}\n", " ".repeat(unpadded.next_multiple_of(64) - unpadded));
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

/// 8,000 rows of 40 overlapping blobs in 32-d: weak structure, as real text has, so that
/// K-means needs many passes and its preview comes well before its result.
fn weak_blobs() -> Vec<f32> {
    let mut next = common::uniform(0x9e37_79b9_7f4a_7c15u64);
    let centres: Vec<f32> = (0..40 * 32).map(|_| next()).collect();
    (0..8000).flat_map(|i| (0..32).map(|j| centres[(i % 40) * 32 + j] + 1.5 * next()).collect::<Vec<_>>()).collect()
}

#[test]
fn a_slider_move_shows_a_marked_preview_then_the_seeded_result_which_export_and_command_line_share() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("weak.npy");
    write_npy(&data, &weak_blobs(), 8000, 32);
    let mut h = app_on(LoadSource::File(data.clone()));
    wait_idle(&mut h);
    // PCA keeps the test light (no layout running beside it).
    h.get_by_label("PCA").click();
    wait_idle(&mut h);
    let k_of = |h: &Harness<'_, EmbedmapApp>| h.state().outcome().and_then(|o| o.request.kmeans().map(|p| p.k));
    assert_eq!(k_of(&h), Some(12));
    // A slider path: 12 → 10, and on to 9 before 10's result arrives.
    h.get_by_role_and_label(Role::Slider, "k").set_value_accesskit(10.0);
    h.step();
    h.get_by_role_and_label(Role::Slider, "k").set_value_accesskit(9.0);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut preview_seen = false;
    loop {
        assert!(Instant::now() < deadline, "no result for k = 9");
        std::thread::sleep(Duration::from_millis(2));
        h.step();
        let o = h.state().outcome().unwrap().clone();
        if o.request.kmeans().map(|p| p.k) != Some(9) {
            continue;
        }
        if o.preview.is_some() {
            if !preview_seen {
                // Marked as what it is, in the readout and in its notes.
                h.run_steps(1);
                h.get_by_label_contains("preview · refining");
                // (From the clusters of k = 10's preview or of k = 12's result, whichever was on screen.)
                assert!(o.notes[0].starts_with("preview: K-means on 1024 sampled rows from the "), "{:?}", o.notes);
                assert!(!o.silhouette.as_ref().unwrap().exact, "a preview's silhouette is sampled");
                // A preview is not exported.
                let early = dir.path().join("early.csv");
                h.state_mut().push(embedmap::app::Command::ExportTo(early.clone()));
                h.step();
                if h.state().outcome().unwrap().preview.is_some() {
                    assert!(h.state().error().is_some_and(|e| e.contains("still being refined")), "{:?}", h.state().error());
                    assert!(!early.exists());
                }
                h.state_mut().push(embedmap::app::Command::DismissError);
            }
            preview_seen = true;
        } else if !h.state().is_busy() {
            break;
        }
    }
    assert!(preview_seen, "the preview never showed before the seeded result");
    h.run_steps(2);
    assert!(h.query_by_label_contains("preview · refining").is_none(), "the seeded result is still marked as a preview");
    let o = h.state().outcome().unwrap().clone();
    assert!(o.converged == Some(true) && o.silhouette.as_ref().unwrap().exact);
    // The export is the seeded result: the command line gives the same labels from its sidecar.
    let out = dir.path().join("labelled.csv");
    h.state_mut().push(embedmap::app::Command::ExportTo(out.clone()));
    wait_idle(&mut h);
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
    let back = embedmap::data::load(&out, &LoadOptions::default(), &|_, _| {}).unwrap();
    assert!((0..8000).all(|row| back.cell_text(row, "cluster") == o.labels[row].to_string()));
    assert_command_line_reproduces(&dir.path().join("labelled.params.json"), &o.labels);
    // And the same as a run of `cluster` with only k and the seed given.
    let cli = dir.path().join("cli.csv");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_embedmap"))
        .args(["cluster", data.to_str().unwrap(), "--k", "9", "--metric", "cosine", "--seed", "0", "--out", cli.to_str().unwrap()])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let text = std::fs::read_to_string(&cli).unwrap();
    let labels: Vec<i32> = text.lines().skip(1).map(|l| l.split(',').next().unwrap().parse().unwrap()).collect();
    assert_eq!(labels, o.labels);
}

#[test]
fn a_file_above_half_a_million_rows_opens_with_mini_batch_k_means_as_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.npy");
    let n = embedmap::engine::kmeans::minibatch::DEFAULT_ABOVE + 1;
    let mut next = common::uniform(5);
    // Three well-separated groups.
    let values: Vec<f32> = (0..n).flat_map(|i| [(i % 3) as f32 * 10.0 + next(), next()]).collect();
    write_npy(&path, &values, n, 2);
    let mut h = app_on(LoadSource::File(path));
    let deadline = Instant::now() + Duration::from_secs(120);
    h.step();
    while h.state().is_busy() || h.state().outcome().is_none() {
        assert!(Instant::now() < deadline, "the clustering did not finish");
        assert!(h.state().error().is_none(), "{:?}", h.state().error());
        std::thread::sleep(Duration::from_millis(20));
        h.step();
    }
    assert_eq!(h.state().dataset().unwrap().n(), n);
    assert_eq!(h.state().algorithm(), embedmap::session::AlgorithmKind::MinibatchKmeans);
    let o = h.state().outcome().unwrap();
    assert!(matches!(o.request.algorithm, embedmap::session::Algorithm::MinibatchKmeans(_)), "{:?}", o.request.algorithm);
    let notice = h.state().notice().unwrap_or_default().to_string();
    assert!(notice.contains("mini-batch K-means, the default above 500000 rows"), "{notice}");
    h.run_steps(2);
    h.get_by_label_contains("the default above 500000 rows");
}

#[test]
fn an_exported_model_labels_the_file_as_the_window_does_with_its_names() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("debian400.parquet");
    let mut h = app_on(LoadSource::File(data.clone()));
    wait_idle(&mut h);
    h.get_by_role_and_label(Role::Slider, "k").set_value_accesskit(6.0);
    wait_idle(&mut h);
    rename(&mut h, 1, "second group");
    let labels = h.state().outcome().unwrap().labels.clone();
    let model = dir.path().join("m.embedmap.json");
    h.state_mut().push(embedmap::app::Command::ExportModelTo(model.clone()));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !model.is_file() {
        assert!(Instant::now() < deadline && h.state().error().is_none(), "{:?}", h.state().error());
        std::thread::sleep(Duration::from_millis(20));
        h.step();
    }
    h.run_steps(3);
    assert!(h.state().error().is_none(), "{:?}", h.state().error());
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert_eq!(saved["clusters"][1]["name"], "second group");
    assert_eq!(saved["agreement"]["same"], 400);
    let out = dir.path().join("a.csv");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_embedmap"))
        .args(["assign", data.to_str().unwrap(), "--model", model.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let back = embedmap::data::load(&out, &LoadOptions::default(), &|_, _| {}).unwrap();
    let assigned: Vec<i32> = (0..400).map(|i| back.cell_text(i, "cluster").parse().unwrap()).collect();
    assert_eq!(assigned, labels);
}

/// Settings written through `eframe::Storage`, in memory.
#[derive(Default)]
struct Saved(std::collections::HashMap<String, String>);

impl eframe::Storage for Saved {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

#[test]
fn a_benchmark_never_saves_its_settings_as_the_users_even_after_it_has_finished() {
    use eframe::App as _;
    // A user's window saves its settings.
    let mut h = app_on(LoadSource::Demo);
    wait_idle(&mut h);
    let mut saved = Saved::default();
    h.state_mut().save(&mut saved);
    assert!(saved.0.contains_key(eframe::APP_KEY));
    // A frame benchmark runs to its end (it closes the window), and the settings it ran with
    // are not saved, neither while it runs nor after.
    let mut h = Harness::builder().with_size(egui::vec2(1280.0, 800.0)).with_max_steps(20).build_eframe(|cc| {
        let mut app = EmbedmapApp::new(&cc.egui_ctx, None, LoadSource::Demo, LoadOptions::default());
        app.run_benchmark(embedmap::app::Benchmark::Frames(2));
        app
    });
    let mut saved = Saved::default();
    h.state_mut().save(&mut saved);
    let deadline = Instant::now() + Duration::from_secs(60);
    assert!(h.state().benchmarking());
    while h.state().benchmarking() {
        assert!(Instant::now() < deadline, "the benchmark did not finish");
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.state_mut().save(&mut saved);
    assert!(saved.0.is_empty(), "{:?}", saved.0.keys());
}
