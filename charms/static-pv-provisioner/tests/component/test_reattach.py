"""The reattach action (issue 13), the whole charm against the fake API and the real NFS export.

After a redeploy the old claim's data is still in the PV's directory on the NFS server; the
action pre-binds the Released PV to the new claim, and the new claim binds to it and finds the
data. Nothing else changes: not the data, not the other PVs, not the markers.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from ops import testing
from support.fake_kube import FakeKube
from support.nfs_server import NfsServer
from test_charm_end_to_end import context, state

from constants import PREVIOUS_CLAIM_ANNOTATION

PV = "homelab-nfs-1gi-001"
OLD, NEW = "database-mysql-k8s-0", "database-7a1c-mysql-k8s-0"


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(root.rglob("*"))
    }


def test_reattach_hands_the_data_to_the_new_claim(
    fake_kube: FakeKube, nfs: NfsServer, tmp_path: Path
) -> None:
    kubeconfig = fake_kube.write_kubeconfig(tmp_path / "config")
    ctx = context(nfs)
    config = {"kubeconfig-path": str(kubeconfig), "pool": "1Gi:2", "min-available": 0}
    out = ctx.run(ctx.on.config_changed(), state(nfs, config))
    assert out.unit_status.name == "active", out.unit_status
    # The old deployment wrote its data, then went (its claim deleted: the PV is Released).
    fake_kube.bind(PV, OLD, "kubeflow")
    (nfs.directory / PV / "ibdata1").write_bytes(b"mysql pages")
    fake_kube.release(PV)
    files = snapshot(nfs.directory)
    other = copy.deepcopy(fake_kube.get("PersistentVolume", "homelab-nfs-1gi-002"))
    params = {"volume": PV, "claim-namespace": "kubeflow", "claim-name": NEW}
    # Without confirm: it says what it would do, and writes nothing.
    fake_kube.reset_requests()
    with pytest.raises(testing.ActionFailed, match=f"would pre-bind PV {PV}"):
        ctx.run(ctx.on.action("reattach", params=params), out)
    assert [r.verb for r in fake_kube.requests] == ["LIST"]
    # With confirm: one PATCH of that PV, nothing else written.
    fake_kube.reset_requests()
    ctx.run(ctx.on.action("reattach", params={**params, "confirm": True}), out)
    assert ctx.action_results is not None
    assert ctx.action_results["old-claim"] == f"kubeflow/{OLD}"
    assert ctx.action_results["entries"] == "1"
    writes = [r for r in fake_kube.requests if r.verb not in ("LIST", "GET")]
    assert [(r.verb, r.path.rsplit("/", 1)[-1]) for r in writes] == [("PATCH", PV)]
    assert writes[0].content_type == "application/merge-patch+json"
    pv = fake_kube.get("PersistentVolume", PV)
    assert pv is not None
    assert pv["spec"]["claimRef"] == {"namespace": "kubeflow", "name": NEW}
    assert pv["metadata"]["annotations"][PREVIOUS_CLAIM_ANNOTATION] == f"kubeflow/{OLD}"
    assert fake_kube.get("PersistentVolume", "homelab-nfs-1gi-002") == other
    assert snapshot(nfs.directory) == files  # the data, the markers: all as they were
    # The PV controller makes a pre-bound PV Available (pv_controller.go syncVolume); the fake
    # does not yet (requested), so the test does it. Then the new claim binds to it, not to
    # the free PV.
    fake_kube.set_status("PersistentVolume", PV, None, {"phase": "Available"})
    fake_kube.create({
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": NEW, "namespace": "kubeflow"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": "homelab-nfs",
        },
    })  # fmt: skip
    assert fake_kube.bind_pending() == [("kubeflow", NEW, PV)]
    assert (nfs.directory / PV / "ibdata1").read_bytes() == b"mysql pages"
    # A second reattach of the (now Bound) PV is refused.
    with pytest.raises(testing.ActionFailed, match="is Bound to claim"):
        ctx.run(ctx.on.action("reattach", params={**params, "confirm": True}), out)
