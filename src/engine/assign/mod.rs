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

mod prune;

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::engine::kernels::{dot_f64, dot_nt, sq_dist_exact, sum_sq};
use crate::engine::matrix::Matrix;
use crate::engine::metric::Metric;

/// Rows per block: the block's products with up to a few thousand targets stay in cache.
const ROWS: usize = 1024;
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
    let rel = (d as f64 + 2.0) * f64::from(f32::EPSILON);
    // Per target, the parts of the allowance that do not depend on the row.
    let t_err: Vec<f64> = t_norm_sq.iter().map(|&v| rel * v).collect();
    let pruner = crate::engine::assign::prune::Pruner::new(targets, n);
    // Rows tried by the shortcut and rows it sent on to the full scan: once most go on (clusters
    // that overlap), the shortcut stops. The answer is the same either way.
    let tried = AtomicUsize::new(0);
    let passed = AtomicUsize::new(0);
    let finish = |key: f64| -> f32 {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
        )]
        match metric {
            Metric::Euclidean => key.max(0.0).sqrt() as f32,
            Metric::Cosine => (1.0 + key).max(0.0) as f32,
        }
    };
    let full_scan = |block: &[f32], idx: &mut [u32], dist: &mut [f32]| {
        let m = idx.len();
        // Per row: twice the allowance's factor on ‖c‖, and the smallest upper estimate so far.
        let x_err: Vec<f64> = (0..m).map(|r| 2.0 * rel * sum_sq(&block[r * d..(r + 1) * d]).sqrt()).collect();
        let mut best_hi = vec![f64::INFINITY; m];
        // Candidates (row in the block, target, lower estimate), in row order within a chunk.
        let mut cands: Vec<(u32, u32, f64)> = Vec::with_capacity(2 * m);
        let tk = TARGETS.min(k);
        let mut buf = vec![0.0f32; m * tk];
        let mut est = vec![0.0f64; tk];
        let mut t0 = 0;
        while t0 < k {
            let kc = (k - t0).min(TARGETS);
            dot_nt(block, m, &targets.as_slice()[t0 * d..(t0 + kc) * d], kc, d, &mut buf, kc);
            let tr = t0..t0 + kc;
            let chunk = Chunk { t0, tn2: &t_norm_sq[tr.clone()], tn: &t_norm[tr.clone()], te: &t_err[tr] };
            #[cfg(target_arch = "x86_64")]
            {
                if crate::engine::kernels::direct_available() {
                    // SAFETY: the CPU has AVX2 and FMA (checked).
                    unsafe { scan_avx2(&buf, &chunk, metric, &x_err, &mut best_hi, &mut est, &mut cands) };
                    t0 += kc;
                    continue;
                }
            }
            scan(&buf, &chunk, metric, &x_err, &mut best_hi, &mut est, &mut cands);
            t0 += kc;
        }
        if k > TARGETS {
            cands.sort_by_key(|c| c.0);
        }
        let mut best: Vec<(u32, f64)> = vec![(u32::MAX, f64::INFINITY); m];
        for &(r, j, lo) in &cands {
            let r = r as usize;
            if lo > best_hi[r] {
                continue;
            }
            let key = exact_key(&block[r * d..(r + 1) * d], targets.row(j as usize), metric);
            let b = &mut best[r];
            if key < b.1 || (key == b.1 && j < b.0) {
                *b = (j, key);
            }
        }
        for (r, &(j, key)) in best.iter().enumerate() {
            idx[r] = j;
            dist[r] = finish(key);
        }
    };
    index.par_chunks_mut(ROWS).zip(distance.par_chunks_mut(ROWS)).enumerate().for_each(|(b, (idx, dist))| {
        let start = b * ROWS;
        let m = idx.len();
        let block = &points.as_slice()[start * d..(start + m) * d];
        let worth_trying = {
            let t = tried.load(Ordering::Relaxed);
            t < 8 * ROWS || passed.load(Ordering::Relaxed) * 2 < t
        };
        let Some(pruner) = pruner.as_ref().filter(|_| worth_trying) else {
            full_scan(block, idx, dist);
            return;
        };
        // Quarter blocks, so that the rows are still in cache for their exact distances.
        let answers: Vec<crate::engine::assign::prune::Answer> = block
            .chunks(ROWS * d)
            .flat_map(|part| pruner.resolve(part, part.len() / d, targets, metric, |x, c| exact_key(x, c, metric)))
            .collect();
        let rest: Vec<usize> = answers.iter().enumerate().filter(|(_, a)| a.is_none()).map(|(r, _)| r).collect();
        tried.fetch_add(m, Ordering::Relaxed);
        passed.fetch_add(rest.len(), Ordering::Relaxed);
        for (r, a) in answers.iter().enumerate() {
            if let Some((j, key)) = *a {
                idx[r] = j;
                dist[r] = finish(key);
            }
        }
        if rest.is_empty() {
            return;
        }
        let gathered: Vec<f32> = rest.iter().flat_map(|&r| block[r * d..(r + 1) * d].iter().copied()).collect();
        let mut sub_idx = vec![0u32; rest.len()];
        let mut sub_dist = vec![0.0f32; rest.len()];
        full_scan(&gathered, &mut sub_idx, &mut sub_dist);
        for (p, &r) in rest.iter().enumerate() {
            idx[r] = sub_idx[p];
            dist[r] = sub_dist[p];
        }
    });
    Nearest { index, distance }
}

/// The targets of one GEMM call: the first one's index, and their ‖c‖², ‖c‖ and allowance term.
struct Chunk<'a> {
    t0: usize,
    tn2: &'a [f64],
    tn: &'a [f64],
    te: &'a [f64],
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn scan_avx2(
    buf: &[f32],
    c: &Chunk<'_>,
    metric: Metric,
    x_err: &[f64],
    best_hi: &mut [f64],
    est: &mut [f64],
    cands: &mut Vec<(u32, u32, f64)>,
) {
    scan(buf, c, metric, x_err, best_hi, est, cands);
}

/// For each row of the block, from its products with the chunk's targets (`buf`, rows × targets):
/// the estimates, the smallest upper one (into `best_hi`), and the candidates whose lower
/// estimate is within it. Straight passes, which vectorise; the candidates are few.
#[inline(always)]
fn scan(buf: &[f32], c: &Chunk<'_>, metric: Metric, x_err: &[f64], best_hi: &mut [f64], est: &mut [f64], cands: &mut Vec<(u32, u32, f64)>) {
    let kc = c.tn.len();
    let est = &mut est[..kc];
    for (r, (row, &xe)) in buf.chunks_exact(kc).zip(x_err).enumerate() {
        match metric {
            Metric::Euclidean => est.iter_mut().zip(row).zip(c.tn2).for_each(|((e, &g), &n2)| *e = n2 - 2.0 * f64::from(g)),
            Metric::Cosine => est.iter_mut().zip(row).for_each(|(e, &g)| *e = -f64::from(g)),
        }
        let mut hi = best_hi[r];
        for ((&e, &n), &t) in est.iter().zip(c.tn).zip(c.te) {
            let u = e + xe * n + t;
            hi = if u < hi { u } else { hi };
        }
        best_hi[r] = hi;
        #[expect(clippy::cast_possible_truncation, reason = "an f64 bound rounded to the engine's f32")]
        for (jj, ((&e, &n), &t)) in est.iter().zip(c.tn).zip(c.te).enumerate() {
            let lo = e - xe * n - t;
            if lo <= hi {
                cands.push((r as u32, (c.t0 + jj) as u32, lo));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::Rng;

    fn random(n: usize, d: usize, seed: u64) -> Matrix {
        let mut rng = Rng::new(seed);
        #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
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

    /// Rows around `k` well-apart centres (the shortcut's case), the centres as targets with
    /// the first one given twice, and rows exactly between two centres.
    fn separated(n: usize, k: usize, d: usize) -> (Matrix, Matrix) {
        let mut rng = Rng::new(9);
        #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
        let centres: Vec<f32> = (0..k * d).map(|_| (rng.next_f64() * 6.0 - 3.0) as f32).collect();
        let mut rows = Vec::with_capacity(n * d);
        for i in 0..n {
            let c = i % k;
            if i % 97 == 0 {
                let o = (c + 1) % k;
                rows.extend((0..d).map(|t| 0.5 * (centres[c * d + t] + centres[o * d + t])));
            } else {
                #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
                rows.extend((0..d).map(|t| centres[c * d + t] + (rng.next_f64() * 0.6 - 0.3) as f32));
            }
        }
        let mut t = centres[..d].to_vec();
        t.extend_from_slice(&centres);
        (Matrix::new(rows, n, d).unwrap(), Matrix::new(t, k + 1, d).unwrap())
    }

    #[test]
    fn the_shortcut_for_clusters_well_apart_gives_the_full_scans_answer() {
        let (p, t) = separated(6000, 20, 64);
        for metric in Metric::ALL {
            let (p, t) = if metric == Metric::Cosine { (p.normalized().0, t.normalized().0) } else { (p.clone(), t.clone()) };
            let pruner = crate::engine::assign::prune::Pruner::new(&t, p.n()).expect("the shortcut applies");
            let answers = pruner.resolve(p.as_slice(), p.n(), &t, metric, |x, c| exact_key(x, c, metric));
            let answered = answers.iter().filter(|a| a.is_some()).count();
            assert!(answered * 10 > p.n() * 9, "{metric}: the shortcut answered only {answered} of {} rows", p.n());
            let want = brute(&p, &t, metric);
            for (i, a) in answers.iter().enumerate() {
                if let Some((j, _)) = a {
                    assert_eq!(*j, want[i], "{metric}: row {i}");
                }
            }
            let got = nearest(&p, &t, metric);
            assert_eq!(got.index, want, "{metric}");
            // The duplicated first centre: its rows go to the lower index, never to the copy.
            assert!(got.index.iter().all(|&j| j != 1), "{metric}");
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
