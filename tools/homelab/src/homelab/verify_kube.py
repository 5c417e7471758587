"""A small Kubernetes API client for `homelab verify` (standard library only).

The kubeconfig is loaded self-contained only: the cluster's CA, the client certificate and key,
a bearer token or a username and password must be in the file itself. ``exec``,
``auth-provider`` and every file reference (``certificate-authority``, ``client-certificate``,
``client-key``, ``tokenFile``) are refused: a kubeconfig is data, never a command or a path to
follow: the rules are homelab_core.kubeconfig's, the same the charms apply.

Every request carries a timeout; any answer that is not a Kubernetes response becomes a
`KubeError` naming what came back.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from homelab_core import kubeconfig

MAX_KUBECONFIG_BYTES = 1 << 20


class KubeconfigError(Exception):
    """The kubeconfig is missing, unreadable, malformed or not self-contained."""


class KubeError(Exception):
    """A request failed: `status` is the HTTP status (None: no answer), `reason` the Status's."""

    def __init__(self, message: str, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason

    @property
    def unreachable(self) -> bool:
        """No usable answer: connection refused, timeout, TLS failure, not an API server."""
        return self.status is None


@dataclass(frozen=True)
class KubeConfig:
    """The parts of one kubeconfig context that a request needs."""

    path: str
    context: str
    server: str
    ca_data: bytes | None = None
    cert_data: bytes | None = None
    key_data: bytes | None = None
    token: str | None = None
    username: str | None = None
    password: str | None = None


def default_kubeconfig_path() -> Path:
    """$KUBECONFIG (its first entry) or ~/.kube/config."""
    env = os.environ.get("KUBECONFIG", "")
    first = next((p for p in env.split(os.pathsep) if p), "")
    return Path(first) if first else Path.home() / ".kube" / "config"


def _read(path: Path) -> str:
    try:
        info = path.stat()
    except OSError as exc:
        raise KubeconfigError(f"{path}: cannot read the kubeconfig: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise KubeconfigError(f"{path}: the kubeconfig is not a regular file")
    if info.st_size > MAX_KUBECONFIG_BYTES:
        raise KubeconfigError(f"{path}: the kubeconfig is larger than 1 MiB")
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_KUBECONFIG_BYTES + 1).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KubeconfigError(f"{path}: cannot read the kubeconfig: {exc}") from None


def load_kubeconfig(path: str | os.PathLike[str] | None, context: str | None = None) -> KubeConfig:
    """Load one context of a self-contained kubeconfig (KubeconfigError on anything else).

    The checks are homelab_core.kubeconfig's, the charms' own (plus: no insecure-skip-tls-verify).
    """
    where = Path(path) if path else default_kubeconfig_path()
    try:
        kc = kubeconfig.parse(_read(where), str(where), context, allow_insecure=False)
    except kubeconfig.KubeconfigError as exc:
        raise KubeconfigError(str(exc)) from None
    fields: dict[str, Any] = {}
    for key, target, source in (
        ("certificate-authority-data", "ca_data", kc.cluster),
        ("client-certificate-data", "cert_data", kc.user),
        ("client-key-data", "key_data", kc.user),
    ):
        if key in source:
            fields[target] = base64.b64decode(source[key])
    for key in ("token", "username", "password"):
        if key in kc.user:
            fields[key] = kc.user[key]
    return KubeConfig(str(where), kc.context, kc.server.rstrip("/"), **fields)


def _ssl_context(config: KubeConfig) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if config.ca_data is not None:
        try:
            context.load_verify_locations(cadata=config.ca_data.decode("ascii", "replace"))
        except ssl.SSLError as exc:
            raise KubeconfigError(f"{config.path}: certificate-authority-data: {exc}") from None
    if config.cert_data is not None and config.key_data is not None:
        # ssl wants files: write them to a private folder for the moment it reads them
        with tempfile.TemporaryDirectory(prefix="homelab-verify-") as folder:
            cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
            for target, data in ((cert, config.cert_data), (key, config.key_data)):
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
            try:
                context.load_cert_chain(cert, key)
            except ssl.SSLError as exc:
                raise KubeconfigError(f"{config.path}: client certificate/key: {exc}") from None
    return context


class Kube:
    """JSON requests to one API server, each with a timeout."""

    def __init__(self, config: KubeConfig, timeout: float = 10.0) -> None:
        self.config = config
        self.timeout = timeout
        parts = urlsplit(config.server)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._ssl = _ssl_context(config) if self._https else None

    def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "homelab-verify/1"}
        if content_type:
            headers["Content-Type"] = content_type
        if self.config.token:
            headers["Authorization"] = f"Bearer {self.config.token}"
        elif self.config.username is not None:
            pair = f"{self.config.username}:{self.config.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return headers

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, str] | None = None,
        *,
        text: bool = False,
    ) -> Any:
        """One request; the decoded JSON answer (or the text with `text`); KubeError."""
        target = self._prefix + path + (f"?{urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        if self._https:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=self._ssl
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        where = f"{method} {self.config.server}{path}"
        try:
            conn.request(
                method,
                target,
                body=data,
                headers=self._headers("application/json" if data else None),
            )
            answer = conn.getresponse()
            raw = answer.read(16 << 20)
            status = answer.status
            ctype = answer.getheader("Content-Type") or ""
        except ssl.SSLError as exc:
            raise KubeError(f"{where}: TLS failed: {exc.reason or exc}") from None
        except TimeoutError:
            raise KubeError(f"{where}: no answer within {self.timeout:g}s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise KubeError(f"{where}: {exc.__class__.__name__}: {exc}") from None
        finally:
            conn.close()
        return self._decode(where, status, ctype, raw, text)

    @staticmethod
    def _decode(where: str, status: int, ctype: str, raw: bytes, text: bool) -> Any:
        decoded: Any = None
        if "json" in ctype:
            try:
                decoded = json.loads(raw)
            except ValueError:
                decoded = None
        if 200 <= status < 300:
            if text:
                return raw.decode("utf-8", "replace")
            if isinstance(decoded, dict):
                return decoded
            raise KubeError(f"{where}: answered {status} with something that is not JSON")
        if isinstance(decoded, dict) and decoded.get("kind") == "Status":
            message = str(decoded.get("message") or "")
            raise KubeError(f"{where}: {status} {message}", status, str(decoded.get("reason", "")))
        if status in (401, 403):
            raise KubeError(f"{where}: {status} (not allowed)", status)
        snippet = raw[:120].decode("utf-8", "replace").strip()
        raise KubeError(f"{where}: not a Kubernetes API answer: HTTP {status} {snippet!r}")

    def get(self, path: str, **query: str) -> dict:
        """GET an object or a list."""
        return self.request("GET", path, query=query or None)

    def create(self, path: str, obj: dict) -> dict:
        """POST an object (the server checks its fields strictly)."""
        return self.request("POST", path, obj, {"fieldValidation": "Strict"})

    def delete(self, path: str, **query: str) -> dict:
        """DELETE an object."""
        return self.request("DELETE", path, query=query or None)

    def log(self, namespace: str, pod: str, limit_bytes: int = 65536) -> str:
        """The log of a pod's (only) container, at most `limit_bytes`."""
        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
        return self.request("GET", path, query={"limitBytes": str(limit_bytes)}, text=True)
