//! Headless commands: `info` and `cluster`. Progress and errors go to stderr; results to
//! stdout or the files named.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::data::{self, Dataset, ExportColumns, LoadOptions};
use crate::engine::kmeans::KMeansParams;
use crate::engine::pca::pca_2d;
use crate::engine::silhouette::SilhouetteMode;
use crate::engine::{Control, Metric};
use crate::session::{ClusterRequest, RunError, elapsed_ms, run_cluster};

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
}

/// Headless subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe a file: rows, dimension, embedding columns, metadata columns, warnings.
    Info(InfoArgs),
    /// Cluster a file and write the labelled data.
    Cluster(ClusterArgs),
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
    #[command(flatten)]
    load: LoadArgs,
}

/// Clustering algorithms available on the command line.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Algo {
    /// K-means (spherical under cosine).
    Kmeans,
}

/// `embedmap cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The file.
    pub file: PathBuf,
    /// Algorithm.
    #[arg(long, value_enum, default_value = "kmeans")]
    pub algo: Algo,
    /// Number of clusters.
    #[arg(long)]
    pub k: usize,
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
    /// Euclidean silhouette: exact, sampled, or exact while affordable.
    #[arg(long, value_enum, default_value = "auto")]
    pub silhouette: SilhouetteArg,
    /// Output file: .csv, .tsv or .parquet.
    #[arg(long)]
    pub out: PathBuf,
    /// Write a JSON report of parameters, quality figures and timings here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    load: LoadArgs,
}

/// `--silhouette`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SilhouetteArg {
    /// Exact while it takes about a second, sampled above.
    Auto,
    /// Always exact.
    Exact,
    /// Always sampled.
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
        Command::Cluster(a) => cluster(&a),
    }
}

fn stderr_progress() -> Control {
    let last = std::sync::Mutex::new((String::new(), Instant::now()));
    Control::new(
        Arc::default(),
        Some(Arc::new(move |stage: &str, fraction: f32| {
            let mut l = last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if l.0 != stage || l.1.elapsed().as_secs_f32() > 1.0 {
                eprintln!("  {stage}: {:.0}%", fraction * 100.0);
                *l = (stage.to_string(), Instant::now());
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

fn cluster(a: &ClusterArgs) -> anyhow::Result<()> {
    if a.out.exists() && a.out.canonicalize().ok() == a.file.canonicalize().ok() {
        bail!("refusing to overwrite the input file; choose another --out: {}", a.out.display());
    }
    let (ds, load_ms) = load(&a.file, &a.load)?;
    let ctl = stderr_progress();
    let request = ClusterRequest {
        kmeans: KMeansParams { k: a.k, metric: a.metric, n_init: a.n_init, max_iter: a.max_iter, tol: a.tol, seed: a.seed },
        silhouette: a.silhouette.into(),
    };
    eprintln!("clustering {} rows × {} dims: k-means, k={}, {}", ds.n(), ds.dim(), a.k, a.metric);
    let outcome = match run_cluster(&ds.embeddings, &request, &ctl) {
        Ok(o) => o,
        Err(RunError::Params(m)) => bail!("{m}"),
        Err(RunError::Cancelled) => bail!("cancelled"),
    };
    let t = Instant::now();
    let pca = pca_2d(ds.embeddings.raw(), &ctl).map_err(|_| anyhow::anyhow!("cancelled"))?;
    let project_ms = elapsed_ms(t);
    let sil_values = match &outcome.silhouette {
        Ok(s) => s.values.clone(),
        Err(_) => vec![f32::NAN; ds.n()],
    };
    let t = Instant::now();
    let summary =
        data::export_labelled(&ds, ExportColumns { labels: &outcome.labels, silhouette: &sil_values, xy: &pca.projection }, &a.out)?;
    let export_ms = elapsed_ms(t);
    match &outcome.silhouette {
        Ok(s) if s.exact => eprintln!("silhouette ({}): {:.4} (exact)", s.metric, s.mean),
        Ok(s) => {
            let (lo, hi) = s.ci95.unwrap_or((s.mean, s.mean));
            eprintln!("silhouette ({}): {:.4} (sampled, {} points, 95% CI {lo:.4}–{hi:.4})", s.metric, s.mean, s.n_scored);
        }
        Err(e) => eprintln!("silhouette: not defined ({e})"),
    }
    eprintln!("wrote {} rows to {} (added columns: {})", summary.rows, summary.path.display(), summary.added_columns.join(", "));
    if let Some(report_path) = &a.report {
        let sil = match &outcome.silhouette {
            Ok(s) => serde_json::json!({
                "mean": s.mean,
                "exact": s.exact,
                "ci95": s.ci95.map(|(l, h)| [l, h]),
                "n_scored": s.n_scored,
                "n_noise": s.n_noise,
                "metric": s.metric,
            }),
            Err(e) => serde_json::json!({ "mean": null, "error": e }),
        };
        let report = serde_json::json!({
            "embedmap_version": env!("CARGO_PKG_VERSION"),
            "input": a.file.display().to_string(),
            "output": a.out.display().to_string(),
            "n": ds.n(),
            "dim": ds.dim(),
            "embedding": ds.source,
            "dropped_rows": ds.dropped_rows,
            "algorithm": "kmeans",
            "metric": a.metric,
            "params": request,
            "n_clusters": outcome.sizes.iter().filter(|&&s| s > 0).count(),
            "cluster_sizes": outcome.sizes,
            "inertia": outcome.inertia,
            "n_iter": outcome.n_iter,
            "converged": outcome.converged,
            "silhouette": sil,
            "pca_explained_variance_ratio": pca.explained_variance_ratio,
            "warnings": ds.warnings,
            "timings_ms": {
                "load": load_ms,
                "cluster": outcome.cluster_ms,
                "silhouette": outcome.silhouette_ms,
                "project": project_ms,
                "export": export_ms,
            },
        });
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(report_path, text).with_context(|| format!("cannot write the report: {}", report_path.display()))?;
        eprintln!("wrote the report to {}", report_path.display());
    }
    Ok(())
}
