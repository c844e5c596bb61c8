"""crbm.DBM: a binary deep Boltzmann machine (libcrbm's Dbm and DbmTrainer), trained as
`crbm dbm-train` does: greedy doubled-input pretraining, then joint mean-field +
persistent-chain training."""
from __future__ import annotations

import warnings

import numpy as np

from . import _crbm
from ._base import (SGD_CONFIG_KEYS, PickleByCheckpoint, Transformer, _check_is_fitted, ais_config,
                    cached_log_z, check_X, check_choice, check_positive, config_json,
                    from_checkpoint, is_dlpack_tensor, make_backend, n_epochs_of,
                    params_from_metadata, partial_fit_epoch, run_epochs, run_layers, seed_from,
                    set_sgd_fields, store_params)

# DbmTrainConfig keys (besides the SgdConfig ones) -> DBM arguments.
_DBM_CONFIG_KEYS = dict(SGD_CONFIG_KEYS, mean_field_sweeps="mean_field_sweeps",
                        chains="n_chains", gibbs_steps="gibbs_steps",
                        resample_binarization="resample_binarization")


class DBM(PickleByCheckpoint, Transformer):
    """Deep Boltzmann machine with 2 or 3 binary hidden layers (Salakhutdinov & Hinton,
    AISTATS 2009), as ``crbm dbm-train`` trains it.

    Parameters
    ----------
    hidden_layers : sequence of 2 or 3 ints
        Hidden sizes, bottom to top.
    pretrain_epochs, pretrain_learning_rate : int, float
        Greedy pretraining of each layer (an RBM with doubled bottom-up input for the
        first, doubled top-down input for the top one); pretrain_epochs=0 skips it
        (joint training from the random initialisation).
    learning_rate, momentum, final_momentum, momentum_switch_epoch, weight_decay :
        Joint training's SGD settings (libcrbm's DBM defaults: lr 0.005, momentum 0.5
        throughout, L2 2e-4).
    batch_size : int
        Minibatch rows (pretraining and joint training).
    n_epochs : int
        Joint-training epochs of fit() (0: pretraining only).
    mean_field_sweeps, n_chains, gibbs_steps : int
        Mean-field sweeps per update (data term), persistent chains and Gibbs steps per
        update (model term).
    resample_binarization : bool
        The data are probabilities: draw a binary v from them for every minibatch (the
        CLI's --binarize stochastic).
    output : {"top", "all"}
        What transform returns: the top layer's mean-field posterior, or every hidden
        layer's side by side.
    device, random_state, verbose, callback, n_threads, precision : as :class:`crbm.RBM`;
        history_ and callback stats carry "phase" ("pretrain" with "layer", or "joint");
        a joint epoch's "warnings" (libcrbm's signs of a collapsing run: dead or
        saturated layers, jumps in activity or reconstruction error) are also issued
        as RuntimeWarnings, as `crbm dbm-train` prints them.

    Attributes
    ----------
    weights_ : list of ndarray
        W_l [n_l, n_{l+1}] (visible to h1 first), libcrbm's layout.
    biases_ : list of ndarray
        b_l [n_l], the visible bias first.
    n_features_in_, n_iter_ (joint epochs), history_.
    """

    def __init__(self, hidden_layers=(500, 1000), *, pretrain_epochs=10,
                 pretrain_learning_rate=0.05, learning_rate=0.005, momentum=0.5,
                 final_momentum=0.5, momentum_switch_epoch=5, weight_decay=2e-4, batch_size=100,
                 n_epochs=10, mean_field_sweeps=10, n_chains=100, gibbs_steps=5,
                 resample_binarization=False, output="top", device="cpu", random_state=None,
                 verbose=False, callback=None, n_threads=0, precision="fp32"):
        store_params(self, locals())

    _model_attr = "_dbm"

    def _pickle_save(self, directory):
        path = f"{directory}/dbm.safetensors"
        self.save(path)
        return {"dbm.safetensors": path}

    def _pickle_restore(self, paths):
        p, meta = _crbm.load_dbm_params(paths["dbm.safetensors"])
        self._restore(p, int(meta.get("updates_done", "0") or 0))

    def _restore(self, params, updates_done):
        """The library objects from a checkpoint's parameters, on self.device; the joint
        training resumes at epoch n_iter_, update updates_done (fresh chains)."""
        self._backend = make_backend(self.device, self.n_threads, self.precision)
        self._attach(_crbm.Dbm(self._backend, params), self.n_iter_, updates_done)
        self._publish()

    # ---- configuration ----
    def _hidden(self):
        sizes = list(self.hidden_layers)
        if len(sizes) not in (2, 3):
            raise ValueError(f"hidden_layers: a DBM has 2 or 3 hidden layers, got {len(sizes)}")
        return [int(check_positive(f"hidden_layers[{i}]", h, integer=True))
                for i, h in enumerate(sizes)]

    def _joint_config(self):
        c = set_sgd_fields(_crbm.DbmTrainConfig(), self)
        c.mean_field_sweeps = int(check_positive("mean_field_sweeps", self.mean_field_sweeps,
                                                 integer=True))
        c.chains = int(check_positive("n_chains", self.n_chains, integer=True))
        c.gibbs_steps = int(check_positive("gibbs_steps", self.gibbs_steps, integer=True))
        c.resample_binarization = bool(self.resample_binarization)
        c.seed = self._seed
        c.validate()  # crbm.Error naming the field
        return c

    def _pretrain_configs(self, depth):
        epochs = int(check_positive("pretrain_epochs", self.pretrain_epochs, integer=True,
                                    allow_zero=True))
        layers = []
        for layer in range(depth):  # as dbm-train: seed + layer, resampling on layer 0 only
            c = _crbm.TrainConfig()
            c.epochs = max(epochs, 1)
            c.batch_size = int(check_positive("batch_size", self.batch_size, integer=True))
            c.learning_rate = float(check_positive("pretrain_learning_rate",
                                                   self.pretrain_learning_rate))
            c.seed = self._seed + layer
            c.resample_binarization = layer == 0 and bool(self.resample_binarization)
            c.validate()
            layers.append(c)
        return layers, epochs

    def _attach(self, dbm, epochs_done=0, updates_done=0):
        self._dbm = dbm
        self._trainer = _crbm.DbmTrainer(dbm, self._joint_config())
        if epochs_done or updates_done:
            self._trainer.resume(int(epochs_done), int(updates_done))
        self._log_z = None

    def _publish(self):
        p = self._dbm.to_host()
        self.weights_ = p.weights
        self.biases_ = p.biases

    # ---- training ----
    def fit(self, X, y=None):
        """Pretraining (pretrain_epochs per layer), then n_epochs joint epochs; returns self."""
        X = check_X(self, X, reset=True)
        hidden = self._hidden()
        check_choice("output", self.output, ("top", "all"))
        self._seed = seed_from(self.random_state)
        layers, pre_epochs = self._pretrain_configs(len(hidden))
        self._joint_config()  # checked before any training
        self._backend = make_backend(self.device, self.n_threads, self.precision)
        dbm = _crbm.Dbm(self._backend, X.shape[1], hidden)
        self.history_, self.n_iter_ = [], 0
        self._ais_base = None if is_dlpack_tensor(X) else X[: min(len(X), 10000)]
        if pre_epochs > 0:
            run_layers(self, pre_epochs * len(hidden),
                       lambda on_epoch: dbm.pretrain(X, layers, 0.01, on_epoch))
        self._pretrain_record = (pre_epochs, float(self.pretrain_learning_rate))
        self._attach(dbm)
        self._run_epochs(X, n_epochs_of(self))
        return self

    def partial_fit(self, X, y=None):
        """One more joint epoch over X (fitting with pretraining first if not fitted)."""
        return partial_fit_epoch(self, X, "_dbm", lambda X: check_X(self, X, reset=False))

    def _run_epochs(self, X, epochs):
        first = len(self.history_)
        try:
            run_epochs(self, X, epochs, phase="joint")
        finally:  # libcrbm's signs of a collapsing run (dbm_health_warnings), as dbm-train
            for s in self.history_[first:]:
                for w in s.get("warnings", ()):
                    warnings.warn(f"DBM joint epoch {s['epoch']}: {w}", RuntimeWarning,
                                  stacklevel=3)

    # ---- inference ----
    def mean_field(self, X, sweeps=None):
        """The mean-field posteriors q(h_l = 1 | v), one (n_samples, n_l) array per hidden
        layer (sweeps: mean_field_sweeps by default)."""
        _check_is_fitted(self)
        sweeps = self.mean_field_sweeps if sweeps is None else sweeps
        return self._dbm.mean_field(check_X(self, X, reset=False),
                                    int(check_positive("sweeps", sweeps, integer=True)))

    def transform(self, X):
        """The top layer's mean-field posterior (n_samples, hidden_layers[-1]); with
        output="all", every hidden layer's, concatenated (n_samples, sum(hidden_layers))."""
        check_choice("output", self.output, ("top", "all"))
        mu = self.mean_field(X)
        return mu[-1] if self.output == "top" else np.hstack(mu)

    def log_partition(self, method="auto", ais_runs=100, ais_steps=0, base_data=None):
        """log Z of the DBM: exact when the even or the odd layers ([v | h2] or [h1 | h3])
        have <= 20 units in all ("auto"/"exact", as `crbm deep-eval`), else AIS on the
        equivalent bipartite RBM (base rates from base_data, else the first 10,000
        training rows, else -- loaded from a checkpoint -- uniform). A dict: method,
        log_z, and for AIS its 3-sigma band, runs, steps."""
        _check_is_fitted(self)
        bip = self._dbm.bipartite_rbm()
        base = base_data if base_data is not None else self._ais_base
        if base is None:  # loaded from a checkpoint: uniform visible base rates
            base = np.full((1, self.n_features_in_), 0.5, np.float32)

        def ais():
            b = check_X(self, base, reset=False)
            return self._dbm.ais_log_partition(b, ais_config(ais_runs, ais_steps, self._seed))

        exact_ok = min(bip.visible, bip.hidden) <= 20
        return cached_log_z(self, method, (ais_runs, ais_steps), exact_ok,
                            self._dbm.exact_log_partition, ais)

    def score_samples(self, X, method="auto", ais_runs=100, ais_steps=0, sweeps=30):
        """The variational (mean-field) lower bound on log p(v) per row,
        E_q[-E(v, h)] + H(q) - log Z, with log Z exact or by AIS (see log_partition);
        the method used is in score_method_ (and log_z_). A lower bound: the true
        log-likelihood is at least this (up to the AIS error of log Z)."""
        logz = self.log_partition(method, ais_runs, ais_steps)
        self.score_method_ = logz["method"]
        self.log_z_ = logz["log_z"]
        X = check_X(self, X, reset=False)
        return np.asarray(self._dbm.lower_bound(X, logz["log_z"], int(sweeps)), np.float64)

    def score(self, X, y=None):
        """Mean lower bound on log p(v) per row (as score_samples)."""
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=16, n_steps=1000, random_state=None):
        """Gibbs chains from random states (odd layers, then even layers, per step);
        returns the visible probabilities P(v | h1) after n_steps (n_samples, n_features)."""
        _check_is_fitted(self)
        n = int(check_positive("n_samples", n_samples, integer=True))
        steps = int(check_positive("n_steps", n_steps, integer=True))
        seed = seed_from(self._seed if random_state is None else random_state)
        return self._dbm.sample(n, steps, seed)

    # ---- checkpoints (the CLI's dbm files) ----
    def save(self, path, metadata=None):
        """Writes the CLI's dbm checkpoint (layer0.visible_bias, layer<l>.weights,
        layer<l>.hidden_bias; metadata dbm_train_config, epochs_done, updates_done, ...),
        read by `crbm deep-eval` and `crbm dbm-train --resume`."""
        _check_is_fitted(self)
        pre_epochs, pre_lr = getattr(self, "_pretrain_record", (0, self.pretrain_learning_rate))
        meta = {"dbm_train_config": config_json(self._joint_config(), self),
                "created_by": "crbm python",
                "crbm_version": _crbm.__version__, "epochs_done": str(self.n_iter_),
                "updates_done": str(self._trainer.updates), "pretrain_epochs": str(pre_epochs),
                "pretrain_lr": f"{pre_lr:g}",
                "binarize": "stochastic" if self.resample_binarization else "none"}
        meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
        _crbm.save_dbm(str(path), self._dbm.to_host(), meta)

    @classmethod
    def load(cls, path, device="cpu", **params):
        """An estimator from a dbm checkpoint (`crbm dbm-train` or save()); the joint
        settings from its dbm_train_config, overridden by **params. partial_fit continues
        the joint training where it stopped (as dbm-train --resume)."""
        p, meta = _crbm.load_dbm_params(str(path))
        kwargs, _ = params_from_metadata(meta, "dbm_train_config", _DBM_CONFIG_KEYS)
        sizes = [int(p.layer_size(i)) for i in range(len(p.biases))]
        kwargs.update(hidden_layers=tuple(sizes[1:]), device=device)
        if meta.get("pretrain_epochs", "").isdigit():
            kwargs["pretrain_epochs"] = int(meta["pretrain_epochs"])
        if "pretrain_lr" in meta:
            kwargs["pretrain_learning_rate"] = float(meta["pretrain_lr"])
        est = from_checkpoint(cls, meta, kwargs, params)
        est.n_features_in_ = sizes[0]
        est.n_iter_ = int(meta.get("epochs_done", "0") or 0)
        updates = int(meta.get("updates_done", "0") or 0)
        est._seed = seed_from(est.random_state)
        est._ais_base = None
        est._pretrain_record = (kwargs.get("pretrain_epochs", 0), est.pretrain_learning_rate)
        est._restore(p, updates)
        return est
