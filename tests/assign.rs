//! Saved models and `embedmap assign`, run as a user would: the labels of `cluster`, row for
//! row, through batches and shards; bad rows counted and named; bad models and inputs refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::fixture;
use polars::prelude::*;

fn embedmap(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_embedmap")).args(args).output().unwrap()
}

fn ok(o: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn read(p: &Path) -> DataFrame {
    match p.extension().and_then(|e| e.to_str()) {
        Some("parquet") => ParquetReader::new(std::fs::File::open(p).unwrap()).finish().unwrap(),
        _ => CsvReadOptions::default()
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(p.to_path_buf()))
            .unwrap()
            .finish()
            .unwrap(),
    }
}

fn texts(df: &DataFrame, col: &str) -> Vec<Option<String>> {
    let c = df.column(col).unwrap().cast(&DataType::String).unwrap();
    c.str().unwrap().iter().map(|v| v.map(str::to_string)).collect()
}

/// Fits `data` with `args` into `dir/m.embedmap.json`, and clusters it into `dir/c.<ext>`.
fn fit_and_cluster(dir: &Path, data: &Path, args: &[&str], ext: &str) -> (PathBuf, PathBuf) {
    let model = dir.join("m.embedmap.json");
    let c = dir.join(format!("c.{ext}"));
    let mut fit = vec!["fit", s(data), "--model", s(&model)];
    fit.extend_from_slice(args);
    let err = ok(&embedmap(&fit));
    assert!(err.contains("as the clustering did"), "{err}");
    let mut cl = vec!["cluster", s(data), "--out", s(&c), "--no-trust"];
    cl.extend_from_slice(args);
    ok(&embedmap(&cl));
    (model, c)
}

#[test]
fn assign_gives_the_labels_and_map_of_cluster_row_for_row_and_keeps_every_column() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("debian400.parquet");
    for metric in ["cosine", "euclidean"] {
        let (model, c) = fit_and_cluster(dir.path(), &data, &["--k", "7", "--metric", metric, "--seed", "3"], "parquet");
        let out = dir.path().join("a.parquet");
        let err = ok(&embedmap(&["assign", s(&data), "--model", s(&model), "--out", s(&out)]));
        assert!(err.contains("400 rows"), "{err}");
        let (a, c, input) = (read(&out), read(&c), read(&data));
        for col in ["cluster", "x", "y"] {
            assert_eq!(texts(&a, col), texts(&c, col), "{metric}: {col}");
        }
        for col in input.get_column_names() {
            assert_eq!(a.column(col).unwrap().as_materialized_series(), input.column(col).unwrap().as_materialized_series(), "{col}");
        }
        assert!(a.column("distance").unwrap().f32().unwrap().into_no_null_iter().all(|d| d >= 0.0));
    }
    // A .npy array: the row number stands in for the columns it does not have.
    let npy = fixture("blobs.npy");
    let (model, c) = fit_and_cluster(dir.path(), &npy, &["--k", "4"], "csv");
    let out = dir.path().join("n.csv");
    ok(&embedmap(&["assign", s(&npy), "--model", s(&model), "--out", s(&out), "--batch-rows", "64"]));
    let a = read(&out);
    assert_eq!(texts(&a, "cluster"), texts(&read(&c), "cluster"));
    assert_eq!(texts(&a, "row")[299].as_deref(), Some("299"));
}

/// `data`'s rows in `parts` Parquet files of row groups of `group` rows.
fn shards(data: &Path, dir: &Path, parts: usize, group: usize) -> Vec<PathBuf> {
    let df = read(data);
    let per = df.height().div_ceil(parts);
    (0..parts)
        .map(|i| {
            let p = dir.join(format!("shard-{i:02}.parquet"));
            let mut part = df.slice(i64::try_from(i * per).unwrap(), per);
            ParquetWriter::new(std::fs::File::create(&p).unwrap()).with_row_group_size(Some(group)).finish(&mut part).unwrap();
            p
        })
        .collect()
}

#[test]
fn shards_in_small_batches_get_the_same_labels_and_a_rerun_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("debian400.parquet");
    let (model, c) = fit_and_cluster(dir.path(), &data, &["--k", "5", "--metric", "cosine"], "csv");
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    shards(&data, &input, 3, 40);
    let out = dir.path().join("out/");
    let glob = format!("{}/shard-*.parquet", input.display());
    let err = ok(&embedmap(&["assign", &glob, "--model", s(&model), "--out", s(&out), "--batch-rows", "50", "--columns", "id-only"]));
    assert!(err.contains("assigning 3 file(s)"), "{err}");
    let mut labels = Vec::new();
    for i in 0..3 {
        let part = read(&out.join(format!("shard-{i:02}.parquet")));
        assert_eq!(part.get_column_names().iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["id", "cluster", "distance", "x", "y"]);
        labels.extend(texts(&part, "cluster"));
    }
    assert_eq!(labels, texts(&read(&c), "cluster"));
    // A CSV of the same rows, its vectors as [..] text (as assign writes them), labels the same.
    let csv = dir.path().join("again.csv");
    ok(&embedmap(&["assign", s(&data), "--model", s(&model), "--out", s(&csv)]));
    let relabelled = dir.path().join("relabelled.csv");
    ok(&embedmap(&["assign", s(&csv), "--model", s(&model), "--out", s(&relabelled), "--columns", "id-only"]));
    assert_eq!(texts(&read(&relabelled), "cluster"), texts(&read(&c), "cluster"));
    // The folder exists now: refused, unless resuming, which skips what is done.
    let again = embedmap(&["assign", &glob, "--model", s(&model), "--out", s(&out)]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists; choose a new one, or add --resume"));
    std::fs::remove_file(out.join("shard-01.parquet")).unwrap();
    // A folder names its files as the pattern did.
    let folder = format!("{}/", input.display());
    let err = ok(&embedmap(&["assign", &folder, "--model", s(&model), "--out", s(&out), "--resume"]));
    assert_eq!(err.matches("skipped").count(), 2, "{err}");
    assert!(out.join("shard-01.parquet").is_file());
}

#[test]
fn a_truncated_shard_stops_the_run_with_its_name_and_leaves_only_complete_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("debian400.parquet");
    let (model, _) = fit_and_cluster(dir.path(), &data, &["--k", "5"], "csv");
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let files = shards(&data, &input, 3, 100);
    let bytes = std::fs::read(&files[1]).unwrap();
    std::fs::write(&files[1], &bytes[..bytes.len() / 2]).unwrap();
    let out = dir.path().join("out/");
    let o = embedmap(&["assign", &format!("{}/*.parquet", input.display()), "--model", s(&model), "--out", s(&out)]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("stopped at") && err.contains("shard-01.parquet") && err.contains("1 of 3 files are complete"), "{err}");
    let left: Vec<String> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, ["shard-00.parquet"]);
}

#[test]
fn bad_rows_are_written_unlabelled_named_by_file_and_row_and_set_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("formats/wide.csv");
    let (model, _) = fit_and_cluster(dir.path(), &data, &["--k", "3"], "csv");
    // Row 2 has a NaN, row 3 a missing value, row 4 a word (the first rows are one line each).
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for (line, from, to) in [(2usize, 2usize, "nan"), (3, 3, ""), (4, 4, "oops")] {
        let mut cells: Vec<String> = lines[line].split(',').map(str::to_string).collect();
        cells[from] = to.to_string();
        lines[line] = cells.join(",");
    }
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("a.csv");
    let report = dir.path().join("r.json");
    let o = embedmap(&["assign", s(&bad), "--model", s(&model), "--out", s(&out), "--report", s(&report)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.csv row 2: NaN or infinite value in 'emb_0'"), "{err}");
    assert!(err.contains("row 3: missing value in 'emb_1'") && err.contains("row 4: 'oops' in 'emb_2' is not a number"), "{err}");
    assert!(err.contains("3 row(s) had no usable vector"), "{err}");
    let a = read(&out);
    assert_eq!(a.height(), 40);
    let cl = texts(&a, "cluster");
    assert!(cl[1].is_none() && cl[2].is_none() && cl[3].is_none() && cl[0].is_some() && cl[4].is_some());
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["bad_rows"], 3);
    assert_eq!(r["bad_rows_listed"][1]["row"], 3);
}

/// A `rows × cols` little-endian f32 `.npy` file of small numbers.
fn write_npy(path: &Path, rows: usize, cols: usize) {
    let mut dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&u16::try_from(dict.len()).unwrap().to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    for i in 0..rows * cols {
        out.extend_from_slice(&((i % 7) as f32).to_le_bytes());
    }
    std::fs::write(path, out).unwrap();
}

/// A model of the Parquet fixture (384-d, column 'embedding'), in its own folder under `dir`.
fn pq_model(dir: &Path) -> PathBuf {
    let sub = dir.join("pq");
    if !sub.is_dir() {
        std::fs::create_dir(&sub).unwrap();
        fit_and_cluster(&sub, &fixture("debian400.parquet"), &["--k", "4"], "csv");
    }
    sub.join("m.embedmap.json")
}

#[test]
fn inputs_and_models_that_do_not_fit_are_refused_with_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = fit_and_cluster(dir.path(), &fixture("blobs.npy"), &["--k", "4", "--metric", "cosine"], "csv");
    let out = dir.path().join("a.csv");
    let fails = |args: &[&str]| {
        let o = embedmap(args);
        assert!(!o.status.success(), "{args:?}");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let five = dir.path().join("five.npy");
    write_npy(&five, 10, 5);
    let err = fails(&["assign", s(&five), "--model", s(&model), "--out", s(&out)]);
    assert!(
        err.contains("the model expects 8-dimensional embeddings") && err.contains("has 5 dimensions") && err.contains("five.npy"),
        "{err}"
    );
    let err = fails(&[
        "assign",
        s(&fixture("debian400.parquet")),
        "--model",
        s(&pq_model(dir.path())),
        "--out",
        s(&out),
        "--embedding-columns",
        "id",
    ]);
    assert!(err.contains("'embedding'") || err.contains("'id'"), "{err}");
    let err = fails(&["assign", s(&fixture("debian400.parquet")), "--model", s(&model), "--out", s(&out)]);
    assert!(err.contains("fitted on a .npy array"), "{err}");
    let err = fails(&["assign", s(&fixture("blobs.npy")), "--model", s(&model), "--out", s(&out), "--metric", "euclidean"]);
    assert!(err.contains("the model measures cosine distances"), "{err}");
    let pq = pq_model(dir.path());
    let err = fails(&["assign", s(&fixture("formats/wide.csv")), "--model", s(&pq), "--out", s(&out)]);
    assert!(err.contains("no column 'embedding'") && err.contains("the file has"), "{err}");
    let err = fails(&["assign", s(&fixture("formats/list.parquet")), "--model", s(&pq), "--out", s(&out)]);
    assert!(err.contains("have 8 values; the model expects 384"), "{err}");
    let err = fails(&["assign", s(&fixture("blobs.npy")), "--model", s(&fixture("blobs_expected.json")), "--out", s(&out)]);
    assert!(err.contains("is not an embedmap model"), "{err}");
    let err = fails(&["assign", &format!("{}/*.nothing", dir.path().display()), "--model", s(&model), "--out", s(&out)]);
    assert!(err.contains("no file matches"), "{err}");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = fails(&["assign", s(&empty), "--model", s(&model), "--out", s(&out)]);
    assert!(err.contains("holds no file embedmap reads"), "{err}");
    let two = [s(&fixture("blobs.npy")).to_string(), s(&fixture("formats/vectors_f32.npy")).to_string()];
    let err = fails(&["assign", &two[0], &two[1], "--model", s(&model), "--out", s(&out)]);
    assert!(err.contains("2 inputs cannot go into one file"), "{err}");
    let err = fails(&["fit", s(&fixture("blobs.npy")), "--k", "3"]);
    assert!(err.contains("needs --model"), "{err}");
    let err = fails(&["fit", s(&fixture("blobs.npy")), "--k", "3", "--model", "/no/such/dir/m.json"]);
    assert!(err.contains("no such folder"), "{err}");
    assert!(!out.exists());
}

#[test]
fn a_full_disk_stops_the_run_with_the_output_named_and_leaves_no_partial_file() {
    use std::os::unix::process::CommandExt as _;
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("debian400.parquet");
    let (model, _) = fit_and_cluster(dir.path(), &data, &["--k", "5"], "csv");
    let out = dir.path().join("out/");
    std::fs::create_dir(&out).unwrap();
    // Files of at most 64 KiB, as on a disk that fills up: writes beyond fail (EFBIG), and the
    // signal that would otherwise stop the process is ignored.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_embedmap"));
    cmd.args(["assign", s(&data), "--model", s(&model), "--out", s(&out), "--resume"]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit { rlim_cur: 64 << 10, rlim_max: 64 << 10 };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 || libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("debian400.parquet") && err.contains("cannot write") || err.contains("File too large"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn minibatch_and_dbscan_models_label_their_own_rows_as_the_clustering_did() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("debian400.parquet");
    // cluster --model writes the labelled file and the model in one run.
    let (c, model) = (dir.path().join("c.csv"), dir.path().join("mb.embedmap.json"));
    let err = ok(&embedmap(&[
        "cluster",
        s(&data),
        "--algo",
        "minibatch-kmeans",
        "--k",
        "6",
        "--batch-size",
        "64",
        "--out",
        s(&c),
        "--model",
        s(&model),
        "--no-trust",
    ]));
    assert!(err.contains("labels 400 of the 400 rows as the clustering did"), "{err}");
    let out = dir.path().join("a.csv");
    ok(&embedmap(&["assign", s(&data), "--model", s(&model), "--out", s(&out)]));
    assert_eq!(texts(&read(&out), "cluster"), texts(&read(&c), "cluster"));
    // DBSCAN: core points keep their cluster, noise stays noise; is_noise is written.
    let npy = fixture("blobs.npy");
    let dmodel = dir.path().join("db.embedmap.json");
    let err = ok(&embedmap(&["fit", s(&npy), "--algo", "dbscan", "--eps", "4", "--model", s(&dmodel)]));
    assert!(err.contains("core points within eps 4;") && err.contains("33 noise points"), "{err}");
    let dout = dir.path().join("d.csv");
    ok(&embedmap(&["assign", s(&npy), "--model", s(&dmodel), "--out", s(&dout)]));
    let d = read(&dout);
    let (cl, noise) = (texts(&d, "cluster"), texts(&d, "is_noise"));
    assert_eq!(cl.len(), 300);
    assert_eq!(cl.iter().filter(|l| l.as_deref() == Some("-1")).count(), 33);
    for (l, n) in cl.iter().zip(&noise) {
        assert_eq!(l.as_deref() == Some("-1"), n.as_deref() == Some("true"), "{l:?} {n:?}");
    }
}

#[test]
fn info_describes_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = fit_and_cluster(dir.path(), &fixture("debian400.parquet"), &["--k", "4", "--metric", "cosine"], "csv");
    let o = embedmap(&["info", s(&model)]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        text.contains("nearest of 4 k-means centroids") && text.contains("384-d vectors from list column 'embedding', cosine"),
        "{text}"
    );
    assert!(text.contains("400 of 400 fitting rows") && text.contains("PCA axes"), "{text}");
    let j: serde_json::Value = serde_json::from_slice(&embedmap(&["info", s(&model), "--json"]).stdout).unwrap();
    assert_eq!(j["metric"], "cosine");
    assert!(j.get("assignment").is_none() && j["rule"].as_str().unwrap().contains("centroids"));
}

#[test]
fn an_hdbscan_model_with_a_umap_map_writes_strengths_and_places_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let data = fixture("debian400.parquet");
    let args = ["--algo", "hdbscan", "--min-cluster-size", "8", "--metric", "cosine", "--projection", "umap"];
    let (model, c) = fit_and_cluster(dir.path(), &data, &args, "parquet");
    let info = embedmap(&["info", s(&model)]);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(text.contains("approximate prediction on the condensed tree of 400 fitted rows"), "{text}");
    assert!(text.contains("UMAP layout of 400 fitted rows"), "{text}");
    // The fitted rows are one file, shared by the tree and the map.
    let mut sides: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".npy"))
        .collect();
    sides.sort();
    assert_eq!(sides, ["m.embedmap.hdbscan_points.npy", "m.embedmap.hdbscan_tree.npy", "m.embedmap.rows.npy"]);
    let out = dir.path().join("a.parquet");
    ok(&embedmap(&["assign", s(&data), "--model", s(&model), "--out", s(&out)]));
    let (a, c) = (read(&out), read(&c));
    // The model labels its own rows nearly as the clustering did, noise with strength 0.
    let (got, want) = (texts(&a, "cluster"), texts(&c, "cluster"));
    let same = got.iter().zip(&want).filter(|(x, y)| x == y).count();
    assert!(same >= 380, "{same} of 400");
    let m = a.column("membership").unwrap().f32().unwrap();
    let noise = a.column("is_noise").unwrap().bool().unwrap();
    for (s, n) in m.iter().zip(noise.iter()) {
        let (s, n) = (s.unwrap(), n.unwrap());
        assert!((0.0..=1.0).contains(&s) && (!n || s == 0.0), "{s} {n}");
    }
    // Every row has a place on the map, finite, and near the clustering's own map.
    let (ax, cx) = (a.column("x").unwrap().f32().unwrap(), c.column("x").unwrap().f32().unwrap());
    let span = cx.max().unwrap() - cx.min().unwrap();
    let mut off: Vec<f32> = ax.iter().zip(cx.iter()).map(|(p, q)| (p.unwrap() - q.unwrap()).abs()).collect();
    off.sort_by(f32::total_cmp);
    assert!(off[200] < 0.1 * span, "median offset {} of a span {span}", off[200]);
}
