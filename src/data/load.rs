//! Loading a file into a [`Dataset`]: reading it with polars, finding the embedding, checking
//! every value.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;

use super::detect::{self, ColumnKind, EmbeddingSource, candidates, parse_vector_text, resolve_spec};
use super::error::LoadError;
use super::npy;
use crate::engine::{Embeddings, Matrix};

/// File formats embedmap reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values.
    Csv,
    /// Tab-separated values.
    Tsv,
    /// Apache Parquet.
    Parquet,
    /// One JSON object per line.
    JsonLines,
    /// Arrow IPC file (Feather v2).
    Arrow,
    /// NumPy array.
    Npy,
}

impl Format {
    /// The format a file name's extension names.
    pub fn from_path(path: &Path) -> Result<Self, LoadError> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        Ok(match ext.as_str() {
            "csv" => Self::Csv,
            "tsv" | "tab" => Self::Tsv,
            "parquet" | "pq" => Self::Parquet,
            "jsonl" | "ndjson" => Self::JsonLines,
            "arrow" | "feather" | "ipc" => Self::Arrow,
            "npy" => Self::Npy,
            _ => return Err(LoadError::UnsupportedFormat { ext, path: path.to_path_buf() }),
        })
    }

    /// Human name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Csv => "CSV",
            Self::Tsv => "TSV",
            Self::Parquet => "Parquet",
            Self::JsonLines => "JSON Lines",
            Self::Arrow => "Arrow IPC",
            Self::Npy => "NumPy .npy",
        }
    }
}

/// How to load a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `--embedding-columns`: names, globs (`emb_*`) or a range (`emb_0..emb_383`), comma-separated.
    pub embedding_columns: Option<String>,
    /// Drop rows with NaN or infinite values instead of refusing the file.
    pub drop_nonfinite: bool,
}

/// A loaded dataset: every original column, and the embedding as one f32 matrix.
#[derive(Debug)]
pub struct Dataset {
    /// The file it came from (`None` for the bundled demo).
    pub path: Option<PathBuf>,
    /// Short name for titles.
    pub name: String,
    /// The file format.
    pub format: Format,
    /// Where the vectors were found.
    pub source: EmbeddingSource,
    /// The vectors.
    pub embeddings: Arc<Embeddings>,
    /// Things the user should know (dropped rows, zero vectors, guesses).
    pub warnings: Vec<String>,
    /// Rows removed because they held NaN or infinite values.
    pub dropped_rows: usize,
    /// Every original column in file order (for `.npy`, the sidecar's columns), except the
    /// embedding column when `vectors` says the matrix holds it.
    pub(super) frame: DataFrame,
    /// The embedding column that is held only as the matrix.
    pub(super) vectors: Option<VectorsColumn>,
    /// The metadata file joined to a `.npy`.
    pub sidecar: Option<PathBuf>,
    /// Plausible embeddings found while loading (for the picker).
    pub(super) candidates: Vec<(String, String)>,
}

/// An embedding column kept as the dataset's matrix rather than in its frame: a list or array
/// of `f32`, whose values the matrix holds exactly.
#[derive(Clone, Debug)]
pub(super) struct VectorsColumn {
    /// Its name.
    pub name: String,
    /// Its position among the file's columns.
    pub index: usize,
    /// Its type in the file.
    pub dtype: DataType,
}

impl Dataset {
    /// Number of rows.
    #[must_use]
    pub fn n(&self) -> usize {
        self.embeddings.raw().n()
    }

    /// Embedding dimension.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.embeddings.raw().d()
    }

    /// All original column names, in file order.
    #[must_use]
    pub fn column_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.frame.get_column_names().iter().map(|s| s.to_string()).collect();
        if let Some(v) = &self.vectors {
            names.insert(v.index.min(names.len()), v.name.clone());
        }
        names
    }

    /// The embedding column held as the matrix when `column` names it.
    fn held(&self, column: &str) -> Option<&VectorsColumn> {
        self.vectors.as_ref().filter(|v| v.name == column)
    }

    /// A row of the held embedding column as text, as polars shows a list.
    fn held_text(&self, row: usize) -> String {
        let values = self.embeddings.raw().row(row);
        let shown: Vec<String> = values.iter().take(8).map(f32::to_string).collect();
        let more = if values.len() > shown.len() { ", …" } else { "" };
        format!("[{}{more}]", shown.join(", "))
    }

    /// The columns that are not part of the embedding, in file order.
    #[must_use]
    pub fn metadata_columns(&self) -> Vec<String> {
        let emb = self.source.columns();
        self.column_names().into_iter().filter(|c| !emb.contains(&c.as_str())).collect()
    }

    /// Type of a column, for display.
    #[must_use]
    pub fn column_type(&self, column: &str) -> String {
        if let Some(v) = self.held(column) {
            return v.dtype.to_string();
        }
        self.frame.column(column).map(|c| c.dtype().to_string()).unwrap_or_default()
    }

    /// The text of one cell (empty for a missing value or an unknown column).
    #[must_use]
    pub fn cell_text(&self, row: usize, column: &str) -> String {
        if self.held(column).is_some() {
            return if row < self.n() { self.held_text(row) } else { String::new() };
        }
        let Ok(col) = self.frame.column(column) else { return String::new() };
        match col.get(row) {
            Ok(AnyValue::Null) | Err(_) => String::new(),
            Ok(AnyValue::String(s)) => s.to_string(),
            Ok(AnyValue::StringOwned(s)) => s.to_string(),
            Ok(v) => v.to_string(),
        }
    }

    /// A numeric column's values as f64 (NaN where missing); `None` for other columns.
    #[must_use]
    pub fn column_numbers(&self, column: &str) -> Option<Vec<f64>> {
        let col = self.frame.column(column).ok()?;
        if !col.dtype().is_primitive_numeric() {
            return None;
        }
        let cast = col.cast(&DataType::Float64).ok()?;
        let ca = cast.f64().ok()?;
        Some(ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    }

    /// Every cell of a column as text (`None` where missing; all `None` for an unknown column).
    #[must_use]
    pub fn column_texts(&self, column: &str) -> Vec<Option<String>> {
        let n = self.n();
        if self.held(column).is_some() {
            return (0..self.n()).map(|i| Some(self.held_text(i))).collect();
        }
        let Ok(col) = self.frame.column(column) else { return vec![None; n] };
        if let Ok(cast) = col.cast(&DataType::String)
            && let Ok(ca) = cast.str()
        {
            return ca.iter().map(|v| v.map(str::to_string)).collect();
        }
        (0..n).map(|i| Some(self.cell_text(i, column)).filter(|s| !s.is_empty())).collect()
    }

    /// The metadata column most likely to hold a row's text (for hover), then a label column.
    #[must_use]
    pub fn hover_columns(&self) -> Vec<String> {
        let meta = self.metadata_columns();
        let rank = |name: &str| {
            let l = name.to_ascii_lowercase();
            if ["text", "sentence", "content", "description", "title", "body", "document", "review"].iter().any(|w| l.contains(w)) {
                0
            } else if ["label", "theme", "category", "class", "section", "topic", "name"].iter().any(|w| l.contains(w)) {
                1
            } else if l == "id" {
                2
            } else {
                3
            }
        };
        let mut m: Vec<(usize, usize, String)> = meta.into_iter().enumerate().map(|(i, c)| (rank(&c), i, c)).collect();
        m.sort();
        m.into_iter().take(4).map(|(_, _, c)| c).collect()
    }

    /// The plausible embeddings in this file, as (`--embedding-columns` spec, description).
    #[must_use]
    pub fn embedding_candidates(&self) -> &[(String, String)] {
        &self.candidates
    }

    /// Short description of the source for titles and summaries.
    #[must_use]
    pub fn display_path(&self) -> String {
        self.path.as_ref().map_or_else(|| self.name.clone(), |p| p.display().to_string())
    }
}

/// The bundled demo dataset, embedded in the binary.
pub const DEMO_PARQUET: &[u8] = include_bytes!("../../assets/demo/demo_reviews.parquet");

/// Loads the bundled demo dataset.
pub fn load_demo() -> Result<Dataset, LoadError> {
    let path = PathBuf::from("demo_reviews.parquet");
    let frame = ParquetReader::new(Cursor::new(DEMO_PARQUET)).finish().map_err(|e| LoadError::Parse {
        format: "Parquet",
        message: e.to_string(),
        path: path.clone(),
    })?;
    let mut ds = from_frame(frame, Format::Parquet, &path, &LoadOptions::default(), &|_, _| {})?;
    ds.path = None;
    ds.name = "demo: customer reviews".into();
    Ok(ds)
}

/// Progress callback of loading: stage and fraction done.
pub type LoadProgress<'a> = &'a dyn Fn(&str, f32);

/// Loads `path` (format from its extension).
pub fn load(path: &Path, opts: &LoadOptions, progress: LoadProgress<'_>) -> Result<Dataset, LoadError> {
    let format = Format::from_path(path)?;
    let io = |e| LoadError::Io { source: e, path: path.to_path_buf() };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size == 0 {
        return Err(LoadError::Empty { path: path.to_path_buf() });
    }
    check_memory(path, format, size)?;
    progress("reading", 0.0);
    if format == Format::Npy {
        return load_npy(path, opts, progress);
    }
    if format == Format::Parquet
        && let Some(direct) = super::parquet_in::load(path, opts, progress)?
    {
        progress("validating", 0.95);
        let super::parquet_in::Direct { frame, data, dim, nonfinite, source, held, kinds, mut warnings } = direct;
        let first_column = if nonfinite.is_empty() { String::new() } else { held.name.clone() };
        let nonfinite = NonFinite { rows: nonfinite, first_column };
        let mut ds = finish(frame, data, dim, nonfinite, source, Some(held), format, path, opts, &mut warnings)?;
        ds.candidates = candidates(&kinds);
        progress("done", 1.0);
        return Ok(ds);
    }
    let frame = read_frame(path, format)?;
    progress("parsing vectors", 0.5);
    let mut ds = from_frame(frame, format, path, opts, progress)?;
    ds.path = Some(path.to_path_buf());
    progress("done", 1.0);
    Ok(ds)
}

/// What a Parquet file's metadata and first row say, without reading the rest.
#[derive(Clone, Debug)]
pub struct Peek {
    /// Rows, from the metadata.
    pub rows: usize,
    /// Every column with its type.
    pub columns: Vec<(String, String)>,
    /// Where the vectors are.
    pub source: EmbeddingSource,
    /// Values per vector, from the first row.
    pub dim: usize,
    /// The columns that are not the embedding.
    pub metadata: Vec<String>,
}

/// The rows, columns and embedding of a Parquet file from its metadata and its first row: the
/// answer of `embedmap info` in milliseconds, where loading reads every row. Missing or NaN
/// values, vectors of other lengths and zero vectors further down are not seen.
pub fn peek_parquet(path: &Path, opts: &LoadOptions) -> Result<Peek, LoadError> {
    let p = || path.to_path_buf();
    let perr = parse_err(Format::Parquet, path);
    let f = std::fs::File::open(path).map_err(|e| LoadError::Io { source: e, path: p() })?;
    let mut r = ParquetReader::new(f);
    let rows = r.num_rows().map_err(&perr)?;
    if rows == 0 {
        return Err(LoadError::Empty { path: p() });
    }
    let frame = r.with_slice(Some((0, 1))).finish().map_err(&perr)?;
    let names: Vec<String> = frame.get_column_names().iter().map(|c| c.to_string()).collect();
    let kinds: Vec<(String, ColumnKind)> = frame.columns().iter().map(|c| (c.name().to_string(), classify(c))).collect();
    let source = match &opts.embedding_columns {
        Some(spec) => {
            let idx = resolve_spec(spec, &names).map_err(|m| LoadError::BadColumnSpec { message: m, path: p() })?;
            match idx.as_slice() {
                [one] if kinds[*one].1 == ColumnKind::NumericList => EmbeddingSource::ListColumn { column: names[*one].clone() },
                [one] if kinds[*one].1 == ColumnKind::VectorText => EmbeddingSource::TextColumn { column: names[*one].clone() },
                _ => EmbeddingSource::Wide { columns: idx.iter().map(|&i| names[i].clone()).collect() },
            }
        }
        None => detect::detect(&kinds).map_err(|detail| LoadError::NoEmbedding { detail, path: p() })?.0,
    };
    let (_, dim, _) = extract(&frame, &source, path)?;
    let embedding: Vec<&str> = source.columns();
    let metadata = names.iter().filter(|n| !embedding.contains(&n.as_str())).cloned().collect();
    let columns = frame.columns().iter().map(|c| (c.name().to_string(), c.dtype().to_string())).collect();
    Ok(Peek { rows, columns, source, dim, metadata })
}

/// Refuses files that cannot fit in memory, from an estimate made before reading.
fn check_memory(path: &Path, format: Format, size: u64) -> Result<(), LoadError> {
    check_memory_against(path, format, size, available_memory())
}

fn check_memory_against(path: &Path, format: Format, size: u64, available: Option<u64>) -> Result<(), LoadError> {
    let factor = match format {
        Format::Npy => 1.2,
        Format::Csv | Format::Tsv | Format::JsonLines => 3.0,
        // Columnar files are compressed; vectors of floats rarely shrink more than 2×.
        Format::Parquet | Format::Arrow => 4.0,
    };
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a byte estimate: non-negative and far below u64::MAX")]
    let need = (size as f64 * factor) as u64;
    if let Some(avail) = available
        && need > avail
    {
        return Err(LoadError::TooBig { need_mib: need >> 20, available_mib: avail >> 20, path: path.to_path_buf() });
    }
    Ok(())
}

/// `MemAvailable` from /proc/meminfo, in bytes.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

pub(super) fn parse_err(format: Format, path: &Path) -> impl Fn(PolarsError) -> LoadError + '_ {
    move |e| LoadError::Parse { format: format.name(), message: e.to_string(), path: path.to_path_buf() }
}

/// Reads a tabular file into a frame. Text formats are read as text, so that every cell can be
/// written back exactly as it was.
pub(super) fn read_frame(path: &Path, format: Format) -> Result<DataFrame, LoadError> {
    let io = |e| LoadError::Io { source: e, path: path.to_path_buf() };
    let perr = parse_err(format, path);
    match format {
        Format::Csv | Format::Tsv => {
            let sep = if format == Format::Tsv { b'\t' } else { b',' };
            CsvReadOptions::default()
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .with_parse_options(CsvParseOptions::default().with_separator(sep))
                .try_into_reader_with_file_path(Some(path.to_path_buf()))
                .map_err(&perr)?
                .finish()
                .map_err(&perr)
        }
        Format::Parquet => {
            let f = std::fs::File::open(path).map_err(io)?;
            ParquetReader::new(f).finish().map_err(&perr)
        }
        Format::Arrow => {
            let f = std::fs::File::open(path).map_err(io)?;
            IpcReader::new(f).finish().map_err(&perr)
        }
        Format::JsonLines => {
            let f = std::fs::File::open(path).map_err(io)?;
            JsonReader::new(f).with_json_format(JsonFormat::JsonLines).finish().map_err(&perr)
        }
        Format::Npy => unreachable!("npy files are read by load_npy"),
    }
}

pub(super) fn classify(col: &Column) -> ColumnKind {
    let dt = col.dtype();
    match dt {
        DataType::List(inner) | DataType::Array(inner, _) if inner.is_primitive_numeric() => ColumnKind::NumericList,
        d if d.is_primitive_numeric() => ColumnKind::Numeric,
        DataType::String => {
            let s = col.as_materialized_series();
            let Ok(ca) = s.str() else { return ColumnKind::Other };
            let Some(first) = ca.iter().flatten().next() else { return ColumnKind::Other };
            if first.trim_start().starts_with('[') {
                if parse_vector_text(first).is_some() { ColumnKind::VectorText } else { ColumnKind::Other }
            } else if parse_number(first).is_some() {
                ColumnKind::Numeric
            } else {
                ColumnKind::Other
            }
        }
        _ => ColumnKind::Other,
    }
}

pub(super) fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok()
}

/// Builds a dataset from a frame: finds the embedding, extracts and validates it.
fn from_frame(frame: DataFrame, format: Format, path: &Path, opts: &LoadOptions, progress: LoadProgress<'_>) -> Result<Dataset, LoadError> {
    let names: Vec<String> = frame.get_column_names().iter().map(|s| s.to_string()).collect();
    if frame.height() == 0 && names.is_empty() {
        return Err(LoadError::Empty { path: path.to_path_buf() });
    }
    if frame.height() < 2 {
        return Err(LoadError::TooFewRows { rows: frame.height(), path: path.to_path_buf() });
    }
    let kinds: Vec<(String, ColumnKind)> = frame.columns().iter().map(|c| (c.name().to_string(), classify(c))).collect();
    let (source, mut warnings) = match &opts.embedding_columns {
        Some(spec) => {
            let idx = resolve_spec(spec, &names).map_err(|m| LoadError::BadColumnSpec { message: m, path: path.to_path_buf() })?;
            let source = if let [one] = idx.as_slice() {
                match kinds[*one].1 {
                    ColumnKind::NumericList => EmbeddingSource::ListColumn { column: names[*one].clone() },
                    ColumnKind::VectorText => EmbeddingSource::TextColumn { column: names[*one].clone() },
                    _ => EmbeddingSource::Wide { columns: vec![names[*one].clone()] },
                }
            } else {
                for &i in &idx {
                    if matches!(kinds[i].1, ColumnKind::NumericList | ColumnKind::VectorText) {
                        return Err(LoadError::BadColumnSpec {
                            message: format!("--embedding-columns: '{}' holds whole vectors; name it alone", names[i]),
                            path: path.to_path_buf(),
                        });
                    }
                }
                EmbeddingSource::Wide { columns: idx.iter().map(|&i| names[i].clone()).collect() }
            };
            (source, Vec::new())
        }
        None => detect::detect(&kinds).map_err(|detail| LoadError::NoEmbedding { detail, path: path.to_path_buf() })?,
    };
    let (data, d, nonfinite) = extract(&frame, &source, path)?;
    progress("validating", 0.9);
    let mut ds = finish(frame, data, d, nonfinite, source, None, format, path, opts, &mut warnings)?;
    ds.candidates = candidates(&kinds);
    Ok(ds)
}

/// Rows with NaN/±inf and the column of the first one.
struct NonFinite {
    rows: Vec<usize>,
    first_column: String,
}

#[expect(clippy::too_many_arguments, reason = "the kernel's inputs are separate slices and sizes; a struct would only name them again")]
fn finish(
    mut frame: DataFrame,
    mut data: Vec<f32>,
    d: usize,
    nonfinite: NonFinite,
    source: EmbeddingSource,
    held: Option<VectorsColumn>,
    format: Format,
    path: &Path,
    opts: &LoadOptions,
    warnings: &mut Vec<String>,
) -> Result<Dataset, LoadError> {
    if d == 0 {
        return Err(LoadError::ZeroDimension { path: path.to_path_buf() });
    }
    let n = data.len() / d;
    if n > Matrix::MAX_ROWS {
        return Err(LoadError::TooManyRows { rows: n, max: Matrix::MAX_ROWS, path: path.to_path_buf() });
    }
    // `held`: the column was never read into the frame.
    let vectors = held.or_else(|| held_as_matrix(&frame, &source, d));
    if let Some(v) = &vectors
        && frame.column(&v.name).is_ok()
    {
        // The matrix now holds this column's values exactly; a second copy would double memory.
        let _ = frame.drop_in_place(&v.name);
    }
    let mut dropped = 0;
    if !nonfinite.rows.is_empty() {
        if !opts.drop_nonfinite {
            let rows = nonfinite.rows.iter().take(5).map(|r| (r + 1).to_string()).collect::<Vec<_>>().join(", ");
            let rows = if nonfinite.rows.len() > 5 { format!("{rows}, …") } else { rows };
            return Err(LoadError::NonFinite {
                count: nonfinite.rows.len(),
                rows,
                column: nonfinite.first_column,
                path: path.to_path_buf(),
            });
        }
        let mut keep = vec![true; n];
        for &r in &nonfinite.rows {
            keep[r] = false;
        }
        let mask = BooleanChunked::from_slice("keep".into(), &keep);
        frame = frame.filter(&mask).map_err(parse_err(format, path))?;
        let m = Matrix::new(std::mem::take(&mut data), n, d).ok_or_else(|| LoadError::ZeroDimension { path: path.to_path_buf() })?;
        data = m.filter_rows(&keep).as_slice().to_vec();
        dropped = nonfinite.rows.len();
        warnings.push(format!("dropped {dropped} row(s) with NaN or infinite values; they are not in exports"));
    }
    let n = data.len() / d;
    if n < 2 {
        return Err(LoadError::TooFewRows { rows: n, path: path.to_path_buf() });
    }
    let matrix = Matrix::new(data, n, d).ok_or_else(|| LoadError::ZeroDimension { path: path.to_path_buf() })?;
    let embeddings = Embeddings::new(matrix);
    let zero = embeddings.zero_rows().len();
    if zero > 0 {
        let first = embeddings.zero_rows()[0] + 1;
        warnings.push(format!(
            "{zero} row(s) have zero length (first: row {first}); under the cosine metric their distance to every point is taken as 1"
        ));
    }
    let name = path.file_name().map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned());
    Ok(Dataset {
        path: Some(path.to_path_buf()),
        name,
        format,
        source,
        embeddings: Arc::new(embeddings),
        warnings: std::mem::take(warnings),
        dropped_rows: dropped,
        frame,
        vectors,
        sidecar: None,
        candidates: Vec::new(),
    })
}

/// The embedding column when the matrix holds its values bit for bit (a list or array of `f32`,
/// every row the same length), so it can be written back from the matrix.
fn held_as_matrix(frame: &DataFrame, source: &EmbeddingSource, d: usize) -> Option<VectorsColumn> {
    let EmbeddingSource::ListColumn { column } = source else { return None };
    let col = frame.column(column).ok()?;
    let exact = match col.dtype() {
        DataType::List(inner) => **inner == DataType::Float32,
        DataType::Array(inner, width) => **inner == DataType::Float32 && *width == d,
        _ => false,
    };
    exact.then(|| VectorsColumn { name: column.clone(), index: frame.get_column_index(column).unwrap_or(0), dtype: col.dtype().clone() })
}

pub(super) fn shorten(s: &str) -> String {
    if s.chars().count() > 40 { format!("{}…", s.chars().take(40).collect::<String>()) } else { s.to_string() }
}

/// Pulls the embedding out of the frame as row-major f32, checking every cell.
fn extract(frame: &DataFrame, source: &EmbeddingSource, path: &Path) -> Result<(Vec<f32>, usize, NonFinite), LoadError> {
    let n = frame.height();
    let p = || path.to_path_buf();
    let mut bad_rows: Vec<usize> = Vec::new();
    let mut first_column = String::new();
    let mut note_bad = |row: usize, column: &str, bad_rows: &mut Vec<usize>| {
        if bad_rows.last() != Some(&row) {
            bad_rows.push(row);
        }
        if first_column.is_empty() {
            first_column = column.to_string();
        }
    };
    let col = |name: &str| frame.column(name).map_err(|e| LoadError::BadColumnSpec { message: e.to_string(), path: p() });
    match source {
        EmbeddingSource::Npy => unreachable!("npy data is not in a frame"),
        EmbeddingSource::ListColumn { column } => {
            let s = col(column)?.as_materialized_series();
            let s = s.cast(&DataType::List(Box::new(DataType::Float32))).map_err(|e| LoadError::Parse {
                format: "list of numbers",
                message: e.to_string(),
                path: p(),
            })?;
            let ca = s.list().map_err(|e| LoadError::Parse { format: "list of numbers", message: e.to_string(), path: p() })?;
            let mut data: Vec<f32> = Vec::new();
            let mut d = None;
            for (row, item) in ca.amortized_iter().enumerate() {
                let Some(item) = item else {
                    return Err(LoadError::Missing { row: row + 1, column: column.clone(), path: p() });
                };
                let vals =
                    item.as_ref().f32().map_err(|e| LoadError::Parse { format: "list of numbers", message: e.to_string(), path: p() })?;
                let len = vals.len();
                let expected = *d.get_or_insert(len);
                if len != expected {
                    return Err(LoadError::Ragged { row: row + 1, column: column.clone(), len, expected, path: p() });
                }
                if data.capacity() == 0 {
                    data.reserve_exact(n * expected);
                }
                let mut row_bad = false;
                for v in vals.iter() {
                    let Some(v) = v else {
                        return Err(LoadError::Missing { row: row + 1, column: column.clone(), path: p() });
                    };
                    row_bad |= !v.is_finite();
                    data.push(v);
                }
                if row_bad {
                    note_bad(row, column, &mut bad_rows);
                }
            }
            Ok((data, d.unwrap_or(0), NonFinite { rows: bad_rows, first_column }))
        }
        EmbeddingSource::TextColumn { column } => {
            let s = col(column)?.as_materialized_series();
            let ca = s.str().map_err(|e| LoadError::Parse { format: "text vectors", message: e.to_string(), path: p() })?;
            let mut data: Vec<f32> = Vec::new();
            let mut d = None;
            for (row, cell) in ca.iter().enumerate() {
                let Some(cell) = cell else {
                    return Err(LoadError::Missing { row: row + 1, column: column.clone(), path: p() });
                };
                let Some(vals) = parse_vector_text(cell) else {
                    return Err(LoadError::NotANumber { row: row + 1, column: column.clone(), value: shorten(cell), path: p() });
                };
                let expected = *d.get_or_insert(vals.len());
                if vals.len() != expected {
                    return Err(LoadError::Ragged { row: row + 1, column: column.clone(), len: vals.len(), expected, path: p() });
                }
                let mut row_bad = false;
                for v in vals {
                    let x = super::finite_f32(v);
                    row_bad |= x.is_none();
                    data.push(x.unwrap_or(f32::NAN));
                }
                if row_bad {
                    note_bad(row, column, &mut bad_rows);
                }
            }
            Ok((data, d.unwrap_or(0), NonFinite { rows: bad_rows, first_column }))
        }
        EmbeddingSource::Wide { columns } => {
            let d = columns.len();
            let mut data = vec![0.0f32; n * d];
            let mut bad = vec![false; n];
            let mut first_bad: Vec<(usize, usize)> = Vec::new();
            for (j, name) in columns.iter().enumerate() {
                let c = col(name)?;
                let s = c.as_materialized_series();
                if s.dtype() == &DataType::String {
                    let ca = s.str().map_err(|e| LoadError::Parse { format: "numbers", message: e.to_string(), path: p() })?;
                    for (row, cell) in ca.iter().enumerate() {
                        let Some(cell) = cell else {
                            return Err(LoadError::Missing { row: row + 1, column: name.clone(), path: p() });
                        };
                        let Some(v) = parse_number(cell) else {
                            return Err(LoadError::NotANumber { row: row + 1, column: name.clone(), value: shorten(cell), path: p() });
                        };
                        let x = super::finite_f32(v);
                        if x.is_none() && !bad[row] {
                            bad[row] = true;
                            first_bad.push((row, j));
                        }
                        data[row * d + j] = x.unwrap_or(f32::NAN);
                    }
                } else if s.dtype().is_primitive_numeric() {
                    let f = s.cast(&DataType::Float64).map_err(|e| LoadError::Parse {
                        format: "numbers",
                        message: e.to_string(),
                        path: p(),
                    })?;
                    let ca = f.f64().map_err(|e| LoadError::Parse { format: "numbers", message: e.to_string(), path: p() })?;
                    for (row, v) in ca.iter().enumerate() {
                        let Some(v) = v else {
                            return Err(LoadError::Missing { row: row + 1, column: name.clone(), path: p() });
                        };
                        let x = super::finite_f32(v);
                        if x.is_none() && !bad[row] {
                            bad[row] = true;
                            first_bad.push((row, j));
                        }
                        data[row * d + j] = x.unwrap_or(f32::NAN);
                    }
                } else {
                    let shown = c.get(0).map(|v| v.to_string()).unwrap_or_default();
                    return Err(LoadError::NotANumber { row: 1, column: name.clone(), value: shorten(&shown), path: p() });
                }
            }
            first_bad.sort_unstable();
            let rows: Vec<usize> = first_bad.iter().map(|&(r, _)| r).collect();
            let first_column = first_bad.first().map(|&(_, j)| columns[j].clone()).unwrap_or_default();
            Ok((data, d, NonFinite { rows, first_column }))
        }
    }
}

/// Loads a `.npy` array and the metadata file beside it, if any.
fn load_npy(path: &Path, opts: &LoadOptions, progress: LoadProgress<'_>) -> Result<Dataset, LoadError> {
    let arr = npy::read_file(path).map_err(|e| match e {
        npy::ReadFileError::Io(source) => LoadError::Io { source, path: path.to_path_buf() },
        npy::ReadFileError::Format(message) => LoadError::Npy { message, path: path.to_path_buf() },
    })?;
    progress("validating", 0.8);
    let (n, d) = (arr.rows, arr.cols);
    let mut bad_rows = Vec::new();
    if d > 0 {
        for (i, row) in arr.data.chunks_exact(d).enumerate() {
            if row.iter().any(|v| !v.is_finite()) {
                bad_rows.push(i);
            }
        }
    }
    let first_column = bad_rows.first().map(|_| "(array)".to_string()).unwrap_or_default();
    let mut warnings = Vec::new();
    let sidecar =
        ["csv", "tsv", "parquet", "jsonl", "ndjson", "arrow", "feather"].iter().map(|e| path.with_extension(e)).find(|p| p.is_file());
    let frame = match &sidecar {
        Some(meta) => {
            let f = Format::from_path(meta)?;
            let frame = read_frame(meta, f)?;
            if frame.height() != n {
                return Err(LoadError::SidecarRows { meta_rows: frame.height(), rows: n, path: meta.clone() });
            }
            warnings.push(format!("metadata joined row by row from {}", meta.display()));
            frame
        }
        None => DataFrame::new(n, Vec::new()).map_err(parse_err(Format::Npy, path))?,
    };
    if n < 2 {
        return Err(LoadError::TooFewRows { rows: n, path: path.to_path_buf() });
    }
    let mut ds = finish(
        frame,
        arr.data,
        d,
        NonFinite { rows: bad_rows, first_column },
        EmbeddingSource::Npy,
        None,
        Format::Npy,
        path,
        opts,
        &mut warnings,
    )?;
    ds.sidecar = sidecar;
    if opts.embedding_columns.is_some() {
        ds.warnings.push("--embedding-columns is ignored for .npy files: the whole array is the embedding".into());
    }
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_too_big_for_memory_is_refused_with_the_estimate() {
        let p = Path::new("/data/huge.csv");
        let e = check_memory_against(p, Format::Csv, 4 << 30, Some(8 << 30)).unwrap_err().to_string();
        assert!(e.contains("about 12288 MiB") && e.contains("only 8192 MiB") && e.ends_with("/data/huge.csv"), "{e}");
        assert!(check_memory_against(p, Format::Npy, 4 << 30, Some(8 << 30)).is_ok());
        assert!(check_memory_against(p, Format::Csv, 4 << 30, None).is_ok());
    }
}
