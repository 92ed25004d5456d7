"""SIGKILL in the middle of a publish leaves no half-published version, and what a restart
finds is consistent: either the version exists with all its bytes, or nothing of it does."""

import hashlib
import os
import threading
import time

import pytest

from helpers import http_get, stored_leftovers
from zips import simple_zip

# Kill points, as fractions of how long one whole publish of the same layer takes on this
# machine and build: spread over decode, hashing, fsync, extraction and the commit. Where
# each lands varies from run to run; every outcome must pass the same checks.
KILL_AT_FRACTIONS = (0.05, 0.3, 0.6, 0.85, 0.95, 1.0, 1.1)


def big_layer() -> bytes:
    files = {f"python/pkg{i % 40}/mod{i}.py": f"X = {i}\n".encode() * 200 for i in range(3000)}
    files.update({f"python/native/blob{i}.so": os.urandom(4 << 20) for i in range(5)})
    return simple_zip(files)


@pytest.fixture(scope="module")
def layer_zip() -> bytes:
    return big_layer()


@pytest.fixture(scope="module")
def publish_secs(layer_zip, tmp_path_factory) -> float:
    """How long one publish of `layer_zip` takes on a fresh server."""
    from harness import LaminaServer, make_client

    root = tmp_path_factory.mktemp("crash-timing")
    server = LaminaServer(root / "data", root / "lamina.log", []).start()
    try:
        start = time.monotonic()
        make_client(server.url).publish_layer_version(LayerName="timing", Content={"ZipFile": layer_zip})
        return time.monotonic() - start
    finally:
        server.stop()


@pytest.mark.parametrize("fraction", KILL_AT_FRACTIONS)
def test_sigkill_during_publish_leaves_all_or_nothing(start_server, client_for, layer_zip, publish_secs, fraction):
    server = start_server()
    lam = client_for(server)
    delay = publish_secs * fraction

    def publish():
        try:
            lam.publish_layer_version(LayerName="crashy", Content={"ZipFile": layer_zip})
        except Exception:  # noqa: BLE001 - the connection dies with the server; that is the point
            pass

    request = threading.Thread(target=publish)
    request.start()
    request.join(timeout=delay)
    server.kill()
    request.join(timeout=60)

    restarted = start_server(data_dir=server.data_dir)
    lam = client_for(restarted)
    versions = lam.list_layer_versions(LayerName="crashy")["LayerVersions"]
    digest = hashlib.sha256(layer_zip).hexdigest()
    leftovers = stored_leftovers(server.data_dir)

    if versions:
        assert [v["Version"] for v in versions] == [1]
        got = lam.get_layer_version(LayerName="crashy", VersionNumber=1)
        assert http_get(got["Content"]["Location"]).body == layer_zip
        assert f"blobs/sha256/{digest[:2]}/{digest}" in leftovers
        assert (server.data_dir / "trees" / "sha256" / digest[:2] / digest / "python").is_dir()
        assert not any(p.startswith("tmp/") for p in leftovers), leftovers
        expected_next = 2
    else:
        assert leftovers == [], f"a publish that never committed left files behind: {leftovers}"
        expected_next = 1

    again = lam.publish_layer_version(LayerName="crashy", Content={"ZipFile": layer_zip})
    assert again["Version"] == expected_next
