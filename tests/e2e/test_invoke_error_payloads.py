"""Error payloads of Python functions, exactly as spec §8 records them (the Python runtime's
fault types and texts come from awslambdaric). Every one comes with
`X-Amz-Function-Error: Unhandled` and status 200."""

from helpers import UUID_RE
from invoke_support import deploy, fn_name, handler_zip, invoke, mlam  # noqa: F401

ERROR_KEYS = ["errorMessage", "errorType", "requestId", "stackTrace"]


def failed(lam, name, event=None):
    """Invokes with LogType Tail; returns (error document, request id of the invocation)."""
    out = invoke(lam, name, event, LogType="Tail")
    assert out.status == 200
    assert out.function_error == "Unhandled", out.payload
    first = out.log_result.splitlines()[0]
    assert first.startswith("START RequestId: "), out.log_result
    request_id = first.split()[2]
    assert UUID_RE.fullmatch(request_id), first
    return out.json(), request_id


def test_a_raised_exception_gives_its_type_message_request_id_and_stack(mlam, fn_name):
    deploy(mlam, fn_name, 'def lambda_handler(event, context):\n    raise Exception("Handler fails")\n')

    error, request_id = failed(mlam, fn_name)

    assert list(error) == ERROR_KEYS
    assert error == {
        "errorMessage": "Handler fails",
        "errorType": "Exception",
        "requestId": request_id,
        "stackTrace": [
            '  File "/var/task/lambda_function.py", line 2, in lambda_handler\n'
            '    raise Exception("Handler fails")\n'
        ],
    }


def test_the_error_type_is_the_exception_class_name(mlam, fn_name):
    deploy(mlam, fn_name, """
        class PaymentDeclined(Exception):
            pass

        def helper():
            raise PaymentDeclined("card 42 declined")

        def lambda_handler(event, context):
            helper()
    """)

    error, _ = failed(mlam, fn_name)

    assert error["errorType"] == "PaymentDeclined"
    assert error["errorMessage"] == "card 42 declined"
    assert error["stackTrace"] == [
        '  File "/var/task/lambda_function.py", line 9, in lambda_handler\n    helper()\n',
        '  File "/var/task/lambda_function.py", line 6, in helper\n'
        '    raise PaymentDeclined("card 42 declined")\n',
    ]


def test_a_missing_dependency_is_runtime_import_module_error(mlam, fn_name):
    deploy(mlam, fn_name, "import not_installed_anywhere\n\ndef lambda_handler(event, context):\n    return 1\n")

    error, _ = failed(mlam, fn_name)

    assert error == {
        "errorMessage": "Unable to import module 'lambda_function': No module named 'not_installed_anywhere'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }


def test_a_missing_handler_module_is_runtime_import_module_error(mlam, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(event, context):\n    return 1\n", Handler="elsewhere.lambda_handler")

    error, _ = failed(mlam, fn_name)

    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == "Unable to import module 'elsewhere': No module named 'elsewhere'"


def test_a_missing_handler_function_is_runtime_handler_not_found(mlam, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(event, context):\n    return 1\n", Handler="lambda_function.other")

    error, _ = failed(mlam, fn_name)

    assert error == {
        "errorMessage": "Handler 'other' missing on module 'lambda_function'",
        "errorType": "Runtime.HandlerNotFound",
        "requestId": "",
        "stackTrace": [],
    }


def test_a_handler_without_a_dot_is_runtime_malformed_handler_name(mlam, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(event, context):\n    return 1\n", Handler="lambda_handler")

    error, _ = failed(mlam, fn_name)

    assert error == {
        "errorMessage": "Bad handler 'lambda_handler': not enough values to unpack (expected 2, got 1)",
        "errorType": "Runtime.MalformedHandlerName",
        "requestId": "",
        "stackTrace": [],
    }


def test_a_syntax_error_is_runtime_user_code_syntax_error(mlam, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(event, context)\n    return 1\n")

    error, _ = failed(mlam, fn_name)

    assert error == {
        "errorMessage": "Syntax error in module 'lambda_function': expected ':' (lambda_function.py, line 1)",
        "errorType": "Runtime.UserCodeSyntaxError",
        "requestId": "",
        "stackTrace": ['  File "/var/task/lambda_function.py" Line 1\n    def lambda_handler(event, context)\n'],
    }


def test_an_unserialisable_result_is_runtime_marshal_error(mlam, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(event, context):\n    return {1, 2}\n")

    error, request_id = failed(mlam, fn_name)

    assert error == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": request_id,
        "stackTrace": [],
    }


def test_an_exception_at_import_time_is_reported_with_an_empty_request_id(mlam, fn_name):
    deploy(mlam, fn_name, 'import os\nraise ValueError("broken at import")\n\ndef lambda_handler(event, context):\n    return 1\n')

    error, _ = failed(mlam, fn_name)

    assert list(error) == ERROR_KEYS
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "broken at import"
    assert error["requestId"] == ""
    assert error["stackTrace"][-1] == (
        '  File "/var/task/lambda_function.py", line 2, in <module>\n    raise ValueError("broken at import")\n'
    )


def test_the_error_is_also_printed_to_the_log_as_one_line(mlam, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(e, c):\n    raise KeyError('k')\n")

    out = invoke(mlam, fn_name, LogType="Tail")

    error_lines = [line for line in out.log_result.split("\n") if line.startswith("[ERROR] ")]
    assert len(error_lines) == 1, out.log_result
    assert error_lines[0].startswith("[ERROR] KeyError: 'k'\rTraceback (most recent call last):\r")


def test_a_handler_in_a_package_is_named_by_its_dotted_module(mlam, fn_name):
    files = {"pkg/__init__.py": b"", "pkg/sub.py": b"def handle(e, c):\n    raise KeyError('in pkg.sub')\n"}
    deploy(mlam, fn_name, zip_bytes=handler_zip("", files), Handler="pkg.sub.handle")

    error, _ = failed(mlam, fn_name)

    assert error["errorType"] == "KeyError"
    assert error["stackTrace"][-1].startswith('  File "/var/task/pkg/sub.py", line 2, in handle\n')


def test_a_result_over_6_mb_is_function_response_size_too_large(mlam, fn_name):
    deploy(mlam, fn_name, "def lambda_handler(event, context):\n    return 'a' * 6_300_000\n")

    out = invoke(mlam, fn_name)

    assert out.function_error == "Unhandled"
    assert out.json() == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
