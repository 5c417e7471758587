"""Suite 4: gpu-node-labeler on the workers of a machine without a GPU.

It is Active, labels its own Node `<prefix>/present=false` through the kubelet's kubeconfig
(NodeRestriction allows exactly that), claims nothing of GPU Feature Discovery's, and removes
its labels when the charm is removed.
"""

from __future__ import annotations

import json

import pytest

from integration import helpers as h

pytestmark = [pytest.mark.gpu_labeler, pytest.mark.cluster]

LINE = h.CURRENT
APP = h.GPU_NODE_LABELER
PRESENT = "gpu.homelab-charms.io/present"


async def _labels(juju, node: str) -> dict[str, str]:
    k = await h.kube(juju)
    return dict(k.core.read_node(node).metadata.labels or {})


@pytest.mark.abort_on_fail
async def test_deploy_cluster(juju):
    await h.deploy_kubernetes_core(juju, LINE)


@pytest.mark.abort_on_fail
async def test_labels_present_false_and_active(juju):
    await h.deploy_subordinate(juju, APP, LINE.base, {})
    await juju.integrate(f"{APP}:juju-info", f"{h.WORKER}:juju-info")
    await juju.wait([APP], status="active", timeout=1800)
    node = await h.node_name_of(juju, f"{h.WORKER}/0")

    async def labelled() -> dict[str, str] | None:
        labels = await _labels(juju, node)
        return labels if PRESENT in labels else None

    labels = await h.wait_for(f"{PRESENT} on node {node}", labelled, timeout=600)
    assert labels.get(PRESENT) == "false", labels
    # No GPU, no driver: nothing in GPU Feature Discovery's or the legacy keys.
    assert labels.get("nvidia.com/gpu.present") != "true", labels
    assert "gpu" not in labels, labels
    assert "cuda" not in labels, labels


async def test_detect_action(juju):
    unit = await h.unit_on(juju, APP, f"{h.WORKER}/0")
    results = await h.run_action(juju, unit, "detect")
    assert json.loads(results["labels"]) == {PRESENT: "false"}, results
    assert "api-error" not in results, results
    assert json.loads(results["changes"]) == {}, results  # already labelled: nothing to do


async def test_removal_removes_labels(juju):
    node = await h.node_name_of(juju, f"{h.WORKER}/0")
    await juju.remove_application(APP, timeout=900)

    async def gone() -> bool:
        return PRESENT not in await _labels(juju, node)

    await h.wait_for(f"{PRESENT} removed from {node}", gone, timeout=300)
