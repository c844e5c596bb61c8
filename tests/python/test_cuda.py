"""The CUDA backend from Python (skipped without a GPU)."""
import numpy as np
import pytest

import crbm

pytestmark = pytest.mark.skipif(not crbm.cuda_available(),
                                reason="no CUDA device (or libcrbm built without CUDA)")


def test_cuda_matches_cpu(bars_data):
    cpu = crbm.RBM(8, n_epochs=3, random_state=0, device="cpu").fit(bars_data)
    gpu = crbm.RBM(8, n_epochs=3, random_state=0, device="cuda").fit(bars_data)
    np.testing.assert_allclose(gpu.components_, cpu.components_, atol=1e-3)
    np.testing.assert_allclose(gpu.transform(bars_data), cpu.transform(bars_data), atol=1e-3)


def test_torch_cuda_tensor_stays_on_the_gpu(bars_data):
    torch = pytest.importorskip("torch")
    gpu = crbm.RBM(8, n_epochs=2, random_state=0, device="cuda").fit(bars_data)
    x = torch.from_numpy(bars_data).cuda()
    h = torch.from_dlpack(gpu.transform(x))
    assert h.is_cuda and tuple(h.shape) == (400, 8)
    np.testing.assert_allclose(h.cpu().numpy(), gpu.transform(bars_data), atol=1e-5)
