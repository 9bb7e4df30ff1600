"""Shared data and the path of the `embedmap` binary the tests compare with."""

import os
import pathlib
import shutil

import numpy as np
import pytest
from sklearn.datasets import make_blobs


def _binary() -> pathlib.Path:
    if os.environ.get("EMBEDMAP_BIN"):
        return pathlib.Path(os.environ["EMBEDMAP_BIN"])
    root = pathlib.Path(__file__).resolve().parents[2]
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", root / "target"))
    candidate = target / "release" / "embedmap"
    if candidate.exists():
        return candidate
    found = shutil.which("embedmap")
    return pathlib.Path(found) if found else candidate


@pytest.fixture(scope="session")
def embedmap_bin() -> pathlib.Path:
    path = _binary()
    if not path.exists():
        pytest.fail(f"no embedmap binary at {path}: run `cargo build --release` or set EMBEDMAP_BIN")
    return path


@pytest.fixture(scope="session")
def blobs():
    """2,000 rows, 24 dimensions, 6 well-separated clusters (float32)."""
    X, y = make_blobs(2000, 24, centers=6, cluster_std=1.5, random_state=7)
    return X.astype(np.float32), y


@pytest.fixture(scope="session")
def overlapping():
    """1,500 rows, 32 dimensions, 8 overlapping clusters: labels are not obvious."""
    X, y = make_blobs(1500, 32, centers=8, cluster_std=6.0, random_state=3)
    return X.astype(np.float32), y
