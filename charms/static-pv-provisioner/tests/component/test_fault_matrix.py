"""The fault matrix: the whole charm (ops.testing) against the fake Kubernetes API over HTTP and
the real NFS server, one fault per cell.

Every cell starts from the same lab: a pool of four of our PVs (one Bound, one Released, both
with data in their NAS directories, two Available), a foreign PV and a foreign StorageClass
(no ownership labels, one of them even in our class), and a foreign directory on the export.
It injects one fault, runs one hook or action, and then asserts:

- the hook did not raise, and the status (or the failed action) says what happened;
- no Bound or Released PV was deleted or changed phase;
- no foreign object was written to (no request named it) or changed;
- no directory or file on the NAS was removed or changed;
- once the fault clears, the next update-status converges: Active, and the one after that is
  the steady state (one LIST, no writes).

The NAS is "mounted" with a bind mount of the NFS server's export directory (no kernel NFS
client here, see `parts`), after a TCP connection to the server's NFS port as mount.nfs makes
it: a stopped server refuses it, a blackholed port makes the mount time out. Leadership in
ops.testing is fixed for a hook, so a lost lease is simulated where the charm checks it: its
write guard raises LeadershipLostError as `self.unit.is_leader()` turning false would.

What the other component tests already prove is not repeated here: 401/403 on the cluster
layer alone (test_cluster), 404/429/5xx on POST without duplicates at the provisioner level
(test_cluster), 403 on LIST and 503 on LIST through the charm (test_charm_end_to_end).
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from ops import testing
from parts import ProbingBindMounter
from support.fake_kube import FakeKube
from support.net_faults import blackhole
from support.nfs_server import NfsServer

import cluster
import manifests
import provisioner
from charm import StaticPvProvisionerCharm
from pool import Target, parse_pool, parse_size

MODEL_UUID = "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c"  # one model across runs

CHARMCRAFT = yaml.safe_load((Path(__file__).parents[2] / "charmcraft.yaml").read_text())
API_TIMEOUT = 1.5  # seconds; the charm's default is 10, short here so slow cells stay short
MOUNT_TIMEOUT = 2
CLASS = "homelab-nfs"
FOREIGN_PV = "their-nfs-pv"
FOREIGN_CLASS = "their-class"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


class Lease:
    """Leadership as the charm's write guard sees it: lost after `left` more guarded steps."""

    def __init__(self) -> None:
        self.left: int | None = None  # None: never lost

    def check(self) -> None:
        if self.left is None:
            return
        if self.left == 0:
            raise provisioner.LeadershipLostError()
        self.left -= 1


@dataclass
class Lab:
    fk: FakeKube
    nfs: NfsServer
    kubeconfig: Path
    lease: Lease
    mounter: ProbingBindMounter
    ctx: testing.Context

    def run(self, event: Any, state: testing.State) -> testing.State:
        return self.ctx.run(event, state)


@pytest.fixture
def lab(fake_kube: FakeKube, live_nfs_server: NfsServer, tmp_path: Path) -> Iterator[Lab]:
    nfs = live_nfs_server
    for child in nfs.directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    lease = Lease()
    mounter = ProbingBindMounter(nfs)

    class Charm(StaticPvProvisionerCharm):
        cluster_factory = staticmethod(lambda kc: cluster.Cluster(kc, timeout=API_TIMEOUT))
        nfs_client_present = staticmethod(lambda: True)

        def _guard(self) -> None:
            lease.check()
            super()._guard()

    Charm.mounter = mounter
    ctx = testing.Context(
        Charm,
        meta=CHARMCRAFT,
        app_name="static-pv-provisioner",
    )
    yield Lab(fake_kube, nfs, fake_kube.write_kubeconfig(tmp_path / "kc"), lease, mounter, ctx)
    fake_kube.clear_faults()


def config(lab: Lab, **extra: Any) -> dict[str, Any]:
    return {
        "kubeconfig-path": str(lab.kubeconfig),
        "nfs-server": lab.nfs.host,
        "nfs-export": lab.nfs.export,
        "pool": "1Gi:2",
        "mount-timeout": MOUNT_TIMEOUT,
        **extra,
    }


def fresh_state(lab: Lab, leader: bool = True) -> testing.State:
    return testing.State(
        leader=leader,
        config=config(lab),
        relations=[
            testing.SubordinateRelation("juju-info", remote_app_name="kubernetes-control-plane")
        ],
        model=testing.Model(name="k8s", uuid=MODEL_UUID),
    )


def seed(lab: Lab) -> testing.State:
    """The lab every cell starts from (see the module docstring)."""
    target = Target(CLASS, lab.nfs.host, "/elsewhere", ("hard",), parse_pool("1Gi:1", 32), 0, 32)
    foreign = manifests.persistent_volume(target, FOREIGN_PV, parse_size("1Gi"), {"team": "x"})
    lab.fk.create(foreign)
    lab.fk.bind(FOREIGN_PV, "their-claim", "theirs")
    lab.fk.create(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": FOREIGN_CLASS},
            "provisioner": "example.com/theirs",
        }
    )
    (lab.nfs.directory / "someone-elses").mkdir()
    (lab.nfs.directory / "someone-elses" / "notes.txt").write_text("not ours")
    out = lab.run(lab.ctx.on.config_changed(), fresh_state(lab))
    lab.fk.bind(f"{CLASS}-1gi-001", "data-mysql-0", "kubeflow")
    (lab.nfs.directory / f"{CLASS}-1gi-001" / "ibdata1").write_bytes(b"rows" * 256)
    lab.fk.bind(f"{CLASS}-1gi-002", "old-notebook", "kubeflow")
    (lab.nfs.directory / f"{CLASS}-1gi-002" / "work.ipynb").write_text("{}")
    lab.fk.release(f"{CLASS}-1gi-002")
    out = lab.run(lab.ctx.on.update_status(), out)  # top-up: 003 and 004
    assert out.unit_status == testing.ActiveStatus(
        f"{CLASS}: 4 PVs (2 available, 1 bound, 1 released) on {lab.nfs.host}:{lab.nfs.export}"
    ), out.unit_status
    lab.mounter.calls.clear()
    return out


@dataclass(frozen=True)
class Snapshot:
    in_use: dict[str, str]  # our Bound/Released PVs: name -> phase
    foreign: dict[tuple[str, str], str]  # (kind, name) -> resourceVersion
    files: dict[str, bytes]  # every file on the export, by relative path
    directories: frozenset[str]


def snapshot(lab: Lab) -> Snapshot:
    in_use = {
        pv["metadata"]["name"]: pv["status"]["phase"]
        for pv in lab.fk.list("PersistentVolume")
        if pv["metadata"]["name"] != FOREIGN_PV and pv["status"]["phase"] in ("Bound", "Released")
    }
    foreign = {}
    for kind, name in (("PersistentVolume", FOREIGN_PV), ("StorageClass", FOREIGN_CLASS)):
        obj = lab.fk.get(kind, name)
        assert obj is not None
        foreign[(kind, name)] = obj["metadata"]["resourceVersion"]
    root = lab.nfs.directory
    files = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    dirs = frozenset(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir())
    return Snapshot(in_use, foreign, files, dirs)


def check_invariants(lab: Lab, before: Snapshot) -> None:
    for name, phase in before.in_use.items():
        pv = lab.fk.get("PersistentVolume", name)
        assert pv is not None, f"in-use PV {name} was deleted"
        assert pv["status"]["phase"] == phase, f"{name} is {pv['status']['phase']} now"
    for (kind, name), version in before.foreign.items():
        obj = lab.fk.get(kind, name)
        assert obj is not None, f"foreign {kind} {name} was deleted"
        assert obj["metadata"]["resourceVersion"] == version, f"foreign {kind} {name} changed"
    touched = [
        r for r in lab.fk.requests if r.method in WRITES and r.name in (FOREIGN_PV, FOREIGN_CLASS)
    ]
    assert touched == []
    now = snapshot(lab)
    assert before.directories <= now.directories, before.directories - now.directories
    for path, content in before.files.items():
        assert now.files.get(path) == content, f"{path} on the NAS was removed or changed"


def converge(lab: Lab, out: testing.State, leader_config: Mapping[str, Any]) -> None:
    """The fault is gone: the next update-status converges, the one after is steady."""
    lab.fk.clear_faults()
    lab.lease.left = None
    if not lab.nfs.running:
        lab.nfs.restart()
    out = dataclasses.replace(out, leader=True, config=dict(leader_config))
    out = lab.run(lab.ctx.on.config_changed(), out)
    assert out.unit_status.name == "active", out.unit_status
    lab.fk.reset_requests()
    out = lab.run(lab.ctx.on.update_status(), out)
    assert out.unit_status.name == "active", out.unit_status
    assert [r.verb for r in lab.fk.requests] == ["LIST"], [
        (r.verb, r.path) for r in lab.fk.requests
    ]
    names = [pv["metadata"]["name"] for pv in lab.fk.list("PersistentVolume")]
    assert len(names) == len(set(names))
    for name in names:  # every PV of ours has its directory on the NAS
        if name != FOREIGN_PV:
            assert (lab.nfs.directory / name).is_dir(), name


# The faults. Each returns a context manager that is active while the hook runs.


def nothing(lab: Lab) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


def fail(status: int, method: str | None, path: str | None = None, times: int | None = 1):
    def inject(lab: Lab) -> AbstractContextManager[None]:
        lab.fk.fail(status, method=method, path=path, times=times)
        return contextlib.nullcontext()

    return inject


def slow(seconds: float, method: str | None = None, times: int | None = None):
    def inject(lab: Lab) -> AbstractContextManager[None]:
        lab.fk.delay(seconds, method=method, times=times)
        return contextlib.nullcontext()

    return inject


def dropped(method: str, path: str | None = None):
    def inject(lab: Lab) -> AbstractContextManager[None]:
        lab.fk.drop(method=method, path=path, times=1)
        return contextlib.nullcontext()

    return inject


def nas_refusing(lab: Lab) -> AbstractContextManager[None]:
    lab.nfs.stop()
    return contextlib.nullcontext()


@contextlib.contextmanager
def _silent(lab: Lab) -> Iterator[None]:
    lab.nfs.stop()
    with blackhole(lab.nfs.host, lab.nfs.port):
        yield


def nas_silent(lab: Lab) -> AbstractContextManager[None]:
    return _silent(lab)


def lease_lost_after(steps: int):
    def inject(lab: Lab) -> AbstractContextManager[None]:
        lab.lease.left = steps
        return contextlib.nullcontext()

    return inject


GROW = {"pool": "1Gi:2,2Gi:2"}  # two creates (a new size)
SHRINK = {"pool": "1Gi:1", "min-available": 0}  # two deletes (003, 004; 001/002 are in use)
REMOUNT = {"nfs-mount-options": "nfsvers=4.2,hard,noresvport"}  # four server-side applies
REFUSED = "failed: mount.nfs: Connection refused"


@dataclass(frozen=True)
class Cell:
    id: str
    fault: Callable[[Lab], AbstractContextManager[None]]
    event: str  # config_changed, update_status, remove, or an action name
    change: dict[str, Any]  # config for this hook (and for the converging ones after it)
    status: str  # unit status name; "failed" for an action
    says: str  # part of the status message (or of the action's failure)
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    settle: float = 0.0  # seconds for a slow request still in flight to land
    max_seconds: float = 15.0


CELLS = [
    # The NAS.
    Cell("nas refusing, reconcile that creates", nas_refusing, "config_changed", GROW,
         "blocked", f"NAS: mounting {{nas}} {REFUSED}"),
    Cell("nas silently dropping, reconcile that creates", nas_silent, "config_changed", GROW,
         "waiting", f"NAS: mounting {{nas}} timed out after {MOUNT_TIMEOUT}s; retrying",
         max_seconds=MOUNT_TIMEOUT + 5),
    Cell("nas down, steady update-status needs no mount", nas_refusing, "update_status", {},
         "active", "4 PVs (2 available, 1 bound, 1 released)"),
    Cell("nas down, shrink needs no mount", nas_refusing, "config_changed", SHRINK,
         "active", "2 PVs (0 available, 1 bound, 1 released)"),
    Cell("nas down, recycle", nas_refusing, "recycle", {}, "failed",
         f"recycle stopped: mounting {{nas}} {REFUSED}",
         params={"volume": f"{CLASS}-1gi-002", "confirm": True}),
    Cell("nas down, removal", nas_refusing, "remove", {}, "maintenance",
         "removed: deleted 2 available PVs; left 2 in-use PVs"),
    # The API.
    Cell("401 on create", fail(401, "POST", "persistentvolumes"), "config_changed", GROW,
         "blocked", "(401 Unauthorized) while trying to create persistentvolumes"),
    Cell("403 on delete", fail(403, "DELETE", "persistentvolumes"), "config_changed", SHRINK,
         "blocked", "not allowed to delete persistentvolumes (403 Forbidden, needs RBAC verb "
         "'delete' on persistentvolumes)"),
    Cell("403 on server-side apply", fail(403, "PATCH"), "config_changed", REMOUNT,
         "blocked", "not allowed to patch persistentvolumes (403 Forbidden"),
    Cell("404 on list", fail(404, "LIST", "persistentvolumes"), "update_status", {},
         "waiting", "list persistentvolumes: 404 Not Found"),
    Cell("409 on create", fail(409, "POST", "persistentvolumes"), "config_changed", GROW,
         "waiting", "conflicted while creating it; retrying at the next update-status"),
    Cell("409 on server-side apply", fail(409, "PATCH"), "config_changed", REMOUNT,
         "waiting", "patch persistentvolumes: 409 Conflict"),
    Cell("500 on create", fail(500, "POST", "persistentvolumes"), "config_changed", GROW,
         "waiting", "Kubernetes API error 500 while trying to create persistentvolumes"),
    Cell("500 on delete", fail(500, "DELETE"), "config_changed", SHRINK,
         "waiting", "Kubernetes API error 500 while trying to delete persistentvolumes"),
    Cell("500 on every request", fail(500, None, None, None), "config_changed", GROW,
         "waiting", "Kubernetes API error 500 while trying to list persistentvolumes"),
    Cell("slow but within the timeout", slow(0.3), "config_changed", GROW,
         "active", "6 PVs (4 available, 1 bound, 1 released)"),
    Cell("create slower than the timeout", slow(API_TIMEOUT + 1, "POST", 1), "config_changed",
         GROW, "waiting", "timed out while trying to create persistentvolumes", settle=2.0),
    Cell("list slower than the timeout", slow(API_TIMEOUT + 1, "LIST", 1), "update_status", {},
         "waiting", "timed out while trying to list persistentvolumes", settle=2.0),
    Cell("dropped connection on list", dropped("LIST"), "update_status", {},
         "waiting", "unreachable while trying to list persistentvolumes"),
    Cell("dropped connection on create", dropped("POST", "persistentvolumes"), "config_changed",
         GROW, "waiting", "unreachable while trying to create persistentvolumes"),
    Cell("dropped connection on delete", dropped("DELETE"), "config_changed", SHRINK,
         "waiting", "unreachable while trying to delete persistentvolumes"),
    Cell("500 on delete during removal", fail(500, "DELETE"), "remove", {}, "blocked",
         "removal stopped: Kubernetes API error 500 while trying to delete persistentvolumes"),
    Cell("401 during removal", fail(401, "LIST"), "remove", {}, "blocked",
         "removal stopped: Kubernetes API rejected the credentials"),
    # Leadership.
    Cell("leadership lost between the reads and the first write", lease_lost_after(0),
         "config_changed", GROW, "active", "standby: leadership moved mid-reconcile"),
    Cell("leadership lost after one write", lease_lost_after(1), "config_changed", GROW,
         "active", "standby: leadership moved mid-reconcile"),
    Cell("leadership lost before a shrink", lease_lost_after(0), "config_changed", SHRINK,
         "active", "standby: leadership moved mid-reconcile"),
    Cell("leadership lost during recycle", lease_lost_after(0), "recycle", {}, "failed",
         "recycle stopped: leadership moved",
         params={"volume": f"{CLASS}-1gi-002", "confirm": True}),
]  # fmt: skip


@pytest.mark.parametrize("cell", CELLS, ids=lambda c: c.id)
def test_fault(lab: Lab, cell: Cell) -> None:
    ready = seed(lab)
    before = snapshot(lab)
    state = dataclasses.replace(ready, config={**ready.config, **cell.change})
    if cell.event == "remove":
        state = dataclasses.replace(state, planned_units=0)  # the application is removed
    says = cell.says.replace("{nas}", f"{lab.nfs.host}:{lab.nfs.export}")
    lab.fk.reset_requests()
    start = time.monotonic()
    with cell.fault(lab):
        if cell.event in CHARMCRAFT["actions"]:
            with pytest.raises(testing.ActionFailed) as failed:
                lab.run(lab.ctx.on.action(cell.event, params=cell.params), state)
            message, out = failed.value.message, state
        else:
            out = lab.run(getattr(lab.ctx.on, cell.event)(), state)
            assert out.unit_status.name == cell.status, out.unit_status
            message = out.unit_status.message
    assert time.monotonic() - start < cell.max_seconds
    assert says in message, message
    assert "admin-token" not in message
    time.sleep(cell.settle)
    check_invariants(lab, before)
    if cell.id.startswith("leadership lost") and cell.event != "recycle":
        # The old leader's next hook: standby, and not one request.
        lab.fk.reset_requests()
        lab.lease.left = None
        old = lab.run(lab.ctx.on.update_status(), dataclasses.replace(out, leader=False))
        assert old.unit_status.message == f"standby: the leader unit manages {CLASS}"
        assert lab.fk.requests == []
    converge(lab, out, state.config)
    check_invariants(lab, before)


def test_nas_down_during_install_then_back(lab: Lab) -> None:
    lab.nfs.stop()
    out = lab.run(lab.ctx.on.install(), fresh_state(lab))
    assert out.unit_status == testing.BlockedStatus(
        f"NAS: mounting {lab.nfs.host}:{lab.nfs.export} {REFUSED}"
    )
    assert lab.fk.list("PersistentVolume") == []  # never a PV without its directory
    assert list(lab.nfs.directory.iterdir()) == []
    lab.nfs.restart()
    out = lab.run(lab.ctx.on.update_status(), out)
    assert out.unit_status.message.startswith(f"{CLASS}: 2 PVs (2 available")
    assert sorted(p.name for p in lab.nfs.directory.iterdir()) == [
        ".static-pv-provisioner",
        f"{CLASS}-1gi-001",
        f"{CLASS}-1gi-002",
    ]


def test_api_unreachable_during_install_then_back(lab: Lab) -> None:
    lab.fk.drop(method=None, times=None)
    out = lab.run(lab.ctx.on.install(), fresh_state(lab))
    assert out.unit_status == testing.WaitingStatus(
        "Kubernetes API unreachable while trying to list persistentvolumes (RemoteProtocolError)"
        "; retrying at the next update-status"
    )
    assert list(lab.nfs.directory.iterdir()) == []
    lab.fk.clear_faults()
    out = lab.run(lab.ctx.on.update_status(), out)
    assert out.unit_status.name == "active"
    assert len(lab.fk.list("PersistentVolume")) == 2
