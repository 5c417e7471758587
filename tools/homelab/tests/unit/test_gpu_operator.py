"""The site's GPU taint against what the shipped NVIDIA GPU operator tolerates."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from homelab import gpu_operator as g

NFD_WORKER = "nvidia-charm-node-feature-discovery-worker"


@pytest.mark.parametrize("effect", ["", "NoSchedule", "PreferNoSchedule"])
def test_site_choices_do_not_stop_the_operator(effect):
    # every choice the site file offers today lets the node agents run
    assert g.untolerated_pods(effect, "nvidia.com/gpu", "present") == []
    assert g.problem(effect, "nvidia.com/gpu", "present") is None


def test_every_taint_the_site_file_offers_lets_the_operator_run():
    # homelab check's gpu.taint choices against the shipped manifest's tolerations
    from homelab.site import SCHEMA

    choices = SCHEMA["gpu"]["taint"].choices
    assert choices
    for effect in choices:
        assert g.untolerated_pods(effect, g.GPU_TAINT_KEY, "present") == [], effect


def test_noexecute_stops_nfd_and_every_operand():
    pods = g.untolerated_pods("NoExecute", "nvidia.com/gpu", "present")
    assert pods[0] == NFD_WORKER
    assert {f"ClusterPolicy operand {o}" for o in ("driver", "toolkit", "devicePlugin")} <= set(
        pods
    )
    message = g.problem("NoExecute", "nvidia.com/gpu", "present")
    assert message is not None
    assert "nvidia.com/gpu=present:NoExecute" in message
    assert NFD_WORKER in message
    assert "use NoSchedule, PreferNoSchedule or no taint" in message


def test_another_key_stops_the_node_agents():
    assert NFD_WORKER in g.untolerated_pods("NoSchedule", "gpu-only", "true")
    # a PreferNoSchedule taint never stops a pod, whatever its key
    assert g.untolerated_pods("PreferNoSchedule", "gpu-only", "true") == []


def test_deployments_need_another_node_with_a_hard_taint():
    # the operator and the NFD master tolerate only control-plane taints: with the GPU node
    # tainted NoSchedule they must find another schedulable node
    assert g.needs_another_node("NoSchedule") == [
        "gpu-operator",
        "nvidia-charm-node-feature-discovery-master",
        "nvidia-charm-node-feature-discovery-gc",
    ]
    assert g.needs_another_node("PreferNoSchedule") == []
    assert g.needs_another_node("") == []


@pytest.mark.parametrize(
    ("toleration", "taint", "expected"),
    [
        (
            g.Toleration("nvidia.com/gpu", "Exists", "", "NoSchedule"),
            ("nvidia.com/gpu", "x", "NoSchedule"),
            True,
        ),
        (
            g.Toleration("nvidia.com/gpu", "Exists", "", "NoSchedule"),
            ("nvidia.com/gpu", "", "NoExecute"),
            False,
        ),
        (
            g.Toleration("nvidia.com/gpu", "Exists", "", ""),
            ("nvidia.com/gpu", "", "NoExecute"),
            True,
        ),
        (g.Toleration("", "Exists", "", ""), ("anything", "v", "NoExecute"), True),
        (g.Toleration("k", "Equal", "a", "NoSchedule"), ("k", "b", "NoSchedule"), False),
        (g.Toleration("k", "Equal", "a", "NoSchedule"), ("k", "a", "NoSchedule"), True),
        (g.Toleration("k", "Equal", "", "NoSchedule"), ("other", "", "NoSchedule"), False),
    ],
)
def test_toleration_matching_follows_kubernetes(toleration, taint, expected):
    assert toleration.tolerates(*taint) is expected


def _manifest_text() -> str | None:
    """The shipped manifest, from a local checkout/mirror of charmed-kubernetes/nvidia."""
    path = os.environ.get("HOMELAB_GPU_OPERATOR_MANIFEST")
    if path:
        return Path(path).read_text()
    mirror = Path("/work/.mirror/charmed-kubernetes+nvidia/repo")
    if not mirror.is_dir():
        return None
    commit, _, file = g.SOURCE.partition(" ")
    out = subprocess.run(
        ["git", "-C", str(mirror), "show", f"{commit.split('@')[1]}:{file}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout if out.returncode == 0 else None


def _tolerations(items) -> set[g.Toleration]:
    return {
        g.Toleration(
            t.get("key", ""), t.get("operator", "Equal"), t.get("value", ""), t.get("effect", "")
        )
        for t in items or []
    }


def test_data_matches_the_shipped_manifest():
    text = _manifest_text()
    if text is None:
        pytest.skip(
            "the upstream manifest is not on this machine: set HOMELAB_GPU_OPERATOR_MANIFEST "
            f"to {g.SOURCE.split(' ')[1]} of charmed-kubernetes/nvidia"
        )
    docs = [d for d in yaml.safe_load_all(text) if d]
    found: dict[str, set[g.Toleration]] = {}
    for doc in docs:
        if doc["kind"] in ("DaemonSet", "Deployment"):
            spec = doc["spec"]["template"]["spec"]
            found[doc["metadata"]["name"]] = _tolerations(spec.get("tolerations"))
        if doc["kind"] == "ClusterPolicy":
            policy = doc["spec"]
            operand_tolerations = _tolerations(policy["daemonsets"]["tolerations"])
            for operand in g.OPERANDS:
                assert policy[operand].get("enabled", True) is not False, operand
                assert "tolerations" not in policy[operand], operand
                found[f"ClusterPolicy operand {operand}"] = operand_tolerations
    assert {w.name: set(w.tolerations) for w in g.WORKLOADS} == found
    images = [
        c["image"]
        for d in docs
        if d["kind"] == "Deployment"
        for c in d["spec"]["template"]["spec"]["containers"]
    ]
    assert f"nvcr.io/nvidia/gpu-operator:{g.MANIFEST_VERSION}" in images
