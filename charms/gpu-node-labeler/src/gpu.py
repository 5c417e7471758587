"""NVIDIA GPU detection from sysfs, pci.ids and (when the driver is usable) nvidia-smi.

Pure apart from reading files under a root directory and calling an injected command runner:
tests feed it fixture trees and canned nvidia-smi output. No `ops` import.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
import signal
import subprocess
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import constants as c

_ADDRESS_RE = re.compile(r"^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
_HEX_RE = re.compile(r"^0x[0-9a-fA-F]{1,8}$")
_VERSION_RE = re.compile(r"^\d{1,4}(\.\d{1,4}){1,2}$")
_CHIP_RE = re.compile(r"^([A-Z]{2})\d{2,3}[A-Z0-9]*$")
_CC_RE = re.compile(r"^(\d{1,2})\.(\d{1,2})$")


@dataclass(frozen=True)
class CommandResult:
    """What a command runner returns."""

    returncode: int
    stdout: str
    stderr: str = ""


class CommandTimeoutError(Exception):
    """The command ran past its timeout and was killed."""


# A runner takes an argument list and a timeout in seconds. It returns a CommandResult, raises
# CommandTimeoutError when the command ran too long, or FileNotFoundError when it is not installed.
Runner = Callable[[Sequence[str], float], CommandResult]


@dataclass
class Gpu:
    """One NVIDIA GPU (a physical PCI display function)."""

    address: str  # PCI address as sysfs names it, e.g. 0000:01:00.0
    device_id: str  # 4 hex digits, lower case, e.g. 1e04
    kind: str  # "vga" or "3d"
    driver: str  # bound kernel driver: nvidia, nouveau, vfio-pci, ... or "none"
    pci_name: str = ""  # the pci.ids entry, e.g. "TU102 [GeForce RTX 2080 Ti]"
    model: str = ""  # "GeForce RTX 2080 Ti"; "10de:1e04" when pci.ids does not know it
    chip: str = ""  # "TU102" when pci.ids names it
    family: str = ""  # "turing" (from the chip, or the compute capability)
    # from nvidia-smi, only when the driver is usable
    product: str = ""  # "NVIDIA GeForce RTX 2080 Ti"
    memory_mib: int | None = None
    compute_capability: str = ""  # "7.5"

    @property
    def usable(self) -> bool:
        """The NVIDIA driver drives this GPU and nvidia-smi answered for it."""
        return self.driver == "nvidia" and bool(self.product)


@dataclass
class SmiReport:
    """What came of asking nvidia-smi."""

    ran: bool = False
    ok: bool = False
    error: str = ""  # why the driver is unusable, for the status line
    driver_version: str = ""
    # the GPU operator's driver root it ran in (`chroot <root> nvidia-smi`), or "" (the host's)
    driver_root: str = ""
    # no answer (timeout, not installed, exit 9/12/255, unparsable output): a failed read, not
    # the driver saying the GPU is unusable
    failed_read: bool = False


@dataclass
class Detection:
    """The full result of one detection."""

    gpus: list[Gpu] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # NVIDIA functions not counted
    errors: list[str] = field(default_factory=list)  # unreadable entries: the scan is incomplete
    warnings: list[str] = field(default_factory=list)  # problems that do not affect the count
    sysfs_error: str = ""  # the PCI device list itself could not be read
    nvidia_module_version: str = ""
    nouveau_loaded: bool = False
    pci_ids: str = "missing"  # path used, "missing" or "unreadable"
    smi: SmiReport = field(default_factory=SmiReport)

    @property
    def complete(self) -> bool:
        """Every PCI entry was read: absence of a GPU can be trusted."""
        return not self.errors and not self.sysfs_error

    @property
    def smi_failed_read(self) -> bool:
        """nvidia-smi was asked and gave no answer: what it would say is unknown."""
        return self.smi.ran and not self.smi.ok and self.smi.failed_read

    @property
    def driver_version(self) -> str:
        """The NVIDIA driver version, from the kernel module or nvidia-smi."""
        return self.nvidia_module_version or self.smi.driver_version

    def models(self) -> list[tuple[str, list[Gpu]]]:
        """GPUs grouped by model, most numerous first (ties: lowest PCI address first)."""
        groups: dict[str, list[Gpu]] = {}
        for gpu in sorted(self.gpus, key=lambda g: g.address):
            groups.setdefault(gpu.device_id, []).append(gpu)
        ordered = sorted(groups.values(), key=lambda gs: (-len(gs), gs[0].address))
        return [(gs[0].model, gs) for gs in ordered]

    def to_dict(self) -> dict:
        """Plain data for the `detect` action."""
        data = asdict(self)
        for gpu, entry in zip(self.gpus, data["gpus"], strict=True):
            entry["usable"] = gpu.usable
        data["complete"] = self.complete
        data["driver_version"] = self.driver_version
        return data


# --- command runner ---


def find_nvidia_smi() -> str:
    """The nvidia-smi binary: on PATH, or at a well-known place (hooks have a short PATH)."""
    found = shutil.which(c.NVIDIA_SMI)
    if found:
        return found
    for candidate in c.NVIDIA_SMI_PATHS:
        if os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError(c.NVIDIA_SMI)


def run_command(args: Sequence[str], timeout: float) -> CommandResult:
    """Run a command (argument list, no shell) with a hard bound on the time spent waiting.

    `subprocess.run(timeout=...)` waits without limit for a killed child to exit; an nvidia-smi
    stuck in the kernel (GPU fallen off the bus) may never exit, so kill its process group and
    wait only a short grace period before giving up on it.
    """
    argv = list(args)
    if argv and argv[0] == c.NVIDIA_SMI:
        argv[0] = find_nvidia_smi()
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"},
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        # stuck in the kernel: leave it, never block the hook
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=c.SMI_KILL_GRACE_S)
        raise CommandTimeoutError(f"{argv[0]} ran past {timeout:g} s") from None
    return CommandResult(proc.returncode, out, err)


# --- reading sysfs ---


def _read(path: Path) -> str:
    return path.read_text(encoding="ascii", errors="strict").strip()


def _read_hex(path: Path) -> int:
    text = _read(path)
    if not _HEX_RE.fullmatch(text):
        raise ValueError(f"{path.name} is {text[:20]!r}, not a hex number")
    return int(text, 16)


def _driver(dev: Path) -> str:
    try:
        return Path(os.readlink(dev / "driver")).name or "none"
    except OSError:  # no link (no driver bound), or not a link
        return "none"


def parse_pci_ids(text: str, vendor: int = c.NVIDIA_VENDOR_ID) -> dict[str, str]:
    """Device names of one vendor from a pci.ids file: {"1e04": "TU102 [GeForce RTX 2080 Ti]"}."""
    want = f"{vendor:04x}"
    names: dict[str, str] = {}
    inside = False
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if not line.startswith("\t"):
            if inside:
                break  # the next vendor
            inside = line[:4].lower() == want and line[4:6] == "  "
            continue
        if inside and not line.startswith("\t\t"):
            dev, _, name = line[1:].partition("  ")
            dev = dev.strip().lower()
            if re.fullmatch(r"[0-9a-f]{4}", dev) and name.strip():
                names[dev] = name.strip()
    return names


def split_pci_name(name: str) -> tuple[str, str]:
    """(chip, model) from a pci.ids name: "TU102 [GeForce RTX 2080 Ti]" -> ("TU102", ...)."""
    m = re.match(r"^(.*?)\s*\[(.+)\]\s*$", name)
    if m:
        words, model = m.group(1).split(), m.group(2).strip()
        chip = words[0] if len(words) == 1 and _CHIP_RE.fullmatch(words[0]) else ""
        return chip, model
    first = name.split(maxsplit=1)[0] if name.split() else ""
    return (first if _CHIP_RE.fullmatch(first) else ""), name.strip()


def family_of_chip(chip: str) -> str:
    """Architecture family from a chip code name: TU102 -> turing."""
    m = _CHIP_RE.fullmatch(chip)
    return c.CHIP_FAMILIES.get(m.group(1), "") if m else ""


def family_of_compute_capability(cc: str) -> str:
    """Architecture family from a compute capability, as GPU Feature Discovery names them."""
    m = _CC_RE.fullmatch(cc)
    if not m:
        return ""
    major, minor = int(m.group(1)), int(m.group(2))
    table = {3: "kepler", 5: "maxwell", 6: "pascal", 9: "hopper", 10: "blackwell", 12: "blackwell"}
    if major == 7:
        return "volta" if minor < 5 else "turing"
    if major == 8:
        return "ampere" if minor < 9 else "ada-lovelace"
    return table.get(major, "")


def _load_pci_ids(root: Path, det: Detection) -> dict[str, str]:
    for rel in c.PCI_IDS_PATHS:
        path = root / rel
        if not path.exists():
            continue
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError as e:
            det.pci_ids = "unreadable"
            det.warnings.append(f"/{rel} unreadable ({e.strerror or type(e).__name__})")
            continue
        det.pci_ids = "/" + rel
        return parse_pci_ids(text)
    return {}


def _scan_function(dev: Path, det: Detection) -> Gpu | None:
    """One PCI function: a Gpu, or None (not ours, or recorded as skipped/error)."""
    address = dev.name
    try:
        vendor = _read_hex(dev / "vendor")
    except (OSError, ValueError, UnicodeDecodeError) as e:
        det.errors.append(f"{address}: vendor unreadable ({_why(e)})")
        return None
    if vendor != c.NVIDIA_VENDOR_ID:
        return None  # a BMC's VGA is class 0300 too: vendor first
    try:
        pci_class = _read_hex(dev / "class")
        device = _read_hex(dev / "device")
    except (OSError, ValueError, UnicodeDecodeError) as e:
        det.errors.append(f"{address}: NVIDIA function unreadable ({_why(e)})")
        return None
    base, sub = pci_class >> 16, (pci_class >> 8) & 0xFF
    if base != c.PCI_CLASS_DISPLAY or sub not in (c.PCI_SUBCLASS_VGA, c.PCI_SUBCLASS_3D):
        det.skipped.append({"address": address, "reason": f"class {pci_class:06x} (not display)"})
        return None
    if (dev / "physfn").exists() or (dev / "physfn").is_symlink():
        det.skipped.append({"address": address, "reason": "SR-IOV virtual function"})
        return None
    kind = "vga" if sub == c.PCI_SUBCLASS_VGA else "3d"
    return Gpu(address=address, device_id=f"{device:04x}", kind=kind, driver=_driver(dev))


def _why(e: BaseException) -> str:
    if isinstance(e, OSError):
        return e.strerror or type(e).__name__
    return str(e) if isinstance(e, ValueError) else type(e).__name__


def _normalise_bus_id(bus_id: str) -> str:
    """nvidia-smi's 00000000:01:00.0 -> sysfs's 0000:01:00.0."""
    bus_id = bus_id.strip().lower()
    domain, _, rest = bus_id.partition(":")
    try:
        return f"{int(domain, 16):04x}:{rest}"
    except ValueError:
        return bus_id


def _smi_error(result: CommandResult) -> str:
    meaning = c.SMI_EXIT_MEANINGS.get(result.returncode, "failed")
    first = (result.stdout.strip() or result.stderr.strip()).splitlines()
    detail = re.sub(r"[^\w .,:;()'/-]", "", first[0])[:100] if first else ""
    return f"nvidia-smi exit {result.returncode} ({meaning})" + (f": {detail}" if detail else "")


def _smi_command(root: Path, det: Detection) -> list[str]:
    """How to run nvidia-smi: in the GPU operator's driver root when it holds one, else the host's.

    With the operator, the host usually has no nvidia-smi (or one that does not match the
    module the driver container loaded).
    """
    driver_root = root / c.OPERATOR_DRIVER_ROOT
    for rel in c.OPERATOR_SMI_PATHS:
        if os.path.lexists(driver_root / rel):
            det.smi.driver_root = str(driver_root)
            return [c.CHROOT, str(driver_root), "/" + rel]
    return [c.NVIDIA_SMI]


def _query_smi(
    run: Runner, timeout: float, det: Detection, command: Sequence[str] = (c.NVIDIA_SMI,)
) -> list[list[str]] | None:
    det.smi.ran = True
    rows: list[list[str]] | None = None
    for fields in (c.SMI_FIELDS, c.SMI_FIELDS_OLD):
        args = [
            *command,
            f"--query-gpu={','.join(fields)}",
            "--format=csv,noheader,nounits",
        ]
        try:
            result = run(args, timeout)
        except CommandTimeoutError:
            det.smi.error = f"nvidia-smi timed out after {timeout:g} s"
            det.smi.failed_read = True
            return None
        except FileNotFoundError:
            missing = "nvidia-smi" if command[0] == c.NVIDIA_SMI else command[0]
            det.smi.error = f"{missing} not installed"
            det.smi.failed_read = True
            return None
        except OSError as e:
            det.smi.error = f"nvidia-smi could not run ({e.strerror or type(e).__name__})"
            det.smi.failed_read = True
            return None
        if result.returncode == c.SMI_EXIT_INVALID_ARGUMENT and fields == c.SMI_FIELDS:
            continue  # an old driver without compute_cap
        if result.returncode != 0:
            det.smi.error = _smi_error(result)
            det.smi.failed_read = result.returncode in c.SMI_EXIT_FAILED_READ
            return None
        rows = []
        for row in csv.reader(result.stdout.splitlines(), skipinitialspace=True):
            if len(row) != len(fields):
                continue
            values = dict(zip(fields, (v.strip() for v in row), strict=True))
            rows.append(
                [
                    values["pci.bus_id"],
                    values["name"],
                    values["memory.total"],
                    values.get("compute_cap", ""),
                    values["driver_version"],
                ]
            )
        break
    if not rows:
        det.smi.error = "nvidia-smi gave no usable output"
        det.smi.failed_read = True
        return None
    return rows


def _apply_smi(rows: list[list[str]], det: Detection) -> None:
    by_address = {g.address: g for g in det.gpus}
    joined = 0
    for bus_id, name, memory, cc, version in rows:
        gpu = by_address.get(_normalise_bus_id(bus_id))
        if gpu is None or gpu.driver != "nvidia":
            continue
        joined += 1
        gpu.product = name if name and not name.startswith("[") else gpu.model
        gpu.memory_mib = int(memory) if memory.isdigit() else None
        gpu.compute_capability = cc if _CC_RE.fullmatch(cc) else ""
        gpu.family = family_of_compute_capability(gpu.compute_capability) or gpu.family
        if _VERSION_RE.fullmatch(version):
            det.smi.driver_version = version
    if joined == 0:
        det.smi.error = "nvidia-smi listed none of the GPUs found in sysfs"
        return
    det.smi.ok = True


def _proc_version(path: Path) -> str:
    """The version in /proc/driver/nvidia/version's NVRM line, or ""."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""
    m = re.search(r"^NVRM version:.*?\s(\d{1,4}(?:\.\d{1,4}){1,2})\s", text, re.MULTILINE)
    return m.group(1) if m else ""


def detect(root: str | os.PathLike[str], run: Runner, smi_timeout: float) -> Detection:
    """Detect NVIDIA GPUs under a filesystem root (`/` on a machine, a fixture tree in tests)."""
    root = Path(root)
    det = Detection()
    devices_dir = root / c.PCI_DEVICES_DIR
    try:
        entries = sorted(os.listdir(devices_dir))
    except OSError as e:
        det.sysfs_error = f"/{c.PCI_DEVICES_DIR} unreadable ({e.strerror or type(e).__name__})"
        return det
    for name in entries:
        if not _ADDRESS_RE.fullmatch(name):
            continue
        gpu = _scan_function(devices_dir / name, det)
        if gpu is not None:
            det.gpus.append(gpu)

    version_file = root / c.NVIDIA_MODULE_VERSION
    if version_file.exists():
        try:
            version = _read(version_file)
        except (OSError, UnicodeDecodeError) as e:
            det.warnings.append(f"/{c.NVIDIA_MODULE_VERSION} unreadable ({_why(e)})")
        else:
            if _VERSION_RE.fullmatch(version):
                det.nvidia_module_version = version
            else:
                det.warnings.append(
                    f"/{c.NVIDIA_MODULE_VERSION} is not a version: {version[:20]!r}"
                )
    if not det.nvidia_module_version:
        det.nvidia_module_version = _proc_version(root / c.NVIDIA_PROC_VERSION)
    det.nouveau_loaded = (root / c.NOUVEAU_MODULE_DIR).is_dir()
    if not det.gpus:
        return det

    names = _load_pci_ids(root, det)
    for gpu in det.gpus:
        gpu.pci_name = names.get(gpu.device_id, "")
        if gpu.pci_name:
            gpu.chip, gpu.model = split_pci_name(gpu.pci_name)
        else:
            gpu.model = f"10de:{gpu.device_id}"
        gpu.family = family_of_chip(gpu.chip)

    if any(g.driver == "nvidia" for g in det.gpus):
        rows = _query_smi(run, smi_timeout, det, _smi_command(root, det))
        if rows is not None:
            _apply_smi(rows, det)
    return det


# --- what to tell the user ---

_CONTAINERD_FIX = (
    "set containerd gpu_driver=auto (juju config containerd gpu_driver=auto): containerd "
    "installs the NVIDIA driver"
)
_PREINSTALLED_FIX = "install the NVIDIA driver on this machine (driver-route=preinstalled)"


def _nouveau_fix(route: str) -> str:
    if route == c.DRIVER_ROUTE_OPERATOR:
        return (
            "blacklist it before the GPU operator's driver container can load the NVIDIA "
            f"driver: {c.NOUVEAU_FIX}"
        )
    if route == c.DRIVER_ROUTE_CONTAINERD:
        return f"{_CONTAINERD_FIX}, and blacklist nouveau: {c.NOUVEAU_FIX}"
    return f"{_PREINSTALLED_FIX}, and blacklist nouveau: {c.NOUVEAU_FIX}"


def describe(
    det: Detection, *, gfd_managed: bool = False, route: str = c.DEFAULT_DRIVER_ROUTE
) -> tuple[str, str]:
    """(state, message): state is "active", "waiting" or "blocked"; the message is the status.

    `gfd_managed`: the Node carries GPU Feature Discovery's timestamp, i.e. the GPU operator
    manages the driver; nvidia-smi failing here is then no reason to block. `route`: where the
    driver comes from (config `driver-route`), which decides the fix a missing driver needs.
    """
    if det.sysfs_error:
        return "blocked", f"cannot scan PCI devices: {det.sysfs_error}; labels left unchanged"
    if not det.gpus:
        if det.errors:
            n = len(det.errors)
            return "blocked", (
                f"PCI scan incomplete ({n} unreadable entr{'y' if n == 1 else 'ies'}: "
                f"{det.errors[0]}); labels left unchanged"
            )
        return "active", "no NVIDIA GPU"
    parts = []
    for model, gpus in det.models():
        chip = f" ({gpus[0].chip})" if gpus[0].chip else ""
        parts.append(f"{len(gpus)}× {model}{chip}")  # noqa: RUF001 - as in the issue
    summary = " + ".join(parts)
    chips = ", ".join(dict.fromkeys(g.chip or g.model for _, gs in det.models() for g in gs))
    drivers = Counter(g.driver for g in det.gpus)
    if drivers["nouveau"] or (drivers["none"] and det.nouveau_loaded):
        return "blocked", f"NVIDIA GPU found ({chips}) but nouveau is loaded: " + _nouveau_fix(
            route
        )
    if drivers["none"]:
        if route == c.DRIVER_ROUTE_OPERATOR:
            return "waiting", (
                f"NVIDIA GPU found ({chips}), no driver loaded yet: waiting for the GPU "
                "operator's driver container (deploy nvidia-gpu-operator if it is not)"
            )
        return "blocked", f"NVIDIA GPU found ({chips}) but no driver loaded: " + (
            _CONTAINERD_FIX if route == c.DRIVER_ROUTE_CONTAINERD else _PREINSTALLED_FIX
        )
    version = det.driver_version
    if drivers["nvidia"] and not det.smi.ok and not gfd_managed:
        return "blocked", (
            f"{summary}: NVIDIA driver {version or '(unknown version)'} loaded but unusable "
            f"({det.smi.error}); check nvidia-smi on the machine"
            + ("; labels from its last answer kept" if det.smi_failed_read else "")
        )
    others = sorted(d for d in drivers if d != "nvidia")
    text = summary
    if drivers["nvidia"]:
        text += f", driver {version}" if version else ", driver nvidia"
        if not det.smi.ok:  # gfd_managed
            text += f" managed by the GPU operator (here: {det.smi.error})"
    if others:
        text += ", " + ", ".join(f"{d} bound (not for containers)" for d in others)
    return "active", text
