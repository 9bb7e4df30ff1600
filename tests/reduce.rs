//! Clustering on a UMAP embedding in a few dimensions (`--reduce umap:N`): the embedding itself,
//! and a clustering on it scored in the full space.

mod common;

use common::npy;
use embedmap::engine::hdbscan::HdbscanParams;
use embedmap::engine::neighbors::KnnGraph;
use embedmap::engine::project::umap::{MAX_REDUCE_DIM, UmapParams, reduce, umap};
use embedmap::engine::silhouette::{SilhouetteMode, silhouette};
use embedmap::engine::{Control, Embeddings, Metric};
use embedmap::session::{Algorithm, ClusterRequest, Reduce, run_cluster};

/// Mean share of each row's 15 nearest rows in `full` (in `metric`) that are among its 15
/// nearest in `low` (euclidean).
fn recall(full: &Embeddings, metric: Metric, low: &Embeddings) -> f64 {
    let a = KnnGraph::build(full, metric, 15, &Control::default()).unwrap();
    let b = KnnGraph::build(low, Metric::Euclidean, 15, &Control::default()).unwrap();
    let n = a.n();
    let kept: usize = (0..n).map(|i| a.neighbors(i).0.iter().filter(|j| b.neighbors(i).0.contains(j)).count()).sum();
    kept as f64 / (15 * n) as f64
}

#[test]
fn two_dimensions_are_the_maps_umap_bit_for_bit() {
    // The n-dimensional path is the map's with D = 2: the same start and optimisation.
    let emb = npy("debian400.npy");
    let p = UmapParams::default();
    let map = umap(&emb, Metric::Cosine, &p, &Control::default(), None).unwrap();
    let (points, _) = reduce(&emb, Metric::Cosine, 2, &p, &Control::default()).unwrap();
    let flat: Vec<f32> = map.coords.iter().flatten().copied().collect();
    assert_eq!(points.as_slice(), &flat[..]);
}

#[test]
fn more_dimensions_keep_more_of_each_neighbourhood_and_are_reproducible_on_any_thread_count() {
    let emb = npy("debian400.npy");
    let p = Reduce::default_umap();
    let on = |threads: usize, dim: usize| {
        let emb = npy("debian400.npy");
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| reduce(&emb, Metric::Cosine, dim, &p, &Control::default()).unwrap().0)
    };
    let (one, two) = (on(1, 10), on(2, 10));
    assert_eq!((one.n(), one.d()), (400, 10));
    assert!(one.as_slice().iter().all(|v| v.is_finite()));
    assert_eq!(one.as_slice(), two.as_slice(), "1 and 2 threads differ");
    let r2 = recall(&emb, Metric::Cosine, &Embeddings::new(on(2, 2)));
    let r10 = recall(&emb, Metric::Cosine, &Embeddings::new(two));
    eprintln!("kNN recall@15 of the embedding: 2-d {r2:.3}, 10-d {r10:.3}");
    assert!(r10 > r2 + 0.02, "10-d keeps {r10}, 2-d {r2}");
    for bad in [0, 1, MAX_REDUCE_DIM + 1] {
        let e = reduce(&emb, Metric::Cosine, bad, &p, &Control::default()).unwrap_err();
        assert!(e.to_string().contains(&format!("2 to {MAX_REDUCE_DIM} dimensions")), "{e}");
    }
}

#[test]
fn hdbscan_on_a_umap_calls_less_noise_and_is_scored_in_the_full_space() {
    let emb = npy("debian400.npy");
    let algorithm = Algorithm::Hdbscan(HdbscanParams { min_cluster_size: 8, metric: Metric::Cosine, ..HdbscanParams::default() });
    let full =
        run_cluster(&emb, &ClusterRequest { algorithm: algorithm.clone(), ..ClusterRequest::default() }, &Control::default()).unwrap();
    let req = ClusterRequest { algorithm, reduce: Some(Reduce::umap(10)), ..ClusterRequest::default() };
    let red = run_cluster(&emb, &req, &Control::default()).unwrap();
    eprintln!(
        "noise: full space {} of 400 ({} clusters), UMAP 10-d {} ({} clusters)",
        full.n_noise, full.n_clusters, red.n_noise, red.n_clusters
    );
    assert!(red.n_noise < full.n_noise, "UMAP 10-d: {} noise, full space {}", red.n_noise, full.n_noise);
    assert!(red.n_clusters >= 2);
    // The silhouette is the full space's, in the request's metric, of the labels found.
    let want = silhouette(&emb, &red.labels, Metric::Cosine, SilhouetteMode::Auto, 0, &Control::default()).unwrap();
    assert!((red.silhouette.as_ref().unwrap().mean - want.mean).abs() < 1e-12);
    assert!(red.notes[0].contains("clustered on a UMAP 10-d") && red.notes[0].contains("full 384-d space, cosine"), "{:?}", red.notes);
    // The second run keeps the embedding, and gives the same labels.
    let again = run_cluster(&emb, &req, &Control::default()).unwrap();
    assert_eq!(again.labels, red.labels);
    assert!(again.notes[0].contains("kept"), "{:?}", again.notes);
    // The request round-trips through a session file's JSON.
    let json = serde_json::to_string(&req).unwrap();
    assert!(json.contains("\"reduce\""), "{json}");
    let back: ClusterRequest = serde_json::from_str(&json).unwrap();
    assert_eq!(back, req);
}

#[test]
fn reduce_specs_parse_or_say_what_is_allowed() {
    assert_eq!("umap:10".parse::<Reduce>().unwrap(), Reduce::umap(10));
    for bad in ["umap", "umap:1", "umap:40", "pca:5", "umap:x"] {
        let e = bad.parse::<Reduce>().unwrap_err();
        assert!(e.contains("umap:N with N from 2 to 16"), "{bad}: {e}");
    }
}
