"""nfs-common on this host: the admin mount of the export needs `mount.nfs` (no ops).

Installed with Canonical's apt library (charmlibs-apt), imported only in the rare hook that
installs. Every failure becomes `PackageInstallError` with a message fit for a status line.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

from constants import MOUNT_BINARY_PATHS


class PackageInstallError(Exception):
    """Installing a package failed; the message says which and why, in one line."""


def nfs_client_present() -> bool:
    """Whether `mount.nfs` (shipped by nfs-common) is on this host: a stat, no dpkg call."""
    return any(os.path.exists(path) for path in MOUNT_BINARY_PATHS)


def install(packages: Sequence[str]) -> None:
    """Install `packages` after refreshing the package index (raises PackageInstallError)."""
    from charmlibs import apt  # imported here: only the hook that installs pays for it

    names = ", ".join(packages)
    try:
        apt.add_package(list(packages), update_cache=True)
    except apt.Error as e:
        lines = str(e).strip().splitlines()
        raise PackageInstallError(
            f"installing {names} failed: {lines[-1] if lines else type(e).__name__}"
        ) from None
    except subprocess.CalledProcessError as e:  # `apt-get update` failing raises this one
        argv = e.cmd if isinstance(e.cmd, (list, tuple)) else [str(e.cmd)]
        raise PackageInstallError(
            f"installing {names} failed: {' '.join(map(str, argv[:2]))} exited {e.returncode}"
        ) from None
    except OSError as e:
        raise PackageInstallError(f"installing {names} failed: {e.strerror}") from None
