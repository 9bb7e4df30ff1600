//! `embedmap info`: what a file holds (rows, columns, the embedding found) or what a model does.

use super::*;

/// `embedmap info M.embedmap.json`: what a saved model holds and what it expects.
pub(super) fn info_model(a: &InfoArgs) -> anyhow::Result<()> {
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
pub(super) fn info_parquet(a: &InfoArgs) -> anyhow::Result<()> {
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

pub(super) fn info(a: &InfoArgs) -> anyhow::Result<()> {
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
