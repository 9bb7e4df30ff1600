//! Agglomerative clustering: the whole dendrogram once, then any number of clusters is a cut.
//!
//! The tree is built by the nearest-neighbour chain algorithm over the condensed f32 distance
//! matrix, with Lance-Williams updates in f64, for the reducible linkages ward (euclidean only),
//! average, complete and single. The merge heights are those of SciPy's `linkage` (and so of
//! scikit-learn's `AgglomerativeClustering`): ward's is `sqrt(2·|u||v|/(|u|+|v|))·‖c_u − c_v‖`.

use super::neighbors::{Condensed, index};
use super::unionfind::UnionFind;
use super::{Cancelled, Control, Embeddings, Metric};

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

impl HierarchicalParams {
    /// Checks the settings against `n` rows.
    pub fn check(&self, n: usize) -> Result<(), HierarchicalParamError> {
        if self.linkage == Linkage::Ward && self.metric != Metric::Euclidean {
            return Err(HierarchicalParamError::WardNeedsEuclidean);
        }
        if self.k == 0 || self.k > n {
            return Err(HierarchicalParamError::K { k: self.k, n });
        }
        Ok(())
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
    /// Points (leaves).
    pub n: usize,
    /// The `n − 1` merges, lowest first.
    pub merges: Vec<Merge>,
    /// Linkage used.
    pub linkage: Linkage,
    /// Metric used.
    pub metric: Metric,
}

impl Dendrogram {
    /// The labels of the cut into `k` clusters (1 ≤ k ≤ n), numbered by first row.
    #[must_use]
    pub fn cut(&self, k: usize) -> Vec<i32> {
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

/// Builds the dendrogram of `emb` under `linkage` and `metric`.
///
/// # Panics
/// When `linkage` is ward and `metric` cosine (checked by [`HierarchicalParams::check`]).
pub fn dendrogram(emb: &Embeddings, linkage: Linkage, metric: Metric, ctl: &Control) -> Result<Dendrogram, Cancelled> {
    assert!(linkage != Linkage::Ward || metric == Metric::Euclidean, "ward needs euclidean");
    let dist = Condensed::build(emb, metric, ctl)?;
    let sizes = vec![1u32; dist.n];
    nn_chain(dist, &sizes, linkage, metric, ctl)
}

/// The nearest-neighbour chain over `dist`, whose entries are clusters of `sizes` points
/// (all 1 for raw points; larger for micro-clusters, with ward's distances already weighted).
pub fn nn_chain(mut dist: Condensed, sizes: &[u32], linkage: Linkage, metric: Metric, ctl: &Control) -> Result<Dendrogram, Cancelled> {
    let n = dist.n;
    if n < 2 {
        return Ok(Dendrogram { n, merges: Vec::new(), linkage, metric });
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
    while active.len() > 1 {
        if raw.len().is_multiple_of(256) {
            ctl.check()?;
            #[allow(clippy::cast_precision_loss)]
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
            for &j in &active {
                if j == a {
                    continue;
                }
                let v = data[at(a, j)];
                if v < bd || (best == usize::MAX) {
                    bd = v;
                    best = j;
                }
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
        let d2 = d_ab * d_ab;
        for &k in &active {
            if k == lo || k == hi {
                continue;
            }
            let (ka, kb) = (at(k, lo), at(k, hi));
            let (da, db) = (f64::from(data[ka]), f64::from(data[kb]));
            let nv = match linkage {
                Linkage::Single => da.min(db),
                Linkage::Complete => da.max(db),
                Linkage::Average => (sa * da + sb * db) / (sa + sb),
                Linkage::Ward => {
                    let sk = f64::from(size[k]);
                    (((sa + sk) * da * da + (sb + sk) * db * db - sk * d2) / (sa + sb + sk)).max(0.0).sqrt()
                }
            };
            #[allow(clippy::cast_possible_truncation)]
            {
                data[ka] = nv as f32;
            }
        }
        size[lo] += size[hi];
        let p = pos[hi];
        active.remove(p);
        for &j in &active[p..] {
            pos[j] -= 1;
        }
        pos[hi] = usize::MAX;
        raw.push((a, b, d_ab));
    }
    Ok(Dendrogram { n, merges: to_scipy(n, sizes, &raw), linkage, metric })
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
        #[allow(clippy::cast_possible_truncation)]
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
        let single = dendrogram(&emb, Linkage::Single, Metric::Euclidean, &Control::default()).unwrap();
        let h: Vec<f64> = single.merges.iter().map(|m| m.height).collect();
        assert_eq!(h, vec![1.0, 2.0, 4.0]);
        assert_eq!(single.merges[0], Merge { left: 0, right: 1, height: 1.0, size: 2 });
        assert_eq!(single.merges[1], Merge { left: 2, right: 4, height: 2.0, size: 3 });
        let complete = dendrogram(&emb, Linkage::Complete, Metric::Euclidean, &Control::default()).unwrap();
        let h: Vec<f64> = complete.merges.iter().map(|m| m.height).collect();
        assert_eq!(h, vec![1.0, 3.0, 7.0]);
        let average = dendrogram(&emb, Linkage::Average, Metric::Euclidean, &Control::default()).unwrap();
        let h: Vec<f64> = average.merges.iter().map(|m| m.height).collect();
        assert!((h[1] - 2.5).abs() < 1e-6 && (h[2] - (7.0 + 6.0 + 4.0) / 3.0).abs() < 1e-6);
        // Ward of {0,1} and {3}: sqrt(2·2·1/3)·|0.5 − 3|.
        let ward = dendrogram(&emb, Linkage::Ward, Metric::Euclidean, &Control::default()).unwrap();
        assert!((ward.merges[1].height - (4.0f64 / 3.0).sqrt() * 2.5).abs() < 1e-5);
        assert_eq!(single.cut(2), vec![0, 0, 0, 1]);
        assert_eq!(single.cut(4), vec![0, 1, 2, 3]);
        assert_eq!(single.cut(1), vec![0, 0, 0, 0]);
    }

    #[test]
    fn ward_refuses_cosine() {
        let p = HierarchicalParams { linkage: Linkage::Ward, metric: Metric::Cosine, k: 2 };
        assert_eq!(p.check(10), Err(HierarchicalParamError::WardNeedsEuclidean));
        assert!(HierarchicalParams { k: 11, ..HierarchicalParams::default() }.check(10).is_err());
    }
}
