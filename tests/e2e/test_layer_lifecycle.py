"""Layer version lifecycle (spec §5): numbering, deletion, listing, filters."""

from concurrent.futures import ThreadPoolExecutor

from harness import make_client
from helpers import NOT_FOUND, assert_aws_error, client_error, layer_arn, layer_version_arn, raw_of
from zips import simple_zip


def publish(lam, name, **kwargs):
    return lam.publish_layer_version(LayerName=name, Content={"ZipFile": simple_zip()}, **kwargs)["Version"]


def versions(lam, name, **kwargs):
    return [v["Version"] for v in lam.list_layer_versions(LayerName=name, **kwargs)["LayerVersions"]]


def all_layers(lam, **kwargs):
    """Every layer ListLayers reports, by name, walking all pages."""
    found = {}
    for page in lam.get_paginator("list_layers").paginate(**kwargs):
        for layer in page["Layers"]:
            assert layer["LayerName"] not in found, layer
            found[layer["LayerName"]] = layer
    return found


def test_versions_count_up_from_one(lam, layer_name):
    assert [publish(lam, layer_name) for _ in range(3)] == [1, 2, 3]


def test_version_numbers_are_never_reused_after_deleting_all(lam, layer_name):
    publish(lam, layer_name)
    publish(lam, layer_name)
    lam.delete_layer_version(LayerName=layer_name, VersionNumber=1)
    lam.delete_layer_version(LayerName=layer_name, VersionNumber=2)

    assert publish(lam, layer_name) == 3


def test_deleting_the_latest_version_does_not_lower_the_counter(lam, layer_name):
    publish(lam, layer_name)
    publish(lam, layer_name)
    lam.delete_layer_version(LayerName=layer_name, VersionNumber=2)

    assert publish(lam, layer_name) == 3


def test_each_layer_has_its_own_counter(lam, layer_name):
    publish(lam, layer_name)
    publish(lam, layer_name)
    assert publish(lam, layer_name + "-other") == 1


def test_concurrent_publishes_get_distinct_consecutive_versions(server, layer_name):
    clients = [make_client(server.url) for _ in range(8)]

    with ThreadPoolExecutor(len(clients)) as pool:
        got = sorted(pool.map(lambda c: publish(c, layer_name), clients))

    assert got == list(range(1, 9))


def test_list_layer_versions_is_newest_first_and_omits_deleted(lam, layer_name):
    for _ in range(4):
        publish(lam, layer_name)
    lam.delete_layer_version(LayerName=layer_name, VersionNumber=2)

    assert versions(lam, layer_name) == [4, 3, 1]


def test_deleted_version_is_gone_from_get_and_get_by_arn(lam, layer_name):
    publish(lam, layer_name)
    lam.delete_layer_version(LayerName=layer_name, VersionNumber=1)

    err = client_error(lam.get_layer_version, LayerName=layer_name, VersionNumber=1)
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", NOT_FOUND)
    err = client_error(lam.get_layer_version_by_arn, Arn=layer_version_arn(layer_name, 1))
    assert_aws_error(lam, err, 404, "ResourceNotFoundException", NOT_FOUND)


def test_deleted_version_has_no_policy_operations(lam, layer_name):
    publish(lam, layer_name)
    lam.add_layer_version_permission(
        LayerName=layer_name, VersionNumber=1, StatementId="s", Action="lambda:GetLayerVersion", Principal="*"
    )
    lam.delete_layer_version(LayerName=layer_name, VersionNumber=1)

    err = client_error(lam.get_layer_version_policy, LayerName=layer_name, VersionNumber=1)
    assert_aws_error(
        lam, err, 404, "ResourceNotFoundException", f"Layer version {layer_version_arn(layer_name, 1)} does not exist."
    )


def test_list_layers_shows_the_latest_version(lam, layer_name):
    publish(lam, layer_name, Description="one")
    publish(lam, layer_name, Description="two")

    layer = all_layers(lam)[layer_name]

    assert layer["LayerArn"] == layer_arn(layer_name)
    latest = layer["LatestMatchingVersion"]
    assert latest["Version"] == 2
    assert latest["LayerVersionArn"] == layer_version_arn(layer_name, 2)
    assert latest["Description"] == "two"
    assert "Content" not in latest and "LayerArn" not in latest


def test_list_layers_items_are_name_arn_and_latest_version(lam, layer_name):
    publish(lam, layer_name)

    lam.list_layers(MaxItems=50)
    while layer_name not in [item["LayerName"] for item in raw_of(lam).json()["Layers"]]:
        assert "NextMarker" in raw_of(lam).json(), f"{layer_name} not listed"
        lam.list_layers(MaxItems=50, Marker=raw_of(lam).json()["NextMarker"])

    [item] = [item for item in raw_of(lam).json()["Layers"] if item["LayerName"] == layer_name]
    assert set(item) == {"LayerName", "LayerArn", "LatestMatchingVersion"}


def test_list_layers_omits_layers_without_live_versions(lam, layer_name):
    publish(lam, layer_name)
    lam.delete_layer_version(LayerName=layer_name, VersionNumber=1)

    assert layer_name not in all_layers(lam)


def test_list_layers_falls_back_to_the_highest_live_version(lam, layer_name):
    publish(lam, layer_name)
    publish(lam, layer_name)
    lam.delete_layer_version(LayerName=layer_name, VersionNumber=2)

    assert all_layers(lam)[layer_name]["LatestMatchingVersion"]["Version"] == 1


def test_list_layers_runtime_filter_picks_the_highest_matching_version(lam, layer_name):
    publish(lam, layer_name, CompatibleRuntimes=["python3.8", "python3.9"])
    publish(lam, layer_name, CompatibleRuntimes=["python3.12"])
    publish(lam, layer_name, CompatibleRuntimes=["nodejs20.x"])

    assert all_layers(lam, CompatibleRuntime="python3.8")[layer_name]["LatestMatchingVersion"]["Version"] == 1
    assert all_layers(lam, CompatibleRuntime="python3.12")[layer_name]["LatestMatchingVersion"]["Version"] == 2
    assert all_layers(lam)[layer_name]["LatestMatchingVersion"]["Version"] == 3
    assert layer_name not in all_layers(lam, CompatibleRuntime="ruby3.3")


def test_list_layers_architecture_filter_picks_the_highest_matching_version(lam, layer_name):
    publish(lam, layer_name, CompatibleArchitectures=["arm64"])
    publish(lam, layer_name, CompatibleArchitectures=["x86_64"])

    assert all_layers(lam, CompatibleArchitecture="arm64")[layer_name]["LatestMatchingVersion"]["Version"] == 1
    assert all_layers(lam, CompatibleArchitecture="x86_64")[layer_name]["LatestMatchingVersion"]["Version"] == 2


def test_list_layers_combines_runtime_and_architecture_filters(lam, layer_name):
    publish(lam, layer_name, CompatibleRuntimes=["python3.11"], CompatibleArchitectures=["arm64"])
    publish(lam, layer_name, CompatibleRuntimes=["python3.11"], CompatibleArchitectures=["x86_64"])
    publish(lam, layer_name, CompatibleRuntimes=["python3.10"], CompatibleArchitectures=["arm64"])

    layers = all_layers(lam, CompatibleRuntime="python3.11", CompatibleArchitecture="arm64")
    assert layers[layer_name]["LatestMatchingVersion"]["Version"] == 1


def test_versions_without_compatibility_lists_match_no_filter(lam, layer_name):
    publish(lam, layer_name)

    assert layer_name not in all_layers(lam, CompatibleRuntime="python3.12")
    assert layer_name not in all_layers(lam, CompatibleArchitecture="x86_64")


def test_list_layer_versions_filters_by_runtime_and_architecture(lam, layer_name):
    publish(lam, layer_name, CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["arm64"])
    publish(lam, layer_name, CompatibleRuntimes=["nodejs22.x"], CompatibleArchitectures=["arm64"])
    publish(lam, layer_name, CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["x86_64"])

    assert versions(lam, layer_name, CompatibleRuntime="python3.12") == [3, 1]
    assert versions(lam, layer_name, CompatibleArchitecture="arm64") == [2, 1]
    assert versions(lam, layer_name, CompatibleRuntime="python3.12", CompatibleArchitecture="arm64") == [1]


def test_deleting_a_version_leaves_other_layers_alone(lam, layer_name):
    other = layer_name + "-other"
    publish(lam, layer_name)
    publish(lam, other)

    lam.delete_layer_version(LayerName=layer_name, VersionNumber=1)

    assert versions(lam, other) == [1]
