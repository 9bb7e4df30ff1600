//! Loading a Parquet file whose embedding is a list or fixed-size list of `f32`, the layout of
//! nearly every embedding file: the other columns are read in one go, and the embedding row
//! group by row group, on every core, straight into the matrix.
//!
//! Reading the whole table first and copying the vectors out of it holds the list column and
//! the matrix at once (twice the vectors' size), and copies value by value. Here each worker
//! decodes one group of rows, checks its offsets and copies its values in one block, so memory
//! is the matrix plus a group per worker. A file this path does not fit (missing vectors,
//! vectors of different lengths, missing values) goes back to the reader of any table, whose
//! errors name the row.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc;

use polars::io::parquet::metadata::FileMetadataRef;
use polars::prelude::*;
use polars_arrow::array::{Array, FixedSizeListArray, ListArray, PrimitiveArray};
use polars_arrow::offset::Offset;

use super::detect::{self, ColumnKind, EmbeddingSource, resolve_spec};
use super::error::LoadError;
use super::load::{LoadOptions, LoadProgress, VectorsColumn, classify, parse_err};

/// Rows per unit of work: whole row groups, joined up to this many rows.
const BATCH_ROWS: usize = 65_536;

/// What the direct path read.
pub(super) struct Direct {
    /// Every column but the embedding, in file order.
    pub frame: DataFrame,
    /// `rows × dim` values.
    pub data: Vec<f32>,
    pub dim: usize,
    /// Rows (from 0, ascending) holding a NaN or an infinity.
    pub nonfinite: Vec<usize>,
    pub source: EmbeddingSource,
    /// The embedding column, held only as the matrix.
    pub held: VectorsColumn,
    /// Every column's kind, in file order (for the embedding picker).
    pub kinds: Vec<(String, ColumnKind)>,
    pub warnings: Vec<String>,
}

/// Whether a column's type is one the matrix holds exactly.
fn f32_lists(dtype: &DataType) -> bool {
    matches!(dtype, DataType::List(inner) | DataType::Array(inner, _) if **inner == DataType::Float32)
}

/// Reads `path` by the direct path, or says (`None`) that it does not apply and the file is to
/// be read as any table.
pub(super) fn load(path: &Path, opts: &LoadOptions, progress: LoadProgress<'_>) -> Result<Option<Direct>, LoadError> {
    let p = || path.to_path_buf();
    let perr = parse_err(super::Format::Parquet, path);
    let open = || std::fs::File::open(path).map_err(|e| LoadError::Io { source: e, path: p() });
    let mut reader = ParquetReader::new(open()?);
    let metadata: FileMetadataRef = reader.get_metadata().map_err(&perr)?.clone();
    let rows = metadata.num_rows;
    if rows < 2 {
        return Ok(None);
    }
    // Names and types from the first row; the embedding is decided by types alone when any
    // column holds lists of numbers (see `detect::detect`), and must be an `f32` list here.
    let mut first = ParquetReader::new(open()?).with_slice(Some((0, 1)));
    first.set_metadata(metadata.clone());
    let first = first.finish().map_err(&perr)?;
    let names: Vec<String> = first.get_column_names().iter().map(ToString::to_string).collect();
    let first_kinds: Vec<(String, ColumnKind)> = first.columns().iter().map(|c| (c.name().to_string(), classify(c))).collect();
    if !first.columns().iter().any(|c| f32_lists(c.dtype())) {
        return Ok(None);
    }
    let (source, warnings) = match &opts.embedding_columns {
        Some(spec) => match resolve_spec(spec, &names).as_deref() {
            Ok([one]) if first_kinds[*one].1 == ColumnKind::NumericList => {
                (EmbeddingSource::ListColumn { column: names[*one].clone() }, Vec::new())
            }
            _ => return Ok(None),
        },
        None => match detect::detect(&first_kinds) {
            Ok(found) => found,
            Err(_) => return Ok(None),
        },
    };
    let EmbeddingSource::ListColumn { column } = &source else { return Ok(None) };
    let Some(index) = names.iter().position(|n| n == column) else { return Ok(None) };
    let col = &first.columns()[index];
    let dtype = col.dtype().clone();
    if !f32_lists(&dtype) {
        return Ok(None);
    }
    let dim = match &dtype {
        DataType::Array(_, width) => *width,
        _ => match col.as_materialized_series().list().ok().and_then(|l| l.get_as_series(0)) {
            Some(s) => s.len(),
            None => return Ok(None),
        },
    };
    if dim == 0 {
        return Ok(None);
    }
    drop(first);

    progress("reading columns", 0.0);
    let others: Vec<String> = names.iter().filter(|n| *n != column).cloned().collect();
    let frame = if others.is_empty() {
        DataFrame::new(rows, Vec::new()).map_err(&perr)?
    } else {
        let mut r = ParquetReader::new(open()?).with_columns(Some(others));
        r.set_metadata(metadata.clone());
        r.finish().map_err(&perr)?
    };

    // Whole row groups, joined up to BATCH_ROWS; (first row, rows, compressed bytes).
    let mut plan: Vec<(usize, usize, usize)> = Vec::new();
    let (mut start, mut count, mut bytes) = (0, 0, 0);
    for g in &metadata.row_groups {
        if count > 0 && count + g.num_rows() > BATCH_ROWS {
            plan.push((start, count, bytes));
            (start, count, bytes) = (start + count, 0, 0);
        }
        count += g.num_rows();
        bytes += g.compressed_size();
    }
    if count > 0 {
        plan.push((start, count, bytes));
    }
    if plan.iter().map(|b| b.1).sum::<usize>() != rows {
        return Ok(None);
    }
    let total_bytes: usize = plan.iter().map(|b| b.2).sum();

    let mut data = vec![0.0f32; rows * dim];
    let mut work: VecDeque<(usize, usize, usize, &mut [f32])> = VecDeque::new();
    let mut rest = data.as_mut_slice();
    for &(first_row, count, bytes) in &plan {
        let (here, tail) = rest.split_at_mut(count * dim);
        work.push_back((first_row, count, bytes, here));
        rest = tail;
    }
    let work = Mutex::new(work);
    let workers = std::thread::available_parallelism().map_or(1, usize::from).min(plan.len()).max(1);
    let (tx, rx) = mpsc::channel::<Result<Option<(usize, usize, Vec<usize>)>, LoadError>>();
    let mut nonfinite: Vec<usize> = Vec::new();
    let mut fits = true;
    let mut failure = None;
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (work, metadata, column) = (&work, &metadata, column.as_str());
            scope.spawn(move || {
                while let Some((first_row, count, bytes, out)) = work.lock().ok().and_then(|mut w| w.pop_front()) {
                    let result = read_batch(path, metadata, column, first_row, count, dim, out)
                        .map(|bad| bad.map(|bad| (count, bytes, bad.into_iter().map(|r| r + first_row).collect())));
                    let stop = !matches!(result, Ok(Some(_)));
                    if tx.send(result).is_err() || stop {
                        // Leave the remaining work: the load falls back or fails.
                        if let Ok(mut w) = work.lock() {
                            w.clear();
                        }
                        break;
                    }
                }
            });
        }
        drop(tx);
        let (mut rows_done, mut bytes_done) = (0usize, 0usize);
        for result in rx {
            match result {
                Ok(Some((count, bytes, bad))) => {
                    rows_done += count;
                    bytes_done += bytes;
                    nonfinite.extend(bad);
                    progress(
                        &format!(
                            "reading vectors: {} of {} rows, {} of {} MB",
                            thousands(rows_done),
                            thousands(rows),
                            bytes_done >> 20,
                            total_bytes >> 20
                        ),
                        rows_done as f32 / rows as f32,
                    );
                }
                Ok(None) => fits = false,
                Err(e) => {
                    if failure.is_none() {
                        failure = Some(e);
                    }
                }
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    if !fits {
        return Ok(None);
    }
    nonfinite.sort_unstable();
    let held = VectorsColumn { name: column.clone(), index, dtype };
    let mut kinds = Vec::with_capacity(names.len());
    for name in &names {
        let kind = if name == column { ColumnKind::NumericList } else { frame.column(name).map_or(ColumnKind::Other, classify) };
        kinds.push((name.clone(), kind));
    }
    Ok(Some(Direct { frame, data, dim, nonfinite, source: source.clone(), held, kinds, warnings }))
}

/// Reads rows `first_row..first_row + count` of `column` into `out`; the rows (within the
/// batch) holding a NaN or an infinity, or `None` when the values are not `dim` present `f32`s
/// per row.
fn read_batch(
    path: &Path,
    metadata: &FileMetadataRef,
    column: &str,
    first_row: usize,
    count: usize,
    dim: usize,
    out: &mut [f32],
) -> Result<Option<Vec<usize>>, LoadError> {
    let frame = super::stream::read_parquet_rows(path, metadata, first_row, count, Some(vec![column.to_string()]))?;
    let Ok(col) = frame.column(column) else { return Ok(None) };
    let s = col.as_materialized_series();
    let mut at = 0;
    for chunk in s.chunks() {
        let Some(values) = flat_values(chunk.as_ref(), dim) else { return Ok(None) };
        let Some(dest) = out.get_mut(at..at + values.len()) else { return Ok(None) };
        dest.copy_from_slice(values);
        at += values.len();
    }
    if at != out.len() {
        return Ok(None);
    }
    Ok(Some(
        out.chunks_exact(dim)
            .enumerate()
            .filter(|(_, row)| row.iter().fold(false, |bad, v| bad | !v.is_finite()))
            .map(|(i, _)| i)
            .collect(),
    ))
}

/// The values of a list array as one slice, when every row holds exactly `dim` present values.
fn flat_values(array: &dyn Array, dim: usize) -> Option<&[f32]> {
    if array.null_count() > 0 {
        return None;
    }
    let (values, rows, first) = if let Some(list) = array.as_any().downcast_ref::<ListArray<i64>>() {
        uniform(list, dim)?
    } else if let Some(list) = array.as_any().downcast_ref::<ListArray<i32>>() {
        uniform(list, dim)?
    } else if let Some(fixed) = array.as_any().downcast_ref::<FixedSizeListArray>() {
        if fixed.size() != dim {
            return None;
        }
        (fixed.values().as_ref(), fixed.len(), 0)
    } else {
        return None;
    };
    let values = values.as_any().downcast_ref::<PrimitiveArray<f32>>()?;
    let slice = values.values().get(first..first + rows * dim)?;
    // Only the rows' own values must be present: a sliced array may hide others.
    if values.null_count() > 0 && values.clone().sliced(first, rows * dim).null_count() > 0 {
        return None;
    }
    Some(slice)
}

/// A list array's values, rows and first value, when every row holds exactly `dim` values.
fn uniform<O: Offset>(list: &ListArray<O>, dim: usize) -> Option<(&dyn Array, usize, usize)> {
    let offsets = list.offsets().buffer();
    let first = offsets[0].to_usize();
    if offsets.windows(2).any(|w| w[1].to_usize().checked_sub(w[0].to_usize()) != Some(dim)) {
        return None;
    }
    Some((list.values().as_ref(), list.len(), first))
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Parquet file of `rows` rows (id, text, the vectors as `dtype`) in row groups of `group`.
    #[expect(clippy::cast_possible_wrap, reason = "test files of a few thousand rows")]
    fn write(dir: &Path, name: &str, values: &[f32], dim: usize, dtype: &DataType, group: usize) -> std::path::PathBuf {
        let rows = values.len() / dim;
        let lists: Vec<Series> = values.chunks(dim).map(|r| Series::new("".into(), r)).collect();
        let emb = Series::new("embedding".into(), lists).cast(dtype).unwrap();
        let ids: Vec<i64> = (0..rows as i64).collect();
        let texts: Vec<String> = (0..rows).map(|i| format!("row {i}")).collect();
        let mut frame =
            DataFrame::new(rows, vec![Series::new("id".into(), ids).into(), emb.into(), Series::new("text".into(), texts).into()]).unwrap();
        let path = dir.join(name);
        ParquetWriter::new(std::fs::File::create(&path).unwrap()).with_row_group_size(Some(group)).finish(&mut frame).unwrap();
        path
    }

    fn values(rows: usize, dim: usize) -> Vec<f32> {
        (0..rows * dim).map(|i| ((i * 7919) % 1000) as f32 / 37.0 - 13.0).collect()
    }

    #[test]
    fn lists_and_arrays_arrive_bit_for_bit_across_row_groups_with_the_other_columns() {
        let dir = tempfile::tempdir().unwrap();
        let (rows, dim) = (70_001, 5);
        let v = values(rows, dim);
        for (name, dtype) in [
            ("list.parquet", DataType::List(Box::new(DataType::Float32))),
            ("array.parquet", DataType::Array(Box::new(DataType::Float32), dim)),
        ] {
            let path = write(dir.path(), name, &v, dim, &dtype, 9_999);
            let d = load(&path, &LoadOptions::default(), &|_, _| {}).unwrap().expect("direct path");
            assert_eq!(d.dim, dim);
            assert!(d.data.iter().zip(&v).all(|(a, b)| a.to_bits() == b.to_bits()), "{name}");
            assert!(d.nonfinite.is_empty());
            assert_eq!(d.held.name, "embedding");
            assert_eq!(d.held.index, 1);
            assert_eq!(d.held.dtype, dtype);
            assert_eq!(d.frame.get_column_names(), ["id", "text"]);
            assert_eq!(d.frame.column("text").unwrap().str().unwrap().get(rows - 1), Some("row 70000"));
            assert_eq!(
                d.kinds.iter().map(|k| k.1.clone()).collect::<Vec<_>>(),
                [ColumnKind::Numeric, ColumnKind::NumericList, ColumnKind::Other]
            );
        }
    }

    #[test]
    fn nonfinite_rows_are_found_in_every_row_group() {
        let dir = tempfile::tempdir().unwrap();
        let (rows, dim) = (100, 4);
        let mut v = values(rows, dim);
        v[3 * dim + 1] = f32::NAN;
        v[97 * dim] = f32::INFINITY;
        let path = write(dir.path(), "nan.parquet", &v, dim, &DataType::List(Box::new(DataType::Float32)), 10);
        let d = load(&path, &LoadOptions::default(), &|_, _| {}).unwrap().expect("direct path");
        assert_eq!(d.nonfinite, [3, 97]);
    }

    #[test]
    fn files_the_direct_path_does_not_fit_go_to_the_reader_of_any_table() {
        let dir = tempfile::tempdir().unwrap();
        let dim = 3;
        // f64 vectors: kept in the frame, so read as any table.
        let path = write(dir.path(), "f64.parquet", &values(10, dim), dim, &DataType::List(Box::new(DataType::Float64)), 4);
        assert!(load(&path, &LoadOptions::default(), &|_, _| {}).unwrap().is_none());
        // A vector of another length in a later row group.
        let mut lists: Vec<Series> = values(10, dim).chunks(dim).map(|r| Series::new("".into(), r)).collect();
        lists[7] = Series::new("".into(), [1.0f32, 2.0]);
        let mut frame = DataFrame::new(10, vec![Series::new("embedding".into(), lists).into()]).unwrap();
        let ragged = dir.path().join("ragged.parquet");
        ParquetWriter::new(std::fs::File::create(&ragged).unwrap()).with_row_group_size(Some(4)).finish(&mut frame).unwrap();
        assert!(load(&ragged, &LoadOptions::default(), &|_, _| {}).unwrap().is_none());
        let err = crate::data::load(&ragged, &LoadOptions::default(), &|_, _| {}).unwrap_err().to_string();
        assert!(err.contains("row 8"), "{err}");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
