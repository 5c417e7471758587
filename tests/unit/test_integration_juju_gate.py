"""The integration suites' Juju gate: Juju 4 no longer skips (Jubilant), 3.6 goes on (libjuju)."""

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
def test_juju_4_runs_on_jubilant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str):
    _fake_juju(tmp_path, version)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setenv("HOMELAB_INTEGRATION", "auto")
    monkeypatch.delenv("HOMELAB_JUJU_BACKEND", raising=False)
    assert gate.juju_version(str(tmp_path / "juju"), 5) == (version, "")
    assert gate.probe(None) == ("jubilant", "")
    assert gate.controller_problem(None) == ""


def test_juju_3_6_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    juju = _fake_juju(tmp_path, "3.6.12-genericlinux-amd64")
    assert gate.juju_version(juju, 5) == ("3.6.12-genericlinux-amd64", "")
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setenv("HOMELAB_INTEGRATION", "auto")
    monkeypatch.delenv("HOMELAB_JUJU_BACKEND", raising=False)
    assert gate.controller_problem(None) == ""
    assert gate.probe(None) == ("libjuju", "")


def test_juju_version_that_fails_is_a_reason(tmp_path: Path):
    juju = tmp_path / "juju"
    juju.write_text("#!/bin/sh\necho 'ERROR broken' >&2\nexit 1\n")
    juju.chmod(0o755)
    assert gate.juju_version(str(juju), 5) == (
        "",
        "`juju version` gave no version ('ERROR broken')",
    )
