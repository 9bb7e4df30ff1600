//! Headless commands: `info` and `cluster`. Progress and errors go to stderr; results to
//! stdout or the files named.

mod args;
pub mod assign;
mod info;

pub use args::*;
use info::info;

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
