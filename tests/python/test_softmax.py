"""crbm.ReplicatedSoftmax: training on word counts, exact log Z_D and log P(v) against
NumPy, AIS, sampling, sparse input, checkpoints both ways with `crbm rsm-train/eval`."""
import itertools
import json
import subprocess

import numpy as np
import pytest

import crbm


def run(*args):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def docs():
    """240 documents over a 12-word vocabulary from two 'topics', 4-12 words each."""
    rng = np.random.RandomState(0)
    topics = np.array([[4] * 6 + [1] * 6, [1] * 6 + [4] * 6], np.float64)
    topics /= topics.sum(1, keepdims=True)
    X = np.stack([rng.multinomial(rng.randint(4, 13), topics[i % 2]) for i in range(240)])
    return X.astype(np.float32)


@pytest.fixture(scope="module")
def small(docs):
    return crbm.ReplicatedSoftmax(4, n_epochs=20, learning_rate=0.01, batch_size=20,
                                  random_state=0, n_threads=1).fit(docs)


def numpy_log_prob(est, X):
    """log P(v) of each row by the model's formulas, log Z_D by enumerating h."""
    W = est.components_.T.astype(np.float64)
    b = est.intercept_visible_.astype(np.float64)
    c = est.intercept_hidden_.astype(np.float64)
    H = np.array(list(itertools.product([0, 1], repeat=W.shape[1])), np.float64)
    D = X.sum(1).astype(np.float64)
    out = []
    for v, d in zip(X.astype(np.float64), D):
        terms = d * (H @ c) + d * np.log(np.exp(b[None, :] + H @ W.T).sum(1))
        log_z = terms.max() + np.log(np.exp(terms - terms.max()).sum())
        neg_f = b @ v + np.logaddexp(0, d * c + v @ W).sum()
        out.append(neg_f - log_z)
    return np.array(out)


def test_fit_transform_and_attributes(docs, small):
    assert small.components_.shape == (4, 12) and small.n_features_in_ == 12
    assert small.n_iter_ == 20 and len(small.history_) == 20
    H = small.transform(docs)
    assert H.shape == (240, 4) and H.dtype == np.float32
    # P(h=1|v) = sigm(D c + v W)
    D = docs.sum(1, keepdims=True)
    expected = 1 / (1 + np.exp(-(D * small.intercept_hidden_ + docs @ small.components_.T)))
    np.testing.assert_allclose(H, expected, rtol=1e-4, atol=1e-5)
    # the two topics are told apart by the features
    assert np.abs(H[0::2].mean(0) - H[1::2].mean(0)).max() > 0.1


def test_exact_scores_match_numpy(docs, small):
    lp = small.score_samples(docs[:40])
    assert small.score_method_ == "exact"
    assert set(small.log_z_) == set(int(d) for d in docs[:40].sum(1))
    np.testing.assert_allclose(lp, numpy_log_prob(small, docs[:40]), atol=1e-3)
    ppl = small.perplexity(docs[:40])
    assert ppl == pytest.approx(np.exp(-np.mean(lp / docs[:40].sum(1))))
    assert 1 < ppl < 12  # better than nothing, no better than certainty


def test_ais_agrees_with_exact(small, docs):
    exact = small.log_partition(8, "exact")["log_z"]
    ais = small.log_partition(8, "ais", ais_runs=100, ais_steps=2000, base_data=docs)
    assert ais["method"] == "ais" and ais["log_z"] == pytest.approx(exact, abs=0.1)


def test_sample_gives_documents(small, docs):
    S = small.sample(6, length=9, n_steps=10, random_state=1)
    assert S.shape == (6, 12) and np.all(S >= 0) and np.all(S == np.floor(S))
    np.testing.assert_array_equal(S.sum(1), 9)
    T = small.sample(n_steps=5, init=docs[:3])
    np.testing.assert_array_equal(T.sum(1), docs[:3].sum(1))


def test_sparse_input_equals_dense(small, docs):
    sparse = pytest.importorskip("scipy.sparse")
    np.testing.assert_array_equal(small.transform(sparse.csr_matrix(docs)), small.transform(docs))


def test_save_load_round_trip(small, docs, tmp_path):
    path = tmp_path / "rsm.safetensors"
    small.save(path)
    back = crbm.load(path)
    assert isinstance(back, crbm.ReplicatedSoftmax) and back.n_hidden == 4
    assert back.learning_rate == pytest.approx(0.01) and back.batch_size == 20
    np.testing.assert_allclose(back.transform(docs), small.transform(docs), atol=1e-6)
    np.testing.assert_allclose(back.score_samples(docs[:10]), small.score_samples(docs[:10]))


def test_cli_checkpoints_both_ways(cli, docs, small, tmp_path):
    data = tmp_path / "docs.npy"
    np.save(data, docs)
    model = tmp_path / "cli_rsm.safetensors"
    run(cli, "rsm-train", "--data", f"npy:{data}", "--hidden", 5, "--epochs", 3, "--lr", 0.01,
        "--out", model, "--quiet")
    est = crbm.load(model)
    assert isinstance(est, crbm.ReplicatedSoftmax) and est.n_hidden == 5 and est.n_iter_ == 3
    features = tmp_path / "h.npy"
    run(cli, "transform", model, "--data", f"npy:{data}", "--out", features)
    np.testing.assert_allclose(est.transform(docs), np.load(features), rtol=1e-5, atol=1e-6)
    report = tmp_path / "eval.json"
    run(cli, "rsm-eval", model, "--data", f"npy:{data}", "--json", report, "--quiet")
    cli_eval = json.loads(report.read_text())
    assert cli_eval["log_z_method"] == "exact"
    assert est.score(docs) == pytest.approx(cli_eval["mean_log_prob"], abs=1e-3)
    assert est.perplexity(docs) == pytest.approx(cli_eval["perplexity"], rel=1e-4)

    mine = tmp_path / "py_rsm.safetensors"
    small.save(mine)
    run(cli, "rsm-eval", mine, "--data", f"npy:{data}", "--json", report, "--quiet")
    assert json.loads(report.read_text())["mean_log_prob"] == pytest.approx(small.score(docs),
                                                                          abs=1e-3)


def test_bad_counts_are_clear_errors(small, docs):
    bad = docs[:5].copy()
    bad[2, 3] = 0.5
    with pytest.raises(ValueError, match="row 2, column 3"):
        small.transform(bad)
    bad[2, 3] = -1
    with pytest.raises(ValueError, match="non-negative integers"):
        crbm.ReplicatedSoftmax(3, n_epochs=1).fit(bad)
    empty = docs[:5].copy()
    empty[4] = 0
    with pytest.raises(ValueError, match="document 4 is empty"):
        small.score_samples(empty)
    with pytest.raises(ValueError, match="features"):
        small.transform(docs[:, :5])
    with pytest.raises(ValueError, match="n_hidden"):
        crbm.ReplicatedSoftmax(0).fit(docs)
    with pytest.raises(ValueError, match="length"):
        small.sample(2, length=0)
