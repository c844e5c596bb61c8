"""crbm.RBM: training, likelihoods against brute force, sampling, checkpoints, pickling."""
import itertools
import pickle

import numpy as np
import pytest

import crbm


def brute_force_log_z(est):
    """log Z of a tiny Bernoulli RBM by summing over every (v, h) in NumPy."""
    W = est.components_.T.astype(np.float64)
    b = est.intercept_visible_.astype(np.float64)
    c = est.intercept_hidden_.astype(np.float64)
    V = np.array(list(itertools.product([0, 1], repeat=W.shape[0])), dtype=np.float64)
    H = np.array(list(itertools.product([0, 1], repeat=W.shape[1])), dtype=np.float64)
    neg_e = V @ W @ H.T + (V @ b)[:, None] + (H @ c)[None, :]
    m = neg_e.max()
    return m + np.log(np.exp(neg_e - m).sum())


def test_version_and_cuda_flag():
    assert crbm.__version__.count(".") == 2
    assert isinstance(crbm.cuda_available(), bool)


def test_fit_transform_shapes_and_attributes(bars_data):
    est = crbm.RBM(8, n_epochs=3, random_state=0).fit(bars_data)
    assert est.components_.shape == (8, 16)
    assert est.intercept_hidden_.shape == (8,)
    assert est.intercept_visible_.shape == (16,)
    assert est.n_features_in_ == 16 and est.n_iter_ == 3 and len(est.history_) == 3
    H = est.transform(bars_data)
    assert H.shape == (400, 8) and H.dtype == np.float32
    assert np.all((H >= 0) & (H <= 1))
    # transform is P(h=1|v) = sigm(c + v W)
    expected = 1 / (1 + np.exp(-(bars_data @ est.components_.T + est.intercept_hidden_)))
    np.testing.assert_allclose(H, expected, rtol=1e-4, atol=1e-5)


def test_training_lowers_reconstruction_error(bars_data):
    est = crbm.RBM(16, n_epochs=30, learning_rate=0.1, random_state=1).fit(bars_data)
    errors = [s["reconstruction_error"] for s in est.history_]
    assert errors[-1] < 0.7 * errors[0]


def test_same_random_state_same_model(bars_data):
    a = crbm.RBM(6, n_epochs=2, random_state=7).fit(bars_data)
    b = crbm.RBM(6, n_epochs=2, random_state=7).fit(bars_data)
    c = crbm.RBM(6, n_epochs=2, random_state=8).fit(bars_data)
    np.testing.assert_array_equal(a.components_, b.components_)
    assert not np.array_equal(a.components_, c.components_)


def test_exact_score_matches_brute_force(bars_data):
    est = crbm.RBM(5, n_epochs=5, learning_rate=0.1, random_state=0).fit(bars_data)
    log_z = brute_force_log_z(est)
    scores = est.score_samples(bars_data)
    assert est.score_method_ == "exact"
    assert est.log_z_ == pytest.approx(log_z, abs=1e-3)
    W = est.components_.T.astype(np.float64)
    free = -(bars_data @ est.intercept_visible_) - np.logaddexp(
        0, bars_data @ W + est.intercept_hidden_).sum(1)
    np.testing.assert_allclose(scores, -free - log_z, atol=1e-3)


def test_ais_agrees_with_exact(bars_data):
    est = crbm.RBM(12, n_epochs=10, learning_rate=0.1, random_state=0).fit(bars_data)
    exact = est.log_partition("exact")
    ais = est.log_partition("ais", ais_runs=100, ais_steps=2000)
    assert exact["method"] == "exact" and ais["method"] == "ais"
    assert ais["log_z"] == pytest.approx(exact["log_z"], abs=0.5)
    assert ais["log_z_low"] <= ais["log_z"] <= ais["log_z_high"]
    est.score_samples(bars_data, method="ais", ais_runs=100, ais_steps=2000)
    assert est.score_method_ == "ais"


def test_partial_fit_and_callback(bars_data):
    est = crbm.RBM(4, random_state=0)
    est.partial_fit(bars_data).partial_fit(bars_data)
    assert est.n_iter_ == 2 and len(est.history_) == 2
    seen = []
    est = crbm.RBM(4, n_epochs=10, random_state=0,
                   callback=lambda e, s: seen.append(s["epoch"]) or s["epoch"] == 3)
    est.fit(bars_data)
    assert seen == [1, 2, 3] and est.n_iter_ == 3


def test_verbose_prints_progress(bars_data, capsys):
    crbm.RBM(4, n_epochs=2, random_state=0, verbose=True).fit(bars_data)
    err = capsys.readouterr().err
    assert "RBM" in err or "epoch" in err


def test_pcd_and_gaussian(bars_data):
    est = crbm.RBM(6, pcd=3, n_epochs=2, random_state=0).fit(bars_data)
    assert est._trainer.config.cd.persistent and est._trainer.config.cd.cd_k == 3
    rng = np.random.RandomState(0)
    X = rng.randn(300, 5).astype(np.float32)
    g = crbm.RBM(4, visible="gaussian", n_epochs=2, learning_rate=0.01, random_state=0).fit(X)
    assert g.transform(X).shape == (300, 4)
    assert np.isfinite(g.score(X)) and g.score_method_ == "exact"


def test_sample_is_binary_and_shaped(bars_data):
    est = crbm.RBM(8, n_epochs=5, random_state=0).fit(bars_data)
    s = est.sample(10, n_steps=20)
    assert s.shape == (10, 16) and set(np.unique(s)) <= {0.0, 1.0}
    means = est.sample(init=bars_data[:3], n_steps=5, return_means=True)
    assert means.shape == (3, 16) and np.all((means >= 0) & (means <= 1))


def test_save_load_round_trip(tmp_path, bars_data):
    est = crbm.RBM(7, n_epochs=2, learning_rate=0.07, random_state=3).fit(bars_data)
    path = tmp_path / "rbm.safetensors"
    est.save(path, metadata={"note": "test"})
    back = crbm.load(path)
    assert isinstance(back, crbm.RBM)
    assert back.n_hidden == 7 and back.learning_rate == pytest.approx(0.07)
    assert back.metadata_["note"] == "test" and back.n_iter_ == 2
    np.testing.assert_array_equal(back.components_, est.components_)
    np.testing.assert_array_equal(back.transform(bars_data), est.transform(bars_data))
    back.partial_fit(bars_data)  # training continues from the checkpoint
    assert back.n_iter_ == 3


def test_pickle_round_trip(bars_data):
    est = crbm.RBM(5, n_epochs=2, random_state=0).fit(bars_data)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.transform(bars_data), est.transform(bars_data))
    assert back.score(bars_data) == pytest.approx(est.score(bars_data))


@pytest.mark.parametrize("param,value,word", [
    ("n_hidden", 0, "n_hidden"), ("visible", "binaryish", "visible"), ("cd", 0, "cd"),
    ("batch_size", -1, "batch_size"), ("learning_rate", 0.0, "learning_rate"),
    ("device", "tpu", "device"), ("momentum", 1.5, "momentum")])
def test_bad_hyperparameters_name_the_field(bars_data, param, value, word):
    with pytest.raises(ValueError, match=word):
        crbm.RBM(**{"n_hidden": 4, "n_epochs": 1, param: value}).fit(bars_data)


def test_cuda_device_without_gpu_is_a_clear_error(bars_data):
    if crbm.cuda_available():
        pytest.skip("a GPU is present (see test_cuda.py)")
    with pytest.raises(ValueError, match="(?i)cuda"):
        crbm.RBM(4, n_epochs=1, device="cuda").fit(bars_data)


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_initial_biases_are_those_of_the_full_data(visible):
    """fit hands init_random four rows with the data's exact column means
    (column_mean_rows) instead of the data: the biases must be bit-identical."""
    rng = np.random.RandomState(3)
    X = rng.rand(2000, 30).astype(np.float32)
    if visible == "gaussian":
        X = (X - 0.3) * 7
    est = crbm.RBM(4, visible=visible, n_epochs=0, random_state=5).fit(X)
    rbm = crbm._crbm.Rbm(crbm._crbm.make_backend("cpu", 1), 30, 4, visible)
    rbm.init_random(est._seed, 0.01, X)
    np.testing.assert_array_equal(est.intercept_visible_, rbm.to_host().visible_bias)
