//! The panels around the map: each reads the app's state and pushes commands.

pub(crate) mod chrome;
pub(crate) mod cluster_table;
pub(crate) mod dendrogram;
pub(crate) mod kdist;
pub(crate) mod side_panel;
pub(crate) mod silhouette_plot;
pub(crate) mod sweep;
