"""Test doubles for the injected I/O of the remote-nfs-mount charm."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

import preflight
from nas_config import NasConfig
from preflight import Export, NetworkError

CHARM = Path(__file__).resolve().parents[2]


@dataclass
class FakeNetwork:
    """A scripted NAS: what resolves, whether 2049 answers, what the export list says."""

    addresses: dict[str, list[str]] = field(default_factory=dict)
    reachable: bool = True
    connect_error: str = "timed out after 5s"
    exports: list[Export] | None = field(default_factory=lambda: [Export("/volume1/k8s", ("*",))])
    exports_error: str = "MOUNT protocol: RPC: Port mapper failure"
    calls: list[str] = field(default_factory=list)

    def resolve(self, host: str, timeout: float) -> list[str]:
        self.calls.append(f"resolve {host}")
        if host[0].isdigit() or ":" in host:
            return [host]
        if host not in self.addresses:
            raise NetworkError("DNS lookup failed: Name or service not known")
        return self.addresses[host]

    def connect(self, address: str, port: int, timeout: float) -> None:
        self.calls.append(f"connect {address}:{port}")
        if not self.reachable:
            raise NetworkError(self.connect_error)

    def list_exports(self, host: str, timeout: float) -> list[Export]:
        self.calls.append(f"exports {host}")
        if self.exports is None:
            raise NetworkError(self.exports_error)
        return list(self.exports)


_: preflight.Network = FakeNetwork()  # the fake honours the protocol


def nas_config(**options: object) -> NasConfig:
    """A NasConfig as `load_config` makes it: charmcraft.yaml's defaults, then `options`.

    Option names with dashes or underscores (`nas_host=` or `**{"nas-host": ...}`).
    """
    declared = yaml.safe_load((CHARM / "charmcraft.yaml").read_text())["config"]["options"]
    values = {name: spec.get("default") for name, spec in declared.items()}
    values.update({name.replace("_", "-"): value for name, value in options.items()})
    return NasConfig(**{name.replace("-", "_"): value for name, value in values.items()})
