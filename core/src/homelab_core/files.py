"""Read a host file named by a config option, safely (plain data, no ops).

A charm runs as root: a path option must never make a hook hang (a FIFO), exhaust memory
(`/dev/zero`), follow a symbolic link into another file, or read a directory or a device. The
rules: an absolute path without '.' or '..' components, of letters, digits and . _ - + @ ~ : /
only, at most PATH_MAX characters; opened with O_NONBLOCK|O_NOFOLLOW (a FIFO opens at once and a
link is refused), fstat must say a regular file of at most `max_bytes`, the read is bounded, the
text UTF-8. Every message names the option and the path, never the file's content.
"""

from __future__ import annotations

import os
import re
import stat

PATH_MAX = 4096
MAX_FILE_BYTES = 1 << 20  # 1 MiB: far more than any kubeconfig
_PATH_CHARS = re.compile(r"[A-Za-z0-9._+@~:/-]+")
_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISLNK, "a symbolic link"),
)


class FileReadError(ValueError):
    """The file cannot be used; `missing` when it does not exist (it may appear later)."""

    def __init__(self, message: str, missing: bool = False):
        super().__init__(message)
        self.missing = missing


def path_problem(path: str) -> str | None:
    """Why `path` is not an acceptable host path option (None: fine); follows the option name."""
    if not isinstance(path, str):
        return "must be a string"
    if len(path) > PATH_MAX:
        return f"must be at most {PATH_MAX} characters"
    if not _PATH_CHARS.fullmatch(path):
        return "may only contain letters, digits and . _ - + @ ~ : /"
    if not path.startswith("/"):
        return "must be an absolute path"
    if any(part in (".", "..") for part in path.split("/")):
        return "must not contain '.' or '..' components"
    return None


def _kind(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def read_text(option: str, path: str, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of the regular file `path` named by `option` (FileReadError otherwise)."""
    problem = path_problem(path)
    if problem:
        raise FileReadError(f"{option} {problem}")
    where = f"{option} {path}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise FileReadError(f"{where} does not exist", missing=True) from None
    except OSError as e:
        if e.errno == 40:  # ELOOP: the last component is a symbolic link (O_NOFOLLOW)
            raise FileReadError(f"{where}: not a regular file (a symbolic link)") from None
        raise FileReadError(f"{where}: cannot be read ({e.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileReadError(f"{where}: not a regular file ({_kind(info.st_mode)})")
        if info.st_size > max_bytes:
            raise FileReadError(f"{where}: larger than {max_bytes} bytes")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise FileReadError(f"{where}: larger than {max_bytes} bytes")
    except OSError as e:
        raise FileReadError(f"{where}: cannot be read ({e.strerror})") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise FileReadError(f"{where}: not UTF-8 text") from None
