"""Suite 3: the current line, without the worker's `nfs` relation (it has no such endpoint).

static-pv-provisioner makes its own StorageClass (default class of the cluster), keeps a pool
of PVs on the NAS and tops it up as claims consume it; a pod writes to the NAS; `recycle`
empties a Released volume and makes it Available again; removing the charm deletes only its
unused PVs and never touches data on the NAS.
"""

from __future__ import annotations

import json
import uuid

import pytest

from integration import helpers as h

pytestmark = [pytest.mark.k8s_current, pytest.mark.cluster]

LINE = h.CURRENT
NFS = h.REMOTE_NFS_MOUNT
PV = h.STATIC_PV_PROVISIONER
CLASS = "homelab-nfs"
NAMESPACE = "homelab-itest"
DEFAULT_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


def _phases(k: h.Kube) -> dict[str, str]:
    return {pv.metadata.name: pv.status.phase for pv in h.pvs_of_class(k, CLASS)}


@pytest.mark.abort_on_fail
async def test_deploy_cluster_and_nfs_server(juju):
    await h.deploy_kubernetes_core(juju, LINE)
    await h.setup_nfs_server(juju, f"{h.NFS_SERVER_APP}/0", {h.EXPORT: [("*", h.RW_OPTIONS)]})


@pytest.mark.abort_on_fail
async def test_remote_nfs_mount_without_the_worker_nfs_relation(juju):
    server = await h.unit_address(juju, f"{h.NFS_SERVER_APP}/0")
    config = {"nas-host": server, "export-path": h.EXPORT}
    await h.deploy_subordinate(juju, NFS, LINE.base, config)
    await juju.integrate(f"{NFS}:juju-info", f"{h.CONTROL_PLANE}:juju-info")
    await juju.integrate(f"{NFS}:juju-info", f"{h.WORKER}:juju-info")
    await juju.wait([NFS], status="active", timeout=1800, units=2)
    # The worker of this line has no `nfs` endpoint: Juju refuses the relation (facts §2).
    assert not await juju.try_integrate(f"{NFS}:nfs", f"{h.WORKER}:nfs")


@pytest.mark.abort_on_fail
async def test_own_class_and_pool(juju):
    config = {
        "storage-class": CLASS,
        "set-default": "true",
        "pool": "1Gi:2",
        "min-available": "1",
        "max-per-size": "3",
    }
    await h.deploy_subordinate(juju, PV, LINE.base, config)
    await juju.integrate(f"{PV}:juju-info", f"{h.CONTROL_PLANE}:juju-info")
    await juju.integrate(f"{PV}:nfs-share", f"{NFS}:nfs-share")
    await juju.wait([PV], status="active", timeout=1800)
    k = await h.kube(juju)
    storage_class = k.storage.read_storage_class(CLASS)
    assert storage_class.provisioner == "kubernetes.io/no-provisioner"
    assert storage_class.reclaim_policy == "Retain"
    others_default = [
        c.metadata.name
        for c in k.storage.list_storage_class().items
        if c.metadata.name != CLASS
        and (c.metadata.annotations or {}).get(DEFAULT_ANNOTATION) == "true"
    ]
    if not others_default:  # the charm never takes the default from another class
        assert (storage_class.metadata.annotations or {}).get(DEFAULT_ANNOTATION) == "true"
    phases = await h.wait_for("2 Available PVs", lambda: len(_phases(k)) >= 2 and _phases(k), 600)
    assert set(phases.values()) == {"Available"}, phases
    for name in phases:
        assert name.startswith(f"{CLASS}-1gi-"), name


async def test_top_up_after_claims(juju):
    """Two claims take both PVs; the next reconcile adds one (min-available 1, max 3)."""
    k = await h.kube(juju)
    h.create_namespace(k, NAMESPACE)
    for claim in ("first", "second"):
        h.create_claim(k, NAMESPACE, claim, CLASS, "1Gi")
    for claim in ("first", "second"):
        await h.wait_bound(k, NAMESPACE, claim)
    async with juju.fast_forward("30s"):
        phases = await h.wait_for(
            "a third PV, Available",
            lambda: list(_phases(k).values()).count("Available") >= 1 and _phases(k),
            timeout=900,
            interval=10,
        )
    assert len(phases) == 3, phases  # never more than max-per-size
    assert sorted(phases.values()) == ["Available", "Bound", "Bound"], phases


async def test_pod_writes_to_the_nas(juju):
    k = await h.kube(juju)
    volume = await h.wait_bound(k, NAMESPACE, "first")
    content = f"written by the k8s_current suite {uuid.uuid4()}"
    await h.run_writer_pod(k, NAMESPACE, "writer", "first", file_name="hello.txt", content=content)
    path = k.core.read_persistent_volume(volume).spec.nfs.path
    assert path.startswith(h.EXPORT + "/"), path
    assert (await h.read_on_server(juju, f"{path}/hello.txt") or "").strip() == content


async def test_list_volumes_action(juju):
    leader = await h.leader_of(juju, PV)
    results = await h.run_action(juju, leader, "list-volumes")
    rows = json.loads(results["json"])
    assert int(results["count"]) == len(rows) == 3, rows
    assert sorted(r["phase"] for r in rows) == ["Available", "Bound", "Bound"], rows
    assert {r["claim"] for r in rows if r["phase"] == "Bound"} == {
        f"{NAMESPACE}/first",
        f"{NAMESPACE}/second",
    }


async def test_storage_pool_commands_action(juju):
    leader = await h.leader_of(juju, PV)
    results = await h.run_action(juju, leader, "storage-pool-commands", model="kubeflow")
    commands = results["commands"].splitlines()
    assert commands[0].startswith("juju create-storage-pool -m kubeflow "), commands
    assert f"storage-class={CLASS}" in commands[0], commands
    assert commands[1].startswith("juju model-config -m kubeflow workload-storage="), commands


async def test_recycle_released_volume(juju):
    """Released (Retain) -> recycle -> directory emptied on the NAS, PV Available again."""
    k = await h.kube(juju)
    volume = await h.wait_bound(k, NAMESPACE, "first")
    path = k.core.read_persistent_volume(volume).spec.nfs.path
    h.delete_pod_and_claim(k, NAMESPACE, "writer", "first")
    await h.wait_for(
        f"{volume} Released",
        lambda: k.core.read_persistent_volume(volume).status.phase == "Released",
        timeout=300,
    )
    leader = await h.leader_of(juju, PV)
    params = {"volume": volume, "confirm": False}
    unconfirmed = await juju.run_action(leader, "recycle", params, check=False)
    assert unconfirmed.status == "failed", unconfirmed  # confirm=true is required
    results = await h.run_action(juju, leader, "recycle", volume=volume, confirm=True)
    assert volume in results["recycled"], results
    await h.wait_for(
        f"{volume} Available",
        lambda: k.core.read_persistent_volume(volume).status.phase == "Available",
        timeout=300,
    )
    assert await h.list_on_server(juju, path) == []


async def test_removal_leaves_data(juju):
    """Removing the charm leaves every claim, its PV and every byte on the NAS."""
    k = await h.kube(juju)
    kept = await h.wait_bound(k, NAMESPACE, "second")
    content = f"kept after removal {uuid.uuid4()}"
    await h.run_writer_pod(k, NAMESPACE, "keeper", "second", file_name="keep.txt", content=content)
    path = k.core.read_persistent_volume(kept).spec.nfs.path
    _before_removal.update(
        {
            pv.metadata.name: pv.spec.nfs.path
            for pv in h.pvs_of_class(k, CLASS)
            if pv.status.phase == "Available"
        }
    )
    assert _before_removal

    await juju.remove_application(PV, timeout=900)

    remaining = _phases(k)
    assert remaining.get(kept) == "Bound", remaining
    claim = k.core.read_namespaced_persistent_volume_claim("second", NAMESPACE)
    assert claim.status.phase == "Bound"
    assert k.storage.read_storage_class(CLASS)  # kept: a PV still uses it
    assert (await h.read_on_server(juju, f"{path}/keep.txt") or "").strip() == content
    for directory in _before_removal.values():  # unused PVs' directories stay on the NAS too
        assert await h.dir_on_server(juju, directory), directory


_before_removal: dict[str, str] = {}  # the Available PVs just before removal: name -> path


async def test_removal_deleted_the_unused_pvs(juju):
    """The charm's remove hook deletes its Available PVs (their directories stay)."""
    k = await h.kube(juju)
    remaining = _phases(k)
    assert _before_removal
    assert not set(_before_removal) & set(remaining), (_before_removal, remaining)
