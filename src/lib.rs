//! embedmap: a native desktop explorer for embedding clusters.
//!
//! * [`data`] loads embeddings and their metadata, and exports labelled results;
//! * [`engine`] clusters, scores and projects them;
//! * [`model`] saves a clustering as a model and labels new rows with it;
//! * [`describe`] names and summarises clusters (distinguishing terms, frequent values, typical rows);
//! * [`session`] runs a clustering request end to end; [`worker`] runs the window's compute jobs
//!   and [`jobs`] its side work, the one place threads are started;
//! * [`app`] is the window (feature `gui`); [`cli`] the headless commands (feature `io`).
//!
//! Without default features the library is the engine, sessions, saved models and `.npy`
//! files: no window, no polars.

#[cfg(feature = "gui")]
pub mod app;
pub mod background;
#[cfg(feature = "io")]
pub mod cli;
pub mod data;
#[cfg(feature = "io")]
pub mod describe;
pub mod engine;
#[cfg(feature = "io")]
pub mod jobs;
pub mod model;
pub mod session;
#[cfg(feature = "io")]
pub mod worker;
