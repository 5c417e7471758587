"""Answers that are not Kubernetes answers: Waiting naming what came back, never a hook error."""

from __future__ import annotations

import json

import pytest
from support.fake_kube import FakeKube

HOOKS = ["install", "config_changed", "update_status", "stop", "remove"]
FAULTS = {
    "html-200": (200, b"<html><body>login</body></html>", "text/html", "HTTP 200, text/html"),
    "no-content-type": (500, b"oops", None, "HTTP 500, no Content-Type"),
    "error-not-json": (503, b"{not json", "application/json", "HTTP 503, application/json"),
    "wrong-shape-200": (
        200,
        json.dumps({"kind": "Node", "metadata": [1, 2]}).encode(),
        "application/json",
        "HTTP 200, application/json",
    ),
}


@pytest.mark.parametrize("event", HOOKS)
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_not_a_kubernetes_answer(fake_kube: FakeKube, labeler, tmp_path, fault, event):
    status, body, ctype, seen = FAULTS[fault]
    conf = str(fake_kube.write_kubeconfig(tmp_path / "kc"))
    fake_kube.answer(status, body, ctype, times=None)
    _, out = labeler.run("rtx2080ti-nvidia", {"kubeconfig-path": conf}, event=event)
    if event in ("stop", "remove"):
        return  # nothing owned: nothing to do, and nothing raised
    assert out.unit_status.name == "waiting"
    assert out.unit_status.message.startswith(f"Kubernetes API unavailable: {seen}")
    assert "login" not in out.unit_status.message
