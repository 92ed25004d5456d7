"""The outside world, as functions see it: a network namespace of the test session's own,
routed like the internet. Test doubles that functions call (the recorder, the stand-in for
api.github.com) listen there, not on the host's loopback, which a function on its private
network (`--function-network isolated`, the default where it works) cannot reach.

    host (this process)  198.51.100.<4k+1>  <-- veth -->  198.51.100.<4k+2>  the outside namespace

198.51.100.0/24 is TEST-NET-2 (RFC 5737): never routed on the internet, so no real host is
shadowed. Each test run takes a /30 of it (slot k, held by a lock file for the life of the
process), so test runs on one machine at once never share an address. The host reaches the
outside address over the veth; a function on its private network reaches it through the
server's bridge and NAT (the outside sees the host side's address as the client), and one on
the host's network directly.

A double's listening socket is made on a helper thread that joins the namespace first
(`setns` changes the network namespace of the calling thread only); the socket stays in the
namespace it was made in, so the double's state and threads stay in this process. One
namespace serves the whole session, made at first use and removed at its end
(`close_world`, called by conftest)."""

from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import socketserver
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, TypeVar

CLONE_NEWNET = 0x40000000
SLOTS = 64
SLOT_LOCKS = "/run/lock"


def _take_slot() -> tuple[int, object]:
    """The first /30 slot no other live test run holds, and the open lock file that holds it
    (kept open for the life of the process: the lock goes with it, even on SIGKILL)."""
    for slot in range(SLOTS):
        lock = open(f"{SLOT_LOCKS}/lamina-test-outside-{slot}.lock", "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return slot, lock
        except BlockingIOError:
            lock.close()
    raise RuntimeError(f"all {SLOTS} outside slots are held by running test sessions")


_SLOT, _SLOT_LOCK = _take_slot()
HOST_SIDE_ADDRESS = f"198.51.100.{4 * _SLOT + 1}"
OUTSIDE_ADDRESS = f"198.51.100.{4 * _SLOT + 2}"
PREFIX = 30

T = TypeVar("T")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _remove_stale_outsides() -> None:
    """Deletes the outside namespaces of test runs that were killed before their session ended:
    their veth could hold the host address this run takes, so traffic to the outside could go
    to a namespace where nothing listens any more (connection refused)."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in listed.splitlines():
        name = line.split()[0] if line.split() else ""
        pid = name.removeprefix("lamina-test-outside-")
        if name.startswith("lamina-test-outside-") and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


class Outside:
    """One outside namespace: `name` under /run/netns, `address` its address."""

    def __init__(self):
        _remove_stale_outsides()
        self.name = f"lamina-test-outside-{os.getpid()}"
        self.address = OUTSIDE_ADDRESS
        self._veth = f"lto{os.getpid() % 100000}"
        _ip("netns", "add", self.name)
        try:
            _ip("link", "add", self._veth, "type", "veth", "peer", "name", "eth0", "netns", self.name)
            _ip("addr", "add", f"{HOST_SIDE_ADDRESS}/{PREFIX}", "dev", self._veth)
            _ip("link", "set", self._veth, "up")
            _ip("-n", self.name, "addr", "add", f"{OUTSIDE_ADDRESS}/{PREFIX}", "dev", "eth0")
            _ip("-n", self.name, "link", "set", "eth0", "up")
            _ip("-n", self.name, "link", "set", "lo", "up")
            # Answers go back to the host, which forwards those for the environments (NAT).
            _ip("-n", self.name, "route", "add", "default", "via", HOST_SIDE_ADDRESS)
        except BaseException:
            self.close()
            raise

    def run_inside(self, make: Callable[[], T]) -> T:
        """`make()`'s result, called on a thread joined to this namespace: sockets it
        creates live there."""
        result: dict = {}

        def inside():
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                with open(f"/run/netns/{self.name}") as ns:
                    if libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
                        errno = ctypes.get_errno()
                        raise OSError(errno, f"setns into {self.name}: {os.strerror(errno)}")
                result["value"] = make()
            except BaseException as e:  # handed to the caller's thread
                result["error"] = e

        thread = threading.Thread(target=inside, name="outside-namespace")
        thread.start()
        thread.join()
        if "error" in result:
            raise result["error"]
        return result["value"]

    def http_server(
        self, handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None,
    ) -> "OutsideHTTPServer":
        """An HTTP server listening at this namespace's address (a free port), serving on a
        thread of this process, HTTPS with `tls`; stop it with `shutdown()` and
        `server_close()`."""
        server = self.run_inside(lambda: OutsideHTTPServer((self.address, 0), handler))
        server.tls = tls
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def close(self) -> None:
        # The veth goes with the namespace.
        subprocess.run(["ip", "netns", "del", self.name], check=False, capture_output=True)


class OutsideHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server for the outside namespace; HTTPS when `tls` is set."""

    daemon_threads = True
    tls: ssl.SSLContext | None = None

    def get_request(self):
        sock, address = super().get_request()
        if self.tls:
            # The handshake happens at the first read, on the request's own thread, so a
            # client that never sends one holds up no other.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def server_bind(self):
        # Without TCP_NODELAY each small response waits ~40 ms on Nagle's algorithm.
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Not HTTPServer's own: it looks its address up in DNS, which the outside cannot reach.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.server_address[0]}:{self.server_address[1]}"


_world: Outside | None = None
_world_lock = threading.Lock()


def world() -> Outside:
    """The session's outside namespace, made at first use."""
    global _world
    with _world_lock:
        if _world is None:
            _world = Outside()
        return _world


def close_world() -> None:
    """Removes the session's outside namespace, if one was made."""
    global _world
    with _world_lock:
        if _world is not None:
            _world.close()
            _world = None
