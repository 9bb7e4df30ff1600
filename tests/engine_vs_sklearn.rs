//! The engine against scikit-learn reference values computed on the same data
//! (tests/fixtures/make_fixtures.py).

mod common;

use common::{floats, json, labels, npy};
use embedmap::engine::kmeans::{KMeansParams, kmeans};
use embedmap::engine::project::pca::pca_2d;
use embedmap::engine::silhouette::{SilhouetteMode, silhouette};
use embedmap::engine::{Control, Metric};

const DATASETS: [&str; 3] = ["blobs", "sphere", "debian400"];

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

#[test]
fn silhouette_matches_sklearn_to_1e6_relative() {
    for name in DATASETS {
        let emb = npy(&format!("{name}.npy"));
        let exp = json(&format!("{name}_expected.json"));
        for (case, metric) in [("euclidean", Metric::Euclidean), ("cosine", Metric::Cosine), ("euclidean_singleton", Metric::Euclidean)] {
            let e = &exp["silhouette"][case];
            let l = labels(&e["labels"]);
            let s = silhouette(&emb, &l, metric, SilhouetteMode::Exact, 0, &Control::default()).unwrap();
            let want = e["mean"].as_f64().unwrap();
            assert!(rel(s.mean, want) < 1e-6, "{name}/{case}: mean {} vs sklearn {want} (rel {:e})", s.mean, rel(s.mean, want));
            assert!(s.exact);
            for (i, (&got, want)) in s.values.iter().zip(floats(&e["samples"])).enumerate() {
                assert!((f64::from(got) - want).abs() < 2e-5, "{name}/{case}: sample {i}: {got} vs {want}");
            }
        }
    }
}

#[test]
fn kmeans_inertia_within_one_percent_of_sklearn_best_of_ten() {
    for name in DATASETS {
        let emb = npy(&format!("{name}.npy"));
        let exp = json(&format!("{name}_expected.json"));
        for case in exp["kmeans"].as_array().unwrap() {
            let k = usize::try_from(case["k"].as_u64().unwrap()).unwrap();
            let want = case["inertia"].as_f64().unwrap();
            let p = KMeansParams { k, metric: Metric::Euclidean, n_init: 10, seed: 0, ..KMeansParams::default() };
            let r = kmeans(&emb, &p.check(emb.raw().n()).unwrap(), &Control::default()).unwrap();
            assert!(r.inertia <= want * 1.01, "{name} k={k}: inertia {} vs sklearn {want}", r.inertia);
            assert_eq!(r.labels.len(), emb.raw().n());
        }
    }
}

/// Spherical K-means optimises Σ(1 − cos) to unit centroids; its objective must be at least as good
/// as that of scikit-learn's labels on the normalised data, scored the same way.
#[test]
#[expect(clippy::cast_sign_loss, reason = "K-means labels are never negative")]
fn spherical_kmeans_objective_not_worse_than_sklearn_labels() {
    for name in DATASETS {
        let emb = npy(&format!("{name}.npy"));
        let exp = json(&format!("{name}_expected.json"));
        let unit = emb.points(Metric::Cosine);
        let d = unit.d();
        for case in exp["kmeans_cosine"].as_array().unwrap() {
            let k = usize::try_from(case["k"].as_u64().unwrap()).unwrap();
            let l = labels(&case["labels"]);
            let mut sums = vec![0.0f64; k * d];
            for (i, &c) in l.iter().enumerate() {
                for (s, &v) in sums[c as usize * d..(c as usize + 1) * d].iter_mut().zip(unit.row(i)) {
                    *s += f64::from(v);
                }
            }
            let mut reference = 0.0;
            for (i, &c) in l.iter().enumerate() {
                let s = &sums[c as usize * d..(c as usize + 1) * d];
                let norm = s.iter().map(|v| v * v).sum::<f64>().sqrt();
                let dot: f64 = s.iter().zip(unit.row(i)).map(|(a, &b)| a * f64::from(b)).sum();
                reference += 1.0 - dot / norm;
            }
            let p = KMeansParams { k, metric: Metric::Cosine, n_init: 10, seed: 0, ..KMeansParams::default() };
            let r = kmeans(&emb, &p.check(unit.n()).unwrap(), &Control::default()).unwrap();
            assert!(r.inertia <= reference * 1.01, "{name} k={k}: spherical objective {} vs {reference} for sklearn's labels", r.inertia);
        }
    }
}

#[test]
fn pca_matches_sklearn_explained_variance_and_projection() {
    for name in DATASETS {
        let emb = npy(&format!("{name}.npy"));
        let exp = json(&format!("{name}_expected.json"));
        let p = pca_2d(emb.raw(), &Control::default()).unwrap();
        let ev = floats(&exp["pca"]["explained_variance"]);
        let evr = floats(&exp["pca"]["explained_variance_ratio"]);
        for a in 0..2 {
            assert!(rel(p.explained_variance[a], ev[a]) < 1e-4, "{name}: explained variance {a}: {} vs {}", p.explained_variance[a], ev[a]);
            assert!(rel(p.explained_variance_ratio[a], evr[a]) < 1e-4, "{name}: ratio {a}");
        }
        let proj = exp["pca"]["projection"].as_array().unwrap();
        let scale = ev[0].sqrt();
        for a in 0..2 {
            // Up to sign: sklearn's sign rule is ours too, but near-ties may flip.
            let want: Vec<f64> = proj.iter().map(|r| r[a].as_f64().unwrap()).collect();
            let same = p.projection.iter().zip(&want).map(|(g, w)| (f64::from(g[a]) - w).abs()).fold(0.0, f64::max);
            let flip = p.projection.iter().zip(&want).map(|(g, w)| (f64::from(g[a]) + w).abs()).fold(0.0, f64::max);
            assert!(same.min(flip) < 1e-3 * scale.max(1.0), "{name}: projection axis {a} differs by {}", same.min(flip));
        }
    }
}

#[test]
fn same_seed_same_labels_different_seed_may_differ() {
    let emb = npy("sphere.npy");
    let p = KMeansParams { k: 6, metric: Metric::Cosine, n_init: 1, seed: 42, ..KMeansParams::default() };
    let cfg = p.check(400).unwrap();
    let a = kmeans(&emb, &cfg, &Control::default()).unwrap();
    let b = kmeans(&emb, &cfg, &Control::default()).unwrap();
    assert_eq!(a.labels, b.labels);
}

/// linfa's K-means on the same data reaches no better an objective than ours.
#[test]
fn kmeans_is_at_least_as_good_as_linfa() {
    use linfa::prelude::*;
    let emb = npy("blobs.npy");
    let raw = emb.raw();
    let arr = ndarray::Array2::from_shape_vec((raw.n(), raw.d()), raw.as_slice().iter().map(|&v| f64::from(v)).collect()).unwrap();
    let ds = linfa::DatasetBase::from(arr.clone());
    let rng = rand_xoshiro_seed();
    let model = linfa_clustering::KMeans::params_with_rng(5, rng).n_runs(10).fit(&ds).unwrap();
    let assigned = model.predict(&arr);
    let cents = model.centroids();
    let linfa_inertia: f64 = assigned.iter().enumerate().map(|(i, &c)| (&arr.row(i) - &cents.row(c)).mapv(|v| v * v).sum()).sum();
    let p = KMeansParams { k: 5, n_init: 10, ..KMeansParams::default() };
    let ours = kmeans(&emb, &p.check(raw.n()).unwrap(), &Control::default()).unwrap();
    assert!(ours.inertia <= linfa_inertia * 1.001, "ours {} vs linfa {linfa_inertia}", ours.inertia);
}

fn rand_xoshiro_seed() -> rand_xoshiro::Xoshiro256Plus {
    use rand_xoshiro::rand_core::SeedableRng;
    rand_xoshiro::Xoshiro256Plus::seed_from_u64(0)
}

/// linfa-reduction's PCA (f64, SVD-based) agrees with ours on the singular values
/// (its `explained_variance_ratio` is relative to the kept axes only, so that is not compared).
#[test]
fn pca_agrees_with_linfa_reduction() {
    use linfa::prelude::*;
    let emb = npy("blobs.npy");
    let raw = emb.raw();
    let arr = ndarray::Array2::from_shape_vec((raw.n(), raw.d()), raw.as_slice().iter().map(|&v| f64::from(v)).collect()).unwrap();
    let ds = linfa::DatasetBase::from(arr);
    let model = linfa_reduction::Pca::params(2).fit(&ds).unwrap();
    let theirs = model.singular_values();
    let ours = pca_2d(raw, &Control::default()).unwrap();
    let dof = (raw.n() - 1) as f64;
    for a in 0..2 {
        let sigma = (ours.explained_variance[a] * dof).sqrt();
        assert!(rel(sigma, theirs[a]) < 1e-4, "axis {a}: singular value {sigma} vs linfa {}", theirs[a]);
    }
}
