//! Numeric code over `f32` rows: metrics, kernels, clustering, quality indices, projections.
//! Imports neither egui nor polars.

pub mod assign;
pub mod cache;
pub mod control;
pub mod dbscan;
mod disjoint;
pub mod eigen;
pub mod hdbscan;
pub mod hierarchical;
pub mod kernels;
pub mod kmeans;
pub mod matrix;
pub mod metric;
pub mod neighbors;
pub mod noise;
mod pair;
pub mod project;
pub mod quality;
pub mod rng;
pub mod silhouette;
pub mod unionfind;

pub use control::{Cancelled, Control};
pub use matrix::Matrix;
pub use metric::{Embeddings, Metric};
