"""Array exchange: no copies for float32 C-order input, DLPack on the CPU, and one
clear TypeError/ValueError for a bad dtype, shape, layout or device."""
import numpy as np
import pytest

import crbm
from crbm import _crbm
from crbm._base import check_X


class DLPackOnly:
    """A tensor that speaks only DLPack (as a PyTorch or CuPy tensor would)."""

    def __init__(self, a):
        self._a = a
        self.shape = a.shape

    def __dlpack__(self, **kw):
        return self._a.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


@pytest.fixture
def model(bars_data):
    return crbm.RBM(6, n_epochs=2, random_state=0).fit(bars_data)


def test_float32_c_input_is_not_copied(model, bars_data):
    assert check_X(model, bars_data, reset=False) is bars_data
    x64 = bars_data.astype(np.float64)  # converted once, as scikit-learn would
    assert check_X(model, x64, reset=False).dtype == np.float32


def test_library_reads_the_callers_memory(model, bars_data):
    x = bars_data[:4].copy()
    before = model._rbm.free_energy(x)
    x[:] = 1 - x  # the same buffer, new contents: the library sees them
    after = model._rbm.free_energy(x)
    assert not np.allclose(before, after)


def test_dlpack_input_on_cpu(model, bars_data):
    expected = model.transform(bars_data)
    got = model.transform(DLPackOnly(bars_data))
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(model._rbm.hidden_given_visible(DLPackOnly(bars_data)), expected)


def test_results_export_dlpack(model, bars_data):
    h = model.transform(bars_data)
    back = np.from_dlpack(h)
    assert np.shares_memory(back, h)
    assert h.flags.c_contiguous and h.flags.writeable


def test_bad_dtype_is_a_type_error(model, bars_data):
    with pytest.raises(TypeError, match="X: expected a float32 array, got float64"):
        model._rbm.hidden_given_visible(bars_data.astype(np.float64))
    with pytest.raises(TypeError, match="float32"):
        model.transform(DLPackOnly(bars_data.astype(np.float64)))


def test_bad_shape_is_a_value_error(model, bars_data):
    with pytest.raises(ValueError, match=r"X: expected 16 columns, got shape \(400, 15\)"):
        model._rbm.hidden_given_visible(np.ascontiguousarray(bars_data[:, :15]))
    with pytest.raises(ValueError, match="2-D"):
        model._rbm.hidden_given_visible(bars_data.reshape(400, 4, 4))
    with pytest.raises(ValueError, match="features"):
        model.transform(bars_data[:, :15])


def test_non_contiguous_is_a_value_error(model, bars_data):
    strided = np.asfortranarray(bars_data)
    with pytest.raises(ValueError, match="C-contiguous"):
        model._rbm.hidden_given_visible(strided)
    with pytest.raises(ValueError, match="C-contiguous"):
        model.transform(DLPackOnly(bars_data[::2]))
    # NumPy input to the estimator is made contiguous (one copy) instead
    np.testing.assert_allclose(model.transform(strided), model.transform(bars_data))


def test_parameter_arrays_checked():
    p = _crbm.RbmParams()
    with pytest.raises(TypeError, match="weights: expected a float32 array"):
        p.weights = np.zeros((3, 2))
    p.weights = np.zeros((3, 2), np.float32)
    assert p.visible == 3 and p.hidden == 2
