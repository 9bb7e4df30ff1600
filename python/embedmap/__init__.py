"""embedmap's clustering engine on numpy arrays.

The estimators take scikit-learn's parameter names and shapes (``fit``, ``fit_predict``,
``predict``, ``labels_``, ...) and run the same code as ``embedmap cluster``: the same settings
give the same labels in the window, on the command line and here. Inputs are converted to
C-contiguous float32 once; the engine runs with the GIL released, on all cores.

Where embedmap differs from scikit-learn, it says so in the docstring: negative labels are
noise and are left out of the quality indices; ``random_state`` is an integer seed (``None``
is seed 0), so a fit is reproducible; K-means runs 3 restarts by default.
"""

from __future__ import annotations

import inspect
import json
from typing import Optional, Sequence

import numpy as np

from . import _engine
from ._engine import EmbedmapError

__all__ = [
    "AgglomerativeClustering",
    "Agglomerative",
    "DBSCAN",
    "EmbedmapError",
    "HDBSCAN",
    "KMeans",
    "MiniBatchKMeans",
    "UMAP",
    "Model",
    "arrow_vectors",
    "calinski_harabasz_score",
    "davies_bouldin_score",
    "silhouette_samples",
    "silhouette_score",
]

__version__ = "0.1.0"


def _matrix(X) -> np.ndarray:
    X = np.ascontiguousarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise EmbedmapError(f"X must be 2-dimensional (rows × dimensions); got an array of shape {X.shape}")
    return X


def _labels(labels, n: int) -> np.ndarray:
    """Integer labels as int32 (negative: noise); other labels are numbered in sorted order."""
    l = np.asarray(labels)
    if l.ndim != 1:
        raise EmbedmapError(f"labels must be 1-dimensional; got an array of shape {l.shape}")
    if l.shape[0] != n:
        raise EmbedmapError(f"{l.shape[0]} labels for {n} rows")
    if np.issubdtype(l.dtype, np.integer):
        if l.size and (l.max() > np.iinfo(np.int32).max or l.min() < np.iinfo(np.int32).min):
            raise EmbedmapError("labels must fit in 32 bits")
        return np.ascontiguousarray(l, dtype=np.int32)
    _, codes = np.unique(l, return_inverse=True)
    return np.ascontiguousarray(codes.reshape(-1), dtype=np.int32)


def _seed(random_state) -> int:
    if random_state is None:
        return 0
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) and random_state >= 0:
        return int(random_state)
    raise EmbedmapError(f"random_state must be a non-negative integer seed (or None for 0); got {random_state!r}")


class _Estimator:
    """get_params / set_params as scikit-learn's, from the constructor's signature."""

    _fitted: Optional[_engine.Fitted] = None

    @classmethod
    def _param_names(cls):
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        names = self._param_names()
        for key, value in params.items():
            if key not in names:
                raise EmbedmapError(f"{type(self).__name__} has no parameter '{key}'; it takes {', '.join(names)}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _request(self) -> dict:
        raise NotImplementedError

    def request_json(self) -> str:
        """The settings as the JSON request `embedmap cluster --session` and reports use."""
        return json.dumps(self._request())

    def fit(self, X, y=None):
        """Clusters X (n_samples, n_features); `y` is ignored."""
        X = _matrix(X)
        fitted = _engine.cluster(X, self.request_json())
        self._fitted = fitted
        self.n_features_in_ = X.shape[1]
        self.labels_ = fitted.labels.astype(np.int64)
        self.notes_ = fitted.notes
        self._set_attributes(fitted, X)
        return self

    def _set_attributes(self, fitted, X) -> None:
        pass

    def fit_predict(self, X, y=None) -> np.ndarray:
        """Clusters X and returns its labels (−1: noise)."""
        return self.fit(X).labels_

    def _check_fitted(self) -> _engine.Fitted:
        if self._fitted is None:
            raise EmbedmapError(f"this {type(self).__name__} is not fitted yet: call fit(X) first")
        return self._fitted

    def save_model(self, path, X, column: Optional[str] = None, names: Sequence[str] = (), map: str = "pca") -> None:
        """Saves the model of this fit to `path` (``.embedmap.json``), for ``Model.load``,
        ``embedmap assign`` and ``embedmap info``. `X` is the data it was fitted on (its checksum,
        the agreement figures and the map for new rows' x, y come from it). `column` names the
        list column that files to be labelled hold the vectors in (``None``: ``.npy`` arrays, or
        name it with ``embedmap assign --embedding-columns``); `names` are cluster names by id;
        `map` is ``"pca"``, ``"umap"`` (default parameters, in the clustering's metric; the
        model then holds the fitted rows and places each new row by its neighbours among them)
        or ``"none"``."""
        self._check_fitted().save_model(_matrix(X), str(path), column, list(names), map)


class KMeans(_Estimator):
    """K-means with k-means++ restarts (spherical K-means under ``metric="cosine"``).

    Differs from scikit-learn: ``n_init`` defaults to 3 and ``random_state`` to seed 0; the
    final labels are every row's exact nearest centroid (ties to the lower index).
    """

    def __init__(self, n_clusters: int = 8, *, metric: str = "euclidean", n_init: int = 3, max_iter: int = 300,
                 tol: float = 1e-4, random_state: Optional[int] = 0):
        self.n_clusters = n_clusters
        self.metric = metric
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _request(self) -> dict:
        return {"algorithm": "kmeans", "k": int(self.n_clusters), "metric": self.metric, "n_init": int(self.n_init),
                "max_iter": int(self.max_iter), "tol": float(self.tol), "seed": _seed(self.random_state)}

    def _set_attributes(self, fitted, X) -> None:
        self.cluster_centers_ = fitted.centroids
        self.inertia_ = fitted.inertia
        self.n_iter_ = fitted.n_iter
        self.converged_ = fitted.converged

    def predict(self, X) -> np.ndarray:
        """The nearest centroid of each row (in the fit's metric)."""
        self._check_fitted()
        index, _ = _engine.nearest_target(_matrix(X), self.cluster_centers_, self.metric, True)
        return index

    def transform(self, X) -> np.ndarray:
        """Distances (in the fit's metric) from each row to every centroid, (n, k)."""
        self._check_fitted()
        X = _matrix(X).astype(np.float64)
        C = self.cluster_centers_.astype(np.float64)
        if X.shape[1] != C.shape[1]:
            raise EmbedmapError(f"X has {X.shape[1]} dimensions; the model was fitted on {C.shape[1]}")
        if self.metric == "cosine":
            norms = np.linalg.norm(X, axis=1, keepdims=True)
            X = X / np.where(norms > 0, norms, 1.0)
            return 1.0 - X @ C.T
        d2 = (X * X).sum(1)[:, None] - 2 * X @ C.T + (C * C).sum(1)[None, :]
        return np.sqrt(np.maximum(d2, 0.0))


class MiniBatchKMeans(KMeans):
    """Mini-batch K-means; ``max_iter`` counts passes over the data, as scikit-learn's."""

    def __init__(self, n_clusters: int = 8, *, metric: str = "euclidean", batch_size: int = 1024, max_iter: int = 100,
                 max_no_improvement: int = 10, n_init: int = 3, random_state: Optional[int] = 0):
        self.n_clusters = n_clusters
        self.metric = metric
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.max_no_improvement = max_no_improvement
        self.n_init = n_init
        self.random_state = random_state

    def _request(self) -> dict:
        return {"algorithm": "minibatch-kmeans", "k": int(self.n_clusters), "metric": self.metric,
                "batch_size": int(self.batch_size), "max_epochs": int(self.max_iter),
                "max_no_improvement": int(self.max_no_improvement), "n_init": int(self.n_init),
                "seed": _seed(self.random_state)}


class DBSCAN(_Estimator):
    """DBSCAN. Beyond scikit-learn, ``predict`` labels new rows as a saved model does: the
    cluster of the nearest core point within ``eps``, else noise (−1)."""

    def __init__(self, eps: float = 0.5, *, min_samples: int = 5, metric: str = "euclidean"):
        self.eps = eps
        self.min_samples = min_samples
        self.metric = metric

    def _request(self) -> dict:
        return {"algorithm": "dbscan", "eps": float(self.eps), "min_samples": int(self.min_samples), "metric": self.metric}

    def _set_attributes(self, fitted, X) -> None:
        core = fitted.core
        self.core_sample_indices_ = np.flatnonzero(core) if core is not None else np.empty(0, dtype=np.int64)
        self.components_ = X[self.core_sample_indices_]

    def predict(self, X) -> np.ndarray:
        """The cluster of each row's nearest core point when it lies within eps, else −1."""
        self._check_fitted()
        X = _matrix(X)
        if len(self.core_sample_indices_) == 0:
            return np.full(X.shape[0], -1, dtype=np.int64)
        index, distance = _engine.nearest_target(X, self.components_, self.metric)
        labels = self.labels_[self.core_sample_indices_][index]
        return np.where(distance <= np.float32(self.eps), labels, -1)


class HDBSCAN(_Estimator):
    """HDBSCAN (as scikit-learn's ``sklearn.cluster.HDBSCAN``), with membership strengths in
    ``probabilities_``."""

    def __init__(self, min_cluster_size: int = 5, min_samples: Optional[int] = None, cluster_selection_epsilon: float = 0.0,
                 *, metric: str = "euclidean", cluster_selection_method: str = "eom"):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.metric = metric
        self.cluster_selection_method = cluster_selection_method

    def _request(self) -> dict:
        return {"algorithm": "hdbscan", "min_cluster_size": int(self.min_cluster_size),
                "min_samples": None if self.min_samples is None else int(self.min_samples),
                "cluster_selection_epsilon": float(self.cluster_selection_epsilon),
                "selection": self.cluster_selection_method, "metric": self.metric}

    def _set_attributes(self, fitted, X) -> None:
        self.probabilities_ = fitted.probabilities


class AgglomerativeClustering(_Estimator):
    """Agglomerative clustering (ward, average, complete or single linkage). ``children_`` and
    ``distances_`` are the merges and their heights, in SciPy's node numbering."""

    def __init__(self, n_clusters: int = 2, *, metric: str = "euclidean", linkage: str = "ward"):
        self.n_clusters = n_clusters
        self.metric = metric
        self.linkage = linkage

    def _request(self) -> dict:
        return {"algorithm": "hierarchical", "k": int(self.n_clusters), "linkage": self.linkage, "metric": self.metric}

    def _set_attributes(self, fitted, X) -> None:
        self.n_clusters_ = fitted.n_clusters
        self.children_ = fitted.children
        self.distances_ = fitted.distances
        self.n_leaves_ = X.shape[0] if self.children_ is None else len(self.children_) + 1


Agglomerative = AgglomerativeClustering


class UMAP:
    """UMAP to 2-D, as the map draws it (umap-learn's algorithm: fuzzy kNN graph, spectral start,
    negative sampling). Reproducible: the same ``random_state`` gives the same layout bit for bit,
    whatever the thread count. Above 100,000 rows the layout is fitted on a seeded sample and the
    other rows are placed by their nearest fitted rows (``fit_rows`` sets the size)."""

    def __init__(self, n_components: int = 2, *, n_neighbors: int = 15, min_dist: float = 0.1, spread: float = 1.0,
                 n_epochs: Optional[int] = None, metric: str = "euclidean", random_state: Optional[int] = 0,
                 fit_rows: Optional[int] = None):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.spread = spread
        self.n_epochs = n_epochs
        self.metric = metric
        self.random_state = random_state
        self.fit_rows = fit_rows

    get_params = _Estimator.get_params
    set_params = _Estimator.set_params
    _param_names = classmethod(_Estimator._param_names.__func__)
    __repr__ = _Estimator.__repr__

    def _request(self) -> dict:
        request = {"method": "umap", "metric": self.metric, "n_neighbors": int(self.n_neighbors),
                   "min_dist": float(self.min_dist), "spread": float(self.spread),
                   "n_epochs": None if self.n_epochs is None else int(self.n_epochs), "seed": _seed(self.random_state)}
        if self.fit_rows is not None:
            request["fit_rows"] = int(self.fit_rows)
        return request

    def fit_transform(self, X, y=None) -> np.ndarray:
        """The (n, 2) float32 layout of X; also kept in ``embedding_``."""
        if self.n_components != 2:
            raise EmbedmapError(f"embedmap's UMAP lays out maps in 2 dimensions; n_components={self.n_components} is not available")
        X = _matrix(X)
        self.embedding_, sample = _engine.project_map(X, json.dumps(self._request()))
        # What transform places new rows by: the rows the layout was fitted on.
        self._fitted = (X, self.embedding_) if sample is None else (X[sample], self.embedding_[sample])
        self._fitted_request = self._request()
        return self.embedding_

    def transform(self, X) -> np.ndarray:
        """Places new rows on the fitted layout, as umap-learn's ``transform`` (each row's
        nearest fitted rows, a start at their weighted mean, epochs with the layout fixed), but
        each row on its own: a row's place does not depend on the rows it comes with. The same
        places as a saved model's map gives (``save_model(..., map="umap")``)."""
        if getattr(self, "_fitted", None) is None:
            raise EmbedmapError("this UMAP is not fitted yet: call fit or fit_transform first")
        fitted, layout = self._fitted
        return _engine.umap_transform(fitted, np.ascontiguousarray(layout), _matrix(X), json.dumps(self._fitted_request))

    def fit(self, X, y=None):
        self.fit_transform(X)
        return self


def silhouette_samples(X, labels, *, metric: str = "euclidean") -> np.ndarray:
    """Exact silhouette of every row (cosine in O(n·k·d)); NaN for noise (negative labels), which
    scikit-learn would count as one more cluster."""
    X = _matrix(X)
    values, _, _, _ = _engine.silhouette_values(X, _labels(labels, X.shape[0]), metric)
    return values


def silhouette_score(X, labels, *, metric: str = "euclidean", sample_size: Optional[int] = None,
                     random_state: Optional[int] = None) -> float:
    """Mean exact silhouette over the non-noise rows; with `sample_size`, over that many rows
    drawn without replacement (seeded by `random_state`), as scikit-learn does."""
    X = _matrix(X)
    l = _labels(labels, X.shape[0])
    if sample_size is not None:
        if not 1 < sample_size <= X.shape[0]:
            raise EmbedmapError(f"sample_size must be between 2 and the number of rows ({X.shape[0]}); got {sample_size}")
        rows = np.random.default_rng(_seed(random_state)).choice(X.shape[0], sample_size, replace=False)
        X, l = np.ascontiguousarray(X[rows]), np.ascontiguousarray(l[rows])
    _, mean, _, _ = _engine.silhouette_values(X, l, metric)
    return float(mean)


def davies_bouldin_score(X, labels) -> float:
    """Davies-Bouldin index (euclidean; lower is better), noise left out."""
    X = _matrix(X)
    return _engine.davies_bouldin_score(X, _labels(labels, X.shape[0]))


def calinski_harabasz_score(X, labels) -> float:
    """Calinski-Harabasz index (euclidean; higher is better), noise left out."""
    X = _matrix(X)
    return _engine.calinski_harabasz_score(X, _labels(labels, X.shape[0]))


def arrow_vectors(column, dim: int):
    """The (n, dim) float32 rows of an Arrow list column (list, large_list or fixed_size_list of
    numbers, chunked or not), and a bool array of the usable rows: present, `dim` values, all
    finite. Unusable rows are zero in the matrix."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    t = arr.type
    if not (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)):
        raise EmbedmapError(f"the embedding column is of type {t}, not a list of numbers")
    n = len(arr)
    lengths = pc.fill_null(pc.list_value_length(arr), -1).to_numpy(zero_copy_only=False)
    ok = lengths == dim
    if ok.all():
        # Every row present and of the right length: the values as they lie in Arrow's buffer.
        X = pc.list_flatten(arr).to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(n, dim)
        finite = np.isfinite(X).all(axis=1)
        if finite.all():
            return X, ok
        X = X.copy()
        ok &= finite
        X[~ok] = 0.0
        return X, ok
    X = np.zeros((n, dim), dtype=np.float32)
    if ok.any():
        good = arr.filter(pa.array(ok))
        X[ok] = pc.list_flatten(good).to_numpy(zero_copy_only=False).astype(np.float32, copy=False).reshape(-1, dim)
    ok &= np.isfinite(X).all(axis=1)
    X[~ok] = 0.0
    return X, ok


class Model:
    """A saved model: ``Model.load(path).assign(X)`` labels rows exactly as ``embedmap assign``."""

    def __init__(self, inner: _engine.Model):
        self._inner = inner

    @classmethod
    def load(cls, path) -> "Model":
        """Reads and checks a model file (from ``embedmap fit``, File ▸ Export model… or
        ``save_model``) and its ``.npy`` sidecars."""
        return cls(_engine.Model.load(str(path)))

    def assign(self, X) -> dict:
        """A dict of numpy arrays: ``cluster`` (−1: noise), ``distance`` (to the centroid or core
        point or fitted row that decided it), ``is_noise`` for rules with noise, ``membership``
        (HDBSCAN's strength in [0, 1]), and ``x``, ``y`` when the model has a map.
        ``pandas.DataFrame(model.assign(X))`` makes a table of it."""
        return self._inner.assign(_matrix(X))

    def assign_arrow(self, batch, column: str = "embedding", columns: str = "keep"):
        """Labels an Arrow table or record batch whose vectors are in the list column `column`,
        and returns a ``pyarrow.Table``: the batch's columns (``columns="id-only"``: only ``id``),
        then ``cluster`` (int32), ``distance`` (float32), ``is_noise`` (rules with noise),
        ``membership`` (float32, HDBSCAN) and ``x``, ``y`` (models with a map), as ``embedmap
        assign`` writes them. A row whose vector
        is missing, of another length, or holds NaN or infinite values gets nulls there, and the
        others are labelled: this is what the Ray and Spark recipes call per batch."""
        import pyarrow as pa

        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        if column not in table.column_names:
            raise EmbedmapError(f"no column '{column}' in the batch (it has {', '.join(table.column_names)}); name the embedding column")
        if columns not in ("keep", "id-only"):
            raise EmbedmapError(f"columns must be 'keep' or 'id-only', not {columns!r}")
        if columns == "id-only" and "id" not in table.column_names:
            raise EmbedmapError("columns='id-only' keeps the 'id' column, and the batch has none; use columns='keep'")
        X, ok = arrow_vectors(table.column(column), self.dim)
        everything = bool(ok.all())
        out = self.assign(X if everything else X[ok]) if ok.any() else None
        n = table.num_rows
        mask = ~ok

        def spread(name, dtype):
            full = np.zeros(n, dtype=dtype)
            if out is not None:
                full[ok] = out[name]
            return pa.array(full, mask=mask)

        result = table.select(["id"]) if columns == "id-only" else table
        result = result.append_column("cluster", spread("cluster", np.int32))
        result = result.append_column("distance", spread("distance", np.float32))
        if self.has_noise:
            result = result.append_column("is_noise", spread("is_noise", np.bool_))
        if self.has_membership:
            result = result.append_column("membership", spread("membership", np.float32))
        if self.has_projection:
            result = result.append_column("x", spread("x", np.float32))
            result = result.append_column("y", spread("y", np.float32))
        return result

    @property
    def dim(self) -> int:
        return self._inner.dim

    @property
    def metric(self) -> str:
        return self._inner.metric

    @property
    def n_clusters(self) -> int:
        return self._inner.n_clusters

    @property
    def names(self) -> list:
        return self._inner.names

    @property
    def has_noise(self) -> bool:
        """Whether the rule has noise (DBSCAN and HDBSCAN models): ``assign`` then also gives
        ``is_noise``."""
        return self._inner.has_noise

    @property
    def has_membership(self) -> bool:
        """Whether new rows get a membership strength (HDBSCAN models): ``assign`` then also
        gives ``membership``."""
        return self._inner.has_membership

    @property
    def has_projection(self) -> bool:
        return self._inner.has_projection

    def describe(self) -> dict:
        """The model file's contents as a dict."""
        return json.loads(self._inner.to_json())

    def __repr__(self) -> str:
        return f"Model(dim={self.dim}, metric={self.metric!r}, n_clusters={self.n_clusters})"
