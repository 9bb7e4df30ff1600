//! Saved models: what `embedmap fit` writes and `embedmap assign` reads, to label new rows
//! exactly as the clustering labelled its own.
//!
//! A model is one JSON file (`M.embedmap.json`): format and version, the embedding it expects
//! (dimension, column, metric and normalisation), the request that made it (algorithm,
//! parameters, seed), its clusters, the assignment rule and its data, the map's projection
//! when it has one, and a checksum of the rows it was fitted on. An array of more than
//! [`INLINE_MAX`] values (DBSCAN's core points, many centroids) goes to a `.npy` file beside it
//! (`M.embedmap.<name>.npy`), which numpy reads as it is, with its checksum in the JSON: JSON
//! numbers take about three times the bytes of f32 and parse a hundred times slower.
//!
//! Rules:
//! - K-means and mini-batch K-means: the nearest centroid ([`crate::engine::assign::nearest`]),
//!   which is how the clustering labels its own rows, so the labels agree row for row.
//! - Hierarchical clustering and clusters edited by hand: the nearest cluster mean (a tree
//!   cannot place new rows; the agreement on the fitting rows is reported).
//! - DBSCAN: the cluster of the nearest core point within eps, else noise (scikit-learn's
//!   convention for border points; a border point DBSCAN reached from a farther core point may
//!   differ, which the agreement counts).
//! - HDBSCAN: the hdbscan library's `approximate_predict` ([`Predictor`]): the fitted rows, their
//!   core distances and the condensed tree; a new row joins the tree where its nearest fitted
//!   row by mutual reachability hangs, with a membership strength.
//!
//! The projection: PCA's axes, or UMAP's fitted rows and layout, on which each new row is placed
//! by [`place_each`] (its own neighbours, start and epochs, so its x, y do not depend on the
//! batch it came in).

use std::path::{Path, PathBuf};

use crate::data::EmbeddingSource;
use crate::engine::assign::nearest;
use crate::engine::noise::NoisePolicy;
use std::sync::Arc;

use crate::engine::Control;
use crate::engine::hdbscan::Predictor;
use crate::engine::project::pca::{PcaAxes, project_rows};
use crate::engine::project::umap::{Placement, place_each};
use crate::engine::project::{Projected, ProjectionDetail, ProjectionParams};
use crate::engine::{Embeddings, Matrix, Metric};
use crate::session::{Algorithm, ClusterOutcome, ClusterRequest, FitData};

/// The `format` field of every model file.
pub const FORMAT: &str = "embedmap-model";
/// The newest format version this build reads and the one it writes.
pub const VERSION: u32 = 1;
/// Fitting rows above which an HDBSCAN model's agreement is measured on a seeded sample.
pub const AGREEMENT_SAMPLE: usize = 20_000;
/// Arrays with more values than this go to a `.npy` file beside the model.
pub const INLINE_MAX: usize = 65_536;

/// Why a model could not be made, read or applied.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read.
    #[error("cannot read the model {}: {source}", path.display())]
    Io {
        /// Underlying error.
        source: std::io::Error,
        /// The file.
        path: PathBuf,
    },
    /// Not a model file at all.
    #[error("{} is not an embedmap model ({detail})", path.display())]
    NotAModel {
        /// What was found instead.
        detail: String,
        /// The file.
        path: PathBuf,
    },
    /// Written by a newer embedmap.
    #[error("{} is a model of format version {found}; this embedmap reads versions up to {VERSION}: update embedmap", path.display())]
    Version {
        /// The file's version.
        found: u32,
        /// The file.
        path: PathBuf,
    },
    /// A model file whose content contradicts itself (edited by hand, or a sidecar replaced).
    #[error("{} is damaged: {detail}", path.display())]
    Damaged {
        /// What does not fit.
        detail: String,
        /// The file.
        path: PathBuf,
    },
    /// The input's vectors do not fit the model.
    #[error("the model expects {expected}-dimensional embeddings, but {what} has {found} dimensions")]
    Dimension {
        /// The model's dimension.
        expected: usize,
        /// The input's.
        found: usize,
        /// Which input.
        what: String,
    },
    /// A metric asked for differs from the model's.
    #[error("the model measures {model} distances; --metric {asked} does not fit it (leave --metric out, or fit a {asked} model)")]
    Metric {
        /// The model's.
        model: Metric,
        /// The one asked for.
        asked: Metric,
    },
    /// This clustering cannot be saved as a model.
    #[error("{0}")]
    Unsupported(String),
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] crate::data::ExportError),
}

/// The rows a model was fitted on.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FittedOn {
    /// The file, as given (none for the bundled demo).
    pub file: Option<String>,
    /// Rows.
    pub rows: usize,
    /// Dimension.
    pub dim: usize,
    /// [`checksum`] of the rows as loaded.
    pub checksum: String,
}

/// The embedding a model expects.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmbeddingSpec {
    /// Where the vectors were found in the fitting file; new files are read the same way.
    pub source: EmbeddingSource,
    /// Values per vector.
    pub dim: usize,
    /// How rows are prepared before distances: `none`, or `unit` (scaled to length 1, cosine).
    pub normalisation: String,
}

/// One cluster of the model.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClusterEntry {
    /// Its id in the `cluster` column.
    pub id: i32,
    /// Rows of the fitting data in it.
    pub size: usize,
    /// A name given in the window, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A matrix stored in the model file or beside it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Array {
    /// Row-major values in the JSON.
    Inline {
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
        /// `rows × cols` values.
        values: Vec<f32>,
    },
    /// A little-endian f32 `.npy` file, its path relative to the model's folder.
    File {
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
        /// File name.
        file: String,
        /// [`checksum`] of its values.
        checksum: String,
    },
}

impl Array {
    /// Rows.
    #[must_use]
    pub fn rows(&self) -> usize {
        match self {
            Self::Inline { rows, .. } | Self::File { rows, .. } => *rows,
        }
    }
}

/// How a new row gets its cluster.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum AssignmentSpec {
    /// The nearest of these centres; centre j is cluster j.
    NearestCentroid {
        /// k × dim, in the metric's space.
        centroids: Array,
        /// What the centres are: `k-means centroids` or `cluster means`.
        from: String,
    },
    /// The cluster of the nearest core point within eps; beyond eps noise (−1), or with
    /// `noise: nearest` still that core point's cluster, flagged in `is_noise`.
    NearestCorePoint {
        /// The neighbourhood radius, in the metric's distance.
        eps: f32,
        /// The core points, in the metric's space.
        core_points: Array,
        /// Each core point's cluster.
        core_labels: Vec<i32>,
        /// What happens to rows beyond eps.
        noise: NoisePolicy,
    },
    /// HDBSCAN's approximate prediction: the cluster of the condensed tree a new row joins by
    /// its nearest fitted row in mutual reachability; noise (−1) outside every selected
    /// cluster, or with `noise: nearest` the cluster of the nearest clustered fitted row.
    HdbscanTree {
        /// `min_samples` of the core distances.
        min_samples: usize,
        /// Every fitted row, in the metric's space.
        fitted: Array,
        /// Per fitted row: core distance, the distance at which it leaves its cluster of the
        /// condensed tree, and that cluster (a file always: distances can be infinite).
        points: Array,
        /// Per cluster of the condensed tree: parent, the distance of its birth, label (−1:
        /// none), the distance of its selected cluster's largest λ.
        tree: Array,
        /// What happens to rows outside every cluster.
        noise: NoisePolicy,
    },
}

/// The map's projection, to place new rows.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum ProjectionSpec {
    /// PCA: x, y = (row − mean) · the two axes, on the rows as loaded.
    Pca(PcaAxes),
    /// UMAP: each new row placed on the fitted layout by its nearest fitted rows.
    Umap {
        /// How new rows are placed.
        #[serde(flatten)]
        placement: Placement,
        /// The rows the layout was fitted on, in the placement metric's space.
        fitted: Array,
        /// Their positions (rows × 2).
        layout: Array,
    },
}

/// How many fitting rows the model labels as the clustering did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Agreement {
    /// Rows compared.
    pub rows: usize,
    /// Rows with the same label.
    pub same: usize,
}

/// The JSON document.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Format version.
    pub version: u32,
    /// The embedmap that wrote it.
    pub embedmap_version: String,
    /// The fitting data.
    pub fitted_on: FittedOn,
    /// The embedding expected.
    pub embedding: EmbeddingSpec,
    /// Distance metric.
    pub metric: Metric,
    /// Algorithm, parameters and seed.
    pub request: ClusterRequest,
    /// The clusters.
    pub clusters: Vec<ClusterEntry>,
    /// The assignment rule and its data.
    pub assignment: AssignmentSpec,
    /// The projection for x, y (none: the map cannot place new rows).
    pub projection: Option<ProjectionSpec>,
    /// The model's labels against the clustering's on the fitting rows.
    pub agreement: Agreement,
    /// Remarks: approximations, what is not in the model.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// A model ready to assign rows.
#[derive(Clone, Debug)]
pub struct Model {
    /// Its description.
    pub file: ModelFile,
    /// The assignment's targets (centroids or core points), in the metric's space.
    targets: Matrix,
    /// The cluster of each target.
    target_labels: Vec<i32>,
    /// HDBSCAN's tree and the clustered targets for `noise: nearest`.
    hdbscan: Option<HdbscanRule>,
    /// UMAP's fitted rows, layout and placement.
    umap: Option<UmapRule>,
}

/// What an HDBSCAN model assigns with; its targets are every fitted row.
#[derive(Clone, Debug)]
struct HdbscanRule {
    predictor: Arc<Predictor>,
    /// The clustered fitted rows and their labels, when noise joins the nearest of them.
    clustered: Option<(Matrix, Vec<i32>)>,
}

/// What a UMAP projection places rows with.
#[derive(Clone, Debug)]
struct UmapRule {
    fitted: Arc<Matrix>,
    layout: Vec<[f32; 2]>,
    placement: Placement,
}

/// Labels of new rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Assigned {
    /// Cluster per row (−1: noise).
    pub labels: Vec<i32>,
    /// Distance to the centroid or core point that decided it, in the metric.
    pub distance: Vec<f32>,
    /// Noise verdict per row, for rules that have noise.
    pub is_noise: Option<Vec<bool>>,
    /// Map position per row, when the model has a projection.
    pub xy: Option<Vec<[f32; 2]>>,
    /// Membership strength per row in [0, 1] (HDBSCAN; 0 for noise).
    pub membership: Option<Vec<f32>>,
}

impl Assigned {
    /// Appends the labels of the rows that follow, from the same model.
    pub fn append(&mut self, more: Self) {
        fn join<T>(a: &mut Option<Vec<T>>, b: Option<Vec<T>>) {
            match (a.as_mut(), b) {
                (Some(a), Some(b)) => a.extend(b),
                (None, Some(b)) => *a = Some(b),
                _ => {}
            }
        }
        self.labels.extend(more.labels);
        self.distance.extend(more.distance);
        join(&mut self.is_noise, more.is_noise);
        join(&mut self.xy, more.xy);
        join(&mut self.membership, more.membership);
    }
}

/// `xxh3-64:<16 hex digits>` of f32 values' little-endian bytes, in order.
#[must_use]
pub fn checksum(values: &[f32]) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = Vec::with_capacity(4 * 4096);
    for chunk in values.chunks(4096) {
        buf.clear();
        for v in chunk {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        h.update(&buf);
    }
    format!("xxh3-64:{:016x}", h.digest())
}

impl Model {
    /// The model of a finished clustering of `emb` (whose vectors came from `source` in
    /// `file`), with `projected`'s map when it can place new rows and the window's cluster
    /// names (`names[id]`, empty: none).
    pub fn from_clustering(
        emb: &Embeddings,
        source: &EmbeddingSource,
        file: Option<String>,
        outcome: &ClusterOutcome,
        projected: Option<&Projected>,
        names: &[String],
    ) -> Result<Self, ModelError> {
        if !outcome.is_final() {
            return Err(ModelError::Unsupported("a preview cannot be saved as a model; wait for the seeded result".into()));
        }
        let req = &outcome.request;
        if let Some(r) = &req.reduce {
            return Err(ModelError::Unsupported(format!(
                "this clustering ran on a {} of the embedding; a model would need UMAP's transform into that space, which models do not hold yet: cluster on the full embedding to save a model",
                r.describe()
            )));
        }
        let metric = req.algorithm.metric();
        let points = emb.points(metric);
        let (n, d) = (points.n(), points.d());
        let mut notes = Vec::new();
        let mut hdbscan = None;
        let (assignment, targets, target_labels) = match (&req.algorithm, &outcome.fit) {
            (Algorithm::Kmeans(_) | Algorithm::MinibatchKmeans(_), Some(FitData::Centroids(c))) => {
                let k = c.len() / d.max(1);
                let m = Matrix::new(c.to_vec(), k, d).ok_or_else(|| ModelError::Unsupported("centroids of another dimension".into()))?;
                #[expect(
                    clippy::cast_possible_wrap,
                    clippy::cast_possible_truncation,
                    reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)"
                )]
                let labels = (0..k as i32).collect();
                (AssignmentSpec::NearestCentroid { centroids: placeholder(), from: "k-means centroids".into() }, m, labels)
            }
            (Algorithm::Hdbscan(p), Some(FitData::Hdbscan(pred))) => {
                let spec = AssignmentSpec::HdbscanTree {
                    min_samples: p.min_samples(),
                    fitted: placeholder(),
                    points: placeholder(),
                    tree: placeholder(),
                    noise: req.noise,
                };
                hdbscan = Some(HdbscanRule::new(Arc::clone(pred), points, req.noise));
                (spec, points.clone(), fitted_labels(pred))
            }
            (Algorithm::Dbscan(p), Some(FitData::Core(core))) => {
                let rows: Vec<usize> = (0..n).filter(|&i| core[i] && outcome.labels[i] >= 0).collect();
                if rows.is_empty() {
                    return Err(ModelError::Unsupported(format!(
                        "DBSCAN found no core points at eps {} and min_samples {}: every row is noise, so there is nothing to assign new rows to",
                        p.eps, p.min_samples
                    )));
                }
                let labels = rows.iter().map(|&i| outcome.labels[i]).collect();
                let spec =
                    AssignmentSpec::NearestCorePoint { eps: p.eps, core_points: placeholder(), core_labels: Vec::new(), noise: req.noise };
                (spec, points.select_rows(&rows), labels)
            }
            _ => {
                let (m, labels) = cluster_means(points, &outcome.labels, metric == Metric::Cosine);
                if m.n() == 0 {
                    return Err(ModelError::Unsupported("every row is noise: there are no clusters to assign new rows to".into()));
                }
                notes.push(match &req.algorithm {
                    Algorithm::Hierarchical(_) => {
                        "hierarchical clustering: new rows go to the nearest cluster mean (a merge tree cannot place new rows)".to_string()
                    }
                    _ => "clusters edited by hand: new rows go to the nearest cluster mean".to_string(),
                });
                (AssignmentSpec::NearestCentroid { centroids: placeholder(), from: "cluster means".into() }, m, labels)
            }
        };
        let mut umap = None;
        let projection = match projected.map(|p| &p.detail) {
            Some(ProjectionDetail::Pca { axes, .. }) => Some(ProjectionSpec::Pca(PcaAxes::clone(axes))),
            Some(ProjectionDetail::Umap { sampled, .. }) => {
                let Some(ProjectionParams::Umap { metric: um, params: up }) = projected.map(|p| &p.params) else {
                    return Err(ModelError::Unsupported("a UMAP map without its parameters".into()));
                };
                let checked = up.check(n).map_err(|e| ModelError::Unsupported(e.to_string()))?;
                let coords = &projected.map_or(&[][..], |p| &p.coords[..]);
                let upoints = emb.points(*um);
                let (fitted, layout) = match sampled {
                    Some(s) => (upoints.select_rows(&s.fitted_rows), s.fitted_rows.iter().map(|&i| coords[i]).collect()),
                    None => (upoints.clone(), coords.to_vec()),
                };
                umap = Some(UmapRule { fitted: Arc::new(fitted), layout, placement: Placement::of(*um, &checked) });
                Some(ProjectionSpec::Umap { placement: Placement::of(*um, &checked), fitted: placeholder(), layout: placeholder() })
            }
            Some(ProjectionDetail::Tsne { .. }) => {
                notes.push("the map is a t-SNE, which cannot place new rows: assign writes no x, y".into());
                None
            }
            None => None,
        };
        // Every id a target can give, with its size (0 for a K-means cluster left empty).
        let top = target_labels.iter().copied().max().map_or(0, |m| usize::try_from(m + 1).unwrap_or(0));
        let clusters = (0..top.max(outcome.sizes.len()))
            .map(|c| ClusterEntry {
                id: i32::try_from(c).unwrap_or(i32::MAX),
                size: outcome.sizes.get(c).copied().unwrap_or(0),
                name: names.get(c).filter(|s| !s.is_empty()).cloned(),
            })
            .collect();
        let file = ModelFile {
            format: FORMAT.into(),
            version: VERSION,
            embedmap_version: env!("CARGO_PKG_VERSION").into(),
            fitted_on: FittedOn { file, rows: n, dim: d, checksum: checksum(emb.raw().as_slice()) },
            embedding: EmbeddingSpec {
                source: source.clone(),
                dim: d,
                normalisation: if metric == Metric::Cosine { "unit" } else { "none" }.into(),
            },
            metric,
            request: req.clone(),
            clusters,
            assignment,
            projection,
            agreement: Agreement { rows: 0, same: 0 },
            notes,
        };
        let mut model = Self { file, targets, target_labels, hdbscan, umap };
        // HDBSCAN compares each row with every fitted row: above AGREEMENT_SAMPLE rows, a seeded
        // sample of them is compared.
        let rows: Vec<usize> = if model.hdbscan.is_some() && n > AGREEMENT_SAMPLE {
            let mut r = crate::engine::rng::Rng::derive(0xa9e, 1).sample_indices(n, AGREEMENT_SAMPLE);
            r.sort_unstable();
            r
        } else {
            (0..n).collect()
        };
        let own = if rows.len() == n { model.labels_of(emb.raw())? } else { model.labels_of(&emb.raw().select_rows(&rows))? };
        let same = rows.iter().zip(&own.labels).filter(|&(&i, l)| *l == outcome.labels[i]).count();
        model.file.agreement = Agreement { rows: rows.len(), same };
        if rows.len() < n {
            model.file.notes.push(format!("the agreement is measured on a seeded sample of {} of the {n} fitting rows", rows.len()));
        }
        Ok(model)
    }

    /// Centroids or core points.
    #[must_use]
    pub fn targets(&self) -> usize {
        self.targets.n()
    }

    /// Expected dimension.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.file.embedding.dim
    }

    /// The metric.
    #[must_use]
    pub fn metric(&self) -> Metric {
        self.file.metric
    }

    /// Whether the rule has noise (`is_noise` is written).
    #[must_use]
    pub fn has_noise(&self) -> bool {
        matches!(self.file.assignment, AssignmentSpec::NearestCorePoint { .. } | AssignmentSpec::HdbscanTree { .. })
    }

    /// Whether new rows get a membership strength (HDBSCAN: `membership` is written).
    #[must_use]
    pub fn has_membership(&self) -> bool {
        self.hdbscan.is_some()
    }

    /// Refuses a metric other than the model's.
    pub fn check_metric(&self, asked: Option<Metric>) -> Result<(), ModelError> {
        match asked {
            Some(a) if a != self.file.metric => Err(ModelError::Metric { model: self.file.metric, asked: a }),
            _ => Ok(()),
        }
    }

    /// Labels rows given as loaded (`what` names them in errors).
    pub fn assign_named(&self, rows: &Matrix, what: &str) -> Result<Assigned, ModelError> {
        self.assign_inner(rows, what, true)
    }

    /// Labels only (no x, y): the agreement on the fitting rows.
    fn labels_of(&self, rows: &Matrix) -> Result<Assigned, ModelError> {
        self.assign_inner(rows, "the fitting rows", false)
    }

    fn assign_inner(&self, rows: &Matrix, what: &str, with_xy: bool) -> Result<Assigned, ModelError> {
        if rows.d() != self.dim() {
            return Err(ModelError::Dimension { expected: self.dim(), found: rows.d(), what: what.to_string() });
        }
        let unit;
        let points = if self.file.metric == Metric::Cosine {
            unit = rows.normalized().0;
            &unit
        } else {
            rows
        };
        let ctl = Control::default();
        let mut membership = None;
        let (labels, distance, is_noise) = if let Some(h) = &self.hdbscan {
            let got = h.predictor.predict(&self.targets, points, self.file.metric, &ctl).map_err(|_| cancelled())?;
            let flags: Vec<bool> = got.iter().map(|g| g.label < 0).collect();
            let mut labels: Vec<i32> = got.iter().map(|g| g.label).collect();
            let mut distance: Vec<f32> = got.iter().map(|g| g.distance).collect();
            #[expect(
                clippy::cast_possible_truncation,
                reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
            )]
            {
                membership = Some(got.iter().map(|g| g.strength as f32).collect());
            }
            if let Some((clustered, ids)) = &h.clustered {
                let noise: Vec<usize> = (0..labels.len()).filter(|&i| flags[i]).collect();
                if !noise.is_empty() {
                    let near = nearest(&points.select_rows(&noise), clustered, self.file.metric);
                    for (t, &i) in noise.iter().enumerate() {
                        labels[i] = ids[near.index[t] as usize];
                        distance[i] = near.distance[t];
                    }
                }
            }
            (labels, distance, Some(flags))
        } else {
            let near = nearest(points, &self.targets, self.file.metric);
            let mut labels: Vec<i32> = near.index.iter().map(|&j| self.target_labels[j as usize]).collect();
            let is_noise = match &self.file.assignment {
                AssignmentSpec::NearestCorePoint { eps, noise, .. } => {
                    let flags: Vec<bool> = near.distance.iter().map(|&dist| dist > *eps).collect();
                    if *noise == NoisePolicy::Keep {
                        for (l, &f) in labels.iter_mut().zip(&flags) {
                            if f {
                                *l = -1;
                            }
                        }
                    }
                    Some(flags)
                }
                _ => None,
            };
            (labels, near.distance, is_noise)
        };
        let xy = match (&self.file.projection, &self.umap) {
            _ if !with_xy => None,
            (Some(ProjectionSpec::Pca(axes)), _) => Some(project_rows(rows, axes)),
            (Some(ProjectionSpec::Umap { .. }), Some(u)) => {
                let unit;
                let q = if u.placement.metric == Metric::Cosine {
                    unit = rows.normalized().0;
                    &unit
                } else {
                    rows
                };
                Some(place_each(&u.fitted, &u.layout, q, &u.placement, &ctl).map_err(|_| cancelled())?)
            }
            _ => None,
        };
        Ok(Assigned { labels, distance, is_noise, xy, membership })
    }

    /// [`Self::assign_named`] for rows without a name.
    pub fn assign(&self, rows: &Matrix) -> Result<Assigned, ModelError> {
        self.assign_named(rows, "the input")
    }

    /// Writes the model to `path` (and its large arrays beside it), each file atomically, the
    /// JSON last.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let mut file = self.file.clone();
        let stem = path.file_name().map_or_else(|| "model".to_string(), |f| f.to_string_lossy().trim_end_matches(".json").to_string());
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        // Arrays by name, so that UMAP's fitted rows and HDBSCAN's, when the same, are one file.
        let mut written: Vec<(String, Array)> = Vec::new();
        let mut store = |name: &str, m: &Matrix, file_always: bool| -> Result<Array, ModelError> {
            if m.as_slice().len() <= INLINE_MAX && !file_always {
                return Ok(Array::Inline { rows: m.n(), cols: m.d(), values: m.as_slice().to_vec() });
            }
            let sum = checksum(m.as_slice());
            if let Some((_, a)) = written.iter().find(
                |(_, a)| matches!(a, Array::File { checksum, rows, cols, .. } if *checksum == sum && (*rows, *cols) == (m.n(), m.d())),
            ) {
                return Ok(a.clone());
            }
            let side = format!("{stem}.{name}.npy");
            write_npy(&dir.join(&side), m)?;
            let a = Array::File { rows: m.n(), cols: m.d(), file: side, checksum: sum };
            written.push((name.to_string(), a.clone()));
            Ok(a)
        };
        match &mut file.assignment {
            AssignmentSpec::NearestCentroid { centroids, .. } => *centroids = store("centroids", &self.targets, false)?,
            AssignmentSpec::NearestCorePoint { core_points, core_labels, .. } => {
                *core_points = store("core_points", &self.targets, false)?;
                core_labels.clone_from(&self.target_labels);
            }
            AssignmentSpec::HdbscanTree { fitted, points, tree, .. } => {
                let h = self.hdbscan.as_ref().ok_or_else(|| ModelError::Unsupported("an HDBSCAN model without its tree".into()))?;
                *fitted = store("rows", &self.targets, false)?;
                let n = h.predictor.points.len();
                let pm = Matrix::new(h.predictor.points.iter().flatten().copied().collect(), n, 3).expect("n × 3");
                *points = store("hdbscan_points", &pm, true)?;
                let m = h.predictor.clusters.len();
                let tm = Matrix::new(h.predictor.clusters.iter().flatten().copied().collect(), m, 4).expect("m × 4");
                *tree = store("hdbscan_tree", &tm, true)?;
            }
        }
        if let (Some(ProjectionSpec::Umap { fitted, layout, .. }), Some(u)) = (&mut file.projection, &self.umap) {
            *fitted = store("umap_rows", &u.fitted, false)?;
            let lm = Matrix::new(u.layout.iter().flatten().copied().collect(), u.layout.len(), 2).expect("n × 2");
            *layout = store("umap_layout", &lm, false)?;
        }
        let text = serde_json::to_string_pretty(&file).map_err(|e| ModelError::Unsupported(e.to_string()))?;
        crate::data::write_atomically(path, |f| {
            use std::io::Write as _;
            f.write_all(text.as_bytes()).map_err(|e| e.to_string())
        })?;
        Ok(())
    }

    /// Reads and checks a model file (and its `.npy` arrays).
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io { source, path: path.to_path_buf() })?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| ModelError::NotAModel { detail: format!("not JSON: {e}"), path: path.to_path_buf() })?;
        match value.get("format").and_then(serde_json::Value::as_str) {
            Some(FORMAT) => {}
            Some(other) => return Err(ModelError::NotAModel { detail: format!("its format is '{other}'"), path: path.to_path_buf() }),
            None => return Err(ModelError::NotAModel { detail: "no \"format\" field".into(), path: path.to_path_buf() }),
        }
        let version = value.get("version").and_then(serde_json::Value::as_u64).unwrap_or(0);
        if version > u64::from(VERSION) {
            return Err(ModelError::Version { found: u32::try_from(version).unwrap_or(u32::MAX), path: path.to_path_buf() });
        }
        let damaged = |detail: String| ModelError::Damaged { detail, path: path.to_path_buf() };
        let file: ModelFile = serde_json::from_value(value).map_err(|e| damaged(e.to_string()))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let d = file.embedding.dim;
        if d == 0 || file.fitted_on.dim != d {
            return Err(damaged(format!("embedding.dim {d} and fitted_on.dim {} disagree", file.fitted_on.dim)));
        }
        let read_as = |name: &str, a: &Array, want_cols: usize, finite: bool| -> Result<Matrix, ModelError> {
            let (rows, cols, values) = match a {
                Array::Inline { rows, cols, values } => (*rows, *cols, values.clone()),
                Array::File { rows, cols, file: f, checksum: sum } => {
                    let p = dir.join(f);
                    let bytes = std::fs::read(&p).map_err(|e| damaged(format!("its {name} file {}: {e}", p.display())))?;
                    let arr = crate::data::npy::read(&bytes).map_err(|e| damaged(format!("its {name} file {}: {e}", p.display())))?;
                    if checksum(&arr.data) != *sum {
                        return Err(damaged(format!(
                            "its {name} file {} is not the one the model was saved with (checksum differs)",
                            p.display()
                        )));
                    }
                    if (arr.rows, arr.cols) != (*rows, *cols) {
                        return Err(damaged(format!("its {name} file holds {}×{}, the model says {rows}×{cols}", arr.rows, arr.cols)));
                    }
                    (*rows, *cols, arr.data)
                }
            };
            if cols != want_cols {
                return Err(damaged(format!("{name} have {cols} columns, not {want_cols}")));
            }
            if rows == 0 {
                return Err(damaged(format!("no {name}")));
            }
            if finite && values.iter().any(|v| !v.is_finite()) {
                return Err(damaged(format!("{name} hold a NaN or infinite value")));
            }
            Matrix::new(values, rows, cols).ok_or_else(|| damaged(format!("{name}: {rows}×{cols} is not the number of values given")))
        };
        let read = |name: &str, a: &Array| read_as(name, a, d, true);
        let n_clusters = file.clusters.len();
        let mut hdbscan = None;
        let in_range = |l: i32| usize::try_from(l).is_ok_and(|c| c < n_clusters);
        let (targets, target_labels) = match &file.assignment {
            AssignmentSpec::NearestCentroid { centroids, .. } => {
                let m = read("centroids", centroids)?;
                if m.n() != n_clusters {
                    return Err(damaged(format!("{} centroids for {n_clusters} clusters", m.n())));
                }
                #[expect(
                    clippy::cast_possible_wrap,
                    clippy::cast_possible_truncation,
                    reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)"
                )]
                let labels = (0..m.n() as i32).collect();
                (m, labels)
            }
            AssignmentSpec::NearestCorePoint { eps, core_points, core_labels, .. } => {
                if !(eps.is_finite() && *eps > 0.0) {
                    return Err(damaged(format!("eps {eps} is not a positive distance")));
                }
                let m = read("core points", core_points)?;
                if core_labels.len() != m.n() {
                    return Err(damaged(format!("{} core labels for {} core points", core_labels.len(), m.n())));
                }
                if let Some(bad) = core_labels.iter().find(|&&l| !in_range(l)) {
                    return Err(damaged(format!("core label {bad} is not one of the {n_clusters} clusters")));
                }
                (m, core_labels.clone())
            }
            AssignmentSpec::HdbscanTree { min_samples, fitted, points, tree, noise } => {
                let m = read("fitted rows", fitted)?;
                let pm = read_as("HDBSCAN points", points, 3, false)?;
                let tm = read_as("HDBSCAN tree", tree, 4, false)?;
                let as_rows = |x: &Matrix, w: usize| -> Vec<[f32; 4]> {
                    (0..x.n())
                        .map(|i| {
                            let mut r = [0.0f32; 4];
                            r[..w].copy_from_slice(x.row(i));
                            r
                        })
                        .collect()
                };
                let predictor = Predictor {
                    min_samples: *min_samples,
                    points: as_rows(&pm, 3).into_iter().map(|r| [r[0], r[1], r[2]]).collect(),
                    clusters: as_rows(&tm, 4),
                };
                predictor.check(m.n(), n_clusters).map_err(damaged)?;
                let rule = HdbscanRule::new(Arc::new(predictor), &m, *noise);
                let labels = fitted_labels(&rule.predictor);
                hdbscan = Some(rule);
                (m, labels)
            }
        };
        let umap = match &file.projection {
            Some(ProjectionSpec::Umap { placement, fitted, layout }) => {
                let f = read("UMAP's fitted rows", fitted)?;
                let l = read_as("UMAP's layout", layout, 2, true)?;
                if l.n() != f.n() {
                    return Err(damaged(format!("UMAP's layout has {} rows for {} fitted rows", l.n(), f.n())));
                }
                if placement.n_neighbors == 0
                    || placement.n_epochs == 0
                    || !(placement.a > 0.0 && placement.b > 0.0 && placement.a.is_finite() && placement.b.is_finite())
                {
                    return Err(damaged(format!("UMAP's placement is out of range: {placement:?}")));
                }
                let layout = (0..l.n()).map(|i| [l.row(i)[0], l.row(i)[1]]).collect();
                Some(UmapRule { fitted: Arc::new(f), layout, placement: placement.clone() })
            }
            _ => None,
        };
        if let Some(ProjectionSpec::Pca(axes)) = &file.projection
            && (axes.mean.len() != d || axes.components.iter().any(|c| c.len() != d))
        {
            return Err(damaged(format!("the PCA axes are not {d}-dimensional")));
        }
        if file.metric == Metric::Cosine && file.embedding.normalisation != "unit"
            || file.metric == Metric::Euclidean && file.embedding.normalisation != "none"
        {
            return Err(damaged(format!("normalisation '{}' does not go with the {} metric", file.embedding.normalisation, file.metric)));
        }
        Ok(Self { file, targets, target_labels, hdbscan, umap })
    }
}

impl HdbscanRule {
    /// The rule over the fitted rows `points`, with the clustered ones kept for `noise: nearest`.
    fn new(predictor: Arc<Predictor>, points: &Matrix, noise: NoisePolicy) -> Self {
        let clustered = (noise == NoisePolicy::Nearest)
            .then(|| {
                let labels = fitted_labels(&predictor);
                let rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] >= 0).collect();
                let ids = rows.iter().map(|&i| labels[i]).collect();
                (points.select_rows(&rows), ids)
            })
            .filter(|(m, _)| m.n() > 0);
        Self { predictor, clustered }
    }
}

/// HDBSCAN's own label of every fitted row (−1: noise), read from the tree.
fn fitted_labels(p: &Predictor) -> Vec<i32> {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "condensed-tree fields hold whole non-negative indices and cluster ids in f64"
    )]
    p.points.iter().map(|r| p.clusters[r[2] as usize][2] as i32).collect()
}

/// The error of an assignment stopped (models assign under a control nobody cancels).
fn cancelled() -> ModelError {
    ModelError::Unsupported("the assignment was cancelled".into())
}

/// Whether `path` can take a model: a `.json` name in a folder that exists. Checked before any
/// work is done.
pub fn check_path(path: &Path) -> Result<(), ModelError> {
    if path.extension().and_then(|e| e.to_str()) != Some("json") {
        return Err(ModelError::Unsupported(format!("a model is a .json file (for example model.embedmap.json), not {}", path.display())));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(ModelError::Unsupported(format!("no such folder {} for the model {}", dir.display(), path.display())));
    }
    Ok(())
}

/// An array slot filled when the model is saved.
fn placeholder() -> Array {
    Array::Inline { rows: 0, cols: 0, values: Vec::new() }
}

/// The mean of each cluster's rows (unit length under `spherical`), and the cluster of each mean;
/// noise (−1) and empty clusters have none.
fn cluster_means(points: &Matrix, labels: &[i32], spherical: bool) -> (Matrix, Vec<i32>) {
    let d = points.d();
    let c = labels.iter().copied().max().map_or(0, |m| usize::try_from(m + 1).unwrap_or(0));
    let mut sums = vec![0.0f64; c * d];
    let mut counts = vec![0usize; c];
    for (i, &l) in labels.iter().enumerate() {
        if let Ok(l) = usize::try_from(l) {
            counts[l] += 1;
            for (s, &x) in sums[l * d..(l + 1) * d].iter_mut().zip(points.row(i)) {
                *s += f64::from(x);
            }
        }
    }
    let mut values = Vec::new();
    let mut ids = Vec::new();
    for l in (0..c).filter(|&l| counts[l] > 0) {
        let s = &sums[l * d..(l + 1) * d];
        let mut scale = 1.0 / counts[l] as f64;
        if spherical {
            let norm = s.iter().map(|v| v * v).sum::<f64>().sqrt();
            scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        }
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
        )]
        values.extend(s.iter().map(|&v| (v * scale) as f32));
        ids.push(i32::try_from(l).unwrap_or(i32::MAX));
    }
    let k = ids.len();
    (Matrix::new(values, k, d).unwrap_or_else(|| Matrix::new(Vec::new(), 0, d).expect("empty")), ids)
}

/// Writes `m` as a little-endian f32 `.npy` file, atomically.
fn write_npy(path: &Path, m: &Matrix) -> Result<(), ModelError> {
    let header = crate::data::npy::header("<f4", false, &[m.n(), m.d()])
        .ok_or_else(|| ModelError::Unsupported("array too large for .npy".into()))?;
    crate::data::write_atomically(path, |f| {
        use std::io::Write as _;
        let mut w = std::io::BufWriter::new(f);
        w.write_all(&header).map_err(|e| e.to_string())?;
        for v in m.as_slice() {
            w.write_all(&v.to_le_bytes()).map_err(|e| e.to_string())?;
        }
        w.flush().map_err(|e| e.to_string())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests;
