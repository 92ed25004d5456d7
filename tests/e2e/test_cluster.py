"""Several nodes as one Lamina (issue 17): three `lamina serve` processes sharing one PostgreSQL
database and one S3 bucket, behind HAProxy (cluster.py; README's "Running several nodes").

Any request may land on any node: the seed's flow through the balancer, a function created on
one node run on each, a thousand invokes spread over the nodes with none lost, a node SIGKILLed
amid publishes and `Event` invokes, a reservation counted across nodes, and the database or the
object store gone and back. Which node answered comes from HAProxy's `X-Lamina-Backend`; that a
node ran what it received (no forwarding) from the per-environment marker functions return.
Nothing is timed: each wait is a bounded poll on an outcome."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

import conftest
from cluster import Backing, Cluster
from function_support import fn_name  # noqa: F401 - a fixture
from harness import AwsCli, make_client
from helpers import ACCOUNT, client_error, code_sha256, http_get, raw_of
from invoke_support import deploy, deploy_recording, handler_zip, invoke
from recorder_double import Recorder
from http_double import GITHUB_ROOT
from test_seed_flow import SEED_LAYER_ARN, github, seed_dir, stand_in_environment  # noqa: F401 - fixtures
from zips import simple_zip

RESERVED_REASON = "ReservedFunctionConcurrentInvocationLimitExceeded"
# A handler that says which execution environment ran it: a marker drawn when it is loaded.
MARKER_HANDLER = """
import uuid

ENVIRONMENT = uuid.uuid4().hex

def lambda_handler(event, context):
    return {"n": event.get("n"), "environment": ENVIRONMENT}
"""
# Bounds of the polls below (never assertions on time: a poll that succeeds early ends early).
EVENTS_DEADLINE_SECS = 180
RECOVERY_DEADLINE_SECS = 90
PROGRESS_DEADLINE_SECS = 120
# How long a node may run a function's previous code after an update through another node.
STALE_DEADLINE_SECS = 30


# --- fixtures -----------------------------------------------------------------------------------


class _LogOf:
    """A log conftest's failure report can show beside the nodes' (it wants `url`, `data_dir`
    and `log_tail`)."""

    def __init__(self, name, path):
        self.url, self.data_dir, self.path = name, path.parent, path

    def log_tail(self) -> str:
        return self.path.read_text(errors="replace")[-10_000:] if self.path.exists() else ""


_clusters: list[Cluster] = []


@pytest.fixture(autouse=True)
def _report_cluster_logs():
    """On failure, conftest attaches the logs of every node and balancer of this module."""
    for c in _clusters:
        conftest._servers_of_current_test.extend(c.nodes)
        if c.balancer:
            conftest._servers_of_current_test.append(_LogOf("haproxy", c.balancer.log))
    yield


def _start_cluster(root, backing) -> Cluster:
    c = Cluster(root, backing)
    _clusters.append(c)
    return c.start()


@pytest.fixture(scope="module")
def backing():
    """scripts/test's PostgreSQL and SeaweedFS when it exported them, else ones of our own."""
    b = Backing.from_env_or_own()
    yield b
    b.close()


@pytest.fixture(scope="module")
def cluster(backing, tmp_path_factory) -> Cluster:
    c = _start_cluster(tmp_path_factory.mktemp("cluster"), backing)
    yield c
    c.stop()


@pytest.fixture(scope="module")
def own_backing():
    """A PostgreSQL and a SeaweedFS of this module alone, which its tests stop and start."""
    b = Backing.own()
    yield b
    b.close()


@pytest.fixture(scope="module")
def own_cluster(own_backing, tmp_path_factory) -> Cluster:
    c = _start_cluster(tmp_path_factory.mktemp("own-cluster"), own_backing)
    yield c
    c.stop()


@pytest.fixture(scope="module")
def recorder():
    with Recorder() as r:
        yield r


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    return AwsCli(tmp_path_factory.mktemp("aws-home"))


def active(lam, name: str) -> None:
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})


def backend_of(client) -> str:
    """The node HAProxy sent the client's last request to."""
    return raw_of(client).headers.get("x-lamina-backend", "")


def assert_service_error(client, err: ClientError) -> None:
    """AWS's ServiceException: a 5xx whose type is in `x-amzn-ErrorType`, with a `Message`."""
    status = err.response["ResponseMetadata"]["HTTPStatusCode"]
    assert 500 <= status <= 599, err.response
    assert err.response["Error"]["Code"] == "ServiceException", err.response
    raw = raw_of(client)
    assert raw.headers["x-amzn-errortype"].split(":")[0] == "ServiceException"
    body = raw.json()
    assert isinstance(body.get("Message"), str) and body["Message"], body
    assert "Type" not in body, body


def poll(what: str, attempt, deadline_secs: float):
    """`attempt()`'s first result that is not None, retried until `deadline_secs` pass; the
    last exception (or None) is shown when none came."""
    deadline = time.monotonic() + deadline_secs
    last = None
    while time.monotonic() < deadline:
        try:
            result = attempt()
            if result is not None:
                return result
        except (ClientError, BotoCoreError) as e:
            last = e
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {deadline_secs} s (last error: {last!r})")


# --- the seed's flow ------------------------------------------------------------------------------


def test_the_seed_flow_through_the_balancer(cluster, seed_dir, cli, github):
    """Each of the seed's AWS CLI steps goes through HAProxy, so may land on any node."""
    url = ["--endpoint-url", cluster.url]
    published = cli(
        "lambda", "publish-layer-version", "--layer-name", "requests-layer", "--zip-file", "fileb://layer.zip",
        "--compatible-runtimes", "python3.8", *url, cwd=seed_dir,
    )
    assert published["LayerVersionArn"] == SEED_LAYER_ARN
    cli(
        "lambda", "create-function", "--function-name", "my-function", "--runtime", "python3.11",
        "--handler", "lambda_function.lambda_handler", "--role", f"arn:aws:iam::{ACCOUNT}:role/lambda-role",
        "--zip-file", "fileb://function.zip", "--environment", stand_in_environment(github), *url, cwd=seed_dir,
    )
    cli("lambda", "wait", "function-active-v2", "--function-name", "my-function", *url)
    attached = cli(
        "lambda", "update-function-configuration", "--function-name", "my-function", "--layers", SEED_LAYER_ARN,
        *url,
    )
    assert [layer["Arn"] for layer in attached["Layers"]] == [SEED_LAYER_ARN]
    cli("lambda", "wait", "function-updated-v2", "--function-name", "my-function", *url)

    # Round-robin: six invokes through the balancer reach every node twice.
    for i in range(6):
        out = cli("lambda", "invoke", "--function-name", "my-function", *url, str(seed_dir / f"r{i}.json"))
        assert out["StatusCode"] == 200 and "FunctionError" not in out, (seed_dir / f"r{i}.json").read_text()
        assert json.loads((seed_dir / f"r{i}.json").read_text()) == {"statusCode": 200, "body": GITHUB_ROOT}
    # And each node, asked directly, runs it with the layer it never received itself.
    for node in cluster.nodes:
        out = cli("lambda", "invoke", "--function-name", "my-function", "--endpoint-url", node.url,
                  str(seed_dir / "direct.json"))
        assert "FunctionError" not in out, (seed_dir / "direct.json").read_text()
        assert json.loads((seed_dir / "direct.json").read_text()) == {"statusCode": 200, "body": GITHUB_ROOT}
    layer_zip = (seed_dir / "layer.zip").read_bytes()
    assert http_get(published["Content"]["Location"]).body == layer_zip


def test_a_function_created_through_one_node_runs_on_each(cluster, fn_name):
    first = make_client(cluster.nodes[0].url)
    deploy(first, fn_name, MARKER_HANDLER)
    active(first, fn_name)

    environments = set()
    for i, node in enumerate(cluster.nodes):
        answer = invoke(make_client(node.url), fn_name, {"n": i})
        assert answer.status == 200 and answer.function_error is None, answer.payload
        assert answer.json()["n"] == i
        environments.add(answer.json()["environment"])
    # Each node ran it in an environment of its own.
    assert len(environments) == len(cluster.nodes)
    # Each node byte-compiles the code for its later cold starts: node 1 while settling it, the
    # others at their first cold start (which finds no bytecode beside the fetched tree).
    digest = base64.b64decode(first.get_function_configuration(FunctionName=fn_name)["CodeSha256"]).hex()
    for node in cluster.nodes:
        sidecar = node.data_dir / "bytecode" / "sha256" / digest[:2] / digest / "python3.11"
        poll(f"the bytecode at {sidecar}", lambda p=sidecar: True if p.is_dir() else None, 60)


def test_an_update_through_one_node_is_what_every_node_then_runs(cluster, fn_name):
    first = make_client(cluster.nodes[0].url)
    deploy(first, fn_name, "def lambda_handler(event, context):\n    return 1\n")
    active(first, fn_name)
    # Every node runs (and so has resolved) the first code.
    for node in cluster.nodes:
        assert invoke(make_client(node.url), fn_name).json() == 1

    second = make_client(cluster.nodes[1].url)
    second.update_function_code(
        FunctionName=fn_name, ZipFile=handler_zip("def lambda_handler(event, context):\n    return 2\n"),
    )
    second.get_waiter("function_updated_v2").wait(FunctionName=fn_name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    # A node may run the previous code briefly, as on AWS, but not for long.
    for node in cluster.nodes:
        client = make_client(node.url)
        poll(f"the updated code run by {node.url}",
             lambda c=client: True if invoke(c, fn_name).json() == 2 else None, STALE_DEADLINE_SECS)


def test_a_thousand_invokes_spread_over_the_nodes_none_lost(cluster, fn_name):
    lam = make_client(cluster.url)
    deploy(lam, fn_name, MARKER_HANDLER)
    active(lam, fn_name)
    local = threading.local()

    def one(n: int):
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = make_client(cluster.url)
        out = client.invoke(FunctionName=fn_name, Payload=json.dumps({"n": n}).encode())
        return n, out["StatusCode"], out.get("FunctionError"), raw_of(client).json(), backend_of(client)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(1000)))

    assert len(results) == 1000
    for n, status, function_error, payload, _backend in results:
        assert (status, function_error, payload["n"]) == (200, None, n), payload
    served = Counter(backend for *_, backend in results)
    assert set(served) == {cluster.node_name(i) for i in range(3)}, served
    assert all(count > 0 for count in served.values()), served
    # An environment answered through one node only: the node that received an invoke ran it.
    nodes_of_environment = defaultdict(set)
    for *_, payload, backend in results:
        nodes_of_environment[payload["environment"]].add(backend)
    assert all(len(nodes) == 1 for nodes in nodes_of_environment.values()), nodes_of_environment


# --- a node killed ----------------------------------------------------------------------------------


def _connection_failure(e: BaseException) -> bool:
    """A failure a client sees when the node it talks to dies: the connection refused, reset or
    closed mid-answer (never a read timeout: a dead node's sockets close at once)."""
    return isinstance(e, BotoCoreError) and not isinstance(e, ReadTimeoutError)


def test_a_node_killed_amid_publishes_and_events_loses_nothing_acknowledged(request, cluster, recorder, fn_name):
    victim = 1
    survivor = make_client(cluster.nodes[0].url)
    lam = make_client(cluster.url)
    layer = f"killed-{uuid.uuid4().hex[:8]}"
    events_fn, held_fn = fn_name + "-ev", fn_name + "-held"
    tag = f"events-{uuid.uuid4().hex[:8]}"
    deploy_recording(lam, events_fn, recorder, f"""
        from recorder_client import record

        def lambda_handler(event, context):
            record("{tag}", event["id"])
            return event["id"]
    """)
    gate = f"gate-{held_fn}"
    deploy_recording(lam, held_fn, recorder, f"""
        from recorder_client import record, wait_gate

        def lambda_handler(event, context):
            record("{held_fn}", event)
            wait_gate("{gate}")
            return {{"n": event["n"]}}
    """)
    active(lam, events_fn)
    active(lam, held_fn)

    # Two synchronous invokes held running on the node about to die.
    held_outcomes: list = []

    def held(n: int) -> None:
        client = make_client(cluster.nodes[victim].url)
        try:
            held_outcomes.append(("answer", invoke(client, held_fn, {"n": n})))
        except ClientError as e:
            held_outcomes.append(("error", e.response["ResponseMetadata"]["HTTPStatusCode"]))
        except BaseException as e:  # noqa: BLE001 - classified below
            held_outcomes.append(("exception", e))

    held_threads = [threading.Thread(target=held, args=(n,)) for n in range(2)]
    for t in held_threads:
        t.start()

    stop = threading.Event()
    lock = threading.Lock()
    acked: dict[int, str] = {}  # layer version -> CodeSha256 its 201 gave
    duplicate_versions: list[int] = []
    accepted: list[str] = []
    refused: list[str] = []  # what a client got instead of success: must all be 5xx/connection

    def classify(e: BaseException) -> str:
        if isinstance(e, ClientError):
            status = e.response["ResponseMetadata"]["HTTPStatusCode"]
            return "ok" if 500 <= status <= 599 else f"bad: {status} {e.response['Error']}"
        return "ok" if _connection_failure(e) else f"bad: {e!r}"

    def publisher(k: int) -> None:
        client = make_client(cluster.url)
        i = 0
        while not stop.is_set():
            data = simple_zip({"python/mod.py": f"WHO = '{k}-{i}'\n".encode()})
            i += 1
            try:
                out = client.publish_layer_version(LayerName=layer, Content={"ZipFile": data})
            except (ClientError, BotoCoreError) as e:
                with lock:
                    refused.append(f"publish: {classify(e)}")
                continue
            assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
            assert out["Content"]["CodeSha256"] == code_sha256(data)
            with lock:
                if out["Version"] in acked:
                    duplicate_versions.append(out["Version"])
                acked[out["Version"]] = out["Content"]["CodeSha256"]

    def eventer(k: int) -> None:
        client = make_client(cluster.url)
        i = 0
        while not stop.is_set():
            event_id = f"{k}-{i}"
            i += 1
            try:
                out = client.invoke(FunctionName=events_fn, InvocationType="Event",
                                    Payload=json.dumps({"id": event_id}).encode())
            except (ClientError, BotoCoreError) as e:
                with lock:
                    refused.append(f"event: {classify(e)}")
                continue
            assert out["StatusCode"] == 202
            with lock:
                accepted.append(event_id)

    workers = [threading.Thread(target=publisher, args=(k,)) for k in range(2)]
    workers += [threading.Thread(target=eventer, args=(k,)) for k in range(2)]
    try:
        recorder.wait_for(held_fn, 2, timeout=PROGRESS_DEADLINE_SECS)
        for t in workers:
            t.start()

        def progressed(publishes: int, events: int):
            with lock:
                return True if len(acked) >= publishes and len(accepted) >= events else None

        poll("publishes and events before the kill", lambda: progressed(6, 30), PROGRESS_DEADLINE_SECS)
        cluster.kill(victim)
        with lock:
            at_kill = (len(acked), len(accepted))
        # The other nodes keep serving: publishes and events go on being acknowledged.
        poll("publishes and events after the kill",
             lambda: progressed(at_kill[0] + 6, at_kill[1] + 30), PROGRESS_DEADLINE_SECS)
    finally:
        stop.set()
        for t in workers:
            t.join(timeout=180)
        recorder.open_gate(gate)
        for t in held_threads:
            t.join(timeout=180)
        # Whatever failed here, the module's later tests get every node back.
        request.addfinalizer(cluster.revive)

    # The invokes in flight on the killed node failed at their client, cleanly.
    assert len(held_outcomes) == 2
    for kind, what in held_outcomes:
        assert (kind == "error" and 500 <= what <= 599) or (kind == "exception" and _connection_failure(what)), \
            (kind, what)
    assert [r for r in refused if "bad" in r] == []
    assert duplicate_versions == []

    # No acknowledged publish is missing, as another node lists them.
    listed = {}
    for page in survivor.get_paginator("list_layer_versions").paginate(LayerName=layer):
        for v in page["LayerVersions"]:
            listed[v["Version"]] = v
    missing = sorted(set(acked) - set(listed))
    assert missing == [], f"acknowledged versions not listed: {missing}"
    for version, sha in acked.items():
        got = survivor.get_layer_version(LayerName=layer, VersionNumber=version)
        assert got["Content"]["CodeSha256"] == sha

    # Every accepted event runs, the ones the killed node had taken included, while it is down.
    def missing_events() -> list[str]:
        ran = {json.loads(body) for body in recorder.records(tag)}
        return sorted(set(accepted) - ran)

    try:
        poll("every accepted event recorded", lambda: True if not missing_events() else None, EVENTS_DEADLINE_SECS)
        missing_while_down = []
    except AssertionError:
        missing_while_down = missing_events()

    # The node restarts and serves again, directly and through the balancer.
    cluster.restart(victim)
    answer = invoke(make_client(cluster.nodes[victim].url), events_fn, {"id": "after-restart"})
    assert answer.json() == "after-restart"
    through = make_client(cluster.url)
    backends = set()
    for i in range(2 * len(cluster.nodes)):
        assert invoke(through, events_fn, {"id": f"rejoined-{i}"}).json() == f"rejoined-{i}"
        backends.add(backend_of(through))
    assert cluster.node_name(victim) in backends, backends

    if missing_while_down:
        try:
            poll("the rest once the node is back", lambda: True if not missing_events() else None,
                 EVENTS_DEADLINE_SECS)
            after = "all of them ran once it was back"
        except AssertionError:
            after = f"{len(missing_events())} never ran even once it was back"
        pytest.fail(f"{len(missing_while_down)} of {len(accepted)} accepted events did not run while "
                    f"node{victim + 1} was down ({missing_while_down[:20]}); {after}")


# --- reserved concurrency -------------------------------------------------------------------------


def test_a_reservation_is_counted_across_nodes(cluster, recorder, fn_name):
    lam = make_client(cluster.url)
    gate = f"gate-{fn_name}"
    deploy_recording(lam, fn_name, recorder, f"""
        from recorder_client import record, wait_gate

        def lambda_handler(event, context):
            record("{fn_name}", event)
            return wait_gate("{gate}")
    """)
    active(lam, fn_name)
    lam.put_function_concurrency(FunctionName=fn_name, ReservedConcurrentExecutions=2)

    held = []
    threads = [
        threading.Thread(target=lambda i=i: held.append(invoke(make_client(cluster.nodes[i].url), fn_name, {"on": i})))
        for i in (0, 1)
    ]
    for t in threads:
        t.start()
    try:
        recorder.wait_for(fn_name, 2, timeout=PROGRESS_DEADLINE_SECS)
        # Two run, one on each of two nodes: the third node throttles a third.
        third = make_client(cluster.nodes[2].url)
        err = client_error(invoke, third, fn_name, {"on": 2})
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert err.response["Error"]["Code"] == "TooManyRequestsException"
        raw = raw_of(third)
        assert raw.headers["x-amzn-errortype"].split(":")[0] == "TooManyRequestsException"
        assert raw.json() == {"Type": "User", "message": "Rate Exceeded.", "Reason": RESERVED_REASON}
    finally:
        recorder.open_gate(gate)
        for t in threads:
            t.join(timeout=180)
    assert [h.json() for h in held] == [True, True]
    # Once they ended, any node runs it again.
    assert invoke(make_client(cluster.nodes[2].url), fn_name, {"on": 2}).json() is True


# --- the database and the object store gone and back --------------------------------------------


def _each_target(c: Cluster) -> list[str]:
    return [c.url] + [node.url for node in c.nodes]


def _concurrently(calls) -> list:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def _service_error_of(target: str, call) -> None:
    client = make_client(target)
    err = client_error(call, client)
    assert_service_error(client, err)


def test_an_unreachable_database_gives_service_errors_until_it_returns(own_cluster, own_backing, fn_name):
    lam = make_client(own_cluster.url)
    deploy(lam, fn_name, MARKER_HANDLER)
    active(lam, fn_name)
    layer_zip = simple_zip({"python/mod.py": b"X = 1\n"})

    own_backing.postgres.stop()
    try:
        calls = []
        for target in _each_target(own_cluster):
            calls.append(lambda t=target: _service_error_of(t, lambda c: c.list_functions()))
            calls.append(lambda t=target: _service_error_of(t, lambda c: c.get_function(FunctionName=fn_name)))
            calls.append(lambda t=target: _service_error_of(
                t, lambda c: c.publish_layer_version(LayerName=fn_name, Content={"ZipFile": layer_zip})))
        _concurrently(calls)
    finally:
        own_backing.postgres.start()

    # Back: every node (and the balancer) answers again, reads and writes.
    for target in _each_target(own_cluster):
        client = make_client(target)
        poll(f"ListFunctions through {target}",
             lambda: client.list_functions()["Functions"] or None, RECOVERY_DEADLINE_SECS)
        assert client.get_function(FunctionName=fn_name)["Configuration"]["FunctionName"] == fn_name
    published = poll("a publish after the database returned",
                     lambda: lam.publish_layer_version(LayerName=fn_name, Content={"ZipFile": layer_zip}),
                     RECOVERY_DEADLINE_SECS)
    assert published["Version"] == 1
    assert invoke(lam, fn_name, {"n": 1}).json()["n"] == 1


def test_an_unreachable_object_store_fails_publishes_until_it_returns(own_cluster, own_backing, fn_name):
    lam = make_client(own_cluster.url)
    layer_zip = simple_zip({"python/mod.py": f"X = '{fn_name}'\n".encode()})

    own_backing.seaweed.stop()
    try:
        _concurrently([
            lambda t=target: _service_error_of(
                t, lambda c: c.publish_layer_version(LayerName=fn_name, Content={"ZipFile": layer_zip}))
            for target in _each_target(own_cluster)
        ])
        # Nothing half-published: the failed publishes left no version behind.
        assert make_client(own_cluster.nodes[0].url).list_layer_versions(LayerName=fn_name)["LayerVersions"] == []
    finally:
        own_backing.seaweed.start()

    published = poll("a publish after the store returned",
                     lambda: lam.publish_layer_version(LayerName=fn_name, Content={"ZipFile": layer_zip}),
                     RECOVERY_DEADLINE_SECS)
    assert published["Version"] == 1
    assert http_get(published["Content"]["Location"]).body == layer_zip
    for node in own_cluster.nodes:
        poll(f"a publish through {node.url}",
             lambda n=node: make_client(n.url).publish_layer_version(LayerName=fn_name, Content={"ZipFile": layer_zip}),
             RECOVERY_DEADLINE_SECS)
