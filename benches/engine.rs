//! Engine benchmarks at 10k and 100k rows × 384 dimensions, fixed seeds, with the f32 GEMM roof
//! of this machine measured in the same run (a 4096×384 · 384×4096 product).
//!
//! `cargo bench --bench engine`; medians are what to quote.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use embedmap::engine::dbscan::{DbscanIndex, dbscan};
use embedmap::engine::hdbscan::{HdbscanTree, Selection};
use embedmap::engine::hierarchical::{Linkage, dendrogram};
use embedmap::engine::kernels::{dot_nt, dot_nt_direct, dot_nt_gemm};
use embedmap::engine::kmeans::{KMeansParams, kmeans};
use embedmap::engine::neighbors::{KnnGraph, RadiusGraph};
use embedmap::engine::project::pca::pca_2d;
use embedmap::engine::project::umap::{UmapParams, prepare, umap};
use embedmap::engine::rng::Rng;
use embedmap::engine::silhouette::{SilhouetteMode, silhouette};
use embedmap::engine::{Control, Embeddings, Matrix, Metric};
use rayon::prelude::*;

const D: usize = 384;

/// n points around 20 random centres, with unit-variance noise.
#[expect(clippy::cast_possible_truncation, reason = "bench data: small generated values")]
fn mixture(n: usize, seed: u64) -> Embeddings {
    let mut rng = Rng::new(seed);
    let mut gauss = move || {
        let (u, v) = (rng.next_f64().max(1e-300), rng.next_f64());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    };
    let centres: Vec<f32> = (0..20 * D).map(|_| 3.0 * gauss()).collect();
    let mut data = Vec::with_capacity(n * D);
    for i in 0..n {
        let c = i % 20;
        for j in 0..D {
            data.push(centres[c * D + j] + gauss());
        }
    }
    Embeddings::new(Matrix::new(data, n, D).unwrap())
}

/// n points drawn like scikit-learn's `make_blobs(centers=20, cluster_std=7.0)` (centres uniform
/// in [−10, 10]^d): heavily overlapping clusters, as on the comparison script's data.
#[expect(clippy::cast_possible_truncation, reason = "bench data: small generated values")]
fn blobs(n: usize, seed: u64) -> Embeddings {
    let mut rng = Rng::new(seed);
    let centres: Vec<f32> = (0..20 * D).map(|_| (rng.next_f64() * 20.0 - 10.0) as f32).collect();
    let mut gauss = move || {
        let (u, v) = (rng.next_f64().max(1e-300), rng.next_f64());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    };
    let mut data = Vec::with_capacity(n * D);
    for i in 0..n {
        let c = i % 20;
        for j in 0..D {
            data.push(centres[c * D + j] + 7.0 * gauss());
        }
    }
    Embeddings::new(Matrix::new(data, n, D).unwrap())
}

fn gemm_roof(c: &mut Criterion) {
    let (m, k) = (4096, 384);
    let a: Vec<f32> = (0..m * k).map(|i| (i % 97) as f32 * 0.01).collect();
    let mut out = vec![0.0f32; m * m];
    let mut g = c.benchmark_group("gemm_roof");
    g.sample_size(10);
    g.throughput(Throughput::Elements((2 * m * m * k) as u64));
    g.bench_function("sgemm_4096x384x4096_2threads", |b| {
        b.iter(|| {
            out.par_chunks_mut(256 * m).enumerate().for_each(|(blk, o)| {
                let rows = o.len() / m;
                dot_nt(&a[blk * 256 * k..(blk * 256 + rows) * k], rows, &a, m, k, o, m);
            });
            black_box(&out);
        });
    });
    g.finish();
}

/// The assignment kernel on one block of 256 rows against k centroids: GEMM versus the direct
/// kernel, which is why `dot_nt` switches at `DIRECT_MAX_K`.
fn bench_dot_nt(c: &mut Criterion) {
    let m = 256;
    let a: Vec<f32> = (0..m * D).map(|i| (i % 89) as f32 * 0.01).collect();
    let mut g = c.benchmark_group("dot_nt_256x384");
    for k in [8, 12, 20, 32, 64] {
        let b: Vec<f32> = (0..k * D).map(|i| (i % 83) as f32 * 0.01).collect();
        let mut out = vec![0.0f32; m * k];
        g.throughput(Throughput::Elements((2 * m * k * D) as u64));
        g.bench_with_input(BenchmarkId::new("gemm", k), &k, |bch, _| bch.iter(|| dot_nt_gemm(&a, m, &b, k, D, black_box(&mut out), k)));
        g.bench_with_input(BenchmarkId::new("direct", k), &k, |bch, _| bch.iter(|| dot_nt_direct(&a, m, &b, k, D, black_box(&mut out), k)));
    }
    g.finish();
}

fn bench_kmeans(c: &mut Criterion) {
    let mut g = c.benchmark_group("kmeans_k20");
    g.sample_size(10);
    for n in [10_000, 100_000] {
        let emb = mixture(n, 1);
        for metric in [Metric::Euclidean, Metric::Cosine] {
            let _ = emb.points(metric);
            let p = KMeansParams { k: 20, metric, n_init: 1, seed: 0, ..KMeansParams::default() };
            let cfg = p.check(n).unwrap();
            g.bench_with_input(BenchmarkId::new(metric.name(), n), &n, |b, _| {
                b.iter(|| black_box(kmeans(&emb, &cfg, &Control::default()).unwrap()))
            });
        }
    }
    g.finish();
}

/// Mini-batch K-means, the default above 500,000 rows: 1M × 384 overlapping blobs, k = 12,
/// cosine, three runs side by side on the cores.
fn bench_minibatch(c: &mut Criterion) {
    use embedmap::engine::kmeans::minibatch::{MiniBatchParams, minibatch_kmeans};
    let mut g = c.benchmark_group("minibatch_k12");
    g.sample_size(10);
    let n = 1_000_000;
    let emb = blobs(n, 3);
    let _ = emb.points(Metric::Cosine);
    let cfg = MiniBatchParams { k: 12, metric: Metric::Cosine, ..MiniBatchParams::default() }.check(n).unwrap();
    g.bench_with_input(BenchmarkId::new("cosine", n), &n, |b, _| {
        b.iter(|| black_box(minibatch_kmeans(&emb, &cfg, &Control::default()).unwrap()))
    });
    g.finish();
}

/// A preview's pass over every row: 1M × 384, k = 12, cosine.
fn bench_preview_assign(c: &mut Criterion) {
    use embedmap::engine::kmeans::preview::nearest_centres;
    let mut g = c.benchmark_group("preview_assign_k12");
    g.sample_size(10);
    let n = 1_000_000;
    let emb = blobs(n, 3);
    let points = emb.points(Metric::Cosine);
    let centres: Vec<f32> = points.as_slice()[..12 * D].to_vec();
    g.bench_function("1000000", |b| b.iter(|| black_box(nearest_centres(points, &centres, true))));
    g.finish();
}

/// A saved model's assignment (`embedmap assign`, K-means' final labels): 1M × 384 rows to their
/// exact nearest of 100 centroids (`benches/compare_assign.py` sets it beside FAISS and
/// scikit-learn on the same data).
fn bench_assign(c: &mut Criterion) {
    use embedmap::engine::assign::nearest;
    let mut g = c.benchmark_group("assign_k100");
    g.sample_size(10);
    let n = 1_000_000;
    let emb = blobs(n, 3);
    let points = emb.raw();
    let centres = embedmap::engine::Matrix::new(points.as_slice()[..100 * D].to_vec(), 100, D).unwrap();
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("1000000", |b| b.iter(|| black_box(nearest(points, &centres, Metric::Euclidean))));
    g.finish();
}

#[expect(clippy::cast_possible_truncation, clippy::cast_possible_wrap, reason = "labels below 20")]
fn bench_silhouette(c: &mut Criterion) {
    let mut g = c.benchmark_group("silhouette_k20");
    g.sample_size(10);
    for n in [10_000, 100_000] {
        let emb = mixture(n, 2);
        let labels: Vec<i32> = (0..n).map(|i| (i % 20) as i32).collect();
        let _ = emb.points(Metric::Cosine);
        g.bench_with_input(BenchmarkId::new("cosine_exact", n), &n, |b, _| {
            b.iter(|| black_box(silhouette(&emb, &labels, Metric::Cosine, SilhouetteMode::Auto, 0, &Control::default()).unwrap()))
        });
        let mode = if n <= 10_000 { SilhouetteMode::Exact } else { SilhouetteMode::Auto };
        let name = if n <= 10_000 { "euclidean_exact" } else { "euclidean_sampled" };
        g.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
            b.iter(|| black_box(silhouette(&emb, &labels, Metric::Euclidean, mode, 0, &Control::default()).unwrap()))
        });
    }
    g.finish();
}

fn bench_pca(c: &mut Criterion) {
    let mut g = c.benchmark_group("pca_2d");
    g.sample_size(10);
    for n in [10_000, 100_000] {
        let emb = mixture(n, 3);
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(pca_2d(emb.raw(), &Control::default()).unwrap()))
        });
    }
    g.finish();
}

/// The interactive steps once a graph or tree exists: a new eps for DBSCAN from its spanning-forest
/// index (goal ≤ 20 ms; `dbscan_from_graph` is the same from the graph alone), a new
/// k for a dendrogram (≤ 10 ms), a new min_cluster_size for HDBSCAN (≤ 50 ms), on 20k rows of
/// `blobs`; and the one-off structures they come from (`neighbourhood graph` with the window's
/// 25% headroom, `hdbscan tree`).
fn bench_relabel(c: &mut Criterion) {
    let n = 20_000;
    let emb = blobs(n, 4);
    let ctl = Control::default();
    // A radius around the median distance to the 5th neighbour.
    let knn = KnnGraph::build(&emb, Metric::Euclidean, 5, &ctl).unwrap();
    let curve = knn.k_distance(5).unwrap();
    let eps = curve[curve.len() / 2];
    let mut g = c.benchmark_group("relabel_20k");
    g.sample_size(10);
    g.bench_function("neighbourhood_graph", |b| {
        b.iter(|| black_box(RadiusGraph::build(&emb, Metric::Euclidean, eps * 1.25, usize::MAX, &ctl).unwrap()))
    });
    let graph = RadiusGraph::build(&emb, Metric::Euclidean, eps * 1.25, usize::MAX, &ctl).unwrap();
    g.bench_function("dbscan_from_graph", |b| b.iter(|| black_box(dbscan(&graph, eps * 1.1, 5, &ctl).unwrap())));
    let graph = std::sync::Arc::new(graph);
    g.bench_function("dbscan_index_min_samples_5", |b| {
        b.iter(|| black_box(DbscanIndex::build(std::sync::Arc::clone(&graph), 5, &ctl).unwrap()))
    });
    let index = DbscanIndex::build(std::sync::Arc::clone(&graph), 5, &ctl).unwrap();
    g.bench_function("dbscan_new_eps", |b| b.iter(|| black_box(index.labels(eps * 1.1))));
    let rank = embedmap::engine::hdbscan::CoreRank::new(50, emb.raw().n()).unwrap();
    g.bench_function("hdbscan_tree_min_samples_50", |b| {
        b.iter(|| black_box(HdbscanTree::build(&emb, Metric::Euclidean, rank, &ctl).unwrap()))
    });
    let tree = HdbscanTree::build(&emb, Metric::Euclidean, rank, &ctl).unwrap();
    g.bench_function("hdbscan_new_min_cluster_size", |b| b.iter(|| black_box(tree.select(40, Selection::Eom, 0.0))));
    let dendro =
        dendrogram(&emb, embedmap::engine::hierarchical::TreeSpec::new(Linkage::Average, Metric::Euclidean).unwrap(), &ctl).unwrap();
    g.bench_function("dendrogram_new_k", |b| b.iter(|| black_box(dendro.cut(25))));
    g.finish();
}

/// UMAP on 10k rows of `mixture`, cosine, 500 epochs: the neighbour graph (exact, GEMM tiles),
/// the fuzzy set with the spectral start (`prepare`), and a layout from a kept graph and start
/// (`new_min_dist`: what a min_dist or spread slider costs; the optimisation alone).
fn bench_umap(c: &mut Criterion) {
    let mut g = c.benchmark_group("umap_10k");
    g.sample_size(10);
    let n = 10_000;
    let raw = mixture(n, 5).raw().clone();
    let ctl = Control::default();
    g.bench_function("knn_graph_k15", |b| {
        b.iter_batched(
            || Embeddings::new(raw.clone()),
            |emb| black_box(emb.knn_graph(Metric::Cosine, 15, &ctl).unwrap()),
            criterion::BatchSize::LargeInput,
        );
    });
    let emb = Embeddings::new(raw);
    let checked = UmapParams::default().check(n).unwrap();
    g.bench_function("prepare_fuzzy_and_spectral", |b| b.iter(|| black_box(prepare(&emb, Metric::Cosine, &checked, &ctl).unwrap())));
    let mut min_dist = 0.1;
    g.bench_function("new_min_dist", |b| {
        b.iter(|| {
            min_dist = if min_dist > 0.3 { 0.1 } else { min_dist + 0.05 };
            black_box(umap(&emb, Metric::Cosine, &UmapParams { min_dist, ..UmapParams::default() }, &ctl, None).unwrap())
        });
    });
    g.finish();
}

/// One t-SNE repulsion step on 20k map points (40 Gaussian clumps over a square of side `span`, as
/// a layout looks early, span 30, and late, span 120): the interpolated sums by FFT, which are
/// most of a late iteration's time; and the exact sums at 2,000 points, the size they stop at.
fn bench_tsne(c: &mut Criterion) {
    use embedmap::engine::project::tsne::repulsion::{Repulsion, exact};
    use embedmap::engine::rng::Rng;
    let mut g = c.benchmark_group("tsne_repulsion");
    g.sample_size(20);
    let map = |n: usize, span: f64| -> Vec<[f64; 2]> {
        let mut rng = Rng::new(9);
        let centres: Vec<[f64; 2]> = (0..40).map(|_| [(rng.next_f64() - 0.5) * span * 0.8, (rng.next_f64() - 0.5) * span * 0.8]).collect();
        (0..n)
            .map(|i| {
                let c = centres[i % 40];
                [c[0] + rng.next_gaussian() * span / 40.0, c[1] + rng.next_gaussian() * span / 40.0]
            })
            .collect()
    };
    for span in [30.0, 120.0] {
        let y = map(20_000, span);
        let mut grad = vec![[0.0; 2]; y.len()];
        let mut rep = Repulsion::default();
        g.bench_with_input(BenchmarkId::new("interpolated_20k_span", span), &y, |b, y| {
            b.iter(|| black_box(rep.interpolated(y, &mut grad)))
        });
    }
    let y = map(2_000, 30.0);
    let mut grad = vec![[0.0; 2]; y.len()];
    g.bench_function("exact_2000", |b| b.iter(|| black_box(exact(&y, &mut grad))));
    g.finish();
}

criterion_group!(
    benches,
    gemm_roof,
    bench_dot_nt,
    bench_kmeans,
    bench_minibatch,
    bench_preview_assign,
    bench_assign,
    bench_silhouette,
    bench_pca,
    bench_relabel,
    bench_umap,
    bench_tsne
);
criterion_main!(benches);
