"""Shared fixtures: sysfs trees (tests/fixtures/trees.json), a fake nvidia-smi, a Context.

The ops.testing charm is a subclass of the real one with its I/O injected (sysfs root,
nvidia-smi, hostname and, in unit tests, the Node API).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from ops import testing

import gpu
from charm import GpuNodeLabelerCharm

CHARM_DIR = Path(__file__).resolve().parent.parent
FIXTURES = CHARM_DIR / "tests" / "fixtures"
TREES = json.loads((FIXTURES / "trees.json").read_text())
CHARMCRAFT = yaml.safe_load((CHARM_DIR / "charmcraft.yaml").read_text())
DEFAULT_CONFIG = {k: v["default"] for k, v in CHARMCRAFT["config"]["options"].items()}
NODE = "gpu-box"


def build_tree(name: str, root: Path, *, pci_ids: bool = True) -> Path:
    """Build the sysfs tree `name` (see trees.json) under `root`, the way the kernel lays it
    out: functions under sys/devices/pci0000:00, links in sys/bus/pci/devices, driver and
    physfn links."""
    spec = TREES[name]
    devices = root / "sys" / "devices" / "pci0000:00"
    bus = root / "sys" / "bus" / "pci" / "devices"
    drivers = root / "sys" / "bus" / "pci" / "drivers"
    for d in (devices, bus, drivers):
        d.mkdir(parents=True, exist_ok=True)
    for dev in spec["devices"]:
        path = devices / dev["address"]
        path.mkdir()
        for attr in ("vendor", "device", "class"):
            (path / attr).write_text(dev[attr] + "\n")
        if dev.get("driver"):
            (drivers / dev["driver"]).mkdir(exist_ok=True)
            os.symlink(
                Path("..", "..", "..", "bus", "pci", "drivers", dev["driver"]), path / "driver"
            )
        if dev.get("physfn"):
            os.symlink(Path("..", dev["physfn"]), path / "physfn")
        os.symlink(
            Path("..", "..", "..", "devices", "pci0000:00", dev["address"]), bus / dev["address"]
        )
    for module, version in spec["modules"].items():
        mod = root / "sys" / "module" / module
        mod.mkdir(parents=True)
        if version:
            (mod / "version").write_text(version + "\n")
    for rel in spec.get("files", []):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
        path.chmod(0o755)
    if pci_ids:
        misc = root / "usr" / "share" / "misc"
        misc.mkdir(parents=True)
        (misc / "pci.ids").write_text((FIXTURES / "pci.ids").read_text())
    return root


def smi_output(name: str) -> str:
    """A canned nvidia-smi output from tests/fixtures/nvidia-smi/."""
    return (FIXTURES / "nvidia-smi" / name).read_text()


class FakeSmi:
    """A command runner standing in for nvidia-smi; records its calls."""

    def __init__(
        self,
        stdout: str = "",
        returncode: int = 0,
        stderr: str = "",
        *,
        raises: BaseException | None = None,
        no_compute_cap: bool = False,
        chroot_only: bool = False,
    ):
        self.stdout, self.returncode, self.stderr = stdout, returncode, stderr
        self.raises = raises
        self.no_compute_cap = no_compute_cap
        # the GPU operator's host: no nvidia-smi on the host, only inside `chroot <driver root>`
        self.chroot_only = chroot_only
        self.calls: list[tuple[list[str], float]] = []

    def __call__(self, args: Sequence[str], timeout: float) -> gpu.CommandResult:
        self.calls.append((list(args), timeout))
        if self.raises is not None:
            raise self.raises
        if self.chroot_only and args[0] != "chroot":
            raise FileNotFoundError(args[0])
        if self.no_compute_cap and any("compute_cap" in a for a in args):
            return gpu.CommandResult(2, 'Field "compute_cap" is not a valid field to query.\n')
        return gpu.CommandResult(self.returncode, self.stdout, self.stderr)


def smi_for(name: str) -> FakeSmi:
    """The fake nvidia-smi matching tree `name` (answers exit 9 if the tree has no output)."""
    spec = TREES[name]
    if spec.get("smi"):
        return FakeSmi(smi_output(spec["smi"]))
    return FakeSmi(smi_output("exit9.txt"), returncode=9)


@pytest.fixture
def tree(tmp_path: Path) -> Callable[..., Path]:
    """Factory: tree("rtx2080ti-nvidia") -> the root of a freshly built sysfs tree."""

    def make(name: str, **kwargs: Any) -> Path:
        root = tmp_path / (name + "".join(f"-{k}={v}" for k, v in sorted(kwargs.items())))
        return root if root.exists() else build_tree(name, root, **kwargs)

    return make


def charm_type(
    root: Path, smi: Any = None, api: Any = None, hostname: str = "GPU-Box"
) -> type[GpuNodeLabelerCharm]:
    """A charm subclass with sysfs root, nvidia-smi, hostname and (optionally) the API
    replaced. `api` is a callable(path_or_text, what=None) -> NodeApi-like, or None for the
    real lightkube-backed NodeApi."""
    attrs: dict[str, Any] = {
        "sysfs_root": str(root),
        "run_command": staticmethod(smi or FakeSmi(returncode=9)),
        "hostname": staticmethod(lambda: hostname),
    }
    if api is not None:
        attrs["api_from_file"] = staticmethod(lambda path, option: api(path, option=option))
        attrs["api_from_text"] = staticmethod(lambda text, what: api(text))
    return type("TestCharm", (GpuNodeLabelerCharm,), attrs)


def context(cls: type[GpuNodeLabelerCharm]) -> testing.Context:
    """An ops.testing Context for a charm subclass, with the real charmcraft.yaml."""
    return testing.Context(cls, meta=CHARMCRAFT, app_name="gpu-node-labeler")


def state(
    config: dict | None = None, owned: list[str] | None = None, **kwargs: Any
) -> testing.State:
    """A State with the juju-info relation, config (over the defaults) and stored ownership."""
    stored = []
    if owned is not None or "owned_taint" in kwargs:
        stored.append(
            testing.StoredState(
                name="_stored",
                owner_path="TestCharm",
                content={
                    "owned_labels": owned or [],
                    "owned_taint": kwargs.pop("owned_taint", ""),
                    "node": kwargs.pop("node", NODE),
                },
            )
        )
    return testing.State(
        config={**DEFAULT_CONFIG, **(config or {})},
        relations=[testing.SubordinateRelation("juju-info", remote_app_name="kubernetes-worker")],
        stored_states=stored,
        **kwargs,
    )


# Fixtures wrapping the helpers above (test modules get them by name, not by import).


@pytest.fixture
def fake_smi() -> type[FakeSmi]:
    """The FakeSmi class: fake_smi(stdout=..., returncode=..., raises=...)."""
    return FakeSmi


@pytest.fixture
def smi() -> Callable[[str], FakeSmi]:
    """Factory: smi("rtx2080ti-nvidia") -> the fake nvidia-smi matching that tree."""
    return smi_for


@pytest.fixture
def make_ctx() -> Callable[..., testing.Context]:
    """Factory: make_ctx(root, smi=None, api=None, hostname="GPU-Box") -> Context."""

    def make(root: Path, smi: Any = None, api: Any = None, hostname: str = "GPU-Box"):
        return context(charm_type(root, smi, api, hostname))

    return make


@pytest.fixture
def make_state() -> Callable[..., testing.State]:
    """Factory: make_state(config=None, owned=None, owned_taint="", node=NODE, **State)."""
    return state
