"""Component tests run against a real userspace NFS server (tests/support/nfs_server.py)."""

from support.nfs_server import live_nfs_server, nfs_server

__all__ = ["live_nfs_server", "nfs_server"]
