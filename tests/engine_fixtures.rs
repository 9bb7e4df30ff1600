//! The clustering engine against scikit-learn on committed fixtures
//! (`tests/fixtures/make_engine_fixtures.py` writes `tests/fixtures/engine/*.json`).

mod common;

use std::collections::HashMap;

use common::{fixture, floats, json, labels, npy};
use embedmap::engine::dbscan::dbscan;
use embedmap::engine::hdbscan::{HdbscanTree, Selection};
use embedmap::engine::hierarchical::{Linkage, dendrogram};
use embedmap::engine::neighbors::{KnnGraph, RadiusGraph};
use embedmap::engine::quality::{External, calinski_harabasz, davies_bouldin, encode};
use embedmap::engine::{Control, Embeddings, Metric};
use serde_json::Value;

const DATASETS: [&str; 4] = ["blobs", "sphere", "debian400", "density"];

fn load(name: &str) -> (Embeddings, Value) {
    let j = json(&format!("engine/{name}.json"));
    let emb = npy(j["vectors_file"].as_str().unwrap());
    (emb, j)
}

fn metric(v: &Value) -> Metric {
    v["metric"].as_str().unwrap().parse().unwrap()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| usize::try_from(x.as_u64().unwrap()).unwrap()).collect()
}

fn ari(a: &[i32], b: &[i32]) -> f64 {
    let (ea, na) = encode(a);
    let (eb, nb) = encode(b);
    External::compare(&ea, na.len(), &eb, nb.len()).ari
}

fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs().max(1e-300)
}

#[test]
fn knn_graph_and_k_distance_match_exact_float64_neighbours() {
    for name in DATASETS {
        let (emb, j) = load(name);
        for e in j["knn"].as_array().unwrap() {
            let m = metric(e);
            let k = usize::try_from(e["k"].as_u64().unwrap()).unwrap();
            let g = KnnGraph::build(&emb, m, k, &Control::default()).unwrap();
            let (want_idx, want_d) = (e["indices"].as_array().unwrap(), e["distances"].as_array().unwrap());
            for i in 0..emb.raw().n() {
                let (idx, d) = g.neighbors(i);
                let wi = usizes(&want_idx[i]);
                let wd = floats(&want_d[i]);
                for t in 0..k {
                    assert!((f64::from(d[t]) - wd[t]).abs() < 2e-4 * wd[t].max(1.0), "{name} {m} row {i} rank {t}: {} vs {}", d[t], wd[t]);
                    if idx[t] as usize != wi[t] {
                        // Only a near-tie may reorder neighbours.
                        let pos = wi.iter().position(|&x| x == idx[t] as usize);
                        let tie = pos.is_some_and(|p| (wd[p] - wd[t]).abs() < 2e-4 * wd[t].max(1.0));
                        let beyond = pos.is_none() && t + 1 == k;
                        assert!(tie || beyond, "{name} {m} row {i} rank {t}: neighbour {} vs {}", idx[t], wi[t]);
                    }
                }
            }
        }
        for e in j["kdistance"].as_array().unwrap() {
            let m = metric(e);
            let ms = usize::try_from(e["min_samples"].as_u64().unwrap()).unwrap();
            let g = KnnGraph::build(&emb, m, ms, &Control::default()).unwrap();
            let curve = g.k_distance(ms).unwrap();
            let want = floats(&e["curve"]);
            assert_eq!(curve.len(), want.len());
            for (a, b) in curve.iter().zip(&want) {
                assert!((f64::from(*a) - b).abs() < 2e-4 * b.max(1.0), "{name} {m} k-distance {a} vs {b}");
            }
        }
    }
}

#[test]
fn dbscan_has_sklearns_core_points_noise_and_core_partition() {
    let mut settings = 0;
    for name in DATASETS {
        let (emb, j) = load(name);
        for e in j["dbscan"].as_array().unwrap() {
            let m = metric(e);
            #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
            let eps = e["eps"].as_f64().unwrap() as f32;
            let ms = usize::try_from(e["min_samples"].as_u64().unwrap()).unwrap();
            let g = RadiusGraph::build(&emb, m, eps, usize::MAX, &Control::default()).unwrap();
            let r = dbscan(&g, eps, ms, &Control::default()).unwrap();
            let index = embedmap::engine::dbscan::DbscanIndex::build(std::sync::Arc::new(g.clone()), ms, &Control::default()).unwrap();
            assert_eq!(index.labels(eps), r, "{name} {m} eps={eps}: the spanning-forest DBSCAN differs");
            let streamed = embedmap::engine::dbscan::dbscan_streaming(&emb, m, eps, ms, &Control::default()).unwrap();
            assert_eq!(streamed, r, "{name} {m} eps={eps}: the streaming DBSCAN differs from the stored-graph one");
            let want = labels(&e["labels"]);
            let core = usizes(&e["core_sample_indices"]);
            let ours_core: Vec<usize> = (0..r.core.len()).filter(|&i| r.core[i]).collect();
            let ctx = format!("{name} {m} eps={eps} min_samples={ms}");
            assert_eq!(ours_core, core, "{ctx}: core points");
            let noise_ours: Vec<usize> = (0..want.len()).filter(|&i| r.labels[i] < 0).collect();
            let noise_want: Vec<usize> = (0..want.len()).filter(|&i| want[i] < 0).collect();
            assert_eq!(noise_ours, noise_want, "{ctx}: noise");
            // Clusters numbered alike: by their first core point.
            for &i in &core {
                assert_eq!(r.labels[i], want[i], "{ctx}: core point {i}");
            }
            let ambiguous = e.get("multi_cluster_border_points").map(usizes).unwrap_or_default();
            for (i, &w) in want.iter().enumerate() {
                if !r.core[i] && w >= 0 && !ambiguous.contains(&i) {
                    assert_eq!(r.labels[i], w, "{ctx}: border point {i}");
                }
            }
            assert_eq!(r.n_clusters, usize::try_from(e["n_clusters"].as_u64().unwrap()).unwrap(), "{ctx}");
            settings += 1;
        }
    }
    assert!(settings >= 8);
}

#[test]
fn agglomerative_cuts_equal_sklearns_for_every_linkage() {
    for name in DATASETS {
        let (emb, j) = load(name);
        let a = &j["agglomerative"];
        let mut trees = HashMap::new();
        for t in a["trees"].as_array().unwrap() {
            let linkage: Linkage = t["linkage"].as_str().unwrap().parse().unwrap();
            let m = metric(t);
            let tree = dendrogram(&emb, embedmap::engine::hierarchical::TreeSpec::new(linkage, m).unwrap(), &Control::default()).unwrap();
            let mut want = floats(&t["distances"]);
            want.sort_by(f64::total_cmp);
            assert_eq!(tree.merges.len(), want.len());
            for (mg, w) in tree.merges.iter().zip(&want) {
                assert!((mg.height - w).abs() <= 1e-4 * w.max(1e-2), "{name} {linkage} {m}: height {} vs {w}", mg.height);
            }
            trees.insert((linkage, m), tree);
        }
        let mut cuts = 0;
        for c in a["cuts"].as_array().unwrap() {
            let linkage: Linkage = c["linkage"].as_str().unwrap().parse().unwrap();
            let m = metric(c);
            let k = usize::try_from(c["k"].as_u64().unwrap()).unwrap();
            let ours = trees[&(linkage, m)].cut(k);
            let want = labels(&c["labels"]);
            let score = ari(&ours, &want);
            assert!((score - 1.0).abs() < 1e-12, "{name} {linkage} {m} k={k}: ARI {score}");
            assert_eq!(ours.iter().copied().max(), Some(i32::try_from(k).unwrap() - 1));
            cuts += 1;
        }
        assert!(cuts >= 8, "{name}");
    }
}

#[test]
fn hdbscan_agrees_with_sklearn() {
    let mut settings = 0;
    for name in DATASETS {
        let (emb, j) = load(name);
        let mut trees: HashMap<(Metric, usize), HdbscanTree> = HashMap::new();
        let fixed = j.get("hdbscan_epsilon_fixed").and_then(Value::as_array).cloned().unwrap_or_default();
        for e in j["hdbscan"].as_array().unwrap().iter().chain(&fixed) {
            let m = metric(e);
            let ms = usize::try_from(e["min_samples"].as_u64().unwrap()).unwrap();
            let mcs = usize::try_from(e["min_cluster_size"].as_u64().unwrap()).unwrap();
            let eps = e["cluster_selection_epsilon"].as_f64().unwrap();
            let sel: Selection = e["cluster_selection_method"].as_str().unwrap().parse().unwrap();
            let tree = trees.entry((m, ms)).or_insert_with(|| {
                HdbscanTree::build(&emb, m, embedmap::engine::hdbscan::CoreRank::new(ms, emb.raw().n()).unwrap(), &Control::default())
                    .unwrap()
            });
            let r = tree.select(mcs, sel, eps);
            let want = labels(&e["labels"]);
            let ctx = format!("{name} {m} mcs={mcs} ms={ms} eps={eps} {sel:?}");
            // scikit-learn sorts tied spanning-tree edges in no fixed order; the points whose label
            // depends on that order (found by re-running it with shuffled ties) are left out.
            let unstable = e.get("unstable_points").map(usizes).unwrap_or_default();
            let stable: Vec<usize> = (0..want.len()).filter(|i| !unstable.contains(i)).collect();
            let pick = |l: &[i32]| stable.iter().map(|&i| l[i]).collect::<Vec<_>>();
            let score = ari(&pick(&r.labels), &pick(&want));
            assert!(score >= 0.99, "{ctx}: ARI {score} over the {} stable points", stable.len());
            let all = ari(&r.labels, &want);
            assert!(all >= 0.98, "{ctx}: ARI {all} over all points");
            let want_clusters = want.iter().copied().max().map_or(0, |v| v + 1);
            assert_eq!(i32::try_from(r.n_clusters).unwrap(), want_clusters, "{ctx}: clusters");
            let prob = floats(&e["probabilities"]);
            let same = stable;
            for &i in &same {
                assert_eq!(r.labels[i] < 0, want[i] < 0, "{ctx}: noise verdict of point {i}");
            }
            let mean_err = same.iter().map(|&i| (r.probabilities[i] - prob[i]).abs()).sum::<f64>() / same.len().max(1) as f64;
            assert!(mean_err < 1e-3, "{ctx}: membership differs by {mean_err} on average");
            settings += 1;
        }
    }
    assert!(settings >= 12);
}

#[test]
fn internal_and_external_indices_equal_sklearns() {
    for name in DATASETS {
        let (emb, j) = load(name);
        for e in j["internal"].as_array().unwrap() {
            let l = labels(&e["labels"]);
            let db = davies_bouldin(emb.raw(), &l).unwrap();
            let ch = calinski_harabasz(emb.raw(), &l).unwrap();
            // scikit-learn on the float32 data rounds in float32; the float64 figures are the exact ones.
            let (wdb, wch) = (e["davies_bouldin_float64"].as_f64().unwrap(), e["calinski_harabasz_float64"].as_f64().unwrap());
            assert!(close(db, wdb, 1e-9), "{name} {}: Davies-Bouldin {db} vs {wdb}", e["name"]);
            assert!(close(ch, wch, 1e-9), "{name} {}: Calinski-Harabasz {ch} vs {wch}", e["name"]);
        }
        for e in j["external"].as_array().unwrap() {
            let (t, p) = (labels(&e["labels_true"]), labels(&e["labels_pred"]));
            let (et, nt) = encode(&t);
            let (ep, np) = encode(&p);
            let x = External::compare(&et, nt.len(), &ep, np.len());
            let ctx = format!("{name} {}", e["name"]);
            for (got, key) in [
                (x.ari, "ari"),
                (x.nmi, "nmi"),
                (x.homogeneity, "homogeneity"),
                (x.completeness, "completeness"),
                (x.v_measure, "v_measure"),
            ] {
                let want = e[key].as_f64().unwrap();
                assert!(close(got, want, 1e-9) || (got - want).abs() < 1e-15, "{ctx}: {key} {got} vs {want}");
            }
            let counts: Vec<u64> =
                e["contingency"]["counts"].as_array().unwrap().iter().flat_map(|r| usizes(r).into_iter().map(|v| v as u64)).collect();
            assert_eq!(x.contingency.counts, counts, "{ctx}: contingency");
        }
    }
}

#[test]
fn fixtures_exist_for_every_dataset() {
    for name in DATASETS {
        assert!(fixture(&format!("engine/{name}.json")).exists(), "{name}");
    }
}

#[test]
fn minibatch_kmeans_inertia_is_within_two_percent_of_full_kmeans() {
    use embedmap::engine::kmeans::minibatch::{MiniBatchParams, minibatch_kmeans};
    for (name, key, m) in
        [("blobs", "kmeans", Metric::Euclidean), ("debian400", "kmeans", Metric::Euclidean), ("sphere", "kmeans_cosine", Metric::Cosine)]
    {
        let j = json(&format!("{name}_expected.json"));
        let emb = npy(j["vectors_file"].as_str().unwrap());
        for e in j[key].as_array().unwrap() {
            let k = usize::try_from(e["k"].as_u64().unwrap()).unwrap();
            let want = e["inertia"].as_f64().unwrap();
            // Like for like: ten starts on both sides (scikit-learn's figure is its best of ten).
            let p = MiniBatchParams { k, metric: m, batch_size: 100, n_init: 10, ..MiniBatchParams::default() };
            let r = minibatch_kmeans(&emb, &p.check(emb.raw().n()).unwrap(), &Control::default()).unwrap();
            if m == Metric::Euclidean {
                assert!(r.inertia <= want * 1.02, "{name} k={k}: mini-batch inertia {} vs full K-means {want}", r.inertia);
            } else {
                // Cosine: compare with full spherical K-means from the same library.
                let full = embedmap::engine::kmeans::kmeans(
                    &emb,
                    &embedmap::engine::kmeans::KMeansParams { k, metric: m, n_init: 10, ..Default::default() }
                        .check(emb.raw().n())
                        .unwrap(),
                    &Control::default(),
                )
                .unwrap();
                assert!(r.inertia <= full.inertia * 1.02, "{name} k={k}: spherical mini-batch {} vs full {}", r.inertia, full.inertia);
            }
        }
    }
}

#[test]
fn hdbscan_from_the_neighbour_graph_stays_close_to_sklearn() {
    // The path for inputs whose distance matrix would not fit; here on data where it does, to
    // compare. The graph holds 2·min_samples (at least 16) neighbours per point.
    let (emb, j) = load("density");
    let mut checked = 0;
    for e in j["hdbscan"].as_array().unwrap() {
        let ms = usize::try_from(e["min_samples"].as_u64().unwrap()).unwrap();
        let mcs = usize::try_from(e["min_cluster_size"].as_u64().unwrap()).unwrap();
        let sel: Selection = e["cluster_selection_method"].as_str().unwrap().parse().unwrap();
        let eps = e["cluster_selection_epsilon"].as_f64().unwrap();
        let tree = HdbscanTree::build_from_knn(
            &emb,
            metric(e),
            embedmap::engine::hdbscan::CoreRank::new(ms, emb.raw().n()).unwrap(),
            &Control::default(),
        )
        .unwrap();
        let r = tree.select(mcs, sel, eps);
        let score = ari(&r.labels, &labels(&e["labels"]));
        assert!(score >= 0.95, "mcs={mcs} ms={ms} {sel:?}: ARI {score}");
        checked += 1;
    }
    assert!(checked >= 5);
}
