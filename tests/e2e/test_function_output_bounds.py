"""A function's output costs the server a bounded amount (issue 10, item 1): output streams
to the function log as it comes, the server keeps only the 4 KB tail of an invocation, the log
is rotated at its cap, and output without newlines is cut into 256 KB events and does not hold
an invoke past its Timeout.

The module's server rotates function logs at 2 MB and keeps 3 files per function
(`--function-log-file-mb 2 --function-log-files 3`)."""

import re
import time
from pathlib import Path

import pytest

from harness import make_client
from invoke_support import deploy, fn_name, function_log, invoke, log_stem, mlam, start_module_server  # noqa: F401

LOG_FILE_MB = 2
LOG_FILES = 3
# What the server may use while a function prints 200 MB: far below the output, well above
# the server's own footprint (about 20-40 MB).
RSS_BOUND_MB = 150
# A regression (an invoke that never returns) fails here instead of hanging the suite.
CLIENT_READ_TIMEOUT_SECS = 30
LOG_WAIT_SECS = 30

NUMBERED_LINES = """
import sys

def lambda_handler(event, context):
    # Blocks of 10,000 numbered lines of 100 bytes (1 MB), written in large writes.
    for block in range(event["mb"]):
        first = block * 10_000
        sys.stdout.write("".join(f"{n:08d} {'x' * 90}\\n" for n in range(first, first + 10_000)))
    sys.stdout.flush()
    return event["mb"] * 10_000
"""

NO_NEWLINES = """
import sys

def lambda_handler(event, context):
    block = "y" * 16384
    while True:
        sys.stdout.write(block)
        sys.stdout.flush()
"""

REPORT_TIMEOUT = re.compile(r"REPORT RequestId: (\S+)\t.*\tStatus: timeout\tError Type: Sandbox\.Timedout")


@pytest.fixture(scope="module")
def module_server(request, tmp_path_factory):
    yield from start_module_server(
        request, tmp_path_factory,
        "--function-log-file-mb", str(LOG_FILE_MB), "--function-log-files", str(LOG_FILES),
    )


def status_kb(pid: int, field: str) -> int:
    """A `/proc/<pid>/status` figure (VmRSS, VmHWM) in KB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def log_files(server, name: str) -> dict[str, int]:
    """The function's log files and their sizes (a file renamed by a rotation between the
    listing and its size is left out)."""
    sizes = {}
    for path in (server.data_dir / "logs").glob(f"{log_stem(name)}.log*"):
        try:
            sizes[path.name] = path.stat().st_size
        except FileNotFoundError:
            pass
    return sizes


def test_printing_200_mb_keeps_the_server_small_and_the_log_under_its_cap(mlam, module_server, fn_name):
    deploy(mlam, fn_name, NUMBERED_LINES, Timeout=120)
    pid = module_server.proc.pid
    rss_before_kb = status_kb(pid, "VmRSS")

    out = invoke(mlam, fn_name, {"mb": 200}, LogType="Tail")

    peak_kb = status_kb(pid, "VmHWM")
    assert out.function_error is None, out.payload
    assert out.json() == 2_000_000
    assert peak_kb < RSS_BOUND_MB * 1024, f"server peak RSS {peak_kb} KB (before the invoke: {rss_before_kb} KB)"
    files = log_files(module_server, fn_name)
    stem = log_stem(fn_name)
    assert set(files) == {f"{stem}.log", *(f"{stem}.log.{n}" for n in range(1, LOG_FILES))}, files
    assert all(size <= LOG_FILE_MB << 20 for size in files.values()), files
    # The tail is the invocation's last 4 KB: its last lines, then END and REPORT.
    tail = out.log_result.split("\n")
    assert len(out.log_result.encode()) == 4096
    assert tail[-4].startswith("01999999 x")
    assert tail[-3].startswith("END RequestId: ")
    assert tail[-2].startswith("REPORT RequestId: ")


def test_logs_prints_the_rotated_part_first_and_loses_no_line_of_it(mlam, module_server, fn_name):
    deploy(mlam, fn_name, NUMBERED_LINES, Timeout=120)

    invoke(mlam, fn_name, {"mb": 10})

    lines = function_log(module_server, fn_name)
    assert lines[-2].startswith("END RequestId: ") and lines[-1].startswith("REPORT RequestId: ")
    # Whole files were dropped from the start (START with them): what is kept is one
    # unbroken run of the output's last lines.
    kept = lines[1:-2] if lines[0].startswith("START RequestId: ") else lines[:-2]
    assert all(re.fullmatch(r"\d{8} x{90}", line) for line in kept)
    numbers = [int(line[:8]) for line in kept]
    assert numbers == list(range(numbers[0], 100_000))
    # A stored line: its timestamp (28 bytes), its log stream (52), two tabs, the 100 bytes.
    assert len(numbers) > (LOG_FILES - 1) * (LOG_FILE_MB << 20) // 182


def test_output_without_newlines_ends_at_the_timeout(module_server, fn_name):
    lam = make_client(module_server.url, read_timeout=CLIENT_READ_TIMEOUT_SECS)
    deploy(lam, fn_name, NO_NEWLINES, Timeout=2)

    out = invoke(lam, fn_name, LogType="Tail")

    assert out.function_error == "Unhandled"
    assert out.json()["errorType"] == "Sandbox.Timedout", out.payload
    assert "Task timed out after 2.00 seconds" in out.log_result
    assert len(out.log_result.encode()) == 4096
    assert out.log_result.split("\n")[-2].startswith("REPORT RequestId: ")
    lines = function_log(module_server, fn_name)
    assert "Task timed out after 2.00 seconds" in lines[-3]
    assert lines[-2].startswith("END RequestId: ")
    # The output became events of at most 256 KB, never one endless line.
    output = [line for line in lines[:-3] if set(line) == {"y"}]
    assert output, lines[:3]
    assert max(len(line) for line in output) == 256 * 1024
    assert all(size <= LOG_FILE_MB << 20 for size in log_files(module_server, fn_name).values())


def test_an_event_invoke_without_newlines_ends_at_the_timeout(mlam, module_server, fn_name):
    deploy(mlam, fn_name, NO_NEWLINES, Timeout=2)

    out = mlam.invoke(FunctionName=fn_name, InvocationType="Event", Payload=b"{}")

    request_id = out["ResponseMetadata"]["RequestId"]
    deadline = time.monotonic() + LOG_WAIT_SECS
    while True:
        # The log appears when the event starts.
        logged = log_files(module_server, fn_name) and function_log(module_server, fn_name)
        reports = [m for line in logged or [] if (m := REPORT_TIMEOUT.match(line))]
        if reports or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [m.group(1) for m in reports][:1] == [request_id], f"no timeout REPORT within {LOG_WAIT_SECS} s"
