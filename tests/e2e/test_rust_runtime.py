"""A function built with the real Rust `lambda_runtime` crate (tests/fixtures/rust-function,
built by scripts/e2e) as a provided.al2023 custom runtime (spec §5, §9): from the function's
own `bootstrap`, and from a layer's `/opt/bootstrap` when the function ships none."""

import os
from pathlib import Path

import pytest

from function_support import function_arn
from harness import REPO
from helpers import UUID_RE
from invoke_support import deploy, fn_name, invoke, mlam, zip_with_modes  # noqa: F401

BOOTSTRAP = Path(os.environ.get(
    "LAMINA_E2E_RUST_BOOTSTRAP", REPO / "target" / "e2e-rust-function" / "release" / "bootstrap"
))


@pytest.fixture(scope="module")
def rust_bootstrap() -> bytes:
    if not BOOTSTRAP.is_file():
        raise RuntimeError(f"rust function not built at {BOOTSTRAP}; run scripts/e2e")
    return BOOTSTRAP.read_bytes()


def deploy_rust(lam, name, code: bytes, **kwargs):
    return deploy(lam, name, zip_bytes=code, Runtime="provided.al2023", Handler="bootstrap", **kwargs)


@pytest.fixture
def rust_function(mlam, fn_name, rust_bootstrap):
    deploy_rust(mlam, fn_name, zip_with_modes({"bootstrap": (rust_bootstrap, 0o755)}))
    return fn_name


def test_the_echo_handler_returns_the_event_plus_its_fields(mlam, rust_function):
    out = invoke(mlam, rust_function, {"hello": "rust", "n": [1, 2]})

    assert out.status == 200
    assert out.function_error is None, out.payload
    doc = out.json()
    assert UUID_RE.fullmatch(doc.pop("request_id"))
    assert doc == {
        "hello": "rust",
        "n": [1, 2],
        "echoed_by": "lambda_runtime",
        "function_name": rust_function,
        "invoked_function_arn": function_arn(rust_function),
    }


def test_an_error_is_returned_as_lambda_runtime_posts_it(mlam, rust_function):
    out = invoke(mlam, rust_function, {"fail": "the rust handler failed"})

    assert out.function_error == "Unhandled"
    assert out.json() == {"errorType": "E2eError", "errorMessage": "the rust handler failed"}


def test_the_environment_is_reused_between_invokes(mlam, rust_function):
    first = invoke(mlam, rust_function, LogType="Tail")
    second = invoke(mlam, rust_function, LogType="Tail")

    assert first.function_error is None and second.function_error is None
    assert "Init Duration" in first.log_result
    assert "Init Duration" not in second.log_result


def test_a_layer_can_carry_the_runtime_as_opt_bootstrap(mlam, fn_name, layer_name, rust_bootstrap):
    runtime_layer = zip_with_modes({"bootstrap": (rust_bootstrap, 0o755)})
    arn = mlam.publish_layer_version(
        LayerName=layer_name, Content={"ZipFile": runtime_layer}, CompatibleRuntimes=["provided.al2023"]
    )["LayerVersionArn"]
    deploy_rust(mlam, fn_name, zip_with_modes({"README.txt": (b"the runtime is in the layer\n", 0o644)}),
                Layers=[arn])

    ok = invoke(mlam, fn_name, {"from": "layer"})
    failed = invoke(mlam, fn_name, {"fail": "layer runtime error"})

    assert ok.function_error is None, ok.payload
    assert ok.json()["from"] == "layer"
    assert ok.json()["echoed_by"] == "lambda_runtime"
    assert failed.json() == {"errorType": "E2eError", "errorMessage": "layer runtime error"}
