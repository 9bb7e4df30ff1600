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
    with pytest.raises(embedmap.EmbedmapError, match="HDBSCAN models are not available yet"):
        embedmap.HDBSCAN(15).fit(X).save_model(tmp_path / "h.embedmap.json", X)
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
