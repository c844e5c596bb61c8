#!/usr/bin/env python3
"""Where one CD-1 update's time goes: crbm.RBM against scikit-learn's BernoulliRBM.

    OPENBLAS_NUM_THREADS=1 python bench/python/profile_update.py --data /path/to/mnist \
        [--threads 1] [--rows 6000] [--repeats 5] [--json out.json]

784-500, minibatches of 100, float32 MNIST pixels / 255, one process, everything
interleaved and repeated (--repeats), each figure the minimum over the repeats (the
machine's other load only ever adds time). Per update, in milliseconds:

- the BLAS floor: the five products of an update (two up passes v W, one down pass
  h W', the two weight-gradient products v' h) on the shapes both use, by NumPy's
  OpenBLAS and by libcrbm's (the system OpenBLAS, through ctypes, when it can be
  loaded), and libcrbm's with its threads;
- scikit-learn: BernoulliRBM._fit itself, and the same operations one by one
  (the five products; bias add + expit; the uniforms of its two samples and their
  comparisons; the bool -> float casts its sampled visible states cost in the
  products; the parameter steps and bias sums);
- crbm: CdTrainer.update itself (the library's whole update, the binding's call
  included), and pieces through the binding: the up pass (gemm + bias + sigmoid),
  the down pass, the sampling of h (Philox), each with the binding's output array
  (so their sum is not a breakdown of the update: perf on `crbm train` gives that,
  see docs/results/python.md).
Each figure is reported as wall time and as the process's CPU time (minimum over the
repeats of each); the breakdown uses CPU time with one thread (on a shared machine
it is the time the work ran, not the time it waited), wall time otherwise.
Thread counts: `--threads` for libcrbm (its OpenMP/OpenBLAS pool), NumPy's OpenBLAS
from OPENBLAS_NUM_THREADS (threadpoolctl's report is printed when installed).
Results: docs/results/python.md.
"""
import ctypes
import ctypes.util
import json
import os
import sys

import numpy as np
from scipy.special import expit

import crbm
from _common import mnist_parser, timed_cpu, write_json

B, V, H = 100, 784, 500


def timed_calls(f, calls, store):
    """Runs f `calls` times; appends (wall, CPU) seconds per call (CPU time: the
    process's, all threads; see timed_cpu)."""

    def run():
        for _ in range(calls):
            f()
    wall, cpu, _ = timed_cpu(run)
    store.append((wall / calls, cpu / calls))


def system_sgemm(threads):
    """libcrbm's BLAS (the system OpenBLAS) through ctypes, or None."""
    for name in ("libopenblas.so.0", ctypes.util.find_library("openblas")):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_set_num_threads(int(threads) if threads > 0 else os.cpu_count())
            f = lib.cblas_sgemm
            P, I, F = ctypes.c_void_p, ctypes.c_int, ctypes.c_float
            f.argtypes = [I, I, I, I, I, I, F, P, I, P, I, F, P, I]
            return f
        except (OSError, AttributeError):
            continue
    return None


def main():
    ap = mnist_parser(__doc__)
    ap.add_argument("--threads", type=int, default=1, help="libcrbm CPU threads (0: all cores)")
    ap.add_argument("--rows", type=int, default=6000, help="training rows (updates = rows / 100)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--calls", type=int, default=20, help="calls per timing of one piece")
    ap.add_argument("--json")
    a = ap.parse_args()

    X = crbm.load_dataset(f"mnist:{a.data}:train", limit=a.rows)["x"]
    n = len(X) - len(X) % B
    X = np.ascontiguousarray(X[:n])
    v0 = np.ascontiguousarray(X[:B])
    rng = np.random.RandomState(0)
    W = (rng.randn(H, V) * 0.01).astype(np.float32)          # sklearn's components_ (H, V)
    W_vh = np.ascontiguousarray(W.T)                          # libcrbm's W [V x H]
    hb, vb = np.zeros(H, np.float32), np.zeros(V, np.float32)
    h0 = expit(v0 @ W.T)
    v1 = expit(h0 @ W)
    v1_bool = rng.uniform(size=v1.shape) < v1
    out = {"threads_crbm": a.threads, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
           "rows": n, "load_average_start": os.getloadavg()}
    pieces = {}

    def piece(name, f):
        pieces.setdefault(name, (f, []))

    # ---- the BLAS floor: the five products ----
    piece("numpy_5_products", lambda: (v0 @ W.T, h0 @ W, v1 @ W.T, v0.T @ h0, h0.T @ v1))
    sg = system_sgemm(a.threads)
    if sg is not None:
        RM, N_, T_ = 101, 111, 112
        p = lambda x: x.ctypes.data  # noqa: E731
        oh, ov, dW = np.empty((B, H), np.float32), np.empty((B, V), np.float32), np.empty((V, H), np.float32)

        def five():
            sg(RM, N_, N_, B, H, V, 1, p(v0), V, p(W_vh), H, 0, p(oh), H)
            sg(RM, N_, T_, B, V, H, 1, p(h0), H, p(W_vh), H, 0, p(ov), V)
            sg(RM, N_, N_, B, H, V, 1, p(v1), V, p(W_vh), H, 0, p(oh), H)
            sg(RM, T_, N_, V, H, B, 1, p(v0), V, p(h0), H, 0, p(dW), H)
            sg(RM, T_, N_, V, H, B, -1, p(v1), V, p(h0), H, 1, p(dW), H)
        piece("libcrbm_blas_5_products", five)

    # ---- scikit-learn: _fit and its operations ----
    from sklearn.neural_network import BernoulliRBM

    sk = BernoulliRBM(n_components=H, batch_size=B, learning_rate=0.05, n_iter=1, random_state=0)
    sk.fit(X[:B])  # the fitted state _fit needs
    sk_rng = np.random.RandomState(0)
    batches = [X[i:i + B] for i in range(0, n, B)]
    it = iter(range(10**9))
    piece("sklearn_fit_update", lambda: sk._fit(batches[next(it) % len(batches)], sk_rng))
    comp = np.asfortranarray(W)  # BernoulliRBM keeps components_ in Fortran order
    piece("sklearn_products_float_inputs", lambda: (v0 @ comp.T, h0 @ comp, v1 @ comp.T,
                                                    v0.T @ h0, h0.T @ v1))
    piece("sklearn_bool_to_float_casts", lambda: (v1_bool.astype(np.float32),
                                                  v1_bool.astype(np.float32)))
    t_h, t_v = np.empty((B, H), np.float32), np.empty((B, V), np.float32)

    def activations():
        np.add(h0, hb, out=t_h); expit(t_h, out=t_h)
        np.add(v1, vb, out=t_v); expit(t_v, out=t_v)
        np.add(h0, hb, out=t_h); expit(t_h, out=t_h)
    piece("sklearn_bias_add_expit_x3", activations)
    piece("sklearn_uniforms_and_compare_x2", lambda: (sk_rng.uniform(size=(B, V)) < v1,
                                                      sk_rng.uniform(size=(B, H)) < h0))
    upd = np.empty((H, V), np.float32)
    comp2 = comp.copy(order="F")

    def steps():
        comp2.__iadd__(0.0005 * upd)
        _ = 0.0005 * (h0.sum(axis=0) - h0.sum(axis=0))
        _ = 0.0005 * (v0.sum(axis=0) - v1.sum(axis=0))
        hn = h0.copy()
        hn[sk_rng.uniform(size=hn.shape) < hn] = 1.0
        np.floor(hn, hn)
    piece("sklearn_parameter_steps_and_h_sample", steps)

    # ---- crbm: CdTrainer.update and pieces through the binding ----
    be = crbm._crbm.make_backend("cpu", a.threads)
    rbm = crbm._crbm.Rbm(be, V, H, "bernoulli")
    rbm.init_random(0, 0.01, None)
    cfg = crbm._crbm.TrainConfig()
    cfg.cd.cd_k, cfg.batch_size, cfg.learning_rate = 1, B, 0.05
    trainer = crbm._crbm.CdTrainer(rbm, cfg)
    it2 = iter(range(10**9))
    piece("crbm_update", lambda: trainer.update(batches[next(it2) % len(batches)]))
    piece("crbm_up_pass_gemm_bias_sigmoid", lambda: rbm.hidden_given_visible(v0))
    piece("crbm_down_pass_gemm_bias_sigmoid", lambda: rbm.visible_mean_given_hidden(h0))
    piece("crbm_sample_h_philox", lambda: rbm.sample_hidden(h0, 1, 1, 0))

    try:  # after every library set its threads
        import threadpoolctl

        out["threadpools"] = [(i["internal_api"], i.get("prefix"), i["num_threads"])
                              for i in threadpoolctl.threadpool_info()]
    except ImportError:
        pass

    for name, (f, _) in pieces.items():  # warm-up
        f()
    for _ in range(a.repeats):
        for name, (f, store) in pieces.items():
            timed_calls(f, a.calls, store)
        print(json.dumps({k: round(v[1][-1][0] * 1e3, 3) for k, v in pieces.items()}),
              file=sys.stderr, flush=True)
    out["wall_ms_per_call_min"] = {k: min(w for w, _ in v[1]) * 1e3 for k, v in pieces.items()}
    out["cpu_ms_per_call_min"] = {k: min(c for _, c in v[1]) * 1e3 for k, v in pieces.items()}
    ms = out["cpu_ms_per_call_min"] if a.threads == 1 else out["wall_ms_per_call_min"]
    out["breakdown_from"] = "cpu" if a.threads == 1 else "wall"
    sk_sum = sum(ms[k] for k in ms if k.startswith("sklearn_") and k != "sklearn_fit_update")
    out["sklearn_pieces_sum_ms"] = sk_sum
    out["update_ratio_sklearn_over_crbm"] = ms["sklearn_fit_update"] / ms["crbm_update"]
    out["load_average_end"] = os.getloadavg()
    print(json.dumps(out, indent=1))
    write_json(a.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
