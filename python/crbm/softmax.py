"""crbm.ReplicatedSoftmax: the replicated-softmax model of word counts (Salakhutdinov &
Hinton, NIPS 2009; libcrbm's SoftmaxRbm and SoftmaxCdTrainer), as `crbm rsm-train`
trains it."""
from __future__ import annotations

import hashlib

import numpy as np

from . import _crbm
from ._base import (SGD_CONFIG_KEYS, PickleByCheckpoint, Transformer, _check_is_fitted, ais_config,
                    ais_dict, check_X, check_choice, check_positive, config_json, from_checkpoint,
                    make_backend, n_epochs_of, params_from_metadata, partial_fit_epoch, run_epochs,
                    seed_from, set_sgd_fields, store_params)

# Models with at most this many hidden units get the exact log Z by default (rsm-eval's rule).
_EXACT_HIDDEN = 20


def _counts(est, X, reset):
    """X as float32 word counts (n_documents, vocabulary): NumPy, array-likes, or a
    scipy.sparse matrix (made dense); every value a non-negative integer, every row at
    least one word (a ValueError naming the row otherwise)."""
    if hasattr(X, "toarray") and hasattr(X, "tocsr"):  # scipy.sparse (CSR, COO, ...)
        X = X.tocsr().toarray()
    X = check_X(est, X, reset=reset)
    if not isinstance(X, np.ndarray):
        raise TypeError("X: ReplicatedSoftmax takes NumPy or scipy.sparse word counts")
    negative = X < 0
    if negative.any():
        r, c = np.argwhere(negative)[0]
        raise ValueError(f"X: Negative values in data (row {r}, column {c} is {X[r, c]}); "
                         "word counts must be non-negative integers")
    bad = X != np.floor(X)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(f"X: row {r}, column {c} is {X[r, c]}; word counts must be "
                         "non-negative integers")
    empty = np.flatnonzero(X.sum(axis=1) < 1)
    if empty.size:
        raise ValueError(f"X: document {empty[0]} is empty (no words); drop empty documents")
    return X


class ReplicatedSoftmax(PickleByCheckpoint, Transformer):
    """Replicated softmax: an RBM over word counts, one softmax over the vocabulary
    shared by the D words of a document, hidden biases scaled by D (libcrbm's
    SoftmaxRbm, kind "replicated"; trained by CD-k).

    Parameters
    ----------
    n_hidden : int
        Binary hidden units (topics-like features).
    cd : int
        Gibbs steps per update (CD-k; persistent chains are not supported here).
    learning_rate, momentum, final_momentum, momentum_switch_epoch, weight_decay,
    batch_size, n_epochs : SGD settings (the defaults of `crbm rsm-train`: lr 0.001,
        L2 0.001, 50 epochs).
    device, random_state, verbose, callback, n_threads, precision : as :class:`crbm.RBM`.

    fit(X) takes word counts (n_documents, vocabulary): NumPy, or scipy.sparse (made
    dense). transform(X) is P(h=1|v); score_samples(X) the log-probability of each
    document (as an ordered sequence of its words, `crbm rsm-eval`'s convention), with
    log Z_D per document length D exact (n_hidden <= 20) or by AIS.

    Attributes
    ----------
    components_ : ndarray (n_hidden, vocabulary)
        Weights (the transpose of libcrbm's [V x H] W).
    intercept_hidden_, intercept_visible_ : ndarray
    n_features_in_, n_iter_, history_.
    """

    def __init__(self, n_hidden=50, *, cd=1, learning_rate=0.001, momentum=0.5,
                 final_momentum=0.9, momentum_switch_epoch=5, weight_decay=1e-3, batch_size=100,
                 n_epochs=50, device="cpu", random_state=None, verbose=False, callback=None,
                 n_threads=0, precision="fp32"):
        store_params(self, locals())

    _positive_only = True
    _sparse_input = True  # scipy.sparse counts are accepted (made dense)

    def _check_counts(self, X, reset):
        """Every method's input check (_counts): a subclass may adapt the input first."""
        return _counts(self, X, reset)

    def _pickle_save(self, directory):
        path = f"{directory}/softmax_rbm.safetensors"
        _crbm.save_softmax_rbm(path, self._model, {"epochs_done": str(self.n_iter_)})
        return {"softmax_rbm.safetensors": path}

    def _pickle_restore(self, paths):
        self._backend = make_backend(self.device, self.n_threads, self.precision)
        self._attach(_crbm.load_softmax_rbm(self._backend, paths["softmax_rbm.safetensors"]))

    def _config(self):
        c = set_sgd_fields(_crbm.TrainConfig(), self)
        c.seed = self._seed
        c.validate()
        return c

    def _attach(self, model):
        self._model = model
        self._trainer = _crbm.SoftmaxCdTrainer(model, self._config())
        self._log_z = None

    def _publish(self):
        p = self._model.to_host()
        self.components_ = np.ascontiguousarray(p.weights.T)
        self.intercept_hidden_ = p.hidden_bias
        self.intercept_visible_ = p.visible_bias

    # ---- training ----
    def fit(self, X, y=None):
        """Trains n_epochs epochs from a fresh initialisation (visible biases from the
        word frequencies); returns self."""
        X = self._check_counts(X, reset=True)
        check_positive("n_hidden", self.n_hidden, integer=True)
        self._seed = seed_from(self.random_state)
        self._config()  # checked before the model is built
        self._backend = make_backend(self.device, self.n_threads, self.precision)
        model = _crbm.SoftmaxRbm(self._backend, X.shape[1], int(self.n_hidden), "replicated")
        model.init_random(self._seed, 0.01, X)
        self._mean_length = max(int(round(float(X.sum(axis=1).mean()))), 1)
        self._attach(model)
        self.history_, self.n_iter_ = [], 0
        self._run_epochs(X, n_epochs_of(self))
        return self

    def partial_fit(self, X, y=None):
        """One more epoch over X, initialising on the first call."""
        return partial_fit_epoch(self, X, "_model", lambda X: self._check_counts(X, reset=False))

    def _run_epochs(self, X, epochs):
        run_epochs(self, X, epochs)

    # ---- inference ----
    def transform(self, X):
        """P(h=1|v) per document (n_documents, n_hidden)."""
        _check_is_fitted(self)
        return self._model.hidden_given_visible(self._check_counts(X, reset=False))

    def free_energy(self, X):
        """F(v) per document (n_documents,)."""
        _check_is_fitted(self)
        return self._model.free_energy(self._check_counts(X, reset=False))

    def log_partition(self, length, method="auto", ais_runs=100, ais_steps=0, base_data=None):
        """log Z_D for documents of `length` D words: exact by enumerating the hidden
        layer ("exact"; "auto" when n_hidden <= 20), else AIS (ais_steps intervals,
        0: the authors' 14,500; seed random_state + 7919 D as `crbm rsm-eval`), from base
        rates of base_data (word counts; None: uniform). A dict as RBM.log_partition's,
        cached per (length, method, runs, steps)."""
        _check_is_fitted(self)
        check_choice("method", method, ("auto", "exact", "ais"))
        length = int(check_positive("length", length, integer=True))
        exact = method == "exact" or (method == "auto" and self._model.hidden <= _EXACT_HIDDEN)
        base = None if exact or base_data is None else self._check_counts(base_data, reset=False)
        digest = None if base is None else hashlib.sha1(base.data).hexdigest()
        key = (length, exact, ais_runs, ais_steps, digest)
        self._log_z = self._log_z or {}  # {key: result}; None after training
        if key in self._log_z:
            return self._log_z[key]
        if exact:
            result = {"method": "exact", "log_z": self._model.exact_log_partition(length)}
        else:
            config = ais_config(ais_runs, ais_steps, self._seed + 7919 * length)
            result = ais_dict(self._model.ais_log_partition(base, config, length))
        self._log_z[key] = result
        return result

    def score_samples(self, X, method="auto", ais_runs=100, ais_steps=0):
        """log P(v) per document (ordered words: log p of the count vector minus
        log D!/prod v_k!), with log Z_D for each document length D in X exact or by AIS
        (see log_partition; AIS base rates from X, as `crbm rsm-eval`). The method used
        is in score_method_, the log Z_D per length in log_z_."""
        _check_is_fitted(self)
        X = self._check_counts(X, reset=False)
        lengths = np.rint(X.sum(axis=1)).astype(np.int64)
        zs = {int(d): self.log_partition(int(d), method, ais_runs, ais_steps, X)
              for d in np.unique(lengths)}
        self.score_method_ = next(iter(zs.values()))["method"]
        self.log_z_ = {d: z["log_z"] for d, z in zs.items()}
        return np.asarray(self._model.log_prob(X, self.log_z_), np.float64)

    def score(self, X, y=None):
        """Mean log P(v) per document (as score_samples)."""
        return float(np.mean(self.score_samples(X)))

    def perplexity(self, X, **score_args):
        """exp(-mean over documents of log P(v) / D): Salakhutdinov & Hinton's per-word
        perplexity (as `crbm rsm-eval`'s "perplexity")."""
        X = self._check_counts(X, reset=False)
        lp = self.score_samples(X, **score_args)
        return float(np.exp(-np.mean(lp / X.sum(axis=1))))

    def sample(self, n_samples=16, length=None, n_steps=1000, init=None, random_state=None):
        """Alternating Gibbs sampling of documents for n_steps, from `init` word counts or
        from `length`-word documents drawn from the visible biases alone (length
        default: the mean training length when known, else 100); returns word counts
        (n_samples, vocabulary), each row summing to its document's length."""
        _check_is_fitted(self)
        check_positive("n_steps", n_steps, integer=True, allow_zero=True)
        seed = seed_from(self._seed if random_state is None else random_state)
        if init is None:
            n = int(check_positive("n_samples", n_samples, integer=True))
            d = getattr(self, "_mean_length", 100) if length is None else length
            d = int(check_positive("length", d, integer=True))
            b = self.intercept_visible_.astype(np.float64)
            p = np.exp(b - b.max())
            probs = np.tile((p / p.sum()).astype(np.float32), (n, 1))
            lengths = np.full((n, 1), d, np.float32)
            v = self._model.sample_visible(probs, lengths, seed, 0)
        else:
            v = self._check_counts(init, reset=False)
            lengths = np.ascontiguousarray(v.sum(axis=1, keepdims=True), np.float32)
        for step in range(int(n_steps)):
            h = self._model.sample_hidden(self._model.hidden_given_visible(v), seed, step)
            v = self._model.sample_visible(self._model.visible_probs_given_hidden(h), lengths,
                                           seed, step + 1)
        return v

    # ---- checkpoints (the CLI's softmax_rbm files) ----
    def save(self, path, metadata=None):
        """Writes the CLI's softmax_rbm checkpoint (weights [V,H], visible_bias,
        hidden_bias; softmax_kind replicated), read by `crbm rsm-eval`, `crbm eval` and
        `crbm transform`."""
        _check_is_fitted(self)
        meta = {"train_config": config_json(self._config(), self), "created_by": "crbm python",
                "crbm_version": _crbm.__version__, "epochs_done": str(self.n_iter_)}
        meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
        _crbm.save_softmax_rbm(str(path), self._model, meta)

    @classmethod
    def load(cls, path, device="cpu", **params):
        """An estimator from a replicated-softmax checkpoint (`crbm rsm-train` or save());
        hyperparameters from its train_config, overridden by **params."""
        meta = _crbm.load_safetensors(str(path))[1]
        if meta.get("softmax_kind", "replicated") != "replicated":
            raise ValueError(f"{path}: a softmax RBM of kind {meta.get('softmax_kind')!r}; "
                             "ReplicatedSoftmax loads replicated models only")
        kwargs, config = params_from_metadata(meta, "train_config", SGD_CONFIG_KEYS)
        if "cd_k" in config:
            kwargs["cd"] = int(config["cd_k"])
        backend = make_backend(device, params.get("n_threads", 0),
                               params.get("precision", kwargs.get("precision", "fp32")))
        model = _crbm.load_softmax_rbm(backend, str(path))
        kwargs.update(n_hidden=int(model.hidden), device=device)
        est = from_checkpoint(cls, meta, kwargs, params)
        est.n_features_in_ = int(model.visible)
        est.n_iter_ = int(meta.get("epochs_done", "0") or 0)
        est._seed = seed_from(est.random_state)
        est._backend = backend
        est._attach(model)
        est._publish()
        return est
