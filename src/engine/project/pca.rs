//! PCA to two dimensions: the d×d covariance by blocked GEMM, then a symmetric eigensolver.
//! Never an SVD of the n×d matrix, never an f64 copy of it.

use rayon::prelude::*;

use crate::engine::control::{Cancelled, Control};
use crate::engine::eigen::symmetric_eigen;
use crate::engine::kernels::fixed_ranges;
use crate::engine::matrix::Matrix;

/// A fitted projection to the plane.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    /// Per-feature mean that was subtracted.
    pub mean: Vec<f64>,
    /// The two principal axes, each of length d (unit vectors).
    pub components: [Vec<f64>; 2],
    /// Variance along each axis (eigenvalues of the covariance, n − 1 denominator).
    pub explained_variance: [f64; 2],
    /// Share of the total variance along each axis.
    pub explained_variance_ratio: [f64; 2],
    /// Coordinates of every row, row-major n×2.
    pub projection: Vec<[f32; 2]>,
}

/// Rows per block of the covariance GEMM.
const COV_BLOCK: usize = 1024;

/// Fits PCA on `data` and projects every row onto the two leading axes.
///
/// Signs follow scikit-learn: each axis is flipped so that its largest-magnitude entry is positive.
pub fn pca_2d(data: &Matrix, ctl: &Control) -> Result<Pca, Cancelled> {
    let (n, d) = (data.n(), data.d());
    // One pass: rows are centred on o, the mean of the first rows (close to the mean, so the
    // correction below is small and nothing cancels), and each range adds up Σ(x − o) and the
    // upper triangle of Σ(x − o)ᵀ(x − o) by f32 GEMM per block, in f64 across blocks; then
    // Σ(x − μ)ᵀ(x − μ) = Σ(x − o)ᵀ(x − o) − n·(μ − o)(μ − o)ᵀ. Fixed ranges, added in order,
    // keep it deterministic.
    let head = n.min(4096);
    let mut o = vec![0.0f64; d];
    for i in 0..head {
        o.iter_mut().zip(data.row(i)).for_each(|(a, &v)| *a += f64::from(v));
    }
    o.iter_mut().for_each(|a| *a /= head.max(1) as f64);
    #[expect(
        clippy::cast_possible_truncation,
        reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
    )]
    let o32: Vec<f32> = o.iter().map(|&m| m as f32).collect();
    let ranges = fixed_ranges(n, n.div_ceil(COV_BLOCK * 2).min(4));
    // Per range: the upper triangle of Σ(x − o)ᵀ(x − o), and Σ(x − o).
    type Sums = (Vec<f64>, Vec<f64>);
    let partial: Vec<Result<Sums, Cancelled>> = ranges
        .par_iter()
        .map(|r| {
            let mut acc = vec![0.0f64; d * d];
            let mut sum = vec![0.0f64; d];
            let mut block = vec![0.0f32; COV_BLOCK * d];
            let mut block_sum = vec![0.0f32; d];
            let mut out = vec![0.0f32; d * d];
            let mut start = r.start;
            while start < r.end {
                ctl.check()?;
                let end = (start + COV_BLOCK).min(r.end);
                let m = end - start;
                block_sum.fill(0.0);
                for (i, dst) in block.chunks_exact_mut(d).take(m).enumerate() {
                    centre_row(dst, data.row(start + i), &o32, &mut block_sum);
                }
                sum.iter_mut().zip(&block_sum).for_each(|(a, &b)| *a += f64::from(b));
                // (block)ᵀ · block: d×m times m×d.
                gemm_tn(&block[..m * d], m, d, &mut out);
                for i in 0..d {
                    for (a, &b) in acc[i * d + i..(i + 1) * d].iter_mut().zip(&out[i * d + i..(i + 1) * d]) {
                        *a += f64::from(b);
                    }
                }
                start = end;
            }
            Ok((acc, sum))
        })
        .collect();
    let mut cov = vec![0.0f64; d * d];
    let mut shift = vec![0.0f64; d];
    for p in partial {
        let (acc, sum) = p?;
        cov.iter_mut().zip(acc).for_each(|(a, b)| *a += b);
        shift.iter_mut().zip(sum).for_each(|(a, b)| *a += b);
    }
    let nf = n as f64;
    // shift = μ − o.
    if n > 0 {
        shift.iter_mut().for_each(|v| *v /= nf);
    }
    for i in 0..d {
        for j in i..d {
            cov[i * d + j] -= nf * shift[i] * shift[j];
        }
    }
    let mean: Vec<f64> = o.iter().zip(&shift).map(|(a, b)| a + b).collect();
    let denom = (nf - 1.0).max(1.0);
    cov.iter_mut().for_each(|c| *c /= denom);
    // Only the upper triangle was accumulated; mirror it.
    for i in 0..d {
        for j in 0..i {
            cov[i * d + j] = cov[j * d + i];
        }
    }
    ctl.check()?;
    ctl.progress("PCA", 0.5);
    let total: f64 = (0..d).map(|i| cov[i * d + i]).sum();
    let (vals, vecs) = top_two(&cov, d);
    let pick = |rank: usize| -> (f64, Vec<f64>) {
        let mut v = vecs[rank].clone();
        let mut big = 0;
        for i in 1..v.len() {
            if v[i].abs() > v[big].abs() {
                big = i;
            }
        }
        if v.get(big).is_some_and(|&x| x < 0.0) {
            v.iter_mut().for_each(|x| *x = -*x);
        }
        (vals[rank].max(0.0), v)
    };
    let (l0, c0) = pick(0);
    let (l1, c1) = pick(1);
    let ratio = |l: f64| if total > 0.0 { l / total } else { 0.0 };
    let projection = project(data, &mean, &c0, &c1);
    Ok(Pca { mean, components: [c0, c1], explained_variance: [l0, l1], explained_variance_ratio: [ratio(l0), ratio(l1)], projection })
}

/// `dst = x − o` in f32, and `sum += dst` (vectorised; AVX2 where the CPU has it).
fn centre_row(dst: &mut [f32], x: &[f32], o: &[f32], sum: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if crate::engine::kernels::direct_available() {
            // SAFETY: the CPU has AVX2 and FMA (checked).
            unsafe { centre_row_avx2(dst, x, o, sum) };
            return;
        }
    }
    centre_row_lanes(dst, x, o, sum);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn centre_row_avx2(dst: &mut [f32], x: &[f32], o: &[f32], sum: &mut [f32]) {
    centre_row_lanes(dst, x, o, sum);
}

#[inline(always)]
fn centre_row_lanes(dst: &mut [f32], x: &[f32], o: &[f32], sum: &mut [f32]) {
    for (((t, &v), &m), s) in dst.iter_mut().zip(x).zip(o).zip(sum.iter_mut()) {
        *t = v - m;
        *s += *t;
    }
}

/// Every row's coordinates on the two axes, (x − μ)·c in f64 (eight lanes per axis, vectorised;
/// AVX2 where the CPU has it).
/// The two axes of a fitted PCA, enough to place new rows.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PcaAxes {
    /// The mean row.
    pub mean: Vec<f64>,
    /// The two leading principal axes (unit length).
    pub components: [Vec<f64>; 2],
}

/// Places rows on fitted axes: (x − μ)·c, exactly as the fit placed its own rows.
///
/// # Panics
/// When the rows' dimension differs from the axes'.
#[must_use]
pub fn project_rows(data: &Matrix, axes: &PcaAxes) -> Vec<[f32; 2]> {
    assert!(axes.mean.len() == data.d() && axes.components.iter().all(|c| c.len() == data.d()), "PCA axes of another dimension");
    project(data, &axes.mean, &axes.components[0], &axes.components[1])
}

fn project(data: &Matrix, mean: &[f64], c0: &[f64], c1: &[f64]) -> Vec<[f32; 2]> {
    #[inline(always)]
    fn one(x: &[f32], mean: &[f64], c0: &[f64], c1: &[f64]) -> [f32; 2] {
        let (mut a, mut b) = ([0.0f64; 8], [0.0f64; 8]);
        let (xs, xt) = x.as_chunks::<8>();
        let (ms, mt) = mean.as_chunks::<8>();
        let (ps, pt) = c0.as_chunks::<8>();
        let (qs, qt) = c1.as_chunks::<8>();
        for (((x, m), p), q) in xs.iter().zip(ms).zip(ps).zip(qs) {
            for l in 0..8 {
                let t = f64::from(x[l]) - m[l];
                a[l] += t * p[l];
                b[l] += t * q[l];
            }
        }
        let (mut u, mut v) = (a.iter().sum::<f64>(), b.iter().sum::<f64>());
        for (((&x, &m), &p), &q) in xt.iter().zip(mt).zip(pt).zip(qt) {
            let t = f64::from(x) - m;
            u += t * p;
            v += t * q;
        }
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
        )]
        [u as f32, v as f32]
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn one_avx2(x: &[f32], mean: &[f64], c0: &[f64], c1: &[f64]) -> [f32; 2] {
        one(x, mean, c0, c1)
    }
    let fast = crate::engine::kernels::direct_available();
    (0..data.n())
        .into_par_iter()
        .map(|i| {
            #[cfg(target_arch = "x86_64")]
            {
                if fast {
                    // SAFETY: the CPU has AVX2 and FMA (checked).
                    return unsafe { one_avx2(data.row(i), mean, c0, c1) };
                }
            }
            let _ = fast;
            one(data.row(i), mean, c0, c1)
        })
        .collect()
}

/// Below this dimension the full eigendecomposition is cheaper than iterating.
const FULL_EIGEN_MAX_D: usize = 64;

/// The two leading eigenpairs of the symmetric d×d matrix `c` (eigenvalues descending).
///
/// Small matrices get a full decomposition. Larger ones use block subspace iteration with
/// Rayleigh–Ritz: each step costs one d×d by d×16 product instead of the O(d³) of a full
/// decomposition, and it stops once both Ritz vectors have a residual ‖Cv − θv‖ ≤ 1e-10·θ₁.
/// If that has not happened within about the full decomposition's cost (a nearly flat
/// spectrum), the full decomposition decides — at once, when the rate at which the residual
/// falls says the tolerance is out of reach within those steps.
fn top_two(c: &[f64], d: usize) -> ([f64; 2], [Vec<f64>; 2]) {
    top_two_how(c, d).0
}

/// Most subspace-iteration steps before the full decomposition decides: about what the full
/// decomposition costs, which grows as d³ against d² per step (measured: ≈ 0.4·d steps).
fn step_budget(d: usize) -> usize {
    (d / 2).max(50)
}
/// Steps over which the residual's rate of decrease is measured.
const RATE_SPAN: usize = 10;

/// How [`top_two`] found its pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Solved {
    /// The full decomposition, for a small matrix.
    Small,
    /// Subspace iteration converged after this many steps.
    Iterated(usize),
    /// The full decomposition after this many steps of iteration.
    Full(usize),
}

fn top_two_how(c: &[f64], d: usize) -> (([f64; 2], [Vec<f64>; 2]), Solved) {
    let full = || {
        let (vals, vecs) = symmetric_eigen(c, d);
        let col = |rank: usize| -> (f64, Vec<f64>) {
            if rank >= d {
                return (0.0, vec![0.0; d]);
            }
            let j = d - 1 - rank;
            (vals[j], (0..d).map(|i| vecs[i * d + j]).collect())
        };
        let ((a, va), (b, vb)) = (col(0), col(1));
        ([a, b], [va, vb])
    };
    if d <= FULL_EIGEN_MAX_D {
        return (full(), Solved::Small);
    }
    let b = 16.min(d);
    let mut rng = crate::engine::rng::Rng::new(0x9CA);
    // q: b orthonormal columns stored as rows (b×d).
    let mut q: Vec<f64> = (0..b * d).map(|_| rng.next_f64() - 0.5).collect();
    orthonormalize(&mut q, b, d);
    let mut z = vec![0.0f64; b * d];
    let max_steps = step_budget(d);
    // ln(residual / tolerance) after each step.
    let mut excess: Vec<f64> = Vec::with_capacity(max_steps);
    for step in 0..max_steps {
        // z_j = C q_j for every row j of q, as one GEMM: Z = Q·C (C is symmetric).
        gemm_f64(&q, b, d, c, d, &mut z);
        // Rayleigh–Ritz on span(q): T = Qᵀ C Q.
        let mut t = vec![0.0f64; b * b];
        for i in 0..b {
            for j in 0..b {
                t[i * b + j] = q[i * d..(i + 1) * d].iter().zip(&z[j * d..(j + 1) * d]).map(|(a, b)| a * b).sum();
            }
        }
        for i in 0..b {
            for j in 0..i {
                let v = 0.5 * (t[i * b + j] + t[j * b + i]);
                t[i * b + j] = v;
                t[j * b + i] = v;
            }
        }
        let (theta, w) = symmetric_eigen(&t, b);
        let ritz = |rank: usize| -> (f64, Vec<f64>, Vec<f64>) {
            let col = b - 1 - rank;
            let mut v = vec![0.0f64; d];
            let mut cv = vec![0.0f64; d];
            for j in 0..b {
                let wj = w[j * b + col];
                for ((vi, cvi), (&qi, &zi)) in v.iter_mut().zip(cv.iter_mut()).zip(q[j * d..(j + 1) * d].iter().zip(&z[j * d..(j + 1) * d]))
                {
                    *vi += wj * qi;
                    *cvi += wj * zi;
                }
            }
            (theta[col], v, cv)
        };
        let (t0, v0, cv0) = ritz(0);
        let (t1, v1, cv1) = ritz(1);
        let resid = |t: f64, v: &[f64], cv: &[f64]| cv.iter().zip(v).map(|(a, b)| (a - t * b).powi(2)).sum::<f64>().sqrt();
        let tol = 1e-10 * t0.abs().max(f64::MIN_POSITIVE);
        let worst = resid(t0, &v0, &cv0).max(resid(t1, &v1, &cv1));
        if worst <= tol {
            return (([t0, t1], [v0, v1]), Solved::Iterated(step + 1));
        }
        // The residual falls by a steady factor per step (the spectrum's ratio past the block);
        // when that factor, measured over the last steps, needs more steps than are left, the
        // spectrum is too flat for iterating to pay.
        let now = (worst / tol).ln();
        excess.push(now);
        if step >= 2 * RATE_SPAN {
            let per_step = (excess[step - RATE_SPAN] - now) / RATE_SPAN as f64;
            let left = (max_steps - step - 1) as f64;
            if per_step <= 0.0 || now / per_step > left {
                return (full(), Solved::Full(step + 1));
            }
        }
        q.copy_from_slice(&z);
        orthonormalize(&mut q, b, d);
    }
    (full(), Solved::Full(max_steps))
}

/// Modified Gram–Schmidt on the rows of `q` (b×d); a row that vanishes becomes a fresh basis vector.
fn orthonormalize(q: &mut [f64], b: usize, d: usize) {
    for j in 0..b {
        for _pass in 0..2 {
            for i in 0..j {
                let dot: f64 = (0..d).map(|t| q[i * d + t] * q[j * d + t]).sum();
                for t in 0..d {
                    q[j * d + t] -= dot * q[i * d + t];
                }
            }
        }
        let norm = q[j * d..(j + 1) * d].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 1e-300 {
            q[j * d..(j + 1) * d].iter_mut().for_each(|v| *v /= norm);
        } else {
            q[j * d..(j + 1) * d].iter_mut().for_each(|v| *v = 0.0);
            q[j * d + j % d] = 1.0;
        }
    }
}

/// `out = a · b` for `a` m×k and `b` k×n, all row-major f64.
fn gemm_f64(a: &[f64], m: usize, k: usize, b: &[f64], n: usize, out: &mut [f64]) {
    assert!(a.len() >= m * k && b.len() >= k * n && out.len() >= m * n);
    #[expect(clippy::cast_possible_wrap, reason = "a stride or size of an existing slice, so below isize::MAX")]
    let (k_s, n_s) = (k as isize, n as isize);
    // SAFETY: a is m×k (row stride k), b is k×n (row stride n), out is m×n (row stride n); the
    // assert above keeps every index inside the slices, and out aliases neither input.
    unsafe {
        matrixmultiply::dgemm(m, k, n, 1.0, a.as_ptr(), k_s, 1, b.as_ptr(), n_s, 1, 0.0, out.as_mut_ptr(), n_s, 1);
    }
}

/// Width of the column blocks of the covariance product.
const COV_TILE: usize = 64;

/// The upper triangle (diagonal included) of `out = aᵀ · a` for `a` m×d row-major; `out` is d×d
/// row-major. Only strips on and right of the diagonal are multiplied: about half the work of
/// the full product. Below the diagonal `out` holds whatever the strips wrote there or before.
fn gemm_tn(a: &[f32], m: usize, d: usize, out: &mut [f32]) {
    assert!(a.len() >= m * d && out.len() >= d * d);
    #[expect(clippy::cast_possible_wrap, reason = "a stride or size of an existing slice, so below isize::MAX")]
    let d_s = d as isize;
    // One product per strip of COV_TILE rows of the result, from its diagonal to the right
    // edge: each strip of a is packed once (tile by tile it would be packed once per tile).
    for bi in (0..d).step_by(COV_TILE) {
        let wi = COV_TILE.min(d - bi);
        let wj = d - bi;
        // SAFETY: columns bi..bi+wi of a (an m×wi matrix with row stride d starting at offset
        // bi) are read as their transpose (wi×m: row stride 1, column stride d); columns bi..d
        // as m×wj (row stride d); the wi×wj result goes to rows bi.., columns bi.. of out (row
        // stride d). bi + wi ≤ d and bi + wj = d keep every index inside the slices checked by
        // the assert, and out does not alias a.
        unsafe {
            matrixmultiply::sgemm(
                wi,
                m,
                wj,
                1.0,
                a.as_ptr().add(bi),
                1,
                d_s,
                a.as_ptr().add(bi),
                d_s,
                1,
                0.0,
                out.as_mut_ptr().add(bi * d + bi),
                d_s,
                1,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values")]
    fn data_far_from_the_origin_keeps_its_variances() {
        // 5,000 rows (more than the rows the centre is taken from) in 70 dimensions, then the
        // same rows shifted by 10,000 in every coordinate: the covariance must not change.
        let (n, d) = (5000, 70);
        let mut rng = crate::engine::rng::Rng::new(4);
        let near: Vec<f32> = (0..n * d).map(|i| (rng.next_f64() as f32 - 0.5) * (1.0 + (i % d) as f32 * 0.1)).collect();
        let far: Vec<f32> = near.iter().map(|&v| v + 10_000.0).collect();
        let a = pca_2d(&Matrix::new(near, n, d).unwrap(), &Control::default()).unwrap();
        let b = pca_2d(&Matrix::new(far, n, d).unwrap(), &Control::default()).unwrap();
        for r in 0..2 {
            let (x, y) = (a.explained_variance[r], b.explained_variance[r]);
            assert!((x - y).abs() <= 1e-4 * x, "axis {r}: {x} vs {y}");
        }
        let dot: f64 = a.components[0].iter().zip(&b.components[0]).map(|(p, q)| p * q).sum();
        assert!(dot.abs() > 0.999, "first axes differ: |cos| = {}", dot.abs());
    }

    /// A covariance-like matrix with the given spectrum, in a random orthonormal basis.
    fn with_spectrum(vals: &[f64], seed: u64) -> Vec<f64> {
        let d = vals.len();
        let mut rng = crate::engine::rng::Rng::new(seed);
        let mut q: Vec<f64> = (0..d * d).map(|_| rng.next_f64() - 0.5).collect();
        orthonormalize(&mut q, d, d);
        let mut c = vec![0.0f64; d * d];
        for (r, &l) in vals.iter().enumerate() {
            let v = &q[r * d..(r + 1) * d];
            for i in 0..d {
                for j in 0..d {
                    c[i * d + j] += l * v[i] * v[j];
                }
            }
        }
        c
    }

    #[test]
    fn a_flat_spectrum_goes_to_the_full_decomposition_early_and_a_steep_one_iterates() {
        let d = 120;
        // Nearly flat: 1.0, 0.9999, …; steep: 10, 5, then 1 and less.
        let flat: Vec<f64> = (0..d).map(|i| 1.0 - 1e-4 * i as f64).collect();
        let steep: Vec<f64> = (0..d).map(|i| if i < 2 { 10.0 / (1 + i) as f64 } else { 1.0 / (1 + i) as f64 }).collect();
        for (vals, flat_case) in [(&flat, true), (&steep, false)] {
            let c = with_spectrum(vals, 3);
            let ((got, vecs), how) = top_two_how(&c, d);
            match how {
                Solved::Full(steps) => assert!(flat_case && steps <= 2 * RATE_SPAN + 1, "{how:?}"),
                Solved::Iterated(steps) => assert!(!flat_case && steps < 50, "{how:?}"),
                Solved::Small => panic!("d = {d} should iterate"),
            }
            for r in 0..2 {
                assert!((got[r] - vals[r]).abs() <= 1e-9 * vals[0], "eigenvalue {r}: {} vs {}", got[r], vals[r]);
                // C v = λ v.
                let cv: Vec<f64> = (0..d).map(|i| (0..d).map(|j| c[i * d + j] * vecs[r][j]).sum()).collect();
                let res: f64 = cv.iter().zip(&vecs[r]).map(|(a, b)| (a - got[r] * b).powi(2)).sum::<f64>().sqrt();
                assert!(res <= 1e-8 * vals[0], "residual {res}");
            }
        }
    }

    #[test]
    fn pca_finds_the_dominant_axis() {
        // Points along (1, 1, 0) with a little noise on the other axes.
        let mut v = Vec::new();
        for i in 0..100 {
            let t = i as f32 - 50.0;
            v.extend_from_slice(&[t, t, ((i * 7) % 5) as f32 * 0.01]);
        }
        let m = Matrix::new(v, 100, 3).unwrap();
        let p = pca_2d(&m, &Control::default()).unwrap();
        let c = &p.components[0];
        assert!((c[0] - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-6 && (c[1] - c[0]).abs() < 1e-6);
        assert!(p.explained_variance_ratio[0] > 0.999);
        assert_eq!(p.projection.len(), 100);
    }
}
