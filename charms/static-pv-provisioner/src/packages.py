"""nfs-common on this host: homelab_core's one install (shared with remote-nfs-mount).

Kept as this charm's name for it, so the charm and its tests call `packages.install`,
`packages.nfs_client_present` and `packages.PackageInstallError` as before.
"""

from homelab_core.apt import PackageInstallError, install, nfs_client_present

__all__ = ["PackageInstallError", "install", "nfs_client_present"]
