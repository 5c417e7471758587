"""The NAS step: mount the export on this host for a moment and prepare PV directories.

`mounted_export()` mounts `server:/export` on a fresh temporary directory with a soft mount and
a timeout, yields the mount point, and always unmounts. `ExportDirectories` creates, checks and
empties the per-PV directories below it. The mount and unmount commands come from a `Mounter`,
so tests run the same code with a bind mount of the NFS test server's export directory.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from constants import ADMIN_MOUNT_OVERRIDES, ADMIN_MOUNT_RETRANS, UNMOUNT_TIMEOUT_SECONDS

logger = logging.getLogger(__name__)


class NasError(Exception):
    """The NAS step failed; the message is fit for a status line (no secrets in it)."""


class MountTimeoutError(NasError):
    """Mounting the export took longer than mount-timeout."""


class RootSquashError(NasError):
    """The NAS refused root (EACCES/EPERM): it squashes root for this host."""


class Mounter(Protocol):
    """Mounts and unmounts the export; injected so tests can use a bind mount."""

    def mount(self, source: str, target: str, options: Sequence[str], timeout: float) -> None:
        """Mount `source` on `target` or raise NasError (MountTimeoutError on timeout)."""
        ...

    def unmount(self, target: str, timeout: float) -> None:
        """Unmount `target`; raise NasError when it stays mounted."""
        ...

    def is_mounted(self, target: str) -> bool:
        """Whether something is mounted on `target` (checked after every mount)."""
        ...


def _run(argv: Sequence[str], timeout: float, what: str) -> None:
    try:
        result = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise MountTimeoutError(f"{what} timed out after {timeout:g}s") from None
    except OSError as e:
        raise NasError(f"{what} failed: {e.strerror}") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise NasError(f"{what} failed: {detail[-1] if detail else f'exit {result.returncode}'}")


class KernelNfsMounter:
    """`mount -t nfs -o <options> server:/export <dir>` and `umount <dir>` (nfs-common)."""

    def mount(self, source: str, target: str, options: Sequence[str], timeout: float) -> None:
        """Mount the export (argument list, never a shell)."""
        _run(
            ["mount", "-t", "nfs", "-o", ",".join(options), source, target],
            timeout,
            f"mounting {source}",
        )

    def unmount(self, target: str, timeout: float) -> None:
        """Unmount; fall back to a lazy unmount so a dead NAS never leaves a hook hanging."""
        try:
            _run(["umount", target], timeout, f"unmounting {target}")
        except NasError:
            _run(["umount", "-l", target], timeout, f"lazily unmounting {target}")

    def is_mounted(self, target: str) -> bool:
        """An NFS mount is another device than its parent directory: `os.path.ismount`."""
        return os.path.ismount(target)


def admin_mount_options(share_options: Sequence[str], timeout: int) -> tuple[str, ...]:
    """The share's options with a foreground, soft, short-timeout mount (timeo in deciseconds).

    `fg` replaces a share's `bg`: with `bg` mount.nfs can exit 0 without having mounted.

    NFSv3 also gets `nolock` (unless the share says lock/nolock): creating directories needs no
    locks, and without it mount.nfs wants rpc.statd running on this host.
    """
    kept = [o for o in share_options if o.split("=", 1)[0] not in ADMIN_MOUNT_OVERRIDES]
    extra = ["rw", "fg", "soft", f"timeo={timeout * 10}", f"retrans={ADMIN_MOUNT_RETRANS}"]
    if {"nfsvers=3", "vers=3"} & set(kept) and not {"lock", "nolock"} & set(kept):
        extra.append("nolock")
    return (*kept, *extra)


@contextlib.contextmanager
def mounted_export(
    source: str, options: Sequence[str], timeout: int, mounter: Mounter
) -> Iterator[Path]:
    """Mount `server:/export` on a new temporary directory for the duration of the block."""
    mountpoint = tempfile.mkdtemp(prefix="static-pv-provisioner-")
    try:
        mounter.mount(source, mountpoint, options, timeout)
        if not mounter.is_mounted(mountpoint):
            # Never a directory in the local temporary directory instead of on the NAS.
            raise NasError(
                f"mounting {source} reported success, but nothing is mounted on {mountpoint}: "
                "no directory was touched"
            )
        try:
            yield Path(mountpoint)
        finally:
            mounter.unmount(mountpoint, UNMOUNT_TIMEOUT_SECONDS)
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(mountpoint)  # only ever removes an empty, unmounted directory


def _os_error(e: OSError, action: str, address: str) -> NasError:
    if e.errno in (errno.EACCES, errno.EPERM):
        return RootSquashError(
            f"permission denied to {action} on {address}: the NAS squashes root for this host "
            "(export it with no_root_squash for this host, or make the export writable)"
        )
    if e.errno in (errno.ETIMEDOUT, errno.EIO, errno.ESTALE):
        return NasError(f"NAS I/O error while trying to {action} on {address}: {e.strerror}")
    if e.errno == errno.ENOSPC:
        return NasError(f"no space left on {address}")
    if e.errno == errno.EROFS:
        return NasError(f"{address} is read-only")
    return NasError(f"cannot {action} on {address}: {e.strerror}")


class ExportDirectories:
    """Per-PV directories below a mounted export."""

    CREATED = "created"
    EMPTY = "empty"  # it was already there and empty: reused, mode and owner reset
    BUSY = "busy"  # not empty, or not a plain directory: never used for a new PV

    def __init__(self, root: Path, address: str, mode: int, uid: int, gid: int):
        self.root = root
        self.address = address
        self.mode = mode
        self.uid = uid
        self.gid = gid

    def _path(self, name: str) -> Path:
        if not name or "/" in name or name in (".", "..") or "\0" in name:
            raise NasError(f"refusing unsafe directory name {name!r}")
        return self.root / name

    def prepare(self, name: str) -> str:
        """Make `<export>/<name>` an empty directory with our mode and owner.

        Returns CREATED, EMPTY or BUSY. Never changes a directory that holds anything.
        """
        path = self._path(name)
        try:
            try:
                os.mkdir(path, 0o700)
                result = self.CREATED
            except FileExistsError:
                info = os.lstat(path)
                if not stat.S_ISDIR(info.st_mode) or any(os.scandir(path)):
                    return self.BUSY
                result = self.EMPTY
            os.chown(path, self.uid, self.gid)
            os.chmod(path, self.mode)
        except OSError as e:
            raise _os_error(e, f"create directory {name}", self.address) from None
        return result

    def empty(self, name: str) -> int:
        """Delete everything inside `<export>/<name>` and reset its mode and owner.

        Returns how many top-level entries were removed. Symbolic links are removed, never
        followed. A missing directory is created.
        """
        path = self._path(name)
        removed = 0
        try:
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                self.prepare(name)
                return 0
            if not stat.S_ISDIR(info.st_mode):
                raise NasError(f"{self.address}/{name} is not a directory; left alone")
            for entry in os.scandir(path):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed += 1
            os.chown(path, self.uid, self.gid)
            os.chmod(path, self.mode)
        except OSError as e:
            raise _os_error(e, f"empty directory {name}", self.address) from None
        return removed
