"""scikit-learn conventions: check_estimator, clone, Pipeline with LogisticRegression
(scikit-learn's BernoulliRBM digits example, side by side)."""
import numpy as np
import pytest

import crbm

sklearn = pytest.importorskip("sklearn")
import sklearn.utils  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import BernoulliRBM  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import minmax_scale  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

# Checks skipped, each with why: none for RBM, DBM, DBN, ConvRBM (the one scikit-learn
# skips itself, check_array_api_input, needs SCIPY_ARRAY_API and an array-API library).
# ReplicatedSoftmax models word counts and rejects non-integer input with a ValueError;
# check_estimator's data are real numbers, so every check that fits on them fails for
# that reason alone (listed here; test_check_estimator_replicated_softmax_on_counts
# runs the same checks on the data rounded up to counts, where they all pass).
_NOT_COUNTS = "check_estimator's data are not word counts (non-negative integers)"
SKIPPED_CHECKS = {
    "ReplicatedSoftmax": {name: _NOT_COUNTS for name in (
        "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object",
        "check_estimator_sparse_array", "check_estimator_sparse_matrix",
        "check_estimator_sparse_tag", "check_estimators_dtypes",
        "check_estimators_fit_returns_self", "check_estimators_nan_inf",
        "check_estimators_overwrite_params", "check_estimators_pickle",
        "check_f_contiguous_array_estimator", "check_fit2d_1feature", "check_fit2d_1sample",
        "check_fit2d_predict1d", "check_fit_check_is_fitted", "check_fit_idempotent",
        "check_fit_score_takes_y", "check_methods_sample_order_invariance",
        "check_methods_subset_invariance", "check_n_features_in",
        "check_n_features_in_after_fitting", "check_pipeline_consistency",
        "check_readonly_memmap_input", "check_transformer_data_not_an_array",
        "check_transformer_general", "check_transformer_preserve_dtypes")},
}

# Small, fast instances (a few units, one or two epochs, one thread).
ESTIMATORS = {
    "RBM": lambda: crbm.RBM(n_hidden=4, n_epochs=2, random_state=0, n_threads=1),
    "DBM": lambda: crbm.DBM(hidden_layers=(4, 3), pretrain_epochs=1, n_epochs=1, n_chains=5,
                            mean_field_sweeps=2, random_state=0, n_threads=1),
    "DBN": lambda: crbm.DBN(hidden_layers=(4, 3), n_epochs=1, random_state=0, n_threads=1),
    "ConvRBM": lambda: crbm.ConvRBM(n_filters=2, filter_size=1, pool=1, n_epochs=1,
                                    random_state=0, n_threads=1),
    "ReplicatedSoftmax": lambda: crbm.ReplicatedSoftmax(n_hidden=4, n_epochs=1,
                                                        random_state=0, n_threads=1),
}


def run_checks(est, expected_failed):
    results = check_estimator(est, on_fail=None, expected_failed_checks=expected_failed)
    failed = [(r["check_name"], repr(r["exception"])) for r in results
              if r["status"] == "failed"]
    assert len(results) > 30
    return results, failed


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_check_estimator(name):
    expected = SKIPPED_CHECKS.get(name, {})
    results, failed = run_checks(ESTIMATORS[name](), expected)
    assert failed == []
    # each listed check does fail, and for the reason given (not for another one)
    for r in results:
        if r["check_name"] in expected:
            assert r["status"] == "xfail", r["check_name"]
            assert "word counts must be non-negative integers" in str(r["exception"]) or \
                "sparse" in str(r["exception"]), (r["check_name"], r["exception"])


class _RoundedCounts(crbm.ReplicatedSoftmax):
    """check_estimator's real-valued data as word counts (positive values rounded up,
    an all-zero row given one word; negative values left for the estimator to reject),
    so that the checks exercise everything but the counts check itself."""

    def _check_counts(self, X, reset):
        if hasattr(X, "toarray") and hasattr(X, "tocsr"):
            X = X.tocsr().toarray()
        X = sklearn.utils.check_array(X, dtype=np.float64)
        X = np.where(X > 0, np.ceil(X), X)
        X[:, 0] += (X == 0).all(axis=1)
        return super()._check_counts(X, reset)


def test_check_estimator_replicated_softmax_on_counts():
    est = _RoundedCounts(n_hidden=4, n_epochs=1, random_state=0, n_threads=1)
    _, failed = run_checks(est, {})
    assert failed == []


def test_get_set_params_and_clone():
    est = crbm.RBM(32, pcd=2, learning_rate=0.01)
    assert est.get_params()["pcd"] == 2
    twin = clone(est).set_params(n_hidden=8)
    assert twin.n_hidden == 8 and est.n_hidden == 32 and twin.pcd == 2


def digits():
    X, y = load_digits(return_X_y=True)
    X = minmax_scale(X, feature_range=(0, 1)).astype(np.float32)
    return train_test_split(X, y, test_size=0.2, random_state=0)


def test_pipeline_with_logistic_regression_beside_bernoulli_rbm():
    X_train, X_test, y_train, y_test = digits()
    ours = Pipeline([("rbm", crbm.RBM(100, learning_rate=0.06, n_epochs=10, batch_size=10,
                                      random_state=0, n_threads=1)),
                     ("logistic", LogisticRegression(C=6000, max_iter=1000))])
    theirs = Pipeline([("rbm", BernoulliRBM(n_components=100, learning_rate=0.06, n_iter=10,
                                            batch_size=10, random_state=0)),
                       ("logistic", LogisticRegression(C=6000, max_iter=1000))])
    ours_acc = ours.fit(X_train, y_train).score(X_test, y_test)
    theirs_acc = theirs.fit(X_train, y_train).score(X_test, y_test)
    assert ours_acc > 0.85
    assert ours_acc > theirs_acc - 0.05
