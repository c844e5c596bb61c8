"""The type stubs of the extension: generated at build time (nanobind_add_stub in
python/CMakeLists.txt), installed beside crbm._crbm, complete and current."""
import ast
import inspect
import pathlib
import subprocess
import sys

import pytest

from crbm import _crbm

STUB = pathlib.Path(_crbm.__file__).with_name("_crbm.pyi")


def stub_tree():
    assert STUB.is_file(), f"the installed package has no stub: {STUB} is missing"
    return ast.parse(STUB.read_text())


def defined_names(body):
    """Names a stub body defines: classes, functions and annotated or assigned names."""
    names = set()
    for node in body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def public(names):
    return {n for n in names if not n.startswith("_")}


def test_stub_names_every_public_class_and_function():
    tree = stub_tree()
    top = defined_names(tree.body)
    assert public(dir(_crbm)) - top == set()
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    for name in public(dir(_crbm)):
        obj = getattr(_crbm, name)
        if not inspect.isclass(obj) or issubclass(obj, BaseException):
            continue
        own = public(vars(obj))  # members the class itself defines (not inherited)
        missing = own - defined_names(classes[name].body)
        assert missing == set(), f"{name}: not in the stub: {sorted(missing)}"


def test_installed_stub_is_current(tmp_path):
    pytest.importorskip("nanobind.stubgen")
    out = tmp_path / "_crbm.pyi"
    subprocess.run([sys.executable, "-m", "nanobind.stubgen", "-q", "-m", "crbm._crbm", "-o",
                    str(out)], check=True)
    assert out.read_text() == STUB.read_text(), (
        f"{STUB} differs from the stub of the installed extension: rebuild the package")
