#!/usr/bin/env python3
"""crbm.RBM against scikit-learn's BernoulliRBM on MNIST, in one process on the CPU.

    python bench/python/rbm_vs_sklearn.py --data /path/to/mnist [--epochs 10] [--json out.json]

Both: 784 visible, 500 hidden, one Gibbs step per update (ours CD-1; scikit-learn's
BernoulliRBM is PCD-1 by construction), minibatches of 100, MNIST pixels / 255.
Reports, for one epoch each: samples/s and the speed-up; the binding overhead (the
estimator's wall time over libcrbm's own epoch time, EpochStats.seconds); with
--epochs N > 1 also the test log-likelihood of both models after N epochs, by our
AIS (scikit-learn's weights loaded into a crbm.RBM). Results: docs/results/python.md.
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np

import crbm
from sklearn.neural_network import BernoulliRBM


def rbm_from_sklearn(sk, n_features):
    """A crbm.RBM holding BernoulliRBM's parameters (for our likelihood estimate)."""
    p = crbm._crbm.RbmParams()
    p.visible_type = "bernoulli"
    p.weights = np.ascontiguousarray(sk.components_.T, dtype=np.float32)
    p.visible_bias = np.ascontiguousarray(sk.intercept_visible_, dtype=np.float32)
    p.hidden_bias = np.ascontiguousarray(sk.intercept_hidden_, dtype=np.float32)
    p.visible_sigma = np.ones(n_features, np.float32)
    est = crbm.RBM(sk.n_components)
    est._restore(p, 0)
    return est


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("CRBM_DATA_DIR", "/work/shared/data") + "/mnist")
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=1, help="epochs before the likelihoods (1: speed only)")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--ais-runs", type=int, default=100)
    ap.add_argument("--ais-steps", type=int, default=0, help="0: the default 14,500-step schedule")
    ap.add_argument("--threads", type=int, default=0, help="crbm CPU threads (0: all cores)")
    ap.add_argument("--rows", type=int, default=0, help="first N training rows (0: all 60,000)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="alternate the two one-epoch runs this many times; report medians")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()

    train = crbm.load_dataset(f"mnist:{a.data}:train", limit=a.rows)["x"]
    test = crbm.load_dataset(f"mnist:{a.data}:test")["x"]
    n, d = train.shape
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs ({platform.processor() or 'cpu'})",
           "crbm_version": crbm.__version__, "train_rows": n, "hidden": a.hidden}

    runs = {"wall": [], "lib": [], "raw": [], "raw_lib": [], "sk": []}
    for _ in range(a.repeats):  # interleaved, so both see the same machine load
        ours = crbm.RBM(a.hidden, cd=1, batch_size=100, learning_rate=a.lr, n_epochs=1,
                        random_state=0, n_threads=a.threads)
        t = time.perf_counter()
        ours.fit(train)
        runs["wall"].append(time.perf_counter() - t)
        runs["lib"].append(ours.history_[0]["seconds"])
        # the raw binding: one more epoch through _crbm.CdTrainer.train_epoch alone
        t = time.perf_counter()
        stats = ours._trainer.train_epoch(train)
        runs["raw"].append(time.perf_counter() - t)
        runs["raw_lib"].append(stats.seconds)
        sk = BernoulliRBM(n_components=a.hidden, batch_size=100, learning_rate=a.lr, n_iter=1,
                          random_state=0)
        t = time.perf_counter()
        sk.fit(train)
        runs["sk"].append(time.perf_counter() - t)
        print(json.dumps({k: v[-1] for k, v in runs.items()}), file=sys.stderr, flush=True)
    med = {k: float(np.median(v)) for k, v in runs.items()}
    out["runs_seconds"] = runs
    out["crbm_epoch_seconds"] = med["wall"]
    out["crbm_library_epoch_seconds"] = med["lib"]
    out["crbm_samples_per_second"] = n / med["wall"]
    out["binding_overhead"] = float(np.median([(w - l) / l for w, l in zip(runs["wall"], runs["lib"])]))
    out["raw_binding_overhead"] = float(np.median(
        [(w - l) / l for w, l in zip(runs["raw"], runs["raw_lib"])]))
    out["sklearn_epoch_seconds"] = med["sk"]
    out["sklearn_samples_per_second"] = n / med["sk"]
    out["speedup"] = float(np.median([s_ / w for s_, w in zip(runs["sk"], runs["wall"])]))
    print(json.dumps(out, indent=1), flush=True)

    if a.epochs > 1:
        ours = crbm.RBM(a.hidden, cd=1, batch_size=100, learning_rate=a.lr, n_epochs=a.epochs,
                        random_state=0, n_threads=a.threads).fit(train)
        sk = BernoulliRBM(n_components=a.hidden, batch_size=100, learning_rate=a.lr,
                          n_iter=a.epochs, random_state=0).fit(train)
        for name, est in (("crbm", ours), ("sklearn", rbm_from_sklearn(sk, d))):
            z = est.log_partition("ais", ais_runs=a.ais_runs, ais_steps=a.ais_steps,
                                  base_data=train[:10000])
            ll = float(np.mean(-np.asarray(est.free_energy(test), np.float64))) - z["log_z"]
            band = (float(np.mean(-est.free_energy(test))) - z["log_z_high"],
                    float(np.mean(-est.free_energy(test))) - z["log_z_low"])
            out[f"{name}_test_log_likelihood"] = ll
            out[f"{name}_test_log_likelihood_band"] = band
            out[f"{name}_ais"] = {"runs": z["runs"], "steps": z["steps"], "seconds": z["seconds"]}
        out["epochs"] = a.epochs
        print(json.dumps(out, indent=1), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
