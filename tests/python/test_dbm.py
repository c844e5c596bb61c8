"""crbm.DBM: pretraining + joint training, mean field, exact log Z and the lower bound
against brute force, sampling, checkpoints both ways with `crbm dbm-train/deep-eval`."""
import itertools
import json
import subprocess

import numpy as np
import pytest

import crbm


def run(*args):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True)


def sigm(x):
    return 1 / (1 + np.exp(-x))


def brute_force(est, X):
    """(log Z, log p(v) per row of X) of a tiny 2-hidden-layer DBM: every (v, h2)
    enumerated, h1 summed out analytically."""
    (W0, W1), (b0, b1, b2) = [w.astype(np.float64) for w in est.weights_], \
        [b.astype(np.float64) for b in est.biases_]

    def log_unnorm(V, H2):  # log sum_h1 exp(-E(v, h1, h2)) for every pair of rows
        act = (V @ W0)[:, None, :] + (H2 @ W1.T)[None, :, :] + b1
        return (V @ b0)[:, None] + (H2 @ b2)[None, :] + np.logaddexp(0, act).sum(-1)

    def logsumexp(a, axis=None):
        m = a.max(axis=axis, keepdims=True)
        return np.squeeze(m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True)), axis)

    H2 = np.array(list(itertools.product([0, 1], repeat=W1.shape[1])), np.float64)
    V = np.array(list(itertools.product([0, 1], repeat=W0.shape[0])), np.float64)
    log_z = logsumexp(log_unnorm(V, H2))
    return log_z, logsumexp(log_unnorm(X.astype(np.float64), H2), axis=1) - log_z


@pytest.fixture(scope="module")
def bars12():
    """3 x 4 bars and stripes: 12 visible units (2^12 states to enumerate)."""
    rng = np.random.RandomState(0)
    rows = []
    for _ in range(300):
        if rng.rand() < 0.5:
            img = np.repeat((rng.rand(3) < 0.5)[:, None], 4, 1)
        else:
            img = np.repeat((rng.rand(4) < 0.5)[None, :], 3, 0)
        rows.append(img.ravel())
    return np.asarray(rows, np.float32)


@pytest.fixture(scope="module")
def small(bars12):
    return crbm.DBM((5, 3), pretrain_epochs=3, n_epochs=3, learning_rate=0.02, n_chains=20,
                    batch_size=20, random_state=0, n_threads=1).fit(bars12)


def test_fit_history_transform_and_attributes(bars12):
    seen = []
    est = crbm.DBM((6, 4), pretrain_epochs=2, n_epochs=3, batch_size=20, n_chains=10,
                   random_state=1, n_threads=1,
                   callback=lambda e, s: seen.append((s["phase"], s.get("layer")))).fit(bars12)
    assert seen == [("pretrain", 0)] * 2 + [("pretrain", 1)] * 2 + [("joint", None)] * 3
    assert est.n_iter_ == 3 and len(est.history_) == 7 and est.n_features_in_ == 12
    assert [w.shape for w in est.weights_] == [(12, 6), (6, 4)]
    assert [b.shape for b in est.biases_] == [(12,), (6,), (4,)]
    assert len(est.history_[-1]["mean_activation"]) == 2
    H = est.transform(bars12)
    assert H.shape == (300, 4) and H.dtype == np.float32 and np.all((H >= 0) & (H <= 1))
    est.set_params(output="all")
    assert est.transform(bars12).shape == (300, 10)


def test_mean_field_is_a_fixed_point(small, bars12):
    mu1, mu2 = small.mean_field(bars12, sweeps=200)
    (W0, W1), (_, b1, b2) = small.weights_, small.biases_
    np.testing.assert_allclose(mu1, sigm(bars12 @ W0 + mu2 @ W1.T + b1), atol=1e-4)
    np.testing.assert_allclose(mu2, sigm(mu1 @ W1 + b2), atol=1e-4)


def test_exact_log_z_and_lower_bound_against_brute_force(small, bars12):
    log_z, log_p = brute_force(small, bars12[:50])
    z = small.log_partition()
    assert z["method"] == "exact"
    assert z["log_z"] == pytest.approx(log_z, abs=1e-3)
    bound = small.score_samples(bars12[:50])
    assert small.score_method_ == "exact" and small.log_z_ == pytest.approx(log_z, abs=1e-3)
    assert bound.shape == (50,)
    assert np.all(bound <= log_p + 1e-4)  # a lower bound
    assert np.mean(log_p - bound) < 1.0   # and not a vacuous one on this tiny model


def test_ais_agrees_with_exact(small):
    exact = small.log_partition("exact")["log_z"]
    ais = small.log_partition("ais", ais_runs=100, ais_steps=2000)
    assert ais["method"] == "ais" and ais["log_z_low"] <= ais["log_z"] <= ais["log_z_high"]
    assert ais["log_z"] == pytest.approx(exact, abs=0.1)


def test_sample_shapes_and_seeds(small):
    a = small.sample(8, n_steps=20, random_state=3)
    assert a.shape == (8, 12) and np.all((a >= 0) & (a <= 1))
    np.testing.assert_array_equal(a, small.sample(8, n_steps=20, random_state=3))


def test_save_load_round_trip_and_resume(small, bars12, tmp_path):
    path = tmp_path / "dbm.safetensors"
    small.save(path)
    back = crbm.load(path)
    assert isinstance(back, crbm.DBM) and back.hidden_layers == (5, 3)
    assert back.n_chains == 20 and back.learning_rate == pytest.approx(0.02)
    assert back.n_iter_ == 3
    np.testing.assert_allclose(back.transform(bars12), small.transform(bars12), atol=1e-6)
    assert back.log_partition()["log_z"] == pytest.approx(small.log_partition()["log_z"])
    before = back.weights_[0].copy()
    back.partial_fit(bars12)  # one more joint epoch, as dbm-train --resume
    assert back.n_iter_ == 4 and not np.array_equal(before, back.weights_[0])


def test_cli_checkpoints_both_ways(cli, bars12, tmp_path, small):
    data = tmp_path / "bars.npy"
    np.save(data, bars12)
    model = tmp_path / "cli_dbm.safetensors"
    run(cli, "dbm-train", "--data", f"npy:{data}", "--hidden", "4,3", "--pretrain-epochs", 2,
        "--epochs", 2, "--chains", 10, "--batch", 20, "--lr", 0.01, "--out", model)
    est = crbm.load(model)
    assert isinstance(est, crbm.DBM) and est.hidden_layers == (4, 3) and est.n_iter_ == 2
    assert est.n_chains == 10 and est.batch_size == 20
    report = tmp_path / "eval.json"
    run(cli, "deep-eval", model, "--data", f"npy:{data}", "--json", report)
    cli_eval = json.loads(report.read_text())
    assert cli_eval["method"] == "exact"
    assert est.log_partition()["log_z"] == pytest.approx(cli_eval["log_z"], abs=1e-4)
    assert est.score(bars12) == pytest.approx(cli_eval["mean_lower_bound"], abs=1e-3)

    mine = tmp_path / "py_dbm.safetensors"
    small.save(mine)
    run(cli, "deep-eval", mine, "--data", f"npy:{data}", "--json", report)
    cli_eval = json.loads(report.read_text())
    assert cli_eval["log_z"] == pytest.approx(small.log_partition()["log_z"], abs=1e-4)
    assert cli_eval["mean_lower_bound"] == pytest.approx(small.score(bars12), abs=1e-3)


def test_parameters_and_bad_input(bars12, small):
    with pytest.raises(ValueError, match="hidden_layers: a DBM has 2 or 3"):
        crbm.DBM((8,), n_epochs=1).fit(bars12)
    with pytest.raises(ValueError, match=r"hidden_layers\[1\]"):
        crbm.DBM((8, 0), n_epochs=1).fit(bars12)
    with pytest.raises(ValueError, match="n_chains"):
        crbm.DBM((4, 3), n_chains=0).fit(bars12)
    with pytest.raises(ValueError, match="output"):
        crbm.DBM((4, 3), output="middle").fit(bars12)
    with pytest.raises(ValueError, match="features"):
        small.transform(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="method"):
        small.log_partition("guess")
    est = crbm.DBM((4, 3), learning_rate=0.1)
    assert est.get_params()["learning_rate"] == 0.1
    assert est.set_params(n_chains=7).n_chains == 7
