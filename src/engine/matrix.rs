//! The one in-memory representation of a set of embeddings.

/// `n` vectors of dimension `d`, one contiguous row-major `f32` buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    data: Vec<f32>,
    n: usize,
    d: usize,
}

impl Matrix {
    /// The most rows a matrix holds (i32::MAX): row indices then fit in a `u32` and cluster
    /// labels (with −1 for noise) in an `i32` everywhere in the engine.
    pub const MAX_ROWS: usize = i32::MAX as usize;

    /// Wraps a row-major buffer; `None` when `data.len() != n * d` or `n` is above [`Self::MAX_ROWS`].
    #[must_use]
    pub fn new(data: Vec<f32>, n: usize, d: usize) -> Option<Self> {
        (n <= Self::MAX_ROWS && n.checked_mul(d) == Some(data.len())).then_some(Self { data, n, d })
    }

    /// Number of rows (points).
    #[must_use]
    pub fn n(&self) -> usize {
        self.n
    }

    /// Dimension of every row.
    #[must_use]
    pub fn d(&self) -> usize {
        self.d
    }

    /// The whole row-major buffer.
    #[must_use]
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// The row-major buffer back, for reuse.
    #[must_use]
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// Row `i`.
    #[must_use]
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.d..(i + 1) * self.d]
    }

    /// The rows at `idx`, in that order.
    ///
    /// # Panics
    /// When an index is out of range.
    #[must_use]
    pub fn select_rows(&self, idx: &[usize]) -> Self {
        let mut data = Vec::with_capacity(idx.len() * self.d);
        for (t, &i) in idx.iter().enumerate() {
            // Scattered rows come from memory one by one: ask for a row a few ahead while this
            // one is copied, so that their reads overlap.
            if let Some(&ahead) = idx.get(t + SELECT_AHEAD) {
                prefetch_row(self.row(ahead));
            }
            data.extend_from_slice(self.row(i));
        }
        Self { data, n: idx.len(), d: self.d }
    }

    /// Keeps only the rows for which `keep` is true, in order.
    #[must_use]
    pub fn filter_rows(&self, keep: &[bool]) -> Self {
        let mut data = Vec::with_capacity(self.data.len());
        let mut n = 0;
        for (i, &k) in keep.iter().enumerate().take(self.n) {
            if k {
                data.extend_from_slice(self.row(i));
                n += 1;
            }
        }
        Self { data, n, d: self.d }
    }

    /// The rows scaled to unit length, and the indices of rows of length zero (left as zeros).
    #[must_use]
    pub fn normalized(&self) -> (Self, Vec<usize>) {
        use rayon::prelude::*;
        let mut data = self.data.clone();
        let mut zero = Vec::new();
        if self.d > 0 {
            // Rows are independent: blocks of them in parallel, zero rows gathered in order.
            const ROWS: usize = 1024;
            let parts: Vec<Vec<usize>> = data
                .par_chunks_mut(self.d * ROWS)
                .enumerate()
                .map(|(b, block)| {
                    let mut zero = Vec::new();
                    for (i, row) in block.chunks_exact_mut(self.d).enumerate() {
                        if !scale_to_unit(row) {
                            zero.push(b * ROWS + i);
                        }
                    }
                    zero
                })
                .collect();
            zero = parts.concat();
        }
        (Self { data, n: self.n, d: self.d }, zero)
    }
}

/// Rows [`Matrix::select_rows`] asks for ahead of the one it copies.
const SELECT_AHEAD: usize = 4;

/// Asks for every cache line of `row` from memory ahead of its use.
#[inline]
fn prefetch_row(row: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for t in (0..row.len()).step_by(16) {
        // SAFETY: t < row.len(); a prefetch has no architectural effect (SSE is part of x86-64).
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(row.as_ptr().add(t).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// Scales `row` to unit length in place, exactly as [`Matrix::normalized`] does (the norm in
/// f64, one f32 factor); `false`, and the row left as it is, when its length is zero.
pub fn scale_to_unit(row: &mut [f32]) -> bool {
    let norm = row.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt();
    if norm > 0.0 {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
        )]
        let inv = (1.0 / norm) as f32;
        row.iter_mut().for_each(|v| *v *= inv);
        true
    } else {
        false
    }
}
