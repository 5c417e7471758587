"""This charm's section of the bad-input matrix (tests/robustness/bad_inputs.yaml).

Each case, for config-changed, update-status and the detect action: Blocked (or the action
failed) with a message naming the option and the rule, no exception from the hook, no API
client made (so no request to the Node, let alone a PATCH), the stored ownership untouched and
no file written (the sysfs tree and the working directory are unchanged).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from ops import testing
from test_charm import FakeApi, P, owned

import settings

CHARMCRAFT = yaml.safe_load((Path(__file__).parents[2] / "charmcraft.yaml").read_text())
DEFAULTS = {k: v["default"] for k, v in CHARMCRAFT["config"]["options"].items()}
MATRIX = yaml.safe_load(
    (Path(__file__).parents[4] / "tests" / "robustness" / "bad_inputs.yaml").read_text()
)["gpu-node-labeler"]


def _config(case: dict) -> dict:
    value = case["value"]
    if case.get("pad"):
        value += "a" * case["pad"]
    return {**MATRIX["base"], **case.get("also", {}), case["option"]: value}


def _snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    """Every file under `roots`: (size, mtime_ns), to prove nothing was written."""
    files = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                path = Path(dirpath, name)
                st = path.lstat()
                files[str(path)] = (st.st_size, st.st_mtime_ns)
    return files


def _id(case: dict) -> str:
    return f"{case['option']}={case['value']!r}{'+pad' if case.get('pad') else ''}"[:60]


def test_matrix_is_large_enough():
    options = {c["option"] for c in MATRIX["config"]}
    assert len(MATRIX["config"]) >= 25
    # every string option and the int option; the two booleans cannot be wrong (see the YAML)
    assert options == {
        "node-name",
        "kubeconfig-path",
        "label-prefix",
        "taint",
        "admin-kubeconfig-path",
        "admin-kubeconfig-secret",
        "nvidia-smi-timeout",
    }


@pytest.mark.parametrize("case", MATRIX["config"], ids=_id)
def test_bad_config(tree, smi, make_ctx, make_state, tmp_path, *, monkeypatch, case):
    root = tree("rtx2080ti-nvidia")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    before = _snapshot(root, work)
    api = FakeApi(labels={f"{P}/present": "true", "team": "ml"})
    st = make_state(_config(case), owned=[f"{P}/present"])
    for event in ("config_changed", "update_status"):
        ctx = make_ctx(root, smi=smi("rtx2080ti-nvidia"), api=api)
        out = ctx.run(getattr(ctx.on, event)(), st)  # an exception escaping the hook fails here
        assert out.unit_status.name == "blocked", event
        assert case["option"] in out.unit_status.message
        assert case["rule"] in out.unit_status.message
        assert owned(out)["owned_labels"] == [f"{P}/present"]
    ctx = make_ctx(root, smi=smi("rtx2080ti-nvidia"), api=api)
    with pytest.raises(testing.ActionFailed) as failed:
        ctx.run(ctx.on.action("detect"), st)
    assert case["option"] in failed.value.message
    assert case["rule"] in failed.value.message
    assert api.sources == []  # no client, so no GET and no PATCH
    assert (api.gets, api.patches) == (0, [])
    assert api.labels == {f"{P}/present": "true", "team": "ml"}
    assert _snapshot(root, work) == before


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("node-name", "a" * 253),
        ("node-name", "gpu-1.lab.example"),
        ("kubeconfig-path", "/etc/kubernetes/kubelet.conf"),
        ("kubeconfig-path", "/var/snap/k8s/common/.kube/config"),
        ("admin-kubeconfig-path", "/root/.kube/config"),
        ("label-prefix", "gpu.lab-1.example"),
        ("taint", "PreferNoSchedule"),
        (
            "admin-kubeconfig-secret",
            "secret://c0ffee00-1111-2222-3333-444455556666/csv2n3hfmnhc7lmpn8kg",
        ),
        ("nvidia-smi-timeout", 1),
        ("nvidia-smi-timeout", 120),
    ],
)
def test_boundary_values_that_are_fine(option, value):
    """The rules the matrix checks do not refuse what a machine really uses."""
    got = settings.parse({**DEFAULTS, option: value}, "gpu-box")
    assert got.node_name == (value if option == "node-name" else "gpu-box")
