//! Distance metrics and the per-dataset state they need.

use std::sync::OnceLock;

use crate::engine::matrix::Matrix;

/// How distances between embeddings are measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// ‖x − y‖₂.
    #[default]
    Euclidean,
    /// 1 − cos θ, as scikit-learn's `cosine` metric; rows are L2-normalised once.
    Cosine,
}

impl Metric {
    /// Every metric, for pickers.
    pub const ALL: [Self; 2] = [Self::Euclidean, Self::Cosine];

    /// The lowercase name used on the command line and in reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Euclidean => "euclidean",
            Self::Cosine => "cosine",
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "euclidean" | "l2" => Ok(Self::Euclidean),
            "cosine" | "cos" => Ok(Self::Cosine),
            other => Err(format!("unknown metric '{other}': use euclidean or cosine")),
        }
    }
}

/// The embeddings of a dataset, with the unit-length copy the cosine metric needs computed
/// once, on first use.
#[derive(Debug)]
pub struct Embeddings {
    raw: Matrix,
    unit: OnceLock<(Matrix, Vec<usize>)>,
    zero: OnceLock<Vec<usize>>,
    distinct: OnceLock<usize>,
    derived: crate::engine::cache::Derived,
}

impl Embeddings {
    /// Wraps a matrix.
    #[must_use]
    pub fn new(raw: Matrix) -> Self {
        Self {
            raw,
            unit: OnceLock::new(),
            zero: OnceLock::new(),
            distinct: OnceLock::new(),
            derived: crate::engine::cache::Derived::default(),
        }
    }

    /// Wraps a matrix with the unit-length copy and zero rows that [`Matrix::normalized`]
    /// gives, made by the caller (who may make it in the same pass as the copy of the input).
    #[must_use]
    pub fn with_unit(raw: Matrix, unit: Matrix, zero_rows: Vec<usize>) -> Self {
        let e = Self::new(raw);
        let _ = e.unit.set((unit, zero_rows));
        e
    }

    /// The vectors as loaded.
    #[must_use]
    pub fn raw(&self) -> &Matrix {
        &self.raw
    }

    /// The vectors in which `metric` is computed: as loaded for euclidean, unit length for cosine.
    #[must_use]
    pub fn points(&self, metric: Metric) -> &Matrix {
        match metric {
            Metric::Euclidean => &self.raw,
            Metric::Cosine => &self.unit_pair().0,
        }
    }

    /// Rows of length zero: their cosine distance to everything is 1, by convention.
    #[must_use]
    pub fn zero_rows(&self) -> &[usize] {
        if let Some((_, zero)) = self.unit.get() {
            return zero;
        }
        // Without the unit copy (which a euclidean run never needs): a row has length zero
        // exactly when every value is 0, as `scale_to_unit` decides.
        self.zero.get_or_init(|| {
            use rayon::prelude::*;
            let m = &self.raw;
            (0..m.n()).into_par_iter().filter(|&i| m.row(i).iter().all(|&v| v == 0.0)).collect()
        })
    }

    /// Number of distinct rows (exact duplicates counted once; −0 equals 0), computed once.
    #[must_use]
    pub fn distinct_rows(&self) -> usize {
        *self.distinct.get_or_init(|| {
            use rayon::prelude::*;
            let m = &self.raw;
            let key = |v: f32| if v == 0.0 { 0u32 } else { v.to_bits() };
            // xxh3 of each row's keys (−0 made 0), rows in parallel: a few ms at 100k × 384.
            let mut order: Vec<(u64, usize)> = (0..m.n())
                .into_par_iter()
                .map_init(Vec::new, |buf: &mut Vec<u8>, i| {
                    buf.clear();
                    buf.extend(m.row(i).iter().flat_map(|&v| key(v).to_le_bytes()));
                    (xxhash_rust::xxh3::xxh3_64(buf), i)
                })
                .collect();
            order.par_sort_unstable();
            let same = |a: usize, b: usize| m.row(a).iter().zip(m.row(b)).all(|(&x, &y)| key(x) == key(y));
            let mut distinct = 0;
            let mut start = 0;
            while start < order.len() {
                let mut end = start + 1;
                while end < order.len() && order[end].0 == order[start].0 {
                    end += 1;
                }
                // Within one hash value, count rows unequal to every earlier one.
                for x in start..end {
                    if !(start..x).any(|y| same(order[x].1, order[y].1)) {
                        distinct += 1;
                    }
                }
                start = end;
            }
            distinct
        })
    }

    /// Graphs and trees computed from these embeddings, for reuse.
    pub(crate) fn derived(&self) -> &crate::engine::cache::Derived {
        &self.derived
    }

    fn unit_pair(&self) -> &(Matrix, Vec<usize>) {
        self.unit.get_or_init(|| self.raw.normalized())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_rows_are_the_same_without_and_with_the_unit_copy() {
        let data = vec![1.0, 0.0, 0.0, 0.0, -0.0, 0.0, 1e-40, 0.0, 0.0, 0.0, 0.0, 0.0];
        let e = Embeddings::new(Matrix::new(data.clone(), 4, 3).unwrap());
        assert_eq!(e.zero_rows(), &[1, 3]);
        assert!(e.unit.get().is_none(), "finding zero rows makes no unit copy");
        let f = Embeddings::new(Matrix::new(data, 4, 3).unwrap());
        let _ = f.points(Metric::Cosine);
        assert_eq!(f.zero_rows(), &[1, 3]);
    }
}
