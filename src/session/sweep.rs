//! K-means over a range of k, each k with its quality indices.

use super::*;

/// One row of a k-sweep.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SweepRow {
    /// Clusters.
    pub k: usize,
    /// K-means objective.
    pub inertia: f64,
    /// Mean silhouette (None when undefined).
    pub silhouette: Option<f64>,
    /// Whether the silhouette is exact.
    pub silhouette_exact: bool,
    /// Davies-Bouldin.
    pub davies_bouldin: Option<f64>,
    /// Calinski-Harabasz.
    pub calinski_harabasz: Option<f64>,
    /// Wall time for this k.
    pub ms: f64,
}

/// K-means for every k in `ks` (each seeded with `base.seed`), scored by silhouette,
/// Davies-Bouldin, Calinski-Harabasz and inertia; `on_row` sees each k as it finishes.
pub fn run_sweep(
    emb: &Embeddings,
    ks: &[usize],
    base: &KMeansParams,
    mode: SilhouetteMode,
    ctl: &Control,
    mut on_row: impl FnMut(&SweepRow),
) -> Result<Vec<SweepRow>, RunError> {
    let n = emb.raw().n();
    let mut rows = Vec::with_capacity(ks.len());
    for &k in ks {
        let t = Instant::now();
        let p = KMeansParams { k, ..base.clone() };
        let cfg = p.check(n).map_err(ParamError::from)?;
        let km = kmeans(emb, &cfg, ctl)?;
        let labels = to_i32(&km.labels);
        let sil = match silhouette(emb, &labels, p.metric, mode, p.seed, ctl) {
            Ok(s) => Some(s),
            Err(crate::engine::silhouette::SilhouetteError::Cancelled) => return Err(RunError::Cancelled),
            Err(_) => None,
        };
        let space = emb.points(p.metric);
        let row = SweepRow {
            k,
            inertia: km.inertia,
            silhouette: sil.as_ref().map(|s| s.mean),
            silhouette_exact: sil.as_ref().is_some_and(|s| s.exact),
            davies_bouldin: davies_bouldin(space, &labels).ok(),
            calinski_harabasz: calinski_harabasz(space, &labels).ok(),
            ms: elapsed_ms(t),
        };
        on_row(&row);
        rows.push(row);
    }
    Ok(rows)
}
