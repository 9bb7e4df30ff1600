#!/usr/bin/env python3
"""Compare embedmap's engine with scikit-learn on the same data, on the same machine, in one run.

    pip install -r benches/requirements.txt
    cargo build --release
    python3 benches/compare.py [--n 10000] [--dim 384] [--k 20] [--repeat 3]

Data: n points around k Gaussian centres (fixed seed), written once as .npy. embedmap runs
through its command line (`embedmap cluster … --report`), whose report gives per-stage wall
times; scikit-learn runs in this process. Both use all cores. Medians of --repeat runs.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score


def embedmap_binary():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    path = os.path.join(target, "release", "embedmap")
    if not os.path.exists(path):
        sys.exit(f"build first (cargo build --release); not found: {path}")
    return path


def run_embedmap(binary, data, k, metric, silhouette, tmp):
    out = os.path.join(tmp, "out.parquet")
    report = os.path.join(tmp, "report.json")
    cmd = [binary, "cluster", data, "--k", str(k), "--metric", metric, "--n-init", "1", "--seed", "0",
           "--silhouette", silhouette, "--out", out, "--report", report]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    with open(report) as f:
        return json.load(f)


def timed(fn):
    t = time.perf_counter()
    value = fn()
    return (time.perf_counter() - t) * 1000.0, value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(a.k, a.dim)) * 3.0
    x = (centres[np.arange(a.n) % a.k] + rng.normal(size=(a.n, a.dim))).astype(np.float32)
    binary = embedmap_binary()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.npy")
        np.save(data, x)
        for metric in ["euclidean", "cosine"]:
            ours = [run_embedmap(binary, data, a.k, metric, "exact", tmp) for _ in range(a.repeat)]
            xm = x / np.linalg.norm(x, axis=1, keepdims=True) if metric == "cosine" else x
            km = [timed(lambda: KMeans(a.k, n_init=1, init="k-means++", random_state=0, algorithm="lloyd").fit(xm))
                  for _ in range(a.repeat)]
            labels = km[0][1].labels_
            sil = [timed(lambda: silhouette_score(x, labels, metric=metric)) for _ in range(a.repeat)]
            rows.append((f"K-means k={a.k} ({metric}{', on unit rows' if metric == 'cosine' else ''})",
                         statistics.median(r["timings_ms"]["cluster"] for r in ours),
                         statistics.median(t for t, _ in km)))
            rows.append((f"silhouette exact ({metric})",
                         statistics.median(r["timings_ms"]["silhouette"] for r in ours),
                         statistics.median(t for t, _ in sil)))
            if metric == "euclidean":
                pca = [timed(lambda: PCA(2, svd_solver="covariance_eigh").fit_transform(x)) for _ in range(a.repeat)]
                rows.append(("PCA to 2-D", statistics.median(r["timings_ms"]["project"] for r in ours),
                             statistics.median(t for t, _ in pca)))
                inertia_ours = ours[0]["inertia"]
                inertia_sk = km[0][1].inertia_
    print(f"{a.n} × {a.dim}, k={a.k}, medians of {a.repeat} runs")
    print(f"{'work':45s} {'embedmap ms':>12s} {'sklearn ms':>12s} {'ratio':>8s}")
    for name, ours_ms, ref_ms in rows:
        print(f"{name:45s} {ours_ms:12.1f} {ref_ms:12.1f} {ours_ms / ref_ms:8.3f}")
    print(f"K-means inertia (euclidean): embedmap {inertia_ours:.6g}, sklearn {inertia_sk:.6g}")


if __name__ == "__main__":
    main()
