//! Writing a file so that it is either complete or absent.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::ExportError;

/// Writes `path` through a temporary file beside it, renamed into place once complete.
pub fn write_atomically(path: &Path, write: impl FnOnce(&mut std::fs::File) -> Result<(), String>) -> Result<(), ExportError> {
    let werr = |message: String| ExportError::Write { message, path: path.to_path_buf() };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().map(|f| f.to_string_lossy().into_owned()).ok_or_else(|| werr("no file name".into()))?;
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp).map_err(|e| e.to_string())?;
        write(&mut file)?;
        file.flush().map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())?;
        drop(file);
        std::fs::rename(&tmp, path).map_err(|e| e.to_string())
    })();
    if result.is_err() {
        // Best effort: the temporary file is ours, and nothing else refers to it.
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(werr)
}
