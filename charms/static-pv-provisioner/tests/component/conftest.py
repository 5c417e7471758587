"""Shared fixtures of the component tests: the real NFS server and the fake Kubernetes API."""

import subprocess

import pytest
from support.fake_kube import fake_kube  # noqa: F401
from support.nfs_server import NfsServer, live_nfs_server, nfs_server  # noqa: F401


@pytest.fixture
def nfs(live_nfs_server: NfsServer) -> NfsServer:  # noqa: F811 (the imported fixture)
    """The running NFS server with an empty export (never crossing into a leftover mount)."""
    for child in live_nfs_server.directory.iterdir():
        subprocess.run(["rm", "-rf", "--one-file-system", str(child)], check=True, timeout=30)
    return live_nfs_server
