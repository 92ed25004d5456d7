"""The Telemetry API (`PUT /2022-07-01/telemetry`) and the older Logs API (`PUT /2020-08-15/logs`),
served on `AWS_LAMBDA_RUNTIME_API` as on AWS: an external extension registers, starts an HTTP
listener on `sandbox.localdomain` (as AWS's samples do), subscribes, and gets batches of records
POSTed to it from inside its own environment: the platform events of Init and of each invoke
(`platform.start`, `platform.runtimeDone`, `platform.report` for the invoke's request id) and
each line the function writes as a `function` record. The extension here passes each batch it
gets on to the recorder double, so the test sees what the extension saw."""

import json
import time

import pytest

from invoke_support import deploy, fn_name, invoke, mlam, zip_with_modes  # noqa: F401
from recorder_double import Recorder

# The extension: registers for INVOKE, listens on sandbox.localdomain, subscribes through the
# API EXT_API names, and hands every batch it is posted to the recorder before answering it.
EXTENSION = b"""#!/usr/bin/python3
import json, os, sys, threading, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

runtime_api = os.environ["AWS_LAMBDA_RUNTIME_API"]
recorder = os.environ["RECORDER_URL"] + "/record/" + os.environ["RECORD_TAG"]
logs_api = os.environ.get("EXT_API") == "logs"


class Listener(BaseHTTPRequestHandler):
    def do_POST(self):
        batch = self.rfile.read(int(self.headers["Content-Length"]))
        json.loads(batch)  # a JSON array
        urllib.request.urlopen(urllib.request.Request(recorder, data=batch, method="POST"), timeout=30).read()
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer(("sandbox.localdomain", 0), Listener)
threading.Thread(target=server.serve_forever, daemon=True).start()
print("telemetry-ext listening", flush=True)

extension_api = f"http://{runtime_api}/2020-01-01/extension"
registration = urllib.request.Request(
    f"{extension_api}/register", data=json.dumps({"events": ["INVOKE"]}).encode(),
    headers={"Lambda-Extension-Name": os.path.basename(sys.argv[0])}, method="POST",
)
with urllib.request.urlopen(registration) as answer:
    ext_id = answer.headers["Lambda-Extension-Identifier"]

if logs_api:
    path, schema, types = "2020-08-15/logs", "2021-03-18", ["platform", "function"]
else:
    path, schema, types = "2022-07-01/telemetry", "2022-07-01", ["platform", "function", "extension"]
subscription = {
    "schemaVersion": schema,
    "types": types,
    "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
    "destination": {"protocol": "HTTP", "URI": f"http://sandbox.localdomain:{server.server_address[1]}/telemetry"},
}
subscribe = urllib.request.Request(
    f"http://{runtime_api}/{path}", data=json.dumps(subscription).encode(),
    headers={"Lambda-Extension-Identifier": ext_id, "Content-Type": "application/json"}, method="PUT",
)
with urllib.request.urlopen(subscribe) as answer:
    assert answer.status == 200 and json.load(answer) == "OK", answer.status

while True:
    poll = urllib.request.Request(f"{extension_api}/event/next", headers={"Lambda-Extension-Identifier": ext_id})
    with urllib.request.urlopen(poll) as answer:
        json.load(answer)
"""

HANDLER = (
    b"def lambda_handler(event, context):\n"
    b"    print('handler ran', context.aws_request_id)\n"
    b"    print('second line')\n"
    b"    return context.aws_request_id\n"
)


@pytest.fixture(scope="module")
def recorder():
    with Recorder() as r:
        yield r


def deploy_with_extension(lam, name, layer_name, recorder, api="telemetry"):
    layer = lam.publish_layer_version(
        LayerName=layer_name,
        Content={"ZipFile": zip_with_modes({"extensions/telemetry-ext": (EXTENSION, 0o755)})},
    )["LayerVersionArn"]
    code = zip_with_modes({"lambda_function.py": (HANDLER, 0o644)})
    env = {"RECORDER_URL": recorder.url, "RECORD_TAG": name, "EXT_API": api}
    deploy(lam, name, zip_bytes=code, Layers=[layer], Environment={"Variables": env}, Timeout=30)


def records_until(recorder, tag, request_id, kind="platform.report"):
    """Every record the extension was posted under `tag`, once one of `kind` for `request_id` came."""
    count = 1
    while True:
        batches = recorder.wait_for(tag, count, timeout=30)
        records = [record for batch in batches for record in json.loads(batch)]
        if any(r["type"] == kind and r["record"]["requestId"] == request_id for r in records):
            return records
        count = len(batches) + 1


def of(records, kind, request_id):
    return [r for r in records if r["type"] == kind and r["record"]["requestId"] == request_id]


def check_invoke(records, request_id, report_kinds=("platform.report",)):
    """The invoke's platform records, each once, around its function lines, in order."""
    kinds = ["platform.start", "platform.runtimeDone", *report_kinds]
    found = {kind: of(records, kind, request_id) for kind in kinds}
    assert all(len(f) == 1 for f in found.values()), json.dumps(records, indent=1)
    line = {"type": "function", "record": f"handler ran {request_id}"}
    lines = [i for i, r in enumerate(records) if r["type"] == "function" and r["record"] == line["record"]]
    assert len(lines) == 1, json.dumps(records, indent=1)
    order = [records.index(found[kind][0]) for kind in kinds]
    assert order[0] < lines[0] < order[1] < order[2], json.dumps(records, indent=1)
    assert records[lines[0] + 1]["record"] == "second line"
    for record in records:
        assert record["time"].endswith("Z") and "T" in record["time"], record
    return {kind: f[0]["record"] for kind, f in found.items()}


@pytest.mark.parametrize("network", ["isolated", "host"])
def test_a_telemetry_subscriber_gets_each_invokes_platform_events_and_function_lines(
    start_server, client_for, fn_name, layer_name, recorder, network
):
    server = start_server("--function-network", network)
    lam = client_for(server)
    deploy_with_extension(lam, fn_name, layer_name, recorder)

    out = invoke(lam, fn_name)
    assert out.function_error is None, out.payload
    first = out.json()
    # The first (cold) invoke: Init's events too, though they came before the subscription.
    records = records_until(recorder, fn_name, first)
    kinds = [r["type"] for r in records]
    assert kinds[0] == "platform.initStart", kinds
    assert records[0]["record"]["phase"] == "init"
    assert kinds.index("platform.telemetrySubscription") < kinds.index("platform.initRuntimeDone"), kinds
    subscribed = next(r["record"] for r in records if r["type"] == "platform.telemetrySubscription")
    assert subscribed == {
        "name": "telemetry-ext", "state": "Subscribed", "types": ["platform", "function", "extension"],
    }
    # What the extension printed is an `extension` record, never a `function` one.
    said = [r["type"] for r in records if r["record"] == "telemetry-ext listening"]
    assert said == ["extension"], json.dumps(records, indent=1)
    registered = next(r["record"] for r in records if r["type"] == "platform.extension")
    assert registered == {"name": "telemetry-ext", "state": "Ready", "events": ["INVOKE"]}
    cold = check_invoke(records, first)
    assert cold["platform.runtimeDone"]["status"] == "success"
    assert cold["platform.runtimeDone"]["metrics"]["producedBytes"] == len(json.dumps(first))
    metrics = cold["platform.report"]["metrics"]
    assert metrics["memorySizeMB"] == 128 and metrics["billedDurationMs"] >= 1, metrics
    assert metrics["initDurationMs"] > 0, metrics
    assert cold["platform.start"]["tracing"]["type"] == "X-Amzn-Trace-Id"
    assert cold["platform.report"]["tracing"] == cold["platform.start"]["tracing"]

    # A warm invoke (once the environment is back in its pool): its report comes before the
    # environment is frozen, not with a later invoke.
    time.sleep(0.5)
    out = invoke(lam, fn_name)
    assert out.function_error is None, out.payload
    records = records_until(recorder, fn_name, out.json())
    warm = check_invoke(records, out.json())
    assert "initDurationMs" not in warm["platform.report"]["metrics"], warm
    assert [r["type"] for r in records].count("platform.initStart") == 1


def test_a_logs_api_subscriber_gets_the_older_records(mlam, module_server, fn_name, layer_name, recorder):
    deploy_with_extension(mlam, fn_name, layer_name, recorder, api="logs")

    out = invoke(mlam, fn_name)
    assert out.function_error is None, out.payload
    request_id = out.json()

    records = records_until(recorder, fn_name, request_id)
    kinds = [r["type"] for r in records]
    assert "platform.initStart" not in kinds, kinds  # a Telemetry API event only
    # Not subscribed to extension lines: the extension's own is not among the function's.
    assert not any(r["record"] == "telemetry-ext listening" for r in records), records
    subscribed = next(r["record"] for r in records if r["type"] == "platform.logsSubscription")
    assert subscribed == {"name": "telemetry-ext", "state": "Subscribed", "types": ["platform", "function"]}
    found = check_invoke(records, request_id, ("platform.end", "platform.report"))
    assert found["platform.runtimeDone"] == {"requestId": request_id, "status": "success"}
    assert found["platform.start"] == {"requestId": request_id, "version": "$LATEST"}
    assert set(found["platform.report"]) == {"requestId", "metrics"}
