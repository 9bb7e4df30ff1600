//! `embedmap assign`: labels files with a saved model, batch by batch, writing as it goes.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use polars::prelude::*;

use crate::data::stream::{Batch, BatchReader, BatchWriter};
use crate::data::{EmbeddingSource, free_name, glob_match, same_file};
use crate::engine::{Matrix, Metric};
use crate::model::Model;

/// `--columns`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Columns {
    /// Every input column, types unchanged.
    Keep,
    /// Only an `id` column (else the row's position in its file, `row`).
    IdOnly,
}

/// `embedmap assign`.
#[derive(Debug, Args)]
pub struct AssignArgs {
    /// Files to label, folders of them (every .parquet, .csv, .npy, … inside), or patterns of file
    /// names (`shards/*.parquet`).
    #[arg(required = true, value_name = "FILE_FOLDER_OR_GLOB")]
    pub inputs: Vec<String>,
    /// The model (`embedmap fit --model`).
    #[arg(long, value_name = "M.embedmap.json")]
    pub model: PathBuf,
    /// Output: a file (.parquet, .csv, .tsv) for one input, or a folder (a path ending in `/`)
    /// that gets one file per input, named after it.
    #[arg(long)]
    pub out: PathBuf,
    /// Input columns to copy into the output.
    #[arg(long, value_enum, default_value = "keep")]
    pub columns: Columns,
    /// Format of the files in an output folder.
    #[arg(long, value_parser = ["parquet", "csv", "tsv"], default_value = "parquet")]
    pub format: String,
    /// With an output folder: go on from an earlier run, skipping the inputs whose output is
    /// there (each output appears only once complete).
    #[arg(long)]
    pub resume: bool,
    /// Rows per batch (Parquet row groups are not split: a larger group is read whole).
    #[arg(long, default_value_t = 65_536)]
    pub batch_rows: usize,
    /// Refuse to run unless the model measures this metric.
    #[arg(long)]
    pub metric: Option<Metric>,
    /// The inputs' embedding column(s), when not named as in the fitting file.
    #[arg(long, value_name = "SPEC")]
    pub embedding_columns: Option<String>,
    /// Write a JSON report (rows, rows/s, bad rows by file and row) here.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// The run finished, but some rows had no usable vector: they are in the output with an empty
/// `cluster`, and listed. The exit code is 2.
#[derive(Debug, thiserror::Error)]
#[error("{count} row(s) had no usable vector and were written with an empty cluster (first: {first})")]
pub struct SomeRowsBad {
    /// How many.
    pub count: usize,
    /// The first one, as `file row N: why`.
    pub first: String,
}

/// The extensions of the files a folder input contributes.
const SHARD_EXTENSIONS: [&str; 9] = ["parquet", "csv", "tsv", "npy", "jsonl", "ndjson", "arrow", "feather", "ipc"];

/// The files the inputs name, folders and patterns expanded (in name order) and checked.
fn expand(inputs: &[String]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for spec in inputs {
        let p = PathBuf::from(spec);
        if p.is_dir() {
            // A folder of shards: every file of a format embedmap reads, in name order.
            let mut found: Vec<PathBuf> = std::fs::read_dir(&p)
                .with_context(|| format!("cannot list {spec}"))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| {
                    f.is_file()
                        && !f.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
                        && f.extension().is_some_and(|e| SHARD_EXTENSIONS.contains(&e.to_string_lossy().to_ascii_lowercase().as_str()))
                })
                .collect();
            if found.is_empty() {
                bail!("the folder {spec} holds no file embedmap reads ({})", SHARD_EXTENSIONS.map(|e| format!(".{e}")).join(", "));
            }
            found.sort();
            out.extend(found);
            continue;
        }
        if !spec.contains('*') {
            if !p.is_file() {
                bail!("no such file: {spec}");
            }
            out.push(p);
            continue;
        }
        let path = Path::new(spec);
        let pattern = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or_else(|| Path::new("."));
        if dir.to_string_lossy().contains('*') {
            bail!("'{spec}': only file names can hold a *, not folders");
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.file_name().is_some_and(|f| glob_match(&pattern, &f.to_string_lossy())))
            .collect();
        if found.is_empty() {
            bail!("no file matches '{spec}'");
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// Where each input's labels go.
fn outputs(a: &AssignArgs, files: &[PathBuf]) -> anyhow::Result<(Vec<PathBuf>, bool)> {
    let text = a.out.to_string_lossy();
    let folder = text.ends_with('/') || a.out.is_dir();
    if !folder && files.len() > 1 {
        bail!(
            "{} inputs cannot go into one file, {}: give a folder (a path ending in /) for one output per input",
            files.len(),
            a.out.display()
        );
    }
    if !folder {
        crate::data::check_export_path(&a.out)?;
        return Ok((vec![a.out.clone()], false));
    }
    if a.out.is_dir() && !a.resume {
        bail!(
            "the output folder {} exists; choose a new one, or add --resume to go on from an earlier run (inputs whose output is there are skipped)",
            a.out.display()
        );
    }
    let mut outs: Vec<PathBuf> = Vec::with_capacity(files.len());
    for f in files {
        let stem = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let o = a.out.join(format!("{stem}.{}", a.format));
        if let Some(i) = outs.iter().position(|x| *x == o) {
            bail!("{} and {} would both be written to {}; give them different names", files[i].display(), f.display(), o.display());
        }
        outs.push(o);
    }
    Ok((outs, true))
}

/// What one file gave.
#[derive(Debug, Default, serde::Serialize)]
struct FileReport {
    input: String,
    output: String,
    rows: usize,
    bad_rows: usize,
    skipped: bool,
    ms: f64,
}

/// One bad row, for the report.
#[derive(Debug, serde::Serialize)]
struct BadRow {
    file: String,
    row: usize,
    reason: String,
}

/// Rows of bad rows listed in the report and on stderr.
const BAD_LISTED: usize = 1000;
const BAD_PRINTED: usize = 10;

/// Runs `embedmap assign`.
pub fn assign(a: &AssignArgs) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let model = Model::load(&a.model)?;
    model.check_metric(a.metric)?;
    let files = expand(&a.inputs)?;
    let (outs, folder) = outputs(a, &files)?;
    for (f, o) in files.iter().zip(&outs) {
        if same_file(f, o) || same_file(&a.model, o) {
            bail!("refusing to overwrite an input: {} (choose another --out)", o.display());
        }
    }
    if folder && !a.out.is_dir() {
        std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create the output folder {}", a.out.display()))?;
    }
    let source = match &a.embedding_columns {
        None => model.file.embedding.source.clone(),
        Some(spec) if spec.contains(',') || spec.contains('*') || spec.contains("..") => {
            bail!("--embedding-columns for assign names one list or text column of vectors (wide columns: use the fitting file's names)")
        }
        Some(spec) => EmbeddingSource::ListColumn { column: spec.clone() },
    };
    let total_bytes: u64 = files.iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).sum();
    eprintln!(
        "assigning {} file(s), {:.1} MB, with {} ({} clusters, {}, {}-d)",
        files.len(),
        mb(total_bytes),
        a.model.display(),
        model.file.clusters.len(),
        model.metric(),
        model.dim()
    );
    let mut reports = Vec::with_capacity(files.len());
    let mut bad_list: Vec<BadRow> = Vec::new();
    let mut bad_total = 0usize;
    let mut rows_total = 0usize;
    let mut done_bytes = 0u64;
    let mut times = StageTimes::default();
    let mut progress = Progress { start: Instant::now(), last: Instant::now(), total_bytes };
    for (i, (file, out)) in files.iter().zip(&outs).enumerate() {
        let size = std::fs::metadata(file).map_or(0, |m| m.len());
        if a.resume && out.is_file() {
            eprintln!("  {}: skipped, {} exists", file.display(), out.display());
            reports.push(FileReport {
                input: file.display().to_string(),
                output: out.display().to_string(),
                skipped: true,
                ..FileReport::default()
            });
            done_bytes += size;
            continue;
        }
        let t = Instant::now();
        let stop = |e: anyhow::Error| {
            let done = i;
            if folder {
                e.context(format!(
                    "stopped at {} ({done} of {} files are complete in {}; fix it and rerun with --resume to go on)",
                    file.display(),
                    files.len(),
                    a.out.display()
                ))
            } else {
                e
            }
        };
        let mut reader = BatchReader::open(file, &source, model.dim(), a.batch_rows).map_err(|e| stop(e.into()))?;
        if a.columns == Columns::IdOnly {
            let id: Vec<String> = reader.column_names().into_iter().filter(|c| c.eq_ignore_ascii_case("id")).take(1).collect();
            reader.keep_only(&id);
        }
        let file_rows = reader.total_rows();
        let writer = BatchWriter::create(out)?.with_types(reader.declared_types());
        let mut bad_here = 0;
        let shown = file.display().to_string();
        let mut on_batch = |batch: &Batch, written: usize| {
            for (r, why) in &batch.bad {
                let row = batch.first_row + r + 1;
                if bad_total < BAD_PRINTED {
                    eprintln!("  bad row: {shown} row {row}: {why}");
                }
                if bad_list.len() < BAD_LISTED {
                    bad_list.push(BadRow { file: shown.clone(), row, reason: why.clone() });
                }
                bad_total += 1;
                bad_here += 1;
            }
            rows_total += batch.rows;
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a byte estimate: non-negative and at most the file's size"
            )]
            let within = if file_rows > 0 { ((written + batch.rows) as f64 / file_rows as f64 * size as f64) as u64 } else { size };
            progress.show(rows_total, done_bytes + within, &format!("file {}/{}", i + 1, files.len()));
        };
        let rows = pipeline(reader, writer, &model, a.columns, &shown, &mut on_batch, &mut times).map_err(stop)?;
        done_bytes += size;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let rate = rows as f64 / (ms / 1e3).max(1e-9);
        eprintln!(
            "  {} → {}: {rows} rows, {:.0} rows/s{}",
            file.display(),
            out.display(),
            rate,
            if bad_here > 0 { format!(", {bad_here} bad") } else { String::new() }
        );
        reports.push(FileReport {
            input: file.display().to_string(),
            output: out.display().to_string(),
            rows,
            bad_rows: bad_here,
            skipped: false,
            ms,
        });
    }
    let secs = t0.elapsed().as_secs_f64();
    let rate = rows_total as f64 / secs.max(1e-9);
    eprintln!("labelled {rows_total} rows in {secs:.1} s ({rate:.0} rows/s)");
    if let Some(path) = &a.report {
        let v = serde_json::json!({
            "embedmap_version": env!("CARGO_PKG_VERSION"),
            "model": a.model.display().to_string(),
            "rows": rows_total,
            "bad_rows": bad_total,
            "bad_rows_listed": bad_list,
            "seconds": secs,
            "rows_per_second": rate,
            "stage_ms": times,
            "files": reports,
        });
        std::fs::write(path, serde_json::to_string_pretty(&v)?).with_context(|| format!("cannot write the report {}", path.display()))?;
    }
    if bad_total > 0 {
        let first = bad_list.first().map(|b| format!("{} row {}: {}", b.file, b.row, b.reason)).unwrap_or_default();
        return Err(SomeRowsBad { count: bad_total, first }.into());
    }
    Ok(())
}

/// Busy time of each stage, summed over batches and threads (they overlap in wall time).
#[derive(Debug, Default, serde::Serialize)]
pub struct StageTimes {
    /// Reading and decoding batches, and extracting their vectors.
    pub decode_ms: f64,
    /// Labelling (the model's assignment and projection, and building the output columns).
    pub label_ms: f64,
    /// Of which the model's assignment and projection alone.
    pub assign_ms: f64,
    /// Encoding and writing the output.
    pub encode_ms: f64,
}

/// Threads decoding batches, at most.
const DECODERS: usize = 2;
/// Above this many bytes on disk per batch, one decoder: memory holds about (decoders + 2)
/// batches, and a second decoder of such batches would take it past 1 GB (row groups of 100k ×
/// 384 floats: 1.13 GB with two, 0.82 GB with one).
const TWO_DECODERS_MAX_BYTES: u64 = 96 << 20;

/// Reads, labels and writes one file with the three stages overlapped: [`DECODERS`] threads
/// decode the next batches while this one labels the current batch and another thread encodes
/// the previous one (decoding and encoding Parquet cost far more than the assignment). Nothing
/// waits between stages beyond the batch each thread holds, so memory stays at a few batches.
/// Returns the rows written.
fn pipeline(
    reader: BatchReader,
    mut writer: BatchWriter,
    model: &Model,
    columns: Columns,
    shown: &str,
    on_batch: &mut dyn FnMut(&Batch, usize),
    times: &mut StageTimes,
) -> anyhow::Result<usize> {
    use std::sync::mpsc::sync_channel;
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    std::thread::scope(|scope| {
        let (frame_tx, frame_rx) = sync_channel::<DataFrame>(0);
        // Two decoders take alternate batches: Parquet decodes a column on one thread.
        let reader = &reader;
        let n_dec = if reader.largest_batch_bytes() <= TWO_DECODERS_MAX_BYTES { DECODERS } else { 1 };
        let decoders: Vec<_> = (0..n_dec)
            .map(|t| {
                let (tx, rx) = sync_channel(0);
                let h = scope.spawn(move || {
                    let mut busy = 0.0;
                    for i in (t..reader.batches()).step_by(n_dec) {
                        let t = Instant::now();
                        let b = reader.read(i);
                        busy += ms(t);
                        let failed = b.is_err();
                        // A closed channel: the run stopped.
                        if tx.send(b).is_err() || failed {
                            break;
                        }
                    }
                    busy
                });
                (rx, h)
            })
            .collect();
        let (decoders, decode_handles): (Vec<_>, Vec<_>) = decoders.into_iter().unzip();
        let batch_rx = (0..reader.batches()).map_while(|i| decoders[i % n_dec].recv().ok());
        let encoder = scope.spawn(move || -> Result<(BatchWriter, f64), crate::data::ExportError> {
            let mut busy = 0.0;
            for frame in frame_rx {
                let t = Instant::now();
                writer.write(frame)?;
                busy += ms(t);
            }
            Ok((writer, busy))
        });
        let mut rows = 0;
        let labelled_all = (|| -> anyhow::Result<()> {
            for batch in batch_rx {
                let batch = batch?;
                on_batch(&batch, rows);
                rows += batch.rows;
                let t = Instant::now();
                let frame = labelled(model, batch, columns, shown, times)?;
                times.label_ms += ms(t);
                if frame_tx.send(frame).is_err() {
                    // The encoder stopped on an error, which its join gives.
                    break;
                }
            }
            Ok(())
        })();
        drop(frame_tx);
        let (writer, encode_ms) = encoder.join().map_err(|_| anyhow::anyhow!("the writer of {shown} stopped unexpectedly"))??;
        labelled_all?;
        drop(decoders);
        for h in decode_handles {
            times.decode_ms += h.join().unwrap_or(0.0);
        }
        times.encode_ms += encode_ms;
        if writer.rows() == 0 {
            bail!("{shown} has no rows");
        }
        let written = writer.rows();
        let t = Instant::now();
        writer.finish()?;
        times.encode_ms += ms(t);
        Ok(written)
    })
}

/// The output columns of one batch: the kept input columns, then `cluster`, `distance`,
/// `is_noise` (rules with noise), `membership` (HDBSCAN) and `x`, `y` (models with a projection);
/// bad rows have them empty.
fn labelled(model: &Model, batch: Batch, columns: Columns, file: &str, times: &mut StageTimes) -> anyhow::Result<DataFrame> {
    let dim = model.dim();
    let m = Matrix::new(batch.vectors, batch.rows, dim).context("a batch of another shape")?;
    let t = Instant::now();
    let got = model.assign_named(&m, file)?;
    times.assign_ms += t.elapsed().as_secs_f64() * 1e3;
    let mut ok = vec![true; batch.rows];
    for (r, _) in &batch.bad {
        ok[*r] = false;
    }
    let mut frame = match columns {
        Columns::Keep => batch.frame,
        Columns::IdOnly => {
            let id = batch.frame.get_column_names().into_iter().find(|c| c.as_str().eq_ignore_ascii_case("id")).cloned();
            match id {
                Some(id) => batch.frame.select([id])?,
                None => DataFrame::new(batch.rows, Vec::new())?,
            }
        }
    };
    let mut taken: Vec<String> = frame.get_column_names().iter().map(ToString::to_string).collect();
    if frame.width() == 0 {
        let rows: Vec<u64> = (batch.first_row as u64..(batch.first_row + batch.rows) as u64).collect();
        frame.with_column(Column::new("row".into(), rows))?;
        taken.push("row".into());
    }
    let mut push = |frame: &mut DataFrame, base: &str, s: Series| -> PolarsResult<()> {
        let name = free_name(base, &taken);
        taken.push(name.clone());
        frame.with_column(s.with_name(name.as_str().into()).into_column())?;
        Ok(())
    };
    let keep = |i: usize| ok[i];
    let cluster: Vec<Option<i32>> = got.labels.iter().enumerate().map(|(i, &l)| keep(i).then_some(l)).collect();
    push(&mut frame, "cluster", Series::new("cluster".into(), cluster))?;
    let dist: Vec<Option<f32>> = got.distance.iter().enumerate().map(|(i, &v)| keep(i).then_some(v)).collect();
    push(&mut frame, "distance", Series::new("distance".into(), dist))?;
    if let Some(noise) = &got.is_noise {
        let v: Vec<Option<bool>> = noise.iter().enumerate().map(|(i, &v)| keep(i).then_some(v)).collect();
        push(&mut frame, "is_noise", Series::new("is_noise".into(), v))?;
    }
    if let Some(m) = &got.membership {
        let v: Vec<Option<f32>> = m.iter().enumerate().map(|(i, &v)| keep(i).then_some(v)).collect();
        push(&mut frame, "membership", Series::new("membership".into(), v))?;
    }
    if let Some(xy) = &got.xy {
        let xs: Vec<Option<f32>> = xy.iter().enumerate().map(|(i, p)| keep(i).then_some(p[0])).collect();
        let ys: Vec<Option<f32>> = xy.iter().enumerate().map(|(i, p)| keep(i).then_some(p[1])).collect();
        push(&mut frame, "x", Series::new("x".into(), xs))?;
        push(&mut frame, "y", Series::new("y".into(), ys))?;
    }
    Ok(frame)
}

fn mb(bytes: u64) -> f64 {
    let b = bytes as f64;
    b / 1e6
}

/// The progress line on stderr, at most once a second.
struct Progress {
    start: Instant,
    last: Instant,
    total_bytes: u64,
}

impl Progress {
    fn show(&mut self, rows: usize, done_bytes: u64, what: &str) {
        if self.last.elapsed().as_secs_f64() < 1.0 {
            return;
        }
        self.last = Instant::now();
        let secs = self.start.elapsed().as_secs_f64();
        let (rate, share) = (rows as f64 / secs.max(1e-9), done_bytes as f64 / self.total_bytes.max(1) as f64);
        let eta = if share > 0.0 { secs * (1.0 - share) / share } else { f64::NAN };
        eprintln!(
            "  {what}: {rows} rows, {:.0}% of {:.0} MB, {rate:.0} rows/s, about {eta:.0} s left",
            share * 100.0,
            mb(self.total_bytes)
        );
    }
}
