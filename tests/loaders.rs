//! Every supported format gives the same vectors and keeps every other column; bad input gets an
//! error that names the file, the row and the column.

mod common;

use common::{fixture, json};
use embedmap::data::{EmbeddingSource, ExportColumns, LoadOptions, export_labelled, load};

fn expected_vectors() -> Vec<f32> {
    let e = json("formats/expected_vectors.json");
    #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
    e["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect::<Vec<_>>())
        .collect()
}

fn load_ok(rel: &str) -> embedmap::data::Dataset {
    load(&fixture(rel), &LoadOptions::default(), &|_, _| {}).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn load_err(rel: &str) -> String {
    match load(&fixture(rel), &LoadOptions::default(), &|_, _| {}) {
        Ok(_) => panic!("{rel} loaded but should not"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_format_gives_identical_vectors() {
    let want = expected_vectors();
    for rel in [
        "formats/wide.csv",
        "formats/wide.tsv",
        "formats/list.parquet",
        "formats/fixed.arrow",
        "formats/rows.jsonl",
        "formats/string_vectors.csv",
        "formats/numbered.csv",
        "formats/vectors_f32.npy",
        "formats/vectors_f64_fortran.npy",
    ] {
        let ds = load_ok(rel);
        assert_eq!((ds.n(), ds.dim()), (40, 8), "{rel}");
        assert_eq!(ds.embeddings.raw().as_slice(), want.as_slice(), "{rel}: vectors differ");
    }
}

#[test]
fn detection_finds_the_embedding_and_keeps_metadata_in_order() {
    let ds = load_ok("formats/wide.csv");
    assert_eq!(ds.source.columns().len(), 8);
    assert_eq!(ds.metadata_columns(), vec!["id", "label", "score", "note"]);
    let ds = load_ok("formats/list.parquet");
    assert_eq!(ds.source, EmbeddingSource::ListColumn { column: "embedding".into() });
    assert_eq!(ds.metadata_columns(), vec!["id", "label", "score", "note"]);
    let ds = load_ok("formats/fixed.arrow");
    assert_eq!(ds.source, EmbeddingSource::ListColumn { column: "embedding".into() });
    let ds = load_ok("formats/string_vectors.csv");
    assert_eq!(ds.source, EmbeddingSource::TextColumn { column: "embedding".into() });
    let ds = load_ok("formats/numbered.csv");
    assert_eq!(ds.source.columns(), vec!["0", "1", "2", "3", "4", "5", "6", "7"]);
    assert_eq!(ds.metadata_columns(), vec!["id", "label"]);
}

#[test]
fn npy_sidecar_metadata_is_joined_row_by_row() {
    let ds = load_ok("formats/vectors_f32.npy");
    assert_eq!(ds.metadata_columns(), vec!["id", "label", "note"]);
    let e = json("formats/expected_vectors.json");
    for row in [0usize, 7, 39] {
        assert_eq!(ds.cell_text(row, "label"), e["label"][row].as_str().unwrap());
    }
}

#[test]
fn metadata_text_survives_loading_exactly() {
    let e = json("formats/expected_vectors.json");
    for rel in ["formats/wide.csv", "formats/list.parquet", "formats/rows.jsonl"] {
        let ds = load_ok(rel);
        for row in 0..40 {
            assert_eq!(ds.cell_text(row, "note"), e["note"][row].as_str().unwrap(), "{rel} row {row}");
            assert_eq!(ds.cell_text(row, "id"), e["id"][row].to_string(), "{rel} row {row}");
        }
    }
}

#[test]
fn bad_files_get_errors_naming_file_row_and_column() {
    let e = load_err("formats/bad/empty.csv");
    assert!(e.contains("empty") && e.contains("empty.csv"), "{e}");
    let e = load_err("formats/bad/header_only.csv");
    assert!(e.contains("at least 2 rows") && e.contains("header_only.csv"), "{e}");
    let e = load_err("formats/bad/one_row.csv");
    assert!(e.contains("at least 2 rows") && e.contains("has 1"), "{e}");
    let e = load_err("formats/bad/ragged.jsonl");
    assert!(e.contains("row 4") && e.contains("7 values") && e.contains("ragged.jsonl"), "{e}");
    let e = load_err("formats/bad/nonnumeric.csv");
    assert!(e.contains("row 6") && e.contains("emb_3") && e.contains("'abc'") && e.contains("nonnumeric.csv"), "{e}");
    let e = load_err("formats/bad/nan.csv");
    assert!(e.contains("3 row(s)") && e.contains("3, 8, 10") && e.contains("emb_1") && e.contains("--drop-nonfinite"), "{e}");
    let e = load_err("formats/bad/no_numeric.csv");
    assert!(e.contains("no numeric data") && e.contains("--embedding-columns"), "{e}");
    let e = load_err("formats/bad/truncated.npy");
    assert!(e.contains("cut short") && e.contains("truncated.npy"), "{e}");
    let e = load_err("formats/bad/bad_magic.npy");
    assert!(e.contains("magic"), "{e}");
    let e = match load(std::path::Path::new("/nonexistent/file.csv"), &LoadOptions::default(), &|_, _| {}) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("loaded a missing file"),
    };
    assert!(e.contains("cannot read") && e.contains("/nonexistent/file.csv"), "{e}");
}

#[test]
fn nonfinite_rows_can_be_dropped_on_request() {
    let opts = LoadOptions { drop_nonfinite: true, ..LoadOptions::default() };
    let ds = load(&fixture("formats/bad/nan.csv"), &opts, &|_, _| {}).unwrap();
    assert_eq!(ds.n(), 37);
    assert_eq!(ds.dropped_rows, 3);
    assert!(ds.warnings.iter().any(|w| w.contains("dropped 3")));
    assert!(ds.embeddings.raw().as_slice().iter().all(|v| v.is_finite()));
}

#[test]
fn zero_vectors_are_reported() {
    let ds = load_ok("formats/bad/zero_vector.csv");
    assert_eq!(ds.embeddings.zero_rows(), &[4]);
    assert!(ds.warnings.iter().any(|w| w.contains("zero length") && w.contains("row 5")));
}

#[test]
fn embedding_columns_can_be_overridden() {
    let opts = LoadOptions { embedding_columns: Some("emb_0..emb_3".into()), ..LoadOptions::default() };
    let ds = load(&fixture("formats/wide.csv"), &opts, &|_, _| {}).unwrap();
    assert_eq!(ds.dim(), 4);
    assert!(ds.metadata_columns().contains(&"emb_7".to_string()));
    let opts = LoadOptions { embedding_columns: Some("nope".into()), ..LoadOptions::default() };
    let e = load(&fixture("formats/wide.csv"), &opts, &|_, _| {}).err().unwrap().to_string();
    assert!(e.contains("no column named 'nope'") && e.contains("wide.csv"), "{e}");
}

fn result_columns(n: usize) -> (Vec<i32>, Vec<f32>, Vec<[f32; 2]>) {
    let labels: Vec<i32> = (0..n).map(|i| i32::try_from(i % 3).unwrap()).collect();
    let sil: Vec<f32> = (0..n).map(|i| if i == 1 { f32::NAN } else { i as f32 / 100.0 }).collect();
    let xy: Vec<[f32; 2]> = (0..n).map(|i| [i as f32, -(i as f32)]).collect();
    (labels, sil, xy)
}

#[test]
fn csv_export_keeps_every_original_cell_and_adds_results() {
    let dir = tempfile::tempdir().unwrap();
    let src = load_ok("formats/wide.csv");
    let (labels, sil, xy) = result_columns(src.n());
    let out = dir.path().join("out.csv");
    let summary =
        export_labelled(&src, ExportColumns { labels: &labels, silhouette: &sil, xy: &xy, is_noise: None, membership: None }, &out)
            .unwrap();
    assert_eq!(summary.added_columns, vec!["cluster", "silhouette", "x", "y"]);
    let back = load(&out, &LoadOptions::default(), &|_, _| {}).unwrap();
    let mut want_cols = src.column_names();
    want_cols.extend(["cluster", "silhouette", "x", "y"].map(String::from));
    assert_eq!(back.column_names(), want_cols);
    for col in src.column_names() {
        for row in 0..src.n() {
            assert_eq!(back.cell_text(row, &col), src.cell_text(row, &col), "column {col} row {row}");
        }
    }
    assert_eq!(back.embeddings.raw(), src.embeddings.raw());
    assert_eq!(back.cell_text(5, "cluster"), "2");
    assert_eq!(back.cell_text(1, "silhouette"), "", "a silhouette that was not computed is a missing value");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "temporary files left behind: {leftovers:?}");
}

/// The Arrow types a Parquet file declares (its `ARROW:schema`), by column.
fn arrow_types(path: &std::path::Path) -> Vec<(String, String)> {
    let schema = embedmap::data::declared_arrow_schema(path).expect("an ARROW:schema entry");
    schema.iter_values().map(|f| (f.name.to_string(), format!("{:?}", f.dtype))).collect()
}

#[test]
fn parquet_export_round_trips_list_embeddings() {
    let dir = tempfile::tempdir().unwrap();
    let src = load_ok("formats/list.parquet");
    let (labels, sil, xy) = result_columns(src.n());
    let out = dir.path().join("out.parquet");
    export_labelled(&src, ExportColumns { labels: &labels, silhouette: &sil, xy: &xy, is_noise: None, membership: None }, &out).unwrap();
    let back = load(&out, &LoadOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(back.embeddings.raw(), src.embeddings.raw());
    // Every original column keeps the Arrow type the input declares (string, list<float>: not
    // string_view or large_list), so older readers take the export as they took the input.
    let (types_in, types_out) = (arrow_types(&fixture("formats/list.parquet")), arrow_types(&out));
    assert!(types_in.iter().any(|(_, t)| t.contains("List")) && types_in.iter().any(|(_, t)| t == "Utf8"), "{types_in:?}");
    assert_eq!(types_out[..types_in.len()], types_in[..]);
    for col in src.metadata_columns() {
        for row in 0..src.n() {
            assert_eq!(back.cell_text(row, &col), src.cell_text(row, &col), "column {col} row {row}");
        }
    }
    // A list column exported to CSV becomes [..] text that reads back to the same vectors.
    let out_csv = dir.path().join("out.csv");
    export_labelled(&src, ExportColumns { labels: &labels, silhouette: &sil, xy: &xy, is_noise: None, membership: None }, &out_csv)
        .unwrap();
    let back = load(&out_csv, &LoadOptions::default(), &|_, _| {}).unwrap();
    assert_eq!(back.embeddings.raw(), src.embeddings.raw());
}

#[test]
fn export_refuses_to_overwrite_the_input_and_unknown_types() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::copy(fixture("formats/wide.csv"), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let src = load(&input, &LoadOptions::default(), &|_, _| {}).unwrap();
    let (labels, sil, xy) = result_columns(src.n());
    let cols = ExportColumns { labels: &labels, silhouette: &sil, xy: &xy, is_noise: None, membership: None };
    let e = export_labelled(&src, cols, &input).unwrap_err().to_string();
    assert!(e.contains("refusing to overwrite the input"), "{e}");
    assert_eq!(std::fs::read(&input).unwrap(), before);
    let e = export_labelled(&src, cols, &dir.path().join("out.xlsx")).unwrap_err().to_string();
    assert!(e.contains(".csv, .tsv or .parquet"), "{e}");
    let e = export_labelled(&src, cols, &dir.path().join("missing-dir/out.csv")).unwrap_err().to_string();
    assert!(e.contains("cannot write") && e.contains("nothing was changed"), "{e}");
}

#[test]
fn bundled_demo_loads() {
    let ds = embedmap::data::load_demo().unwrap();
    assert!(ds.n() >= 1000);
    assert_eq!(ds.dim(), 384);
    assert!(ds.metadata_columns().contains(&"text".to_string()));
}

#[test]
fn npy_without_metadata_exports_the_result_columns() {
    let dir = tempfile::tempdir().unwrap();
    let src = load_ok("formats/vectors_f64_fortran.npy");
    assert!(src.metadata_columns().is_empty());
    let (labels, sil, xy) = result_columns(src.n());
    let out = dir.path().join("out.csv");
    export_labelled(&src, ExportColumns { labels: &labels, silhouette: &sil, xy: &xy, is_noise: None, membership: None }, &out).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().next().unwrap(), "cluster,silhouette,x,y");
    assert_eq!(text.lines().count(), 41);
}

#[test]
fn vectors_of_dimension_zero_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty_dims.npy");
    let bytes = embedmap::data::npy::header("<f4", false, &[3, 0]).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let e = load(&path, &LoadOptions::default(), &|_, _| {}).err().unwrap().to_string();
    assert!(e.contains("dimension 0") && e.contains("empty_dims.npy"), "{e}");
}

#[test]
fn numbers_beyond_f32s_range_are_refused_with_the_non_finite_rows_not_stored_as_infinity() {
    let dir = tempfile::tempdir().unwrap();
    // Wide columns (numbers and text cells) and a list column: 1e39 and -1e300 are finite as
    // f64 but infinite as f32.
    let wide = dir.path().join("wide.csv");
    std::fs::write(&wide, "id,e0,e1\n1,0.5,0.25\n2,1e39,0.5\n3,0.75,0.125\n4,0.5,-1e300\n5,0.25,0.5\n").unwrap();
    let list = dir.path().join("list.jsonl");
    let rows: Vec<String> =
        (0..5).map(|i| format!("{{\"id\": {i}, \"embedding\": [0.5, {}]}}", if i == 2 { "1e39" } else { "0.25" })).collect();
    std::fs::write(&list, rows.join("\n")).unwrap();
    for (path, bad) in [(&wide, 2), (&list, 1)] {
        let e = match load(path, &LoadOptions::default(), &|_, _| {}) {
            Err(e) => e.to_string(),
            Ok(ds) => panic!("{} loaded, first values {:?}", path.display(), &ds.embeddings.raw().as_slice()[..6]),
        };
        assert!(e.contains(&format!("{bad} row(s) contain NaN or infinite values, or numbers beyond ±3.4e38")), "{e}");
        let opts = LoadOptions { drop_nonfinite: true, ..LoadOptions::default() };
        let ds = load(path, &opts, &|_, _| {}).unwrap();
        assert_eq!((ds.n(), ds.dropped_rows), (5 - bad, bad));
        assert!(ds.embeddings.raw().as_slice().iter().all(|v| v.is_finite()));
    }
}
