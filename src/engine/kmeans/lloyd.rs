//! Lloyd iterations with Hamerly's or Elkan's bounds: the same fixed point as plain Lloyd, with
//! most of the distance work skipped once the centres settle.
//!
//! Every row keeps an upper bound `u` on its distance to its own centre and lower bounds on its
//! distance to the others. Hamerly's keep one lower bound `l` for every other centre: when the
//! centres move, `u` grows by its centre's drift and `l` shrinks by the largest drift of the
//! others; a row whose `u` stays below `max(l, s)` (`s`: half the distance from its centre to the
//! nearest other centre) provably keeps its label and is not touched. The rest are gathered into
//! blocks and go through the same blocked GEMM as a full pass. Elkan's keep one lower bound per
//! centre, each shrinking by its own centre's drift; a row that fails is compared with only the
//! centres its bounds cannot rule out, by single dot products. Elkan's are used while their n·k
//! values stay small ([`Bounds::for_size`]). Cluster sums are kept up to date from the rows that
//! change cluster, so a pass that changes few labels reads few rows, and the inertia comes from
//! the sums instead of one more pass over the data.
//!
//! Why Elkan's: on real text (the 9.5k Debian descriptions, k = 12) most rows lie nearly as close
//! to two or three centres as to their own, so Hamerly's single bound fails for about half the
//! rows in every late pass and each failure costs all k distances, although only those two or
//! three centres are in question. A pass is bound by reading rows from memory (this machine
//! streams about 6 GB/s, and a full pass over 9.5k × 384 floats takes 2–2.5 ms), so the rows
//! the bounds clear unread are what counts; Elkan's clear more of them and need one to three
//! dot products for the rest. Cosine K-means on that set: 0.35–0.40 s → 0.29–0.35 s for three
//! restarts.
//!
//! Bounds are true (not squared) euclidean distances; under the cosine metric they are distances
//! between unit vectors, which order the centres as the cosine does. The GEMM estimates
//! ‖x − o‖² + ‖c − o‖² − 2(x·(c − o) − o·(c − o)) about a fixed point o near the data (the median
//! of the starting centres), so data far from the origin keeps its precision; their rounding error,
//! at most `2d·2⁻²⁴·‖x‖·‖c − o‖`, is subtracted from every lower bound taken from them, so a
//! skipped row is one whose label the exact distances confirm. The single dot products of Elkan's
//! passes estimate the same expression with the same allowance.

use rayon::prelude::*;

use crate::engine::control::{Cancelled, Control};
use crate::engine::kernels::{ROW_BLOCK, add_diff, dot_nt, fixed_ranges, row_norms_sq, split_by_ranges, sq_dist, sq_dist_exact};
use crate::engine::kmeans::KMeansResult;
use crate::engine::matrix::Matrix;

/// Relative rounding allowance of an f32 dot product over `d` terms.
fn dot_eps(d: usize) -> f64 {
    let d = d.max(1) as f64;
    d * f64::from(f32::EPSILON)
}

/// An upper bound on the euclidean distance between `x` and `c`: [`sq_dist`] rounds each
/// difference and square and adds up `d/8` f32 squares per lane, a relative error below
/// `(d/8 + 3)·2⁻²⁴`.
fn upper_dist(x: &[f32], c: &[f32]) -> f64 {
    (sq_dist(x, c) * (1.0 + sq_dist_rel(x.len()))).sqrt()
}

/// What one pass over the rows produced.
struct PassOut {
    /// Fresh full pass: per-cluster sums of x − o. Other passes: their change.
    sums: Vec<f64>,
    /// Fresh full pass: cluster sizes. Other passes: their change.
    counts: Vec<i64>,
    /// Rows whose label changed.
    changed: usize,
    /// The first full pass: Σ‖x − o‖² over its rows (kept in [`Rows`]). Later passes: 0.
    spread: f64,
    /// Rows re-assigned through the GEMM.
    gathered: usize,
}

impl PassOut {
    fn zero(k: usize, d: usize) -> Self {
        Self { sums: vec![0.0; k * d], counts: vec![0; k], changed: 0, spread: 0.0, gathered: 0 }
    }

    /// The parts of a pass added up in order.
    fn total(parts: &[Self], k: usize, d: usize) -> Self {
        let mut t = Self::zero(k, d);
        for p in parts {
            t.add(p);
        }
        t
    }

    /// A bounded pass's part before any row moved: no sums yet (most parts never need them).
    fn empty(k: usize) -> Self {
        Self { sums: Vec::new(), counts: vec![0; k], changed: 0, spread: 0.0, gathered: 0 }
    }

    /// Moves row `x`'s x − o from cluster `from`'s sum to `to`'s (the sums made on first use).
    fn move_row(&mut self, x: &[f32], o: &[f32], from: usize, to: usize, k: usize) {
        let d = o.len();
        self.counts[from] -= 1;
        self.counts[to] += 1;
        if self.sums.is_empty() {
            self.sums = vec![0.0; k * d];
        }
        let (sf, st) = (from * d, to * d);
        for (t, (&v, &w)) in x.iter().zip(o).enumerate() {
            let v = f64::from(v) - f64::from(w);
            self.sums[sf + t] -= v;
            self.sums[st + t] += v;
        }
    }

    fn add(&mut self, o: &Self) {
        self.sums.iter_mut().zip(&o.sums).for_each(|(a, b)| *a += b);
        self.counts.iter_mut().zip(&o.counts).for_each(|(a, b)| *a += b);
        self.changed += o.changed;
        self.spread += o.spread;
        self.gathered += o.gathered;
    }
}

/// The centres as the passes read them: rows, the rows less o with their squared norms, the
/// largest of those norms and the products o·(c − o), half the distance to the nearest other
/// centre.
struct Centres<'a> {
    c: &'a [f32],
    shifted: Vec<f32>,
    norms: Vec<f64>,
    max_norm: f64,
    origin_dot: Vec<f64>,
    origin_norm: f64,
    half_sep: Vec<f64>,
    /// Half the distance between centres a and b at `a * k + b` (shrunk like `half_sep`); +∞ on
    /// the diagonal.
    half_pair: Vec<f64>,
    /// ‖c − o‖² + 2·o·(c − o) in f32, the constant part of the search key, and its largest size.
    w: Vec<f32>,
    w_abs_max: f64,
}

impl<'a> Centres<'a> {
    fn new(c: &'a [f32], o: &[f32], k: usize, d: usize) -> Self {
        let shifted: Vec<f32> = c.chunks_exact(d.max(1)).flat_map(|row| row.iter().zip(o).map(|(&a, &b)| a - b)).collect();
        let norms = row_norms_sq(&shifted, d);
        let max_norm = norms.iter().copied().fold(0.0, f64::max);
        let origin_dot = shifted.chunks_exact(d.max(1)).map(|row| crate::engine::kernels::dot_f64(row, o)).collect();
        let origin_norm = crate::engine::kernels::sum_sq(o).sqrt();
        let mut half_sep = vec![f64::INFINITY; k];
        let mut half_pair = vec![f64::INFINITY; k * k];
        for a in 0..k {
            for b in a + 1..k {
                let s = 0.5 * sq_dist(&c[a * d..(a + 1) * d], &c[b * d..(b + 1) * d]).sqrt() * (1.0 - 1e-6);
                half_sep[a] = half_sep[a].min(s);
                half_sep[b] = half_sep[b].min(s);
                half_pair[a * k + b] = s;
                half_pair[b * k + a] = s;
            }
        }
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
        )]
        let w: Vec<f32> = norms.iter().zip(&origin_dot).map(|(&cn, &od)| (cn + 2.0 * od) as f32).collect();
        let w_abs_max = w.iter().map(|v| f64::from(v.abs())).fold(0.0, f64::max);
        Self { c, shifted, norms, max_norm, origin_dot, origin_norm, half_sep, half_pair, w, w_abs_max }
    }
}

/// For each of the `m` rows of `block` (with squared distances `xn` to o): the nearest centre
/// by the GEMM estimate, a lower bound on the distance to every other centre and an upper bound
/// on the distance to that one.
#[expect(clippy::too_many_arguments, reason = "the kernel's inputs are separate slices and sizes; a struct would only name them again")]
fn nearest_two(block: &[f32], xn: &[f64], m: usize, cs: &Centres, k: usize, d: usize, buf: &mut [f32], out: &mut Vec<(usize, f64, f64)>) {
    dot_nt(block, m, &cs.shifted, k, d, buf, k);
    out.clear();
    #[cfg(target_arch = "x86_64")]
    {
        if crate::engine::kernels::direct_available() {
            // SAFETY: the CPU has AVX2 and FMA (checked).
            unsafe { search_avx2(xn, m, cs, k, d, buf, out) };
            return;
        }
    }
    search(xn, m, cs, k, d, buf, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn search_avx2(xn: &[f64], m: usize, cs: &Centres, k: usize, d: usize, buf: &[f32], out: &mut Vec<(usize, f64, f64)>) {
    search(xn, m, cs, k, d, buf, out);
}

/// The search of [`nearest_two`] over the GEMM's products `buf` (m×k).
#[inline(always)]
fn search(xn: &[f64], m: usize, cs: &Centres, k: usize, d: usize, buf: &[f32], out: &mut Vec<(usize, f64, f64)>) {
    let eps = 2.0 * dot_eps(d) * cs.max_norm.sqrt();
    // The search runs in f32 on w_j = (‖c_j − o‖² + 2·o·(c_j − o)) − 2g_j, each term rounded
    // once: |w_j − v_j| ≤ 2⁻²³·(max|cw| + |w_j|) against the f64 value v_j, which the lower
    // bound subtracts; the chosen centre's upper bound is taken from its f64 value. Straight
    // passes (keys, smallest, its first index, the smallest of the rest) vectorise.
    let slack = f64::from(f32::EPSILON) * cs.w_abs_max;
    let mut w = vec![0.0f32; k];
    for i in 0..m {
        let row = &buf[i * k..(i + 1) * k];
        for ((o, &g), &cw) in w.iter_mut().zip(row).zip(&cs.w) {
            *o = cw - 2.0 * g;
        }
        let bw = min_f32(&w);
        let best = w.iter().position(|&v| v == bw).unwrap_or(0);
        w[best] = f32::INFINITY;
        let second = min_f32(&w);
        let bv = cs.norms[best] - 2.0 * (f64::from(row[best]) - cs.origin_dot[best]);
        let second = f64::from(second);
        let second = second - slack - f64::from(f32::EPSILON) * second.abs();
        // ‖x‖ ≤ ‖x − o‖ + ‖o‖ bounds the GEMM's rounding; c − o is rounded relative to itself.
        let err = eps * (xn[i].sqrt() + cs.origin_norm);
        let low = (second + xn[i] - err).max(0.0).sqrt() - 2.0 * f64::from(f32::EPSILON) * cs.max_norm.sqrt();
        let low = low.max(0.0);
        let high = (bv + xn[i] + err).max(0.0).sqrt() + 2.0 * f64::from(f32::EPSILON) * cs.max_norm.sqrt();
        out.push((best, low, high));
    }
}

/// For each of the `m` rows whose GEMM products with the centres are in `buf` (m×k, as
/// [`nearest_two`] leaves them): a lower bound on its distance to every centre, into `out` (m×k),
/// with the same rounding allowance as [`search`]'s lower bound.
fn centre_lower_bounds(buf: &[f32], xn: &[f64], m: usize, cs: &Centres, k: usize, d: usize, out: &mut [f64]) {
    let eps = 2.0 * dot_eps(d) * cs.max_norm.sqrt();
    let shrink = 2.0 * f64::from(f32::EPSILON) * cs.max_norm.sqrt();
    for i in 0..m {
        let err = eps * (xn[i].sqrt() + cs.origin_norm);
        let row = &buf[i * k..(i + 1) * k];
        for (j, (o, &g)) in out[i * k..(i + 1) * k].iter_mut().zip(row).enumerate() {
            let v = cs.norms[j] - 2.0 * (f64::from(g) - cs.origin_dot[j]);
            *o = ((v + xn[i] - err).max(0.0).sqrt() - shrink).max(0.0);
        }
    }
}

/// The relative rounding allowance of [`sq_dist`] over `d` terms: it rounds each difference and
/// square and adds up `d/8` f32 squares per lane.
fn sq_dist_rel(d: usize) -> f64 {
    let terms = (d / 8 + 3) as f64;
    terms * f64::from(f32::EPSILON)
}

/// The smallest value (+∞ for none), with eight running minima so that it vectorises.
#[inline(always)]
fn min_f32(v: &[f32]) -> f32 {
    let mut lanes = [f32::INFINITY; 8];
    let (chunks, tail) = v.as_chunks::<8>();
    for c in chunks {
        for l in 0..8 {
            lanes[l] = if c[l] < lanes[l] { c[l] } else { lanes[l] };
        }
    }
    let mut m = f32::INFINITY;
    for &x in lanes.iter().chain(tail) {
        m = if x < m { x } else { m };
    }
    m
}

/// The per-row state of the bounded iterations.
struct Rows {
    labels: Vec<u32>,
    upper: Vec<f64>,
    lower: Vec<f64>,
    /// With [`Bounds::Elkan`]: a lower bound on every row's distance to every centre (n×k);
    /// else empty.
    centre_lower: Vec<f64>,
    /// ‖x − o‖², once the first full pass has computed them, and their sum.
    norms: Vec<f64>,
    norms_ready: bool,
    spread: f64,
}

/// The fixed row ranges of a pass: enough for two threads to share the work evenly, few enough
/// that each range's own cluster sums (k·d values) stay a small allocation in total.
fn ranges_for(n: usize) -> Vec<std::ops::Range<usize>> {
    fixed_ranges(n, n.div_ceil(1024).min(16))
}

/// Assigns every row from scratch: labels, exact upper bounds, lower bounds, and the first time
/// the rows' squared distances to o and their sum. With `fresh`, the per-cluster sums and sizes
/// are summed over every row; without, the labels describe the current sums and only the rows
/// whose label changes move their x − o from one sum to the other (a few percent of the rows
/// once the centres settle, where every row used to be added again).
fn full_pass(points: &Matrix, cs: &Centres, o: &[f32], k: usize, rows: &mut Rows, fresh: bool) -> PassOut {
    let (n, d) = (points.n(), points.d());
    let ranges = ranges_for(n);
    let first = !std::mem::replace(&mut rows.norms_ready, true);
    let elkan = !rows.centre_lower.is_empty();
    let ranges_k: Vec<_> = ranges.iter().map(|r| if elkan { r.start * k..r.end * k } else { 0..0 }).collect();
    let parts = ranges
        .par_iter()
        .zip(split_by_ranges(&mut rows.labels, &ranges))
        .zip(split_by_ranges(&mut rows.upper, &ranges))
        .zip(split_by_ranges(&mut rows.lower, &ranges))
        .zip(split_by_ranges(&mut rows.norms, &ranges))
        .zip(split_by_ranges(&mut rows.centre_lower, &ranges_k))
        .map(|(((((r, lab), up), lo), nr), cl)| {
            let mut out = PassOut::zero(k, d);
            // Each block's rows are summed per cluster in f32 (vectorised, at most ROW_BLOCK
            // terms) while still in cache, then added to the f64 sums.
            let mut block_sums = vec![0.0f32; k * d];
            let mut touched = vec![false; k];
            let mut buf = vec![0.0f32; ROW_BLOCK * k];
            let mut near = Vec::with_capacity(ROW_BLOCK);
            let mut start = r.start;
            while start < r.end {
                let end = (start + ROW_BLOCK).min(r.end);
                let m = end - start;
                let off = start - r.start;
                if first {
                    for i in 0..m {
                        nr[off + i] = sq_dist_exact(points.row(start + i), o);
                        out.spread += nr[off + i];
                    }
                }
                nearest_two(&points.as_slice()[start * d..end * d], &nr[off..off + m], m, cs, k, d, &mut buf, &mut near);
                if elkan {
                    centre_lower_bounds(&buf, &nr[off..off + m], m, cs, k, d, &mut cl[off * k..(off + m) * k]);
                }
                for (i, &(best, low, high)) in near.iter().enumerate() {
                    let x = points.row(start + i);
                    let li = off + i;
                    #[expect(
                        clippy::cast_possible_truncation,
                        reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)"
                    )]
                    let best_u = best as u32;
                    let old = lab[li];
                    if old != best_u {
                        out.changed += 1;
                        lab[li] = best_u;
                    }
                    up[li] = high;
                    lo[li] = low;
                    if fresh || old != best_u {
                        out.counts[best] += 1;
                        touched[best] = true;
                        add_diff(&mut block_sums[best * d..(best + 1) * d], x, o);
                    }
                    if !fresh && old != best_u {
                        let old = old as usize;
                        out.counts[old] -= 1;
                        touched[old] = true;
                        // Adding o − x takes x − o away.
                        add_diff(&mut block_sums[old * d..(old + 1) * d], o, x);
                    }
                }
                for j in 0..k {
                    if std::mem::take(&mut touched[j]) {
                        let bs = &mut block_sums[j * d..(j + 1) * d];
                        for (a, b) in out.sums[j * d..(j + 1) * d].iter_mut().zip(bs.iter_mut()) {
                            *a += f64::from(std::mem::take(b));
                        }
                    }
                }
                start = end;
            }
            out
        })
        .collect::<Vec<PassOut>>();
    let total = PassOut::total(&parts, k, d);
    if first {
        rows.spread = total.spread;
    }
    total
}

/// Rows of one range waiting for the GEMM: their offsets in the range, the rows themselves and
/// their squared distances to o.
#[derive(Default)]
struct Gathered {
    idx: Vec<usize>,
    block: Vec<f32>,
    norms: Vec<f64>,
}

impl Gathered {
    fn push(&mut self, li: usize, row: &[f32], norm: f64) {
        self.idx.push(li);
        self.block.extend_from_slice(row);
        self.norms.push(norm);
    }

    fn clear(&mut self) {
        self.idx.clear();
        self.block.clear();
        self.norms.clear();
    }
}

/// One bounded pass after the centres moved by `drift`: rows the bounds clear keep their label;
/// the others are re-assigned through the GEMM. Returns the change of the sums and sizes.
fn bounded_pass(points: &Matrix, cs: &Centres, o: &[f32], drift: &[f64], k: usize, rows: &mut Rows) -> PassOut {
    let (n, d) = (points.n(), points.d());
    // The largest drift, and the largest among the other centres for the centre that has it.
    let (mut top, mut top_j, mut second) = (0.0f64, usize::MAX, 0.0f64);
    for (j, &v) in drift.iter().enumerate() {
        if v > top {
            second = top;
            top = v;
            top_j = j;
        } else if v > second {
            second = v;
        }
    }
    let ranges = ranges_for(n);
    let norms = &rows.norms;
    let parts = ranges
        .par_iter()
        .zip(split_by_ranges(&mut rows.labels, &ranges))
        .zip(split_by_ranges(&mut rows.upper, &ranges))
        .zip(split_by_ranges(&mut rows.lower, &ranges))
        .map(|(((r, lab), up), lo)| {
            // Buffers are made on first use: most ranges of a late pass re-assign no row.
            let mut out = PassOut::empty(k);
            let mut g = Gathered::default();
            let mut buf = Vec::new();
            let mut near = Vec::with_capacity(ROW_BLOCK);
            let mut flush = |g: &mut Gathered, out: &mut PassOut, lab: &mut [u32], up: &mut [f64], lo: &mut [f64]| {
                if g.idx.is_empty() {
                    return;
                }
                if buf.is_empty() {
                    buf.resize(ROW_BLOCK * k, 0.0);
                }
                nearest_two(&g.block, &g.norms, g.idx.len(), cs, k, d, &mut buf, &mut near);
                for (&li, &(best, low, high)) in g.idx.iter().zip(&near) {
                    let x = points.row(r.start + li);
                    let old = lab[li] as usize;
                    if best != old {
                        out.changed += 1;
                        #[expect(
                            clippy::cast_possible_truncation,
                            reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)"
                        )]
                        {
                            lab[li] = best as u32;
                        }
                        out.move_row(x, o, old, best, k);
                    }
                    up[li] = high;
                    lo[li] = low;
                }
                out.gathered += g.idx.len();
                g.clear();
            };
            for li in 0..r.len() {
                let a = lab[li] as usize;
                let u = up[li] + drift[a];
                let l = lo[li] - if a == top_j { second } else { top };
                let bound = l.max(cs.half_sep[a]);
                up[li] = u;
                lo[li] = l;
                if u <= bound {
                    continue;
                }
                let u = upper_dist(points.row(r.start + li), &cs.c[a * d..(a + 1) * d]);
                up[li] = u;
                if u <= bound {
                    continue;
                }
                g.push(li, points.row(r.start + li), norms[r.start + li]);
                if g.idx.len() == ROW_BLOCK {
                    flush(&mut g, &mut out, lab, up, lo);
                }
            }
            flush(&mut g, &mut out, lab, up, lo);
            out
        })
        .collect::<Vec<PassOut>>();
    PassOut::total(&parts, k, d)
}

/// One pass with a lower bound per centre (Elkan's) after the centres moved by `drift`. Each
/// row's bounds shrink by each centre's own drift; a row whose upper bound stays below every
/// other centre's lower bound (or half its centre's distance to that centre) keeps its label,
/// and a row that does not is compared with only the centres that could be nearer. On real
/// text, where most rows lie nearly as close to two or three centres as to their own, the one
/// bound of [`bounded_pass`] fails for most rows although only those few centres are in
/// question. The distances come from single dot products with the shifted centres, with the
/// rounding allowance of [`search`]. Returns the change of the sums and sizes; `gathered`
/// counts the dot products, in rows of k.
fn elkan_pass(points: &Matrix, cs: &Centres, o: &[f32], drift: &[f64], k: usize, rows: &mut Rows) -> PassOut {
    let (n, d) = (points.n(), points.d());
    let ranges = ranges_for(n);
    let ranges_k: Vec<_> = ranges.iter().map(|r| r.start * k..r.end * k).collect();
    let norms = &rows.norms;
    let parts = ranges
        .par_iter()
        .zip(split_by_ranges(&mut rows.labels, &ranges))
        .zip(split_by_ranges(&mut rows.upper, &ranges))
        .zip(split_by_ranges(&mut rows.centre_lower, &ranges_k))
        .map(|(((r, lab), up), cl)| {
            let mut out = PassOut::empty(k);
            let range = ElkanRange { points, start: r.start, norms: &norms[r.clone()], cs, drift, k, d };
            #[cfg(target_arch = "x86_64")]
            {
                if crate::engine::kernels::direct_available() {
                    // SAFETY: the CPU has AVX2 and FMA (checked).
                    unsafe { elkan_range_avx2(&range, lab, up, cl, o, &mut out) };
                    return out;
                }
            }
            elkan_range::<Portable>(&range, lab, up, cl, o, &mut out);
            out
        })
        .collect::<Vec<PassOut>>();
    PassOut::total(&parts, k, d)
}

/// What [`elkan_range`] reads.
struct ElkanRange<'a> {
    points: &'a Matrix,
    start: usize,
    /// ‖x − o‖² of the range's rows.
    norms: &'a [f64],
    cs: &'a Centres<'a>,
    drift: &'a [f64],
    k: usize,
    d: usize,
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn elkan_range_avx2(r: &ElkanRange, lab: &mut [u32], up: &mut [f64], cl: &mut [f64], o: &[f32], out: &mut PassOut) {
    elkan_range::<Avx2>(r, lab, up, cl, o, out);
}

/// The two inner loops of [`elkan_range`].
trait ElkanKernels {
    /// x·c in f32.
    fn dot(x: &[f32], c: &[f32]) -> f32;
    /// Lowers every bound by its centre's drift; returns min_j max(low_j, pair_j).
    fn shrink_and_gate(low: &mut [f64], drift: &[f64], pair: &[f64]) -> f64;
    /// Asks for a row from memory ahead of its use.
    fn prefetch(_row: &[f32]) {}
}

/// Plain loops.
struct Portable;

impl ElkanKernels for Portable {
    #[inline(always)]
    fn dot(x: &[f32], c: &[f32]) -> f32 {
        x.iter().zip(c).map(|(a, b)| a * b).sum()
    }

    #[inline(always)]
    fn shrink_and_gate(low: &mut [f64], drift: &[f64], pair: &[f64]) -> f64 {
        let mut gate = f64::INFINITY;
        for ((l, &v), &h) in low.iter_mut().zip(drift).zip(pair) {
            *l -= v;
            gate = gate.min(l.max(h));
        }
        gate
    }
}

/// AVX2 and FMA registers.
#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl ElkanKernels for Avx2 {
    #[inline(always)]
    fn dot(x: &[f32], c: &[f32]) -> f32 {
        use std::arch::x86_64::{_mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_setzero_ps, _mm256_storeu_ps};
        let d = x.len().min(c.len());
        let (xp, cp) = (x.as_ptr(), c.as_ptr());
        // SAFETY: only reached from `elkan_range_avx2`, on a CPU with AVX2 and FMA; every load
        // reads eight floats at t < t + 8 ≤ d.
        unsafe {
            let mut acc = [_mm256_setzero_ps(); 4];
            let mut t = 0;
            while t + 32 <= d {
                for (q, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(_mm256_loadu_ps(xp.add(t + 8 * q)), _mm256_loadu_ps(cp.add(t + 8 * q)), *a);
                }
                t += 32;
            }
            while t + 8 <= d {
                acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(xp.add(t)), _mm256_loadu_ps(cp.add(t)), acc[0]);
                t += 8;
            }
            let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
            let mut lanes = [0.0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), s);
            let mut sum = (lanes[0] + lanes[4]) + (lanes[1] + lanes[5]) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
            while t < d {
                sum += x[t] * c[t];
                t += 1;
            }
            sum
        }
    }

    #[inline(always)]
    fn shrink_and_gate(low: &mut [f64], drift: &[f64], pair: &[f64]) -> f64 {
        use std::arch::x86_64::{_mm256_loadu_pd, _mm256_max_pd, _mm256_min_pd, _mm256_set1_pd, _mm256_storeu_pd, _mm256_sub_pd};
        let k = low.len().min(drift.len()).min(pair.len());
        let mut gate = f64::INFINITY;
        let mut j = 0;
        // SAFETY: only reached from `elkan_range_avx2`, on a CPU with AVX2; every access is
        // at j..j + 4 ≤ k.
        unsafe {
            let mut g = _mm256_set1_pd(f64::INFINITY);
            while j + 4 <= k {
                let l = _mm256_sub_pd(_mm256_loadu_pd(low.as_ptr().add(j)), _mm256_loadu_pd(drift.as_ptr().add(j)));
                _mm256_storeu_pd(low.as_mut_ptr().add(j), l);
                g = _mm256_min_pd(g, _mm256_max_pd(l, _mm256_loadu_pd(pair.as_ptr().add(j))));
                j += 4;
            }
            let mut lanes = [0.0f64; 4];
            _mm256_storeu_pd(lanes.as_mut_ptr(), g);
            for v in lanes {
                gate = gate.min(v);
            }
        }
        while j < k {
            low[j] -= drift[j];
            gate = gate.min(low[j].max(pair[j]));
            j += 1;
        }
        gate
    }

    #[inline(always)]
    fn prefetch(row: &[f32]) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // One cache line is 16 floats.
        for t in (0..row.len()).step_by(16) {
            // SAFETY: t < row.len(); a prefetch has no architectural effect.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(row.as_ptr().add(t).cast::<i8>()) };
        }
    }
}

/// The rows of one range in [`elkan_pass`].
#[inline(always)]
fn elkan_range<K: ElkanKernels>(r: &ElkanRange, lab: &mut [u32], up: &mut [f64], cl: &mut [f64], o: &[f32], out: &mut PassOut) {
    let (cs, k) = (r.cs, r.k);
    let mut computed = 0usize;
    // The bounds first, for a chunk of rows at a time; the rows they do not clear are asked from
    // memory together, so that their reads overlap (rows that are read are scattered, and one
    // row's read waiting on the last costs more than its dot products).
    let mut pending: Vec<(usize, f64)> = Vec::with_capacity(ELKAN_CHUNK);
    for chunk in 0..lab.len().div_ceil(ELKAN_CHUNK) {
        pending.clear();
        for li in chunk * ELKAN_CHUNK..((chunk + 1) * ELKAN_CHUNK).min(lab.len()) {
            let a = lab[li] as usize;
            let low = &mut cl[li * k..(li + 1) * k];
            let gate = K::shrink_and_gate(low, r.drift, &cs.half_pair[a * k..(a + 1) * k]);
            let u = up[li] + r.drift[a];
            up[li] = u;
            if u > gate {
                pending.push((li, gate));
                K::prefetch(r.points.row(r.start + li));
            }
        }
        for &(li, gate) in &pending {
            computed += elkan_row::<K>(r, li, gate, lab, up, &mut cl[li * k..(li + 1) * k], o, out);
        }
    }
    out.gathered = computed.div_ceil(k.max(1));
}

/// Rows whose bounds [`elkan_range`] checks before it reads any of them.
const ELKAN_CHUNK: usize = 16;

/// One row of [`elkan_range`] whose bounds did not clear it (`gate`: the nearest another centre
/// could be); returns the dot products it took.
#[inline(always)]
#[expect(clippy::too_many_arguments, reason = "the kernel's inputs are separate slices and sizes; a struct would only name them again")]
fn elkan_row<K: ElkanKernels>(
    r: &ElkanRange,
    li: usize,
    gate: f64,
    lab: &mut [u32],
    up: &mut [f64],
    low: &mut [f64],
    o: &[f32],
    out: &mut PassOut,
) -> usize {
    let (cs, k, d) = (r.cs, r.k, r.d);
    let eps = 2.0 * dot_eps(d) * cs.max_norm.sqrt();
    let shrink = 2.0 * f64::from(f32::EPSILON) * cs.max_norm.sqrt();
    let mut computed = 0usize;
    let a = lab[li] as usize;
    let pair = &cs.half_pair[a * k..(a + 1) * k];
    {
        let x = r.points.row(r.start + li);
        let xn = r.norms[li];
        let err = eps * (xn.sqrt() + cs.origin_norm);
        let own = centre_value::<K>(cs, x, a, d);
        computed += 1;
        let u = (own + xn + err).max(0.0).sqrt() + shrink;
        low[a] = ((own + xn - err).max(0.0).sqrt() - shrink).max(0.0);
        if u <= gate {
            up[li] = u;
            return computed;
        }
        let (mut best, mut best_v) = (a, own);
        for j in 0..k {
            if u <= low[j] || u <= pair[j] {
                continue;
            }
            let v = centre_value::<K>(cs, x, j, d);
            computed += 1;
            low[j] = ((v + xn - err).max(0.0).sqrt() - shrink).max(0.0);
            if v < best_v || (v == best_v && j < best) {
                (best, best_v) = (j, v);
            }
        }
        up[li] = (best_v + xn + err).max(0.0).sqrt() + shrink;
        if best != a {
            out.changed += 1;
            #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
            {
                lab[li] = best as u32;
            }
            out.move_row(x, o, a, best, k);
        }
    }
    computed
}

/// ‖c_j − o‖² − 2(x·(c_j − o) − o·(c_j − o)): the squared distance from x to centre j less
/// ‖x − o‖², as [`search`] reads it from the GEMM.
#[inline(always)]
fn centre_value<K: ElkanKernels>(cs: &Centres, x: &[f32], j: usize, d: usize) -> f64 {
    cs.norms[j] - 2.0 * (f64::from(K::dot(x, &cs.shifted[j * d..(j + 1) * d])) - cs.origin_dot[j])
}

/// Lloyd iterations from `centers` until no label changes, the centres move less than
/// `tol_rel` times the mean per-feature variance of the rows (squared, summed, as scikit-learn's
/// `tol`), or `max_iter` passes; spherical (unit centres) under cosine. The variance comes from
/// the first pass's sums, so it costs no pass of its own.
pub(crate) fn lloyd(
    points: &Matrix,
    centers: Vec<f32>,
    max_iter: usize,
    tol_rel: f64,
    spherical: bool,
    ctl: &Control,
    stage: &str,
) -> Result<KMeansResult, Cancelled> {
    let k = centers.len() / points.d().max(1);
    lloyd_with(points, centers, (max_iter, tol_rel), spherical, Bounds::for_size(points.n(), k), ctl, stage)
}

/// Which bounds skip the rows whose label provably stays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bounds {
    /// One lower bound per row (Hamerly's): n values.
    Hamerly,
    /// One lower bound per row and centre (Elkan's): n·k values.
    Elkan,
}

/// Most per-centre lower bounds kept (f64: 128 MB).
const ELKAN_MAX_BOUNDS: usize = 16 << 20;

impl Bounds {
    /// Elkan's bounds while their n·k values stay small and k is small enough that a row's check
    /// of every centre costs little beside one distance; else Hamerly's.
    fn for_size(n: usize, k: usize) -> Self {
        if k <= 64 && n.saturating_mul(k) <= ELKAN_MAX_BOUNDS { Self::Elkan } else { Self::Hamerly }
    }
}

fn lloyd_with(
    points: &Matrix,
    mut centers: Vec<f32>,
    (max_iter, tol_rel): (usize, f64),
    spherical: bool,
    bounds: Bounds,
    ctl: &Control,
    stage: &str,
) -> Result<KMeansResult, Cancelled> {
    let (n, d) = (points.n(), points.d());
    let k = centers.len() / d.max(1);
    let mut rows = Rows {
        labels: vec![u32::MAX; n],
        upper: vec![0.0; n],
        lower: vec![0.0; n],
        centre_lower: if bounds == Bounds::Elkan { vec![0.0; n * k] } else { Vec::new() },
        norms: vec![0.0; n],
        norms_ready: false,
        spread: 0.0,
    };
    let mut sums = vec![0.0f64; k * d];
    let mut counts = vec![0i64; k];
    let mut drift: Option<Vec<f64>> = None;
    // Whether the next pass must sum every row (the first one, and after a relocation).
    let mut fresh = true;
    let mut n_iter = 0;
    let mut converged = false;
    let mut final_pass_done = false;
    let mut tol = 0.0;
    let mut full_passes = 0usize;
    let mut backoff = 0usize;
    let o = centroid(&centers, k, d);
    for it in 0..max_iter {
        ctl.check()?;
        ctl.progress(&format!("{stage} · iteration {}", it + 1), it as f32 / max_iter as f32);
        let cs = Centres::new(&centers, &o, k, d);
        let (changed, gathered) = pass(points, &cs, &o, drift.as_deref(), fresh, k, &mut rows, &mut sums, &mut counts);
        // When the bounds clear too few rows (centres still moving a lot, or data without
        // structure), a bounded pass reads nearly every row anyway and costs more than a full
        // one: take full passes for a while, longer each time the bounds fail again.
        if gathered != usize::MAX {
            if gathered > n / 4 {
                backoff = (backoff * 2).clamp(3, 24);
                full_passes = backoff;
            } else {
                backoff = 0;
            }
        }
        if it == 0 {
            tol = tol_rel * mean_variance(points, &sums, rows.spread);
        }
        ctl.step(&rows.labels);
        n_iter = it + 1;
        let relocated = relocate_empty(points, &cs, &o, k, &mut rows, &mut sums, &mut counts);
        // After a relocation the sums no longer follow the labels: the next pass sums afresh.
        fresh = relocated;
        let new_centers = means(&sums, &counts, &o, &centers, spherical);
        // The first pass starts from no labels, so it can never count as "no label changed".
        // Unchanged labels give unchanged sums and so unchanged centres: this pass's labels
        // already describe the returned centres.
        if it > 0 && changed == 0 && !relocated {
            converged = true;
            final_pass_done = true;
            break;
        }
        let moved: Vec<f64> =
            (0..k).map(|j| sq_dist(&centers[j * d..(j + 1) * d], &new_centers[j * d..(j + 1) * d]).sqrt() * (1.0 + 1e-6)).collect();
        let shift: f64 =
            (0..k).map(|j| crate::engine::kernels::sq_dist_f64(&centers[j * d..(j + 1) * d], &new_centers[j * d..(j + 1) * d])).sum();
        centers = new_centers;
        // After a relocation the sums no longer follow the labels: start the next pass afresh.
        drift = if relocated || full_passes > 0 { None } else { Some(moved) };
        full_passes = full_passes.saturating_sub(1);
        if shift <= tol {
            converged = true;
            break;
        }
    }
    if !final_pass_done {
        // Labels must describe the returned centres.
        let cs = Centres::new(&centers, &o, k, d);
        pass(points, &cs, &o, drift.as_deref(), fresh, k, &mut rows, &mut sums, &mut counts);
    }
    let inertia = inertia_from_sums(points, &o, &centers, &sums, &counts, rows.spread, spherical);
    Ok(KMeansResult { labels: rows.labels, centroids: centers, inertia, n_iter, converged, best_init: 0 })
}

/// A full pass when there is no drift to apply (summing every row when `fresh`, else moving the
/// rows whose label changes between sums), else a bounded one; updates the sums and sizes,
/// returns how many labels changed and how many rows the bounded pass re-assigned.
#[expect(clippy::too_many_arguments, reason = "the kernel's inputs are separate slices and sizes; a struct would only name them again")]
fn pass(
    points: &Matrix,
    cs: &Centres,
    o: &[f32],
    drift: Option<&[f64]>,
    fresh: bool,
    k: usize,
    rows: &mut Rows,
    sums: &mut [f64],
    counts: &mut [i64],
) -> (usize, usize) {
    match drift {
        None if fresh => {
            let out = full_pass(points, cs, o, k, rows, true);
            sums.copy_from_slice(&out.sums);
            counts.copy_from_slice(&out.counts);
            (out.changed, usize::MAX)
        }
        None => {
            let out = full_pass(points, cs, o, k, rows, false);
            sums.iter_mut().zip(&out.sums).for_each(|(a, b)| *a += b);
            counts.iter_mut().zip(&out.counts).for_each(|(a, b)| *a += b);
            (out.changed, usize::MAX)
        }
        Some(drift) => {
            let out = if rows.centre_lower.is_empty() {
                bounded_pass(points, cs, o, drift, k, rows)
            } else {
                elkan_pass(points, cs, o, drift, k, rows)
            };
            sums.iter_mut().zip(&out.sums).for_each(|(a, b)| *a += b);
            counts.iter_mut().zip(&out.counts).for_each(|(a, b)| *a += b);
            (out.changed, out.gathered)
        }
    }
}

/// The coordinate-wise median of the `k` rows of `c`: a point near the data that a few far
/// starting centres do not pull away.
fn centroid(c: &[f32], k: usize, d: usize) -> Vec<f32> {
    let mut col = Vec::with_capacity(k);
    (0..d)
        .map(|t| {
            col.clear();
            col.extend(c.iter().skip(t).step_by(d.max(1)).copied());
            col.sort_by(f32::total_cmp);
            col.get(col.len() / 2).copied().unwrap_or(0.0)
        })
        .collect()
}

/// Mean over features of the per-feature variance, from a full pass's cluster sums of x − o and
/// its Σ‖x − o‖²: Σ_f var_f = Σ‖x − o‖²/n − ‖x̄ − o‖².
fn mean_variance(points: &Matrix, sums: &[f64], spread: f64) -> f64 {
    let (n, d) = (points.n(), points.d());
    if n == 0 || d == 0 {
        return 0.0;
    }
    let (nf, df) = (n as f64, d as f64);
    let mut off = 0.0;
    for t in 0..d {
        let m = sums.iter().skip(t).step_by(d).sum::<f64>() / nf;
        off += m * m;
    }
    (spread / nf - off).max(0.0) / df
}

/// New centres from the sums of x − o: the means (normalised to unit length under spherical
/// K-means); a cluster without rows keeps its centre.
fn means(sums: &[f64], counts: &[i64], o: &[f32], old: &[f32], spherical: bool) -> Vec<f32> {
    let (k, d) = (counts.len(), o.len());
    let mut out = vec![0.0f32; k * d];
    for j in 0..k {
        let s = &sums[j * d..(j + 1) * d];
        let dst = &mut out[j * d..(j + 1) * d];
        if counts[j] == 0 {
            dst.copy_from_slice(&old[j * d..(j + 1) * d]);
            continue;
        }
        let c = counts[j] as f64;
        if spherical {
            let full: Vec<f64> = s.iter().zip(o).map(|(&v, &w)| v + c * f64::from(w)).collect();
            let norm = full.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 0.0 {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
                )]
                dst.iter_mut().zip(&full).for_each(|(out, &v)| *out = (v / norm) as f32);
            } else {
                dst.copy_from_slice(&old[j * d..(j + 1) * d]);
            }
        } else {
            #[expect(
                clippy::cast_possible_truncation,
                reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
            )]
            dst.iter_mut().zip(s).zip(o).for_each(|((out, &v), &w)| *out = (f64::from(w) + v / c) as f32);
        }
    }
    out
}

/// Σ over rows of the squared distance to the own centre (euclidean), or of the cosine distance
/// to the unit centre (spherical), from the per-cluster sums S_j of x − o: Σ‖x−c‖² = Σ‖x−o‖² −
/// 2Σ_j (c_j−o)·S_j + Σ_j n_j‖c_j−o‖², so data far from the origin loses no precision; under
/// spherical, n − Σ_j c_j·(S_j + n_j o).
fn inertia_from_sums(points: &Matrix, o: &[f32], centers: &[f32], sums: &[f64], counts: &[i64], spread: f64, spherical: bool) -> f64 {
    let (n, d) = (points.n(), points.d());
    let k = counts.len();
    let mut total = if spherical { 0.0 } else { spread };
    for j in 0..k {
        let nj = counts[j] as f64;
        let (mut cross, mut cc) = (0.0, 0.0);
        for t in 0..d {
            let (ot, ct) = (f64::from(o[t]), f64::from(centers[j * d + t]));
            if spherical {
                cross += ct * (sums[j * d + t] + nj * ot);
            } else {
                let c = ct - ot;
                cross += c * sums[j * d + t];
                cc += c * c;
            }
        }
        total += if spherical { -cross } else { nj * cc - 2.0 * cross };
    }
    let total = if spherical { n as f64 + total } else { total };
    total.max(0.0)
}

/// Gives every empty cluster the row farthest from its centre (as scikit-learn does), moving that
/// row's contribution out of its old cluster's sums. Returns whether it moved any row; the sums
/// then no longer follow the labels, and the next pass must be a full one.
fn relocate_empty(points: &Matrix, cs: &Centres, o: &[f32], k: usize, rows: &mut Rows, sums: &mut [f64], counts: &mut [i64]) -> bool {
    let d = points.d();
    let empty: Vec<usize> = (0..k).filter(|&j| counts[j] == 0).collect();
    if empty.is_empty() {
        return false;
    }
    // Exact distances to the own centre for every row: a full pass with the same centres.
    let out = full_pass(points, cs, o, k, rows, true);
    sums.copy_from_slice(&out.sums);
    counts.copy_from_slice(&out.counts);
    let mut order: Vec<usize> = (0..points.n()).collect();
    order.sort_by(|&a, &b| rows.upper[b].total_cmp(&rows.upper[a]).then(a.cmp(&b)));
    let mut far = order.into_iter();
    let mut moved = false;
    for j in empty {
        if counts[j] > 0 {
            continue;
        }
        // Only take a row whose cluster keeps at least one other member.
        let Some(p) = far.by_ref().find(|&p| counts[rows.labels[p] as usize] > 1) else { break };
        let old = rows.labels[p] as usize;
        let x = points.row(p);
        for ((a, &v), &w) in sums[old * d..(old + 1) * d].iter_mut().zip(x).zip(o) {
            *a -= f64::from(v) - f64::from(w);
        }
        counts[old] -= 1;
        for ((a, &v), &w) in sums[j * d..(j + 1) * d].iter_mut().zip(x).zip(o) {
            *a = f64::from(v) - f64::from(w);
        }
        counts[j] = 1;
        moved = true;
    }
    moved
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kernels::sq_dist_f64;
    use crate::engine::rng::Rng;

    /// Gaussian blobs around `centres` random centres in `d` dimensions, shifted by `offset`.
    fn blobs(n: usize, d: usize, centres: usize, spread: f64, offset: f32, seed: u64) -> Matrix {
        let mut rng = Rng::new(seed);
        let mut gauss = move || {
            let (u, v) = (rng.next_f64().max(1e-300), rng.next_f64());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        };
        let mids: Vec<f64> = (0..centres * d).map(|_| 4.0 * gauss()).collect();
        let mut data = Vec::with_capacity(n * d);
        for i in 0..n {
            let c = i % centres;
            for t in 0..d {
                #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
                data.push((mids[c * d + t] + spread * gauss()) as f32 + offset);
            }
        }
        Matrix::new(data, n, d).unwrap()
    }

    /// Plain Lloyd in f64 with every distance computed: the reference the bounds must reproduce.
    #[expect(clippy::needless_range_loop, reason = "test data: small generated values and indices")]
    #[expect(clippy::cast_possible_truncation, reason = "best < k ≤ n rows, which the loaders keep below u32::MAX")]
    fn plain_lloyd(points: &Matrix, mut centers: Vec<f32>, max_iter: usize, spherical: bool) -> (Vec<u32>, Vec<f32>, usize) {
        let (n, d) = (points.n(), points.d());
        let k = centers.len() / d;
        let mut labels = vec![u32::MAX; n];
        let mut n_iter = 0;
        for it in 0..max_iter {
            let mut changed = 0;
            for i in 0..n {
                let x = points.row(i);
                let best = (0..k)
                    .min_by(|&a, &b| sq_dist_f64(x, &centers[a * d..(a + 1) * d]).total_cmp(&sq_dist_f64(x, &centers[b * d..(b + 1) * d])))
                    .unwrap();
                if labels[i] != best as u32 {
                    changed += 1;
                    labels[i] = best as u32;
                }
            }
            n_iter = it + 1;
            if it > 0 && changed == 0 {
                return (labels, centers, n_iter);
            }
            let mut sums = vec![0.0f64; k * d];
            let mut counts = vec![0i64; k];
            for i in 0..n {
                let j = labels[i] as usize;
                counts[j] += 1;
                for (s, &v) in sums[j * d..(j + 1) * d].iter_mut().zip(points.row(i)) {
                    *s += f64::from(v);
                }
            }
            centers = means(&sums, &counts, &vec![0.0; d], &centers, spherical);
        }
        (labels, centers, n_iter)
    }

    fn direct_inertia(points: &Matrix, labels: &[u32], centers: &[f32], spherical: bool) -> f64 {
        let d = points.d();
        (0..points.n())
            .map(|i| {
                let j = labels[i] as usize;
                let s = sq_dist_f64(points.row(i), &centers[j * d..(j + 1) * d]);
                if spherical { s / 2.0 } else { s }
            })
            .sum()
    }

    fn first_rows(points: &Matrix, k: usize) -> Vec<f32> {
        // Every start in one of the first three blobs (row i is in blob i mod 9 or fewer), so
        // the run takes many iterations.
        (0..k).flat_map(|j| points.row(9 * j + j % 3).to_vec()).collect()
    }

    #[test]
    fn bounded_passes_reproduce_plain_lloyd() {
        for &(spherical, offset) in &[(false, 0.0f32), (false, 1000.0), (true, 0.0)] {
            let raw = blobs(3000, 16, 9, 1.5, offset, 3);
            let points = if spherical { raw.normalized().0 } else { raw };
            let start = first_rows(&points, 9);
            let (want_labels, want_centers, want_iter) = plain_lloyd(&points, start.clone(), 100, spherical);
            assert!(want_iter > 3, "the reference run should take several iterations, took {want_iter}");
            for bounds in [Bounds::Hamerly, Bounds::Elkan] {
                let got = lloyd_with(&points, start.clone(), (100, 0.0), spherical, bounds, &Control::default(), "t").unwrap();
                assert!(got.converged);
                let direct = direct_inertia(&points, &got.labels, &got.centroids, spherical);
                assert!((got.inertia - direct).abs() <= 1e-6 * direct, "inertia {} vs {direct}", got.inertia);
                if offset == 0.0 {
                    assert_eq!(got.labels, want_labels, "spherical {spherical}");
                    assert_eq!(got.n_iter, want_iter);
                    for (a, b) in got.centroids.iter().zip(&want_centers) {
                        assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
                    }
                } else {
                    // Far from the origin, f32 resolves near-ties (two centres splitting a blob) less
                    // finely than f64 distances: the same optimum, up to those rows.
                    let want = direct_inertia(&points, &want_labels, &want_centers, spherical);
                    assert!((got.inertia - want).abs() <= 1e-4 * want, "inertia {} vs {want}", got.inertia);
                    let same = got.labels.iter().zip(&want_labels).filter(|(a, b)| a == b).count();
                    assert!(same >= points.n() - 3, "{same} of {} labels agree", points.n());
                }
            }
        }
    }

    #[test]
    fn full_passes_that_move_only_changed_rows_reproduce_plain_lloyd() {
        // Uniform data: no clusters, so the bounds fail often and the passes fall back to full
        // ones, which move only the rows whose label changes between the sums.
        let mut rng = crate::engine::rng::Rng::new(17);
        let (n, d) = (2500, 6);
        #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
        let data: Vec<f32> = (0..n * d).map(|_| rng.next_f64() as f32).collect();
        let points = Matrix::new(data, n, d).unwrap();
        let start = first_rows(&points, 11);
        let (want_labels, want_centers, want_iter) = plain_lloyd(&points, start.clone(), 300, false);
        assert!(want_iter > 10, "the reference run should take many iterations, took {want_iter}");
        for bounds in [Bounds::Hamerly, Bounds::Elkan] {
            let got = lloyd_with(&points, start.clone(), (300, 0.0), false, bounds, &Control::default(), "t").unwrap();
            assert!(got.converged);
            assert_eq!(got.n_iter, want_iter, "{bounds:?}");
            assert_eq!(got.labels, want_labels, "{bounds:?}");
            for (a, b) in got.centroids.iter().zip(&want_centers) {
                assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
            }
            let direct = direct_inertia(&points, &got.labels, &got.centroids, false);
            assert!((got.inertia - direct).abs() <= 1e-6 * direct, "inertia {} vs {direct}", got.inertia);
        }
    }

    #[test]
    fn stopping_on_tolerance_or_max_iter_still_labels_by_the_returned_centres() {
        let points = blobs(2000, 12, 6, 2.5, 0.0, 5);
        for (max_iter, tol) in [(2, 0.0), (100, 1e-2)] {
            for bounds in [Bounds::Hamerly, Bounds::Elkan] {
                let r = lloyd_with(&points, first_rows(&points, 6), (max_iter, tol), false, bounds, &Control::default(), "t").unwrap();
                let d = points.d();
                for i in 0..points.n() {
                    let x = points.row(i);
                    let own = sq_dist_f64(x, &r.centroids[r.labels[i] as usize * d..(r.labels[i] as usize + 1) * d]);
                    for j in 0..6 {
                        assert!(own <= sq_dist_f64(x, &r.centroids[j * d..(j + 1) * d]) * (1.0 + 1e-5), "row {i}");
                    }
                }
                let direct = direct_inertia(&points, &r.labels, &r.centroids, false);
                assert!((r.inertia - direct).abs() <= 1e-6 * direct);
            }
        }
    }

    #[test]
    fn an_empty_cluster_takes_the_farthest_row() {
        let points = blobs(600, 4, 3, 1.0, 0.0, 9);
        let mut start = first_rows(&points, 3);
        // A fourth centre far from every row: no row picks it in the first pass.
        start.extend_from_slice(&[1e4, 1e4, 1e4, 1e4]);
        for bounds in [Bounds::Hamerly, Bounds::Elkan] {
            let r = lloyd_with(&points, start.clone(), (50, 0.0), false, bounds, &Control::default(), "t").unwrap();
            let mut sizes = [0usize; 4];
            for &l in &r.labels {
                sizes[l as usize] += 1;
            }
            assert!(sizes.iter().all(|&s| s > 0), "sizes {sizes:?}");
            let direct = direct_inertia(&points, &r.labels, &r.centroids, false);
            assert!((r.inertia - direct).abs() <= 1e-6 * direct, "inertia {} vs {direct}", r.inertia);
        }
    }

    #[test]
    fn elkan_bounds_skip_most_distances_late_in_a_run() {
        // Clear blobs: once the centres settle, the per-centre bounds clear nearly every row.
        let points = blobs(4000, 32, 8, 1.0, 0.0, 21);
        let start = first_rows(&points, 8);
        let mut rows = Rows {
            labels: vec![u32::MAX; 4000],
            upper: vec![0.0; 4000],
            lower: vec![0.0; 4000],
            centre_lower: vec![0.0; 4000 * 8],
            norms: vec![0.0; 4000],
            norms_ready: false,
            spread: 0.0,
        };
        let (k, d) = (8, 32);
        let o = centroid(&start, k, d);
        let mut centers = start;
        let (mut sums, mut counts) = (vec![0.0; k * d], vec![0i64; k]);
        let mut drift = None;
        let mut last = (0, 0);
        for it in 0..40 {
            let cs = Centres::new(&centers, &o, k, d);
            last = pass(&points, &cs, &o, drift.as_deref(), it == 0, k, &mut rows, &mut sums, &mut counts);
            let next = means(&sums, &counts, &o, &centers, false);
            drift = Some(
                (0..k).map(|j| sq_dist(&centers[j * d..(j + 1) * d], &next[j * d..(j + 1) * d]).sqrt() * (1.0 + 1e-6)).collect::<Vec<_>>(),
            );
            centers = next;
        }
        let (changed, gathered) = last;
        assert_eq!(changed, 0);
        assert!(gathered < 4000 / 20, "the last pass computed {gathered} rows' worth of distances");
        // And the labels are the nearest centres.
        for i in 0..4000 {
            let x = points.row(i);
            let own = sq_dist_f64(x, &centers[rows.labels[i] as usize * d..(rows.labels[i] as usize + 1) * d]);
            assert!((0..k).all(|j| own <= sq_dist_f64(x, &centers[j * d..(j + 1) * d]) * (1.0 + 1e-5)), "row {i}");
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_kernels_agree_with_the_portable_ones() {
        if !crate::engine::kernels::direct_available() {
            return;
        }
        let mut rng = Rng::new(4);
        for d in [1, 7, 8, 31, 32, 33, 100, 384] {
            #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
            let x: Vec<f32> = (0..d).map(|_| rng.next_f64() as f32 - 0.5).collect();
            #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
            let c: Vec<f32> = (0..d).map(|_| rng.next_f64() as f32 - 0.5).collect();
            let (a, b) = (f64::from(Avx2::dot(&x, &c)), f64::from(Portable::dot(&x, &c)));
            assert!((a - b).abs() <= 1e-5, "d {d}: {a} vs {b}");
        }
        for k in [1, 3, 4, 5, 12, 17] {
            let low: Vec<f64> = (0..k).map(|_| rng.next_f64()).collect();
            let drift: Vec<f64> = (0..k).map(|_| 0.1 * rng.next_f64()).collect();
            let mut pair: Vec<f64> = (0..k).map(|_| rng.next_f64()).collect();
            pair[k / 2] = f64::INFINITY;
            let (mut la, mut lb) = (low.clone(), low.clone());
            let ga = Avx2::shrink_and_gate(&mut la, &drift, &pair);
            let gb = Portable::shrink_and_gate(&mut lb, &drift, &pair);
            assert_eq!(ga, gb, "k {k}");
            assert_eq!(la, lb);
        }
    }
}
