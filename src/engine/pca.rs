//! PCA to two dimensions: the d×d covariance by blocked GEMM, then a symmetric eigensolver.
//! Never an SVD of the n×d matrix, never an f64 copy of it.

use rayon::prelude::*;

use super::control::{Cancelled, Control};
use super::eigen::symmetric_eigen;
use super::kernels::fixed_ranges;
use super::matrix::Matrix;

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
    let mut mean = vec![0.0f64; d];
    for i in 0..n {
        for (m, &v) in mean.iter_mut().zip(data.row(i)) {
            *m += f64::from(v);
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let nf = n as f64;
    if n > 0 {
        mean.iter_mut().for_each(|m| *m /= nf);
    }
    #[allow(clippy::cast_possible_truncation)]
    let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    // Covariance: per fixed range, Σ (x − μ)ᵀ(x − μ) over blocks in f32 GEMM, summed in f64.
    let ranges = fixed_ranges(n, n.div_ceil(COV_BLOCK * 4).min(16));
    let partial: Vec<Result<Vec<f64>, Cancelled>> = ranges
        .par_iter()
        .map(|r| {
            let mut acc = vec![0.0f64; d * d];
            let mut block = vec![0.0f32; COV_BLOCK * d];
            let mut out = vec![0.0f32; d * d];
            let mut start = r.start;
            while start < r.end {
                ctl.check()?;
                let end = (start + COV_BLOCK).min(r.end);
                let m = end - start;
                for (i, dst) in block.chunks_exact_mut(d).take(m).enumerate() {
                    for ((o, &v), &mu) in dst.iter_mut().zip(data.row(start + i)).zip(&mean32) {
                        *o = v - mu;
                    }
                }
                // (block)ᵀ · block: d×m times m×d.
                gemm_tn(&block[..m * d], m, d, &mut out);
                for (a, &b) in acc.iter_mut().zip(&out) {
                    *a += f64::from(b);
                }
                start = end;
            }
            Ok(acc)
        })
        .collect();
    let mut cov = vec![0.0f64; d * d];
    for p in partial {
        for (a, b) in cov.iter_mut().zip(p?) {
            *a += b;
        }
    }
    let denom = (nf - 1.0).max(1.0);
    cov.iter_mut().for_each(|c| *c /= denom);
    // Symmetrise exactly (the two triangles came out of the same GEMM, but be safe).
    for i in 0..d {
        for j in 0..i {
            let v = 0.5 * (cov[i * d + j] + cov[j * d + i]);
            cov[i * d + j] = v;
            cov[j * d + i] = v;
        }
    }
    ctl.check()?;
    ctl.progress("PCA", 0.5);
    let total: f64 = (0..d).map(|i| cov[i * d + i]).sum();
    let (vals, vecs) = symmetric_eigen(&cov, d);
    let pick = |rank: usize| -> (f64, Vec<f64>) {
        if rank >= d {
            return (0.0, vec![0.0; d]);
        }
        let col = d - 1 - rank;
        let mut v: Vec<f64> = (0..d).map(|i| vecs[i * d + col]).collect();
        let mut big = 0;
        for i in 1..d {
            if v[i].abs() > v[big].abs() {
                big = i;
            }
        }
        if v[big] < 0.0 {
            v.iter_mut().for_each(|x| *x = -*x);
        }
        (vals[col].max(0.0), v)
    };
    let (l0, c0) = pick(0);
    let (l1, c1) = pick(1);
    let ratio = |l: f64| if total > 0.0 { l / total } else { 0.0 };
    let projection = (0..n)
        .into_par_iter()
        .map(|i| {
            let (mut x, mut y) = (0.0f64, 0.0f64);
            for ((&v, &m), (&a, &b)) in data.row(i).iter().zip(&mean).zip(c0.iter().zip(&c1)) {
                let t = f64::from(v) - m;
                x += t * a;
                y += t * b;
            }
            #[allow(clippy::cast_possible_truncation)]
            [x as f32, y as f32]
        })
        .collect();
    Ok(Pca { mean, components: [c0, c1], explained_variance: [l0, l1], explained_variance_ratio: [ratio(l0), ratio(l1)], projection })
}

/// `out = aᵀ · a` for `a` m×d row-major; `out` is d×d row-major.
fn gemm_tn(a: &[f32], m: usize, d: usize, out: &mut [f32]) {
    #[allow(clippy::cast_possible_wrap)]
    let d_s = d as isize;
    // SAFETY: a is m×d (row stride d), read as its transpose d×m (row stride 1, column stride d)
    // and as itself m×d; out is d×d with row stride d. All indices are within the slices,
    // and out does not alias a.
    assert!(a.len() >= m * d && out.len() >= d * d);
    unsafe {
        matrixmultiply::sgemm(d, m, d, 1.0, a.as_ptr(), 1, d_s, a.as_ptr(), d_s, 1, 0.0, out.as_mut_ptr(), d_s, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
