//! Reading and writing in batches, for `embedmap assign`: memory follows the batch, not the file.
//!
//! - Parquet is read a few row groups at a time (consecutive groups up to the batch size; a
//!   larger group is read whole, so memory follows the file's largest row group), with the
//!   file's metadata read once.
//! - `.npy` is read a block of rows at a time from its offset.
//! - CSV, TSV, JSON Lines and Arrow are read whole and handed out in batches (their readers here
//!   have no bounded mode): memory follows the file.
//!
//! A row whose vector is missing, of another length, not a number, NaN or infinite is not an
//! error: it is reported with its reason and its row number, and the caller decides.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use polars::io::parquet::metadata::FileMetadataRef;
use polars::prelude::*;

use super::detect::EmbeddingSource;
use super::error::{ExportError, LoadError};
use super::load::{parse_number, read_frame, shorten};
use super::{Format, parse_vector_text};

/// Bad rows of a batch: (row within the batch, why).
pub type BadRows = Vec<(usize, String)>;

/// One batch of rows.
pub struct Batch {
    /// Every original column of these rows, types unchanged (none for `.npy`).
    pub frame: DataFrame,
    /// Position of the batch's first row in the file, from 0.
    pub first_row: usize,
    /// Rows in the batch.
    pub rows: usize,
    /// `rows × dim` values; a bad row's are zeros.
    pub vectors: Vec<f32>,
    /// Bad rows: (row within the batch, why).
    pub bad: Vec<(usize, String)>,
}

enum Kind {
    Parquet { metadata: FileMetadataRef, columns: Option<Vec<String>> },
    Npy { data_offset: u64, descr: String },
    Frame { frame: DataFrame },
}

/// A file read batch by batch. The batches are planned when the file is opened; any of them can
/// be read from any thread ([`BatchReader::read`]), so decoding can use more than one core.
pub struct BatchReader {
    path: PathBuf,
    kind: Kind,
    source: EmbeddingSource,
    dim: usize,
    /// (first row, rows) of every batch.
    plan: Vec<(usize, usize)>,
    total: usize,
    bytes: u64,
}

impl BatchReader {
    /// Opens `path`, whose vectors are in `source` (`EmbeddingSource::Npy` for `.npy`) with
    /// `dim` values each.
    pub fn open(path: &Path, source: &EmbeddingSource, dim: usize, batch_rows: usize) -> Result<Self, LoadError> {
        let p = || path.to_path_buf();
        let io = |e| LoadError::Io { source: e, path: p() };
        let format = Format::from_path(path)?;
        let bytes = std::fs::metadata(path).map_err(io)?.len();
        let batch_rows = batch_rows.max(1);
        let perr = |e: PolarsError| LoadError::Parse { format: format.name(), message: e.to_string(), path: p() };
        let even = |total: usize| {
            (0..total.div_ceil(batch_rows)).map(|b| (b * batch_rows, batch_rows.min(total - b * batch_rows))).collect::<Vec<_>>()
        };
        let (kind, total, plan) = match format {
            Format::Parquet => {
                let f = std::fs::File::open(path).map_err(io)?;
                let mut r = ParquetReader::new(f);
                let metadata = r.get_metadata().map_err(perr)?.clone();
                // Consecutive row groups up to the batch size; a larger group alone.
                let mut plan = Vec::new();
                let (mut start, mut rows) = (0, 0);
                for g in metadata.row_groups.iter().map(|g| g.num_rows()) {
                    if rows > 0 && rows + g > batch_rows {
                        plan.push((start, rows));
                        start += rows;
                        rows = 0;
                    }
                    rows += g;
                }
                if rows > 0 {
                    plan.push((start, rows));
                }
                let total = metadata.num_rows;
                (Kind::Parquet { metadata, columns: None }, total, plan)
            }
            Format::Npy => {
                let mut f = std::fs::File::open(path).map_err(io)?;
                let mut head = vec![0u8; 65_536.min(usize::try_from(bytes).unwrap_or(usize::MAX))];
                f.read_exact(&mut head).map_err(io)?;
                let npy_err = |message: String| LoadError::Npy { message, path: p() };
                let h = super::npy::parse_header(&head).map_err(npy_err)?;
                if h.fortran_order {
                    return Err(npy_err(
                        "column-major (Fortran-order) arrays cannot be read in batches; save it with np.ascontiguousarray".into(),
                    ));
                }
                if !matches!(h.descr.as_str(), "<f4" | ">f4" | "<f8" | ">f8" | "|f4" | "|f8") {
                    return Err(npy_err(format!("element type {} is not supported (float32 or float64)", h.descr)));
                }
                let (rows, cols) = match h.shape.as_slice() {
                    [r, c] => (*r, *c),
                    other => return Err(npy_err(format!("a {}-dimensional array is not a table of vectors", other.len()))),
                };
                if cols != dim {
                    return Err(LoadError::Dimension { expected: dim, found: cols, path: p() });
                }
                let elem = if h.descr.ends_with('8') { 8 } else { 4 };
                let need = h.data_offset as u64 + (rows * cols * elem) as u64;
                if bytes < need {
                    return Err(npy_err(format!("the file is cut short: {bytes} bytes of the {need} its header promises")));
                }
                (Kind::Npy { data_offset: h.data_offset as u64, descr: h.descr }, rows, even(rows))
            }
            other => {
                let frame = read_frame(path, other)?;
                let total = frame.height();
                (Kind::Frame { frame }, total, even(total))
            }
        };
        if !matches!(kind, Kind::Npy { .. }) {
            if matches!(source, EmbeddingSource::Npy) {
                return Err(LoadError::NoEmbedding {
                    detail: "the model was fitted on a .npy array; name the embedding column with --embedding-columns".into(),
                    path: p(),
                });
            }
            let names: Vec<String> = match &kind {
                Kind::Parquet { metadata, .. } => {
                    let schema = polars::io::parquet::read::infer_schema(metadata).map_err(perr)?;
                    schema.iter_names().map(ToString::to_string).collect()
                }
                Kind::Frame { frame } => frame.get_column_names().iter().map(ToString::to_string).collect(),
                Kind::Npy { .. } => Vec::new(),
            };
            if let Some(missing) = source.columns().into_iter().find(|c| !names.iter().any(|n| n == c)) {
                return Err(LoadError::NoEmbedding {
                    detail: format!(
                        "no column '{missing}', which holds the model's embedding ({}); the file has: {} (name another with --embedding-columns)",
                        source.describe(),
                        super::summarize_names(names.iter().map(String::as_str))
                    ),
                    path: p(),
                });
            }
        }
        Ok(Self { path: path.to_path_buf(), kind, source: source.clone(), dim, plan, total, bytes })
    }

    /// Rows in the file.
    #[must_use]
    pub fn total_rows(&self) -> usize {
        self.total
    }

    /// Size of the file.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Reads only `keep` of the other columns (Parquet reads nothing else; other formats are
    /// read whole anyway). Batches then hold `keep` and the embedding's columns.
    pub fn keep_only(&mut self, keep: &[String]) {
        if let Kind::Parquet { columns, .. } = &mut self.kind {
            let mut c: Vec<String> = keep.to_vec();
            c.extend(self.source.columns().iter().map(ToString::to_string).filter(|e| !keep.contains(e)));
            *columns = Some(c);
        }
    }

    /// The largest batch's share of the file, in bytes on disk (an estimate from its rows).
    #[must_use]
    pub fn largest_batch_bytes(&self) -> u64 {
        let rows = self.plan.iter().map(|p| p.1).max().unwrap_or(0) as u64;
        self.bytes / self.total.max(1) as u64 * rows
    }

    /// Number of batches.
    #[must_use]
    pub fn batches(&self) -> usize {
        self.plan.len()
    }

    /// The Arrow types a Parquet input declares (its `ARROW:schema`), from the metadata read
    /// at open; `None` for other files or without one.
    #[must_use]
    pub fn declared_types(&self) -> Option<polars::prelude::ArrowSchema> {
        match &self.kind {
            Kind::Parquet { metadata, .. } => super::arrow_types::declared_in(metadata),
            _ => None,
        }
    }

    /// The column names of a file's Parquet schema or frame (none for `.npy`).
    #[must_use]
    pub fn column_names(&self) -> Vec<String> {
        match &self.kind {
            Kind::Parquet { metadata, .. } => polars::io::parquet::read::infer_schema(metadata)
                .map(|s| s.iter_names().map(ToString::to_string).collect())
                .unwrap_or_default(),
            Kind::Frame { frame } => frame.get_column_names().iter().map(ToString::to_string).collect(),
            Kind::Npy { .. } => Vec::new(),
        }
    }

    /// Batch `index` of [`Self::batches`].
    pub fn read(&self, index: usize) -> Result<Batch, LoadError> {
        let path = &self.path;
        let p = || path.clone();
        let (first_row, rows) = self.plan[index];
        let (frame, vectors, bad) = match &self.kind {
            Kind::Parquet { metadata, columns } => {
                let frame = read_parquet_rows(path, metadata, first_row, rows, columns.clone())?;
                let (vectors, bad) = extract_tolerant(&frame, &self.source, self.dim, path)?;
                (frame, vectors, bad)
            }
            Kind::Npy { data_offset, descr } => {
                let io = |e| LoadError::Io { source: e, path: p() };
                let elem = if descr.ends_with('8') { 8 } else { 4 };
                let mut f = std::fs::File::open(path).map_err(io)?;
                f.seek(SeekFrom::Start(data_offset + (first_row * self.dim * elem) as u64)).map_err(io)?;
                let big = descr.starts_with('>');
                let mut vectors: Vec<f32> = if elem == 4 && !big && cfg!(target_endian = "little") {
                    // Little-endian f32 on a little-endian machine: the bytes are the values.
                    let mut v = vec![0.0f32; rows * self.dim];
                    // SAFETY: the byte view covers exactly the vector's initialised f32 storage,
                    // and every bit pattern is a valid f32.
                    let bytes = unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), v.len() * 4) };
                    f.read_exact(bytes).map_err(io)?;
                    v
                } else if elem == 4 {
                    let mut raw = vec![0u8; rows * self.dim * elem];
                    f.read_exact(&mut raw).map_err(io)?;
                    raw.chunks_exact(4)
                        .map(|b| {
                            let b = [b[0], b[1], b[2], b[3]];
                            if big { f32::from_be_bytes(b) } else { f32::from_le_bytes(b) }
                        })
                        .collect()
                } else {
                    let mut raw = vec![0u8; rows * self.dim * elem];
                    f.read_exact(&mut raw).map_err(io)?;
                    #[expect(
                        clippy::cast_possible_truncation,
                        reason = "an f64 .npy value rounded to f32; one beyond f32's range becomes infinite and is refused with the non-finite rows"
                    )]
                    raw.chunks_exact(8)
                        .map(|b| {
                            let b = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
                            (if big { f64::from_be_bytes(b) } else { f64::from_le_bytes(b) }) as f32
                        })
                        .collect()
                };
                let bad = nonfinite_rows(&mut vectors, self.dim, "");
                let frame =
                    DataFrame::new(rows, Vec::new()).map_err(|e| LoadError::Parse { format: "npy", message: e.to_string(), path: p() })?;
                (frame, vectors, bad)
            }
            Kind::Frame { frame } => {
                let part = frame.slice(i64::try_from(first_row).unwrap_or(i64::MAX), rows);
                let (vectors, bad) = extract_tolerant(&part, &self.source, self.dim, path)?;
                (part, vectors, bad)
            }
        };
        Ok(Batch { frame, first_row, rows, vectors, bad })
    }
}

/// Rows `first_row..first_row + rows` of a Parquet file whose metadata was read once (only
/// `columns`, when given); an error names the rows.
pub(super) fn read_parquet_rows(
    path: &Path,
    metadata: &FileMetadataRef,
    first_row: usize,
    rows: usize,
    columns: Option<Vec<String>>,
) -> Result<DataFrame, LoadError> {
    let f = std::fs::File::open(path).map_err(|e| LoadError::Io { source: e, path: path.to_path_buf() })?;
    let mut r = ParquetReader::new(f).with_slice(Some((first_row, rows))).with_columns(columns);
    r.set_metadata(metadata.clone());
    r.finish().map_err(|e| LoadError::Parse {
        format: "Parquet",
        message: format!("rows {}–{}: {e}", first_row + 1, first_row + rows),
        path: path.to_path_buf(),
    })
}

/// Zeroes the rows of `data` (`dim` values each) that hold a NaN or an infinity, and names them.
fn nonfinite_rows(data: &mut [f32], dim: usize, column: &str) -> Vec<(usize, String)> {
    let mut bad = Vec::new();
    for (i, row) in data.chunks_exact_mut(dim).enumerate() {
        // NaN and ±∞ have every exponent bit set; the largest masked exponent (a vectorised
        // integer maximum) says whether any value of the row does.
        const EXP: u32 = 0x7f80_0000;
        let mut lanes = [0u32; 8];
        let (body, tail) = row.as_chunks::<8>();
        for c in body {
            for l in 0..8 {
                lanes[l] = lanes[l].max(c[l].to_bits() & EXP);
            }
        }
        if lanes.contains(&EXP) || tail.iter().any(|v| v.to_bits() & EXP == EXP) {
            row.fill(0.0);
            bad.push((
                i,
                if column.is_empty() { "NaN or infinite value".to_string() } else { format!("NaN or infinite value in '{column}'") },
            ));
        }
    }
    bad
}

/// The vectors of `frame`'s rows from `source`, `dim` values each; a row that has none (missing,
/// another length, not numbers, NaN or infinite) gets zeros and a reason.
fn extract_tolerant(frame: &DataFrame, source: &EmbeddingSource, dim: usize, path: &Path) -> Result<(Vec<f32>, BadRows), LoadError> {
    let n = frame.height();
    let p = || path.to_path_buf();
    let col = |name: &str| frame.column(name).map_err(|e| LoadError::BadColumnSpec { message: e.to_string(), path: p() });
    let parse = |e: PolarsError, what: &'static str| LoadError::Parse { format: what, message: e.to_string(), path: p() };
    // The same column in another form: the list column of a Parquet input as `[..]` text in
    // a CSV (as embedmap's own CSV exports write it), or the other way round.
    match source {
        EmbeddingSource::ListColumn { column } if frame.column(column).is_ok_and(|c| c.dtype() == &DataType::String) => {
            return extract_tolerant(frame, &EmbeddingSource::TextColumn { column: column.clone() }, dim, path);
        }
        EmbeddingSource::TextColumn { column }
            if frame.column(column).is_ok_and(|c| matches!(c.dtype(), DataType::List(_) | DataType::Array(..))) =>
        {
            return extract_tolerant(frame, &EmbeddingSource::ListColumn { column: column.clone() }, dim, path);
        }
        _ => {}
    }
    let mut data = vec![0.0f32; n * dim];
    let mut bad: Vec<(usize, String)> = Vec::new();
    match source {
        EmbeddingSource::Npy => unreachable!("npy rows are not in a frame"),
        EmbeddingSource::ListColumn { column } => {
            let s = col(column)?.as_materialized_series();
            let s = s.cast(&DataType::List(Box::new(DataType::Float32))).map_err(|e| parse(e, "list of numbers"))?;
            let ca = s.list().map_err(|e| parse(e, "list of numbers"))?;
            // Fast path: no missing vectors, all of the model's length, no missing values: one
            // copy of the values, then a vectorised check for NaN and infinity.
            if ca.null_count() == 0
                && let Ok(fixed) = s.cast(&DataType::Array(Box::new(DataType::Float32), dim))
                && let Ok(arr) = fixed.array()
            {
                let inner = arr.get_inner();
                if inner.len() == n * dim
                    && inner.null_count() == 0
                    && let Ok(f) = inner.f32()
                {
                    let f = f.rechunk();
                    if let Ok(values) = f.cont_slice() {
                        data.copy_from_slice(values);
                        let bad = nonfinite_rows(&mut data, dim, column);
                        return Ok((data, bad));
                    }
                }
            }
            let mut right_length = false;
            for (row, item) in ca.amortized_iter().enumerate() {
                let Some(item) = item else {
                    bad.push((row, format!("no vector in '{column}'")));
                    continue;
                };
                let vals = item.as_ref().f32().map_err(|e| parse(e, "list of numbers"))?;
                if vals.len() != dim {
                    bad.push((row, format!("{} values in '{column}', the model expects {dim}", vals.len())));
                    continue;
                }
                right_length = true;
                let out = &mut data[row * dim..(row + 1) * dim];
                let mut why = None;
                for (o, v) in out.iter_mut().zip(vals.iter()) {
                    match v {
                        Some(v) if v.is_finite() => *o = v,
                        Some(_) => why = why.or(Some("NaN or infinite value")),
                        None => why = why.or(Some("missing value")),
                    }
                }
                if let Some(why) = why {
                    out.fill(0.0);
                    bad.push((row, format!("{why} in '{column}'")));
                }
            }
            wrong_dimension(right_length, column, &ca.get_as_series(0).map(|s| s.len()), dim, path)?;
        }
        EmbeddingSource::TextColumn { column } => {
            let s = col(column)?.as_materialized_series();
            let ca = s.str().map_err(|e| parse(e, "text vectors"))?;
            // Each cell parsed once (the batch bounds the memory this takes).
            let parsed: Vec<Option<(&str, Option<Vec<f64>>)>> = ca.iter().map(|c| c.map(|c| (c, parse_vector_text(c)))).collect();
            let first = parsed.iter().flatten().find_map(|(_, v)| v.as_ref().map(Vec::len));
            let any_right = parsed.iter().flatten().any(|(_, v)| v.as_ref().is_some_and(|v| v.len() == dim));
            wrong_dimension(any_right, column, &first, dim, path)?;
            for (row, cell) in parsed.into_iter().enumerate() {
                let why = match cell {
                    None => Some(format!("no vector in '{column}'")),
                    Some((c, None)) => Some(format!("'{}' in '{column}' is not a vector", shorten(c))),
                    Some((_, Some(v))) if v.len() != dim => Some(format!("{} values in '{column}', the model expects {dim}", v.len())),
                    Some((_, Some(v))) if v.iter().any(|&x| super::finite_f32(x).is_none()) => {
                        Some(format!("NaN or infinite value in '{column}'"))
                    }
                    Some((_, Some(v))) => {
                        data[row * dim..(row + 1) * dim]
                            .iter_mut()
                            .zip(&v)
                            .for_each(|(o, &x)| *o = super::finite_f32(x).unwrap_or(f32::NAN));
                        None
                    }
                };
                if let Some(why) = why {
                    bad.push((row, why));
                }
            }
        }
        EmbeddingSource::Wide { columns } => {
            if columns.len() != dim {
                return Err(LoadError::BadColumnSpec {
                    message: format!("{} embedding columns, the model expects {dim}", columns.len()),
                    path: p(),
                });
            }
            let mut why: Vec<Option<String>> = vec![None; n];
            for (j, name) in columns.iter().enumerate() {
                let s = col(name)?.as_materialized_series();
                let f = if s.dtype() == &DataType::String {
                    let ca = s.str().map_err(|e| parse(e, "numbers"))?;
                    ca.iter()
                        .enumerate()
                        .map(|(row, c)| match c.map(|c| (c, parse_number(c))) {
                            Some((_, Some(v))) => Some(v),
                            Some((c, None)) => {
                                why[row].get_or_insert_with(|| format!("'{}' in '{name}' is not a number", shorten(c)));
                                None
                            }
                            None => None,
                        })
                        .collect::<Vec<_>>()
                } else if s.dtype().is_primitive_numeric() {
                    let f = s.cast(&DataType::Float64).map_err(|e| parse(e, "numbers"))?;
                    f.f64().map_err(|e| parse(e, "numbers"))?.iter().collect()
                } else {
                    return Err(LoadError::NotANumber { row: 1, column: name.clone(), value: s.dtype().to_string(), path: p() });
                };
                for (row, v) in f.into_iter().enumerate() {
                    match v {
                        Some(v) if let Some(x) = super::finite_f32(v) => data[row * dim + j] = x,
                        Some(_) => {
                            why[row].get_or_insert_with(|| format!("NaN or infinite value in '{name}'"));
                        }
                        None => {
                            why[row].get_or_insert_with(|| format!("missing value in '{name}'"));
                        }
                    }
                }
            }
            for (row, w) in why.into_iter().enumerate() {
                if let Some(w) = w {
                    data[row * dim..(row + 1) * dim].fill(0.0);
                    bad.push((row, w));
                }
            }
        }
    }
    Ok((data, bad))
}

/// A batch none of whose vectors has the model's length is a file of another dimension: an
/// error, not a batch of bad rows.
fn wrong_dimension(any_right: bool, column: &str, first: &Option<usize>, dim: usize, path: &Path) -> Result<(), LoadError> {
    match first {
        Some(len) if !any_right => Err(LoadError::BadColumnSpec {
            message: format!("the vectors in '{column}' have {len} values; the model expects {dim}"),
            path: path.to_path_buf(),
        }),
        _ => Ok(()),
    }
}

/// Where a [`BatchWriter`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Csv(u8),
    Parquet,
}

enum Sink {
    Csv { file: std::io::BufWriter<std::fs::File>, sep: u8, header: bool },
    Parquet(Box<polars::io::parquet::write::BatchedWriter<std::fs::File>>),
    Empty,
}

/// A labelled file written batch by batch into a temporary file beside its path, renamed into
/// place by [`BatchWriter::finish`]; dropped unfinished, it removes the temporary file, so no
/// partial output is ever left under the final name.
pub struct BatchWriter {
    path: PathBuf,
    tmp: PathBuf,
    target: Target,
    sink: Sink,
    rows: usize,
    /// The Arrow types to declare for the input's columns.
    like: Option<polars::prelude::ArrowSchema>,
}

impl BatchWriter {
    /// Starts writing `path` (.csv, .tsv or .parquet).
    pub fn create(path: &Path) -> Result<Self, ExportError> {
        let target = match path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase().as_str() {
            "csv" => Target::Csv(b','),
            "tsv" | "tab" => Target::Csv(b'\t'),
            "parquet" | "pq" => Target::Parquet,
            ext => return Err(ExportError::UnsupportedFormat { ext: ext.to_string(), path: path.to_path_buf() }),
        };
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or_else(|| Path::new("."));
        let name = path.file_name().map_or_else(String::new, |f| f.to_string_lossy().into_owned());
        let tmp = dir.join(format!(".{name}.{}.partial", std::process::id()));
        Ok(Self { path: path.to_path_buf(), tmp, target, sink: Sink::Empty, rows: 0, like: None })
    }

    /// Declares, in a Parquet output, the Arrow types the input declares for the columns it
    /// shares with the output ([`BatchReader::declared_types`]; `None`: the classic types,
    /// `string`, `list`).
    #[must_use]
    pub fn with_types(mut self, like: Option<polars::prelude::ArrowSchema>) -> Self {
        self.like = like;
        self
    }

    fn werr(&self, e: impl std::fmt::Display) -> ExportError {
        ExportError::Write { message: e.to_string(), path: self.path.clone() }
    }

    /// Appends a batch (every batch with the same columns).
    pub fn write(&mut self, frame: DataFrame) -> Result<(), ExportError> {
        let mut frame = frame;
        if let Sink::Empty = self.sink {
            let file = std::fs::File::create(&self.tmp).map_err(|e| self.werr(e))?;
            self.sink = match self.target {
                Target::Csv(sep) => Sink::Csv { file: std::io::BufWriter::with_capacity(1 << 20, file), sep, header: true },
                Target::Parquet => Sink::Parquet(Box::new(
                    ParquetWriter::new(file)
                        .with_key_value_metadata(Some(super::arrow_types::metadata(frame.schema(), self.like.as_ref())))
                        .batched(frame.schema())
                        .map_err(|e| self.werr(e))?,
                )),
            };
        }
        self.rows += frame.height();
        match &mut self.sink {
            Sink::Csv { file, sep, header } => {
                let mut f = super::export::lists_to_text(frame).map_err(|e| ExportError::Write { message: e, path: self.path.clone() })?;
                let r = CsvWriter::new(&mut *file).include_header(*header).with_separator(*sep).finish(&mut f);
                *header = false;
                r.map_err(|e| ExportError::Write { message: e.to_string(), path: self.path.clone() })
            }
            Sink::Parquet(w) => {
                frame.rechunk_mut_par();
                w.write_batch(&frame).map_err(|e| ExportError::Write { message: e.to_string(), path: self.path.clone() })
            }
            Sink::Empty => unreachable!("created above"),
        }
    }

    /// Rows written so far.
    #[must_use]
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Completes the file and renames it into place.
    pub fn finish(mut self) -> Result<(), ExportError> {
        use std::io::Write as _;
        let sink = std::mem::replace(&mut self.sink, Sink::Empty);
        let file = match sink {
            Sink::Csv { file, .. } => file.into_inner().map_err(|e| self.werr(e.error()))?,
            Sink::Parquet(w) => {
                w.finish().map_err(|e| self.werr(e))?;
                std::fs::OpenOptions::new().write(true).open(&self.tmp).map_err(|e| self.werr(e))?
            }
            Sink::Empty => {
                return Err(self.werr("nothing to write"));
            }
        };
        let mut file = file;
        file.flush().map_err(|e| self.werr(e))?;
        file.sync_all().map_err(|e| self.werr(e))?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path).map_err(|e| self.werr(e))?;
        Ok(())
    }
}

impl Drop for BatchWriter {
    fn drop(&mut self) {
        if !matches!(self.sink, Sink::Empty) || self.tmp.exists() {
            // Unfinished: the partial file is ours alone.
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
