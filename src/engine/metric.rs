//! Distance metrics and the per-dataset state they need.

use std::sync::OnceLock;

use super::matrix::Matrix;

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
    derived: super::cache::Derived,
}

impl Embeddings {
    /// Wraps a matrix.
    #[must_use]
    pub fn new(raw: Matrix) -> Self {
        Self { raw, unit: OnceLock::new(), derived: super::cache::Derived::default() }
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
        &self.unit_pair().1
    }

    /// Graphs and trees computed from these embeddings, for reuse.
    pub(crate) fn derived(&self) -> &super::cache::Derived {
        &self.derived
    }

    fn unit_pair(&self) -> &(Matrix, Vec<usize>) {
        self.unit.get_or_init(|| self.raw.normalized())
    }
}
