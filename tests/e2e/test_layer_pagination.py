"""Marker/MaxItems pagination of ListLayers and ListLayerVersions, by hand and via paginators."""

import pytest

from harness import make_client
from zips import simple_zip

N_VERSIONS = 5
N_LAYERS = 4


@pytest.fixture
def five_versions(lam, layer_name):
    for _ in range(N_VERSIONS):
        lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": simple_zip()})
    return layer_name


@pytest.fixture(scope="module")
def layers_server(module_server):
    """A server holding exactly N_LAYERS layers, so ListLayers has a known total."""
    lam = make_client(module_server.url)
    for i in range(N_LAYERS):
        lam.publish_layer_version(LayerName=f"page-layer-{i}", Content={"ZipFile": simple_zip()})
    return module_server


def walk(call, key, max_items, **kwargs):
    """Follows NextMarker by hand; returns the pages' items."""
    pages = []
    marker = None
    while True:
        args = dict(kwargs, MaxItems=max_items)
        if marker is not None:
            args["Marker"] = marker
        out = call(**args)
        pages.append(out[key])
        marker = out.get("NextMarker")
        if not marker:
            return pages
        assert len(pages) <= 20, "pagination does not end"


@pytest.mark.parametrize("max_items", [1, 2, 3])
def test_list_layer_versions_pages_cover_every_version_once(lam, five_versions, max_items):
    pages = walk(lam.list_layer_versions, "LayerVersions", max_items, LayerName=five_versions)

    assert all(len(p) <= max_items for p in pages)
    assert all(pages[:-1]), "only the last page may be empty"
    assert [v["Version"] for p in pages for v in p] == [5, 4, 3, 2, 1]


def test_list_layer_versions_first_page_has_next_marker(lam, five_versions):
    out = lam.list_layer_versions(LayerName=five_versions, MaxItems=2)
    assert [v["Version"] for v in out["LayerVersions"]] == [5, 4]
    assert out["NextMarker"]


def test_list_layer_versions_without_max_items_returns_everything_in_one_page(lam, five_versions):
    out = lam.list_layer_versions(LayerName=five_versions)
    assert [v["Version"] for v in out["LayerVersions"]] == [5, 4, 3, 2, 1]
    assert "NextMarker" not in out


def test_list_layer_versions_paginator_walks_all_pages(lam, five_versions):
    paginator = lam.get_paginator("list_layer_versions")
    pages = list(paginator.paginate(LayerName=five_versions, PaginationConfig={"PageSize": 2}))

    assert len(pages) >= 3
    assert [v["Version"] for p in pages for v in p["LayerVersions"]] == [5, 4, 3, 2, 1]


@pytest.mark.parametrize("max_items", [1, 2, 3])
def test_list_layers_pages_cover_every_layer_once(layers_server, max_items):
    lam = make_client(layers_server.url)
    pages = walk(lam.list_layers, "Layers", max_items)

    assert all(len(p) <= max_items for p in pages)
    assert all(pages[:-1]), "only the last page may be empty"
    names = [layer["LayerName"] for p in pages for layer in p]
    assert sorted(names) == [f"page-layer-{i}" for i in range(N_LAYERS)]


def test_list_layers_paginator_walks_all_pages(layers_server):
    lam = make_client(layers_server.url)
    pages = list(lam.get_paginator("list_layers").paginate(PaginationConfig={"PageSize": 1}))

    assert len(pages) >= N_LAYERS
    names = [layer["LayerName"] for p in pages for layer in p["Layers"]]
    assert sorted(names) == [f"page-layer-{i}" for i in range(N_LAYERS)]


def test_paginator_max_items_stops_early_and_resumes(layers_server):
    lam = make_client(layers_server.url)
    paginator = lam.get_paginator("list_layers")
    first = paginator.paginate(PaginationConfig={"PageSize": 1, "MaxItems": 2}).build_full_result()
    rest = paginator.paginate(
        PaginationConfig={"PageSize": 1, "StartingToken": first["NextToken"]}
    ).build_full_result()

    names = [layer["LayerName"] for layer in first["Layers"] + rest["Layers"]]
    assert len(first["Layers"]) == 2
    assert sorted(names) == [f"page-layer-{i}" for i in range(N_LAYERS)]
