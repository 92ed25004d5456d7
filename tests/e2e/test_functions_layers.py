"""Attaching layers to functions: AWS's rules and messages (spec §3 errors, §5), the `Layers`
shape, replacement semantics, and deleted layer versions that functions keep using."""

import pytest

from function_support import LAYER_VERSION_ARN_PATTERN, create, fn_name, function_arn, publish_layer  # noqa: F401
from helpers import assert_aws_error, client_error, layer_version_arn, raw_of, tree_dir
from zips import build_zip, zeros_entry

MAX_UNZIPPED_BYTES = 262_144_000


def layers(lam, layer_name, n):
    """Publishes `n` distinct layers named `<layer_name>-<i>`; returns their version ARNs."""
    return [publish_layer(lam, f"{layer_name}-{i}")[0]["LayerVersionArn"] for i in range(n)]


def test_layers_are_listed_with_arn_and_zip_size_in_order(lam, fn_name, layer_name):
    first, first_zip = publish_layer(lam, f"{layer_name}-a", {"python/a.py": b"A = 1\n"})
    second, second_zip = publish_layer(lam, f"{layer_name}-b", {"python/b.py": b"B = 22\n"})
    arns = [second["LayerVersionArn"], first["LayerVersionArn"]]

    out = create(lam, fn_name, Layers=arns)

    assert out["Layers"] == [
        {"Arn": arns[0], "CodeSize": len(second_zip)},
        {"Arn": arns[1], "CodeSize": len(first_zip)},
    ]
    assert set(raw_of(lam).json()["Layers"][0]) == {"Arn", "CodeSize"}
    assert lam.get_function(FunctionName=fn_name)["Configuration"]["Layers"] == out["Layers"]


def test_update_replaces_the_whole_list_and_empty_detaches(lam, fn_name, layer_name):
    a, b, c = layers(lam, layer_name, 3)
    create(lam, fn_name, Layers=[a, b])

    replaced = lam.update_function_configuration(FunctionName=fn_name, Layers=[c, a])
    untouched = lam.update_function_configuration(FunctionName=fn_name, Timeout=7)
    detached = lam.update_function_configuration(FunctionName=fn_name, Layers=[])

    assert [l["Arn"] for l in replaced["Layers"]] == [c, a]
    assert [l["Arn"] for l in untouched["Layers"]] == [c, a]
    assert "Layers" not in detached
    assert "Layers" not in raw_of(lam).json()


def test_more_than_five_layers_are_refused(lam, fn_name, layer_name):
    arns = layers(lam, layer_name, 6)

    err = client_error(create, lam, fn_name, Layers=arns)

    assert_aws_error(lam, err, 400, "InvalidParameterValueException", "Cannot reference more than 5 layers.")
    assert len(create(lam, fn_name, Layers=arns[:5])["Layers"]) == 5


def test_two_versions_of_one_layer_are_refused(lam, fn_name, layer_name):
    v1 = publish_layer(lam, layer_name)[0]["LayerVersionArn"]
    v2 = publish_layer(lam, layer_name)[0]["LayerVersionArn"]

    err = client_error(create, lam, fn_name, Layers=[v1, v2])

    assert_aws_error(
        lam, err, 400, "InvalidParameterValueException",
        "Two different versions of the same layer are not allowed to be referenced in the same function. "
        f"{v1} and {v2} are versions of the same layer.",
    )


def test_the_same_version_twice_is_refused_too(lam, fn_name, layer_name):
    v1 = publish_layer(lam, layer_name)[0]["LayerVersionArn"]

    err = client_error(create, lam, fn_name, Layers=[v1, v1])

    assert_aws_error(lam, err, 400, "InvalidParameterValueException", prefix="Two different versions of the same layer")


def test_missing_layer_version_is_refused(lam, fn_name, layer_name):
    publish_layer(lam, layer_name)
    missing = layer_version_arn(layer_name, 2)

    err = client_error(create, lam, fn_name, Layers=[missing])

    assert_aws_error(lam, err, 400, "InvalidParameterValueException", f"Layer version {missing} does not exist.")


def test_deleted_layer_version_cannot_be_attached(lam, fn_name, layer_name):
    arn = publish_layer(lam, layer_name)[0]["LayerVersionArn"]
    lam.delete_layer_version(LayerName=layer_name, VersionNumber=1)

    err = client_error(create, lam, fn_name, Layers=[arn])

    assert_aws_error(lam, err, 400, "InvalidParameterValueException", f"Layer version {arn} does not exist.")


def test_layer_in_another_region_is_refused(lam, fn_name, layer_name):
    other = layer_version_arn(layer_name, 1, region="eu-west-1")

    err = client_error(create, lam, fn_name, Layers=[other])

    assert_aws_error(
        lam, err, 400, "InvalidParameterValueException",
        "Layers are not in the same region as the function. Layers are expected to be in region us-west-2.",
    )


def test_unversioned_layer_arn_is_validation_error(lam, fn_name, layer_name):
    unversioned = layer_version_arn(layer_name, 1).rsplit(":", 1)[0]

    err = client_error(create, lam, fn_name, Layers=[unversioned])

    assert_aws_error(
        lam, err, 400, "ValidationException",
        f"1 validation error detected: Value '[{unversioned}]' at 'layers' failed to satisfy constraint: "
        "Member must satisfy constraint: [Member must have length less than or equal to 2048, "
        "Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: "
        f"{LAYER_VERSION_ARN_PATTERN}, Member must not be null]",
    )


def test_update_configuration_applies_the_same_rules(lam, fn_name, layer_name):
    create(lam, fn_name)
    missing = layer_version_arn(layer_name, 1)

    err = client_error(lam.update_function_configuration, FunctionName=fn_name, Layers=[missing])

    assert_aws_error(lam, err, 400, "InvalidParameterValueException", f"Layer version {missing} does not exist.")
    assert "Layers" not in lam.get_function_configuration(FunctionName=fn_name)


def test_deleted_layer_version_stays_listed_and_its_files_stay(lam, server, fn_name, layer_name):
    published, data = publish_layer(lam, layer_name, {"python/kept.py": b"KEPT = True\n"})
    arn = published["LayerVersionArn"]
    create(lam, fn_name, Layers=[arn], Publish=True)

    lam.delete_layer_version(LayerName=layer_name, VersionNumber=1)

    expected = [{"Arn": arn, "CodeSize": len(data)}]
    assert lam.get_function_configuration(FunctionName=fn_name)["Layers"] == expected
    assert lam.get_function_configuration(FunctionName=fn_name, Qualifier="1")["Layers"] == expected
    assert lam.update_function_configuration(FunctionName=fn_name, Timeout=9)["Layers"] == expected
    assert (tree_dir(server.data_dir, data) / "python" / "kept.py").is_file()


def test_deleted_layer_files_survive_a_restart_while_a_function_uses_them(start_server, client_for, layer_name):
    server = start_server()
    lam = client_for(server)
    published, data = publish_layer(lam, layer_name, {"python/kept.py": b"KEPT = True\n"})
    create(lam, "keeper", Layers=[published["LayerVersionArn"]])
    lam.delete_layer_version(LayerName=layer_name, VersionNumber=1)
    server.kill()

    again = start_server(data_dir=server.data_dir)

    assert (tree_dir(again.data_dir, data) / "python" / "kept.py").is_file()
    lam = client_for(again)
    assert lam.get_function_configuration(FunctionName="keeper")["Layers"][0]["Arn"] == published["LayerVersionArn"]


def test_function_plus_layers_over_250_mb_unzipped_is_refused(fresh_server, client_for):
    lam = client_for(fresh_server)
    # Two layers of 126 MiB of zeros each: each fits alone, together they are 264,241,152 bytes.
    big = build_zip([zeros_entry("python/zeros.bin", 126)])
    arns = [
        lam.publish_layer_version(LayerName=f"big-{i}", Content={"ZipFile": big})["LayerVersionArn"] for i in range(2)
    ]
    code_size = create(lam, "small")["CodeSize"]
    assert code_size > 0

    err = client_error(create, lam, "too-big", Layers=arns)

    text = assert_aws_error(
        lam, err, 400, "InvalidParameterValueException",
        prefix=f"Function code combined with layers exceeds the maximum allowed size of {MAX_UNZIPPED_BYTES} bytes. "
        "The actual size is ",
    )
    actual = int(text.rsplit(" ", 2)[-2])
    assert actual > 2 * 126 * 1024 * 1024
    err = client_error(lam.update_function_configuration, FunctionName="small", Layers=arns)
    assert_aws_error(lam, err, 400, "InvalidParameterValueException", prefix="Function code combined with layers exceeds")
    assert len(create(lam, "fits", Layers=arns[:1])["Layers"]) == 1


@pytest.mark.parametrize("count", [0, 1])
def test_function_arn_of_created_function_with_layers(lam, fn_name, layer_name, count):
    out = create(lam, fn_name, Layers=layers(lam, layer_name, count))

    assert out["FunctionArn"] == function_arn(fn_name)
    assert ("Layers" in out) == bool(count)
