"""Self-tests of the fake Kubernetes API server, driven through lightkube and raw HTTP."""

from __future__ import annotations

import http.client
import json
import stat
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import pytest
from lightkube import ApiError, Client, KubeConfig
from lightkube.core import generic_client
from lightkube.models.core_v1 import (
    NFSVolumeSource,
    NodeSpec,
    PersistentVolumeSpec,
    Taint,
)
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Node, PersistentVolume, PersistentVolumeClaim
from lightkube.resources.storage_v1 import StorageClass
from lightkube.types import CascadeType, PatchType
from support.fake_kube import FakeKube, fake_kube, parse_quantity, selector_matches  # noqa: F401
from support.k8s_schema import assert_valid, errors

ADMIN = "admin-token"
# the httpx flavour lightkube uses (httpx or httpx2, depending on the lightkube version)
TRANSPORT_ERROR = vars(generic_client)["httpx"].TransportError


# ----------------------------------------------------------------------------------------------
# helpers


@pytest.fixture
def fk(fake_kube: FakeKube) -> FakeKube:  # noqa: F811
    return fake_kube


def client_for(fk: FakeKube, tmp_path: Path, token: str = ADMIN, manager: str = "test") -> Client:
    path = fk.write_kubeconfig(tmp_path / f"kubeconfig-{token}", token=token)
    return Client(config=KubeConfig.from_file(path), field_manager=manager)


@pytest.fixture
def client(fk: FakeKube, tmp_path: Path) -> Iterator[Client]:
    c = client_for(fk, tmp_path)
    yield c
    c.close()


def raw(
    fk: FakeKube,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = ADMIN,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    host, port = fk.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        assert resp.getheader("Content-Type") == "application/json"
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def pv_dict(name: str, labels: dict[str, str] | None = None, **spec: Any) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "capacity": {"storage": "10Gi"},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "nas",
            "nfs": {"server": "10.0.0.5", "path": f"/export/{name}"},
            **spec,
        },
    }


def pv(name: str, labels: dict[str, str] | None = None) -> PersistentVolume:
    return PersistentVolume(
        metadata=ObjectMeta(name=name, labels=labels),
        spec=PersistentVolumeSpec(
            capacity={"storage": "10Gi"},
            accessModes=["ReadWriteMany"],
            storageClassName="nas",
            nfs=NFSVolumeSource(server="10.0.0.5", path=f"/export/{name}"),
        ),
    )


def node_dict(name: str, labels: dict[str, str] | None = None, taints=None) -> dict:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    if taints:
        obj["spec"]["taints"] = taints
    return obj


def message(err: ApiError) -> str:
    return err.status.message or ""


def assert_status(err: ApiError, code: int, reason: str) -> None:
    assert err.status.code == code
    assert err.status.reason == reason
    assert err.status.status == "Failure"
    assert err.status.kind == "Status"
    assert err.status.apiVersion == "v1"


# ----------------------------------------------------------------------------------------------
# basics


def test_kubeconfig_is_private_and_points_at_the_server(fk: FakeKube, tmp_path: Path):
    path = fk.write_kubeconfig(tmp_path / "sub" / "config", token="t0k")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = KubeConfig.from_file(path).get()
    assert config is not None
    assert config.cluster is not None
    assert config.cluster.server == fk.url
    assert config.user is not None
    assert config.user.token == "t0k"
    assert fk.url.startswith("http://127.0.0.1:")


def test_create_get_list_with_selectors(fk: FakeKube, client: Client):
    created = client.create(pv("pv-a", {"tier": "fast", "app": "x"}))
    client.create(pv("pv-b", {"tier": "slow"}))
    client.create(pv("pv-c"))
    assert created.metadata is not None
    assert created.metadata.uid
    assert created.metadata.generation == 1
    assert created.metadata.creationTimestamp is not None
    assert created.status is not None
    assert created.status.phase == "Available"
    got = client.get(PersistentVolume, "pv-a")
    assert got.metadata is not None
    assert got.metadata.resourceVersion == created.metadata.resourceVersion

    def names(**kw: Any) -> list[str]:
        return [p.metadata.name or "" for p in client.list(PersistentVolume, **kw) if p.metadata]

    assert names() == ["pv-a", "pv-b", "pv-c"]
    assert names(labels={"tier": "fast"}) == ["pv-a"]
    assert names(labels={"tier": ("fast", "slow")}) == ["pv-a", "pv-b"]
    assert names(labels={"tier": None}) == ["pv-a", "pv-b"]
    assert names(fields={"metadata.name": "pv-b"}) == ["pv-b"]
    from lightkube import operators as op

    assert names(labels={"tier": op.not_equal("fast")}) == ["pv-b", "pv-c"]
    assert names(labels={"tier": op.not_in(["fast"])}) == ["pv-b", "pv-c"]
    assert names(labels={"tier": op.not_exists()}) == ["pv-c"]
    assert names(labels={"tier": "fast", "app": "x"}) == ["pv-a"]
    assert names(fields={"metadata.name": op.not_equal("pv-b")}) == ["pv-a", "pv-c"]
    # raw selector syntax: == and set-based with spaces
    _, body = raw(fk, "GET", "/api/v1/persistentvolumes?labelSelector=tier%3D%3Dslow")
    assert [i["metadata"]["name"] for i in body["items"]] == ["pv-b"]
    query = "labelSelector=tier+notin+(fast,slow)"  # codespell:ignore notin
    _, body = raw(fk, "GET", f"/api/v1/persistentvolumes?{query}")
    assert [i["metadata"]["name"] for i in body["items"]] == ["pv-c"]
    assert fk.count("LIST", "PersistentVolume") == 12


def test_list_shape(fk: FakeKube):
    fk.create(pv_dict("pv-1"))
    fk.create(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "nas"},
            "provisioner": "x",
        }
    )
    status, body = raw(fk, "GET", "/api/v1/persistentvolumes")
    assert status == 200
    assert body["kind"] == "PersistentVolumeList"
    assert body["apiVersion"] == "v1"
    assert int(body["metadata"]["resourceVersion"]) >= int(
        body["items"][0]["metadata"]["resourceVersion"]
    )
    assert body["items"][0]["kind"] == "PersistentVolume"
    assert body["items"][0]["apiVersion"] == "v1"
    status, body = raw(fk, "GET", "/apis/storage.k8s.io/v1/storageclasses")
    assert body["kind"] == "StorageClassList"
    assert body["apiVersion"] == "storage.k8s.io/v1"
    assert body["items"][0]["kind"] == "StorageClass"


def test_unsupported_field_selectors_are_rejected_like_the_real_apiserver(client: Client):
    with pytest.raises(ApiError) as err:
        list(client.list(PersistentVolume, fields={"status.phase": "Available"}))
    assert_status(err.value, 400, "BadRequest")
    assert "field label not supported: status.phase" in message(err.value)


def test_namespaced_claims_and_all_namespaces(fk: FakeKube, client: Client):
    for ns in ("a", "b"):
        client.create(
            cast(
                PersistentVolumeClaim,
                PersistentVolumeClaim.from_dict(
                    {
                        "metadata": {"name": "data", "namespace": ns},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                        },
                    }
                ),
            )
        )
    assert [
        c.metadata.namespace
        for c in client.list(PersistentVolumeClaim, namespace="*")
        if c.metadata
    ] == ["a", "b"]
    assert len(list(client.list(PersistentVolumeClaim, namespace="a"))) == 1
    claim = client.get(PersistentVolumeClaim, "data", namespace="b")
    assert claim.status is not None
    assert claim.status.phase == "Pending"
    assert fk.get("PersistentVolumeClaim", "data", "a") is not None
    assert fk.get("PersistentVolumeClaim", "data") is None  # "default"
    assert [r.path for r in fk.requests if r.verb == "LIST"] == [
        "/api/v1/persistentvolumeclaims",
        "/api/v1/namespaces/a/persistentvolumeclaims",
    ]


def test_chunked_list(fk: FakeKube, client: Client):
    for i in range(5):
        fk.create(pv_dict(f"pv-{i}"))
    assert len(list(client.list(PersistentVolume, chunk_size=2))) == 5
    assert fk.count("LIST") == 3


# ----------------------------------------------------------------------------------------------
# errors


def test_not_found_and_already_exists_are_real_status_bodies(client: Client):
    with pytest.raises(ApiError) as err:
        client.get(PersistentVolume, "missing")
    assert_status(err.value, 404, "NotFound")
    assert message(err.value) == 'persistentvolumes "missing" not found'
    assert err.value.status.details is not None
    assert err.value.status.details.name == "missing"
    assert err.value.status.details.kind == "persistentvolumes"
    client.create(pv("pv-a"))
    with pytest.raises(ApiError) as err:
        client.create(pv("pv-a"))
    assert_status(err.value, 409, "AlreadyExists")
    with pytest.raises(ApiError) as err:
        client.delete(StorageClass, "nope")
    assert_status(err.value, 404, "NotFound")
    assert message(err.value) == 'storageclasses.storage.k8s.io "nope" not found'
    assert err.value.status.details is not None
    assert err.value.status.details.group == "storage.k8s.io"


def test_unknown_path_is_404(fk: FakeKube):
    status, body = raw(fk, "GET", "/api/v1/namespaces/default/configmaps")
    assert status == 404
    assert body["reason"] == "NotFound"


def test_stale_resource_version_on_replace_is_a_conflict(fk: FakeKube, client: Client):
    first = client.create(pv("pv-a"))
    fresh = client.get(PersistentVolume, "pv-a")
    assert fresh.metadata is not None
    assert fresh.metadata.labels is None
    fresh.metadata.labels = {"x": "1"}
    updated = client.replace(fresh)
    assert updated.metadata is not None
    assert first.metadata is not None
    assert int(updated.metadata.resourceVersion or 0) > int(first.metadata.resourceVersion or 0)
    assert first.metadata.labels is None
    first.metadata.labels = {"x": "2"}
    with pytest.raises(ApiError) as err:
        client.replace(first)  # carries the old resourceVersion
    assert_status(err.value, 409, "Conflict")
    assert "the object has been modified" in message(err.value)
    # a merge patch carrying a stale resourceVersion is a conflict too
    with pytest.raises(ApiError) as err:
        client.patch(
            PersistentVolume,
            "pv-a",
            {
                "metadata": {
                    "resourceVersion": first.metadata.resourceVersion,
                    "labels": {"y": "1"},
                }
            },
            patch_type=PatchType.MERGE,
        )
    assert_status(err.value, 409, "Conflict")
    # a replace without resourceVersion is unconditional
    obj = fk.get("PersistentVolume", "pv-a")
    assert obj is not None
    del obj["metadata"]["resourceVersion"]
    obj["metadata"]["labels"] = {"z": "1"}
    replaced = client.replace(cast(PersistentVolume, PersistentVolume.from_dict(obj)))
    assert replaced.metadata is not None
    assert replaced.metadata.labels == {"z": "1"}


def test_bad_and_missing_token_are_401(fk: FakeKube, tmp_path: Path):
    bad = client_for(fk, tmp_path, token="wrong")
    with pytest.raises(ApiError) as err:
        bad.get(PersistentVolume, "x")
    assert_status(err.value, 401, "Unauthorized")
    status, body = raw(fk, "GET", "/api/v1/nodes", token=None)
    assert status == 401
    assert body["message"] == "Unauthorized"
    assert fk.requests[-1].user is None
    fk.add_token("other", "alice", groups=("devs",))
    assert list(client_for(fk, tmp_path, token="other").list(Node)) == []
    assert fk.requests[-1].user == "alice"


def test_forbid(fk: FakeKube, client: Client):
    client.create(pv("pv-a"))
    fk.forbid("admin", "delete", "persistentvolumes")
    with pytest.raises(ApiError) as err:
        client.delete(PersistentVolume, "pv-a")
    assert_status(err.value, 403, "Forbidden")
    assert message(err.value) == (
        'persistentvolumes "pv-a" is forbidden: User "admin" cannot delete resource '
        '"persistentvolumes" in API group "" at the cluster scope'
    )
    assert client.get(PersistentVolume, "pv-a")
    fk.forbid("admin", "list", "*")
    with pytest.raises(ApiError) as err:
        list(client.list(StorageClass))
    assert_status(err.value, 403, "Forbidden")
    fk.allow("admin", "delete", "persistentvolumes")
    client.delete(PersistentVolume, "pv-a")


# ----------------------------------------------------------------------------------------------
# patches and server-side apply


def test_apply_creates_updates_and_conflicts(fk: FakeKube, client: Client, tmp_path: Path):
    created = client.apply(pv("pv-a", {"owner": "charm", "extra": "1"}))
    assert created.metadata is not None
    assert created.metadata.labels == {
        "owner": "charm",
        "extra": "1",
    }
    assert fk.requests[-1].method == "PATCH"
    assert fk.requests[-1].content_type == "application/apply-patch+yaml"
    assert fk.requests[-1].query["fieldManager"] == "test"
    assert "force" not in fk.requests[-1].query
    # another manager sets its own label: both kept
    other = client_for(fk, tmp_path, manager="other")
    other.apply(PersistentVolume(metadata=ObjectMeta(name="pv-a", labels={"theirs": "y"})))
    # re-applying without "extra" removes it, "theirs" stays
    updated = client.apply(pv("pv-a", {"owner": "charm"}))
    assert updated.metadata is not None
    assert updated.metadata.labels == {"owner": "charm", "theirs": "y"}
    managers = {m.manager: m for m in updated.metadata.managedFields or []}
    assert set(managers) == {"test", "other"}
    assert managers["test"].operation == "Apply"
    assert managers["other"].fieldsV1 == {"f:metadata": {"f:labels": {"f:theirs": {}}}}
    # changing a field another manager owns: conflict unless forced
    with pytest.raises(ApiError) as err:
        other.apply(PersistentVolume(metadata=ObjectMeta(name="pv-a", labels={"owner": "me"})))
    assert_status(err.value, 409, "Conflict")
    assert message(err.value) == (
        'Apply failed with 1 conflict: conflict with "test" using v1: .metadata.labels.owner'
    )
    details = err.value.status.details
    assert details is not None
    assert details.causes is not None
    assert details.causes[0].field == ".metadata.labels.owner"
    assert (fk.get("PersistentVolume", "pv-a") or {})["metadata"]["labels"]["owner"] == "charm"
    forced = other.apply(
        PersistentVolume(metadata=ObjectMeta(name="pv-a", labels={"owner": "me"})), force=True
    )
    assert fk.requests[-1].query["force"] == "true"
    assert forced.metadata is not None
    assert forced.metadata.labels is not None
    assert forced.metadata.labels["owner"] == "me"
    # applying the same value another manager set is no conflict: both own it
    third = client_for(fk, tmp_path, manager="third")
    shared = third.apply(
        PersistentVolume(metadata=ObjectMeta(name="pv-a", labels={"theirs": "y"}))
    )
    assert shared.metadata is not None
    assert {m.manager for m in shared.metadata.managedFields or []} == {"test", "other", "third"}
    # a manager omitting fields it applied before removes them (spec here): invalid PV
    with pytest.raises(ApiError) as err:
        client.apply(PersistentVolume(metadata=ObjectMeta(name="pv-a")))
    assert_status(err.value, 422, "Invalid")
    other.close()
    third.close()


def test_apply_needs_a_field_manager(fk: FakeKube):
    fk.create(pv_dict("pv-a"))
    status, body = raw(
        fk,
        "PATCH",
        "/api/v1/persistentvolumes/pv-a",
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-a"}},
        content_type="application/apply-patch+yaml",
    )
    assert status == 400
    assert body["reason"] == "BadRequest"
    yaml_body = (
        "apiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: pv-a\n  labels:\n    a: b\n"
    )
    status, body = raw(
        fk,
        "PATCH",
        "/api/v1/persistentvolumes/pv-a?fieldManager=yaml",
        yaml_body,
        content_type="application/apply-patch+yaml",
    )
    assert status == 200, body
    assert body["metadata"]["labels"] == {"a": "b"}


def test_merge_patch_null_deletes_a_label(fk: FakeKube, client: Client):
    client.create(pv("pv-a", {"a": "1", "b": "2"}))
    patched = client.patch(
        PersistentVolume, "pv-a", {"metadata": {"labels": {"a": None}}}, patch_type=PatchType.MERGE
    )
    assert patched.metadata is not None
    assert patched.metadata.labels == {"b": "2"}
    assert fk.requests[-1].content_type == "application/merge-patch+json"
    patched = client.patch(
        PersistentVolume, "pv-a", {"metadata": {"labels": {"b": None, "c": "3"}}}
    )
    assert fk.requests[-1].content_type == "application/strategic-merge-patch+json"
    assert patched.metadata is not None
    assert patched.metadata.labels == {"c": "3"}


def test_strategic_merge_lists(fk: FakeKube, client: Client):
    fk.create(node_dict("n1"))
    status, body = raw(
        fk,
        "PATCH",
        "/api/v1/nodes/n1/status",
        {
            "status": {
                "conditions": [
                    {"type": "GPU", "status": "True"},
                    {"type": "Ready", "status": "False"},
                ]
            }
        },
        content_type="application/strategic-merge-patch+json",
    )
    assert status == 200, body
    assert body["status"]["conditions"] == [
        {"type": "Ready", "status": "False"},
        {"type": "GPU", "status": "True"},
    ]
    status, body = raw(
        fk,
        "PATCH",
        "/api/v1/nodes/n1",
        {"metadata": {"finalizers": ["a", "b"]}},
        content_type="application/strategic-merge-patch+json",
    )
    status, body = raw(
        fk,
        "PATCH",
        "/api/v1/nodes/n1",
        {"metadata": {"finalizers": ["c"], "$deleteFromPrimitiveList/finalizers": ["a"]}},
        content_type="application/strategic-merge-patch+json",
    )
    assert body["metadata"]["finalizers"] == ["b", "c"]


def test_json_patch(fk: FakeKube, client: Client):
    client.create(pv("pv-a", {"a": "1"}))
    patched = client.patch(
        PersistentVolume,
        "pv-a",
        [
            {"op": "add", "path": "/metadata/labels/nvidia.com~1gpu", "value": "true"},
            {"op": "remove", "path": "/metadata/labels/a"},
            {"op": "replace", "path": "/spec/capacity/storage", "value": "20Gi"},
        ],
        patch_type=PatchType.JSON,
    )
    assert patched.metadata is not None
    assert patched.metadata.labels == {"nvidia.com/gpu": "true"}
    assert patched.spec is not None
    assert patched.spec.capacity == {"storage": "20Gi"}
    assert patched.metadata.generation == 2
    with pytest.raises(ApiError) as err:
        client.patch(
            PersistentVolume,
            "pv-a",
            [{"op": "test", "path": "/metadata/labels/nvidia.com~1gpu", "value": "false"}],
            patch_type=PatchType.JSON,
        )
    assert_status(err.value, 422, "Invalid")


def test_no_op_write_keeps_the_resource_version(client: Client):
    created = client.apply(pv("pv-a", {"a": "1"}))
    again = client.apply(pv("pv-a", {"a": "1"}))
    assert created.metadata is not None
    assert again.metadata is not None
    assert again.metadata.resourceVersion == created.metadata.resourceVersion
    labelled = client.patch(PersistentVolume, "pv-a", {"metadata": {"labels": {"b": "2"}}})
    assert labelled.metadata is not None
    assert labelled.metadata.generation == 1  # metadata only: no new generation


def test_validation(fk: FakeKube, client: Client):
    client.create(pv("pv-a"))
    with pytest.raises(ApiError) as err:
        client.patch(PersistentVolume, "pv-a", {"metadata": {"labels": {"x": "a" * 64}}})
    assert_status(err.value, 422, "Invalid")
    assert message(err.value).startswith(
        'PersistentVolume "pv-a" is invalid: metadata.labels: Invalid value'
    )
    with pytest.raises(ApiError) as err:
        client.patch(PersistentVolume, "pv-a", {"spec": {"nfs": {"path": "/elsewhere"}}})
    assert_status(err.value, 422, "Invalid")
    with pytest.raises(ApiError) as err:
        client.create(pv("Bad_Name"))
    assert_status(err.value, 422, "Invalid")
    sc = cast(
        StorageClass,
        StorageClass.from_dict(
            {"metadata": {"name": "nas"}, "provisioner": "p", "parameters": {"a": "1"}}
        ),
    )
    client.create(sc)
    with pytest.raises(ApiError) as err:
        client.patch(StorageClass, "nas", {"parameters": {"a": "2"}})
    assert_status(err.value, 422, "Invalid")
    assert "parameters: Forbidden: updates to parameters are forbidden." in message(err.value)


# ----------------------------------------------------------------------------------------------
# NodeRestriction


@pytest.fixture
def kubelet(fk: FakeKube, tmp_path: Path) -> Iterator[Client]:
    fk.create(node_dict("gpu1"))
    fk.create(node_dict("admin1", taints=[{"key": "a", "value": "b", "effect": "NoSchedule"}]))
    fk.add_token("kubelet-gpu1", "system:node:gpu1", groups=("system:nodes",))
    c = client_for(fk, tmp_path, token="kubelet-gpu1", manager="gpu-node-labeler")
    yield c
    c.close()


def test_node_restriction_own_node_and_allowed_labels(fk: FakeKube, kubelet: Client):
    node = kubelet.get(Node, "gpu1")
    assert node.metadata is not None
    patched = kubelet.patch(
        Node,
        "gpu1",
        {
            "metadata": {
                "labels": {
                    "nvidia.com/gpu.present": "true",
                    "example.org/x": "1",
                    "plain": "y",
                    "feature.node.kubernetes.io/thing": "z",
                    "node.kubernetes.io/instance-type": "big",
                }
            }
        },
    )
    assert patched.metadata is not None
    assert patched.metadata.labels is not None
    assert patched.metadata.labels["nvidia.com/gpu.present"] == "true"
    applied = kubelet.apply(
        Node(metadata=ObjectMeta(name="gpu1", labels={"nvidia.com/gpu.count": "1"}))
    )
    assert applied.metadata is not None
    assert applied.metadata.labels is not None
    assert applied.metadata.labels["nvidia.com/gpu.count"] == "1"


def test_node_restriction_other_node_is_forbidden(kubelet: Client):
    with pytest.raises(ApiError) as err:
        kubelet.get(Node, "admin1")
    assert_status(err.value, 403, "Forbidden")
    with pytest.raises(ApiError) as err:
        kubelet.patch(Node, "admin1", {"metadata": {"labels": {"nvidia.com/gpu.present": "true"}}})
    assert_status(err.value, 403, "Forbidden")
    assert message(err.value) == (
        'nodes "admin1" is forbidden: node "gpu1" is not allowed to modify node "admin1"'
    )
    with pytest.raises(ApiError) as err:
        kubelet.get(PersistentVolume, "x")
    assert_status(err.value, 403, "Forbidden")


def test_node_restriction_kubernetes_labels_and_taints(fk: FakeKube, kubelet: Client):
    for key in ("kubernetes.io/role", "node-role.kubernetes.io/gpu", "foo.k8s.io/bar"):
        with pytest.raises(ApiError) as err:
            kubelet.patch(Node, "gpu1", {"metadata": {"labels": {key: "x"}}})
        assert_status(err.value, 403, "Forbidden")
        assert (
            message(err.value)
            == f'nodes "gpu1" is forbidden: is not allowed to modify labels: {key}'
        )
    with pytest.raises(ApiError) as err:
        kubelet.patch(Node, "gpu1", {"spec": {"taints": [{"key": "gpu", "effect": "NoSchedule"}]}})
    assert_status(err.value, 403, "Forbidden")
    assert (
        message(err.value)
        == 'nodes "gpu1" is forbidden: node "gpu1" is not allowed to modify taints'
    )
    node = fk.get("Node", "gpu1")
    assert node is not None
    assert "taints" not in node["spec"]


def test_node_admin_may_taint(fk: FakeKube, client: Client):
    fk.create(node_dict("gpu1"))
    node = client.patch(
        Node,
        "gpu1",
        {
            "metadata": {"labels": {"node-role.kubernetes.io/gpu": ""}},
            "spec": {"taints": [{"key": "gpu", "effect": "NoSchedule"}]},
        },
    )
    assert node.spec is not None
    assert node.spec.taints == [Taint(key="gpu", effect="NoSchedule")]
    assert isinstance(node.spec, NodeSpec)


# ----------------------------------------------------------------------------------------------
# faults and counting


def test_fail_injection(fk: FakeKube, client: Client):
    fk.create(pv_dict("pv-a"))
    fk.fail(503, method="GET", path=r"/persistentvolumes/pv-a$", times=2)
    for _ in range(2):
        with pytest.raises(ApiError) as err:
            client.get(PersistentVolume, "pv-a")
        assert_status(err.value, 503, "ServiceUnavailable")
    assert client.get(PersistentVolume, "pv-a")
    fk.fail(409, method="PATCH", message="custom")
    list(client.list(PersistentVolume))  # a LIST does not match "PATCH"
    with pytest.raises(ApiError) as err:
        client.patch(PersistentVolume, "pv-a", {"metadata": {"labels": {"a": "b"}}})
    assert_status(err.value, 409, "Conflict")
    assert message(err.value) == "custom"
    fk.fail(500, method="LIST")
    client.get(PersistentVolume, "pv-a")  # a GET does not match "LIST"
    with pytest.raises(ApiError) as err:
        list(client.list(PersistentVolume))
    assert_status(err.value, 500, "InternalError")


def test_delay_injection(fk: FakeKube, client: Client):
    fk.create(pv_dict("pv-a"))
    fk.delay(0.5, method="GET")
    start = time.monotonic()
    client.get(PersistentVolume, "pv-a")
    assert time.monotonic() - start >= 0.5
    start = time.monotonic()
    client.get(PersistentVolume, "pv-a")
    assert time.monotonic() - start < 0.5


def test_drop_injection(fk: FakeKube, client: Client):
    fk.create(pv_dict("pv-a"))
    fk.drop(method="DELETE")
    with pytest.raises(TRANSPORT_ERROR):
        client.delete(PersistentVolume, "pv-a")
    assert fk.get("PersistentVolume", "pv-a") is not None
    fk.drop(path="nodes")
    host, port = fk.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", "/api/v1/nodes", headers={"Authorization": f"Bearer {ADMIN}"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conn.getresponse()
    conn.close()
    client.delete(PersistentVolume, "pv-a")


def test_request_counting(fk: FakeKube, client: Client):
    fk.create(node_dict("n1"))
    assert fk.requests == []
    list(client.list(Node))
    client.get(Node, "n1")
    client.patch(Node, "n1", {"metadata": {"labels": {"a": "b"}}})
    assert fk.count() == 3
    assert fk.count("LIST") == 1
    assert fk.count("LIST", "Node") == 1
    assert fk.count("GET", "Node") == 1
    assert fk.count("PATCH", "Node") == 1
    assert fk.count("PATCH", "PersistentVolume") == 0
    last = fk.requests[-1]
    assert (last.method, last.path, last.user, last.kind, last.name) == (
        "PATCH",
        "/api/v1/nodes/n1",
        "admin",
        "Node",
        "n1",
    )
    assert last.body == {"metadata": {"labels": {"a": "b"}}}
    assert last.query == {"fieldManager": "test"}
    fk.reset_requests()
    assert fk.count() == 0


# ----------------------------------------------------------------------------------------------
# PV controller, status, delete, dry run


def test_bind_release_recycle(fk: FakeKube, client: Client):
    fk.create(pv_dict("pv-a"))
    assert (fk.get("PersistentVolume", "pv-a") or {})["status"]["phase"] == "Available"
    bound = fk.bind("pv-a", "data", namespace="kubeflow")
    assert bound["status"]["phase"] == "Bound"
    assert bound["spec"]["claimRef"]["name"] == "data"
    assert bound["spec"]["claimRef"]["namespace"] == "kubeflow"
    claim = fk.get("PersistentVolumeClaim", "data", "kubeflow")
    assert claim is not None
    assert claim["status"]["phase"] == "Bound"
    assert claim["spec"]["volumeName"] == "pv-a"
    assert bound["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
    released = fk.release("pv-a")
    assert released["status"]["phase"] == "Released"
    assert released["spec"]["claimRef"]["name"] == "data"
    assert fk.get("PersistentVolumeClaim", "data", "kubeflow") is None
    # an admin (or a provisioner) removes the claimRef: the volume is Available again
    patched = client.patch(
        PersistentVolume, "pv-a", {"spec": {"claimRef": None}}, patch_type=PatchType.MERGE
    )
    assert patched.status is not None
    assert patched.status.phase == "Available"
    fk.bind("pv-a", "data2")
    assert fk.recycle("pv-a")["status"]["phase"] == "Available"
    # deleting a bound claim through the API releases the volume
    fk.bind("pv-a", "data3")
    client.delete(PersistentVolumeClaim, "data3", namespace="default")
    assert (fk.get("PersistentVolume", "pv-a") or {})["status"]["phase"] == "Released"
    # deleting a PV that still has a claim works
    fk.bind("pv-a", "data4")
    client.delete(PersistentVolume, "pv-a", cascade=CascadeType.FOREGROUND)
    assert fk.requests[-1].query["propagationPolicy"] == "Foreground"
    assert fk.get("PersistentVolume", "pv-a") is None


def test_status_subresource(fk: FakeKube, client: Client):
    fk.create(pv_dict("pv-a"))
    # status in a main-resource write is ignored
    patched = client.patch(PersistentVolume, "pv-a", {"status": {"phase": "Failed"}})
    assert patched.status is not None
    assert patched.status.phase == "Available"
    status, body = raw(
        fk,
        "PATCH",
        "/api/v1/persistentvolumes/pv-a/status",
        {"status": {"phase": "Failed", "message": "gone"}, "metadata": {"labels": {"x": "y"}}},
        content_type="application/merge-patch+json",
    )
    assert status == 200
    assert body["status"] == {"phase": "Failed", "message": "gone"}
    assert "x" not in (body["metadata"].get("labels") or {})
    assert fk.requests[-1].subresource == "status"
    status, body = raw(fk, "GET", "/api/v1/persistentvolumes/pv-a/status")
    assert body["status"]["phase"] == "Failed"
    body["status"] = {"phase": "Available"}
    status, body = raw(fk, "PUT", "/api/v1/persistentvolumes/pv-a/status", body)
    assert status == 200
    assert body["status"] == {"phase": "Available"}


def test_delete_returns_status_or_object(fk: FakeKube):
    fk.create(pv_dict("pv-a"))
    obj = pv_dict("pv-b")
    obj["metadata"]["finalizers"] = ["kubernetes.io/pv-protection"]
    fk.create(obj)
    status, body = raw(fk, "DELETE", "/api/v1/persistentvolumes/pv-a?propagationPolicy=Background")
    assert status == 200
    assert body["kind"] == "Status"
    assert body["status"] == "Success"
    status, body = raw(fk, "DELETE", "/api/v1/persistentvolumes/pv-b")
    assert body["kind"] == "PersistentVolume"
    assert body["metadata"]["deletionTimestamp"]
    assert fk.list("PersistentVolume") == []


def test_dry_run_changes_nothing(fk: FakeKube, tmp_path: Path):
    path = fk.write_kubeconfig(tmp_path / "kc")
    dry = Client(config=KubeConfig.from_file(path), field_manager="test", dry_run=True)
    fk.create(pv_dict("pv-a"))
    before = fk.get("PersistentVolume", "pv-a")
    created = dry.create(pv("pv-b"))
    assert created.metadata is not None
    assert created.metadata.name == "pv-b"
    assert fk.requests[-1].query["dryRun"] == "All"
    dry.patch(PersistentVolume, "pv-a", {"metadata": {"labels": {"a": "b"}}})
    dry.apply(pv("pv-a", {"c": "d"}))
    dry.apply(pv("pv-c"))
    dry.delete(PersistentVolume, "pv-a", dry_run=True)
    assert fk.get("PersistentVolume", "pv-a") == before
    assert [p["metadata"]["name"] for p in fk.list("PersistentVolume")] == ["pv-a"]
    dry.close()


def test_objects_served_are_schema_valid(fk: FakeKube, client: Client):
    fk.create(node_dict("n1"))
    client.apply(pv("pv-a", {"a": "b"}))
    fk.bind("pv-a", "data")
    for kind in ("PersistentVolume", "PersistentVolumeClaim", "Node"):
        for obj in fk.list(kind):
            assert_valid(obj)


def test_assert_valid_rejects_unknown_fields():
    good = pv_dict("pv-a")
    assert_valid(good)
    bad = pv_dict("pv-a", bogusField="x")
    bad["metadata"]["alsoBogus"] = 1
    with pytest.raises(AssertionError) as err:
        assert_valid(bad)
    text = str(err.value)
    assert (
        "[1.28] spec: Additional properties are not allowed ('bogusField' was unexpected)" in text
    )
    assert "[1.37]" in text
    assert "alsoBogus" in text
    assert len(errors(bad, versions=("1.37",))) == 2
    with pytest.raises(ValueError, match="no schema"):
        assert_valid(good, versions=("1.10",))


# ----------------------------------------------------------------------------------------------
# more of the API surface


def test_generate_name_delete_collection_and_put_on_missing(fk: FakeKube):
    obj = pv_dict("")
    del obj["metadata"]["name"]
    obj["metadata"]["generateName"] = "pv-"
    for _ in range(3):
        status, body = raw(fk, "POST", "/api/v1/persistentvolumes", obj)
        assert status == 201
        assert body["metadata"]["name"].startswith("pv-")
    fk.create(pv_dict("keep", {"keep": "yes"}))
    status, body = raw(fk, "DELETE", "/api/v1/persistentvolumes?labelSelector=%21keep")
    assert status == 200
    assert len(body["items"]) == 3
    assert [p["metadata"]["name"] for p in fk.list("PersistentVolume")] == ["keep"]
    assert fk.count("DELETE", "PersistentVolume") == 1
    status, body = raw(fk, "PUT", "/api/v1/persistentvolumes/nope", pv_dict("nope"))
    assert status == 404
    status, body = raw(fk, "PUT", "/api/v1/persistentvolumes/keep", pv_dict("other"))
    assert status == 400


def test_bad_selectors_watch_and_unknown_kinds(fk: FakeKube):
    status, body = raw(fk, "GET", "/api/v1/nodes?labelSelector=a+in+()")
    assert status == 400
    assert body["reason"] == "BadRequest"
    status, body = raw(fk, "GET", "/api/v1/nodes?fieldSelector=spec.foo%3Dbar")
    assert (status, body["message"]) == (400, "field label not supported: spec.foo")
    status, body = raw(fk, "GET", "/api/v1/nodes?labelSelector=rank>2")
    assert status == 200
    status, body = raw(fk, "GET", "/api/v1/nodes?watch=true")
    assert status == 405
    with pytest.raises(KeyError):
        fk.get("ConfigMap", "x")
    fk.create(node_dict("n1", {"rank": "3"}))
    fk.create(node_dict("n2", {"rank": "1"}))
    _, body = raw(fk, "GET", "/api/v1/nodes?labelSelector=rank>2")
    assert [n["metadata"]["name"] for n in body["items"]] == ["n1"]
    assert fk.get("nodes", "n1") == fk.get("Node", "n1")
    fk.remove("Node", "n1")
    fk.remove("Node", "n1")
    assert [n["metadata"]["name"] for n in fk.list("Node")] == ["n2"]
    with pytest.raises(ValueError, match="exists already"):
        fk.create(node_dict("n2"))


def test_delete_preconditions(fk: FakeKube):
    uid = fk.create(pv_dict("pv-a"))["metadata"]["uid"]
    status, body = raw(
        fk, "DELETE", "/api/v1/persistentvolumes/pv-a", {"preconditions": {"uid": "other"}}
    )
    assert status == 409
    assert "Precondition failed" in body["message"]
    status, body = raw(
        fk, "DELETE", "/api/v1/persistentvolumes/pv-a", {"preconditions": {"uid": uid}}
    )
    assert status == 200


def test_claim_spec_is_immutable_but_requests_may_grow(fk: FakeKube, client: Client):
    fk.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": "ns"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
                "storageClassName": "nas",
            },
        }
    )
    grown = client.patch(
        PersistentVolumeClaim,
        "data",
        {"spec": {"resources": {"requests": {"storage": "2Gi"}}}},
        namespace="ns",
    )
    assert grown.spec is not None
    assert grown.spec.resources is not None
    assert grown.spec.resources.requests == {"storage": "2Gi"}
    with pytest.raises(ApiError) as err:
        client.patch(
            PersistentVolumeClaim, "data", {"spec": {"storageClassName": "x"}}, namespace="ns"
        )
    assert_status(err.value, 422, "Invalid")
    assert "spec is immutable after creation" in message(err.value)


def test_fault_forever_and_clear(fk: FakeKube, client: Client):
    fk.fail(500, path="/nodes", times=None)
    for _ in range(3):
        with pytest.raises(ApiError):
            list(client.list(Node))
    fk.clear_faults()
    assert list(client.list(Node)) == []
    with pytest.raises(ValueError, match="method must be one of"):
        fk.fail(500, method="WATCH")


def test_fail_401_and_403_injections(fk: FakeKube, client: Client):
    fk.fail(401)
    with pytest.raises(ApiError) as err:
        list(client.list(Node))
    assert_status(err.value, 401, "Unauthorized")
    fk.fail(403, message="nope")
    with pytest.raises(ApiError) as err:
        list(client.list(Node))
    assert_status(err.value, 403, "Forbidden")
    assert message(err.value) == "nope"


def test_field_manager_defaults_to_the_user_agent(fk: FakeKube):
    fk.create(node_dict("n1"))
    host, port = fk.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request(
        "PATCH",
        "/api/v1/nodes/n1",
        body=json.dumps({"metadata": {"labels": {"a": "b"}}}),
        headers={
            "Authorization": f"Bearer {ADMIN}",
            "Content-Type": "application/merge-patch+json",
            "User-Agent": "kubectl/v1.35.0 (linux/amd64)",
        },
    )
    body = json.loads(conn.getresponse().read())
    conn.close()
    managers = {m["manager"] for m in body["metadata"]["managedFields"]}
    assert "kubectl" in managers


def test_node_status_patch_and_forbid_is_per_subresource(fk: FakeKube, kubelet: Client):
    fk.forbid("system:node:gpu1", "patch", "nodes/status")
    with pytest.raises(ApiError) as err:
        kubelet.patch(Node.Status, "gpu1", {"status": {"capacity": {"nvidia.com/gpu": "1"}}})
    assert_status(err.value, 403, "Forbidden")
    kubelet.patch(Node, "gpu1", {"metadata": {"labels": {"nvidia.com/gpu.present": "true"}}})
    fk.allow("system:node:gpu1", "patch", "nodes/status")
    patched = kubelet.patch(Node.Status, "gpu1", {"status": {"capacity": {"nvidia.com/gpu": "1"}}})
    assert patched.status is not None
    assert patched.status.capacity == {"nvidia.com/gpu": "1"}
    mine = list(kubelet.list(Node, fields={"metadata.name": "gpu1"}))
    assert len(mine) == 1
    with pytest.raises(ApiError) as err:
        list(kubelet.list(Node))
    assert_status(err.value, 403, "Forbidden")


def test_empty_label_maps_are_omitted(fk: FakeKube, client: Client):
    assert "labels" not in (fk.create(pv_dict("pv-a"))["metadata"])
    client.patch(PersistentVolume, "pv-a", {"metadata": {"labels": {"a": "1"}}})
    patched = client.patch(
        PersistentVolume, "pv-a", {"metadata": {"labels": {"a": None}}}, patch_type=PatchType.MERGE
    )
    assert patched.metadata is not None
    assert patched.metadata.labels is None


def test_claims_are_only_reachable_in_their_namespace(fk: FakeKube):
    fk.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        }
    )
    assert raw(fk, "GET", "/api/v1/persistentvolumeclaims/data")[0] == 404
    assert raw(fk, "GET", "/api/v1/namespaces/default/persistentvolumeclaims/data")[0] == 200


def test_a_bug_of_the_fake_is_a_500_with_its_traceback(
    fk: FakeKube, monkeypatch: pytest.MonkeyPatch
):
    def broken(*args: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(fk, "_list", broken)
    status, body = raw(fk, "GET", "/api/v1/nodes")
    assert status == 500
    assert "boom" in body["message"]
    assert "RuntimeError: boom" in fk.server_errors[0]
    fk.server_errors.clear()  # else the fixture fails the test


def test_strict_field_validation(fk: FakeKube):
    bogus = pv_dict("pv-a", bogusField="x")
    status, body = raw(fk, "POST", "/api/v1/persistentvolumes?fieldValidation=Strict", bogus)
    assert status == 400
    assert "strict decoding error" in body["message"]
    assert "bogusField" in body["message"]
    status, body = raw(fk, "POST", "/api/v1/persistentvolumes?fieldValidation=Bogus", bogus)
    assert status == 400
    status, _ = raw(fk, "POST", "/api/v1/persistentvolumes", bogus)
    assert status == 201  # the real apiserver would drop the field; the fake keeps it


def test_strict_schema_fake(tmp_path: Path):
    with FakeKube(strict_schema="1.28") as strict:
        status, body = raw(strict, "POST", "/api/v1/persistentvolumes", pv_dict("pv-a", x=1))
        assert status == 400
        assert "[1.28]" in body["message"]
        status, _ = raw(strict, "POST", "/api/v1/persistentvolumes", pv_dict("pv-a"))
        assert status == 201
        c = client_for(strict, tmp_path)
        c.apply(pv("pv-b", {"a": "b"}))
        c.patch(PersistentVolume, "pv-b", {"metadata": {"labels": {"c": "d"}}})
        with pytest.raises(ApiError) as err:
            c.patch(PersistentVolume, "pv-b", {"spec": {"capacityy": {"storage": "1Gi"}}})
        assert_status(err.value, 400, "BadRequest")
        c.close()
        assert strict.server_errors == []


def test_an_applier_conflicts_with_its_own_updates(fk: FakeKube, client: Client):
    # as on a real cluster (kubernetes/kubernetes#107417): managers are (name, operation)
    client.create(pv("pv-a", {"a": "1"}))  # an Update by "test"
    with pytest.raises(ApiError) as err:
        client.apply(pv("pv-a", {"a": "2"}))  # an Apply by "test"
    assert_status(err.value, 409, "Conflict")
    assert message(err.value).startswith(
        'Apply failed with 1 conflict: conflict with "test" using v1 at '
    )
    forced = client.apply(pv("pv-a", {"a": "2"}), force=True)
    assert forced.metadata is not None
    assert forced.metadata.labels == {"a": "2"}
    same = client.apply(pv("pv-a", {"a": "2"}))  # no conflict any more
    assert same.metadata is not None
    assert same.metadata.resourceVersion == forced.metadata.resourceVersion


def claim_dict(name: str, size: str, ns: str = "default", **spec: Any) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
            **spec,
        },
    }


def test_quantities_and_object_selectors():
    assert parse_quantity("10Gi") == 10 * 2**30
    assert parse_quantity("1.5G") == 1_500_000_000
    assert parse_quantity("500m") * 2 == 1
    assert parse_quantity("1e3") == 1000
    assert parse_quantity(7) == 7
    with pytest.raises(ValueError, match="quantities"):
        parse_quantity("10GB")
    labels = {"size": "10gi", "tier": "nas"}
    assert selector_matches(None, labels)
    assert selector_matches({"matchLabels": {"tier": "nas"}}, labels)
    assert not selector_matches({"matchLabels": {"tier": "ssd"}}, labels)
    expr = [{"key": "size", "operator": "In", "values": ["10gi", "50gi"]}]
    assert selector_matches({"matchExpressions": expr}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "x", "operator": "Exists"}]}, labels)
    assert selector_matches(
        {"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, labels
    )
    not_in = {"key": "tier", "operator": "NotIn", "values": ["nas"]}  # codespell:ignore
    assert not selector_matches({"matchExpressions": [not_in]}, labels)


def test_binder_picks_the_smallest_fitting_available_volume(fk: FakeKube):
    fk.create(pv_dict("small", capacity={"storage": "10Gi"}))
    fk.create(pv_dict("big", capacity={"storage": "50Gi"}))
    fk.create(pv_dict("bigger", capacity={"storage": "100Gi"}))
    fk.create(pv_dict("other-class", capacity={"storage": "20Gi"}, storageClassName="ssd"))
    fk.create(pv_dict("rwo-only", capacity={"storage": "20Gi"}, accessModes=["ReadWriteOnce"]))
    fk.create(claim_dict("a", "20Gi", storageClassName="nas", accessModes=["ReadWriteMany"]))
    fk.create(claim_dict("b", "5Gi", storageClassName="nas", accessModes=["ReadWriteMany"]))
    fk.create(claim_dict("c", "1Ti", storageClassName="nas"))
    fk.create(
        claim_dict(
            "d",
            "1Gi",
            storageClassName="nas",
            selector={"matchLabels": {"pick": "me"}},
        )
    )
    assert fk.bind_pending() == [("default", "a", "big"), ("default", "b", "small")]
    assert fk.bind_pending() == []
    assert (fk.get("PersistentVolumeClaim", "c") or {})["status"]["phase"] == "Pending"
    fk.release("small")  # a Released volume is not bound again
    fk.create(claim_dict("e", "1Gi", storageClassName="nas", accessModes=["ReadWriteMany"]))
    assert fk.bind_pending() == [("default", "e", "bigger")]


def test_binder_waits_for_first_consumer_and_honours_volume_name(fk: FakeKube):
    fk.create(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {"name": "wait"},
            "provisioner": "kubernetes.io/no-provisioner",
            "volumeBindingMode": "WaitForFirstConsumer",
        }
    )
    fk.create(pv_dict("w", storageClassName="wait", accessModes=["ReadWriteOnce"]))
    fk.create(claim_dict("a", "1Gi", storageClassName="wait"))
    assert fk.bind_pending() == []
    fk.create(pv_dict("n1", accessModes=["ReadWriteOnce"]))
    fk.create(pv_dict("n2", accessModes=["ReadWriteOnce"]))
    fk.create(claim_dict("b", "1Gi", storageClassName="nas", volumeName="n2"))
    assert fk.bind_pending() == [("default", "b", "n2")]


def test_auto_bind_and_default_storage_class(fk: FakeKube, client: Client):
    fk.create(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": "nas",
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": "kubernetes.io/no-provisioner",
        }
    )
    fk.auto_bind = True
    body = claim_dict("data", "1Gi", accessModes=["ReadWriteMany"])
    claim = cast(PersistentVolumeClaim, PersistentVolumeClaim.from_dict(body))
    created = client.create(claim, namespace="default")
    assert created.spec is not None
    assert created.spec.storageClassName == "nas"  # DefaultStorageClass admission
    assert created.status is not None
    assert created.status.phase == "Pending"
    client.create(pv("pv-a"))  # ReadWriteMany 10Gi of class nas: fits
    bound = client.get(PersistentVolumeClaim, "data", namespace="default")
    assert bound.status is not None
    assert bound.status.phase == "Bound"
    assert bound.spec is not None
    assert bound.spec.volumeName == "pv-a"


def test_tls(tmp_path: Path):
    with FakeKube(tls=True) as secure:
        assert secure.url.startswith("https://127.0.0.1:")
        assert secure.ca_pem is not None
        assert secure.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
        path = secure.write_kubeconfig(tmp_path / "kc")
        assert "certificate-authority-data" in path.read_text()
        c = Client(config=KubeConfig.from_file(path), field_manager="test")
        c.create(pv("pv-a"))
        assert [p.metadata.name for p in c.list(PersistentVolume) if p.metadata] == ["pv-a"]
        c.close()
        # without the CA, the certificate is refused
        plain = tmp_path / "plain"
        plain.write_text(path.read_text().replace("certificate-authority-data", "x-unused"))
        other = Client(config=KubeConfig.from_file(plain), field_manager="test")
        with pytest.raises(TRANSPORT_ERROR):
            other.get(PersistentVolume, "pv-a")
        other.close()


def test_concurrent_clients(fk: FakeKube, tmp_path: Path):
    fk.create(node_dict("n1"))
    path = fk.write_kubeconfig(tmp_path / "kc")

    def worker(i: int) -> str:
        c = Client(config=KubeConfig.from_file(path), field_manager=f"m{i}")
        try:
            c.apply(Node(metadata=ObjectMeta(name="n1", labels={f"example.org/w{i}": "x"})))
            c.create(pv(f"pv-{i}"))
            obj = c.get(PersistentVolume, f"pv-{i}")
            assert obj.metadata is not None
            return obj.metadata.resourceVersion or ""
        finally:
            c.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = list(pool.map(worker, range(16)))
    assert len(set(versions)) == 16
    node = fk.get("Node", "n1")
    assert node is not None
    assert len([k for k in node["metadata"]["labels"] if k.startswith("example.org/")]) == 16
    assert len(node["metadata"]["managedFields"]) == 17  # the seed and 16 appliers
    assert fk.count("PATCH", "Node") == 16
    assert fk.server_errors == []
