"""The integration suites' Juju gate: a Juju 4 client gets a reason, a 3.6 one goes on."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "integration_conftest", Path(__file__).parents[1] / "integration" / "conftest.py"
)
assert _SPEC is not None
assert _SPEC.loader is not None
gate = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(gate)


def _fake_juju(tmp_path: Path, version: str) -> str:
    juju = tmp_path / "juju"
    juju.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = version ]; then echo "{version}"; exit 0; fi\n'
        'echo "{\\"models\\": []}"\n'
    )
    juju.chmod(0o755)
    return str(juju)


@pytest.mark.parametrize("version", ["4.0.16-ubuntu-amd64", "4.1.0-ubuntu-amd64"])
def test_juju_4_is_refused_with_the_reason(tmp_path: Path, version: str):
    reason = gate.juju_major_problem(_fake_juju(tmp_path, version), 5)
    assert reason.startswith(f"Juju {version}: these suites need a Juju 3.6")
    assert "Jubilant path is not written yet" in reason


def test_juju_3_6_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    juju = _fake_juju(tmp_path, "3.6.12-genericlinux-amd64")
    assert gate.juju_major_problem(juju, 5) == ""
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setenv("HOMELAB_INTEGRATION", "auto")
    assert gate.controller_problem(None) == ""
