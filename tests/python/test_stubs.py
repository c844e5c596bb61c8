"""The committed type stubs of the extension match the built module."""
import pathlib
import subprocess
import sys

import pytest

STUB = pathlib.Path(__file__).resolve().parents[2] / "python" / "crbm" / "_crbm.pyi"


def test_extension_stub_is_current(tmp_path):
    pytest.importorskip("nanobind.stubgen")
    out = tmp_path / "_crbm.pyi"
    subprocess.run([sys.executable, "-m", "nanobind.stubgen", "-q", "-m", "crbm._crbm", "-o",
                    str(out)], check=True)
    assert out.read_text() == STUB.read_text(), (
        "python/crbm/_crbm.pyi is stale: python -m nanobind.stubgen -m crbm._crbm -o "
        "python/crbm/_crbm.pyi")
