"""The estimators against scikit-learn's on the same data."""

import threading
import time

import numpy as np
import pytest
import sklearn.cluster as skc
from sklearn.metrics import adjusted_rand_score as ari

import embedmap


def unit(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_kmeans_matches_sklearn_labels_and_objective(overlapping):
    X, _ = overlapping
    ours = embedmap.KMeans(8, n_init=3, random_state=0).fit(X)
    ref = skc.KMeans(8, n_init=3, random_state=0).fit(X.astype(np.float64))
    assert ari(ours.labels_, ref.labels_) > 0.95
    # Equal or lower objective, from the labels, in float64.
    def inertia(labels):
        Xd = X.astype(np.float64)
        return sum(((Xd[labels == c] - Xd[labels == c].mean(0)) ** 2).sum() for c in np.unique(labels))
    assert inertia(ours.labels_) <= inertia(ref.labels_) * (1 + 1e-4)
    assert ours.inertia_ == pytest.approx(inertia(ours.labels_), rel=1e-4)
    assert ours.cluster_centers_.shape == (8, 32)
    assert ours.n_iter_ >= 1


def test_kmeans_predict_is_nearest_centroid_and_labels_its_own_rows(blobs):
    X, y = blobs
    km = embedmap.KMeans(6).fit(X)
    assert ari(km.labels_, y) == pytest.approx(1.0)
    assert np.array_equal(km.predict(X), km.labels_)
    d = km.transform(X[:50])
    assert np.array_equal(d.argmin(1), km.labels_[:50])
    assert np.array_equal(km.fit_predict(X), km.labels_)


def test_cosine_kmeans_is_spherical(overlapping):
    X, _ = overlapping
    ours = embedmap.KMeans(8, metric="cosine").fit(X)
    norms = np.linalg.norm(ours.cluster_centers_, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)
    # The nearest unit centroid by cosine is the label of every row.
    sims = unit(X.astype(np.float64)) @ ours.cluster_centers_.astype(np.float64).T
    assert np.array_equal(sims.argmax(1), ours.labels_)


def test_minibatch_kmeans_finds_the_blobs(blobs):
    X, y = blobs
    mb = embedmap.MiniBatchKMeans(6, batch_size=256).fit(X)
    assert ari(mb.labels_, y) > 0.99
    assert np.array_equal(mb.predict(X), mb.labels_)


@pytest.mark.parametrize("metric,eps", [("euclidean", 7.5), ("cosine", 0.04)])
def test_dbscan_equals_sklearn(blobs, metric, eps):
    X, _ = blobs
    ours = embedmap.DBSCAN(eps, min_samples=5, metric=metric).fit(X)
    ref = skc.DBSCAN(eps=eps, min_samples=5, metric=metric).fit(X.astype(np.float64))
    # Not a trivial case: several clusters and some noise.
    assert ref.labels_.max() + 1 >= 5 and 0 < (ref.labels_ < 0).sum() < len(X) // 4
    assert ari(ours.labels_, ref.labels_) == pytest.approx(1.0)
    assert np.array_equal(ours.labels_ < 0, ref.labels_ < 0)
    assert np.array_equal(ours.core_sample_indices_, ref.core_sample_indices_)
    # predict: core rows keep their cluster; a far-away row is noise.
    core = ours.core_sample_indices_
    assert np.array_equal(ours.predict(X[core]), ours.labels_[core])
    assert ours.predict(np.full((1, X.shape[1]), 1e4, dtype=np.float32))[0] == -1


def test_hdbscan_matches_sklearn(overlapping):
    X, _ = overlapping
    ours = embedmap.HDBSCAN(min_cluster_size=15).fit(X)
    ref = skc.HDBSCAN(min_cluster_size=15).fit(X.astype(np.float64))
    assert ari(ours.labels_, ref.labels_) > 0.99
    assert ours.probabilities_.shape == (X.shape[0],)
    assert np.allclose(ours.probabilities_, ref.probabilities_, atol=1e-4)


@pytest.mark.parametrize("linkage,metric", [("ward", "euclidean"), ("average", "cosine"), ("complete", "euclidean"), ("single", "euclidean")])
def test_agglomerative_matches_sklearn(blobs, linkage, metric):
    X, _ = blobs
    X = X[:600]
    ours = embedmap.AgglomerativeClustering(6, linkage=linkage, metric=metric).fit(X)
    ref = skc.AgglomerativeClustering(6, linkage=linkage, metric=metric).fit(X.astype(np.float64))
    assert ari(ours.labels_, ref.labels_) == pytest.approx(1.0)
    assert ours.children_.shape == (599, 2)
    assert np.all(np.diff(ours.distances_) >= 0)
    assert embedmap.Agglomerative is embedmap.AgglomerativeClustering


def test_settings_round_trip_and_refusals(blobs):
    X, _ = blobs
    km = embedmap.KMeans(5, metric="cosine")
    assert km.get_params()["n_clusters"] == 5
    km.set_params(n_clusters=3)
    assert km.n_clusters == 3
    with pytest.raises(embedmap.EmbedmapError, match="has no parameter 'k'"):
        km.set_params(k=3)
    with pytest.raises(embedmap.EmbedmapError, match="k must be between 1 and the number of rows"):
        embedmap.KMeans(5000).fit(X[:10])
    with pytest.raises(embedmap.EmbedmapError, match="ward linkage needs the euclidean metric"):
        embedmap.AgglomerativeClustering(3, metric="cosine").fit(X[:50])
    with pytest.raises(embedmap.EmbedmapError, match="unknown metric"):
        embedmap.KMeans(3, metric="manhattan").fit(X[:50])
    with pytest.raises(embedmap.EmbedmapError, match="eps must be a positive number"):
        embedmap.DBSCAN(-1.0).fit(X[:50])
    with pytest.raises(embedmap.EmbedmapError, match="not fitted yet"):
        embedmap.KMeans(3).predict(X)
    with pytest.raises(embedmap.EmbedmapError, match="random_state must be a non-negative integer"):
        embedmap.KMeans(3, random_state=np.random.RandomState(0)).fit(X)
    # The EmbedmapError is a ValueError, as scikit-learn raises for bad input.
    assert issubclass(embedmap.EmbedmapError, ValueError)


def test_bad_arrays_are_refused_with_the_row(blobs):
    X, _ = blobs
    bad = X[:100].copy()
    bad[17, 3] = np.nan
    bad[42, 0] = np.inf
    with pytest.raises(embedmap.EmbedmapError, match=r"2 row\(s\) contain NaN or infinite values \(row\(s\) 17, 42\)"):
        embedmap.KMeans(3).fit(bad)
    with pytest.raises(embedmap.EmbedmapError, match="2-dimensional"):
        embedmap.KMeans(3).fit(X[0])
    with pytest.raises(embedmap.EmbedmapError, match="at least one row"):
        embedmap.KMeans(3).fit(np.empty((0, 4), dtype=np.float32))
    # Other dtypes and orders are converted, not refused.
    km = embedmap.KMeans(6).fit(np.asfortranarray(X.astype(np.float64)))
    assert np.array_equal(km.labels_, embedmap.KMeans(6).fit(X).labels_)


def test_fit_releases_the_gil():
    X = np.random.default_rng(0).normal(size=(60_000, 64)).astype(np.float32)
    done = threading.Event()

    def work():
        embedmap.KMeans(20, n_init=2, tol=0.0, max_iter=40).fit(X)
        done.set()

    t = threading.Thread(target=work)
    start = time.perf_counter()
    t.start()
    ticks = 0
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    elapsed = time.perf_counter() - start
    # With the GIL held through the fit this loop would barely run; released, it ticks about
    # once a millisecond throughout.
    assert elapsed > 0.1, "the fit was too quick to tell"
    assert ticks > 0.3 * elapsed / 0.0011


def test_ctrl_c_stops_a_long_fit_with_keyboard_interrupt(tmp_path):
    import signal
    import subprocess
    import sys

    script = tmp_path / "long_fit.py"
    script.write_text(
        "import time, numpy as np, embedmap\n"
        "X = np.random.default_rng(0).normal(size=(200_000, 64)).astype(np.float32)\n"
        "print('ready', flush=True)\n"
        "try:\n"
        "    embedmap.KMeans(200, n_init=20, tol=0.0, max_iter=300).fit(X)\n"
        "    print('finished', flush=True)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', time.perf_counter(), flush=True)\n"
    )
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(1.0)
    sent = time.perf_counter()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=60)
    waited = time.perf_counter() - sent
    assert out.startswith("interrupted"), out
    # The engine checks its control between blocks of work: it stops within a second or two.
    assert waited < 5.0, waited
