"""crbm.DBN: a deep belief network (greedy RBM stack), optionally fine-tuned by
backpropagation into a classifier (libcrbm's Dbn and Mlp)."""
from __future__ import annotations

import numpy as np

from . import _crbm
from ._base import (PickleByCheckpoint, Progress, Transformer, _check_is_fitted, check_choice,
                    check_positive, check_X, make_backend, run_layers, seed_from, set_sgd_fields,
                    stats_dict, store_params)


class DBN(PickleByCheckpoint, Transformer):
    """Deep belief network: RBMs trained greedily, each on the hidden probabilities of
    the one below (Hinton, Osindero & Teh 2006).

    Parameters
    ----------
    hidden_layers : sequence of int
        Hidden sizes, bottom to top.
    visible, cd, pcd, learning_rate, momentum, final_momentum, momentum_switch_epoch,
    weight_decay, batch_size, n_epochs : as :class:`crbm.RBM`, for every layer.
    finetune_epochs, finetune_learning_rate : int, float
        Backpropagation in fit_finetune (libcrbm's MlpTrainer: momentum 0.5 -> 0.9).
    device, random_state, verbose, callback, n_threads, precision : as :class:`crbm.RBM`;
        callback(estimator, stats) gets stats with a "layer" key ("finetune" in
        fit_finetune).

    fit(X) pretrains; fit(X, y) also puts the labels in the top RBM (a generative
    classifier: predict picks the class of lowest free energy). fit_finetune(X, y)
    pretrains without labels, then fine-tunes a sigmoid MLP from the weights; predict
    then uses the MLP. transform(X) is the deterministic up pass to the top layer
    (with labels in the top RBM: to the layer below it).
    """

    def __init__(self, hidden_layers=(500, 500), *, visible="bernoulli", cd=1, pcd=None,
                 learning_rate=0.05, momentum=0.5, final_momentum=0.9, momentum_switch_epoch=5,
                 weight_decay=2e-4, batch_size=100, n_epochs=10, finetune_epochs=50,
                 finetune_learning_rate=0.1, device="cpu", random_state=None, verbose=False,
                 callback=None, n_threads=0, precision="fp32"):
        store_params(self, locals())

    _model_attr = "_dbn"
    _library_attrs = ("_backend", "_dbn", "_mlp")

    def _pickle_save(self, directory):
        paths = {"dbn.safetensors": f"{directory}/dbn.safetensors"}
        _crbm.save_dbn(paths["dbn.safetensors"], self._dbn.to_host(), {})
        if self._mlp is not None:
            paths["mlp.safetensors"] = f"{directory}/mlp.safetensors"
            self._mlp.save(paths["mlp.safetensors"], {})
        return paths

    def _pickle_restore(self, paths):
        p, _ = _crbm.load_dbn_params(paths["dbn.safetensors"])
        self._backend = make_backend(self.device, self.n_threads, self.precision)
        self._dbn = _crbm.Dbn(self._backend, p)
        self._mlp = None
        if "mlp.safetensors" in paths:
            self._mlp = _crbm.MlpTrainer(self._backend, paths["mlp.safetensors"],
                                         _crbm.MlpConfig())

    def _config(self, num_classes):
        check_choice("visible", self.visible, ("bernoulli", "gaussian"))
        sizes = list(self.hidden_layers)
        if not sizes:
            raise ValueError("hidden_layers: expected at least one layer size")
        layers = []
        for i, h in enumerate(sizes):
            layer = _crbm.LayerConfig()
            layer.hidden = int(check_positive(f"hidden_layers[{i}]", h, integer=True))
            layer.visible_type = self.visible if i == 0 else "bernoulli"
            train = set_sgd_fields(_crbm.TrainConfig(), self)
            train.seed = self._seed + i
            layer.train = train
            layers.append(layer)
        c = _crbm.DbnConfig()
        c.layers = layers
        c.num_classes = int(num_classes)
        c.validate()
        return c

    def _labels(self, y, reset):
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(f"y: expected a 1-D array of labels, got shape {y.shape}")
        if reset:
            self.classes_, codes = np.unique(y, return_inverse=True)
            if len(self.classes_) < 2:
                raise ValueError(f"y: {len(self.classes_)} class; a DBN with labels needs "
                                 "at least 2 classes")
        else:
            codes = np.searchsorted(self.classes_, y)
            if np.any(codes >= len(self.classes_)) or np.any(self.classes_[codes] != y):
                raise ValueError("y: labels not seen by fit")
        return [int(c) for c in codes]

    def _pretrain(self, X, labels):
        self._seed = seed_from(self.random_state)
        classes = len(self.classes_) if labels else 0
        config = self._config(classes)
        self._backend = make_backend(self.device, self.n_threads, self.precision)
        self._dbn = _crbm.Dbn(self._backend, X.shape[1], config)
        self._mlp = None
        self.history_ = []
        total = len(config.layers) * max(int(self.n_epochs), 1)
        run_layers(self, total, lambda on_epoch: self._dbn.pretrain(X, labels, config, on_epoch))

    def fit(self, X, y=None):
        """Greedy pretraining of every layer (with y: labels in the top RBM)."""
        X = check_X(self, X, reset=True)
        labels = self._labels(y, reset=True) if y is not None else []
        self._pretrain(X, labels)
        return self

    def fit_finetune(self, X, y):
        """Pretraining (unless already fitted without labels), then backpropagation of a
        classifier initialised from the DBN for finetune_epochs epochs."""
        if not hasattr(self, "_dbn") or self._dbn.num_classes:
            X = check_X(self, X, reset=True)
            labels = self._labels(y, reset=True)
            self._pretrain(X, [])
        else:
            X = check_X(self, X, reset=False)
            labels = self._labels(y, reset=True)
        c = _crbm.MlpConfig()
        c.epochs = max(int(check_positive("finetune_epochs", self.finetune_epochs,
                                          integer=True)), 1)
        c.learning_rate = float(check_positive("finetune_learning_rate",
                                               self.finetune_learning_rate))
        c.batch_size = int(self.batch_size)
        c.seed = self._seed
        c.validate()
        self._mlp = _crbm.MlpTrainer(self._dbn, len(self.classes_), self._seed, c)
        progress = Progress(self.verbose, c.epochs, "DBN fine-tuning")
        try:
            for _ in range(c.epochs):
                s = dict(stats_dict(self._mlp.train_epoch(X, labels)), layer="finetune")
                self.history_.append(s)
                progress.update(s)
                if self.callback is not None and self.callback(self, s) is True:
                    break
        finally:
            progress.close()
        return self

    def transform(self, X):
        """The deterministic up pass: top-layer probabilities (n_samples, hidden_layers[-1]);
        for a DBN fitted with labels, the layer below the top (its top RBM's input)."""
        _check_is_fitted(self)
        depth = self._dbn.depth - (1 if self._dbn.num_classes else 0)
        return self._dbn.up_pass(check_X(self, X, reset=False), depth)

    def predict(self, X):
        """Class labels: the fine-tuned MLP's (after fit_finetune), else the labelled top
        RBM's lowest free energy (after fit(X, y))."""
        _check_is_fitted(self)
        X = check_X(self, X, reset=False)
        if self._mlp is not None:
            codes = self._mlp.predict(X)
        elif self._dbn.num_classes:
            codes = self._dbn.classify(X)
        else:
            raise ValueError("predict: fit with labels (fit(X, y) or fit_finetune) first")
        return self.classes_[np.asarray(codes, dtype=np.int64)]

    def score(self, X, y):
        """Classification accuracy."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    def save(self, path, metadata=None):
        """Writes the CLI's dbn checkpoint (the RBM stack; not the fine-tuned MLP:
        save_classifier writes that)."""
        _check_is_fitted(self)
        meta = {"created_by": "crbm python"}
        meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
        _crbm.save_dbn(str(path), self._dbn.to_host(), meta)

    def save_classifier(self, path, metadata=None):
        """Writes the fine-tuned MLP (the CLI's mlp checkpoint)."""
        if getattr(self, "_mlp", None) is None:
            raise ValueError("save_classifier: call fit_finetune first")
        self._mlp.save(str(path), {str(k): str(v) for k, v in (metadata or {}).items()})

    @classmethod
    def load(cls, path, device="cpu", **params):
        """An estimator from a dbn checkpoint (`crbm dbn-train` or save())."""
        p, meta = _crbm.load_dbn_params(str(path))
        layers = p.layers
        kwargs = {"hidden_layers": tuple(int(layer.hidden) for layer in layers),
                  "visible": layers[0].visible_type, "device": device}
        kwargs.update(params)
        est = cls(**kwargs)
        est._seed = seed_from(est.random_state)
        est._backend = make_backend(device, est.n_threads, est.precision)
        est._dbn = _crbm.Dbn(est._backend, p)
        est._mlp = None
        est.n_features_in_ = int(layers[0].visible)
        if p.num_classes:
            est.classes_ = np.arange(p.num_classes)
        est.history_ = []
        est.metadata_ = dict(meta)
        return est
