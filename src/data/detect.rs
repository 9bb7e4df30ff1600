//! Finding the embedding among a table's columns.
//!
//! In order of preference: a list/array column of numbers; a text column whose cells read
//! `[0.1, 0.2, …]`; the largest group of columns named `<prefix><number>` (`emb_0…emb_383`,
//! `0…767`, `x1…xN`); failing that, every numeric column whose name does not mark it as an
//! identifier, label, count or score.

/// What a column holds, as far as detection cares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    /// List or fixed-size array of numbers.
    NumericList,
    /// Numbers (typed, or text whose first value parses as a number).
    Numeric,
    /// Text whose first value looks like `[1.0, 2.0, ...]`.
    VectorText,
    /// Anything else.
    Other,
}

/// Where the vectors come from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EmbeddingSource {
    /// One list/array column.
    ListColumn {
        /// Column name.
        column: String,
    },
    /// One text column of bracketed vectors.
    TextColumn {
        /// Column name.
        column: String,
    },
    /// One column per dimension.
    Wide {
        /// The columns, in file order.
        columns: Vec<String>,
    },
    /// The whole `.npy` array.
    Npy,
}

impl EmbeddingSource {
    /// The embedding's own column names (none for `.npy`).
    #[must_use]
    pub fn columns(&self) -> Vec<&str> {
        match self {
            Self::ListColumn { column } | Self::TextColumn { column } => vec![column.as_str()],
            Self::Wide { columns } => columns.iter().map(String::as_str).collect(),
            Self::Npy => Vec::new(),
        }
    }

    /// A one-line description for people.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::ListColumn { column } => format!("list column '{column}'"),
            Self::TextColumn { column } => format!("text column '{column}' of [..] vectors"),
            Self::Wide { columns } => match columns.as_slice() {
                [] => "no columns".into(),
                [one] => format!("column '{one}'"),
                [first, .., last] => format!("{} columns '{first}' … '{last}'", columns.len()),
            },
            Self::Npy => "the .npy array".into(),
        }
    }
}

/// Names that mark a numeric column as metadata rather than a dimension.
fn is_metadata_name(name: &str) -> bool {
    let lower: String = name.to_ascii_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    const WORDS: [&str; 24] = [
        "id",
        "index",
        "idx",
        "key",
        "label",
        "labels",
        "target",
        "class",
        "category",
        "cluster",
        "count",
        "n",
        "score",
        "y",
        "year",
        "row",
        "rowid",
        "weight",
        "theme",
        "rank",
        "size",
        "length",
        "timestamp",
        "time",
    ];
    if WORDS.contains(&lower.as_str()) {
        return true;
    }
    let raw = name.to_ascii_lowercase();
    raw.ends_with("_id")
        || raw.ends_with("-id")
        || raw.ends_with(" id")
        || name.ends_with("Id")
        || name.ends_with("ID")
        || raw.ends_with("_count")
        || raw.ends_with("_score")
        || raw.ends_with("_label")
}

/// Splits a trailing number off a name: `emb_12` → (`emb_`, 12).
fn split_numbered(name: &str) -> Option<(&str, u64)> {
    let digits = name.bytes().rev().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let (prefix, num) = name.split_at(name.len() - digits);
    Some((prefix, num.parse().ok()?))
}

/// Picks the embedding from column names and kinds; `Err` explains what was seen.
pub fn detect(columns: &[(String, ColumnKind)]) -> Result<(EmbeddingSource, Vec<String>), String> {
    let mut warnings = Vec::new();
    let lists: Vec<&str> = columns.iter().filter(|(_, k)| *k == ColumnKind::NumericList).map(|(n, _)| n.as_str()).collect();
    if let Some(&first) = lists.first() {
        let pick = lists.iter().copied().find(|n| looks_like_embedding_name(n)).unwrap_or(first);
        if lists.len() > 1 {
            warnings.push(format!("{} list columns hold numbers; using '{pick}'", lists.len()));
        }
        return Ok((EmbeddingSource::ListColumn { column: pick.to_string() }, warnings));
    }
    let texts: Vec<&str> = columns.iter().filter(|(_, k)| *k == ColumnKind::VectorText).map(|(n, _)| n.as_str()).collect();
    if let Some(&first) = texts.first() {
        let pick = texts.iter().copied().find(|n| looks_like_embedding_name(n)).unwrap_or(first);
        if texts.len() > 1 {
            warnings.push(format!("{} text columns hold [..] vectors; using '{pick}'", texts.len()));
        }
        return Ok((EmbeddingSource::TextColumn { column: pick.to_string() }, warnings));
    }
    // Groups of numbered columns: the group is the embedding if nearly all its members are numeric
    // (a stray non-numeric member is then reported as a bad cell, not silently dropped).
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, (name, _)) in columns.iter().enumerate() {
        if let Some((prefix, _)) = split_numbered(name) {
            match groups.iter_mut().find(|(p, _)| *p == prefix) {
                Some((_, members)) => members.push(i),
                None => groups.push((prefix, vec![i])),
            }
        }
    }
    let mut best: Option<&(&str, Vec<usize>)> = None;
    for g in &groups {
        let numeric = g.1.iter().filter(|&&i| columns[i].1 == ColumnKind::Numeric).count();
        let enough = g.1.len() >= 2 && numeric * 10 >= g.1.len() * 9;
        if enough && !is_metadata_name(g.0) && best.is_none_or(|b| g.1.len() > b.1.len()) {
            best = Some(g);
        }
    }
    if let Some((_, members)) = best {
        let names = members.iter().map(|&i| columns[i].0.clone()).collect();
        return Ok((EmbeddingSource::Wide { columns: names }, warnings));
    }
    let numeric: Vec<String> =
        columns.iter().filter(|(n, k)| *k == ColumnKind::Numeric && !is_metadata_name(n)).map(|(n, _)| n.clone()).collect();
    if numeric.len() >= 2 {
        warnings.push(format!(
            "the embedding was guessed from {} numeric columns with no common naming pattern; check it, or name the columns with --embedding-columns",
            numeric.len()
        ));
        return Ok((EmbeddingSource::Wide { columns: numeric }, warnings));
    }
    let any_numeric = columns.iter().any(|(_, k)| *k == ColumnKind::Numeric);
    Err(if any_numeric {
        format!("only identifier-like numeric columns were found among {}", summarize_names(columns.iter().map(|(n, _)| n.as_str())))
    } else {
        format!("no numeric data among the columns {}", summarize_names(columns.iter().map(|(n, _)| n.as_str())))
    })
}

/// Every plausible embedding in a table, as (`--embedding-columns` spec, description): each list
/// or vector-text column, and each group of two or more numbered numeric columns.
#[must_use]
pub fn candidates(columns: &[(String, ColumnKind)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, kind) in columns {
        match kind {
            ColumnKind::NumericList => out.push((name.clone(), format!("list column '{name}'"))),
            ColumnKind::VectorText => out.push((name.clone(), format!("text column '{name}' of [..] vectors"))),
            _ => {}
        }
    }
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, (name, kind)) in columns.iter().enumerate() {
        if *kind != ColumnKind::Numeric {
            continue;
        }
        if let Some((prefix, _)) = split_numbered(name) {
            match groups.iter_mut().find(|(p, _)| *p == prefix) {
                Some((_, members)) => members.push(i),
                None => groups.push((prefix, vec![i])),
            }
        }
    }
    for (_, members) in groups.iter().filter(|(_, m)| m.len() >= 2) {
        let (first, last) = (&columns[members[0]].0, &columns[members[members.len() - 1]].0);
        out.push((format!("{first}..{last}"), format!("{} columns '{first}' … '{last}'", members.len())));
    }
    out
}

fn looks_like_embedding_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    ["emb", "vec", "feature", "encoding"].iter().any(|w| l.contains(w))
}

/// `'a', 'b', 'c' and 12 more`.
#[must_use]
pub fn summarize_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = names.collect();
    let shown: Vec<String> = all.iter().take(8).map(|n| format!("'{n}'")).collect();
    if all.len() > 8 { format!("{} and {} more", shown.join(", "), all.len() - 8) } else { shown.join(", ") }
}

/// Resolves `--embedding-columns`: comma-separated names, globs with `*`, or inclusive ranges
/// `first..last` by position. Returns matched column indices in file order.
pub fn resolve_spec(spec: &str, names: &[String]) -> Result<Vec<usize>, String> {
    let mut picked = vec![false; names.len()];
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if let Some((a, b)) = item.split_once("..") {
            let find = |n: &str| names.iter().position(|x| x == n.trim());
            let (Some(i), Some(j)) = (find(a), find(b)) else {
                return Err(format!(
                    "--embedding-columns: range '{item}' names a column that does not exist (columns: {})",
                    summarize_names(names.iter().map(String::as_str))
                ));
            };
            let (i, j) = (i.min(j), i.max(j));
            picked[i..=j].iter_mut().for_each(|p| *p = true);
        } else if item.contains('*') {
            let mut any = false;
            for (i, n) in names.iter().enumerate() {
                if glob_match(item, n) {
                    picked[i] = true;
                    any = true;
                }
            }
            if !any {
                return Err(format!(
                    "--embedding-columns: no column matches '{item}' (columns: {})",
                    summarize_names(names.iter().map(String::as_str))
                ));
            }
        } else {
            let Some(i) = names.iter().position(|x| x == item) else {
                return Err(format!(
                    "--embedding-columns: no column named '{item}' (columns: {})",
                    summarize_names(names.iter().map(String::as_str))
                ));
            };
            picked[i] = true;
        }
    }
    let out: Vec<usize> = (0..names.len()).filter(|&i| picked[i]).collect();
    if out.is_empty() {
        return Err("--embedding-columns is empty".into());
    }
    Ok(out)
}

/// `*` matches any run of characters.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(p) = rest.find(part) {
            rest = &rest[p + part.len()..];
        } else {
            return false;
        }
    }
    rest.is_empty()
}

/// Parses `[0.1, 0.2 …]` (commas and/or whitespace between numbers).
pub fn parse_vector_text(s: &str) -> Option<Vec<f64>> {
    let t = s.trim();
    let inner = t.strip_prefix('[')?.strip_suffix(']')?;
    inner.split(|c: char| c == ',' || c.is_whitespace()).filter(|p| !p.is_empty()).map(|p| p.parse::<f64>().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(spec: &[(&str, ColumnKind)]) -> Vec<(String, ColumnKind)> {
        spec.iter().map(|(n, k)| ((*n).to_string(), k.clone())).collect()
    }

    #[test]
    fn numbered_columns_form_the_embedding_and_ids_do_not() {
        use ColumnKind::*;
        let c = cols(&[("id", Numeric), ("label", Other), ("emb_0", Numeric), ("emb_1", Numeric), ("emb_2", Numeric), ("score", Numeric)]);
        let (src, _) = detect(&c).unwrap();
        assert_eq!(src, EmbeddingSource::Wide { columns: vec!["emb_0".into(), "emb_1".into(), "emb_2".into()] });
    }

    #[test]
    fn bare_number_column_names_are_recognised() {
        use ColumnKind::*;
        let c = cols(&[("0", Numeric), ("1", Numeric), ("2", Numeric), ("id", Numeric), ("label", Other)]);
        let (src, _) = detect(&c).unwrap();
        assert_eq!(src.columns(), vec!["0", "1", "2"]);
    }

    #[test]
    fn a_list_column_wins_over_numeric_columns() {
        use ColumnKind::*;
        let c = cols(&[("x1", Numeric), ("x2", Numeric), ("embedding", NumericList)]);
        assert_eq!(detect(&c).unwrap().0, EmbeddingSource::ListColumn { column: "embedding".into() });
    }

    #[test]
    fn only_ids_and_scores_is_an_error() {
        use ColumnKind::*;
        let c = cols(&[("id", Numeric), ("score", Numeric), ("name", Other)]);
        assert!(detect(&c).unwrap_err().contains("identifier-like"));
        let c = cols(&[("name", Other)]);
        assert!(detect(&c).unwrap_err().contains("no numeric data"));
    }

    #[test]
    fn spec_accepts_names_globs_and_ranges() {
        let names: Vec<String> = ["id", "a0", "a1", "a2", "b"].iter().map(|s| (*s).to_string()).collect();
        assert_eq!(resolve_spec("a*", &names).unwrap(), vec![1, 2, 3]);
        assert_eq!(resolve_spec("a0..a2", &names).unwrap(), vec![1, 2, 3]);
        assert_eq!(resolve_spec("b, a1", &names).unwrap(), vec![2, 4]);
        assert!(resolve_spec("zzz", &names).unwrap_err().contains("no column named 'zzz'"));
    }

    #[test]
    fn candidates_list_every_plausible_embedding() {
        use ColumnKind::*;
        let c = cols(&[
            ("id", Numeric),
            ("a0", Numeric),
            ("a1", Numeric),
            ("vec", NumericList),
            ("b_0", Numeric),
            ("b_1", Numeric),
            ("b_2", Numeric),
        ]);
        let specs: Vec<String> = candidates(&c).into_iter().map(|(s, _)| s).collect();
        assert_eq!(specs, vec!["vec", "a0..a1", "b_0..b_2"]);
    }

    #[test]
    fn vector_text_parses_numpy_and_json_styles() {
        assert_eq!(parse_vector_text("[1, 2.5,-3e-1]"), Some(vec![1.0, 2.5, -0.3]));
        assert_eq!(parse_vector_text(" [1 2  3] "), Some(vec![1.0, 2.0, 3.0]));
        assert_eq!(parse_vector_text("1, 2"), None);
        assert_eq!(parse_vector_text("[1, x]"), None);
    }
}
