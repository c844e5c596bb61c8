#!/usr/bin/env python3
"""Peer: scikit-learn's BernoulliRBM, one CD-1/PCD epoch (sklearn uses PCD-1)
over 60,000 x 784 binary float32 rows, 500 hidden, batch 100. Prints JSON.

Also times the floor through numpy: the five 100x784x500 products of a step.
Run with Debian's python3 (python3-sklearn, python3-numpy)."""
import json
import os
import sys
import time

import numpy as np
from sklearn.neural_network import BernoulliRBM

ROWS, VISIBLE, HIDDEN, BATCH = 60000, 784, 500, 100


def data():
    d = os.environ.get("CRBM_DATA_DIR")
    if d:
        import gzip
        path = os.path.join(d, "mnist", "train-images-idx3-ubyte.gz")
        if os.path.exists(path):
            with gzip.open(path, "rb") as f:
                raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
            x = raw.reshape(-1, VISIBLE).astype(np.float32) / 255.0
            rng = np.random.default_rng(0)
            return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)
    rng = np.random.default_rng(0)
    return (rng.random((ROWS, VISIBLE), dtype=np.float32) < 0.5).astype(np.float32)


def main():
    x = data()
    rbm = BernoulliRBM(n_components=HIDDEN, batch_size=BATCH, n_iter=1, learning_rate=0.05,
                       random_state=0, verbose=False)
    t0 = time.perf_counter()
    rbm.fit(x)
    sk = time.perf_counter() - t0

    w = np.full((VISIBLE, HIDDEN), 0.01, np.float32)
    v0 = x[:BATCH]
    t0 = time.perf_counter()
    for _ in range(ROWS // BATCH):
        h0 = v0 @ w
        v1 = h0 @ w.T
        h1 = v1 @ w
        g = v0.T @ h0
        g -= v1.T @ h1
    floor = time.perf_counter() - t0
    print(json.dumps({
        "sklearn_seconds": sk, "sklearn_samples_per_s": ROWS / sk,
        "numpy_floor_seconds": floor, "numpy_floor_samples_per_s": ROWS / floor,
        "numpy": np.__version__, "sklearn": __import__("sklearn").__version__,
        "threads_env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
    }))


if __name__ == "__main__":
    sys.exit(main())
