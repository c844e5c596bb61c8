"""Shared pieces of the estimators: input checks, seeds, progress, pickling."""
from __future__ import annotations

import json
import numbers
import os
import sys
import tempfile

import numpy as np

from . import _crbm

try:  # scikit-learn is optional: the estimators follow its conventions either way
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.utils import check_array as _check_array
    from sklearn.utils import check_random_state as _check_random_state
    from sklearn.utils.validation import check_is_fitted as _check_is_fitted

    try:
        from sklearn.utils.validation import validate_data as _validate_data
    except ImportError:  # scikit-learn < 1.6
        def _validate_data(est, X, reset=True, **kw):
            return est._validate_data(X, reset=reset, **kw)

    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised only without scikit-learn
    HAVE_SKLEARN = False

    class BaseEstimator:  # minimal get_params/set_params over the __init__ arguments
        def get_params(self, deep=True):
            import inspect

            names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
            return {n: getattr(self, n) for n in names}

        def set_params(self, **params):
            for k, v in params.items():
                if k not in self.get_params():
                    raise ValueError(f"invalid parameter {k!r} for {type(self).__name__}")
                setattr(self, k, v)
            return self

    class TransformerMixin:
        def fit_transform(self, X, y=None, **kw):
            return self.fit(X, y, **kw).transform(X)

    def _check_random_state(seed):
        if seed is None or seed is np.random:
            return np.random.mtrand._rand
        if isinstance(seed, numbers.Integral):
            return np.random.RandomState(seed)
        if isinstance(seed, np.random.RandomState):
            return seed
        raise ValueError(f"random_state: {seed!r} cannot seed a numpy.random.RandomState")

    def _check_array(X, dtype=np.float32, order="C", allow_nd=False, **kw):
        X = np.asarray(X)
        if X.dtype.kind not in "fiub":
            raise TypeError(f"X: expected a numeric array, got dtype {X.dtype}")
        X = np.ascontiguousarray(X, dtype=dtype)
        if X.ndim < 2 or (X.ndim > 2 and not allow_nd):
            raise ValueError(f"Expected a 2-D array, got shape {X.shape}")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"Found array with shape {X.shape} (no samples or no features)")
        if not np.all(np.isfinite(X)):
            raise ValueError("Input X contains NaN or infinity")
        return X

    def _check_is_fitted(est, attributes=None):
        if not any(k.endswith("_") and not k.startswith("_") for k in vars(est)):
            raise AttributeError(f"This {type(est).__name__} instance is not fitted yet")

    def _validate_data(est, X, reset=True, dtype=np.float32, **kw):
        X = np.ascontiguousarray(np.asarray(X), dtype=dtype)
        if X.ndim != 2:
            raise ValueError(f"Expected a 2-D array, got shape {X.shape}")
        if reset:
            est.n_features_in_ = X.shape[1]
        elif X.shape[1] != est.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(est).__name__} "
                f"is expecting {est.n_features_in_} features as input")
        return X


class Transformer(TransformerMixin, BaseEstimator):
    """The estimators' base: a scikit-learn transformer whose tags come from class
    attributes. Outputs are float32 whatever the input dtype (`_preserves_dtype`);
    `_positive_only` / `_sparse_input` set those input tags; `_legacy_tags` also
    states preserves_dtype to scikit-learn < 1.6 (`_more_tags`)."""

    _preserves_dtype = ("float32",)
    _positive_only = False
    _sparse_input = False
    _legacy_tags = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = list(self._preserves_dtype)
        if self._positive_only:
            tags.input_tags.positive_only = True
        if self._sparse_input:
            tags.input_tags.sparse = True
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        if not self._legacy_tags:
            return {}
        return {"preserves_dtype": [np.dtype(d).type for d in self._preserves_dtype]}


def store_params(est, params):
    """The __init__ arguments (``locals()`` of __init__) as attributes, unchanged: the
    scikit-learn convention (checked in fit, not here)."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


def is_dlpack_tensor(X) -> bool:
    """An array that is not NumPy but speaks DLPack (PyTorch, CuPy, JAX, ...)."""
    return not isinstance(X, np.ndarray) and hasattr(X, "__dlpack__")


def check_X(est, X, reset: bool):
    """X as the library takes it. NumPy-like input goes through scikit-learn's checks
    (converted to float32 C order only when it is not already: no copy otherwise);
    DLPack tensors (PyTorch, CuPy) go to the library as they are, which requires
    float32, 2-D and C-contiguous and raises a TypeError/ValueError naming X."""
    if is_dlpack_tensor(X):
        shape = tuple(X.shape)
        if len(shape) != 2:
            raise ValueError(f"X: expected a 2-D array, got shape {shape}")
        if reset:
            est.n_features_in_ = shape[1]
        elif shape[1] != est.n_features_in_:
            raise ValueError(
                f"X has {shape[1]} features, but {type(est).__name__} is expecting "
                f"{est.n_features_in_} features as input")
        return X
    return _validate_data(est, X, reset=reset, dtype=np.float32, order="C")


def column_mean_rows(X):
    """Four float32 rows whose column means, as libcrbm's Rbm::init_random computes a mean
    (a double sum over the rows in order, then a division by the row count), are exactly
    the double column means of X (N x V, float32) that it would compute from X itself:
    the same visible biases without handing the library all of X (which the binding
    would copy into a HostTensor, and the library would then read column by column).
    The rows are a float expansion of 4 * mean: r1 + r2 + r3 + 0 (NumPy's axis-0
    reduction adds the rows in order, as the library's loop does). None when some mean
    cannot be written so (then pass X)."""
    if len(X) == 0:
        return None
    mean = np.add.reduce(X, axis=0, dtype=np.float64) / len(X)
    target = 4.0 * mean
    r1 = target.astype(np.float32)
    r2 = (target - r1).astype(np.float32)
    r3 = (target - r1 - r2).astype(np.float32)
    back = (((r1.astype(np.float64) + r2) + r3) + 0.0) / 4.0
    if not np.array_equal(back, mean):
        return None
    return np.ascontiguousarray(np.stack([r1, r2, r3, np.zeros_like(r1)]))


def seed_from(random_state) -> int:
    """A 63-bit library seed from an int, a RandomState or None (fresh entropy)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state: must be >= 0, got {random_state}")
        return int(random_state)
    rng = _check_random_state(random_state)
    return int(rng.randint(0, 2**31 - 1))


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_positive(name, value, integer=False, allow_zero=False):
    ok_type = isinstance(value, numbers.Integral) if integer else isinstance(value, numbers.Real)
    if isinstance(value, bool) or not ok_type or value < 0 or (value == 0 and not allow_zero):
        kind = "an integer" if integer else "a number"
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: expected {kind} {bound}, got {value!r}")
    return value


class Progress:
    """Per-epoch progress: a tqdm bar when tqdm is installed, else one line per epoch
    on stderr; silent unless verbose."""

    def __init__(self, verbose, total, desc):
        self.verbose = bool(verbose)
        self.bar = None
        if self.verbose:
            try:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=total, desc=desc, unit="epoch")
            except ImportError:
                self.bar = None
        self.desc = desc
        self.total = total

    def update(self, stats: dict):
        if not self.verbose:
            return
        keys = ("reconstruction_error", "free_energy", "free_energy_train", "samples_per_second")
        shown = {k: stats[k] for k in keys if k in stats}
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items()})
            self.bar.update(1)
        else:
            text = ", ".join(f"{k} {v:.4g}" for k, v in shown.items())
            print(f"[{self.desc}] epoch {stats.get('epoch')}/{self.total}: {text}",
                  file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def run_epochs(est, X, epochs, **extra):
    """`epochs` epochs of est._trainer over X: history_ (each stats dict with the
    `extra` keys), n_iter_, progress, callback (returning True stops), then
    est._publish() (the fitted attributes), also on error."""
    est._log_z = None  # a cached log Z is stale once the parameters move
    progress = Progress(est.verbose, epochs, type(est).__name__)
    try:
        for _ in range(epochs):
            stats = dict(stats_dict(est._trainer.train_epoch(X)), **extra)
            est.history_.append(stats)
            est.n_iter_ += 1
            progress.update(stats)
            if est.callback is not None and est.callback(est, stats) is True:
                break
    finally:
        progress.close()
        est._publish()


def n_epochs_of(est) -> int:
    """est.n_epochs, checked (0 allowed: initialisation only)."""
    return int(check_positive("n_epochs", est.n_epochs, integer=True, allow_zero=True))


def run_layers(est, total, pretrain, desc=None):
    """Greedy layer-wise pretraining with progress: pretrain(on_epoch) runs the
    library's pretraining, on_epoch(layer, EpochStats) appends to est.history_ (with
    "layer", and "phase": "pretrain") and calls est.callback."""
    progress = Progress(est.verbose, total, desc or type(est).__name__)

    def on_epoch(layer, stats):
        s = dict(stats_dict(stats), layer=int(layer), phase="pretrain")
        est.history_.append(s)
        progress.update(s)
        if est.callback is not None:
            est.callback(est, s)

    try:
        pretrain(on_epoch)
    finally:
        progress.close()


def set_sgd_fields(config, est):
    """The estimator's SGD hyperparameters into a library config (an SgdConfig:
    TrainConfig, ConvTrainConfig, DbmTrainConfig), each checked; for configs with a
    CD part (config.cd), cd_k/persistent from est.cd or est.pcd."""
    if hasattr(config, "cd"):
        if getattr(est, "pcd", None) is not None:
            config.cd.cd_k = check_positive("pcd", est.pcd, integer=True)
            config.cd.persistent = True
        else:
            config.cd.cd_k = check_positive("cd", est.cd, integer=True)
    config.epochs = max(int(check_positive("n_epochs", est.n_epochs, integer=True,
                                           allow_zero=True)), 1)
    config.batch_size = int(check_positive("batch_size", est.batch_size, integer=True))
    config.learning_rate = float(check_positive("learning_rate", est.learning_rate))
    config.momentum = float(est.momentum)
    config.final_momentum = float(est.final_momentum)
    config.momentum_switch_epoch = int(est.momentum_switch_epoch)
    config.weight_decay = float(est.weight_decay)
    return config


# The SgdConfig keys of a checkpoint's JSON training config -> estimator arguments.
SGD_CONFIG_KEYS = {"learning_rate": "learning_rate", "momentum": "momentum",
                   "final_momentum": "final_momentum",
                   "momentum_switch_epoch": "momentum_switch_epoch",
                   "weight_decay": "weight_decay", "batch_size": "batch_size",
                   "epochs": "n_epochs", "seed": "random_state", "precision": "precision"}


def params_from_metadata(meta, key, names):
    """Estimator arguments from a checkpoint's JSON training config (metadata[key]):
    {param: value} for each (config key -> param) of `names` present."""
    try:
        config = json.loads(meta.get(key, "{}"))
    except ValueError:
        config = {}
    if not isinstance(config, dict):
        return {}, {}
    return {param: config[k] for k, param in names.items() if k in config}, config


def from_checkpoint(cls, meta, kwargs, params):
    """cls(**kwargs), the caller's **params overriding, with metadata_ (the
    checkpoint's metadata) and an empty history_."""
    est = cls(**dict(kwargs, **params))
    est.metadata_ = dict(meta)
    est.history_ = []
    return est


def partial_fit_epoch(est, X, model_attr, check):
    """partial_fit: one more epoch over check(X) (est._run_epochs), after fit(X) with
    n_epochs = 0 (initialisation only) when est has no `model_attr` yet."""
    if not hasattr(est, model_attr):
        est.n_epochs, n = 0, est.n_epochs
        try:
            est.fit(X)
        finally:
            est.n_epochs = n
    est._run_epochs(check(X), 1)
    return est


def ais_dict(ais) -> dict:
    """An AisResult as the estimators report it (method "ais")."""
    return {"method": "ais", "log_z": ais.log_z, "log_z_low": ais.log_z_low,
            "log_z_high": ais.log_z_high, "runs": ais.runs, "steps": ais.steps,
            "seconds": ais.seconds}


def ais_config(runs, steps, seed):
    """A checked AisConfig."""
    config = _crbm.AisConfig()
    config.runs = int(check_positive("ais_runs", runs, integer=True))
    config.steps = int(check_positive("ais_steps", steps, integer=True, allow_zero=True))
    config.seed = int(seed)
    config.validate()
    return config


def cached_log_z(est, method, key, exact_ok, exact, ais):
    """log Z as a dict (method, log_z, and for AIS its band, runs, steps, seconds):
    exact() when method is "exact", or "auto" and exact_ok, else ais() (an AisResult);
    cached in est._log_z under `key` until the parameters change."""
    check_choice("method", method, ("auto", "exact", "ais"))
    key = (method,) + tuple(key)
    cached = getattr(est, "_log_z", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    if method == "exact" or (method == "auto" and exact_ok):
        result = {"method": "exact", "log_z": exact()}
    else:
        result = ais_dict(ais())
    est._log_z = (key, result)
    return result


def stats_dict(stats) -> dict:
    """A bound statistics struct (EpochStats, ConvEpochStats, ...) as a dict."""
    return {k: getattr(stats, k) for k in dir(stats) if not k.startswith("_")}


PRECISIONS = ("fp32", "tf32", "bf16")


def make_backend(device, n_threads, precision="fp32"):
    """A backend for `device` with `n_threads` CPU threads whose dense products
    (Backend::gemm) run at `precision` (the CLI's --precision: fp32, tf32 or bf16; the
    CPU backend emulates tf32/bf16 by rounding the operands)."""
    if not isinstance(device, str):
        raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    check_choice("precision", precision, PRECISIONS)
    backend = _crbm.make_backend(device, int(n_threads))
    backend.precision = precision
    return backend


def config_json(config, est):
    """A library config's JSON with the estimator's precision, as the CLI writes a
    checkpoint's training config (tools/common.cpp with_precision)."""
    j = json.loads(config.to_json())
    j["precision"] = est.precision
    return json.dumps(j)


def check_array_nd(X, allow_nd):
    """A NumPy-like X as float32 C order through scikit-learn's check_array (clear
    errors for sparse, complex, object, NaN/infinity and empty input; no copy when it
    is float32 C order already); N-D arrays when allow_nd."""
    return _check_array(X, dtype=np.float32, order="C", allow_nd=allow_nd)


def check_n_features(est, n_features, reset):
    """Records n_features_in_ (reset) or checks X against it, in scikit-learn's words."""
    if reset:
        est.n_features_in_ = int(n_features)
    elif n_features != est.n_features_in_:
        raise ValueError(f"X has {n_features} features, but {type(est).__name__} is "
                         f"expecting {est.n_features_in_} features as input")


class PickleByCheckpoint:
    """Pickling through the CLI's checkpoint files: the estimator's attributes except
    the library objects (`_library_attrs`), plus the bytes of the checkpoint(s) that
    `_pickle_save(directory)` writes (a dict name -> path); unpickling writes them back
    to a temporary directory and `_pickle_restore(paths)` rebuilds the library objects
    (on the estimator's device). Unfitted estimators pickle their parameters only."""

    _library_attrs = ("_backend", "_trainer", "_log_z")
    _model_attr = "_model"

    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in self._library_attrs}
        state.pop(self._model_attr, None)
        if self._model_attr in self.__dict__:
            with tempfile.TemporaryDirectory() as d:
                paths = self._pickle_save(d)
                blobs = {}
                for name, path in paths.items():
                    with open(path, "rb") as f:
                        blobs[name] = f.read()
            state["_checkpoints"] = blobs
        return state

    def __setstate__(self, state):
        state = dict(state)
        blobs = state.pop("_checkpoints", None)
        self.__dict__.update(state)
        if blobs is not None:
            with tempfile.TemporaryDirectory() as d:
                paths = {}
                for name, data in blobs.items():
                    paths[name] = os.path.join(d, os.path.basename(name))
                    with open(paths[name], "wb") as f:
                        f.write(data)
                self._pickle_restore(paths)
