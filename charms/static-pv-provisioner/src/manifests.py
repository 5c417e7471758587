"""The Kubernetes objects the charm writes, as plain dicts (validated for 1.28 and 1.37)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from constants import (
    ACCESS_MODES,
    CHARM_NAME,
    DEFAULT_CLASS_ANNOTATION,
    LABEL_APP,
    LABEL_MANAGED_BY,
    LABEL_MODEL,
    LABEL_SIZE,
    LABEL_VALUE_PATTERN,
    MARKER_ANNOTATION,
    MARKER_VERSION,
    NO_PROVISIONER,
    RECLAIM_POLICY,
)
from pool import Size, Target


def label_value(text: str) -> str:
    """`text` when it is a valid label value, else a readable prefix plus a short hash."""
    if LABEL_VALUE_PATTERN.fullmatch(text):
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    head = re.sub(r"[^-A-Za-z0-9_.]", "-", text)[:50].strip("-_.")
    return f"{head}-{digest}" if head else digest


def ownership_labels(model: str, app: str) -> dict[str, str]:
    """The labels that make an object ours; objects without all of them are never touched."""
    return {
        LABEL_MANAGED_BY: CHARM_NAME,
        LABEL_MODEL: label_value(model),
        LABEL_APP: label_value(app),
    }


def persistent_volume(
    target: Target, name: str, size: Size, owner: Mapping[str, str], *, marked: bool = True
) -> dict[str, Any]:
    """A static NFS PV of the pool, in its own directory `<export>/<name>`.

    `marked`: the directory carries our ownership marker (the annotation says so).
    """
    metadata: dict[str, Any] = {"name": name, "labels": {**owner, LABEL_SIZE: size.text}}
    if marked:
        metadata["annotations"] = {MARKER_ANNOTATION: MARKER_VERSION}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": metadata,
        "spec": {
            "capacity": {"storage": size.text},
            "accessModes": list(ACCESS_MODES),
            "persistentVolumeReclaimPolicy": RECLAIM_POLICY,
            "storageClassName": target.class_name,
            "volumeMode": "Filesystem",
            "mountOptions": list(target.mount_options),
            "nfs": {"server": target.server, "path": target.path(name)},
        },
    }


def storage_class(
    name: str, binding_mode: str, default: bool | None, owner: Mapping[str, str]
) -> dict[str, Any]:
    """Our StorageClass: no provisioner (the pool is static), Retain, the chosen binding mode.

    `default`: True marks it the default class, False says `"false"` (how server-side apply
    takes back a marking this field manager set, whichever operation set it), None leaves the
    annotation out.
    """
    metadata: dict[str, Any] = {"name": name, "labels": dict(owner)}
    if default is not None:
        metadata["annotations"] = {DEFAULT_CLASS_ANNOTATION: "true" if default else "false"}
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": metadata,
        "provisioner": NO_PROVISIONER,
        "reclaimPolicy": RECLAIM_POLICY,
        "volumeBindingMode": binding_mode,
        "allowVolumeExpansion": False,
    }
