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

/// A number read as f64, as the engine stores it: `None` when it is NaN or infinite, or finite
/// but beyond f32's range (±3.4e38), where the rounding would make it infinite.
#[must_use]
#[expect(clippy::cast_possible_truncation, reason = "the one place an f64 value becomes a vector element: the result is checked")]
pub fn finite_f32(v: f64) -> Option<f32> {
    let x = v as f32;
    x.is_finite().then_some(x)
}
