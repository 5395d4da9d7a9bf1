"""Whether an analysis runs alone on the machine, and what a worker does with that
(PITCHLINT_TORCH_ALONE): standard library only, so that start-up can check the setting
without loading PyTorch."""
from __future__ import annotations

import contextlib
import os
import struct
import threading
from pathlib import Path


class Alone:
    """Whether an analysis runs alone on this machine: no other process (a service's other
    worker, a triage worker, a CLI) is analysing at the same moment, on either runtime.

    Every analysis holds a read lock on one file while it runs (an open file description lock,
    F_OFD_SETLK: one per open of the file, so threads of one process count apart; flock where
    the system has no such locks, and `alone_now` is then always False). Before taking it, it
    asks for a write lock without waiting, which it gets only when no other analysis holds the
    file; during the analysis, `alone_now` asks again (F_OFD_GETLK, under a microsecond). A
    process that dies drops its lock. The answer is a hint for speed, never for results: two
    analyses starting together may both see themselves alone for a moment."""

    def __init__(self, path: Path | str | None = None):
        import tempfile

        self.path = Path(path or Path(tempfile.gettempdir()) / f"pitchlint-busy-{os.getuid()}")
        self._local = threading.local()

    @contextlib.contextmanager
    def analysing(self):
        """Yields True when this analysis is alone; holds the file's read lock meanwhile."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:     # no writable temporary folder: behave as if not alone
            yield False
            return
        outer = getattr(self._local, "fd", None)
        try:
            try:
                alone = _lock(fd, exclusive=True, wait=False)
                _lock(fd, exclusive=False, wait=True)     # from the write lock, or beside the others
            except OSError:     # a file system without these locks: not alone, and unseen
                alone, fd_held = False, None
            else:
                fd_held = fd
            self._local.fd = fd_held
            yield alone
        finally:
            self._local.fd = outer
            os.close(fd)

    def alone_now(self) -> bool:
        """During this thread's analysis: whether no other analysis holds the file now."""
        import fcntl

        fd = getattr(self._local, "fd", None)
        if fd is None or not hasattr(fcntl, "F_OFD_GETLK"):
            return False
        got = fcntl.fcntl(fd, fcntl.F_OFD_GETLK, _flock(fcntl.F_WRLCK))
        return struct.unpack(_FLOCK, got)[0] == fcntl.F_UNLCK


_FLOCK = "@hhqqi4x"     # struct flock on Linux: type, whence, start, len, pid (0 for OFD locks)


def _flock(kind: int) -> bytes:
    return struct.pack(_FLOCK, kind, os.SEEK_SET, 0, 0, 0)


def _lock(fd: int, exclusive: bool, wait: bool) -> bool:
    """Take (or convert to) a read or write lock on the whole file; False when `wait` is off
    and another analysis's lock stands in the way."""
    import fcntl

    try:
        if hasattr(fcntl, "F_OFD_SETLK"):
            fcntl.fcntl(fd, fcntl.F_OFD_SETLKW if wait else fcntl.F_OFD_SETLK,
                        _flock(fcntl.F_WRLCK if exclusive else fcntl.F_RDLCK))
        else:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        if wait:
            raise
        return False
    return True


ALONE_MODES = ("auto", "0")


def alone_mode() -> str:
    """PITCHLINT_TORCH_ALONE: auto (unset or empty) or 0."""
    value = os.environ.get("PITCHLINT_TORCH_ALONE", "").strip().lower() or "auto"
    if value not in ALONE_MODES:
        raise ValueError(f"PITCHLINT_TORCH_ALONE must be auto or 0, got {value!r}")
    return value
