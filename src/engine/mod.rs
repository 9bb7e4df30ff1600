//! Numeric code over `f32` rows: metrics, kernels, clustering, quality indices, projections.
//! Imports neither egui nor polars.

pub mod control;
pub mod eigen;
pub mod kernels;
pub mod kmeans;
pub mod matrix;
pub mod metric;
pub mod pca;
pub mod rng;
pub mod silhouette;

pub use control::{Cancelled, Control};
pub use matrix::Matrix;
pub use metric::{Embeddings, Metric};
