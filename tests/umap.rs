//! UMAP and the map's trust figures against umap-learn and scikit-learn on committed fixtures
//! (`tests/fixtures/make_umap_fixtures.py` writes `tests/fixtures/umap/*.json`).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{fixture_set, floats, json, matrix};
use embedmap::engine::neighbors::KnnGraph;
use embedmap::engine::project::spectral::InitKind;
use embedmap::engine::project::trust::trust;
use embedmap::engine::project::umap::{FuzzyGraph, UmapError, UmapParams, UmapRunError, find_ab, transform, umap};
use embedmap::engine::{Control, Embeddings, Metric};
use serde_json::Value;

const DATASETS: [&str; 4] = ["blobs", "sphere", "debian400", "two_blobs"];

fn load(name: &str) -> (Embeddings, Value, Metric) {
    fixture_set("umap", name)
}

fn coords(v: &Value) -> Vec<[f32; 2]> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let p = floats(p);
            #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
            [p[0] as f32, p[1] as f32]
        })
        .collect()
}

#[test]
fn find_ab_matches_umap_learn() {
    let j = json("umap/blobs.json");
    for e in j["find_ab"].as_array().unwrap() {
        let (spread, min_dist) = (e["spread"].as_f64().unwrap(), e["min_dist"].as_f64().unwrap());
        let (a, b) = find_ab(spread, min_dist);
        let (wa, wb) = (e["a"].as_f64().unwrap(), e["b"].as_f64().unwrap());
        assert!(
            (a - wa).abs() < 1e-3 * wa.max(1.0) && (b - wb).abs() < 1e-3,
            "spread {spread} min_dist {min_dist}: ({a}, {b}) vs ({wa}, {wb})"
        );
    }
}

#[test]
fn fuzzy_graph_matches_umap_learn() {
    for name in ["blobs", "debian400"] {
        let (emb, j, metric) = load(name);
        let s = &j["smooth_knn"];
        let knn = KnnGraph::build(&emb, metric, 14, &Control::default()).unwrap();
        let g = FuzzyGraph::from_knn(&knn, 15);
        let (rho, sigma) = (floats(&s["rhos"]), floats(&s["sigmas"]));
        for i in 0..rho.len() {
            assert!((f64::from(g.rho[i]) - rho[i]).abs() < 2e-5 * rho[i].max(1e-3), "{name} rho {i}: {} vs {}", g.rho[i], rho[i]);
            assert!((f64::from(g.sigma[i]) - sigma[i]).abs() < 2e-3 * sigma[i], "{name} sigma {i}: {} vs {}", g.sigma[i], sigma[i]);
        }
        let (rows, cols, vals) = (floats(&s["fuzzy_rows"]), floats(&s["fuzzy_cols"]), floats(&s["fuzzy_vals"]));
        assert_eq!(g.graph.nnz(), vals.len(), "{name}: entries");
        for t in 0..vals.len() {
            #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "test data: small generated values and indices")]
            let (r, c) = (rows[t] as usize, cols[t] as u32);
            let (idx, w) = g.graph.row(r);
            let pos = idx.iter().position(|&x| x == c).unwrap_or_else(|| panic!("{name}: entry ({r}, {c}) missing"));
            assert!((f64::from(w[pos]) - vals[t]).abs() < 2e-4, "{name} ({r}, {c}): {} vs {}", w[pos], vals[t]);
        }
    }
}

#[test]
fn trustworthiness_and_recall_equal_sklearn() {
    for name in DATASETS {
        let (emb, j, metric) = load(name);
        let tc = &j["trust_check"];
        for (key, want_t, want_t5, want_r) in [
            ("coords", "trustworthiness_k15", Some("trustworthiness_k5"), "knn_recall_k15"),
            ("coords_noisy", "coords_noisy_trustworthiness_k15", None, "coords_noisy_knn_recall_k15"),
        ] {
            let xy = coords(&tc[key]);
            let got = trust(&emb, metric, &xy, 15, 0, &Control::default()).unwrap().unwrap();
            let want = tc[want_t].as_f64().unwrap();
            assert!((got.trustworthiness - want).abs() < 1e-6, "{name} {key}: {} vs {want}", got.trustworthiness);
            assert!((got.knn_recall - tc[want_r].as_f64().unwrap()).abs() < 1e-9, "{name} {key} recall {}", got.knn_recall);
            assert!(got.ci95.is_none());
            if let Some(k5) = want_t5 {
                let got5 = trust(&emb, metric, &xy, 5, 0, &Control::default()).unwrap().unwrap();
                assert!((got5.trustworthiness - tc[k5].as_f64().unwrap()).abs() < 1e-6, "{name} k5: {}", got5.trustworthiness);
            }
        }
    }
}

fn layout(emb: &Embeddings, metric: Metric, seed: u64) -> embedmap::engine::project::umap::UmapLayout {
    umap(emb, metric, &UmapParams { seed, ..UmapParams::default() }, &Control::default(), None).unwrap()
}

#[test]
fn umap_keeps_as_much_neighbourhood_as_umap_learn() {
    for name in DATASETS {
        let (emb, j, metric) = load(name);
        let l = layout(&emb, metric, 0);
        assert!(l.coords.iter().all(|p| p[0].is_finite() && p[1].is_finite()), "{name}: non-finite coordinates");
        let t = trust(&emb, metric, &l.coords, 15, 0, &Control::default()).unwrap().unwrap();
        let want = j["umap_learn"]["trustworthiness_median"].as_f64().unwrap();
        eprintln!(
            "{name}: trustworthiness {:.4} (umap-learn {want:.4}), recall {:.4} (umap-learn {:.4}), init {}",
            t.trustworthiness,
            t.knn_recall,
            j["umap_learn"]["knn_recall_median"],
            l.init.describe()
        );
        assert!(t.trustworthiness >= want - 0.01, "{name}: trustworthiness {} below umap-learn's {want} − 0.01", t.trustworthiness);
    }
}

#[test]
fn same_seed_gives_identical_layouts_on_one_thread_and_two() {
    let (emb, _, metric) = load("debian400");
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| layout(&emb, metric, 5).coords);
    let (emb2, _, _) = load("debian400");
    let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(|| layout(&emb2, metric, 5).coords);
    assert!(one.iter().zip(&two).all(|(a, b)| a[0].to_bits() == b[0].to_bits() && a[1].to_bits() == b[1].to_bits()));
    let other = layout(&emb, metric, 6).coords;
    assert_ne!(one, other, "a different seed gives a different layout");
}

#[test]
fn a_new_min_dist_reuses_the_graph_and_start_and_gives_the_layout_a_fresh_run_gives() {
    let (emb, _, metric) = load("debian400");
    let first = layout(&emb, metric, 3);
    assert!(!first.timings_ms.reused);
    let wider = UmapParams { min_dist: 0.5, spread: 1.5, seed: 3, ..UmapParams::default() };
    let again = umap(&emb, metric, &wider, &Control::default(), None).unwrap();
    assert!(again.timings_ms.reused, "the fuzzy graph was rebuilt");
    assert!(std::sync::Arc::ptr_eq(&first.graph, &again.graph));
    assert!((again.timings_ms.knn_ms, again.timings_ms.fuzzy_ms, again.timings_ms.init_ms) == (0.0, 0.0, 0.0));
    let (fresh_emb, _, _) = load("debian400");
    let fresh = umap(&fresh_emb, metric, &wider, &Control::default(), None).unwrap();
    assert!(!fresh.timings_ms.reused);
    assert_eq!(again.coords, fresh.coords, "reusing the graph changed the layout");
    assert_ne!(again.coords, first.coords);
    // Another n_neighbors or seed builds its own.
    let other = umap(&emb, metric, &UmapParams { n_neighbors: 10, seed: 3, ..UmapParams::default() }, &Control::default(), None).unwrap();
    assert!(!other.timings_ms.reused);
}

#[test]
fn transform_places_fitted_rows_near_their_positions_and_keeps_trust() {
    let (emb, _, metric) = load("blobs");
    let l = layout(&emb, metric, 0);
    let pts = emb.points(metric);
    let placed = transform(pts, &l.coords, pts, metric, &l.params, &Control::default()).unwrap();
    let span = l.coords.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
    let span = span.1 - span.0;
    let mut moved: Vec<f32> = placed.iter().zip(&l.coords).map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1])).collect();
    moved.sort_by(f32::total_cmp);
    let median = moved[moved.len() / 2];
    assert!(median < 0.05 * span, "median move {median} of a map {span} wide");
    let fitted = trust(&emb, metric, &l.coords, 15, 0, &Control::default()).unwrap().unwrap();
    let again = trust(&emb, metric, &placed, 15, 0, &Control::default()).unwrap().unwrap();
    assert!(again.trustworthiness >= fitted.trustworthiness - 0.02, "{} vs {}", again.trustworthiness, fitted.trustworthiness);
}

#[test]
fn disconnected_graph_lays_out_both_components_apart() {
    let (emb, j, metric) = load("two_blobs");
    let l = layout(&emb, metric, 0);
    assert_eq!(l.init, InitKind::Components { count: 2 });
    let truth: Vec<i64> = j["true_labels"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    // The two blobs' map boxes do not overlap along the axis that separates their centres.
    let centre = |c: i64| {
        let pts: Vec<&[f32; 2]> = l.coords.iter().zip(&truth).filter(|(_, t)| **t == c).map(|(p, _)| p).collect();
        let len = pts.len() as f32;
        [pts.iter().map(|p| p[0]).sum::<f32>() / len, pts.iter().map(|p| p[1]).sum::<f32>() / len]
    };
    let (a, b) = (centre(0), centre(1));
    let gap = (a[0] - b[0]).hypot(a[1] - b[1]);
    let spread = |c: i64, m: [f32; 2]| {
        l.coords.iter().zip(&truth).filter(|(_, t)| **t == c).map(|(p, _)| (p[0] - m[0]).hypot(p[1] - m[1])).fold(0.0f32, f32::max)
    };
    assert!(gap > spread(0, a) + spread(1, b), "blobs overlap: gap {gap}, radii {} {}", spread(0, a), spread(1, b));
}

#[test]
fn tiny_duplicate_and_identical_inputs_give_a_layout_or_a_clear_refusal() {
    let two = matrix(&[vec![0.0, 1.0], vec![1.0, 0.0]]);
    match umap(&two, Metric::Euclidean, &UmapParams::default(), &Control::default(), None) {
        Err(UmapRunError::Invalid(UmapError::TooFewRows(2))) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(UmapRunError::Invalid(UmapError::TooFewRows(2)).to_string().contains("at least 3 rows"));
    let ten: Vec<Vec<f32>> = (0..10).map(|i| vec![i as f32, (i * i) as f32 * 0.1, 1.0]).collect();
    let l = umap(&matrix(&ten), Metric::Euclidean, &UmapParams::default(), &Control::default(), None).unwrap();
    assert_eq!(l.coords.len(), 10);
    assert_eq!(l.params.n_neighbors, 10);
    // Every row duplicated, and all rows identical.
    let dup: Vec<Vec<f32>> = (0..60).map(|i| vec![(i / 2) as f32, ((i / 2) % 7) as f32]).collect();
    let same: Vec<Vec<f32>> = (0..40).map(|_| vec![0.5, 0.5, 0.5]).collect();
    for (what, rows) in [("duplicates", dup), ("identical", same)] {
        for metric in [Metric::Euclidean, Metric::Cosine] {
            let l = umap(&matrix(&rows), metric, &UmapParams::default(), &Control::default(), None).unwrap();
            assert!(l.coords.iter().all(|p| p[0].is_finite() && p[1].is_finite()), "{what} {metric}: non-finite coordinates");
        }
    }
}

#[test]
fn cancel_stops_a_layout_within_100_ms() {
    let (emb, _, metric) = load("debian400");
    let cancel = Arc::new(AtomicBool::new(false));
    let ctl = Control::new(Arc::clone(&cancel), None);
    let p = UmapParams { n_epochs: Some(10_000), ..UmapParams::default() };
    let stopped_at: Arc<std::sync::Mutex<Option<Instant>>> = Arc::default();
    let (cancel2, stopped2) = (Arc::clone(&cancel), Arc::clone(&stopped_at));
    let on_epoch = move |epoch: usize, _: usize, _: &[[f32; 2]]| {
        if epoch == 50 {
            *stopped2.lock().unwrap() = Some(Instant::now());
            cancel2.store(true, Ordering::Relaxed);
        }
    };
    let r = umap(&emb, metric, &p, &ctl, Some(&on_epoch));
    let done = Instant::now();
    assert!(matches!(r, Err(UmapRunError::Cancelled(_))), "{r:?}");
    let asked = stopped_at.lock().unwrap().expect("the layout reached epoch 50");
    assert!(done - asked < Duration::from_millis(100), "stopped {:?} after the request", done - asked);
}

#[test]
fn a_large_input_is_fitted_on_a_sample_and_the_rest_placed_near_their_neighbours() {
    let (emb, _, metric) = load("debian400");
    let full = layout(&emb, metric, 0);
    let full_t = trust(&emb, metric, &full.coords, 15, 0, &Control::default()).unwrap().unwrap();
    let params = UmapParams { fit_rows: Some(250), ..UmapParams::default() };
    let l = umap(&emb, metric, &params, &Control::default(), None).unwrap();
    assert_eq!(l.coords.len(), 400);
    assert!(l.coords.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
    let s = l.sampled.clone().expect("400 rows above fit_rows 250 are sampled");
    assert_eq!((s.fitted, s.placed), (250, 150));
    assert!(s.search.recall >= 0.95, "{:?}", s.search);
    let t = trust(&emb, metric, &l.coords, 15, 0, &Control::default()).unwrap().unwrap();
    eprintln!("sampled: trustworthiness {:.4} (all rows fitted {:.4})", t.trustworthiness, full_t.trustworthiness);
    // umap-learn 0.5.12, fitted on 250 of these rows (three seeded samples) and transforming
    // the rest, keeps trustworthiness 0.734–0.749 against 0.797 for all rows.
    assert!(t.trustworthiness >= 0.734 - 0.01, "{} (all rows fitted {})", t.trustworthiness, full_t.trustworthiness);
    // Seeded: the same again.
    let again = umap(&emb, metric, &params, &Control::default(), None).unwrap();
    assert_eq!(again.coords, l.coords);
    // A fit_rows below n_neighbors + 1 is refused.
    let bad = UmapParams { fit_rows: Some(10), ..UmapParams::default() };
    assert!(umap(&emb, metric, &bad, &Control::default(), None).unwrap_err().to_string().contains("fit_rows"));
}
