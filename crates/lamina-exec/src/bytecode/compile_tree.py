# Byte-compiles one extracted tree into a sidecar tree: for every `d/m.py` of the tree,
# `d/__pycache__/m.<tag>.pyc` under OUT, as unchecked-hash `.pyc` (valid whatever the file
# times). Lamina runs it as `pythonX.Y -I -S - TREE OUT SHARD SHARDS SERVER_PID`, this program
# on standard input; the process compiles the sources whose position in the sorted list is
# SHARD modulo SHARDS, so several can share the work. It reads the tree and writes under OUT
# only, and dies with the server (which a SIGKILL would otherwise leave writing in a scratch
# directory that the next start has already swept).
#
# A source that does not compile (a syntax error, a version's grammar, a file it cannot read)
# gets the tree's own `.pyc` at that path when it has one, else a `.pyc` no interpreter
# accepts (a wrong magic number): either way the import does what it would without the
# sidecar, and no sidecar of a layer lower in `/opt` can show through for that source.
# Prints `compiled N failed M` at the end.
import importlib.util
import os
import py_compile
import shutil
import sys
import warnings

# Never a valid header: CPython reads the source instead.
NEVER_VALID = b"\0\0\0\0" + b"\0" * 12


def sources(tree):
    found = []
    # Symlinked directories are not walked (as compileall), nor `__pycache__` ones.
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        rel = os.path.relpath(dirpath, tree)
        cache = os.path.join(dirpath, "__pycache__")
        if os.path.lexists(cache) and not os.path.isdir(cache):
            # A file named __pycache__: no interpreter can cache here.
            continue
        for name in sorted(filenames):
            if name.endswith(".py"):
                found.append(os.path.normpath(os.path.join(rel, name)))
    return found


def die_with(server_pid):
    try:
        import ctypes
        import signal

        # PR_SET_PDEATHSIG: killed when the thread that started this process ends.
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except Exception:
        pass
    if os.getppid() != server_pid:
        # The server ended before the signal was asked for.
        sys.exit(1)


def main(tree, out, shard, shards):
    os.umask(0o022)
    try:
        os.nice(10)
    except OSError:
        pass
    try:
        import resource

        limit = 2 << 30
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    sys.pycache_prefix = None
    # SyntaxWarnings of the tree's sources are theirs to show when they run, not ours.
    warnings.simplefilter("ignore")
    compiled = failed = 0
    for n, rel in enumerate(sources(tree)):
        if n % shards != shard:
            continue
        cached = importlib.util.cache_from_source(rel)
        target = os.path.join(out, cached)
        try:
            py_compile.compile(
                os.path.join(tree, rel),
                cfile=target,
                dfile=rel,
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            compiled += 1
            continue
        except Exception:
            failed += 1
        os.makedirs(os.path.dirname(target), exist_ok=True)
        own = os.path.join(tree, cached)
        if os.path.isfile(own):
            shutil.copyfile(own, target)
        else:
            with open(target, "wb") as f:
                f.write(NEVER_VALID)
    print("compiled", compiled, "failed", failed)


die_with(int(sys.argv[5]))
main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
