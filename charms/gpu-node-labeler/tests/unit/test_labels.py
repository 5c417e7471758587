"""Label computation for every fixture tree, sanitising, ownership and taint planning."""

from __future__ import annotations

import pytest
from homelab_core import names

import gpu
import labels

P = "gpu.homelab-charms.io"


def detect(tree, smi, name: str) -> gpu.Detection:
    return gpu.detect(tree(name), smi(name), 10)


def test_no_gpu(tree, smi):
    assert labels.compute(detect(tree, smi, "no-gpu"), P) == {f"{P}/present": "false"}


def test_bmc_vga(tree, smi):
    assert labels.compute(detect(tree, smi, "bmc-vga"), P) == {f"{P}/present": "false"}


def test_rtx2080ti_without_driver(tree, smi):
    assert labels.compute(detect(tree, smi, "rtx2080ti-nodriver"), P) == {
        f"{P}/present": "true",
        f"{P}/count": "1",
        f"{P}/count.1e04": "1",
        f"{P}/model": "GeForce-RTX-2080-Ti",
        f"{P}/device-id": "1e04",
        f"{P}/chip": "TU102",
        f"{P}/family": "turing",
        f"{P}/driver": "none",
        f"{P}/usable": "false",
    }


def test_rtx2080ti_with_nouveau(tree, smi):
    got = labels.compute(detect(tree, smi, "rtx2080ti-nouveau"), P)
    assert got[f"{P}/driver"] == "nouveau"
    assert got[f"{P}/usable"] == "false"
    assert "gpu" not in got  # no legacy labels without a usable driver
    assert not any(k.startswith("nvidia.com/") for k in got)  # GFD labels need driver data


def test_rtx2080ti_with_nvidia(tree, smi):
    assert labels.compute(detect(tree, smi, "rtx2080ti-nvidia"), P) == {
        f"{P}/present": "true",
        f"{P}/count": "1",
        f"{P}/count.1e04": "1",
        f"{P}/model": "GeForce-RTX-2080-Ti",
        f"{P}/device-id": "1e04",
        f"{P}/chip": "TU102",
        f"{P}/family": "turing",
        f"{P}/driver": "nvidia",
        f"{P}/driver-version": "550.127.05",
        f"{P}/usable": "true",
        "gpu": "true",
        "cuda": "true",
        "nvidia.com/gpu.present": "true",
        "nvidia.com/gpu.count": "1",
        "nvidia.com/gpu.product": "NVIDIA-GeForce-RTX-2080-Ti",
        "nvidia.com/gpu.memory": "11264",
        "nvidia.com/gpu.family": "turing",
        "nvidia.com/gpu.compute.major": "7",
        "nvidia.com/gpu.compute.minor": "5",
        "nvidia.com/cuda.driver-version.major": "550",
        "nvidia.com/cuda.driver-version.minor": "127",
        "nvidia.com/cuda.driver-version.revision": "05",
        "nvidia.com/cuda.driver-version.full": "550.127.05",
    }


def test_switches(tree, smi):
    det = detect(tree, smi, "rtx2080ti-nvidia")
    plain = labels.compute(det, P, gfd_labels=False, legacy_labels=False)
    assert all(k.startswith(P + "/") for k in plain)
    managed = labels.compute(det, P, gfd_managed=True)
    assert not any(k.startswith("nvidia.com/") for k in managed)  # never fight GFD
    assert managed["gpu"] == "true"


def test_two_models(tree, smi):
    got = labels.compute(detect(tree, smi, "two-models"), P)
    assert got[f"{P}/count"] == "2"
    assert got[f"{P}/mixed"] == "true"
    assert got[f"{P}/count.1e04"] == "1"
    assert got[f"{P}/count.2204"] == "1"
    # a tie: the lowest PCI address describes the node, as for GFD
    assert got[f"{P}/model"] == "GeForce-RTX-2080-Ti"
    assert got["nvidia.com/gpu.product"] == "NVIDIA-GeForce-RTX-2080-Ti"
    assert got["nvidia.com/gpu.count"] == "2"


def test_mixed_models_primary_is_the_most_numerous(tree, smi):
    det = detect(tree, smi, "two-models")
    extra = gpu.Gpu("0000:03:00.0", "2204", "vga", "nvidia", model="GeForce RTX 3090")
    extra.chip, extra.family, extra.product = "GA102", "ampere", "NVIDIA GeForce RTX 3090"
    det.gpus.append(extra)
    got = labels.compute(det, P)
    assert got[f"{P}/model"] == "GeForce-RTX-3090"
    assert got[f"{P}/count.2204"] == "2"
    assert got[f"{P}/count"] == "3"
    assert got["nvidia.com/gpu.product"] == "NVIDIA-GeForce-RTX-3090"


def test_sriov_vf(tree, smi):
    got = labels.compute(detect(tree, smi, "sriov-vf"), P)
    assert got[f"{P}/count"] == "1"
    assert got["nvidia.com/gpu.count"] == "1"


def test_datacenter_3d(tree, smi):
    got = labels.compute(detect(tree, smi, "datacenter-3d"), P)
    assert got[f"{P}/model"] == "A100-SXM4-40GB"
    assert got[f"{P}/chip"] == "GA100"
    assert got["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-40GB"
    assert got["nvidia.com/gpu.memory"] == "40960"
    assert got["nvidia.com/gpu.family"] == "ampere"


def test_driver_loaded_but_unusable(tree, fake_smi):
    det = gpu.detect(tree("rtx2080ti-nvidia"), fake_smi("", returncode=9), 10)
    got = labels.compute(det, P)
    assert got[f"{P}/driver"] == "nvidia"
    assert got[f"{P}/driver-version"] == "550.127.05"
    assert got[f"{P}/usable"] == "false"
    assert "gpu" not in got
    assert not any(k.startswith("nvidia.com/") for k in got)


def test_every_value_is_valid_for_every_tree(tree, smi):
    for name in ("no-gpu", "rtx2080ti-nodriver", "two-models", "sriov-vf", "datacenter-3d"):
        for key, value in labels.compute(detect(tree, smi, name), P).items():
            assert names.label_key(key) is None, key
            assert names.label_value(value) is None, (key, value)
            assert not labels.forbidden(key)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("NVIDIA GeForce RTX 2080 Ti", "NVIDIA-GeForce-RTX-2080-Ti"),
        ("  A100 (PCIe) 40GB ", "A100-PCIe-40GB"),
        ("-_.weird-name._-", "weird-name"),
        ("é∑", ""),
        ("x" * 80, "x" * 63),
        ("a" * 62 + "-b", "a" * 62),
    ],
)
def test_sanitise(raw, clean):
    assert labels.sanitise(raw) == clean
    assert names.label_value(labels.sanitise(raw)) is None


def test_odd_product_names_from_nvidia_smi_are_sanitised(tree, fake_smi):
    runner = fake_smi(
        "00000000:01:00.0, NVIDIA GeForce RTX 2080 Ti / Ünïcode * "
        + "Z" * 70
        + ", 1, 7.5, 550.1\n"
    )
    det = gpu.detect(tree("rtx2080ti-nvidia"), runner, 10)
    got = labels.compute(det, P)
    product = got["nvidia.com/gpu.product"]
    assert names.label_value(product) is None
    assert len(product) == 63


@pytest.mark.parametrize(
    "key",
    [
        "nvidia.com/gpu.deploy.driver",
        "nvidia.com/gfd.timestamp",
        "feature.node.kubernetes.io/pci-10de.present",
        "node-role.kubernetes.io/gpu",
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
        "x.k8s.io/y",
    ],
)
def test_forbidden_keys(key):
    assert labels.forbidden(key)


def test_allowed_keys():
    for key in ("gpu", "nvidia.com/gpu.product", f"{P}/present", "example.com/x"):
        assert not labels.forbidden(key)


# --- ownership ---


def test_plan_sets_only_the_difference():
    wanted = {f"{P}/present": "true", f"{P}/count": "2", "gpu": "true"}
    current = {f"{P}/present": "true", f"{P}/count": "1", "kubernetes.io/hostname": "n"}
    got = labels.plan(wanted, current, set(), P, allow_removal=True)
    assert got.patch == {f"{P}/count": "2", "gpu": "true"}
    assert got.owned == {f"{P}/present", f"{P}/count", "gpu"}


def test_plan_steady_state_is_empty():
    wanted = {f"{P}/present": "true", "gpu": "true"}
    got = labels.plan(wanted, dict(wanted), {f"{P}/present", "gpu"}, P, allow_removal=True)
    assert got.patch == {}
    assert got.owned == {f"{P}/present", "gpu"}


def test_plan_does_not_claim_labels_someone_else_set():
    wanted = {f"{P}/present": "true", "gpu": "true", "cuda": "true"}
    current = {"gpu": "true", "cuda": "true"}  # a 1.28 kubernetes-worker set these
    got = labels.plan(wanted, current, set(), P, allow_removal=True)
    assert got.patch == {f"{P}/present": "true"}
    assert got.owned == {f"{P}/present"}
    # later the GPU is gone: the worker's labels stay
    gone = labels.plan(
        {f"{P}/present": "false"},
        {**current, f"{P}/present": "true"},
        got.owned,
        P,
        allow_removal=True,
    )
    assert gone.patch == {f"{P}/present": "false"}


def test_plan_removes_owned_labels_no_longer_wanted():
    current = {f"{P}/present": "true", f"{P}/count": "1", "gpu": "true", "other": "x"}
    owned = {f"{P}/present", f"{P}/count", "gpu"}
    got = labels.plan({f"{P}/present": "false"}, current, owned, P, allow_removal=True)
    assert got.patch == {f"{P}/present": "false", f"{P}/count": None, "gpu": None}
    assert got.owned == {f"{P}/present"}


def test_plan_never_removes_after_an_incomplete_scan():
    current = {f"{P}/present": "true", f"{P}/count": "1", "gpu": "true"}
    owned = {f"{P}/present", f"{P}/count", "gpu"}
    got = labels.plan({f"{P}/present": "true"}, current, owned, P, allow_removal=False)
    assert got.patch == {}
    assert got.owned == owned
    assert got.kept == ["gpu", f"{P}/count"]  # sorted


def test_plan_after_an_incomplete_scan_only_adds_absent_keys():
    # one of two GPUs unreadable: the scan says 1, the Node says 2
    current = {f"{P}/present": "true", f"{P}/count": "2", "nvidia.com/gpu.count": "2"}
    owned = set(current)
    wanted = {
        f"{P}/present": "true",
        f"{P}/count": "1",
        "nvidia.com/gpu.count": "1",
        f"{P}/model": "GeForce-RTX-2080-Ti",
    }
    got = labels.plan(wanted, current, owned, P, allow_removal=False, held=labels.hold_all)
    assert got.patch == {f"{P}/model": "GeForce-RTX-2080-Ti"}  # absent: added
    assert got.owned == owned | {f"{P}/model"}  # changed values stay owned
    assert sorted(got.kept) == sorted([f"{P}/count", "nvidia.com/gpu.count"])
    # a held key someone else set is neither changed nor claimed
    theirs = labels.plan(
        {"gpu": "true"}, {"gpu": "yes"}, set(), P, allow_removal=False, held=labels.hold_all
    )
    assert (theirs.patch, theirs.owned) == ({}, set())


def test_after_a_failed_nvidia_smi_read_its_keys_are_held(tree, smi, fake_smi):
    good = gpu.detect(tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), 10)
    before = labels.compute(good, P)
    failed = gpu.detect(tree("rtx2080ti-nvidia"), fake_smi(raises=gpu.CommandTimeoutError()), 10)
    held = labels.held_keys(failed, P)
    derived = {k for k in before if held(k)}
    assert derived == {
        *(k for k in before if k.startswith("nvidia.com/")),
        "gpu",
        "cuda",
        f"{P}/usable",
        f"{P}/family",
        f"{P}/driver-version",
    }
    assert not held(f"{P}/count")
    assert not held(f"{P}/model")
    wanted = labels.compute(failed, P)
    got = labels.plan(wanted, before, set(before), P, allow_removal=True, held=held)
    assert got.patch == {}  # nothing removed, usable not flipped
    assert got.owned == set(before)
    # a complete detection with an answer holds nothing; an incomplete scan holds everything
    assert not labels.held_keys(good, P)("gpu")
    good.errors.append("0000:02:00.0: vendor unreadable")
    assert labels.held_keys(good, P)(f"{P}/count")


def test_a_definitive_nvidia_smi_answer_removes_its_keys(tree, smi, fake_smi):
    good = gpu.detect(tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), 10)
    before = labels.compute(good, P)
    broken = gpu.detect(tree("rtx2080ti-nvidia"), fake_smi("fell off the bus", returncode=15), 10)
    held = labels.held_keys(broken, P)
    wanted = labels.compute(broken, P)
    got = labels.plan(wanted, before, set(before), P, allow_removal=True, held=held)
    assert got.patch[f"{P}/usable"] == "false"
    assert got.patch["gpu"] is None
    assert got.patch["nvidia.com/gpu.product"] is None


def test_plan_never_removes_a_key_it_did_not_set_even_under_its_prefix():
    # issue 11: a prefix that covers the worker's role label must not delete it
    current = {"homelab-charms.io/role": "gpu", "homelab-charms.io/count.2204": "1"}
    got = labels.plan(
        {"homelab-charms.io/present": "true"},
        current,
        set(),
        "homelab-charms.io",
        allow_removal=True,
    )
    assert got.patch == {"homelab-charms.io/present": "true"}
    assert got.owned == {"homelab-charms.io/present"}


def test_plan_corrects_its_own_names_under_its_prefix_after_a_lost_state():
    current = {f"{P}/present": "true", f"{P}/count": "1"}
    got = labels.plan(
        {f"{P}/present": "true", f"{P}/count": "2"}, current, set(), P, allow_removal=True
    )
    assert got.patch == {f"{P}/count": "2"}
    assert got.owned == {f"{P}/present", f"{P}/count"}


def test_plan_leaves_a_foreign_value_outside_its_prefix_and_says_so():
    got = labels.plan({"gpu": "true"}, {"gpu": "false"}, set(), P, allow_removal=True)
    assert (got.patch, got.owned, got.foreign) == ({}, set(), ["gpu"])


def test_plan_moves_labels_when_the_prefix_changes():
    old = {"old.example.com/present": "true"}
    got = labels.plan(
        {"new.example.com/present": "true"}, old, set(old), "new.example.com", allow_removal=True
    )
    assert got.patch == {"new.example.com/present": "true", "old.example.com/present": None}


def test_plan_hands_nvidia_keys_over_to_gfd():
    current = {
        "nvidia.com/gpu.product": "X",
        "nvidia.com/gfd.timestamp": "1",
        f"{P}/present": "true",
    }
    owned = {"nvidia.com/gpu.product", f"{P}/present"}
    got = labels.plan(
        {f"{P}/present": "true"}, current, owned, P, allow_removal=True, gfd_managed=True
    )
    assert got.patch == {}
    assert got.owned == {f"{P}/present"}


def test_plan_never_sends_forbidden_keys_even_if_state_says_owned():
    current = {"nvidia.com/gpu.deploy.driver": "true", "node-role.kubernetes.io/x": ""}
    owned = set(current)
    wanted = {"feature.node.kubernetes.io/pci-10de.present": "true"}
    got = labels.plan(wanted, current, owned, P, allow_removal=True)
    assert got.patch == {}


# --- taint ---

T = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}


def test_taint_added():
    other = {"key": "x", "effect": "NoExecute"}
    assert labels.plan_taints([other], "NoSchedule", "") == ([other, T], "NoSchedule")


def test_taint_steady_state():
    assert labels.plan_taints([T], "NoSchedule", "NoSchedule") == (None, "NoSchedule")


def test_taint_effect_changed():
    new = {**T, "effect": "PreferNoSchedule"}
    assert labels.plan_taints([T], "PreferNoSchedule", "NoSchedule") == ([new], "PreferNoSchedule")


def test_taint_removed_only_when_owned():
    assert labels.plan_taints([T], "", "NoSchedule") == ([], "")
    assert labels.plan_taints([T], "", "") == (None, "")


def test_taint_set_by_someone_else_is_not_claimed():
    assert labels.plan_taints([T], "NoSchedule", "") == (None, "")


def test_one_usable_gpu_of_two(tree, smi):
    det = detect(tree, smi, "two-models")
    det.gpus[1].driver = "vfio-pci"
    got = labels.compute(det, P)
    assert got[f"{P}/driver"] == "mixed"
    assert got[f"{P}/usable"] == "true"
    assert got["nvidia.com/gpu.count"] == "1"  # as GFD would count: the GPUs the driver sees
    assert got[f"{P}/count"] == "2"


def test_raw_device_id_label_value_is_what_the_readme_says(tree, smi):
    from pathlib import Path

    det = gpu.detect(tree("rtx2080ti-nodriver", pci_ids=False), smi("rtx2080ti-nodriver"), 10)
    got = labels.compute(det, P)
    assert det.gpus[0].model == "10de:1e04"  # status line and `detect` action
    assert got[f"{P}/model"] == "10de1e04"  # ':' is not allowed in a label value
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "label value `10de1e04`" in readme


# --- reconcile: the whole decision for one Node ---


def _cfg(**config):
    import settings

    base = {"kubeconfig-path": "/root/cdk/kubeconfig", "label-prefix": P}
    return settings.parse({**base, **config}, "gpu-box")


def _node(labels_=None, taints=None):
    from node_api import NodeView

    return NodeView("gpu-box", dict(labels_ or {}), list(taints or []), "7")


def test_reconcile_first_run_sets_everything_and_owns_it(tree, smi):
    det = gpu.detect(tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), 10)
    got = labels.reconcile(_node({"team": "ml"}), det, _cfg(), labels.Owned())
    assert got.patch == got.wanted == labels.compute(det, P)
    assert got.owned == set(got.wanted)
    assert (got.taints, got.owned_taint, got.tainted, got.taint_blocked) == (None, "", "", "")
    assert got.changes
    assert not got.gfd_managed


def test_reconcile_with_nothing_wanted_is_the_cleanup(tree, smi):
    det = gpu.detect(tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), 10)
    ours = labels.compute(det, P)
    node = _node({**ours, "team": "ml", "gpu": "true", f"{P}/note": "x"}, [T])
    owned = labels.Owned(frozenset(set(ours) - {"gpu"}), "NoSchedule")
    got = labels.reconcile(node, None, _cfg(**{"admin-kubeconfig-path": "/a"}), owned)
    assert got.wanted == {}
    assert got.patch == dict.fromkeys(set(ours) - {"gpu"})  # not P/note: never ours
    assert got.taints == []
    assert (got.owned, got.owned_taint) == (set(), "")
    # without an admin identity the taint stays, and says why
    kubelet = labels.reconcile(node, None, _cfg(), owned)
    assert kubelet.taints is None
    assert kubelet.owned_taint == "NoSchedule"
    assert kubelet.taint_blocked.startswith("removing taint NoSchedule needs an admin identity")


def test_reconcile_claims_what_a_lost_patch_set():
    owned = labels.Owned(
        pending_labels={"gpu": "true", "cuda": "true"}, pending_taint="NoSchedule"
    )
    node = _node({"gpu": "true", "cuda": "other"}, [T])
    got = labels.reconcile(node, None, _cfg(**{"admin-kubeconfig-path": "/a"}), owned)
    assert got.patch == {"gpu": None}  # cuda has another value: not what we sent
    assert got.taints == []


@pytest.mark.parametrize("text", ["abc\n", "gpu\n", "a\nb"])
def test_validators_refuse_a_trailing_or_embedded_newline(text):
    assert names.label_value(text) is not None
    assert names.label_key(f"gpu.homelab-charms.io/{text}") is not None
    assert names.label_key(f"{text}/present") is not None
    assert names.dns_subdomain(text) is not None
