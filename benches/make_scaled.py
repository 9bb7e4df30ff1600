#!/usr/bin/env python3
"""Writes a larger file of real-text-like embeddings from the Debian set, for the tuning and
loading benchmarks at 100k and 1M rows (README, "Live at every size").

Each output row is a Debian package's embedding plus Gaussian noise of a quarter of the data's
per-dimension spread, normalised to unit length (as MiniLM's are), with the package's id,
category and text: real text's weak cluster structure, at any size. Written in row groups as
Parquet with a 384-float list column, the layout `embedmap` meets in practice.

    python3 benches/make_scaled.py --rows 1000000 --out ~/.cache/embedmap-bench/debian_1m.parquet
    python3 benches/make_scaled.py --rows 6500000 --row-group 50000 --out ~/.cache/embedmap-bench/debian_10gb.parquet
"""

import argparse
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "debian_pkgs.parquet"))
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--noise", type=float, default=0.25, help="noise, as a share of the per-dimension spread")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--row-group", type=int, default=100_000, help="rows per Parquet row group")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    src = pq.read_table(a.source)
    x = np.asarray(src.column("embedding").combine_chunks().flatten(), dtype=np.float32).reshape(src.num_rows, -1)
    spread = x.std(axis=0).mean()
    ids, cats, texts = (src.column(c).to_pylist() for c in ("id", "category", "text"))
    rng = np.random.default_rng(a.seed)
    tmp = a.out + ".part"
    writer = None
    for start in range(0, a.rows, 100_000):
        m = min(100_000, a.rows - start)
        pick = rng.integers(0, len(x), m)
        v = x[pick] + rng.normal(0.0, a.noise * spread, (m, x.shape[1])).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        emb = pa.FixedSizeListArray.from_arrays(pa.array(v.ravel(), pa.float32()), x.shape[1])
        t = pa.table({
            "id": pa.array([f"{ids[p]}#{start + i}" for i, p in enumerate(pick)]),
            "category": pa.array([cats[p] for p in pick]),
            "text": pa.array([texts[p] for p in pick]),
            "embedding": pa.ListArray.from_arrays(pa.array(np.arange(0, (m + 1) * x.shape[1], x.shape[1], dtype=np.int32)), emb.flatten()),
        })
        if writer is None:
            writer = pq.ParquetWriter(tmp, t.schema)
        writer.write_table(t, row_group_size=a.row_group)
    writer.close()
    os.replace(tmp, a.out)
    print(f"wrote {a.rows} rows to {a.out}")


if __name__ == "__main__":
    main()
