#!/usr/bin/env python3
"""crbm.RBM against scikit-learn's BernoulliRBM on MNIST, in one process on the CPU.

    python bench/python/rbm_vs_sklearn.py --data /path/to/mnist [--epochs 10] [--json out.json]

Both: 784 visible, 500 hidden, one Gibbs step per update (ours CD-1; scikit-learn's
BernoulliRBM is PCD-1 by construction), minibatches of 100, MNIST pixels / 255.
Each is run on the input two ways: float64 (what a user gets from
fetch_openml(...).data / 255 or an IDX file / 255.0; BernoulliRBM then computes in
float64, crbm.RBM converts it to float32 once in fit) and float32 (crbm.RBM uses it
in place; BernoulliRBM computes in float32). Reports, for one epoch each: samples/s
and the speed-ups (of wall time, and of process CPU time: speedup_cpu_*, the one a
loaded machine distorts least with one thread); where the estimator's fit time goes (input check, backend,
init_random from the data, trainer, the epoch inside and outside libcrbm's own
timer EpochStats.seconds, publishing the fitted attributes); the raw binding's
overhead (a second epoch through _crbm.CdTrainer.train_epoch); with --epochs N > 1
also the test log-likelihood of both models after N epochs, by our AIS
(scikit-learn's weights loaded into a crbm.RBM). Results: docs/results/python.md.
"""
import json
import os
import platform
import sys
import time

import numpy as np

import crbm
from crbm._base import check_X
from sklearn.neural_network import BernoulliRBM

from _common import mnist_parser, timed_cpu, write_json


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


def timed(f, *args):
    t = time.perf_counter()
    out = f(*args)
    return time.perf_counter() - t, out


def fit_breakdown(X, a):
    """RBM.fit's steps one by one, as fit runs them (seconds each)."""
    est = crbm.RBM(a.hidden, cd=1, batch_size=100, learning_rate=a.lr, n_epochs=1,
                   random_state=0, n_threads=a.threads)
    out = {}
    out["check_X"], Xc = timed(check_X, est, X, True)
    est._seed = 0
    config = est._train_config(0)
    out["make_backend"], be = timed(crbm._crbm.make_backend, "cpu", a.threads)
    out["Rbm"], rbm = timed(crbm._crbm.Rbm, be, Xc.shape[1], a.hidden, "bernoulli")
    out["init_random"], _ = timed(rbm.init_random, 0, 0.01, est._init_data(Xc))
    out["CdTrainer"], trainer = timed(crbm._crbm.CdTrainer, rbm, config)
    out["train_epoch"], stats = timed(trainer.train_epoch, Xc)
    out["epoch_library_seconds"] = stats.seconds
    out["publish"], _ = timed(rbm.to_host)
    return out


def main():
    ap = mnist_parser(__doc__)
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=1, help="epochs before the likelihoods (1: speed only)")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--ais-runs", type=int, default=100)
    ap.add_argument("--ais-steps", type=int, default=0, help="0: the default 14,500-step schedule")
    ap.add_argument("--threads", type=int, default=0, help="crbm CPU threads (0: all cores)")
    ap.add_argument("--rows", type=int, default=0, help="first N training rows (0: all 60,000)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="alternate the one-epoch runs this many times; report medians")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()

    train32 = crbm.load_dataset(f"mnist:{a.data}:train", limit=a.rows)["x"]
    test = crbm.load_dataset(f"mnist:{a.data}:test")["x"]
    # As a user has it: uint8 pixels / 255 in float64 (fetch_openml, IDX readers).
    train64 = np.rint(train32.astype(np.float64) * 255.0) / 255.0
    n, d = train32.shape
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs ({platform.processor() or 'cpu'})",
           "crbm_version": crbm.__version__, "train_rows": n, "hidden": a.hidden,
           "load_average_start": os.getloadavg()}

    inputs = {"float64": train64, "float32": train32}
    runs = {f"{who}_{kind}": [] for who in ("crbm", "sklearn") for kind in inputs}
    runs.update(crbm_lib_float32=[], crbm_lib_float64=[], raw=[], raw_lib=[])
    cpu = {f"{who}_{kind}": [] for who in ("crbm", "sklearn") for kind in inputs}
    for _ in range(a.repeats):  # interleaved, so all see the same machine load
        for kind, X in inputs.items():
            ours = crbm.RBM(a.hidden, cd=1, batch_size=100, learning_rate=a.lr, n_epochs=1,
                            random_state=0, n_threads=a.threads)
            t, c, _ = timed_cpu(ours.fit, X)
            runs[f"crbm_{kind}"].append(t)
            cpu[f"crbm_{kind}"].append(c)
            runs[f"crbm_lib_{kind}"].append(ours.history_[0]["seconds"])
            if kind == "float32":  # the raw binding: one more epoch through the trainer alone
                t, stats = timed(ours._trainer.train_epoch, X)
                runs["raw"].append(t)
                runs["raw_lib"].append(stats.seconds)
            sk = BernoulliRBM(n_components=a.hidden, batch_size=100, learning_rate=a.lr,
                              n_iter=1, random_state=0)
            t, c, _ = timed_cpu(sk.fit, X)
            runs[f"sklearn_{kind}"].append(t)
            cpu[f"sklearn_{kind}"].append(c)
        print(json.dumps({k: v[-1] for k, v in runs.items()}), file=sys.stderr, flush=True)
    med = {k: float(np.median(v)) for k, v in runs.items()}
    out["runs_seconds"] = runs
    out["runs_cpu_seconds"] = cpu
    for kind in inputs:
        out[f"crbm_{kind}_samples_per_second"] = n / med[f"crbm_{kind}"]
        out[f"sklearn_{kind}_samples_per_second"] = n / med[f"sklearn_{kind}"]
        out[f"speedup_{kind}"] = float(np.median(
            [s_ / w for s_, w in zip(runs[f"sklearn_{kind}"], runs[f"crbm_{kind}"])]))
        out[f"speedup_cpu_{kind}"] = float(np.median(
            [s_ / w for s_, w in zip(cpu[f"sklearn_{kind}"], cpu[f"crbm_{kind}"])]))
        out[f"fit_overhead_{kind}"] = float(np.median(
            [(w - l) / l for w, l in zip(runs[f"crbm_{kind}"], runs[f"crbm_lib_{kind}"])]))
    out["raw_binding_overhead"] = float(np.median(
        [(w - l) / l for w, l in zip(runs["raw"], runs["raw_lib"])]))
    out["fit_breakdown_float64"] = fit_breakdown(train64, a)
    out["fit_breakdown_float32"] = fit_breakdown(train32, a)
    out["load_average_end"] = os.getloadavg()
    print(json.dumps(out, indent=1), flush=True)

    if a.epochs > 1:
        ours = crbm.RBM(a.hidden, cd=1, batch_size=100, learning_rate=a.lr, n_epochs=a.epochs,
                        random_state=0, n_threads=a.threads).fit(train32)
        sk = BernoulliRBM(n_components=a.hidden, batch_size=100, learning_rate=a.lr,
                          n_iter=a.epochs, random_state=0).fit(train32)
        for name, est in (("crbm", ours), ("sklearn", rbm_from_sklearn(sk, d))):
            z = est.log_partition("ais", ais_runs=a.ais_runs, ais_steps=a.ais_steps,
                                  base_data=train32[:10000])
            neg_f = float(np.mean(-np.asarray(est.free_energy(test), np.float64)))
            out[f"{name}_test_log_likelihood"] = neg_f - z["log_z"]
            out[f"{name}_test_log_likelihood_band"] = (neg_f - z["log_z_high"],
                                                       neg_f - z["log_z_low"])
            out[f"{name}_ais"] = {"runs": z["runs"], "steps": z["steps"], "seconds": z["seconds"]}
        out["epochs"] = a.epochs
        out["load_average_end"] = os.getloadavg()
        print(json.dumps(out, indent=1), flush=True)
    write_json(a.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
