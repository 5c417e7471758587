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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import marker
from constants import (
    ADMIN_MOUNT_OVERRIDES,
    ADMIN_MOUNT_RETRANS,
    MARKER_DIR,
    MARKER_MAX_BYTES,
    MARKER_SUFFIX,
    UNMOUNT_TIMEOUT_SECONDS,
    VERIFY_PROBE,
)

if TYPE_CHECKING:
    from config import CharmConfig
    from pool import Target

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


@contextlib.contextmanager
def open_export(
    target: Target, cfg: CharmConfig, pool: marker.PoolId, mounter: Mounter
) -> Iterator[ExportDirectories]:
    """Mount the target's export (admin options, mount-timeout) and yield its directories."""
    server = f"[{target.server}]" if ":" in target.server else target.server  # IPv6
    options = admin_mount_options(target.mount_options, cfg.mount_timeout)
    source = f"{server}:{target.export}"
    with mounted_export(source, options, cfg.mount_timeout, mounter) as root:
        yield ExportDirectories(root, target.address, cfg.mode, cfg.uid, cfg.gid, pool=pool)


# The NAS-side fix for a squashed root, per product (the setting names of their NFS rules).
SQUASH_FIX = (
    'on the NAS, stop squashing root for this host (Synology: NFS rule Squash "No mapping"; '
    "TrueNAS: share Maproot User root; Linux: no_root_squash in /etc/exports)"
)


def world_writable(mode: int) -> bool:
    """Whether every uid may create entries in a directory of this mode (o+w and o+x)."""
    return mode & 0o003 == 0o003


@dataclass(frozen=True)
class Ownership:
    """What the NAS made of one PV directory's owner and mode (plain data, for status/actions).

    `took`: the owner is the one asked for. `squashed`: it is not (root's chown was refused or
    not applied: the NAS squashes root). `usable`: workloads of any uid can write anyway, because
    the mode asked for is world-writable and the NAS applied it.
    """

    name: str
    wanted_owner: tuple[int, int]
    owner: tuple[int, int]
    wanted_mode: int
    mode: int
    chown_refused: bool = False

    @property
    def took(self) -> bool:
        """The owner is the one asked for and the mode took."""
        return self.owner == self.wanted_owner and self.mode == self.wanted_mode

    @property
    def squashed(self) -> bool:
        """Root's chown was refused or not applied: the NAS squashes root for this host."""
        return self.chown_refused or self.owner != self.wanted_owner

    @property
    def usable(self) -> bool:
        """The directory is as asked, or world-writable as asked (any uid can write)."""
        return self.took or (self.mode == self.wanted_mode and world_writable(self.mode))

    def as_dict(self) -> dict[str, str | bool]:
        """For action results (`list-volumes`): every value a string or a bool."""
        return {
            "directory": self.name,
            "owner": "{}:{}".format(*self.owner),
            "mode": f"{self.mode:04o}",
            "wanted-owner": "{}:{}".format(*self.wanted_owner),
            "wanted-mode": f"{self.wanted_mode:04o}",
            "root-squashed": self.squashed,
            "writable-by-any-uid": world_writable(self.mode),
        }

    def note(self) -> str:
        """One status note for a squashed but usable directory ("" when root is not squashed)."""
        if not self.squashed:
            return ""
        return (
            "the NAS squashes root: new PV directories are {}:{}, not {}:{} ({:04o}: every uid "
            "can write); recycle and workloads that chown their volume (mysql-k8s) need it "
            "unsquashed: {}".format(*self.owner, *self.wanted_owner, self.mode, SQUASH_FIX)
        )

    def problem(self, address: str) -> str:
        """The Blocked message when the directory is not usable."""
        if self.owner == self.wanted_owner:
            return (
                f"the mode {self.wanted_mode:04o} of {address}/{self.name} did not take (the NAS "
                f"made it {self.mode:04o}): check the NAS's permission settings for this share"
            )
        refused = "was refused" if self.chown_refused else "did not take"
        return (
            "the owner {}:{} of {}/{} {} (the NAS made it {}:{}, mode {:04o}), and "
            "directory-mode {:04o} lets no other uid write: the NAS squashes root for this host; "
            "{}, or set directory-mode=1777 (every uid can write)".format(
                *self.wanted_owner, address, self.name, refused, *self.owner, self.mode,
                self.wanted_mode, SQUASH_FIX,
            )
        )  # fmt: skip


def _os_error(e: OSError, action: str, address: str) -> NasError:
    if e.errno in (errno.EACCES, errno.EPERM):
        return RootSquashError(
            f"permission denied to {action} on {address}: the NAS squashes root for this host, "
            f"or the export is not writable for it: {SQUASH_FIX}, or make the export's top "
            "directory writable for the user root is mapped to"
        )
    if e.errno in (errno.ETIMEDOUT, errno.EIO, errno.ESTALE):
        return NasError(f"NAS I/O error while trying to {action} on {address}: {e.strerror}")
    if e.errno == errno.ENOSPC:
        return NasError(f"no space left on {address}")
    if e.errno == errno.EROFS:
        return NasError(f"{address} is read-only")
    return NasError(f"cannot {action} on {address}: {e.strerror}")


class ForeignDirectoryError(NasError):
    """The directory belongs to another pool (or to none that can be proven): left alone."""


class ExportDirectories:
    """Per-PV directories below a mounted export, each with its ownership marker beside it."""

    CREATED = "created"
    EMPTY = "empty"  # ours, already there and empty: reused, mode and owner reset
    BUSY = "busy"  # ours, but not empty or not a plain directory: never used for a new PV
    UNMARKED = "unmarked"  # there, with no marker: not proven ours, never used
    FOREIGN = "foreign"  # another pool's marker (or a marker that is not one): never used
    OURS = "ours"  # adopt(): the marker already named this pool
    ADOPTED = "adopted"  # adopt(): no marker yet; ours written (a PV of ours points here)

    def __init__(
        self,
        root: Path,
        address: str,
        mode: int,
        uid: int,
        gid: int,
        *,
        pool: marker.PoolId,
    ):
        self.root = root
        self.address = address
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.pool = pool
        self.owners: dict[str, str] = {}  # name -> who owns it, for FOREIGN results
        self.ownership: dict[str, Ownership] = {}  # name -> what the NAS made of owner/mode

    def _path(self, name: str) -> Path:
        if not name or "/" in name or name in (".", "..") or "\0" in name or name[0] == ".":
            raise NasError(f"refusing unsafe directory name {name!r}")
        return self.root / name

    def _marker_path(self, name: str) -> Path:
        return self.root / MARKER_DIR / f"{name}{MARKER_SUFFIX}"

    def verify(self) -> None:
        """Prove the mounted export is the share and writable.

        The marker directory is a real directory there, and a probe file can be created,
        synced and removed in it.
        """
        where = self.root / MARKER_DIR
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(where, 0o755)
            if not stat.S_ISDIR(os.lstat(where).st_mode):
                raise NasError(f"{self.address}/{MARKER_DIR} is not a directory")
            probe = where / VERIFY_PROBE
            with contextlib.suppress(FileNotFoundError):
                os.unlink(probe)
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                os.write(fd, b"ok\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            os.unlink(probe)
        except OSError as e:
            raise _os_error(e, "write the share's marker directory", self.address) from None

    def owner(self, name: str) -> marker.PoolId | None:
        """The pool the marker of `name` names; None without one.

        ForeignDirectoryError when there is a file that is not a marker of ours.
        """
        path = self._marker_path(name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise self._foreign(name, "its marker is a symbolic link") from None
            raise _os_error(e, f"read the marker of {name}", self.address) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise self._foreign(name, "its marker is not a regular file")
            raw = os.read(fd, MARKER_MAX_BYTES + 1)
        except OSError as e:
            raise _os_error(e, f"read the marker of {name}", self.address) from None
        finally:
            os.close(fd)
        try:
            return marker.parse(raw, name)
        except marker.MarkerError as e:
            raise self._foreign(name, f"its marker is not one of this charm's ({e})") from None

    def _foreign(self, name: str, why: str) -> ForeignDirectoryError:
        self.owners[name] = why
        return ForeignDirectoryError(f"{self.address}/{name}: {why}")

    def _claim(self, name: str, pool: marker.PoolId) -> None:
        """Write our marker for `name` (exclusive create: of two pools racing, one wins)."""
        path = self._marker_path(name)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path.parent, 0o755)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except FileExistsError:
            found = self.owner(name)
            if found is None or not pool.owns(found):
                raise self._foreign(name, self._owned_by(found)) from None
            return
        try:
            os.write(fd, marker.render(pool, name))
            os.fsync(fd)
        finally:
            os.close(fd)

    @staticmethod
    def _owned_by(found: marker.PoolId | None) -> str:
        return f"owned by pool {found.describe()}" if found else "its marker vanished"

    def _check(self, name: str, pool: marker.PoolId) -> marker.PoolId | None:
        """The marker's pool when it is `pool`, None without one; else ForeignDirectoryError."""
        found = self.owner(name)
        if found is not None and not pool.owns(found):
            raise self._foreign(name, self._owned_by(found))
        return found

    def prepare(self, name: str) -> str:
        """Make `<export>/<name>` an empty directory of this pool with our mode and owner.

        Returns CREATED, EMPTY, BUSY, UNMARKED or FOREIGN (`owners[name]` says whose). Never
        changes a directory that holds anything, has no marker, or has another pool's.
        """
        path = self._path(name)
        try:
            try:
                found = self._check(name, self.pool)
            except ForeignDirectoryError:
                return self.FOREIGN
            exists = os.path.lexists(path)
            if exists and found is None:
                return self.UNMARKED
            if found is None:
                try:
                    self._claim(name, self.pool)
                except ForeignDirectoryError:
                    return self.FOREIGN
            try:
                os.mkdir(path, 0o700)
                result = self.CREATED
            except FileExistsError:
                info = os.lstat(path)
                if not stat.S_ISDIR(info.st_mode) or any(os.scandir(path)):
                    return self.BUSY
                result = self.EMPTY
            self._set_owner(path)
        except OSError as e:
            raise _os_error(e, f"create directory {name}", self.address) from None
        return result

    def adopt(self, name: str, class_name: str) -> str:
        """Mark the directory of one of our existing PVs as ours (it was made before markers).

        Returns OURS, ADOPTED or FOREIGN (`owners[name]` says whose). Nothing in the
        directory is touched.
        """
        pool = self.pool.with_class(class_name)
        self._path(name)
        try:
            if self._check(name, pool) is not None:
                return self.OURS
            self._claim(name, pool)
        except ForeignDirectoryError:
            return self.FOREIGN
        except OSError as e:
            raise _os_error(e, f"mark directory {name}", self.address) from None
        return self.ADOPTED

    def _set_owner(self, path: Path) -> Ownership:
        """Apply directory-owner and directory-mode; what the NAS made of them is `ownership`.

        A NAS that squashes root refuses the chown (EPERM) or accepts it and keeps its own
        owner. With a world-writable directory-mode (the default) the directory is usable all
        the same: noted, not an error. Otherwise RootSquashError (no PV on that directory).
        """
        refused = False
        try:
            os.chown(path, self.uid, self.gid)
        except PermissionError:
            refused = True
        os.chmod(path, self.mode)
        info = os.lstat(path)
        result = Ownership(
            name=path.name,
            wanted_owner=(self.uid, self.gid),
            owner=(info.st_uid, info.st_gid),
            wanted_mode=self.mode,
            mode=stat.S_IMODE(info.st_mode),
            chown_refused=refused,
        )
        self.ownership[path.name] = result
        if not result.usable:
            raise RootSquashError(result.problem(self.address))
        if result.squashed:
            logger.warning("%s", result.note())
        return result

    @property
    def squash(self) -> Ownership | None:
        """The last directory this export squashed (owner not applied), None when none was."""
        squashed = [o for o in self.ownership.values() if o.squashed]
        return squashed[-1] if squashed else None

    def empty(self, name: str, class_name: str) -> int:
        """Delete everything inside `<export>/<name>` and reset its mode and owner.

        Only a directory of this pool (`class_name`: the PV's class): a directory with another
        pool's marker raises ForeignDirectoryError and nothing in it is touched; one without a
        marker is adopted first (the PV pointing at it is ours). Returns how many top-level
        entries were removed. Symbolic links are removed, never followed. A missing directory
        is created.
        """
        path = self._path(name)
        if self.adopt(name, class_name) == self.FOREIGN:
            raise ForeignDirectoryError(
                f"{self.address}/{name} is not this pool's ({self.owners[name]}): never emptied"
            )
        removed = 0
        try:
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                os.mkdir(path, 0o700)
                self._set_owner(path)
                return 0
            if not stat.S_ISDIR(info.st_mode):
                raise NasError(f"{self.address}/{name} is not a directory; left alone")
            for entry in os.scandir(path):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed += 1
            self._set_owner(path)
        except OSError as e:
            raise _os_error(e, f"empty directory {name}", self.address) from None
        return removed
