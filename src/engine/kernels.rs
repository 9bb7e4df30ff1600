//! Dense kernels: the f32 GEMM behind every distance computation, and row norms.
//!
//! All distance work goes through [`dot_nt`], so a faster GEMM can replace
//! `matrixmultiply` here without touching the algorithms.

/// Rows per block in blocked distance computations: the block's dot products with up to a few
/// hundred centroids or rows stay in L2 cache.
pub const ROW_BLOCK: usize = 256;

/// `out[i*ldo + j] = a_i · b_j` for `a` (m×d, row-major) and `b` (k×d, row-major); `out` is m×k
/// row-major with row stride `ldo` (≥ k). Single-threaded: callers parallelise over row blocks.
pub fn dot_nt(a: &[f32], m: usize, b: &[f32], k: usize, d: usize, out: &mut [f32], ldo: usize) {
    assert!(a.len() >= m * d && b.len() >= k * d && ldo >= k);
    assert!(m == 0 || out.len() >= (m - 1) * ldo + k);
    if m == 0 || k == 0 {
        return;
    }
    if d == 0 {
        for i in 0..m {
            out[i * ldo..i * ldo + k].fill(0.0);
        }
        return;
    }
    // Strides are below isize::MAX because the slices exist.
    #[allow(clippy::cast_possible_wrap)]
    let (d_s, ldo_s) = (d as isize, ldo as isize);
    // SAFETY: the asserts above guarantee that every element the GEMM reads (a: m×d with
    // row stride d; b read as its transpose, d×k with column stride d) and writes (out: m×k
    // with row stride ldo) lies inside the slices; `out` does not alias `a` or `b` (&mut).
    unsafe {
        matrixmultiply::sgemm(m, d, k, 1.0, a.as_ptr(), d_s, 1, b.as_ptr(), 1, d_s, 0.0, out.as_mut_ptr(), ldo_s, 1);
    }
}

/// Squared euclidean norm of every row, accumulated in f64.
#[must_use]
pub fn row_norms_sq(data: &[f32], d: usize) -> Vec<f64> {
    if d == 0 {
        return vec![0.0; 0];
    }
    data.chunks_exact(d).map(|r| r.iter().map(|&v| f64::from(v) * f64::from(v)).sum()).collect()
}

/// Dot product in f64.
#[must_use]
pub fn dot_f64(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum()
}

/// Squared euclidean distance in f64.
#[must_use]
pub fn sq_dist_f64(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let t = f64::from(x) - f64::from(y);
            t * t
        })
        .sum()
}

/// Splits `0..n` into `parts` contiguous ranges of near-equal size (fewer when n is small).
/// A fixed partition keeps parallel reductions deterministic whatever the thread count.
#[must_use]
pub fn fixed_ranges(n: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let parts = parts.clamp(1, n.max(1));
    let base = n / parts;
    let extra = n % parts;
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for p in 0..parts {
        let len = base + usize::from(p < extra);
        out.push(start..start + len);
        start += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_nt_matches_naive_products() {
        let (m, k, d) = (5, 3, 7);
        let a: Vec<f32> = (0..m * d).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * d).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut out = vec![0.0f32; m * 4];
        dot_nt(&a, m, &b, k, d, &mut out, 4);
        for i in 0..m {
            for j in 0..k {
                let want = dot_f64(&a[i * d..(i + 1) * d], &b[j * d..(j + 1) * d]);
                assert!((f64::from(out[i * 4 + j]) - want).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn fixed_ranges_cover_everything_once() {
        for &(n, p) in &[(0, 4), (3, 8), (100, 7), (64, 64)] {
            let r = fixed_ranges(n, p);
            assert_eq!(r.iter().map(ExactSizeIterator::len).sum::<usize>(), n);
            for w in r.windows(2) {
                assert_eq!(w[0].end, w[1].start);
            }
        }
    }
}
