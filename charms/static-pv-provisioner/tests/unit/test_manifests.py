"""Every object the charm writes is valid for Kubernetes 1.28 and 1.37 (kubernetes-validate)."""

from __future__ import annotations

import re

import pytest
from support.k8s_schema import assert_valid

import manifests
from constants import DEFAULT_CLASS_ANNOTATION, LABEL_APP, LABEL_MANAGED_BY, LABEL_MODEL
from pool import Target, parse_pool, parse_size

OWNER = manifests.ownership_labels("k8s", "static-pv-provisioner")


def target(**kw: object) -> Target:
    fields: dict = {
        "class_name": "homelab-nfs",
        "server": "10.0.0.5",
        "export": "/volume1/k8s/",
        "mount_options": ("nfsvers=4.1", "hard", "timeo=600"),
        "sizes": parse_pool("10Gi:8", 32),
        "min_available": 2,
        "max_per_size": 32,
    }
    fields.update(kw)
    return Target(**fields)


def test_persistent_volume_is_valid_and_complete() -> None:
    pv = manifests.persistent_volume(target(), "homelab-nfs-10gi-003", parse_size("10Gi"), OWNER)
    assert_valid(pv)
    assert pv["spec"] == {
        "capacity": {"storage": "10Gi"},
        "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
        "persistentVolumeReclaimPolicy": "Retain",
        "storageClassName": "homelab-nfs",
        "volumeMode": "Filesystem",
        "mountOptions": ["nfsvers=4.1", "hard", "timeo=600"],
        "nfs": {"server": "10.0.0.5", "path": "/volume1/k8s/homelab-nfs-10gi-003"},
    }
    labels = pv["metadata"]["labels"]
    assert labels[LABEL_MANAGED_BY] == "static-pv-provisioner"
    assert labels[LABEL_APP] == "static-pv-provisioner"
    assert labels[LABEL_MODEL] == "k8s"


@pytest.mark.parametrize("size", ["500Mi", "1Ti", "50Gi"])
def test_every_pool_size_gives_a_valid_pv(size: str) -> None:
    pv = manifests.persistent_volume(
        target(class_name="a" * 200), "a" * 200 + "-500mi-999", parse_size(size), OWNER
    )
    assert_valid(pv)


@pytest.mark.parametrize(("default", "value"), [(True, "true"), (False, "false"), (None, None)])
@pytest.mark.parametrize("mode", ["Immediate", "WaitForFirstConsumer"])
def test_storage_class_is_valid(default: bool | None, value: str | None, mode: str) -> None:
    sc = manifests.storage_class("homelab-nfs", mode, default, OWNER)
    assert_valid(sc)
    assert sc["provisioner"] == "kubernetes.io/no-provisioner"
    assert sc["reclaimPolicy"] == "Retain"
    assert sc["volumeBindingMode"] == mode
    annotations = sc["metadata"].get("annotations", {})
    assert annotations.get(DEFAULT_CLASS_ANNOTATION) == value


def test_label_values_are_always_valid() -> None:
    assert manifests.label_value("kubeflow") == "kubeflow"
    long = manifests.label_value("m" * 80)
    assert len(long) <= 63
    assert re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", long)
    assert manifests.label_value("m" * 80) != manifests.label_value("m" * 81)
    assert re.fullmatch(r"[0-9a-f]{10}", manifests.label_value("---"))
    pv = manifests.persistent_volume(
        target(),
        "homelab-nfs-10gi-001",
        parse_size("10Gi"),
        manifests.ownership_labels("a-" * 40, "b" * 70),
    )
    assert_valid(pv)
