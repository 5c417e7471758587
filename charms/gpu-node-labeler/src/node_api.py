"""Read and patch one Node through lightkube. No `ops`.

lightkube (and its HTTP client) is imported inside the functions that need it: hooks that do
not reach the API do not pay for the import. Errors come out as NodeApiError with a kind the
charm maps to a status; messages never carry tokens or kubeconfig content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from homelab_core import files, kube_api, kubeconfig
from homelab_core.kubeconfig import Kubeconfig

import constants as c


class NodeApiError(Exception):
    """A failure talking to the API (or loading the kubeconfig).

    kind: "missing" (kubeconfig file absent), "invalid" (kubeconfig unusable),
    "unauthorized" (401), "forbidden" (403), "not-found" (404), "conflict" (409),
    "unavailable" (5xx, 429, timeouts, connection errors).
    """

    def __init__(self, kind: str, message: str, code: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.code = code


@dataclass
class NodeView:
    """What the charm needs of a Node."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict] = field(default_factory=list)
    resource_version: str = ""


def load_kubeconfig_file(path: str, option: str = "kubeconfig-path") -> Kubeconfig:
    """The checked kubeconfig in the host file `path`; NodeApiError("missing"/"invalid")."""
    try:
        text = files.read_text(option, path)
    except files.FileReadError as e:
        raise NodeApiError("missing" if e.missing else "invalid", str(e)) from None
    return load_kubeconfig_text(text, f"{option} {path}")


def load_kubeconfig_text(text: str, what: str) -> Kubeconfig:
    """The checked kubeconfig in `text` (a Juju secret's content): self-contained only."""
    try:
        return kubeconfig.parse(text, what)
    except kubeconfig.KubeconfigError as e:
        raise NodeApiError("invalid", str(e)) from None


class NodeApi:
    """One identity's view of Nodes."""

    def __init__(self, config: Kubeconfig, timeout: float = c.API_TIMEOUT_S):
        self._source = config.source
        try:
            self._client = kube_api.client(config, c.FIELD_MANAGER, timeout)
        except kubeconfig.KubeconfigError as e:
            raise NodeApiError("invalid", str(e)) from None

    def _call(self, what: str, fn, *args, **kwargs) -> Any:
        verb, resource = what.split(" ", 1)
        try:
            return kube_api.call(self._client, verb, resource, self._source, fn, *args, **kwargs)
        except kube_api.KubeApiError as e:
            kind = "invalid" if e.kind == "credentials" else e.kind
            raise NodeApiError(kind, e.message, e.code) from None

    def get(self, name: str) -> NodeView:
        """GET the Node (one request)."""
        from lightkube.resources.core_v1 import Node

        node = self._call(f"GET node {name}", self._client.get, Node, name)
        return _view(node, f"GET node {name}")

    def patch(
        self,
        name: str,
        labels: dict[str, str | None],
        taints: list[dict] | None = None,
        resource_version: str = "",
    ) -> NodeView:
        """One JSON merge patch: labels (None removes a key) and, when given, the taint list.

        The taint list is replaced as a whole, so it carries the resourceVersion it was computed
        from (the API answers 409 if the Node changed in between).
        """
        from lightkube.resources.core_v1 import Node
        from lightkube.types import PatchType

        body: dict[str, Any] = {"metadata": {}}
        if labels:
            body["metadata"]["labels"] = labels
        if taints is not None:
            body["spec"] = {"taints": taints or None}
            if resource_version:
                body["metadata"]["resourceVersion"] = resource_version
        node = self._call(
            f"PATCH node {name}",
            self._client.patch,
            Node,
            name,
            body,
            patch_type=PatchType.MERGE,
        )
        return _view(node, f"PATCH node {name}")


def _view(node: Any, what: str) -> NodeView:
    """The Node as plain data; a body of the wrong shape is "unavailable", never a TypeError."""
    try:
        meta = node.metadata
        taints = []
        for t in (node.spec.taints if node.spec and node.spec.taints else []) or []:
            taint = {"key": str(t.key), "effect": str(t.effect)}
            if t.value is not None:
                taint["value"] = str(t.value)
            if getattr(t, "timeAdded", None) is not None:
                taint["timeAdded"] = t.timeAdded.isoformat().replace("+00:00", "Z")
            taints.append(taint)
        labels = dict(meta.labels or {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
            raise TypeError
        return NodeView(
            name=str(meta.name or ""),
            labels=labels,
            taints=taints,
            resource_version=str(meta.resourceVersion or ""),
        )
    except (AttributeError, TypeError, ValueError):
        e = kube_api.shape_error(what)
        raise NodeApiError("unavailable", e.message) from None


def connect_file(
    path: str, timeout: float = c.API_TIMEOUT_S, option: str = "kubeconfig-path"
) -> NodeApi:
    """A NodeApi for the kubeconfig at `path` (named by `option`)."""
    return NodeApi(load_kubeconfig_file(path, option), timeout)


def connect_text(text: str, what: str, timeout: float = c.API_TIMEOUT_S) -> NodeApi:
    """A NodeApi for kubeconfig text (an admin kubeconfig from a Juju secret)."""
    return NodeApi(load_kubeconfig_text(text, what), timeout)
