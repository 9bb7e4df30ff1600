//! Numeric code over `f32` rows: metrics, kernels, clustering, quality indices, projections.
//! Imports neither egui nor polars.

pub mod ann;
pub mod assign;
mod assign_prune;
pub mod cache;
pub mod control;
pub mod dbscan;
mod disjoint;
pub mod eigen;
pub mod hdbscan;
pub mod hierarchical;
pub mod kernels;
pub mod kmeans;
mod lloyd;
pub mod matrix;
pub mod metric;
pub mod minibatch;
pub mod neighbors;
pub mod noise;
mod pair;
pub mod pca;
pub mod preview;
pub mod project;
pub mod quality;
pub mod rng;
pub mod silhouette;
pub mod spectral;
pub mod trust;
pub mod tsne;
pub mod umap;
pub mod unionfind;

pub use control::{Cancelled, Control};
pub use matrix::Matrix;
pub use metric::{Embeddings, Metric};
