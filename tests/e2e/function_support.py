"""Shared pieces of the function API tests: a handler ZIP, a role, names, ARNs, creation."""

from __future__ import annotations

import re
import uuid

import pytest

from helpers import ACCOUNT, REGION
from zips import simple_zip

ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda-role"
HANDLER = "lambda_function.lambda_handler"
RUNTIME = "python3.12"
CODE = simple_zip({"lambda_function.py": b"def lambda_handler(event, context):\n    return event\n"})
OTHER_CODE = simple_zip({"lambda_function.py": b"def lambda_handler(event, context):\n    return 2\n"})
# The model's LayerVersionArn pattern, as AWS quotes it in validation messages.
LAYER_VERSION_ARN_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:layer:"
    r"[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)"
)
STALE_REVISION = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
)


def function_arn(name: str, qualifier: str | None = None, region: str = REGION) -> str:
    arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier is not None else arn


def not_found(name: str, qualifier: str | None = None) -> str:
    return f"Function not found: {function_arn(name, qualifier)}"


def create(lam, name: str, **kwargs):
    """CreateFunction with a working python3.12 handler unless told otherwise."""
    args = {"FunctionName": name, "Runtime": RUNTIME, "Role": ROLE, "Handler": HANDLER, "Code": {"ZipFile": CODE}}
    args.update(kwargs)
    return lam.create_function(**args)


def publish_layer(lam, name: str, files: dict[str, bytes] | None = None, **kwargs):
    data = simple_zip(files or {"python/mod.py": b"X = 1\n"})
    return lam.publish_layer_version(LayerName=name, Content={"ZipFile": data}, **kwargs), data


@pytest.fixture
def fn_name(request) -> str:
    """A function name no other test uses, within the 64-character limit."""
    base = re.sub(r"[^A-Za-z0-9-_]", "-", request.node.name)[:40]
    return f"fn-{base}-{uuid.uuid4().hex[:8]}"
