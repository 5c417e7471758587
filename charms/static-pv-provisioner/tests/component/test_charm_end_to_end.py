"""The whole charm in ops.testing against the fake Kubernetes API and the real NFS export.

Only the mount command is replaced (bind mount of the NFS server's export directory: no kernel
NFS client here, see `parts`); the cluster layer is the real lightkube one, reading the
kubeconfig the fake API server wrote, or the same kubeconfig from a Juju user secret.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from ops import testing
from parts import BindMounter
from support.fake_kube import FakeKube
from support.k8s_schema import assert_valid
from support.nfs_server import NfsServer

from charm import StaticPvProvisionerCharm

MODEL_UUID = "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c"  # one model across runs

CHARMCRAFT = yaml.safe_load((Path(__file__).parents[2] / "charmcraft.yaml").read_text())


def context(nfs: NfsServer) -> testing.Context:
    class Charm(StaticPvProvisionerCharm):
        mounter = BindMounter(nfs)
        nfs_client_present = staticmethod(lambda: True)

    return testing.Context(
        Charm,
        meta=CHARMCRAFT,
        app_name="static-pv-provisioner",
    )


def state(nfs: NfsServer, config: dict[str, Any], secrets: tuple = ()) -> testing.State:
    share = {
        "server": nfs.host,
        "export": nfs.export,
        "nfs-version": "4.1",
        "mount-options": "nfsvers=4.1,hard,timeo=600,retrans=2,noresvport",
        "verified": "true",
    }
    return testing.State(
        leader=True,
        config=config,
        relations=[
            testing.Relation("nfs-share", remote_app_name="nas", remote_app_data=share),
            testing.SubordinateRelation("juju-info", remote_app_name="kubernetes-control-plane"),
        ],
        secrets=list(secrets),
        model=testing.Model(name="k8s", uuid=MODEL_UUID),
    )


def test_config_to_pool_to_recycle(fake_kube: FakeKube, nfs: NfsServer, tmp_path: Path) -> None:
    kubeconfig = fake_kube.write_kubeconfig(tmp_path / "config")
    ctx = context(nfs)
    config = {"kubeconfig-path": str(kubeconfig), "pool": "1Gi:2,5Gi:1", "set-default": True}
    out = ctx.run(ctx.on.config_changed(), state(nfs, config))
    assert out.unit_status == testing.ActiveStatus(
        f"homelab-nfs: 4 PVs (4 available, 0 bound, 0 released) on {nfs.host}:{nfs.export}"
    )
    sc = fake_kube.get("StorageClass", "homelab-nfs")
    assert sc is not None
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    for request in fake_kube.requests:
        if request.method in ("POST", "PATCH") and isinstance(request.body, dict):
            assert_valid(request.body)
    names = sorted(pv["metadata"]["name"] for pv in fake_kube.list("PersistentVolume"))
    assert names == [
        "homelab-nfs-1gi-001",
        "homelab-nfs-1gi-002",
        "homelab-nfs-5gi-001",
        "homelab-nfs-5gi-002",
    ]
    assert sorted(p.name for p in nfs.directory.iterdir()) == [".static-pv-provisioner", *names]
    # Claims come and go; update-status tops up; recycle brings a released PV back.
    fake_kube.bind("homelab-nfs-1gi-001", "data", "kubeflow")
    fake_kube.reset_requests()
    out = ctx.run(ctx.on.update_status(), out)
    assert fake_kube.count("LIST", "PersistentVolume") == 2  # ours, then every name (a create)
    assert fake_kube.count("POST", "PersistentVolume") == 1
    assert "homelab-nfs-1gi-003" in {
        pv["metadata"]["name"] for pv in fake_kube.list("PersistentVolume")
    }
    (nfs.directory / "homelab-nfs-1gi-001" / "model.bin").write_bytes(b"\0" * 1024)
    fake_kube.release("homelab-nfs-1gi-001")
    ctx.run(
        ctx.on.action("recycle", params={"volume": "homelab-nfs-1gi-001", "confirm": True}), out
    )
    assert ctx.action_results == {"recycled": "homelab-nfs-1gi-001", "count": 1}
    pv = fake_kube.get("PersistentVolume", "homelab-nfs-1gi-001")
    assert pv is not None
    assert pv["status"]["phase"] == "Available"
    assert list((nfs.directory / "homelab-nfs-1gi-001").iterdir()) == []
    # The recycle action reconciles: usage is back to 0, so the top-up PV goes again.
    ctx.run(ctx.on.action("list-volumes"), out)
    assert ctx.action_results is not None
    assert ctx.action_results["summary"] == "4 PVs (4 available, 0 bound, 0 released)"
    assert fake_kube.get("PersistentVolume", "homelab-nfs-1gi-003") is None
    # Steady state after all that: one LIST, nothing else.
    fake_kube.reset_requests()
    ctx.run(ctx.on.update_status(), out)
    assert [r.verb for r in fake_kube.requests] == ["LIST"]


def test_secret_kubeconfig_and_api_faults(
    fake_kube: FakeKube, nfs: NfsServer, tmp_path: Path
) -> None:
    fake_kube.add_token("pv-token", "pv-manager")
    text = fake_kube.write_kubeconfig(tmp_path / "config", token="pv-token").read_text()
    secret = testing.Secret(tracked_content={"kubeconfig": text})
    ctx = context(nfs)
    config = {"kubeconfig-secret": secret.id, "kubeconfig-path": "/nonexistent", "pool": "1Gi:1"}
    fake_kube.forbid("pv-manager", "list", "storageclasses")
    out = ctx.run(ctx.on.config_changed(), state(nfs, config, (secret,)))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith(
        "Kubernetes API: not allowed to list storageclasses.storage.k8s.io (403 Forbidden"
    )
    assert "pv-token" not in out.unit_status.message
    fake_kube.allow("pv-manager", "list", "storageclasses")
    fake_kube.fail(503, method="LIST", times=1)
    out = ctx.run(ctx.on.config_changed(), out)
    assert out.unit_status == testing.WaitingStatus(
        "Kubernetes API error 503 while trying to list persistentvolumes; retrying at the next "
        "update-status"
    )
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status.name == "active"
    fake_kube.remove_token("pv-token")
    out = ctx.run(ctx.on.update_status(), out)
    assert out.unit_status == testing.BlockedStatus(
        f"Kubernetes API rejected the credentials from kubeconfig-secret {secret.id} (401 "
        "Unauthorized) while trying to list persistentvolumes"
    )


def test_a_token_file_lightkube_cannot_read_blocks_every_hook_and_action(
    fake_kube: FakeKube, nfs: NfsServer, tmp_path: Path
) -> None:
    kubeconfig = fake_kube.write_kubeconfig(tmp_path / "config")
    data = yaml.safe_load(kubeconfig.read_text())
    data["users"][0]["user"] = {"tokenFile": str(tmp_path / "gone")}
    kubeconfig.write_text(yaml.safe_dump(data))
    ctx = context(nfs)
    config = {"kubeconfig-path": str(kubeconfig)}
    out = ctx.run(ctx.on.update_status(), state(nfs, config))
    # Refused up front by homelab_core (cd1390e): a file reference is never read.
    said = out.unit_status.message
    assert out.unit_status.name == "blocked"
    assert said.startswith(f"kubeconfig-path {kubeconfig}: the user of ")
    assert "only embedded data is accepted" in said
    with pytest.raises(testing.ActionFailed) as e:
        ctx.run(ctx.on.action("list-volumes"), state(nfs, config))
    assert e.value.message == said
    with pytest.raises(testing.ActionFailed) as e:
        ctx.run(
            ctx.on.action("recycle", params={"all-released": True, "confirm": True}),
            state(nfs, config),
        )
    assert e.value.message == said  # refused before recycle starts
    out = ctx.run(ctx.on.remove(), dataclasses.replace(state(nfs, config), planned_units=0))
    assert out.unit_status == testing.BlockedStatus(
        f"removal stopped: {said}; in-use PVs and the data on the NAS are left"
    )
