//! Errors of loading and exporting, each naming the file and, where it applies, the row and
//! column, with the path last.

use std::path::PathBuf;

/// Why a file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be opened or read.
    #[error("cannot read the file ({source}): {path}")]
    Io {
        /// The operating system's reason.
        source: std::io::Error,
        /// The file.
        path: PathBuf,
    },
    /// The extension names no supported format.
    #[error("unsupported file type '{ext}' (supported: .csv, .tsv, .parquet, .jsonl/.ndjson, .arrow/.feather/.ipc, .npy): {path}")]
    UnsupportedFormat {
        /// The extension found.
        ext: String,
        /// The file.
        path: PathBuf,
    },
    /// The file holds no data at all.
    #[error("the file is empty: {path}")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The format reader failed (malformed content).
    #[error("cannot parse the file as {format}: {message}: {path}")]
    Parse {
        /// The format tried.
        format: &'static str,
        /// The reader's explanation.
        message: String,
        /// The file.
        path: PathBuf,
    },
    /// No column could be recognised as holding embeddings.
    #[error("no embedding columns found ({detail}); name them with --embedding-columns: {path}")]
    NoEmbedding {
        /// What was looked at.
        detail: String,
        /// The file.
        path: PathBuf,
    },
    /// Vectors of another length than the model's.
    #[error("the model expects {expected}-dimensional embeddings, but {path} has {found} dimensions")]
    Dimension {
        /// The model's.
        expected: usize,
        /// The file's.
        found: usize,
        /// The file.
        path: PathBuf,
    },
    /// `--embedding-columns` named something that does not exist or is unusable.
    #[error("{message}: {path}")]
    BadColumnSpec {
        /// The problem.
        message: String,
        /// The file.
        path: PathBuf,
    },
    /// A cell of an embedding column is not a number.
    #[error("row {row}, column '{column}': '{value}' is not a number: {path}")]
    NotANumber {
        /// 1-based data row.
        row: usize,
        /// Column name.
        column: String,
        /// The offending text (shortened).
        value: String,
        /// The file.
        path: PathBuf,
    },
    /// A cell of an embedding column is empty.
    #[error("row {row}, column '{column}': the value is missing: {path}")]
    Missing {
        /// 1-based data row.
        row: usize,
        /// Column name.
        column: String,
        /// The file.
        path: PathBuf,
    },
    /// Vectors of different lengths.
    #[error("row {row}, column '{column}': the vector has {len} values but row 1 has {expected}: {path}")]
    Ragged {
        /// 1-based data row.
        row: usize,
        /// Column name.
        column: String,
        /// Its length.
        len: usize,
        /// The first row's length.
        expected: usize,
        /// The file.
        path: PathBuf,
    },
    /// NaN or infinite values, and the user asked to stop on them.
    #[error(
        "{count} row(s) contain NaN or infinite values, or numbers beyond ±3.4e38 (row(s) {rows}; first in column '{column}'); drop them (--drop-nonfinite, or the button in the window) or fix the file: {path}"
    )]
    NonFinite {
        /// How many rows.
        count: usize,
        /// The first few 1-based rows, comma-separated.
        rows: String,
        /// The column of the first bad value.
        column: String,
        /// The file.
        path: PathBuf,
    },
    /// More rows than one matrix holds.
    #[error(
        "the file has {rows} rows, more than the {max} one window or run holds; split it, or label it in batches with `embedmap assign`: {path}"
    )]
    TooManyRows {
        /// Rows found.
        rows: usize,
        /// The limit.
        max: usize,
        /// The file.
        path: PathBuf,
    },
    /// The reader stopped on an internal error; the message says where.
    #[error("internal error while loading: {message}")]
    Internal {
        /// What failed.
        message: String,
    },
    /// Fewer than two rows to cluster.
    #[error("at least 2 rows are needed to cluster, the file has {rows}: {path}")]
    TooFewRows {
        /// Rows found.
        rows: usize,
        /// The file.
        path: PathBuf,
    },
    /// Vectors of length 0.
    #[error("the embedding has dimension 0: {path}")]
    ZeroDimension {
        /// The file.
        path: PathBuf,
    },
    /// Not enough memory.
    #[error(
        "the file needs about {need_mib} MiB of memory to load, but only {available_mib} MiB are available; use a sample of it: {path}"
    )]
    TooBig {
        /// Estimate.
        need_mib: u64,
        /// What the system reports as available.
        available_mib: u64,
        /// The file.
        path: PathBuf,
    },
    /// A malformed `.npy` file.
    #[error("not a valid .npy file ({message}): {path}")]
    Npy {
        /// What is wrong.
        message: String,
        /// The file.
        path: PathBuf,
    },
    /// The metadata file next to a `.npy` does not match it.
    #[error("the metadata file has {meta_rows} rows but the vectors file has {rows}: {path}")]
    SidecarRows {
        /// Rows in the metadata.
        meta_rows: usize,
        /// Rows in the vectors.
        rows: usize,
        /// The metadata file.
        path: PathBuf,
    },
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The target is the file the data came from.
    #[error("refusing to overwrite the input file; choose another name: {path}")]
    WouldOverwriteInput {
        /// The target.
        path: PathBuf,
    },
    /// The extension names no export format.
    #[error("cannot export to '{ext}': use .csv, .tsv or .parquet: {path}")]
    UnsupportedFormat {
        /// Extension found.
        ext: String,
        /// The target.
        path: PathBuf,
    },
    /// The target's folder does not exist.
    #[error("the folder {dir} does not exist; create it or choose another place for {path}")]
    NoSuchFolder {
        /// The missing folder.
        dir: PathBuf,
        /// The target.
        path: PathBuf,
    },
    /// The labels do not fit the data.
    #[error("the result has {got} rows but the dataset has {expected}; recompute before exporting")]
    LengthMismatch {
        /// Rows in the result.
        got: usize,
        /// Rows in the dataset.
        expected: usize,
    },
    /// Writing failed; the target is untouched.
    #[error("cannot write the export ({message}); nothing was changed: {path}")]
    Write {
        /// What failed.
        message: String,
        /// The target.
        path: PathBuf,
    },
}
