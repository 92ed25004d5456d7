"""An accepted layer is extracted, keeping exec bits and in-tree symlinks, under
`DATA/trees/sha256/<2 hex>/<64 hex>/` where the hex is the SHA-256 of the ZIP."""

import os
import subprocess

from helpers import stored_leftovers, tree_dir
from zips import build_zip, directory, file, symlink


def test_info_zip_layer_keeps_exec_bits_and_symlinks(lam, server, layer_name, tmp_path):
    src = tmp_path / "src"
    (src / "bin").mkdir(parents=True)
    (src / "lib").mkdir()
    (src / "python").mkdir()
    (src / "bin" / "tool").write_text("#!/bin/sh\necho tool\n")
    (src / "bin" / "tool").chmod(0o755)
    (src / "python" / "data.txt").write_text(layer_name)
    (src / "python" / "data.txt").chmod(0o644)
    (src / "lib" / "libx.so.1").write_bytes(b"\x7fELF fake")
    os.symlink("libx.so.1", src / "lib" / "libx.so")
    os.symlink("../python/data.txt", src / "bin" / "data-link")
    subprocess.run(["zip", "-q", "-r", "-y", "layer.zip", "bin", "lib", "python"], cwd=src, check=True)
    data = (src / "layer.zip").read_bytes()

    lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": data})

    tree = tree_dir(server.data_dir, data)
    assert tree.is_dir(), stored_leftovers(server.data_dir)
    assert os.stat(tree / "bin" / "tool").st_mode & 0o111 == 0o111
    assert os.stat(tree / "python" / "data.txt").st_mode & 0o111 == 0
    assert os.readlink(tree / "lib" / "libx.so") == "libx.so.1"
    assert os.readlink(tree / "bin" / "data-link") == "../python/data.txt"
    assert (tree / "bin" / "data-link").read_text() == layer_name


def test_crafted_layer_keeps_modes_and_inside_symlink_chains(lam, server, layer_name):
    data = build_zip(
        [
            directory("python"),
            file("python/mod.py", layer_name.encode()),
            file("bin/run", b"#!/bin/sh\n", mode=0o755),
            symlink("python/alias.py", "mod.py"),
            symlink("python/up", ".."),  # the layer root: inside
            symlink("python/again", "up/python/alias.py"),  # a chain that stays inside
        ]
    )

    lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": data})

    tree = tree_dir(server.data_dir, data)
    assert os.stat(tree / "bin" / "run").st_mode & 0o777 == 0o755
    assert os.readlink(tree / "python" / "alias.py") == "mod.py"
    assert os.readlink(tree / "python" / "again") == "up/python/alias.py"
    assert (tree / "python" / "again").read_text() == layer_name


def test_publishing_the_same_zip_twice_shares_one_tree(lam, server, layer_name):
    data = build_zip([file("python/same.py", layer_name.encode())])

    first = lam.publish_layer_version(LayerName=layer_name, Content={"ZipFile": data})
    second = lam.publish_layer_version(LayerName=layer_name + "-twin", Content={"ZipFile": data})

    assert first["Content"]["CodeSha256"] == second["Content"]["CodeSha256"]
    assert (tree_dir(server.data_dir, data) / "python" / "same.py").read_bytes() == layer_name.encode()


def test_exactly_100000_entries_are_accepted(fresh_server, client_for):
    lam = client_for(fresh_server)
    data = build_zip([file(f"f/{i:06d}") for i in range(100_000)])

    assert lam.publish_layer_version(LayerName="many", Content={"ZipFile": data})["Version"] == 1
    assert len(os.listdir(tree_dir(fresh_server.data_dir, data) / "f")) == 100_000
