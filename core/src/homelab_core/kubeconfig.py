"""Kubeconfig text as data: parsed, reduced to one context and checked (plain data, no ops).

A kubeconfig that reaches a charm (a Juju secret anyone with model-write access can set, a file
on the host) is data, never code and never a pointer to other files: a charm runs as root in
every hook. So `parse` accepts only self-contained credentials (certificate-authority-data,
client-certificate-data + client-key-data, token, username/password) and refuses `exec`,
`auth-provider` and every file reference (tokenFile, client-certificate, client-key,
certificate-authority, any `*file`/`*path` field), naming the field and the source, never a
value. The YAML is loaded safely: at most MAX_BYTES, no aliases, nesting at most MAX_DEPTH.

`to_lightkube` is the one place in the repository that builds a lightkube KubeConfig (lightkube
is imported inside it); the `homelab` tool uses `parse` only.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MAX_BYTES = 1 << 20
MAX_DEPTH = 16
MAX_SERVER_LENGTH = 2048
COMMAND_FIELDS = ("exec", "auth-provider")
FILE_FIELDS = ("tokenFile", "client-certificate", "client-key", "certificate-authority")
USER_FIELDS = ("token", "username", "password", "client-certificate-data", "client-key-data")
CLUSTER_FIELDS = ("server", "certificate-authority-data", "insecure-skip-tls-verify",
                  "tls-server-name")  # fmt: skip


class KubeconfigError(ValueError):
    """The kubeconfig cannot be used; the message names the source and the rule, no content."""


@dataclass(frozen=True)
class Kubeconfig:
    """One checked context of a kubeconfig and where it came from (`source`, for messages)."""

    source: str
    context: str
    cluster: Mapping[str, Any]
    user: Mapping[str, Any] = field(default_factory=dict)
    namespace: str = ""

    @property
    def server(self) -> str:
        """The API server URL."""
        return str(self.cluster["server"])

    @property
    def data(self) -> dict[str, Any]:
        """A self-contained kubeconfig of this one context (what lightkube is given)."""
        context: dict[str, Any] = {"cluster": "cluster", "user": "user"}
        if self.namespace:
            context["namespace"] = self.namespace
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "cluster", "cluster": dict(self.cluster)}],
            "users": [{"name": "user", "user": dict(self.user)}],
            "contexts": [{"name": self.context, "context": context}],
            "current-context": self.context,
        }


def load_yaml(text: str, source: str) -> Any:
    """YAML text as data: size-capped, no aliases, nesting bounded (KubeconfigError)."""
    import yaml

    class _Loader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
            if self.check_event(yaml.AliasEvent):
                raise KubeconfigError(f"{source} uses a YAML alias (not accepted)")
            depth = getattr(self, "_depth", 0) + 1
            if depth > MAX_DEPTH:
                raise KubeconfigError(f"{source} is nested deeper than {MAX_DEPTH} levels")
            self._depth = depth
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth = depth - 1

    if not isinstance(text, str):
        raise KubeconfigError(f"{source} is not text")
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise KubeconfigError(f"{source} is larger than {MAX_BYTES} bytes")
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        raise KubeconfigError(f"{source} is not valid YAML") from None
    except RecursionError:
        raise KubeconfigError(f"{source} is nested too deeply") from None


def _named(data: Mapping[str, Any], key: str, inner: str) -> dict[str, Mapping[str, Any]]:
    """`name: <inner>` of a kubeconfig list (`contexts`, ...); malformed entries are left out."""
    entries = data.get(key)
    named: dict[str, Mapping[str, Any]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        value = entry.get(inner) or {}
        if isinstance(value, dict):
            named[entry["name"]] = value
    return named


def _refused(part: str, entry: Mapping[str, Any], where: str) -> None:
    for key in entry:
        name = str(key)
        if name in COMMAND_FIELDS:
            raise KubeconfigError(
                f"{where} uses {name!r}, which runs a command to get credentials; the charm "
                "never runs commands from credentials (it would run as root in every hook): "
                "use a token or a client certificate"
            )
        low = name.lower()
        if name in FILE_FIELDS or low.endswith(("file", "path")) or name == "proxy-url":
            what = "sends traffic through a proxy" if name == "proxy-url" else "names a file"
            raise KubeconfigError(
                f"{where} uses {name!r}, which {what}; only embedded data is accepted "
                "(certificate-authority-data, client-certificate-data, client-key-data, token)"
            )
        allowed = USER_FIELDS if part == "user" else CLUSTER_FIELDS
        if name not in allowed and name != "extensions":
            raise KubeconfigError(f"{where} has {show_key(name)}, which is not supported")


def show_key(name: str) -> str:
    """A field name for a message: quoted and cut (a key is not a secret, but may be long)."""
    text = repr(name)
    return text if len(text) <= 40 else text[:36] + "...'"


def _check_values(cluster: Mapping[str, Any], user: Mapping[str, Any], where: str) -> None:
    server = cluster.get("server")
    if not isinstance(server, str) or not server:
        raise KubeconfigError(f"{where} has no server")
    parts = urlsplit(server) if len(server) <= MAX_SERVER_LENGTH else None
    if (
        parts is None
        or parts.scheme not in ("https", "http")
        or not parts.hostname
        or any(not ch.isprintable() or ch.isspace() for ch in server)
    ):
        raise KubeconfigError(f"{where}: the server must be an https:// (or http://) URL")
    for part, entry, key in (
        ("cluster", cluster, "certificate-authority-data"),
        ("user", user, "client-certificate-data"),
        ("user", user, "client-key-data"),
    ):
        if key in entry:
            value = entry[key]
            try:
                if not isinstance(value, str):
                    raise ValueError
                base64.b64decode(value, validate=True)
            except (ValueError, binascii.Error):
                raise KubeconfigError(f"{where}: {part} {key} is not base64 text") from None
    if ("client-certificate-data" in user) != ("client-key-data" in user):
        raise KubeconfigError(f"{where}: client-certificate-data needs client-key-data")
    for key in ("token", "username", "password"):
        value = user.get(key)
        if key in user and (
            not isinstance(value, str) or any(not ch.isprintable() for ch in value)
        ):
            raise KubeconfigError(f"{where}: user {key} must be one line of text")
    if "insecure-skip-tls-verify" in cluster and not isinstance(
        cluster["insecure-skip-tls-verify"], bool
    ):
        raise KubeconfigError(f"{where}: insecure-skip-tls-verify must be true or false")


def parse(
    text: str, source: str, context: str | None = None, *, allow_insecure: bool = True
) -> Kubeconfig:
    """Parse and check kubeconfig text, reduced to `context` (default: the current one)."""
    data = load_yaml(text, source)
    if not isinstance(data, dict) or data.get("kind", "Config") != "Config":
        raise KubeconfigError(f"{source} is not a kubeconfig (kind: Config)")
    contexts = _named(data, "contexts", "context")
    clusters = _named(data, "clusters", "cluster")
    users = _named(data, "users", "user")
    if context:
        if context not in contexts:
            raise KubeconfigError(f"{source} has no context named {show_key(context)}")
        current: Any = context
    else:
        current = data.get("current-context") or (
            next(iter(contexts)) if len(contexts) == 1 else ""
        )
    if not isinstance(current, str) or current not in contexts:
        raise KubeconfigError(f"{source} has no usable current-context")
    ctx = contexts[current]
    cluster = clusters.get(str(ctx.get("cluster")))
    if not cluster or not cluster.get("server"):
        raise KubeconfigError(f"{source} has no cluster with a server for context {current!r}")
    user = users.get(str(ctx.get("user"))) or {} if ctx.get("user") else {}
    _refused("user", user, f"{source}: the user of context {current!r}")
    _refused("cluster", cluster, f"{source}: the cluster of context {current!r}")
    _check_values(cluster, user, f"{source}: context {current!r}")
    if cluster.get("insecure-skip-tls-verify") and not allow_insecure:
        raise KubeconfigError(
            f"{source}: insecure-skip-tls-verify is refused: give certificate-authority-data"
        )
    namespace = ctx.get("namespace")
    cluster = {k: v for k, v in cluster.items() if k != "extensions"}
    user = {k: v for k, v in user.items() if k != "extensions"}
    return Kubeconfig(
        source=source,
        context=current,
        cluster=cluster,
        user=user,
        namespace=namespace if isinstance(namespace, str) else "",
    )


def to_lightkube(config: Kubeconfig) -> Any:
    """The lightkube KubeConfig of a checked kubeconfig (KubeconfigError if lightkube refuses).

    The only call of lightkube's KubeConfig.from_* in the repository: what it is given is
    `config.data`, self-contained by construction, and no file name (nothing relative to
    resolve).
    """
    from lightkube import KubeConfig

    try:
        built = KubeConfig.from_dict(config.data)
        built.get()
    except Exception as e:  # lightkube raises ConfigError, KeyError, msgspec errors, ...
        raise KubeconfigError(f"{config.source} cannot be used ({type(e).__name__})") from None
    return built
