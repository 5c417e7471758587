"""The core package is ops-free: every module imports in a process that has no `ops`."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import homelab_core

SRC = Path(homelab_core.__file__).resolve().parent.parent


def test_every_module_imports_without_ops():
    names = [m.name for m in pkgutil.walk_packages(homelab_core.__path__, "homelab_core.")]
    code = (
        "import importlib, sys\n"
        f"for name in {['homelab_core', *names]!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'ops' or m.startswith('ops.'))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC)},
    )
    assert done.stdout.strip() == ""
