"""Saved models: the same labels through fit, Model.assign, `embedmap cluster` and `embedmap assign`."""

import csv
import json
import subprocess

import numpy as np
import pytest

import embedmap


def run(binary, *args):
    p = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def read_column(path, name):
    with open(path, newline="") as f:
        return np.array([int(r[name]) if r[name] != "" else -9 for r in csv.DictReader(f)])


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_kmeans_labels_equal_the_command_line(tmp_path, embedmap_bin, overlapping, metric):
    X, _ = overlapping
    np.save(tmp_path / "x.npy", X)
    code, _, err = run(embedmap_bin, "cluster", tmp_path / "x.npy", "--k", 8, "--metric", metric, "--seed", 3,
                       "--out", tmp_path / "out.csv")
    assert code == 0, err
    cli = read_column(tmp_path / "out.csv", "cluster")
    ours = embedmap.KMeans(8, metric=metric, random_state=3).fit(X)
    assert np.array_equal(ours.labels_, cli)


@pytest.mark.parametrize("args,estimator", [
    (["--algo", "dbscan", "--eps", "7.5", "--min-samples", "5"], embedmap.DBSCAN(7.5, min_samples=5)),
    (["--algo", "hdbscan", "--min-cluster-size", "15"], embedmap.HDBSCAN(min_cluster_size=15)),
    (["--algo", "hierarchical", "--k", "6", "--linkage", "average", "--metric", "cosine"],
     embedmap.AgglomerativeClustering(6, linkage="average", metric="cosine")),
])
def test_other_algorithms_equal_the_command_line(tmp_path, embedmap_bin, blobs, args, estimator):
    X, _ = blobs
    X = X[:800]
    np.save(tmp_path / "x.npy", X)
    code, _, err = run(embedmap_bin, "cluster", tmp_path / "x.npy", *args, "--out", tmp_path / "out.csv")
    assert code == 0, err
    cli = read_column(tmp_path / "out.csv", "cluster")
    assert np.array_equal(estimator.fit(X).labels_, cli)


def test_a_model_saved_here_labels_as_the_fit_and_as_embedmap_assign(tmp_path, embedmap_bin, overlapping):
    X, _ = overlapping
    km = embedmap.KMeans(8, metric="cosine").fit(X)
    path = tmp_path / "m.embedmap.json"
    km.save_model(path, X, names=[f"topic {i}" for i in range(8)])
    model = embedmap.Model.load(path)
    assert (model.dim, model.metric, model.n_clusters, model.has_projection) == (32, "cosine", 8, True)
    assert model.names[2] == "topic 2"
    assert model.describe()["agreement"]["same"] == len(X)
    out = model.assign(X)
    assert np.array_equal(out["cluster"], km.labels_)
    assert set(out) == {"cluster", "distance", "x", "y"}
    # New rows through the binary, from the same model: identical labels and distances.
    rng = np.random.default_rng(11)
    new = (X[rng.choice(len(X), 500)] + rng.normal(0, 1.0, (500, 32))).astype(np.float32)
    np.save(tmp_path / "new.npy", new)
    code, _, err = run(embedmap_bin, "assign", tmp_path / "new.npy", "--model", path, "--out", tmp_path / "a.csv")
    assert code == 0, err
    assert np.array_equal(read_column(tmp_path / "a.csv", "cluster"), model.assign(new)["cluster"])
    assert np.array_equal(km.predict(new), model.assign(new)["cluster"])


def test_a_model_from_embedmap_fit_loads_here(tmp_path, embedmap_bin, blobs):
    X, _ = blobs
    np.save(tmp_path / "x.npy", X)
    path = tmp_path / "db.embedmap.json"
    code, _, err = run(embedmap_bin, "fit", tmp_path / "x.npy", "--algo", "dbscan", "--eps", "7.5", "--model", path,
                       "--out", tmp_path / "out.csv")
    assert code == 0, err
    model = embedmap.Model.load(path)
    out = model.assign(X)
    assert np.array_equal(out["cluster"], read_column(tmp_path / "out.csv", "cluster"))
    assert out["is_noise"].dtype == bool
    # Far rows are noise under DBSCAN's rule.
    far = np.full((3, X.shape[1]), 1e3, dtype=np.float32)
    assert (model.assign(far)["cluster"] == -1).all()


def test_model_refusals_say_what_differs(tmp_path, embedmap_bin, blobs):
    X, _ = blobs
    path = tmp_path / "m.embedmap.json"
    embedmap.KMeans(6).fit(X).save_model(path, X)
    model = embedmap.Model.load(path)
    with pytest.raises(embedmap.EmbedmapError, match="the model expects 24-dimensional embeddings, but X has 8 dimensions"):
        model.assign(X[:, :8])
    # The same words as the command line's.
    np.save(tmp_path / "narrow.npy", np.ascontiguousarray(X[:, :8]))
    code, _, err = run(embedmap_bin, "assign", tmp_path / "narrow.npy", "--model", path, "--out", tmp_path / "a.csv")
    assert code != 0 and "the model expects 24-dimensional embeddings" in err
    doc = json.loads(path.read_text())
    doc["version"] = 99
    (tmp_path / "future.embedmap.json").write_text(json.dumps(doc))
    with pytest.raises(embedmap.EmbedmapError, match="this embedmap reads versions up to"):
        embedmap.Model.load(tmp_path / "future.embedmap.json")
    with pytest.raises(embedmap.EmbedmapError, match="cannot read the model"):
        embedmap.Model.load(tmp_path / "missing.embedmap.json")
    with pytest.raises(embedmap.EmbedmapError, match="map must be 'pca', 'umap' or 'none'"):
        embedmap.KMeans(6).fit(X).save_model(tmp_path / "m.embedmap.json", X, map="tsne")
    with pytest.raises(embedmap.EmbedmapError, match="fitted on"):
        embedmap.KMeans(6).fit(X).save_model(tmp_path / "x.embedmap.json", X[:100])


def test_assign_arrow_takes_every_list_layout_and_nulls_unusable_rows(tmp_path, blobs):
    import pyarrow as pa
    X, _ = blobs
    km = embedmap.KMeans(6).fit(X)
    km.save_model(tmp_path / "m.embedmap.json", X)
    model = embedmap.Model.load(tmp_path / "m.embedmap.json")
    rows = X[:50].copy()
    want = model.assign(rows)["cluster"]
    flat = pa.array(rows.reshape(-1))
    layouts = [
        pa.FixedSizeListArray.from_arrays(flat, 24),
        pa.ListArray.from_arrays(pa.array(np.arange(0, 51 * 24, 24, dtype=np.int32)), flat),
        pa.LargeListArray.from_arrays(pa.array(np.arange(0, 51 * 24, 24, dtype=np.int64)), flat.cast(pa.float64())),
    ]
    for emb in layouts:
        out = model.assign_arrow(pa.table({"id": np.arange(50), "embedding": emb}))
        assert out.column_names == ["id", "embedding", "cluster", "distance", "x", "y"]
        assert np.array_equal(out.column("cluster").to_numpy(), want)
    # A null, a short and a NaN vector: null cluster there, every other row labelled as before.
    values = [list(r) for r in rows]
    values[3], values[7], values[9] = None, values[7][:5], [float("nan")] * 24
    out = model.assign_arrow(pa.table({"id": np.arange(50), "embedding": pa.array(values, pa.list_(pa.float32()))}), columns="id-only")
    cluster = out.column("cluster")
    assert out.column_names == ["id", "cluster", "distance", "x", "y"]
    assert [i for i in range(50) if not cluster[i].is_valid] == [3, 7, 9]
    keep = np.setdiff1d(np.arange(50), [3, 7, 9])
    assert np.array_equal(cluster.to_numpy(zero_copy_only=False)[keep].astype(int), want[keep])
    with pytest.raises(embedmap.EmbedmapError, match="no column 'vec'"):
        model.assign_arrow(pa.table({"id": [1]}), column="vec")


def _density_data(seed, n, noise):
    """Five gaussian blobs in 12 dimensions with uniform noise rows, float32."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).normal(0, 5, (5, 12))
    blob = centres[rng.integers(0, 5, n)] + rng.normal(0, 1, (n, 12))
    spread = rng.uniform(-14, 14, (noise, 12))
    return np.vstack([blob, spread]).astype(np.float32)


@pytest.mark.parametrize("mcs,ms,method", [(15, 15, "eom"), (25, 5, "leaf"), (10, 20, "eom")])
def test_hdbscan_models_predict_as_the_hdbscan_librarys_approximate_predict(tmp_path, embedmap_bin, mcs, ms, method):
    import hdbscan
    from sklearn.neighbors import NearestNeighbors

    X = _density_data(1, 1500, 80)
    new = _density_data(2, 500, 60)
    # The library's min_samples does not count the point itself, scikit-learn's and embedmap's
    # do: its ms − 1 builds the same tree.
    ref = hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=ms - 1, cluster_selection_method=method,
                          prediction_data=True).fit(X.astype(np.float64))
    # Its prediction data recomputes the core distances with one neighbour fewer than its tree
    # used; embedmap keeps the tree's own. Give the library the tree's.
    ref.prediction_data_.core_distances = NearestNeighbors(n_neighbors=ms - 1).fit(X.astype(np.float64)).kneighbors()[0][:, -1]
    ours = embedmap.HDBSCAN(min_cluster_size=mcs, min_samples=ms, cluster_selection_method=method).fit(X)
    # The same clusters (the library numbers them in another order).
    pairs = set(zip(ours.labels_.tolist(), ref.labels_.tolist()))
    assert len(pairs) == len(set(ref.labels_.tolist())) == len(set(ours.labels_.tolist())), pairs
    to_ref = dict(pairs)
    ours.save_model(tmp_path / "h.embedmap.json", X, map="none")
    model = embedmap.Model.load(tmp_path / "h.embedmap.json")
    assert model.has_noise and model.has_membership and not model.has_projection
    got = model.assign(new)
    want, strength = hdbscan.approximate_predict(ref, new.astype(np.float64))
    mapped = np.array([to_ref[c] for c in got["cluster"].tolist()])
    assert np.array_equal(mapped, want), f"{np.sum(mapped != want)} of {len(want)} differ"
    assert np.array_equal(got["is_noise"], want < 0)
    assert np.max(np.abs(got["membership"] - strength)) < 1e-4
    # The command line writes the same labels and strengths.
    np.save(tmp_path / "new.npy", new)
    code, _, err = run(embedmap_bin, "assign", tmp_path / "new.npy", "--model",
                       tmp_path / "h.embedmap.json", "--out", tmp_path / "a.csv")
    assert code == 0, err
    assert np.array_equal(read_column(tmp_path / "a.csv", "cluster"), got["cluster"])
    with open(tmp_path / "a.csv", newline="") as f:
        cli_strength = np.array([float(r["membership"]) for r in csv.DictReader(f)])
    assert np.max(np.abs(cli_strength - got["membership"])) < 1e-6


def test_a_umap_model_gives_new_rows_a_place_that_does_not_depend_on_the_batch(tmp_path, blobs, embedmap_bin):
    X, y = blobs
    fit, new = X[:1600], X[1600:]
    ours = embedmap.KMeans(6).fit(fit)
    ours.save_model(tmp_path / "u.embedmap.json", fit, map="umap")
    model = embedmap.Model.load(tmp_path / "u.embedmap.json")
    assert model.has_projection
    got = model.assign(new)
    alone = model.assign(new[5:9])
    assert np.array_equal(alone["x"], got["x"][5:9]) and np.array_equal(alone["y"], got["y"][5:9])
    # Each new row lands among the fitted rows of its own blob on the map.
    umap = embedmap.UMAP(metric="euclidean").fit(fit)
    layout = umap.embedding_
    # UMAP.transform places rows as the model does.
    placed = umap.transform(new)
    assert np.array_equal(placed[:, 0], got["x"]) and np.array_equal(placed[:, 1], got["y"])
    pos = np.stack([got["x"], got["y"]], axis=1)
    nearest = np.argmin(((pos[:, None, :] - layout[None, :, :]) ** 2).sum(-1), axis=1)
    assert np.mean(y[:1600][nearest] == y[1600:]) > 0.98
    np.save(tmp_path / "new.npy", new)
    code, _, err = run(embedmap_bin, "assign", tmp_path / "new.npy", "--model", tmp_path / "u.embedmap.json",
                       "--out", tmp_path / "a.csv")
    assert code == 0, err
    with open(tmp_path / "a.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert np.array_equal(np.array([float(r["x"]) for r in rows], dtype=np.float32), got["x"])


def test_umap_transform_after_a_sampled_fit_places_rows_among_their_blob(blobs):
    X, y = blobs
    umap = embedmap.UMAP(fit_rows=500, random_state=2).fit(X[:1500])
    placed = umap.transform(X[1500:])
    assert placed.shape == (500, 2) and np.isfinite(placed).all()
    nearest = np.argmin(((placed[:, None, :] - umap.embedding_[None, :, :]) ** 2).sum(-1), axis=1)
    assert np.mean(y[:1500][nearest] == y[1500:]) > 0.98
    with pytest.raises(embedmap.EmbedmapError, match="not fitted yet"):
        embedmap.UMAP().transform(X)
    with pytest.raises(embedmap.EmbedmapError, match="X has 5 dimensions; the map was fitted on 24"):
        umap.transform(X[:, :5])
