//! embedmap: a native desktop explorer for embedding clusters.
//!
//! * [`data`] loads embeddings and their metadata, and exports labelled results;
//! * [`engine`] clusters, scores and projects them;
//! * [`model`] saves a clustering as a model and labels new rows with it;
//! * [`describe`] names and summarises clusters (distinguishing terms, frequent values, typical rows);
//! * [`session`] and [`worker`] run jobs off the UI thread;
//! * [`app`] is the window; [`cli`] the headless commands.

pub mod app;
pub mod background;
pub mod cli;
pub mod data;
pub mod describe;
pub mod engine;
pub mod model;
pub mod session;
pub mod worker;
