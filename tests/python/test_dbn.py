"""crbm.DBN: pretraining, generative and fine-tuned classification, checkpoints."""
import numpy as np
import pytest

import crbm

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_digits  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return X[:1200], y[:1200], X[1200:], y[1200:]


def test_pretrain_transform_and_history(digits):
    X, _, Xt, _ = digits
    seen = []
    est = crbm.DBN((32, 16), n_epochs=2, random_state=0, n_threads=1,
                   callback=lambda e, s: seen.append(s["layer"])).fit(X)
    assert seen == [0, 0, 1, 1] and len(est.history_) == 4
    H = est.transform(Xt)
    assert H.shape == (len(Xt), 16) and np.all((H >= 0) & (H <= 1))
    with pytest.raises(ValueError, match="labels"):
        est.predict(Xt)


def test_generative_and_finetuned_classifiers_beat_chance(digits):
    X, y, Xt, yt = digits
    gen = crbm.DBN((64,), n_epochs=10, random_state=0, n_threads=1).fit(X, y)
    assert set(gen.predict(Xt)) <= set(range(10))
    assert gen.score(Xt, yt) > 0.5
    tuned = crbm.DBN((64,), n_epochs=5, finetune_epochs=20, random_state=0, n_threads=1)
    tuned.fit_finetune(X, y)
    assert tuned.score(Xt, yt) > 0.8


def test_save_load_round_trip(tmp_path, digits):
    X, y, Xt, _ = digits
    est = crbm.DBN((16, 8), n_epochs=1, random_state=0, n_threads=1).fit(X, y)
    path = tmp_path / "dbn.safetensors"
    est.save(path)
    back = crbm.load(path)
    assert isinstance(back, crbm.DBN) and back.hidden_layers == (16, 8)
    np.testing.assert_allclose(back.transform(Xt), est.transform(Xt), atol=1e-6)
    np.testing.assert_array_equal(back.predict(Xt), est.predict(Xt))


def test_bad_layers_are_clear_errors(digits):
    X = digits[0]
    with pytest.raises(ValueError, match=r"hidden_layers\[1\]"):
        crbm.DBN((8, 0), n_epochs=1).fit(X)
    with pytest.raises(ValueError, match="hidden_layers"):
        crbm.DBN((), n_epochs=1).fit(X)


def test_pickle_keeps_the_fine_tuned_classifier(digits):
    import pickle

    X, y, Xt, _ = digits
    est = crbm.DBN((16,), n_epochs=1, finetune_epochs=2, random_state=0, n_threads=1)
    est.fit_finetune(X, y)
    back = pickle.loads(pickle.dumps(est))
    assert back._mlp is not None
    np.testing.assert_array_equal(back.predict(Xt), est.predict(Xt))
    np.testing.assert_array_equal(back.transform(Xt), est.transform(Xt))


def test_labels_of_one_class_are_a_clear_error(digits):
    X = digits[0]
    with pytest.raises(ValueError, match="1 class"):
        crbm.DBN((8,), n_epochs=1).fit(X, np.zeros(len(X), int))
