#!/usr/bin/env python3
"""Compare embedmap's command line with reference Python libraries: same data, same machine, one run.

    pip install -r benches/requirements.txt
    cargo build --release
    python3 benches/compare.py [--only kmeans_100k,ward_20k] [--repeat 3] [--large] [--slow]
                               [--json-out results.json] [--cache-dir DIR] [--binary PATH]
    python3 benches/compare.py --only umap          # the UMAP items only (umap_debian, umap_20k, umap_100k)
    python3 benches/compare.py --only tsne          # the t-SNE items only (tsne_debian, tsne_20k)

Data (made once, kept as float32 .npy in --cache-dir, default ~/.cache/embedmap-bench/):
  A  make_blobs(100_000, 384, centers=20, cluster_std=7.0, random_state=0)
  B  the 20,000-row subset of A at np.sort(default_rng(0).choice(100_000, 20_000, replace=False))
  U  default_rng(1).random((100_000, 384), float32), for the cost of one Lloyd iteration
  C  make_blobs(1_000_000, 128, centers=100, cluster_std=6.0, random_state=1), only with --large
  P  1,000,000 rows of `benches/make_scaled.py` (id, category, text, a 384-float list column; Debian
     embeddings with noise), a 1.5 GB Parquet file in row groups of 100k, only with --large
  D  the 9,506 Debian package descriptions of --debian (default ../shared/data/debian_pkgs.parquet
     beside the repository), their 384-d `embedding` list column as float32

embedmap runs through `embedmap cluster … --report`; its time for a work item is the stage time
from the report (`timings_ms.cluster`, `.silhouette` or `.project`), so loading the file is left
out. Each reference runs in its own Python subprocess with the data already in memory and is
timed around the call with time.perf_counter. Every process (embedmap and each reference) runs
under `/usr/bin/time -f %M` for its peak resident memory, which therefore includes the loaded data
and, for the references, the interpreter and its imports. Everything is limited to --threads
threads (default 2). Figures are medians of --repeat runs (default 3); a run longer than 20 s is
not repeated, and the ward references run once. Quality checks are computed here, the same way
for both sides: inertia in float64 from the labels, ARI between the two labelings (noise, -1,
counts as one label), cluster and noise counts.

kmeans_debian: K-means to convergence on real text (D, k = 12, 3 restarts, tol 1e-4) against
sklearn's KMeans(12, n_init=3) on the rows normalised to unit length (left out of its time; the
rows already are unit to 1e-7). embedmap runs twice: euclidean, the same objective as sklearn's
(squared distance to the group mean), judged on it; and cosine (spherical K-means), judged on the
cosine objective Σ 1 − x·c (c the group's unit mean). Both labelings are scored on both.

The cost of one Lloyd iteration (lloyd_iter_100k) is (time with --max-iter 50 − time with
--max-iter 1) / 49, on both sides, so that the initialisation drops out; it is quoted against
numpy's float32 GEMM roof measured in the same run. The goals are printed beside the figures
and marked met or not; the exit status is 1 when a work item failed to run.

The UMAP items (umap_debian on D, umap_20k on B, umap_100k on A, cosine) run `embedmap project FILE
--projection umap --metric cosine --seed 0 --report`; its time is `projection.ms` of the report
(the whole projection: neighbour graph, fuzzy set, initialisation, optimisation) and its quality
the report's `projection.trust`. The reference is umap-learn, UMAP(n_neighbors=15, min_dist=0.1,
metric='cosine', random_state=None, n_jobs=-1) (unseeded, so parallel: its fastest), timed
around fit_transform after an untimed small fit that compiles its numba code. The reference's
trust figures are computed here, after the timing, with embedmap's definition: exact (sklearn's
trustworthiness, k = 15) up to 10,000 rows, else on a seeded sample of 2,000 rows; kNN recall@15
is the mean share of each row's 15 nearest in the full space that are among its 15 nearest on the
map. embedmap's map is measured here too, on the same rows, as a check of its own figures.

The t-SNE items (tsne_debian on D, tsne_20k on B, cosine) run `embedmap project FILE --projection
tsne --metric cosine --seed 0 --report` and are timed and scored like the UMAP items (the same
report fields, the same trust figures). The reference is openTSNE, TSNE(perplexity=30,
metric='cosine', n_jobs=--threads, random_state=0, negative_gradient_method='fft') with its other
defaults (approximate neighbours by Annoy from 1,000 rows on, PCA start, 250 + 500 iterations),
timed around fit after an untimed small fit.

pipeline_1m is a new user's first run on a big file: `embedmap cluster P --k 50 --metric cosine
--seed 0 --out OUT.parquet --report R` (load, mini-batch K-means, sampled silhouette, PCA and its
trust figures, export of every column plus the results). Its stage times (`timings_ms`) stand
beside pyarrow on the same files, each --repeat times in a fresh process: `read_table` of P with
the embedding made one float32 numpy matrix (the load's reference), and `write_table` of OUT's
table as embedmap wrote it, zstd (embedmap's codec) and snappy (pyarrow's default) (the export's
reference). Peak memory is judged against the float32 matrix plus the Arrow size of the other
input columns; the output's original columns must keep their Arrow types.

--rows N keeps only the first N rows of every data set: a quick check that the script runs; the
goals are then not judged.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

LONG_RUN_S = 20.0  # a run longer than this is not repeated

ITEMS = [
    "kmeans_100k",
    "kmeans_debian",
    "lloyd_iter_100k",
    "kmeans_1m",
    "pipeline_1m",
    "silhouette_eucl_20k",
    "silhouette_cos_20k",
    "pca_100k",
    "dbscan_20k",
    "ward_20k",
    "hdbscan_20k",
    "umap_debian",
    "umap_20k",
    "umap_100k",
    "tsne_debian",
    "tsne_20k",
]

# Items that only run with --large.
LARGE_ITEMS = ["kmeans_1m", "pipeline_1m"]

# Names that --only accepts for a set of items.
GROUPS = {"umap": ["umap_debian", "umap_20k", "umap_100k"], "tsne": ["tsne_debian", "tsne_20k"]}

GOALS = {
    "kmeans_100k": "≤ 0.5× FAISS, inertia ≤ FAISS + 0.1%",
    "lloyd_iter_100k": "≥ 40% of the GEMM roof",
    "kmeans_1m": "≤ 4 s",
    "pipeline_1m": "load ≤ 1.0× pyarrow's read, export ≤ 1.5× its write, peak ≤ 1.5× the matrix + metadata",
    "kmeans_debian": "≤ 0.3× sklearn, objective ≤ sklearn's",
    "silhouette_eucl_20k": "≤ 0.2× sklearn",
    "silhouette_cos_20k": "≤ 0.005× sklearn",
    "pca_100k": "≤ 0.6× sklearn",
    "dbscan_20k": "≤ 0.4× sklearn",
    "ward_20k": "≤ 0.1× time and ≤ 0.5× memory",
    "hdbscan_20k": "≤ 0.2× fast_hdbscan",
    "umap_debian": "≤ 0.25× umap-learn, trustworthiness ≥ umap-learn − 0.01",
    "umap_20k": "≤ 0.25× umap-learn, trustworthiness ≥ umap-learn − 0.01",
    "umap_100k": "≤ 0.25× umap-learn, trustworthiness ≥ umap-learn − 0.01",
    "tsne_debian": "≤ 0.5× openTSNE, trustworthiness ≥ openTSNE − 0.01",
    "tsne_20k": "≤ 0.5× openTSNE, trustworthiness ≥ openTSNE − 0.01",
}

# Trust figures of a map, as embedmap computes them (src/engine/project/trust.rs).
TRUST_K = 15
TRUST_EXACT_MAX = 10_000  # rows up to which every row is measured
TRUST_SAMPLE_ROWS = 2_000  # rows measured above that

DEBIAN_DEFAULT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                               "shared", "data", "debian_pkgs.parquet"))

THREAD_ENV = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS", "RAYON_NUM_THREADS",
              "POLARS_MAX_THREADS"]


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(xs):
    return statistics.median(xs) if xs else None


# ----------------------------------------------------------------------------------------------
# Worker: one reference library, in its own process (for its peak memory), data in memory.
# ----------------------------------------------------------------------------------------------

def worker(spec_path):
    with open(spec_path) as f:
        spec = json.load(f)
    threads = spec["threads"]
    import numpy as np
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    lib, p = spec["lib"], spec["params"]
    x = np.load(spec["data"]) if spec.get("data") else None
    labels_in = np.load(spec["labels"]) if spec.get("labels") else None
    versions = {"numpy": np.__version__}
    setup = None  # called once, untimed, before the timed runs
    out = {}  # out["xy"]: a 2-D layout, saved for the driver (the last run's)

    if lib.startswith("faiss"):
        import faiss

        faiss.omp_set_num_threads(threads)
        versions["faiss"] = faiss.__version__

        def run():
            km = faiss.Kmeans(x.shape[1], p["k"], niter=p["niter"], seed=p["seed"], **p.get("extra", {}))
            km.train(x)
            _, assign = km.index.search(x, 1)
            return assign.ravel(), {"n_iter": p["niter"], "train_points": min(x.shape[0], p["k"] * km.cp.max_points_per_centroid)}

    elif lib == "sklearn_kmeans":
        import sklearn
        from sklearn.cluster import KMeans

        versions["sklearn"] = sklearn.__version__

        if p.get("normalize"):  # cosine through euclidean K-means: unit rows, made before the timing
            x = x / np.linalg.norm(x, axis=1, keepdims=True)

        def run():
            km = KMeans(p["k"], init=p["init"], n_init=p.get("n_init", 1), max_iter=p["max_iter"], tol=p["tol"],
                        random_state=p["seed"]).fit(x)
            return km.labels_, {"n_iter": int(km.n_iter_), "inertia": float(km.inertia_)}

        if p["max_iter"] == 1:  # sklearn warns that one iteration did not converge
            import warnings

            from sklearn.exceptions import ConvergenceWarning

            warnings.simplefilter("ignore", ConvergenceWarning)

    elif lib == "sklearn_silhouette":
        import sklearn
        from sklearn.metrics import silhouette_score

        versions["sklearn"] = sklearn.__version__

        def run():
            return None, {"silhouette": float(silhouette_score(x, labels_in, metric=p["metric"]))}

    elif lib == "sklearn_pca":
        import sklearn
        from sklearn.decomposition import PCA

        versions["sklearn"] = sklearn.__version__

        def run():
            pca = PCA(2, svd_solver="covariance_eigh")
            out["xy"] = pca.fit_transform(x)
            return None, {"explained_variance_ratio": [float(v) for v in pca.explained_variance_ratio_]}

    elif lib == "sklearn_dbscan":
        import sklearn
        from sklearn.cluster import DBSCAN

        versions["sklearn"] = sklearn.__version__

        def run():
            return DBSCAN(eps=p["eps"], min_samples=p["min_samples"], n_jobs=threads).fit(x).labels_, {}

    elif lib in ("fastcluster_ward_vector", "fastcluster_ward"):
        import fastcluster
        from scipy.cluster.hierarchy import fcluster

        versions["fastcluster"] = fastcluster.__version__

        def run():
            if lib == "fastcluster_ward_vector":
                z = fastcluster.linkage_vector(x, method="ward")
            else:
                z = fastcluster.linkage(x, method="ward")
            return fcluster(z, p["k"], criterion="maxclust") - 1, {}

    elif lib == "sklearn_ward":
        import sklearn
        from sklearn.cluster import AgglomerativeClustering

        versions["sklearn"] = sklearn.__version__

        def run():
            return AgglomerativeClustering(p["k"], linkage="ward").fit(x).labels_, {}

    elif lib == "fast_hdbscan":
        import fast_hdbscan
        from importlib.metadata import version

        versions["fast_hdbscan"] = version("fast_hdbscan")

        def setup():
            # Numba compiles on the first call: do it on a small array, untimed.
            small = np.random.default_rng(0).normal(size=(2000, x.shape[1])).astype(x.dtype)
            fast_hdbscan.HDBSCAN(min_cluster_size=p["min_cluster_size"]).fit(small)

        def run():
            return fast_hdbscan.HDBSCAN(min_cluster_size=p["min_cluster_size"]).fit(x).labels_, {}

    elif lib == "sklearn_hdbscan":
        import sklearn
        from sklearn.cluster import HDBSCAN

        versions["sklearn"] = sklearn.__version__

        import inspect

        kw = {"copy": True} if "copy" in inspect.signature(HDBSCAN).parameters else {}

        def run():
            return HDBSCAN(min_cluster_size=p["min_cluster_size"], n_jobs=threads, **kw).fit(x).labels_, {}

    elif lib == "umap_learn":
        import warnings
        from importlib.metadata import version

        import numba
        import umap

        versions.update({"umap-learn": version("umap-learn"), "numba": numba.__version__,
                         "pynndescent": version("pynndescent")})
        warnings.filterwarnings("ignore", module="umap")  # e.g. about n_jobs, spectral init

        def model():
            # random_state=None: unseeded, so umap-learn runs in parallel (seeded, it is serial).
            return umap.UMAP(n_neighbors=p["n_neighbors"], min_dist=p["min_dist"], metric=p["metric"],
                             random_state=None, n_jobs=-1, **p.get("extra", {}))

        def setup():
            # Numba compiles on the first call: fit a small array first, untimed. Below 4,096 rows
            # umap-learn finds neighbours by brute force; force NN-descent (what the timed fit
            # uses on larger data) so that it compiles too.
            small = np.random.default_rng(0).normal(size=(1000, x.shape[1])).astype(np.float32)
            umap.UMAP(n_neighbors=p["n_neighbors"], min_dist=p["min_dist"], metric=p["metric"], random_state=None,
                      n_jobs=-1, force_approximation_algorithm=x.shape[0] >= 4096).fit_transform(small)

        def run():
            m = model()
            out["xy"] = np.asarray(m.fit_transform(x), dtype=np.float32)
            return None, {"n_neighbors": p["n_neighbors"], "min_dist": p["min_dist"], "metric": p["metric"],
                          "n_epochs": None if m.n_epochs is None else int(m.n_epochs),
                          "graph_nnz": int(m.graph_.nnz)}

    elif lib == "opentsne":
        import logging
        from importlib.metadata import version

        import openTSNE

        versions["openTSNE"] = version("openTSNE")
        logging.getLogger("openTSNE").setLevel(logging.ERROR)  # e.g. about the perplexity of a small fit

        def model(**extra):
            return openTSNE.TSNE(perplexity=p["perplexity"], metric=p["metric"], n_jobs=threads,
                                 random_state=p["seed"], negative_gradient_method="fft", **extra)

        def setup():
            # First-call costs (loading the extension modules, Annoy, the FFT) on a small array,
            # untimed; 1,000 rows take the same neighbour method as the timed fit.
            small = np.random.default_rng(0).normal(size=(1000, x.shape[1])).astype(np.float32)
            model(early_exaggeration_iter=10, n_iter=10).fit(small)

        def run():
            emb = model().fit(x)
            out["xy"] = np.asarray(emb, dtype=np.float32)
            return None, {"perplexity": p["perplexity"], "metric": p["metric"], "seed": p["seed"],
                          "neighbors": type(emb.affinities.knn_index).__name__,
                          "k_neighbors": int(emb.affinities.knn_index.k), "P_nnz": int(emb.affinities.P.nnz),
                          "kl_divergence": float(emb.kl_divergence)}

    elif lib == "numpy_gemm":
        rng = np.random.default_rng(0)
        a = rng.random((4096, 384), dtype=np.float32)
        b = rng.random((384, 4096), dtype=np.float32)
        a @ b  # warm-up

        def run():
            a @ b
            return None, {"flops": 2 * 4096 * 384 * 4096}

    else:
        raise SystemExit(f"unknown reference: {lib}")

    if setup is not None:
        setup()
    times, labels, info = [], None, {}
    for i in range(spec["repeat"]):
        t = time.perf_counter()
        lab, info = run()
        times.append((time.perf_counter() - t) * 1000.0)
        if labels is None and lab is not None:
            labels = np.asarray(lab)
        if times[-1] > LONG_RUN_S * 1000.0:
            break
    if labels is not None and spec.get("labels_out"):
        np.save(spec["labels_out"], labels.astype(np.int64))
    if out.get("xy") is not None and spec.get("xy_out"):
        np.save(spec["xy_out"], out["xy"])
    with open(spec["result_out"], "w") as f:
        json.dump({"times_ms": times, "info": info, "versions": versions}, f)


# ----------------------------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.a = args
        self.threads = args.threads
        self.tmp = tempfile.mkdtemp(prefix="embedmap-compare-")
        self.cache = os.path.expanduser(args.cache_dir)
        os.makedirs(self.cache, exist_ok=True)
        self.env = dict(os.environ)
        for v in THREAD_ENV:
            self.env[v] = str(self.threads)
        self.binary = args.binary or find_binary()
        self.embedmap_runs = {}  # command key -> run record, shared between items
        self.binary_mtimes = set()  # the binary may be rebuilt while the script runs
        self.rows = []
        self.notes = []
        self.versions = {}
        self._data = {}
        self._counter = 0

    # -- data ------------------------------------------------------------------------------------

    def data(self, name):
        """Path of data set `name` (A, B, U, C, D), made and cached on first use; also its labels.
        With --rows N, of its first N rows (cached beside it)."""
        import numpy as np

        if name in self._data:
            return self._data[name]
        path, lpath = self._make(name)
        n = self.a.rows
        if n:
            full = np.load(path, mmap_mode="r")
            if n < full.shape[0]:
                sub = path[:-len(".npy")] + f"_rows{n}.npy"
                lsub = lpath[:-len(".npy")] + f"_rows{n}.npy" if lpath else None
                if not os.path.exists(sub) or (lsub and not os.path.exists(lsub)):
                    log(f"data set {name}: its first {n} rows -> {sub}")
                    np.save(sub + ".part.npy", np.ascontiguousarray(full[:n]))
                    os.replace(sub + ".part.npy", sub)
                    if lsub:
                        np.save(lsub, np.load(lpath)[:n])
                path, lpath = sub, lsub
            del full
        self._data[name] = (path, lpath)
        return self._data[name]

    def _make(self, name):
        import numpy as np

        files = {
            "A": ("blobs_100k_384.npy", "blobs_100k_384_labels.npy"),
            "B": ("blobs_20k_384.npy", "blobs_20k_384_labels.npy"),
            "U": ("uniform_100k_384.npy", None),
            "C": ("blobs_1m_128.npy", "blobs_1m_128_labels.npy"),
            "D": ("debian_pkgs_384.npy", None),
        }[name]
        path = os.path.join(self.cache, files[0])
        lpath = os.path.join(self.cache, files[1]) if files[1] else None
        if not os.path.exists(path) or (lpath and not os.path.exists(lpath)):
            from sklearn.datasets import make_blobs

            log(f"making data set {name} -> {path}")
            if name == "D":
                x, y = load_embedding_column(self.a.debian, "embedding"), None
            elif name in ("A", "B"):
                xa, ya = make_blobs(n_samples=100_000, n_features=384, centers=20, cluster_std=7.0, random_state=0)
                xa = xa.astype(np.float32)
                idx = np.sort(np.random.default_rng(0).choice(100_000, 20_000, replace=False))
                both = {"A": (xa, ya), "B": (np.ascontiguousarray(xa[idx]), ya[idx])}
                x, y = both[name]
                other = "B" if name == "A" else "A"
                opath = os.path.join(self.cache, f"blobs_{'100k' if other == 'A' else '20k'}_384")
                if not os.path.exists(opath + ".npy"):  # the other one comes at no cost: keep it too
                    np.save(opath + ".part.npy", both[other][0])
                    np.save(opath + "_labels.npy", both[other][1].astype(np.int64))
                    os.replace(opath + ".part.npy", opath + ".npy")
            elif name == "U":
                x, y = np.random.default_rng(1).random((100_000, 384), dtype=np.float32), None
            else:
                x, y = make_blobs(n_samples=1_000_000, n_features=128, centers=100, cluster_std=6.0, random_state=1)
                x = x.astype(np.float32)
            np.save(path + ".part.npy", x)
            os.replace(path + ".part.npy", path)
            if lpath:
                np.save(lpath, y.astype(np.int64))
            del x
        return path, lpath

    def load(self, name):
        import numpy as np

        path, lpath = self.data(name)
        return np.load(path), (np.load(lpath) if lpath else None)

    def tmpfile(self, stem, ext):
        self._counter += 1
        return os.path.join(self.tmp, f"{self._counter:03d}-{stem}.{ext}")

    # -- embedmap --------------------------------------------------------------------------------

    def embedmap(self, data_name, args, repeat=None, command="cluster"):
        """Runs `embedmap cluster` (or `embedmap project`) on a data set; returns reports, peak
        memory, labels (cluster only), x/y, wall times."""
        key = (command, data_name, tuple(args))
        if key in self.embedmap_runs:
            return self.embedmap_runs[key]
        import numpy as np
        import pyarrow.parquet as pq

        path, _ = self.data(data_name)
        repeat = repeat or self.a.repeat
        reports, peaks, walls, labels, xy = [], [], [], None, None
        for i in range(repeat):
            out, rep, mem = self.tmpfile("embedmap", "parquet"), self.tmpfile("report", "json"), self.tmpfile("mem", "txt")
            cmd = [self.binary, command, path, *args, "--out", out, "--report", rep]
            log(f"embedmap {command} {' '.join(args)} on {data_name} ({i + 1}/{repeat})")
            wall = self.run_timed(cmd, mem, what="embedmap")
            self.binary_mtimes.add(os.path.getmtime(self.binary))
            with open(rep) as f:
                reports.append(json.load(f))
            peaks.append(read_peak_kb(mem))
            walls.append(wall)
            if xy is None:
                if command == "cluster":
                    t = pq.read_table(out, columns=["cluster", "x", "y"])
                    labels = t.column("cluster").to_numpy().astype(np.int64)
                else:
                    t = pq.read_table(out, columns=["row", "x", "y"])
                    if not (t.column("row").to_numpy() == np.arange(t.num_rows)).all():
                        raise RuntimeError(f"embedmap {command}: the rows of {out} are not in order")
                xy = np.stack([t.column("x").to_numpy(), t.column("y").to_numpy()], axis=1)
            for p in (out, rep, mem):
                os.remove(p)
            if wall > LONG_RUN_S:
                break
        run = {"cmd": ["embedmap", command, data_name, *args], "reports": reports, "peak_kb": peaks,
               "wall_s": walls, "labels": labels, "xy": xy}
        self.embedmap_runs[key] = run
        return run

    def run_timed(self, cmd, memfile, what):
        """Runs cmd under /usr/bin/time; retries while the embedmap binary is missing (rebuilt)."""
        for attempt in range(60):
            if what == "embedmap" and not os.path.exists(cmd[0]):
                log(f"embedmap binary missing ({cmd[0]}); waiting for it ({attempt + 1}/60)")
                time.sleep(20)
                continue
            t = time.perf_counter()
            r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", memfile, *cmd], env=self.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            wall = time.perf_counter() - t
            if r.returncode == 0:
                return wall
            err = r.stderr.strip()
            transient = what == "embedmap" and (not os.path.exists(cmd[0]) or "Text file busy" in err
                                                or ("No such file" in err and cmd[0] in err))
            if transient:
                log(f"embedmap binary unavailable; retrying in 20 s ({attempt + 1}/60)")
                time.sleep(20)
                continue
            raise RuntimeError(f"{what} failed (exit {r.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
        raise RuntimeError(f"gave up waiting for the embedmap binary: {cmd[0]}")

    # -- references ------------------------------------------------------------------------------

    def reference(self, lib, data_name, params, labels=None, repeat=None):
        import numpy as np

        spec = {"lib": lib, "params": params, "threads": self.threads, "repeat": repeat or self.a.repeat,
                "data": self.data(data_name)[0] if data_name else None,
                "result_out": self.tmpfile(lib, "json"), "labels_out": self.tmpfile(lib + "-labels", "npy"),
                "xy_out": self.tmpfile(lib + "-xy", "npy")}
        if labels is not None:
            spec["labels"] = self.tmpfile("labels-in", "npy")
            np.save(spec["labels"], labels)
        spec_path, mem = self.tmpfile("spec", "json"), self.tmpfile("mem", "txt")
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        log(f"{lib} {params} on {data_name or '-'} (up to {spec['repeat']} runs)")
        self.run_timed([sys.executable, os.path.abspath(__file__), "--worker", spec_path], mem, what=lib)
        with open(spec["result_out"]) as f:
            res = json.load(f)
        self.versions.update(res["versions"])
        res["peak_kb"] = read_peak_kb(mem)
        res["labels"] = np.load(spec["labels_out"]) if os.path.exists(spec["labels_out"]) else None
        res["xy"] = np.load(spec["xy_out"]) if os.path.exists(spec["xy_out"]) else None
        return res

    # -- rows ------------------------------------------------------------------------------------

    def row(self, item, reference, ref_ms, ours_ms, ref_peak_kb=None, ours_peak_kb=None, met=None,
            quality="", extra=None, goal=None, ratio=None):
        if ratio is None and ref_ms and ours_ms is not None:
            ratio = ours_ms / ref_ms
        if self.a.rows:  # a subset: not the benchmark's data, so no verdict
            met = None
        r = {"item": item, "reference": reference, "reference_ms": ref_ms, "embedmap_ms": ours_ms,
             "ratio": ratio, "goal": goal if goal is not None else GOALS[item], "met": met,
             "reference_peak_mb": ref_peak_kb / 1024 if ref_peak_kb else None,
             "embedmap_peak_mb": ours_peak_kb / 1024 if ours_peak_kb else None,
             "memory_ratio": (ours_peak_kb / ref_peak_kb) if ref_peak_kb and ours_peak_kb else None,
             "quality": quality, "details": extra or {}}
        self.rows.append(r)
        log(f"  {item} / {reference}: embedmap {fmt_ms(ours_ms)}, reference {fmt_ms(ref_ms)}, ratio {fmt_ratio(ratio)}; {quality}")
        return r

    def note(self, msg):
        self.notes.append(msg)
        log(f"note: {msg}")


def find_binary():
    candidates = []
    if os.environ.get("CARGO_TARGET_DIR"):
        candidates.append(os.path.join(os.environ["CARGO_TARGET_DIR"], "release", "embedmap"))
    candidates.append(os.path.expanduser("~/.cache/embedmap-target/release/embedmap"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates.append(os.path.join(root, "target", "release", "embedmap"))
    for c in candidates:
        if os.path.exists(c):
            return c
    # Perhaps being rebuilt: return the first candidate; run_timed waits for it.
    log(f"embedmap binary not found yet; looked at: {', '.join(candidates)} (build with cargo build --release)")
    return candidates[0]


def load_embedding_column(path, column):
    """A parquet file's list column of floats as a float32 (rows, dim) array."""
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not os.path.exists(path):
        raise RuntimeError(f"{path} not found (--debian gives its place)")
    col = pq.read_table(path, columns=[column]).column(column).combine_chunks()
    if col.null_count:
        raise RuntimeError(f"{path}: {col.null_count} rows without an {column}")
    lengths = pc.list_value_length(col).to_numpy()
    if len(lengths) == 0 or (lengths != lengths[0]).any():
        raise RuntimeError(f"{path}: the lists of {column} differ in length ({lengths.min()}–{lengths.max()})")
    x = col.flatten().to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(col), int(lengths[0]))
    if not np.isfinite(x).all():
        raise RuntimeError(f"{path}: {column} has NaN or infinite values")
    return np.ascontiguousarray(x)


def read_peak_kb(path):
    try:
        with open(path) as f:
            lines = [ln.strip() for ln in f if ln.strip()]
        return int(lines[-1])
    except (OSError, ValueError, IndexError):
        return None


def mem_available_gb():
    with open("/proc/meminfo") as f:
        for ln in f:
            if ln.startswith("MemAvailable:"):
                return int(ln.split()[1]) / 1024 / 1024
    return float("nan")


def fmt_ms(ms):
    if ms is None:
        return "—"
    if ms >= 10_000:
        return f"{ms / 1000:.1f} s"
    if ms >= 100:
        return f"{ms:.0f} ms"
    return f"{ms:.2f} ms"


def fmt_ratio(r):
    return "—" if r is None else f"{r:.3g}×"


def fmt_mb(kb_mb):
    return "—" if kb_mb is None else f"{kb_mb:.0f}"


# -- quality helpers (float64, the same for both sides) ------------------------------------------

def inertia(x, labels):
    """Sum of squared distances to the means of the labelled groups, in float64 (noise excluded)."""
    import numpy as np

    labels = np.asarray(labels)
    keep = labels >= 0
    order = np.argsort(labels[keep], kind="stable")
    xs, ls = x[keep][order], labels[keep][order]
    bounds = np.flatnonzero(np.diff(ls)) + 1
    total = 0.0
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(ls)]):
        seg = xs[lo:hi].astype(np.float64)
        seg -= seg.mean(axis=0)
        total += float(np.einsum("ij,ij->", seg, seg))
    return total


def ari(a, b):
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(a, b))


def n_clusters(labels):
    import numpy as np

    return int(len(np.unique(labels[labels >= 0])))


def n_noise(labels):
    import numpy as np

    return int(np.sum(np.asarray(labels) < 0))


def trust_rows(x, maps, metric, k, rows):
    """For each map (an (n, 2) array) and each row i of `rows`: the trustworthiness penalty
    Σ max(0, r(i, j) − k) over the map's k nearest other points j of i, where r(i, j) is j's rank
    among i's full-space distances to the other rows (1 = nearest, ties to the lower index), and
    the kNN recall, the share of those j with r(i, j) ≤ k (that is, among i's k nearest in the
    full space). Full-space distances in float64, a block of rows at a time. Returns two arrays
    of shape (len(maps), len(rows))."""
    import numpy as np
    from sklearn.neighbors import NearestNeighbors

    n = x.shape[0]
    rows = np.asarray(rows, dtype=np.int64)
    # The map's k nearest of every point, itself excluded (as sklearn's trustworthiness does).
    map_nn = [NearestNeighbors(n_neighbors=k).fit(np.asarray(y, dtype=np.float64)).kneighbors(return_distance=False)[rows]
              for y in maps]
    pts = np.asarray(x, dtype=np.float64)
    if metric == "cosine":
        norms = np.linalg.norm(pts, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        pts, sq = pts / norms, None
    elif metric == "euclidean":
        pts = pts - pts.mean(axis=0)  # centred: less cancellation in |a|² + |b|² − 2ab
        sq = np.einsum("ij,ij->i", pts, pts)
    else:
        raise ValueError(f"metric {metric!r}: cosine or euclidean")
    pen = np.zeros((len(maps), len(rows)))
    rec = np.zeros((len(maps), len(rows)))
    idx = np.arange(n)
    per_block = max(1, min(256, 8_000_000 // n))  # about 64 MB of distances at a time
    for b0 in range(0, len(rows), per_block):
        rr = rows[b0:b0 + per_block]
        g = pts[rr] @ pts.T
        if sq is None:
            d = 1.0 - g
        else:
            d = np.maximum(sq[rr, None] + sq[None, :] - 2.0 * g, 0.0)  # squared: the same ranks
        del g
        d[np.arange(len(rr)), rr] = np.inf
        srt = np.sort(d, axis=1)
        for m, nn in enumerate(map_nn):
            nb = nn[b0:b0 + len(rr)]
            dj = np.take_along_axis(d, nb, axis=1)
            rank = np.empty(nb.shape, dtype=np.int64)
            for r in range(len(rr)):
                lo = np.searchsorted(srt[r], dj[r], side="left")
                hi = np.searchsorted(srt[r], dj[r], side="right")
                rank[r] = lo + 1
                for t in np.flatnonzero(hi - lo > 1):  # exact ties: by index
                    rank[r, t] = lo[t] + 1 + np.count_nonzero((d[r] == dj[r, t]) & (idx < nb[r, t]))
            pen[m, b0:b0 + len(rr)] = np.maximum(rank - k, 0).sum(axis=1)
            rec[m, b0:b0 + len(rr)] = (rank <= k).sum(axis=1) / k
    return pen, rec


def map_trust(x, maps, metric, k=TRUST_K, exact_max=TRUST_EXACT_MAX, sample_rows=TRUST_SAMPLE_ROWS, seed=0):
    """Trust figures of each map of x, as embedmap's report gives them (`projection.trust`):
    trustworthiness (sklearn's definition) and kNN recall@k; every row up to exact_max rows, with
    the trustworthiness from sklearn.manifold.trustworthiness itself; above, on sample_rows rows
    of np.random.default_rng(seed), the penalty's mean scaled to n rows, with 95% confidence
    half-widths (finite-population corrected) in `ci95`. None when k ≥ n / 2."""
    import numpy as np

    n = x.shape[0]
    if k >= n / 2:
        return [None] * len(maps)
    exact = n <= exact_max
    rows = np.arange(n) if exact else np.sort(np.random.default_rng(seed).choice(n, min(sample_rows, n), replace=False))
    pen, rec = trust_rows(x, maps, metric, k, rows)
    m = len(rows)
    scale = 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))
    figs = []
    for i, y in enumerate(maps):
        mp, mr = float(pen[i].mean()), float(rec[i].mean())
        fig = {"k": k, "trustworthiness": 1.0 - scale * mp * n, "knn_recall": mr, "rows_measured": m, "ci95": None}
        if exact:
            from sklearn.manifold import trustworthiness

            fig["trustworthiness_ranked_here"] = fig["trustworthiness"]
            fig["trustworthiness"] = float(trustworthiness(x, y, n_neighbors=k, metric=metric))
            fig["how"] = "exact: sklearn.manifold.trustworthiness; recall over every row"
        else:
            fpc = max(0.0, (n - m) / (n - 1.0)) ** 0.5
            half = [1.96 * float(np.std(v, ddof=1)) / m ** 0.5 * fpc for v in (pen[i], rec[i])]
            fig["ci95"] = [half[0] * scale * n, half[1]]
            fig["how"] = f"sample of {m} rows (default_rng({seed}))"
        figs.append(fig)
    return figs


def fmt_trust(t):
    if t is None:
        return "—"
    return f"{t['trustworthiness']:.4f}" + (f" ± {t['ci95'][0]:.4f}" if t.get("ci95") else "")


def stage(run, name):
    return median([r["timings_ms"][name] for r in run["reports"]])


def peak(run):
    return max(p for p in run["peak_kb"] if p is not None) if any(run["peak_kb"]) else None


# ----------------------------------------------------------------------------------------------
# Work items
# ----------------------------------------------------------------------------------------------

def item_kmeans_100k(b):
    x, truth = b.load("A")
    ours = b.embedmap("A", ["--algo", "kmeans", "--k", "20", "--n-init", "1", "--seed", "0"])
    ours_ms, ours_pk = stage(ours, "cluster"), peak(ours)
    ours_in = inertia(x, ours["labels"])
    rep_in = ours["reports"][0]["inertia"]
    if rep_in and abs(rep_in - ours_in) > 1e-4 * ours_in:
        b.note(f"kmeans_100k: embedmap reports inertia {rep_in:.6g}, recomputed from its labels {ours_in:.6g}")
    details_ours = {"inertia": ours_in, "reported_inertia": rep_in, "n_iter": ours["reports"][0]["n_iter"],
                    "ari_truth": ari(truth, ours["labels"])}
    refs = [
        ("faiss Kmeans (defaults: 25 iter, 256·k sample) + assign", "faiss_kmeans",
         {"k": 20, "niter": 25, "seed": 0}, True),
        ("faiss Kmeans (25 iter, all points) + assign", "faiss_kmeans_all",
         {"k": 20, "niter": 25, "seed": 0, "extra": {"max_points_per_centroid": 100_000}}, False),
        ("sklearn KMeans(20, n_init=1)", "sklearn_kmeans",
         {"k": 20, "init": "k-means++", "max_iter": 300, "tol": 1e-4, "seed": 0}, False),
    ]
    for name, lib, params, goal in refs:
        ref = b.reference(lib, "A", params)
        ref_in = inertia(x, ref["labels"])
        ref_ms = median(ref["times_ms"])
        rel = ours_in / ref_in - 1.0
        met = (ours_ms / ref_ms <= 0.5 and ours_in <= ref_in * 1.001) if goal else None
        q = f"inertia {ours_in:.5g} vs {ref_in:.5g} ({rel * 100:+.2f}%), ARI {ari(ours['labels'], ref['labels']):.4f}"
        b.row("kmeans_100k", name, ref_ms, ours_ms, ref["peak_kb"], ours_pk, met, q,
              {"embedmap": details_ours, "reference": {"inertia": ref_in, **ref["info"],
                                                       "ari_truth": ari(truth, ref["labels"]), "times_ms": ref["times_ms"]},
               "embedmap_times_ms": [r["timings_ms"]["cluster"] for r in ours["reports"]]},
              goal=None if goal else "(information)")


def gemm_roof(b):
    if "gemm_gflops" not in b.__dict__:
        ref = b.reference("numpy_gemm", None, {}, repeat=5)
        b.gemm_gflops = ref["info"]["flops"] / (median(ref["times_ms"]) / 1000.0) / 1e9
        b.note(f"numpy float32 GEMM roof (4096×384 · 384×4096, {b.threads} threads, median of 5): {b.gemm_gflops:.1f} GFLOP/s")
    return b.gemm_gflops


def item_lloyd_iter_100k(b):
    """One Lloyd iteration: (time of 50 iterations − time of 1) / 49, so that the initialisation
    (k-means++ for embedmap, which costs several iterations) and fixed costs drop out."""
    n, d, k = 100_000, 384, 20
    roof = gemm_roof(b)
    flops = 2 * n * k * d
    common = ["--algo", "kmeans", "--k", str(k), "--n-init", "1", "--tol", "0", "--seed", "0"]
    long_run = b.embedmap("U", [*common, "--max-iter", "50"])
    short_run = b.embedmap("U", [*common, "--max-iter", "1"])
    n_long, n_short = long_run["reports"][0]["n_iter"], short_run["reports"][0]["n_iter"]
    if n_long <= n_short:
        raise RuntimeError(f"embedmap ran {n_long} iterations with --max-iter 50 --tol 0, {n_short} with --max-iter 1")
    ours_ms = (stage(long_run, "cluster") - stage(short_run, "cluster")) / (n_long - n_short)
    ours_whole = median([r["timings_ms"]["cluster"] / r["n_iter"] for r in long_run["reports"]])
    ref_params = {"k": k, "init": "random", "tol": 0.0, "seed": 0}
    ref_long = b.reference("sklearn_kmeans", "U", {**ref_params, "max_iter": 50})
    ref_short = b.reference("sklearn_kmeans", "U", {**ref_params, "max_iter": 1})
    rn_long, rn_short = ref_long["info"]["n_iter"], ref_short["info"]["n_iter"]  # fixed seed: the same every run
    ref_ms = (median(ref_long["times_ms"]) - median(ref_short["times_ms"])) / (rn_long - rn_short)
    ref_whole = median(ref_long["times_ms"]) / rn_long

    def share(ms):
        return flops / (ms / 1000.0) / 1e9 / roof if ms > 0 else float("nan")

    ours_frac, ref_frac = share(ours_ms), share(ref_ms)
    q = (f"embedmap {ours_frac * 100:.0f}% of roof, sklearn {ref_frac * 100:.0f}% (roof {roof:.0f} GFLOP/s); "
         f"whole fit / n_iter: {ours_whole:.1f} vs {ref_whole:.1f} ms")
    b.row("lloyd_iter_100k", "sklearn KMeans(init='random', tol=0), per iteration (50 − 1 iter)", ref_ms, ours_ms,
          ref_long["peak_kb"], peak(long_run), ours_frac >= 0.40, q,
          {"gemm_roof_gflops": roof, "flops_per_iter": flops, "embedmap_fraction_of_roof": ours_frac,
           "sklearn_fraction_of_roof": ref_frac, "embedmap_n_iter": [n_long, n_short], "sklearn_n_iter": [rn_long, rn_short],
           "embedmap_whole_fit_per_iter_ms": ours_whole, "sklearn_whole_fit_per_iter_ms": ref_whole,
           "embedmap_cluster_ms": {"max_iter_50": [r["timings_ms"]["cluster"] for r in long_run["reports"]],
                                   "max_iter_1": [r["timings_ms"]["cluster"] for r in short_run["reports"]]},
           "sklearn_ms": {"max_iter_50": ref_long["times_ms"], "max_iter_1": ref_short["times_ms"]}})


def cosine_objective(xn, labels):
    """Spherical K-means' objective: Σ over rows of 1 − x·c with c its group's unit mean, on unit rows
    (float64). Euclidean K-means on the same unit rows minimises `inertia` instead."""
    import numpy as np

    total = 0.0
    for j in np.unique(labels):
        s = xn[labels == j].astype(np.float64).sum(axis=0)
        total += float((labels == j).sum()) - float(np.linalg.norm(s))
    return total


def item_kmeans_debian(b):
    """K-means to convergence on real text, k = 12, 3 restarts, tol 1e-4, against sklearn's KMeans on
    the same rows normalised to unit length (the MiniLM rows already are, to 1e-7). Two rows:
    embedmap euclidean (the same algorithm and objective as sklearn: squared distance to the group
    mean), judged on that objective; embedmap cosine (spherical K-means, the window's default for
    text), judged on its own objective, Σ 1 − x·c with c the group's unit mean. Both labelings are
    scored on both objectives."""
    import numpy as np

    x, _ = b.load("D")
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    ref = b.reference("sklearn_kmeans", "D", {"k": 12, "init": "k-means++", "n_init": 3, "max_iter": 300, "tol": 1e-4,
                                              "seed": 0, "normalize": True})
    ref_ms = median(ref["times_ms"])
    r_in, r_cos = inertia(xn, ref["labels"]), cosine_objective(xn, ref["labels"])
    for metric in ("euclidean", "cosine"):
        ours = b.embedmap("D", ["--algo", "kmeans", "--k", "12", "--metric", metric, "--n-init", "3", "--seed", "0"])
        ours_ms = stage(ours, "cluster")
        o_in, o_cos = inertia(xn, ours["labels"]), cosine_objective(xn, ours["labels"])
        judged = (o_in, r_in) if metric == "euclidean" else (o_cos, r_cos)
        met = ours_ms / ref_ms <= 0.3 and judged[0] <= judged[1] * (1 + 1e-9)
        q = (f"squared-distance objective {o_in:.6g} vs {r_in:.6g} ({(o_in / r_in - 1) * 100:+.3f}%), cosine {o_cos:.6g} "
             f"vs {r_cos:.6g} ({(o_cos / r_cos - 1) * 100:+.3f}%), judged on the "
             f"{'squared-distance' if metric == 'euclidean' else 'cosine'} one; ARI "
             f"{ari(ours['labels'], ref['labels']):.4f}; iterations {ours['reports'][0]['n_iter']} vs "
             f"{ref['info']['n_iter']} (kept restart)")
        b.row("kmeans_debian", f"sklearn KMeans(12, n_init=3) on unit rows; embedmap --metric {metric}", ref_ms, ours_ms,
              ref["peak_kb"], peak(ours), met, q,
              {"embedmap": {"metric": metric, "inertia_unit_rows": o_in, "cosine_objective": o_cos,
                            "n_iter": ours["reports"][0]["n_iter"],
                            "times_ms": [r["timings_ms"]["cluster"] for r in ours["reports"]]},
               "reference": {"inertia_unit_rows": r_in, "cosine_objective": r_cos, **ref["info"],
                             "times_ms": ref["times_ms"]}})


def item_kmeans_1m(b):
    x, truth = b.load("C")
    ours = b.embedmap("C", ["--algo", "kmeans", "--k", "100", "--n-init", "1", "--max-iter", "20", "--tol", "0",
                            "--seed", "0"])
    ours_ms = stage(ours, "cluster")
    ours_in = inertia(x, ours["labels"])
    refs = [
        ("sklearn KMeans(100, max_iter=20, tol=0), k-means++", "sklearn_kmeans",
         {"k": 100, "init": "k-means++", "max_iter": 20, "tol": 0.0, "seed": 0}),
        ("sklearn KMeans(100, max_iter=20, tol=0), init='random'", "sklearn_kmeans",
         {"k": 100, "init": "random", "max_iter": 20, "tol": 0.0, "seed": 0}),
        ("faiss Kmeans (20 iter, defaults: 256·k sample) + assign", "faiss_kmeans", {"k": 100, "niter": 20, "seed": 0}),
        ("faiss Kmeans (20 iter, all points) + assign", "faiss_kmeans_all",
         {"k": 100, "niter": 20, "seed": 0, "extra": {"max_points_per_centroid": 1_000_000}}),
    ]
    for name, lib, params in refs:
        ref = b.reference(lib, "C", params)
        ref_in = inertia(x, ref["labels"])
        q = (f"inertia {ours_in:.5g} vs {ref_in:.5g} ({(ours_in / ref_in - 1) * 100:+.2f}%), "
             f"ARI {ari(ours['labels'], ref['labels']):.4f}")
        b.row("kmeans_1m", name, median(ref["times_ms"]), ours_ms, ref["peak_kb"], peak(ours), ours_ms <= 4000.0, q,
              {"embedmap_inertia": ours_in, "reference_inertia": ref_in, "embedmap_n_iter": ours["reports"][0]["n_iter"],
               "reference": ref["info"], "embedmap_ari_truth": ari(truth, ours["labels"]),
               "reference_ari_truth": ari(truth, ref["labels"])})


def item_pipeline_1m(b):
    import pyarrow.parquet as pq

    rows = b.a.rows or 1_000_000
    name = "debian_1m" if rows == 1_000_000 else f"debian_{rows // 1000}k" if rows % 1000 == 0 else f"debian_{rows}"
    path = os.path.join(b.cache, name + ".parquet")
    if not os.path.exists(path):
        log(f"making data set P ({rows:,} rows) -> {path}")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "make_scaled.py")
        subprocess.run([sys.executable, script, "--rows", str(rows), "--source", b.a.debian, "--out", path], check=True)
    meta = pq.ParquetFile(path).metadata
    schema = pq.read_schema(path)
    dim = len(pq.read_table(path, columns=["embedding"]).slice(0, 1).column(0)[0])
    other = pq.read_table(path, columns=[c for c in schema.names if c != "embedding"])
    metadata_bytes = other.nbytes
    del other
    matrix_bytes = meta.num_rows * dim * 4
    ours_runs, ref_runs = [], []
    out = b.tmpfile("pipeline", "parquet")
    for i in range(b.a.repeat):
        rep, mem = b.tmpfile("report", "json"), b.tmpfile("mem", "txt")
        cmd = [b.binary, "cluster", path, "--k", "50", "--metric", "cosine", "--seed", "0", "--out", out, "--report", rep]
        log(f"embedmap cluster on P ({i + 1}/{b.a.repeat})")
        wall = b.run_timed(cmd, mem, what="embedmap")
        b.binary_mtimes.add(os.path.getmtime(b.binary))
        with open(rep) as f:
            report = json.load(f)
        ours_runs.append({"timings_ms": report["timings_ms"], "peak_kb": read_peak_kb(mem), "wall_s": wall})
        res, mem = b.tmpfile("pyarrow", "json"), b.tmpfile("mem", "txt")
        log(f"pyarrow read and write on P ({i + 1}/{b.a.repeat})")
        b.run_timed([sys.executable, "-c", PYARROW_IO, path, out, b.tmpfile("pyarrow-out", "parquet"), res], mem,
                    what="pyarrow")
        with open(res) as f:
            ref = json.load(f)
        ref["peak_kb"] = read_peak_kb(mem)
        ref_runs.append(ref)
    out_schema = pq.read_schema(out)
    changed = [f"{n}: {schema.field(n).type} -> {out_schema.field(n).type}" for n in schema.names
               if n not in out_schema.names or out_schema.field(n).type != schema.field(n).type]
    os.remove(out)
    med = lambda key: median([r["timings_ms"][key] for r in ours_runs])  # noqa: E731
    ref_med = lambda key: median([r[key] for r in ref_runs])  # noqa: E731
    stages = ", ".join(f"{k} {fmt_ms(med(k))}" for k in ("load", "cluster", "silhouette", "project", "trust", "export"))
    types = "output types as the input's" if not changed else "TYPES CHANGED: " + "; ".join(changed)
    load_ms, read_ms = med("load"), ref_med("read_ms")
    b.row("pipeline_1m", "load: pyarrow read_table + embedding to float32 numpy", read_ms, load_ms,
          max(r["peak_kb"] for r in ref_runs), None, load_ms <= read_ms, f"stages: {stages}",
          {"embedmap": ours_runs, "pyarrow": ref_runs}, goal="≤ 1.0×")
    export_ms = med("export")
    for codec in ("zstd", "snappy"):
        ref_ms = ref_med(f"write_{codec}_ms")
        b.row("pipeline_1m", f"export: pyarrow write_table of the same table, {codec}", ref_ms, export_ms,
              met=export_ms <= 1.5 * ref_ms, quality=types, goal="≤ 1.5×")
    peak_kb = max(r["peak_kb"] for r in ours_runs if r["peak_kb"])
    budget = 1.5 * matrix_bytes + metadata_bytes
    b.row("pipeline_1m", "peak memory: 1.5 × the f32 matrix + the other columns' Arrow size", None, None,
          None, peak_kb, peak_kb * 1024 <= budget,
          f"peak {peak_kb / 1024 ** 2:.2f} GB against {budget / 1024 ** 3:.2f} GB (matrix {matrix_bytes / 1024 ** 3:.2f} GB, "
          f"other columns {metadata_bytes / 1024 ** 3:.2f} GB); wall {median([r['wall_s'] for r in ours_runs]):.1f} s",
          goal="≤ 1.5× matrix + metadata", ratio=peak_kb * 1024 / (matrix_bytes + metadata_bytes))


# pyarrow's side of pipeline_1m: argv = input, embedmap's output, a scratch file, the result file.
PYARROW_IO = """
import json, os, sys, time
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
src, ours, scratch, result = sys.argv[1:5]
t = time.perf_counter()
table = pq.read_table(src)
x = table.column("embedding").combine_chunks().flatten().to_numpy(zero_copy_only=False).reshape(table.num_rows, -1)
x = np.ascontiguousarray(x, dtype=np.float32)
read_ms = (time.perf_counter() - t) * 1000
del x, table
out = pq.read_table(ours)
times = {}
for codec in ("zstd", "snappy"):
    t = time.perf_counter()
    pq.write_table(out, scratch, compression=codec)
    times[f"write_{codec}_ms"] = (time.perf_counter() - t) * 1000
    os.remove(scratch)
json.dump({"read_ms": read_ms, **times, "pyarrow": pa.__version__}, open(result, "w"))
"""


def item_silhouette(b, metric):
    item = "silhouette_eucl_20k" if metric == "euclidean" else "silhouette_cos_20k"
    ours = b.embedmap("B", ["--algo", "kmeans", "--k", "20", "--n-init", "1", "--seed", "0", "--metric", metric,
                            "--silhouette", "exact"])
    rep = ours["reports"][0]["silhouette"]
    if not rep.get("exact", False):
        b.note(f"{item}: embedmap's silhouette is not exact despite --silhouette exact")
    ref = b.reference("sklearn_silhouette", "B", {"metric": metric}, labels=ours["labels"])
    ours_ms, ref_ms = stage(ours, "silhouette"), median(ref["times_ms"])
    ratio = ours_ms / ref_ms
    limit = 0.2 if metric == "euclidean" else 0.005
    s_ref = ref["info"]["silhouette"]
    q = f"silhouette {rep['mean']:.6f} vs {s_ref:.6f} (diff {rep['mean'] - s_ref:+.1e}), same labels"
    b.row(item, f"sklearn silhouette_score(metric='{metric}') on embedmap's labels", ref_ms, ours_ms,
          ref["peak_kb"], peak(ours), ratio <= limit, q,
          {"embedmap_silhouette": rep, "sklearn_silhouette": s_ref,
           "embedmap_times_ms": [r["timings_ms"]["silhouette"] for r in ours["reports"]], "reference_times_ms": ref["times_ms"]})


def item_pca_100k(b):
    import numpy as np

    ours = b.embedmap("A", ["--algo", "kmeans", "--k", "20", "--n-init", "1", "--seed", "0"])
    ref = b.reference("sklearn_pca", "A", {})
    ours_ms, ref_ms = stage(ours, "project"), median(ref["times_ms"])
    rep0 = ours["reports"][0]
    # Older reports: pca_explained_variance_ratio; newer: projection.detail.explained_variance_ratio.
    evr_ours = rep0.get("pca_explained_variance_ratio") or rep0["projection"]["detail"]["explained_variance_ratio"]
    evr_ref = ref["info"]["explained_variance_ratio"]
    corr = [abs(float(np.corrcoef(ours["xy"][:, j], ref["xy"][:, j])[0, 1])) for j in range(2)]
    q = (f"explained variance {evr_ours[0]:.4f}/{evr_ours[1]:.4f} vs {evr_ref[0]:.4f}/{evr_ref[1]:.4f}; "
         f"|corr| of axes {corr[0]:.4f}/{corr[1]:.4f}")
    b.row("pca_100k", "sklearn PCA(2, svd_solver='covariance_eigh').fit_transform", ref_ms, ours_ms,
          None, None, ours_ms / ref_ms <= 0.6, q,
          {"embedmap_evr": evr_ours, "sklearn_evr": evr_ref, "abs_corr_axes": corr,
           "embedmap_times_ms": [r["timings_ms"]["project"] for r in ours["reports"]], "reference_times_ms": ref["times_ms"],
           "peak_memory": "not separable: embedmap's projection runs inside the k-means process"})


def dbscan_eps(b):
    """The median distance to the 5th nearest other point of B (cached)."""
    import numpy as np

    if b.a.eps:
        return b.a.eps
    cache = os.path.join(b.cache, f"dbscan_20k{f'_rows{b.a.rows}' if b.a.rows else ''}_eps.json")
    if os.path.exists(cache):
        with open(cache) as f:
            return json.load(f)["eps"]
    from sklearn.neighbors import NearestNeighbors
    from threadpoolctl import threadpool_limits

    x, _ = b.load("B")
    log("choosing eps for dbscan_20k: median distance to the 5th nearest neighbour")
    with threadpool_limits(b.threads):
        dist, _ = NearestNeighbors(n_neighbors=5, algorithm="brute").fit(x).kneighbors()
    eps = float(np.round(np.median(dist[:, 4]), 3))
    with open(cache, "w") as f:
        json.dump({"eps": eps, "how": "median distance to the 5th nearest other point of B"}, f)
    return eps


def item_dbscan_20k(b):
    x, truth = b.load("B")
    eps = dbscan_eps(b)
    b.note(f"dbscan_20k: eps = {eps} (median distance to the 5th nearest neighbour), min_samples = 5")
    ours = b.embedmap("B", ["--algo", "dbscan", "--eps", str(eps), "--min-samples", "5"])
    ref = b.reference("sklearn_dbscan", "B", {"eps": eps, "min_samples": 5})
    ours_ms, ref_ms = stage(ours, "cluster"), median(ref["times_ms"])
    lo, lr = ours["labels"], ref["labels"]
    q = (f"clusters {n_clusters(lo)} vs {n_clusters(lr)}, noise {n_noise(lo)} vs {n_noise(lr)}, "
         f"ARI {ari(lo, lr):.4f}")
    b.row("dbscan_20k", f"sklearn DBSCAN(eps={eps}, min_samples=5, n_jobs={b.threads})", ref_ms, ours_ms,
          ref["peak_kb"], peak(ours), ours_ms / ref_ms <= 0.4, q,
          {"eps": eps, "embedmap_noise": n_noise(lo), "sklearn_noise": n_noise(lr), "ari": ari(lo, lr),
           "embedmap_ari_truth": ari(truth, lo), "sklearn_ari_truth": ari(truth, lr),
           "embedmap_times_ms": [r["timings_ms"]["cluster"] for r in ours["reports"]], "reference_times_ms": ref["times_ms"]})
    b.note("dbscan_new_eps: skipped here. A second eps reuses the neighbour graph inside one process, which "
           "separate command-line runs cannot show; that is the criterion benches' part (cargo bench --bench engine).")


def item_ward_20k(b):
    x, truth = b.load("B")
    ours = b.embedmap("B", ["--algo", "hierarchical", "--linkage", "ward", "--k", "20"])
    ours_ms, ours_pk = stage(ours, "cluster"), peak(ours)
    # The goal compares with the matrix-based references; fastcluster's low-memory variant
    # (no matrix, about four times slower) is shown for information.
    refs = [("fastcluster linkage_vector(ward) + cut at 20", "fastcluster_ward_vector", False),
            ("fastcluster linkage(ward) + cut at 20", "fastcluster_ward", True),
            ("sklearn AgglomerativeClustering(20, linkage='ward')", "sklearn_ward", True)]
    for name, lib, goal in refs:
        if lib == "fastcluster_ward":
            free = mem_available_gb()
            if free < 6.0:
                b.note(f"ward_20k: fastcluster.linkage skipped, {free:.1f} GB available (< 6 GB)")
                continue
        ref = b.reference(lib, "B", {"k": 20}, repeat=1)  # about a minute or more each
        ref_ms = median(ref["times_ms"])
        mem_ratio = ours_pk / ref["peak_kb"] if ours_pk and ref["peak_kb"] else None
        met = (ours_ms / ref_ms <= 0.1 and mem_ratio is not None and mem_ratio <= 0.5) if goal else None
        q = (f"ARI {ari(ours['labels'], ref['labels']):.4f}, clusters {n_clusters(ours['labels'])} vs "
             f"{n_clusters(ref['labels'])}, inertia {inertia(x, ours['labels']):.5g} vs {inertia(x, ref['labels']):.5g}")
        b.row("ward_20k", name, ref_ms, ours_ms, ref["peak_kb"], ours_pk, met, q,
              {"embedmap_times_ms": [r["timings_ms"]["cluster"] for r in ours["reports"]],
               "reference_times_ms": ref["times_ms"], "embedmap_ari_truth": ari(truth, ours["labels"]),
               "reference_ari_truth": ari(truth, ref["labels"])},
              goal=None if goal else "(information)")


def item_hdbscan_20k(b):
    x, truth = b.load("B")
    ours = b.embedmap("B", ["--algo", "hdbscan", "--min-cluster-size", "50"])
    ours_ms, ours_pk = stage(ours, "cluster"), peak(ours)
    refs = [("fast_hdbscan HDBSCAN(min_cluster_size=50), compiled beforehand", "fast_hdbscan", True)]
    if b.a.slow:
        refs.append(("sklearn HDBSCAN(min_cluster_size=50)", "sklearn_hdbscan", False))
    else:
        b.note("hdbscan_20k: sklearn's HDBSCAN skipped (minutes on 20k × 384); --slow runs it")
    for name, lib, goal in refs:
        ref = b.reference(lib, "B", {"min_cluster_size": 50})
        ref_ms = median(ref["times_ms"])
        lo, lr = ours["labels"], ref["labels"]
        q = (f"clusters {n_clusters(lo)} vs {n_clusters(lr)}, noise {n_noise(lo)} vs {n_noise(lr)}, "
             f"ARI {ari(lo, lr):.4f}")
        b.row("hdbscan_20k", name, ref_ms, ours_ms, ref["peak_kb"], ours_pk,
              (ours_ms / ref_ms <= 0.2) if goal else None, q,
              {"embedmap_times_ms": [r["timings_ms"]["cluster"] for r in ours["reports"]],
               "reference_times_ms": ref["times_ms"], "embedmap_ari_truth": ari(truth, lo),
               "reference_ari_truth": ari(truth, lr)},
              goal=None if goal else "(information)")


UMAP_ITEMS = {  # item: (data set, what it is)
    "umap_debian": ("D", "Debian packages, 9,506 × 384"),
    "umap_20k": ("B", "blobs 20k × 384"),
    "umap_100k": ("A", "blobs 100k × 384"),
}

TSNE_ITEMS = {  # item: (data set, what it is)
    "tsne_debian": ("D", "Debian packages, 9,506 × 384"),
    "tsne_20k": ("B", "blobs 20k × 384"),
}


def projection_reference(b, projection, metric):
    """The reference of a projection item: (worker lib, params, its name, the time ratio of the goal)."""
    if projection == "umap":
        return ("umap_learn", {"n_neighbors": 15, "min_dist": 0.1, "metric": metric},
                f"umap-learn UMAP(15, min_dist=0.1, metric='{metric}', unseeded, n_jobs=-1), compiled beforehand", 0.25)
    if projection == "tsne":
        return ("opentsne", {"perplexity": 30, "metric": metric, "seed": 0},
                f"openTSNE TSNE(perplexity=30, metric='{metric}', n_jobs={b.threads}, random_state=0, "
                "negative_gradient_method='fft')", 0.5)
    raise ValueError(projection)


def item_projection(b, item, projection, metric="cosine"):
    name, _ = (UMAP_ITEMS if projection == "umap" else TSNE_ITEMS)[item]
    x, _ = b.load(name)
    ours = b.embedmap(name, ["--projection", projection, "--metric", metric, "--seed", "0"], command="project")
    projs = [r["projection"] for r in ours["reports"]]
    ours_ms, ours_pk = median([p["ms"] for p in projs]), peak(ours)
    t_ours = projs[0].get("trust")
    # The stage times of the report (UMAP: knn, fuzzy, init, optimize; t-SNE: knn, affinity, init,
    # early, optimize), in its order; flags such as `reused` left out.
    stage_names = [s for s, v in projs[0]["detail"]["timings_ms"].items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)]
    stages = {s: median([p["detail"]["timings_ms"][s] for p in projs]) for s in stage_names}
    lib, params, ref_name, limit = projection_reference(b, projection, metric)
    ref = b.reference(lib, name, params)
    ref_ms = median(ref["times_ms"])
    if ref["xy"] is None or ref["xy"].shape != (x.shape[0], 2):
        raise RuntimeError(f"{lib}'s layout is missing or of the wrong shape on {name}")
    log(f"trust figures of both maps on {name} ({x.shape[0]} rows, {metric})")
    t0 = time.perf_counter()
    t_ref, t_ours_here = map_trust(x, [ref["xy"], ours["xy"]], metric)
    log(f"  trust figures in {time.perf_counter() - t0:.1f} s")
    # embedmap's own figures against the same measure of its map here (exact: to ~1e-6;
    # sampled: another sample, so within the two intervals).
    if t_ours and t_ours_here:
        diff = abs(t_ours["trustworthiness"] - t_ours_here["trustworthiness"])
        tol = (t_ours["ci95"][0] if t_ours.get("ci95") else 0) + (t_ours_here["ci95"][0] if t_ours_here["ci95"] else 0) + 1e-5
        if diff > tol:
            b.note(f"{item}: embedmap reports trustworthiness {t_ours['trustworthiness']:.6f}, measured here "
                   f"{t_ours_here['trustworthiness']:.6f} (difference {diff:.2g} > {tol:.2g})")
    ratio = ours_ms / ref_ms
    if t_ours is None or t_ref is None:
        b.note(f"{item}: no trust figures ({'embedmap' if t_ours is None else 'reference'}); goal not met")
        met = False
    else:
        met = ratio <= limit and t_ours["trustworthiness"] >= t_ref["trustworthiness"] - 0.01
    sampled = t_ref and t_ref.get("ci95")
    q = (f"trustworthiness {fmt_trust(t_ours)} vs {fmt_trust(t_ref)}"
         + (f" (diff {t_ours['trustworthiness'] - t_ref['trustworthiness']:+.4f})" if t_ours and t_ref else "")
         + (f", kNN recall@15 {t_ours['knn_recall'] * 100:.1f}% vs {t_ref['knn_recall'] * 100:.1f}%" if t_ours and t_ref else "")
         + (f" (samples of {t_ref['rows_measured']})" if sampled else "")
         + "; embedmap " + ", ".join(f"{s.removesuffix('_ms')} {fmt_ms(v)}" for s, v in stages.items()))
    b.row(item, ref_name, ref_ms, ours_ms, ref["peak_kb"], ours_pk, met, q,
          {"data": name, "rows": int(x.shape[0]), "metric": metric,
           "embedmap_times_ms": [p["ms"] for p in projs], "embedmap_stage_ms": stages,
           "embedmap_stage_ms_runs": [p["detail"]["timings_ms"] for p in projs],
           "embedmap_detail": {k: v for k, v in projs[0]["detail"].items() if k != "timings_ms"},
           "embedmap_trust": t_ours, "embedmap_trust_measured_here": t_ours_here,
           "reference_times_ms": ref["times_ms"], "reference_trust": t_ref, "reference": ref["info"],
           "peak_memory": "embedmap's includes its trust figures (computed in the same process after the "
                          "projection); the reference's does not"})


RUNNERS = {
    "kmeans_100k": item_kmeans_100k,
    "lloyd_iter_100k": item_lloyd_iter_100k,
    "kmeans_1m": item_kmeans_1m,
    "pipeline_1m": item_pipeline_1m,
    "kmeans_debian": item_kmeans_debian,
    "silhouette_eucl_20k": lambda b: item_silhouette(b, "euclidean"),
    "silhouette_cos_20k": lambda b: item_silhouette(b, "cosine"),
    "pca_100k": item_pca_100k,
    "dbscan_20k": item_dbscan_20k,
    "ward_20k": item_ward_20k,
    "hdbscan_20k": item_hdbscan_20k,
    **{item: (lambda b, item=item: item_projection(b, item, "umap")) for item in UMAP_ITEMS},
    **{item: (lambda b, item=item: item_projection(b, item, "tsne")) for item in TSNE_ITEMS},
}


# ----------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------

def print_table(b, meta):
    heads = ["work item", "reference", "ref", "embedmap", "ratio", "ref MB", "ours MB", "goal", "met", "quality"]
    rows = []
    for r in b.rows:
        met = "—" if r["met"] is None else ("yes" if r["met"] else "NO")
        rows.append([r["item"], r["reference"], fmt_ms(r["reference_ms"]), fmt_ms(r["embedmap_ms"]),
                     fmt_ratio(r["ratio"]), fmt_mb(r["reference_peak_mb"]), fmt_mb(r["embedmap_peak_mb"]),
                     r["goal"], met, r["quality"]])
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(heads)]
    right = {2, 3, 4, 5, 6}

    def line(cells):
        return " | ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    print(f"embedmap vs reference libraries — {meta['cpu']}, {meta['threads']} threads, "
          f"load average {meta['load_before'][0]:.2f} at start, {meta['load_after'][0]:.2f} at end")
    print("times: medians (embedmap: its stage time from --report; references: in-process perf_counter); "
          "MB: peak RSS of the whole process; ratio = embedmap / reference")
    print(line(heads))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    if b.notes:
        print()
        for n in b.notes:
            print(f"note: {n}")
    verdicts = {}
    for r in b.rows:
        if r["met"] is not None:
            verdicts.setdefault(r["item"], []).append(r["met"])
    if verdicts:
        print()
        print("goals: " + ", ".join(f"{k} {'met' if all(v) else 'NOT met'}" for k, v in verdicts.items()))


def machine_meta(b):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": b.threads, "python": platform.python_version(),
            "binary": b.binary, "binary_mtime": time.strftime("%Y-%m-%d %H:%M:%S",
                                                              time.localtime(os.path.getmtime(b.binary)))
            if os.path.exists(b.binary) else None, "mem_available_gb": round(mem_available_gb(), 1)}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        return worker(sys.argv[2])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help=f"comma-separated work items: {', '.join(ITEMS)}; or a group: "
                                   + "; ".join(f"{g} = {', '.join(v)}" for g, v in GROUPS.items()))
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (a run over 20 s is not repeated)")
    ap.add_argument("--large", action="store_true", help="also kmeans_1m (1,000,000 × 128, a 512 MB file) and "
                                                         "pipeline_1m (1,000,000 × 384 Parquet, 1.5 GB)")
    ap.add_argument("--slow", action="store_true", help="also sklearn's HDBSCAN (minutes)")
    ap.add_argument("--threads", type=int, default=2, help="threads for embedmap and every reference")
    ap.add_argument("--cache-dir", default=os.path.join("~", ".cache", "embedmap-bench"))
    ap.add_argument("--binary", help="embedmap binary (default: $CARGO_TARGET_DIR, ~/.cache/embedmap-target, target/)")
    ap.add_argument("--eps", type=float, help="DBSCAN eps (default: median 5th-neighbour distance)")
    ap.add_argument("--json-out", help="write every figure, with per-run times, as JSON here")
    ap.add_argument("--debian", default=DEBIAN_DEFAULT,
                    help="parquet file of data set D (list column `embedding`) [default: %(default)s]")
    ap.add_argument("--rows", type=int, help="only the first N rows of every data set: a quick check that the "
                                             "script runs (goals not judged)")
    a = ap.parse_args()

    items = [i for i in ITEMS if i not in LARGE_ITEMS or a.large]
    if a.only:
        wanted = [w for s in a.only.split(",") if s.strip() for w in GROUPS.get(s.strip(), [s.strip()])]
        unknown = [w for w in wanted if w not in ITEMS]
        if unknown:
            ap.error(f"unknown work item(s): {', '.join(unknown)}; known: {', '.join(ITEMS)}, "
                     f"and the group(s) {', '.join(GROUPS)}")
        if any(w in LARGE_ITEMS for w in wanted) and not a.large:
            ap.error(f"{', '.join(w for w in wanted if w in LARGE_ITEMS)} need --large (they make files of 0.5–1.5 GB)")
        items = [i for i in ITEMS if i in wanted]
    if a.rows is not None and a.rows < 100:
        ap.error("--rows: at least 100")
    if not shutil.which("/usr/bin/time"):
        sys.exit("/usr/bin/time is needed for peak memory (apt-get install time)")

    os.environ.update({v: str(a.threads) for v in THREAD_ENV})  # for this process's own numpy work too
    import numpy as np  # noqa: F401  (after the thread limits)

    b = Bench(a)
    if a.rows:
        b.note(f"--rows {a.rows}: only the first {a.rows} rows of every data set; a check that the script runs, "
               "not the benchmark (goals not judged)")
    meta = machine_meta(b)
    meta["load_before"] = os.getloadavg()
    log(f"embedmap: {b.binary}; items: {', '.join(items)}; work files in {b.tmp}")
    failures = {}
    try:
        for item in items:
            log(f"== {item}")
            t = time.perf_counter()
            try:
                RUNNERS[item](b)
            except Exception as e:  # one failing item should not lose the others
                failures[item] = str(e)
                b.note(f"{item} FAILED: {str(e).splitlines()[0]}")
                log(str(e))
            log(f"== {item} done in {time.perf_counter() - t:.0f} s")
    finally:
        shutil.rmtree(b.tmp, ignore_errors=True)
    meta["load_after"] = os.getloadavg()
    if len(b.binary_mtimes) > 1:
        b.note("the embedmap binary was rebuilt while this ran: its figures come from "
               f"{len(b.binary_mtimes)} different builds")
    meta["binary_builds"] = [time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) for t in sorted(b.binary_mtimes)]
    meta["versions"] = b.versions
    print_table(b, meta)
    if a.json_out:
        doc = {"machine": meta, "repeat": a.repeat, "rows": a.rows, "items": items, "rows": b.rows, "notes": b.notes,
               "failures": failures,
               "embedmap_runs": [{"cmd": r["cmd"], "timings_ms": [rep["timings_ms"] for rep in r["reports"]],
                                  "peak_kb": r["peak_kb"], "wall_s": r["wall_s"],
                                  "n_iter": [rep.get("n_iter") for rep in r["reports"]],
                                  "inertia": [rep.get("inertia") for rep in r["reports"]],
                                  "n_clusters": r["reports"][0].get("n_clusters"),
                                  "n_noise": r["reports"][0].get("n_noise"),
                                  "silhouette": r["reports"][0].get("silhouette"),
                                  "projection": [rep.get("projection") for rep in r["reports"]]
                                  if "projection" in r["reports"][0] else None}
                                 for r in b.embedmap_runs.values()]}
        with open(a.json_out, "w") as f:
            json.dump(doc, f, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o))
        log(f"wrote {a.json_out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
