"""Kubernetes access with lightkube (imported lazily: non-leaders and most actions never pay it).

Plain data in and out: manifests are dicts, PVs come back as `pool.Volume`. Every write uses
one field manager. Errors become `ClusterError` subclasses whose messages are fit for a status
line: they name the verb and the resource, never a credential.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homelab_core import files, kube_api, kubeconfig
from homelab_core.kubeconfig import Kubeconfig, KubeconfigError

from constants import (
    API_TIMEOUT_SECONDS,
    DEFAULT_CLASS_ANNOTATION,
    DEFAULT_CLASS_ANNOTATION_BETA,
    FIELD_MANAGER,
    MARKER_ANNOTATION,
    PREVIOUS_CLAIM_ANNOTATION,
    RECYCLING_ANNOTATION,
)
from pool import ConfigError, Size, Volume, parse_size

logger = logging.getLogger(__name__)


CredentialsError = KubeconfigError  # no usable kubeconfig; the message names the source
ClusterError = kube_api.KubeApiError  # a Kubernetes API call failed (`retry`: try again later)
UnauthorizedError = kube_api.UnauthorizedError
ForbiddenError = kube_api.ForbiddenError
InvalidError = kube_api.InvalidError
UnavailableError = kube_api.UnavailableError
NotFoundError = kube_api.NotFoundError
ConflictError = kube_api.ConflictError


def parse_kubeconfig(text: str, source: str) -> Kubeconfig:
    """Parse and check a kubeconfig: self-contained only (CredentialsError, no content echoed)."""
    return kubeconfig.parse(text, source)


def read_kubeconfig_file(path: str) -> Kubeconfig:
    """Read the principal's kubeconfig on the host (raises CredentialsError)."""
    if not path.strip():
        raise CredentialsError("no cluster credentials: set kubeconfig-secret or kubeconfig-path")
    try:
        text = files.read_text("kubeconfig-path", path)
    except files.FileReadError as e:
        if e.missing:
            raise CredentialsError(
                f"no cluster credentials: kubeconfig-secret is not set and kubeconfig-path "
                f"{path} does not exist"
            ) from None
        raise CredentialsError(str(e)) from None
    return parse_kubeconfig(text, f"kubeconfig-path {path}")


def volume_from_dict(pv: Mapping[str, Any]) -> Volume:
    """A `pool.Volume` from a PV as JSON."""
    meta = pv.get("metadata") or {}
    spec = pv.get("spec") or {}
    claim = spec.get("claimRef") or {}
    nfs = spec.get("nfs") or {}
    annotations = meta.get("annotations") or {}
    if not isinstance(annotations, Mapping):
        annotations = {}
    try:
        size: Size | None = parse_size(str((spec.get("capacity") or {}).get("storage", "")))
    except ConfigError:
        size = None
    return Volume(
        name=meta.get("name", ""),
        size=size,
        phase=(pv.get("status") or {}).get("phase") or "",
        claim=f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else "",
        storage_class=spec.get("storageClassName") or "",
        server=nfs.get("server") or "",
        path=nfs.get("path") or "",
        mount_options=tuple(spec.get("mountOptions") or ()),
        resource_version=meta.get("resourceVersion") or "",
        deleting=bool(meta.get("deletionTimestamp")),
        marked=MARKER_ANNOTATION in annotations,
        previous_claim=str(annotations.get(PREVIOUS_CLAIM_ANNOTATION) or ""),
        recycling=RECYCLING_ANNOTATION in annotations,
    )


@dataclass(frozen=True)
class ClassInfo:
    """A StorageClass as the charm needs to see it."""

    name: str
    provisioner: str
    reclaim_policy: str
    binding_mode: str
    default: bool
    labels: Mapping[str, str]
    default_is_ours: bool = False  # our field manager wrote the default-class annotation


def class_from_dict(sc: Mapping[str, Any]) -> ClassInfo:
    """A `ClassInfo` from a StorageClass as JSON."""
    meta = sc.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    default = any(
        annotations.get(key) == "true"
        for key in (DEFAULT_CLASS_ANNOTATION, DEFAULT_CLASS_ANNOTATION_BETA)
    )
    ours = False
    for entry in meta.get("managedFields") or []:
        fields = ((entry.get("fieldsV1") or {}).get("f:metadata") or {}).get("f:annotations")
        if entry.get("manager") == FIELD_MANAGER and f"f:{DEFAULT_CLASS_ANNOTATION}" in (
            fields or {}
        ):
            ours = True
    return ClassInfo(
        name=meta.get("name", ""),
        provisioner=sc.get("provisioner") or "",
        reclaim_policy=sc.get("reclaimPolicy") or "Delete",
        binding_mode=sc.get("volumeBindingMode") or "Immediate",
        default=default,
        labels=dict(meta.get("labels") or {}),
        default_is_ours=ours,
    )


class Cluster:
    """The API calls the charm makes; one HTTP request each (no hidden retries)."""

    def __init__(self, kubeconfig: Kubeconfig, timeout: float = API_TIMEOUT_SECONDS):
        self._source = kubeconfig.source
        self._client = kube_api.client(kubeconfig, FIELD_MANAGER, timeout)

    def _call(self, verb: str, resource: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one lightkube call; every failure is a ClusterError or CredentialsError."""
        return kube_api.call(self._client, verb, resource, self._source, fn, *args, **kwargs)

    # Reads.

    def list_volumes(self, labels: Mapping[str, str]) -> list[Volume]:
        """LIST the PVs carrying all `labels` (one request)."""
        from lightkube.resources.core_v1 import PersistentVolume

        def run() -> list[Volume]:
            items = self._client.list(PersistentVolume, labels=dict(labels))
            try:
                return [volume_from_dict(item.to_dict()) for item in items]
            except (AttributeError, TypeError, ValueError):
                raise kube_api.shape_error("list persistentvolumes") from None

        return self._call("list", "persistentvolumes", run)

    def get_volume_labels(self, name: str) -> dict[str, str] | None:
        """GET one PV's labels; None when it does not exist."""
        from lightkube.resources.core_v1 import PersistentVolume

        try:
            pv = self._call("get", "persistentvolumes", self._client.get, PersistentVolume, name)
        except NotFoundError:
            return None
        return dict(pv.metadata.labels or {})

    def list_classes(self) -> list[ClassInfo]:
        """LIST every StorageClass (one request: our class and whichever is default)."""
        from lightkube.resources.storage_v1 import StorageClass

        def run() -> list[ClassInfo]:
            items = self._client.list(StorageClass)
            try:
                return [class_from_dict(item.to_dict()) for item in items]
            except (AttributeError, TypeError, ValueError):
                raise kube_api.shape_error("list storageclasses.storage.k8s.io") from None

        return self._call("list", "storageclasses.storage.k8s.io", run)

    # Writes (field manager FIELD_MANAGER).

    def create(self, manifest: Mapping[str, Any]) -> None:
        """POST a new object; ConflictError when the name is taken."""
        resource, kind = self._resource(manifest)
        obj = resource.from_dict(dict(manifest))
        self._call("create", kind, self._client.create, obj)

    def apply(self, manifest: Mapping[str, Any]) -> None:
        """Server-side apply of one of our own objects (force: we are its only manager)."""
        resource, kind = self._resource(manifest)
        obj = resource.from_dict(dict(manifest))
        self._call("patch", kind, self._client.apply, obj, field_manager=FIELD_MANAGER, force=True)

    def delete(self, kind: str, name: str, resource_version: str = "") -> bool:
        """DELETE one object; False when it was already gone.

        With `resource_version`, only the object as it was read: the request carries
        DeleteOptions `preconditions.resourceVersion`, so an object changed since (e.g. a claim
        binding to a PV) is refused with 409 (ConflictError) and left as it is.
        """
        resource, plural = self._resource({"kind": kind})
        try:
            if resource_version:
                self._call(
                    "delete", plural, self._delete_if_unchanged, resource, name, resource_version
                )
            else:
                self._call("delete", plural, self._client.delete, resource, name)
        except NotFoundError:
            return False
        return True

    def _delete_if_unchanged(self, resource: Any, name: str, resource_version: str) -> None:
        """DELETE with a DeleteOptions body (lightkube's `Client.delete` sends none).

        Built and sent by lightkube's own request layer (same URL, auth, TLS and timeout as
        every other call; errors are lightkube's ApiError).
        """
        generic = self._client._client
        request = generic.prepare_request("delete", res=resource, name=name)
        request.data = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "preconditions": {"resourceVersion": resource_version},
        }
        generic.handle_response(
            "delete", generic.send(generic.build_adapter_request(request)), request
        )

    def mark_recycling(self, name: str, resource_version: str, claim: str) -> str:
        """Annotate a PV as being recycled, only if unchanged since we read it.

        A merge patch carrying `resource_version` (409 ConflictError otherwise); returns the
        PV's new resourceVersion.
        """
        body = {
            "metadata": {
                "resourceVersion": resource_version,
                "annotations": {RECYCLING_ANNOTATION: claim or "-"},
            }
        }
        return self.patch_volume(name, body)

    def make_available(self, name: str, resource_version: str) -> None:
        """Remove a Released PV's claimRef and our recycling annotation.

        A merge patch, only if the PV is unchanged since `resource_version`.
        """
        body = {
            "metadata": {
                "resourceVersion": resource_version,
                "annotations": {RECYCLING_ANNOTATION: None},
            },
            "spec": {"claimRef": None},
        }
        self.patch_volume(name, body)

    def patch_volume(self, name: str, body: Mapping[str, Any]) -> str:
        """Merge-patch one PV (the body carries its resourceVersion); its new resourceVersion."""
        from lightkube.resources.core_v1 import PersistentVolume
        from lightkube.types import PatchType

        pv = self._call(
            "patch",
            "persistentvolumes",
            self._client.patch,
            PersistentVolume,
            name,
            body,
            patch_type=PatchType.MERGE,
        )
        return str(pv.metadata.resourceVersion or "")

    @staticmethod
    def _resource(manifest: Mapping[str, Any]) -> tuple[Any, str]:
        from lightkube.resources.core_v1 import PersistentVolume
        from lightkube.resources.storage_v1 import StorageClass

        kind = manifest.get("kind")
        if kind == "PersistentVolume":
            return PersistentVolume, "persistentvolumes"
        if kind == "StorageClass":
            return StorageClass, "storageclasses.storage.k8s.io"
        raise ValueError(f"unsupported kind {kind!r}")
