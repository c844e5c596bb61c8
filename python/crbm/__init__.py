"""crbm: Boltzmann-family generative models (libcrbm) for Python.

Estimators in scikit-learn's conventions over the C++/CUDA library:

- :class:`RBM` -- dense RBM (Bernoulli or Gaussian visible units), CD-k / PCD-k,
  exact or AIS log-likelihood, Gibbs sampling, the CLI's safetensors checkpoints.
- :class:`ConvRBM` -- convolutional RBM with probabilistic max-pooling; transform
  gives (N, K, rows, cols) maps.
- :class:`DBN` -- deep belief network: greedy pretraining, fit_finetune (backprop)
  and predict.
- :class:`DBM` -- deep Boltzmann machine: doubled-input pretraining, joint mean-field
  + persistent-chain training, mean-field transform, AIS lower bound, sampling.
- :class:`ReplicatedSoftmax` -- replicated-softmax model of word counts: transform,
  per-document log-probability (exact or AIS), perplexity, sampling.

The extension module :mod:`crbm._crbm` binds the library's classes themselves
(``Rbm``, ``CdTrainer``, ``TrainConfig``, ``exact_log_partition``,
``ais_log_partition``, ...) for direct use. See docs/python.md.
"""
from ._crbm import (DivergenceError, Error, __version__, cuda_available, cuda_compiled,
                    load_dataset)
from .conv import ConvRBM
from .dbm import DBM
from .dbn import DBN
from .rbm import RBM
from .softmax import ReplicatedSoftmax

__all__ = ["RBM", "ConvRBM", "DBN", "DBM", "ReplicatedSoftmax", "Error", "DivergenceError",
           "__version__", "cuda_available", "cuda_compiled", "load_dataset", "load"]


def load(path, device="cpu", **params):
    """The estimator for a checkpoint written by the `crbm` CLI or an estimator's save()."""
    meta = _crbm.load_safetensors(str(path))[1]
    model = meta.get("model", "rbm")
    estimators = {"rbm": RBM, "dbn": DBN, "conv_rbm": ConvRBM, "cdbn": ConvRBM, "dbm": DBM,
                  "softmax_rbm": ReplicatedSoftmax}
    if model not in estimators:
        raise ValueError(f"{path}: model {model!r} has no Python estimator here (have: "
                         f"{', '.join(estimators)})")
    return estimators[model].load(path, device=device, **params)


from . import _crbm  # noqa: E402  (the extension, for direct use)
