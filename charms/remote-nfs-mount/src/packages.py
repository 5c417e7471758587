"""nfs-common on the node: the kubelet needs `mount.nfs` to mount NFS volumes (no ops)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from constants import MOUNT_HELPERS, NFS_PACKAGE


class PackageInstallError(Exception):
    """Installing the package failed; the message is for the status line."""


def nfs_common_installed() -> bool:
    """Whether `mount.nfs` (shipped by nfs-common) is on the node: a stat, no dpkg call."""
    return any(Path(helper).exists() for helper in MOUNT_HELPERS)


def install_nfs_common() -> None:
    """Install nfs-common with Canonical's apt library (refreshes the package index first)."""
    from charmlibs import apt  # imported here: only the rare hook that installs pays for it

    try:
        apt.add_package(NFS_PACKAGE, update_cache=True)
    # `apt-get update` failing surfaces as CalledProcessError, a missing binary as OSError.
    except (
        apt.PackageError,
        apt.PackageNotFoundError,
        subprocess.CalledProcessError,
        OSError,
    ) as e:
        text = str(e).strip()
        message = text.splitlines()[-1] if text else type(e).__name__
        raise PackageInstallError(f"installing {NFS_PACKAGE} failed: {message}") from None
