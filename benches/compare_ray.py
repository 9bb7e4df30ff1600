#!/usr/bin/env python3
"""The Ray recipe (examples/ray_assign.py) beside `embedmap assign` on the same shards, one run.

    pip install ./python "ray[data]"
    cargo build --release
    python3 benches/compare_ray.py [--rows 2000000] [--shards 16] [--source FILE.parquet] [--model M]

Shards: the first --rows rows (`id`, `embedding`) of --source (default the 1M × 384 file of
`make_scaled.py`, repeated as needed, ids renumbered) in --shards Parquet files of row groups of
25,000, made once under --cache-dir. Model: --model, or cosine K-means (k = 50) fitted by the
package on the first 20,000 rows. Both sides keep `id` only (`--columns id-only`) and run over
the same folder:

* `embedmap assign` on one process, all cores (2 here), then on one core (`taskset -c 0`,
  RAYON_NUM_THREADS=1: the share of the machine a Ray worker gets);
* the recipe with 2 workers × 1 thread on a local Ray (start-up included: it is what a user waits
  for; the recipe's own summary gives the time of the pipeline alone).

Prints rows/s for each, Ray's rows/s per worker against `assign`'s on one core (goal ≥ 0.7×), and
checks that the labels agree on every row.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

import embedmap

ROOT = pathlib.Path(__file__).resolve().parents[1]


def make_shards(source, rows, shards, out):
    out.mkdir(parents=True, exist_ok=True)
    if len(list(out.glob("*.parquet"))) == shards:
        return
    per = rows // shards
    f = pq.ParquetFile(source)
    written, shard, pending = 0, 0, []
    while shard < shards:
        for batch in f.iter_batches(batch_size=25_000, columns=["embedding"]):
            pending.append(batch.column(0))
            have = sum(len(c) for c in pending)
            if have >= per:
                emb = pa.concat_arrays(pending)
                take, rest = emb.slice(0, per), emb.slice(per)
                ids = pa.array(np.arange(written, written + per, dtype=np.int64))
                pq.write_table(pa.table({"id": ids, "embedding": take}), out / f"part-{shard:03}.parquet", row_group_size=25_000)
                written += per
                shard += 1
                pending = [rest] if len(rest) else []
                if shard == shards:
                    return


def timed(cmd, env=None):
    t = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    if p.returncode not in (0, 2):
        sys.exit(f"{cmd[0]} failed: {p.stderr}")
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--shards", type=int, default=16)
    ap.add_argument("--source", default=os.path.expanduser("~/.cache/embedmap-bench/debian_1m.parquet"))
    ap.add_argument("--cache-dir", default=os.path.expanduser("~/.cache/embedmap-bench"))
    ap.add_argument("--model", default=None)
    ap.add_argument("--binary", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"), "release", "embedmap"))
    a = ap.parse_args()
    cache = pathlib.Path(a.cache_dir)
    src = cache / f"ray_{a.rows}_{a.shards}"
    make_shards(a.source, a.rows, a.shards, src)
    work = cache / "ray_runs"
    subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir()
    model = a.model
    if model is None:
        model = work / "k50.embedmap.json"
        first = pq.read_table(src / "part-000.parquet").slice(0, 20_000)
        X = np.stack(first.column("embedding").to_numpy(zero_copy_only=False)).astype(np.float32)
        embedmap.KMeans(50, metric="cosine").fit(X).save_model(model, X, column="embedding")

    n = a.rows // a.shards * a.shards
    t_all = timed([a.binary, "assign", f"{src}/", "--model", model, "--out", f"{work}/cli/", "--columns", "id-only"])
    env1 = dict(os.environ, RAYON_NUM_THREADS="1")
    t_one = timed(["taskset", "-c", "0", a.binary, "assign", f"{src}/", "--model", model, "--out", f"{work}/cli1/", "--columns", "id-only"], env1)
    t_ray = timed([sys.executable, ROOT / "examples" / "ray_assign.py", "--model", model, "--input", src, "--output",
                   work / "ray", "--workers", 2, "--columns", "id-only", "--summary", work / "ray.json"])
    s = json.load(open(work / "ray.json"))
    x = pads.dataset(work / "cli", format="parquet").to_table(columns=["id", "cluster"]).sort_by("id")
    y = pads.dataset(work / "ray", format="parquet").to_table(columns=["id", "cluster"]).sort_by("id")
    same = x.num_rows == y.num_rows == n and x.column("cluster").equals(y.column("cluster"))
    r_all, r_one, r_ray = n / t_all, n / t_one, n / t_ray
    r_pipe = s["rows_per_s"]
    print(f"{n} rows × {embedmap.Model.load(model).dim} in {a.shards} shards, 2 cores")
    print(f"  embedmap assign, 2 cores   {t_all:7.1f} s  {r_all:9.0f} rows/s")
    print(f"  embedmap assign, 1 core    {t_one:7.1f} s  {r_one:9.0f} rows/s")
    print(f"  Ray recipe, 2 workers      {t_ray:7.1f} s  {r_ray:9.0f} rows/s with start-up; {r_pipe} rows/s pipeline "
          f"({s['seconds']:.1f} s)")
    per = r_pipe / 2
    print(f"  per worker {per:.0f} rows/s = {per / r_one:.2f}× assign on one core (goal ≥ 0.7×: "
          f"{'met' if per / r_one >= 0.7 else 'NOT met'}); Ray in all = {r_pipe / r_all:.2f}× assign on 2 cores")
    print(f"  labels {'identical on every row' if same else 'DIFFER'}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
