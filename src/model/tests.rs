use super::*;
use crate::engine::Control;
use crate::engine::dbscan::DbscanParams;
use crate::engine::hierarchical::{HierarchicalParams, Linkage};
use crate::engine::kmeans::KMeansParams;
use crate::engine::project::{ProjectionParams, project};
use crate::engine::rng::Rng;
use crate::session::run_cluster;

/// `n` rows around `k` centres in `d` dimensions, with values of every magnitude in the low bits.
fn blobs(n: usize, d: usize, k: usize, seed: u64) -> Embeddings {
    let mut rng = Rng::new(seed);
    let mut v = Vec::with_capacity(n * d);
    for i in 0..n {
        for j in 0..d {
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            v.push((if j % k == i % k { 4.0 } else { 0.0 } + rng.next_f64() * 1.7 - 0.85) as f32);
        }
    }
    Embeddings::new(Matrix::new(v, n, d).unwrap())
}

fn fit(emb: &Embeddings, algorithm: Algorithm) -> (ClusterOutcome, Model) {
    let req = ClusterRequest { algorithm, ..ClusterRequest::default() };
    let o = run_cluster(emb, &req, &Control::default()).unwrap();
    let p = project(emb, &ProjectionParams::Pca, &Control::default(), None).unwrap();
    let source = EmbeddingSource::ListColumn { column: "embedding".into() };
    let m = Model::from_clustering(emb, &source, Some("blobs.parquet".into()), &o, Some(&p), &[]).unwrap();
    (o, m)
}

#[test]
fn a_kmeans_model_gives_the_clusterings_labels_and_map_after_a_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for metric in Metric::ALL {
        let emb = blobs(3000, 24, 7, 3);
        let (o, m) = fit(&emb, Algorithm::Kmeans(KMeansParams { k: 7, metric, seed: 5, ..KMeansParams::default() }));
        assert_eq!(m.file.agreement, Agreement { rows: 3000, same: 3000 }, "{metric}");
        let path = dir.path().join(format!("m-{metric}.embedmap.json"));
        m.save(&path).unwrap();
        let back = Model::load(&path).unwrap();
        // Every f32 and f64 comes back bit for bit, and so does everything else.
        assert_eq!(back.targets, m.targets);
        assert_eq!(back.file, {
            let mut f = m.file.clone();
            if let AssignmentSpec::NearestCentroid { centroids, .. } = &mut f.assignment {
                *centroids = Array::Inline { rows: 7, cols: 24, values: m.targets.as_slice().to_vec() };
            }
            f
        });
        let a = back.assign(emb.raw()).unwrap();
        assert_eq!(a.labels, o.labels);
        let pca = project(&emb, &ProjectionParams::Pca, &Control::default(), None).unwrap();
        assert_eq!(a.xy.unwrap(), pca.coords);
        assert!(a.is_noise.is_none());
        // Distances are to the row's own centroid.
        let c = a.labels[10] as usize;
        let pts = emb.points(metric);
        let want = match metric {
            Metric::Euclidean => crate::engine::kernels::sq_dist_exact(pts.row(10), m.targets.row(c)).sqrt(),
            Metric::Cosine => 1.0 - crate::engine::kernels::dot_f64(pts.row(10), m.targets.row(c)),
        };
        assert!((f64::from(a.distance[10]) - want).abs() < 1e-6);
    }
}

#[test]
fn big_arrays_go_beside_the_model_and_a_replaced_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let emb = blobs(4000, 40, 5, 9);
    let (o, m) = fit(&emb, Algorithm::Dbscan(DbscanParams { eps: 3.5, min_samples: 5, metric: Metric::Euclidean }));
    let path = dir.path().join("d.embedmap.json");
    m.save(&path).unwrap();
    let side = dir.path().join("d.embedmap.core_points.npy");
    assert!(side.is_file(), "core points of {} values are not inline", m.targets.as_slice().len());
    let back = Model::load(&path).unwrap();
    let a = back.assign(emb.raw()).unwrap();
    // Core points keep their cluster; the rest agree in all but border cases.
    assert!(m.file.agreement.same * 100 >= 99 * m.file.agreement.rows, "{:?}", m.file.agreement);
    let same = a.labels.iter().zip(&o.labels).filter(|(x, y)| x == y).count();
    assert_eq!(same, m.file.agreement.same);
    // A row far from everything is noise.
    let far = Matrix::new(vec![100.0; 40], 1, 40).unwrap();
    let f = back.assign(&far).unwrap();
    assert_eq!((f.labels[0], f.is_noise.as_deref()), (-1, Some(&[true][..])));
    // Another array of the same shape is not the model's.
    let mut bytes = std::fs::read(&side).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&side, bytes).unwrap();
    let e = Model::load(&path).unwrap_err().to_string();
    assert!(e.contains("checksum differs") && e.contains("d.embedmap.json"), "{e}");
}

#[test]
fn hierarchical_models_assign_to_cluster_means_and_say_so() {
    let emb = blobs(600, 12, 4, 2);
    let (_, m) = fit(&emb, Algorithm::Hierarchical(HierarchicalParams { k: 4, linkage: Linkage::Ward, metric: Metric::Euclidean }));
    assert!(matches!(&m.file.assignment, AssignmentSpec::NearestCentroid { from, .. } if from == "cluster means"));
    assert!(m.file.notes.iter().any(|n| n.contains("nearest cluster mean")));
    assert!(m.file.agreement.same * 100 >= 99 * m.file.agreement.rows, "{:?}", m.file.agreement);
}

#[test]
fn a_model_refuses_what_does_not_fit_it_and_says_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let emb = blobs(500, 8, 3, 1);
    let (_, m) = fit(&emb, Algorithm::Kmeans(KMeansParams { k: 3, metric: Metric::Cosine, ..KMeansParams::default() }));
    let e = m.assign_named(&Matrix::new(vec![0.0; 20], 2, 10).unwrap(), "x.parquet").unwrap_err().to_string();
    assert_eq!(e, "the model expects 8-dimensional embeddings, but x.parquet has 10 dimensions");
    let e = m.check_metric(Some(Metric::Euclidean)).unwrap_err().to_string();
    assert!(e.starts_with("the model measures cosine distances; --metric euclidean"), "{e}");
    assert!(m.check_metric(Some(Metric::Cosine)).is_ok() && m.check_metric(None).is_ok());

    let path = dir.path().join("m.json");
    m.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let edit = |from: &str, to: &str| {
        assert!(text.contains(from), "{from}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        Model::load(&path).unwrap_err().to_string()
    };
    assert!(edit("\"version\": 1", "\"version\": 7").contains("format version 7; this embedmap reads versions up to 1"));
    assert!(edit("\"format\": \"embedmap-model\"", "\"format\": \"other\"").contains("is not an embedmap model (its format is 'other')"));
    assert!(edit("\"dim\": 8,\n    \"normalisation\"", "\"dim\": 9,\n    \"normalisation\"").contains("disagree"));
    assert!(edit("\"normalisation\": \"unit\"", "\"normalisation\": \"none\"").contains("does not go with the cosine metric"));
    std::fs::write(&path, "{ not json").unwrap();
    assert!(Model::load(&path).unwrap_err().to_string().contains("not JSON"));
    let e = Model::load(&dir.path().join("missing.json")).unwrap_err().to_string();
    assert!(e.starts_with("cannot read the model") && e.contains("missing.json"), "{e}");
}

#[test]
fn clusterings_a_model_cannot_hold_are_refused_with_the_reason() {
    let emb = blobs(400, 6, 3, 4);
    let req =
        ClusterRequest { algorithm: Algorithm::Hdbscan(crate::engine::hdbscan::HdbscanParams::default()), ..ClusterRequest::default() };
    let o = run_cluster(&emb, &req, &Control::default()).unwrap();
    let e = Model::from_clustering(&emb, &EmbeddingSource::Npy, None, &o, None, &[]).unwrap_err().to_string();
    assert!(e.contains("HDBSCAN models are not available yet"), "{e}");
}

#[test]
fn the_checksum_is_xxh3_of_the_little_endian_values() {
    // xxh3-64 of the 8 bytes of [1.0f32, -2.5f32], as Python's xxhash.xxh3_64 gives it.
    let want = format!("xxh3-64:{:016x}", xxhash_rust::xxh3::xxh3_64(&[0, 0, 128, 63, 0, 0, 32, 192]));
    assert_eq!(checksum(&[1.0, -2.5]), want);
    assert_ne!(checksum(&[1.0, -2.5]), checksum(&[-2.5, 1.0]));
}
