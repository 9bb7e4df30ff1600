//! Each row's nearest target (a centroid, a core point), exactly, in blocks of rows on every core.
//!
//! A GEMM over a block of rows estimates every row's squared distance to every target as
//! ‖c‖² − 2x·c (the row's own ‖x‖² is common to all targets). The f32 products are off by at
//! most `(d + 2)·2⁻²³·‖x‖·‖c‖`, so every target whose estimate lies within the two allowances of
//! the smallest is a candidate; when there is more than one, exact distances in f64 decide, the
//! lower index winning a tie. The result is therefore a function of the row and the targets
//! alone: the same whatever the block size, the thread count or the CPU's kernel. K-means'
//! final labels, `embedmap assign`, and the Python package all go through this function, which
//! is why a model gives the labels of the clustering it was saved from, row for row.

use rayon::prelude::*;

use super::kernels::{dot_f64, dot_nt, sq_dist_exact, sum_sq};
use super::matrix::Matrix;
use super::metric::Metric;

/// Rows per block: the block's products with up to a few thousand targets stay in cache.
const ROWS: usize = 256;
/// Targets per GEMM call, so that many targets (DBSCAN's core points) need little memory.
const TARGETS: usize = 2048;

/// The nearest target of every row and the distance to it in the metric.
#[derive(Clone, Debug, PartialEq)]
pub struct Nearest {
    /// Index of the nearest target (ties: the lowest).
    pub index: Vec<u32>,
    /// Distance to it: euclidean ‖x − c‖, or the cosine distance 1 − x·c between unit rows.
    pub distance: Vec<f32>,
}

/// The exact distance key of `x` to `c`: squared euclidean, or −x·c for unit rows under cosine.
fn exact_key(x: &[f32], c: &[f32], metric: Metric) -> f64 {
    match metric {
        Metric::Euclidean => sq_dist_exact(x, c),
        Metric::Cosine => -dot_f64(x, c),
    }
}

/// For every row of `points`, the nearest row of `targets`, both in the metric's space (unit
/// rows for cosine). Returns indices 0 when there are no targets, with infinite distances.
#[must_use]
pub fn nearest(points: &Matrix, targets: &Matrix, metric: Metric) -> Nearest {
    let (n, d) = (points.n(), points.d());
    assert_eq!(d, targets.d(), "rows and targets differ in dimension");
    let k = targets.n();
    let mut index = vec![0u32; n];
    let mut distance = vec![f32::INFINITY; n];
    if k == 0 || n == 0 {
        return Nearest { index, distance };
    }
    let t_norm_sq: Vec<f64> = (0..k).map(|j| sum_sq(targets.row(j))).collect();
    let t_norm: Vec<f64> = t_norm_sq.iter().map(|v| v.sqrt()).collect();
    #[allow(clippy::cast_precision_loss)]
    let rel = (d as f64 + 2.0) * f64::from(f32::EPSILON);
    index.par_chunks_mut(ROWS).zip(distance.par_chunks_mut(ROWS)).enumerate().for_each(|(b, (idx, dist))| {
        let start = b * ROWS;
        let m = idx.len();
        let block = &points.as_slice()[start * d..(start + m) * d];
        let x_norm: Vec<f64> = (0..m).map(|r| sum_sq(&block[r * d..(r + 1) * d]).sqrt()).collect();
        // Per row: the smallest upper estimate so far, and the candidates (index, lower estimate).
        let mut best_hi = vec![f64::INFINITY; m];
        let mut cands: Vec<Vec<(u32, f64)>> = vec![Vec::new(); m];
        let tk = TARGETS.min(k);
        let mut buf = vec![0.0f32; m * tk];
        let mut t0 = 0;
        while t0 < k {
            let kc = (k - t0).min(TARGETS);
            dot_nt(block, m, &targets.as_slice()[t0 * d..(t0 + kc) * d], kc, d, &mut buf, kc);
            for r in 0..m {
                let row = &buf[r * kc..(r + 1) * kc];
                let (hi, list) = (&mut best_hi[r], &mut cands[r]);
                let before = *hi;
                for (jj, &g) in row.iter().enumerate() {
                    let j = t0 + jj;
                    let est = match metric {
                        Metric::Euclidean => t_norm_sq[j] - 2.0 * f64::from(g),
                        Metric::Cosine => -f64::from(g),
                    };
                    let err = 2.0 * rel * x_norm[r] * t_norm[j] + rel * t_norm_sq[j];
                    if est - err <= *hi {
                        #[allow(clippy::cast_possible_truncation)]
                        list.push((j as u32, est - err));
                        if est + err < *hi {
                            *hi = est + err;
                        }
                    }
                }
                if *hi < before || list.len() > 64 {
                    let h = *hi;
                    list.retain(|&(_, lo)| lo <= h);
                }
            }
            t0 += kc;
        }
        for r in 0..m {
            let x = &block[r * d..(r + 1) * d];
            let h = best_hi[r];
            let mut best = (u32::MAX, f64::INFINITY);
            for &(j, lo) in &cands[r] {
                if lo > h {
                    continue;
                }
                let key = exact_key(x, targets.row(j as usize), metric);
                if key < best.1 || (key == best.1 && j < best.0) {
                    best = (j, key);
                }
            }
            idx[r] = best.0;
            #[allow(clippy::cast_possible_truncation)]
            {
                dist[r] = match metric {
                    Metric::Euclidean => best.1.max(0.0).sqrt() as f32,
                    Metric::Cosine => (1.0 + best.1).max(0.0) as f32,
                };
            }
        }
    });
    Nearest { index, distance }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::Rng;

    fn random(n: usize, d: usize, seed: u64) -> Matrix {
        let mut rng = Rng::new(seed);
        #[allow(clippy::cast_possible_truncation)]
        let v: Vec<f32> = (0..n * d).map(|_| (rng.next_f64() * 2.0 - 1.0) as f32 + 3.0).collect();
        Matrix::new(v, n, d).unwrap()
    }

    fn brute(points: &Matrix, targets: &Matrix, metric: Metric) -> Vec<u32> {
        (0..points.n())
            .map(|i| {
                let keys: Vec<f64> = (0..targets.n()).map(|j| exact_key(points.row(i), targets.row(j), metric)).collect();
                let best = (1..keys.len()).fold(0, |b, j| if keys[j] < keys[b] { j } else { b });
                u32::try_from(best).unwrap()
            })
            .collect()
    }

    #[test]
    fn the_nearest_target_is_the_exact_one_for_few_and_many_targets() {
        for &(n, k, d) in &[(700, 5, 33), (300, 40, 64), (260, 2500, 8)] {
            let p = random(n, d, 1);
            let t = random(k, d, 2);
            for metric in Metric::ALL {
                let (p, t) = if metric == Metric::Cosine { (p.normalized().0, t.normalized().0) } else { (p.clone(), t.clone()) };
                let got = nearest(&p, &t, metric);
                assert_eq!(got.index, brute(&p, &t, metric), "n={n} k={k} d={d} {metric}");
                for i in 0..n {
                    let c = t.row(got.index[i] as usize);
                    let want = match metric {
                        Metric::Euclidean => sq_dist_exact(p.row(i), c).sqrt(),
                        Metric::Cosine => 1.0 - dot_f64(p.row(i), c),
                    };
                    assert!((f64::from(got.distance[i]) - want).abs() <= 1e-6 * want.abs().max(1.0), "{i}");
                }
            }
        }
    }

    #[test]
    fn ties_go_to_the_lowest_index_and_duplicated_targets_never_split_a_row() {
        // Rows exactly between two targets, and a target given twice.
        let t = Matrix::new(vec![0.0, 0.0, 2.0, 0.0, 2.0, 0.0], 3, 2).unwrap();
        let p = Matrix::new(vec![1.0, 0.0, 1.0, 5.0, 2.0, 0.1], 3, 2).unwrap();
        let got = nearest(&p, &t, Metric::Euclidean);
        assert_eq!(got.index, vec![0, 0, 1]);
        assert!((got.distance[0] - 1.0).abs() < 1e-7);
        let none = nearest(&p, &Matrix::new(Vec::new(), 0, 2).unwrap(), Metric::Euclidean);
        assert!(none.distance.iter().all(|d| d.is_infinite()));
    }
}
