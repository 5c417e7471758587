"""nfs-common on this host: the one install both charms use (plain data, no ops).

The kubelet (remote-nfs-mount) and the provisioner's admin mount (static-pv-provisioner) need
`mount.nfs`, shipped by nfs-common. Installed with Canonical's apt library (charmlibs-apt),
imported only in the rare hook that installs. Every failure becomes `PackageInstallError` whose
message is one line fit for a status, never an exception's repr; an install that "succeeded"
but left no `mount.nfs` is a failure too.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

NFS_COMMON = "nfs-common"
# mount.nfs ships in nfs-common: its presence is the cheap "is it installed" test on every hook.
MOUNT_NFS_PATHS = ("/sbin/mount.nfs", "/usr/sbin/mount.nfs")


class PackageInstallError(Exception):
    """Installing a package failed; the message says which and why, in one line."""


def nfs_client_present(paths: Sequence[str] = MOUNT_NFS_PATHS) -> bool:
    """Whether `mount.nfs` is on this host: a stat, no dpkg call."""
    return any(os.path.exists(path) for path in paths)


def _last_line(text: str, fallback: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else fallback


def install(packages: Sequence[str] = (NFS_COMMON,)) -> None:
    """Install `packages` after refreshing the package index (raises PackageInstallError).

    When nfs-common is among them, `mount.nfs` must exist afterwards.
    """
    from charmlibs import apt  # imported here: only the hook that installs pays for it

    names = ", ".join(packages)
    try:
        apt.add_package(list(packages), update_cache=True)
    except apt.Error as e:
        reason = _last_line(getattr(e, "message", "") or str(e), type(e).__name__)
        raise PackageInstallError(f"installing {names} failed: {reason}") from None
    except subprocess.CalledProcessError as e:  # `apt-get update` failing raises this one
        argv = e.cmd if isinstance(e.cmd, (list, tuple)) else [str(e.cmd)]
        command = " ".join(map(str, argv[:2]))
        stderr = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr
        detail = _last_line(stderr or "", "")
        raise PackageInstallError(
            f"installing {names} failed: {command} exited {e.returncode}"
            + (f" ({detail})" if detail else "")
        ) from None
    except OSError as e:
        what = f"{e.filename}: " if e.filename else ""
        raise PackageInstallError(
            f"installing {names} failed: {what}{e.strerror or type(e).__name__}"
        ) from None
    except Exception as e:  # anything else the library lets through: still one clear line
        reason = _last_line(str(e), "no reason given")
        raise PackageInstallError(
            f"installing {names} failed: {type(e).__name__}: {reason}"
        ) from None
    if NFS_COMMON in packages and not nfs_client_present():
        raise PackageInstallError(
            f"installing {NFS_COMMON} reported success but mount.nfs is missing "
            f"(looked for {' and '.join(MOUNT_NFS_PATHS)})"
        )


def install_nfs_common() -> None:
    """Install nfs-common (raises PackageInstallError)."""
    install((NFS_COMMON,))
