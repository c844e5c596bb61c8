"""scikit-learn conventions: check_estimator, clone, Pipeline with LogisticRegression
(scikit-learn's BernoulliRBM digits example, side by side)."""
import numpy as np
import pytest

import crbm

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import BernoulliRBM  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import minmax_scale  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

# Checks skipped, each with why (none at present: the one scikit-learn skips itself,
# check_array_api_input, needs SCIPY_ARRAY_API and an array-API library).
SKIPPED_CHECKS = {}


def test_check_estimator():
    results = check_estimator(crbm.RBM(n_hidden=4, n_epochs=2, random_state=0, n_threads=1), on_fail=None,
                              expected_failed_checks=SKIPPED_CHECKS)
    failed = [(r["check_name"], repr(r["exception"])) for r in results
              if r["status"] == "failed"]
    assert len(results) > 30
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
