"""Bytecode at publish: a layer version's and a function's Python sources are byte-compiled
once, in the background, into a sidecar beside the extracted tree (`<data>/bytecode/`), which
environments mount above the tree, so imports load `.pyc` instead of compiling sources. What
was uploaded (the tree, the ZIP, its CodeSha256, the download) never changes.

The handler counts the sources the import system compiles (`SourceFileLoader.source_to_code`)
while it imports the layer's package; with `sys.pycache_prefix` set, CPython looks for `.pyc`
elsewhere and compiles again, which shows the count is real and gives the result without
bytecode to compare with."""

from __future__ import annotations

import base64
import importlib._bootstrap_external as bootstrap_external
import subprocess
import time
from pathlib import Path

import pytest

from function_support import publish_layer
from harness import REPO, VENV
from helpers import http_get
from invoke_support import deploy, fn_name, invoke, mlam  # noqa: F401
from zips import simple_zip

# Functions run python3.11 (Debian's /usr/bin/python3.11): its sidecar is `python3.11/`.
PYTHON = "3.11"
READY_WAIT_SECS = 60

CORE = b'''"""A small pure-Python package: some arithmetic and a class."""
from functools import reduce


class Accumulator:
    def __init__(self):
        self.total = 0

    def add(self, n):
        self.total += n * n
        return self


def compute(n):
    acc = reduce(lambda a, i: a.add(i), range(n), Accumulator())
    return {"sum_of_squares": acc.total, "fib": fib(n), "text": f"n={n}"}


def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
'''

# A stale `.pyc` as pip leaves in a layer: timestamp-based, for other file times than the
# tree's, so on its own it would be recompiled on every cold start.
STALE_PYC = bootstrap_external._code_to_timestamp_pyc(compile(CORE, "core.py", "exec"), 1, len(CORE))

LAYER_FILES = {
    "python/bcpkg/__init__.py": b"from .core import compute, fib\nfrom . import util\n",
    "python/bcpkg/core.py": CORE,
    "python/bcpkg/util.py": b"def shout(s):\n    return s.upper() + '!'\n",
    "python/bcpkg/__pycache__/core.cpython-311.pyc": STALE_PYC,
    "python/bcpkg/data.txt": b"not python\n",
}

# Handler prelude: counts the sources the import system compiles into `compiled`.
COUNT_COMPILED = '''\
import importlib.machinery

compiled = []
_source_to_code = importlib.machinery.SourceFileLoader.source_to_code


def _counting(self, data, path, *args, **kwargs):
    compiled.append(path)
    return _source_to_code(self, data, path, *args, **kwargs)


importlib.machinery.SourceFileLoader.source_to_code = _counting
'''

HANDLER = COUNT_COMPILED + '''
import importlib
import os
import sys

import helper


def lambda_handler(event, context):
    compiled.clear()
    sys.pycache_prefix = "/tmp/pycache" if event.get("without_bytecode") else None
    for name in [m for m in sys.modules if m == "bcpkg" or m.startswith("bcpkg.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    try:
        import bcpkg
    finally:
        sys.pycache_prefix = None
    return {
        "result": bcpkg.compute(30),
        "shout": bcpkg.util.shout(helper.NAME),
        "compiled": sorted(p for p in compiled if p.startswith("/opt/")),
        "cached": bcpkg.core.__cached__,
        "cached_is_file": os.path.isfile(bcpkg.core.__cached__),
        "helper_cached_is_file": os.path.isfile(helper.__cached__),
    }
'''


def hex_of(code_sha256: str) -> str:
    return base64.b64decode(code_sha256).hex()


def sidecar(server, code_sha256: str, python: str = PYTHON) -> Path:
    digest = hex_of(code_sha256)
    return server.data_dir / "bytecode" / "sha256" / digest[:2] / digest / f"python{python}"


def wait_ready(server, code_sha256: str, python: str = PYTHON) -> Path:
    """Waits until the tree of `code_sha256` has its bytecode for `python`; returns where."""
    path = sidecar(server, code_sha256, python)
    deadline = time.monotonic() + READY_WAIT_SECS
    while not path.is_dir():
        assert time.monotonic() < deadline, f"no bytecode at {path} after {READY_WAIT_SECS} s"
        time.sleep(0.05)
    return path


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir()}


def handler_code(name: str = "fn") -> bytes:
    return simple_zip({"lambda_function.py": HANDLER.encode(), "helper.py": f"NAME = {name!r}\n".encode()})


@pytest.fixture
def published(mlam, layer_name):
    """The package layer, published for python3.11: (PublishLayerVersion output, ZIP bytes)."""
    return publish_layer(mlam, layer_name, LAYER_FILES, CompatibleRuntimes=[f"python{PYTHON}"])


def test_a_layers_package_is_imported_from_bytecode_compiled_at_publish(mlam, module_server, fn_name, published):
    out, _ = published
    layer_sidecar = wait_ready(module_server, out["Content"]["CodeSha256"])
    # `.pyc` only, one per source, where the interpreter looks for them.
    assert files_under(layer_sidecar) == {
        "python/bcpkg/__pycache__/__init__.cpython-311.pyc",
        "python/bcpkg/__pycache__/core.cpython-311.pyc",
        "python/bcpkg/__pycache__/util.cpython-311.pyc",
    }
    created = deploy(mlam, fn_name, zip_bytes=handler_code(), Layers=[out["LayerVersionArn"]])
    wait_ready(module_server, created["CodeSha256"])

    with_bytecode = invoke(mlam, fn_name, {}).json()
    without = invoke(mlam, fn_name, {"without_bytecode": True}).json()

    assert with_bytecode["compiled"] == [], "sources were compiled despite the bytecode"
    assert with_bytecode["cached"] == "/opt/python/bcpkg/__pycache__/core.cpython-311.pyc"
    assert with_bytecode["cached_is_file"] and with_bytecode["helper_cached_is_file"]
    # The same imports, told to look for bytecode elsewhere, compile every source again.
    assert without["compiled"] == [
        "/opt/python/bcpkg/__init__.py",
        "/opt/python/bcpkg/core.py",
        "/opt/python/bcpkg/util.py",
    ]
    assert with_bytecode["result"] == without["result"] == {
        "sum_of_squares": sum(i * i for i in range(30)),
        "fib": 832040,
        "text": "n=30",
    }
    assert with_bytecode["shout"] == without["shout"] == "FN!"


def test_what_was_uploaded_stays_exactly_as_uploaded(mlam, module_server, layer_name, published):
    out, data = published
    wait_ready(module_server, out["Content"]["CodeSha256"])
    got = mlam.get_layer_version(LayerName=layer_name, VersionNumber=out["Version"])

    assert got["Content"]["CodeSha256"] == out["Content"]["CodeSha256"]
    assert got["Content"]["CodeSize"] == len(data)
    assert http_get(got["Content"]["Location"]).body == data
    digest = hex_of(out["Content"]["CodeSha256"])
    tree = module_server.data_dir / "trees" / "sha256" / digest[:2] / digest
    assert files_under(tree) == set(LAYER_FILES), "the extracted tree is never written"
    assert (tree / "python/bcpkg/__pycache__/core.cpython-311.pyc").read_bytes() == STALE_PYC


def test_a_source_that_does_not_compile_never_runs_another_layers_bytecode(mlam, module_server, fn_name, layer_name):
    """Both layers ship python/shadow.py; the upper one's does not compile. The lower one's
    `.pyc` must not stand in for it: the import fails as it would without any bytecode."""
    lower, _ = publish_layer(mlam, f"{layer_name}-a", {"python/shadow.py": b"WHO = 'lower'\n"})
    upper, _ = publish_layer(mlam, f"{layer_name}-b", {"python/shadow.py": b"WHO = (\n"})
    for out in (lower, upper):
        wait_ready(module_server, out["Content"]["CodeSha256"])
    source = (
        "def lambda_handler(event, context):\n"
        "    try:\n"
        "        import shadow\n"
        "    except SyntaxError as e:\n"
        "        return 'SyntaxError'\n"
        "    return shadow.WHO\n"
    )
    deploy(mlam, fn_name, source, Layers=[lower["LayerVersionArn"], upper["LayerVersionArn"]])

    assert invoke(mlam, fn_name).json() == "SyntaxError"


def test_a_layer_without_python_sources_gets_no_sidecar(mlam, module_server, layer_name):
    out, _ = publish_layer(mlam, layer_name, {"bin/tool.sh": b"#!/bin/sh\necho hi\n"})
    digest = hex_of(out["Content"]["CodeSha256"])
    marker = module_server.data_dir / "bytecode" / "sha256" / digest[:2] / digest / f"python{PYTHON}.empty"
    deadline = time.monotonic() + READY_WAIT_SECS
    while not marker.exists():
        assert time.monotonic() < deadline, f"no {marker}"
        time.sleep(0.05)

    assert not sidecar(module_server, out["Content"]["CodeSha256"]).exists()


def test_a_layer_used_by_a_runtime_it_does_not_name_is_compiled_for_that_runtime(
    mlam, module_server, fn_name, layer_name
):
    """Published for Node.js only, so compiled for no Python, then used by a python3.11
    function: creating the function compiles the layer for 3.11."""
    # Bytes of its own: no other test's layer may have had them compiled already.
    files = {**LAYER_FILES, "python/bcpkg/NAME.txt": layer_name.encode()}
    out, _ = publish_layer(mlam, layer_name, files, CompatibleRuntimes=["nodejs20.x"])
    code_sha256 = out["Content"]["CodeSha256"]
    assert not sidecar(module_server, code_sha256).parent.exists()

    deploy(mlam, fn_name, zip_bytes=handler_code(), Layers=[out["LayerVersionArn"]])

    wait_ready(module_server, code_sha256)
    assert invoke(mlam, fn_name, {}).json()["compiled"] == []


PANDAS_HANDLER = COUNT_COMPILED + '''
import os

import pandas as pd

frame = pd.DataFrame({"n": range(1, 11), "sq": [i * i for i in range(1, 11)]})


def lambda_handler(event, context):
    return {
        "describe": frame.describe().round(6).to_dict(),
        "pivot": frame.assign(odd=frame.n % 2).groupby("odd").sq.sum().to_dict(),
        "compiled_from_opt": len([p for p in compiled if p.startswith("/opt/")]),
        "pandas": pd.__version__,
        "prefix": os.environ.get("PYTHONPYCACHEPREFIX"),
    }
'''


def test_pandas_from_a_layer_gives_the_same_result_with_and_without_its_bytecode(
    mlam, module_server, fn_name, layer_name, tmp_path
):
    wheels = REPO / "target" / "heavy-wheels"
    assert any(wheels.glob("pandas-*.whl")), "no pandas wheel: scripts/prepare-tests downloads it"
    target = tmp_path / "python"
    subprocess.run(
        [str(VENV / "bin" / "pip"), "install", "--quiet", "--no-index", "--no-compile",
         "--find-links", str(wheels), "--platform", "manylinux2014_x86_64", "--python-version", "3.11",
         "--only-binary=:all:", "--target", str(target), "numpy==2.2.6", "pandas==2.3.2"],
        check=True,
    )
    files = {
        str(path.relative_to(tmp_path)): path.read_bytes()
        for path in tmp_path.rglob("*") if path.is_file()
    }
    out, _ = publish_layer(mlam, layer_name, files, CompatibleRuntimes=[f"python{PYTHON}"])
    wait_ready(module_server, out["Content"]["CodeSha256"])
    handler = simple_zip({"lambda_function.py": PANDAS_HANDLER.encode()})
    deploy(mlam, fn_name, zip_bytes=handler, Layers=[out["LayerVersionArn"]])
    # The same function told to look for bytecode elsewhere compiles every source it imports.
    deploy(mlam, f"{fn_name}-src", zip_bytes=handler, Layers=[out["LayerVersionArn"]],
           Environment={"Variables": {"PYTHONPYCACHEPREFIX": "/tmp/pycache"}})

    with_bytecode = invoke(mlam, fn_name).json()
    without = invoke(mlam, f"{fn_name}-src").json()

    assert with_bytecode["pandas"] == without["pandas"] == "2.3.2"
    assert with_bytecode["compiled_from_opt"] == 0, with_bytecode
    assert without["compiled_from_opt"] > 100, without
    assert with_bytecode["describe"] == without["describe"]
    assert with_bytecode["pivot"] == without["pivot"] == {"0": 220, "1": 165}
