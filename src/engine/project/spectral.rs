//! Spectral initialisation of a layout: the leading non-trivial eigenvectors of a graph's
//! normalised adjacency (equivalently the smallest of its normalised Laplacian), found by a
//! restarted Lanczos iteration with full reorthogonalisation over the sparse graph.
//!
//! A graph of several connected components is laid out component by component: each gets its
//! own spectral layout, scaled to half the distance to its nearest neighbouring component, and
//! placed at a position of its own (unit vectors for a few components, the components'
//! centres spread by PCA for many), as umap-learn does. Components too small for an
//! eigenproblem are placed at random inside their own slot.

use crate::engine::control::{Cancelled, Control};
use crate::engine::eigen::symmetric_eigen;
use crate::engine::rng::Rng;
use crate::engine::unionfind::UnionFind;

/// A symmetric sparse graph in compressed rows.
#[derive(Clone, Debug, PartialEq)]
pub struct SparseGraph {
    /// Row starts: row `i`'s entries are `indptr[i]..indptr[i + 1]`.
    pub indptr: Vec<usize>,
    /// Column of each entry, ascending within a row.
    pub indices: Vec<u32>,
    /// Weight of each entry (positive).
    pub weights: Vec<f32>,
}

impl SparseGraph {
    /// Number of vertices.
    #[must_use]
    pub fn n(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// Number of stored entries (each undirected edge twice).
    #[must_use]
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Row `i`: its neighbours and their weights.
    #[must_use]
    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let r = self.indptr[i]..self.indptr[i + 1];
        (&self.indices[r.clone()], &self.weights[r])
    }

    /// The connected components: one label per vertex (0.., in order of first vertex) and
    /// their count.
    #[must_use]
    #[expect(clippy::needless_range_loop, reason = "i is both a row and a union-find node")]
    pub fn components(&self) -> (Vec<u32>, usize) {
        let n = self.n();
        let mut uf = UnionFind::new(n);
        for i in 0..n {
            for &j in self.row(i).0 {
                uf.union(i, j as usize);
            }
        }
        let mut label = vec![u32::MAX; n];
        let mut root_label = vec![u32::MAX; n];
        let mut count = 0u32;
        for i in 0..n {
            let r = uf.find(i);
            if root_label[r] == u32::MAX {
                root_label[r] = count;
                count += 1;
            }
            label[i] = root_label[r];
        }
        (label, count as usize)
    }

    /// The subgraph on `vertices` (ascending), renumbered 0..len.
    fn subgraph(&self, vertices: &[usize], local: &[u32]) -> Self {
        let mut indptr = Vec::with_capacity(vertices.len() + 1);
        let mut indices = Vec::new();
        let mut weights = Vec::new();
        indptr.push(0);
        for &v in vertices {
            let (cols, w) = self.row(v);
            for (&c, &wv) in cols.iter().zip(w) {
                indices.push(local[c as usize]);
                weights.push(wv);
            }
            indptr.push(indices.len());
        }
        Self { indptr, indices, weights }
    }
}

/// How a layout was initialised.
#[derive(Clone, Debug, PartialEq)]
pub enum InitKind {
    /// The leading eigenvectors of the whole graph.
    Spectral {
        /// Whether the eigenvectors met the tolerance (otherwise the best approximation found).
        converged: bool,
    },
    /// Several connected components, each laid out spectrally in its own place.
    Components {
        /// Number of connected components.
        count: usize,
    },
    /// Uniform random positions, and why.
    Random {
        /// Why the spectral layout was not used.
        reason: String,
    },
}

impl InitKind {
    /// A short description for reports and the window.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Spectral { converged: true } => "spectral".to_owned(),
            Self::Spectral { converged: false } => "spectral (eigenvectors not fully converged)".to_owned(),
            Self::Components { count } => format!("spectral per component ({count} components)"),
            Self::Random { reason } => format!("random ({reason})"),
        }
    }
}

/// Relative residual at which a Ritz pair counts as converged (umap-learn asks ARPACK for 1e-4).
const TOL: f64 = 1e-4;
/// Restarts of the Lanczos iteration before the best approximation is taken.
const MAX_RESTARTS: usize = 40;
/// Up to this many vertices the Krylov space is the whole space (exact in one pass; at most
/// 300 vectors; above, the cost of full reorthogonalisation grows as m²·n).
const FULL_KRYLOV: usize = 300;
/// Components below this size are placed at random instead of solving an eigenproblem.
const MIN_SPECTRAL: usize = 8;

/// A `D`-dimensional spectral layout of `g` (2 for the map), scaled so that its largest
/// coordinate is 10 (as umap-learn's initialisation), plus how it was made. Deterministic for a
/// seed.
pub fn spectral_layout<const D: usize>(g: &SparseGraph, seed: u64, ctl: &Control) -> Result<(Vec<[f32; D]>, InitKind), Cancelled> {
    let n = g.n();
    let mut rng = Rng::derive(seed, 0x05be_c7a1);
    // A component needs more vertices than eigenvectors asked of it.
    let min_spectral = MIN_SPECTRAL.max(D + 2);
    if n < min_spectral {
        return Ok((random_layout(n, &mut rng), InitKind::Random { reason: format!("{n} rows are too few for a spectral layout") }));
    }
    let (labels, count) = g.components();
    if count == 1 {
        let (coords, converged) = component_layout(g, &mut rng, ctl)?;
        return Ok((scale_to(coords, 10.0), InitKind::Spectral { converged }));
    }
    if count * 2 > n {
        return Ok((
            random_layout(n, &mut rng),
            InitKind::Random { reason: format!("the neighbour graph falls apart into {count} components") },
        ));
    }
    // Each component's place, then its own layout scaled to half the gap to its nearest peer.
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (i, &l) in labels.iter().enumerate() {
        members[l as usize].push(i);
    }
    let places = component_places::<D>(&members);
    let mut out = vec![[0.0f32; D]; n];
    let mut local = vec![0u32; n];
    for (c, verts) in members.iter().enumerate() {
        ctl.check()?;
        let gap = (0..count)
            .filter(|&o| o != c)
            .map(|o| places[o].iter().zip(&places[c]).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt())
            .fold(f64::INFINITY, f64::min);
        let half = if gap.is_finite() { gap / 2.0 } else { 1.0 };
        let coords: Vec<[f32; D]> = if verts.len() < min_spectral {
            random_layout(verts.len(), &mut rng)
        } else {
            for (li, &v) in verts.iter().enumerate() {
                local[v] = u32::try_from(li).unwrap_or(u32::MAX);
            }
            component_layout(&g.subgraph(verts, &local), &mut rng, ctl)?.0
        };
        let coords = scale_to(coords, half);
        for (&v, p) in verts.iter().zip(coords) {
            for k in 0..D {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
                )]
                {
                    out[v][k] = p[k] + places[c][k] as f32;
                }
            }
        }
    }
    Ok((scale_to(out, 10.0), InitKind::Components { count }))
}

/// Where each component goes: the ±unit vectors (+e₀, +e₁, …, −e₀, −e₁, …) when there are at
/// most 2·D, else a ring in the first two axes (the components' mean positions in a layout
/// of the component graph would need the data; the ring keeps every component apart instead).
fn component_places<const D: usize>(members: &[Vec<usize>]) -> Vec<[f64; D]> {
    let count = members.len();
    if count <= 2 * D {
        return (0..count)
            .map(|c| {
                let mut p = [0.0; D];
                p[c % D] = if c < D { 1.0 } else { -1.0 };
                p
            })
            .collect();
    }
    (0..count)
        .map(|c| {
            let t = c as f64 / count as f64 * std::f64::consts::TAU;
            let mut p = [0.0; D];
            p[0] = t.cos();
            p[1] = t.sin();
            p
        })
        .collect()
}

/// Uniform positions in [−10, 10]ᴰ.
fn random_layout<const D: usize>(n: usize, rng: &mut Rng) -> Vec<[f32; D]> {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
    )]
    (0..n).map(|_| std::array::from_fn(|_| (rng.next_f64() * 20.0 - 10.0) as f32)).collect()
}

/// Scales a layout so that its largest absolute coordinate is `to` (a single point or all
/// zeros stays as it is).
fn scale_to<const D: usize>(mut coords: Vec<[f32; D]>, to: f64) -> Vec<[f32; D]> {
    let m = coords.iter().flat_map(|p| p.iter()).fold(0.0f32, |a, &v| a.max(v.abs()));
    if m > 0.0 && m.is_finite() {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
        )]
        let s = (to / f64::from(m)) as f32;
        coords.iter_mut().for_each(|p| p.iter_mut().for_each(|v| *v *= s));
    }
    coords
}

/// The `D` leading non-trivial eigenvectors of D^−½ A D^−½ for a connected graph, as
/// coordinates, and whether they converged.
fn component_layout<const D: usize>(g: &SparseGraph, rng: &mut Rng, ctl: &Control) -> Result<(Vec<[f32; D]>, bool), Cancelled> {
    let n = g.n();
    let deg: Vec<f64> = (0..n).map(|i| g.row(i).1.iter().map(|&w| f64::from(w)).sum::<f64>()).collect();
    let inv_sqrt: Vec<f64> = deg.iter().map(|&d| if d > 0.0 { 1.0 / d.sqrt() } else { 0.0 }).collect();
    // The trivial eigenvector (eigenvalue 1) is √deg.
    let mut trivial: Vec<f64> = deg.iter().map(|d| d.sqrt()).collect();
    normalize(&mut trivial);
    // B = (I + D^−½ A D^−½) / 2 has its spectrum in [0, 1], so the wanted vectors are its
    // largest and Lanczos finds them first.
    let op = |x: &[f64], y: &mut [f64]| {
        for i in 0..n {
            let (cols, w) = g.row(i);
            let mut s = 0.0;
            for (&c, &wv) in cols.iter().zip(w) {
                s += f64::from(wv) * inv_sqrt[c as usize] * x[c as usize];
            }
            y[i] = 0.5 * (x[i] + inv_sqrt[i] * s);
        }
    };
    let (vecs, converged) = lanczos_top(n, D, &op, &trivial, rng, ctl)?;
    #[expect(
        clippy::cast_possible_truncation,
        reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
    )]
    let coords = (0..n).map(|i| std::array::from_fn(|k| vecs[k][i] as f32)).collect();
    Ok((coords, converged))
}

fn normalize(v: &mut [f64]) -> f64 {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    norm
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The `nev` largest eigenpairs of the symmetric operator `op` on vectors orthogonal to the unit
/// vector `deflate`: Lanczos with full reorthogonalisation, restarted from the sum of the wanted
/// Ritz vectors until their residuals fall below [`TOL`] (or [`MAX_RESTARTS`] pass). Returns the
/// eigenvectors (largest first) and whether they converged.
fn lanczos_top(
    n: usize,
    nev: usize,
    op: &dyn Fn(&[f64], &mut [f64]),
    deflate: &[f64],
    rng: &mut Rng,
    ctl: &Control,
) -> Result<(Vec<Vec<f64>>, bool), Cancelled> {
    // The space orthogonal to `deflate` has n − 1 dimensions.
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a non-negative figure (positive or clamped by construction) rounded down to a bounded count or index"
    )]
    let m = if n <= FULL_KRYLOV { n - 1 } else { ((n as f64).sqrt() as usize * 2).clamp(48, 200) }.max(nev + 1).min(n - 1);
    let mut start: Vec<f64> = (0..n).map(|_| rng.next_f64() - 0.5).collect();
    let mut best: Vec<Vec<f64>> = Vec::new();
    let mut tmp = vec![0.0f64; n];
    for restart in 0..MAX_RESTARTS {
        ctl.check()?;
        let proj = dot(&start, deflate);
        start.iter_mut().zip(deflate).for_each(|(s, d)| *s -= proj * d);
        if normalize(&mut start) == 0.0 {
            start = (0..n).map(|_| rng.next_f64() - 0.5).collect();
            continue;
        }
        let mut basis: Vec<Vec<f64>> = vec![start.clone()];
        let mut alpha = Vec::with_capacity(m);
        let mut beta: Vec<f64> = Vec::with_capacity(m);
        let mut last_beta = 0.0;
        for j in 0..m {
            if j % 8 == 0 {
                ctl.check()?;
            }
            op(&basis[j], &mut tmp);
            let a = dot(&tmp, &basis[j]);
            alpha.push(a);
            reorthogonalise(&mut tmp, deflate, &basis);
            let b = tmp.iter().map(|x| x * x).sum::<f64>().sqrt();
            last_beta = b;
            if j + 1 == m || b < 1e-12 {
                break;
            }
            beta.push(b);
            basis.push(tmp.iter().map(|x| x / b).collect());
        }
        let k = alpha.len();
        let mut t = vec![0.0f64; k * k];
        for i in 0..k {
            t[i * k + i] = alpha[i];
            if i + 1 < k {
                t[i * k + i + 1] = beta[i];
                t[(i + 1) * k + i] = beta[i];
            }
        }
        let (_vals, vecs) = symmetric_eigen(&t, k);
        // Ascending: the wanted pairs are the last columns.
        let wanted: Vec<usize> = (0..nev.min(k)).map(|r| k - 1 - r).collect();
        let residual = wanted.iter().map(|&c| (last_beta * vecs[(k - 1) * k + c]).abs()).fold(0.0f64, f64::max);
        best = wanted
            .iter()
            .map(|&c| {
                let mut y = vec![0.0f64; n];
                for (r, v) in basis.iter().enumerate() {
                    let s = vecs[r * k + c];
                    y.iter_mut().zip(v).for_each(|(a, x)| *a += s * x);
                }
                normalize(&mut y);
                y
            })
            .collect();
        let invariant = last_beta < 1e-12;
        if residual < TOL || invariant {
            return Ok((pad(best, n, nev), true));
        }
        let _ = restart;
        // Restart from the wanted Ritz vectors together.
        start = vec![0.0; n];
        for y in &best {
            start.iter_mut().zip(y).for_each(|(s, v)| *s += v);
        }
    }
    Ok((pad(best, n, nev), false))
}

/// Rows per block of [`reorthogonalise`]: fixed, so that its sums do not depend on the thread
/// count.
const REORTH_BLOCK: usize = 4096;

/// Full reorthogonalisation of `tmp` against the trivial vector and the basis: classical
/// Gram–Schmidt, twice (twice is enough), each pass's products computed over fixed blocks of
/// rows in parallel and summed in block order, so the result is the same on any number of
/// threads. (Modified Gram–Schmidt, one basis vector after the other, was the whole spectral
/// start's time on one core: 25 s for a 100k-row sample of real text.)
fn reorthogonalise(tmp: &mut [f64], deflate: &[f64], basis: &[Vec<f64>]) {
    use rayon::prelude::*;
    let vecs: Vec<&[f64]> = std::iter::once(deflate).chain(basis.iter().map(Vec::as_slice)).collect();
    for _ in 0..2 {
        let partial: Vec<Vec<f64>> = tmp
            .par_chunks(REORTH_BLOCK)
            .enumerate()
            .map(|(b, t)| {
                let start = b * REORTH_BLOCK;
                vecs.iter().map(|v| dot(t, &v[start..start + t.len()])).collect()
            })
            .collect();
        let mut p = vec![0.0f64; vecs.len()];
        for part in &partial {
            p.iter_mut().zip(part).for_each(|(a, x)| *a += x);
        }
        tmp.par_chunks_mut(REORTH_BLOCK).enumerate().for_each(|(b, t)| {
            let range = b * REORTH_BLOCK..b * REORTH_BLOCK + t.len();
            for (v, &pv) in vecs.iter().zip(&p) {
                t.iter_mut().zip(&v[range.clone()]).for_each(|(x, y)| *x -= pv * y);
            }
        });
    }
}

/// Makes sure there are `nev` vectors of length `n` (zeros where the space ran out).
fn pad(mut v: Vec<Vec<f64>>, n: usize, nev: usize) -> Vec<Vec<f64>> {
    while v.len() < nev {
        v.push(vec![0.0; n]);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(n: usize, offset: usize, edges: &mut Vec<(usize, usize)>) {
        for i in 0..n {
            edges.push((offset + i, offset + (i + 1) % n));
        }
    }

    fn graph(n: usize, edges: &[(usize, usize)]) -> SparseGraph {
        let mut rows: Vec<Vec<u32>> = vec![Vec::new(); n];
        for &(a, b) in edges {
            rows[a].push(u32::try_from(b).unwrap());
            rows[b].push(u32::try_from(a).unwrap());
        }
        let mut g = SparseGraph { indptr: vec![0], indices: Vec::new(), weights: Vec::new() };
        for r in &mut rows {
            r.sort_unstable();
            r.dedup();
            g.indices.extend(r.iter());
            g.weights.extend(std::iter::repeat_n(1.0, r.len()));
            g.indptr.push(g.indices.len());
        }
        g
    }

    #[test]
    fn spectral_layout_of_a_path_orders_it_along_the_first_axis() {
        // A path's leading non-trivial eigenvector is monotone along it (a discrete cosine); the
        // two ends, of degree 1, are scaled by √deg like every vertex, so they are left out.
        let e: Vec<(usize, usize)> = (0..199).map(|i| (i, i + 1)).collect();
        let g = graph(200, &e);
        let (coords, kind) = spectral_layout::<2>(&g, 7, &Control::default()).unwrap();
        assert_eq!(kind, InitKind::Spectral { converged: true });
        let x: Vec<f32> = coords[1..199].iter().map(|p| p[0]).collect();
        let up = x.windows(2).all(|w| w[1] > w[0]);
        let down = x.windows(2).all(|w| w[1] < w[0]);
        assert!(up || down, "first axis not monotone along the path: {:?}", &x[..10]);
    }

    #[test]
    fn disconnected_graph_lays_out_every_component_apart() {
        let mut e = Vec::new();
        ring(50, 0, &mut e);
        ring(60, 50, &mut e);
        let g = graph(110, &e);
        let (coords, kind) = spectral_layout::<2>(&g, 1, &Control::default()).unwrap();
        assert_eq!(kind, InitKind::Components { count: 2 });
        assert!(coords.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
        let centre = |r: std::ops::Range<usize>| {
            let len = r.len() as f32;
            let s = coords[r].iter().fold([0.0f32; 2], |a, p| [a[0] + p[0], a[1] + p[1]]);
            [s[0] / len, s[1] / len]
        };
        let (a, b) = (centre(0..50), centre(50..110));
        assert!((a[0] - b[0]).hypot(a[1] - b[1]) > 5.0, "{a:?} {b:?}");
    }

    #[test]
    fn same_seed_gives_the_same_layout() {
        let mut e = Vec::new();
        ring(300, 0, &mut e);
        e.push((0, 150));
        let g = graph(300, &e);
        let a = spectral_layout::<2>(&g, 3, &Control::default()).unwrap();
        let b = spectral_layout::<2>(&g, 3, &Control::default()).unwrap();
        assert_eq!(a, b);
    }
}
