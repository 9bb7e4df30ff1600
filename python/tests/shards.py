"""Parquet shards for the pipeline tests: blobs in a `list<float>` column with a few unusable rows."""

import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import embedmap

DIM, CENTRES = 48, 20

# Rows without a usable vector, by shard: (row, what is wrong).
BAD = {3: [(10, "null"), (11, "nan")], 7: [(5, "short")], 15: [(-1, "inf")]}


def make_shard(path: pathlib.Path, shard: int, rows: int, centres: np.ndarray) -> None:
    rng = np.random.default_rng(100 + shard)
    labels = rng.integers(0, CENTRES, rows)
    X = (centres[labels] + rng.normal(0, 0.6, (rows, DIM))).astype(np.float32)
    lengths = np.full(rows, DIM)
    nulls = np.zeros(rows, dtype=bool)
    for row, what in BAD.get(shard, []):
        row = row % rows
        if what == "nan":
            X[row, 3] = np.nan
        elif what == "inf":
            X[row, 0] = np.inf
        elif what == "short":
            lengths[row] = DIM - 1
        elif what == "null":
            nulls[row] = True
    values = np.concatenate([X[i, : lengths[i]] for i in range(rows)]) if (lengths != DIM).any() else X.reshape(-1)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    emb = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=pa.float32()), mask=pa.array(nulls))
    ids = np.arange(rows, dtype=np.int64) + shard * rows
    topic = pa.array([f"t{l}" for l in labels])
    pq.write_table(pa.table({"id": ids, "topic": topic, "embedding": emb}), path, row_group_size=25_000)


def make_shards(folder: pathlib.Path, shards: int, rows: int) -> pathlib.Path:
    """`shards` files of `rows` rows in `folder`/shards, and a cosine K-means model fitted on the
    first 20,000 rows of the first (as tuned on screen): returns the model's path."""
    src = folder / "shards"
    src.mkdir()
    centres = np.random.default_rng(0).normal(0, 2.0, (CENTRES, DIM))
    for s in range(shards):
        make_shard(src / f"part-{s:03}.parquet", s, rows, centres)
    sample = pq.read_table(src / "part-000.parquet").slice(0, 20_000)
    X = np.stack(sample.column("embedding").to_numpy(zero_copy_only=False)).astype(np.float32)
    model = folder / "topics.embedmap.json"
    embedmap.KMeans(CENTRES, metric="cosine").fit(X).save_model(model, X, column="embedding")
    return model


def bad_rows(shards: int) -> int:
    return sum(len(v) for s, v in BAD.items() if s < shards)
