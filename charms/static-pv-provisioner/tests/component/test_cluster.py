"""The charm's cluster layer and reconcile against the fake Kubernetes API over HTTP.

lightkube talks to `support.fake_kube` through a kubeconfig, exactly as on a unit; the NAS
step runs against the real NFS test server's export directory (bind mount, see `parts`).
Every object the charm sends is validated with kubernetes-validate --strict (1.28 and 1.37).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from parts import export_opener
from support.fake_kube import FakeKube
from support.k8s_schema import assert_valid
from support.nfs_server import NfsServer

import cluster
import manifests
import provisioner
from constants import DEFAULT_CLASS_ANNOTATION, FIELD_MANAGER, RECYCLING_ANNOTATION
from pool import Target, Volume, parse_pool, parse_size

OWNER = manifests.ownership_labels("k8s", "static-pv-provisioner")
OPTIONS = ("nfsvers=4.1", "hard", "timeo=600", "retrans=2", "noresvport")


def settings(
    server: NfsServer, pool: str = "10Gi:3,50Gi:2", options: tuple[str, ...] = OPTIONS, **kw: Any
) -> provisioner.Settings:
    target = Target(
        class_name=kw.pop("class_name", "homelab-nfs"),
        server=server.host,
        export=server.export,
        mount_options=options,
        sizes=parse_pool(pool, 32),
        min_available=kw.pop("min_available", 2),
        max_per_size=32,
    )
    fields: dict[str, Any] = {
        "binding_mode": "Immediate",
        "set_default": False,
        "adopt_class": False,
    }
    fields.update(kw)
    return provisioner.Settings(target=target, owner=OWNER, **fields)


def api_for(fk: FakeKube, tmp_path: Path, token: str = "admin-token", timeout: float = 5.0):  # noqa: S107
    path = fk.write_kubeconfig(tmp_path / "kubeconfig", token=token)
    assert path.stat().st_mode & 0o777 == 0o600
    return cluster.Cluster(cluster.read_kubeconfig_file(str(path)), timeout=timeout)


def no_guard() -> None:
    return None


def reconcile(fk: FakeKube, tmp_path: Path, nfs: NfsServer, check_class: bool = True, **kw: Any):
    return provisioner.reconcile(
        settings(nfs, **kw), api_for(fk, tmp_path), export_opener(nfs), no_guard, check_class
    )


def sent_objects(fk: FakeKube) -> list[dict]:
    return [
        r.body for r in fk.requests if r.method in ("POST", "PATCH") and isinstance(r.body, dict)
    ]


def test_first_reconcile_then_steady_state(
    fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer
) -> None:
    outcome = reconcile(fake_kube, tmp_path, nfs)
    assert outcome.status == "active"
    assert outcome.message == (
        f"homelab-nfs: 5 PVs (5 available, 0 bound, 0 released) on {nfs.host}:{nfs.export}"
    )
    # N creates + O(1) reads: 2 LISTs of PVs (ours by label; every name, as PVs are to be
    # created), 1 LIST of classes, 1 POST class, 5 POST PVs.
    pv_lists = [r for r in fake_kube.requests if (r.verb, r.kind) == ("LIST", "PersistentVolume")]
    assert ["labelSelector" in r.query for r in pv_lists] == [True, False]
    assert fake_kube.count("LIST", "StorageClass") == 1
    assert fake_kube.count("POST", "PersistentVolume") == 5
    assert fake_kube.count("POST", "StorageClass") == 1
    assert fake_kube.count() == 9
    assert all(
        r.query.get("fieldManager") == FIELD_MANAGER
        for r in fake_kube.requests
        if r.method == "POST"
    )
    for obj in sent_objects(fake_kube):
        assert_valid(obj)
    pv = fake_kube.get("PersistentVolume", "homelab-nfs-50gi-002")
    assert pv is not None
    assert pv["status"]["phase"] == "Available"
    assert pv["spec"]["nfs"] == {"server": nfs.host, "path": f"{nfs.export}/homelab-nfs-50gi-002"}
    assert (nfs.directory / "homelab-nfs-50gi-002").is_dir()
    # Steady state: one LIST, no writes, no mount.
    fake_kube.reset_requests()
    outcome = reconcile(fake_kube, tmp_path, nfs, check_class=False)
    assert [(r.verb, r.kind) for r in fake_kube.requests] == [("LIST", "PersistentVolume")]
    assert "labelSelector" in fake_kube.requests[0].query
    assert outcome.writes == 0
    fake_kube.reset_requests()
    reconcile(fake_kube, tmp_path, nfs, check_class=True)
    assert fake_kube.count() == 2
    assert fake_kube.count("LIST") == 2


def test_top_up_and_one_size_change(fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer) -> None:
    reconcile(fake_kube, tmp_path, nfs)
    fake_kube.bind("homelab-nfs-10gi-001", "data-mysql-0", "kubeflow")
    fake_kube.bind("homelab-nfs-10gi-002", "data-mysql-1", "kubeflow")
    fake_kube.reset_requests()
    outcome = reconcile(fake_kube, tmp_path, nfs, check_class=False)
    assert fake_kube.count("POST", "PersistentVolume") == 1  # 1 left available -> 1 more
    assert "2 bound" in outcome.message
    fake_kube.reset_requests()
    reconcile(fake_kube, tmp_path, nfs, check_class=False, pool="10Gi:3,50Gi:5")
    assert [r.verb for r in fake_kube.requests] == ["LIST", "LIST", "POST", "POST", "POST"]
    names = sorted(pv["metadata"]["name"] for pv in fake_kube.list("PersistentVolume"))
    assert names[-1] == "homelab-nfs-50gi-005"


def test_shrink_deletes_only_available(
    fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer
) -> None:
    reconcile(fake_kube, tmp_path, nfs)
    fake_kube.bind("homelab-nfs-50gi-001", "minio-data", "kubeflow")
    fake_kube.bind("homelab-nfs-50gi-002", "old", "kubeflow")
    fake_kube.release("homelab-nfs-50gi-002")
    outcome = reconcile(fake_kube, tmp_path, nfs, pool="10Gi:3")
    left = {pv["metadata"]["name"] for pv in fake_kube.list("PersistentVolume")}
    assert {"homelab-nfs-50gi-001", "homelab-nfs-50gi-002"} <= left
    assert outcome.message.endswith("; 2 in-use PVs could not be removed")


def test_mount_option_change_is_one_apply_per_pv(
    fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer
) -> None:
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:2")
    fake_kube.bind("homelab-nfs-1gi-001", "claim")
    fake_kube.reset_requests()
    new = ("nfsvers=4.2", "hard")
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:2", options=new, check_class=False)
    patches = [r for r in fake_kube.requests if r.method == "PATCH"]
    assert len(patches) == 2  # the two existing PVs; the top-up one is created with them
    for r in patches:
        assert r.content_type == "application/apply-patch+yaml"
        assert r.query.get("fieldManager") == FIELD_MANAGER
        assert r.query.get("force") == "true"
    for obj in sent_objects(fake_kube):
        assert_valid(obj)
    for pv in fake_kube.list("PersistentVolume"):
        assert pv["spec"]["mountOptions"] == list(new)
    bound = fake_kube.get("PersistentVolume", "homelab-nfs-1gi-001")
    assert bound is not None
    assert bound["status"]["phase"] == "Bound"
    assert bound["spec"]["claimRef"]["name"] == "claim"


def test_collision_with_a_foreign_pv(fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer) -> None:
    foreign = manifests.persistent_volume(
        settings(nfs).target, "homelab-nfs-10gi-001", parse_size("10Gi"), {"team": "theirs"}
    )
    fake_kube.create(foreign)
    before = fake_kube.get("PersistentVolume", "homelab-nfs-10gi-001")
    outcome = reconcile(fake_kube, tmp_path, nfs)
    assert outcome.status == "blocked"
    assert "name collision: PV homelab-nfs-10gi-001 exists without this application's labels" in (
        outcome.message
    )
    assert fake_kube.get("PersistentVolume", "homelab-nfs-10gi-001") == before
    assert not (nfs.directory / "homelab-nfs-10gi-001").exists()  # never prepared
    # The steady state with the collision: two LISTs, no write, no mount.
    fake_kube.reset_requests()
    opener = export_opener(nfs)
    outcome = provisioner.reconcile(
        settings(nfs), api_for(fake_kube, tmp_path), opener, no_guard, False
    )
    assert outcome.status == "blocked"
    assert [(r.verb, r.kind) for r in fake_kube.requests] == [("LIST", "PersistentVolume")] * 2
    assert opener.mounter.calls == []  # type: ignore[attr-defined]


def test_class_rules(fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer) -> None:
    fake_kube.create(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "default", "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
            "provisioner": "fuseim.pri/ifs",
        }
    )
    outcome = reconcile(fake_kube, tmp_path, nfs, set_default=True)
    assert outcome.status == "blocked"
    assert "set-default: default is already the default StorageClass" in outcome.message
    ours = fake_kube.get("StorageClass", "homelab-nfs")
    assert ours is not None
    assert DEFAULT_CLASS_ANNOTATION not in (ours["metadata"].get("annotations") or {})
    # Adopt the worker's class unchanged.
    before = fake_kube.get("StorageClass", "default")
    outcome = reconcile(fake_kube, tmp_path, nfs, class_name="default", adopt_class=True)
    assert outcome.status == "active"
    assert fake_kube.get("StorageClass", "default") == before
    # Binding mode change: the fake refuses to update it (immutable), so ours is re-created.
    outcome = reconcile(fake_kube, tmp_path, nfs, binding_mode="WaitForFirstConsumer")
    sc = fake_kube.get("StorageClass", "homelab-nfs")
    assert sc is not None
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    for obj in sent_objects(fake_kube):
        assert_valid(obj)


def test_recycle_empties_the_directory_and_makes_it_available(
    fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer
) -> None:
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:1")
    fake_kube.bind("homelab-nfs-1gi-001", "claim")
    (nfs.directory / "homelab-nfs-1gi-001" / "data").write_text("old")
    fake_kube.release("homelab-nfs-1gi-001")
    api = api_for(fake_kube, tmp_path)
    volumes = api.list_volumes(OWNER)
    chosen, error = provisioner.select_recycle(volumes, "", True)
    assert error == ""
    assert [v.name for v in chosen] == ["homelab-nfs-1gi-001"]
    result = provisioner.recycle(chosen, api, export_opener(nfs), no_guard, settings(nfs).target)
    assert result.recycled == ["homelab-nfs-1gi-001"]
    pv = fake_kube.get("PersistentVolume", "homelab-nfs-1gi-001")
    assert pv is not None
    assert pv["status"]["phase"] == "Available"
    assert "claimRef" not in pv["spec"]
    assert list((nfs.directory / "homelab-nfs-1gi-001").iterdir()) == []


def test_recycle_refuses_a_volume_that_changed(
    fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer
) -> None:
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:1")
    fake_kube.bind("homelab-nfs-1gi-001", "claim")
    fake_kube.release("homelab-nfs-1gi-001")
    api = api_for(fake_kube, tmp_path)
    (stale,) = [v for v in api.list_volumes(OWNER) if v.name == "homelab-nfs-1gi-001"]
    fake_kube.recycle("homelab-nfs-1gi-001")  # someone else made it Available meanwhile
    fake_kube.bind("homelab-nfs-1gi-001", "new-claim")
    with pytest.raises(cluster.ConflictError):
        api.make_available(stale.name, stale.resource_version)
    pv = fake_kube.get("PersistentVolume", "homelab-nfs-1gi-001")
    assert pv is not None
    assert pv["spec"]["claimRef"]["name"] == "new-claim"


def test_recycle_never_empties_a_volume_that_changed_since_the_list(
    fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer
) -> None:
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:1", min_available=0)
    fake_kube.bind("homelab-nfs-1gi-001", "claim")
    fake_kube.release("homelab-nfs-1gi-001")
    data = nfs.directory / "homelab-nfs-1gi-001" / "data"
    data.write_text("the old claim's data")
    api = api_for(fake_kube, tmp_path)
    chosen, _ = provisioner.select_recycle(api.list_volumes(OWNER), "homelab-nfs-1gi-001", False)
    fake_kube.recycle("homelab-nfs-1gi-001")  # someone else made it Available meanwhile
    fake_kube.bind("homelab-nfs-1gi-001", "new-claim")  # and a new claim writes to it
    before = fake_kube.get("PersistentVolume", "homelab-nfs-1gi-001")
    result = provisioner.recycle(chosen, api, export_opener(nfs), no_guard, settings(nfs).target)
    assert result.recycled == []
    assert result.failed == {
        "homelab-nfs-1gi-001": "changed since it was listed: nothing emptied, left as it is"
    }
    assert data.read_text() == "the old claim's data"
    assert fake_kube.get("PersistentVolume", "homelab-nfs-1gi-001") == before


def test_recycle_marks_the_volume_before_emptying_it(
    fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer
) -> None:
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:1", min_available=0)
    fake_kube.bind("homelab-nfs-1gi-001", "claim", "kubeflow")
    fake_kube.release("homelab-nfs-1gi-001")
    (nfs.directory / "homelab-nfs-1gi-001" / "data").write_text("old")
    api = api_for(fake_kube, tmp_path)
    seen: list[dict] = []

    @contextmanager
    def opener() -> Iterator[Any]:
        with export_opener(nfs)() as directories:
            pv = fake_kube.get("PersistentVolume", "homelab-nfs-1gi-001")
            assert pv is not None
            seen.append(pv)
            yield directories

    chosen, _ = provisioner.select_recycle(api.list_volumes(OWNER), "", True)
    fake_kube.reset_requests()
    result = provisioner.recycle(chosen, api, opener, no_guard, settings(nfs).target)
    assert result.recycled == ["homelab-nfs-1gi-001"]
    patches = [r for r in fake_kube.requests if r.method == "PATCH"]
    assert [r.content_type for r in patches] == ["application/merge-patch+json"] * 2
    assert all(r.body["metadata"]["resourceVersion"] for r in patches)
    assert patches[0].body["metadata"]["annotations"] == {RECYCLING_ANNOTATION: "kubeflow/claim"}
    pv = fake_kube.get("PersistentVolume", "homelab-nfs-1gi-001")
    assert pv is not None
    assert pv["status"]["phase"] == "Available"
    assert RECYCLING_ANNOTATION not in (pv["metadata"].get("annotations") or {})
    assert list((nfs.directory / "homelab-nfs-1gi-001").iterdir()) == []


def test_401_names_the_credentials(fake_kube: FakeKube, tmp_path: Path) -> None:
    api = api_for(fake_kube, tmp_path, token="t0ken-n0t-kn0wn")
    with pytest.raises(cluster.UnauthorizedError) as e:
        api.list_volumes(OWNER)
    assert "rejected the credentials from kubeconfig" in str(e.value)
    assert "401 Unauthorized" in str(e.value)
    assert "t0ken" not in str(e.value)


def test_403_names_the_permission(fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer) -> None:
    fake_kube.add_token("pv-token", "pv-manager")
    fake_kube.forbid("pv-manager", "create", "persistentvolumes")
    api = api_for(fake_kube, tmp_path, token="pv-token")
    with pytest.raises(cluster.ForbiddenError) as e:
        provisioner.reconcile(settings(nfs), api, export_opener(nfs), no_guard, True)
    assert "not allowed to create persistentvolumes (403 Forbidden" in str(e.value)
    assert 'User "pv-manager" cannot create resource "persistentvolumes"' in str(e.value)


@pytest.mark.parametrize("status", [404, 429, 500, 503, 504])
def test_server_errors_mid_create_retry_without_duplicates(
    fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer, status: int
) -> None:
    reconcile(fake_kube, tmp_path, nfs, pool="10Gi:1")  # 2 PVs (min-available 2)
    fake_kube.fail(status, method="POST", path="persistentvolumes", times=1)
    with pytest.raises(cluster.ClusterError) as e:
        reconcile(fake_kube, tmp_path, nfs)
    assert e.value.retry
    assert len(fake_kube.list("PersistentVolume")) == 2
    outcome = reconcile(fake_kube, tmp_path, nfs)
    assert outcome.status == "active"
    names = [pv["metadata"]["name"] for pv in fake_kube.list("PersistentVolume")]
    assert len(names) == len(set(names)) == 5


def test_timeouts_and_dropped_connections(fake_kube: FakeKube, tmp_path: Path) -> None:
    fake_kube.delay(2.0, method="LIST")
    api = api_for(fake_kube, tmp_path, timeout=0.5)
    with pytest.raises(cluster.UnavailableError, match="timed out while trying to list"):
        api.list_volumes(OWNER)
    fake_kube.drop(method="LIST")
    with pytest.raises(cluster.UnavailableError, match="unreachable while trying to list"):
        api.list_volumes(OWNER)
    fake_kube.clear_faults()
    assert api.list_volumes(OWNER) == []


def test_leader_change_mid_reconcile(fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer) -> None:
    calls = {"n": 0}

    def guard() -> None:
        calls["n"] += 1
        if calls["n"] > 3:
            raise provisioner.LeadershipLostError()

    api = api_for(fake_kube, tmp_path)
    with pytest.raises(provisioner.LeadershipLostError):
        provisioner.reconcile(settings(nfs), api, export_opener(nfs), guard, True)
    made = len(fake_kube.list("PersistentVolume"))
    assert 0 < made < 5
    outcome = reconcile(fake_kube, tmp_path, nfs)  # the new leader
    assert outcome.status == "active"
    names = [pv["metadata"]["name"] for pv in fake_kube.list("PersistentVolume")]
    assert len(names) == len(set(names)) == 5


def test_remove(fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer) -> None:
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:2")
    fake_kube.bind("homelab-nfs-1gi-002", "claim")
    api = api_for(fake_kube, tmp_path)
    said = provisioner.remove("homelab-nfs", OWNER, api)
    assert said.startswith("deleted 1 available PVs; left 1 in-use PVs (homelab-nfs-1gi-002)")
    assert [pv["metadata"]["name"] for pv in fake_kube.list("PersistentVolume")] == [
        "homelab-nfs-1gi-002"
    ]
    assert fake_kube.get("StorageClass", "homelab-nfs") is not None
    assert (nfs.directory / "homelab-nfs-1gi-001").is_dir()


def test_kubeconfig_from_a_secret_string(fake_kube: FakeKube, tmp_path: Path) -> None:
    path = fake_kube.write_kubeconfig(tmp_path / "kc")
    config = cluster.parse_kubeconfig(path.read_text(), "kubeconfig-secret secret:abc")
    api = cluster.Cluster(config)
    assert api.list_classes() == []
    # What is kept: the current context's server, CA and token, nothing else (a checked,
    # self-contained kubeconfig).
    data = yaml.safe_load(path.read_text())
    assert config.server == data["clusters"][0]["cluster"]["server"]
    assert config.user == data["users"][0]["user"]
    assert config.source == "kubeconfig-secret secret:abc"


def claim_binding(fk: FakeKube, name: str, claim: str) -> None:
    """What the scheduler does for WaitForFirstConsumer: claimRef set, phase still Available."""
    ref = {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": "ns", "name": claim}
    body = json.dumps({"spec": {"claimRef": ref}}).encode()
    code, _ = fk.handle(
        "PATCH",
        f"/api/v1/persistentvolumes/{name}",
        "application/merge-patch+json",
        "Bearer admin-token",
        body,
    )
    assert code == 200
    pv = fk.get("PersistentVolume", name)
    assert pv is not None
    assert pv["status"]["phase"] == "Available"


class BindsAfterList(cluster.Cluster):
    """The real cluster layer; a claim starts binding to `name` right after our LIST of PVs."""

    def __init__(self, kubeconfig: cluster.Kubeconfig, fk: FakeKube, name: str) -> None:
        super().__init__(kubeconfig, timeout=5.0)
        self.fk, self.name = fk, name

    def list_volumes(self, labels: Any) -> list[Volume]:
        volumes = super().list_volumes(labels)
        claim_binding(self.fk, self.name, "late-claim")
        return volumes


def test_a_pv_being_bound_is_never_deleted_by_shrink(
    fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer
) -> None:
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:4", min_available=0)
    claim_binding(fake_kube, "homelab-nfs-1gi-004", "early-claim")  # before our LIST
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:1", min_available=0)
    names = [pv["metadata"]["name"] for pv in fake_kube.list("PersistentVolume")]
    assert names == ["homelab-nfs-1gi-004"]  # in use: it alone is the 1 wanted
    # A claim binding between our LIST and the DELETE: the precondition refuses it (409).
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:2", min_available=0, check_class=False)
    path = fake_kube.write_kubeconfig(tmp_path / "kubeconfig")
    api = BindsAfterList(cluster.read_kubeconfig_file(str(path)), fake_kube, "homelab-nfs-1gi-001")
    fake_kube.reset_requests()
    outcome = provisioner.reconcile(
        settings(nfs, pool="1Gi:1", min_available=0), api, export_opener(nfs), no_guard, False
    )
    (delete,) = [r for r in fake_kube.requests if r.method == "DELETE"]
    assert delete.name == "homelab-nfs-1gi-001"
    assert delete.body["preconditions"]["resourceVersion"]
    pv = fake_kube.get("PersistentVolume", "homelab-nfs-1gi-001")
    assert pv is not None
    assert pv["spec"]["claimRef"]["name"] == "late-claim"
    assert outcome.message.endswith(
        "; PV homelab-nfs-1gi-001 changed since it was listed (a claim may be binding): "
        "not deleted"
    )
    assert (nfs.directory / "homelab-nfs-1gi-001").is_dir()


def test_removal_never_deletes_a_pv_being_bound(
    fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer
) -> None:
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:3", min_available=0)
    claim_binding(fake_kube, "homelab-nfs-1gi-003", "early-claim")
    path = fake_kube.write_kubeconfig(tmp_path / "kubeconfig")
    api = BindsAfterList(cluster.read_kubeconfig_file(str(path)), fake_kube, "homelab-nfs-1gi-002")
    said = provisioner.remove("homelab-nfs", OWNER, api)
    assert said.startswith(
        "deleted 1 available PVs; left 2 in-use PVs (homelab-nfs-1gi-002, homelab-nfs-1gi-003)"
    )
    names = [pv["metadata"]["name"] for pv in fake_kube.list("PersistentVolume")]
    assert names == ["homelab-nfs-1gi-002", "homelab-nfs-1gi-003"]


def test_file_references_are_refused_before_any_request(
    fake_kube: FakeKube, tmp_path: Path
) -> None:
    # A tokenFile would make the root hook read a host file and send it to the server; an
    # exec plugin would run a command as root: both are refused by parse_kubeconfig itself.
    path = fake_kube.write_kubeconfig(tmp_path / "kubeconfig")
    data = yaml.safe_load(path.read_text())
    data["users"][0]["user"] = {"tokenFile": str(tmp_path / "no-such-token")}
    with pytest.raises(cluster.CredentialsError, match="uses 'tokenFile', which names a file"):
        cluster.parse_kubeconfig(yaml.safe_dump(data), "kubeconfig-secret s")
    data["users"][0]["user"] = {
        "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "false"}
    }
    with pytest.raises(cluster.CredentialsError, match="exec"):
        cluster.parse_kubeconfig(yaml.safe_dump(data), "kubeconfig-secret s")
    assert fake_kube.requests == []


def test_renaming_our_default_class(fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer) -> None:
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:1", min_available=0, set_default=True)
    fake_kube.bind("homelab-nfs-1gi-001", "data")
    outcome = reconcile(
        fake_kube, tmp_path, nfs, pool="1Gi:1", min_available=0, set_default=True,
        class_name="lab-nfs",
    )  # fmt: skip
    assert outcome.status == "active", outcome.message
    new, old = (
        fake_kube.get("StorageClass", "lab-nfs"),
        fake_kube.get("StorageClass", "homelab-nfs"),
    )
    assert new is not None
    assert old is not None
    assert new["metadata"]["annotations"] == {DEFAULT_CLASS_ANNOTATION: "true"}
    assert old["metadata"]["annotations"] == {DEFAULT_CLASS_ANNOTATION: "false"}
    for obj in sent_objects(fake_kube):
        assert_valid(obj)
    fake_kube.release("homelab-nfs-1gi-001")
    fake_kube.remove("PersistentVolume", "homelab-nfs-1gi-001")
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:1", min_available=0, set_default=True,
              class_name="lab-nfs")  # fmt: skip
    assert [sc["metadata"]["name"] for sc in fake_kube.list("StorageClass")] == ["lab-nfs"]


def test_set_default_off_takes_back_only_our_marking(
    fake_kube: FakeKube, tmp_path: Path, nfs: NfsServer
) -> None:
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:1", min_available=0, set_default=True)
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:1", min_available=0)
    sc = fake_kube.get("StorageClass", "homelab-nfs")
    assert sc is not None
    assert sc["metadata"]["annotations"] == {DEFAULT_CLASS_ANNOTATION: "false"}
    # Marked default by someone else (kubectl annotate --overwrite): left alone, no write.
    body = json.dumps({"metadata": {"annotations": {DEFAULT_CLASS_ANNOTATION: "true"}}}).encode()
    code, _ = fake_kube.handle(
        "PATCH",
        "/apis/storage.k8s.io/v1/storageclasses/homelab-nfs",
        "application/merge-patch+json",
        "Bearer admin-token",
        body,
        user_agent="kubectl/v1.31",
    )
    assert code == 200
    fake_kube.reset_requests()
    reconcile(fake_kube, tmp_path, nfs, pool="1Gi:1", min_available=0)
    assert fake_kube.count("PATCH") == 0
    sc = fake_kube.get("StorageClass", "homelab-nfs")
    assert sc is not None
    assert sc["metadata"]["annotations"] == {DEFAULT_CLASS_ANNOTATION: "true"}
