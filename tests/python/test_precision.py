"""precision= on the estimators: the backend's arithmetic of the dense products (the
CLI's --precision). The CPU backend emulates tf32/bf16 by rounding the operands, so the
results differ from fp32's, and by more the fewer mantissa bits, but stay close."""
import json

import numpy as np
import pytest

import crbm


def rbm(precision, data):
    return crbm.RBM(16, n_epochs=3, random_state=0, n_threads=1,
                    precision=precision).fit(data)


def test_rbm_precision_changes_results_but_stays_close(bars_data):
    fits = {p: rbm(p, bars_data) for p in ("fp32", "tf32", "bf16")}
    assert {p: e.get_params()["precision"] for p, e in fits.items()} == {
        "fp32": "fp32", "tf32": "tf32", "bf16": "bf16"}
    assert fits["bf16"]._backend.precision == "bf16"
    w = fits["fp32"].components_
    dev = {p: np.abs(fits[p].components_ - w).max() for p in ("tf32", "bf16")}
    assert 0 < dev["tf32"] < dev["bf16"]  # 10 mantissa bits are closer to fp32 than 7
    assert dev["bf16"] < 0.05 * np.abs(w).max()
    # exact log-likelihood (16 hidden units): within a few hundredths of a nat per row
    ll = {p: e.score(bars_data) for p, e in fits.items()}
    assert ll["tf32"] != ll["fp32"] and ll["bf16"] != ll["fp32"]
    assert abs(ll["bf16"] - ll["fp32"]) < 0.05 and abs(ll["tf32"] - ll["fp32"]) < 0.05
    # the same precision twice: the same model
    np.testing.assert_array_equal(rbm("bf16", bars_data).components_,
                                  fits["bf16"].components_)


def test_rbm_checkpoint_records_precision(tmp_path, bars_data):
    est = crbm.RBM(4, n_epochs=1, random_state=0, n_threads=1, precision="tf32").fit(bars_data)
    path = tmp_path / "m.safetensors"
    est.save(path)
    meta = crbm._crbm.load_safetensors(str(path))[1]
    assert json.loads(meta["train_config"])["precision"] == "tf32"  # as the CLI writes it
    back = crbm.load(path)
    assert back.precision == "tf32" and back._backend.precision == "tf32"
    assert crbm.load(path, precision="fp32").precision == "fp32"


@pytest.mark.parametrize("make", [
    lambda p: crbm.DBN((8, 4), n_epochs=2, random_state=0, n_threads=1, precision=p),
    lambda p: crbm.DBM((8, 4), pretrain_epochs=1, n_epochs=2, n_chains=10, random_state=0,
                       n_threads=1, precision=p),
    lambda p: crbm.ReplicatedSoftmax(4, n_epochs=2, random_state=0, n_threads=1,
                                     precision=p),
], ids=["DBN", "DBM", "ReplicatedSoftmax"])
def test_deep_and_softmax_models_train_at_bf16(make, bars_data):
    X = bars_data + 1 if "Softmax" in type(make("fp32")).__name__ else bars_data
    a = make("fp32").fit(X).transform(X)
    b = make("bf16").fit(X).transform(X)
    assert not np.array_equal(a, b)
    assert np.abs(a - b).max() < 0.01


@pytest.mark.parametrize("cls", [crbm.RBM, crbm.ConvRBM, crbm.DBN, crbm.DBM,
                                 crbm.ReplicatedSoftmax])
def test_bad_precision_is_a_clear_error(cls, bars_data):
    est = cls(n_epochs=1, precision="fp16")
    assert est.get_params()["precision"] == "fp16"  # stored as given, checked in fit
    X = bars_data.reshape(-1, 4, 4) if cls is crbm.ConvRBM else bars_data + (
        cls is crbm.ReplicatedSoftmax)
    if cls is crbm.ConvRBM:
        est.set_params(filter_size=2, pool=1)
    with pytest.raises(ValueError, match=r"precision: expected one of 'fp32', 'tf32', "
                                         r"'bf16', got 'fp16'"):
        est.fit(X)
