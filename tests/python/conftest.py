"""Fixtures of the Python suite: small binary data, the `crbm` CLI when built."""
import os
import pathlib
import shutil

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def bars(n=400, side=4, seed=0):
    """Bars-and-stripes images (side x side), flattened, float32 in {0, 1}."""
    rng = np.random.RandomState(seed)
    rows = []
    for _ in range(n):
        bits = rng.rand(side) < 0.5
        img = np.repeat(bits[:, None], side, 1) if rng.rand() < 0.5 else np.repeat(bits[None, :], side, 0)
        rows.append(img.ravel())
    return np.asarray(rows, dtype=np.float32)


@pytest.fixture
def bars_data():
    return bars()


@pytest.fixture(scope="session")
def cli():
    """The crbm command: $CRBM_CLI, else build/tools/crbm, else on PATH; skips without."""
    candidates = [os.environ.get("CRBM_CLI"), str(ROOT / "build" / "tools" / "crbm"),
                  shutil.which("crbm")]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    pytest.skip("the crbm CLI is not built (set CRBM_CLI or build build/tools/crbm)")
