"""Issue 11 classes 3, 4 and 7 of this charm, as a user sees them (ops.testing).

NAS ownership (markers; a second pool on the same export; the upgrade from markerless
directories), nothing deleted on an unverified share, the class re-check after a clock step,
a partly failed recycle, a very long class name, and a status that would be huge.
Each of these failed on the code before the fix.
"""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from ops import testing
from test_charm import MODEL_UUID, SHARE, World, state, target

import cluster
import manifests
import marker
import nas
from constants import MARKER_ANNOTATION, STATUS_MAX_CHARS
from pool import parse_size

OWNER = manifests.ownership_labels("k8s", "static-pv-provisioner")
OTHER = marker.PoolId("k8s", "0a0b0c0d-1111-4222-8333-944455556666", "static-pv-provisioner",
                      "homelab-nfs")  # fmt: skip
MARKS = ".static-pv-provisioner"


def old_pv(world: World, name: str, phase: str = "Available", claim: str = "") -> None:
    """A PV as the charm made it before markers: its directory, no marker, no annotation."""
    size = parse_size(name.split("-")[-2].replace("gi", "Gi"))
    pv = manifests.persistent_volume(target("1Gi:2"), name, size, OWNER, marked=False)
    world.api.add_pv(pv, phase, claim)
    (world.export / name).mkdir()


def mark(world: World, name: str, pool: marker.PoolId) -> None:
    (world.export / MARKS).mkdir(exist_ok=True)
    (world.export / MARKS / f"{name}.json").write_bytes(marker.render(pool, name))


def test_upgrade_adopts_directories_made_before_markers(world: World) -> None:
    old_pv(world, "homelab-nfs-1gi-001", "Bound", "kubeflow/mysql")
    (world.export / "homelab-nfs-1gi-001" / "ibdata1").write_text("mysql data")
    old_pv(world, "homelab-nfs-1gi-002")
    old_pv(world, "homelab-nfs-1gi-003", "Released", "kubeflow/minio")
    (world.export / "homelab-nfs-1gi-003" / "bucket").write_text("minio data")
    world.api.classes["homelab-nfs"] = manifests.storage_class(
        "homelab-nfs", "Immediate", None, OWNER
    )
    config = {"pool": "1Gi:3", "min-available": 0}
    out = world.run(world.ctx.on.upgrade_charm(), state(world, config=config))
    assert out.unit_status.name == "active", out.unit_status
    # No PV deleted or replaced, no directory renamed or emptied: all three adopted.
    assert world.api.phases() == {
        "homelab-nfs-1gi-001": "Bound",
        "homelab-nfs-1gi-002": "Available",
        "homelab-nfs-1gi-003": "Released",
    }
    assert (world.export / "homelab-nfs-1gi-001" / "ibdata1").read_text() == "mysql data"
    assert (world.export / "homelab-nfs-1gi-003" / "bucket").read_text() == "minio data"
    for name in world.api.pvs:
        assert world.api.pvs[name]["metadata"]["annotations"] == {MARKER_ANNOTATION: "v1"}
        data = json.loads((world.export / MARKS / f"{name}.json").read_text())
        assert (data["model-uuid"], data["class"], data["volume"]) == (
            MODEL_UUID,
            "homelab-nfs",
            name,
        )
    # Adopted once: the next update-status mounts nothing and writes nothing.
    world.mounter.mounts.clear()
    world.api.calls.clear()
    world.run(world.ctx.on.update_status(), out)
    assert world.mounter.mounts == []
    assert world.api.writes() == []
    # And recycle works on the adopted Released one.
    world.ctx.run(
        world.ctx.on.action("recycle", params={"volume": "homelab-nfs-1gi-003", "confirm": True}),
        out,
    )
    assert world.ctx.action_results["recycled"] == "homelab-nfs-1gi-003"
    assert list((world.export / "homelab-nfs-1gi-003").iterdir()) == []


def test_a_second_pool_on_the_export_never_takes_the_first_ones_directories(
    world: World,
) -> None:
    # Another deployment (same model, application and class names, another model UUID) made
    # 001 and 002 on this export: 001 holds its Bound data, 002 is its Available PV.
    for name in ("homelab-nfs-1gi-001", "homelab-nfs-1gi-002"):
        (world.export / name).mkdir()
        mark(world, name, OTHER)
    (world.export / "homelab-nfs-1gi-001" / "ibdata1").write_text("their data")
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:2"}))
    assert sorted(world.api.pvs) == ["homelab-nfs-1gi-003", "homelab-nfs-1gi-004"]
    assert out.unit_status == testing.BlockedStatus(
        "homelab-nfs: 2 PVs (2 available, 0 bound, 0 released) on 10.0.0.5:/volume1/k8s; "
        "NAS directories homelab-nfs-1gi-001, homelab-nfs-1gi-002 belong to another pool "
        "(owned by pool k8s/static-pv-provisioner class homelab-nfs (model 0a0b0c0d…)): never "
        "used, emptied or recycled by this one"
    )
    assert (world.export / "homelab-nfs-1gi-001" / "ibdata1").read_text() == "their data"
    assert marker.parse((world.export / MARKS / "homelab-nfs-1gi-002.json").read_bytes(),
                        "homelab-nfs-1gi-002") == OTHER  # fmt: skip


def test_recycle_never_empties_a_directory_of_another_pool(world: World) -> None:
    # Made by today's bug: our Released PV points at a directory the other pool has marked.
    old_pv(world, "homelab-nfs-1gi-001", "Released", "kubeflow/old")
    mark(world, "homelab-nfs-1gi-001", OTHER)
    (world.export / "homelab-nfs-1gi-001" / "ibdata1").write_text("their bound data")
    st = state(world, config={"pool": "1Gi:1"})
    with pytest.raises(testing.ActionFailed, match="1 volumes were not recycled"):
        world.ctx.run(
            world.ctx.on.action("recycle", params={"all-released": True, "confirm": True}), st
        )
    assert world.ctx.action_results is not None
    assert world.ctx.action_results["recycled"] == "none"
    failed = json.loads(world.ctx.action_results["failed"])
    assert (
        "owned by pool k8s/static-pv-provisioner class homelab-nfs (model 0a0b0c0d…)"
        in (failed["homelab-nfs-1gi-001"])
    )
    assert "never emptied" in failed["homelab-nfs-1gi-001"]
    assert (world.export / "homelab-nfs-1gi-001" / "ibdata1").read_text() == "their bound data"
    assert world.api.phases()["homelab-nfs-1gi-001"] == "Released"


# Class 4: nothing deleted on an unverified share.


def test_an_export_typo_deletes_nothing(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:2"}))
    world.api.set_phase("homelab-nfs-1gi-001", "Bound", "kubeflow/data")
    before = dict(world.api.pvs)
    # The export is mistyped: the NAS refuses the mount (as mount.nfs says it).
    world.mounter.fail = nas.NasError(
        "mounting 10.0.0.5:/volume1/k8z failed: mount.nfs: mounting 10.0.0.5:/volume1/k8z "
        "failed, reason given by server: No such file or directory"
    )
    typo = {**SHARE, "export": "/volume1/k8z"}
    out = world.run(world.ctx.on.config_changed(), replace(
        out, relations=state(world, share=typo, config={"pool": "1Gi:2"}).relations))  # fmt: skip
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith(
        "NAS: mounting 10.0.0.5:/volume1/k8z failed: mount.nfs"
    )
    assert out.unit_status.message.endswith(
        "the share is not verified, so none of the 1 available PVs on the old share or class "
        "was removed or replaced"
    )
    assert sorted(world.api.pvs) == sorted(before)  # the Available PV is still there
    assert [w for w in world.api.writes() if w[0] == "delete"] == []


def test_a_verified_new_share_replaces_the_available_pvs(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:1"}))
    moved = {**SHARE, "export": "/volume2/k8s"}
    out = world.run(world.ctx.on.config_changed(), replace(
        out, relations=state(world, share=moved, config={"pool": "1Gi:1"}).relations))  # fmt: skip
    assert out.unit_status.name == "active", out.unit_status
    assert world.api.pvs
    for pv in world.api.pvs.values():
        assert pv["spec"]["nfs"]["path"].startswith("/volume2/k8s/")
    assert (world.export / MARKS).is_dir()  # verified (probe written and removed) first


# Class 7.


def test_class_check_survives_a_clock_stepped_back(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world))
    world.clock -= 86_400  # NTP stepped the clock back a day
    world.api.calls.clear()
    out = world.run(world.ctx.on.update_status(), out)
    assert ("list_classes", "") in world.api.calls  # the check ran (before: frozen for a day)
    world.api.calls.clear()
    out = world.run(world.ctx.on.update_status(), out)
    assert ("list_classes", "") not in world.api.calls  # and is recorded at the new time
    world.clock += 10 * 86_400  # stepped forward: an early check, then the normal hour again
    world.api.calls.clear()
    out = world.run(world.ctx.on.update_status(), out)
    assert ("list_classes", "") in world.api.calls


def test_a_recycle_that_stops_says_what_it_did_and_did_not_do(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:3"}))
    for name in ("homelab-nfs-1gi-001", "homelab-nfs-1gi-002", "homelab-nfs-1gi-003"):
        world.api.set_phase(name, "Released", f"kubeflow/{name[-3:]}")
        (world.export / name / "data").write_text("old")
    world.api.faults["make_available"] = cluster.UnavailableError(
        "Kubernetes API error 503 while trying to patch persistentvolumes"
    )
    with pytest.raises(testing.ActionFailed) as failed:
        world.ctx.run(
            world.ctx.on.action("recycle", params={"all-released": True, "confirm": True}), out
        )
    message = failed.value.message
    assert message.startswith(
        "recycle stopped: Kubernetes API error 503 while trying to patch persistentvolumes"
    )
    assert (
        "homelab-nfs-1gi-001: stopped while recycling it: its directory was emptied, but it is "
        "still Released: run recycle again" in message
    )
    assert "not tried (left as they are): homelab-nfs-1gi-002, homelab-nfs-1gi-003" in message
    results = world.ctx.action_results
    assert results is not None
    assert results["recycled"] == "none"
    assert results["not-tried"] == "homelab-nfs-1gi-002, homelab-nfs-1gi-003"
    assert list((world.export / "homelab-nfs-1gi-001").iterdir()) == []
    assert (world.export / "homelab-nfs-1gi-002" / "data").read_text() == "old"
    assert (world.export / "homelab-nfs-1gi-003" / "data").read_text() == "old"


def test_a_very_long_class_name_still_gives_storage_pool_commands(world: World) -> None:
    long_name = "homelab-" + "n" * 192  # 200 characters: the longest class name allowed
    st = state(world, config={"storage-class": long_name})
    world.ctx.run(world.ctx.on.action("storage-pool-commands", params={"model": "kubeflow"}), st)
    results = world.ctx.action_results
    assert results is not None
    pool_name = results["commands"].split()[4]
    assert len(pool_name) <= 128
    assert pool_name[0].isalpha()
    assert f"storage-class={long_name} " in results["commands"]
    other = state(world, config={"storage-class": "homelab-" + "n" * 191 + "x"})
    world.ctx.run(world.ctx.on.action("storage-pool-commands", params={"model": "kubeflow"}),
                  other)  # fmt: skip
    assert world.ctx.action_results is not None
    assert world.ctx.action_results["commands"].split()[4] != pool_name  # two pools, two names


def test_a_huge_status_is_capped_and_says_how_many_more(world: World) -> None:
    # 300 PVs that are not ours take the pool's names: the status names 5 and counts the rest.
    for index in range(1, 301):
        name = f"homelab-nfs-1gi-{index:03d}"
        pv = manifests.persistent_volume(target("1Gi:1"), name, parse_size("1Gi"), {})
        world.api.add_pv(pv)
    out = world.run(
        world.ctx.on.config_changed(),
        state(world, config={"pool": "1Gi:300", "max-per-size": 999, "min-available": 0}),
    )
    message = out.unit_status.message
    assert len(message) <= STATUS_MAX_CHARS
    assert "homelab-nfs-1gi-005 and 295 more exists without this application's labels" in message


def test_status_cap_keeps_whole_notes() -> None:
    import status

    message = "pool: 2 PVs; " + "; ".join(f"note {i} " + "x" * 100 for i in range(50))
    capped = status.capped(message)
    assert len(capped) <= STATUS_MAX_CHARS
    assert capped.startswith("pool: 2 PVs; note 0 ")
    assert capped.endswith("more notes (see the debug log)")


def test_markers_live_beside_the_directories(tmp_path: Path) -> None:
    pool = marker.PoolId("k8s", MODEL_UUID, "app", "homelab-nfs")
    assert marker.parse(marker.render(pool, "v-1"), "v-1") == pool
    with pytest.raises(marker.MarkerError):
        marker.parse(marker.render(pool, "v-1"), "v-2")
    with pytest.raises(marker.MarkerError):
        marker.parse(b"{}", "v-1")


def test_a_chown_that_does_not_take_is_root_squash(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A NAS that maps root to another user accepts chown and keeps its own owner. With a mode
    # that lets no other uid write (2770), the workload could not write: Blocked, no PV.
    monkeypatch.setattr(nas.os, "chown", lambda *args, **kwargs: None)
    config = {"pool": "1Gi:1", "directory-owner": "1000:100", "directory-mode": "2770"}
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    assert out.unit_status.name == "blocked"
    assert "did not take" in out.unit_status.message
    assert "squashes root" in out.unit_status.message
    assert "Synology" in out.unit_status.message  # the NAS-side fix, per product
    assert "directory-mode=1777" in out.unit_status.message  # or the charm-side one
    assert world.api.pvs == {}  # never a PV on a directory the workload may not write


def test_a_refused_chown_is_root_squash(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # A NAS that squashes root refuses the chown outright (EPERM).
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(nas.os, "chown", refuse)
    config = {"pool": "1Gi:1", "directory-owner": "1000:100", "directory-mode": "0770"}
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    assert out.unit_status.name == "blocked"
    assert "was refused" in out.unit_status.message
    assert world.api.pvs == {}


def test_root_squash_with_the_world_writable_default_still_provisions(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default mode 1777 lets every uid write even though the owner did not take: the
    # pool is provisioned (the squash is noted, not an error).
    monkeypatch.setattr(nas.os, "chown", lambda *args, **kwargs: None)
    config = {"pool": "1Gi:1", "directory-owner": "1000:100"}
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    assert out.unit_status.name == "active", out.unit_status.message
    assert "the NAS squashes root: new PV directories are 0:0, not 1000:100" in (
        out.unit_status.message
    )
    assert "Synology" in out.unit_status.message
    assert world.api.pvs
    for name in world.api.pvs:
        assert stat.S_IMODE((world.export / name).stat().st_mode) == 0o1777
