//! Agglomerative clustering: the whole dendrogram once, then any number of clusters is a cut.
//!
//! The tree is built by the nearest-neighbour chain algorithm over the condensed f32 distance
//! matrix, with Lance-Williams updates in f64, for the reducible linkages ward (euclidean only),
//! average, complete and single. The merge heights are those of SciPy's `linkage` (and so of
//! scikit-learn's `AgglomerativeClustering`): ward's is `sqrt(2·|u||v|/(|u|+|v|))·‖c_u − c_v‖`.

use crate::engine::disjoint::Disjoint;
use crate::engine::neighbors::{Condensed, index};
use crate::engine::unionfind::UnionFind;
use crate::engine::{Cancelled, Control, Embeddings, Metric};

/// How the distance between two clusters is defined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Linkage {
    /// Increase in within-cluster variance (euclidean only).
    #[default]
    Ward,
    /// Mean pairwise distance.
    Average,
    /// Largest pairwise distance.
    Complete,
    /// Smallest pairwise distance.
    Single,
}

impl Linkage {
    /// Every linkage, for pickers.
    pub const ALL: [Self; 4] = [Self::Ward, Self::Average, Self::Complete, Self::Single];

    /// The lowercase name used on the command line and in reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Ward => "ward",
            Self::Average => "average",
            Self::Complete => "complete",
            Self::Single => "single",
        }
    }
}

impl std::fmt::Display for Linkage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Linkage {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ward" => Ok(Self::Ward),
            "average" | "avg" => Ok(Self::Average),
            "complete" | "max" => Ok(Self::Complete),
            "single" | "min" => Ok(Self::Single),
            other => Err(format!("unknown linkage '{other}': use ward, average, complete or single")),
        }
    }
}

/// Settings for agglomerative clustering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HierarchicalParams {
    /// Clusters to cut the tree into.
    pub k: usize,
    /// Cluster distance.
    pub linkage: Linkage,
    /// Point distance.
    pub metric: Metric,
}

impl Default for HierarchicalParams {
    fn default() -> Self {
        Self { k: 12, linkage: Linkage::Ward, metric: Metric::Euclidean }
    }
}

/// Settings agglomerative clustering refuses.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HierarchicalParamError {
    /// Ward under cosine.
    #[error("ward linkage needs the euclidean metric; with cosine use average, complete or single")]
    WardNeedsEuclidean,
    /// k out of range.
    #[error("k must be between 1 and the number of rows ({n}); got {k}")]
    K {
        /// Asked.
        k: usize,
        /// Rows.
        n: usize,
    },
}

/// A linkage under a metric it is defined for: what a dendrogram is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TreeSpec {
    linkage: Linkage,
    metric: Metric,
}

impl TreeSpec {
    /// Checks that `linkage` is defined under `metric` (ward needs euclidean).
    ///
    /// # Errors
    /// [`HierarchicalParamError::WardNeedsEuclidean`].
    pub fn new(linkage: Linkage, metric: Metric) -> Result<Self, HierarchicalParamError> {
        if linkage == Linkage::Ward && metric != Metric::Euclidean {
            return Err(HierarchicalParamError::WardNeedsEuclidean);
        }
        Ok(Self { linkage, metric })
    }

    /// The linkage.
    #[must_use]
    pub fn linkage(self) -> Linkage {
        self.linkage
    }

    /// The metric.
    #[must_use]
    pub fn metric(self) -> Metric {
        self.metric
    }
}

/// Checked agglomerative settings: the tree to build and the k to cut it at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HierarchicalConfig {
    /// The tree.
    pub tree: TreeSpec,
    /// Clusters, `1..=n`.
    pub k: usize,
}

impl HierarchicalParams {
    /// Checks the settings against `n` rows.
    ///
    /// # Errors
    /// Ward under cosine, or k outside `1..=n`.
    pub fn check(&self, n: usize) -> Result<HierarchicalConfig, HierarchicalParamError> {
        let tree = TreeSpec::new(self.linkage, self.metric)?;
        if self.k == 0 || self.k > n {
            return Err(HierarchicalParamError::K { k: self.k, n });
        }
        Ok(HierarchicalConfig { tree, k: self.k })
    }
}

/// One merge of the dendrogram, in SciPy's convention: nodes below n are points, node
/// `n + i` is the cluster made by merge `i`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Merge {
    /// Smaller node id merged.
    pub left: u32,
    /// Larger node id merged.
    pub right: u32,
    /// Linkage distance at the merge.
    pub height: f64,
    /// Points in the new cluster.
    pub size: u32,
}

/// A full merge history of `n` points, heights ascending.
#[derive(Clone, Debug, PartialEq)]
pub struct Dendrogram {
    /// Leaves: the points, or the micro-clusters when [`Dendrogram::leaf_of`] is set.
    pub n: usize,
    /// The `n − 1` merges, lowest first.
    pub merges: Vec<Merge>,
    /// Linkage used.
    pub linkage: Linkage,
    /// Metric used.
    pub metric: Metric,
    /// The leaf of every point, when the leaves are micro-clusters.
    pub leaf_of: Option<Vec<u32>>,
}

impl Dendrogram {
    /// Points below the tree.
    #[must_use]
    pub fn points(&self) -> usize {
        self.leaf_of.as_ref().map_or(self.n, Vec::len)
    }

    /// The labels of every point in the cut into `k` clusters (1 ≤ k ≤ leaves), numbered by
    /// first row.
    #[must_use]
    #[expect(clippy::cast_sign_loss, reason = "hierarchical labels are never noise, so never negative")]
    pub fn cut(&self, k: usize) -> Vec<i32> {
        let leaves = self.cut_leaves(k);
        let Some(leaf_of) = &self.leaf_of else { return leaves };
        // Renumber by first point.
        let mut id = vec![-1i32; self.n.max(1)];
        let mut next = 0;
        leaf_of
            .iter()
            .map(|&l| {
                let c = leaves[l as usize] as usize;
                if id[c] < 0 {
                    id[c] = next;
                    next += 1;
                }
                id[c]
            })
            .collect()
    }

    /// The labels of the leaves in the cut into `k` clusters.
    fn cut_leaves(&self, k: usize) -> Vec<i32> {
        let n = self.n;
        let k = k.clamp(1, n.max(1));
        let mut uf = UnionFind::new(2 * n);
        for (i, m) in self.merges.iter().take(n - k).enumerate() {
            uf.union(m.left as usize, n + i);
            uf.union(m.right as usize, n + i);
        }
        let mut id = vec![-1i32; 2 * n];
        let mut next = 0;
        (0..n)
            .map(|i| {
                let r = uf.find(i);
                if id[r] < 0 {
                    id[r] = next;
                    next += 1;
                }
                id[r]
            })
            .collect()
    }

    /// Height at which the tree has `k` clusters: between merge n−k−1 and n−k.
    #[must_use]
    pub fn cut_height(&self, k: usize) -> Option<(f64, f64)> {
        let n = self.n;
        if k == 0 || k > n {
            return None;
        }
        let below = if k == n { 0.0 } else { self.merges[n - k - 1].height };
        let above = if k == 1 { f64::INFINITY } else { self.merges[n - k].height };
        Some((below, above))
    }
}

/// Above this many rows the tree is built on [`MICRO_CLUSTERS`] K-means micro-clusters: the
/// condensed matrix of 30,000 rows already takes 1.8 GB.
pub const DENSE_MAX: usize = 30_000;

/// Micro-clusters the tree starts from above [`DENSE_MAX`] rows.
pub const MICRO_CLUSTERS: usize = 1024;

/// Builds the dendrogram of `emb` as `tree` says: exactly, by the nearest-neighbour chain over
/// the condensed matrix, up to [`DENSE_MAX`] rows; above, on weighted K-means micro-clusters
/// (see [`micro_dendrogram`]).
pub fn dendrogram(emb: &Embeddings, tree: TreeSpec, ctl: &Control) -> Result<Dendrogram, Cancelled> {
    let (linkage, metric) = (tree.linkage, tree.metric);
    if emb.raw().n() > DENSE_MAX {
        return micro_dendrogram(emb, tree, MICRO_CLUSTERS, 0, ctl);
    }
    let dist = chain_matrix(emb, linkage, metric, ctl)?;
    let sizes = vec![1u32; dist.n];
    nn_chain(dist, &sizes, linkage, metric, ctl)
}

/// The matrix [`nn_chain`] starts from: distances, or squared ones for ward.
fn chain_matrix(emb: &Embeddings, linkage: Linkage, metric: Metric, ctl: &Control) -> Result<Condensed, Cancelled> {
    if linkage == Linkage::Ward { Condensed::build_squared(emb, ctl) } else { Condensed::build(emb, metric, ctl) }
}

/// The dendrogram over `m` micro-clusters: K-means (random rows as seeds, 8 Lloyd
/// iterations, spherical under cosine) groups the rows, and the chain runs on the groups with
/// their sizes as weights. Ward's distances between groups are exact (they depend only on the
/// groups' means and sizes), so every cut is the exact ward continuation of that partition;
/// for the other linkages the distance between two groups is taken between their means.
pub fn micro_dendrogram(emb: &Embeddings, tree: TreeSpec, m: usize, seed: u64, ctl: &Control) -> Result<Dendrogram, Cancelled> {
    let (linkage, metric) = (tree.linkage, tree.metric);
    let points = emb.points(metric);
    let (n, d) = (points.n(), points.d());
    let m = m.min(n);
    let mut rng = crate::engine::rng::Rng::new(seed);
    let centers = points.select_rows(&rng.sample_indices(n, m)).as_slice().to_vec();
    let km =
        crate::engine::kmeans::lloyd::lloyd(points, centers, 8, 0.0, metric == Metric::Cosine, &ctl.without_steps(), "micro-clusters")?;
    // Means and sizes of the non-empty groups, in f64 over the raw rows' metric space.
    let mut sums = vec![0.0f64; m * d];
    let mut count = vec![0u32; m];
    for (i, &l) in km.labels.iter().enumerate() {
        count[l as usize] += 1;
        for (s, &v) in sums[l as usize * d..(l as usize + 1) * d].iter_mut().zip(points.row(i)) {
            *s += f64::from(v);
        }
    }
    let mut leaf_of_group = vec![u32::MAX; m];
    let mut means: Vec<Vec<f64>> = Vec::new();
    let mut sizes: Vec<u32> = Vec::new();
    for g in 0..m {
        if count[g] > 0 {
            leaf_of_group[g] = u32::try_from(means.len()).unwrap_or(u32::MAX);
            let inv = 1.0 / f64::from(count[g]);
            let mut mean: Vec<f64> = sums[g * d..(g + 1) * d].iter().map(|v| v * inv).collect();
            if metric == Metric::Cosine {
                let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt();
                if norm > 0.0 {
                    mean.iter_mut().for_each(|v| *v /= norm);
                }
            }
            means.push(mean);
            sizes.push(count[g]);
        }
    }
    let c = means.len();
    use rayon::prelude::*;
    let rows: Vec<Vec<f32>> = (0..c)
        .into_par_iter()
        .map(|i| {
            (i + 1..c)
                .map(|j| {
                    let (a, b) = (&means[i], &means[j]);
                    let v = match (linkage, metric) {
                        (_, Metric::Cosine) => (1.0 - a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>()).clamp(0.0, 2.0),
                        (Linkage::Ward, _) => {
                            // Squared, as the chain keeps ward's distances.
                            let (sa, sb) = (f64::from(sizes[i]), f64::from(sizes[j]));
                            2.0 * sa * sb / (sa + sb) * a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum::<f64>()
                        }
                        _ => a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum::<f64>().sqrt(),
                    };
                    #[expect(
                        clippy::cast_possible_truncation,
                        reason = "an f64 result rounded to the engine's f32; its magnitude is that of the data's own values"
                    )]
                    let v = v as f32;
                    v
                })
                .collect()
        })
        .collect();
    let data: Vec<f32> = rows.into_iter().flatten().collect();
    ctl.check()?;
    let mut tree = nn_chain(Condensed { n: c, data }, &sizes, linkage, metric, ctl)?;
    tree.leaf_of = Some(km.labels.iter().map(|&g| leaf_of_group[g as usize]).collect());
    Ok(tree)
}

/// The nearest-neighbour chain over `dist`, whose entries are clusters of `sizes` points
/// (all 1 for raw points; larger for micro-clusters, with ward's distances already weighted).
/// For ward the entries are squared distances: its Lance-Williams update is a weighted sum of
/// squares, so keeping the squares saves a square root per updated cell, and the order of the
/// entries (all the chain compares) is the same. The merge heights are distances.
pub fn nn_chain(dist: Condensed, sizes: &[u32], linkage: Linkage, metric: Metric, ctl: &Control) -> Result<Dendrogram, Cancelled> {
    nn_chain_split(dist, sizes, linkage, metric, PARALLEL_FROM, ctl)
}

/// Active clusters from which the chain's scans and updates run in two halves at once.
const PARALLEL_FROM: usize = 8192;

fn nn_chain_split(
    mut dist: Condensed,
    sizes: &[u32],
    linkage: Linkage,
    metric: Metric,
    parallel_from: usize,
    ctl: &Control,
) -> Result<Dendrogram, Cancelled> {
    let n = dist.n;
    if n < 2 {
        return Ok(Dendrogram { n, merges: Vec::new(), linkage, metric, leaf_of: None });
    }
    let mut size: Vec<u32> = sizes.to_vec();
    let mut active: Vec<usize> = (0..n).collect();
    let mut pos = vec![usize::MAX; n]; // slot -> position in `active`
    for (p, &a) in active.iter().enumerate() {
        pos[a] = p;
    }
    let mut chain: Vec<usize> = Vec::with_capacity(n);
    let mut raw: Vec<(usize, usize, f64)> = Vec::with_capacity(n - 1);
    let data = &mut dist.data;
    let at = |i: usize, j: usize| if i < j { index(n, i, j) } else { index(n, j, i) };
    // start[i] + j is the position of the pair i < j (wrapping: start[0] is −1).
    let start: Vec<usize> = (0..n).map(|i| index(n, i, i + 1).wrapping_sub(i + 1)).collect();
    let start = &start[..];
    // Large scans and updates run in two halves on a pair of threads: each is tens of
    // microseconds of memory-bound work, too short to hand to a pool every time.
    let mut run = |pair: Option<&crate::engine::pair::Pair<'_>>| -> Result<(), Cancelled> {
        while active.len() > 1 {
            if raw.len().is_multiple_of(256) {
                ctl.check()?;
                ctl.progress("dendrogram", raw.len() as f32 / (n - 1) as f32);
            }
            if chain.is_empty() {
                chain.push(active[0]);
            }
            let (a, b, d_ab) = loop {
                let a = *chain.last().unwrap_or(&active[0]);
                let prev = if chain.len() >= 2 { Some(chain[chain.len() - 2]) } else { None };
                // Nearest active neighbour of a; the previous chain element wins ties.
                let (mut best, mut bd) = match prev {
                    Some(p) => (p, data[at(a, p)]),
                    None => (usize::MAX, f32::INFINITY),
                };
                // The entries below a are column a of their rows (one cache line each, fetched
                // ahead); those above a are row a, in order. Active slots are kept sorted.
                let scan = |part: &[usize]| -> (usize, f32) {
                    let (below, above) = part.split_at(part.partition_point(|&j| j < a));
                    let above = above.strip_prefix(&[a]).unwrap_or(above);
                    let row = start[a];
                    // The first entry in order seeds the minimum; later ones replace it only
                    // when smaller, so ties keep the lowest slot.
                    let (mut best, mut bd) = match (below.first(), above.first()) {
                        (Some(&j), _) => (j, data[start[j].wrapping_add(a)]),
                        (None, Some(&j)) => (j, data[row.wrapping_add(j)]),
                        (None, None) => return (usize::MAX, f32::INFINITY),
                    };
                    for (t, &j) in below.iter().enumerate() {
                        if let Some(&f) = below.get(t + PREFETCH) {
                            prefetch(data, start[f].wrapping_add(a));
                        }
                        let v = data[start[j].wrapping_add(a)];
                        if v < bd {
                            bd = v;
                            best = j;
                        }
                    }
                    for &j in above {
                        let v = data[row.wrapping_add(j)];
                        if v < bd {
                            bd = v;
                            best = j;
                        }
                    }
                    (best, bd)
                };
                // Large scans in two halves at once: they wait on memory, not arithmetic.
                let (found, fd) = if active.len() >= parallel_from {
                    let (l, r) = active.split_at(active.len() / 2);
                    let (x, y) = pair.map_or_else(|| (scan(l), scan(r)), |p| p.join(|| scan(l), || scan(r)));
                    if y.1 < x.1 || x.0 == usize::MAX { y } else { x }
                } else {
                    scan(&active)
                };
                if found != usize::MAX && (fd < bd || best == usize::MAX) {
                    best = found;
                    bd = fd;
                }
                if Some(best) == prev {
                    chain.pop();
                    chain.pop();
                    break (a, best, f64::from(bd));
                }
                chain.push(best);
            };
            // Merge a and b into the lower slot; the higher one leaves.
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            let (sa, sb) = (f64::from(size[lo]), f64::from(size[hi]));
            let sizes_now = &size;
            let cells = Disjoint::new(data);
            let lw = LanceWilliams { linkage, sa, sb, d_ab };
            // Three runs of k with their own cell positions: below lo both cells are column
            // entries (fetched ahead), between lo and hi the first is in row lo, above hi both
            // are in rows lo and hi.
            let update = |part: &[usize]| {
                let (below, rest) = part.split_at(part.partition_point(|&k| k < lo));
                let (between, above) = rest.split_at(rest.partition_point(|&k| k < hi));
                let (row_lo, row_hi) = (start[lo], start[hi]);
                update_run(below, &cells, &lw, sizes_now, |k| start[k].wrapping_add(lo), |k| start[k].wrapping_add(hi), true);
                let between = between.strip_prefix(&[lo]).unwrap_or(between);
                update_run(between, &cells, &lw, sizes_now, |k| row_lo.wrapping_add(k), |k| start[k].wrapping_add(hi), true);
                let above = above.strip_prefix(&[hi]).unwrap_or(above);
                update_run(above, &cells, &lw, sizes_now, |k| row_lo.wrapping_add(k), |k| row_hi.wrapping_add(k), false);
            };
            if active.len() >= parallel_from {
                let (l, r) = active.split_at(active.len() / 2);
                match pair {
                    Some(p) => {
                        p.join(|| update(l), || update(r));
                    }
                    None => {
                        update(l);
                        update(r);
                    }
                }
            } else {
                update(&active);
            }
            size[lo] += size[hi];
            let p = pos[hi];
            active.remove(p);
            for &j in &active[p..] {
                pos[j] -= 1;
            }
            pos[hi] = usize::MAX;
            raw.push((a, b, if linkage == Linkage::Ward { d_ab.sqrt() } else { d_ab }));
        }
        Ok(())
    };
    if n >= parallel_from {
        crate::engine::pair::with_pair(|p| run(Some(p)))?;
    } else {
        run(None)?;
    }
    Ok(Dendrogram { n, merges: to_scipy(n, sizes, &raw), linkage, metric, leaf_of: None })
}

/// One merge's Lance-Williams update: the merged clusters' sizes and distance.
struct LanceWilliams {
    linkage: Linkage,
    sa: f64,
    sb: f64,
    /// Squared for ward.
    d_ab: f64,
}

impl LanceWilliams {
    /// The distance from a cluster of `sk` points at `da` and `db` from the two merged ones to
    /// their union.
    #[inline(always)]
    fn apply(&self, sk: f64, da: f64, db: f64) -> f64 {
        let (sa, sb) = (self.sa, self.sb);
        match self.linkage {
            Linkage::Single => da.min(db),
            Linkage::Complete => da.max(db),
            Linkage::Average => (sa * da + sb * db) / (sa + sb),
            // Squared distances in and out.
            Linkage::Ward => (((sa + sk) * da + (sb + sk) * db - sk * self.d_ab) / (sa + sb + sk)).max(0.0),
        }
    }
}

/// Updates cell `pos_a(k)` to the merged cluster's distance for every cluster `k` of `ks`,
/// reading it and `pos_b(k)`; with `ahead`, both cells of a later `k` are fetched meanwhile.
#[inline(always)]
fn update_run(
    ks: &[usize],
    cells: &Disjoint<'_, f32>,
    lw: &LanceWilliams,
    sizes: &[u32],
    pos_a: impl Fn(usize) -> usize,
    pos_b: impl Fn(usize) -> usize,
    ahead: bool,
) {
    for (t, &k) in ks.iter().enumerate() {
        if ahead && let Some(&f) = ks.get(t + PREFETCH) {
            cells.prefetch(pos_a(f));
            cells.prefetch(pos_b(f));
        }
        let (ka, kb) = (pos_a(k), pos_b(k));
        // SAFETY: ka and kb are in bounds (pairs of distinct active slots), and each k reads and
        // writes only its own two cells, so the two halves of an update never touch one cell.
        let (da, db) = unsafe { (f64::from(cells.get(ka)), f64::from(cells.get(kb))) };
        let nv = lw.apply(f64::from(sizes[k]), da, db);
        #[expect(clippy::cast_possible_truncation, reason = "a merged distance rounded to the matrix's f32")]
        let nv = nv as f32;
        // SAFETY: as above.
        unsafe { cells.set(ka, nv) };
    }
}

/// How many entries ahead the chain's scans ask for memory.
const PREFETCH: usize = 32;

/// Hints that `data[i]` will be read soon.
#[inline(always)]
fn prefetch(data: &[f32], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(p) = data.get(i) {
        // SAFETY: a prefetch never faults and has no architectural effect; the address is valid.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(std::ptr::from_ref(p).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, i);
}

/// Sorts slot merges by height (stable) and renames them into SciPy's node ids.
fn to_scipy(n: usize, sizes: &[u32], raw: &[(usize, usize, f64)]) -> Vec<Merge> {
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by(|&x, &y| raw[x].2.total_cmp(&raw[y].2));
    let mut uf = UnionFind::new(n);
    let mut node = (0..n).collect::<Vec<usize>>(); // representative -> current node id
    let mut node_size: Vec<u32> = sizes.to_vec();
    let mut merges = Vec::with_capacity(raw.len());
    for (i, &o) in order.iter().enumerate() {
        let (a, b, h) = raw[o];
        let (ra, rb) = (uf.find(a), uf.find(b));
        let (na, nb) = (node[ra], node[rb]);
        let s = node_size[ra] + node_size[rb];
        let r = uf.union(ra, rb).unwrap_or(ra);
        node[r] = n + i;
        node_size[r] = s;
        #[expect(clippy::cast_possible_truncation, reason = "a row or cluster index: rows are at most Matrix::MAX_ROWS (i32::MAX)")]
        merges.push(Merge { left: na.min(nb) as u32, right: na.max(nb) as u32, height: h, size: s });
    }
    merges
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Matrix;

    fn line(xs: &[f32]) -> Embeddings {
        Embeddings::new(Matrix::new(xs.to_vec(), xs.len(), 1).unwrap())
    }

    #[test]
    fn merges_on_a_line_follow_each_linkage() {
        // Points 0, 1, 3, 7: single merges at 1, 2, 4; complete at 1, 3(?) ...
        let emb = line(&[0.0, 1.0, 3.0, 7.0]);
        let single = dendrogram(&emb, TreeSpec::new(Linkage::Single, Metric::Euclidean).unwrap(), &Control::default()).unwrap();
        let h: Vec<f64> = single.merges.iter().map(|m| m.height).collect();
        assert_eq!(h, vec![1.0, 2.0, 4.0]);
        assert_eq!(single.merges[0], Merge { left: 0, right: 1, height: 1.0, size: 2 });
        assert_eq!(single.merges[1], Merge { left: 2, right: 4, height: 2.0, size: 3 });
        let complete = dendrogram(&emb, TreeSpec::new(Linkage::Complete, Metric::Euclidean).unwrap(), &Control::default()).unwrap();
        let h: Vec<f64> = complete.merges.iter().map(|m| m.height).collect();
        assert_eq!(h, vec![1.0, 3.0, 7.0]);
        let average = dendrogram(&emb, TreeSpec::new(Linkage::Average, Metric::Euclidean).unwrap(), &Control::default()).unwrap();
        let h: Vec<f64> = average.merges.iter().map(|m| m.height).collect();
        assert!((h[1] - 2.5).abs() < 1e-6 && (h[2] - (7.0 + 6.0 + 4.0) / 3.0).abs() < 1e-6);
        // Ward of {0,1} and {3}: sqrt(2·2·1/3)·|0.5 − 3|.
        let ward = dendrogram(&emb, TreeSpec::new(Linkage::Ward, Metric::Euclidean).unwrap(), &Control::default()).unwrap();
        assert!((ward.merges[1].height - (4.0f64 / 3.0).sqrt() * 2.5).abs() < 1e-5);
        assert_eq!(single.cut(2), vec![0, 0, 0, 1]);
        assert_eq!(single.cut(4), vec![0, 1, 2, 3]);
        assert_eq!(single.cut(1), vec![0, 0, 0, 0]);
    }

    #[test]
    fn micro_clusters_keep_separated_groups_apart() {
        let mut rng = crate::engine::rng::Rng::new(4);
        let (n, d) = (3000, 5);
        #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
        let data: Vec<f32> = (0..n * d).map(|i| ((i / d) % 4) as f32 * 20.0 + rng.next_f64() as f32).collect();
        let emb = Embeddings::new(Matrix::new(data, n, d).unwrap());
        for linkage in Linkage::ALL {
            let t = micro_dendrogram(&emb, TreeSpec::new(linkage, Metric::Euclidean).unwrap(), 64, 1, &Control::default()).unwrap();
            assert_eq!(t.points(), n);
            assert!(t.n <= 64 && t.merges.len() == t.n - 1);
            let cut = t.cut(4);
            assert!((0..n).all(|i| cut[i] == cut[i % 4]), "{linkage}");
            assert_eq!(cut[..4], [0, 1, 2, 3]);
        }
    }

    #[test]
    fn the_chain_in_two_halves_builds_the_same_tree() {
        let mut rng = crate::engine::rng::Rng::new(8);
        let (n, d) = (1500, 6);
        #[expect(clippy::cast_possible_truncation, reason = "test data: small generated values and indices")]
        let data: Vec<f32> = (0..n * d).map(|_| rng.next_f64() as f32).collect();
        let emb = Embeddings::new(Matrix::new(data, n, d).unwrap());
        for linkage in Linkage::ALL {
            let c = || chain_matrix(&emb, linkage, Metric::Euclidean, &Control::default()).unwrap();
            let one = nn_chain_split(c(), &vec![1; n], linkage, Metric::Euclidean, usize::MAX, &Control::default()).unwrap();
            let two = nn_chain_split(c(), &vec![1; n], linkage, Metric::Euclidean, 64, &Control::default()).unwrap();
            assert_eq!(one, two, "{linkage}");
        }
    }

    #[test]
    fn ward_refuses_cosine() {
        let p = HierarchicalParams { linkage: Linkage::Ward, metric: Metric::Cosine, k: 2 };
        assert_eq!(p.check(10), Err(HierarchicalParamError::WardNeedsEuclidean));
        assert!(HierarchicalParams { k: 11, ..HierarchicalParams::default() }.check(10).is_err());
    }
}
