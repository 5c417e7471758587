"""The GPU operator's route with a real `chroot`: gpu.run_command, not a fake runner.

The driver root gets a real shell (dash and the libraries `ldd` lists, copied from this
machine) and an `nvidia-smi` script printing the canned output, nothing else; the host side
has no nvidia-smi at all. Needs root (chroot(2)); skipped otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import gpu

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("chroot") or not Path("/bin/dash").exists(),
    reason="needs root, chroot and /bin/dash",
)


def _copy_with_libraries(binary: str, root: Path) -> None:
    files = [binary]
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0]
        if path.startswith("/"):
            files.append(path)
    for f in files:
        target = root / f.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(f), target)


def test_nvidia_smi_runs_inside_the_operators_driver_root(tree, smi):
    root = tree("rtx2080ti-operator")
    driver_root = root / "run" / "nvidia" / "driver"
    _copy_with_libraries("/bin/dash", driver_root)
    (driver_root / "bin" / "dash").rename(driver_root / "bin" / "sh")
    canned = smi("rtx2080ti-operator").stdout.strip()
    script = driver_root / "usr" / "bin" / "nvidia-smi"
    # answers like nvidia-smi, and only inside the chroot (the file is at /usr/bin there)
    script.write_text(f'#!/bin/sh\n[ -x /usr/bin/nvidia-smi ] || exit 127\necho "{canned}"\n')
    script.chmod(0o755)

    det = gpu.detect(root, gpu.run_command, 10)

    assert det.smi.error == ""
    assert det.smi.ok
    assert det.smi.driver_root == str(driver_root)
    (g,) = det.gpus
    assert g.usable
    assert (g.product, g.memory_mib, g.compute_capability) == (
        "NVIDIA GeForce RTX 2080 Ti",
        11264,
        "7.5",
    )
