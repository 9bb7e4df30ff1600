//! Dense kernels: the f32 GEMM behind every distance computation, and row norms.
//!
//! All distance work goes through [`dot_nt`], so a faster GEMM can replace
//! `matrixmultiply` here without touching the algorithms.

/// Rows per block in blocked distance computations: the block's dot products with up to a few
/// hundred centroids or rows stay in L2 cache.
pub const ROW_BLOCK: usize = 256;

/// Up to this many `b` rows, [`dot_nt`] uses the direct kernel: with few centroids a GEMM spends
/// more time packing the data block than multiplying it (`cargo bench --bench engine -- dot_nt`).
pub const DIRECT_MAX_K: usize = 32;

/// `out[i*ldo + j] = a_i · b_j` for `a` (m×d, row-major) and `b` (k×d, row-major); `out` is m×k
/// row-major with row stride `ldo` (≥ k). Single-threaded: callers parallelise over row blocks.
pub fn dot_nt(a: &[f32], m: usize, b: &[f32], k: usize, d: usize, out: &mut [f32], ldo: usize) {
    if k <= DIRECT_MAX_K && direct_available() {
        dot_nt_direct(a, m, b, k, d, out, ldo);
    } else {
        dot_nt_gemm(a, m, b, k, d, out, ldo);
    }
}

fn check_shapes(a: &[f32], m: usize, b: &[f32], k: usize, d: usize, out: &[f32], ldo: usize) {
    assert!(a.len() >= m * d && b.len() >= k * d && ldo >= k);
    assert!(m == 0 || out.len() >= (m - 1) * ldo + k);
}

/// [`dot_nt`] through `matrixmultiply`'s f32 GEMM.
pub fn dot_nt_gemm(a: &[f32], m: usize, b: &[f32], k: usize, d: usize, out: &mut [f32], ldo: usize) {
    check_shapes(a, m, b, k, d, out, ldo);
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
    #[expect(clippy::cast_possible_wrap, reason = "a stride or size of an existing slice, so below isize::MAX")]
    let (d_s, ldo_s) = (d as isize, ldo as isize);
    // SAFETY: check_shapes guarantees that every element the GEMM reads (a: m×d with
    // row stride d; b read as its transpose, d×k with column stride d) and writes (out: m×k
    // with row stride ldo) lies inside the slices; `out` does not alias `a` or `b` (&mut).
    unsafe {
        matrixmultiply::sgemm(m, d, k, 1.0, a.as_ptr(), d_s, 1, b.as_ptr(), 1, d_s, 0.0, out.as_mut_ptr(), ldo_s, 1);
    }
}

/// Whether this CPU can run the direct kernel (x86-64 with AVX2 and FMA).
#[must_use]
pub fn direct_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// [`dot_nt`] without packing: each row of `a` against four rows of `b` at a time, in AVX2 registers.
/// Falls back to the GEMM where AVX2/FMA are missing.
pub fn dot_nt_direct(a: &[f32], m: usize, b: &[f32], k: usize, d: usize, out: &mut [f32], ldo: usize) {
    check_shapes(a, m, b, k, d, out, ldo);
    #[cfg(target_arch = "x86_64")]
    {
        if direct_available() {
            // SAFETY: the CPU has AVX2 and FMA (checked), and check_shapes bounds every access.
            unsafe { direct_avx2(a, m, b, k, d, out, ldo) };
            return;
        }
    }
    dot_nt_gemm(a, m, b, k, d, out, ldo);
}

/// The direct kernel for short rows: `out[i·ldo + j] = a_i · b_j` with AVX2 and FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA ([`direct_available`]). Nothing else: rows are taken by
/// checked slicing, and the unchecked loads stay inside those rows.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[expect(clippy::many_single_char_names, reason = "the names of the published algorithm")]
unsafe fn direct_avx2(a: &[f32], m: usize, b: &[f32], k: usize, d: usize, out: &mut [f32], ldo: usize) {
    use std::arch::x86_64::{__m256, _mm256_castps256_ps128, _mm256_extractf128_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_setzero_ps};
    use std::arch::x86_64::{_mm_add_ps, _mm_add_ss, _mm_cvtss_f32, _mm_movehl_ps, _mm_shuffle_ps};
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }
    let d8 = d / 8 * 8;
    let tail = |x: &[f32], c: &[f32]| -> f32 { x[d8..d].iter().zip(&c[d8..d]).map(|(p, q)| p * q).sum() };
    // Two rows × four columns: eight independent FMA chains keep both FMA units busy.
    let mut i = 0;
    while i + 2 <= m {
        let (x0, x1) = (&a[i * d..(i + 1) * d], &a[(i + 1) * d..(i + 2) * d]);
        // The next two rows, asked from memory while these two meet the first columns.
        let ahead = a.get((i + 2) * d..(i + 4) * d);
        let mut j = 0;
        while j + 4 <= k {
            let cs = [&b[j * d..(j + 1) * d], &b[(j + 1) * d..(j + 2) * d], &b[(j + 2) * d..(j + 3) * d], &b[(j + 3) * d..(j + 4) * d]];
            let mut acc = [_mm256_setzero_ps(); 8];
            let mut t = 0;
            while t < d8 {
                if j == 0
                    && let Some(next) = ahead
                {
                    // One cache line (16 floats) of the next rows per 8 floats of these: the
                    // 2d floats ahead are covered while t runs over d.
                    let p = (2 * t).min(next.len() - 1);
                    // SAFETY: p < next.len(); a prefetch has no architectural effect.
                    unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(next.as_ptr().add(p).cast::<i8>()) };
                }
                // SAFETY: t + 8 ≤ d8 ≤ d, and x0, x1 and every cs[..] have d elements.
                unsafe {
                    let (v0, v1) = (_mm256_loadu_ps(x0.as_ptr().add(t)), _mm256_loadu_ps(x1.as_ptr().add(t)));
                    for (q, c) in cs.iter().enumerate() {
                        let cv = _mm256_loadu_ps(c.as_ptr().add(t));
                        acc[q] = _mm256_fmadd_ps(v0, cv, acc[q]);
                        acc[4 + q] = _mm256_fmadd_ps(v1, cv, acc[4 + q]);
                    }
                }
                t += 8;
            }
            for (q, c) in cs.iter().enumerate() {
                out[i * ldo + j + q] = hsum(acc[q]) + tail(x0, c);
                out[(i + 1) * ldo + j + q] = hsum(acc[4 + q]) + tail(x1, c);
            }
            j += 4;
        }
        for jj in j..k {
            let c = &b[jj * d..(jj + 1) * d];
            out[i * ldo + jj] = dot_one(x0, c, d8) + tail(x0, c);
            out[(i + 1) * ldo + jj] = dot_one(x1, c, d8) + tail(x1, c);
        }
        i += 2;
    }
    if i < m {
        let x = &a[i * d..(i + 1) * d];
        for j in 0..k {
            let c = &b[j * d..(j + 1) * d];
            out[i * ldo + j] = dot_one(x, c, d8) + tail(x, c);
        }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn dot_one(x: &[f32], c: &[f32], d8: usize) -> f32 {
        let mut s = _mm256_setzero_ps();
        let mut t = 0;
        while t < d8 {
            // SAFETY: t + 8 ≤ d8 ≤ len of both slices.
            unsafe {
                s = _mm256_fmadd_ps(_mm256_loadu_ps(x.as_ptr().add(t)), _mm256_loadu_ps(c.as_ptr().add(t)), s);
            }
            t += 8;
        }
        hsum(s)
    }
}

/// Squared euclidean norm of every row, accumulated in f64.
#[must_use]
pub fn row_norms_sq(data: &[f32], d: usize) -> Vec<f64> {
    if d == 0 {
        return vec![0.0; 0];
    }
    use rayon::prelude::*;
    data.par_chunks_exact(d).map(sum_sq).collect()
}

/// Σ v² in f64 with eight independent accumulators (vectorisable).
#[must_use]
#[inline]
pub fn sum_sq(row: &[f32]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (chunks, tail) = row.as_chunks::<8>();
    for c in chunks {
        for l in 0..8 {
            acc[l] += f64::from(c[l]) * f64::from(c[l]);
        }
    }
    acc.iter().sum::<f64>() + tail.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>()
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

/// Squared euclidean distance in f64 with eight independent accumulators (vectorisable): exact
/// differences, rounding only in the f64 sums.
#[must_use]
pub fn sq_dist_exact(a: &[f32], b: &[f32]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if direct_available() {
            // SAFETY: the CPU has AVX2 and FMA (checked).
            return unsafe { sq_dist_exact_avx2(a, b) };
        }
    }
    sq_dist_exact_lanes(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sq_dist_exact_avx2(a: &[f32], b: &[f32]) -> f64 {
    sq_dist_exact_lanes(a, b)
}

#[inline(always)]
fn sq_dist_exact_lanes(a: &[f32], b: &[f32]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, ta) = a.as_chunks::<8>();
    let (cb, tb) = b.as_chunks::<8>();
    for (x, y) in ca.iter().zip(cb) {
        for l in 0..8 {
            let t = f64::from(x[l]) - f64::from(y[l]);
            acc[l] += t * t;
        }
    }
    acc.iter().sum::<f64>() + sq_dist_f64(ta, tb)
}

/// Squared euclidean distance: the f32 differences squared into eight independent f32 lanes
/// (vectorised; with AVX2 where the CPU has it), the lanes summed in f64.
#[must_use]
pub fn sq_dist(a: &[f32], b: &[f32]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        if direct_available() {
            // SAFETY: the CPU has AVX2 and FMA (checked).
            return unsafe { sq_dist_avx2(a, b) };
        }
    }
    sq_dist_lanes(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sq_dist_avx2(a: &[f32], b: &[f32]) -> f64 {
    sq_dist_lanes(a, b)
}

#[inline(always)]
fn sq_dist_lanes(a: &[f32], b: &[f32]) -> f64 {
    let mut acc = [0.0f32; 8];
    let (ca, ta) = a.as_chunks::<8>();
    let (cb, tb) = b.as_chunks::<8>();
    for (x, y) in ca.iter().zip(cb) {
        for l in 0..8 {
            let t = x[l] - y[l];
            acc[l] += t * t;
        }
    }
    acc.iter().map(|&v| f64::from(v)).sum::<f64>() + sq_dist_f64(ta, tb)
}

/// `dst[i] += x[i]` (vectorised; with AVX2 where the CPU has it).
pub fn add_assign(dst: &mut [f32], x: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if direct_available() {
            // SAFETY: the CPU has AVX2 and FMA (checked).
            unsafe { add_assign_avx2(dst, x) };
            return;
        }
    }
    add_assign_lanes(dst, x);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn add_assign_avx2(dst: &mut [f32], x: &[f32]) {
    add_assign_lanes(dst, x);
}

#[inline(always)]
fn add_assign_lanes(dst: &mut [f32], x: &[f32]) {
    for (a, &v) in dst.iter_mut().zip(x) {
        *a += v;
    }
}

/// `dst[i] += x[i] - o[i]` (vectorised; with AVX2 where the CPU has it).
pub fn add_diff(dst: &mut [f32], x: &[f32], o: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if direct_available() {
            // SAFETY: the CPU has AVX2 and FMA (checked).
            unsafe { add_diff_avx2(dst, x, o) };
            return;
        }
    }
    add_diff_lanes(dst, x, o);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn add_diff_avx2(dst: &mut [f32], x: &[f32], o: &[f32]) {
    add_diff_lanes(dst, x, o);
}

#[inline(always)]
fn add_diff_lanes(dst: &mut [f32], x: &[f32], o: &[f32]) {
    for ((a, &v), &w) in dst.iter_mut().zip(x).zip(o) {
        *a += v - w;
    }
}

/// Splits `v` into consecutive chunks of the ranges' lengths (ranges from [`fixed_ranges`]), one
/// per parallel task.
pub(crate) fn split_by_ranges<'v, T>(mut v: &'v mut [T], ranges: &[std::ops::Range<usize>]) -> Vec<&'v mut [T]> {
    let mut out = Vec::with_capacity(ranges.len());
    for r in ranges {
        let (a, b) = v.split_at_mut(r.len());
        out.push(a);
        v = b;
    }
    out
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
    fn dot_nt_matches_naive_products_on_both_paths() {
        for &(m, k, d) in &[(5, 3, 7), (9, 6, 37), (4, 40, 19), (3, 33, 8), (2, 5, 0)] {
            check_dot_nt(m, k, d, dot_nt_gemm);
            check_dot_nt(m, k, d, dot_nt_direct);
        }
    }

    type DotNt = fn(&[f32], usize, &[f32], usize, usize, &mut [f32], usize);

    fn check_dot_nt(m: usize, k: usize, d: usize, f: DotNt) {
        let a: Vec<f32> = (0..m * d).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * d).map(|i| (i as f32 * 0.11).cos()).collect();
        let ldo = k + 1;
        let mut out = vec![1.0f32; m * ldo];
        f(&a, m, &b, k, d, &mut out, ldo);
        for i in 0..m {
            for j in 0..k {
                let want = dot_f64(&a[i * d..(i + 1) * d], &b[j * d..(j + 1) * d]);
                assert!((f64::from(out[i * ldo + j]) - want).abs() < 1e-4, "m={m} k={k} d={d} ({i},{j})");
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
