"""Directories that one user's processes share and no one else may enter: the relay's wake-up socket
and the throttle counters live in such a directory, because whoever can write there can wake the relay
or make every process of a service unpickle what they wrote."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path


def private_directory(directory: Path, *, create: bool) -> bool:
    """Whether `directory` is a real directory of this user that no one else may enter, made so
    first when `create`."""
    if create:
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=0o700)
    try:
        info = directory.lstat()
    except FileNotFoundError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077
