"""`GET /_lamina/health` of a single node (issue 17): besides what the node runs with, it names
the node (the id kept in `<data>/node-id`, its URL, its start), the database and the artifact
store with whether they answer, and the cluster's nodes with whether they are live.
"""

from __future__ import annotations

import json
import urllib.request


def health(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(f"{url}/_lamina/health", timeout=10) as r:
        return r.status, json.loads(r.read())


def test_a_single_node_reports_sqlite_local_and_its_id(fresh_server):
    status, body = health(fresh_server.url)
    assert status == 200
    assert body["status"] == "ok"
    node_id = (fresh_server.data_dir / "node-id").read_text().strip()
    assert body["node"]["id"] == node_id
    assert body["node"]["url"] == fresh_server.url
    assert body["node"]["startedMillis"] > 0
    assert body["database"] == {"engine": "sqlite", "reachable": True}
    assert body["artifacts"] == {"store": "local", "reachable": True}
    assert [(n["id"], n["url"], n["live"]) for n in body["nodes"]] == [(node_id, fresh_server.url, True)]
    # What health reported before is still there.
    for key in ("version", "isolation", "auth", "functionNetwork", "provisionedEnvironments"):
        assert key in body, key


def test_the_node_id_survives_a_restart(start_server, tmp_path):
    first = start_server(data_dir=tmp_path / "kept")
    _, before = health(first.url)
    first.stop()
    again = start_server(data_dir=tmp_path / "kept")
    _, after = health(again.url)
    assert after["node"]["id"] == before["node"]["id"]
    # The restarted node replaced its row: one node, live, at its new address.
    assert [(n["id"], n["url"], n["live"]) for n in after["nodes"]] == [(before["node"]["id"], again.url, True)]
