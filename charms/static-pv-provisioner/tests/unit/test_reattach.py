"""The reattach action (issue 13) in ops.testing: what a user sees in the action results and
failures, the PV in the (in-memory) cluster afterwards, and the NAS directory untouched.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ops import testing
from test_charm import World, state
from test_ownership import OTHER, mark

import cluster
import pool
from constants import PREVIOUS_CLAIM_ANNOTATION, RECYCLING_ANNOTATION

PV = "homelab-nfs-1gi-001"
CONFIG = {"pool": "1Gi:2", "min-available": 0}


def ready(world: World, phase: str = "Released", claim: str = "kubeflow/database-old") -> Any:
    out = world.run(world.ctx.on.config_changed(), state(world, config=CONFIG))
    assert out.unit_status.name == "active", out.unit_status
    world.api.set_phase(PV, phase, claim)
    if claim:
        world.api.pvs[PV]["spec"]["claimRef"].update(
            uid="old-uid", resourceVersion="77", kind="PersistentVolumeClaim", apiVersion="v1"
        )
    (world.export / PV / "ibdata1").write_text("mysql data")
    world.api.calls.clear()
    world.mounter.mounts.clear()
    return out


def reattach(world: World, out: testing.State, **params: object) -> testing.State:
    full = {"volume": PV, "claim-namespace": "kubeflow", "claim-name": "database-new", **params}
    return world.ctx.run(world.ctx.on.action("reattach", params=full), out)


def test_reattach_prebinds_the_released_pv_to_the_new_claim(world: World) -> None:
    out = ready(world)
    others = {n: copy.deepcopy(pv) for n, pv in world.api.pvs.items() if n != PV}
    world.api.calls.clear()
    after = reattach(world, out, confirm=True)
    results = world.ctx.action_results
    assert results is not None
    assert results["volume"] == PV
    assert results["old-claim"] == "kubeflow/database-old"
    assert results["new-claim"] == "kubeflow/database-new"
    assert results["directory"] == f"10.0.0.5:/volume1/k8s/{PV}"
    assert results["entries"] == "1"
    assert "pre-bound to claim kubeflow/database-new" in results["result"]
    pv = world.api.pvs[PV]
    # claimRef: namespace and name only (no uid: that is what pre-binds it), the old claim kept.
    assert pv["spec"]["claimRef"] == {"namespace": "kubeflow", "name": "database-new"}
    assert pv["metadata"]["annotations"][PREVIOUS_CLAIM_ANNOTATION] == "kubeflow/database-old"
    assert pv["status"]["phase"] == "Available"  # as the PV controller makes a pre-bound PV
    # One write, the merge patch; the data is still there; nothing else changed.
    assert world.api.writes() == [("patch_volume", PV)]
    assert (world.export / PV / "ibdata1").read_text() == "mysql data"
    assert {n: pv for n, pv in world.api.pvs.items() if n != PV} == others
    # The pre-bound PV is not free capacity: not counted available, never deleted or recycled.
    assert after.unit_status == testing.ActiveStatus(
        "homelab-nfs: 2 PVs (1 available, 0 bound, 0 released, 1 pre-bound) on "
        "10.0.0.5:/volume1/k8s"
    )
    world.ctx.run(world.ctx.on.action("list-volumes"), after)
    listed = world.ctx.action_results
    assert listed is not None
    assert listed["summary"] == "2 PVs (1 available, 0 bound, 0 released, 1 pre-bound)"
    assert f"{PV}: pre-bound, waits for claim kubeflow/database-new" in listed["reattach"]
    with pytest.raises(testing.ActionFailed, match="pre-bound to claim kubeflow/database-new"):
        world.ctx.run(
            world.ctx.on.action("recycle", params={"volume": PV, "confirm": True}), after
        )
    world.run(
        world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:1", "min-available": 0})
    )
    assert PV in world.api.pvs
    assert (world.export / PV / "ibdata1").read_text() == "mysql data"


def test_without_confirm_it_says_what_it_would_do_and_changes_nothing(world: World) -> None:
    out = ready(world)
    before = copy.deepcopy(world.api.pvs)
    with pytest.raises(testing.ActionFailed) as failed:
        reattach(world, out)
    message = failed.value.message
    assert f"would pre-bind PV {PV}" in message
    assert f"NAS directory 10.0.0.5:/volume1/k8s/{PV}" in message
    assert "old claim kubeflow/database-old" in message
    assert "to claim kubeflow/database-new" in message
    assert "run again with confirm=true" in message
    assert world.api.pvs == before
    assert world.api.writes() == []


def test_list_volumes_shows_the_claim_a_released_pv_holds_data_of(world: World) -> None:
    out = ready(world)
    world.ctx.run(world.ctx.on.action("list-volumes"), out)
    listed = world.ctx.action_results
    assert listed is not None
    assert f"{PV}: Released, holds the data of claim kubeflow/database-old" in listed["reattach"]


@pytest.mark.parametrize(
    ("phase", "claim", "why"),
    [
        ("Bound", "kubeflow/database-old", "is Bound to claim kubeflow/database-old: in use"),
        ("Available", "", r"is Available \(holds no claim.s data\)"),
        ("Pending", "", "is Pending"),
    ],
)
def test_refuses_what_is_not_released(world: World, phase: str, claim: str, why: str) -> None:
    out = ready(world, phase, claim)
    before = copy.deepcopy(world.api.pvs)
    with pytest.raises(testing.ActionFailed, match=why):
        reattach(world, out, confirm=True)
    assert world.api.pvs == before
    assert world.api.writes() == []


def test_refuses_another_pools_and_unmarked_directories(world: World) -> None:
    out = ready(world)
    markers = world.export / ".static-pv-provisioner"
    # Another pool's marker (same names, another model UUID).
    (markers / f"{PV}.json").unlink()
    mark(world, PV, OTHER)
    before = copy.deepcopy(world.api.pvs)
    with pytest.raises(testing.ActionFailed, match="is owned by pool k8s/static-pv-provisioner"):
        reattach(world, out, confirm=True)
    # No marker at all: not proven ours.
    (markers / f"{PV}.json").unlink()
    with pytest.raises(testing.ActionFailed, match="has no ownership marker: not proven this"):
        reattach(world, out, confirm=True)
    # A marker that is not one.
    (markers / f"{PV}.json").write_text("not json")
    with pytest.raises(testing.ActionFailed, match="its marker is not one of this charm's"):
        reattach(world, out, confirm=True)
    assert world.api.pvs == before
    assert world.api.writes() == []
    assert (world.export / PV / "ibdata1").read_text() == "mysql data"
    assert (markers / f"{PV}.json").read_text() == "not json"


def test_refuses_a_missing_directory_and_a_foreign_pv(world: World) -> None:
    out = ready(world)
    (world.export / PV / "ibdata1").unlink()
    (world.export / PV).rmdir()
    with pytest.raises(testing.ActionFailed, match="does not exist on the share"):
        reattach(world, out, confirm=True)
    # A PV without our labels (another pool's, or anyone's): never touched.
    world.api.pvs["other-pv"] = {**copy.deepcopy(world.api.pvs[PV]), "metadata": {
        "name": "other-pv", "resourceVersion": "1", "labels": {}}}  # fmt: skip
    world.api.set_phase("other-pv", "Released", "kubeflow/x")
    with pytest.raises(testing.ActionFailed, match="is not one of this application's PVs"):
        reattach(world, out, volume="other-pv", confirm=True)
    assert world.api.writes() == []


def test_refuses_a_claim_already_bound_or_waited_for(world: World) -> None:
    out = ready(world)
    world.api.set_phase("homelab-nfs-1gi-002", "Bound", "kubeflow/database-new")
    with pytest.raises(testing.ActionFailed, match="Bound to PV homelab-nfs-1gi-002 already"):
        reattach(world, out, confirm=True)
    world.api.set_phase("homelab-nfs-1gi-002", "Available", "kubeflow/database-new")
    with pytest.raises(testing.ActionFailed, match="already pre-bound to claim kubeflow/data"):
        reattach(world, out, confirm=True)
    assert world.api.writes() == []


def test_conflict_says_changed_since_read(world: World) -> None:
    out = ready(world)
    world.api.faults["patch_volume"] = cluster.ConflictError("patch: 409 Conflict")
    with pytest.raises(testing.ActionFailed, match=r"changed since it was read .* run reattach"):
        reattach(world, out, confirm=True)
    assert world.api.pvs[PV]["spec"]["claimRef"]["name"] == "database-old"
    # A stale resourceVersion is refused by the fake API the same way.
    real = world.api.patch_volume

    def stale(name: str, body: dict) -> str:
        world.api.set_phase(PV, "Released")  # changed after the LIST: a new resourceVersion
        return real(name, body)

    world.api.patch_volume = stale  # type: ignore[method-assign]
    with pytest.raises(testing.ActionFailed, match="changed since it was read"):
        reattach(world, out, confirm=True)
    assert world.api.pvs[PV]["spec"]["claimRef"]["name"] == "database-old"


def test_other_api_failures_and_leadership(world: World) -> None:
    out = ready(world)
    world.api.faults["list_volumes"] = cluster.UnavailableError("Kubernetes API timed out")
    with pytest.raises(testing.ActionFailed, match="reattach stopped: Kubernetes API timed out"):
        reattach(world, out, confirm=True)
    with pytest.raises(testing.ActionFailed, match="only the leader"):
        world.ctx.run(
            world.ctx.on.action("reattach", params={
                "volume": PV, "claim-namespace": "kubeflow", "claim-name": "d", "confirm": True}),
            state(world, leader=False, config=CONFIG),
        )  # fmt: skip
    assert world.api.writes() == []


@pytest.mark.parametrize(
    ("namespace", "name", "why"),
    [
        ("", "d", "claim-namespace '' must be set"),
        ("Kubeflow", "d", "claim-namespace 'Kubeflow' must be a DNS-1123 label"),
        ("kubeflow", "a/b", "claim-name 'a/b' must be a DNS-1123 subdomain"),
        ("kubeflow", "x" * 254, "claim-name 'xxx.*must be at most 253 characters"),
    ],
)
def test_bad_claim_names(namespace: str, name: str, why: str) -> None:
    with pytest.raises(pool.ConfigError, match=why):
        pool.check_claim(namespace, name)


def test_a_pv_recycle_started_is_refused_and_the_old_claim_stays_listed(world: World) -> None:
    # The PV annotations come back through cluster.volume_from_dict: recycle's own mark (it
    # started emptying the directory) refuses reattach; after a reattach list-volumes names the
    # claim the PV held data of.
    out = ready(world)
    world.api.pvs[PV]["metadata"].setdefault("annotations", {})[RECYCLING_ANNOTATION] = "x"
    with pytest.raises(testing.ActionFailed, match="recycl"):
        reattach(world, out, confirm=True)
    del world.api.pvs[PV]["metadata"]["annotations"][RECYCLING_ANNOTATION]
    after = reattach(world, out, confirm=True)
    world.ctx.run(world.ctx.on.action("list-volumes"), after)
    listed = world.ctx.action_results
    assert listed is not None
    assert "it held the data of kubeflow/database-old" in str(listed)
