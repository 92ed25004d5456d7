"""Access keys shared by the nodes of a cluster (issue 17): with `--database postgres://...`
the accounts and keys live in PostgreSQL, sealed under the LAMINA_SECRETS_KEY every node is
given, so a key created with `lamina account keys create --database ...` works through any
node, and once revoked is refused by every node within the documented refresh bound
(KEY_REFRESH_INTERVAL, 1 s, plus one read of the table: crates/lamina/src/shared_key_cache.rs).

Needs the PostgreSQL server named by LAMINA_TEST_POSTGRES_URL
(`export LAMINA_TEST_POSTGRES_URL="$(scripts/postgres-test start)"`); without it every test
here fails. Each test gets a database of its own on that server.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from harness import LAMINA_BIN, LaminaServer, make_client
from cluster import psql
from postgres_support import database_url, secrets_key  # noqa: F401 (fixtures)

# How long a revoked key may take to be refused everywhere before the test fails: the
# documented bound is about a second; this leaves room for a loaded 2-core machine.
REVOCATION_POLL_LIMIT_SECS = 20
POLL_PAUSE_SECS = 0.1


def lamina(*args: str, env: dict[str, str | None]) -> subprocess.CompletedProcess:
    full = {**os.environ}
    for key, value in env.items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    return subprocess.run([str(LAMINA_BIN), *args], capture_output=True, text=True, timeout=120, env=full)


def refused(node: LaminaServer, key: dict) -> bool:
    client = make_client(node.url, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    try:
        client.list_functions()
        return False
    except ClientError as e:
        assert e.response["Error"]["Code"] == "UnrecognizedClientException", e.response
        return True


def test_a_key_created_on_the_cluster_works_on_every_node_until_revoked(
    start_server, database_url, secrets_key
):
    env = {"LAMINA_SECRETS_KEY": secrets_key}
    nodes = [start_server("--database", database_url, env=env) for _ in range(2)]
    # Both nodes were given the tests' root key; the second found it stored.
    for node in nodes:
        make_client(node.url).list_functions()

    created = lamina("--output", "json", "account", "keys", "create", "--database", database_url, env=env)
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert key["AccountId"] == "123456789012"
    # Works at once through both nodes: a key a node does not know makes it re-read.
    for node in nodes:
        client = make_client(node.url, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        assert client.list_functions()["Functions"] == []

    listed = lamina("--output", "json", "account", "keys", "list", "--database", database_url, env=env)
    assert listed.returncode == 0, listed.stderr
    ids = [k["AccessKeyId"] for k in json.loads(listed.stdout)["AccessKeys"]]
    assert key["AccessKeyId"] in ids
    # No node wrote a key file of its own.
    for node in nodes:
        assert not (node.data_dir / "access-keys.json").exists()

    revoked = lamina("account", "keys", "revoke", key["AccessKeyId"], "--database", database_url, env=env)
    assert revoked.returncode == 0, revoked.stderr
    deadline = time.monotonic() + REVOCATION_POLL_LIMIT_SECS
    pending = list(nodes)
    while pending and time.monotonic() < deadline:
        pending = [node for node in pending if not refused(node, key)]
        if pending:
            time.sleep(POLL_PAUSE_SECS)
    assert not pending, f"the revoked key still works on {[n.url for n in pending]}"
    # The root key was not touched.
    for node in nodes:
        make_client(node.url).list_functions()


def test_nodes_starting_together_share_one_generated_root_key(tmp_path, database_url, secrets_key):
    env = {
        "LAMINA_SECRETS_KEY": secrets_key,
        "LAMINA_ROOT_ACCESS_KEY_ID": None,
        "LAMINA_ROOT_SECRET_ACCESS_KEY": None,
    }
    nodes = [
        LaminaServer(tmp_path / f"data{i}", tmp_path / f"lamina{i}.log", ["--database", database_url], env=env)
        for i in range(2)
    ]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(LaminaServer.start, nodes))
        logs = [node.log_tail() for node in nodes]
        printed = [
            m for log in logs
            for m in re.finditer(r"export AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)", log)
        ]
        assert len(printed) == 1, logs
        access_key, secret_key = printed[0].groups()
        # The other node found the key the first created, and says so without its secret.
        assert sum(f"root access key {access_key} (secret encrypted" in log for log in logs) == 1, logs
        for node in nodes:
            make_client(node.url, access_key=access_key, secret_key=secret_key).list_functions()
        listed = lamina("--output", "json", "account", "keys", "list", "--database", database_url, env=env)
        assert listed.returncode == 0, listed.stderr
        roots = [k for k in json.loads(listed.stdout)["AccessKeys"] if k["Root"]]
        assert [k["AccessKeyId"] for k in roots] == [access_key]
    finally:
        for node in nodes:
            node.stop()


def test_a_node_without_the_cluster_secrets_key_refuses_to_start(tmp_path, start_server, database_url, secrets_key):
    start_server("--database", database_url, env={"LAMINA_SECRETS_KEY": secrets_key})
    serve = ["serve", "--listen", "127.0.0.1:0", "--database", database_url]

    missing = lamina(*serve, "--data-dir", str(tmp_path / "missing"), env={"LAMINA_SECRETS_KEY": None})
    assert missing.returncode != 0
    assert "LAMINA_SECRETS_KEY is not set" in missing.stderr, missing.stderr
    cli = lamina("account", "keys", "list", "--database", database_url, env={"LAMINA_SECRETS_KEY": None})
    assert cli.returncode != 0
    assert "LAMINA_SECRETS_KEY is not set" in cli.stderr, cli.stderr

    other_key = base64.b64encode(os.urandom(32)).decode()
    wrong = lamina(*serve, "--data-dir", str(tmp_path / "wrong"), env={"LAMINA_SECRETS_KEY": other_key})
    assert wrong.returncode != 0
    assert "does not decrypt with LAMINA_SECRETS_KEY" in wrong.stderr, wrong.stderr
    assert other_key not in wrong.stderr and secrets_key not in wrong.stderr


def test_a_node_without_the_secrets_key_leaves_the_database_untouched(tmp_path, database_url):
    refused = lamina("serve", "--listen", "127.0.0.1:0", "--database", database_url,
                     "--data-dir", str(tmp_path / "data"), env={"LAMINA_SECRETS_KEY": None})
    assert refused.returncode != 0
    assert "LAMINA_SECRETS_KEY is not set" in refused.stderr, refused.stderr
    # Refused before it connected: no schema was created.
    assert psql(database_url, "SELECT count(*) FROM pg_tables WHERE tablename = 'lamina_schema'").strip() == "0"
