"""Every hook pays the charm's imports: lightkube must come only with the API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def test_import_charm_does_not_import_lightkube():
    code = (
        "import sys, charm\n"
        "heavy = sorted(m for m in ('lightkube', 'httpx2') if m in sys.modules)\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC)},
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == ""
