//! The command line's arguments (clap): one struct per subcommand, shared groups of options.

use super::*;

/// embedmap: explore clusters in embeddings.
#[derive(Debug, Parser)]
#[command(name = "embedmap", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// A subcommand; without one the window opens.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// File to open in the window (the bundled demo when omitted).
    pub file: Option<PathBuf>,
    /// Loading options for the file opened in the window.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Time the map: once the file is clustered, measure N frames each of a still view, of
    /// panning and of full redraws, and 1,000 hover look-ups; print the medians and close.
    #[arg(long, value_name = "N")]
    pub benchmark_frames: Option<usize>,
    /// Time the slider: open FILE with default settings, wait for the first clustering, move one
    /// setting four steps up, eight down and four up (k of K-means, eps of DBSCAN or
    /// min_cluster_size of HDBSCAN), print one JSON line of latencies and close.
    #[arg(
        long,
        value_enum,
        value_name = "PARAM",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "k",
        conflicts_with = "benchmark_frames"
    )]
    pub benchmark_tuning: Option<TuneParam>,
}

/// The setting `--benchmark-tuning` moves.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TuneParam {
    /// K-means' k.
    K,
    /// DBSCAN's eps (5% steps from the suggested value).
    Eps,
    /// HDBSCAN's min_cluster_size.
    MinClusterSize,
}

/// Headless subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe a file (rows, dimension, embedding columns, metadata columns, warnings) or a
    /// saved model (`M.embedmap.json`: rule, expected input, clusters, agreement).
    Info(InfoArgs),
    /// Cluster a file and write the labelled data (and, with --model, the model).
    Cluster(ClusterArgs),
    /// Cluster a file and save the model that labels new rows the same way (the options of
    /// `cluster`; --model is needed, --out optional).
    Fit(ClusterArgs),
    /// Label files with a saved model, batch by batch, in bounded memory.
    Assign(assign::AssignArgs),
    /// K-means for a range of k with silhouette, Davies-Bouldin, Calinski-Harabasz and inertia.
    Sweep(SweepArgs),
    /// Project a file to 2-D (PCA, UMAP or t-SNE) and write only the layout, with its trust figures.
    Project(ProjectArgs),
}

/// `--projection`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ProjectionArg {
    /// The two leading principal axes.
    Pca,
    /// UMAP in the clustering's metric.
    Umap,
    /// t-SNE in the clustering's metric.
    Tsne,
}

/// Options of the 2-D map.
#[derive(Debug, Args, Clone)]
pub struct ProjectionArgs {
    /// Projection for x, y [default: pca, or with --session the session's].
    #[arg(long, value_enum)]
    pub projection: Option<ProjectionArg>,
    /// UMAP: neighbourhood size, counting the row itself.
    #[arg(long, default_value_t = UmapParams::default().n_neighbors)]
    pub n_neighbors: usize,
    /// UMAP: smallest distance between points on the map.
    #[arg(long, default_value_t = UmapParams::default().min_dist)]
    pub min_dist: f32,
    /// UMAP: scale of the map.
    #[arg(long, default_value_t = UmapParams::default().spread)]
    pub spread: f32,
    /// UMAP: optimisation epochs [default: 500 up to 10,000 rows, 200 above].
    #[arg(long)]
    pub n_epochs: Option<usize>,
    /// UMAP: above this many rows, fit on a seeded sample of this size and place the other rows
    /// by their nearest fitted rows [default: 100000].
    #[arg(long)]
    pub fit_rows: Option<usize>,
    /// t-SNE: effective number of neighbours of each row's affinities.
    #[arg(long, default_value_t = TsneParams::default().perplexity)]
    pub perplexity: f32,
    /// t-SNE: iterations after the early exaggeration.
    #[arg(long, default_value_t = TsneParams::default().n_iter)]
    pub n_iter: usize,
    /// t-SNE: iterations of early exaggeration.
    #[arg(long, default_value_t = TsneParams::default().early_exaggeration_iter)]
    pub early_exaggeration_iter: usize,
    /// t-SNE: factor on the attraction during the early exaggeration.
    #[arg(long, default_value_t = TsneParams::default().early_exaggeration)]
    pub early_exaggeration: f32,
    /// t-SNE: factor on the attraction afterwards (above 1 tightens clusters).
    #[arg(long, default_value_t = TsneParams::default().exaggeration)]
    pub exaggeration: f32,
    /// t-SNE: step size [default: rows / exaggeration].
    #[arg(long)]
    pub learning_rate: Option<f32>,
    /// Skip the trust figures (trustworthiness, kNN recall) of the map.
    #[arg(long)]
    pub no_trust: bool,
}

impl ProjectionArgs {
    pub(super) fn params(&self, metric: Metric, seed: u64) -> ProjectionParams {
        match self.projection.unwrap_or(ProjectionArg::Pca) {
            ProjectionArg::Pca => ProjectionParams::Pca,
            ProjectionArg::Umap => ProjectionParams::Umap {
                metric,
                params: UmapParams {
                    n_neighbors: self.n_neighbors,
                    min_dist: self.min_dist,
                    spread: self.spread,
                    n_epochs: self.n_epochs,
                    seed,
                    fit_rows: self.fit_rows,
                },
            },
            ProjectionArg::Tsne => ProjectionParams::Tsne {
                metric,
                params: TsneParams {
                    perplexity: self.perplexity,
                    n_iter: self.n_iter,
                    early_exaggeration_iter: self.early_exaggeration_iter,
                    early_exaggeration: self.early_exaggeration,
                    exaggeration: self.exaggeration,
                    learning_rate: self.learning_rate,
                    seed,
                },
            },
        }
    }
}

/// `embedmap project`.
#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// The file.
    pub file: PathBuf,
    /// Distance metric of UMAP's neighbour graph and of the trust figures.
    #[arg(long, default_value = "euclidean")]
    pub metric: Metric,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub projection: ProjectionArgs,
    /// Output file: .csv, .tsv or .parquet (columns row, id when the input has one, x, y).
    #[arg(long)]
    pub out: PathBuf,
    /// Write a JSON report of the projection, its parameters, timings and trust figures here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub(super) load: LoadArgs,
}

/// Options shared by every command that loads a file.
#[derive(Debug, Args, Clone, Default)]
pub struct LoadArgs {
    /// Embedding columns: names, globs (`emb_*`) or a range (`emb_0..emb_383`), comma-separated.
    #[arg(long, value_name = "SPEC")]
    pub embedding_columns: Option<String>,
    /// Drop rows with NaN or infinite values instead of stopping.
    #[arg(long)]
    pub drop_nonfinite: bool,
}

impl LoadArgs {
    /// As loader options.
    #[must_use]
    pub fn options(&self) -> LoadOptions {
        LoadOptions { embedding_columns: self.embedding_columns.clone(), drop_nonfinite: self.drop_nonfinite }
    }
}

/// `embedmap info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The file.
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Parquet: read every row and check every value (otherwise the metadata and the first row
    /// answer at once).
    #[arg(long)]
    pub full: bool,
    #[command(flatten)]
    pub(super) load: LoadArgs,
}

/// `embedmap cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The file (not needed with --session, which names its file).
    #[arg(required_unless_present = "session")]
    pub file: Option<PathBuf>,
    /// Reproduce a session saved in the window: its file, embedding columns, algorithm and
    /// parameters (the clustering options below are then ignored).
    #[arg(long, value_name = "SESSION.json", conflicts_with = "file")]
    pub session: Option<PathBuf>,
    /// Algorithm [default: kmeans, or minibatch-kmeans above 500,000 rows].
    #[arg(long, value_enum)]
    pub algo: Option<AlgorithmKind>,
    /// Number of clusters (K-means, mini-batch K-means, hierarchical).
    #[arg(long)]
    pub k: Option<usize>,
    /// Distance metric.
    #[arg(long, default_value = "euclidean")]
    pub metric: Metric,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// K-means restarts (the lowest inertia is kept).
    #[arg(long, default_value_t = KMeansParams::default().n_init)]
    pub n_init: usize,
    /// Lloyd iterations per restart at most.
    #[arg(long, default_value_t = KMeansParams::default().max_iter)]
    pub max_iter: usize,
    /// Convergence tolerance, relative to the mean feature variance.
    #[arg(long, default_value_t = KMeansParams::default().tol)]
    pub tol: f64,
    /// Rows per batch (mini-batch K-means).
    #[arg(long, default_value_t = MiniBatchParams::default().batch_size)]
    pub batch_size: usize,
    /// Neighbourhood radius (DBSCAN), in the metric's distance.
    #[arg(long)]
    pub eps: Option<f32>,
    /// Points within eps, the point included, that make a core point (DBSCAN, default 5);
    /// neighbours defining the core distance (HDBSCAN, default --min-cluster-size).
    #[arg(long)]
    pub min_samples: Option<usize>,
    /// Cluster distance (hierarchical).
    #[arg(long, default_value = "ward")]
    pub linkage: Linkage,
    /// Smallest cluster (HDBSCAN).
    #[arg(long, default_value_t = HdbscanParams::default().min_cluster_size)]
    pub min_cluster_size: usize,
    /// Clusters splitting below this distance are kept whole (HDBSCAN).
    #[arg(long, default_value_t = 0.0)]
    pub cluster_selection_epsilon: f64,
    /// Cluster selection (HDBSCAN): eom (excess of mass) or leaf.
    #[arg(long, default_value = "eom")]
    pub cluster_selection: Selection,
    /// Noise points: keep them as -1, or give each the cluster of its nearest clustered point
    /// (the export then has an is_noise column).
    #[arg(long, default_value = "keep")]
    pub noise: NoisePolicy,
    /// Silhouette: exact, sampled, or exact while affordable (cosine: exact unless `sample`).
    #[arg(long, value_enum, default_value = "auto")]
    pub silhouette: SilhouetteArg,
    /// Cluster on a UMAP of the rows in N dimensions (`umap:10`; n_neighbors 15, min_dist 0,
    /// seeded by --seed) instead of the full embedding. Distances there are euclidean; the
    /// silhouette and the other indices are still measured in the full space in --metric.
    #[arg(long, value_name = "umap:N")]
    pub reduce: Option<crate::session::Reduce>,
    /// A metadata column of reference labels: adds ARI, NMI and V-measure to the report.
    #[arg(long, value_name = "COL")]
    pub label_column: Option<String>,
    /// Output file: .csv, .tsv or .parquet (needed by `cluster`; `fit` writes one when given).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Save the clustering as a model here (`M.embedmap.json`), to label other files with
    /// `embedmap assign` (needed by `fit`).
    #[arg(long, value_name = "M.embedmap.json")]
    pub model: Option<PathBuf>,
    /// Write a JSON report of parameters, quality figures and timings here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub projection: ProjectionArgs,
    #[command(flatten)]
    pub(super) load: LoadArgs,
}

impl ClusterArgs {
    /// The request these arguments describe for `n` rows.
    pub(super) fn request(&self, n: usize) -> anyhow::Result<ClusterRequest> {
        let algo = self.algo.unwrap_or(if n > minibatch::DEFAULT_ABOVE { AlgorithmKind::MinibatchKmeans } else { AlgorithmKind::Kmeans });
        let need_k = |name: &str| self.k.with_context(|| format!("--algo {name} needs --k (the number of clusters)"));
        let metric = self.metric;
        let algorithm = match algo {
            AlgorithmKind::Kmeans => Algorithm::Kmeans(KMeansParams {
                k: need_k("kmeans")?,
                metric,
                n_init: self.n_init,
                max_iter: self.max_iter,
                tol: self.tol,
                seed: self.seed,
            }),
            AlgorithmKind::MinibatchKmeans => Algorithm::MinibatchKmeans(MiniBatchParams {
                k: need_k("minibatch-kmeans")?,
                metric,
                batch_size: self.batch_size,
                n_init: self.n_init,
                seed: self.seed,
                ..MiniBatchParams::default()
            }),
            AlgorithmKind::Dbscan => Algorithm::Dbscan(DbscanParams {
                eps: self.eps.context("--algo dbscan needs --eps (the neighbourhood radius; `embedmap sweep` does not help here, look at the k-distance curve)")?,
                min_samples: self.min_samples.unwrap_or(5),
                metric,
            }),
            AlgorithmKind::Hierarchical => Algorithm::Hierarchical(HierarchicalParams { k: need_k("hierarchical")?, linkage: self.linkage, metric }),
            AlgorithmKind::Hdbscan => Algorithm::Hdbscan(HdbscanParams {
                min_cluster_size: self.min_cluster_size,
                min_samples: self.min_samples,
                cluster_selection_epsilon: self.cluster_selection_epsilon,
                selection: self.cluster_selection,
                metric,
            }),
        };
        let reduce = self.reduce.clone().map(|mut r| {
            r.umap.seed = self.seed;
            r
        });
        Ok(ClusterRequest {
            algorithm,
            reduce,
            silhouette: self.silhouette.into(),
            noise: self.noise,
            manual: Vec::new(),
            interactive: false,
        })
    }
}

/// `embedmap sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The file.
    pub file: PathBuf,
    /// Range of k, inclusive: `2..30`, or a list `4,8,16`.
    #[arg(long, default_value = "2..20")]
    pub k: String,
    /// Distance metric.
    #[arg(long, default_value = "euclidean")]
    pub metric: Metric,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// K-means restarts per k.
    #[arg(long, default_value_t = KMeansParams::default().n_init)]
    pub n_init: usize,
    /// Silhouette: exact, sampled, or exact while affordable (cosine: exact unless `sample`).
    #[arg(long, value_enum, default_value = "auto")]
    pub silhouette: SilhouetteArg,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub(super) load: LoadArgs,
}

/// Parses `2..30` (inclusive) or `4,8,16`.
pub(super) fn parse_ks(spec: &str) -> anyhow::Result<Vec<usize>> {
    let bad = || anyhow::anyhow!("--k takes a range like 2..30 or a list like 4,8,16 (got '{spec}')");
    let ks: Vec<usize> = if let Some((a, b)) = spec.split_once("..") {
        let a: usize = a.trim().parse().map_err(|_| bad())?;
        let b: usize = b.trim_start_matches('=').trim().parse().map_err(|_| bad())?;
        if a > b {
            return Err(bad());
        }
        (a..=b).collect()
    } else {
        spec.split(',').map(|t| t.trim().parse().map_err(|_| bad())).collect::<anyhow::Result<_>>()?
    };
    if ks.is_empty() || ks.contains(&0) {
        return Err(bad());
    }
    Ok(ks)
}

/// `--silhouette`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SilhouetteArg {
    /// Euclidean: exact while it takes about a second, sampled above; cosine: exact (O(n·k·d)).
    Auto,
    /// Always exact.
    Exact,
    /// Always sampled (2,000 rows under cosine, against exact cluster sums).
    Sample,
}

impl From<SilhouetteArg> for SilhouetteMode {
    fn from(a: SilhouetteArg) -> Self {
        match a {
            SilhouetteArg::Auto => Self::Auto,
            SilhouetteArg::Exact => Self::Exact,
            SilhouetteArg::Sample => Self::Sample,
        }
    }
}
