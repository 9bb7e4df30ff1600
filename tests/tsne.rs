//! t-SNE against openTSNE on committed fixtures (`tests/fixtures/make_tsne_fixtures.py` writes
//! `tests/fixtures/tsne/*.json`): the perplexity calibration, the symmetric affinities, the
//! gradient exact and interpolated, and the quality of whole layouts.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{fixture_set, floats, matrix};
use embedmap::engine::neighbors::KnnGraph;
use embedmap::engine::project::spectral::SparseGraph;
use embedmap::engine::project::trust::trust;
use embedmap::engine::project::tsne::{
    TsneError, TsneInit, TsneLayout, TsneParams, TsneRunError, affinities, conditional_row, gradient, tsne,
};
use embedmap::engine::rng::Rng;
use embedmap::engine::{Control, Embeddings, Matrix, Metric};
use serde_json::Value;

const DATASETS: [&str; 4] = ["blobs", "sphere", "debian400", "two_blobs"];

fn load(name: &str) -> (Embeddings, Value, Metric) {
    fixture_set("tsne", name)
}

fn points(v: &Value) -> Vec<[f64; 2]> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let p = floats(p);
            [p[0], p[1]]
        })
        .collect()
}

fn indices(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| u32::try_from(x.as_u64().unwrap()).unwrap()).collect()
}

/// The largest |a − b| over the largest |b|, over both coordinates of every point.
fn rel_diff(a: &[[f64; 2]], b: &[[f64; 2]]) -> f64 {
    let scale = b.iter().flat_map(|p| [p[0].abs(), p[1].abs()]).fold(0.0, f64::max);
    a.iter().zip(b).flat_map(|(x, y)| [(x[0] - y[0]).abs(), (x[1] - y[1]).abs()]).fold(0.0, f64::max) / scale
}

/// The largest squared distance of a row from the mean: distance tiles from a GEMM in f32 are
/// exact to a few ε times it (absolute, in squared distance). For euclidean data only (cosine
/// rows are unit vectors: 1).
fn spread(emb: &Embeddings, metric: Metric) -> f64 {
    if metric == Metric::Cosine {
        return 1.0;
    }
    let m = emb.raw();
    let (n, d) = (m.n(), m.d());
    let mean: Vec<f64> = (0..d).map(|c| (0..n).map(|i| f64::from(m.row(i)[c])).sum::<f64>() / n as f64).collect();
    (0..n).map(|i| m.row(i).iter().zip(&mean).map(|(&x, &c)| (f64::from(x) - c).powi(2)).sum::<f64>()).fold(0.0, f64::max)
}

/// Tolerance on P and the exact gradient, relative to their largest values: 10⁻⁴ where the
/// distances are exact to f32, wider where the f32 distance tiles are coarser than that relative
/// to the neighbour distances (two blobs 1000 apart: within a blob d² ≈ 10 is known to ±0.05).
fn p_tolerance(emb: &Embeddings, metric: Metric, j: &Value) -> f64 {
    let near = floats(&j["affinity"]["rows"][0]["distances"])[0].powi(2);
    (1e-4f64).max(60.0 * f64::from(f32::EPSILON) * spread(emb, metric) / near)
}

/// Our affinities for a fixture's data: the exact graph with the fixture's k, perplexity 30.
fn our_p(emb: &Embeddings, metric: Metric, j: &Value) -> SparseGraph {
    let k = usize::try_from(j["affinity"]["k_neighbors"].as_u64().unwrap()).unwrap();
    let knn = KnnGraph::build(emb, metric, k, &Control::default()).unwrap();
    affinities(&knn, k, j["affinity"]["perplexity"].as_f64().unwrap())
}

#[test]
fn conditional_probabilities_match_opentsne() {
    for name in DATASETS {
        let (emb, j, metric) = load(name);
        let a = &j["affinity"];
        let k = usize::try_from(a["k_neighbors"].as_u64().unwrap()).unwrap();
        let knn = KnnGraph::build(&emb, metric, k, &Control::default()).unwrap();
        let ties = indices(&a["boundary_near_ties"]);
        let slack = 8.0 * f64::from(f32::EPSILON) * spread(&emb, metric);
        let mut worst = 0.0f64;
        for row in a["rows"].as_array().unwrap() {
            let i = usize::try_from(row["row"].as_u64().unwrap()).unwrap();
            let (want_idx, want_d, want_p) = (indices(&row["neighbors"]), floats(&row["distances"]), floats(&row["p"]));
            // The neighbours and their distances, as openTSNE's exact search (near-equal distances
            // may come in either order).
            let (idx, d) = knn.neighbors(i);
            #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
            let same = if ties.contains(&(i as u32)) { k - 1 } else { k };
            let (mut ours, mut theirs) = (idx[..same].to_vec(), want_idx[..same].to_vec());
            ours.sort_unstable();
            theirs.sort_unstable();
            assert_eq!(ours, theirs, "{name} row {i}: neighbours");
            for c in 0..k {
                let (got, want) = (f64::from(d[c]).powi(2), want_d[c].powi(2));
                assert!((got - want).abs() < 1e-5 * want.max(1.0) + slack, "{name} row {i}: distance {c}: {} vs {}", d[c], want_d[c]);
            }
            // The calibration from openTSNE's own distances.
            #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
            let ds: Vec<f32> = want_d.iter().map(|&v| v as f32).collect();
            let p = conditional_row(&ds, 30.0);
            let top = want_p.iter().copied().fold(0.0, f64::max);
            for c in 0..k {
                let err = (p[c] - want_p[c]).abs() / top;
                worst = worst.max(err);
                assert!(err < 1e-4, "{name} row {i} entry {c}: {} vs {}", p[c], want_p[c]);
            }
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
        eprintln!("{name}: conditional p within {worst:.2e} of the row's largest");
    }
}

#[test]
fn symmetric_affinities_match_opentsne() {
    for name in DATASETS {
        let (emb, j, metric) = load(name);
        let a = &j["affinity"];
        let p = our_p(&emb, metric, &j);
        let tol = p_tolerance(&emb, metric, &j);
        let sum: f64 = p.weights.iter().map(|&w| f64::from(w)).sum();
        assert!((sum - a["p_sum"].as_f64().unwrap()).abs() < 1e-5, "{name}: P sums to {sum}");
        let ties = indices(&a["boundary_near_ties"]);
        // openTSNE drops the entries that underflow to zero; the shifted exponent here keeps
        // them (as tiny weights), so there are at least as many.
        let want_nnz = usize::try_from(a["p_nnz"].as_u64().unwrap()).unwrap();
        assert!(p.nnz() + 4 * ties.len() >= want_nnz, "{name}: {} entries, openTSNE {want_nnz}", p.nnz());
        let mut worst = 0.0f64;
        for row in a["p_rows"].as_array().unwrap() {
            let i = usize::try_from(row["row"].as_u64().unwrap()).unwrap();
            let (want_idx, want_v) = (indices(&row["indices"]), floats(&row["values"]));
            let (idx, w) = p.row(i);
            let top = want_v.iter().copied().fold(0.0, f64::max);
            for (&jdx, &v) in idx.iter().zip(w) {
                assert!(
                    want_idx.contains(&jdx) || f64::from(v) < 1e-6 * top,
                    "{name} row {i}: entry {jdx} of weight {v} that openTSNE has not"
                );
            }
            for (c, &jdx) in want_idx.iter().enumerate() {
                let Some(pos) = idx.iter().position(|&x| x == jdx) else {
                    assert!(want_v[c] < 1e-6 * top, "{name} row {i}: entry {jdx} of weight {} missing", want_v[c]);
                    continue;
                };
                let err = (f64::from(w[pos]) - want_v[c]).abs() / top;
                worst = worst.max(err);
                assert!(err < tol, "{name} p[{i}][{jdx}]: {} vs {} (tolerance {tol:.1e})", w[pos], want_v[c]);
            }
        }
        eprintln!("{name}: P rows within {worst:.2e} of the row's largest");
    }
}

#[test]
fn gradient_matches_opentsne_exactly_and_interpolated_no_worse_than_opentsne() {
    for name in DATASETS {
        let (emb, j, metric) = load(name);
        let p = our_p(&emb, metric, &j);
        let tol = p_tolerance(&emb, metric, &j);
        let y = points(&j["gradient"]["y"]);
        for (what, g, factor) in [("fixed map", &j["gradient"], 1.0), ("4 × map", &j["gradient_wide"], 4.0)] {
            let y: Vec<[f64; 2]> = y.iter().map(|q| [q[0] * factor, q[1] * factor]).collect();
            let exact = points(&g["gradient_exact"]);
            let (ours, z) = gradient(&p, &y, false);
            let want_z = g["sum_q"].as_f64().unwrap();
            assert!((z - want_z).abs() < 1e-9 * want_z, "{name} {what}: Z {z} vs {want_z}");
            let e = rel_diff(&ours, &exact);
            assert!(e < tol, "{name} {what}: exact gradient {e:.2e} off openTSNE's (tolerance {tol:.1e})");
            let (fft, zf) = gradient(&p, &y, true);
            // The interpolation's own error: against the exact gradient of the same P.
            let fe = rel_diff(&fft, &ours);
            let theirs = g["fft_vs_exact"]["max_abs_diff_over_max_abs"].as_f64().unwrap();
            eprintln!("{name} {what}: interpolated gradient {fe:.2e} off exact (openTSNE's {theirs:.2e})");
            assert!(fe <= theirs * 1.5 + 1e-4, "{name} {what}: interpolated gradient {fe:.2e} off exact, openTSNE's {theirs:.2e}");
            // KL_fft − KL_exact = ln(Z_fft / Z): openTSNE's own error in Z.
            let their_z = (g["kl_fft"].as_f64().unwrap() - g["kl_exact"].as_f64().unwrap()).abs();
            let our_z = (zf / z).ln().abs();
            assert!(our_z <= their_z * 1.5 + 1e-3, "{name} {what}: interpolated Z off by {our_z:.2e} in log, openTSNE's {their_z:.2e}");
        }
    }
}

fn layout(emb: &Embeddings, metric: Metric, params: &TsneParams) -> TsneLayout {
    tsne(emb, metric, params, &Control::default(), None).unwrap()
}

#[test]
fn tsne_keeps_as_much_neighbourhood_as_opentsne_at_a_divergence_as_low() {
    for name in DATASETS {
        let (emb, j, metric) = load(name);
        let l = layout(&emb, metric, &TsneParams::default());
        assert!(l.coords.iter().all(|p| p[0].is_finite() && p[1].is_finite()), "{name}: non-finite coordinates");
        assert_eq!(l.init, TsneInit::Pca, "{name}: start");
        let t = trust(&emb, metric, &l.coords, 15, 0, &Control::default()).unwrap().unwrap();
        let o = &j["opentsne"];
        let (want_t, want_kl) = (o["trust_median"].as_f64().unwrap(), o["kl_median"].as_f64().unwrap());
        eprintln!(
            "{name}: trustworthiness {:.4} (openTSNE {want_t:.4}), recall {:.4} (openTSNE {:.4}), KL {:.4} (openTSNE {want_kl:.4})",
            t.trustworthiness,
            t.knn_recall,
            o["recall_median"].as_f64().unwrap(),
            l.kl_divergence
        );
        assert!(t.trustworthiness >= want_t - 0.01, "{name}: trustworthiness {} below openTSNE's {want_t} − 0.01", t.trustworthiness);
        assert!(l.kl_divergence <= want_kl * 1.05 + 0.01, "{name}: KL {} above openTSNE's {want_kl}", l.kl_divergence);
    }
}

/// `n` rows in `d` dimensions around `c` seeded centres, for inputs above the exact repulsion.
fn clusters(n: usize, d: usize, c: usize, seed: u64) -> Embeddings {
    let mut rng = Rng::new(seed);
    #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
    let centres: Vec<Vec<f32>> = (0..c).map(|_| (0..d).map(|_| (rng.next_gaussian() * 6.0) as f32).collect()).collect();
    #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
    let data: Vec<f32> = (0..n).flat_map(|i| centres[i % c].iter().map(|&m| m + rng.next_gaussian() as f32).collect::<Vec<_>>()).collect();
    Embeddings::new(Matrix::new(data, n, d).unwrap())
}

#[test]
fn same_seed_gives_identical_layouts_on_one_thread_and_two() {
    // 3,000 rows: above the exact repulsion, so the interpolated one runs in parallel. (Below
    // the exact neighbour search's size a PCA start leaves nothing to the seed, as openTSNE's.)
    let params = TsneParams { n_iter: 60, early_exaggeration_iter: 40, seed: 3, ..TsneParams::default() };
    let run = |threads: usize, seed: u64| {
        let emb = clusters(3_000, 12, 6, 11);
        let p = TsneParams { seed, ..params.clone() };
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| layout(&emb, Metric::Euclidean, &p).coords)
    };
    let (one, two) = (run(1, 3), run(2, 3));
    assert!(
        one.iter().zip(&two).all(|(a, b)| a[0].to_bits() == b[0].to_bits() && a[1].to_bits() == b[1].to_bits()),
        "1 and 2 threads differ"
    );
    assert_eq!(one, run(2, 4), "below the approximate graph's size the seed changes nothing");
}

#[test]
fn tiny_duplicate_and_identical_inputs_give_a_layout_or_a_clear_refusal() {
    let two = matrix(&[vec![0.0, 1.0], vec![1.0, 0.0]]);
    match tsne(&two, Metric::Euclidean, &TsneParams::default(), &Control::default(), None) {
        Err(TsneRunError::Invalid(TsneError::TooFewRows(2))) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(TsneRunError::Invalid(TsneError::TooFewRows(2)).to_string().contains("at least 3 rows"));
    let bad = TsneParams { perplexity: 0.0, ..TsneParams::default() };
    match tsne(&two, Metric::Euclidean, &bad, &Control::default(), None) {
        Err(TsneRunError::Invalid(e)) => assert!(e.to_string().contains("at least 3 rows") || e.to_string().contains("perplexity")),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let ten: Vec<Vec<f32>> = (0..10).map(|i| vec![i as f32, (i * i) as f32 * 0.1, 1.0]).collect();
    let l = layout(&matrix(&ten), Metric::Euclidean, &TsneParams::default());
    assert_eq!((l.coords.len(), l.params.k), (10, 9));
    assert!(l.coords.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
    let dup: Vec<Vec<f32>> = (0..60).map(|i| vec![(i / 2) as f32, ((i / 2) % 7) as f32]).collect();
    let same: Vec<Vec<f32>> = (0..40).map(|_| vec![0.5, 0.5, 0.5]).collect();
    for (what, rows) in [("duplicates", dup), ("identical", same)] {
        for metric in [Metric::Euclidean, Metric::Cosine] {
            let l = layout(&matrix(&rows), metric, &TsneParams::default());
            assert!(l.coords.iter().all(|p| p[0].is_finite() && p[1].is_finite()), "{what} {metric}: non-finite coordinates");
            assert!(l.kl_divergence.is_finite(), "{what} {metric}: KL {}", l.kl_divergence);
        }
    }
    // Identical rows have no principal axes: the start says it was random, and why.
    let l = layout(&matrix(&(0..40).map(|_| vec![0.5, 0.5, 0.5]).collect::<Vec<_>>()), Metric::Euclidean, &TsneParams::default());
    assert!(matches!(l.init, TsneInit::Random { .. }), "{:?}", l.init);
}

#[test]
fn cancel_stops_a_layout_within_100_ms() {
    let (emb, _, metric) = load("debian400");
    let cancel = Arc::new(AtomicBool::new(false));
    let ctl = Control::new(Arc::clone(&cancel), None);
    let p = TsneParams { n_iter: 10_000, ..TsneParams::default() };
    let stopped_at: Arc<std::sync::Mutex<Option<Instant>>> = Arc::default();
    let (cancel2, stopped2) = (Arc::clone(&cancel), Arc::clone(&stopped_at));
    let on_iter = move |it: usize, _: usize, _: &[[f32; 2]]| {
        if it == 300 {
            *stopped2.lock().unwrap() = Some(Instant::now());
            cancel2.store(true, Ordering::Relaxed);
        }
    };
    let r = tsne(&emb, metric, &p, &ctl, Some(&on_iter));
    let done = Instant::now();
    assert!(matches!(r, Err(TsneRunError::Cancelled(_))), "{r:?}");
    let asked = stopped_at.lock().unwrap().expect("the layout reached iteration 300");
    assert!(done - asked < Duration::from_millis(100), "stopped {:?} after the request", done - asked);
}
