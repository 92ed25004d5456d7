"""SnapStart runtime hooks, as AWS's ``snapshot-restore-py`` package offers them.

AWS's managed Python runtimes ship that package; Lamina's runtime ships this
module under the same name and with the same four functions, so a function
written for AWS runs unchanged.  A function or layer that bundles the real
package wins (``/var/runtime`` comes after them on ``sys.path``); the runtime
reads the hooks from whichever module user code imported.

Before a snapshot, the hooks run in the reverse order of their registration;
after each restore, in their order of registration.  Both functions return
what they were given, so they also work as decorators::

    from snapshot_restore_py import register_after_restore

    @register_after_restore
    def reconnect():
        ...
"""

_before_snapshot = []
_after_restore = []


def register_before_snapshot(func, *args, **kwargs):
    """Runs ``func(*args, **kwargs)`` right before the snapshot is taken."""
    _before_snapshot.append((func, args, kwargs))
    return func


def register_after_restore(func, *args, **kwargs):
    """Runs ``func(*args, **kwargs)`` in each environment restored from it."""
    _after_restore.append((func, args, kwargs))
    return func


def get_before_snapshot():
    """The registered before-snapshot hooks, as ``(func, args, kwargs)``."""
    return _before_snapshot


def get_after_restore():
    """The registered after-restore hooks, as ``(func, args, kwargs)``."""
    return _after_restore
