"""crbm.ConvRBM: a convolutional RBM with probabilistic max-pooling (Lee et al. 2009)."""
from __future__ import annotations

import numbers

import numpy as np

from . import _crbm
from ._base import (PickleByCheckpoint, Transformer, _check_is_fitted, check_array_nd, check_choice,
                    check_n_features, check_positive, config_json, is_dlpack_tensor, make_backend,
                    partial_fit_epoch, run_epochs, seed_from, set_sgd_fields, store_params)


def _images(est, X, reset):
    """X as (N, C*H*W) float32 rows, recording its (C, H, W) in image_shape_ (reset) or
    checking it: NumPy images (N, H, W) / (N, C, H, W), or rows (N, D) -- flattened
    images of est.image_shape when that is set, else images of one row (1, 1, D) --
    converted to float32 C order only when needed (scikit-learn's check_array: clear
    errors for sparse, complex, object, NaN/infinity and empty input); or a DLPack
    tensor of those shapes (used as it is)."""
    if not is_dlpack_tensor(X):
        X = check_array_nd(X, allow_nd=True)
    shape = tuple(X.shape)
    if len(shape) == 2:
        geometry = _row_geometry(est, shape[1])
    elif len(shape) == 3:
        geometry = (1,) + shape[1:]
    elif len(shape) == 4:
        geometry = shape[1:]
    else:
        raise ValueError(f"X: expected images (N, H, W) or (N, C, H, W) or rows (N, D), "
                         f"got shape {shape}")
    if shape[0] == 0:
        raise ValueError("X: no images (0 rows)")
    geometry = tuple(int(g) for g in geometry)
    if not reset and len(shape) == 2:
        check_n_features(est, shape[1], reset=False)
    if reset:
        est.image_shape_ = geometry
        est.n_features_in_ = int(np.prod(geometry))
    elif geometry != est.image_shape_:
        raise ValueError(f"X: images of shape {geometry}, but {type(est).__name__} "
                         f"was fitted on {est.image_shape_}")
    return X.reshape(shape[0], -1)


def _row_geometry(est, n_features):
    """(C, H, W) of flattened image rows of n_features values: est.image_shape ((H, W)
    or (C, H, W)) when set, else (1, 1, n_features)."""
    if est.image_shape is None:
        return (1, 1, n_features)
    g = tuple(est.image_shape)
    if len(g) == 2:
        g = (1,) + g
    if len(g) != 3 or not all(isinstance(v, numbers.Integral) and v > 0 for v in g):
        raise ValueError(f"image_shape: expected (H, W) or (C, H, W) of positive integers, "
                         f"got {est.image_shape!r}")
    if int(np.prod(g)) != n_features:
        raise ValueError(f"X: rows of {n_features} values are not images of image_shape "
                         f"{est.image_shape!r} ({int(np.prod(g))} values)")
    return g


class ConvRBM(PickleByCheckpoint, Transformer):
    """Convolutional RBM with probabilistic max-pooling, trained by CD-k / PCD-k
    (libcrbm's ConvTrainer; Lee et al., ICML 2009).

    Parameters
    ----------
    n_filters, filter_size, pool : int
        K filters of F x F (per channel), max-pooling blocks of P x P.
    visible : {"bernoulli", "gaussian"}; sigma : float (Gaussian visible std).
    cd, pcd, learning_rate, momentum, final_momentum, momentum_switch_epoch,
    weight_decay, batch_size, n_epochs, device, random_state, verbose, callback,
    n_threads : as :class:`crbm.RBM` (the convolutional defaults: lr 0.02, L2 0.01,
        batch 20).
    precision : as :class:`crbm.RBM`; libcrbm applies it to the dense products only,
        so the convolutions of a ConvRBM stay fp32 whatever it is.
    sparsity_target, sparsity_cost : float
        Target mean activation of each filter's hidden units (0: off) and its weight.

    image_shape : (H, W), (C, H, W) or None
        The images that 2-D input rows (N, D) are, flattened in C order (D = C*H*W);
        None reads such rows as images one pixel high (1, 1, D).

    fit(X) takes images (N, H, W) or (N, C, H, W), or rows (N, D) (see image_shape);
    transform(X) returns the pooled probabilities P(pool on | v) as (N, K, rows, cols)
    (output="hidden": the hidden-unit probabilities before pooling).

    Attributes: filters_ (K, C, F, F), intercept_hidden_ (K,), intercept_visible_ (C,),
    image_shape_ (C, H, W), n_features_in_, n_iter_, history_.
    """

    def __init__(self, n_filters=24, filter_size=7, pool=2, *, visible="bernoulli", sigma=1.0,
                 cd=1, pcd=None, learning_rate=0.02, momentum=0.5, final_momentum=0.9,
                 momentum_switch_epoch=5, weight_decay=0.01, sparsity_target=0.0,
                 sparsity_cost=5.0, batch_size=20, n_epochs=10, output="pooled", device="cpu",
                 random_state=None, verbose=False, callback=None, n_threads=0,
                 image_shape=None, precision="fp32"):
        store_params(self, locals())

    _model_attr = "_rbm"

    def _pickle_save(self, directory):
        path = f"{directory}/conv_rbm.safetensors"
        _crbm.save_conv_rbm(path, self._rbm, {"epochs_done": str(self.n_iter_)})
        return {"conv_rbm.safetensors": path}

    def _pickle_restore(self, paths):
        p, _ = _crbm.load_conv_rbm_params(paths["conv_rbm.safetensors"], 0)
        self._backend = make_backend(self.device, self.n_threads, self.precision)
        self._attach(_crbm.ConvRbm(self._backend, p))

    def _config(self, seed):
        check_choice("visible", self.visible, ("bernoulli", "gaussian"))
        check_choice("output", self.output, ("pooled", "hidden"))
        c = set_sgd_fields(_crbm.ConvTrainConfig(), self)
        c.sparsity_target = float(self.sparsity_target)
        c.sparsity_cost = float(self.sparsity_cost)
        c.seed = seed
        c.validate()
        return c

    def _shape(self):
        s = _crbm.ConvShape()
        s.channels, s.height, s.width = self.image_shape_
        s.filters = int(check_positive("n_filters", self.n_filters, integer=True))
        s.filter_size = int(check_positive("filter_size", self.filter_size, integer=True))
        s.pool = int(check_positive("pool", self.pool, integer=True))
        s.validate()  # crbm.Error naming the field (e.g. filter_size > height)
        return s

    def _attach(self, rbm):
        self._seed = getattr(self, "_seed", None)
        if self._seed is None:
            self._seed = seed_from(self.random_state)
        self._rbm = rbm
        self._trainer = _crbm.ConvTrainer(rbm, self._config(self._seed))

    def fit(self, X, y=None):
        """Trains n_epochs epochs from a fresh initialization; returns self."""
        X = _images(self, X, reset=True)
        self._seed = seed_from(self.random_state)
        config = self._config(self._seed)
        self._backend = make_backend(self.device, self.n_threads, self.precision)
        rbm = _crbm.ConvRbm(self._backend, self._shape(), self.visible)
        rbm.init_random(self._seed, 0.01, None if is_dlpack_tensor(X) else X)
        self._rbm = rbm
        self._trainer = _crbm.ConvTrainer(rbm, config)
        self.history_, self.n_iter_ = [], 0
        self._run_epochs(X, int(self.n_epochs))
        return self

    def partial_fit(self, X, y=None):
        """One more epoch over X, initializing on the first call."""
        return partial_fit_epoch(self, X, "_rbm", lambda X: _images(self, X, reset=False))

    def _run_epochs(self, X, epochs):
        run_epochs(self, X, epochs)

    def _publish(self):
        p = self._rbm.to_host()
        self.filters_ = p.filters
        self.intercept_hidden_ = p.hidden_bias
        self.intercept_visible_ = p.visible_bias
        self.sigma_ = p.sigma

    def transform(self, X):
        """P(pool on | v) as (N, K, rows, cols) (output="hidden": P(h=1 | v) maps)."""
        _check_is_fitted(self)
        return self._rbm.hidden_given_visible(_images(self, X, reset=False),
                                              self.output == "pooled")

    def free_energy(self, X):
        """F(v) per image (n_samples,)."""
        _check_is_fitted(self)
        return self._rbm.free_energy(_images(self, X, reset=False))

    def score_samples(self, X):
        """Exact log P(v) = -F(v) - log Z for small Bernoulli models (C*H*W <= 24);
        larger models raise crbm.Error (no AIS for conv RBMs in libcrbm yet)."""
        _check_is_fitted(self)
        self.log_z_ = _crbm.conv_exact_log_partition(self._rbm)
        self.score_method_ = "exact"
        return -np.asarray(self.free_energy(X), dtype=np.float64) - self.log_z_

    def save(self, path, metadata=None):
        """Writes a conv_rbm checkpoint (read by `crbm conv transform/sample` and load())."""
        _check_is_fitted(self)
        meta = {"train_config": config_json(self._trainer.config, self),
                "created_by": "crbm python",
                "epochs_done": str(self.n_iter_)}
        meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
        _crbm.save_conv_rbm(str(path), self._rbm, meta)

    @classmethod
    def load(cls, path, device="cpu", layer=0, **params):
        """An estimator from a conv_rbm checkpoint or one layer of a CLI cdbn checkpoint."""
        p, meta = _crbm.load_conv_rbm_params(str(path), int(layer))
        k, c, f, _ = p.filters.shape
        kwargs = {"n_filters": int(k), "filter_size": int(f), "pool": int(p.pool),
                  "visible": p.visible_type, "sigma": float(p.sigma), "device": device}
        kwargs.update(params)
        est = cls(**kwargs)
        est.image_shape_ = (int(c), int(p.height), int(p.width))
        est.n_features_in_ = int(np.prod(est.image_shape_))
        est.metadata_ = dict(meta)
        est.history_, est.n_iter_ = [], int(meta.get("epochs_done", "0") or 0)
        est._backend = make_backend(device, est.n_threads, est.precision)
        est._attach(_crbm.ConvRbm(est._backend, p))
        est._publish()
        return est
