"""Hostile or oversized ZIPs are refused with AWS's errors and leave nothing behind.

Each test runs on a server of its own, so "nothing behind" means the data dir holds no blob,
no tree and no temporary file after the refusal.
"""

import io
import os
import stat
import subprocess
import zipfile

import pytest

from helpers import UNZIP_FAILED, assert_aws_error, client_error, post_oversize_zip_body, stored_leftovers
from zips import build_zip, device, directory, file, overlapping_bomb, simple_zip, symlink, zeros_entry

LAYER = "hostile"
MAX_UNZIPPED_BYTES = 262_144_000
MAX_ZIPPED_BYTES = 52_428_800
MAX_REQUEST_BYTES = 70_167_211


@pytest.fixture
def lam(fresh_server, client_for):
    return client_for(fresh_server)


def publish(lam, data: bytes):
    return lam.publish_layer_version(LayerName=LAYER, Content={"ZipFile": data})


def assert_refused_and_clean(lam, server, data: bytes, status: int, code: str, **message):
    err = client_error(publish, lam, data)
    text = assert_aws_error(lam, err, status, code, **message)
    assert_nothing_left(lam, server)
    return text


def assert_nothing_left(lam, server):
    assert lam.list_layer_versions(LayerName=LAYER)["LayerVersions"] == []
    assert lam.list_layers()["Layers"] == []
    assert stored_leftovers(server.data_dir) == []


def refuse_unzip(lam, server, data: bytes):
    assert_refused_and_clean(lam, server, data, 400, "InvalidParameterValueException", message=UNZIP_FAILED)


# --- not a ZIP --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [b"this is not a zip file\n" * 10, simple_zip()[:-30], b"PK\x03\x04" + os.urandom(200)],
    ids=["text", "truncated", "bad-header"],
)
def test_not_a_zip_is_refused(lam, fresh_server, data):
    refuse_unzip(lam, fresh_server, data)


# --- paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["/etc/lamina-e2e-evil", "/python/abs.py"])
def test_absolute_entry_path_is_refused(lam, fresh_server, name):
    refuse_unzip(lam, fresh_server, build_zip([file("python/ok.py", b"1"), file(name, b"evil")]))


@pytest.mark.parametrize("name", ["../evil.py", "python/../../evil.py", "python/../x.py"])
def test_dot_dot_entry_path_is_refused(lam, fresh_server, name):
    refuse_unzip(lam, fresh_server, build_zip([file("python/ok.py", b"1"), file(name, b"evil")]))


def test_duplicate_entry_names_are_refused(lam, fresh_server):
    refuse_unzip(lam, fresh_server, build_zip([file("python/a.py", b"first"), file("python/a.py", b"second")]))


# --- symlinks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/etc/passwd", "../../outside", "../.."])
def test_symlink_pointing_outside_is_refused(lam, fresh_server, target):
    refuse_unzip(lam, fresh_server, build_zip([directory("python"), symlink("python/link", target)]))


def test_symlink_escaping_through_another_symlink_is_refused(lam, fresh_server):
    # python/l1 -> ..      resolves to the layer root: inside
    # python/l2 -> l1/..   lexically python/, but following l1 it is the root's parent: outside
    data = build_zip([directory("python"), symlink("python/l1", ".."), symlink("python/l2", "l1/..")])
    refuse_unzip(lam, fresh_server, data)


def test_file_written_through_an_outside_symlink_is_refused(lam, fresh_server):
    data = build_zip([symlink("python/d", "/tmp"), file("python/d/lamina-e2e-pwned", b"x")])
    refuse_unzip(lam, fresh_server, data)


# --- entry kinds ------------------------------------------------------------------------------


def test_encrypted_entries_are_refused(lam, fresh_server, tmp_path):
    (tmp_path / "python").mkdir()
    (tmp_path / "python" / "secret.py").write_text("TOKEN = 'x'\n")
    subprocess.run(["zip", "-q", "-r", "-P", "hunter2", "layer.zip", "python/"], cwd=tmp_path, check=True)
    data = (tmp_path / "layer.zip").read_bytes()
    assert zipfile.ZipFile(io.BytesIO(data)).infolist()[-1].flag_bits & 1  # really encrypted

    refuse_unzip(lam, fresh_server, data)


@pytest.mark.parametrize("kind", [stat.S_IFCHR, stat.S_IFBLK], ids=["char", "block"])
def test_device_files_are_refused(lam, fresh_server, kind):
    refuse_unzip(lam, fresh_server, build_zip([file("python/ok.py", b"1"), device("python/dev", kind)]))


def test_more_than_100000_entries_are_refused(lam, fresh_server):
    data = build_zip([file(f"f/{i:06d}") for i in range(100_001)])
    refuse_unzip(lam, fresh_server, data)


# --- sizes ------------------------------------------------------------------------------------


def test_unzipped_size_over_the_limit_is_refused(lam, fresh_server):
    # Two honest entries of 140 MiB of zeros: each fits, together they exceed 250 MB.
    data = build_zip([zeros_entry("python/a.bin", 140), zeros_entry("python/b.bin", 140)])
    assert_refused_and_clean(
        lam, fresh_server, data, 400, "InvalidParameterValueException",
        message=f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes",
    )


def test_zip_bomb_lying_about_its_sizes_is_refused(lam, fresh_server):
    # 300 MiB of zeros really deflated, but both headers claim 1 MB uncompressed.
    data = build_zip([zeros_entry("python/bomb.bin", 300, claimed_size=1_000_000)])
    assert len(data) < 1_000_000
    assert_refused_and_clean(
        lam, fresh_server, data, 400, "InvalidParameterValueException",
        message=f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes",
    )


def test_many_entries_lying_about_their_sizes_are_refused(lam, fresh_server):
    # Ten 30 MiB entries, each claiming 1 KB: only the real total gives the bomb away.
    data = build_zip([zeros_entry(f"python/part{i}.bin", 30, claimed_size=1000) for i in range(10)])
    assert_refused_and_clean(
        lam, fresh_server, data, 400, "InvalidParameterValueException",
        message=f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes",
    )


def test_entries_sharing_one_compressed_body_are_refused(lam, fresh_server):
    # 300 entries, each honestly 1 MiB, all pointing at the same local data: 300 MiB unzipped.
    data = overlapping_bomb(300, 1)
    text = assert_refused_and_clean(lam, fresh_server, data, 400, "InvalidParameterValueException")
    assert text == f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes" or text == UNZIP_FAILED


def test_zip_over_50_mb_is_request_entity_too_large(lam, fresh_server):
    name = "python/big.bin"
    overhead = 30 + len(name) + 46 + len(name) + 22
    data = build_zip([file(name, os.urandom(MAX_ZIPPED_BYTES + 100 - overhead))])
    assert len(data) == MAX_ZIPPED_BYTES + 100

    assert_refused_and_clean(
        lam, fresh_server, data, 413, "RequestEntityTooLargeException",
        message=f"Zipped size must be smaller than {MAX_ZIPPED_BYTES} bytes",
    )


def test_request_body_over_the_limit_is_request_entity_too_large(lam, fresh_server):
    resp = post_oversize_zip_body(
        fresh_server.url, "POST", f"/2018-10-31/layers/{LAYER}/versions",
        b'{"Content":{"ZipFile":"', b'"}}', MAX_REQUEST_BYTES,
    )

    assert resp.status == 413, resp.body[:500]
    assert resp.headers["x-amzn-errortype"].split(":")[0] == "RequestEntityTooLargeException"
    assert resp.json() == {
        "message": f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the PublishLayerVersion operation"
    }
    assert_nothing_left(lam, fresh_server)
