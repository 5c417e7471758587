"""The pre-flight against the NAS: reachable, exporting the path, allowing this node.

Plain logic with the network injected (the `Network` protocol), so tests run it against fakes
and against a real NFS server alike. Every network step is bounded by the configured timeout:
a dead NAS costs a hook at most about three timeouts, never a hang.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from constants import NFS_PORT, SHOWMOUNT
from nas_config import NasConfig

Verdict = Literal["ready", "blocked"]


class NetworkError(Exception):
    """A network step failed; the message is what a user should read."""


@dataclass(frozen=True)
class Step:
    """One pre-flight step, for the status and the `check` action."""

    name: str
    ok: bool
    detail: str
    seconds: float

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly form."""
        return {
            "step": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Result:
    """The outcome: a verdict, the status message, and every step taken."""

    verdict: Verdict
    message: str
    steps: tuple[Step, ...] = field(default_factory=tuple)
    exports: tuple[Export, ...] | None = None

    @property
    def verified(self) -> bool:
        """Reachable and the export itself in the server's list (nothing less is "ready")."""
        return self.verdict == "ready"


@dataclass(frozen=True)
class Export:
    """One line of the server's export list: a path and the clients allowed to mount it."""

    path: str
    clients: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.path} {','.join(self.clients) or '(everyone)'}"


class Network(Protocol):
    """The network operations the pre-flight needs (each raises NetworkError on failure)."""

    def resolve(self, host: str, timeout: float) -> list[str]:
        """Resolve a host name to IP addresses."""
        ...

    def connect(self, address: str, port: int, timeout: float) -> None:
        """Open (and close) a TCP connection."""
        ...

    def list_exports(self, host: str, timeout: float) -> list[Export]:
        """Ask the server for its export list (MOUNT protocol)."""
        ...


def run(config: NasConfig, client_address: str | None, network: Network) -> Result:
    """Run every step in order, stopping at the first one that decides the verdict."""
    steps: list[Step] = []
    timeout = float(config.timeout)

    def timed(name: str, action: Callable[[], str]) -> Step:
        start = time.monotonic()
        try:
            detail, ok = action(), True
        except NetworkError as e:
            detail, ok = str(e), False
        step = Step(name, ok, detail, time.monotonic() - start)
        steps.append(step)
        return step

    addresses: list[str] = []

    def resolve() -> str:
        addresses.extend(network.resolve(config.host, timeout))
        return ", ".join(addresses)

    step = timed("resolve", resolve)
    if not step.ok:
        return Result("blocked", f"nas-host {config.host}: {step.detail}", tuple(steps))

    target = addresses[0]
    step = timed("connect", lambda: _connect(network, target, timeout))
    if not step.ok:
        where = f"{config.host}:{NFS_PORT}"
        return Result("blocked", f"{where} unreachable: {step.detail}", tuple(steps))

    exports: list[Export] = []

    def list_exports() -> str:
        exports.extend(network.list_exports(config.host, timeout))
        return "; ".join(str(e) for e in exports) or "(none)"

    step = timed("exports", list_exports)
    if not step.ok:
        message = (
            f"{config.host}: export list unavailable ({step.detail}): {config.export} cannot be "
            "verified, so it is not published; let this node query the MOUNT protocol "
            "(showmount -e) or check the NAS"
        )
        return Result("blocked", message, tuple(steps))

    found = find_export(config.export, exports)
    listed = "; ".join(str(e) for e in exports) or "none"
    if found is None:
        message = f"export {config.export} not exported by {config.host} (exports: {listed})"
        steps.append(Step("export", False, message, 0.0))
        return Result("blocked", message, tuple(steps), tuple(exports))
    if found.path.rstrip("/") != config.export:
        message = (
            f"export {config.export} is not in {config.host}'s export list, only the export "
            f"{found} that holds it: a directory inside an export cannot be verified from here; "
            f"set export-path to {found.path} or export {config.export} on the NAS"
        )
        steps.append(Step("export", False, message, 0.0))
        return Result("blocked", message, tuple(steps), tuple(exports))
    steps.append(Step("export", True, f"{config.host} lists the export {found}", 0.0))

    allowed = client_allowed(client_address, found.clients) if client_address else None
    clients = ",".join(found.clients) or "(everyone)"
    if allowed is False:
        message = (
            f"export {found.path} on {config.host} does not allow this node {client_address} "
            f"(allowed: {clients}): add {client_address} on the NAS"
        )
        steps.append(Step("allowed", False, message, 0.0))
        return Result("blocked", message, tuple(steps), tuple(exports))
    detail = "allowed" if allowed else f"cannot tell from {clients}: not checked"
    steps.append(Step("allowed", True, f"{client_address or 'this node'} {detail}", 0.0))
    return Result(
        "ready",
        f"{config.address} ready (nfsvers={config.nfs_version})",
        tuple(steps),
        tuple(exports),
    )


def _connect(network: Network, address: str, timeout: float) -> str:
    network.connect(address, NFS_PORT, timeout)
    return f"{address}:{NFS_PORT} open"


def find_export(path: str, exports: list[Export]) -> Export | None:
    """The export serving `path`: the path itself, or the deepest export above it.

    NFS servers (Linux knfsd, Synology, TrueNAS, ganesha) let clients mount a directory inside
    an exported one, so `/volume1/k8s` may be served by an export of `/volume1`; the export list
    cannot show that the directory exists, so the pre-flight only names that export.
    """
    best: Export | None = None
    for export in exports:
        root = export.path.rstrip("/") or "/"
        inside = path == root or path.startswith(root.rstrip("/") + "/")
        if inside and (best is None or len(root) > len(best.path)):
            best = export
    return best


def client_allowed(address: str, clients: tuple[str, ...]) -> bool | None:
    """Whether an export's client list admits `address`: True, False, or None (cannot tell).

    Understands everyone (`*`, `(everyone)`, empty), IP addresses, CIDR and address/netmask
    networks. Host names, wildcards and netgroups need the NAS's own resolver: None.
    """
    if not clients or any(c in ("*", "(everyone)", "everyone") for c in clients):
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    unknown = False
    for client in clients:
        try:
            if ip in ipaddress.ip_network(client.strip("()"), strict=False):
                return True
        except ValueError:
            unknown = True  # a host name, wildcard or @netgroup
    return None if unknown else False


def parse_showmount(output: str) -> list[Export]:
    """Parse `showmount --no-headers -e` output: `<path> <client>[,<client>...]` per line."""
    exports = []
    for line in output.splitlines():
        fields = line.split()
        if not fields or not fields[0].startswith("/"):
            continue
        clients = tuple(c for c in ",".join(fields[1:]).split(",") if c)
        exports.append(Export(fields[0], clients))
    return exports


class SystemNetwork:
    """The real network: getaddrinfo, TCP connect, and `showmount -e` (from nfs-common)."""

    def resolve(self, host: str, timeout: float) -> list[str]:
        """Resolve with a deadline (getaddrinfo itself has none)."""
        try:
            ipaddress.ip_address(host)
            return [host]
        except ValueError:
            pass
        result: list[str] = []
        error: list[BaseException] = []

        def lookup() -> None:
            try:
                infos = socket.getaddrinfo(host, NFS_PORT, proto=socket.IPPROTO_TCP)
                result.extend(dict.fromkeys(str(info[4][0]) for info in infos))
            except OSError as e:
                error.append(e)

        thread = threading.Thread(target=lookup, daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise NetworkError(f"DNS lookup timed out after {timeout:g}s")
        if error or not result:
            reason = (
                (getattr(error[0], "strerror", None) or str(error[0])) if error else "no address"
            )
            raise NetworkError(f"DNS lookup failed: {reason}")
        return result

    def connect(self, address: str, port: int, timeout: float) -> None:
        """Open a TCP connection and close it."""
        try:
            with socket.create_connection((address, port), timeout=timeout):
                return
        except TimeoutError:
            raise NetworkError(f"timed out after {timeout:g}s") from None
        except OSError as e:
            raise NetworkError((e.strerror or str(e)).lower()) from None

    def list_exports(self, host: str, timeout: float) -> list[Export]:
        """Run `showmount --no-headers -e HOST` with a deadline."""
        env = {**os.environ, "LC_ALL": "C"}
        try:
            out = subprocess.run(
                [SHOWMOUNT, "--no-headers", "-e", host],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                env=env,
            )
        except FileNotFoundError:
            raise NetworkError("showmount not installed (package nfs-common)") from None
        except subprocess.TimeoutExpired:
            raise NetworkError(f"MOUNT protocol timed out after {timeout:g}s") from None
        if out.returncode != 0:
            reason = (out.stderr.strip().splitlines() or ["showmount failed"])[-1]
            raise NetworkError(f"MOUNT protocol: {reason}")
        return parse_showmount(out.stdout)
