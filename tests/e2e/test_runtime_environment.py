"""The environment variables a Python function sees (spec §6), with the values AWS sets,
plus the function's own `Environment.Variables`."""

import re

import pytest

from invoke_support import deploy, fn_name, invoke, mlam  # noqa: F401

DUMP_ENV = "import os\n\ndef lambda_handler(event, context):\n    return dict(os.environ)\n"


@pytest.fixture
def env(mlam, fn_name):
    """The environment of a function created with MemorySize 256 and two variables."""
    deploy(mlam, fn_name, DUMP_ENV, MemorySize=256,
           Environment={"Variables": {"STAGE": "test", "GREETING": "hello world"}})
    return invoke(mlam, fn_name).json()


def test_function_identity_variables(env, fn_name):
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == fn_name
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["_HANDLER"] == "lambda_function.lambda_handler"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"


def test_region_variables_are_the_region_of_the_call(env):
    assert env["AWS_REGION"] == "us-west-2"
    assert env["AWS_DEFAULT_REGION"] == "us-west-2"


def test_path_variables(env):
    assert env["LAMBDA_TASK_ROOT"] == "/var/task"
    assert env["LAMBDA_RUNTIME_DIR"] == "/var/runtime"
    assert env["PYTHONPATH"] == "/var/runtime"


def test_execution_env_names_the_runtime(env):
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"


def test_locale_and_time_zone(env):
    assert env["TZ"] == ":UTC"
    assert env["LANG"] == "en_US.UTF-8"
    assert env["LC_CTYPE"] == "C.UTF-8"


def test_log_group_and_stream_names(env, fn_name):
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{fn_name}"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"]), env[
        "AWS_LAMBDA_LOG_STREAM_NAME"
    ]


def test_the_runtime_api_address_is_host_and_port(env):
    # Spec §6: `host:port`. Runtime clients build URLs from it as such: the Rust
    # `lambda_runtime` parses it as a URI authority, awslambdaric hands it to
    # http.client.HTTPConnection for /runtime/init/error.
    assert re.fullmatch(r"127\.0\.0\.1:\d+", env["AWS_LAMBDA_RUNTIME_API"]), env["AWS_LAMBDA_RUNTIME_API"]


def test_the_functions_own_variables_are_set(env):
    assert env["STAGE"] == "test"
    assert env["GREETING"] == "hello world"


def test_no_aws_endpoint_is_set_unless_the_user_sets_one(env, mlam, fn_name):
    # A function's SDK clients (boto3 from the runtime) talk to AWS, as on AWS: Lamina never
    # points them at itself or anywhere else.
    assert [k for k in env if k.startswith("AWS_ENDPOINT_URL")] == []
    deploy(mlam, fn_name + "-own", DUMP_ENV,
           Environment={"Variables": {"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}})
    assert invoke(mlam, fn_name + "-own").json()["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"


def test_the_servers_own_environment_does_not_leak_in(env):
    assert "RUST_BACKTRACE" not in env
    assert "AWS_CONFIG_FILE" not in env


def test_a_published_version_sees_its_number(mlam, fn_name):
    deploy(mlam, fn_name, DUMP_ENV)
    mlam.publish_version(FunctionName=fn_name)

    env = invoke(mlam, fn_name, Qualifier="1").json()

    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "1"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[1\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"])


def test_updated_variables_apply_to_the_next_invoke(mlam, fn_name):
    deploy(mlam, fn_name, DUMP_ENV, Environment={"Variables": {"STAGE": "one"}})
    assert invoke(mlam, fn_name).json()["STAGE"] == "one"

    mlam.update_function_configuration(FunctionName=fn_name, Environment={"Variables": {"STAGE": "two"}})

    assert invoke(mlam, fn_name).json()["STAGE"] == "two"


def test_text_logging_sets_no_log_format(env):
    assert "AWS_LAMBDA_LOG_FORMAT" not in env
    assert "AWS_LAMBDA_LOG_LEVEL" not in env


def test_json_logging_config_reaches_the_runtime(mlam, fn_name):
    # As AWS passes LoggingConfig to runtimes, which format their records from it.
    deploy(mlam, fn_name, DUMP_ENV, LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN"})
    env = invoke(mlam, fn_name).json()
    assert env["AWS_LAMBDA_LOG_FORMAT"] == "JSON"
    assert env["AWS_LAMBDA_LOG_LEVEL"] == "WARN"

    # JSON without a level: AWS's default application level, INFO.
    deploy(mlam, f"{fn_name}-default", DUMP_ENV, LoggingConfig={"LogFormat": "JSON"})
    assert invoke(mlam, f"{fn_name}-default").json()["AWS_LAMBDA_LOG_LEVEL"] == "INFO"
