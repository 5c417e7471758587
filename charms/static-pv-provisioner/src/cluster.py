"""Kubernetes access with lightkube (imported lazily: non-leaders and most actions never pay it).

Plain data in and out: manifests are dicts, PVs come back as `pool.Volume`. Every write uses
one field manager. Errors become `ClusterError` subclasses whose messages are fit for a status
line: they name the verb and the resource, never a credential.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from constants import (
    API_TIMEOUT_SECONDS,
    DEFAULT_CLASS_ANNOTATION,
    DEFAULT_CLASS_ANNOTATION_BETA,
    FIELD_MANAGER,
    KUBECONFIG_COMMAND_OPTIONS,
    KUBECONFIG_PATH_CHARS,
    MARKER_ANNOTATION,
    MAX_PATH_LENGTH,
    RECYCLING_ANNOTATION,
)
from pool import ConfigError, Size, Volume, parse_size

logger = logging.getLogger(__name__)


class CredentialsError(Exception):
    """No usable kubeconfig; the message says which source and why (never its content)."""


class ClusterError(Exception):
    """A Kubernetes API call failed."""

    retry = True  # whether the next reconcile may simply succeed


class UnauthorizedError(ClusterError):
    """401: the credentials were rejected."""

    retry = False


class ForbiddenError(ClusterError):
    """403: the user lacks a permission; the message names it."""

    retry = False


class InvalidError(ClusterError):
    """400/422: the API refused an object."""

    retry = False


class UnavailableError(ClusterError):
    """5xx, 429, timeouts, connection errors: try again later."""


class NotFoundError(ClusterError):
    """404: the object (or the API) is not there."""


class ConflictError(ClusterError):
    """409 on create: the name is taken (maybe by an object that is not ours)."""


@dataclass(frozen=True)
class Kubeconfig:
    """A parsed kubeconfig and where it came from (for messages)."""

    data: dict[str, Any]
    source: str
    path: str | None = None


def parse_kubeconfig(text: str, source: str, path: str | None = None) -> Kubeconfig:
    """Parse and check a kubeconfig (raises CredentialsError without echoing content)."""
    import yaml  # lightkube's dependency

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise CredentialsError(f"{source} is not valid YAML") from None
    if not isinstance(data, dict) or data.get("kind", "Config") != "Config":
        raise CredentialsError(f"{source} is not a kubeconfig (kind: Config)")
    contexts = _named(data, "contexts", "context")
    clusters = _named(data, "clusters", "cluster")
    users = _named(data, "users", "user")
    current = data.get("current-context") or (next(iter(contexts)) if len(contexts) == 1 else "")
    if not isinstance(current, str) or current not in contexts:
        raise CredentialsError(f"{source} has no usable current-context")
    cluster = clusters.get(str(contexts[current].get("cluster")))
    if not cluster or not cluster.get("server"):
        raise CredentialsError(f"{source} has no cluster with a server for context {current!r}")
    user = users.get(str(contexts[current].get("user"))) or {}
    for option in KUBECONFIG_COMMAND_OPTIONS:
        if user.get(option):
            raise CredentialsError(
                f"{source}: the user of context {current!r} uses {option!r}, which runs a "
                "command to get credentials; the charm never runs commands from credentials "
                "(it would run as root in every hook): use a token or a client certificate"
            )
    data.setdefault("current-context", current)
    return Kubeconfig(data=data, source=source, path=path)


def _named(data: Mapping[str, Any], key: str, inner: str) -> dict[str, dict[str, Any]]:
    """`name: <inner>` of a kubeconfig list (`contexts`, ...); malformed entries are left out."""
    entries = data.get(key)
    named: dict[str, dict[str, Any]] = {}
    for entry in entries if isinstance(entries, list) else []:
        value = entry.get(inner) or {} if isinstance(entry, dict) else None
        if isinstance(value, dict) and isinstance(entry.get("name"), str):
            named[entry["name"]] = value
    return named


def check_kubeconfig_path(path: str) -> None:
    """Check the `kubeconfig-path` option (raises CredentialsError naming the rule)."""
    if not path.strip():
        raise CredentialsError("no cluster credentials: set kubeconfig-secret or kubeconfig-path")
    if len(path) > MAX_PATH_LENGTH:
        raise CredentialsError(f"kubeconfig-path is longer than {MAX_PATH_LENGTH} characters")
    if not KUBECONFIG_PATH_CHARS.fullmatch(path):
        raise CredentialsError(
            f"kubeconfig-path {path!r} may only contain letters, digits and . _ - + @ /"
        )
    if not path.startswith("/"):
        raise CredentialsError(f"kubeconfig-path {path!r} must be an absolute path")
    if any(part in (".", "..") for part in path.split("/")):
        raise CredentialsError(f"kubeconfig-path {path!r} must not contain '.' or '..' components")


def read_kubeconfig_file(path: str) -> Kubeconfig:
    """Read the principal's kubeconfig on the host (raises CredentialsError)."""
    check_kubeconfig_path(path)
    file = Path(path)
    try:
        text = file.read_text()
    except FileNotFoundError:
        raise CredentialsError(
            f"no cluster credentials: kubeconfig-secret is not set and kubeconfig-path {path} "
            "does not exist"
        ) from None
    except OSError as e:
        raise CredentialsError(f"cannot read kubeconfig-path {path}: {e.strerror}") from None
    return parse_kubeconfig(text, f"kubeconfig-path {path}", path)


def volume_from_dict(pv: Mapping[str, Any]) -> Volume:
    """A `pool.Volume` from a PV as JSON."""
    meta = pv.get("metadata") or {}
    spec = pv.get("spec") or {}
    claim = spec.get("claimRef") or {}
    nfs = spec.get("nfs") or {}
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
        marked=MARKER_ANNOTATION in (meta.get("annotations") or {}),
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
        import httpx2
        from lightkube import Client, KubeConfig

        self._source = kubeconfig.source
        try:
            config = KubeConfig.from_dict(kubeconfig.data, fname=kubeconfig.path)
            self._client = Client(
                config=config,
                field_manager=FIELD_MANAGER,
                timeout=httpx2.Timeout(timeout),
                trust_env=False,
            )
        except Exception as e:  # lightkube raises several types for a bad config
            raise CredentialsError(
                f"{kubeconfig.source} cannot be used: {type(e).__name__}"
            ) from None

    def _call(self, verb: str, resource: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one lightkube call and translate its failures."""
        import httpx2
        from lightkube import ApiError, ConfigError

        try:
            return fn(*args, **kwargs)
        except ConfigError:
            # lightkube loads some credentials per request (e.g. a tokenFile); its message may
            # quote what it read, so only the source and the call are named.
            raise CredentialsError(
                f"{self._source} cannot be used: lightkube could not load its credentials "
                f"while trying to {verb} {resource}"
            ) from None
        except ApiError as e:
            code = e.status.code or 0
            message = e.status.message or e.status.reason or ""
            what = f"{verb} {resource}"
            if code == 401:
                raise UnauthorizedError(
                    f"Kubernetes API rejected the credentials from {self._source} "
                    f"(401 Unauthorized) while trying to {what}"
                ) from None
            if code == 403:
                raise ForbiddenError(
                    f"Kubernetes API: not allowed to {what} (403 Forbidden, needs RBAC verb "
                    f"{verb!r} on {resource}): {message}"
                ) from None
            if code == 409:
                raise ConflictError(f"{what}: 409 Conflict: {message}") from None
            if code in (400, 422):
                raise InvalidError(f"{what}: {code} {message}") from None
            if code == 404:
                raise NotFoundError(f"{what}: 404 Not Found: {message}") from None
            raise UnavailableError(f"Kubernetes API error {code} while trying to {what}") from None
        except httpx2.TimeoutException:
            raise UnavailableError(
                f"Kubernetes API timed out while trying to {verb} {resource}"
            ) from None
        except httpx2.HTTPError as e:
            raise UnavailableError(
                f"Kubernetes API unreachable while trying to {verb} {resource} "
                f"({type(e).__name__})"
            ) from None
        except OSError as e:
            raise UnavailableError(
                f"Kubernetes API unreachable while trying to {verb} {resource} ({e.strerror})"
            ) from None

    # Reads.

    def list_volumes(self, labels: Mapping[str, str]) -> list[Volume]:
        """LIST the PVs carrying all `labels` (one request)."""
        from lightkube.resources.core_v1 import PersistentVolume

        def run() -> list[Volume]:
            items = self._client.list(PersistentVolume, labels=dict(labels))
            return [volume_from_dict(item.to_dict()) for item in items]

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
            return [class_from_dict(item.to_dict()) for item in self._client.list(StorageClass)]

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
