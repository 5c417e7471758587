"""Suite 1: remote-nfs-mount next to an `ubuntu` principal, with a kernel NFS server in the model.

Proves on real machines what the component tests cannot: `nfs-common` really gets installed,
the pre-flight passes against Linux knfsd and turns Blocked with the server's real export list
for a wrong path or a client that is not allowed, the actions answer, and the share reaches
static-pv-provisioner through the `nfs-share` relation.
"""

from __future__ import annotations

import json
import re

import pytest

from integration import helpers as h

pytestmark = pytest.mark.nfs_mount

BASE = h.env("HOMELAB_NFS_MOUNT_BASE", "ubuntu@24.04")
CLIENT = "client"  # the ubuntu principal remote-nfs-mount sits next to
APP = h.REMOTE_NFS_MOUNT


@pytest.mark.abort_on_fail
async def test_deploy_principal_and_nfs_server(juju):
    """An ubuntu principal (a container is fine) and an ubuntu NFS server (a VM on LXD)."""
    await juju.deploy("ubuntu", CLIENT, base=BASE)
    server_constraints = h.join_constraints("mem=2G", await h.vm_constraints(juju))
    await juju.deploy("ubuntu", h.NFS_SERVER_APP, base=BASE, constraints=server_constraints)
    await juju.wait([CLIENT, h.NFS_SERVER_APP], status="active", timeout=1800)
    client_ip = await h.unit_address(juju, f"{CLIENT}/0")
    await h.setup_nfs_server(
        juju,
        f"{h.NFS_SERVER_APP}/0",
        {
            h.EXPORT: [(client_ip, h.RW_OPTIONS)],  # exactly this client: the check is real
            h.RESTRICTED_EXPORT: [(h.NOBODY, h.RO_OPTIONS)],
        },
    )


@pytest.mark.abort_on_fail
async def test_preflight_active(juju):
    server = await h.unit_address(juju, f"{h.NFS_SERVER_APP}/0")
    await h.deploy_subordinate(juju, APP, BASE, {"nas-host": server, "export-path": h.EXPORT})
    await juju.integrate(f"{APP}:juju-info", f"{CLIENT}:juju-info")
    await juju.wait([APP], status="active", timeout=1200)
    (unit,) = await juju.units(APP)
    assert await juju.unit_status(unit) == ("active", f"{server}:{h.EXPORT} ready (nfsvers=4.1)")


async def test_nfs_common_installed(juju):
    client = f"{CLIENT}/0"
    status = await h.exec_on(
        juju, client, h.shell_words(["dpkg-query", "-W", "-f=${Status}", "nfs-common"])
    )
    assert status.strip() == "install ok installed"
    await h.exec_on(juju, client, h.shell_words(["test", "-x", "/sbin/mount.nfs"]))


async def test_check_action(juju):
    unit = await h.unit_on(juju, APP, f"{CLIENT}/0")
    results = await h.run_action(juju, unit, "check")
    assert results["verdict"] == "ready", results
    steps = {step["step"]: step for step in json.loads(results["steps"])}
    assert {"resolve", "connect", "exports", "export", "allowed"} <= set(steps), steps
    assert all(step["ok"] for step in steps.values()), steps
    client_ip = await h.unit_address(juju, f"{CLIENT}/0")
    assert client_ip in results["clients"].split(","), results["clients"]


async def test_show_exports_action(juju):
    server = await h.unit_address(juju, f"{h.NFS_SERVER_APP}/0")
    unit = await h.unit_on(juju, APP, f"{CLIENT}/0")
    results = await h.run_action(juju, unit, "show-exports")
    assert results["server"] == server
    assert h.EXPORT in results["exports"], results["exports"]
    assert h.RESTRICTED_EXPORT in results["exports"], results["exports"]


async def test_share_reaches_static_pv_provisioner(juju):
    """The leader publishes the share in its app databag; the requirer sees exactly that.

    static-pv-provisioner has no cluster here (it is Blocked on its kubeconfig): it is only the
    other end of the `nfs-share` relation, whose data `juju show-unit` shows from its side.
    """
    server = await h.unit_address(juju, f"{h.NFS_SERVER_APP}/0")
    requirer = await h.deploy_subordinate(juju, h.STATIC_PV_PROVISIONER, BASE, {})
    await juju.integrate(f"{requirer}:juju-info", f"{CLIENT}:juju-info")
    await juju.integrate(f"{requirer}:nfs-share", f"{APP}:nfs-share")
    await juju.wait([APP], status="active", timeout=900)
    await juju.wait([requirer], status=None, timeout=900, raise_on_error=True)

    async def share() -> dict | None:
        info = await h.show_unit(juju, f"{requirer}/0")
        relations = h.relation_info(info, "nfs-share")
        data = relations[0].get("application-data", {}) if relations else {}
        return data if data.get("verified") == "true" else None

    data = await h.wait_for("the nfs-share data to be verified", share, timeout=600)
    assert data["server"] == server
    assert data["export"] == h.EXPORT
    assert data["nfs-version"] == "4.1"
    assert "hard" in data["mount-options"].split(",")


async def test_wrong_export_blocks_with_real_export_list(juju):
    server = await h.unit_address(juju, f"{h.NFS_SERVER_APP}/0")
    await juju.config(APP, {"export-path": "/srv/nope"})
    unit = await h.unit_on(juju, APP, f"{CLIENT}/0")
    message = await h.wait_for_unit_status(
        juju, unit, "blocked", f"export /srv/nope not exported by {server} (exports: "
    )
    listed = re.search(r"\(exports: (.*)\)$", message)
    assert listed, message
    assert set(listed.group(1).split(", ")) == {h.EXPORT, h.RESTRICTED_EXPORT}, message


async def test_client_not_allowed_blocks(juju):
    server = await h.unit_address(juju, f"{h.NFS_SERVER_APP}/0")
    client_ip = await h.unit_address(juju, f"{CLIENT}/0")
    await juju.config(APP, {"export-path": h.RESTRICTED_EXPORT})
    unit = await h.unit_on(juju, APP, f"{CLIENT}/0")
    message = await h.wait_for_unit_status(
        juju,
        unit,
        "blocked",
        f"export {h.RESTRICTED_EXPORT} on {server} does not allow this node {client_ip}",
    )
    assert h.NOBODY in message


async def test_recovers_and_withdraws_nothing_while_blocked(juju):
    """Back to the right export: Active again, by itself, with the same message as before."""
    server = await h.unit_address(juju, f"{h.NFS_SERVER_APP}/0")
    await juju.config(APP, {"export-path": h.EXPORT})
    unit = await h.unit_on(juju, APP, f"{CLIENT}/0")
    message = await h.wait_for_unit_status(juju, unit, "active", f"{server}:{h.EXPORT}")
    assert message == f"{server}:{h.EXPORT} ready (nfsvers=4.1)"


async def test_invalid_config_blocks(juju):
    await juju.config(APP, {"export-path": "/"})
    unit = await h.unit_on(juju, APP, f"{CLIENT}/0")
    message = await h.wait_for_unit_status(juju, unit, "blocked", "invalid config: ")
    assert "export-path" in message
    await juju.config(APP, {"export-path": h.EXPORT})
    await h.wait_for_unit_status(juju, unit, "active", "")
