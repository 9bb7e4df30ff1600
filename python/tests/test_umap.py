"""UMAP: the same layout as the command line's map, reproducible, and trustworthy."""

import subprocess

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.manifold import trustworthiness

import embedmap


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_umap_is_the_command_lines_map(tmp_path, embedmap_bin, blobs, metric):
    X, _ = blobs
    X = X[:1200]
    np.save(tmp_path / "x.npy", X)
    p = subprocess.run([str(embedmap_bin), "cluster", str(tmp_path / "x.npy"), "--k", "6", "--metric", metric, "--seed", "4",
                        "--projection", "umap", "--no-trust", "--out", str(tmp_path / "out.parquet")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    t = pq.read_table(tmp_path / "out.parquet")
    cli = np.stack([t.column("x").to_numpy(), t.column("y").to_numpy()], axis=1)
    ours = embedmap.UMAP(metric=metric, random_state=4).fit_transform(X)
    assert ours.shape == (1200, 2) and ours.dtype == np.float32
    assert np.array_equal(ours, cli)


def test_umap_is_reproducible_and_keeps_neighbourhoods(blobs):
    X, _ = blobs
    X = X[:1500]
    a = embedmap.UMAP(random_state=1).fit_transform(X)
    assert np.array_equal(a, embedmap.UMAP(random_state=1).fit_transform(X))
    assert not np.array_equal(a, embedmap.UMAP(random_state=2).fit_transform(X))
    assert trustworthiness(X, a, n_neighbors=15) > 0.9
    with pytest.raises(embedmap.EmbedmapError, match="2 dimensions"):
        embedmap.UMAP(n_components=5).fit_transform(X)
    with pytest.raises(embedmap.EmbedmapError):
        embedmap.UMAP(n_neighbors=1).fit_transform(X)
