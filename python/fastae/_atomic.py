"""Replacing a file so that a crash at any moment leaves the old file or the new one, never a mix.

The new content goes to a temporary file in the target's folder, named for the target and the
writing process (``.<name>.fastae-<pid>-<random>.tmp``); it is flushed and fsync'ed, renamed over
the target, and the folder is fsync'ed so that the rename itself survives a power cut. A process
killed mid-write leaves its temporary file behind: the next save to the same target removes
every such file whose process no longer runs. A symlink is written through (its target is
replaced, the link kept); anything that is not a regular file (a device, a folder, a FIFO) is
refused. A new file gets the permissions the umask gives; a replaced file keeps its own.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from typing import Any, Callable, IO

__all__ = ["replace_file"]

_TMP_SUFFIX = ".tmp"


def _tmp_prefix(target: str) -> str:
    return f".{os.path.basename(target)}.fastae-"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def _remove_stale(target: str) -> None:
    """Deletes temporary files of earlier saves to `target` whose process has died."""
    folder, prefix = os.path.dirname(target), _tmp_prefix(target)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(_TMP_SUFFIX)):
            continue
        pid_text = name[len(prefix):-len(_TMP_SUFFIX)].split("-", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _process_alive(int(pid_text)):
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # e.g. Windows, where folders cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def replace_file(path: Any, write: Callable[[IO[bytes]], None], what: str = "path") -> str:
    """Writes a file through write(f) and puts it at `path` atomically; returns the path written
    (the symlink's target when `path` is a symlink). `what` names the argument in errors."""
    target = os.path.realpath(os.fspath(path))
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device, FIFO or socket)"
        raise ValueError(f"{what}: {os.fspath(path)} is {kind}; fastae only replaces regular files")
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{what}: folder {folder} does not exist")
    _remove_stale(target)
    tmp = os.path.join(folder, f"{_tmp_prefix(target)}{os.getpid()}-{secrets.token_hex(4)}{_TMP_SUFFIX}")
    permissions = 0o666 if mode is None else stat.S_IMODE(mode)  # the umask applies to a new file
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), permissions)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.chmod(tmp, permissions)  # exactly the old file's bits, whatever the umask
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(folder)
    return target
