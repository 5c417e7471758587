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
async def test_deploy_principal_and_nfs_server(ops_test):
    """An ubuntu principal (a container is fine) and an ubuntu NFS server (a VM on LXD)."""
    await h.juju(ops_test, "deploy", "ubuntu", CLIENT, "--base", BASE)
    args = ["deploy", "ubuntu", h.NFS_SERVER_APP, "--base", BASE]
    server_constraints = h.join_constraints("mem=2G", h.vm_constraints(ops_test))
    args += ["--constraints", server_constraints]
    await h.juju(ops_test, *args)
    await ops_test.model.wait_for_idle(
        apps=[CLIENT, h.NFS_SERVER_APP], status="active", timeout=1800
    )
    client_ip = await h.unit_address(ops_test, f"{CLIENT}/0")
    await h.setup_nfs_server(
        ops_test,
        f"{h.NFS_SERVER_APP}/0",
        {
            h.EXPORT: [(client_ip, h.RW_OPTIONS)],  # exactly this client: the check is real
            h.RESTRICTED_EXPORT: [(h.NOBODY, h.RO_OPTIONS)],
        },
    )


@pytest.mark.abort_on_fail
async def test_preflight_active(ops_test):
    server = await h.unit_address(ops_test, f"{h.NFS_SERVER_APP}/0")
    await h.deploy_subordinate(ops_test, APP, BASE, {"nas-host": server, "export-path": h.EXPORT})
    await h.juju(ops_test, "integrate", f"{APP}:juju-info", f"{CLIENT}:juju-info")
    await ops_test.model.wait_for_idle(apps=[APP], status="active", timeout=1200)
    unit = ops_test.model.applications[APP].units[0]
    assert unit.workload_status_message == f"{server}:{h.EXPORT} ready (nfsvers=4.1)"


async def test_nfs_common_installed(ops_test):
    client = f"{CLIENT}/0"
    status = await h.exec_on(
        ops_test, client, h.shell_words(["dpkg-query", "-W", "-f=${Status}", "nfs-common"])
    )
    assert status.strip() == "install ok installed"
    await h.exec_on(ops_test, client, h.shell_words(["test", "-x", "/sbin/mount.nfs"]))


async def test_check_action(ops_test):
    unit = h.unit_on(ops_test, APP, f"{CLIENT}/0")
    results = await h.run_action(ops_test, unit, "check")
    assert results["verdict"] == "ready", results
    steps = {step["step"]: step for step in json.loads(results["steps"])}
    assert {"resolve", "connect", "exports", "export", "allowed"} <= set(steps), steps
    assert all(step["ok"] for step in steps.values()), steps
    client_ip = await h.unit_address(ops_test, f"{CLIENT}/0")
    assert client_ip in results["clients"].split(","), results["clients"]


async def test_show_exports_action(ops_test):
    server = await h.unit_address(ops_test, f"{h.NFS_SERVER_APP}/0")
    unit = h.unit_on(ops_test, APP, f"{CLIENT}/0")
    results = await h.run_action(ops_test, unit, "show-exports")
    assert results["server"] == server
    assert h.EXPORT in results["exports"], results["exports"]
    assert h.RESTRICTED_EXPORT in results["exports"], results["exports"]


async def test_share_reaches_static_pv_provisioner(ops_test):
    """The leader publishes the share in its app databag; the requirer sees exactly that.

    static-pv-provisioner has no cluster here (it is Blocked on its kubeconfig): it is only the
    other end of the `nfs-share` relation, whose data `juju show-unit` shows from its side.
    """
    server = await h.unit_address(ops_test, f"{h.NFS_SERVER_APP}/0")
    requirer = await h.deploy_subordinate(ops_test, h.STATIC_PV_PROVISIONER, BASE, {})
    await h.juju(ops_test, "integrate", f"{requirer}:juju-info", f"{CLIENT}:juju-info")
    await h.juju(ops_test, "integrate", f"{requirer}:nfs-share", f"{APP}:nfs-share")
    await ops_test.model.wait_for_idle(apps=[APP], status="active", timeout=900)
    await ops_test.model.wait_for_idle(apps=[requirer], timeout=900, raise_on_error=True)

    async def share() -> dict | None:
        info = await h.show_unit(ops_test, f"{requirer}/0")
        relations = h.relation_info(info, "nfs-share")
        data = relations[0].get("application-data", {}) if relations else {}
        return data if data.get("verified") == "true" else None

    data = await h.wait_for("the nfs-share data to be verified", share, timeout=600)
    assert data["server"] == server
    assert data["export"] == h.EXPORT
    assert data["nfs-version"] == "4.1"
    assert "hard" in data["mount-options"].split(",")


async def test_wrong_export_blocks_with_real_export_list(ops_test):
    server = await h.unit_address(ops_test, f"{h.NFS_SERVER_APP}/0")
    await h.juju(ops_test, "config", APP, "export-path=/srv/nope")
    unit = h.unit_on(ops_test, APP, f"{CLIENT}/0")
    message = await h.wait_for_unit_status(
        ops_test, unit, "blocked", f"export /srv/nope not exported by {server} (exports: "
    )
    listed = re.search(r"\(exports: (.*)\)$", message)
    assert listed, message
    assert set(listed.group(1).split(", ")) == {h.EXPORT, h.RESTRICTED_EXPORT}, message


async def test_client_not_allowed_blocks(ops_test):
    server = await h.unit_address(ops_test, f"{h.NFS_SERVER_APP}/0")
    client_ip = await h.unit_address(ops_test, f"{CLIENT}/0")
    await h.juju(ops_test, "config", APP, f"export-path={h.RESTRICTED_EXPORT}")
    unit = h.unit_on(ops_test, APP, f"{CLIENT}/0")
    message = await h.wait_for_unit_status(
        ops_test,
        unit,
        "blocked",
        f"export {h.RESTRICTED_EXPORT} on {server} does not allow this node {client_ip}",
    )
    assert h.NOBODY in message


async def test_recovers_and_withdraws_nothing_while_blocked(ops_test):
    """Back to the right export: Active again, by itself, with the same message as before."""
    server = await h.unit_address(ops_test, f"{h.NFS_SERVER_APP}/0")
    await h.juju(ops_test, "config", APP, f"export-path={h.EXPORT}")
    unit = h.unit_on(ops_test, APP, f"{CLIENT}/0")
    message = await h.wait_for_unit_status(ops_test, unit, "active", f"{server}:{h.EXPORT}")
    assert message == f"{server}:{h.EXPORT} ready (nfsvers=4.1)"


async def test_invalid_config_blocks(ops_test):
    await h.juju(ops_test, "config", APP, "export-path=/")
    unit = h.unit_on(ops_test, APP, f"{CLIENT}/0")
    message = await h.wait_for_unit_status(ops_test, unit, "blocked", "invalid config: ")
    assert "export-path" in message
    await h.juju(ops_test, "config", APP, f"export-path={h.EXPORT}")
    await h.wait_for_unit_status(ops_test, unit, "active", "")
