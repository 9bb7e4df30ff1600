#!/usr/bin/env python3
"""The Python package against the command line on the same data, one run: K-means and the exact
silhouette.

    pip install ./python
    cargo build --release
    python3 benches/compare_python.py [--repeat 5] [--binary PATH] [--debian PATH] [--cache-dir DIR]

Data: the 9,506 Debian descriptions (384-d MiniLM, ../shared/data/debian_pkgs.parquet beside the
repository) and make_blobs(100_000, 384, centers=20, cluster_std=7.0, random_state=0) from
benches/compare.py's cache (made here if missing).

The command line's time is the engine's stage time from `embedmap cluster --report`
(`timings_ms.cluster`, `.silhouette`), loading left out. The package's time is the wall time of
the Python call (`KMeans(...).fit(X)`, `silhouette_score(X, labels, metric=...)`) on an array
already in memory: it includes the copy to float32 and the NaN check the package does. Medians of
--repeat runs; the goal is within 10% of the command line's time.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import tempfile
import time

import numpy as np

import embedmap

ROOT = pathlib.Path(__file__).resolve().parents[1]


def cli_times(binary, path, args, repeat):
    out = {"cluster": [], "silhouette": []}
    labels = None
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            report = os.path.join(tmp, "r.json")
            csv = os.path.join(tmp, "o.csv")
            subprocess.run([binary, "cluster", path, *args, "--projection", "pca", "--no-trust", "--report", report,
                            "--out", csv], check=True, capture_output=True)
            r = json.load(open(report))
            out["cluster"].append(r["timings_ms"]["cluster"])
            out["silhouette"].append(r["timings_ms"]["silhouette"])
            labels = np.loadtxt(csv, delimiter=",", skiprows=1, usecols=0, dtype=np.int64)
    return {k: statistics.median(v) for k, v in out.items()}, labels


def py_times(X, k, metric, repeat):
    fit, sil = [], []
    labels = None
    for _ in range(repeat):
        t = time.perf_counter()
        km = embedmap.KMeans(k, metric=metric, n_init=3, random_state=0).fit(X)
        fit.append((time.perf_counter() - t) * 1e3)
        labels = km.labels_
        t = time.perf_counter()
        embedmap.silhouette_score(X, labels, metric=metric)
        sil.append((time.perf_counter() - t) * 1e3)
    return {"cluster": statistics.median(fit), "silhouette": statistics.median(sil)}, labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--binary", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"), "release", "embedmap"))
    ap.add_argument("--debian", default=str(ROOT.parent / "shared" / "data" / "debian_pkgs.parquet"))
    ap.add_argument("--cache-dir", default=os.path.expanduser("~/.cache/embedmap-bench"))
    a = ap.parse_args()
    os.makedirs(a.cache_dir, exist_ok=True)

    items = []
    deb = os.path.join(a.cache_dir, "debian_pkgs_384.npy")
    if not os.path.exists(deb) and os.path.exists(a.debian):
        import pyarrow.parquet as pq
        col = pq.read_table(a.debian, columns=["embedding"]).column("embedding")
        np.save(deb, np.stack(col.to_numpy(zero_copy_only=False)).astype(np.float32))
    if os.path.exists(deb):
        items.append(("debian 9.5k × 384, k=12, cosine", deb, 12, "cosine"))
        items.append(("debian 9.5k × 384, k=12, euclidean", deb, 12, "euclidean"))
    blobs = os.path.join(a.cache_dir, "blobs_100k_384.npy")
    if not os.path.exists(blobs):
        from sklearn.datasets import make_blobs
        X, _ = make_blobs(100_000, 384, centers=20, cluster_std=7.0, random_state=0)
        np.save(blobs, X.astype(np.float32))
    items.append(("blobs 100k × 384, k=20, cosine", blobs, 20, "cosine"))

    rows = []
    for name, path, k, metric in items:
        X = np.load(path)
        c, cl = cli_times(a.binary, path, ["--k", str(k), "--metric", metric, "--n-init", "3", "--silhouette", "exact"], a.repeat)
        p, pl = py_times(X, k, metric, a.repeat)
        same = bool(np.array_equal(cl, pl))
        for stage in ("cluster", "silhouette"):
            ratio = p[stage] / c[stage]
            rows.append((name, stage, c[stage], p[stage], ratio, same))
            print(f"{name:38} {stage:10}  CLI {c[stage]:8.1f} ms   Python {p[stage]:8.1f} ms   {ratio:5.2f}×  "
                  f"{'met' if ratio <= 1.10 else 'NOT met'} (≤ 1.10×)  labels {'identical' if same else 'DIFFER'}")
    if not all(r[5] for r in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
