"""The integration suites' backends without Juju: a fake `juju` CLI on PATH records every call.

Selection (conftest.backend_choice / probe) picks libjuju on a Juju 3.6 client and Jubilant on
4.x; the Jubilant backend issues exactly the juju commands the suites need (deploy, integrate,
config, run, exec, wait on `juju status --format json`), and its failures read clearly.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest
from integration import backend as b

_SPEC = importlib.util.spec_from_file_location(
    "integration_conftest_backend", Path(__file__).parents[1] / "integration" / "conftest.py"
)
assert _SPEC is not None
assert _SPEC.loader is not None
gate = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(gate)

FAKE = Path(__file__).parents[1] / "integration" / "fake_juju.py"


class FakeJuju:
    """The fake CLI's folder: its answers and the calls it saw."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch):
        self.dir = root / "state"
        (self.dir / "status").mkdir(parents=True)
        bin_dir = root / "bin"
        bin_dir.mkdir()
        self.path = bin_dir / "juju"
        self.path.write_text(f"#!{sys.executable}\n" + FAKE.read_text())
        self.path.chmod(0o755)
        monkeypatch.setenv("FAKE_JUJU_DIR", str(self.dir))
        monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
        monkeypatch.delenv("HOMELAB_JUJU_BACKEND", raising=False)
        monkeypatch.setenv("HOMELAB_INTEGRATION", "auto")
        self.version("3.6.12-genericlinux-amd64", monkeypatch)

    def version(self, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("FAKE_JUJU_VERSION", text)

    def answer(self, command: str, out: str = "", err: str = "", rc: int = 0) -> None:
        (self.dir / f"{command}.out").write_text(out)
        (self.dir / f"{command}.err").write_text(err)
        (self.dir / f"{command}.rc").write_text(str(rc))

    def statuses(self, *answers: dict) -> None:
        for n, answer in enumerate(answers):
            (self.dir / "status" / f"{n:03}.json").write_text(json.dumps(answer))

    def calls(self) -> list[list[str]]:
        log = self.dir / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeJuju:
    return FakeJuju(tmp_path, monkeypatch)


def _status(app: str, current: str, message: str = "", agent: str = "idle") -> dict:
    return {
        "model": {"name": "itest", "type": "iaas", "controller": "fake", "cloud": "lxd",
                  "version": "4.0.1"},
        "machines": {},
        "applications": {
            app: {
                "charm": app, "charm-origin": "local", "charm-name": app, "charm-rev": 0,
                "exposed": False,
                "application-status": {"current": current, "message": message},
                "units": {
                    f"{app}/0": {
                        "workload-status": {"current": current, "message": message},
                        "juju-status": {"current": agent},
                        "public-address": "10.1.2.3",
                        "leader": True,
                    }
                },
            }
        },
    }  # fmt: skip


def _backend(fake: FakeJuju, tmp_path: Path) -> b.JubilantBackend:
    jubilant = pytest.importorskip("jubilant", reason="jubilant is not installed in this env")
    juju = jubilant.Juju(model="fake:itest", cli_binary=str(fake.path))
    return b.JubilantBackend(juju, "fake", "itest", tmp_path, delay=0.01)


def _model_calls(fake: FakeJuju, command: str) -> list[list[str]]:
    return [c for c in fake.calls() if c[:1] == [command]]


# ------------------------------------------------------------------------------ selection


@pytest.mark.parametrize(
    ("version", "wanted", "expected"),
    [
        ("3.6.12-genericlinux-amd64", "", b.LIBJUJU),
        ("3.6.12-genericlinux-amd64", "auto", b.LIBJUJU),
        ("3.6.12-genericlinux-amd64", "jubilant", b.JUBILANT),
        ("3.6.12-genericlinux-amd64", " Jubilant ", b.JUBILANT),
        ("4.0.1-ubuntu-amd64", "", b.JUBILANT),
        ("4.1.0-ubuntu-amd64", "jubilant", b.JUBILANT),
    ],
)
def test_backend_choice(version: str, wanted: str, expected: str):
    assert gate.backend_choice(version, wanted) == (expected, "")


def test_libjuju_asked_for_on_juju_4_is_refused_with_the_reason():
    backend, problem = gate.backend_choice("4.0.1-ubuntu-amd64", "libjuju")
    assert backend == ""
    assert problem.startswith("HOMELAB_JUJU_BACKEND=libjuju, but Juju 4.0.1-ubuntu-amd64:")
    assert "set it to jubilant" in problem


def test_unknown_backend_name_is_refused():
    backend, problem = gate.backend_choice("3.6.12-genericlinux-amd64", "pylibjuju")
    assert (backend, problem) == (
        "",
        "HOMELAB_JUJU_BACKEND=pylibjuju: must be one of auto, libjuju, jubilant",
    )


def test_probe_picks_libjuju_on_3_6_and_asks_the_controller(fake: FakeJuju):
    assert gate.probe(None) == (b.LIBJUJU, "")
    assert fake.calls() == [["version"], ["models", "--format", "json"]]


def test_probe_picks_jubilant_on_4_0(fake: FakeJuju, monkeypatch: pytest.MonkeyPatch):
    fake.version("4.0.1-ubuntu-amd64", monkeypatch)
    assert gate.probe("lab") == (b.JUBILANT, "")
    assert fake.calls() == [["version"], ["models", "--format", "json", "--controller", "lab"]]


def test_probe_env_override_on_4_0(fake: FakeJuju, monkeypatch: pytest.MonkeyPatch):
    fake.version("4.0.1-ubuntu-amd64", monkeypatch)
    monkeypatch.setenv("HOMELAB_JUJU_BACKEND", "libjuju")
    backend, problem = gate.probe(None)
    assert backend == ""
    assert "cannot drive Juju 4" in problem
    assert fake.calls() == [["version"]]  # no controller asked: nothing could run anyway


@pytest.mark.parametrize("text", ["juju is great", "v4", "", "4"])
def test_probe_unknown_version_text(fake: FakeJuju, monkeypatch: pytest.MonkeyPatch, text: str):
    fake.version(text, monkeypatch)
    assert gate.probe(None)[1].startswith("`juju version` gave no version (")


def test_probe_without_juju(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("HOMELAB_INTEGRATION", "auto")
    assert gate.probe(None) == (
        "",
        "no `juju` command on PATH (sudo snap install juju --channel 3.6/stable)",
    )


def test_probe_controller_unreachable_names_juju_error(fake: FakeJuju):
    fake.answer("models", err="ERROR cannot connect to controller\n", rc=1)
    assert gate.probe(None) == (b.LIBJUJU, "`juju models` failed: cannot connect to controller")


def test_skip_mode_asks_nothing(fake: FakeJuju, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOMELAB_INTEGRATION", "skip")
    assert gate.probe(None) == ("", "HOMELAB_INTEGRATION=skip")
    assert fake.calls() == []


# ------------------------------------------------------------------------ Jubilant backend


def test_deploy_charm_file(fake: FakeJuju, tmp_path: Path):
    charm = tmp_path / "remote-nfs-mount_ubuntu@24.04-amd64.charm"
    charm.write_text("zip")
    backend = _backend(fake, tmp_path)
    asyncio.run(
        backend.deploy(
            charm, "nfs", base="ubuntu@24.04", config={"nas-host": "10.0.0.5"},
            constraints="mem=2G virt-type=virtual-machine", trust=True, to="0",
        )
    )  # fmt: skip
    assert _model_calls(fake, "deploy") == [
        ["deploy", "--model", "fake:itest", str(charm), "nfs", "--base", "ubuntu@24.04",
         "--config", "nas-host=10.0.0.5", "--constraints", "mem=2G",
         "--constraints", "virt-type=virtual-machine", "--to", "0", "--trust"]
    ]  # fmt: skip


def test_deploy_from_charmhub_with_channel(fake: FakeJuju, tmp_path: Path):
    backend = _backend(fake, tmp_path)
    asyncio.run(backend.deploy("ubuntu", "client", channel="latest/stable", base="ubuntu@24.04"))
    assert _model_calls(fake, "deploy") == [
        ["deploy", "--model", "fake:itest", "ubuntu", "client", "--base", "ubuntu@24.04",
         "--channel", "latest/stable"]
    ]  # fmt: skip


def test_bad_constraint_is_refused_before_juju(fake: FakeJuju, tmp_path: Path):
    backend = _backend(fake, tmp_path)
    with pytest.raises(ValueError, match="constraint 'mem' is not key=value"):
        asyncio.run(backend.deploy("ubuntu", constraints="mem"))
    assert _model_calls(fake, "deploy") == []


def test_integrate_config_and_refused_integrate(fake: FakeJuju, tmp_path: Path):
    backend = _backend(fake, tmp_path)
    asyncio.run(backend.integrate("nfs:juju-info", "client:juju-info"))
    asyncio.run(backend.config("nfs", {"export-path": "/srv/k8s"}))
    assert _model_calls(fake, "integrate") == [
        ["integrate", "--model", "fake:itest", "nfs:juju-info", "client:juju-info"]
    ]
    assert _model_calls(fake, "config") == [
        ["config", "--model", "fake:itest", "nfs", "export-path=/srv/k8s"]
    ]
    fake.answer("integrate", err='ERROR no relations found for "nfs:nfs"\n', rc=1)
    assert asyncio.run(backend.try_integrate("nfs:nfs", "kubernetes-worker:nfs")) is False
    with pytest.raises(AssertionError, match='exited 1: ERROR no relations found for "nfs:nfs"'):
        asyncio.run(backend.integrate("nfs:nfs", "kubernetes-worker:nfs"))


def _task(status: str, results: dict, message: str = "") -> str:
    return json.dumps({"nfs/0": {"id": "7", "status": status, "results": results,
                                 "message": message}})  # fmt: skip


def test_run_action_returns_the_charm_results(fake: FakeJuju, tmp_path: Path):
    fake.answer("run", _task("completed", {"verdict": "ready", "return-code": 0}))
    backend = _backend(fake, tmp_path)
    result = asyncio.run(backend.run_action("nfs/0", "check", {"confirm": True}))
    assert result == b.ActionResult("completed", {"verdict": "ready"}, "")
    (call,) = _model_calls(fake, "run")
    assert call[:7] == ["run", "--model", "fake:itest", "--format", "json", "nfs/0", "check"]
    assert call[7:9] == ["--wait", "600s"]
    assert call[9] == "--params"


def test_failed_action_fails_the_test_or_is_returned(fake: FakeJuju, tmp_path: Path):
    fake.answer(
        "run", _task("failed", {"return-code": 0}, "confirm=true is required"),
        err="ERROR task failed\n", rc=1,
    )  # fmt: skip
    backend = _backend(fake, tmp_path)
    with pytest.raises(AssertionError, match="nfs/0 recycle: failed confirm=true is required"):
        asyncio.run(backend.run_action("nfs/0", "recycle", {"confirm": False}))
    result = asyncio.run(backend.run_action("nfs/0", "recycle", {"confirm": False}, check=False))
    assert result.status == "failed"
    assert result.message == "confirm=true is required"


def test_exec_returns_stdout(fake: FakeJuju, tmp_path: Path):
    fake.answer("exec", _task("completed", {"return-code": 0, "stdout": "install ok installed"}))
    backend = _backend(fake, tmp_path)
    out = asyncio.run(backend.exec("client/0", "dpkg-query -W nfs-common", timeout=60))
    assert out == "install ok installed"
    assert _model_calls(fake, "exec") == [
        ["exec", "--model", "fake:itest", "--format", "json", "--unit", "client/0",
         "--wait", "60s", "--", "dpkg-query -W nfs-common"]
    ]  # fmt: skip


def test_exec_failure_names_command_and_stderr(fake: FakeJuju, tmp_path: Path):
    fake.answer(
        "exec", _task("completed", {"return-code": 2, "stderr": "No such file\n"}),
        err="ERROR task failed\n", rc=1,
    )  # fmt: skip
    backend = _backend(fake, tmp_path)
    with pytest.raises(AssertionError, match=r"on client/0: `cat /x` exited 2: No such file"):
        asyncio.run(backend.exec("client/0", "cat /x"))


def test_wait_polls_status_until_active_and_idle(fake: FakeJuju, tmp_path: Path):
    fake.statuses(
        _status("nfs", "maintenance", "installing nfs-common", agent="executing"),
        _status("nfs", "active", "10.0.0.5:/srv/k8s ready", agent="executing"),
        _status("nfs", "active", "10.0.0.5:/srv/k8s ready"),
    )
    backend = _backend(fake, tmp_path)
    asyncio.run(backend.wait(["nfs"], timeout=30, units=1, idle_period=0))
    assert len(_model_calls(fake, "status")) == 3
    assert _model_calls(fake, "status")[0] == [
        "status",
        "--model",
        "fake:itest",
        "--format",
        "json",
    ]


def test_wait_that_times_out_says_what_it_saw(fake: FakeJuju, tmp_path: Path):
    fake.statuses(_status("nfs", "blocked", "export /srv/nope not exported"))
    backend = _backend(fake, tmp_path)
    with pytest.raises(AssertionError) as failure:
        asyncio.run(backend.wait(["nfs"], timeout=0.2))
    assert str(failure.value) == (
        "timed out after 0s waiting for nfs to be active, agents idle: "
        "nfs: blocked 'export /srv/nope not exported'; "
        "nfs/0: blocked 'export /srv/nope not exported' (agent idle)"
    )


def test_wait_fails_at_once_on_error(fake: FakeJuju, tmp_path: Path):
    fake.statuses(_status("nfs", "error", 'hook failed: "install"'))
    backend = _backend(fake, tmp_path)
    with pytest.raises(AssertionError, match="an app or unit went into error: nfs: error"):
        asyncio.run(backend.wait(["nfs"], timeout=30))
    assert len(_model_calls(fake, "status")) == 2  # the wait's one, then the summary's


def test_unit_status_leader_and_address_read_juju_status(fake: FakeJuju, tmp_path: Path):
    fake.statuses(_status("nfs", "active", "ready"))
    backend = _backend(fake, tmp_path)
    assert asyncio.run(backend.unit_status("nfs/0")) == ("active", "ready")
    assert asyncio.run(backend.leader("nfs")) == "nfs/0"
    assert asyncio.run(backend.address("nfs/0")) == "10.1.2.3"
    with pytest.raises(AssertionError, match="no unit nfs/9 in the model"):
        asyncio.run(backend.unit_status("nfs/9"))


# ------------------------------------------------- the conftest's `juju` fixture, end to end


def _suite_run(fake: FakeJuju, tmp_path: Path, *extra: str) -> tuple[int, str]:
    """Run a one-test suite through the real conftest.py against the fake CLI (no Juju)."""
    import shutil
    import subprocess

    pytest.importorskip("jubilant", reason="jubilant is not installed in this env")
    package = tmp_path / "suite" / "integration"
    package.mkdir(parents=True)
    real = Path(__file__).parents[1] / "integration"
    for name in ("__init__.py", "conftest.py", "backend.py"):
        shutil.copy(real / name, package / name)
    (package / "test_fake_suite.py").write_text(
        "import asyncio\n\n\n"
        "def test_integrate(juju):\n"
        "    assert juju.name == 'jubilant'\n"
        "    asyncio.run(juju.integrate('nfs:juju-info', 'client:juju-info'))\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = ":".join(p for p in (str(tmp_path / "suite"), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *extra,
         str(package)],
        cwd=tmp_path / "suite", env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


def test_juju_4_runs_the_suite_on_jubilant_in_its_own_model(
    fake: FakeJuju, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    fake.version("4.0.1-ubuntu-amd64", monkeypatch)
    fake.answer("controllers", json.dumps({"current-controller": "lab"}))
    code, output = _suite_run(fake, tmp_path)
    assert code == 0, output
    assert (
        "homelab integration: Juju controller reachable, the suites run for real (jubilant)"
        in (output)
    )
    calls = fake.calls()
    (add,) = [c for c in calls if c[0] == "add-model"]
    assert add[:2] == ["add-model", "--no-switch"]
    model = add[2]
    assert model.startswith("homelab-fake-suite-"), add
    assert add[3:] == ["--controller", "lab"]
    assert ["integrate", "--model", f"lab:{model}", "nfs:juju-info", "client:juju-info"] in calls
    assert calls[-1][:4] == ["destroy-model", f"lab:{model}", "--no-prompt", "--destroy-storage"]


def test_juju_4_without_a_controller_skips_with_one_reason(
    fake: FakeJuju, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    fake.version("4.0.1-ubuntu-amd64", monkeypatch)
    fake.answer("models", err="ERROR No controllers registered.\n", rc=1)
    code, output = _suite_run(fake, tmp_path)
    assert code == 0, output
    assert "no Juju controller reachable: `juju models` failed: No controllers registered." in (
        output
    )
    assert "1 skipped" in output
    assert not [c for c in fake.calls() if c[0] == "add-model"]


def test_cluster_bundle_names_a_base_not_a_series():
    """Juju 4.0 reads no `series:` in bundles; both lines' bundles say default-base."""
    from integration import helpers as h

    for line, base in ((h.LEGACY, "ubuntu@22.04"), (h.CURRENT, "ubuntu@24.04")):
        bundle = h.kubernetes_core_bundle(line, "virt-type=virtual-machine")
        assert bundle["default-base"] == base
        assert "series" not in bundle
        assert all("series" not in app for app in bundle["applications"].values())
