//! The headless commands, run as a user would.

mod common;

use std::process::Command;

use common::fixture;

fn embedmap(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_embedmap")).args(args).output().unwrap()
}

#[test]
fn info_reports_rows_dimension_and_columns_as_json() {
    let out = embedmap(&["info", fixture("formats/wide.csv").to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rows"], 40);
    assert_eq!(v["dim"], 8);
    assert_eq!(v["embedding_columns"].as_array().unwrap().len(), 8);
    let meta: Vec<&str> = v["metadata_columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(meta, vec!["id", "label", "score", "note"]);
}

#[test]
fn cluster_writes_labels_and_a_report_and_is_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("debian400.parquet");
    let run = |name: &str| {
        let out = dir.path().join(format!("{name}.csv"));
        let report = dir.path().join(format!("{name}.json"));
        let o = embedmap(&[
            "cluster",
            data.to_str().unwrap(),
            "--algo",
            "kmeans",
            "--k",
            "7",
            "--metric",
            "cosine",
            "--seed",
            "3",
            "--out",
            out.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        (std::fs::read_to_string(&out).unwrap(), r)
    };
    let (csv_a, report) = run("a");
    let (csv_b, _) = run("b");
    assert_eq!(csv_a, csv_b, "same seed, same output");
    assert_eq!(report["n"], 400);
    assert_eq!(report["dim"], 384);
    assert_eq!(report["algorithm"], "kmeans");
    assert_eq!(report["metric"], "cosine");
    assert_eq!(report["n_clusters"], 7);
    assert_eq!(report["silhouette"]["exact"], true);
    assert!(report["silhouette"]["mean"].as_f64().unwrap() > -1.0);
    assert!(report["inertia"].as_f64().unwrap() > 0.0);
    for stage in ["load", "cluster", "silhouette", "project", "export"] {
        assert!(report["timings_ms"][stage].as_f64().is_some(), "timing {stage}");
    }
    let header = csv_a.lines().next().unwrap();
    assert!(header.starts_with("id,category,text,embedding"), "{header}");
    assert!(header.ends_with("cluster,silhouette,x,y"), "{header}");
    assert!(csv_a.lines().count() > 400);
}

#[test]
fn bad_input_exits_nonzero_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.csv");
    let o = embedmap(&["cluster", fixture("formats/bad/nan.csv").to_str().unwrap(), "--k", "3", "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("NaN or infinite") && err.contains("nan.csv"), "{err}");
    assert!(!out.exists());
    let o = embedmap(&["cluster", fixture("formats/wide.csv").to_str().unwrap(), "--k", "100", "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("k must be between 1 and the number of rows (40)"));
    let o = embedmap(&[
        "cluster",
        fixture("formats/wide.csv").to_str().unwrap(),
        "--k",
        "3",
        "--out",
        fixture("formats/wide.csv").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("refusing to overwrite the input"));
    // A mistyped --out is refused before anything is read or clustered.
    let dir = tempfile::tempdir().unwrap();
    let wide = fixture("formats/wide.csv");
    for (out, says) in [
        (dir.path().join("labels.npy"), "cannot export to 'npy': use .csv, .tsv or .parquet"),
        (dir.path().join("missing").join("labels.csv"), "does not exist; create it or choose another place"),
    ] {
        for cmd in [vec!["cluster", wide.to_str().unwrap(), "--k", "3"], vec!["project", wide.to_str().unwrap()]] {
            let o = embedmap(&[cmd, vec!["--out", out.to_str().unwrap()]].concat());
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!o.status.success() && err.contains(says), "{err}");
            assert!(!err.contains("clustering ") && !err.contains("rows ×"), "work was done before refusing: {err}");
        }
    }
}

fn report_of(args: &[&str], dir: &std::path::Path) -> (serde_json::Value, String, String) {
    let out = dir.join("out.csv");
    let report = dir.join("report.json");
    let mut all: Vec<&str> = vec!["cluster"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", out.to_str().unwrap(), "--report", report.to_str().unwrap()]);
    let o = embedmap(&all);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    let r = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    (r, std::fs::read_to_string(&out).unwrap(), err)
}

#[test]
fn density_algorithms_report_noise_and_can_reassign_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("density.npy");
    let d = data.to_str().unwrap();
    // DBSCAN keeping noise: the share is reported, the silhouette leaves noise out.
    let (r, csv, err) = report_of(&[d, "--algo", "dbscan", "--eps", "2.392", "--min-samples", "5"], dir.path());
    assert_eq!(r["algorithm"], "dbscan");
    assert_eq!(r["n_clusters"], 3);
    assert_eq!(r["n_noise"], 1099);
    assert_eq!(r["silhouette"]["n_noise"], 1099);
    assert_eq!(r["silhouette"]["noise_excluded"], true);
    assert!(r["davies_bouldin"].as_f64().is_some() && r["calinski_harabasz"].as_f64().is_some());
    assert!(err.contains("1099 noise points (73.3%)"), "{err}");
    assert_eq!(csv.lines().skip(1).filter(|l| l.starts_with("-1,")).count(), 1099);
    // The same with noise assigned: no -1 left, and the verdict kept in is_noise.
    let (r, csv, _) = report_of(&[d, "--algo", "dbscan", "--eps", "2.392", "--min-samples", "5", "--noise", "nearest"], dir.path());
    assert_eq!(r["n_noise"], 1099);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|&c| c == "is_noise").expect("is_noise column");
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert!(rows.iter().all(|r| r[0] != "-1"));
    assert_eq!(rows.iter().filter(|r| r[col] == "true").count(), 1099);
    let sizes: u64 = r["cluster_sizes"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(sizes, 1500);
    // HDBSCAN: per-cluster membership, a membership column.
    let (r, csv, _) = report_of(&[d, "--algo", "hdbscan", "--min-cluster-size", "15", "--min-samples", "5"], dir.path());
    assert_eq!(r["n_clusters"], 5);
    let clusters = r["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 5);
    assert!(clusters.iter().all(|c| c["mean_membership"].as_f64().unwrap() > 0.0 && c["mean_silhouette"].as_f64().is_some()));
    assert!(csv.lines().next().unwrap().ends_with(",membership"));
}

#[test]
fn hierarchical_and_minibatch_run_and_a_label_column_adds_external_indices() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("debian400.parquet");
    let d = data.to_str().unwrap();
    let (r, _, _) = report_of(
        &[d, "--algo", "hierarchical", "--k", "8", "--linkage", "average", "--metric", "cosine", "--label-column", "category"],
        dir.path(),
    );
    assert_eq!(r["n_clusters"], 8);
    assert_eq!(r["params"]["linkage"], "average");
    let e = &r["external"];
    assert_eq!(e["label_column"], "category");
    for key in ["ari", "nmi", "homogeneity", "completeness", "v_measure"] {
        let v = e[key].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&v), "{key} {v}");
    }
    let counts: u64 =
        e["contingency"]["counts"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap()).map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(counts, 400);
    let (r, _, _) = report_of(&[d, "--algo", "minibatch-kmeans", "--k", "8", "--batch-size", "128"], dir.path());
    assert_eq!(r["algorithm"], "minibatch-kmeans");
    assert!(r["inertia"].as_f64().unwrap() > 0.0);
}

#[test]
fn refused_settings_say_what_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.csv");
    let data = fixture("blobs.npy");
    let run = |extra: &[&str]| {
        let mut a = vec!["cluster", data.to_str().unwrap(), "--out", out.to_str().unwrap()];
        a.extend_from_slice(extra);
        let o = embedmap(&a);
        assert!(!o.status.success(), "{extra:?} should fail");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    assert!(run(&["--algo", "hierarchical", "--k", "3", "--metric", "cosine"]).contains("ward linkage needs the euclidean metric"));
    assert!(run(&["--algo", "dbscan", "--eps", "0"]).contains("eps must be a positive number"));
    assert!(run(&["--algo", "dbscan", "--eps", "1", "--min-samples", "0"]).contains("min_samples must be at least 1"));
    assert!(run(&["--algo", "dbscan"]).contains("needs --eps"));
    assert!(run(&["--algo", "hierarchical"]).contains("needs --k"));
    assert!(run(&["--algo", "hdbscan", "--min-cluster-size", "1"]).contains("min_cluster_size must be at least 2"));
    assert!(run(&["--k", "3", "--label-column", "nope"]).contains("no metadata column 'nope'"));
    assert!(!out.exists());
    // k above the number of distinct points.
    let dup = dir.path().join("dup.csv");
    let mut text = String::from("a,b\n");
    for i in 0..30 {
        text.push_str(&format!("{},{}\n", i % 3, (i % 3) * 2));
    }
    std::fs::write(&dup, text).unwrap();
    let o = embedmap(&["cluster", dup.to_str().unwrap(), "--k", "4", "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("more than the 3 distinct points"), "{err}");
}

#[test]
fn all_noise_gives_an_undefined_silhouette_not_nan() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("blobs.npy");
    let (r, _, err) = report_of(&[data.to_str().unwrap(), "--algo", "dbscan", "--eps", "2.0", "--min-samples", "10"], dir.path());
    assert_eq!(r["n_noise"], 300);
    assert_eq!(r["n_clusters"], 0);
    assert!(r["silhouette"]["mean"].is_null());
    assert!(r["silhouette"]["undefined"].as_str().unwrap().contains("0 clusters"));
    assert!(r["davies_bouldin"]["undefined"].is_string());
    assert!(err.contains("silhouette: undefined"), "{err}");
    assert!(!err.contains("NaN"), "{err}");
}

#[test]
fn sweep_prints_one_row_per_k() {
    let o = embedmap(&["sweep", fixture("blobs.npy").to_str().unwrap(), "--k", "2..6", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.iter().map(|r| r["k"].as_u64().unwrap()).collect::<Vec<_>>(), vec![2, 3, 4, 5, 6]);
    // Inertia falls with k; the true k (5 blobs) has the best silhouette and Calinski-Harabasz.
    let inertia: Vec<f64> = rows.iter().map(|r| r["inertia"].as_f64().unwrap()).collect();
    assert!(inertia.windows(2).all(|w| w[1] < w[0]));
    let best = |key: &str| rows.iter().max_by(|a, b| a[key].as_f64().unwrap().total_cmp(&b[key].as_f64().unwrap())).unwrap()["k"].as_u64();
    assert_eq!(best("calinski_harabasz"), Some(5));
    let o = embedmap(&["sweep", fixture("blobs.npy").to_str().unwrap(), "--k", "5..2"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--k takes a range like 2..30"));
}

#[test]
fn a_session_brings_its_projection_unless_the_command_line_names_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("debian400.parquet");
    let session = dir.path().join("s.json");
    let s = serde_json::json!({
        "embedmap_session": 1,
        "file": data.canonicalize().unwrap(),
        "request": embedmap::session::ClusterRequest::default(),
        "projection": { "method": "umap", "metric": "cosine", "n_neighbors": 10, "min_dist": 0.3, "spread": 1.0, "seed": 4 },
    });
    std::fs::write(&session, s.to_string()).unwrap();
    let (r, _, _) = report_of(&["--session", session.to_str().unwrap()], dir.path());
    assert_eq!(r["projection"]["params"]["method"], "umap", "{}", r["projection"]);
    assert_eq!(r["projection"]["params"]["n_neighbors"], 10);
    assert_eq!(r["projection"]["params"]["seed"], 4);
    assert!((r["projection"]["params"]["min_dist"].as_f64().unwrap() - 0.3).abs() < 1e-6);
    let (r, _, _) = report_of(&["--session", session.to_str().unwrap(), "--projection", "pca", "--no-trust"], dir.path());
    assert_eq!(r["projection"]["params"]["method"], "pca");
}

#[test]
fn cluster_on_a_umap_reduction_reports_it_and_refuses_a_bad_spec() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("debian400.parquet");
    let d = data.to_str().unwrap();
    let args = [d, "--algo", "hdbscan", "--min-cluster-size", "8", "--metric", "cosine", "--projection", "pca"];
    let (full, _, _) = report_of(&args, dir.path());
    let mut with: Vec<&str> = args.to_vec();
    with.extend_from_slice(&["--reduce", "umap:10", "--seed", "3"]);
    let (r, csv, err) = report_of(&with, dir.path());
    assert_eq!(r["params"]["reduce"]["dim"], 10);
    assert_eq!(r["params"]["reduce"]["umap"]["seed"], 3);
    assert_eq!(r["params"]["reduce"]["umap"]["min_dist"], 0.0);
    assert!(r["notes"][0].as_str().unwrap().contains("clustered on a UMAP 10-d"), "{}", r["notes"]);
    assert!(err.contains("clustered on a UMAP 10-d"), "{err}");
    assert!(r["n_noise"].as_u64().unwrap() < full["n_noise"].as_u64().unwrap(), "{} vs {}", r["n_noise"], full["n_noise"]);
    assert_eq!(csv.lines().count(), 401);
    // Twice, the same labels.
    let (_, again, _) = report_of(&with, dir.path());
    assert_eq!(again, csv);
    let o = embedmap(&["cluster", d, "--algo", "hdbscan", "--reduce", "umap:40", "--out", dir.path().join("x.csv").to_str().unwrap()]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("umap:N with N from 2 to 16"), "{err}");
}

#[test]
fn info_on_parquet_answers_from_the_metadata_and_says_what_it_did_not_read() {
    let data = fixture("debian400.parquet");
    let out = embedmap(&["info", data.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["rows"].as_u64(), v["dim"].as_u64()), (Some(400), Some(384)));
    assert_eq!(v["embedding_columns"][0], "embedding");
    let meta: Vec<&str> = v["metadata_columns"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(meta, ["id", "category", "text"]);
    assert!(v["unchecked"].as_str().unwrap().contains("--full reads every row"));
    // --full reads and checks every row, as before.
    let full = embedmap(&["info", data.to_str().unwrap(), "--json", "--full"]);
    let f: serde_json::Value = serde_json::from_slice(&full.stdout).unwrap();
    assert_eq!((f["rows"].as_u64(), f["dim"].as_u64(), f["zero_vectors"].as_u64()), (Some(400), Some(384), Some(0)));
}
