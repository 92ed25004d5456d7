"""Response streaming: InvokeWithResponseStream decoded by boto3's EventStream (a Python
handler's buffered response as one PayloadChunk, a Node.js `awslambda.streamifyResponse`
handler's writes as several, errors in InvokeComplete), a function URL in RESPONSE_STREAM mode
whose response reaches curl in pieces as the function writes it, and the deprecated
InvokeAsync."""

import json
import time

import pytest

from helpers import client_error
from invoke_support import fn_name, function_log, mlam  # noqa: F401 - fixtures
from url_support import NODE_STREAMING, curl, curl_pieces, deploy_node, deploy_python, streaming_client


def events(stream) -> list[dict]:
    return list(stream)


@pytest.fixture(scope="module")
def slam(module_server):
    return streaming_client(module_server.url)


def test_a_buffered_python_response_is_one_chunk(mlam, slam, fn_name):
    deploy_python(mlam, fn_name, "def lambda_handler(event, context):\n    return {'echo': event}\n")

    out = slam.invoke_with_response_stream(FunctionName=fn_name, Payload=json.dumps({"a": 1}))

    assert out["StatusCode"] == 200
    assert out["ExecutedVersion"] == "$LATEST"
    assert out["ResponseStreamContentType"] == "application/vnd.amazon.eventstream"
    got = events(out["EventStream"])
    assert [list(e) for e in got] == [["PayloadChunk"], ["InvokeComplete"]]
    assert json.loads(got[0]["PayloadChunk"]["Payload"]) == {"echo": {"a": 1}}
    assert got[1]["InvokeComplete"] == {}


def test_a_node_streaming_handler_arrives_in_several_chunks(mlam, slam, fn_name):
    deploy_node(mlam, fn_name, NODE_STREAMING)

    out = slam.invoke_with_response_stream(FunctionName=fn_name, Payload=b"{}", LogType="Tail")

    arrivals = []
    chunks = []
    for event in out["EventStream"]:
        arrivals.append(time.monotonic())
        if "PayloadChunk" in event:
            chunks.append(event["PayloadChunk"]["Payload"])
        else:
            complete = event["InvokeComplete"]
    assert b"".join(chunks) == b"one;two;three;"
    assert len(chunks) >= 3, chunks
    # The pieces came as they were written, not all at the end.
    assert arrivals[-1] - arrivals[0] > 1.0, arrivals
    assert "ErrorCode" not in complete
    assert "LogResult" in complete


def test_errors_end_the_stream_with_an_error_code(mlam, slam, fn_name):
    deploy_python(mlam, fn_name, "def lambda_handler(event, context):\n    raise ValueError('bad input')\n")
    node_name = f"{fn_name}-node"
    deploy_node(mlam, node_name, NODE_STREAMING)

    python_events = events(slam.invoke_with_response_stream(FunctionName=fn_name)["EventStream"])
    node_events = events(slam.invoke_with_response_stream(FunctionName=node_name,
                                                          Payload=b'{"fail": true}')["EventStream"])

    assert python_events == [{"InvokeComplete": {"ErrorCode": "ValueError", "ErrorDetails": "bad input"}}]
    assert node_events[0] == {"PayloadChunk": {"Payload": b"partial;"}}
    assert node_events[-1] == {"InvokeComplete": {"ErrorCode": "Error", "ErrorDetails": "failed midway"}}


def test_dry_run_and_unknown_functions(mlam, slam, fn_name):
    deploy_python(mlam, fn_name, "def lambda_handler(event, context):\n    return 1\n")

    dry = slam.invoke_with_response_stream(FunctionName=fn_name, InvocationType="DryRun")
    err = client_error(slam.invoke_with_response_stream, FunctionName=f"{fn_name}-missing")

    assert dry["StatusCode"] == 204
    assert err.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_streaming_url_sends_the_writes_as_they_come(mlam, fn_name):
    deploy_node(mlam, fn_name, NODE_STREAMING)
    url = mlam.create_function_url_config(FunctionName=fn_name, AuthType="NONE",
                                          InvokeMode="RESPONSE_STREAM")["FunctionUrl"]

    pieces = curl_pieces(url + "stream", "-i")
    head = curl(url + "stream")

    raw = b"".join(p for _, p in pieces)
    headers, _, body = raw.partition(b"\r\n\r\n")
    assert headers.startswith(b"HTTP/1.1 207"), headers
    assert b"x-streamed: yes" in headers and b"set-cookie: s=1" in headers.lower()
    assert b"transfer-encoding: chunked" in headers.lower()
    assert body == b"one;two;three;"
    assert len(pieces) >= 3, pieces
    assert pieces[-1][0] - pieces[0][0] > 1.0, pieces
    assert (head.status, head.header("content-type")) == (207, "text/plain")


def test_a_buffered_handler_behind_a_streaming_url_is_one_response(mlam, fn_name):
    source = "def lambda_handler(event, context):\n    return {'statusCode': 201, 'body': 'whole'}\n"
    deploy_python(mlam, fn_name, source)
    url = mlam.create_function_url_config(FunctionName=fn_name, AuthType="NONE",
                                          InvokeMode="RESPONSE_STREAM")["FunctionUrl"]

    response = curl(url)

    assert (response.status, response.body) == (201, b"whole")


def test_invoke_async_queues_an_event(mlam, module_server, fn_name):
    source = "def lambda_handler(event, context):\n    print('async got', event['n'])\n"
    deploy_python(mlam, fn_name, source)

    out = mlam.invoke_async(FunctionName=fn_name, InvokeArgs=json.dumps({"n": 7}))

    assert out["Status"] == 202
    deadline = time.monotonic() + 60
    while not any("async got 7" in line for line in function_log(module_server, fn_name)):
        assert time.monotonic() < deadline, function_log(module_server, fn_name)
        time.sleep(0.5)
    err = client_error(mlam.invoke_async, FunctionName=f"{fn_name}-missing", InvokeArgs=b"{}")
    assert err.response["Error"]["Code"] == "ResourceNotFoundException"


def test_invoke_async_with_the_aws_cli(aws, mlam, module_server, fn_name, tmp_path):
    source = "def lambda_handler(event, context):\n    print('cli async got', event['n'])\n"
    deploy_python(mlam, fn_name, source)
    args = tmp_path / "args.json"
    args.write_text('{"n": 11}')

    out = aws("lambda", "invoke-async", "--function-name", fn_name, "--invoke-args", str(args),
              "--endpoint-url", module_server.url)

    assert out == {"Status": 202}
    deadline = time.monotonic() + 60
    while not any("cli async got 11" in line for line in function_log(module_server, fn_name)):
        assert time.monotonic() < deadline, function_log(module_server, fn_name)
        time.sleep(0.5)
