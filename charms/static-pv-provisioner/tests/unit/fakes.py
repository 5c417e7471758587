"""In-memory stand-ins for the cluster and the NAS mount, for unit tests.

`FakeApi` implements `provisioner.Api` over plain dicts, converting with the charm's own
`cluster.volume_from_dict` / `class_from_dict`. `LinkMounter` "mounts" a local directory by
turning the mount point into a symbolic link to it, so `nas.mounted_export` and
`nas.ExportDirectories` run unchanged.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cluster
import nas
from constants import FIELD_MANAGER, RECYCLING_ANNOTATION
from pool import Volume


class FakeApi:
    """A tiny in-memory cluster: PVs and StorageClasses, with a call log and injected faults."""

    def __init__(self) -> None:
        self.pvs: dict[str, dict[str, Any]] = {}
        self.classes: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []
        self.faults: dict[str, Exception] = {}  # method name -> raised on its next call
        self.kubeconfigs: list[cluster.Kubeconfig] = []
        self._rv = 0

    def connect(self, kubeconfig: cluster.Kubeconfig) -> FakeApi:
        self.kubeconfigs.append(kubeconfig)
        return self

    def _call(self, method: str, name: str = "") -> None:
        self.calls.append((method, name))
        fault = self.faults.pop(method, None)
        if fault is not None:
            raise fault

    @staticmethod
    def _managed(obj: dict[str, Any]) -> None:
        """managedFields as the apiserver keeps them: our field manager owns what we sent."""
        annotations = obj["metadata"].get("annotations") or {}
        if annotations:
            fields = {"f:metadata": {"f:annotations": {f"f:{k}": {} for k in annotations}}}
            obj["metadata"]["managedFields"] = [{"manager": FIELD_MANAGER, "fieldsV1": fields}]

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def writes(self) -> list[tuple[str, str]]:
        return [
            c
            for c in self.calls
            if c[0]
            in ("create", "apply", "delete", "mark_recycling", "make_available", "patch_volume")
        ]

    # Test helpers.

    def add_pv(self, manifest: dict[str, Any], phase: str = "Available", claim: str = "") -> None:
        obj = copy.deepcopy(manifest)
        obj.setdefault("metadata", {})["resourceVersion"] = self._next_rv()
        obj["status"] = {"phase": phase}
        if claim:
            namespace, name = claim.split("/")
            obj["spec"]["claimRef"] = {"namespace": namespace, "name": name}
        self.pvs[obj["metadata"]["name"]] = obj

    def set_phase(self, name: str, phase: str, claim: str = "") -> None:
        obj = self.pvs[name]
        obj["status"] = {"phase": phase}
        obj["metadata"]["resourceVersion"] = self._next_rv()
        if claim:
            namespace, claim_name = claim.split("/")
            obj["spec"]["claimRef"] = {"namespace": namespace, "name": claim_name}

    def phases(self) -> dict[str, str]:
        return {name: pv["status"]["phase"] for name, pv in sorted(self.pvs.items())}

    # provisioner.Api.

    def list_volumes(self, labels: Mapping[str, str]) -> list[Volume]:
        self._call("list_volumes")
        return [
            cluster.volume_from_dict(pv)
            for pv in self.pvs.values()
            if all(pv["metadata"].get("labels", {}).get(k) == v for k, v in labels.items())
        ]

    def list_classes(self) -> list[cluster.ClassInfo]:
        self._call("list_classes")
        return [cluster.class_from_dict(sc) for sc in self.classes.values()]

    def get_volume_labels(self, name: str) -> dict[str, str] | None:
        self._call("get_volume_labels", name)
        pv = self.pvs.get(name)
        return None if pv is None else dict(pv["metadata"].get("labels", {}))

    def create(self, manifest: Mapping[str, Any]) -> None:
        name = manifest["metadata"]["name"]
        self._call("create", f"{manifest['kind']}/{name}")
        store = self.pvs if manifest["kind"] == "PersistentVolume" else self.classes
        if name in store:
            raise cluster.ConflictError(f"create {name}: 409 Conflict: already exists")
        obj = copy.deepcopy(dict(manifest))
        obj["metadata"]["resourceVersion"] = self._next_rv()
        self._managed(obj)
        if manifest["kind"] == "PersistentVolume":
            obj["status"] = {"phase": "Available"}
        store[name] = obj

    def apply(self, manifest: Mapping[str, Any]) -> None:
        name = manifest["metadata"]["name"]
        self._call("apply", f"{manifest['kind']}/{name}")
        store = self.pvs if manifest["kind"] == "PersistentVolume" else self.classes
        obj = copy.deepcopy(dict(manifest))
        old = store.get(name)
        if old is not None:
            obj["status"] = old.get("status", {})
            if "claimRef" in old.get("spec", {}):
                obj["spec"]["claimRef"] = old["spec"]["claimRef"]
        obj["metadata"]["resourceVersion"] = self._next_rv()
        self._managed(obj)
        store[name] = obj

    def delete(self, kind: str, name: str, resource_version: str = "") -> bool:
        self._call("delete", f"{kind}/{name}")
        store = self.pvs if kind == "PersistentVolume" else self.classes
        old = store.get(name)
        if old and resource_version and old["metadata"]["resourceVersion"] != resource_version:
            raise cluster.ConflictError(f"delete {name}: 409 Conflict: precondition failed")
        return store.pop(name, None) is not None

    def mark_recycling(self, name: str, resource_version: str, claim: str) -> str:
        self._call("mark_recycling", name)
        pv = self.pvs[name]
        if pv["metadata"]["resourceVersion"] != resource_version:
            raise cluster.ConflictError(f"patch {name}: 409 Conflict")
        pv["metadata"].setdefault("annotations", {})[RECYCLING_ANNOTATION] = claim
        pv["metadata"]["resourceVersion"] = self._next_rv()
        return pv["metadata"]["resourceVersion"]

    def make_available(self, name: str, resource_version: str) -> None:
        self._call("make_available", name)
        pv = self.pvs[name]
        if pv["metadata"]["resourceVersion"] != resource_version:
            raise cluster.ConflictError(f"patch {name}: 409 Conflict")
        pv["metadata"].get("annotations", {}).pop(RECYCLING_ANNOTATION, None)
        pv["spec"].pop("claimRef", None)
        pv["status"] = {"phase": "Available"}
        pv["metadata"]["resourceVersion"] = self._next_rv()

    def patch_volume(self, name: str, body: Mapping[str, Any]) -> str:
        """A merge patch (RFC 7386) with the resourceVersion in the body as precondition."""
        self._call("patch_volume", name)
        pv = self.pvs[name]
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        if wanted and pv["metadata"]["resourceVersion"] != wanted:
            raise cluster.ConflictError(f"patch {name}: 409 Conflict")
        patched = _merge(pv, {**body, "metadata": {
            k: v for k, v in (body.get("metadata") or {}).items() if k != "resourceVersion"
        }})  # fmt: skip
        ref = patched.get("spec", {}).get("claimRef")
        # The PV controller: no claimRef, or one without uid (pre-bound) -> Available.
        if patched["status"].get("phase") in ("Released", "Bound") and not (ref or {}).get("uid"):
            patched["status"] = {"phase": "Available"}
        patched["metadata"]["resourceVersion"] = self._next_rv()
        self.pvs[name] = patched
        return patched["metadata"]["resourceVersion"]


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


class LinkMounter:
    """Mounts `export` by replacing the (empty) mount point with a symlink to it."""

    def __init__(self, export: Path, fail: Exception | None = None):
        self.export = export
        self.fail = fail
        self.mounts: list[tuple[str, tuple[str, ...]]] = []

    def mount(self, source: str, target: str, options: Sequence[str], timeout: float) -> None:
        self.mounts.append((source, tuple(options)))
        if self.fail is not None:
            raise self.fail
        os.rmdir(target)
        os.symlink(self.export, target)

    def unmount(self, target: str, timeout: float) -> None:
        os.unlink(target)
        os.mkdir(target)

    def is_mounted(self, target: str) -> bool:
        return os.path.islink(target)


def nas_error(message: str) -> nas.NasError:
    return nas.NasError(message)
