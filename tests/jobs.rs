//! The worker's jobs: a layout running in the background yields to a clustering and changes
//! neither its result nor the order in which results arrive.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use embedmap::engine::kmeans::KMeansParams;
use embedmap::engine::project::umap::UmapParams;
use embedmap::engine::project::{Projected, ProjectionParams};
use embedmap::engine::{Embeddings, Metric};
use embedmap::session::{Algorithm, ClusterOutcome, ClusterRequest};
use embedmap::worker::{Event, Worker};

/// `k` blobs in `d` dimensions, `n` rows, from a fixed generator.
fn blobs(n: usize, d: usize, k: usize) -> Arc<Embeddings> {
    let mut next = common::uniform(0x2545_f491_4f6c_dd1du64);
    let rows: Vec<Vec<f32>> = (0..n).map(|i| (0..d).map(|j| if j % k == i % k { 2.0 } else { 0.0 } + next()).collect()).collect();
    Arc::new(common::matrix(&rows))
}

/// A clustering that takes a few tenths of a second.
fn request() -> ClusterRequest {
    ClusterRequest {
        algorithm: Algorithm::Kmeans(KMeansParams { k: 30, metric: Metric::Euclidean, seed: 3, n_init: 5, ..Default::default() }),
        ..ClusterRequest::default()
    }
}

fn umap() -> ProjectionParams {
    ProjectionParams::Umap { metric: Metric::Euclidean, params: UmapParams { seed: 1, ..UmapParams::default() } }
}

#[test]
fn a_layout_running_during_a_clustering_pauses_and_changes_neither_result_nor_their_order() {
    let (big, small) = (blobs(20_000, 64, 40), blobs(3000, 24, 6));
    let w = Worker::spawn(Arc::new(|_| {}));
    let deadline = Instant::now() + Duration::from_secs(180);
    let next = || {
        assert!(Instant::now() < deadline, "the jobs did not finish");
        w.wait(Duration::from_millis(100))
    };
    // Each alone.
    let c0 = w.cluster(Arc::clone(&big), request());
    let alone: Arc<ClusterOutcome> = loop {
        match next() {
            Some(Event::Clustered { generation, outcome }) if generation == c0 => break outcome,
            Some(Event::ClusterFailed { error, .. }) => panic!("{error}"),
            _ => {}
        }
    };
    let p0 = w.project(Arc::clone(&small), umap(), Metric::Euclidean);
    let layout_alone: Arc<Projected> = loop {
        match next() {
            Some(Event::Projected { generation, projected, .. }) if generation == p0 => break projected,
            Some(Event::ProjectionFailed { error, .. }) => panic!("{error}"),
            _ => {}
        }
    };

    // The layout again, on fresh embeddings (nothing kept); once it is optimising, the clustering.
    let fresh = Arc::new(Embeddings::new(small.raw().clone()));
    let p = w.project(Arc::clone(&fresh), umap(), Metric::Euclidean);
    loop {
        match next() {
            Some(Event::ProjectionStep { generation, .. }) if generation == p => break,
            Some(Event::Projected { .. }) => panic!("the layout ended before it showed a step"),
            _ => {}
        }
    }
    let c = w.cluster(Arc::clone(&big), request());
    let started = Instant::now();
    let mut steps_meanwhile = 0;
    let mut order = Vec::new();
    let mut both = None;
    let mut layout = None;
    while both.is_none() || layout.is_none() {
        match next() {
            Some(Event::ProjectionStep { generation, .. }) if generation == p && both.is_none() => steps_meanwhile += 1,
            Some(Event::Clustered { generation, outcome }) if generation == c => {
                order.push("clustered");
                both = Some((outcome, started.elapsed()));
            }
            Some(Event::Projected { generation, projected, .. }) if generation == p => {
                order.push("projected");
                layout = Some(projected);
            }
            Some(Event::ClusterFailed { error, .. } | Event::ProjectionFailed { error, .. }) => panic!("{error}"),
            _ => {}
        }
    }
    let ((both, took), layout) = (both.unwrap(), layout.unwrap());
    assert_eq!(order, ["clustered", "projected"]);
    // A step may have been on its way; a layout that kept running would show one every 0.1 s.
    assert!(steps_meanwhile <= 1, "{steps_meanwhile} layout steps during a clustering of {took:?}");
    assert_eq!(both.labels, alone.labels, "the clustering's labels changed");
    assert_eq!(both.inertia, alone.inertia);
    assert_eq!(both.n_iter, alone.n_iter);
    assert_eq!(layout.coords, layout_alone.coords, "pausing changed the layout");
}
