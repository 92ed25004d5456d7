"""Cold-start benchmark: process spawn -> first ``GET .../invocation/next``.

    python3 runtimes/python/bench_startup.py [--runs 30] [--python /usr/bin/python3]
                                             [--ric-python /tmp/ric/bin/python]

For each runtime it spawns the process ``--runs`` times against a one-shot
fake Runtime API (a plain listening socket, no threads) and takes the time
from just before spawning to the moment the complete GET request has been
read; the runtime is then answered 500 and reaped.  ``python -c pass`` is
timed to its exit, as the floor.  Prints medians and minima in ms.
"""

import argparse
import os
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BOOTSTRAP = os.path.join(HERE, "bootstrap.py")
ANSWER = (b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
          b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")


def time_to_next(cmd, env, cwd, listener):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    ready, _, _ = select.select([listener], [], [], 30)
    if not ready:
        proc.kill()
        raise RuntimeError("no connection from %r" % (cmd,))
    conn, _ = listener.accept()
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    elapsed = time.perf_counter() - start
    if not data.startswith(b"GET ") or b"/runtime/invocation/next" not in data.split(b"\r\n")[0]:
        raise RuntimeError("unexpected first request %r" % (data[:200],))
    conn.sendall(ANSWER)
    conn.close()
    proc.wait(30)
    return elapsed * 1000


def time_to_exit(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    default_python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else (
        shutil.which("python3"))
    parser.add_argument("--python", default=default_python)
    parser.add_argument("--ric-python", default=os.environ.get("LAMINA_RIC_PYTHON"))
    args = parser.parse_args()
    python = os.path.realpath(args.python)

    task = tempfile.mkdtemp(prefix="lamina-bench-")
    with open(os.path.join(task, "app.py"), "w") as f:
        f.write("def handler(event, context):\n    return event\n")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("PYTHON"))
    env.update({
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % port,
        "_HANDLER": "app.handler", "LAMBDA_TASK_ROOT": task,
        "AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
    })

    cases = [("%s -c pass (to exit)" % python, None, [python, "-c", "pass"])]
    cases.append(("lamina bootstrap.py (script: compiled every start)", env,
                  [python, BOOTSTRAP]))
    # The fast-start layout: the same file as <dir>/__main__.py with its .pyc.
    fast = tempfile.mkdtemp(prefix="lamina-bench-rt-")
    shutil.copy(BOOTSTRAP, os.path.join(fast, "__main__.py"))
    subprocess.check_call([python, "-m", "compileall", "-q", fast])
    cases.append(("lamina `python3 DIR` (__main__.py + .pyc)", env, [python, fast]))
    # Two files: a 3-line script that imports this file as a module (.pyc),
    # the "stub" layout of README.md.
    shutil.copy(BOOTSTRAP, os.path.join(fast, "lamina_bootstrap.py"))
    with open(os.path.join(fast, "stub.py"), "w") as f:
        f.write("import sys\nfrom lamina_bootstrap import main\nmain(sys.argv)\n")
    subprocess.check_call([python, "-m", "compileall", "-q", fast])
    cases.append(("lamina stub script + module .pyc", env,
                  [python, os.path.join(fast, "stub.py")]))
    if args.ric_python:
        ric = args.ric_python
        cases.append(("awslambdaric (%s -m awslambdaric)" % ric, env,
                      [ric, "-m", "awslambdaric", "app.handler"]))
        site = subprocess.check_output([ric, "-c", (
            "import awslambdaric, os; "
            "print(os.path.dirname(os.path.dirname(awslambdaric.__file__)))")]).decode().strip()
        ric_env = dict(env, PYTHONPATH=site)
        cases.append(("awslambdaric (%s, PYTHONPATH=site-packages)" % python, ric_env,
                      [python, "-m", "awslambdaric", "app.handler"]))

    for _ in range(3):  # warm the page cache and the .pyc files
        for _, case_env, cmd in cases:
            if case_env is None:
                time_to_exit(cmd)
            else:
                time_to_next(cmd, case_env, task, listener)

    samples = dict((name, []) for name, _, _ in cases)
    for _ in range(args.runs):  # interleaved, so drift hits every case alike
        for name, case_env, cmd in cases:
            if case_env is None:
                samples[name].append(time_to_exit(cmd))
            else:
                samples[name].append(time_to_next(cmd, case_env, task, listener))
    print("%d runs each, %s" % (args.runs, sys.platform))
    for name, _, _ in cases:
        values = samples[name]
        print("%-70s median %6.2f ms   min %6.2f ms" % (
            name, statistics.median(values), min(values)))
    listener.close()
    shutil.rmtree(task, ignore_errors=True)
    shutil.rmtree(fast, ignore_errors=True)


if __name__ == "__main__":
    main()
