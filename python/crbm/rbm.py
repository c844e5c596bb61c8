"""crbm.RBM: a dense restricted Boltzmann machine in scikit-learn's conventions."""
from __future__ import annotations

import numpy as np

from . import _crbm
from ._base import (SGD_CONFIG_KEYS, Transformer, _check_is_fitted, ais_config, cached_log_z,
                    check_X, check_choice, check_positive, column_mean_rows, config_json,
                    from_checkpoint, is_dlpack_tensor, make_backend, params_from_metadata,
                    run_epochs, seed_from, set_sgd_fields, store_params)


class RBM(Transformer):
    """Restricted Boltzmann machine trained by CD-k or PCD-k (libcrbm's CdTrainer).

    Parameters
    ----------
    n_hidden : int
        Number of hidden (Bernoulli) units.
    visible : {"bernoulli", "gaussian"}
        Visible units: binary (data in [0, 1], read as probabilities) or Gaussian
        (unit variance: standardize the data first).
    cd : int
        Gibbs steps per update of contrastive divergence (CD-k), used when pcd is None.
    pcd : int or None
        Persistent CD with this many Gibbs steps per update (overrides cd).
    learning_rate, momentum, final_momentum, momentum_switch_epoch, weight_decay :
        SGD settings (libcrbm's SgdConfig): momentum for the first
        momentum_switch_epoch epochs, final_momentum afterwards; L2 on the weights.
    batch_size : int
        Minibatch rows.
    n_epochs : int
        Epochs of fit().
    device : {"cpu", "cuda", "cuda:N"}
        The backend. Host (NumPy) arrays given to a CUDA model are uploaded;
        CUDA tensors (PyTorch/CuPy via DLPack) are used in place.
    random_state : int, numpy RandomState or None
        Seeds initialization, shuffling and sampling (None: fresh entropy).
    verbose : bool
        A progress bar (tqdm, if installed) or one line per epoch.
    callback : callable or None
        callback(estimator, stats) after each epoch, stats a dict (epoch,
        reconstruction_error, free_energy_train, samples_per_second, ...);
        returning True stops training.
    n_threads : int
        CPU threads (0: all cores).
    precision : {"fp32", "tf32", "bf16"}
        Arithmetic of the dense products (libcrbm's Backend::set_precision, the CLI's
        --precision): fp32, or the operands rounded to TF32 (10 mantissa bits) or
        bfloat16 (7) with fp32 accumulation -- tensor cores on the GPU, emulated by
        rounding on the CPU. Recorded in save()'s train_config as the CLI does.

    Attributes
    ----------
    components_ : ndarray (n_hidden, n_features)
        Weights (the transpose of libcrbm's [V x H] W, as scikit-learn's BernoulliRBM).
    intercept_hidden_, intercept_visible_ : ndarray
        Hidden and visible biases.
    n_features_in_ : int
    n_iter_ : int
        Epochs trained.
    history_ : list of dict
        Per-epoch statistics.
    """

    def __init__(self, n_hidden=256, *, visible="bernoulli", cd=1, pcd=None, learning_rate=0.05,
                 momentum=0.5, final_momentum=0.9, momentum_switch_epoch=5, weight_decay=2e-4,
                 batch_size=100, n_epochs=10, device="cpu", random_state=None, verbose=False,
                 callback=None, n_threads=0, precision="fp32"):
        store_params(self, locals())

    _legacy_tags = True  # scikit-learn < 1.6 also told: outputs are float32

    # ---- configuration ----
    def _train_config(self, seed):
        check_positive("n_hidden", self.n_hidden, integer=True)
        check_choice("visible", self.visible, ("bernoulli", "gaussian"))
        c = set_sgd_fields(_crbm.TrainConfig(), self)
        c.seed = seed
        c.validate()  # crbm.Error (a ValueError) naming the field
        return c

    def _new_model(self, X):
        self._seed = seed_from(self.random_state)
        config = self._train_config(self._seed)
        self._backend = make_backend(self.device, self.n_threads, self.precision)
        self._rbm = _crbm.Rbm(self._backend, X.shape[1], int(self.n_hidden), self.visible)
        self._rbm.init_random(self._seed, 0.01, self._init_data(X))
        self._trainer = _crbm.CdTrainer(self._rbm, config)
        self._ais_base = None if is_dlpack_tensor(X) else X[: min(len(X), 10000)]
        self._log_z = None
        self.history_ = []
        self.n_iter_ = 0

    @staticmethod
    def _init_data(X):
        """What init_random gets to set the visible biases from the data's means: four
        rows with exactly the data's column means (column_mean_rows; the same biases as
        from X, without copying X), X itself when those cannot be formed; None for
        device tensors."""
        if is_dlpack_tensor(X):
            return None
        rows = column_mean_rows(X)
        return X if rows is None else rows

    def _run_epochs(self, X, epochs):
        self._log_z = None
        run_epochs(self, X, epochs)

    def _publish(self):
        p = self._rbm.to_host()
        self.components_ = np.ascontiguousarray(p.weights.T)
        self.intercept_hidden_ = p.hidden_bias
        self.intercept_visible_ = p.visible_bias
        self.visible_sigma_ = p.visible_sigma

    # ---- scikit-learn API ----
    def fit(self, X, y=None):
        """Trains n_epochs epochs from a fresh initialization; returns self."""
        X = check_X(self, X, reset=True)
        self._new_model(X)
        self._run_epochs(X, int(self.n_epochs))
        return self

    def partial_fit(self, X, y=None):
        """One more epoch over X (minibatches of batch_size), initializing on the first call."""
        first = not hasattr(self, "_rbm")
        X = check_X(self, X, reset=first)
        if first:
            self._new_model(X)
        self._run_epochs(X, 1)
        return self

    def transform(self, X):
        """P(h=1|v) for each row: (n_samples, n_hidden). CUDA tensors stay on the GPU."""
        _check_is_fitted(self)
        return self._rbm.hidden_given_visible(check_X(self, X, reset=False))

    def reconstruct(self, X):
        """E[v | h = P(h|v)]: one mean-field up-down pass, (n_samples, n_features)."""
        return self._rbm.visible_mean_given_hidden(self.transform(X))

    def free_energy(self, X):
        """F(v) for each row (n_samples,)."""
        _check_is_fitted(self)
        return self._rbm.free_energy(check_X(self, X, reset=False))

    def log_partition(self, method="auto", ais_runs=100, ais_steps=0, base_data=None):
        """log Z, exact when the smaller layer has <= 30 units ("auto"/"exact"), else by
        AIS (libcrbm: Salakhutdinov & Murray's schedule, ais_steps intervals if > 0).
        Returns a dict: method, log_z, and for AIS log_z_low/log_z_high (3-sigma band),
        runs, steps. Cached until the parameters change."""
        _check_is_fitted(self)
        base = base_data if base_data is not None else self._ais_base
        return cached_log_z(
            self, method, (ais_runs, ais_steps), _crbm.exact_feasible(self._rbm),
            lambda: _crbm.exact_log_partition(self._rbm),
            lambda: _crbm.ais_log_partition(self._rbm, base,
                                            ais_config(ais_runs, ais_steps, self._seed)))

    def score_samples(self, X, method="auto", ais_runs=100, ais_steps=0):
        """log P(v) = -F(v) - log Z per row; log Z exact or by AIS (see log_partition).
        The method used is in self.score_method_ (and self.log_z_)."""
        logz = self.log_partition(method, ais_runs, ais_steps)
        self.score_method_ = logz["method"]
        self.log_z_ = logz["log_z"]
        f = self.free_energy(X)
        return -np.asarray(f, dtype=np.float64) - logz["log_z"]

    def score(self, X, y=None):
        """Mean log-likelihood per row (exact or AIS, as score_samples)."""
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=16, n_steps=1000, init=None, random_state=None,
               return_means=False):
        """Alternating Gibbs sampling (v -> h -> v) for n_steps from uniform random
        binary states (or from `init` rows); returns the final visible states
        (or their means E[v|h] with return_means)."""
        _check_is_fitted(self)
        check_positive("n_steps", n_steps, integer=True, allow_zero=True)
        seed = seed_from(self._seed if random_state is None else random_state)
        if init is None:
            check_positive("n_samples", n_samples, integer=True)
            rng = np.random.RandomState(seed % (2**32))
            v = (rng.rand(int(n_samples), self.n_features_in_) < 0.5).astype(np.float32)
        else:
            v = check_X(self, init, reset=False)
        mean = v
        for step in range(int(n_steps)):
            h = self._rbm.sample_hidden(self._rbm.hidden_given_visible(v), seed, 1, step)
            mean = self._rbm.visible_mean_given_hidden(h)
            v = self._rbm.sample_visible(mean, seed, 2, step)
        return mean if return_means else v

    # ---- checkpoints (the CLI's safetensors files) ----
    def save(self, path, metadata=None):
        """Writes the CLI's RBM checkpoint (safetensors: weights [V,H], visible_bias,
        hidden_bias, visible_sigma; metadata train_config, created_by, ...), readable
        by `crbm eval/sample/transform/info`."""
        _check_is_fitted(self)
        meta = {"train_config": config_json(self._trainer.config, self),
                "created_by": "crbm python",
                "crbm_version": _crbm.__version__, "epochs_done": str(self.n_iter_),
                "binarize": "none"}
        meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
        _crbm.save_rbm(str(path), self._rbm.to_host(), meta)

    @classmethod
    def load(cls, path, device="cpu", **params):
        """An estimator from an RBM checkpoint (written by `crbm train` or save());
        hyperparameters from its train_config where present, overridden by **params."""
        p, meta = _crbm.load_rbm_params(str(path))
        kwargs, config = params_from_metadata(meta, "train_config", SGD_CONFIG_KEYS)
        kwargs.update(n_hidden=int(p.hidden), visible=p.visible_type, device=device)
        if config.get("persistent"):
            kwargs["pcd"] = int(config.get("cd_k", 1))
        elif "cd_k" in config:
            kwargs["cd"] = int(config["cd_k"])
        est = from_checkpoint(cls, meta, kwargs, params)
        est._restore(p, int(meta.get("epochs_done", "0") or 0))
        return est

    def _restore(self, params, epochs_done):
        self._seed = seed_from(self.random_state)
        config = self._train_config(self._seed)
        self._backend = make_backend(self.device, self.n_threads, self.precision)
        self._rbm = _crbm.Rbm(self._backend, params)
        self._trainer = _crbm.CdTrainer(self._rbm, config)
        self._ais_base = None
        self._log_z = None
        self.n_features_in_ = int(params.visible)
        self.n_iter_ = epochs_done
        self.history_ = getattr(self, "history_", [])
        self._publish()

    # ---- pickling: the parameters, not the library objects ----
    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("_backend", "_rbm", "_trainer", "_log_z")}
        if "_rbm" in self.__dict__:
            p = self._rbm.to_host()
            state["_params"] = (p.visible_type, p.weights, p.visible_bias, p.hidden_bias,
                                p.visible_sigma)
        return state

    def __setstate__(self, state):
        params = state.pop("_params", None)
        self.__dict__.update(state)
        if params is not None:
            p = _crbm.RbmParams()
            (p.visible_type, p.weights, p.visible_bias, p.hidden_bias, p.visible_sigma) = params
            ais_base = state.get("_ais_base")
            self._restore(p, state.get("n_iter_", 0))
            self._ais_base = ais_base
