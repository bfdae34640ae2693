"""When a host last sent a wake-up on a channel: one slot shared by the host's processes.

Every writer process has its own `Waker` (infrastructure/store/event_store.py), which sends
at most one NOTIFY per `MIN_INTERVAL_S` for the appends it committed meanwhile. With eight
writer processes on a host that is up to eight NOTIFY transactions (each with an xid) per
interval, about one per command at the append bench's rates: a fifth of a writer's CPU
(bench/README.md, the write path). One NOTIFY wakes every listener of the channel, whoever
sent it, so a NOTIFY that *started* after an append committed covers that append too: the
listeners' next read, taken after the NOTIFY commits, sees it. This slot lets a host's
wakers share them:

- `claim(upto)` is asked with the time (`time.monotonic()`, one clock for every process of
  a Linux host) of a waker's latest committed append. If a wake-up from this host started
  after it, the append is covered: None, send nothing. If one started less than the
  interval ago, the seconds to wait before asking again (another process may cover it
  meanwhile). Otherwise the slot is claimed (set to now) and the caller sends.
- The slot is 8 bytes of a file in /dev/shm (a temp dir elsewhere), read and written under
  the file's `flock`: a few microseconds, in the waker's thread, never the command's.

What it risks is what a lost NOTIFY risks already: if the process that claimed fails to
send (a dead connection, killed between claim and send), the others' appends are seen at
the subscriptions' next timed re-read (`GaplessSubscription.REREAD_S`) instead of at once.
A slot that cannot be opened (another user's file, no `fcntl`) is not used: each process
then wakes for itself, as before. A time in the slot later than now (a file left from
before a reboot, where the clock restarted) is ignored.

Files do not pile up: each process holds a shared POSIX lock on the slot's file while it
uses it, and at exit (or `close`) the last one out — the one whose exclusive lock is then
granted at once — removes the file; opening a slot also removes this user's files no
process holds (left by processes that ended without running `atexit`: killed, or
`os._exit` as test workers do). A process that opens a file in the instant it is removed
keeps an unlinked copy and the next ones a new file: two groups that each share their own
wake-ups, never a wake-up lost. POSIX locks are the process's, so two slots of one file in
one process share one lock: closing one may remove the file the other still uses (the
same split, nothing lost). A forked child opens its own slot (`pid`) and never touches its
parent's."""

from __future__ import annotations

import atexit
import hashlib
import logging
import mmap
import os
import struct
import tempfile
import threading
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # not on this platform: each process wakes for itself
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

_SLOT = struct.Struct("d")  # the monotonic time the last wake-up was claimed


def _slot_dir() -> Path:
    # A file of our own (0600, our uid in its name, not followed through a link, checked
    # to be ours): another user can neither read nor silence our wake-ups.
    shm = Path("/dev/shm")  # noqa: S108
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    return Path(tempfile.gettempdir())


class HostWakeSlot:
    """The time this host's processes last claimed a wake-up on one channel."""

    def __init__(self, key: str, interval_s: float):
        self.interval_s = interval_s
        self.pid = os.getpid()
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        self.path = _slot_dir() / f"{_prefix()}{digest}"
        _remove_unused(self.path)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            status = os.fstat(fd)
            if status.st_uid != os.getuid() or status.st_mode & 0o077:
                raise OSError(f"{self.path} is not this user's own file")
            if status.st_size < _SLOT.size:
                os.ftruncate(fd, _SLOT.size)
            self._map: mmap.mmap | None = mmap.mmap(fd, _SLOT.size)
            fcntl.lockf(fd, fcntl.LOCK_SH)  # in use: see the module's docstring
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._guard = threading.Lock()  # `close` at exit while the waker's thread claims
        _OPENED.add(self)

    @classmethod
    def open(cls, key: str, interval_s: float) -> HostWakeSlot | None:
        """The slot for `key`, or None where it cannot be shared (each waker then sends
        its own wake-ups)."""
        if fcntl is None:
            return None
        try:
            return cls(key, interval_s)
        except OSError as error:
            log.debug("wake-ups not shared across processes: %s", error)
            return None

    def claim(self, upto: float) -> float | None:
        """None: a wake-up that started after `upto` was sent (or is being sent) from this
        host. 0.0: claimed, send it now. Otherwise: seconds to wait before asking again."""
        with self._guard:
            if self._map is None:
                return 0.0  # closed (the process is exiting): send alone
            return self._claim(self._map, upto)

    def _claim(self, slot: mmap.mmap, upto: float) -> float | None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            now = time.monotonic()
            (last,) = _SLOT.unpack_from(slot)
            if last > now:  # not this boot's clock
                last = 0.0
            if last >= upto:
                return None
            wait = last + self.interval_s - now
            if wait > 0:
                return wait
            _SLOT.pack_into(slot, 0, now)
            return 0.0
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Stop using the slot; the last process out removes its file."""
        with self._guard:
            if self._map is None:
                return
            _OPENED.discard(self)
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.path.unlink(missing_ok=True)  # nobody else holds it
            except OSError:
                pass  # another process still uses it: it removes the file
            finally:
                self._map.close()
                self._map = None
                os.close(self._fd)


_OPENED: set[HostWakeSlot] = set()
if hasattr(os, "register_at_fork"):  # the parent's slots are the parent's
    os.register_at_fork(after_in_child=_OPENED.clear)


def _prefix() -> str:
    return f"ecovarejo-wake-{os.getuid()}-"


def _remove_unused(keep: Path) -> None:
    """Remove this user's slot files that no process holds (but `keep`): the ones left by
    processes that ended without `atexit`. This process's own are skipped: its POSIX locks
    never conflict with each other, so they would look unheld."""
    directory = keep.parent
    own = {slot.path for slot in list(_OPENED)}
    try:
        names = [n for n in os.listdir(directory) if n.startswith(_prefix())]
    except OSError:
        return
    for name in names:
        path = directory / name
        if path == keep or path in own:
            continue
        try:
            fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_uid == os.getuid():
                path.unlink(missing_ok=True)
        except OSError:
            pass  # in use
        finally:
            os.close(fd)


@atexit.register
def _close_opened() -> None:
    for slot in list(_OPENED):
        slot.close()
