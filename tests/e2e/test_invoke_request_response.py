"""RequestResponse invokes (spec §8): the handler's result as the body, `null` for None,
`X-Amz-Function-Error` only on failures, DryRun's 204, and LogType Tail."""

from helpers import raw_of
from invoke_support import deploy, fn_name, function_log, invoke, mlam, start_lines  # noqa: F401

ECHO = """
def lambda_handler(event, context):
    return {"got": event, "answer": 42}
"""


def test_the_body_is_the_handler_result_as_json(mlam, fn_name):
    deploy(mlam, fn_name, ECHO)

    out = invoke(mlam, fn_name, {"a": [1, "two"]})

    assert out.status == 200
    assert out.json() == {"got": {"a": [1, "two"]}, "answer": 42}
    assert out.function_error is None
    assert raw_of(mlam).headers["content-type"] == "application/json"


def test_a_handler_returning_none_gives_null(mlam, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(event, context):\n    pass\n")

    out = invoke(mlam, fn_name)

    assert out.status == 200
    assert out.payload == b"null"
    assert out.function_error is None


def test_an_empty_payload_is_an_empty_object_event(mlam, fn_name):
    deploy(mlam, fn_name, ECHO)

    out = invoke(mlam, fn_name, raw=b"")

    assert out.json() == {"got": {}, "answer": 42}


def test_a_failing_handler_answers_200_with_function_error_unhandled(mlam, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(event, context):\n    raise ValueError('nope')\n")

    out = invoke(mlam, fn_name)

    assert out.status == 200
    assert out.function_error == "Unhandled"
    assert raw_of(mlam).headers["x-amz-function-error"] == "Unhandled"
    assert out.json()["errorType"] == "ValueError"


def test_dry_run_answers_204_with_an_empty_body_and_does_not_run(mlam, module_server, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(event, context):\n    print('RAN-THE-HANDLER')\n")

    out = mlam.invoke(FunctionName=fn_name, InvocationType="DryRun", Payload=b"{}")
    dry_run_body = raw_of(mlam).body
    invoke(mlam, fn_name)  # a real one, so the log exists

    assert out["StatusCode"] == 204
    assert dry_run_body == b""
    log = function_log(module_server, fn_name)
    assert len(start_lines(log)) == 1, log
    assert log.count("RAN-THE-HANDLER") == 1, log


def test_log_tail_has_start_the_handler_output_end_and_report(mlam, fn_name):
    deploy(mlam, fn_name, """
        def lambda_handler(event, context):
            print("hello from the handler", context.aws_request_id)
            return 1
    """)

    out = invoke(mlam, fn_name, LogType="Tail")

    lines = out.log_result.splitlines()
    request_id = lines[0].removeprefix("START RequestId: ").split(" ")[0]
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert f"hello from the handler {request_id}" in lines
    assert lines[-2] == f"END RequestId: {request_id}"
    assert lines[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")


def test_log_tail_is_the_last_4_kb_of_the_invocation_log(mlam, fn_name):
    deploy(mlam, fn_name, """
        def lambda_handler(event, context):
            for i in range(400):
                print(f"line {i:04d} " + "x" * 40)
    """)

    out = invoke(mlam, fn_name, LogType="Tail")

    tail = out.log_result.encode()
    assert len(tail) == 4096
    assert b"START RequestId: " not in tail
    assert b"line 0399 " in tail
    assert tail.decode().splitlines()[-1].startswith("REPORT RequestId: ")


def test_without_log_type_there_is_no_log_result(mlam, fn_name):
    deploy(mlam, fn_name, ECHO)

    invoke(mlam, fn_name)

    assert "x-amz-log-result" not in raw_of(mlam).headers
