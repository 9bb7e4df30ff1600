"""A Parquet export as another reader sees it: every original column with its type and values."""

import subprocess

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def test_an_exported_parquet_file_reads_back_in_pyarrow_with_every_column_unchanged(tmp_path, embedmap_bin):
    rng = np.random.default_rng(7)
    n, d = 20_000, 64  # 5 MB of vectors: several data pages of the embedding column
    centres = rng.normal(size=(4, d)).astype(np.float32) * 4
    X = (centres[rng.integers(0, 4, n)] + rng.normal(size=(n, d))).astype(np.float32)
    X[5, 3] = -0.0
    flat = pa.array(X.reshape(-1))
    table = pa.table({
        "id": pa.array([f"row-{i}" for i in range(n)], pa.string()),
        "score": pa.array(rng.random(n)),
        "embedding": pa.ListArray.from_arrays(pa.array(np.arange(0, n * d + 1, d, dtype=np.int32)), flat),
        "tags": pa.array([[i % 3, None] if i % 5 else None for i in range(n)], pa.list_(pa.int64())),
        "fixed": pa.FixedSizeListArray.from_arrays(pa.array(rng.random(n * 3).astype(np.float32)), 3),
    })
    src = tmp_path / "in.parquet"
    pq.write_table(table, src)
    out = tmp_path / "out.parquet"
    p = subprocess.run([str(embedmap_bin), "cluster", str(src), "--k", "4", "--out", str(out)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    back = pq.read_table(out)
    assert back.column_names == table.column_names + ["cluster", "silhouette", "x", "y"]
    for name in table.column_names:
        assert back.schema.field(name).type == table.schema.field(name).type, name
        assert back.column(name).equals(table.column(name)), name
    got = np.stack(back.column("embedding").to_numpy(zero_copy_only=False))
    assert got.view(np.uint32).tobytes() == X.view(np.uint32).tobytes()
    meta = pq.ParquetFile(out).metadata
    column = next(i for i in range(meta.num_columns) if meta.schema.column(i).path.startswith("embedding"))
    stats = meta.row_group(0).column(column).statistics
    assert stats.null_count == 0
    assert stats.min == X[: meta.row_group(0).num_rows].min() and stats.max == X[: meta.row_group(0).num_rows].max()
    assert len(np.unique(back.column("cluster").to_numpy())) == 4
