#!/usr/bin/env python3
"""Assignment to fitted centroids: embedmap against FAISS and scikit-learn, same data, one run.

Makes (once, in the cache folder) N × D float32 rows around K centres, fits an embedmap model
with K centroids on them (`embedmap fit`, a few K-means iterations; its map axes removed, so
that only the assignment is timed), then times, each --repeat times:

- `embedmap assign` of the .npy file (whole command: read, assign, write the Parquet output), and
  its own `stage_ms.assign_ms` from `--report` (the model's assignment alone, summed over batches);
- the Python package's `Model.load(M).assign(x)` on the same rows in memory (the setting of the
  references: no reading, no writing; skipped when the package is not installed);
- FAISS `IndexFlatL2(D)` holding the centroids, `search(x, 1)`;
- scikit-learn `KMeans.predict` with the same centroids.

Every library gets the same threads (--threads). Prints medians, rows/s, the ratios, and how
many labels each reference shares with embedmap's (all but exact ties: each is the exact
nearest centroid).

    python3 benches/compare_assign.py            # 1,000,000 × 384, k = 100, 2 threads
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache-dir", default=os.path.expanduser("~/.cache/embedmap-bench"))
    ap.add_argument("--binary", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/embedmap-target")),
                                                     "release", "embedmap"))
    a = ap.parse_args()
    for v in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS", "POLARS_MAX_THREADS"]:
        os.environ[v] = str(a.threads)
    import numpy as np
    from threadpoolctl import threadpool_limits

    threadpool_limits(a.threads)
    os.makedirs(a.cache_dir, exist_ok=True)
    data = os.path.join(a.cache_dir, f"assign_{a.rows}_{a.dim}.npy")
    if not os.path.exists(data):
        rng = np.random.default_rng(0)
        centres = rng.normal(0, 1, (a.k, a.dim)).astype(np.float32)
        x = np.empty((a.rows, a.dim), np.float32)
        for s in range(0, a.rows, 100_000):
            m = min(100_000, a.rows - s)
            x[s:s + m] = centres[rng.integers(0, a.k, m)] + rng.normal(0, 0.6, (m, a.dim)).astype(np.float32)
        np.save(data + ".part.npy", x)
        os.replace(data + ".part.npy", data)
        del x
    x = np.load(data, mmap_mode="r")
    x = np.ascontiguousarray(x)
    tmp = tempfile.mkdtemp(prefix="embedmap-assign-")
    model = os.path.join(tmp, "m.embedmap.json")
    subprocess.run([a.binary, "fit", data, "--algo", "kmeans", "--k", str(a.k), "--n-init", "1", "--max-iter", "3",
                    "--model", model], check=True, stderr=subprocess.DEVNULL)
    with open(model) as f:
        m = json.load(f)
    m["projection"] = None
    with open(model, "w") as f:
        json.dump(m, f)
    c = np.asarray(m["assignment"]["centroids"]["values"], np.float32).reshape(a.k, a.dim)

    ours_total, ours_assign, ours_labels = [], [], None
    for _ in range(a.repeat):
        out, rep = os.path.join(tmp, "o.parquet"), os.path.join(tmp, "r.json")
        t = time.perf_counter()
        subprocess.run([a.binary, "assign", data, "--model", model, "--out", out, "--columns", "id-only", "--report", rep],
                       check=True, stderr=subprocess.DEVNULL)
        ours_total.append(time.perf_counter() - t)
        with open(rep) as f:
            ours_assign.append(json.load(f)["stage_ms"]["assign_ms"] / 1e3)
        import pyarrow.parquet as pq

        ours_labels = pq.read_table(out, columns=["cluster"]).column("cluster").to_numpy()

    pkg_t, pkg_labels = [], None
    try:
        import embedmap

        loaded = embedmap.Model.load(model)
        for _ in range(a.repeat):
            t = time.perf_counter()
            res = loaded.assign(x)
            pkg_t.append(time.perf_counter() - t)
        pkg_labels = np.asarray(res["cluster"] if isinstance(res, dict) else getattr(res, "cluster", res))
    except ImportError:
        pass

    import faiss

    faiss.omp_set_num_threads(a.threads)
    index = faiss.IndexFlatL2(a.dim)
    index.add(c)
    faiss_t, faiss_labels = [], None
    for _ in range(a.repeat):
        t = time.perf_counter()
        _, i = index.search(x, 1)
        faiss_t.append(time.perf_counter() - t)
        faiss_labels = i.ravel()

    import sklearn
    from sklearn.cluster import KMeans

    km = KMeans(a.k, n_init=1, max_iter=1).fit(c)  # fitted on the centroids; then its centres are set exactly
    km.cluster_centers_ = c.copy()
    sk_t, sk_labels = [], None
    for _ in range(a.repeat):
        t = time.perf_counter()
        sk_labels = km.predict(x)
        sk_t.append(time.perf_counter() - t)

    med = statistics.median
    rate = lambda s: a.rows / s  # noqa: E731
    print(f"assign {a.rows} × {a.dim} to k = {a.k} centroids, {a.threads} threads; medians of {a.repeat}; "
          f"faiss {faiss.__version__}, scikit-learn {sklearn.__version__}")
    rows = [
        ("embedmap assign: the model's assignment (stage_ms)", med(ours_assign)),
        ("embedmap assign: whole command (read .npy, write Parquet)", med(ours_total)),
        *([("embedmap package: Model.assign(x), rows in memory", med(pkg_t))] if pkg_t else []),
        ("FAISS IndexFlatL2.search(k=1)", med(faiss_t)),
        ("scikit-learn KMeans.predict", med(sk_t)),
    ]
    for name, s in rows:
        print(f"  {name:<60} {s * 1e3:9.0f} ms  {rate(s):12.0f} rows/s")
    print(f"  embedmap's assignment vs FAISS: {med(faiss_t) / med(ours_assign):.2f}× its speed (goal ≥ 1.0×); "
          f"vs scikit-learn: {med(sk_t) / med(ours_assign):.2f}× (goal ≥ 3×)")
    if pkg_t:
        print(f"  the package's assignment in memory vs FAISS: {med(faiss_t) / med(pkg_t):.2f}× its speed; "
              f"vs scikit-learn: {med(sk_t) / med(pkg_t):.2f}×; labels equal to the command's: "
              f"{np.array_equal(pkg_labels.astype(np.int64), ours_labels.astype(np.int64))}")
    print(f"  labels shared with embedmap: FAISS {np.mean(faiss_labels == ours_labels) * 100:.4f}%, "
          f"scikit-learn {np.mean(sk_labels == ours_labels) * 100:.4f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
