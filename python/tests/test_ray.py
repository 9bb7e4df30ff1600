"""The Ray recipe (examples/ray_assign.py) on a local Ray with 2 CPUs: 2M rows in 16 shards, every
row's label checked against `embedmap assign` on the same files."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

import embedmap

ROOT = pathlib.Path(__file__).resolve().parents[2]
RECIPE = ROOT / "examples" / "ray_assign.py"
SHARDS, ROWS_PER_SHARD, DIM, CENTRES = 16, 125_000, 48, 20

# Rows without a usable vector, by shard: (row, what is wrong).
BAD = {3: [(10, "null"), (11, "nan")], 7: [(5, "short")], 15: [(ROWS_PER_SHARD - 1, "inf")]}


def make_shard(path: pathlib.Path, shard: int, centres: np.ndarray) -> None:
    rng = np.random.default_rng(100 + shard)
    labels = rng.integers(0, CENTRES, ROWS_PER_SHARD)
    X = (centres[labels] + rng.normal(0, 0.6, (ROWS_PER_SHARD, DIM))).astype(np.float32)
    lengths = np.full(ROWS_PER_SHARD, DIM)
    nulls = np.zeros(ROWS_PER_SHARD, dtype=bool)
    for row, what in BAD.get(shard, []):
        if what == "nan":
            X[row, 3] = np.nan
        elif what == "inf":
            X[row, 0] = np.inf
        elif what == "short":
            lengths[row] = DIM - 1
        elif what == "null":
            nulls[row] = True
    values = np.concatenate([X[i, : lengths[i]] for i in range(ROWS_PER_SHARD)]) if (lengths != DIM).any() else X.reshape(-1)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    emb = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=pa.float32()), mask=pa.array(nulls))
    ids = np.arange(ROWS_PER_SHARD, dtype=np.int64) + shard * ROWS_PER_SHARD
    topic = pa.array([f"t{l}" for l in labels[:1000]] * (ROWS_PER_SHARD // 1000))
    table = pa.table({"id": ids, "topic": topic, "embedding": emb})
    pq.write_table(table, path, row_group_size=25_000)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    d = tmp_path_factory.mktemp("ray")
    src = d / "shards"
    src.mkdir()
    centres = np.random.default_rng(0).normal(0, 2.0, (CENTRES, DIM))
    for s in range(SHARDS):
        make_shard(src / f"part-{s:03}.parquet", s, centres)
    # The model: cosine K-means on a sample of the first shard, as tuned on screen.
    sample = pq.read_table(src / "part-000.parquet").slice(0, 20_000)
    X = np.stack(sample.column("embedding").to_numpy(zero_copy_only=False)).astype(np.float32)
    model = d / "topics.embedmap.json"
    embedmap.KMeans(CENTRES, metric="cosine").fit(X).save_model(model, X, column="embedding")
    return d, src, model


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900)


def labels_by_id(folder: pathlib.Path) -> pa.Table:
    return pads.dataset(folder, format="parquet").to_table(columns=["id", "cluster", "distance"]).sort_by("id")


def test_ray_recipe_labels_every_row_as_embedmap_assign(shards, embedmap_bin):
    d, src, model = shards
    cli = run(embedmap_bin, "assign", f"{src}/", "--model", model, "--out", f"{d}/cli/", "--columns", "id-only")
    assert cli.returncode == 2, cli.stderr  # finished, with the bad rows named
    for shard, rows in BAD.items():
        for row, _ in rows:
            assert f"part-{shard:03}.parquet" in cli.stderr
    summary = d / "ray.json"
    ray = run(sys.executable, RECIPE, "--model", model, "--input", src, "--output", d / "ray", "--workers", 2,
              "--columns", "id-only", "--summary", summary)
    assert ray.returncode == 2, ray.stderr
    s = json.loads(summary.read_text())
    assert s["rows"] == SHARDS * ROWS_PER_SHARD
    assert s["bad_rows"] == sum(len(v) for v in BAD.values())
    ours, theirs = labels_by_id(d / "ray"), labels_by_id(d / "cli")
    assert ours.num_rows == theirs.num_rows == SHARDS * ROWS_PER_SHARD
    assert np.array_equal(ours.column("id").to_numpy(), np.arange(SHARDS * ROWS_PER_SHARD))
    a = ours.column("cluster").to_numpy(zero_copy_only=False)
    b = theirs.column("cluster").to_numpy(zero_copy_only=False)
    bad_a, bad_b = np.isnan(a.astype(float)), np.isnan(b.astype(float))
    assert bad_a.sum() == s["bad_rows"] and np.array_equal(bad_a, bad_b)
    assert np.array_equal(a[~bad_a], b[~bad_b])
    da = ours.column("distance").to_numpy(zero_copy_only=False)[~bad_a]
    db = theirs.column("distance").to_numpy(zero_copy_only=False)[~bad_b]
    assert np.array_equal(da, db)
    assert len(list((d / "ray").glob("*.parquet"))) >= 2
    assert not list(d.glob("ray.partial-*"))


def test_ray_recipe_refuses_an_existing_output_and_a_bad_model(shards, tmp_path):
    d, src, model = shards
    (tmp_path / "out").mkdir()
    r = run(sys.executable, RECIPE, "--model", model, "--input", src, "--output", tmp_path / "out")
    assert r.returncode == 1 and "exists; choose a new folder" in r.stderr
    (tmp_path / "bad.embedmap.json").write_text("{}")
    r = run(sys.executable, RECIPE, "--model", tmp_path / "bad.embedmap.json", "--input", src, "--output", tmp_path / "new")
    assert r.returncode == 1 and "is not an embedmap model" in r.stderr
    assert not (tmp_path / "new").exists()
