"""Shared fixtures of the component tests: the real NFS server and the fake Kubernetes API."""

from support.fake_kube import fake_kube  # noqa: F401
from support.nfs_server import live_nfs_server, nfs_server  # noqa: F401
