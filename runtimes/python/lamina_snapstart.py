"""SnapStart in Lamina's Python runtime: the template, and each copy restored from it.

Lamina takes no memory image.  When a version with SnapStart is published, one
environment runs the function's Init and then, instead of asking for events,
becomes a *template*: a process that holds the initialised interpreter and
waits on a control socket (``_LAMINA_TEMPLATE_FD``).  Each cold start of that
version asks the template for a copy; the template forks, and the copy (the
*restored* runtime) leaves the template's environment for a new one of its own
before any user code runs again:

1. it tells the server ``hello`` on the channel the request brought (the
   server learns the copy's process id from the message's credentials), moves
   into new user, mount, PID, network, IPC and UTS namespaces, and says
   ``unshared``;
2. the server maps the new environment's uid and gid in the copy's user
   namespace, moves the copy into the environment's cgroup, brings up the
   environment's network (its Runtime API at 127.0.0.1:9001) in the copy's
   network namespace, and answers ``go`` with what the environment needs;
3. the copy attaches its ``/tmp`` (a mount the server made, holding a copy of
   the template's, as a snapshot holds the disk), takes the environment's
   output pipes, and
   forks the environment's PID 1, which mounts its own ``/proc``, becomes the
   environment's uid and gid, drops every capability, stacks Lamina's full
   seccomp filter and forks the runtime; PID 1 then reaps, and reports the
   runtime's end on the environment's report pipe as the jail's keeper does.

The runtime then re-seeds ``random``, runs the after-restore hooks and asks for
its first event: the time until then is the REPORT line's Restore Duration.
"""

import ctypes
import json
import os
import random
import signal
import socket
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACES = (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET
              | CLONE_NEWIPC | CLONE_NEWUTS)

MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
PR_SET_PDEATHSIG = 1
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2
CAPABILITY_VERSION_3 = 0x20080522
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
SYS_MOVE_MOUNT = 429  # the same on every architecture (a call added after the unification)
AT_FDCWD = -100
MOVE_MOUNT_F_EMPTY_PATH = 0x00000004

ERR_BEFORE_SNAPSHOT = "Runtime.BeforeSnapshotError"
ERR_AFTER_RESTORE = "Runtime.AfterRestoreError"

# Resolved while the template is made, so a restore loads nothing.
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                        ctypes.c_ulong, ctypes.c_char_p]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong, ctypes.c_ulong]
_libc.unshare.argtypes = [ctypes.c_int]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class HookError(Exception):
    """A runtime hook raised: ``error_type`` names the phase, as awslambdaric does."""

    def __init__(self, error_type, cause):
        Exception.__init__(self, str(cause))
        self.error_type = error_type
        self.cause = cause


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def _hooks():
    """The hooks user code registered (AWS's package, or the runtime's own copy)."""
    module = sys.modules.get("snapshot_restore_py")
    if module is None:
        return [], []
    return list(module.get_before_snapshot()), list(module.get_after_restore())


def run_before_snapshot():
    before, _ = _hooks()
    for func, args, kwargs in reversed(before):
        try:
            func(*args, **kwargs)
        except Exception as err:
            raise HookError(ERR_BEFORE_SNAPSHOT, err)


def run_after_restore():
    _, after = _hooks()
    for func, args, kwargs in after:
        try:
            func(*args, **kwargs)
        except Exception as err:
            raise HookError(ERR_AFTER_RESTORE, err)


def serve(control_fd):
    """Becomes the template: says ``ready``, then forks a copy per request.  Returns
    only in a copy, once it runs in its own environment; the template itself exits
    when the server closes the control socket."""
    control = socket.socket(fileno=control_fd)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    control.send(b"ready")
    # Copies end in environments of their own; the template never waits for them.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 64, 3)
        except OSError:
            os._exit(0)
        if not message or len(fds) != 3:
            os._exit(0)
        if os.fork() != 0:
            for fd in fds:
                os.close(fd)
            continue
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        control.close()
        _restore(*fds)
        return


def _restore(channel_fd, output_fd, report_fd):
    channel = socket.socket(fileno=channel_fd)
    channel.send(b"hello")
    _check(_libc.unshare(NAMESPACES), "unshare")
    channel.send(b"unshared")
    message, fds, _, _ = socket.recv_fds(channel, 1 << 20, 1)
    go = json.loads(message.decode("utf-8"))
    uid = go["uid"]
    # The environment's own /tmp (the server made it, with what the template's held).
    _check(_libc.syscall(SYS_MOVE_MOUNT, fds[0], b"", AT_FDCWD, b"/tmp",
                         MOVE_MOUNT_F_EMPTY_PATH), "attach /tmp")
    os.close(fds[0])
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    os.close(output_fd)
    pid1 = os.fork()
    if pid1 != 0:
        # Outside the new PID namespace: the server's handle on the environment.
        channel.close()
        os.close(report_fd)
        os.waitpid(pid1, 0)
        os._exit(0)
    # PID 1 of the environment.
    _check(_libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                       None), "mount /proc")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    # It dies with the process the server holds (after the uid change, which clears it).
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _drop_capabilities()
    _install_filters(bytes.fromhex(go["seccomp"]))
    runtime = os.fork()
    if runtime != 0:
        channel.close()
        _reap(runtime, report_fd)
    os.close(report_fd)
    channel.close()
    os.environ.update(go["env"])
    # The template's generator state is in every copy: each gets its own, as AWS advises.
    random.seed()


def _reap(runtime, report_fd):
    """Reaps until the runtime exits, then reports its wait status and ends the
    environment (PID 1's exit kills every process left in it)."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            status = 0
            break
        if pid == runtime:
            break
    try:
        os.write(report_fd, struct.pack("<Bi", 0, status))
    except OSError:
        pass
    os._exit(0)


def _drop_capabilities():
    for cap in range(64):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    number = SYS_CAPSET.get(os.uname().machine)
    if number is None:
        raise OSError("no capset call number for %s" % os.uname().machine)
    _check(_libc.syscall(number, ctypes.byref(header), data), "capset")


def _install_filters(encoded):
    """Stacks the programs Lamina's jail installs (``SeccompFilters::to_bytes``)."""
    offset = 0
    while offset < len(encoded):
        (count,) = struct.unpack_from("<H", encoded, offset)
        offset += 2
        size = count * 8
        program = ctypes.create_string_buffer(encoded[offset:offset + size], size)
        offset += size
        fprog = _SockFprog(count, ctypes.addressof(program))
        _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
                           ctypes.addressof(fprog), 0, 0), "seccomp")
