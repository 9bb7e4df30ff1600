"""The Spark recipe (examples/spark_assign.py) on a local Spark with 2 cores: every row's label
checked against `embedmap assign` on the same shards."""

import pathlib
import subprocess
import sys

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from shards import bad_rows, make_shards

ROOT = pathlib.Path(__file__).resolve().parents[2]
RECIPE = ROOT / "examples" / "spark_assign.py"
SHARDS, ROWS_PER_SHARD = 8, 40_000


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=900)


def test_spark_recipe_labels_every_row_as_embedmap_assign(tmp_path, embedmap_bin):
    model = make_shards(tmp_path, SHARDS, ROWS_PER_SHARD)
    src = tmp_path / "shards"
    cli = run(embedmap_bin, "assign", src, "--model", model, "--out", f"{tmp_path}/cli/")
    assert cli.returncode == 2, cli.stderr
    spark = run(sys.executable, RECIPE, "--model", model, "--input", src, "--output", tmp_path / "spark")
    assert spark.returncode == 2, spark.stderr
    assert f"labelled {SHARDS * ROWS_PER_SHARD} rows" in spark.stderr
    cols = ["id", "topic", "cluster", "distance", "x", "y"]

    def table(folder):
        return pads.dataset(folder, format="parquet").to_table(columns=cols).sort_by("id")

    ours, theirs = table(tmp_path / "spark"), table(tmp_path / "cli")
    # embedmap assign keeps the input's Arrow types (not string_view, large_list).
    assert theirs.schema.field("topic").type == pa.string()
    shard = pq.read_schema(src / "part-000.parquet")
    out = pq.read_schema(tmp_path / "cli" / "part-000.parquet")
    for name in shard.names:
        assert out.field(name).type == shard.field(name).type, name
    assert ours.num_rows == theirs.num_rows == SHARDS * ROWS_PER_SHARD
    assert ours.column("cluster").null_count == bad_rows(SHARDS)
    for c in cols:
        assert ours.column(c).equals(theirs.column(c)), c
    r = run(sys.executable, RECIPE, "--model", model, "--input", src, "--output", tmp_path / "spark")
    assert r.returncode == 1 and "exists; choose a new folder" in r.stderr
