"""Suite 2: the legacy line, Charmed Kubernetes 1.28 (kubernetes-core shape), the lab's storage.

kubernetes-worker 1.28 takes our `nfs` relation data and creates its StorageClass `default`
(whose provisioner cannot work since Kubernetes 1.20, facts §1); static-pv-provisioner adopts
`default` and fills it with PVs on the NAS; a claim binds to one of them and a pod writes a file
that the test then finds on the NFS server. The applications and relations are the ones the
lab's overlays (storage + nfs-legacy-1.28) add.
"""

from __future__ import annotations

import uuid

import pytest

from integration import helpers as h

pytestmark = [pytest.mark.k8s_legacy, pytest.mark.cluster]

LINE = h.LEGACY
NFS = h.REMOTE_NFS_MOUNT
PV = h.STATIC_PV_PROVISIONER
CLASS = "default"  # made by kubernetes-worker on the nfs relation
NAMESPACE = "homelab-itest"


@pytest.mark.abort_on_fail
async def test_deploy_cluster_and_nfs_server(juju):
    await h.deploy_kubernetes_core(juju, LINE)
    await h.setup_nfs_server(juju, f"{h.NFS_SERVER_APP}/0", {h.EXPORT: [("*", h.RW_OPTIONS)]})


@pytest.mark.abort_on_fail
async def test_remote_nfs_mount_on_every_node(juju):
    server = await h.unit_address(juju, f"{h.NFS_SERVER_APP}/0")
    config = {"nas-host": server, "export-path": h.EXPORT}
    await h.deploy_subordinate(juju, NFS, LINE.base, config)
    await juju.integrate(f"{NFS}:juju-info", f"{h.CONTROL_PLANE}:juju-info")
    await juju.integrate(f"{NFS}:juju-info", f"{h.WORKER}:juju-info")
    await juju.integrate(f"{NFS}:nfs", f"{h.WORKER}:nfs")
    await juju.wait([NFS], status="active", timeout=1800, units=2)
    await juju.wait([h.WORKER], status="active", timeout=1800)


async def test_worker_receives_mount_data(juju):
    """interface-mount's format: the provider's unit databag, fstype exactly `nfs`."""
    server = await h.unit_address(juju, f"{h.NFS_SERVER_APP}/0")
    info = await h.show_unit(juju, f"{h.WORKER}/0")
    relations = h.relation_info(info, "nfs")
    assert len(relations) == 1, relations
    units = relations[0]["related-units"]
    assert units, relations
    for name, unit in units.items():
        data = unit["data"]
        assert data["hostname"] == server, (name, data)
        assert data["mountpoint"] == h.EXPORT, (name, data)
        assert data["fstype"] == "nfs", (name, data)
        assert data["options"].split(",")[0] == "nfsvers=4.1", (name, data)


async def test_worker_creates_default_class(juju):
    k = await h.kube(juju)

    def made() -> object:
        return k.storage.read_storage_class(CLASS)

    storage_class = await h.wait_for("StorageClass default", made, timeout=1200, interval=10)
    assert storage_class.provisioner == "fuseim.pri/ifs"


@pytest.mark.abort_on_fail
async def test_static_pv_provisioner_adopts_default(juju):
    config = {
        "storage-class": CLASS,
        "adopt-class": "true",
        "pool": "1Gi:2",
        "min-available": "1",
        "max-per-size": "4",
    }
    await h.deploy_subordinate(juju, PV, LINE.base, config)
    await juju.integrate(f"{PV}:juju-info", f"{h.CONTROL_PLANE}:juju-info")
    await juju.integrate(f"{PV}:nfs-share", f"{NFS}:nfs-share")
    await juju.wait([PV], status="active", timeout=1800)
    k = await h.kube(juju)
    volumes = await h.wait_for(
        "2 PVs in class default", lambda: len(h.pvs_of_class(k, CLASS)) >= 2 or None, 600
    )
    assert volumes
    for pv in h.pvs_of_class(k, CLASS):
        assert pv.metadata.name.startswith(f"{CLASS}-1gi-"), pv.metadata.name
        assert pv.spec.nfs.path.startswith(h.EXPORT + "/"), pv.spec.nfs.path
        assert pv.spec.persistent_volume_reclaim_policy == "Retain"
    # Adopted, not changed: still the worker's class.
    assert k.storage.read_storage_class(CLASS).provisioner == "fuseim.pri/ifs"


async def test_claim_binds_and_pod_writes_to_the_nas(juju):
    k = await h.kube(juju)
    h.create_namespace(k, NAMESPACE)
    h.create_claim(k, NAMESPACE, "data", CLASS, "1Gi")
    volume = await h.wait_bound(k, NAMESPACE, "data")
    ours = {pv.metadata.name for pv in h.pvs_of_class(k, CLASS)}
    assert volume in ours, (volume, ours)
    content = f"written by the k8s_legacy suite {uuid.uuid4()}"
    await h.run_writer_pod(k, NAMESPACE, "writer", "data", file_name="hello.txt", content=content)
    path = k.core.read_persistent_volume(volume).spec.nfs.path
    assert (await h.read_on_server(juju, f"{path}/hello.txt") or "").strip() == content
