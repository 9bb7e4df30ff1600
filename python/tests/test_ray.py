"""The Ray recipe (examples/ray_assign.py) on a local Ray with 2 CPUs: 2M rows in 16 shards, every
row's label checked against `embedmap assign` on the same files."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pytest

from shards import BAD, bad_rows, make_shards

ROOT = pathlib.Path(__file__).resolve().parents[2]
RECIPE = ROOT / "examples" / "ray_assign.py"
SHARDS, ROWS_PER_SHARD = 16, 125_000


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    d = tmp_path_factory.mktemp("ray")
    model = make_shards(d, SHARDS, ROWS_PER_SHARD)
    return d, d / "shards", model


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900)


def labels_by_id(folder: pathlib.Path) -> pa.Table:
    return pads.dataset(folder, format="parquet").to_table(columns=["id", "cluster", "distance"]).sort_by("id")


def test_ray_recipe_labels_every_row_as_embedmap_assign(shards, embedmap_bin):
    d, src, model = shards
    cli = run(embedmap_bin, "assign", f"{src}/", "--model", model, "--out", f"{d}/cli/", "--columns", "id-only")
    assert cli.returncode == 2, cli.stderr  # finished, with the bad rows named
    for shard in BAD:
        assert f"part-{shard:03}.parquet" in cli.stderr
    summary = d / "ray.json"
    ray = run(sys.executable, RECIPE, "--model", model, "--input", src, "--output", d / "ray", "--workers", 2,
              "--columns", "id-only", "--summary", summary)
    assert ray.returncode == 2, ray.stderr
    s = json.loads(summary.read_text())
    assert s["rows"] == SHARDS * ROWS_PER_SHARD
    assert s["bad_rows"] == bad_rows(SHARDS)
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
