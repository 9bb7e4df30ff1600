//! Writing labelled data: every original column unchanged, plus `cluster`, `silhouette`, `x`, `y`.
//! The file is written beside the target under a temporary name and renamed into place, so a
//! failed export never leaves a half-written file, and the input is never overwritten.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::parquet_out::{self, Part};
use super::{Dataset, ExportError, write_atomically};

/// The per-row results to append.
#[derive(Clone, Copy, Debug)]
pub struct ExportColumns<'a> {
    /// Cluster of every row (−1 = noise).
    pub labels: &'a [i32],
    /// Silhouette of every row (NaN = not computed; written as a missing value).
    pub silhouette: &'a [f32],
    /// 2-D map coordinates of every row.
    pub xy: &'a [[f32; 2]],
    /// The algorithm's noise verdict, when noise was reassigned (adds `is_noise`).
    pub is_noise: Option<&'a [bool]>,
    /// HDBSCAN membership strength (adds `membership`).
    pub membership: Option<&'a [f64]>,
}

/// What was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSummary {
    /// The file.
    pub path: PathBuf,
    /// Rows written.
    pub rows: usize,
    /// Names of the appended columns (renamed when the data already had such a column).
    pub added_columns: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Csv(u8),
    Parquet,
}

/// Whether two paths name the same existing file.
#[must_use]
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// A column name not yet in `taken`: `base`, else `base_1`, `base_2`, ...
#[must_use]
pub fn free_name(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_string();
    }
    (1..).map(|i| format!("{base}_{i}")).find(|c| !taken.iter().any(|t| t == c)).unwrap_or_else(|| base.to_string())
}

/// The output format `path` asks for; refuses any path that is the input or its sidecar.
/// Whether `path` can take an export: a format it names and a folder that exists. The command
/// line checks this before it reads or computes anything, so a mistyped `--out` costs nothing.
pub fn check_export_path(path: &Path) -> Result<(), ExportError> {
    format_of(path)?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or_else(|| Path::new("."));
    if !dir.is_dir() {
        return Err(ExportError::NoSuchFolder { dir: dir.to_path_buf(), path: path.to_path_buf() });
    }
    Ok(())
}

fn format_of(path: &Path) -> Result<Target, ExportError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    Ok(match ext.as_str() {
        "csv" => Target::Csv(b','),
        "tsv" | "tab" => Target::Csv(b'\t'),
        "parquet" | "pq" => Target::Parquet,
        _ => return Err(ExportError::UnsupportedFormat { ext, path: path.to_path_buf() }),
    })
}

fn target_for(ds: &Dataset, path: &Path) -> Result<Target, ExportError> {
    let target = format_of(path)?;
    if ds.path.iter().chain(ds.sidecar.iter()).any(|input| same_file(input, path)) {
        return Err(ExportError::WouldOverwriteInput { path: path.to_path_buf() });
    }
    Ok(target)
}

/// Writes `frame` to `path` as `target`, atomically, with `held` (the embedding column kept as
/// the matrix: its position, name, type and row-major values) put back in its place; a Parquet
/// output declares the Arrow types of the `input` file's columns where it is Parquet (see
/// `arrow_types`).
fn write_frame(frame: DataFrame, held: Option<Held<'_>>, target: Target, path: &Path, input: Option<&Path>) -> Result<(), ExportError> {
    let werr = |message: String| ExportError::Write { message, path: path.to_path_buf() };
    match target {
        Target::Csv(sep) => {
            let mut frame = frame;
            if let Some(h) = held {
                let column = h.to_column().map_err(|e| werr(e.to_string()))?;
                frame.insert_column(h.index.min(frame.width()), column).map_err(|e| werr(e.to_string()))?;
            }
            let mut frame = lists_to_text(frame).map_err(werr)?;
            write_atomically(path, |file| {
                CsvWriter::new(file).include_header(true).with_separator(sep).finish(&mut frame).map_err(|e| e.to_string())
            })
        }
        Target::Parquet => {
            let like = input.and_then(super::arrow_types::declared);
            let rows = frame.height().max(held.as_ref().map_or(0, |h| h.values.len() / h.width.max(1)));
            let mut parts: Vec<Part<'_>> = frame.columns().iter().cloned().map(Part::Column).collect();
            if let Some(h) = &held {
                let at = h.index.min(parts.len());
                parts.insert(at, Part::Rows { name: h.name.into(), values: &h.values, width: h.width, dtype: h.dtype.clone() });
            }
            let schema: Schema = parts.iter().map(|p| Field::new(p.name().clone(), p.dtype().clone())).collect();
            let key_value = vec![super::arrow_types::entry(&schema, like.as_ref())];
            write_atomically(path, |file| parquet_out::write(&parts, rows, std::io::BufWriter::with_capacity(1 << 20, file), key_value))
        }
    }
}

/// The embedding column held as the dataset's matrix, ready to write.
struct Held<'a> {
    index: usize,
    name: &'a str,
    dtype: DataType,
    width: usize,
    values: std::borrow::Cow<'a, [f32]>,
}

impl Held<'_> {
    /// The column as polars holds it (for CSV, which turns it into text).
    #[expect(clippy::cast_possible_wrap, reason = "offsets into an in-memory column are below the allocation's size, so below i64::MAX")]
    fn to_column(&self) -> PolarsResult<Column> {
        let n = self.values.len() / self.width.max(1);
        let flat = Series::new("item".into(), self.values.as_ref());
        let offsets: Vec<i64> = (0..=n).map(|r| (r * self.width) as i64).collect();
        let list = ListChunked::from_chunk_iter(
            self.name.into(),
            [polars_arrow::array::ListArray::<i64>::new(
                ArrowDataType::LargeList(Box::new(ArrowField::new("item".into(), ArrowDataType::Float32, true))),
                polars_arrow::offset::OffsetsBuffer::try_from(offsets)?,
                flat.to_arrow(0, CompatLevel::newest()),
                None,
            )],
        );
        list.into_series().cast(&self.dtype).map(Series::into_column)
    }
}

/// Writes `ds` with the result columns to `path` (CSV, TSV or Parquet by extension).
pub fn export_labelled(ds: &Dataset, cols: ExportColumns<'_>, path: &Path) -> Result<ExportSummary, ExportError> {
    export_impl(ds, cols, None, path)
}

/// Writes only `rows` (in the given order) of `ds`, with the result columns, to `path`.
pub fn export_rows(ds: &Dataset, cols: ExportColumns<'_>, rows: &[usize], path: &Path) -> Result<ExportSummary, ExportError> {
    export_impl(ds, cols, Some(rows), path)
}

fn export_impl(ds: &Dataset, cols: ExportColumns<'_>, rows: Option<&[usize]>, path: &Path) -> Result<ExportSummary, ExportError> {
    let werr = |message: String| ExportError::Write { message, path: path.to_path_buf() };
    let target = target_for(ds, path)?;
    let n = ds.n();
    let extra = [cols.is_noise.map(<[bool]>::len), cols.membership.map(<[f64]>::len)];
    for len in [cols.labels.len(), cols.silhouette.len(), cols.xy.len()].into_iter().chain(extra.into_iter().flatten()) {
        if len != n {
            return Err(ExportError::LengthMismatch { got: len, expected: n });
        }
    }
    let mut frame = ds.frame.clone();
    let mut taken = ds.column_names();
    let mut added = Vec::new();
    let mut push = |frame: &mut DataFrame, base: &str, series: Series| -> Result<(), ExportError> {
        let name = free_name(base, &taken);
        taken.push(name.clone());
        added.push(name.clone());
        frame.with_column(series.with_name(name.as_str().into()).into_column()).map_err(|e| werr(e.to_string()))?;
        Ok(())
    };
    push(&mut frame, "cluster", Series::new("cluster".into(), cols.labels))?;
    let sil: Vec<Option<f32>> = cols.silhouette.iter().map(|&v| v.is_finite().then_some(v)).collect();
    push(&mut frame, "silhouette", Series::new("silhouette".into(), sil))?;
    let xs: Vec<f32> = cols.xy.iter().map(|p| p[0]).collect();
    let ys: Vec<f32> = cols.xy.iter().map(|p| p[1]).collect();
    push(&mut frame, "x", Series::new("x".into(), xs))?;
    push(&mut frame, "y", Series::new("y".into(), ys))?;
    if let Some(v) = cols.is_noise {
        push(&mut frame, "is_noise", Series::new("is_noise".into(), v))?;
    }
    if let Some(v) = cols.membership {
        push(&mut frame, "membership", Series::new("membership".into(), v))?;
    }
    let matrix = ds.embeddings.raw();
    let mut held = ds.vectors.as_ref().map(|v| Held {
        index: v.index,
        name: &v.name,
        dtype: v.dtype.clone(),
        width: matrix.d(),
        values: std::borrow::Cow::Borrowed(matrix.as_slice()),
    });
    let written = match rows {
        Some(rows) => {
            if let Some(&bad) = rows.iter().find(|&&r| r >= n) {
                return Err(ExportError::LengthMismatch { got: bad + 1, expected: n });
            }
            let idx: Vec<IdxSize> = rows.iter().filter_map(|&r| IdxSize::try_from(r).ok()).collect();
            frame = frame.take(&IdxCa::from_vec("rows".into(), idx)).map_err(|e| werr(e.to_string()))?;
            if let Some(h) = &mut held {
                h.values = std::borrow::Cow::Owned(rows.iter().flat_map(|&r| matrix.row(r).iter().copied()).collect());
            }
            rows.len()
        }
        None => n,
    };
    write_frame(frame, held, target, path, ds.path.as_deref())?;
    Ok(ExportSummary { path: path.to_path_buf(), rows: written, added_columns: added })
}

/// Writes only a layout: `row` (the row's position in the input, from 0), `x`, `y`, plus an
/// `id` column copied from the input when it has one. CSV, TSV or Parquet by extension.
pub fn export_coords(ds: &Dataset, xy: &[[f32; 2]], path: &Path) -> Result<ExportSummary, ExportError> {
    let werr = |message: String| ExportError::Write { message, path: path.to_path_buf() };
    let target = target_for(ds, path)?;
    if xy.len() != ds.n() {
        return Err(ExportError::LengthMismatch { got: xy.len(), expected: ds.n() });
    }
    let rows: Vec<u64> = (0..xy.len() as u64).collect();
    let mut columns = vec![Series::new("row".into(), rows).into_column()];
    if let Ok(id) = ds.frame.column("id") {
        columns.push(id.clone());
    }
    columns.push(Series::new("x".into(), xy.iter().map(|p| p[0]).collect::<Vec<f32>>()).into_column());
    columns.push(Series::new("y".into(), xy.iter().map(|p| p[1]).collect::<Vec<f32>>()).into_column());
    let frame = DataFrame::new(xy.len(), columns).map_err(|e| werr(e.to_string()))?;
    let added = frame.get_column_names().iter().map(|c| c.to_string()).collect();
    write_frame(frame, None, target, path, ds.path.as_deref())?;
    Ok(ExportSummary { path: path.to_path_buf(), rows: xy.len(), added_columns: added })
}

/// CSV has no list type: list and array columns become `[a, b, …]` text, which embedmap reads back.
pub(super) fn lists_to_text(frame: DataFrame) -> Result<DataFrame, String> {
    let mut out = Vec::with_capacity(frame.width());
    for c in frame.columns() {
        let s = c.as_materialized_series();
        let inner = match s.dtype() {
            DataType::List(inner) | DataType::Array(inner, _) => Some(inner.as_ref().clone()),
            _ => None,
        };
        let Some(inner) = inner else {
            out.push(c.clone());
            continue;
        };
        let as_f32 = inner == DataType::Float32;
        let target = DataType::List(Box::new(if as_f32 { DataType::Float32 } else { DataType::Float64 }));
        let list = s.cast(&target).map_err(|e| e.to_string())?;
        let ca = list.list().map_err(|e| e.to_string())?;
        let mut texts: Vec<Option<String>> = Vec::with_capacity(ca.len());
        for item in ca.amortized_iter() {
            let Some(item) = item else {
                texts.push(None);
                continue;
            };
            let s = item.as_ref();
            let t = if as_f32 {
                bracketed(s.f32().map_err(|e| e.to_string())?.iter())
            } else {
                bracketed(s.f64().map_err(|e| e.to_string())?.iter())
            };
            texts.push(Some(t));
        }
        out.push(Series::new(c.name().clone(), texts).into_column());
    }
    DataFrame::new(frame.height(), out).map_err(|e| e.to_string())
}

/// `[a, b, …]` with `null` for missing values; numbers in their shortest exact form.
fn bracketed<T: std::fmt::Display>(values: impl Iterator<Item = Option<T>>) -> String {
    let mut t = String::from("[");
    for (i, v) in values.enumerate() {
        if i > 0 {
            t.push_str(", ");
        }
        match v {
            // Writing to a String cannot fail.
            Some(v) => {
                let _ = write!(t, "{v}");
            }
            None => t.push_str("null"),
        }
    }
    t.push(']');
    t
}
