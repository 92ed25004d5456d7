"""Cold starts while environments live and churn (run by scripts/bench-cold-drift).

`live`: rounds of 8 new functions (each cold start's REPORT `Init Duration`), their
    environments kept, then 24 more kept alive, up to about 150 (the server's descriptor share
    per environment bounds how many it runs under this machine's open-file limit).
`churn SECONDS`: three clients start new functions' environments without pause, each reaped 2 s
    after its invoke (cgroups created and removed all along), while a probe measures cold
    starts of new functions; medians per window of 10.
Each phase's medians are printed against its first step, the same run's baseline."""

import base64
import io
import sys
import threading
import time
import uuid
import zipfile

import boto3
from botocore.config import Config

URL, PHASE = sys.argv[1], sys.argv[2]
RUN = uuid.uuid4().hex[:4]


def client():
    return boto3.client(
        "lambda", endpoint_url=URL, region_name="us-east-1", aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"max_attempts": 8, "mode": "standard"}, max_pool_connections=20),
    )


def code():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


CODE = code()


def cold_start(lam, name):
    """Creates `name` and invokes it once: its Init Duration in ms."""
    lam.create_function(
        FunctionName=name, Runtime="python3.12", Role="arn:aws:iam::123456789012:role/r",
        Handler="app.handler", Code={"ZipFile": CODE},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    out = lam.invoke(FunctionName=name, LogType="Tail")
    log = base64.b64decode(out["LogResult"]).decode()
    report = next(line for line in log.splitlines() if line.startswith("REPORT "))
    return float(report.split("Init Duration: ")[1].split(" ms")[0])


def median(values):
    return sorted(values)[len(values) // 2]


def wait_for_server(lam):
    deadline = time.time() + 30
    while True:
        try:
            lam.list_functions()
            return
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def live_phase(lam):
    print("(a) cold start (Init Duration p50 of 8) as live environments grow")
    live, baseline = 0, None
    for step in range(5):
        inits = [cold_start(lam, f"l{RUN}-{step}-{i}") for i in range(8)]
        live += 8
        p50 = median(inits)
        baseline = baseline or p50
        print(f"    {live:4d} live environments: p50 {p50:6.1f} ms   ratio to the first {p50 / baseline:4.2f}",
              flush=True)
        for i in range(24):
            cold_start(lam, f"k{RUN}-{step}-{i}")
        live += 24


def churn_phase(lam, seconds):
    print(f"(b) cold start (Init Duration p50 of 10) while 3 clients start other environments, each "
          f"reaped after 2 s idle, {seconds:.0f} s (4 cold starts at once on this machine's cores)")
    stop = time.time() + seconds
    churned = [0]

    def churn(k):
        other = client()
        i = 0
        while time.time() < stop:
            cold_start(other, f"c{RUN}-{k}-{i}")
            i += 1
            churned[0] += 1

    threads = [threading.Thread(target=churn, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    windows, window, i = [], [], 0
    while time.time() < stop:
        window.append(cold_start(lam, f"p{RUN}-{i}"))
        i += 1
        if len(window) == 10:
            windows.append((churned[0], median(window)))
            window = []
    for t in threads:
        t.join()
    baseline = windows[0][1]
    shown = windows if len(windows) <= 8 else windows[:: max(1, len(windows) // 8)]
    if shown[-1] is not windows[-1]:
        shown.append(windows[-1])
    for count, p50 in shown:
        print(f"    after {count:5d} environments started and reaped: p50 {p50:6.1f} ms   "
              f"ratio to the first window {p50 / baseline:4.2f}", flush=True)


def main():
    lam = client()
    wait_for_server(lam)
    if PHASE == "live":
        live_phase(lam)
    else:
        churn_phase(lam, float(sys.argv[3]))


main()
