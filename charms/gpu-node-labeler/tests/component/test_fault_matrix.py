"""The fault matrix: the charm against the fake Kubernetes API while it misbehaves.

One table, one cell per (moment, fault). A cell runs the charm to the moment (first run, a
hardware change, removal), injects the fault, runs the hook, and then checks what the issue
asks of every fault:

- the hook did not raise (ops.testing would), and took well under the client timeout + 2 s;
- the status (or, for stop/remove, the logged warning) names the cause;
- no label or taint the charm does not own was touched;
- requests stayed bounded (at most 2 GETs and 2 PATCHes in one hook);
- once the fault clears the next hook converges (steady state: 1 GET, 0 PATCH), and removing
  the charm then leaves the Node exactly as it was before the charm came: nothing of ours
  left behind (including what a PATCH whose answer was lost had set), nothing foreign gone.

Cells already covered in test_fake_kube.py and not repeated here: GET 401 / 403 / 404 / 503,
GET dropped, GET slower than the client timeout, PATCH 500 / 403 (first run), a single 409 on
the taint PATCH, the kubelet forbidden another Node, a PATCH 500 that never removes labels.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from ops import testing
from support.fake_kube import FakeKube

import node_api

P = "gpu.homelab-charms.io"
NODE = "gpu-box"
KUBELET = f"system:node:{NODE}"
TIMEOUT = 0.5  # the client timeout used here (the charm's is 10 s)
SLOW = 1.5  # a slow answer: well beyond TIMEOUT
FOREIGN_LABELS = {
    "kubernetes.io/hostname": NODE,
    "kubernetes.io/os": "linux",
    "node-role.kubernetes.io/worker": "",
    "feature.node.kubernetes.io/pci-10de.present": "true",
    "team": "ml",
}
FOREIGN_TAINTS = [{"key": "other", "effect": "NoExecute"}]


@dataclass(frozen=True)
class Cell:
    """One fault at one moment and what the unit must say about it."""

    id: str
    fault: Callable[[FakeKube], None]
    status: str  # the status name after the faulty hook ("" for stop/remove: unchanged)
    says: str  # in the status message (or, for stop/remove, in a logged warning)
    event: str = "update_status"
    before: tuple[str, ...] = ()  # trees labelled cleanly before the fault
    tree: str = "rtx2080ti-nvidia"  # the hardware during the faulty hook
    admin: bool = False  # admin kubeconfig and taint=NoSchedule (else the kubelet's)
    settle: float = 0.0  # a delayed request still reaches the Node after about this long


def _revoke_patch_token(fk: FakeKube) -> None:
    fk.fail(401, method="PATCH", times=1)


CELLS = [
    # --- first run: nothing of ours on the Node yet ---
    Cell(
        "first/PATCH-401",
        _revoke_patch_token,
        "blocked",
        "(401 Unauthorized) while trying to PATCH node gpu-box",
    ),
    Cell(
        "first/PATCH-404-node-deleted-meanwhile",
        lambda fk: fk.fail(404, method="PATCH"),
        "waiting",
        f"node {NODE} not registered yet",
    ),
    Cell(
        "first/PATCH-409-once-retried",
        lambda fk: fk.fail(409, method="PATCH"),
        "active",
        "labelled",
    ),
    Cell(
        "first/PATCH-409-twice",
        lambda fk: fk.fail(409, method="PATCH", times=2),
        "waiting",
        "PATCH node gpu-box: 409 Conflict",
    ),
    Cell(
        "first/PATCH-429",
        lambda fk: fk.fail(429, method="PATCH"),
        "waiting",
        "Kubernetes API error 429 while trying to PATCH node gpu-box",
    ),
    Cell(
        "first/PATCH-slow-answer-lost",
        lambda fk: fk.delay(SLOW, method="PATCH"),
        "waiting",
        "Kubernetes API timed out while trying to PATCH node gpu-box",
        settle=SLOW,
    ),
    Cell(
        "first/PATCH-dropped",
        lambda fk: fk.drop(method="PATCH"),
        "waiting",
        "Kubernetes API unreachable while trying to PATCH node gpu-box (",
    ),
    # --- a hardware change on a labelled Node (a second GPU model appears) ---
    Cell(
        "change/GET-401-token-revoked",
        lambda fk: fk.fail(401, method="GET"),
        "blocked",
        "(401 Unauthorized) while trying to GET node gpu-box",
        before=("rtx2080ti-nvidia",),
        tree="two-models",
    ),
    Cell(
        "change/PATCH-403",
        lambda fk: fk.fail(403, method="PATCH"),
        "blocked",
        "not allowed to PATCH node gpu-box (403 Forbidden",
        before=("rtx2080ti-nvidia",),
        tree="two-models",
    ),
    Cell(
        "change/PATCH-500",
        lambda fk: fk.fail(500, method="PATCH"),
        "waiting",
        "Kubernetes API error 500 while trying to PATCH node gpu-box",
        before=("rtx2080ti-nvidia",),
        tree="two-models",
    ),
    Cell(
        "change/PATCH-slow-answer-lost",
        lambda fk: fk.delay(SLOW, method="PATCH"),
        "waiting",
        "Kubernetes API timed out while trying to PATCH node gpu-box",
        before=("rtx2080ti-nvidia",),
        tree="two-models",
        settle=SLOW,
    ),
    Cell(
        "change/GPU-gone-PATCH-dropped",
        lambda fk: fk.drop(method="PATCH"),
        "waiting",
        "Kubernetes API unreachable while trying to PATCH node gpu-box (",
        before=("rtx2080ti-nvidia",),
        tree="no-gpu",
    ),
    Cell(
        "steady/GET-500",
        lambda fk: fk.fail(500, method="GET"),
        "waiting",
        "Kubernetes API error 500 while trying to GET node gpu-box",
        before=("rtx2080ti-nvidia",),
    ),
    # --- the admin identity and the taint ---
    Cell(
        "taint/PATCH-409-twice",
        lambda fk: fk.fail(409, method="PATCH", times=2),
        "waiting",
        "PATCH node gpu-box: 409 Conflict",
        admin=True,
    ),
    Cell(
        "taint/PATCH-slow-answer-lost",
        lambda fk: fk.delay(SLOW, method="PATCH"),
        "waiting",
        "Kubernetes API timed out while trying to PATCH node gpu-box",
        admin=True,
        settle=SLOW,
    ),
    Cell(
        "taint/GET-401",
        lambda fk: fk.fail(401, method="GET"),
        "blocked",
        "Kubernetes API rejected the credentials from admin-kubeconfig-path {admin}",
        admin=True,
        before=("rtx2080ti-nvidia",),
        tree="no-gpu",
    ),
    # --- removal of the charm ---
    Cell(
        "stop/GET-500",
        lambda fk: fk.fail(500, method="GET"),
        "",
        "could not remove GPU labels from node gpu-box: "
        "Kubernetes API error 500 while trying to GET node gpu-box",
        event="stop",
        before=("rtx2080ti-nvidia",),
    ),
    Cell(
        "stop/GET-404-node-gone",
        lambda fk: fk.fail(404, method="GET"),
        "",
        "could not remove GPU labels from node gpu-box: GET node gpu-box: 404 Not Found",
        event="stop",
        before=("rtx2080ti-nvidia",),
    ),
    Cell(
        "stop/PATCH-401",
        _revoke_patch_token,
        "",
        "could not remove GPU labels from node gpu-box: "
        "Kubernetes API rejected the credentials from",
        event="stop",
        before=("rtx2080ti-nvidia",),
    ),
    Cell(
        "stop/PATCH-409-twice",  # once is retried, as in any hook
        lambda fk: fk.fail(409, method="PATCH", times=2),
        "",
        "could not remove GPU labels from node gpu-box: PATCH node gpu-box: 409 Conflict",
        event="stop",
        before=("rtx2080ti-nvidia",),
    ),
    Cell(
        "stop/PATCH-dropped",
        lambda fk: fk.drop(method="PATCH"),
        "",
        "could not remove GPU labels from node gpu-box: "
        "Kubernetes API unreachable while trying to PATCH node gpu-box",
        event="stop",
        before=("rtx2080ti-nvidia",),
    ),
    Cell(
        "remove/PATCH-slow-answer-lost",
        lambda fk: fk.delay(SLOW, method="PATCH"),
        "",
        "could not remove GPU labels from node gpu-box: "
        "Kubernetes API timed out while trying to PATCH node gpu-box",
        event="remove",
        before=("rtx2080ti-nvidia",),
        settle=SLOW,
    ),
    Cell(
        "remove/taint/PATCH-500",
        lambda fk: fk.fail(500, method="PATCH"),
        "",
        "could not remove GPU labels from node gpu-box: "
        "Kubernetes API error 500 while trying to PATCH node gpu-box",
        event="remove",
        admin=True,
        before=("rtx2080ti-nvidia",),
    ),
]


@pytest.fixture
def fk(fake_kube: FakeKube) -> FakeKube:
    fake_kube.add_token("kubelet-token", KUBELET)
    fake_kube.create(
        {
            "kind": "Node",
            "metadata": {"name": NODE, "labels": dict(FOREIGN_LABELS)},
            "spec": {"taints": [dict(t) for t in FOREIGN_TAINTS]},
        }
    )
    return fake_kube


def _node(fk: FakeKube) -> dict:
    obj = fk.get("Node", NODE)
    assert obj is not None
    return obj


def _foreign(fk: FakeKube) -> tuple[dict, list]:
    """The labels and taints the charm does not own, as they are now."""
    node = _node(fk)
    labels = node["metadata"].get("labels", {})
    return (
        {k: v for k, v in labels.items() if k in FOREIGN_LABELS},
        [t for t in node.get("spec", {}).get("taints", []) if t["key"] != "nvidia.com/gpu"],
    )


def _warnings(ctx: testing.Context) -> str:
    return "\n".join(log.message for log in ctx.juju_log if log.level == "WARNING")


@pytest.mark.parametrize("cell", CELLS, ids=lambda c: c.id)
def test_fault(fk, labeler, tmp_path, cell: Cell):
    conf = str(
        fk.write_kubeconfig(
            tmp_path / "kubeconfig", token="admin-token" if cell.admin else "kubelet-token"
        )
    )
    config = (
        {"admin-kubeconfig-path": conf, "taint": "NoSchedule"}
        if cell.admin
        else {"kubeconfig-path": conf}
    )

    def api(path: str, option: str = "kubeconfig-path") -> node_api.NodeApi:
        return node_api.connect_file(path, timeout=TIMEOUT, option=option)

    def hook(tree: str, st, event: str):
        return labeler.run(tree, st=st, event=event, api=api)

    st = labeler.state(config)
    for tree in cell.before:
        _, st = hook(tree, st, "update_status")
        assert st.unit_status.name == "active", st.unit_status
    foreign = _foreign(fk)
    status_before = st.unit_status

    # the faulty hook
    cell.fault(fk)
    fk.reset_requests()
    start = time.monotonic()
    ctx, out = hook(cell.tree, st, cell.event)  # raises if the hook raised
    assert time.monotonic() - start < TIMEOUT * 2 + 2
    says = cell.says.format(admin=conf)
    if cell.status:
        assert out.unit_status.name == cell.status, out.unit_status
        assert says in out.unit_status.message
    else:
        assert out.unit_status.name in ("maintenance", status_before.name)
        assert says in _warnings(ctx)
    assert fk.count("GET") <= 2
    assert fk.count("PATCH") <= 2
    assert len(fk.requests) == fk.count("GET") + fk.count("PATCH")
    assert _foreign(fk) == foreign

    # the fault clears (a delayed request is served late: wait until it has changed the Node)
    fk.clear_faults()
    if cell.settle:
        seen = _node(fk)
        deadline = time.monotonic() + cell.settle + 5
        while _node(fk) == seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _node(fk) != seen, "the slow PATCH was never applied"
    if cell.event == "update_status":
        _, out = hook(cell.tree, out, "update_status")
        assert out.unit_status.name == "active", out.unit_status
        fk.reset_requests()
        _, out = hook(cell.tree, out, "update_status")
        assert (fk.count("GET"), fk.count("PATCH")) == (1, 0)  # converged: steady state
        labels = _node(fk)["metadata"]["labels"]
        if cell.tree == "no-gpu":
            assert labels[f"{P}/present"] == "false"
            assert not any(k.startswith("nvidia.com/") for k in labels)
        else:
            assert labels[f"{P}/present"] == "true"
            assert labels["nvidia.com/gpu.present"] == "true"
            assert labels["gpu"] == "true"
        if cell.tree == "two-models":
            assert labels[f"{P}/mixed"] == "true"
        if cell.admin and cell.tree != "no-gpu":
            assert out.unit_status.message.endswith("tainted NoSchedule")
            assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"} in (
                _node(fk)["spec"]["taints"]
            )
    # removal, after the fault (or again, for a stop/remove cell) leaves only what was foreign
    _, out = hook(cell.tree, out, "remove")
    node = _node(fk)
    assert node["metadata"].get("labels", {}) == FOREIGN_LABELS
    assert node.get("spec", {}).get("taints", []) == FOREIGN_TAINTS
