//! Loading embeddings with their metadata, and exporting labelled results.
//!
//! Only [`load`](self), the export and [`stream`] use polars (feature `io`); where the vectors
//! are found, `.npy`, errors and atomic writes are plain Rust, which a saved model needs alone.

#[cfg(feature = "io")]
mod arrow_types;
#[cfg(feature = "io")]
pub use arrow_types::declared as declared_arrow_schema;
mod atomic;
// Without `io` only the types are used; detection runs on loaded frames.
#[cfg_attr(not(feature = "io"), allow(dead_code))]
mod detect;
mod error;
#[cfg(feature = "io")]
mod export;
#[cfg(feature = "io")]
mod load;
pub mod npy;
#[cfg(feature = "io")]
mod parquet_in;
#[cfg(feature = "io")]
mod parquet_out;
#[cfg(feature = "io")]
pub mod stream;

pub use atomic::write_atomically;
pub use detect::{ColumnKind, EmbeddingSource, candidates, glob_match, parse_vector_text, resolve_spec, summarize_names};
pub use error::{ExportError, LoadError};
#[cfg(feature = "io")]
pub use export::{ExportColumns, ExportSummary, check_export_path, export_coords, export_labelled, export_rows, free_name, same_file};
#[cfg(feature = "io")]
pub use load::*;
