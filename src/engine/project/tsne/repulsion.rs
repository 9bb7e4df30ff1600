//! t-SNE's repulsive forces: Σⱼ q̃ᵢⱼ² (yᵢ − yⱼ) / Z for every point and the normalisation
//! Z = Σᵢ≠ⱼ q̃ᵢⱼ, with q̃ᵢⱼ = 1 / (1 + ‖yᵢ − yⱼ‖²).
//!
//! Up to [`EXACT_MAX`] points every pair is summed. Above, the sums are interpolated on a grid
//! as FIt-SNE and openTSNE do (Linderman et al., 2019): the map's square is cut into boxes of
//! about one unit (at least 50 a side), each box carries 3 × 3 equispaced nodes, each point
//! spreads four charges (1, x, y, x² + y²) onto its box's nodes by Lagrange weights, the nodes
//! exchange them through the squared Cauchy kernel by FFT convolution, and each point gathers
//! the potentials back with the same weights. Z follows from the same four potentials, as
//! q̃ = q̃² (1 + ‖yᵢ − yⱼ‖²).
//!
//! **Deterministic in parallel**: every sum runs in a fixed order (per point, per fixed block,
//! per grid row), so the result does not depend on the thread count.

use std::sync::Arc;

use rayon::prelude::*;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use crate::engine::kernels::fixed_ranges;

/// Up to this many points the repulsion is summed over every pair (measured: below it the
/// grid's fixed cost of 2–5 ms an iteration is the larger).
pub const EXACT_MAX: usize = 2_000;

/// Interpolation nodes per box and axis (openTSNE's `n_interpolation_points`).
const NODES: usize = 3;
/// Fewest boxes per side (openTSNE's `min_num_intervals`).
const MIN_BOXES: usize = 50;
/// Points per block of the parallel loops.
const BLOCK: usize = 2048;

/// The repulsion's working state, kept across iterations (FFT plans and buffers).
pub struct Repulsion {
    planner: FftPlanner<f64>,
    plans: Option<(usize, Arc<dyn Fft<f64>>, Arc<dyn Fft<f64>>)>,
}

impl std::fmt::Debug for Repulsion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repulsion").finish_non_exhaustive()
    }
}

impl Default for Repulsion {
    fn default() -> Self {
        Self { planner: FftPlanner::new(), plans: None }
    }
}

impl Repulsion {
    /// Subtracts every point's repulsive force from `grad` and returns Z. The exact sums up to
    /// [`EXACT_MAX`] points, the interpolated ones above.
    pub fn apply(&mut self, y: &[[f64; 2]], grad: &mut [[f64; 2]]) -> f64 {
        if y.len() <= EXACT_MAX { exact(y, grad) } else { self.interpolated(y, grad) }
    }

    /// The interpolated sums (for any size; [`Self::apply`] chooses).
    pub fn interpolated(&mut self, y: &[[f64; 2]], grad: &mut [[f64; 2]]) -> f64 {
        let n = y.len();
        if n == 0 {
            return 0.0;
        }
        let (lo, hi) = y.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p[0]).min(p[1]), hi.max(p[0]).max(p[1])));
        let span = (hi - lo).max(1e-12);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a non-negative figure (positive or clamped by construction) rounded down to a bounded count or index"
        )]
        let boxes = smooth_size((span as usize).max(MIN_BOXES));
        let width = span / boxes as f64;
        let side = boxes * NODES; // nodes per side
        let m = 2 * side; // FFT length per axis
        let (fwd, inv) = self.plans(m);

        // Each point's box and its Lagrange weights on the box's nodes, per axis.
        let place = |v: f64| -> (usize, [f64; NODES]) {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a non-negative figure (positive or clamped by construction) rounded down to a bounded count or index"
            )]
            let b = (((v - lo) / width) as usize).min(boxes - 1);
            let t = (v - lo) / width - b as f64;
            (b, lagrange(t))
        };
        let cells: Vec<((usize, [f64; NODES]), (usize, [f64; NODES]))> = y.par_iter().map(|p| (place(p[0]), place(p[1]))).collect();

        // Spread the charges (1, x) and (y, x² + y²) as two complex grids, side × side, rows by
        // the x node. Serial, in point order: deterministic and cheap beside the FFTs.
        let mut g1 = vec![Complex::new(0.0, 0.0); m * m];
        let mut g2 = vec![Complex::new(0.0, 0.0); m * m];
        for (p, &((bx, wx), (by, wy))) in y.iter().zip(&cells) {
            let c1 = Complex::new(1.0, p[0]);
            let c2 = Complex::new(p[1], p[0] * p[0] + p[1] * p[1]);
            for (a, &wa) in wx.iter().enumerate() {
                let row = (bx * NODES + a) * m + by * NODES;
                for (b, &wb) in wy.iter().enumerate() {
                    let w = wa * wb;
                    g1[row + b] += c1 * w;
                    g2[row + b] += c2 * w;
                }
            }
        }

        // The kernel on node offsets, laid out circularly, and its transform (real and even).
        let h = width / NODES as f64;
        let mut kernel = vec![Complex::new(0.0, 0.0); m * m];
        kernel.par_chunks_mut(m).enumerate().for_each(|(r, row)| {
            let Some(dr) = offset(r, side, m) else { return };
            for (c, v) in row.iter_mut().enumerate() {
                if let Some(dc) = offset(c, side, m) {
                    let d2 = h * h * ((dr * dr + dc * dc) as f64);
                    let q = 1.0 / (1.0 + d2);
                    *v = Complex::new(q * q, 0.0);
                }
            }
        });
        // Transforms in the transposed layout: the kernel and its transform are symmetric, so
        // the product needs no transpose back and forth.
        let mut tmp = vec![Complex::new(0.0, 0.0); m * m];
        forward_transposed(&mut kernel, &mut tmp, m, m, &fwd);
        for g in [&mut g1, &mut g2] {
            forward_transposed(g, &mut tmp, m, side, &fwd);
            g.par_iter_mut().zip(kernel.par_iter()).for_each(|(v, k)| *v *= k.re);
            inverse_from_transposed(g, &mut tmp, m, side, &inv);
        }
        let scale = 1.0 / (m * m) as f64;

        // Gather the potentials back with the same weights: φ = (Σ q̃², Σ q̃² x, Σ q̃² y, Σ q̃² ‖y‖²).
        let phi: Vec<[f64; 4]> = cells
            .par_iter()
            .map(|&((bx, wx), (by, wy))| {
                let mut acc = [0.0f64; 4];
                for (a, &wa) in wx.iter().enumerate() {
                    let row = (bx * NODES + a) * m + by * NODES;
                    for (b, &wb) in wy.iter().enumerate() {
                        let w = wa * wb * scale;
                        let (u, v) = (g1[row + b], g2[row + b]);
                        acc[0] += w * u.re;
                        acc[1] += w * u.im;
                        acc[2] += w * v.re;
                        acc[3] += w * v.im;
                    }
                }
                acc
            })
            .collect();
        // Z, summed in fixed blocks and then in block order.
        let blocks = fixed_ranges(n, n.div_ceil(BLOCK));
        let partial: Vec<f64> = blocks
            .par_iter()
            .map(|r| {
                r.clone()
                    .map(|i| {
                        let (p, f) = (y[i], phi[i]);
                        (1.0 + p[0] * p[0] + p[1] * p[1]) * f[0] - 2.0 * (p[0] * f[1] + p[1] * f[2]) + f[3]
                    })
                    .sum::<f64>()
            })
            .collect();
        let z = (partial.iter().sum::<f64>() - n as f64).max(f64::MIN_POSITIVE);
        grad.par_iter_mut().zip(y.par_iter().zip(phi.par_iter())).for_each(|(g, (p, f))| {
            g[0] -= (p[0] * f[0] - f[1]) / z;
            g[1] -= (p[1] * f[0] - f[2]) / z;
        });
        z
    }

    fn plans(&mut self, m: usize) -> (Arc<dyn Fft<f64>>, Arc<dyn Fft<f64>>) {
        if let Some((len, f, i)) = &self.plans
            && *len == m
        {
            return (Arc::clone(f), Arc::clone(i));
        }
        let f = self.planner.plan_fft_forward(m);
        let i = self.planner.plan_fft_inverse(m);
        self.plans = Some((m, Arc::clone(&f), Arc::clone(&i)));
        (f, i)
    }
}

/// The signed node offset that circular index `i` of an `m`-long axis stands for, if within
/// the grid's `side` nodes (`m = 2 · side`).
fn offset(i: usize, side: usize, m: usize) -> Option<usize> {
    if i < side {
        Some(i)
    } else if i > side {
        Some(m - i)
    } else {
        None
    }
}

/// The smallest number of boxes ≥ `n` whose FFT length (6 · boxes) has no prime factor above 5.
fn smooth_size(n: usize) -> usize {
    (n..)
        .find(|&b| {
            let mut v = b;
            for p in [2, 3, 5] {
                while v % p == 0 {
                    v /= p;
                }
            }
            v == 1
        })
        .unwrap_or(n)
}

/// Lagrange weights of the box's equispaced nodes (at (j + ½) / NODES) for a point at relative
/// position `t` ∈ [0, 1].
fn lagrange(t: f64) -> [f64; NODES] {
    let node = |j: usize| (j as f64 + 0.5) / NODES as f64;
    let mut w = [0.0f64; NODES];
    for (j, wj) in w.iter_mut().enumerate() {
        let (mut num, mut den) = (1.0, 1.0);
        for k in 0..NODES {
            if k != j {
                num *= t - node(k);
                den *= node(j) - node(k);
            }
        }
        *wj = num / den;
    }
    w
}

/// The 2-D transform of an `m × m` row-major grid whose rows from `live` on are zero, left
/// transposed in `g` (`tmp` is scratch of the same size).
fn forward_transposed(g: &mut Vec<Complex<f64>>, tmp: &mut Vec<Complex<f64>>, m: usize, live: usize, plan: &Arc<dyn Fft<f64>>) {
    rows(&mut g[..live * m], m, plan);
    transpose_into(g, tmp, m, live, m);
    std::mem::swap(g, tmp);
    rows(g, m, plan);
}

/// The inverse (unscaled) of [`forward_transposed`], from a transposed spectrum back to the
/// grid's own layout; only the first `live` rows are computed (the rest is left undefined).
fn inverse_from_transposed(g: &mut Vec<Complex<f64>>, tmp: &mut Vec<Complex<f64>>, m: usize, live: usize, plan: &Arc<dyn Fft<f64>>) {
    rows(g, m, plan);
    transpose_into(g, tmp, m, m, live);
    std::mem::swap(g, tmp);
    rows(&mut g[..live * m], m, plan);
}

/// Transforms every `m`-long row, rows split over threads in fixed chunks.
fn rows(g: &mut [Complex<f64>], m: usize, plan: &Arc<dyn Fft<f64>>) {
    let per = 16;
    g.par_chunks_mut(m * per).for_each_init(
        || vec![Complex::new(0.0, 0.0); plan.get_inplace_scratch_len()],
        |scratch, chunk| plan.process_with_scratch(chunk, scratch),
    );
}

/// Writes the first `out_rows` rows of the transpose of the `m × m` grid `src` (whose rows from
/// `live` on count as zero) into `dst`: by tiles, rows of `dst` split over threads.
fn transpose_into(src: &[Complex<f64>], dst: &mut [Complex<f64>], m: usize, live: usize, out_rows: usize) {
    const T: usize = 32;
    dst[..out_rows * m].par_chunks_mut(T * m).enumerate().for_each(|(t, chunk)| {
        let j0 = t * T;
        let rows_here = chunk.len() / m;
        for i0 in (0..m).step_by(T) {
            for dj in 0..rows_here {
                let out = &mut chunk[dj * m..(dj + 1) * m];
                for i in i0..(i0 + T).min(m) {
                    out[i] = if i < live { src[i * m + j0 + dj] } else { Complex::new(0.0, 0.0) };
                }
            }
        }
    });
}

/// Every pair summed: for each point Σⱼ q̃ᵢⱼ² (yᵢ − yⱼ) and Σⱼ q̃ᵢⱼ, per point in index order.
pub fn exact(y: &[[f64; 2]], grad: &mut [[f64; 2]]) -> f64 {
    let per: Vec<([f64; 2], f64)> = y
        .par_iter()
        .enumerate()
        .map(|(i, &p)| {
            let (mut f, mut z) = ([0.0f64; 2], 0.0f64);
            for (j, q) in y.iter().enumerate() {
                if j == i {
                    continue;
                }
                let d = [p[0] - q[0], p[1] - q[1]];
                let w = 1.0 / (1.0 + d[0] * d[0] + d[1] * d[1]);
                z += w;
                f[0] += w * w * d[0];
                f[1] += w * w * d[1];
            }
            (f, z)
        })
        .collect();
    let z = per.iter().map(|p| p.1).sum::<f64>().max(f64::MIN_POSITIVE);
    for (g, (f, _)) in grad.iter_mut().zip(&per) {
        g[0] -= f[0] / z;
        g[1] -= f[1] / z;
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::Rng;

    fn points(n: usize, scale: f64, seed: u64) -> Vec<[f64; 2]> {
        let mut r = Rng::new(seed);
        (0..n).map(|_| [(r.next_f64() - 0.5) * scale, (r.next_f64() - 0.5) * scale]).collect()
    }

    #[test]
    fn lagrange_weights_reproduce_quadratics() {
        for t in [0.0, 0.1, 0.5, 0.77, 1.0] {
            let w = lagrange(t);
            let s: f64 = w.iter().sum();
            assert!((s - 1.0).abs() < 1e-12);
            let q: f64 = w.iter().enumerate().map(|(j, &wj)| wj * ((j as f64 + 0.5) / 3.0).powi(2)).sum();
            assert!((q - t * t).abs() < 1e-12, "{t}: {q}");
        }
    }

    #[test]
    fn smooth_sizes_have_small_factors() {
        assert_eq!(smooth_size(50), 50);
        assert_eq!(smooth_size(51), 54);
        assert_eq!(smooth_size(61), 64);
        assert_eq!(smooth_size(97), 100);
    }

    #[test]
    fn interpolated_matches_exact() {
        // Spans below and above the 50-box floor, at densities a layout has (sparse points on
        // one-unit boxes interpolate their own charge poorly, and Z is mostly that).
        for (n, scale) in [(600, 8.0), (900, 40.0), (6000, 120.0)] {
            let y = points(n, scale, 7);
            let (mut ge, mut gi) = (vec![[0.0; 2]; n], vec![[0.0; 2]; n]);
            let ze = exact(&y, &mut ge);
            let zi = Repulsion::default().interpolated(&y, &mut gi);
            // openTSNE's own interpolation errs by 1e-3 to 1e-1 of the largest force on such maps.
            assert!((zi - ze).abs() / ze < 1e-2, "n {n} span {scale}: Z {zi} vs {ze}");
            let norm = ge.iter().map(|g| g[0].hypot(g[1])).fold(0.0, f64::max);
            let worst = ge.iter().zip(&gi).map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1])).fold(0.0, f64::max);
            assert!(worst < 0.1 * norm, "n {n} span {scale}: worst {worst} of {norm}");
        }
    }

    #[test]
    fn interpolated_is_the_same_on_one_thread() {
        let y = points(5000, 60.0, 3);
        let run = || {
            let mut g = vec![[0.0; 2]; y.len()];
            let z = Repulsion::default().interpolated(&y, &mut g);
            (z.to_bits(), g.iter().map(|p| [p[0].to_bits(), p[1].to_bits()]).collect::<Vec<_>>())
        };
        let two = run();
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(run);
        assert!(one == two);
    }
}
