use super::*;
use crate::engine::Control;
use crate::engine::dbscan::DbscanParams;
use crate::engine::hierarchical::{HierarchicalParams, Linkage};
use crate::engine::kmeans::KMeansParams;
use crate::engine::noise::NoisePolicy;
use crate::engine::project::{ProjectionParams, project};
use crate::engine::rng::Rng;
use crate::session::run_cluster;

/// `n` rows around `k` centres in `d` dimensions, with values of every magnitude in the low bits.
fn blobs(n: usize, d: usize, k: usize, seed: u64) -> Embeddings {
    let mut rng = Rng::new(seed);
    let mut v = Vec::with_capacity(n * d);
    for i in 0..n {
        for j in 0..d {
            #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
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
#[expect(clippy::cast_sign_loss, reason = "a K-means label, never noise")]
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
    let req = ClusterRequest {
        algorithm: Algorithm::Kmeans(KMeansParams { k: 3, ..KMeansParams::default() }),
        reduce: Some(crate::session::Reduce::umap(4)),
        ..ClusterRequest::default()
    };
    let o = run_cluster(&emb, &req, &Control::default()).unwrap();
    let e = Model::from_clustering(&emb, &EmbeddingSource::Npy, None, &o, None, &[]).unwrap_err().to_string();
    assert!(e.contains("cluster on the full embedding to save a model"), "{e}");
}

/// Rows `rows` of `emb` as their own dataset.
fn part(emb: &Embeddings, rows: &[usize]) -> Matrix {
    emb.raw().select_rows(rows)
}

#[test]
fn an_hdbscan_model_places_new_rows_in_the_tree_with_a_strength() {
    let dir = tempfile::tempdir().unwrap();
    for metric in Metric::ALL {
        let all = blobs(1500, 16, 5, 8);
        // Fit on six rows in seven; the seventh are new.
        let (fit_rows, new_rows): (Vec<usize>, Vec<usize>) = (0..1500).partition(|i| i % 7 != 0);
        let emb = Embeddings::new(part(&all, &fit_rows));
        let p = crate::engine::hdbscan::HdbscanParams { min_cluster_size: 20, metric, ..Default::default() };
        let req = ClusterRequest { algorithm: Algorithm::Hdbscan(p), ..ClusterRequest::default() };
        let o = run_cluster(&emb, &req, &Control::default()).unwrap();
        assert_eq!(o.n_clusters, 5, "{metric}");
        let m = Model::from_clustering(&emb, &EmbeddingSource::Npy, None, &o, None, &[]).unwrap();
        assert!(m.has_noise() && m.has_membership());
        // Its own rows get their labels back, bar a few at the edges of the tree.
        assert!(m.file.agreement.same * 100 >= 97 * m.file.agreement.rows, "{metric}: {:?}", m.file.agreement);
        let path = dir.path().join(format!("h-{metric}.embedmap.json"));
        m.save(&path).unwrap();
        assert!(dir.path().join(format!("h-{metric}.embedmap.hdbscan_tree.npy")).is_file());
        let back = Model::load(&path).unwrap();
        let own = back.assign(emb.raw()).unwrap();
        assert_eq!(own, m.assign(emb.raw()).unwrap(), "{metric}: the round trip changes nothing");
        // New rows of a blob join that blob's cluster.
        let got = back.assign(&part(&all, &new_rows)).unwrap();
        let blob_cluster = |blob: usize| {
            let i = fit_rows.iter().position(|&r| r % 5 == blob).unwrap();
            o.labels[i]
        };
        let same = new_rows.iter().zip(&got.labels).filter(|&(&r, &l)| l == blob_cluster(r % 5)).count();
        assert!(same * 100 >= 95 * new_rows.len(), "{metric}: {same} of {}", new_rows.len());
        let strength = got.membership.as_ref().unwrap();
        assert!(strength.iter().zip(&got.labels).all(|(&s, &l)| (0.0..=1.0).contains(&s) && (l >= 0 || s == 0.0)));
        assert!(strength.iter().any(|&s| s > 0.0 && s < 1.0));
        // Far from everything is noise, with strength 0.
        let far = Matrix::new(vec![-40.0; 16], 1, 16).unwrap();
        let f = back.assign(&far).unwrap();
        assert_eq!((f.labels[0], f.is_noise.as_deref(), f.membership.as_deref()), (-1, Some(&[true][..]), Some(&[0.0][..])), "{metric}");
    }
}

#[test]
fn an_hdbscan_model_with_noise_nearest_gives_new_noise_the_nearest_clustered_row() {
    let emb = blobs(800, 10, 4, 6);
    let p = crate::engine::hdbscan::HdbscanParams { min_cluster_size: 25, ..Default::default() };
    let req = ClusterRequest { algorithm: Algorithm::Hdbscan(p), noise: NoisePolicy::Nearest, ..ClusterRequest::default() };
    let o = run_cluster(&emb, &req, &Control::default()).unwrap();
    let m = Model::from_clustering(&emb, &EmbeddingSource::Npy, None, &o, None, &[]).unwrap();
    let far = Matrix::new(vec![30.0; 10], 1, 10).unwrap();
    let f = m.assign(&far).unwrap();
    assert_eq!(f.is_noise.as_deref(), Some(&[true][..]));
    // The nearest clustered row to a far point along the diagonal.
    let pts = emb.points(Metric::Euclidean);
    let nearest = (0..800).filter(|&i| !o.is_noise[i]).min_by(|&a, &b| {
        let da = crate::engine::kernels::sq_dist_exact(pts.row(a), far.row(0));
        let db = crate::engine::kernels::sq_dist_exact(pts.row(b), far.row(0));
        da.total_cmp(&db)
    });
    assert_eq!(f.labels[0], o.labels[nearest.unwrap()]);
    assert!(m.file.agreement.same * 100 >= 97 * m.file.agreement.rows, "{:?}", m.file.agreement);
}

#[test]
fn a_damaged_hdbscan_tree_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let emb = blobs(300, 6, 3, 2);
    let req =
        ClusterRequest { algorithm: Algorithm::Hdbscan(crate::engine::hdbscan::HdbscanParams::default()), ..ClusterRequest::default() };
    let o = run_cluster(&emb, &req, &Control::default()).unwrap();
    let m = Model::from_clustering(&emb, &EmbeddingSource::Npy, None, &o, None, &[]).unwrap();
    let path = dir.path().join("h.embedmap.json");
    m.save(&path).unwrap();
    // A tree whose second cluster is its own parent: a walk up it would never end.
    let side = dir.path().join("h.embedmap.hdbscan_tree.npy");
    let arr = crate::data::npy::read(&std::fs::read(&side).unwrap()).unwrap();
    let mut t = Matrix::new(arr.data, arr.rows, arr.cols).unwrap();
    assert!(t.n() >= 2);
    let mut v = t.as_slice().to_vec();
    v[4] = 1.0;
    t = Matrix::new(v, t.n(), 4).unwrap();
    write_npy(&side, &t).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let old = doc["assignment"]["tree"]["checksum"].as_str().unwrap().to_string();
    std::fs::write(&path, text.replace(&old, &checksum(t.as_slice()))).unwrap();
    let e = Model::load(&path).unwrap_err().to_string();
    assert!(e.contains("HDBSCAN cluster 1 has the parent 1, not an earlier cluster"), "{e}");
}

fn umap_model(emb: &Embeddings, metric: Metric, fit_rows: Option<usize>) -> (Model, crate::engine::project::Projected) {
    let req = ClusterRequest {
        algorithm: Algorithm::Kmeans(KMeansParams { k: 5, metric, seed: 2, ..KMeansParams::default() }),
        ..ClusterRequest::default()
    };
    let o = run_cluster(emb, &req, &Control::default()).unwrap();
    let params = crate::engine::project::umap::UmapParams { seed: 3, n_epochs: Some(120), fit_rows, ..Default::default() };
    let p = project(emb, &ProjectionParams::Umap { metric, params }, &Control::default(), None).unwrap();
    let m = Model::from_clustering(emb, &EmbeddingSource::Npy, None, &o, Some(&p), &[]).unwrap();
    (m, p)
}

#[test]
fn a_umap_model_places_each_row_where_its_neighbours_are_whatever_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    for metric in Metric::ALL {
        let all = blobs(1250, 16, 5, 4);
        let (fit_rows, new_rows): (Vec<usize>, Vec<usize>) = (0..1250).partition(|i| i % 7 != 0);
        let emb = Embeddings::new(part(&all, &fit_rows));
        let (m, p) = umap_model(&emb, metric, None);
        assert!(m.file.notes.iter().all(|n| !n.contains("UMAP")), "{:?}", m.file.notes);
        let path = dir.path().join(format!("u-{metric}.embedmap.json"));
        m.save(&path).unwrap();
        let back = Model::load(&path).unwrap();
        let new = part(&all, &new_rows);
        let xy = back.assign(&new).unwrap().xy.unwrap();
        assert_eq!(xy, m.assign(&new).unwrap().xy.unwrap(), "{metric}: the round trip changes nothing");
        // A row's position does not depend on its batch.
        let first = back.assign(&part(&all, &new_rows[..7])).unwrap().xy.unwrap();
        assert_eq!(first[..], xy[..7], "{metric}");
        // New rows land among the fitted rows of their blob.
        let blob_of_nearest = |q: [f32; 2]| {
            let j = (0..fit_rows.len())
                .min_by(|&a, &b| {
                    let d = |i: usize| (p.coords[i][0] - q[0]).powi(2) + (p.coords[i][1] - q[1]).powi(2);
                    d(a).total_cmp(&d(b))
                })
                .unwrap();
            fit_rows[j] % 5
        };
        let same = new_rows.iter().zip(&xy).filter(|&(&r, &q)| blob_of_nearest(q) == r % 5).count();
        assert!(same * 100 >= 97 * new_rows.len(), "{metric}: {same} of {}", new_rows.len());
    }
}

#[test]
fn a_sampled_umap_model_holds_the_fitted_sample_and_its_layout() {
    let dir = tempfile::tempdir().unwrap();
    let emb = blobs(900, 12, 3, 5);
    let (m, p) = umap_model(&emb, Metric::Cosine, Some(300));
    let Some(ProjectionSpec::Umap { placement, .. }) = &m.file.projection else { panic!("{:?}", m.file.projection) };
    assert_eq!((placement.metric, placement.n_neighbors), (Metric::Cosine, 15));
    let path = dir.path().join("s.embedmap.json");
    m.save(&path).unwrap();
    let back = Model::load(&path).unwrap();
    let Some(ProjectionSpec::Umap { fitted, layout, .. }) = &back.file.projection else { panic!() };
    assert_eq!((fitted.rows(), layout.rows()), (300, 300));
    let u = back.umap.as_ref().unwrap();
    let ProjectionDetail::Umap { sampled: Some(s), .. } = &p.detail else { panic!() };
    for (t, &i) in s.fitted_rows.iter().enumerate() {
        assert_eq!(u.layout[t], p.coords[i]);
        assert_eq!(u.fitted.row(t), emb.points(Metric::Cosine).row(i));
    }
}

#[test]
fn the_checksum_is_xxh3_of_the_little_endian_values() {
    // xxh3-64 of the 8 bytes of [1.0f32, -2.5f32], as Python's xxhash.xxh3_64 gives it.
    let want = format!("xxh3-64:{:016x}", xxhash_rust::xxh3::xxh3_64(&[0, 0, 128, 63, 0, 0, 32, 192]));
    assert_eq!(checksum(&[1.0, -2.5]), want);
    assert_ne!(checksum(&[1.0, -2.5]), checksum(&[-2.5, 1.0]));
}
