//! `embedmap._engine`: the engine on numpy float32 arrays, with the GIL released while it runs.
//! `embedmap/__init__.py` wraps it in scikit-learn's shapes; the clustering goes through the
//! same request and code path as `embedmap cluster`, so the same settings give the same labels.

use std::path::PathBuf;

use embedmap::data::EmbeddingSource;
use embedmap::engine::assign::nearest;
use embedmap::engine::hdbscan::Selection;
use embedmap::engine::hierarchical::Linkage;
use embedmap::engine::project::umap::{Placement, UmapParams, place_each};
use embedmap::engine::project::{ProjectionDetail, ProjectionParams, project};
use embedmap::engine::quality::{calinski_harabasz, davies_bouldin};
use embedmap::engine::silhouette::{SilhouetteMode, silhouette};
use embedmap::engine::{Control, Embeddings, Matrix, Metric};
use embedmap::model::Model;
use embedmap::session::{ClusterOutcome, ClusterRequest, FitData, RunError, run_cluster_unscored};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;

create_exception!(
    _engine,
    EmbedmapError,
    PyValueError,
    "An input, setting or model that embedmap refuses; the message says what differs and what to change."
);

/// A numpy vector / matrix handed to Python.
type Arr1<'py, T> = Bound<'py, numpy::PyArray1<T>>;
type Arr2<'py, T> = Bound<'py, numpy::PyArray2<T>>;
/// Rows scaled to unit length, and the rows of length zero.
type UnitRows = (Matrix, Vec<usize>);
/// Per-row values, mean, whether exact, 95% interval when sampled.
type SilhouetteOut<'py> = (Arr1<'py, f32>, f64, bool, Option<(f64, f64)>);

fn refuse(message: impl std::fmt::Display) -> PyErr {
    EmbedmapError::new_err(message.to_string())
}

/// Copies a C-contiguous (n, d) float32 array into a matrix, refusing empty input and rows with
/// NaN or infinite values (named, as the loaders do).
fn matrix(py: Python<'_>, x: &PyReadonlyArray2<'_, f32>) -> PyResult<Matrix> {
    Ok(copy_rows(py, x, false)?.0)
}

/// The embeddings of `x` for work in `metric`: under cosine the unit-length copy is made in
/// the same pass as the copy of the input.
fn embeddings(py: Python<'_>, x: &PyReadonlyArray2<'_, f32>, metric: Metric) -> PyResult<Embeddings> {
    Ok(match copy_rows(py, x, metric == Metric::Cosine)? {
        (raw, Some((unit, zero))) => Embeddings::with_unit(raw, unit, zero),
        (raw, None) => Embeddings::new(raw),
    })
}

/// [`matrix`], and with `unit` the rows scaled to unit length and the zero rows as
/// [`Matrix::normalized`] gives them. One parallel pass over blocks of rows (the page faults of
/// the new buffers are shared between the threads too).
fn copy_rows(py: Python<'_>, x: &PyReadonlyArray2<'_, f32>, unit: bool) -> PyResult<(Matrix, Option<UnitRows>)> {
    const ROWS: usize = 2048;
    let (n, d) = (x.shape()[0], x.shape()[1]);
    if n == 0 || d == 0 {
        return Err(refuse(format!("X has shape ({n}, {d}); it needs at least one row and one column")));
    }
    let values = x.as_slice().map_err(|_| refuse("X must be a C-contiguous float32 array"))?;
    let (data, unit_data, bad, zero) = py.detach(|| {
        let mut data = vec![0f32; n * d];
        let mut unit_data = if unit { vec![0f32; n * d] } else { Vec::new() };
        let unit_blocks: Vec<Option<&mut [f32]>> =
            if unit { unit_data.chunks_mut(ROWS * d).map(Some).collect() } else { (0..n.div_ceil(ROWS)).map(|_| None).collect() };
        let blocks: Vec<(Vec<usize>, Vec<usize>)> = data
            .par_chunks_mut(ROWS * d)
            .zip(values.par_chunks(ROWS * d))
            .zip(unit_blocks.into_par_iter())
            .enumerate()
            .map(|(b, ((out, src), unit_out))| {
                out.copy_from_slice(src);
                let bad =
                    src.chunks_exact(d).enumerate().filter(|(_, r)| !r.iter().all(|v| v.is_finite())).map(|(i, _)| b * ROWS + i).collect();
                let mut zero = Vec::new();
                if let Some(u) = unit_out {
                    u.copy_from_slice(src);
                    for (i, row) in u.chunks_exact_mut(d).enumerate() {
                        if !embedmap::engine::matrix::scale_to_unit(row) {
                            zero.push(b * ROWS + i);
                        }
                    }
                }
                (bad, zero)
            })
            .collect();
        let (bad, zero): (Vec<Vec<usize>>, Vec<Vec<usize>>) = blocks.into_iter().unzip();
        (data, unit_data, bad.concat(), zero.concat())
    });
    refuse_nonfinite(&bad)?;
    let shape = || refuse("X's shape does not match its data");
    let raw = Matrix::new(data, n, d).ok_or_else(shape)?;
    let unit = if unit { Some((Matrix::new(unit_data, n, d).ok_or_else(shape)?, zero)) } else { None };
    Ok((raw, unit))
}

/// The rows (from 0) of a row-major buffer of `d` values per row holding a NaN or an infinity.
fn nonfinite_rows(values: &[f32], d: usize) -> Vec<usize> {
    const ROWS: usize = 2048;
    let parts: Vec<Vec<usize>> = values
        .par_chunks(ROWS * d)
        .enumerate()
        .map(|(b, src)| {
            src.chunks_exact(d).enumerate().filter(|(_, r)| !r.iter().all(|v| v.is_finite())).map(|(i, _)| b * ROWS + i).collect()
        })
        .collect();
    parts.concat()
}

/// The error for rows with NaN or infinite values, if any.
fn refuse_nonfinite(bad: &[usize]) -> PyResult<()> {
    if bad.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = bad.iter().take(5).map(ToString::to_string).collect();
    let more = if bad.len() > 5 { ", …" } else { "" };
    Err(refuse(format!("{} row(s) contain NaN or infinite values (row(s) {}{more}); drop or fix them first", bad.len(), shown.join(", "))))
}

/// Runs `work` with the GIL released, on a thread of its own, handing it a control that stops
/// it when the user presses Ctrl-C: Python's `KeyboardInterrupt` is raised once it has stopped.
fn interruptible<T: Send>(py: Python<'_>, work: impl FnOnce(&Control) -> T + Send) -> PyResult<T> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let cancel = Arc::new(AtomicBool::new(false));
    let ctl = Control::new(Arc::clone(&cancel), None);
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| work(&ctl));
        loop {
            py.detach(|| {
                let start = Instant::now();
                while !handle.is_finished() && start.elapsed() < Duration::from_millis(50) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
            if handle.is_finished() {
                return handle.join().map_err(|_| refuse("the engine stopped unexpectedly"));
            }
            if let Err(interrupt) = py.check_signals() {
                cancel.store(true, Ordering::Relaxed);
                let _ = py.detach(|| handle.join());
                return Err(interrupt);
            }
        }
    })
}

fn labels_of(labels: &PyReadonlyArray1<'_, i32>, n: usize) -> PyResult<Vec<i32>> {
    let l = labels.as_slice().map_err(|_| refuse("labels must be a contiguous int32 array"))?;
    if l.len() != n {
        return Err(refuse(format!("{} labels for {n} rows", l.len())));
    }
    Ok(l.to_vec())
}

fn metric_of(name: &str) -> PyResult<Metric> {
    name.parse().map_err(refuse)
}

fn run_error(e: RunError) -> PyErr {
    match e {
        RunError::Cancelled => refuse("cancelled"),
        other => refuse(other),
    }
}

/// A fitted clustering: the labels and what a model or `predict` needs.
#[pyclass(module = "embedmap._engine", frozen)]
struct Fitted {
    outcome: ClusterOutcome,
    dim: usize,
}

#[pymethods]
impl Fitted {
    /// The request as JSON, in the form `embedmap cluster --session` and reports use.
    #[getter]
    fn request(&self) -> PyResult<String> {
        serde_json::to_string(&self.outcome.request).map_err(refuse)
    }

    /// Cluster per row (−1: noise).
    #[getter]
    fn labels<'py>(&self, py: Python<'py>) -> Arr1<'py, i32> {
        self.outcome.labels.clone().into_pyarray(py)
    }

    /// The algorithm's own noise verdict per row, for algorithms with noise.
    #[getter]
    fn is_noise<'py>(&self, py: Python<'py>) -> Option<Arr1<'py, bool>> {
        (!self.outcome.is_noise.is_empty()).then(|| self.outcome.is_noise.clone().into_pyarray(py))
    }

    #[getter]
    fn n_clusters(&self) -> usize {
        self.outcome.n_clusters
    }

    #[getter]
    fn n_noise(&self) -> usize {
        self.outcome.n_noise
    }

    #[getter]
    fn inertia(&self) -> Option<f64> {
        self.outcome.inertia
    }

    #[getter]
    fn n_iter(&self) -> Option<usize> {
        self.outcome.n_iter
    }

    #[getter]
    fn converged(&self) -> Option<bool> {
        self.outcome.converged
    }

    /// HDBSCAN's membership strengths.
    #[getter]
    fn probabilities<'py>(&self, py: Python<'py>) -> Option<Arr1<'py, f64>> {
        self.outcome.probabilities.clone().map(|p| p.into_pyarray(py))
    }

    /// K-means' centroids, (k, d) (unit rows under cosine).
    #[getter]
    fn centroids<'py>(&self, py: Python<'py>) -> PyResult<Option<Arr2<'py, f32>>> {
        match &self.outcome.fit {
            Some(FitData::Centroids(c)) => {
                let k = c.len() / self.dim.max(1);
                let a = Array2::from_shape_vec((k, self.dim), c.to_vec()).map_err(refuse)?;
                Ok(Some(a.into_pyarray(py)))
            }
            _ => Ok(None),
        }
    }

    /// DBSCAN's core-point verdict per row.
    #[getter]
    fn core<'py>(&self, py: Python<'py>) -> Option<Arr1<'py, bool>> {
        match &self.outcome.fit {
            Some(FitData::Core(c)) => Some(c.to_vec().into_pyarray(py)),
            _ => None,
        }
    }

    /// The merges of agglomerative clustering, (n − 1, 2), SciPy's node numbering.
    #[getter]
    fn children<'py>(&self, py: Python<'py>) -> PyResult<Option<Arr2<'py, i64>>> {
        let Some(tree) = &self.outcome.dendrogram else { return Ok(None) };
        let flat: Vec<i64> = tree.merges.iter().flat_map(|m| [i64::from(m.left), i64::from(m.right)]).collect();
        let a = Array2::from_shape_vec((tree.merges.len(), 2), flat).map_err(refuse)?;
        Ok(Some(a.into_pyarray(py)))
    }

    /// The merge distances of agglomerative clustering.
    #[getter]
    fn distances<'py>(&self, py: Python<'py>) -> Option<Arr1<'py, f64>> {
        self.outcome.dendrogram.as_ref().map(|t| t.merges.iter().map(|m| m.height).collect::<Vec<f64>>().into_pyarray(py))
    }

    /// Remarks: what was approximated or reused.
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.outcome.notes.clone()
    }

    /// Wall time of the clustering in milliseconds.
    #[getter]
    fn cluster_ms(&self) -> f64 {
        self.outcome.cluster_ms
    }

    /// Saves the model of this clustering of `x` (the rows it was fitted on) to `path`, with a
    /// PCA map of `x` for new rows' x, y. `column`: the list column new files hold the vectors
    /// in (`None`: a `.npy` array, or name it with `embedmap assign --embedding-columns`).
    #[pyo3(signature = (x, path, column=None, names=Vec::new(), map="pca"))]
    fn save_model(
        &self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f32>,
        path: PathBuf,
        column: Option<String>,
        names: Vec<String>,
        map: &str,
    ) -> PyResult<()> {
        let params = match map {
            "pca" => Some(ProjectionParams::Pca),
            "umap" => Some(ProjectionParams::Umap { metric: self.outcome.request.algorithm.metric(), params: UmapParams::default() }),
            "none" => None,
            other => return Err(refuse(format!("map must be 'pca', 'umap' or 'none', not '{other}'"))),
        };
        let m = matrix(py, &x)?;
        if m.n() != self.outcome.labels.len() || m.d() != self.dim {
            return Err(refuse(format!(
                "the model is of the {} × {} rows it was fitted on; X has shape ({}, {})",
                self.outcome.labels.len(),
                self.dim,
                m.n(),
                m.d()
            )));
        }
        let source = column.map_or(EmbeddingSource::Npy, |column| EmbeddingSource::ListColumn { column });
        py.detach(|| {
            embedmap::model::check_path(&path).map_err(refuse)?;
            let emb = Embeddings::new(m);
            let projected = params.map(|p| project(&emb, &p, &Control::default(), None)).transpose().map_err(refuse)?;
            let model = Model::from_clustering(&emb, &source, None, &self.outcome, projected.as_ref(), &names).map_err(refuse)?;
            model.save(&path).map_err(refuse)
        })
    }
}

/// Clusters `x` as `request` (the JSON of a cluster request, as in a session file) says.
#[pyfunction]
fn cluster(py: Python<'_>, x: PyReadonlyArray2<'_, f32>, request: &str) -> PyResult<Fitted> {
    let v = settings(request)?;
    let req: ClusterRequest = serde_json::from_value(v).map_err(|e| refuse(format!("bad settings: {e}")))?;
    let emb = embeddings(py, &x, req.algorithm.metric())?;
    let dim = emb.raw().d();
    let outcome = interruptible(py, |ctl| run_cluster_unscored(&emb, &req, ctl))?;
    Ok(Fitted { outcome: outcome.map_err(run_error)?, dim })
}

/// Settings as JSON, with metric, linkage and selection names read as the command line reads
/// them (and refused with its messages).
fn settings(json: &str) -> PyResult<serde_json::Value> {
    let mut v: serde_json::Value = serde_json::from_str(json).map_err(|e| refuse(format!("bad settings: {e}")))?;
    for (key, canonical) in [
        ("metric", (|s: &str| s.parse::<Metric>().map(Metric::name)) as fn(&str) -> Result<&'static str, String>),
        ("linkage", |s| s.parse::<Linkage>().map(Linkage::name)),
        ("selection", |s| s.parse::<Selection>().map(|x| if x == Selection::Leaf { "leaf" } else { "eom" })),
    ] {
        if let Some(given) = v.get(key).and_then(serde_json::Value::as_str) {
            let name = canonical(given).map_err(refuse)?;
            v[key] = name.into();
        }
    }
    Ok(v)
}

/// The 2-D map of `x` that `params` (the JSON of a projection, as in a session file) asks for:
/// (n, 2) float32, the same layout as the window's and `embedmap cluster --projection`'s, and
/// for a UMAP fitted on a sample, the sample's rows (ascending).
#[pyfunction]
fn project_map<'py>(py: Python<'py>, x: PyReadonlyArray2<'_, f32>, params: &str) -> PyResult<(Arr2<'py, f32>, Option<Arr1<'py, i64>>)> {
    let p: ProjectionParams = serde_json::from_value(settings(params)?).map_err(|e| refuse(format!("bad settings: {e}")))?;
    let metric = match &p {
        ProjectionParams::Umap { metric, .. } | ProjectionParams::Tsne { metric, .. } => *metric,
        ProjectionParams::Pca => Metric::Euclidean,
    };
    let emb = embeddings(py, &x, metric)?;
    let map = interruptible(py, |ctl| project(&emb, &p, ctl, None))?.map_err(refuse)?;
    let flat: Vec<f32> = map.coords.iter().flat_map(|c| [c[0], c[1]]).collect();
    let sample = match &map.detail {
        ProjectionDetail::Umap { sampled: Some(s), .. } => {
            Some(s.fitted_rows.iter().map(|&i| i64::try_from(i).unwrap_or(i64::MAX)).collect::<Vec<i64>>().into_pyarray(py))
        }
        _ => None,
    };
    Ok((Array2::from_shape_vec((map.coords.len(), 2), flat).map_err(refuse)?.into_pyarray(py), sample))
}

/// Places `queries` on a fitted UMAP layout (`fitted` its rows as given, `layout` their
/// positions, `params` the JSON of the UMAP that made it) as a saved model's map places new
/// rows: each row on its own, so that its x, y do not depend on the batch.
#[pyfunction]
fn umap_transform<'py>(
    py: Python<'py>,
    fitted: PyReadonlyArray2<'_, f32>,
    layout: PyReadonlyArray2<'_, f32>,
    queries: PyReadonlyArray2<'_, f32>,
    params: &str,
) -> PyResult<Arr2<'py, f32>> {
    let ProjectionParams::Umap { metric, params: up } =
        serde_json::from_value(settings(params)?).map_err(|e| refuse(format!("bad settings: {e}")))?
    else {
        return Err(refuse("umap_transform takes UMAP settings"));
    };
    let (f, l, q) = (matrix(py, &fitted)?, matrix(py, &layout)?, matrix(py, &queries)?);
    if l.d() != 2 || l.n() != f.n() {
        return Err(refuse(format!("the layout is {} × {}; the fitted rows need {} × 2", l.n(), l.d(), f.n())));
    }
    if q.d() != f.d() {
        return Err(refuse(format!("X has {} dimensions; the map was fitted on {}", q.d(), f.d())));
    }
    let checked = up.check(f.n()).map_err(refuse)?;
    let placement = Placement::of(metric, &checked);
    let points = layout_points(&l);
    let placed = interruptible(py, |ctl| {
        let (f, q) = if metric == Metric::Cosine { (f.normalized().0, q.normalized().0) } else { (f.clone(), q.clone()) };
        place_each(&f, &points, &q, &placement, ctl)
    })?
    .map_err(refuse)?;
    let flat: Vec<f32> = placed.iter().flat_map(|c| [c[0], c[1]]).collect();
    Array2::from_shape_vec((placed.len(), 2), flat).map_err(refuse).map(|a| a.into_pyarray(py))
}

/// The rows of an n × 2 matrix as points.
fn layout_points(l: &Matrix) -> Vec<[f32; 2]> {
    (0..l.n()).map(|i| [l.row(i)[0], l.row(i)[1]]).collect()
}

/// Index of, and distance to, each row's nearest row of `targets`, in `metric` (under cosine the
/// rows are normalised, and the targets too unless `unit_targets`); ties go to the lower index.
#[pyfunction]
#[pyo3(signature = (x, targets, metric, unit_targets=false))]
fn nearest_target<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'_, f32>,
    targets: PyReadonlyArray2<'_, f32>,
    metric: &str,
    unit_targets: bool,
) -> PyResult<(Arr1<'py, i64>, Arr1<'py, f32>)> {
    let metric = metric_of(metric)?;
    let (m, t) = (matrix(py, &x)?, matrix(py, &targets)?);
    if m.d() != t.d() {
        return Err(refuse(format!("X has {} dimensions; the model was fitted on {}", m.d(), t.d())));
    }
    let near = py.detach(|| match metric {
        Metric::Cosine if unit_targets => nearest(&m.normalized().0, &t, metric),
        Metric::Cosine => nearest(&m.normalized().0, &t.normalized().0, metric),
        Metric::Euclidean => nearest(&m, &t, metric),
    });
    let index: Vec<i64> = near.index.iter().map(|&i| i64::from(i)).collect();
    Ok((index.into_pyarray(py), near.distance.into_pyarray(py)))
}

/// Per-row silhouette (NaN for noise, negative labels), its mean, and whether it is exact
/// (`sample`: the mean from a seeded sample, with its 95% interval).
#[pyfunction]
#[pyo3(signature = (x, labels, metric="euclidean", sample=false, seed=0))]
fn silhouette_values<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'_, f32>,
    labels: PyReadonlyArray1<'_, i32>,
    metric: &str,
    sample: bool,
    seed: u64,
) -> PyResult<SilhouetteOut<'py>> {
    let metric = metric_of(metric)?;
    let emb = embeddings(py, &x, metric)?;
    let l = labels_of(&labels, emb.raw().n())?;
    let mode = if sample { SilhouetteMode::Sample } else { SilhouetteMode::Exact };
    let s = interruptible(py, |ctl| silhouette(&emb, &l, metric, mode, seed, ctl))?.map_err(refuse)?;
    Ok((s.values.into_pyarray(py), s.mean, s.exact, s.ci95))
}

/// Davies-Bouldin index (euclidean, noise left out).
#[pyfunction]
fn davies_bouldin_score(py: Python<'_>, x: PyReadonlyArray2<'_, f32>, labels: PyReadonlyArray1<'_, i32>) -> PyResult<f64> {
    let m = matrix(py, &x)?;
    let l = labels_of(&labels, m.n())?;
    py.detach(|| davies_bouldin(&m, &l)).map_err(refuse)
}

/// Calinski-Harabasz index (euclidean, noise left out).
#[pyfunction]
fn calinski_harabasz_score(py: Python<'_>, x: PyReadonlyArray2<'_, f32>, labels: PyReadonlyArray1<'_, i32>) -> PyResult<f64> {
    let m = matrix(py, &x)?;
    let l = labels_of(&labels, m.n())?;
    py.detach(|| calinski_harabasz(&m, &l)).map_err(refuse)
}

/// A saved model (`embedmap fit`, File ▸ Export model…, or `save_model`).
#[pyclass(module = "embedmap._engine", name = "Model", frozen)]
struct PyModel {
    model: Model,
}

#[pymethods]
impl PyModel {
    /// Reads and checks a model file (and its `.npy` sidecars).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let model = py.detach(|| Model::load(&path)).map_err(refuse)?;
        Ok(Self { model })
    }

    /// Labels rows: a dict of numpy arrays `cluster`, `distance`, and `is_noise` (rules with
    /// noise), `membership` (HDBSCAN) and `x`, `y` (models with a map) when they apply, as
    /// `embedmap assign` writes.
    fn assign<'py>(&self, py: Python<'py>, x: PyReadonlyArray2<'_, f32>) -> PyResult<Bound<'py, PyDict>> {
        // A block of rows at a time through one reused buffer: no copy of the whole input
        // (and none of its page faults); the answer is row by row, so the same.
        const ROWS: usize = 65_536;
        let (n, d) = (x.shape()[0], x.shape()[1]);
        if n == 0 || d == 0 {
            return Err(refuse(format!("X has shape ({n}, {d}); it needs at least one row and one column")));
        }
        let values = x.as_slice().map_err(|_| refuse("X must be a C-contiguous float32 array"))?;
        let bad = py.detach(|| nonfinite_rows(values, d));
        refuse_nonfinite(&bad)?;
        let a = py
            .detach(|| {
                let mut all = embedmap::model::Assigned::default();
                let mut buf: Vec<f32> = Vec::with_capacity(ROWS.min(n) * d);
                for part in values.chunks(ROWS * d) {
                    buf.clear();
                    buf.extend_from_slice(part);
                    let m = Matrix::new(std::mem::take(&mut buf), part.len() / d, d).expect("whole rows");
                    let got = self.model.assign_named(&m, "X")?;
                    buf = m.into_vec();
                    all.append(got);
                }
                Ok::<_, embedmap::model::ModelError>(all)
            })
            .map_err(refuse)?;
        let out = PyDict::new(py);
        out.set_item("cluster", a.labels.into_pyarray(py))?;
        out.set_item("distance", a.distance.into_pyarray(py))?;
        if let Some(f) = a.is_noise {
            out.set_item("is_noise", f.into_pyarray(py))?;
        }
        if let Some(m) = a.membership {
            out.set_item("membership", m.into_pyarray(py))?;
        }
        if let Some(xy) = a.xy {
            let (xs, ys): (Vec<f32>, Vec<f32>) = xy.iter().map(|p| (p[0], p[1])).unzip();
            out.set_item("x", xs.into_pyarray(py))?;
            out.set_item("y", ys.into_pyarray(py))?;
        }
        Ok(out)
    }

    /// Embedding dimension the model expects.
    #[getter]
    fn dim(&self) -> usize {
        self.model.dim()
    }

    /// "euclidean" or "cosine".
    #[getter]
    fn metric(&self) -> &'static str {
        self.model.metric().name()
    }

    /// Cluster names, by id (empty strings where none was given).
    #[getter]
    fn names(&self) -> Vec<String> {
        self.model.file.clusters.iter().map(|c| c.name.clone().unwrap_or_default()).collect()
    }

    /// Clusters the model assigns to.
    #[getter]
    fn n_clusters(&self) -> usize {
        self.model.file.clusters.len()
    }

    /// Whether the rule has noise (DBSCAN models): `assign` then also gives `is_noise`.
    #[getter]
    fn has_noise(&self) -> bool {
        self.model.has_noise()
    }

    /// Whether new rows get a membership strength (HDBSCAN models).
    #[getter]
    fn has_membership(&self) -> bool {
        self.model.has_membership()
    }

    /// Whether new rows also get x, y.
    #[getter]
    fn has_projection(&self) -> bool {
        self.model.file.projection.is_some()
    }

    /// The model file's description as JSON.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string_pretty(&self.model.file).map_err(refuse)
    }
}

#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("EmbedmapError", m.py().get_type::<EmbedmapError>())?;
    m.add_class::<Fitted>()?;
    m.add_class::<PyModel>()?;
    m.add_function(wrap_pyfunction!(cluster, m)?)?;
    m.add_function(wrap_pyfunction!(nearest_target, m)?)?;
    m.add_function(wrap_pyfunction!(project_map, m)?)?;
    m.add_function(wrap_pyfunction!(umap_transform, m)?)?;
    m.add_function(wrap_pyfunction!(silhouette_values, m)?)?;
    m.add_function(wrap_pyfunction!(davies_bouldin_score, m)?)?;
    m.add_function(wrap_pyfunction!(calinski_harabasz_score, m)?)?;
    Ok(())
}
