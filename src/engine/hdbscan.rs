//! HDBSCAN as scikit-learn defines it (`sklearn.cluster.HDBSCAN`, `allow_single_cluster=False`).
//!
//! 1. Core distance of a point: the distance to its `min_samples`-th nearest point, counting the
//!    point itself as the first.
//! 2. Mutual reachability `max(core(a), core(b), d(a, b))`, and its minimum spanning tree (Prim
//!    over the full distance matrix, O(n²), after one blocked GEMM).
//! 3. The single-linkage tree of that spanning tree. Everything up to here depends only on the
//!    data, the metric and `min_samples`, and is kept in [`HdbscanTree`].
//! 4. [`HdbscanTree::select`]: the condensed tree for `min_cluster_size`, cluster selection by
//!    excess of mass or leaves, `cluster_selection_epsilon`, labels and membership strengths —
//!    O(n log n), without a distance.

use rayon::prelude::*;

use crate::engine::neighbors::Square;
use crate::engine::{Cancelled, Control, Embeddings, Matrix, Metric};

/// How clusters are picked from the condensed tree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Selection {
    /// Excess of mass: the most persistent clusters.
    #[default]
    Eom,
    /// The leaves of the condensed tree: many small homogeneous clusters.
    Leaf,
}

impl std::str::FromStr for Selection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "eom" => Ok(Self::Eom),
            "leaf" => Ok(Self::Leaf),
            other => Err(format!("unknown cluster selection '{other}': use eom or leaf")),
        }
    }
}

/// HDBSCAN settings.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HdbscanParams {
    /// Smallest group that counts as a cluster.
    pub min_cluster_size: usize,
    /// Neighbours (the point included) that define a point's core distance; `None` means
    /// `min_cluster_size`.
    pub min_samples: Option<usize>,
    /// Clusters that split below this distance are merged back.
    pub cluster_selection_epsilon: f64,
    /// Excess of mass or leaf.
    pub selection: Selection,
    /// Distance.
    pub metric: Metric,
}

impl Default for HdbscanParams {
    fn default() -> Self {
        Self {
            min_cluster_size: 15,
            min_samples: None,
            cluster_selection_epsilon: 0.0,
            selection: Selection::Eom,
            metric: Metric::Euclidean,
        }
    }
}

/// Settings HDBSCAN refuses.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HdbscanParamError {
    /// min_cluster_size below 2.
    #[error("min_cluster_size must be at least 2 (got {0})")]
    MinClusterSize(usize),
    /// min_samples out of range.
    #[error("min_samples must be between 1 and the number of rows ({n}); got {got}")]
    MinSamples {
        /// Asked.
        got: usize,
        /// Rows.
        n: usize,
    },
    /// Negative or non-finite epsilon.
    #[error("cluster_selection_epsilon must be a number ≥ 0 (got {0})")]
    Epsilon(f64),
}

/// Largest distance matrix HDBSCAN builds: 2.5 GiB (25,900 rows). Above, the spanning tree
/// comes from the k-nearest-neighbour graph ([`HdbscanTree::build_from_knn`]).
pub const MAX_DENSE_BYTES: usize = 5 << 29;

/// Whether [`HdbscanTree::build`] can keep the full distance matrix of `n` rows.
#[must_use]
pub fn dense_fits(n: usize) -> bool {
    Square::bytes_for(n) <= MAX_DENSE_BYTES
}

impl HdbscanParams {
    /// The effective `min_samples`.
    #[must_use]
    pub fn min_samples(&self) -> usize {
        self.min_samples.unwrap_or(self.min_cluster_size)
    }

    /// Checks the settings against `n` rows.
    ///
    /// # Errors
    /// min_cluster_size below 2, min_samples outside `1..=n`, or a negative or non-finite
    /// cluster_selection_epsilon.
    pub fn check(&self, n: usize) -> Result<HdbscanConfig, HdbscanParamError> {
        if self.min_cluster_size < 2 {
            return Err(HdbscanParamError::MinClusterSize(self.min_cluster_size));
        }
        let rank = CoreRank::new(self.min_samples(), n)?;
        if !(self.cluster_selection_epsilon.is_finite() && self.cluster_selection_epsilon >= 0.0) {
            return Err(HdbscanParamError::Epsilon(self.cluster_selection_epsilon));
        }
        Ok(HdbscanConfig { params: *self, rank })
    }
}

/// HDBSCAN's `min_samples` checked against the rows it is for (`1..=n`): what the core
/// distances, and so the tree, are built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CoreRank(usize);

impl CoreRank {
    /// Checks `min_samples` against `n` rows.
    ///
    /// # Errors
    /// [`HdbscanParamError::MinSamples`] outside `1..=n`.
    pub fn new(min_samples: usize, n: usize) -> Result<Self, HdbscanParamError> {
        if min_samples == 0 || min_samples > n {
            return Err(HdbscanParamError::MinSamples { got: min_samples, n });
        }
        Ok(Self(min_samples))
    }

    /// The rank: the point itself counts as the first.
    #[must_use]
    pub fn get(self) -> usize {
        self.0
    }
}

/// Checked HDBSCAN settings.
#[derive(Clone, Debug, PartialEq)]
pub struct HdbscanConfig {
    params: HdbscanParams,
    rank: CoreRank,
}

impl HdbscanConfig {
    /// The settings.
    #[must_use]
    pub fn params(&self) -> &HdbscanParams {
        &self.params
    }

    /// The checked `min_samples`.
    #[must_use]
    pub fn rank(&self) -> CoreRank {
        self.rank
    }
}

/// One merge of the single-linkage tree: node ids as in SciPy (points below n, merge i is
/// node n + i).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Link {
    left: usize,
    right: usize,
    dist: f64,
    size: usize,
}

/// The part of HDBSCAN that depends on the data: the single-linkage tree of mutual reachability.
#[derive(Clone, Debug)]
pub struct HdbscanTree {
    n: usize,
    /// `min_samples` the core distances were computed with.
    pub min_samples: usize,
    /// Metric.
    pub metric: Metric,
    /// Core distance of every point.
    pub core: Vec<f32>,
    links: Vec<Link>,
    /// Set when the tree came from the k-nearest-neighbour graph: `(k, pieces)`, the neighbours
    /// per point and how many pieces the graph left apart (see [`HdbscanTree::build_from_knn`]).
    pub from_graph: Option<(usize, usize)>,
}

/// An HDBSCAN labelling.
#[derive(Clone, Debug, PartialEq)]
pub struct HdbscanResult {
    /// Cluster per point, −1 for noise.
    pub labels: Vec<i32>,
    /// Membership strength in [0, 1] (0 for noise).
    pub probabilities: Vec<f64>,
    /// Clusters found.
    pub n_clusters: usize,
    /// Points labelled noise.
    pub n_noise: usize,
    /// The condensed tree the clusters were selected from.
    pub condensed: Vec<CondensedRow>,
    /// The selected clusters' ids in the condensed tree, in label order.
    pub selected: Vec<usize>,
}

/// A row of the condensed tree: `child` (a point below n, or a cluster id ≥ n) leaves `parent`
/// at density `lambda` = 1 / distance.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct CondensedRow {
    /// Cluster id (≥ n; n is the root).
    pub parent: usize,
    /// Point or cluster id.
    pub child: usize,
    /// 1 / distance at which the child leaves.
    pub lambda: f64,
    /// Points in the child.
    pub size: usize,
}

impl HdbscanTree {
    /// Computes core distances, the spanning tree and the single-linkage tree.
    pub fn build(emb: &Embeddings, metric: Metric, rank: CoreRank, ctl: &Control) -> Result<Self, Cancelled> {
        let min_samples = rank.get();
        // The core distance is the distance to the (min_samples − 1)-th other point.
        let (dist, core) = Square::build_with_nearest(emb, metric, min_samples - 1, ctl)?;
        Self::from_square(&dist, core, metric, min_samples, ctl)
    }

    /// The tree over a distance matrix already built (kept for a new min_samples), with the
    /// core distances `core` at `min_samples`, as [`HdbscanTree::build`] makes it.
    pub fn from_square(dist: &Square, core: Vec<f32>, metric: Metric, min_samples: usize, ctl: &Control) -> Result<Self, Cancelled> {
        let n = dist.n;
        ctl.check()?;
        // Prim's sweeps split between two threads from a few thousand points on.
        let mst = if n >= PRIM_PAIR_FROM {
            crate::engine::pair::with_pair(|p| prim(dist, &core, Some(p), ctl))?
        } else {
            prim(dist, &core, None, ctl)?
        };
        let links = single_linkage(n, mst);
        Ok(Self { n, min_samples, metric, core, links, from_graph: None })
    }

    /// The tree from the exact k-nearest-neighbour graph instead of the full distance matrix,
    /// for inputs whose matrix would not fit: Kruskal over the graph's edges weighted by mutual
    /// reachability. Spanning-tree edges longer than every stored neighbour distance are not in
    /// the graph, so the tree is an approximation; pieces the graph leaves unconnected are
    /// joined at infinite distance (they can only split from each other at the root); the tree
    /// records how many in [`HdbscanTree::from_graph`].
    pub fn build_from_knn(emb: &Embeddings, metric: Metric, rank: CoreRank, ctl: &Control) -> Result<Self, Cancelled> {
        let min_samples = rank.get();
        let n = emb.raw().n();
        let k = (2 * min_samples).clamp(16, 128);
        let (g, _) = emb.knn_graph(metric, k, ctl)?;
        let need = min_samples.saturating_sub(1).min(g.k);
        let core: Vec<f32> = (0..n).map(|i| if need == 0 { 0.0 } else { g.neighbors(i).1[need - 1] }).collect();
        let mut edges: Vec<(f32, u32, u32)> = Vec::with_capacity(n * g.k);
        for i in 0..n {
            let (nb, d) = g.neighbors(i);
            for (&j, &dv) in nb.iter().zip(d) {
                let w = dv.max(core[i]).max(core[j as usize]);
                #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
                let (a, b) = ((i as u32).min(j), (i as u32).max(j));
                edges.push((w, a, b));
            }
        }
        ctl.check()?;
        edges.sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
        let mut uf = crate::engine::unionfind::UnionFind::new(n);
        let mut mst: Vec<(usize, usize, f64)> = Vec::with_capacity(n.saturating_sub(1));
        for (w, a, b) in edges {
            if uf.union(a as usize, b as usize).is_some() {
                mst.push((a as usize, b as usize, f64::from(w)));
            }
        }
        // Join what the graph left apart.
        let mut pieces = Vec::new();
        for i in 0..n {
            if uf.find(i) == i {
                pieces.push(i);
            }
        }
        for w in pieces.windows(2) {
            mst.push((w[0], w[1], f64::INFINITY));
        }
        let links = single_linkage(n, mst);
        Ok(Self { n, min_samples, metric, core, links, from_graph: Some((g.k, pieces.len())) })
    }

    /// The exact tree ([`HdbscanTree::build`]) while the distance matrix fits
    /// ([`dense_fits`]), else the one from the neighbour graph ([`HdbscanTree::build_from_knn`]).
    pub fn build_fitting(emb: &Embeddings, metric: Metric, rank: CoreRank, ctl: &Control) -> Result<Self, Cancelled> {
        if dense_fits(emb.raw().n()) { Self::build(emb, metric, rank, ctl) } else { Self::build_from_knn(emb, metric, rank, ctl) }
    }

    /// Number of points.
    #[must_use]
    pub fn n(&self) -> usize {
        self.n
    }

    /// Selects clusters for `min_cluster_size`, `selection` and `epsilon`.
    #[must_use]
    pub fn select(&self, min_cluster_size: usize, selection: Selection, epsilon: f64) -> HdbscanResult {
        let n = self.n;
        let condensed = if n < 2 { Vec::new() } else { condense(&self.links, n, min_cluster_size.max(2)) };
        let selected = select_clusters(&condensed, n, selection, epsilon);
        let (labels, probabilities) = label(&condensed, n, &selected);
        let n_noise = labels.iter().filter(|&&l| l < 0).count();
        HdbscanResult { labels, probabilities, n_clusters: selected.len(), n_noise, condensed, selected }
    }
}

/// Points from which Prim's sweeps run in two halves at once.
const PRIM_PAIR_FROM: usize = 4096;

/// Prim's algorithm on the dense mutual-reachability graph, from point 0. Edges `(from, to, w)`.
///
/// Every step sweeps whole arrays indexed by point — the new tree point's row of distances, the
/// core distances, each point's best distance to the tree and that edge's tree end — in order,
/// eight points at a time, instead of chasing a shrinking list: twice the elements of the list
/// version, a fraction of its time. A point that joins the tree gets an infinite core distance,
/// so its mutual reachability is infinite from then on and it is never picked again. Ties go to
/// the lowest point index.
fn prim(
    dist: &Square,
    core: &[f32],
    pair: Option<&crate::engine::pair::Pair<'_>>,
    ctl: &Control,
) -> Result<Vec<(usize, usize, f64)>, Cancelled> {
    let n = dist.n;
    let mut edges = Vec::with_capacity(n.saturating_sub(1));
    if n < 2 {
        return Ok(edges);
    }
    let mut best = vec![f32::INFINITY; n];
    let mut from = vec![0u32; n];
    let mut core_x = core.to_vec();
    let mut in_tree = vec![false; n];
    core_x[0] = f32::INFINITY;
    in_tree[0] = true;
    let mut current = 0usize;
    while edges.len() + 1 < n {
        if edges.len() % 1024 == 0 {
            ctl.check()?;
            ctl.progress("spanning tree", edges.len() as f32 / n as f32);
        }
        #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
        let cur = current as u32;
        let row = dist.row(current);
        let cc = core[current];
        let (mut pick, d) = match pair {
            Some(p) => {
                // Two halves at once; the first half wins ties (the lower index).
                let mid = n / 2;
                let (bl, br) = best.split_at_mut(mid);
                let (fl, fr) = from.split_at_mut(mid);
                let ((pl, dl), (pr, dr)) = p.join(
                    || prim_step(&row[..mid], cc, &core_x[..mid], bl, fl, cur),
                    || prim_step(&row[mid..], cc, &core_x[mid..], br, fr, cur),
                );
                if dr < dl { (mid + pr, dr) } else { (pl, dl) }
            }
            None => prim_step(row, cc, &core_x, &mut best, &mut from, cur),
        };
        if !d.is_finite() || in_tree[pick] {
            // Only infinite distances left (cannot happen with finite data): the lowest point
            // outside the tree, at infinity.
            pick = in_tree.iter().position(|&t| !t).unwrap_or(pick);
        }
        edges.push((from[pick] as usize, pick, f64::from(best[pick])));
        best[pick] = f32::INFINITY;
        core_x[pick] = f32::INFINITY;
        in_tree[pick] = true;
        current = pick;
    }
    Ok(edges)
}

/// One sweep of [`prim`]: relaxes every point's best distance to the tree through the point
/// whose row is `row` (core distance `cc`), and returns the point with the smallest best
/// distance (the lowest index among equals) and that distance.
fn prim_step(row: &[f32], cc: f32, core_x: &[f32], best: &mut [f32], from: &mut [u32], cur: u32) -> (usize, f32) {
    #[cfg(target_arch = "x86_64")]
    {
        if crate::engine::kernels::direct_available() {
            // SAFETY: the CPU has AVX2 and FMA (checked).
            return unsafe { prim_step_avx2(row, cc, core_x, best, from, cur) };
        }
    }
    prim_step_lanes(row, cc, core_x, best, from, cur)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn prim_step_avx2(row: &[f32], cc: f32, core_x: &[f32], best: &mut [f32], from: &mut [u32], cur: u32) -> (usize, f32) {
    prim_step_lanes(row, cc, core_x, best, from, cur)
}

#[inline(always)]
fn prim_step_lanes(row: &[f32], cc: f32, core_x: &[f32], best: &mut [f32], from: &mut [u32], cur: u32) -> (usize, f32) {
    const L: usize = 8;
    // Three straight passes, each of which the compiler turns into vector code: relax, the
    // smallest value (eight running minima), the first point that has it.
    for (((b, f), &r), &c) in best.iter_mut().zip(from.iter_mut()).zip(row).zip(core_x) {
        // max of three as compare-and-select (a NaN-free form that vectorises).
        let a = if r > c { r } else { c };
        let mr = if a > cc { a } else { cc };
        let upd = mr < *b;
        *b = if upd { mr } else { *b };
        *f = if upd { cur } else { *f };
    }
    let mut lanes = [f32::INFINITY; L];
    let (chunks, tail) = best.as_chunks::<L>();
    for ch in chunks {
        for l in 0..L {
            lanes[l] = if ch[l] < lanes[l] { ch[l] } else { lanes[l] };
        }
    }
    let mut pv = f32::INFINITY;
    for &v in lanes.iter().chain(tail) {
        pv = if v < pv { v } else { pv };
    }
    let pick = best.iter().position(|&v| v == pv).unwrap_or(0);
    (pick, pv)
}

/// The single-linkage tree of a spanning tree: edges by increasing weight (stable), each
/// joining the current clusters of its ends.
fn single_linkage(n: usize, mut mst: Vec<(usize, usize, f64)>) -> Vec<Link> {
    mst.sort_by(|a, b| a.2.total_cmp(&b.2));
    // Union-find whose representatives carry the node id of their cluster.
    let mut parent: Vec<usize> = (0..2 * n).collect();
    let mut size = vec![1usize; 2 * n];
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        let mut root = x;
        while parent[root] != root {
            root = parent[root];
        }
        while parent[x] != root {
            let p = parent[x];
            parent[x] = root;
            x = p;
        }
        root
    }
    let mut links = Vec::with_capacity(mst.len());
    for (i, (a, b, w)) in mst.into_iter().enumerate() {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        let node = n + i;
        let s = size[ra] + size[rb];
        parent[ra] = node;
        parent[rb] = node;
        size[node] = s;
        links.push(Link { left: ra, right: rb, dist: w, size: s });
    }
    links
}

/// Nodes of the subtree at `root`, breadth first, left before right.
fn bfs(links: &[Link], n: usize, root: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut level = vec![root];
    while !level.is_empty() {
        out.extend_from_slice(&level);
        let mut next = Vec::new();
        for &x in &level {
            if x >= n {
                let l = links[x - n];
                next.push(l.left);
                next.push(l.right);
            }
        }
        level = next;
    }
    out
}

/// The condensed tree: splits where both sides have at least `mcs` points make new clusters;
/// smaller sides fall out as points.
fn condense(links: &[Link], n: usize, mcs: usize) -> Vec<CondensedRow> {
    let root = 2 * n - 2;
    let order = bfs(links, n, root);
    let mut relabel = vec![0usize; root + 1];
    relabel[root] = n;
    let mut next_label = n + 1;
    let mut ignore = vec![false; root + 1];
    let mut out = Vec::new();
    let count = |x: usize| if x >= n { links[x - n].size } else { 1 };
    for node in order {
        if ignore[node] || node < n {
            continue;
        }
        let l = links[node - n];
        let lambda = if l.dist > 0.0 { 1.0 / l.dist } else { f64::INFINITY };
        let (lc, rc) = (count(l.left), count(l.right));
        let parent = relabel[node];
        let fall_out = |side: usize, out: &mut Vec<CondensedRow>, ignore: &mut [bool]| {
            for sub in bfs(links, n, side) {
                if sub < n {
                    out.push(CondensedRow { parent, child: sub, lambda, size: 1 });
                }
                ignore[sub] = true;
            }
        };
        if lc >= mcs && rc >= mcs {
            relabel[l.left] = next_label;
            out.push(CondensedRow { parent, child: next_label, lambda, size: lc });
            next_label += 1;
            relabel[l.right] = next_label;
            out.push(CondensedRow { parent, child: next_label, lambda, size: rc });
            next_label += 1;
        } else if lc < mcs && rc < mcs {
            fall_out(l.left, &mut out, &mut ignore);
            fall_out(l.right, &mut out, &mut ignore);
        } else if lc < mcs {
            relabel[l.right] = parent;
            fall_out(l.left, &mut out, &mut ignore);
        } else {
            relabel[l.left] = parent;
            fall_out(l.right, &mut out, &mut ignore);
        }
    }
    out
}

/// Cluster ids (≥ n) chosen from the condensed tree.
fn select_clusters(tree: &[CondensedRow], n: usize, selection: Selection, epsilon: f64) -> Vec<usize> {
    let n_clusters = tree.iter().map(|r| r.parent.max(if r.size > 1 { r.child } else { 0 })).max().map_or(1, |m| m + 1 - n);
    let root = n;
    // Children clusters per cluster, birth lambda per cluster.
    let mut kids: Vec<Vec<usize>> = vec![Vec::new(); n_clusters];
    let mut birth = vec![0.0f64; n_clusters];
    let mut parent_of = vec![usize::MAX; n_clusters];
    for r in tree {
        if r.size > 1 {
            kids[r.parent - n].push(r.child);
            birth[r.child - n] = r.lambda;
            parent_of[r.child - n] = r.parent;
        }
    }
    let mut stability = vec![0.0f64; n_clusters];
    for r in tree {
        {
            stability[r.parent - n] += (r.lambda - birth[r.parent - n]) * r.size as f64;
        }
    }
    let has_clusters = kids[0].iter().any(|_| true);
    let mut selected: Vec<bool> = vec![false; n_clusters];
    match selection {
        Selection::Eom => {
            for c in (1..n_clusters).rev() {
                selected[c] = true;
            }
            // Children have larger ids than their parents: descending order is bottom-up.
            for c in (1..n_clusters).rev() {
                let sub: f64 = kids[c].iter().map(|&k| stability[k - n]).sum();
                if sub > stability[c] {
                    selected[c] = false;
                    stability[c] = sub;
                } else {
                    let mut stack: Vec<usize> = kids[c].clone();
                    while let Some(k) = stack.pop() {
                        selected[k - n] = false;
                        stack.extend_from_slice(&kids[k - n]);
                    }
                }
            }
            if epsilon > 0.0 && has_clusters {
                let chosen: Vec<usize> = (1..n_clusters).filter(|&c| selected[c]).map(|c| c + n).collect();
                selected.fill(false);
                for c in epsilon_search(&chosen, &kids, &birth, &parent_of, n, epsilon) {
                    selected[c - n] = true;
                }
            }
        }
        Selection::Leaf => {
            if has_clusters {
                let mut leaves = Vec::new();
                let mut stack = vec![root];
                while let Some(c) = stack.pop() {
                    if kids[c - n].is_empty() {
                        leaves.push(c);
                    } else {
                        stack.extend(kids[c - n].iter().rev());
                    }
                }
                let chosen = if epsilon > 0.0 { epsilon_search(&leaves, &kids, &birth, &parent_of, n, epsilon) } else { leaves };
                for c in chosen {
                    selected[c - n] = true;
                }
            }
        }
    }
    selected[0] = false;
    (0..n_clusters).filter(|&c| selected[c]).map(|c| c + n).collect()
}

/// Replaces each chosen cluster born below distance `epsilon` by its highest ancestor born
/// below it (never the root), as scikit-learn's `cluster_selection_epsilon`.
fn epsilon_search(chosen: &[usize], kids: &[Vec<usize>], birth: &[f64], parent_of: &[usize], n: usize, epsilon: f64) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    let mut processed = vec![false; kids.len()];
    for &leaf in chosen {
        let eps = 1.0 / birth[leaf - n];
        if eps < epsilon {
            if processed[leaf - n] {
                continue;
            }
            // Climb while the parent was born below epsilon, stopping under the root.
            let mut node = leaf;
            loop {
                let p = parent_of[node - n];
                if p == n || p == usize::MAX {
                    break;
                }
                if 1.0 / birth[p - n] > epsilon {
                    node = p;
                    break;
                }
                node = p;
            }
            if !out.contains(&node) {
                out.push(node);
            }
            let mut stack = kids[node - n].clone();
            while let Some(k) = stack.pop() {
                processed[k - n] = true;
                stack.extend_from_slice(&kids[k - n]);
            }
        } else if !out.contains(&leaf) {
            out.push(leaf);
        }
    }
    out.sort_unstable();
    out
}

/// Per condensed-tree cluster (index = id − n): its label (−1: under no selected cluster) and
/// the largest λ among its selected cluster's direct children (membership strength's scale).
fn owners(tree: &[CondensedRow], n: usize, selected: &[usize]) -> (Vec<i32>, Vec<f64>) {
    let n_clusters = tree.iter().filter(|r| r.size > 1).map(|r| r.child + 1 - n).max().unwrap_or(1);
    let mut cluster_label = vec![-1i32; n_clusters];
    for (i, &c) in selected.iter().enumerate() {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_possible_wrap,
            reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)"
        )]
        {
            cluster_label[c - n] = i as i32;
        }
    }
    // Owner: the selected cluster at or above each cluster (parents come before children).
    let mut owner = vec![usize::MAX; n_clusters];
    let mut death = vec![0.0f64; n_clusters];
    let mut rows: Vec<&CondensedRow> = tree.iter().filter(|r| r.size > 1).collect();
    rows.sort_by_key(|r| r.child);
    for c in 0..n_clusters {
        if cluster_label[c] >= 0 {
            owner[c] = c;
        }
    }
    for r in rows {
        let (p, c) = (r.parent - n, r.child - n);
        if owner[c] == usize::MAX {
            owner[c] = owner[p];
        }
    }
    for r in tree {
        let p = r.parent - n;
        death[p] = death[p].max(r.lambda);
    }
    let label = owner.iter().map(|&o| if o == usize::MAX { -1 } else { cluster_label[o] }).collect();
    let max_lambda = owner.iter().map(|&o| if o == usize::MAX { 0.0 } else { death[o] }).collect();
    (label, max_lambda)
}

/// Membership strength of a point leaving at `lambda` a cluster whose selected cluster's
/// largest λ is `max_lambda`.
fn strength(lambda: f64, max_lambda: f64) -> f64 {
    if max_lambda == 0.0 || !lambda.is_finite() { 1.0 } else { lambda.min(max_lambda) / max_lambda }
}

/// Labels (selected clusters numbered in id order) and membership strengths.
fn label(tree: &[CondensedRow], n: usize, selected: &[usize]) -> (Vec<i32>, Vec<f64>) {
    let (node_label, node_max) = owners(tree, n, selected);
    let mut labels = vec![-1i32; n];
    let mut prob = vec![0.0f64; n];
    for r in tree.iter().filter(|r| r.child < n) {
        let c = r.parent - n;
        if node_label[c] < 0 {
            continue;
        }
        labels[r.child] = node_label[c];
        prob[r.child] = strength(r.lambda, node_max[c]);
    }
    (labels, prob)
}

/// λ = 1 / distance, as the condensed tree computes it (0 → ∞, ∞ → 0).
fn lambda_of(distance: f32) -> f64 {
    let d = f64::from(distance);
    if d > 0.0 { 1.0 / d } else { f64::INFINITY }
}

/// What a fitted HDBSCAN keeps to label new points as the hdbscan library's
/// `approximate_predict` does: each new point joins the condensed tree where its nearest
/// fitted point by mutual reachability hangs, at the λ of that mutual reachability, and takes
/// the label of the selected cluster there (none: noise) with the strength λ / the cluster's
/// largest λ. Densities are kept as distances (λ = 1/distance), exactly as the tree computed
/// them, so that they store as f32 without loss.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictor {
    /// `min_samples` of the core distances.
    pub min_samples: usize,
    /// Per fitted point: core distance, the distance at which it leaves its cluster, and that
    /// cluster (index into the cluster arrays; 0 is the root).
    pub points: Vec<[f32; 3]>,
    /// Per cluster of the condensed tree: its parent cluster (the root: itself), the distance at
    /// which it split from the parent, its label (−1: none), and the distance of its selected
    /// cluster's largest λ (0: every strength is 1).
    pub clusters: Vec<[f32; 4]>,
}

/// A new point's verdict.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Predicted {
    /// Cluster (−1: noise).
    pub label: i32,
    /// Membership strength in [0, 1] (0 for noise).
    pub strength: f64,
    /// The fitted point it joins the tree by.
    pub neighbor: u32,
    /// The raw distance to that point.
    pub distance: f32,
}

impl Predictor {
    /// The predictor of `result`, selected from `tree`.
    ///
    /// # Panics
    /// When `result` was not selected from `tree`.
    #[must_use]
    pub fn new(tree: &HdbscanTree, result: &HdbscanResult) -> Self {
        let n = tree.n;
        let tree_rows = &result.condensed;
        let (node_label, node_max) = owners(tree_rows, n, &result.selected);
        let m = node_label.len();
        #[expect(clippy::cast_possible_truncation, reason = "an f64 distance rounded to the engine's f32")]
        let dist_of = |lambda: f64| {
            if lambda.is_infinite() {
                0.0
            } else if lambda == 0.0 {
                f32::INFINITY
            } else {
                (1.0 / lambda) as f32
            }
        };
        let mut clusters: Vec<[f32; 4]> = (0..m).map(|c| [c as f32, f32::INFINITY, node_label[c] as f32, dist_of(node_max[c])]).collect();
        let mut points = vec![[0.0f32, f32::INFINITY, 0.0]; n];
        for r in tree_rows {
            if r.child < n {
                points[r.child] = [tree.core[r.child], dist_of(r.lambda), (r.parent - n) as f32];
            } else {
                let c = r.child - n;
                clusters[c][0] = (r.parent - n) as f32;
                clusters[c][1] = dist_of(r.lambda);
            }
        }
        Self { min_samples: tree.min_samples, points, clusters }
    }

    /// Labels `queries` against the `fitted` points (both in the metric's space: unit rows for
    /// cosine), as the hdbscan library's `approximate_predict` of the same tree: the
    /// `2 · (min_samples − 1)` nearest fitted points of each (the library's `min_samples` does not
    /// count the point itself, this one does, as scikit-learn's), its core distance the distance
    /// to the min_samples-th of them (so a fitted row has its own), the neighbour with the least
    /// mutual reachability (ties: the nearer), then up the condensed tree while the clusters there
    /// were born at a λ at least the new point's. One difference: the fitted points' core
    /// distances are the tree's own, where the library's prediction data recomputes them with one
    /// neighbour fewer than its tree used.
    pub fn predict(&self, fitted: &Matrix, queries: &Matrix, metric: Metric, ctl: &Control) -> Result<Vec<Predicted>, Cancelled> {
        let ms = self.min_samples.max(1);
        let k = (2 * (ms - 1)).max(ms).clamp(1, fitted.n().max(1));
        if fitted.n() == 0 {
            return Ok(vec![Predicted { label: -1, strength: 0.0, neighbor: 0, distance: f32::INFINITY }; queries.n()]);
        }
        let (idx, dist) = crate::engine::neighbors::knn_among(fitted, queries, metric, k, ctl)?;
        let out = (0..queries.n())
            .into_par_iter()
            .map(|q| {
                let (ri, rd) = (&idx[q * k..(q + 1) * k], &dist[q * k..(q + 1) * k]);
                let m = ri.iter().take_while(|&&j| j != u32::MAX).count().max(1);
                let own_core = rd[(ms - 1).min(m - 1)];
                let (mut best, mut best_mr) = (0usize, f32::INFINITY);
                for e in 0..m {
                    let mr = self.points[ri[e] as usize][0].max(own_core).max(rd[e]);
                    if mr < best_mr {
                        (best, best_mr) = (e, mr);
                    }
                }
                let neighbor = ri[best];
                let lambda = lambda_of(best_mr);
                let [_, exit, node] = self.points[neighbor as usize];
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "condensed-tree fields hold whole non-negative indices in f64"
                )]
                let mut c = node as usize;
                if lambda_of(exit) > lambda {
                    while c > 0 && lambda_of(self.clusters[c][1]) >= lambda {
                        #[expect(
                            clippy::cast_possible_truncation,
                            clippy::cast_sign_loss,
                            reason = "condensed-tree fields hold whole non-negative indices in f64"
                        )]
                        {
                            c = self.clusters[c][0] as usize;
                        }
                    }
                }
                #[expect(clippy::cast_possible_truncation, reason = "condensed-tree fields hold whole cluster ids (-1 for noise) in f64")]
                let label = self.clusters[c][2] as i32;
                let strength = if label >= 0 { strength(lambda, lambda_of(self.clusters[c][3])) } else { 0.0 };
                Predicted { label, strength, neighbor, distance: rd[best] }
            })
            .collect();
        Ok(out)
    }

    /// Checks a predictor read from a file for `n` fitted points and `n_clusters` labels: every
    /// index in range and every parent before its child (so the walk up ends).
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "the value is checked to be a non-negative whole number below the bound first"
    )]
    pub fn check(&self, n: usize, n_clusters: usize) -> Result<(), String> {
        let m = self.clusters.len();
        if self.points.len() != n {
            return Err(format!("{} HDBSCAN points for {n} fitted rows", self.points.len()));
        }
        if m == 0 || self.min_samples == 0 {
            return Err("no HDBSCAN tree".into());
        }
        let index = |v: f32, below: usize| v >= 0.0 && v.fract() == 0.0 && (v as usize) < below;
        for (c, cl) in self.clusters.iter().enumerate() {
            if !(index(cl[0], c.max(1))) {
                return Err(format!("HDBSCAN cluster {c} has the parent {}, not an earlier cluster", cl[0]));
            }
            if !(cl[2] == -1.0 || index(cl[2], n_clusters)) {
                return Err(format!("HDBSCAN cluster {c} has the label {}, not one of the {n_clusters} clusters", cl[2]));
            }
            if cl[1].is_nan() || cl[3].is_nan() || cl[1] < 0.0 || cl[3] < 0.0 {
                return Err(format!("HDBSCAN cluster {c} has a distance that is negative or not a number"));
            }
        }
        for (i, p) in self.points.iter().enumerate() {
            if !index(p[2], m) || p[0].is_nan() || p[1].is_nan() || p[0] < 0.0 || p[1] < 0.0 {
                return Err(format!("HDBSCAN point {i} is damaged ({}, {}, {})", p[0], p[1], p[2]));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Matrix;
    use crate::engine::rng::Rng;

    #[test]
    fn a_new_min_samples_over_the_kept_distance_matrix_gives_the_tree_a_fresh_build_gives() {
        let (n, d) = (600, 8);
        let mut rng = Rng::new(5);
        #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
        let pts: Vec<f32> = (0..n * d).map(|i| ((i / d) % 4) as f32 * 3.0 + (rng.next_f64() * 2.0) as f32).collect();
        let m = Matrix::new(pts, n, d).unwrap();
        let emb = Embeddings::new(m.clone());
        let ctl = Control::default();
        let (_, first) = emb.hdbscan_tree(Metric::Cosine, CoreRank::new(5, n).unwrap(), &ctl).unwrap();
        assert_eq!(first, crate::engine::cache::Origin::Built);
        for ms in [9, 1, 5] {
            let (kept, origin) = emb.hdbscan_tree(Metric::Cosine, CoreRank::new(ms, n).unwrap(), &ctl).unwrap();
            assert_eq!(origin, crate::engine::cache::Origin::Built);
            let fresh = HdbscanTree::build(&Embeddings::new(m.clone()), Metric::Cosine, CoreRank::new(ms, n).unwrap(), &ctl).unwrap();
            assert_eq!(kept.core, fresh.core, "min_samples {ms}");
            assert_eq!(kept.links, fresh.links, "min_samples {ms}");
        }
    }

    #[test]
    fn prim_finds_a_minimum_spanning_tree_of_mutual_reachability() {
        // 203 points (not a multiple of the sweep's width) in 5 dimensions: the tree's weight
        // must equal Kruskal's over every pair, and it must span every point.
        let (n, d) = (203, 5);
        let mut rng = Rng::new(11);
        #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
        let pts: Vec<f32> = (0..n * d).map(|_| (rng.next_f64() * 10.0) as f32).collect();
        let emb = Embeddings::new(Matrix::new(pts, n, d).unwrap());
        let (dist, core) = Square::build_with_nearest(&emb, Metric::Euclidean, 3, &Control::default()).unwrap();
        let mst = prim(&dist, &core, None, &Control::default()).unwrap();
        let halves = crate::engine::pair::with_pair(|p| prim(&dist, &core, Some(p), &Control::default())).unwrap();
        assert_eq!(mst, halves);
        assert_eq!(mst.len(), n - 1);
        let mr = |i: usize, j: usize| f64::from(dist.row(i)[j].max(core[i]).max(core[j]));
        let mut all: Vec<(f64, usize, usize)> =
            (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).map(|(i, j)| (mr(i, j), i, j)).collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut uf = crate::engine::unionfind::UnionFind::new(n);
        let mut kruskal = 0.0;
        for (w, i, j) in all {
            if uf.union(i, j).is_some() {
                kruskal += w;
            }
        }
        let prim_weight: f64 = mst.iter().map(|e| e.2).sum();
        assert!((prim_weight - kruskal).abs() <= 1e-9 * kruskal, "{prim_weight} vs {kruskal}");
        for &(a, b, w) in &mst {
            assert!((w - mr(a, b)).abs() <= 1e-6 * w.max(1.0), "edge ({a}, {b}) carries {w}");
        }
        let mut uf = crate::engine::unionfind::UnionFind::new(n);
        for &(a, b, _) in &mst {
            assert!(uf.union(a, b).is_some(), "edge ({a}, {b}) closes a cycle");
        }
    }

    #[test]
    fn two_blobs_and_scattered_noise() {
        let mut rng = Rng::new(5);
        let mut pts = Vec::new();
        #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
        let mut g = || (rng.next_f64() - 0.5) as f32;
        for _ in 0..60 {
            pts.extend_from_slice(&[g(), g()]);
        }
        for _ in 0..60 {
            pts.extend_from_slice(&[10.0 + g(), g()]);
        }
        for i in 0..6u8 {
            pts.extend_from_slice(&[f32::from(i) * 7.0 - 15.0, 30.0 + f32::from(i) * 5.0]);
        }
        let emb = Embeddings::new(Matrix::new(pts, 126, 2).unwrap());
        let tree = HdbscanTree::build(&emb, Metric::Euclidean, CoreRank::new(5, emb.raw().n()).unwrap(), &Control::default()).unwrap();
        let r = tree.select(10, Selection::Eom, 0.0);
        assert_eq!(r.n_clusters, 2);
        assert!(r.labels[..60].iter().all(|&l| l == r.labels[0]) && r.labels[60..120].iter().all(|&l| l == r.labels[60]));
        assert_ne!(r.labels[0], r.labels[60]);
        assert!(r.labels[120..].iter().all(|&l| l == -1));
        assert!(r.probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
        let leaf = tree.select(10, Selection::Leaf, 0.0);
        assert!(leaf.n_clusters >= 2);
        // An epsilon above the gap between the blobs still never selects the root.
        let merged = tree.select(10, Selection::Eom, 100.0);
        assert!(merged.n_clusters >= 1);
        assert!(HdbscanParams { min_cluster_size: 1, ..HdbscanParams::default() }.check(100).is_err());
        // From the neighbour graph: the same clusters here, where the blobs are far apart.
        let approx =
            HdbscanTree::build_from_knn(&emb, Metric::Euclidean, CoreRank::new(5, emb.raw().n()).unwrap(), &Control::default()).unwrap();
        let pieces = approx.from_graph.map_or(0, |(_, p)| p);
        let a = approx.select(10, Selection::Eom, 0.0);
        assert!(pieces >= 1);
        assert_eq!(a.n_clusters, 2);
        assert!(a.labels[..60].iter().all(|&l| l == a.labels[0]) && a.labels[60..120].iter().all(|&l| l == a.labels[60]));
        assert_ne!(a.labels[0], a.labels[60]);
    }
}
