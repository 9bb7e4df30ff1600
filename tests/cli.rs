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
}
