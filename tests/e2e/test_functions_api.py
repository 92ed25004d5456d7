"""Function operations through boto3: shapes and defaults (spec §3), reads, updates, lists,
deletes, and AWS's validation and errors."""

import json

import pytest

from function_support import (
    CODE, HANDLER, OTHER_CODE, ROLE, RUNTIME, create, fn_name, function_arn, not_found,  # noqa: F401
)
from helpers import (
    CREATED_DATE_RE, UNZIP_FAILED, UUID_RE, assert_aws_error, client_error, code_sha256, http_get, raw_of,
    raw_request,
)
from urllib.parse import quote

# --- create: shape and defaults ---------------------------------------------------------------


def test_create_answers_201_with_aws_defaults(lam, fn_name):
    out = create(lam, fn_name)
    body = raw_of(lam).json()

    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert body["FunctionName"] == fn_name
    assert body["FunctionArn"] == function_arn(fn_name)
    assert body["Runtime"] == RUNTIME and body["Handler"] == HANDLER and body["Role"] == ROLE
    assert body["CodeSha256"] == code_sha256(CODE)
    assert body["CodeSize"] == len(CODE)
    assert body["Version"] == "$LATEST"
    assert body["Description"] == ""
    assert body["Timeout"] == 3
    assert body["MemorySize"] == 128
    assert body["Architectures"] == ["x86_64"]
    assert body["EphemeralStorage"] == {"Size": 512}
    assert body["PackageType"] == "Zip"
    assert body["TracingConfig"] == {"Mode": "PassThrough"}
    assert body["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{fn_name}"}
    assert body["SnapStart"] == {"ApplyOn": "None", "OptimizationStatus": "Off"}
    assert body["RuntimeVersionConfig"]["RuntimeVersionArn"].startswith("arn:aws:lambda:us-west-2::runtime:")
    # AWS's state model: created Pending, with no LastUpdateStatus yet (test_function_states.py).
    assert body["State"] == "Pending"
    assert body["StateReason"] == "The function is being created."
    assert body["StateReasonCode"] == "Creating"
    assert "LastUpdateStatus" not in body
    assert UUID_RE.fullmatch(body["RevisionId"])
    assert CREATED_DATE_RE.fullmatch(body["LastModified"]), body["LastModified"]
    for absent in ("Environment", "Layers", "KMSKeyArn", "MasterArn"):
        assert absent not in body, body


def test_create_echoes_every_configuration_member(lam, fn_name):
    out = create(
        lam, fn_name, Description="d", Timeout=900, MemorySize=10240, EphemeralStorage={"Size": 10240},
        Architectures=["arm64"], Environment={"Variables": {"GREETING": "hi", "TZ": "Asia/Tokyo"}},
        TracingConfig={"Mode": "Active"}, LoggingConfig={"LogFormat": "JSON"},
        VpcConfig={"SubnetIds": [], "SecurityGroupIds": []}, DeadLetterConfig={"TargetArn": "arn:aws:lambda:us-west-2:123456789012:function:dlq"},
    )

    assert out["Description"] == "d"
    assert (out["Timeout"], out["MemorySize"], out["EphemeralStorage"]) == (900, 10240, {"Size": 10240})
    assert out["Architectures"] == ["arm64"]
    assert out["Environment"] == {"Variables": {"GREETING": "hi", "TZ": "Asia/Tokyo"}}
    assert out["TracingConfig"] == {"Mode": "Active"}
    assert out["LoggingConfig"] == {
        "LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO", "LogGroup": f"/aws/lambda/{fn_name}",
    }
    assert out["VpcConfig"] == {"SubnetIds": [], "SecurityGroupIds": []}
    assert out["DeadLetterConfig"] == {"TargetArn": "arn:aws:lambda:us-west-2:123456789012:function:dlq"}


def test_create_with_publish_answers_version_1(lam, fn_name):
    out = create(lam, fn_name, Publish=True)

    assert out["Version"] == "1"
    versions = lam.list_versions_by_function(FunctionName=fn_name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]


def test_create_twice_is_resource_conflict(lam, fn_name):
    create(lam, fn_name)

    err = client_error(create, lam, fn_name)

    assert_aws_error(lam, err, 409, "ResourceConflictException", f"Function already exist: {fn_name}")


# --- reads ------------------------------------------------------------------------------------


def test_get_function_returns_configuration_code_location_and_tags(lam, fn_name):
    created = create(lam, fn_name, Tags={"team": "core"})

    got = lam.get_function(FunctionName=fn_name)
    body = raw_of(lam).json()

    # Settling gives the function a new RevisionId, as on AWS.
    assert got["Configuration"]["RevisionId"] != created["RevisionId"]
    assert got["Configuration"]["State"] == "Active"
    assert got["Configuration"]["CodeSha256"] == code_sha256(CODE)
    assert body["Code"]["RepositoryType"] == "S3"
    assert body["Tags"] == {"team": "core"}
    assert "Concurrency" not in body
    assert http_get(body["Code"]["Location"]).body == CODE


def test_get_function_without_tags_omits_them(lam, fn_name):
    create(lam, fn_name)

    lam.get_function(FunctionName=fn_name)

    assert "Tags" not in raw_of(lam).json()


def test_get_function_configuration_matches_create_once_settled(lam, fn_name):
    create(lam, fn_name, Description="x")
    created = raw_of(lam).json()

    lam.get_function_configuration(FunctionName=fn_name)
    got = raw_of(lam).json()

    settling = ("State", "StateReason", "StateReasonCode", "LastUpdateStatus", "RevisionId")
    assert {k: v for k, v in got.items() if k not in settling} == {
        k: v for k, v in created.items() if k not in settling
    }
    assert (got["State"], got["LastUpdateStatus"]) == ("Active", "Successful")
    assert "StateReason" not in got and "StateReasonCode" not in got


@pytest.mark.parametrize("form", ["arn", "partial", "qualified-latest"])
def test_function_may_be_named_by_arn(lam, fn_name, form):
    create(lam, fn_name)
    name = {
        "arn": function_arn(fn_name),
        "partial": f"123456789012:function:{fn_name}",
        "qualified-latest": function_arn(fn_name, "$LATEST"),
    }[form]

    got = lam.get_function_configuration(FunctionName=name)

    assert got["FunctionName"] == fn_name
    expected_arn = function_arn(fn_name, "$LATEST") if form == "qualified-latest" else function_arn(fn_name)
    assert got["FunctionArn"] == expected_arn


def test_get_with_latest_qualifier_answers_the_qualified_arn(lam, fn_name):
    create(lam, fn_name)

    got = lam.get_function(FunctionName=fn_name, Qualifier="$LATEST")

    assert got["Configuration"]["FunctionArn"] == function_arn(fn_name, "$LATEST")
    assert got["Configuration"]["Version"] == "$LATEST"


def test_get_unknown_function_is_not_found(lam, fn_name):
    for call in (lam.get_function, lam.get_function_configuration):
        err = client_error(call, FunctionName=fn_name)
        assert_aws_error(lam, err, 404, "ResourceNotFoundException", not_found(fn_name))


def test_get_unknown_version_is_not_found_with_the_qualified_arn(lam, fn_name):
    create(lam, fn_name)

    err = client_error(lam.get_function, FunctionName=fn_name, Qualifier="7")

    assert_aws_error(lam, err, 404, "ResourceNotFoundException", not_found(fn_name, "7"))


def test_mismatched_qualifiers_are_invalid(lam, fn_name):
    create(lam, fn_name)

    err = client_error(lam.get_function, FunctionName=function_arn(fn_name, "1"), Qualifier="2")

    assert_aws_error(
        lam, err, 400, "InvalidParameterValueException",
        "The derived qualifier from the function name does not match the specified qualifier.",
    )


def test_function_in_another_region_is_not_reachable(lam, fn_name):
    err = client_error(lam.get_function, FunctionName=function_arn(fn_name, region="eu-west-1"))

    assert_aws_error(
        lam, err, 404, "ResourceNotFoundException",
        "Functions from 'eu-west-1' are not reachable in this region ('us-west-2')",
    )


# --- updates ----------------------------------------------------------------------------------


def test_update_configuration_changes_only_what_is_sent(lam, fn_name):
    created = create(lam, fn_name, Description="before", Environment={"Variables": {"A1": "x", "B1": "y"}})

    out = lam.update_function_configuration(
        FunctionName=fn_name, MemorySize=256, Timeout=10, Environment={"Variables": {"C1": "z"}},
    )

    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert (out["MemorySize"], out["Timeout"], out["Description"]) == (256, 10, "before")
    assert out["Environment"] == {"Variables": {"C1": "z"}}
    assert out["RevisionId"] != created["RevisionId"]
    assert out["FunctionArn"] == function_arn(fn_name)
    assert out["LastUpdateStatus"] == "InProgress"
    assert out["LastUpdateStatusReasonCode"] == "Creating"
    settled = lam.get_function_configuration(FunctionName=fn_name)
    assert settled["LastUpdateStatus"] == "Successful"
    assert settled["RevisionId"] not in (out["RevisionId"], created["RevisionId"])


def test_update_configuration_runtime_and_handler(lam, fn_name):
    create(lam, fn_name)

    out = lam.update_function_configuration(FunctionName=fn_name, Runtime="python3.13", Handler="other.handler")

    assert (out["Runtime"], out["Handler"]) == ("python3.13", "other.handler")


def test_update_code_replaces_the_zip(lam, fn_name):
    created = create(lam, fn_name)

    out = lam.update_function_code(FunctionName=fn_name, ZipFile=OTHER_CODE)

    assert out["CodeSha256"] == code_sha256(OTHER_CODE)
    assert out["CodeSize"] == len(OTHER_CODE)
    assert out["RevisionId"] != created["RevisionId"]
    location = lam.get_function(FunctionName=fn_name)["Code"]["Location"]
    assert http_get(location).body == OTHER_CODE


def test_update_code_dry_run_changes_nothing(lam, fn_name):
    create(lam, fn_name)
    before = lam.get_function_configuration(FunctionName=fn_name)

    out = lam.update_function_code(FunctionName=fn_name, ZipFile=OTHER_CODE, DryRun=True)

    assert out["CodeSha256"] == code_sha256(OTHER_CODE)
    got = lam.get_function_configuration(FunctionName=fn_name)
    assert got["CodeSha256"] == code_sha256(CODE)
    assert got["RevisionId"] == before["RevisionId"]


def test_update_code_with_publish_answers_the_new_version(lam, fn_name):
    create(lam, fn_name)

    out = lam.update_function_code(FunctionName=fn_name, ZipFile=OTHER_CODE, Publish=True)

    assert out["Version"] == "1"
    assert out["FunctionArn"] == function_arn(fn_name, "1")
    assert out["CodeSha256"] == code_sha256(OTHER_CODE)


def test_update_code_can_change_the_architecture(lam, fn_name):
    create(lam, fn_name)

    out = lam.update_function_code(FunctionName=fn_name, ZipFile=CODE, Architectures=["arm64"])

    assert out["Architectures"] == ["arm64"]


def test_updates_of_unknown_function_are_not_found(lam, fn_name):
    err = client_error(lam.update_function_configuration, FunctionName=fn_name, Timeout=5)
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", not_found(fn_name))
    err = client_error(lam.update_function_code, FunctionName=fn_name, ZipFile=CODE)
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", not_found(fn_name))


# --- list -------------------------------------------------------------------------------------


def test_list_functions_pages_and_omits_state(fresh_server, client_for):
    lam = client_for(fresh_server)
    for name in ("fa", "fb", "fc"):
        create(lam, name)

    first = lam.list_functions(MaxItems=2)
    second = lam.list_functions(MaxItems=2, Marker=first["NextMarker"])
    everything = [f["FunctionName"] for f in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 1}).build_full_result()["Functions"]]

    assert [f["FunctionName"] for f in first["Functions"]] == ["fa", "fb"]
    assert [f["FunctionName"] for f in second["Functions"]] == ["fc"]
    assert "NextMarker" not in second
    assert everything == ["fa", "fb", "fc"]
    item = first["Functions"][0]
    for absent in ("State", "LastUpdateStatus", "RuntimeVersionConfig"):
        assert absent not in item
    assert item["FunctionArn"] == function_arn("fa")


def test_list_functions_all_versions_has_qualified_arns(fresh_server, client_for):
    lam = client_for(fresh_server)
    create(lam, "fa", Publish=True)
    create(lam, "fb")

    listed = lam.list_functions(FunctionVersion="ALL")["Functions"]

    assert [f["FunctionArn"] for f in listed] == [
        function_arn("fa", "$LATEST"), function_arn("fa", "1"), function_arn("fb", "$LATEST"),
    ]


def test_list_functions_refuses_other_function_versions_and_bad_max_items(server):
    resp = raw_request(server.url, "GET", "/2015-03-31/functions?FunctionVersion=SOME")
    assert resp.status == 400
    assert resp.json()["message"].endswith("at 'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: [ALL]")
    resp = raw_request(server.url, "GET", "/2015-03-31/functions?MaxItems=10001")
    assert resp.status == 400
    assert "Member must have value less than or equal to 10000" in resp.json()["message"]


# --- delete -----------------------------------------------------------------------------------


def test_delete_answers_204_then_the_function_is_gone(lam, fn_name):
    create(lam, fn_name)

    out = lam.delete_function(FunctionName=fn_name)

    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    err = client_error(lam.get_function, FunctionName=fn_name)
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", not_found(fn_name))
    err = client_error(lam.delete_function, FunctionName=fn_name)
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", not_found(fn_name))


def test_delete_then_create_again_starts_over(lam, fn_name):
    create(lam, fn_name, Publish=True)
    lam.delete_function(FunctionName=fn_name)

    out = create(lam, fn_name, Publish=True)

    assert out["Version"] == "1"


def test_delete_latest_qualifier_is_invalid(lam, fn_name):
    create(lam, fn_name)

    err = client_error(lam.delete_function, FunctionName=fn_name, Qualifier="$LATEST")

    assert_aws_error(
        lam, err, 400, "InvalidParameterValueException", "$LATEST version cannot be deleted without deleting the function.",
    )


# --- validation -------------------------------------------------------------------------------


def test_name_over_64_characters_is_invalid_parameter(lam):
    name = "f" * 65

    err = client_error(create, lam, name)

    assert_aws_error(
        lam, err, 400, "InvalidParameterValueException",
        f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: "
        "Member must have length less than or equal to 64",
    )


def test_several_model_violations_are_reported_together(lam, fn_name):
    err = client_error(
        create, lam, fn_name, Role="not-a-role", Timeout=901, MemorySize=10241,
        Architectures=["x86_64", "arm64"], Description="d" * 257,
    )

    text = assert_aws_error(lam, err, 400, "ValidationException", prefix="5 validation errors detected: ")
    assert "Value 'not-a-role' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+" in text
    assert "Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900" in text
    assert "Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240" in text
    assert "Value '[x86_64, arm64]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1" in text
    assert "at 'description' failed to satisfy constraint: Member must have length less than or equal to 256" in text


@pytest.mark.parametrize(
    "kwargs, field",
    # botocore itself refuses values under a model minimum, so only maxima and patterns reach us.
    [
        ({"EphemeralStorage": {"Size": 10241}}, "ephemeralStorage.size"),
        ({"MemorySize": 10241}, "memorySize"),
        ({"Timeout": 901}, "timeout"),
        ({"Handler": "a b"}, "handler"),
        ({"Architectures": ["sparc"]}, "architectures"),
        ({"TracingConfig": {"Mode": "Loud"}}, "tracingConfig.mode"),
        ({"Environment": {"Variables": {"1BAD": "x"}}}, "environment.variables"),
    ],
)
def test_model_limits_are_validation_errors(lam, fn_name, kwargs, field):
    err = client_error(create, lam, fn_name, **kwargs)

    text = assert_aws_error(lam, err, 400, "ValidationException", prefix="1 validation error detected: ")
    assert f"at '{field}' failed to satisfy constraint" in text


def test_model_limits_are_accepted_at_their_boundaries(lam, fn_name):
    out = create(lam, fn_name, Timeout=1, MemorySize=128, EphemeralStorage={"Size": 512}, Description="d" * 256)

    assert (out["Timeout"], out["MemorySize"]) == (1, 128)


def test_deprecated_runtime_is_refused(lam, fn_name):
    err = client_error(create, lam, fn_name, Runtime="python2.7")

    assert_aws_error(
        lam, err, 400, "InvalidParameterValueException",
        "The runtime parameter of python2.7 is no longer supported for creating or updating AWS Lambda functions. "
        "We recommend you use a supported runtime while creating or updating functions.",
    )


# AWS's list, in AWS's order, as it prints it when refusing a runtime (spec §3.1).
AWS_RUNTIME_LIST = (
    "[nodejs20.x, python3.14, provided.al2023, python3.12, python3.13, nodejs24.x, nodejs22.x, java25, "
    "python3.10, python3.11, java21, ruby3.3, ruby3.4, ruby3.2, python3.8, python3.9, java17, nodejs16.x, "
    "dotnet10, dotnet8, java11, dotnet6, nodejs18.x, provided.al2, java8.al2]"
)


def unknown_runtime_message(runtime: str) -> str:
    return (
        f"Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: "
        f"{AWS_RUNTIME_LIST} or be a valid ARN"
    )


def test_unknown_runtime_is_refused_with_awss_list(lam, fn_name):
    err = client_error(create, lam, fn_name, Runtime="cobol9")

    assert_aws_error(lam, err, 400, "InvalidParameterValueException", unknown_runtime_message("cobol9"))
    assert_aws_error(lam, client_error(lam.get_function, FunctionName=fn_name), 404, "ResourceNotFoundException")


def test_unknown_runtime_on_update_is_refused_with_awss_list(lam, fn_name):
    create(lam, fn_name)
    lam.get_waiter("function_active_v2").wait(FunctionName=fn_name)

    err = client_error(lam.update_function_configuration, FunctionName=fn_name, Runtime="cobol9")

    assert_aws_error(lam, err, 400, "InvalidParameterValueException", unknown_runtime_message("cobol9"))
    assert lam.get_function_configuration(FunctionName=fn_name)["Runtime"] == RUNTIME


@pytest.mark.parametrize("runtime", ["java17.al2023", "python3.15", "nodejs26.x"])
def test_model_runtimes_outside_awss_list_are_not_accepted(lam, fn_name, runtime):
    err = client_error(create, lam, fn_name, Runtime=runtime)

    assert_aws_error(lam, err, 400, "InvalidParameterValueException")


def test_missing_handler_is_refused(lam, fn_name):
    err = client_error(lam.create_function, FunctionName=fn_name, Runtime=RUNTIME, Role=ROLE, Code={"ZipFile": CODE})

    assert_aws_error(
        lam, err, 400, "InvalidParameterValueException",
        "Runtime and Handler are mandatory parameters for functions created with deployment packages.",
    )


def test_s3_code_is_refused_clearly(lam, fn_name):
    err = client_error(create, lam, fn_name, Code={"S3Bucket": "bucket", "S3Key": "key.zip"})

    text = assert_aws_error(lam, err, 400, "InvalidParameterValueException")
    assert "--artifacts s3://" in text and "ZipFile" in text


def test_bad_zip_is_refused_with_awss_message_alone(lam, server, fn_name):
    err = client_error(create, lam, fn_name, Code={"ZipFile": b"not a zip at all"})

    assert_aws_error(lam, err, 400, "InvalidParameterValueException", UNZIP_FAILED)
    # What was wrong goes to the server's log, under the request id the client got.
    request_id = raw_of(lam).headers["x-amzn-requestid"]
    logged = [line for line in server.log_path.read_text(errors="replace").splitlines() if request_id in line]
    assert any("zip refused" in line and "not a zip archive" in line for line in logged), logged
    err = client_error(lam.get_function, FunctionName=fn_name)
    assert_aws_error(lam, err, 404, "ResourceNotFoundException")


def test_bad_zip_on_update_code_is_refused_with_awss_message_alone(lam, fn_name):
    created = create(lam, fn_name)
    lam.get_waiter("function_active_v2").wait(FunctionName=fn_name)

    err = client_error(lam.update_function_code, FunctionName=fn_name, ZipFile=b"PK\x03\x04 not a zip after all")

    assert_aws_error(lam, err, 400, "InvalidParameterValueException", UNZIP_FAILED)
    assert lam.get_function_configuration(FunctionName=fn_name)["CodeSha256"] == created["CodeSha256"]


def test_zip_file_that_is_not_base64_is_refused_with_awss_message_alone(server, fn_name):
    body = json.dumps({
        "FunctionName": fn_name, "Runtime": RUNTIME, "Role": ROLE, "Handler": HANDLER,
        "Code": {"ZipFile": "not*base64!"},
    }).encode()

    resp = raw_request(server.url, "POST", "/2015-03-31/functions", body)

    assert resp.status == 400
    assert resp.headers["x-amzn-errortype"] == "InvalidParameterValueException"
    assert resp.json() == {"Type": "User", "message": UNZIP_FAILED}


def test_reserved_environment_variables_are_refused(lam, fn_name):
    err = client_error(create, lam, fn_name, Environment={"Variables": {"AWS_REGION": "x", "OK_NAME": "y", "AWS_LAMBDA_FUNCTION_NAME": "z"}})

    assert_aws_error(
        lam, err, 400, "InvalidParameterValueException",
        "Lambda was unable to configure your environment variables because the environment variables you have "
        "provided contains reserved keys that are currently not supported for modification. "
        "Reserved keys used in this request: AWS_LAMBDA_FUNCTION_NAME, AWS_REGION",
    )


def test_environment_over_4kb_is_refused_with_the_measured_string(lam, fn_name):
    variables = {"BIG": "v" * 4096}

    err = client_error(create, lam, fn_name, Environment={"Variables": variables})

    assert_aws_error(
        lam, err, 400, "InvalidParameterValueException",
        "Lambda was unable to configure your environment variables because the environment variables you have "
        f"provided exceeded the 4KB limit. String measured: {json.dumps(variables, separators=(',', ':'))}",
    )


def test_oversize_environment_is_measured_in_the_requests_order(lam, fn_name):
    variables = {"ZED": "z" * 2000, "ALPHA": "a" * 2000, "MID": "m" * 200}
    measured = json.dumps(variables, separators=(",", ":"))
    assert measured.index("ZED") < measured.index("ALPHA") and len(measured) > 4096  # not sorted, too big
    expected = (
        "Lambda was unable to configure your environment variables because the environment variables you have "
        f"provided exceeded the 4KB limit. String measured: {measured}"
    )

    err = client_error(create, lam, fn_name, Environment={"Variables": variables})
    assert_aws_error(lam, err, 400, "InvalidParameterValueException", expected)

    create(lam, fn_name)
    lam.get_waiter("function_active_v2").wait(FunctionName=fn_name)
    err = client_error(lam.update_function_configuration, FunctionName=fn_name, Environment={"Variables": variables})
    assert_aws_error(lam, err, 400, "InvalidParameterValueException", expected)


def test_environment_of_exactly_4kb_is_accepted(lam, fn_name):
    # {"BIG":"..."} is 10 bytes plus the value.
    variables = {"BIG": "v" * (4096 - 10)}
    assert len(json.dumps(variables, separators=(",", ":"))) == 4096

    created = create(lam, fn_name, Environment={"Variables": variables})

    assert created["Environment"]["Variables"] == variables
    err = client_error(
        lam.update_function_configuration, FunctionName=fn_name, Environment={"Variables": {"BIG": "v" * (4096 - 9)}},
    )
    assert_aws_error(lam, err, 400, "InvalidParameterValueException", prefix="Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit.")


def test_unversioned_path_names_with_dots_are_not_found_rather_than_invalid(server, fn_name):
    resp = raw_request(server.url, "GET", f"/2015-03-31/functions/{quote(fn_name + '.x')}")

    assert resp.status == 404
    assert resp.json()["Message"].startswith("Function not found: ")
