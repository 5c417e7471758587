"""The benchmark's update-status for this charm: the leader, a steady pool of 12 PVs.

Used by bench/probe.py (`context()` and `state()`); the cluster is faked in memory (`FakeApi`)
and the NAS mount by a symbolic link, so the figure is the charm's own cost: config and
credentials checked, one LIST of the pool, no write, no mount. `state()` gets there by running
one config-changed first (the pool is created, the StorageClass check is recorded as recent),
outside the measured dispatch.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import yaml
from ops import testing
from unit.fakes import FakeApi, LinkMounter

from charm import StaticPvProvisionerCharm

MODEL_UUID = "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c"  # one model across runs

META = yaml.safe_load((Path(__file__).parents[1] / "charmcraft.yaml").read_text())
KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: ck, cluster: {server: "https://10.0.0.10:6443"}}]
users: [{name: admin, user: {token: bench-token}}]
contexts: [{name: ck, context: {cluster: ck, user: admin}}]
current-context: ck
"""
_TMP = Path(tempfile.mkdtemp(prefix="static-pv-provisioner-bench-"))
atexit.register(shutil.rmtree, _TMP, True)
API = FakeApi()


class BenchCharm(StaticPvProvisionerCharm):
    cluster_factory = staticmethod(API.connect)
    mounter = LinkMounter(_TMP)
    nfs_client_present = staticmethod(lambda: True)


def context() -> testing.Context[BenchCharm]:
    return testing.Context(
        BenchCharm,
        meta=META,
        app_name="static-pv-provisioner",
    )


def state() -> testing.State:
    kubeconfig = _TMP / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    kubeconfig.chmod(0o600)
    first = testing.State(
        leader=True,
        config={"kubeconfig-path": str(kubeconfig)},
        relations=[
            testing.SubordinateRelation("juju-info", remote_app_name="kubernetes-control-plane"),
            testing.Relation(
                "nfs-share",
                remote_app_name="remote-nfs-mount",
                remote_app_data={
                    "server": "10.0.0.5",
                    "export": "/volume1/k8s",
                    "nfs-version": "4.1",
                    "mount-options": "nfsvers=4.1,hard,timeo=600,retrans=2,noresvport",
                    "verified": "true",
                },
            ),
        ],
        model=testing.Model(name="k8s", uuid=MODEL_UUID),
    )
    out = context().run(testing.CharmEvents.config_changed(), first)
    assert out.unit_status.message.startswith("homelab-nfs: 12 PVs (12 available"), out
    API.calls.clear()
    return out
