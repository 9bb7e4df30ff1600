//! Writing Parquet: polars' encoders for most columns, and a direct one for lists of floats.
//!
//! An embedding column is a list of floats per row with no missing values. polars' general
//! writer computes its repetition and definition levels value by value (the Dremel walk), which
//! takes most of an export's time: 7–8 s of 13 for a million 384-float rows. Without missing
//! values those levels are two short run-length patterns per row, and the values are the
//! floats' bytes as they lie in memory, so this module writes such columns itself. Every other
//! column, and any list with a missing value or an empty list, goes through polars' encoders
//! unchanged. Row groups are encoded and compressed on every core while the previous one is
//! written, one row group in flight, so memory stays bounded by two row groups.

use std::io::Write;
use std::ops::Range;
use std::sync::mpsc::sync_channel;

use polars::prelude::*;
use polars_arrow::array::{Array, FixedSizeListArray, ListArray, PrimitiveArray};
use polars_arrow::offset::Offset;
use polars_arrow::types::NativeType as ArrowNative;
use polars_parquet::parquet::CowBuffer;
use polars_parquet::parquet::metadata::Descriptor;
use polars_parquet::parquet::page::{DataPage, DataPageHeader, DataPageHeaderV1};
use polars_parquet::parquet::statistics::PrimitiveStatistics;
use polars_parquet::parquet::types::NativeType as ParquetNative;
use polars_parquet::write::{
    CompressedPage, CompressionOptions, DynIter, DynStreamingIterator, Encoding, FileWriter, KeyValue, Page, ParquetType,
    StatisticsOptions, Version, WriteOptions, ZstdLevel, array_to_columns, compress, fallible_streaming_iterator, get_dtype_encoding,
    to_parquet_schema,
};
use rayon::prelude::*;

/// How big row groups and pages are.
#[derive(Clone, Copy)]
struct Sizes {
    /// About this many bytes of input per row group (at least 1,024 rows, at most 2²⁰).
    row_group_bytes: usize,
    /// Bytes of values per data page of a float-list column.
    page_bytes: usize,
    /// Fewest rows per row group.
    min_rows: usize,
}

const SIZES: Sizes = Sizes { row_group_bytes: 128 << 20, page_bytes: 1 << 20, min_rows: 1024 };

/// One column to write.
pub(super) enum Part<'a> {
    /// A polars column.
    Column(Column),
    /// Fixed-width rows of floats held outside the frame (the loaded embedding), written as
    /// `dtype` (a list or an array of `Float32`).
    Rows {
        /// Column name.
        name: PlSmallStr,
        /// Row-major values, `width` per row.
        values: &'a [f32],
        /// Values per row.
        width: usize,
        /// The column's type.
        dtype: DataType,
    },
}

impl Part<'_> {
    pub(super) fn name(&self) -> &PlSmallStr {
        match self {
            Self::Column(c) => c.name(),
            Self::Rows { name, .. } => name,
        }
    }

    pub(super) fn dtype(&self) -> &DataType {
        match self {
            Self::Column(c) => c.dtype(),
            Self::Rows { dtype, .. } => dtype,
        }
    }
}

/// The Parquet write options of every export: zstd at level 1 (as pyarrow's default level), statistics, format version 1 pages.
fn options() -> WriteOptions {
    WriteOptions {
        statistics: StatisticsOptions::default(),
        compression: CompressionOptions::Zstd(ZstdLevel::try_new(1).ok()),
        version: Version::V1,
        data_page_size: None,
    }
}

/// Writes `parts` (all of `rows` rows) to `out` as one Parquet file whose footer carries
/// `key_value` (the Arrow schema it declares).
pub(super) fn write<W: Write + Send>(parts: &[Part<'_>], rows: usize, out: W, key_value: Vec<KeyValue>) -> Result<(), String> {
    write_sized(parts, rows, out, key_value, SIZES)
}

fn write_sized<W: Write + Send>(parts: &[Part<'_>], rows: usize, out: W, key_value: Vec<KeyValue>, sizes: Sizes) -> Result<(), String> {
    let schema: Schema = parts.iter().map(|p| Field::new(p.name().clone(), p.dtype().clone())).collect();
    let arrow = schema.to_arrow(CompatLevel::newest());
    let parquet = to_parquet_schema(&arrow).map_err(|e| e.to_string())?;
    let fields: Vec<ParquetType> = parquet.fields().to_vec();
    let encodings: Vec<Vec<Encoding>> = arrow.iter_values().map(|f| get_dtype_encoding(&f.dtype)).collect();
    let leaves: Vec<Descriptor> = parquet.columns().iter().map(|c| c.descriptor.clone()).collect();
    let mut writer = FileWriter::new_with_parquet_schema(out, arrow, parquet, options());
    let groups = row_groups(parts, rows, sizes);
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<(u64, Vec<Vec<CompressedPage>>)>(1);
        let sink = s.spawn(move || -> Result<(), String> {
            for (n, group) in rx {
                let columns = DynIter::new(group.iter().map(|pages| {
                    Ok(DynStreamingIterator::new(fallible_streaming_iterator::convert(pages.iter().map(Ok::<_, PolarsError>))))
                }));
                writer.write(n, columns).map_err(|e| e.to_string())?;
            }
            writer.end(Some(key_value)).map(|_| ()).map_err(|e| e.to_string())
        });
        let mut result = Ok(());
        for range in groups {
            match encode_group(parts, &fields, &encodings, &leaves, range.clone(), sizes.page_bytes) {
                Ok(group) => {
                    if tx.send((range.len() as u64, group)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        drop(tx);
        let written = sink.join().unwrap_or_else(|_| Err("the Parquet writer stopped unexpectedly".to_string()));
        result.and(written)
    })
}

/// Row ranges of about `sizes.row_group_bytes` each.
fn row_groups(parts: &[Part<'_>], rows: usize, sizes: Sizes) -> Vec<Range<usize>> {
    let bytes: usize = parts
        .iter()
        .map(|p| match p {
            Part::Column(c) => c.as_materialized_series().estimated_size(),
            Part::Rows { values, .. } => std::mem::size_of_val(*values),
        })
        .sum();
    let per_row = bytes.div_ceil(rows.max(1)).max(1);
    let group = (sizes.row_group_bytes / per_row).clamp(sizes.min_rows.max(1), 1 << 20);
    // No rows, no row groups: a valid file that readers read as an empty table.
    (0..rows).step_by(group).map(|start| start..(start + group).min(rows)).collect()
}

/// One unit of work: a whole column of a row group, or a run of pages of a float-list column.
enum Job<'a> {
    General { array: Box<dyn Array>, field: usize },
    Floats { lists: FloatLists<'a>, pages: Range<usize>, leaf: usize },
}

/// Encodes and compresses one row group: its columns' leaves in schema order, each a list of pages.
#[expect(clippy::cast_possible_wrap, reason = "a row offset of an in-memory frame is below i64::MAX")]
fn encode_group(
    parts: &[Part<'_>],
    fields: &[ParquetType],
    encodings: &[Vec<Encoding>],
    leaves: &[Descriptor],
    range: Range<usize>,
    page_bytes: usize,
) -> Result<Vec<Vec<CompressedPage>>, String> {
    let mut arrays: Vec<Box<dyn Array>> = Vec::with_capacity(parts.len());
    for part in parts {
        if let Part::Column(c) = part {
            let s = c.as_materialized_series().slice(range.start as i64, range.len()).rechunk();
            arrays.push(s.to_arrow(0, CompatLevel::newest()));
        }
    }
    let mut jobs: Vec<(usize, Job<'_>)> = Vec::new();
    let mut leaf = 0;
    let mut next_array = 0;
    for (field, part) in parts.iter().enumerate() {
        let lists = match part {
            Part::Rows { values, width, .. } => {
                Some(FloatLists::Fixed { values: &values[range.start * width..range.end * width], width: *width, rows: range.len() })
            }
            Part::Column(_) => {
                let array = &arrays[next_array];
                next_array += 1;
                FloatLists::of(array.as_ref())
            }
        };
        match lists {
            Some(lists) if leaves[leaf].max_rep_level == 1 => {
                let per_page = (page_bytes / lists.value_bytes_per_row().max(1)).max(1);
                let pages = lists.rows().div_ceil(per_page);
                // A few pages per job, so both cores share the column.
                let step = pages.div_ceil(16).max(1);
                for start in (0..pages).step_by(step) {
                    let end = (start + step).min(pages);
                    jobs.push((
                        leaf,
                        Job::Floats { lists: lists.clone(), pages: start * per_page..(end * per_page).min(lists.rows()), leaf },
                    ));
                }
                leaf += 1;
            }
            _ => {
                let n_leaves = encodings[field].len();
                let array = match part {
                    Part::Column(_) => arrays[next_array - 1].clone(),
                    Part::Rows { .. } => return Err("internal: float rows without a list leaf".to_string()),
                };
                jobs.push((leaf, Job::General { array, field }));
                leaf += n_leaves;
            }
        }
    }
    let done: Vec<(usize, Result<Vec<Vec<CompressedPage>>, String>)> = jobs
        .into_par_iter()
        .map(|(first, job)| {
            let pages = match job {
                Job::General { array, field } => array_to_columns(array, fields[field].clone(), options(), &encodings[field])
                    .map_err(|e| e.to_string())
                    .and_then(|columns| {
                        columns
                            .into_iter()
                            .map(|pages| {
                                pages.map(|page| compress_page(page.map_err(|e| e.to_string())?)).collect::<Result<Vec<_>, String>>()
                            })
                            .collect()
                    }),
                Job::Floats { lists, pages, leaf } => {
                    let per_page = (page_bytes / lists.value_bytes_per_row().max(1)).max(1);
                    pages
                        .clone()
                        .step_by(per_page)
                        .map(|start| compress_page(Page::Data(lists.page(start..(start + per_page).min(pages.end), &leaves[leaf]))))
                        .collect::<Result<Vec<_>, String>>()
                        .map(|p| vec![p])
                }
            };
            (first, pages)
        })
        .collect();
    let mut columns: Vec<Vec<CompressedPage>> = (0..leaves.len()).map(|_| Vec::new()).collect();
    for (first, result) in done {
        for (i, pages) in result?.into_iter().enumerate() {
            columns[first + i].extend(pages);
        }
    }
    Ok(columns)
}

fn compress_page(page: Page) -> Result<CompressedPage, String> {
    compress(page, Vec::new(), options().compression).map_err(|e| e.to_string())
}

/// A list-of-floats column with no missing list, no missing value and no empty list: the shape
/// whose levels are plain runs.
#[derive(Clone)]
enum FloatLists<'a> {
    /// `width` values per row.
    Fixed { values: &'a [f32], width: usize, rows: usize },
    /// `f32` lists of varying length: `offsets[r]..offsets[r + 1]` into `values`.
    F32 { values: &'a [f32], offsets: Vec<usize> },
    /// `f64` lists of varying length.
    F64 { values: &'a [f64], offsets: Vec<usize> },
}

impl<'a> FloatLists<'a> {
    /// The array's lists when it has that shape; `None` sends it to polars' encoder.
    fn of(array: &'a dyn Array) -> Option<Self> {
        if array.null_count() > 0 {
            return None;
        }
        if let Some(list) = array.as_any().downcast_ref::<ListArray<i64>>() {
            return Self::from_list(list);
        }
        if let Some(list) = array.as_any().downcast_ref::<ListArray<i32>>() {
            return Self::from_list(list);
        }
        if let Some(fixed) = array.as_any().downcast_ref::<FixedSizeListArray>() {
            let width = fixed.size();
            let values = fixed.values().as_any().downcast_ref::<PrimitiveArray<f32>>()?;
            if width == 0 || values.null_count() > 0 {
                return None;
            }
            let rows = fixed.len();
            return Some(Self::Fixed { values: &values.values()[..rows * width], width, rows });
        }
        None
    }

    fn from_list<O: Offset>(list: &'a ListArray<O>) -> Option<Self> {
        let offsets: Vec<usize> = list.offsets().iter().map(|o| o.to_usize()).collect();
        if offsets.windows(2).any(|w| w[1] <= w[0]) {
            return None;
        }
        let values = list.values();
        if values.null_count() > 0 {
            return None;
        }
        if let Some(v) = values.as_any().downcast_ref::<PrimitiveArray<f32>>() {
            return Some(Self::F32 { values: v.values(), offsets });
        }
        if let Some(v) = values.as_any().downcast_ref::<PrimitiveArray<f64>>() {
            return Some(Self::F64 { values: v.values(), offsets });
        }
        None
    }

    fn rows(&self) -> usize {
        match self {
            Self::Fixed { rows, .. } => *rows,
            Self::F32 { offsets, .. } | Self::F64 { offsets, .. } => offsets.len() - 1,
        }
    }

    /// Average bytes of values per row, for sizing pages.
    fn value_bytes_per_row(&self) -> usize {
        match self {
            Self::Fixed { width, .. } => width * 4,
            Self::F32 { offsets, .. } => 4 * (offsets[offsets.len() - 1] - offsets[0]) / (offsets.len() - 1).max(1),
            Self::F64 { offsets, .. } => 8 * (offsets[offsets.len() - 1] - offsets[0]) / (offsets.len() - 1).max(1),
        }
    }

    /// Row `r`'s values' range in the values buffer.
    fn span(&self, r: usize) -> Range<usize> {
        match self {
            Self::Fixed { width, .. } => r * width..(r + 1) * width,
            Self::F32 { offsets, .. } | Self::F64 { offsets, .. } => offsets[r]..offsets[r + 1],
        }
    }

    /// One data page holding `rows`.
    fn page(&self, rows: Range<usize>, leaf: &Descriptor) -> DataPage {
        let first = self.span(rows.start).start;
        let last = self.span(rows.end - 1).end;
        let count = last - first;
        let mut buf = Vec::with_capacity(count * 8 + rows.len() * 6 + 32);
        // Repetition levels: 0 opens a row, 1 continues it.
        with_length_prefix(&mut buf, |buf| {
            let mut runs = Runs::new(buf, leaf.max_rep_level);
            for r in rows.clone() {
                let len = self.span(r).len();
                runs.push(0, 1);
                runs.push(1, len - 1);
            }
            runs.finish();
        });
        // Definition levels: every value present.
        if leaf.max_def_level > 0 {
            with_length_prefix(&mut buf, |buf| {
                let mut runs = Runs::new(buf, leaf.max_def_level);
                runs.push(u32::try_from(leaf.max_def_level).unwrap_or(0), count);
                runs.finish();
            });
        }
        let statistics = match self {
            Self::Fixed { values, .. } | Self::F32 { values, .. } => plain(&mut buf, &values[first..last], leaf),
            Self::F64 { values, .. } => plain(&mut buf, &values[first..last], leaf),
        };
        let header = DataPageHeader::V1(DataPageHeaderV1 {
            num_values: i32::try_from(count).unwrap_or(i32::MAX),
            encoding: Encoding::Plain.into(),
            definition_level_encoding: Encoding::Rle.into(),
            repetition_level_encoding: Encoding::Rle.into(),
            statistics: Some(statistics),
        });
        DataPage::new(header, CowBuffer::Owned(buf), leaf.clone(), rows.len())
    }
}

/// Appends `values` PLAIN-encoded (their little-endian bytes) and returns their statistics
/// (NaN left out of the minimum and maximum, as other writers do).
fn plain<T>(buf: &mut Vec<u8>, values: &[T], leaf: &Descriptor) -> polars_parquet::parquet::statistics::ParquetStatistics
where
    T: ArrowNative + ParquetNative + PartialOrd + Copy,
{
    #[cfg(target_endian = "little")]
    {
        // SAFETY: `T` is `f32` or `f64`: plain numbers without padding, so their memory is
        // `size_of_val(values)` initialised bytes, which on a little-endian machine are the
        // PLAIN encoding.
        let bytes = unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values)) };
        buf.extend_from_slice(bytes);
    }
    #[cfg(not(target_endian = "little"))]
    for v in values {
        buf.extend_from_slice(ArrowNative::to_le_bytes(v).as_ref());
    }
    let mut min: Option<T> = None;
    let mut max: Option<T> = None;
    #[expect(clippy::eq_op, reason = "v == v is the NaN test")]
    for &v in values.iter().filter(|&&v| v == v) {
        if min.is_none_or(|m| v < m) {
            min = Some(v);
        }
        if max.is_none_or(|m| v > m) {
            max = Some(v);
        }
    }
    PrimitiveStatistics::<T> {
        primitive_type: leaf.primitive_type.clone(),
        null_count: Some(0),
        distinct_count: None,
        min_value: min,
        max_value: max,
    }
    .serialize()
}

/// Writes what `f` appends preceded by its length (a 4-byte little-endian prefix, as format
/// version 1 pages frame their levels).
fn with_length_prefix(buf: &mut Vec<u8>, f: impl FnOnce(&mut Vec<u8>)) {
    let at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    f(buf);
    let len = u32::try_from(buf.len() - at - 4).unwrap_or(u32::MAX);
    buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

/// Levels as RLE runs of the RLE/bit-packed hybrid encoding, equal neighbours merged.
struct Runs<'b> {
    buf: &'b mut Vec<u8>,
    value_bytes: usize,
    value: u32,
    count: usize,
}

impl<'b> Runs<'b> {
    fn new(buf: &'b mut Vec<u8>, max_level: i16) -> Self {
        let bits = 16 - max_level.leading_zeros() as usize;
        Self { buf, value_bytes: bits.div_ceil(8), value: 0, count: 0 }
    }

    fn push(&mut self, value: u32, count: usize) {
        if count == 0 {
            return;
        }
        if self.count > 0 && value != self.value {
            self.flush();
        }
        self.value = value;
        self.count += count;
    }

    fn flush(&mut self) {
        // A run header is the count shifted left by one (the low bit 0 marks a run), as a
        // ULEB128 varint; the value follows in the bytes its bit width needs.
        let mut header = (self.count as u64) << 1;
        loop {
            let byte = (header & 0x7f) as u8;
            header >>= 7;
            if header == 0 {
                self.buf.push(byte);
                break;
            }
            self.buf.push(byte | 0x80);
        }
        self.buf.extend_from_slice(&self.value.to_le_bytes()[..self.value_bytes]);
        self.count = 0;
    }

    fn finish(mut self) {
        if self.count > 0 {
            self.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn list_f32(name: &str, rows: &[Option<Vec<Option<f32>>>]) -> Column {
        let series: Vec<Option<Series>> = rows.iter().map(|r| r.as_ref().map(|v| Series::new("".into(), v.as_slice()))).collect();
        Series::new(name.into(), series).cast(&DataType::List(Box::new(DataType::Float32))).unwrap().into_column()
    }

    /// Writes with pages of 64 bytes and row groups of about 256 bytes, so that a few rows
    /// already span several of each, and reads the file back.
    fn round_trip(parts: &[Part<'_>], rows: usize) -> DataFrame {
        let mut buf = Vec::new();
        let small = Sizes { row_group_bytes: 256, page_bytes: 64, min_rows: 1 };
        write_sized(parts, rows, &mut buf, Vec::new(), small).unwrap();
        ParquetReader::new(Cursor::new(buf)).finish().unwrap()
    }

    #[test]
    fn float_lists_round_trip_through_the_direct_encoder_across_pages_and_row_groups() {
        let n = 57;
        let ragged: Vec<Option<Vec<Option<f32>>>> =
            (0..n).map(|r| Some((0..1 + r % 23).map(|j| Some(r as f32 * 0.5 - j as f32)).collect())).collect();
        let mut with_nan = ragged.clone();
        with_nan[3] = Some(vec![Some(f32::NAN), Some(-0.0), Some(f32::INFINITY)]);
        let f64s = Series::new("f64".into(), (0..n).map(|r| Series::new("".into(), vec![r as f64 / 3.0; 5])).collect::<Vec<_>>());
        let fixed = Series::new("fixed".into(), (0..n).map(|r| Series::new("".into(), vec![r as f32; 4])).collect::<Vec<_>>())
            .cast(&DataType::Array(Box::new(DataType::Float32), 4))
            .unwrap();
        let text = Series::new("text".into(), (0..n).map(|r| format!("row {r}")).collect::<Vec<_>>());
        let frame = DataFrame::new(
            n,
            vec![text.into_column(), list_f32("ragged", &ragged), list_f32("nan", &with_nan), f64s.into_column(), fixed.into_column()],
        )
        .unwrap();
        for name in ["ragged", "nan", "f64", "fixed"] {
            let s = frame.column(name).unwrap().as_materialized_series().rechunk();
            assert!(FloatLists::of(s.to_arrow(0, CompatLevel::newest()).as_ref()).is_some(), "{name} takes the direct path");
        }
        let held: Vec<f32> = (0..n * 3).map(|i| i as f32 * 0.25).collect();
        let mut parts: Vec<Part<'_>> = frame.columns().iter().cloned().map(Part::Column).collect();
        parts.insert(1, Part::Rows { name: "held".into(), values: &held, width: 3, dtype: DataType::List(Box::new(DataType::Float32)) });
        let back = round_trip(&parts, n);
        assert_eq!(back.get_column_names(), ["text", "held", "ragged", "nan", "f64", "fixed"]);
        for name in ["text", "ragged", "f64", "fixed"] {
            assert!(back.column(name).unwrap().equals_missing(frame.column(name).unwrap()), "{name}");
        }
        // NaN != NaN, so compare the bits.
        let bits = |c: &Column| -> Vec<u32> {
            let s = c.as_materialized_series().list().unwrap().rechunk().get_inner();
            s.f32().unwrap().into_no_null_iter().map(f32::to_bits).collect()
        };
        assert_eq!(bits(back.column("nan").unwrap()), bits(frame.column("nan").unwrap()));
        let held_back: Vec<f32> = back
            .column("held")
            .unwrap()
            .as_materialized_series()
            .list()
            .unwrap()
            .rechunk()
            .get_inner()
            .f32()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(held_back, held);
    }

    #[test]
    fn lists_with_missing_or_empty_entries_go_through_the_general_encoder_and_keep_them() {
        let rows = vec![Some(vec![Some(1.0), None]), None, Some(vec![]), Some(vec![Some(2.5)])];
        let col = list_f32("gaps", &rows);
        let s = col.as_materialized_series().rechunk();
        assert!(FloatLists::of(s.to_arrow(0, CompatLevel::newest()).as_ref()).is_none());
        let empty_only = list_f32("empty", &[Some(vec![Some(1.0)]), Some(vec![])]);
        let e = empty_only.as_materialized_series().rechunk();
        assert!(FloatLists::of(e.to_arrow(0, CompatLevel::newest()).as_ref()).is_none());
        let back = round_trip(&[Part::Column(col.clone())], rows.len());
        assert!(back.column("gaps").unwrap().equals_missing(&col));
    }

    #[test]
    fn no_rows_make_a_file_with_the_columns_and_no_rows() {
        let held: Vec<f32> = Vec::new();
        let parts = [
            Part::Column(Series::new("id".into(), Vec::<i64>::new()).into_column()),
            Part::Rows { name: "v".into(), values: &held, width: 4, dtype: DataType::List(Box::new(DataType::Float32)) },
        ];
        let back = round_trip(&parts, 0);
        assert_eq!(back.height(), 0);
        assert_eq!(back.get_column_names(), ["id", "v"]);
    }

    #[test]
    fn level_runs_merge_neighbours_and_use_varint_headers() {
        let mut buf = Vec::new();
        let mut runs = Runs::new(&mut buf, 1);
        runs.push(0, 1);
        runs.push(0, 1);
        runs.push(1, 200);
        runs.finish();
        // (2 << 1) = 4, value 0; (200 << 1) = 400 = 0x190 → varint 0x90 0x03, value 1.
        assert_eq!(buf, [4, 0, 0x90, 0x03, 1]);
    }
}
