"""The README's "API coverage" table against botocore's Lambda model and the running server:
every operation of the model is listed once; each one listed as served is routed (a signed call
at its method and path is answered by its handler, whatever the answer, never with
UnknownOperationException), and each one listed as not served answers UnknownOperationException
naming itself. Calls use names that do not exist, so nothing is changed."""

import gzip
import json
import re

import botocore

from harness import REPO
from helpers import raw_request

ROW = re.compile(r"^\| `(\w+)` \| (served|not served) \|")


def model_operations() -> dict:
    path = next(
        p for p in (REPO / "target").glob("e2e-venv/lib/python3*/site-packages/botocore/data/lambda/2015-03-31/service-2.json*")
    )
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return json.load(f)["operations"]


def readme_rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    text = (REPO / "README.md").read_text()
    section = text.split("## API coverage", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        if m := ROW.match(line):
            assert m.group(1) not in rows, f"{m.group(1)} is listed twice"
            rows[m.group(1)] = m.group(2)
    return rows


def call(server, operation: dict):
    uri = operation["http"]["requestUri"]
    path = re.sub(r"\{[^}]+\}", "coverage-missing-name", uri)
    body = b"{}" if operation["http"]["method"] in ("POST", "PUT") else None
    return raw_request(server.url, operation["http"]["method"], path, body=body)


def test_the_readme_lists_every_operation_of_the_model():
    assert botocore.__version__
    model = model_operations()
    rows = readme_rows()
    assert sorted(rows) == sorted(model)
    served = [name for name, status in rows.items() if status == "served"]
    summary = re.search(r"serves \*\*(\d+)\*\* of the (\d+) operations", (REPO / "README.md").read_text())
    assert summary, "the README's API coverage section states how many operations are served"
    assert (int(summary.group(1)), int(summary.group(2))) == (len(served), len(model))


def test_served_operations_are_routed_and_the_others_say_why(server):
    model = model_operations()
    for name, status in readme_rows().items():
        answer = call(server, model[name])
        error_type = answer.headers.get("x-amzn-errortype", "").split(":")[0]
        if status == "served":
            assert error_type != "UnknownOperationException", f"{name} is listed as served: {answer.body!r}"
        else:
            assert error_type == "UnknownOperationException", f"{name} is listed as not served: {answer.body!r}"
            assert answer.json()["message"].startswith(f"Lamina does not support {name}: "), answer.body
