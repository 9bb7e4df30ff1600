//! What to do with points a density method calls noise.

use rayon::prelude::*;

use crate::engine::kernels::{ROW_BLOCK, dot_nt, row_norms_sq};
use crate::engine::{Cancelled, Control, Embeddings, Metric};

/// Noise handling of a clustering result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoisePolicy {
    /// Noise stays −1.
    #[default]
    Keep,
    /// Each noise point joins the cluster of its nearest clustered point (full-dimensional, in
    /// the clustering's metric); the original verdict is kept beside the labels.
    Nearest,
}

impl std::str::FromStr for NoisePolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "keep" => Ok(Self::Keep),
            "nearest" => Ok(Self::Nearest),
            other => Err(format!("unknown noise handling '{other}': use keep or nearest")),
        }
    }
}

/// Labels with every noise point (negative label) given the label of its nearest non-noise
/// point. Unchanged when there is no noise or nothing but noise.
pub fn assign_to_nearest(emb: &Embeddings, metric: Metric, labels: &[i32], ctl: &Control) -> Result<Vec<i32>, Cancelled> {
    let points = emb.points(metric);
    let d = points.d();
    let noise: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] < 0).collect();
    let kept: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] >= 0).collect();
    let mut out = labels.to_vec();
    if noise.is_empty() || kept.is_empty() {
        return Ok(out);
    }
    let q = points.select_rows(&noise);
    let r = points.select_rows(&kept);
    let (q, r) = (q.as_slice(), r.as_slice());
    let rn = row_norms_sq(r, d);
    const COLS: usize = 2048;
    let nearest: Vec<usize> = q
        .par_chunks(ROW_BLOCK * d.max(1))
        .map(|block| {
            ctl.check()?;
            let m = block.len() / d.max(1);
            let mut best = vec![(f64::INFINITY, 0usize); m];
            let mut buf = vec![0.0f32; ROW_BLOCK * COLS];
            for c0 in (0..kept.len()).step_by(COLS) {
                let w = COLS.min(kept.len() - c0);
                dot_nt(block, m, &r[c0 * d..(c0 + w) * d], w, d, &mut buf, w);
                for (i, b) in best.iter_mut().enumerate() {
                    for j in 0..w {
                        let dot = f64::from(buf[i * w + j]);
                        // Ranking only: ‖r‖² − 2q·r orders euclidean distances, −q·r cosine ones.
                        let v = if metric == Metric::Cosine { -dot } else { rn[c0 + j] - 2.0 * dot };
                        if v < b.0 {
                            *b = (v, c0 + j);
                        }
                    }
                }
            }
            Ok(best.into_iter().map(|(_, j)| j).collect::<Vec<_>>())
        })
        .collect::<Result<Vec<_>, Cancelled>>()?
        .into_iter()
        .flatten()
        .collect();
    for (&i, &j) in noise.iter().zip(&nearest) {
        out[i] = labels[kept[j]];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Matrix;

    #[test]
    fn noise_joins_the_nearest_cluster() {
        let pts = vec![0.0, 0.0, 0.1, 0.0, 5.0, 0.0, 5.1, 0.0, 0.4, 0.0, 4.0, 0.0];
        let emb = Embeddings::new(Matrix::new(pts, 6, 2).unwrap());
        let out = assign_to_nearest(&emb, Metric::Euclidean, &[0, 0, 1, 1, -1, -1], &Control::default()).unwrap();
        assert_eq!(out, vec![0, 0, 1, 1, 0, 1]);
        let all_noise = assign_to_nearest(&emb, Metric::Euclidean, &[-1; 6], &Control::default()).unwrap();
        assert_eq!(all_noise, vec![-1; 6]);
    }
}
