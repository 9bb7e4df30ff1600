#!/usr/bin/env python3
"""Label a folder of Parquet shards with an embedmap model on Ray: the same labels as
`embedmap assign`, on as many workers as the cluster has.

    pip install ./python "ray[data]"
    python examples/ray_assign.py --model topics.embedmap.json --input shards/ --output labelled/ \
        [--workers 2] [--threads-per-worker 1] [--column embedding] [--columns keep|id-only] \
        [--batch-rows 20000] [--address auto]

Ray Data reads the shards, `map_batches` hands Arrow batches to a pool of `--workers` actors
(each loads the model once and calls `embedmap.Model.assign`, which runs the engine with the GIL
released on `--threads-per-worker` threads), and writes labelled Parquet shards into a temporary
folder beside `--output` that is renamed to `--output` only when every shard is written: a run
that fails leaves nothing under the final name.

Every output row has the input's columns (`--columns id-only`: only `id`), then `cluster`
(int32), `distance` (float32), `is_noise` (DBSCAN models) and `x`, `y` (models with a map), as
`embedmap assign` writes them. A row whose vector is missing, of another length, or holds NaN or
infinite values gets a null `cluster` and is counted; the summary names how many, and the exit
code is then 2, as `embedmap assign`'s.

Without `--address` a local Ray starts with `--workers × --threads-per-worker` CPUs plus one for
Ray Data's read and write tasks (the actors hold theirs for the whole run; a cluster needs that
spare CPU too, or the read never starts); with `--address auto` (or a cluster's address) the
actors run on that cluster, and the model path must be readable from every node.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time

import pyarrow as pa
import pyarrow.compute as pc


class Labeller:
    """One per actor: loads the model once, labels Arrow batches (`Model.assign_arrow`)."""

    def __init__(self, model_path: str, column: str, columns: str):
        import embedmap

        self.model = embedmap.Model.load(model_path)
        self.column = column
        self.columns = columns

    def __call__(self, batch: pa.Table) -> pa.Table:
        return self.model.assign_arrow(batch, self.column, self.columns)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the .embedmap.json model")
    ap.add_argument("--input", required=True, help="a folder of Parquet shards (or one Parquet file)")
    ap.add_argument("--output", required=True, help="the folder of labelled shards to create (must not exist)")
    ap.add_argument("--workers", type=int, default=2, help="actors labelling in parallel (default 2)")
    ap.add_argument("--threads-per-worker", type=int, default=1, help="engine threads per actor (default 1)")
    ap.add_argument("--column", default="embedding", help="the list column holding the vectors (default embedding)")
    ap.add_argument("--columns", choices=["keep", "id-only"], default="keep", help="input columns to keep (default keep)")
    ap.add_argument("--batch-rows", type=int, default=20_000, help="rows per batch handed to an actor (default 20000)")
    ap.add_argument("--address", default=None, help="a running Ray cluster ('auto', or host:port); default: start one here")
    ap.add_argument("--summary", default=None, help="also write the summary as JSON to this file")
    a = ap.parse_args(argv)

    import ray
    import embedmap

    out_dir = os.path.abspath(a.output)
    if os.path.exists(out_dir):
        print(f"error: {out_dir} exists; choose a new folder (finished shards are never overwritten)", file=sys.stderr)
        return 1
    parent = os.path.dirname(out_dir)
    if not os.path.isdir(parent):
        print(f"error: the folder {parent} does not exist; create it or choose another place for {out_dir}", file=sys.stderr)
        return 1
    try:
        model = embedmap.Model.load(a.model)
    except embedmap.EmbedmapError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if a.columns == "id-only":
        import pyarrow.parquet as pq
        first = a.input if os.path.isfile(a.input) else next(
            (os.path.join(a.input, f) for f in sorted(os.listdir(a.input)) if f.endswith(".parquet")), None)
        if first is None:
            print(f"error: no .parquet files in {a.input}", file=sys.stderr)
            return 1
        if "id" not in pq.read_schema(first).names:
            print(f"error: --columns id-only keeps the 'id' column, and {first} has none; use --columns keep", file=sys.stderr)
            return 1

    threads = max(1, a.threads_per_worker)
    env = {"env_vars": {"RAYON_NUM_THREADS": str(threads)}}
    if a.address:
        ray.init(address=a.address, runtime_env=env, log_to_driver=False)
    else:
        # One slot beyond the actors' for Ray Data's own read and write tasks: without it the
        # actors hold every CPU and the read waits for ever.
        ray.init(num_cpus=a.workers * threads + 1, include_dashboard=False, runtime_env=env, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False

    staging = f"{out_dir}.partial-{os.getpid()}"
    start = time.perf_counter()
    try:
        ds = ray.data.read_parquet(os.path.abspath(a.input), file_extensions=["parquet"])
        labelled = ds.map_batches(
            Labeller,
            fn_constructor_kwargs={"model_path": os.path.abspath(a.model), "column": a.column, "columns": a.columns},
            batch_format="pyarrow",
            batch_size=a.batch_rows,
            concurrency=a.workers,
            num_cpus=threads,
        )
        labelled.write_parquet(staging)
        elapsed = time.perf_counter() - start
        if os.environ.get("EMBEDMAP_RAY_STATS"):
            print(labelled.stats(), file=sys.stderr)
        import pyarrow.dataset as pads
        written = pads.dataset(staging, format="parquet")
        rows = written.count_rows()
        bad = written.count_rows(filter=pc.field("cluster").is_null())
        os.rename(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        ray.shutdown()

    summary = {
        "rows": rows,
        "bad_rows": bad,
        "seconds": round(elapsed, 3),
        "rows_per_s": round(rows / elapsed),
        "workers": a.workers,
        "threads_per_worker": threads,
        "rows_per_s_per_worker": round(rows / elapsed / a.workers),
        "model": {"dim": model.dim, "metric": model.metric, "clusters": model.n_clusters},
        "output": out_dir,
    }
    print(f"labelled {rows} rows in {elapsed:.1f} s ({summary['rows_per_s']} rows/s, "
          f"{summary['rows_per_s_per_worker']} per worker) into {out_dir}", file=sys.stderr)
    if bad:
        print(f"{bad} row(s) had no usable vector (missing, another length, NaN or infinite): their cluster is null",
              file=sys.stderr)
    if a.summary:
        with open(a.summary, "w") as f:
            json.dump(summary, f, indent=2)
    return 2 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
