"""Layer operations through boto3: response shapes (spec §2.1) and AWS's errors (§2.2, §2.3)."""

import uuid
from urllib.parse import quote

import pytest

from helpers import (
    NOT_FOUND,
    UNZIP_FAILED,
    CREATED_DATE_RE,
    assert_aws_error,
    client_error,
    code_sha256,
    layer_arn,
    layer_version_arn,
    raw_of,
    raw_request,
)
from zips import simple_zip

ZIP = simple_zip()
# The API model's Runtime enum, in the model's order (spec §2.2).
MODEL_RUNTIMES = [
    "nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x", "nodejs16.x",
    "java8", "java8.al2", "java11", "python2.7", "python3.6", "python3.7", "python3.8", "python3.9",
    "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1", "dotnetcore3.1", "dotnet6", "dotnet8", "nodejs4.3-edge",
    "go1.x", "ruby2.5", "ruby2.7", "provided", "provided.al2", "nodejs18.x", "python3.10", "java17", "ruby3.2",
    "ruby3.3", "ruby3.4", "python3.11", "nodejs20.x", "provided.al2023", "python3.12", "java21", "python3.13",
    "nodejs22.x", "nodejs24.x", "python3.14", "java25", "dotnet10", "ruby4.0", "nodejs26.x", "java8.al2023",
    "java11.al2023", "java17.al2023", "python3.15", "custom",
]
SIXTEEN_SUPPORTED_RUNTIMES = [
    "nodejs18.x", "nodejs20.x", "nodejs22.x", "nodejs24.x", "python3.8", "python3.9", "python3.10", "python3.11",
    "python3.12", "python3.13", "python3.14", "java11", "java17", "java21", "ruby3.3", "provided.al2023",
]


def publish(lam, name, **kwargs):
    return lam.publish_layer_version(LayerName=name, Content={"ZipFile": ZIP}, **kwargs)


# --- §2.1 response shapes ---------------------------------------------------------------------


def test_publish_answers_201_with_the_layer_version(lam, server, layer_name):
    out = publish(lam, layer_name)

    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert out["LayerArn"] == layer_arn(layer_name)
    assert out["LayerVersionArn"] == layer_version_arn(layer_name, 1)
    assert out["Version"] == 1
    assert CREATED_DATE_RE.fullmatch(out["CreatedDate"]), out["CreatedDate"]
    assert out["Content"]["CodeSha256"] == code_sha256(ZIP)
    assert out["Content"]["CodeSize"] == len(ZIP)
    assert out["Content"]["Location"].startswith(f"{server.url}/_lamina/content/")


def test_publish_without_optional_fields_sends_empty_description_and_omits_the_rest(lam, layer_name):
    publish(lam, layer_name)

    body = raw_of(lam).json()
    assert body["Description"] == ""
    for absent in ("LicenseInfo", "CompatibleRuntimes", "CompatibleArchitectures"):
        assert absent not in body, body


def test_publish_echoes_empty_compatibility_lists(lam, layer_name):
    publish(lam, layer_name, CompatibleRuntimes=[], CompatibleArchitectures=[])

    body = raw_of(lam).json()
    assert body["CompatibleRuntimes"] == []
    assert body["CompatibleArchitectures"] == []


def test_publish_echoes_every_optional_field(lam, layer_name):
    out = publish(
        lam,
        layer_name,
        Description="shared deps",
        LicenseInfo="MIT",
        CompatibleRuntimes=["python3.12", "python3.13"],
        CompatibleArchitectures=["arm64", "x86_64"],
    )

    assert out["Description"] == "shared deps"
    assert out["LicenseInfo"] == "MIT"
    assert out["CompatibleRuntimes"] == ["python3.12", "python3.13"]
    assert out["CompatibleArchitectures"] == ["arm64", "x86_64"]


def test_get_layer_version_returns_what_publish_returned(lam, layer_name):
    published = publish(lam, layer_name, Description="d", LicenseInfo="MIT", CompatibleRuntimes=["python3.8"])
    published_body = raw_of(lam).json()

    got = lam.get_layer_version(LayerName=layer_name, VersionNumber=1)
    got_body = raw_of(lam).json()

    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    for body in (published_body, got_body):
        body["Content"].pop("Location")
    assert got_body == published_body
    assert got["LayerVersionArn"] == published["LayerVersionArn"]


def test_get_layer_version_by_arn_returns_the_layer_version(lam, layer_name):
    publish(lam, layer_name)
    publish(lam, layer_name, Description="second")

    got = lam.get_layer_version_by_arn(Arn=layer_version_arn(layer_name, 2))

    assert got["Version"] == 2
    assert got["Description"] == "second"
    assert got["LayerArn"] == layer_arn(layer_name)
    assert got["Content"]["CodeSha256"] == code_sha256(ZIP)


def test_layer_name_may_be_a_full_arn_in_the_path(lam, layer_name):
    arn = layer_arn(layer_name)

    out = publish(lam, arn)
    got = lam.get_layer_version(LayerName=arn, VersionNumber=1)
    versions = lam.list_layer_versions(LayerName=arn)["LayerVersions"]

    assert out["LayerVersionArn"] == layer_version_arn(layer_name, 1)
    assert got["LayerVersionArn"] == layer_version_arn(layer_name, 1)
    assert [v["Version"] for v in versions] == [1]
    lam.delete_layer_version(LayerName=arn, VersionNumber=1)
    assert lam.list_layer_versions(LayerName=layer_name)["LayerVersions"] == []


def test_list_layer_versions_items_have_no_content_or_layer_arn(lam, layer_name):
    publish(lam, layer_name, CompatibleRuntimes=["python3.11"])

    lam.list_layer_versions(LayerName=layer_name)
    body = raw_of(lam).json()

    [item] = body["LayerVersions"]
    assert "Content" not in item and "LayerArn" not in item, item
    assert item["LayerVersionArn"] == layer_version_arn(layer_name, 1)
    assert item["Version"] == 1
    assert item["Description"] == ""
    assert item["CompatibleRuntimes"] == ["python3.11"]
    assert CREATED_DATE_RE.fullmatch(item["CreatedDate"])
    assert "NextMarker" not in body


# --- §2.3 observed errors ---------------------------------------------------------------------


def test_get_unknown_layer_is_resource_not_found(lam, layer_name):
    err = client_error(lam.get_layer_version, LayerName=layer_name, VersionNumber=1)
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", NOT_FOUND)


def test_get_unknown_version_of_known_layer_is_resource_not_found(lam, layer_name):
    publish(lam, layer_name)
    err = client_error(lam.get_layer_version, LayerName=layer_name, VersionNumber=2)
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", NOT_FOUND)


def test_get_by_arn_of_unknown_version_is_resource_not_found(lam, layer_name):
    err = client_error(lam.get_layer_version_by_arn, Arn=layer_version_arn(layer_name, 7))
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", NOT_FOUND)


def test_get_by_arn_with_unversioned_arn_is_validation_error(lam, layer_name):
    arn = layer_arn(layer_name)
    err = client_error(lam.get_layer_version_by_arn, Arn=arn)
    assert_aws_error(
        lam, err, 400, "ValidationException",
        prefix=f"1 validation error detected: Value '{arn}' at 'arn' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ",
    )


def test_list_layer_versions_of_unknown_layer_is_empty(lam, layer_name):
    out = lam.list_layer_versions(LayerName=layer_name)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert raw_of(lam).json() == {"LayerVersions": []}


def test_delete_unknown_layer_answers_204(lam, layer_name):
    out = lam.delete_layer_version(LayerName=layer_name, VersionNumber=1)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert raw_of(lam).body == b""


def test_delete_unknown_version_and_delete_twice_answer_204(lam, layer_name):
    publish(lam, layer_name)
    statuses = [
        lam.delete_layer_version(LayerName=layer_name, VersionNumber=5)["ResponseMetadata"]["HTTPStatusCode"],
        lam.delete_layer_version(LayerName=layer_name, VersionNumber=1)["ResponseMetadata"]["HTTPStatusCode"],
        lam.delete_layer_version(LayerName=layer_name, VersionNumber=1)["ResponseMetadata"]["HTTPStatusCode"],
    ]
    assert statuses == [204, 204, 204]


def test_list_layers_with_unknown_runtime_filter_is_validation_error(lam):
    err = client_error(lam.list_layers, CompatibleRuntime="cobol85")
    assert_aws_error(
        lam, err, 400, "ValidationException",
        prefix="1 validation error detected: Value 'cobol85' at 'compatibleRuntime' failed to satisfy "
        "constraint: Member must satisfy enum value set: [",
    )


def test_list_layers_with_unknown_architecture_filter_is_validation_error(lam):
    err = client_error(lam.list_layers, CompatibleArchitecture="sparc")
    assert_aws_error(
        lam, err, 400, "ValidationException",
        prefix="1 validation error detected: Value 'sparc' at 'compatibleArchitecture' failed to satisfy "
        "constraint: Member must satisfy enum value set: [",
    )


def test_list_layer_versions_with_unknown_runtime_filter_is_validation_error(lam, layer_name):
    err = client_error(lam.list_layer_versions, LayerName=layer_name, CompatibleRuntime="cobol85")
    assert_aws_error(lam, err, 400, "ValidationException", contains="at 'compatibleRuntime'")


def test_list_layers_accepts_a_deprecated_runtime_of_the_model(lam):
    out = lam.list_layers(CompatibleRuntime="python2.7")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_publish_with_bad_runtime_and_architecture_reports_two_errors(lam, layer_name):
    err = client_error(
        publish, lam, layer_name, CompatibleRuntimes=["cobol85"], CompatibleArchitectures=["sparc"]
    )
    message = assert_aws_error(lam, err, 400, "ValidationException", prefix="2 validation errors detected: ")
    runtimes, archs = message.removeprefix("2 validation errors detected: ").split("; ", 1)
    assert runtimes.startswith("Value '[cobol85]' at 'compatibleRuntimes' failed to satisfy constraint: Member must")
    assert archs.startswith("Value '[sparc]' at 'compatibleArchitectures' failed to satisfy constraint: Member must")
    assert lam.list_layer_versions(LayerName=layer_name)["LayerVersions"] == []


def test_publish_accepts_deprecated_runtimes_of_the_model(lam, layer_name):
    # AWS no longer creates functions for these but publishes layers for them (spec §3.1).
    deprecated = ["python3.7", "nodejs12.x", "java8", "go1.x", "provided"]

    out = publish(lam, layer_name, CompatibleRuntimes=deprecated)

    assert out["CompatibleRuntimes"] == deprecated
    got = lam.get_layer_version(LayerName=layer_name, VersionNumber=out["Version"])
    assert got["CompatibleRuntimes"] == deprecated
    listed = lam.list_layer_versions(LayerName=layer_name, CompatibleRuntime="go1.x")["LayerVersions"]
    assert [v["Version"] for v in listed] == [out["Version"]]


def test_publish_refuses_a_runtime_outside_the_model_listing_the_models_enum(lam, layer_name):
    err = client_error(publish, lam, layer_name, CompatibleRuntimes=["python3.12", "cobol85"])

    assert_aws_error(
        lam, err, 400, "ValidationException",
        "1 validation error detected: Value '[python3.12, cobol85]' at 'compatibleRuntimes' failed to satisfy "
        f"constraint: Member must satisfy constraint: [Member must satisfy enum value set: [{', '.join(MODEL_RUNTIMES)}]]",
    )
    assert lam.list_layer_versions(LayerName=layer_name)["LayerVersions"] == []


def test_publish_of_a_bad_zip_is_refused_with_awss_message_alone(lam, layer_name):
    err = client_error(lam.publish_layer_version, LayerName=layer_name, Content={"ZipFile": b"not a zip at all"})

    assert_aws_error(lam, err, 400, "InvalidParameterValueException", UNZIP_FAILED)
    assert lam.list_layer_versions(LayerName=layer_name)["LayerVersions"] == []


@pytest.mark.parametrize("runtime", ["python3.8", "python3.14", "nodejs24.x", "provided.al2023", "java21"])
def test_publish_accepts_currently_supported_runtimes(lam, layer_name, runtime):
    assert publish(lam, layer_name, CompatibleRuntimes=[runtime])["CompatibleRuntimes"] == [runtime]


@pytest.mark.parametrize("operation", ["list_layers", "list_layer_versions"])
def test_max_items_over_50_is_validation_error(lam, layer_name, operation):
    kwargs = {"LayerName": layer_name} if operation == "list_layer_versions" else {}
    err = client_error(getattr(lam, operation), MaxItems=51, **kwargs)
    assert_aws_error(
        lam, err, 400, "ValidationException",
        prefix="1 validation error detected: Value '51' at 'maxItems' failed to satisfy constraint: Member must",
    )


@pytest.mark.parametrize("operation", ["list_layers", "list_layer_versions"])
def test_max_items_of_50_is_accepted(lam, layer_name, operation):
    kwargs = {"LayerName": layer_name} if operation == "list_layer_versions" else {}
    assert getattr(lam, operation)(MaxItems=50, **kwargs)["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize("method,suffix", [("GET", ""), ("DELETE", ""), ("GET", "/policy")])
@pytest.mark.parametrize("version", ["0", "-1"])
def test_version_number_below_one_is_invalid_parameter(server, layer_name, method, suffix, version):
    resp = raw_request(server.url, method, f"/2018-10-31/layers/{layer_name}/versions/{version}{suffix}")
    assert resp.status == 400
    assert resp.headers["x-amzn-errortype"] == "InvalidParameterValueException"
    assert resp.json() == {"Type": "User", "message": "Layer Version Cannot be less than 1"}


# --- §2.2 model validation the server must do (botocore checks only min/required) ---------------


@pytest.mark.parametrize(
    "field,kwargs",
    [
        ("description", {"Description": "x" * 257}),
        ("licenseInfo", {"LicenseInfo": "x" * 513}),
        ("compatibleArchitectures", {"CompatibleArchitectures": ["x86_64", "arm64", "x86_64"]}),
        ("compatibleRuntimes", {"CompatibleRuntimes": SIXTEEN_SUPPORTED_RUNTIMES}),
    ],
)
def test_publish_rejects_fields_over_their_model_limits(lam, layer_name, field, kwargs):
    err = client_error(publish, lam, layer_name, **kwargs)
    assert_aws_error(
        lam, err, 400, "ValidationException", prefix="1 validation error detected: Value ", contains=f" at '{field}' "
    )
    assert lam.list_layer_versions(LayerName=layer_name)["LayerVersions"] == []


def test_publish_accepts_fields_at_their_model_limits(lam, layer_name):
    out = publish(
        lam, layer_name, Description="d" * 256, LicenseInfo="l" * 512, CompatibleRuntimes=SIXTEEN_SUPPORTED_RUNTIMES[:15]
    )
    assert len(out["Description"]) == 256 and len(out["LicenseInfo"]) == 512
    assert out["CompatibleRuntimes"] == SIXTEEN_SUPPORTED_RUNTIMES[:15]


@pytest.mark.parametrize("bad_name", ["has space", "x" * 141, "semi;colon"])
def test_invalid_layer_name_is_validation_error(server, bad_name):
    path = f"/2018-10-31/layers/{quote(bad_name, safe='')}/versions"
    resp = raw_request(server.url, "GET", path)
    assert resp.status == 400, resp
    assert resp.headers["x-amzn-errortype"] == "ValidationException"
    assert list(resp.json()) == ["message"]
    assert " at 'layerName' failed to satisfy constraint: Member must" in resp.json()["message"]


def test_layer_name_of_140_chars_is_accepted(lam):
    name = (uuid.uuid4().hex * 5)[:140]
    assert publish(lam, name)["LayerArn"] == layer_arn(name)
