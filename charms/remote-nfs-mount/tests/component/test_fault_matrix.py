"""remote-nfs-mount's cells of the fault matrix: the whole charm (ops.testing) with its real
network code against a real NFS server on 127.0.0.1 that goes down, drops packets, comes back.

After each cell: the hook did not raise and stayed within its time bound, the status names the
cause, nothing is published on `nfs` or `nfs-share` while the NAS is not verified (the worker
would keep whatever it was given), and the charm recovers and publishes by itself.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from ops import testing
from support.net_faults import blackhole
from support.nfs_server import NFS_PORT, NfsServer

import preflight
from charm import RemoteNfsMountCharm

META = yaml.safe_load((Path(__file__).parents[2] / "charmcraft.yaml").read_text())
TIMEOUT = 1


class Charm(RemoteNfsMountCharm):
    network = preflight.SystemNetwork()
    nfs_client_present = staticmethod(lambda: True)


@contextlib.contextmanager
def nas_stopped(server: NfsServer) -> Iterator[None]:
    server.stop()
    yield


@contextlib.contextmanager
def nas_dropping(server: NfsServer) -> Iterator[None]:
    server.stop()
    with blackhole(server.host, NFS_PORT):
        yield


FAULTS: dict[str, tuple[Callable[[NfsServer], contextlib.AbstractContextManager[None]], str]] = {
    "refusing": (
        nas_stopped,
        f"127.0.0.1:{NFS_PORT} unreachable: connection refused (nothing published)",
    ),
    "dropping": (
        nas_dropping,
        f"127.0.0.1:{NFS_PORT} unreachable: timed out after {TIMEOUT}s (nothing published)",
    ),
}
EVENTS = {
    "install": testing.CharmEvents.install,
    "config-changed": testing.CharmEvents.config_changed,
    "update-status": testing.CharmEvents.update_status,
    "leader-elected": testing.CharmEvents.leader_elected,
}


def state(server: NfsServer) -> testing.State:
    return testing.State(
        leader=True,
        config={"nas-host": server.host, "export-path": server.export, "timeout": TIMEOUT},
        relations={
            testing.SubordinateRelation("juju-info", remote_app_name="kubernetes-worker"),
            testing.Relation("nfs", remote_app_name="kubernetes-worker"),
            testing.Relation("nfs-share", remote_app_name="static-pv-provisioner"),
            testing.PeerRelation("peers"),
        },
    )


def relation(out: testing.State, endpoint: str) -> testing.RelationBase:
    [found] = out.get_relations(endpoint)
    return found


@pytest.mark.parametrize("event", sorted(EVENTS))
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_nas_fault_during_hook_then_recovery(live_nfs_server: NfsServer, fault: str, event: str):
    make_fault, message = FAULTS[fault]
    ctx = testing.Context(Charm, meta=META)
    with make_fault(live_nfs_server):
        start = time.monotonic()
        out = ctx.run(EVENTS[event](), state(live_nfs_server))
        elapsed = time.monotonic() - start
    assert out.unit_status == testing.BlockedStatus(message)
    assert elapsed < 3 * TIMEOUT + 0.5  # resolve + connect + export list, at the very most
    assert "mountpoint" not in relation(out, "nfs").local_unit_data
    assert dict(relation(out, "nfs-share").local_app_data) == {}

    live_nfs_server.restart()
    out = ctx.run(ctx.on.update_status(), out)
    address = f"127.0.0.1:{live_nfs_server.export}"
    assert out.unit_status == testing.ActiveStatus(f"{address} ready (nfsvers=4.1)")
    assert relation(out, "peers").local_unit_data["verified"] == f"{address} nfsvers=4.1"
    assert relation(out, "nfs").local_unit_data["mountpoint"] == live_nfs_server.export
    assert relation(out, "nfs-share").local_app_data["verified"] == "true"


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_removal_with_the_nas_down_does_not_fail(live_nfs_server: NfsServer, fault: str):
    make_fault, _ = FAULTS[fault]
    ctx = testing.Context(Charm, meta=META)
    with make_fault(live_nfs_server):
        for event in (ctx.on.stop(), ctx.on.remove()):
            ctx.run(event, state(live_nfs_server))  # nothing to clean up, nothing may raise


def test_check_action_reports_the_failing_step_with_timings(live_nfs_server: NfsServer):
    ctx = testing.Context(Charm, meta=META)
    with nas_dropping(live_nfs_server):
        ctx.run(ctx.on.action("check"), state(live_nfs_server))
    results = ctx.action_results or {}
    assert results["verdict"] == "blocked"
    steps = yaml.safe_load(results["steps"])
    assert [(s["step"], s["ok"]) for s in steps] == [("resolve", True), ("connect", False)]
    assert TIMEOUT <= steps[1]["seconds"] < TIMEOUT + 0.5
