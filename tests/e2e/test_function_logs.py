"""A function's log as `lamina logs FUNCTION --data-dir DIR` prints it (spec §8 log lines):
START, the handler's output, END and REPORT for each invoke, `Init Duration` only when the
environment was cold."""

import math
import re
import subprocess

from harness import LAMINA_BIN
from invoke_support import deploy, fn_name, function_log, invoke, lamina_logs_env, log_stem, mlam  # noqa: F401

PRINTS = """
import sys

def lambda_handler(event, context):
    print("printed to stdout", event["n"])
    print("printed to stderr", event["n"], file=sys.stderr)
    return event["n"]
"""
REPORT_RE = re.compile(
    r"REPORT RequestId: (?P<id>\S+)\tDuration: (?P<duration>\d+\.\d\d) ms\tBilled Duration: (?P<billed>\d+) ms\t"
    r"Memory Size: (?P<memory>\d+) MB\tMax Memory Used: (?P<used>\d+) MB\t"
    r"(Init Duration: (?P<init>\d+\.\d\d) ms\t)?"
)


def invocations(lines):
    """The log cut into invocations: lists of lines from START to REPORT."""
    found, current = [], None
    for line in lines:
        if line.startswith("START RequestId: "):
            current = [line]
        elif current is not None:
            current.append(line)
            if line.startswith("REPORT RequestId: "):
                found.append(current)
                current = None
    return found


def test_each_invoke_logs_start_output_end_and_report(mlam, module_server, fn_name):
    deploy(mlam, fn_name, PRINTS)

    invoke(mlam, fn_name, {"n": 1})
    invoke(mlam, fn_name, {"n": 2})

    runs = invocations(function_log(module_server, fn_name))
    assert len(runs) == 2
    for n, run in enumerate(runs, start=1):
        request_id = run[0].split()[2]
        assert run[0] == f"START RequestId: {request_id} Version: $LATEST"
        assert f"printed to stdout {n}" in run
        assert f"printed to stderr {n}" in run
        assert run[-2] == f"END RequestId: {request_id}"
        assert REPORT_RE.match(run[-1]).group("id") == request_id


def test_report_has_durations_and_memory(mlam, module_server, fn_name):
    deploy(mlam, fn_name, PRINTS, MemorySize=256)

    invoke(mlam, fn_name, {"n": 1})

    report = REPORT_RE.match(invocations(function_log(module_server, fn_name))[0][-1])
    assert report, invocations(function_log(module_server, fn_name))
    assert int(report["billed"]) == max(1, math.ceil(float(report["duration"])))
    assert report["memory"] == "256"
    assert int(report["used"]) >= 1


def test_init_duration_is_reported_on_the_cold_invoke_only(mlam, module_server, fn_name):
    deploy(mlam, fn_name, PRINTS)

    invoke(mlam, fn_name, {"n": 1})
    invoke(mlam, fn_name, {"n": 2})

    cold, warm = (REPORT_RE.match(run[-1]) for run in invocations(function_log(module_server, fn_name)))
    assert cold["init"] is not None and float(cold["init"]) > 0
    assert warm["init"] is None
    assert "Init Duration" not in warm.string


def test_the_log_is_the_file_under_the_data_dir(mlam, module_server, fn_name):
    deploy(mlam, fn_name, PRINTS)

    invoke(mlam, fn_name, {"n": 1})

    text = (module_server.data_dir / "logs" / f"{log_stem(fn_name)}.log").read_text()
    # Each line: its timestamp, its environment's log stream, its text.
    assert [line.split("\t", 2)[2] for line in text.split("\n")[:-1]] == function_log(module_server, fn_name)


def test_logs_of_a_function_without_a_log_is_an_error(module_server, fn_name):
    result = subprocess.run(
        [str(LAMINA_BIN), "logs", fn_name, "--endpoint-url", module_server.url],
        capture_output=True, text=True, timeout=30, env=lamina_logs_env(),
    )

    assert result.returncode != 0
    assert f"no log for {fn_name}" in result.stderr
