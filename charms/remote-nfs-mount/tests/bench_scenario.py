"""The benchmark's update-status for this charm: configured, related, NAS answering (faked).

Used by bench/probe.py; the network is faked so the figure is the charm's own cost.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from ops import testing
from unit.fakes import FakeNetwork

from charm import RemoteNfsMountCharm

META = yaml.safe_load((Path(__file__).parents[1] / "charmcraft.yaml").read_text())


class BenchCharm(RemoteNfsMountCharm):
    network = FakeNetwork()
    nfs_client_present = staticmethod(lambda: True)


def context() -> testing.Context[BenchCharm]:
    return testing.Context(BenchCharm, meta=META)


def state() -> testing.State:
    return testing.State(
        leader=True,
        config={"nas-host": "10.0.0.5", "export-path": "/volume1/k8s"},
        relations={
            testing.SubordinateRelation("juju-info", remote_app_name="kubernetes-worker"),
            testing.Relation("nfs", remote_app_name="kubernetes-worker"),
            testing.Relation("nfs-share", remote_app_name="static-pv-provisioner"),
            testing.PeerRelation(
                "peers", peers_data={1: {"verified": "10.0.0.5:/volume1/k8s nfsvers=4.1"}}
            ),
        },
    )
