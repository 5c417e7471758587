"""Read and patch one Node through lightkube. No `ops`.

lightkube (and its HTTP client) is imported inside the functions that need it: hooks that do
not reach the API do not pay for the import. Errors come out as NodeApiError with a kind the
charm maps to a status; messages never carry tokens or kubeconfig content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def _parse_yaml(text: str, what: str) -> dict:
    import yaml  # pyyaml, declared in pyproject.toml (lightkube uses it too)

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise NodeApiError("invalid", f"{what} is not valid YAML") from None
    if not isinstance(data, dict) or not data.get("clusters") or not data.get("contexts"):
        raise NodeApiError("invalid", f"{what} is not a kubeconfig (no clusters/contexts)")
    return data


def load_kubeconfig_file(path: str) -> Any:
    """A lightkube KubeConfig from a file; NodeApiError("missing"/"invalid") otherwise."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise NodeApiError("missing", f"{path} not found") from None
    except OSError as e:
        raise NodeApiError("invalid", f"{path} unreadable ({e.strerror})") from None
    except UnicodeDecodeError:
        raise NodeApiError("invalid", f"{path} is not text") from None
    return _from_dict(_parse_yaml(text, path), path)


def load_kubeconfig_text(text: str, what: str) -> Any:
    """A lightkube KubeConfig from kubeconfig text (a Juju secret's content)."""
    return _from_dict(_parse_yaml(text, what), None)


def _from_dict(data: dict, fname: str | None) -> Any:
    from lightkube import KubeConfig

    what = fname or "kubeconfig"
    try:
        config = KubeConfig.from_dict(data, fname=fname)
        config.get()
    except Exception as e:  # lightkube raises ConfigError, KeyError, msgspec errors, ...
        raise NodeApiError("invalid", f"{what} unusable ({type(e).__name__})") from None
    return config


class NodeApi:
    """One identity's view of Nodes."""

    def __init__(self, kubeconfig: Any, timeout: float = c.API_TIMEOUT_S):
        import httpx2
        from lightkube import Client

        try:
            self._client = Client(
                config=kubeconfig,
                timeout=httpx2.Timeout(timeout),
                field_manager=c.FIELD_MANAGER,
                trust_env=False,
            )
        except Exception as e:  # bad certificate data, unsupported auth, ...
            raise NodeApiError("invalid", f"kubeconfig unusable ({type(e).__name__})") from None

    def _call(self, what: str, fn, *args, **kwargs) -> Any:
        import httpx2
        from lightkube.core.exceptions import ApiError

        try:
            return fn(*args, **kwargs)
        except ApiError as e:
            code = e.status.code or 0
            reason = (e.status.reason or "").strip() or "error"
            kind = {
                401: "unauthorized",
                403: "forbidden",
                404: "not-found",
                409: "conflict",
            }.get(code, "unavailable")
            raise NodeApiError(kind, f"{what}: {code} {reason}", code) from None
        except httpx2.TimeoutException:
            raise NodeApiError("unavailable", f"{what}: timed out") from None
        except (httpx2.HTTPError, OSError) as e:
            raise NodeApiError("unavailable", f"{what}: {type(e).__name__}") from None

    def get(self, name: str) -> NodeView:
        """GET the Node (one request)."""
        from lightkube.resources.core_v1 import Node

        node = self._call(f"GET node {name}", self._client.get, Node, name)
        return _view(node)

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
        return _view(node)


def _view(node: Any) -> NodeView:
    meta = node.metadata
    taints = []
    for t in (node.spec.taints if node.spec and node.spec.taints else []) or []:
        taint = {"key": t.key, "effect": t.effect}
        if t.value is not None:
            taint["value"] = t.value
        if getattr(t, "timeAdded", None) is not None:
            taint["timeAdded"] = t.timeAdded.isoformat().replace("+00:00", "Z")
        taints.append(taint)
    return NodeView(
        name=meta.name or "",
        labels=dict(meta.labels or {}),
        taints=taints,
        resource_version=meta.resourceVersion or "",
    )


def connect_file(path: str, timeout: float = c.API_TIMEOUT_S) -> NodeApi:
    """A NodeApi for the kubeconfig at `path`."""
    return NodeApi(load_kubeconfig_file(path), timeout)


def connect_text(text: str, what: str, timeout: float = c.API_TIMEOUT_S) -> NodeApi:
    """A NodeApi for kubeconfig text (an admin kubeconfig from a Juju secret)."""
    return NodeApi(load_kubeconfig_text(text, what), timeout)
