//! Symmetric eigendecomposition (Householder tridiagonalisation, then the implicit QL method),
//! in f64 on a small dense matrix such as a d×d covariance.
//!
//! Index loops mirror the textbook formulation of both algorithms, which keeps them checkable.
#![expect(
    clippy::needless_range_loop,
    reason = "the dense eigen solvers index several arrays by one loop variable, as the textbook algorithms do"
)]

/// Eigenvalues in ascending order and the matching eigenvectors as the columns of a row-major
/// n×n matrix. `a` is a row-major symmetric n×n matrix.
#[must_use]
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(a.len(), n * n);
    let mut v = a.to_vec();
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    if n == 0 {
        return (d, v);
    }
    // Both routines walk columns in their innermost loops (the reduction and the accumulation
    // of its transformations, and each QL rotation, which combines two eigenvector columns).
    // They run on the transpose instead, where those walks are contiguous rows: `a` is
    // symmetric, so it is its own transpose, and the eigenvectors come out as rows. A strided
    // walk per step was most of the time from d ≈ 300 on.
    tred2(&mut v, &mut d, &mut e, n);
    tql2(&mut v, &mut d, &mut e, n);
    transpose(&mut v, n);
    (d, v)
}

/// Transposes the row-major n×n matrix `v` in place.
fn transpose(v: &mut [f64], n: usize) {
    for i in 0..n {
        for j in i + 1..n {
            v.swap(i * n + j, j * n + i);
        }
    }
}

/// Householder reduction to tridiagonal form (after the EISPACK routine of the same name), with
/// the matrix and the accumulated transformation addressed transposed (element (i, j) at
/// `j·n + i`).
#[expect(clippy::many_single_char_names, reason = "the names of the published algorithm")]
fn tred2(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    let at = |i: usize, j: usize| j * n + i;
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
    }
    for i in (1..n).rev() {
        let mut scale = 0.0;
        let mut h = 0.0;
        for k in 0..i {
            scale += d[k].abs();
        }
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
                v[at(j, i)] = 0.0;
            }
        } else {
            for k in 0..i {
                d[k] /= scale;
                h += d[k] * d[k];
            }
            let mut f = d[i - 1];
            let mut g = h.sqrt();
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for j in 0..i {
                e[j] = 0.0;
            }
            for j in 0..i {
                f = d[j];
                v[at(j, i)] = f;
                g = e[j] + v[at(j, j)] * f;
                for k in j + 1..i {
                    g += v[at(k, j)] * d[k];
                    e[k] += v[at(k, j)] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[at(k, j)] -= f * e[k] + g * d[k];
                }
                d[j] = v[at(i - 1, j)];
                v[at(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    // Accumulate the transformations.
    for i in 0..n - 1 {
        v[at(n - 1, i)] = v[at(i, i)];
        v[at(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[at(k, i + 1)] / h;
            }
            for j in 0..=i {
                let mut g = 0.0;
                for k in 0..=i {
                    g += v[at(k, i + 1)] * v[at(k, j)];
                }
                for k in 0..=i {
                    v[at(k, j)] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[at(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[at(n - 1, j)];
        v[at(n - 1, j)] = 0.0;
    }
    v[at(n - 1, n - 1)] = 1.0;
    e[0] = 0.0;
}

/// Implicit QL iterations on the tridiagonal form, then a sort into ascending order. `vt` holds
/// the transformation transposed: eigenvector j ends up in row j.
#[expect(clippy::many_single_char_names, reason = "the names of the published algorithm")]
fn tql2(vt: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    let at = |i: usize, j: usize| i * n + j;
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let mut f = 0.0;
    let mut tst1: f64 = 0.0;
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n {
            if e[m].abs() <= eps * tst1 {
                break;
            }
            m += 1;
        }
        let m = m.min(n - 1);
        if m > l {
            // At most a few dozen sweeps converge in practice; the cap guards against NaN input.
            for _ in 0..200 {
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for i in l + 2..n {
                    d[i] -= h;
                }
                f += h;
                p = d[m];
                let mut c = 1.0;
                let mut c2 = c;
                let mut c3 = c;
                let el1 = e[l + 1];
                let mut s = 0.0;
                let mut s2 = 0.0;
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    let (head, tail) = vt.split_at_mut((i + 1) * n);
                    for (a, b) in head[i * n..].iter_mut().zip(&mut tail[..n]) {
                        let t = *b;
                        *b = s * *a + c * t;
                        *a = c * *a - s * t;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    // Selection sort into ascending order, moving the vectors along.
    for i in 0..n.saturating_sub(1) {
        let mut k = i;
        let mut p = d[i];
        for j in i + 1..n {
            if d[j] < p {
                k = j;
                p = d[j];
            }
        }
        if k != i {
            d[k] = d[i];
            d[i] = p;
            for j in 0..n {
                vt.swap(at(i, j), at(k, j));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_reconstructs_the_matrix() {
        let n = 6;
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v = ((i * 7 + j * 3) as f64).sin();
                a[i * n + j] = v;
                a[j * n + i] = v;
            }
        }
        let (vals, vecs) = symmetric_eigen(&a, n);
        assert!(vals.windows(2).all(|w| w[0] <= w[1]));
        for i in 0..n {
            for j in 0..n {
                let r: f64 = (0..n).map(|k| vecs[i * n + k] * vals[k] * vecs[j * n + k]).sum();
                assert!((r - a[i * n + j]).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn eigen_of_a_larger_random_matrix_gives_orthonormal_eigenvectors() {
        let n = 97;
        let mut rng = crate::engine::rng::Rng::new(5);
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v = rng.next_f64() - 0.5;
                a[i * n + j] = v;
                a[j * n + i] = v;
            }
        }
        let (vals, vecs) = symmetric_eigen(&a, n);
        assert!(vals.windows(2).all(|w| w[0] <= w[1]));
        for c in 0..n {
            // A v = λ v for column c, and the columns are orthonormal.
            for i in 0..n {
                let av: f64 = (0..n).map(|k| a[i * n + k] * vecs[k * n + c]).sum();
                assert!((av - vals[c] * vecs[i * n + c]).abs() < 1e-10, "column {c} row {i}");
            }
            for c2 in c..n {
                let dot: f64 = (0..n).map(|k| vecs[k * n + c] * vecs[k * n + c2]).sum();
                let want = if c == c2 { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-10, "columns {c} and {c2}: {dot}");
            }
        }
    }

    #[test]
    fn eigen_of_diagonal_is_its_entries() {
        let a = vec![3.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 2.0];
        let (vals, _) = symmetric_eigen(&a, 3);
        assert_eq!(vals, vec![1.0, 2.0, 3.0]);
    }
}
