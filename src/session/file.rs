//! The session file: what reproduces a clustering seen in the window.

use super::*;

/// A saved session: the data file, how its embedding was read, the clustering request and the
/// names given to clusters. Reopening it (in the window, or `embedmap cluster --session`)
/// reproduces the same labels.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SessionFile {
    /// Format marker and version.
    pub embedmap_session: u32,
    /// The data file (absolute); `None` for the bundled demo.
    pub file: Option<std::path::PathBuf>,
    /// `--embedding-columns` used to read it (`None`: detected automatically).
    #[serde(default)]
    pub embedding_columns: Option<String>,
    /// Whether rows with NaN or infinite values were dropped.
    #[serde(default)]
    pub drop_nonfinite: bool,
    /// The clustering.
    pub request: ClusterRequest,
    /// Names given to clusters, by cluster id.
    #[serde(default)]
    pub cluster_names: std::collections::BTreeMap<usize, String>,
    /// Rows and cluster sizes when saved, to check that reopening reproduces them.
    #[serde(default)]
    pub rows: Option<usize>,
    /// Cluster sizes when saved.
    #[serde(default)]
    pub sizes: Option<Vec<usize>>,
    /// The map's projection and its parameters (`None` in older sessions: PCA).
    #[serde(default)]
    pub projection: Option<crate::engine::project::ProjectionParams>,
}

/// The session format this build writes and reads.
pub const SESSION_VERSION: u32 = 1;

impl SessionFile {
    /// Reads a session file, with an error that names the file and says what is wrong.
    pub fn read(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the session {}: {e}", path.display()))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{} is not a session file (not JSON: {e})", path.display()))?;
        match value.get("embedmap_session").and_then(serde_json::Value::as_u64) {
            None => return Err(format!("{} is not an embedmap session (no \"embedmap_session\" field)", path.display())),
            Some(v) if v > u64::from(SESSION_VERSION) => {
                return Err(format!(
                    "{} was written by a newer embedmap (session format {v}; this one reads {SESSION_VERSION})",
                    path.display()
                ));
            }
            Some(_) => {}
        }
        serde_json::from_value(value).map_err(|e| format!("the session {} is damaged: {e}", path.display()))
    }

    /// Writes the session as JSON, atomically.
    pub fn write(&self, path: &std::path::Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        crate::data::write_atomically(path, |f| {
            use std::io::Write as _;
            f.write_all(text.as_bytes()).map_err(|e| e.to_string())
        })
        .map_err(|e| e.to_string())
    }
}
