"""The pre-flight against a real NFS server (nfs-ganesha on 127.0.0.1) and the real network code.

`SystemNetwork` really resolves, connects to port 2049 and runs `showmount -e`; only the NAS is
local. A NAS that silently drops packets is a listener on 2049 whose accept queue is full: the
kernel then drops new SYNs, exactly what a client sees from a dead host behind a firewall.
"""

from __future__ import annotations

import time

import pytest
from support.net_faults import blackhole
from support.nfs_server import NFS_PORT, NfsServer

import preflight
from nas_config import NasConfig


def config(server: NfsServer, export: str, timeout: int = 2, version: str = "4.1"):
    return NasConfig(
        nas_host=server.host,
        export_path=export,
        nfs_version=version,
        mount_options="hard",
        export_name="",
        timeout=timeout,
        install_nfs_common=True,
    )


def test_export_present_is_ready(live_nfs_server: NfsServer):
    result = preflight.run(
        config(live_nfs_server, live_nfs_server.export), "127.0.0.1", preflight.SystemNetwork()
    )
    assert result.verdict == "ready", result.steps
    assert result.verified
    assert result.message == f"127.0.0.1:{live_nfs_server.export} ready (nfsvers=4.1)"


def test_directory_inside_the_export_is_not_verified(live_nfs_server: NfsServer):
    # the server's export list shows the export, never a directory inside it
    result = preflight.run(
        config(live_nfs_server, live_nfs_server.export + "/k8s", version="3"),
        "127.0.0.1",
        preflight.SystemNetwork(),
    )
    assert result.verdict == "blocked"
    export = live_nfs_server.export
    assert result.message == (
        f"export {export}/k8s is not in 127.0.0.1's export list, only the export {export} "
        "(everyone) that holds it: a directory inside an export cannot be verified from here; "
        f"set export-path to {export} or export {export}/k8s on the NAS"
    )


def test_wrong_export_names_the_real_exports(live_nfs_server: NfsServer):
    result = preflight.run(
        config(live_nfs_server, "/volume1/k8s"), "127.0.0.1", preflight.SystemNetwork()
    )
    assert result.verdict == "blocked"
    assert result.message == (
        "export /volume1/k8s not exported by 127.0.0.1 "
        f"(exports: {live_nfs_server.export} (everyone))"
    )


def test_show_exports_lists_everyone(live_nfs_server: NfsServer):
    exports = preflight.SystemNetwork().list_exports(live_nfs_server.host, 5)
    assert [str(e) for e in exports] == [f"{live_nfs_server.export} (everyone)"]


def test_server_stopped_is_refused_at_once(live_nfs_server: NfsServer):
    live_nfs_server.stop()
    start = time.monotonic()
    result = preflight.run(
        config(live_nfs_server, live_nfs_server.export, timeout=2),
        "127.0.0.1",
        preflight.SystemNetwork(),
    )
    assert time.monotonic() - start < 1
    assert result.verdict == "blocked"
    assert result.message == f"127.0.0.1:{NFS_PORT} unreachable: connection refused"


@pytest.mark.parametrize("timeout", [1, 2])
def test_server_dropping_packets_times_out_within_the_timeout(
    live_nfs_server: NfsServer, timeout: int
):
    live_nfs_server.stop()
    with blackhole(live_nfs_server.host, NFS_PORT):
        start = time.monotonic()
        result = preflight.run(
            config(live_nfs_server, live_nfs_server.export, timeout=timeout),
            "127.0.0.1",
            preflight.SystemNetwork(),
        )
        elapsed = time.monotonic() - start
    assert result.verdict == "blocked"
    assert result.message == f"127.0.0.1:{NFS_PORT} unreachable: timed out after {timeout}s"
    assert timeout <= elapsed < timeout + 0.5


def test_recovers_when_the_server_comes_back(live_nfs_server: NfsServer):
    network = preflight.SystemNetwork()
    cfg = config(live_nfs_server, live_nfs_server.export)
    live_nfs_server.stop()
    assert preflight.run(cfg, "127.0.0.1", network).verdict == "blocked"
    live_nfs_server.restart()
    assert preflight.run(cfg, "127.0.0.1", network).verdict == "ready"


def test_unresolvable_name_fails_fast():
    network = preflight.SystemNetwork()
    with pytest.raises(preflight.NetworkError, match="DNS lookup"):
        network.resolve("no-such-nas.invalid", 2)
