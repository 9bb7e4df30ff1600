//! Describing clusters: distinguishing terms (class-based TF-IDF), frequent metadata values, and the rows nearest each centroid.

use std::cmp::Ordering;
use std::collections::HashMap;

/// English stop words, lower-case, with apostrophes removed from contractions ("dont", "thats").
/// Sorted and without duplicates, so that [`is_stop_word`] can binary-search it.
#[rustfmt::skip]
const STOP_WORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "arent", "as", "at", "be",
    "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "cant", "could", "couldnt", "did", "didnt",
    "do", "does", "doesnt", "doing", "dont", "down", "during", "each", "eg", "etc", "even", "few", "for", "from", "further", "get",
    "got", "had", "hadnt", "has", "hasnt", "have", "havent", "having", "he", "her", "here", "hers", "herself", "hes", "him", "himself",
    "his", "how", "i", "ie", "if", "im", "in", "into", "is", "isnt", "it", "its", "itself", "ive", "just", "many", "may", "me",
    "might", "more", "most", "much", "must", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "one", "only", "or",
    "other", "our", "ours", "ourselves", "out", "over", "own", "really", "same", "shall", "she", "shes", "should", "shouldnt", "so",
    "some", "still", "such", "than", "that", "thats", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they",
    "theyre", "theyve", "this", "those", "through", "to", "too", "under", "until", "up", "us", "very", "via", "was", "wasnt", "we",
    "well", "were", "werent", "weve", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "wont", "would",
    "wouldnt", "you", "your", "youre", "yours", "yourself", "yourselves", "youve",
];

/// For each letter `a..=z`, the range of [`STOP_WORDS`] starting with it (every stop word starts with one; checked at compile
/// time), and the length of the longest stop word: together they keep the lookup of a token to a few comparisons.
const STOP_INDEX: ([(usize, usize); 26], usize) = {
    let mut ranges = [(0, 0); 26];
    let mut longest = 0;
    let mut i = 0;
    while i < STOP_WORDS.len() {
        let word = STOP_WORDS[i].as_bytes();
        assert!(!word.is_empty() && word[0].is_ascii_lowercase(), "stop words start with a lower-case ASCII letter");
        let r = &mut ranges[(word[0] - b'a') as usize];
        if r.0 == r.1 {
            *r = (i, i + 1);
        } else {
            r.1 = i + 1;
        }
        if word.len() > longest {
            longest = word.len();
        }
        i += 1;
    }
    (ranges, longest)
};

/// Whether `word` (lower-case) is an English stop word.
fn is_stop_word(word: &str) -> bool {
    let (ranges, longest) = &STOP_INDEX;
    match word.as_bytes().first() {
        Some(&first) if first.is_ascii_lowercase() && word.len() <= *longest => {
            let (lo, hi) = ranges[usize::from(first - b'a')];
            STOP_WORDS[lo..hi].binary_search(&word).is_ok()
        }
        _ => false,
    }
}

/// Characters treated as an apostrophe: dropped inside a word, a separator elsewhere.
fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02BC}')
}

/// Combining diacritical marks, kept inside a word so that decomposed text ("e" + U+0301) does not split it.
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// The word being read by [`for_each_token`], with buffers reused from word to word.
#[derive(Default)]
struct WordBuf {
    /// The word as written (apostrophes dropped).
    raw: String,
    /// Its lower-case form when it is not ASCII.
    lower: String,
    /// Alphanumeric characters in the word.
    len: usize,
    /// Whether every alphanumeric character is numeric.
    only_digits: bool,
    /// Whether every character is ASCII.
    ascii: bool,
}

impl WordBuf {
    fn reset(&mut self) {
        self.raw.clear();
        self.len = 0;
        self.only_digits = true;
        self.ascii = true;
    }

    fn push_alphanumeric(&mut self, c: char) {
        self.raw.push(c);
        self.len += 1;
        self.only_digits &= c.is_numeric();
        self.ascii &= c.is_ascii();
    }

    fn push_mark(&mut self, c: char) {
        self.raw.push(c);
        self.ascii = false;
    }

    /// Ends the current word: passes it to `emit` if it is a token, then starts a new one.
    fn finish(&mut self, emit: &mut impl FnMut(&str)) {
        if self.len >= 2 && !self.only_digits {
            let word = if self.ascii {
                self.raw.make_ascii_lowercase();
                self.raw.as_str()
            } else {
                // `str::to_lowercase` rather than per character: it handles the word-final sigma.
                self.lower = self.raw.to_lowercase();
                self.lower.as_str()
            };
            if !is_stop_word(word) {
                emit(word);
            }
        }
        self.reset();
    }
}

/// Calls `emit` with every token of `text`, in order (see [`tokenize`]); `word` is a reusable buffer.
fn for_each_token(text: &str, word: &mut WordBuf, mut emit: impl FnMut(&str)) {
    word.reset();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_apostrophe(c) {
            if word.len > 0 && chars.peek().is_some_and(|n| n.is_alphanumeric()) {
                continue;
            }
            word.finish(&mut emit);
        } else if c.is_alphanumeric() {
            word.push_alphanumeric(c);
        } else if word.len > 0 && is_combining_mark(c) {
            word.push_mark(c);
        } else if word.len > 0 {
            word.finish(&mut emit);
        }
    }
    word.finish(&mut emit);
}

/// Lower-cased words of `text`: maximal runs of alphanumeric characters (Unicode, `char::is_alphanumeric`, apostrophes inside a
/// word dropped so "don't" -> "dont"), at least 2 characters long, not only digits, not an English stop word.
///
/// The apostrophes are `'`, `’` (U+2019) and `ʼ` (U+02BC). Combining diacritical marks following a letter stay in the word
/// (so decomposed "café" is one word) but do not count towards its length.
#[must_use]
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(text, &mut WordBuf::default(), |t| out.push(t.to_owned()));
    out
}

/// `n` empty lists (empty `Vec`s do not allocate).
fn empty_lists<T>(n: usize) -> Vec<Vec<T>> {
    std::iter::repeat_with(Vec::new).take(n).collect()
}

/// The number of clusters that can have members: one more than the largest label in `0..n_clusters` (0 when none).
fn used_clusters(labels: &[i32], n_clusters: usize) -> usize {
    labels.iter().filter_map(|&l| cluster_index(l, n_clusters)).max().map_or(0, |c| c + 1)
}

/// The cluster of label `l`, if it is one of `0..k` (noise and out-of-range labels are none).
fn cluster_index(l: i32, k: usize) -> Option<usize> {
    usize::try_from(l).ok().filter(|&c| c < k)
}

/// Keeps the `top` smallest items of `v` under `cmp` (a total order), sorted.
fn keep_smallest<T>(v: &mut Vec<T>, top: usize, mut cmp: impl FnMut(&T, &T) -> Ordering) {
    if top == 0 {
        v.clear();
        return;
    }
    if v.len() > top {
        v.select_nth_unstable_by(top - 1, &mut cmp);
        v.truncate(top);
    }
    v.sort_unstable_by(cmp);
}

/// Per cluster (`0..n_clusters`), the `top` terms that most distinguish it, best first, with their c-TF-IDF scores.
///
/// `labels[i]` is row i's cluster (negative = noise, ignored); `text(i)` is row i's text (None = missing, skipped).
/// Class-based TF-IDF: every cluster's texts are one document; tf(t,c) = count of t in c / total term count of c;
/// idf(t) = ln(1 + A / f(t)) where A = average total term count per non-empty cluster and f(t) = count of t over all clusters.
/// score = tf · idf. Ties broken by the term (alphabetical) so the result is deterministic. Empty clusters get an empty list.
/// Terms that occur only once in the whole corpus are dropped (min_df-like), unless that leaves a cluster with nothing.
///
/// Terms are those of [`tokenize`]. Labels ≥ `n_clusters` are ignored like noise. A cluster is non-empty when it has at least
/// one term. Dropping the single-occurrence terms only removes them from the ranking: they still count in the totals, so a
/// term's score does not depend on the filter.
#[must_use]
pub fn ctfidf_terms<'a>(labels: &[i32], n_clusters: usize, text: impl Fn(usize) -> Option<&'a str>, top: usize) -> Vec<Vec<(String, f64)>> {
    let mut out = empty_lists(n_clusters);
    let k = used_clusters(labels, n_clusters);
    if k == 0 || top == 0 {
        return out;
    }

    // Each cluster's term counts, then each term's count over all clusters.
    let mut counts: Vec<HashMap<String, u64>> = std::iter::repeat_with(HashMap::new).take(k).collect();
    let mut word = WordBuf::default();
    for (i, &l) in labels.iter().enumerate() {
        let Some(c) = cluster_index(l, k) else { continue };
        let Some(t) = text(i) else { continue };
        let cluster = &mut counts[c];
        for_each_token(t, &mut word, |tok| {
            if let Some(n) = cluster.get_mut(tok) {
                *n += 1;
            } else {
                cluster.insert(tok.to_owned(), 1);
            }
        });
    }
    let mut corpus: HashMap<&str, u64> = HashMap::new();
    for (term, &n) in counts.iter().flatten() {
        *corpus.entry(term.as_str()).or_insert(0) += n;
    }

    let totals: Vec<u64> = counts.iter().map(|m| m.values().sum()).collect();
    let non_empty = totals.iter().filter(|&&t| t > 0).count();
    if non_empty == 0 {
        return out;
    }
    let avg = totals.iter().sum::<u64>() as f64 / non_empty as f64;

    let better = |a: &(&str, f64), b: &(&str, f64)| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0));
    for ((cluster, &total), slot) in counts.iter().zip(&totals).zip(&mut out) {
        if total == 0 {
            continue;
        }
        // (term, score, whether it occurs more than once in the corpus)
        let scored = cluster.iter().map(|(term, &n)| {
            let f = corpus.get(term.as_str()).copied().unwrap_or(n).max(1);
            (term.as_str(), (n as f64 / total as f64) * (1.0 + avg / f as f64).ln(), f > 1)
        });
        let mut ranked: Vec<(&str, f64)> = scored.clone().filter(|s| s.2).map(|(t, s, _)| (t, s)).collect();
        if ranked.is_empty() {
            ranked = scored.map(|(t, s, _)| (t, s)).collect();
        }
        keep_smallest(&mut ranked, top, better);
        *slot = ranked.into_iter().map(|(t, s)| (t.to_owned(), s)).collect();
    }
    out
}

/// A short automatic name from the terms: the first `n` terms joined with " · " (e.g. "refund · delivery · late"); "" when none.
#[must_use]
pub fn auto_name(terms: &[(String, f64)], n: usize) -> String {
    terms.iter().take(n).map(|(t, _)| t.as_str()).collect::<Vec<_>>().join(" · ")
}

/// Per cluster, the `top` most frequent values of a metadata column with their counts and their share of the cluster's rows
/// (count / cluster size, where size counts rows with label == c, including rows whose value is missing or empty).
///
/// Missing/empty values (`value(i)` returns None or "") are not counted as a value. Order: count descending, then value ascending.
/// Noise (negative labels) and labels ≥ `n_clusters` are ignored; `value` is called only for the other rows.
#[must_use]
pub fn top_values(
    labels: &[i32],
    n_clusters: usize,
    value: impl Fn(usize) -> Option<String>,
    top: usize,
) -> Vec<Vec<(String, usize, f64)>> {
    let mut out = empty_lists(n_clusters);
    let k = used_clusters(labels, n_clusters);
    if k == 0 || top == 0 {
        return out;
    }
    let mut sizes = vec![0usize; k];
    let mut counts: Vec<HashMap<String, usize>> = std::iter::repeat_with(HashMap::new).take(k).collect();
    for (i, &l) in labels.iter().enumerate() {
        let Some(c) = cluster_index(l, k) else { continue };
        sizes[c] += 1;
        if let Some(v) = value(i).filter(|v| !v.is_empty()) {
            *counts[c].entry(v).or_insert(0) += 1;
        }
    }
    for ((cluster, size), slot) in counts.into_iter().zip(sizes).zip(&mut out) {
        let mut ranked: Vec<(String, usize)> = cluster.into_iter().collect();
        keep_smallest(&mut ranked, top, |a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let share = |n: usize| n as f64 / size as f64;
        *slot = ranked.into_iter().map(|(v, n)| (v, n, share(n))).collect();
    }
    out
}

/// Per cluster, the rows (indices) of its `top` members nearest its centroid, nearest first.
///
/// `data` is n×d row-major f32. Centroid = mean of the cluster's rows (computed in f64). Distance: squared euclidean if
/// `cosine == false`; if `cosine == true`, cosine distance 1 − cos(x, centroid) (rows of zero length get distance 1). Ties broken by the lower row index.
///
/// Rows are those present in both `data` (n = `data.len() / d`, a trailing partial row ignored; with d = 0 every label is a row)
/// and `labels`. Noise and labels ≥ `n_clusters` are ignored. A zero-length centroid puts every row at cosine distance 1.
/// A distance that is not a number (from non-finite input) counts as infinite.
#[must_use]
pub fn nearest_to_centroid(data: &[f32], d: usize, labels: &[i32], n_clusters: usize, cosine: bool, top: usize) -> Vec<Vec<usize>> {
    let mut out = empty_lists(n_clusters);
    let n_rows = data.len().checked_div(d).map_or(labels.len(), |rows| rows.min(labels.len()));
    let labels = &labels[..n_rows];
    let used = used_clusters(labels, n_clusters);
    if used == 0 || top == 0 {
        return out;
    }
    if d == 0 {
        // Every row is the empty vector: all distances are equal, so the lowest indices come first.
        for (i, &l) in labels.iter().enumerate() {
            if let Some(c) = cluster_index(l, used)
                && out[c].len() < top
            {
                out[c].push(i);
            }
        }
        return out;
    }

    // Members per cluster; one centroid buffer serves every cluster in turn.
    let mut members: Vec<Vec<usize>> = empty_lists(used);
    for (i, &l) in labels.iter().enumerate() {
        if let Some(c) = cluster_index(l, used) {
            members[c].push(i);
        }
    }
    let row = |i: usize| &data[i * d..(i + 1) * d];
    let mut centroid = vec![0f64; d];
    for (rows, slot) in members.iter().zip(&mut out) {
        if rows.is_empty() {
            continue;
        }
        centroid.fill(0.0);
        for &i in rows {
            for (s, &x) in centroid.iter_mut().zip(row(i)) {
                *s += f64::from(x);
            }
        }
        let size = rows.len() as f64;
        for s in &mut centroid {
            *s /= size;
        }
        let c_norm = centroid.iter().map(|c| c * c).sum::<f64>().sqrt();
        let distance = |i: usize| -> f64 {
            let point = row(i);
            let dist = if cosine {
                let (dot, xx) = point.iter().zip(&centroid).fold((0.0, 0.0), |(dot, xx), (&x, &c)| {
                    let x = f64::from(x);
                    (dot + x * c, xx + x * x)
                });
                if xx == 0.0 || c_norm == 0.0 { 1.0 } else { (1.0 - dot / (xx.sqrt() * c_norm)).clamp(0.0, 2.0) }
            } else {
                point.iter().zip(&centroid).map(|(&x, &c)| (f64::from(x) - c).powi(2)).sum()
            };
            if dist.is_nan() { f64::INFINITY } else { dist }
        };
        let mut ranked: Vec<(f64, usize)> = rows.iter().map(|&i| (distance(i), i)).collect();
        keep_smallest(&mut ranked, top, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        *slot = ranked.into_iter().map(|(_, i)| i).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    fn terms_of(list: &[(String, f64)]) -> Vec<&str> {
        list.iter().map(|(t, _)| t.as_str()).collect()
    }

    #[test]
    fn stop_words_are_sorted_and_unique() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]), "STOP_WORDS must be strictly increasing");
        assert!(STOP_WORDS.iter().all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase())));
        assert!(is_stop_word("the") && is_stop_word("dont") && is_stop_word("yourselves") && is_stop_word("a"));
        assert!(STOP_WORDS.iter().all(|w| is_stop_word(w)), "every stop word is found through the index");
        for word in ["refund", "", "aardvark", "youth", "zebra", "yourselvesx", "b", "école", "Ab", "1st"] {
            assert!(!is_stop_word(word), "{word}");
        }
    }

    #[test]
    fn tokenize_punctuation_case_and_stop_words() {
        assert_eq!(tokenize("Hello, WORLD! Stop-words; e-mail x y"), ["hello", "world", "stop", "words", "mail"]);
        assert_eq!(tokenize("The refund was late, and the delivery too."), ["refund", "late", "delivery"]);
        assert_eq!(tokenize(""), Vec::<String>::new());
        assert_eq!(tokenize("  ...  !!! "), Vec::<String>::new());
    }

    #[test]
    fn tokenize_apostrophes() {
        // "don't" -> "dont" and "it's" -> "its" are stop words; the others are kept joined.
        assert_eq!(tokenize("I don't know, it's rock'n'roll"), ["know", "rocknroll"]);
        assert_eq!(tokenize("l’amour O\u{2BC}Neill"), ["lamour", "oneill"]);
        // Outside a word an apostrophe separates.
        assert_eq!(tokenize("'quoted' words' ''ab"), ["quoted", "words", "ab"]);
        assert_eq!(tokenize("ab''cd"), ["ab", "cd"]);
    }

    #[test]
    fn tokenize_digits() {
        assert_eq!(tokenize("in 2024 the covid19 wave, 3d printing, 42 and 7"), ["covid19", "wave", "3d", "printing"]);
        // Non-ASCII digits are digits too.
        assert_eq!(tokenize("١٢٣ ok"), ["ok"]);
    }

    #[test]
    fn tokenize_unicode() {
        assert_eq!(tokenize("Café crème"), ["café", "crème"]);
        assert_eq!(tokenize("ÉCOLE Straße"), ["école", "straße"]);
        assert_eq!(tokenize("東京 é"), ["東京"]);
        // The word-final sigma.
        assert_eq!(tokenize("ΟΔΟΣ"), ["οδος"]);
        // Decomposed accents stay in the word.
        assert_eq!(tokenize("Cafe\u{301} ok"), ["cafe\u{301}", "ok"]);
        assert_eq!(tokenize("\u{301}ab"), ["ab"]);
    }

    #[test]
    fn ctfidf_matches_the_formula() {
        let texts = [
            Some("apple banana"),
            Some("apple cherry"),
            Some("banana date"),
            Some("date banana"),
            Some("cherry elderberry"),
            Some("elderberry fig"),
            Some("apple apple apple"), // noise
            Some("apple apple apple"), // label out of range
            None,                      // missing
        ];
        let labels = [0, 0, 1, 1, 2, 2, -1, 3, 1];
        let res = ctfidf_terms(&labels, 3, |i| texts[i], 10);
        assert_eq!(res.len(), 3);
        // Counts: c0 apple 2, banana 1, cherry 1; c1 banana 2, date 2; c2 cherry 1, elderberry 2, fig 1 (4 terms each).
        // Corpus: apple 2, banana 3, cherry 2, date 2, elderberry 2, fig 1; A = 12 / 3 = 4.
        let a = 4.0_f64;
        let s = |count: f64, total: f64, f: f64| (count / total) * (1.0 + a / f).ln();
        assert_eq!(terms_of(&res[0]), ["apple", "cherry", "banana"]);
        assert!(close(res[0][0].1, s(2.0, 4.0, 2.0)));
        assert!(close(res[0][1].1, s(1.0, 4.0, 2.0)));
        assert!(close(res[0][2].1, s(1.0, 4.0, 3.0)));
        assert_eq!(terms_of(&res[1]), ["date", "banana"]);
        assert!(close(res[1][0].1, 0.5 * 3f64.ln()));
        assert!(close(res[1][1].1, 0.5 * (7.0f64 / 3.0).ln()));
        // "fig" occurs once in the corpus: dropped.
        assert_eq!(terms_of(&res[2]), ["elderberry", "cherry"]);
        assert!(close(res[2][0].1, s(2.0, 4.0, 2.0)));
        assert!(close(res[2][1].1, s(1.0, 4.0, 2.0)));

        let top1 = ctfidf_terms(&labels, 3, |i| texts[i], 1);
        assert_eq!(top1.iter().map(|l| terms_of(l)).collect::<Vec<_>>(), [["apple"], ["date"], ["elderberry"]]);
        assert_eq!(auto_name(&res[0], 2), "apple · cherry");
    }

    #[test]
    fn ctfidf_ties_are_alphabetical() {
        let texts = ["zeta alpha", "alpha zeta", "gamma beta", "beta gamma"];
        let res = ctfidf_terms(&[0, 0, 1, 1], 2, |i| Some(texts[i]), 5);
        assert_eq!(terms_of(&res[0]), ["alpha", "zeta"]);
        assert_eq!(terms_of(&res[1]), ["beta", "gamma"]);
        assert_eq!(res[0][0].1.to_bits(), res[0][1].1.to_bits());
        // Each term: tf 1/2, f 2, A 4.
        assert!(close(res[0][0].1, 0.5 * 3f64.ln()));
    }

    #[test]
    fn ctfidf_keeps_single_occurrences_when_nothing_else_is_left() {
        // c0: shared ×2, words ×2 (total 4); c1: lonely (total 1); c2: only stop words, so empty and not in A.
        let texts = ["shared words", "shared words", "lonely", "the and of"];
        let res = ctfidf_terms(&[0, 0, 1, 2], 4, |i| Some(texts[i]), 5);
        assert_eq!(res.len(), 4);
        let a = 5.0 / 2.0;
        assert_eq!(terms_of(&res[1]), ["lonely"]);
        assert!(close(res[1][0].1, (1.0 + a / 1.0f64).ln()));
        assert_eq!(terms_of(&res[0]), ["shared", "words"]);
        assert!(close(res[0][0].1, 0.5 * (1.0 + a / 2.0f64).ln()));
        assert!(res[2].is_empty() && res[3].is_empty());
    }

    #[test]
    fn ctfidf_empty_inputs() {
        let none = |_: usize| -> Option<&'static str> { None };
        assert!(ctfidf_terms(&[], 0, none, 5).is_empty());
        assert_eq!(ctfidf_terms(&[], 3, none, 5), vec![Vec::new(); 3]);
        assert_eq!(ctfidf_terms(&[0, 1, -1], 2, none, 5), vec![Vec::new(); 2]);
        assert_eq!(ctfidf_terms(&[0, 1], 2, |_| Some("apple pie"), 0), vec![Vec::new(); 2]);
        assert!(ctfidf_terms(&[0, 1], 0, |_| Some("apple pie"), 3).is_empty());
        assert_eq!(ctfidf_terms(&[-1, -2, 7], 2, |_| Some("apple pie"), 3), vec![Vec::new(); 2]);
    }

    #[test]
    fn auto_name_joins_the_first_terms() {
        let terms: Vec<(String, f64)> = ["refund", "delivery", "late", "box"].iter().map(|t| ((*t).to_owned(), 1.0)).collect();
        assert_eq!(auto_name(&terms, 3), "refund · delivery · late");
        assert_eq!(auto_name(&terms, 10), "refund · delivery · late · box");
        assert_eq!(auto_name(&terms[..1], 3), "refund");
        assert_eq!(auto_name(&terms, 0), "");
        assert_eq!(auto_name(&[], 3), "");
    }

    #[test]
    fn top_values_counts_and_shares() {
        let values = [Some("b"), Some("a"), Some("b"), Some(""), None, Some("a"), Some("z"), Some("a"), Some("c"), Some("c")];
        let labels = [0, 0, 0, 0, 0, -1, 7, 1, 1, 1];
        let res = top_values(&labels, 3, |i| values[i].map(str::to_owned), 5);
        assert_eq!(res.len(), 3);
        // Cluster 0 has 5 rows (two without a value).
        assert_eq!(res[0], [("b".to_owned(), 2, 2.0 / 5.0), ("a".to_owned(), 1, 1.0 / 5.0)]);
        assert_eq!(res[1], [("c".to_owned(), 2, 2.0 / 3.0), ("a".to_owned(), 1, 1.0 / 3.0)]);
        assert!(res[2].is_empty());

        // Equal counts: value ascending; `top` truncates.
        let vals = ["y", "x", "z", "x", "y", "w"];
        let res = top_values(&[0; 6], 1, |i| Some(vals[i].to_owned()), 2);
        assert_eq!(res[0], [("x".to_owned(), 2, 2.0 / 6.0), ("y".to_owned(), 2, 2.0 / 6.0)]);
    }

    #[test]
    fn top_values_empty_inputs() {
        assert!(top_values(&[], 0, |_| None, 3).is_empty());
        assert_eq!(top_values(&[], 2, |_| None, 3), vec![Vec::new(); 2]);
        assert_eq!(top_values(&[0, 1], 2, |_| Some("v".to_owned()), 0), vec![Vec::new(); 2]);
        assert_eq!(top_values(&[0, 0], 1, |_| Some(String::new()), 3), vec![Vec::new(); 1]);
    }

    #[test]
    fn nearest_euclidean_and_cosine() {
        // Cluster 0: (0,0) (2,0) (0,2) (1,1), centroid (0.75, 0.75).
        // Squared distances 1.125, 2.125, 2.125, 0.125: row 3 first, the tie between rows 1 and 2 by index.
        // Cluster 1 (rows 4..8): (1,0) (0,1) (2,2) (0,0), centroid (0.75, 0.75).
        // Squared distances 0.625, 0.625, 3.125, 1.125; cosine distances 1 - 1/√2, 1 - 1/√2, 0, 1 (zero length).
        // Row 8 is noise, row 9 out of range.
        #[rustfmt::skip]
        let data = [
            0.0, 0.0, 2.0, 0.0, 0.0, 2.0, 1.0, 1.0,
            1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 0.0, 0.0,
            0.7, 0.7, 0.8, 0.8,
        ];
        let labels = [0, 0, 0, 0, 1, 1, 1, 1, -1, 5];
        let euclid = nearest_to_centroid(&data, 2, &labels, 3, false, 10);
        assert_eq!(euclid, [vec![3, 0, 1, 2], vec![4, 5, 7, 6], vec![]]);
        let cos = nearest_to_centroid(&data, 2, &labels, 3, true, 10);
        assert_eq!(cos[1], [6, 4, 5, 7]);
        // Cluster 0 in cosine: (1,1) at 0, (2,0) and (0,2) at 1 - 1/√2, (0,0) at 1.
        assert_eq!(cos[0], [3, 1, 2, 0]);
        assert_eq!(nearest_to_centroid(&data, 2, &labels, 3, false, 2), [vec![3, 0], vec![4, 5], vec![]]);
    }

    #[test]
    fn nearest_zero_centroid_and_non_finite() {
        // Centroid (0,0): every cosine distance is 1, so index order.
        let data = [1.0, 0.0, -1.0, 0.0];
        assert_eq!(nearest_to_centroid(&data, 2, &[0, 0], 1, true, 5), [vec![0, 1]]);
        // A NaN row only affects its own cluster.
        let data = [f32::NAN, 0.0, 1.0, 1.0, 2.0, 2.0];
        assert_eq!(nearest_to_centroid(&data, 2, &[0, 1, 1], 2, false, 5), [vec![0], vec![1, 2]]);
        // A NaN coordinate makes the centroid NaN: every distance is then infinite, and the order is by index.
        let data = [1.0, 1.0, f32::NAN, 1.0, 0.0, 0.0];
        assert_eq!(nearest_to_centroid(&data, 2, &[0, 0, 0], 1, false, 5), [vec![0, 1, 2]]);
        // In cosine the zero-length row keeps its distance 1, ahead of the infinite ones.
        assert_eq!(nearest_to_centroid(&data, 2, &[0, 0, 0], 1, true, 5), [vec![2, 0, 1]]);
    }

    #[test]
    fn nearest_empty_and_degenerate_inputs() {
        assert!(nearest_to_centroid(&[], 2, &[], 0, false, 3).is_empty());
        assert_eq!(nearest_to_centroid(&[], 2, &[], 2, true, 3), vec![Vec::<usize>::new(); 2]);
        // d = 0: every row is the empty vector.
        assert_eq!(nearest_to_centroid(&[], 0, &[1, 0, 1, 1, -1], 2, false, 2), [vec![1], vec![0, 2]]);
        assert_eq!(nearest_to_centroid(&[], 0, &[0, 0], 1, true, 5), [vec![0, 1]]);
        // Fewer data rows than labels, and a trailing partial row: only the complete rows 0 and 1 count.
        assert_eq!(nearest_to_centroid(&[0.0, 0.0, 1.0, 1.0, 9.0], 2, &[0, 0, 0, 0], 1, false, 5), [vec![0, 1]]);
        assert_eq!(nearest_to_centroid(&[0.0, 1.0], 1, &[0, 0], 1, false, 0), [Vec::<usize>::new()]);
        assert_eq!(nearest_to_centroid(&[0.0, 1.0], 1, &[0, 0], 0, false, 5), Vec::<Vec<usize>>::new());
    }
}
