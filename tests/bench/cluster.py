"""One node against three behind HAProxy, and ZIPs in S3 against ZIPs in the data directory (run
by scripts/bench-cluster, with LAMINA_BIN naming the release build).

`invoke`: the same warm load (INVOKES synchronous invokes of a trivial python3.11 function from
    CLIENTS threads, each with its own client) against one node alone on SQLite (the baseline:
    no cluster accounting), one node of the cluster directly (what sharing PostgreSQL costs:
    each invoke takes and gives back its place in the cluster's concurrency count), then the
    three nodes through HAProxy (what the balancer and the spreading add). Each target is
    warmed first with CLIENTS concurrent invokes, so every measured invoke is warm.
`publish`: PUBLISHES publish-layer-version calls of distinct ~1 MB layers (incompressible, so
    the ZIP is ~1 MB) from PUBLISH_CLIENTS threads, against one node with `--artifacts s3://`
    (the cluster's node 1) and one with `--artifacts local`, both on PostgreSQL.

Prints p50/p99 latency and throughput of each, and each ratio against the baseline measured in
the same run (one node; local ZIPs). The clients run on the same machine as the servers and take
their share of its CPUs."""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from cluster import Backing, Cluster  # noqa: E402
from harness import LaminaServer, make_client  # noqa: E402

INVOKES = int(os.environ.get("BENCH_INVOKES", "2000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
PUBLISHES = int(os.environ.get("BENCH_PUBLISHES", "50"))
PUBLISH_CLIENTS = int(os.environ.get("BENCH_PUBLISH_CLIENTS", "4"))
LAYER_BYTES = 1 << 20
ROLE = "arn:aws:iam::123456789012:role/lambda-role"


def function_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("lambda_function.py", "def lambda_handler(event, context):\n    return 1\n")
    return buf.getvalue()


def layer_zip(i: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("python/blob.bin", os.urandom(LAYER_BYTES))
        z.writestr("python/which.py", f"WHICH = {i}\n")
    return buf.getvalue()


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def measure(url: str, calls: int, clients: int, call) -> dict:
    """Runs `call(client, i)` `calls` times from `clients` threads against `url`: latencies in ms,
    throughput in calls/s. Any failure stops the bench."""
    local = threading.local()

    def one(i: int) -> float:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = make_client(url)
        start = time.perf_counter()
        call(client, i)
        return (time.perf_counter() - start) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        latencies = sorted(pool.map(one, range(calls)))
    elapsed = time.perf_counter() - started
    return {"p50": percentile(latencies, 0.50), "p99": percentile(latencies, 0.99), "rate": calls / elapsed}


def line(name: str, m: dict, base: dict | None, unit: str) -> str:
    text = f"    {name:34s} p50 {m['p50']:7.1f} ms   p99 {m['p99']:7.1f} ms   {m['rate']:7.1f} {unit}/s"
    if base is not None:
        text += (f"   ratio to the baseline: p50 {m['p50'] / base['p50']:4.2f}  p99 {m['p99'] / base['p99']:4.2f}"
                 f"  throughput {m['rate'] / base['rate']:4.2f}")
    return text


def invoke_once(client, _i: int) -> None:
    out = client.invoke(FunctionName="bench", Payload=b"{}")
    if out["StatusCode"] != 200 or "FunctionError" in out:
        raise RuntimeError(f"invoke failed: {out}")


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="lamina-bench-cluster."))
    backing = Backing.from_env_or_own()
    cluster = local_node = database = None
    try:
        (root / "cluster").mkdir()
        cluster = Cluster(root / "cluster", backing)
        cluster.start()
        lam = make_client(cluster.url)
        lam.create_function(FunctionName="bench", Runtime="python3.11", Role=ROLE,
                            Handler="lambda_function.lambda_handler", Code={"ZipFile": function_zip()})
        lam.get_waiter("function_active_v2").wait(FunctionName="bench")

        print(f"invoke: {INVOKES} warm invokes of a trivial python3.11 function, {CLIENTS} clients", flush=True)
        # One node alone on SQLite: no cluster accounting (no concurrency places, no node
        # registry reads), the cost a single-machine user pays.
        standalone = LaminaServer(root / "sqlite", root / "sqlite.log", [])
        standalone.start()
        try:
            alone = make_client(standalone.url)
            alone.create_function(FunctionName="bench", Runtime="python3.11", Role=ROLE,
                                  Handler="lambda_function.lambda_handler", Code={"ZipFile": function_zip()})
            alone.get_waiter("function_active_v2").wait(FunctionName="bench")
            measure(standalone.url, CLIENTS * 4, CLIENTS, invoke_once)  # warm-up
            sqlite_node = measure(standalone.url, INVOKES, CLIENTS, invoke_once)
        finally:
            standalone.stop()
        print(line("1 node alone on SQLite (baseline)", sqlite_node, None, "invokes"), flush=True)
        single = cluster.nodes[0].url
        measure(single, CLIENTS * 4, CLIENTS, invoke_once)  # warm-up
        one_node = measure(single, INVOKES, CLIENTS, invoke_once)
        print(line("1 node of the cluster, direct", one_node, sqlite_node, "invokes"), flush=True)
        measure(cluster.url, CLIENTS * 4, CLIENTS, invoke_once)  # warm-up of every node
        three = measure(cluster.url, INVOKES, CLIENTS, invoke_once)
        print(line("3 nodes behind HAProxy", three, sqlite_node, "invokes"), flush=True)
        print(line("  (against 1 node of the cluster)", three, one_node, "invokes"), flush=True)

        # A node with its ZIPs in its data directory, on a database of its own.
        database, url = backing.create_database()
        local_node = LaminaServer(root / "local", root / "local.log", ["--artifacts", "local"],
                                  env={**cluster.env, "LAMINA_DATABASE_URL": url})
        local_node.start()
        zips = [layer_zip(i) for i in range(2 * PUBLISHES)]

        def publisher(offset: int):
            def publish(client, i: int) -> None:
                out = client.publish_layer_version(LayerName="bench-layer", Content={"ZipFile": zips[offset + i]})
                if out["ResponseMetadata"]["HTTPStatusCode"] != 201:
                    raise RuntimeError(f"publish failed: {out}")
            return publish

        print(f"publish: {PUBLISHES} publish-layer-version of distinct {len(zips[0]) / 1e6:.2f} MB ZIPs, "
              f"{PUBLISH_CLIENTS} clients, one node on PostgreSQL", flush=True)
        local = measure(local_node.url, PUBLISHES, PUBLISH_CLIENTS, publisher(0))
        print(line("--artifacts local (baseline)", local, None, "publishes"), flush=True)
        s3 = measure(single, PUBLISHES, PUBLISH_CLIENTS, publisher(PUBLISHES))
        print(line("--artifacts s3:// (SeaweedFS)", s3, local, "publishes"), flush=True)
    finally:
        if local_node:
            local_node.stop()
        if database:
            backing.drop_database(database)
        if cluster:
            cluster.stop()
        backing.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
