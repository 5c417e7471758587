"""Real parts for component tests: the NFS export "mounted" with a bind mount.

No kernel NFS client can run on these machines (facts §6), so `BindMounter` mounts the NFS test
server's export directory (`nfs_server.directory`, the files the server really serves) with
`mount --bind`, through the charm's own command runner. Everything above the mount command —
`nas.mounted_export()`, `nas.ExportDirectories` — is the charm's code, unchanged.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from support.nfs_server import NfsServer

import nas
from marker import PoolId

# The pool of the component tests (the charm tests' model: name k8s, fixed UUID).
POOL = PoolId(
    "k8s", "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c", "static-pv-provisioner", "homelab-nfs"
)
# Another deployment of the same names: another model UUID (a rebuilt or a second lab).
OTHER_POOL = PoolId(
    "k8s", "0a0b0c0d-1111-4222-8333-944455556666", "static-pv-provisioner", "homelab-nfs"
)


class BindMounter(nas.KernelNfsMounter):
    """Mounts the NFS server's export directory with `mount --bind` (same command runner)."""

    def __init__(self, server: NfsServer):
        self.server = server
        self.calls: list[tuple[str, ...]] = []

    def mount(self, source: str, target: str, options: Sequence[str], timeout: float) -> None:
        """Check the source is the server's export, then bind-mount its directory."""
        assert source == f"{self.server.host}:{self.server.export}"
        self.calls.append(("mount", source, ",".join(options)))
        nas._run(["mount", "--bind", str(self.server.directory), target], timeout, "bind mount")

    def unmount(self, target: str, timeout: float) -> None:
        """The charm's own unmount (umount, lazy fallback)."""
        self.calls.append(("unmount", target))
        super().unmount(target, timeout)

    def is_mounted(self, target: str) -> bool:
        """A bind mount on the same file system is no other device: ask /proc/self/mountinfo."""
        return mounted(target)


def mounted(path: str) -> bool:
    """Whether `path` is a mount point of this process's mount namespace."""
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return any(line.split()[4] == path for line in lines)


def export_opener(
    server: NfsServer, mode: int = 0o770, uid: int = 0, gid: int = 0, pool: PoolId = POOL
):
    """An `open_export` for provisioner functions, mounting the server's export."""
    mounter = BindMounter(server)
    address = f"{server.host}:{server.export}"

    @contextmanager
    def open_export() -> Iterator[nas.ExportDirectories]:
        options = nas.admin_mount_options(("nfsvers=4.1", "hard"), 5)
        with nas.mounted_export(address, options, 5, mounter) as root:
            yield nas.ExportDirectories(root, address, mode, uid, gid, pool=pool)

    open_export.mounter = mounter  # type: ignore[attr-defined]
    return open_export


# What mount.nfs does first for NFSv4: a TCP connection to the server's NFS port. Run through
# the charm's own command runner, so a refused connection is a NasError and a server that
# silently drops packets is a MountTimeoutError after mount-timeout, as with the kernel client.
_CONNECT = (
    "import socket, sys\n"
    "try:\n    socket.create_connection((sys.argv[1], int(sys.argv[2]))).close()\n"
    "except OSError as e:\n    sys.exit(f'mount.nfs: {e.strerror or e}')\n"
)


class ProbingBindMounter(BindMounter):
    """`BindMounter` that first reaches the real NFS server, so a stopped NAS fails the mount."""

    def mount(self, source: str, target: str, options: Sequence[str], timeout: float) -> None:
        """Connect to the server's NFS port (bounded by the timeout), then bind-mount."""
        argv = [sys.executable, "-c", _CONNECT, self.server.host, str(self.server.port)]
        self.calls.append(("probe", source))
        nas._run(argv, timeout, f"mounting {source}")
        super().mount(source, target, options, timeout)
