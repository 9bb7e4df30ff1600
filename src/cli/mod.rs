//! Headless commands: `info` and `cluster`. Progress and errors go to stderr; results to
//! stdout or the files named.

pub mod assign;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::data::{self, Dataset, LoadOptions};
use crate::engine::dbscan::DbscanParams;
use crate::engine::hdbscan::{HdbscanParams, Selection};
use crate::engine::hierarchical::{HierarchicalParams, Linkage};
use crate::engine::kmeans::KMeansParams;
use crate::engine::kmeans::minibatch::{self, MiniBatchParams};
use crate::engine::noise::NoisePolicy;
use crate::engine::project::trust::{Trust, trust};
use crate::engine::project::tsne::TsneParams;
use crate::engine::project::umap::UmapParams;
use crate::engine::project::{ProjectError, Projected, ProjectionParams, project};
use crate::engine::silhouette::SilhouetteMode;
use crate::engine::{Control, Metric};
use crate::session::{
    Algorithm, AlgorithmKind, ClusterRequest, RunError, SessionFile, elapsed_ms, external_indices, run_cluster, run_sweep,
};

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
    fn params(&self, metric: Metric, seed: u64) -> ProjectionParams {
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
    load: LoadArgs,
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
    load: LoadArgs,
}

/// `embedmap info M.embedmap.json`: what a saved model holds and what it expects.
fn info_model(a: &InfoArgs) -> anyhow::Result<()> {
    let m = crate::model::Model::load(&a.file)?;
    let f = &m.file;
    if a.json {
        let mut v = serde_json::to_value(f)?;
        if let Some(o) = v.as_object_mut() {
            // The arrays are data, not a description.
            o.remove("assignment");
            o.insert("rule".into(), serde_json::json!(model_rule(&m)));
            o.remove("projection");
            o.insert("map".into(), serde_json::json!(model_map(&m)));
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let share = 100.0 * f.agreement.same as f64 / f.agreement.rows.max(1) as f64;
    println!("model:      {} (format version {}, embedmap {})", a.file.display(), f.version, f.embedmap_version);
    println!("clustering: {}", describe(&f.request));
    println!("rule:       {}", model_rule(&m));
    println!(
        "expects:    {}-d vectors from {}, {} (normalisation: {})",
        f.embedding.dim,
        f.embedding.source.describe(),
        f.metric,
        f.embedding.normalisation
    );
    println!(
        "fitted on:  {} ({} rows, {})",
        f.fitted_on.file.as_deref().unwrap_or("the bundled demo"),
        f.fitted_on.rows,
        f.fitted_on.checksum
    );
    println!("agreement:  {} of {} fitting rows labelled as the clustering did ({share:.2}%)", f.agreement.same, f.agreement.rows);
    println!("map:        {}", model_map(&m));
    let names: Vec<String> = f
        .clusters
        .iter()
        .map(|c| match &c.name {
            Some(n) => format!("{} '{n}' ({})", c.id, c.size),
            None => format!("{} ({})", c.id, c.size),
        })
        .collect();
    println!("clusters:   {}", names.join(", "));
    for n in &f.notes {
        println!("note:       {n}");
    }
    Ok(())
}

/// `embedmap info` of a Parquet file from its metadata and first row.
fn info_parquet(a: &InfoArgs) -> anyhow::Result<()> {
    let p = data::peek_parquet(&a.file, &a.load.options())?;
    let unchecked =
        "not read: rows after the first (missing or NaN values, vectors of other lengths, zero vectors); --full reads every row";
    let types: std::collections::HashMap<&str, &str> = p.columns.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    if a.json {
        let v = serde_json::json!({
            "file": a.file.display().to_string(),
            "format": data::Format::Parquet,
            "rows": p.rows,
            "dim": p.dim,
            "embedding": p.source,
            "embedding_columns": p.source.columns(),
            "metadata_columns": p.metadata.iter().map(|c| serde_json::json!({"name": c, "type": types.get(c.as_str())})).collect::<Vec<_>>(),
            "checked": "metadata and first row",
            "unchecked": unchecked,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("file:       {}", a.file.display());
        println!("format:     Parquet");
        println!("rows:       {}", p.rows);
        println!("dimension:  {}", p.dim);
        println!("embedding:  {}", p.source.describe());
        let meta: Vec<String> = p.metadata.iter().map(|c| format!("{c} ({})", types.get(c.as_str()).unwrap_or(&"?"))).collect();
        println!("metadata:   {}", if meta.is_empty() { "(none)".to_string() } else { meta.join(", ") });
        println!("checked:    the file's metadata and first row");
        println!("{unchecked}");
    }
    Ok(())
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
    load: LoadArgs,
}

impl ClusterArgs {
    /// The request these arguments describe for `n` rows.
    fn request(&self, n: usize) -> anyhow::Result<ClusterRequest> {
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
    load: LoadArgs,
}

/// Parses `2..30` (inclusive) or `4,8,16`.
fn parse_ks(spec: &str) -> anyhow::Result<Vec<usize>> {
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

/// Runs a subcommand.
pub fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Info(a) => info(&a),
        Command::Cluster(a) => {
            if a.out.is_none() {
                bail!(
                    "embedmap cluster needs --out FILE (.csv, .tsv or .parquet); to save only a model, use embedmap fit --model M.embedmap.json"
                );
            }
            cluster(&a)
        }
        Command::Fit(a) => {
            if a.model.is_none() {
                bail!("embedmap fit needs --model M.embedmap.json, the file to save the model to");
            }
            cluster(&a)
        }
        Command::Assign(a) => assign::assign(&a),
        Command::Sweep(a) => sweep(&a),
        Command::Project(a) => project_cmd(&a),
    }
}

fn stderr_progress() -> Control {
    let last = std::sync::Mutex::new((String::new(), Instant::now()));
    Control::new(
        Arc::default(),
        Some(Arc::new(move |stage: &str, fraction: f32| {
            let mut l = last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // A new line per stage, not per step within it ("… · iteration 7"), at most once a second.
            let base = stage.split(" · ").next().unwrap_or(stage);
            if l.0 != base || l.1.elapsed().as_secs_f32() > 1.0 {
                eprintln!("  {stage}: {:.0}%", fraction * 100.0);
                *l = (base.to_string(), Instant::now());
            }
        })),
    )
}

fn load(path: &Path, args: &LoadArgs) -> anyhow::Result<(Dataset, f64)> {
    eprintln!("loading {}", path.display());
    let t = Instant::now();
    let ds = data::load(path, &args.options(), &|_, _| {})?;
    let ms = elapsed_ms(t);
    for w in &ds.warnings {
        eprintln!("warning: {w}");
    }
    Ok((ds, ms))
}

fn info(a: &InfoArgs) -> anyhow::Result<()> {
    if a.file.to_string_lossy().ends_with(".embedmap.json") {
        return info_model(a);
    }
    if data::Format::from_path(&a.file).ok() == Some(data::Format::Parquet) && !a.full {
        return info_parquet(a);
    }
    let (ds, _) = load(&a.file, &a.load)?;
    let meta = ds.metadata_columns();
    if a.json {
        let v = serde_json::json!({
            "file": ds.display_path(),
            "format": ds.format,
            "rows": ds.n(),
            "dim": ds.dim(),
            "embedding": ds.source,
            "embedding_columns": ds.source.columns(),
            "metadata_columns": meta.iter().map(|c| serde_json::json!({"name": c, "type": ds.column_type(c)})).collect::<Vec<_>>(),
            "zero_vectors": ds.embeddings.zero_rows().len(),
            "dropped_rows": ds.dropped_rows,
            "warnings": ds.warnings,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("file:       {}", ds.display_path());
        println!("format:     {}", ds.format.name());
        println!("rows:       {}", ds.n());
        println!("dimension:  {}", ds.dim());
        println!("embedding:  {}", ds.source.describe());
        println!(
            "metadata:   {}",
            if meta.is_empty() {
                "(none)".into()
            } else {
                meta.iter().map(|c| format!("{c} ({})", ds.column_type(c))).collect::<Vec<_>>().join(", ")
            }
        );
        for w in &ds.warnings {
            println!("warning:    {w}");
        }
    }
    Ok(())
}

fn describe(req: &ClusterRequest) -> String {
    match &req.algorithm {
        Algorithm::Kmeans(p) => format!("k-means, k={}, {}", p.k, p.metric),
        Algorithm::MinibatchKmeans(p) => format!("mini-batch k-means, k={}, batch {}, {}", p.k, p.batch_size, p.metric),
        Algorithm::Dbscan(p) => format!("dbscan, eps={}, min_samples={}, {}", p.eps, p.min_samples, p.metric),
        Algorithm::Hierarchical(p) => format!("hierarchical, {} linkage, k={}, {}", p.linkage, p.k, p.metric),
        Algorithm::Hdbscan(p) => format!(
            "hdbscan, min_cluster_size={}, min_samples={}, {} selection, {}",
            p.min_cluster_size,
            p.min_samples(),
            match p.selection {
                Selection::Eom => "eom",
                Selection::Leaf => "leaf",
            },
            p.metric
        ),
    }
}

fn opt_json<T: serde::Serialize>(r: &Result<T, String>) -> serde_json::Value {
    match r {
        Ok(v) => serde_json::json!(v),
        Err(e) => serde_json::json!({ "undefined": e }),
    }
}

fn cluster(a: &ClusterArgs) -> anyhow::Result<()> {
    if let Some(out) = &a.out {
        data::check_export_path(out)?;
    }
    if let Some(m) = &a.model {
        crate::model::check_path(m).map_err(|e| anyhow::anyhow!("--model: {e}"))?;
    }
    let session = a.session.as_deref().map(SessionFile::read).transpose().map_err(|e| anyhow::anyhow!(e))?;
    let input = match &session {
        Some(s) => s.file.clone(),
        None => a.file.clone(),
    };
    for (out, flag) in [(&a.out, "--out"), (&a.model, "--model")] {
        if let (Some(input), Some(out)) = (&input, out)
            && out.exists()
            && out.canonicalize().ok() == input.canonicalize().ok()
        {
            bail!("refusing to overwrite the input file; choose another {flag}: {}", out.display());
        }
    }
    let (ds, load_ms) = match &session {
        Some(s) => {
            let args = LoadArgs { embedding_columns: s.embedding_columns.clone(), drop_nonfinite: s.drop_nonfinite };
            match &s.file {
                Some(f) => load(f, &args)?,
                None => {
                    let t = Instant::now();
                    (data::load_demo()?, elapsed_ms(t))
                }
            }
        }
        None => load(input.as_deref().context("a FILE or --session is needed")?, &a.load)?,
    };
    let request = match &session {
        Some(s) => s.request.clone(),
        None => a.request(ds.n())?,
    };
    if let Some(col) = a.label_column.as_ref().filter(|c| !ds.metadata_columns().contains(c)) {
        bail!("--label-column: no metadata column '{col}'; the columns are: {}", ds.metadata_columns().join(", "));
    }
    let ctl = stderr_progress();
    eprintln!("clustering {} rows × {} dims: {}", ds.n(), ds.dim(), describe(&request));
    let outcome = match run_cluster(&ds.embeddings, &request, &ctl) {
        Ok(o) => o,
        Err(e @ (RunError::Params(_) | RunError::Graph(_))) => bail!("{e}"),
        Err(RunError::Cancelled) => bail!("cancelled"),
    };
    // A session's own projection, unless the command line names one.
    let proj_params = match (&session, a.projection.projection) {
        (Some(s), None) => s.projection.clone().unwrap_or(ProjectionParams::Pca),
        (Some(_), Some(_)) => a.projection.params(request.algorithm.metric(), request.algorithm.seed()),
        (None, _) => a.projection.params(request.algorithm.metric(), a.seed),
    };
    // The map's trust figures are for a reader: `fit` without --out or --report has none.
    let with_trust = !a.projection.no_trust && (a.out.is_some() || a.report.is_some());
    let (projected, trust_fig, trust_ms) = run_projection(&ds, &proj_params, request.algorithm.metric(), with_trust, &ctl)?;
    let project_ms = projected.ms;
    let sil_values = match &outcome.silhouette {
        Ok(s) => s.values.clone(),
        Err(_) => vec![f32::NAN; ds.n()],
    };
    let t = Instant::now();
    let summary = match &a.out {
        Some(out) => Some(data::export_labelled(&ds, outcome.export_columns(&sil_values, &projected.coords), out)?),
        None => None,
    };
    let export_ms = elapsed_ms(t);
    let model_summary = match &a.model {
        Some(path) => {
            let t = Instant::now();
            let file = ds.path.as_ref().map(|p| p.display().to_string());
            let model = crate::model::Model::from_clustering(&ds.embeddings, &ds.source, file, &outcome, Some(&projected), &[])?;
            model.save(path)?;
            let ag = model.file.agreement;
            let share = 100.0 * ag.same as f64 / ag.rows.max(1) as f64;
            eprintln!(
                "wrote the model to {} ({}; it labels {} of the {} rows as the clustering did, {share:.2}%) in {:.0} ms",
                path.display(),
                model_rule(&model),
                ag.same,
                ag.rows,
                elapsed_ms(t)
            );
            for note in &model.file.notes {
                eprintln!("model: {note}");
            }
            Some(model.file)
        }
        None => None,
    };
    let noise_share = outcome.n_noise as f64 / ds.n().max(1) as f64;
    eprintln!("{} clusters, {} noise points ({:.1}%)", outcome.n_clusters, outcome.n_noise, 100.0 * noise_share);
    let excl = if outcome.n_noise > 0 { ", noise excluded" } else { "" };
    match &outcome.silhouette {
        Ok(s) if s.exact => eprintln!("silhouette ({}{excl}): {:.4} (exact)", s.metric, s.mean),
        Ok(s) => {
            let (lo, hi) = s.ci95.unwrap_or((s.mean, s.mean));
            eprintln!("silhouette ({}{excl}): {:.4} (sampled, {} points, 95% CI {lo:.4}–{hi:.4})", s.metric, s.mean, s.n_scored);
        }
        Err(e) => eprintln!("silhouette: undefined ({e})"),
    }
    match (&outcome.davies_bouldin, &outcome.calinski_harabasz) {
        (Ok(db), Ok(ch)) => eprintln!("davies-bouldin: {db:.4}, calinski-harabasz: {ch:.1}"),
        (Err(e), _) | (_, Err(e)) => eprintln!("davies-bouldin, calinski-harabasz: undefined ({e})"),
    }
    let external = a.label_column.as_ref().map(|col| {
        let truth: Vec<String> = (0..ds.n()).map(|i| ds.cell_text(i, col)).collect();
        let e = external_indices(&truth, &outcome.labels);
        eprintln!("against '{col}': ARI {:.4}, NMI {:.4}, V-measure {:.4}", e.ari, e.nmi, e.v_measure);
        (col.clone(), truth, e)
    });
    for note in &outcome.notes {
        eprintln!("note: {note}");
    }
    if let Some(summary) = &summary {
        eprintln!("wrote {} rows to {} (added columns: {})", summary.rows, summary.path.display(), summary.added_columns.join(", "));
    }
    if let Some(report_path) = &a.report {
        let sil = match &outcome.silhouette {
            Ok(s) => serde_json::json!({
                "mean": s.mean,
                "exact": s.exact,
                "ci95": s.ci95.map(|(l, h)| [l, h]),
                "n_scored": s.n_scored,
                "n_noise": s.n_noise,
                "noise_excluded": true,
                "metric": s.metric,
            }),
            Err(e) => serde_json::json!({ "mean": null, "undefined": e }),
        };
        let external = external.map(|(col, truth, e)| {
            let (_, classes) = crate::engine::quality::encode(&truth);
            let (_, clusters) = crate::engine::quality::encode(&outcome.labels);
            serde_json::json!({
                "label_column": col,
                "ari": e.ari,
                "nmi": e.nmi,
                "homogeneity": e.homogeneity,
                "completeness": e.completeness,
                "v_measure": e.v_measure,
                "contingency": { "classes": classes, "clusters": clusters, "counts": e.contingency.counts.chunks(e.contingency.n_pred.max(1)).collect::<Vec<_>>() },
            })
        });
        let report = serde_json::json!({
            "embedmap_version": env!("CARGO_PKG_VERSION"),
            "input": ds.display_path(),
            "session": a.session.as_ref().map(|p| p.display().to_string()),
            "output": a.out.as_ref().map(|p| p.display().to_string()),
            "model": model_summary.as_ref().map(|m| serde_json::json!({
                "path": a.model.as_ref().map(|p| p.display().to_string()),
                "agreement": m.agreement,
                "projection": m.projection.is_some(),
                "notes": m.notes,
            })),
            "n": ds.n(),
            "dim": ds.dim(),
            "embedding": ds.source,
            "dropped_rows": ds.dropped_rows,
            "algorithm": request.algorithm.name(),
            "metric": request.algorithm.metric(),
            "params": request,
            "n_clusters": outcome.n_clusters,
            "n_noise": outcome.n_noise,
            "noise_share": noise_share,
            "cluster_sizes": outcome.sizes,
            "clusters": outcome.clusters,
            "inertia": outcome.inertia,
            "n_iter": outcome.n_iter,
            "converged": outcome.converged,
            "silhouette": sil,
            "davies_bouldin": opt_json(&outcome.davies_bouldin),
            "calinski_harabasz": opt_json(&outcome.calinski_harabasz),
            "external": external,
            "notes": outcome.notes,
            "projection": projection_json(&projected, trust_fig.as_ref()),
            "warnings": ds.warnings,
            "timings_ms": {
                "load": load_ms,
                "cluster": outcome.cluster_ms,
                "silhouette": outcome.silhouette_ms,
                "indices": outcome.indices_ms,
                "project": project_ms,
                "trust": trust_ms,
                "export": export_ms,
            },
        });
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(report_path, text).with_context(|| format!("cannot write the report: {}", report_path.display()))?;
        eprintln!("wrote the report to {}", report_path.display());
    }
    Ok(())
}

/// "nearest of 12 k-means centroids", for the line that reports a saved model.
fn model_rule(m: &crate::model::Model) -> String {
    match &m.file.assignment {
        crate::model::AssignmentSpec::NearestCentroid { from, .. } => format!("nearest of {} {from}", m.targets()),
        crate::model::AssignmentSpec::NearestCorePoint { eps, .. } => format!("nearest of {} core points within eps {eps}", m.targets()),
        crate::model::AssignmentSpec::HdbscanTree { min_samples, .. } => format!(
            "approximate prediction on the condensed tree of {} fitted rows (min_samples {min_samples}), with a membership strength",
            m.targets()
        ),
    }
}

/// "PCA axes (assign writes x, y)", for the line that reports a saved model's map.
fn model_map(m: &crate::model::Model) -> String {
    match &m.file.projection {
        Some(crate::model::ProjectionSpec::Pca(_)) => "PCA axes (assign writes x, y)".into(),
        Some(crate::model::ProjectionSpec::Umap { placement, fitted, .. }) => format!(
            "UMAP layout of {} fitted rows; assign places each row by its {} nearest in {} ({} epochs) and writes x, y",
            fitted.rows(),
            placement.n_neighbors,
            placement.metric,
            placement.n_epochs
        ),
        None => "none (assign writes no x, y)".into(),
    }
}

/// Runs a projection and (unless told not to) its trust figures, reporting both on stderr.
fn run_projection(
    ds: &Dataset,
    params: &ProjectionParams,
    metric: Metric,
    with_trust: bool,
    ctl: &Control,
) -> anyhow::Result<(Projected, Option<Trust>, f64)> {
    eprintln!("projecting with {}", params.name());
    let projected = match project(&ds.embeddings, params, ctl, None) {
        Ok(p) => p,
        Err(e @ (ProjectError::Invalid(_) | ProjectError::InvalidTsne(_))) => bail!("{}: {e}", params.name()),
        Err(ProjectError::Cancelled(_)) => bail!("cancelled"),
    };
    use crate::engine::project::ProjectionDetail;
    if let ProjectionDetail::Umap { knn_graph: Some(g), .. } | ProjectionDetail::Tsne { knn_graph: Some(g), .. } = &projected.detail {
        eprintln!(
            "approximate neighbour graph: {} lists, {} probed per list, recall@k {:.3} on {} sampled rows",
            g.lists, g.probes, g.recall, g.sample
        );
    }
    let t = Instant::now();
    let trust_fig = if with_trust {
        let fig = trust(&ds.embeddings, metric, &projected.coords, 15, 0, ctl).map_err(|_| anyhow::anyhow!("cancelled"))?;
        if let Some(f) = &fig {
            eprintln!("map ({}, {metric}): {} in {:.0} ms", params.name(), f.describe(), elapsed_ms(t));
        }
        fig
    } else {
        None
    };
    Ok((projected, trust_fig, if with_trust { elapsed_ms(t) } else { 0.0 }))
}

fn projection_json(p: &Projected, trust_fig: Option<&Trust>) -> serde_json::Value {
    serde_json::json!({
        "params": p.params,
        "detail": p.detail,
        "ms": p.ms,
        "trust": trust_fig,
    })
}

fn project_cmd(a: &ProjectArgs) -> anyhow::Result<()> {
    data::check_export_path(&a.out)?;
    let (ds, load_ms) = load(&a.file, &a.load)?;
    let ctl = stderr_progress();
    let params = a.projection.params(a.metric, a.seed);
    let (projected, trust_fig, trust_ms) = run_projection(&ds, &params, a.metric, !a.projection.no_trust, &ctl)?;
    let t = Instant::now();
    let summary = data::export_coords(&ds, &projected.coords, &a.out)?;
    let export_ms = elapsed_ms(t);
    eprintln!("wrote {} rows to {} ({})", summary.rows, summary.path.display(), summary.added_columns.join(", "));
    if let Some(report_path) = &a.report {
        let report = serde_json::json!({
            "embedmap_version": env!("CARGO_PKG_VERSION"),
            "input": ds.display_path(),
            "output": a.out.display().to_string(),
            "n": ds.n(),
            "dim": ds.dim(),
            "metric": a.metric,
            "projection": projection_json(&projected, trust_fig.as_ref()),
            "timings_ms": { "load": load_ms, "project": projected.ms, "trust": trust_ms, "export": export_ms },
        });
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(report_path, text).with_context(|| format!("cannot write the report: {}", report_path.display()))?;
        eprintln!("wrote the report to {}", report_path.display());
    }
    Ok(())
}

fn sweep(a: &SweepArgs) -> anyhow::Result<()> {
    let ks = parse_ks(&a.k)?;
    let (ds, _) = load(&a.file, &a.load)?;
    if let Some(&k) = ks.iter().find(|&&k| k > ds.n()) {
        bail!("k={k} is more than the {} rows of the file", ds.n());
    }
    let base = KMeansParams { metric: a.metric, seed: a.seed, n_init: a.n_init, ..KMeansParams::default() };
    let ctl = stderr_progress();
    if !a.json {
        println!("{:>4}  {:>14}  {:>10}  {:>14}  {:>17}  {:>8}", "k", "inertia", "silhouette", "davies-bouldin", "calinski-harabasz", "ms");
    }
    let fmt = |v: Option<f64>, p: usize| v.map_or_else(|| "undefined".to_string(), |v| format!("{v:.p$}"));
    let rows = run_sweep(&ds.embeddings, &ks, &base, a.silhouette.into(), &ctl, |r| {
        if !a.json {
            println!(
                "{:>4}  {:>14.4}  {:>10}  {:>14}  {:>17}  {:>8.0}",
                r.k,
                r.inertia,
                format!("{}{}", fmt(r.silhouette, 4), if r.silhouette_exact || r.silhouette.is_none() { "" } else { "~" }),
                fmt(r.davies_bouldin, 4),
                fmt(r.calinski_harabasz, 1),
                r.ms
            );
        }
    });
    let rows = match rows {
        Ok(r) => r,
        Err(e @ (RunError::Params(_) | RunError::Graph(_))) => bail!("{e}"),
        Err(RunError::Cancelled) => bail!("cancelled"),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "metric": a.metric, "seed": a.seed, "rows": rows }))?);
    } else if rows.iter().any(|r| !r.silhouette_exact && r.silhouette.is_some()) {
        println!("~ sampled silhouette");
    }
    Ok(())
}
