"""crbm.ConvRBM: shapes, exact likelihood, checkpoints."""
import numpy as np
import pytest

import crbm


@pytest.fixture
def images():
    rng = np.random.RandomState(0)
    return (rng.rand(60, 8, 8) < 0.3).astype(np.float32)


def test_fit_transform_shapes(images):
    est = crbm.ConvRBM(4, filter_size=3, pool=2, n_epochs=2, random_state=0).fit(images)
    assert est.filters_.shape == (4, 1, 3, 3) and est.image_shape_ == (1, 8, 8)
    pooled = est.transform(images)
    assert pooled.shape == (60, 4, 3, 3)  # valid 6x6 maps pooled by 2
    assert np.all((pooled >= 0) & (pooled <= 1))
    hidden = est.set_params(output="hidden").transform(images[:, None])  # (N, C, H, W) too
    assert hidden.shape == (60, 4, 6, 6)
    # at most one unit per pooling block is on: block sums of P(h) equal P(pool on)
    blocks = hidden.reshape(60, 4, 3, 2, 3, 2).sum(axis=(3, 5))
    np.testing.assert_allclose(blocks, pooled, atol=1e-5)


def test_exact_score_on_a_tiny_model():
    rng = np.random.RandomState(1)
    X = (rng.rand(50, 4, 4) < 0.5).astype(np.float32)
    est = crbm.ConvRBM(2, filter_size=2, pool=1, n_epochs=3, random_state=0).fit(X)
    scores = est.score_samples(X)
    assert est.score_method_ == "exact" and scores.shape == (50,)
    assert np.all(scores < 0)
    # probabilities over all 2^16 images sum to 1
    every = ((np.arange(2**16)[:, None] >> np.arange(16)) & 1).astype(np.float32).reshape(-1, 4, 4)
    assert np.exp(est.score_samples(every)).sum() == pytest.approx(1.0, abs=1e-3)


def test_save_load_round_trip(tmp_path, images):
    est = crbm.ConvRBM(3, filter_size=3, pool=2, n_epochs=1, random_state=0).fit(images)
    path = tmp_path / "conv.safetensors"
    est.save(path)
    back = crbm.load(path)
    assert isinstance(back, crbm.ConvRBM) and back.n_filters == 3 and back.pool == 2
    np.testing.assert_array_equal(back.transform(images), est.transform(images))


def test_bad_images_are_clear_errors(images):
    est = crbm.ConvRBM(3, filter_size=3, n_epochs=1, random_state=0).fit(images)
    with pytest.raises(ValueError, match="images"):
        est.transform(images.reshape(60, 64))
    with pytest.raises(ValueError, match="fitted on"):
        est.transform(images[:, :6, :6])
    with pytest.raises(ValueError, match="filter"):
        crbm.ConvRBM(3, filter_size=12, n_epochs=1).fit(images)


def test_rows_with_image_shape_are_the_images(images):
    a = crbm.ConvRBM(3, filter_size=3, pool=2, n_epochs=1, random_state=0).fit(images)
    b = crbm.ConvRBM(3, filter_size=3, pool=2, n_epochs=1, random_state=0,
                     image_shape=(8, 8)).fit(images.reshape(60, 64))
    assert b.image_shape_ == (1, 8, 8) and b.n_features_in_ == 64
    np.testing.assert_array_equal(b.filters_, a.filters_)
    np.testing.assert_array_equal(b.transform(images.reshape(60, 64)), a.transform(images))
    with pytest.raises(ValueError, match="image_shape"):
        crbm.ConvRBM(3, filter_size=3, image_shape=(7, 7), n_epochs=1).fit(images.reshape(60, 64))
    with pytest.raises(ValueError, match="image_shape"):
        crbm.ConvRBM(3, filter_size=3, image_shape=(8, -8), n_epochs=1).fit(images.reshape(60, 64))


def test_pickle_round_trip(images):
    import pickle

    est = crbm.ConvRBM(3, filter_size=3, pool=2, n_epochs=1, random_state=0).fit(images)
    back = pickle.loads(pickle.dumps(est))
    assert back.image_shape_ == est.image_shape_ and back.n_iter_ == 1
    np.testing.assert_array_equal(back.filters_, est.filters_)
    np.testing.assert_array_equal(back.transform(images), est.transform(images))
