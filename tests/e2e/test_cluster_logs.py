"""Two nodes on one PostgreSQL and one S3 store (issue 17): each registers in the node
registry, health lists both as live, and the function logs of every node are read through any
node's CloudWatch Logs operations (a function created through node A and invoked on node B shows
its START/END/REPORT lines through node A). Retention policies are shared.

Needs LAMINA_TEST_POSTGRES_URL (`scripts/postgres-test start`) and the LAMINA_TEST_S3_* variables
(`eval "$(scripts/s3-test start)"`): without them the test fails, it never skips.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from helpers import ACCOUNT
from postgres_support import database_url, secrets_key  # noqa: F401 (fixtures)
from s3_support import s3, s3_args, s3_env  # noqa: F401 (fixture)
from invoke_support import deploy, fn_name, invoke  # noqa: F401 - fn_name: a fixture
from harness import make_client

PRINTS = """
def lambda_handler(event, context):
    print("hello from", context.function_name)
    return "ok"
"""


@pytest.fixture
def cluster(start_server, database_url, secrets_key, s3):
    """Nodes A and B on the database and one S3 prefix, with the shared secrets key."""
    args = ["--database", database_url, *s3_args(s3)]
    env = {**s3_env(s3), "LAMINA_SECRETS_KEY": secrets_key}
    return start_server(*args, env=env), start_server(*args, env=env)


def health(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_lamina/health", timeout=10) as r:
        assert r.status == 200
        return json.loads(r.read())


def test_logs_of_an_invoke_on_one_node_are_read_through_the_other(cluster, aws, fn_name):
    a, b = cluster
    seen = health(a.url)
    assert seen["database"] == {"engine": "postgres", "reachable": True}
    assert seen["artifacts"] == {"store": "s3", "reachable": True}
    ids = {health(a.url)["node"]["id"], health(b.url)["node"]["id"]}
    assert {n["id"] for n in seen["nodes"] if n["live"]} == ids

    lam_a, lam_b = make_client(a.url), make_client(b.url)
    deploy(lam_a, fn_name, PRINTS)
    lam_a.get_waiter("function_active_v2").wait(FunctionName=fn_name)
    done = invoke(lam_b, fn_name)
    assert done.status == 200 and done.payload == b'"ok"'
    # The log is node B's file alone; node A holds none.
    assert (b.data_dir / "logs" / f"{ACCOUNT}.{fn_name}.log").exists()
    assert not (a.data_dir / "logs" / f"{ACCOUNT}.{fn_name}.log").exists()

    group = f"/aws/lambda/{fn_name}"
    out = aws("logs", "filter-log-events", "--log-group-name", group, "--endpoint-url", a.url)
    shown = [e["message"] for e in out["events"]]
    for kind in ("START RequestId: ", "END RequestId: ", "REPORT RequestId: "):
        assert [m for m in shown if m.startswith(kind)], shown
    assert any(m.startswith(f"hello from {fn_name}") for m in shown), shown
    streams = aws("logs", "describe-log-streams", "--log-group-name", group, "--endpoint-url", a.url)
    assert len(streams["logStreams"]) == 1

    # A retention policy set through one node is the policy of every node.
    aws("logs", "put-retention-policy", "--log-group-name", group, "--retention-in-days", "7",
        "--endpoint-url", b.url)
    groups = aws("logs", "describe-log-groups", "--log-group-name-prefix", group, "--endpoint-url", a.url)
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups["logGroups"]] == [(group, 7)]


def test_a_stopped_node_is_left_out_not_an_error(cluster, aws, fn_name):
    a, b = cluster
    lam_a, lam_b = make_client(a.url), make_client(b.url)
    deploy(lam_a, fn_name, PRINTS)
    lam_a.get_waiter("function_active_v2").wait(FunctionName=fn_name)
    invoke(lam_a, fn_name)
    invoke(lam_b, fn_name)
    group = f"/aws/lambda/{fn_name}"
    both = aws("logs", "filter-log-events", "--log-group-name", group, "--endpoint-url", a.url)
    assert len([e for e in both["events"] if e["message"].startswith("REPORT")]) == 2
    # Killed: its heartbeat stops, but it stays "live" for a few seconds; node A answers with
    # its own events meanwhile, and afterwards without calling it.
    b.kill()
    for _ in range(2):
        alone = aws("logs", "filter-log-events", "--log-group-name", group, "--endpoint-url", a.url)
        assert len([e for e in alone["events"] if e["message"].startswith("REPORT")]) == 1
        deadline = time.monotonic() + 30
        while any(n["live"] for n in health(a.url)["nodes"] if n["url"] == b.url):
            assert time.monotonic() < deadline, "the killed node stayed live"
            time.sleep(0.5)
    # Started again on its data dir, it removes what the kill left (its environments' mounts),
    # and the fixture stops it cleanly.
    b.start()
