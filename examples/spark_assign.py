#!/usr/bin/env python3
"""Label Parquet shards with an embedmap model on Spark: the same labels as `embedmap assign`.

    pip install ./python pyspark
    python examples/spark_assign.py --model topics.embedmap.json --input shards/ --output labelled/ \
        [--column embedding] [--columns keep|id-only] [--master local[2]]

`mapInArrow` hands each Python worker an iterator of Arrow record batches of a partition; the
function loads the model once per partition and labels batch by batch with
`embedmap.Model.assign` (the engine runs with the GIL released). `mapInPandas` works the same way
with pandas frames (see the README); Arrow skips the conversion of the vector column to Python
objects. Spark writes the output folder through its commit protocol: files appear under the final
name only when the job succeeds.

Output columns as `embedmap assign` and examples/ray_assign.py: the input's (`--columns id-only`:
`id`), then `cluster`, `distance`, `is_noise` (DBSCAN models), `x`, `y` (models with a map). A row
without a usable vector gets a null `cluster`; the exit code is then 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time



def label_batches(model_path: str, column: str, columns: str):
    """The function mapInArrow runs over each partition's record batches."""

    def run(batches):
        import embedmap

        model = embedmap.Model.load(model_path)
        for batch in batches:
            yield from model.assign_arrow(batch, column, columns).to_batches()

    return run


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True, help="a folder of Parquet shards")
    ap.add_argument("--output", required=True, help="the folder to create (must not exist)")
    ap.add_argument("--column", default="embedding")
    ap.add_argument("--columns", choices=["keep", "id-only"], default="keep")
    ap.add_argument("--master", default="local[2]", help="Spark master (default local[2]: two tasks here)")
    ap.add_argument("--threads-per-task", type=int, default=1, help="engine threads per Python worker (default 1)")
    a = ap.parse_args(argv)

    import embedmap
    from pyspark.sql import SparkSession
    from pyspark.sql import types as T

    if os.path.exists(a.output):
        print(f"error: {a.output} exists; choose a new folder", file=sys.stderr)
        return 1
    try:
        model = embedmap.Model.load(a.model)
    except embedmap.EmbedmapError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    # Workers run this interpreter (where embedmap is installed) unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    threads = str(max(1, a.threads_per_task))
    os.environ["RAYON_NUM_THREADS"] = threads  # local mode: the workers inherit it
    spark = (SparkSession.builder.master(a.master).appName("embedmap-assign")
             .config("spark.sql.execution.arrow.maxRecordsPerBatch", "20000")
             .config("spark.executorEnv.RAYON_NUM_THREADS", threads)
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        df = spark.read.parquet(os.path.abspath(a.input))
        if a.column not in df.columns:
            print(f"error: no column '{a.column}' in {a.input} (it has {', '.join(df.columns)}); name it with --column",
                  file=sys.stderr)
            return 1
        fields = [df.schema["id"]] if a.columns == "id-only" else list(df.schema.fields)
        fields += [T.StructField("cluster", T.IntegerType()), T.StructField("distance", T.FloatType())]
        if model.has_noise:
            fields.append(T.StructField("is_noise", T.BooleanType()))
        if model.has_projection:
            fields += [T.StructField("x", T.FloatType()), T.StructField("y", T.FloatType())]
        start = time.perf_counter()
        out = df.mapInArrow(label_batches(os.path.abspath(a.model), a.column, a.columns), T.StructType(fields))
        out.write.parquet(os.path.abspath(a.output))
        elapsed = time.perf_counter() - start
        written = spark.read.parquet(os.path.abspath(a.output))
        rows = written.count()
        bad = written.filter("cluster IS NULL").count()
    finally:
        spark.stop()
    print(f"labelled {rows} rows in {elapsed:.1f} s ({rows / elapsed:.0f} rows/s) into {a.output}", file=sys.stderr)
    if bad:
        print(f"{bad} row(s) had no usable vector (missing, another length, NaN or infinite): their cluster is null", file=sys.stderr)
    return 2 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
