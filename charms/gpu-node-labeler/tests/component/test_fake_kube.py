"""The charm against the fake Kubernetes API (real lightkube, real HTTP), as the kubelet.

What is asserted is what a user or the apiserver sees: the Node's labels and taints, the
requests made (count, method, content type, body) and the unit's status.
"""

from __future__ import annotations

import json

import pytest
from ops import testing
from support.fake_kube import FakeKube, kubelet_may_set_label
from support.k8s_schema import assert_valid

import node_api

P = "gpu.homelab-charms.io"
NODE = "gpu-box"
KUBELET = f"system:node:{NODE}"
TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


@pytest.fixture
def fk(fake_kube: FakeKube) -> FakeKube:
    fake_kube.add_token("kubelet-token", KUBELET)
    fake_kube.create(
        {
            "kind": "Node",
            "metadata": {
                "name": NODE,
                "labels": {
                    "kubernetes.io/hostname": NODE,
                    "kubernetes.io/os": "linux",
                    "node-role.kubernetes.io/worker": "",
                    "feature.node.kubernetes.io/pci-10de.present": "true",
                    "team": "ml",
                },
            },
            "spec": {"taints": [{"key": "other", "effect": "NoExecute"}]},
        }
    )
    return fake_kube


@pytest.fixture
def kubelet_conf(fk, tmp_path):
    return str(fk.write_kubeconfig(tmp_path / "kubelet.conf", token="kubelet-token"))


@pytest.fixture
def admin_conf(fk, tmp_path):
    return str(fk.write_kubeconfig(tmp_path / "admin.conf"))


def node(fk: FakeKube) -> dict:
    obj = fk.get("Node", NODE)
    assert obj is not None
    return obj


def labels_of(fk: FakeKube) -> dict[str, str]:
    return node(fk)["metadata"].get("labels", {})


def patches(fk: FakeKube) -> list:
    return [r for r in fk.requests if r.method == "PATCH"]


def test_first_run_is_one_get_and_one_merge_patch(fk, kubelet_conf, labeler):
    _, out = labeler.run("rtx2080ti-nvidia", {"kubeconfig-path": kubelet_conf})
    assert out.unit_status.name == "active"
    assert out.unit_status.message.endswith("driver 550.127.05, labelled")
    assert [(r.method, r.path) for r in fk.requests] == [
        ("GET", f"/api/v1/nodes/{NODE}"),
        ("PATCH", f"/api/v1/nodes/{NODE}"),
    ]
    (patch,) = patches(fk)
    assert patch.content_type == "application/merge-patch+json"
    assert patch.user == KUBELET
    assert patch.query.get("fieldManager") == "gpu-node-labeler"
    assert set(patch.body) == {"metadata"}  # labels only: no spec, no taints
    sent = patch.body["metadata"]["labels"]
    assert all(kubelet_may_set_label(k) for k in sent)  # NodeRestriction-forbidden: never sent
    got = labels_of(fk)
    assert got[f"{P}/model"] == "GeForce-RTX-2080-Ti"
    assert got["nvidia.com/gpu.product"] == "NVIDIA-GeForce-RTX-2080-Ti"
    assert got["gpu"] == "true"
    assert got["node-role.kubernetes.io/worker"] == ""  # untouched
    assert got["team"] == "ml"
    assert_valid(node(fk))


def test_steady_state_is_one_get_and_no_patch(fk, kubelet_conf, labeler):
    _, out = labeler.run("rtx2080ti-nvidia", {"kubeconfig-path": kubelet_conf})
    fk.reset_requests()
    for _ in range(3):
        _, out = labeler.run("rtx2080ti-nvidia", {}, st=out)
    assert fk.count("GET", "Node") == 3
    assert fk.count("PATCH") == 0
    assert len(fk.requests) == 3


def test_nvidia_smi_timeout_sends_nothing(fk, kubelet_conf, labeler, fake_smi):
    import gpu

    _, out = labeler.run("rtx2080ti-nvidia", {"kubeconfig-path": kubelet_conf})
    before = labels_of(fk)
    fk.reset_requests()
    hung = fake_smi(raises=gpu.CommandTimeoutError("nvidia-smi ran past 10 s"))
    _, out = labeler.run("rtx2080ti-nvidia", st=out, smi=hung)
    assert "nvidia-smi timed out after 10 s" in out.unit_status.message
    assert (fk.count("GET", "Node"), fk.count("PATCH")) == (1, 0)
    assert labels_of(fk) == before
    _, out = labeler.run("rtx2080ti-nvidia", st=out)
    assert (fk.count("GET", "Node"), fk.count("PATCH")) == (2, 0)


def test_hardware_change_is_exactly_one_patch(fk, kubelet_conf, labeler):
    cfg = {"kubeconfig-path": kubelet_conf}
    _, out = labeler.run("rtx2080ti-nvidia", cfg)
    fk.reset_requests()
    _, out = labeler.run("two-models", cfg, st=out)
    assert (fk.count("GET"), fk.count("PATCH")) == (1, 1)
    assert labels_of(fk)[f"{P}/mixed"] == "true"
    fk.reset_requests()
    _, out = labeler.run("no-gpu", cfg, st=out)
    assert (fk.count("GET"), fk.count("PATCH")) == (1, 1)
    (patch,) = patches(fk)
    removed = [k for k, v in patch.body["metadata"]["labels"].items() if v is None]
    assert f"{P}/model" in removed
    assert "nvidia.com/gpu.product" in removed
    assert {k for k in labels_of(fk) if k.startswith((P, "nvidia.com", "gpu", "cuda"))} == {
        f"{P}/present"
    }
    assert labels_of(fk)["team"] == "ml"


def test_stop_removes_our_labels_only(fk, kubelet_conf, labeler):
    before = dict(labels_of(fk))
    cfg = {"kubeconfig-path": kubelet_conf}
    _, out = labeler.run("rtx2080ti-nvidia", cfg)
    fk.reset_requests()
    labeler.run("rtx2080ti-nvidia", cfg, st=out, event="stop")
    assert labels_of(fk) == before
    assert (fk.count("GET"), fk.count("PATCH")) == (1, 1)


def test_worker_legacy_labels_survive_removal(fk, kubelet_conf, labeler):
    fk.remove("Node", NODE)
    fk.create(
        {"kind": "Node", "metadata": {"name": NODE, "labels": {"gpu": "true", "cuda": "true"}}}
    )
    cfg = {"kubeconfig-path": kubelet_conf}
    _, out = labeler.run("rtx2080ti-nvidia", cfg)
    assert "gpu" not in patches(fk)[0].body["metadata"]["labels"]
    labeler.run("rtx2080ti-nvidia", cfg, st=out, event="remove")
    assert labels_of(fk) == {"gpu": "true", "cuda": "true"}


def test_taint_with_kubelet_identity_is_blocked_and_never_sent(fk, kubelet_conf, labeler):
    cfg = {"kubeconfig-path": kubelet_conf, "taint": "NoSchedule"}
    _, out = labeler.run("rtx2080ti-nvidia", cfg)
    assert out.unit_status.name == "blocked"
    assert "the kubelet identity cannot change taints (NodeRestriction)" in out.unit_status.message
    assert all("spec" not in r.body for r in patches(fk))
    assert node(fk)["spec"]["taints"] == [{"key": "other", "effect": "NoExecute"}]
    assert labels_of(fk)[f"{P}/present"] == "true"


def test_taint_with_admin_kubeconfig(fk, admin_conf, labeler):
    cfg = {"admin-kubeconfig-path": admin_conf, "taint": "NoSchedule"}
    _, out = labeler.run("rtx2080ti-nvidia", cfg)
    assert out.unit_status.message.endswith("labelled, tainted NoSchedule")
    (patch,) = patches(fk)
    assert patch.user == "admin"
    assert patch.body["metadata"]["resourceVersion"]  # the taint list is replaced: guarded
    assert node(fk)["spec"]["taints"] == [{"key": "other", "effect": "NoExecute"}, TAINT]
    assert_valid(node(fk))
    fk.reset_requests()
    _, out = labeler.run("rtx2080ti-nvidia", cfg, st=out)
    assert (fk.count("GET"), fk.count("PATCH")) == (1, 0)
    # the charm goes: its taint goes, the other one stays
    labeler.run("rtx2080ti-nvidia", cfg, st=out, event="stop")
    assert node(fk)["spec"]["taints"] == [{"key": "other", "effect": "NoExecute"}]


def test_taint_conflict_is_retried_once(fk, admin_conf, labeler):
    fk.fail(409, method="PATCH", times=1)
    cfg = {"admin-kubeconfig-path": admin_conf, "taint": "PreferNoSchedule"}
    _, out = labeler.run("rtx2080ti-nvidia", cfg)
    assert out.unit_status.name == "active"
    assert (fk.count("GET"), fk.count("PATCH")) == (2, 2)
    assert {**TAINT, "effect": "PreferNoSchedule"} in node(fk)["spec"]["taints"]


def test_stale_resource_version_is_a_real_conflict(fk, admin_conf):
    api = node_api.connect_file(admin_conf)
    view = api.get(NODE)
    api.patch(NODE, {"x": "y"})  # someone else changes the Node
    with pytest.raises(node_api.NodeApiError) as err:
        api.patch(NODE, {}, [TAINT], view.resource_version)
    assert err.value.kind == "conflict"


def test_taint_with_admin_secret(fk, labeler, tmp_path, caplog):
    text = fk.write_kubeconfig(tmp_path / "a.conf").read_text()
    secret = testing.Secret(tracked_content={"kubeconfig": text})
    st = labeler.state(
        {"admin-kubeconfig-secret": secret.id, "taint": "NoSchedule"}, secrets=[secret]
    )
    ctx, out = labeler.run("rtx2080ti-nvidia", {}, st=st)
    assert out.unit_status.message.endswith("tainted NoSchedule")
    assert patches(fk)[0].user == "admin"
    assert "admin-token" not in caplog.text
    assert not any("admin-token" in log.message for log in ctx.juju_log)


def test_gfd_managed_node(fk, kubelet_conf, labeler):
    fk.remove("Node", NODE)
    gfd = {"nvidia.com/gfd.timestamp": "1764400000", "nvidia.com/gpu.product": "Tesla-GFD"}
    fk.create({"kind": "Node", "metadata": {"name": NODE, "labels": gfd}})
    labeler.run("rtx2080ti-nvidia", {"kubeconfig-path": kubelet_conf})
    sent = patches(fk)[0].body["metadata"]["labels"]
    assert not any(k.startswith("nvidia.com/") for k in sent)
    assert labels_of(fk)["nvidia.com/gpu.product"] == "Tesla-GFD"


@pytest.mark.parametrize(
    ("setup", "state", "message"),
    [
        (lambda fk: fk.remove("Node", NODE), "waiting", f"node {NODE} not registered yet"),
        (
            lambda fk: fk.remove_token("kubelet-token"),
            "blocked",
            "(401 Unauthorized) while trying to GET node gpu-box",
        ),
        (
            lambda fk: fk.forbid(KUBELET, "get", "nodes"),
            "blocked",
            "not allowed to GET node gpu-box (403 Forbidden",
        ),
        (
            lambda fk: fk.fail(503, method="GET"),
            "waiting",
            "Kubernetes API error 503 while trying to GET node gpu-box",
        ),
        (
            lambda fk: fk.fail(500, method="PATCH"),
            "waiting",
            "Kubernetes API error 500 while trying to PATCH node gpu-box",
        ),
        (
            lambda fk: fk.forbid(KUBELET, "patch", "nodes"),
            "blocked",
            "not allowed to PATCH node gpu-box (403 Forbidden",
        ),
        (
            lambda fk: fk.drop(method="GET"),
            "waiting",
            "Kubernetes API unreachable while trying to GET node gpu-box (",
        ),
    ],
)
def test_api_faults(fk, kubelet_conf, labeler, *, setup, state, message):
    setup(fk)
    _, out = labeler.run("rtx2080ti-nvidia", {"kubeconfig-path": kubelet_conf})
    assert out.unit_status.name == state
    assert message in out.unit_status.message
    if fk.get("Node", NODE) is not None:
        assert f"{P}/present" not in labels_of(fk)  # nothing half-applied


def test_fault_never_removes_labels(fk, kubelet_conf, labeler):
    cfg = {"kubeconfig-path": kubelet_conf}
    _, out = labeler.run("rtx2080ti-nvidia", cfg)
    before = labels_of(fk)
    fk.fail(500, method="PATCH")
    _, out = labeler.run("no-gpu", cfg, st=out)
    assert out.unit_status.name == "waiting"
    assert labels_of(fk) == before
    _, out = labeler.run("no-gpu", cfg, st=out)  # API back
    assert f"{P}/model" not in labels_of(fk)


def test_other_nodes_name_is_forbidden_by_node_restriction(fk, kubelet_conf, labeler):
    fk.create({"kind": "Node", "metadata": {"name": "admin-box"}})
    cfg = {"kubeconfig-path": kubelet_conf, "node-name": "admin-box"}
    _, out = labeler.run("rtx2080ti-nvidia", cfg)
    assert out.unit_status.name == "blocked"
    assert "403" in out.unit_status.message
    assert "check node-name" in out.unit_status.message


def test_api_timeout_is_bounded(fk, kubelet_conf, labeler):
    import time

    fk.delay(3, method="GET")
    start = time.monotonic()
    _, out = labeler.run(
        "rtx2080ti-nvidia",
        {"kubeconfig-path": kubelet_conf},
        api=lambda path, option="kubeconfig-path": node_api.connect_file(
            path, timeout=0.5, option=option
        ),
    )
    assert time.monotonic() - start < 2.5
    assert out.unit_status == testing.WaitingStatus(
        "Kubernetes API timed out while trying to GET node gpu-box; retrying at next update-status"
    )


@pytest.mark.parametrize(
    ("content", "state", "message"),
    [
        (
            None,
            "waiting",
            "waiting for the kubelet's kubeconfig {path} (kubeconfig-path): it appears once "
            "the node joins the cluster; on Canonical Kubernetes set kubeconfig-path=",
        ),
        ("{{{ not yaml", "blocked", "kubeconfig-path {path} is not valid YAML"),
        ("apiVersion: v1\n", "blocked", "kubeconfig-path {path} has no usable current-context"),
        (
            "clusters: [{name: a}]\ncontexts: [{name: b, context: {cluster: a}}]\n",
            "blocked",
            "kubeconfig-path {path} has no cluster with a server for context 'b'",
        ),
    ],
)
def test_bad_kubeconfig(fk, labeler, tmp_path, *, content, state, message):
    path = tmp_path / "kubeconfig"
    if content is not None:
        path.write_text(content)
    _, out = labeler.run("rtx2080ti-nvidia", {"kubeconfig-path": str(path)})
    assert out.unit_status.name == state
    assert out.unit_status.message.startswith(message.format(path=path))
    assert fk.requests == []


def test_admin_kubeconfig_that_appears_later(fk, labeler, tmp_path):
    # the lab overlay sets admin-kubeconfig-path=/root/.kube/config, which the worker writes
    # only once it is set up: wait for it, then use it
    path = tmp_path / ".kube" / "config"
    cfg = {"admin-kubeconfig-path": str(path), "taint": "NoSchedule"}
    _, out = labeler.run("rtx2080ti-nvidia", cfg)
    assert out.unit_status == testing.WaitingStatus(
        f"waiting for the admin kubeconfig {path} (admin-kubeconfig-path): it appears once the "
        "worker is set up"
    )
    assert fk.requests == []
    path.parent.mkdir()
    fk.write_kubeconfig(path)
    _, out = labeler.run("rtx2080ti-nvidia", st=out)
    assert out.unit_status.message.endswith("labelled, tainted NoSchedule")


def test_admin_kubeconfig_that_is_unreadable_blocks(fk, labeler, tmp_path):
    _, out = labeler.run("rtx2080ti-nvidia", {"admin-kubeconfig-path": str(tmp_path)})
    assert out.unit_status == testing.BlockedStatus(
        f"admin-kubeconfig-path {tmp_path}: not a regular file (a directory)"
    )
    assert fk.requests == []


def test_detect_action_makes_one_get(fk, kubelet_conf, labeler):
    ctx, _ = labeler.run(
        "two-models",
        {"kubeconfig-path": kubelet_conf},
        event="detect",
    )
    assert [r.method for r in fk.requests] == ["GET"]
    results = ctx.action_results or {}
    assert json.loads(results["changes"])[f"{P}/count"] == "2"
    assert len(json.loads(results["detection"])["gpus"]) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("token: s3cr3t: [", "admin-kubeconfig-secret {id} is not valid YAML"),
        ("token: s3cr3t\n", "admin-kubeconfig-secret {id} has no usable current-context"),
    ],
)
def test_bad_admin_secret_content(fk, labeler, caplog, *, content, message):
    secret = testing.Secret(tracked_content={"kubeconfig": content})
    st = labeler.state({"admin-kubeconfig-secret": secret.id}, secrets=[secret])
    ctx, out = labeler.run("rtx2080ti-nvidia", st=st)
    assert out.unit_status == testing.BlockedStatus(message.format(id=secret.id))
    assert fk.requests == []
    assert "s3cr3t" not in caplog.text
    assert not any("s3cr3t" in log.message for log in ctx.juju_log)


def test_other_taints_are_kept_exactly(fk, admin_conf, labeler):
    fk.remove("Node", NODE)
    unreachable = {
        "key": "node.kubernetes.io/unreachable",
        "effect": "NoExecute",
        "timeAdded": "2026-11-29T05:00:00Z",
    }
    fk.create({"kind": "Node", "metadata": {"name": NODE}, "spec": {"taints": [unreachable]}})
    cfg = {"admin-kubeconfig-path": admin_conf, "taint": "NoSchedule"}
    _, out = labeler.run("rtx2080ti-nvidia", cfg)
    assert node(fk)["spec"]["taints"] == [unreachable, TAINT]
    labeler.run("rtx2080ti-nvidia", cfg, st=out, event="stop")
    assert node(fk)["spec"]["taints"] == [unreachable]


def test_forbidden_keys_are_never_sent_even_if_state_claims_them(fk, kubelet_conf, labeler):
    owned = [
        "node-role.kubernetes.io/worker",
        "feature.node.kubernetes.io/pci-10de.present",
        "kubernetes.io/hostname",
        f"{P}/present",
    ]
    st = labeler.state({"kubeconfig-path": kubelet_conf}, owned=owned)
    _, out = labeler.run("no-gpu", st=st)
    assert out.unit_status == testing.ActiveStatus("no NVIDIA GPU")
    _, out = labeler.run("no-gpu", st=out, event="stop")
    for r in patches(fk):
        sent = r.body["metadata"].get("labels", {})
        assert all(kubelet_may_set_label(k) for k in sent), sent
        assert not any(k.startswith(("node-role.", "feature.node.")) for k in sent)
    assert labels_of(fk)["node-role.kubernetes.io/worker"] == ""
    assert labels_of(fk)["kubernetes.io/hostname"] == NODE
    assert fk.count("PATCH") == 2  # no 403 along the way: both went through


def test_kubeconfig_that_is_a_directory(fk, labeler, tmp_path):
    _, out = labeler.run("rtx2080ti-nvidia", {"kubeconfig-path": str(tmp_path)})
    assert out.unit_status == testing.BlockedStatus(
        f"kubeconfig-path {tmp_path}: not a regular file (a directory)"
    )


def test_a_prefix_covering_the_role_label_keeps_it_through_removal(fk, kubelet_conf, labeler):
    # issue 11: label-prefix homelab-charms.io, the worker's role label homelab-charms.io/role
    role = {"homelab-charms.io/role": "gpu", "juju-application": "kubernetes-worker"}
    fk.remove("Node", NODE)
    fk.create({"kind": "Node", "metadata": {"name": NODE, "labels": dict(role)}})
    cfg = {"kubeconfig-path": kubelet_conf, "label-prefix": "homelab-charms.io"}
    _, out = labeler.run("rtx2080ti-nvidia", cfg)
    assert labels_of(fk)["homelab-charms.io/present"] == "true"
    out = labeler.run("rtx2080ti-nvidia", cfg, st=out)[1]
    labeler.run("rtx2080ti-nvidia", cfg, st=out, event="remove")
    assert labels_of(fk) == role
    for request in patches(fk):
        assert "homelab-charms.io/role" not in request.body["metadata"].get("labels", {})
