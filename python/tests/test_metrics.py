"""Silhouette, Davies-Bouldin and Calinski-Harabasz against scikit-learn on the same data."""

import numpy as np
import pytest
import sklearn.metrics as skm

import embedmap


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_silhouette_samples_match_sklearn_to_1e6(overlapping, metric):
    X, y = overlapping
    ours = embedmap.silhouette_samples(X, y, metric=metric)
    ref = skm.silhouette_samples(X.astype(np.float64), y, metric=metric)
    assert ours.dtype == np.float32
    assert np.max(np.abs(ours - ref)) < 1e-6
    assert embedmap.silhouette_score(X, y, metric=metric) == pytest.approx(skm.silhouette_score(X.astype(np.float64), y, metric=metric), abs=1e-6)


def test_noise_is_left_out_of_the_silhouette(blobs):
    X, y = blobs
    labels = y.copy()
    labels[:100] = -1
    values = embedmap.silhouette_samples(X, labels)
    assert np.isnan(values[:100]).all()
    kept = labels >= 0
    ref = skm.silhouette_samples(X[kept].astype(np.float64), labels[kept])
    assert np.max(np.abs(values[kept] - ref)) < 1e-6


def test_sampled_silhouette_is_the_exact_one_of_the_sample(overlapping):
    X, y = overlapping
    rows = np.random.default_rng(5).choice(len(X), 400, replace=False)
    exact = skm.silhouette_score(X[rows].astype(np.float64), y[rows])
    assert embedmap.silhouette_score(X, y, sample_size=400, random_state=5) == pytest.approx(exact, abs=1e-6)


def test_indices_match_sklearn(overlapping):
    X, y = overlapping
    assert embedmap.davies_bouldin_score(X, y) == pytest.approx(skm.davies_bouldin_score(X.astype(np.float64), y), rel=1e-6)
    assert embedmap.calinski_harabasz_score(X, y) == pytest.approx(skm.calinski_harabasz_score(X.astype(np.float64), y), rel=1e-6)


def test_string_labels_and_bad_counts():
    X = np.array([[0, 0], [0, 1], [5, 5], [5, 6]], dtype=np.float32)
    assert embedmap.silhouette_score(X, ["a", "a", "b", "b"]) == pytest.approx(skm.silhouette_score(X, [0, 0, 1, 1]), abs=1e-6)
    with pytest.raises(embedmap.EmbedmapError, match="between 2 and n−1 clusters"):
        embedmap.silhouette_score(X, [0, 0, 0, 0])
    with pytest.raises(embedmap.EmbedmapError, match="3 labels for 4 rows"):
        embedmap.davies_bouldin_score(X, [0, 1, 1])
