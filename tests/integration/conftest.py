"""Integration suites: markers, and one decision whether a Juju controller is reachable.

Without a reachable controller every test skips with one reason and the run exits 0 (so
`tox -e integration` is harmless anywhere). HOMELAB_INTEGRATION changes that:
`skip` skips without asking juju, `require` (CI) makes an unreachable controller an error.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Generator

import pytest

SUITES = {
    "nfs_mount": "suite 1: remote-nfs-mount next to an ubuntu principal, NFS server in the model",
    "k8s_legacy": "suite 2: Charmed Kubernetes 1.28, the worker's nfs relation, class `default`",
    "k8s_current": "suite 3: current Charmed Kubernetes, static-pv-provisioner's own class",
    "gpu_labeler": "suite 4: gpu-node-labeler on a worker without a GPU",
    "homelab_dry_run": "suite 5: `homelab deploy --dry-run` of the example site in the model",
    "cluster": "deploys a Charmed Kubernetes cluster (suites 2-4: long, heavy)",
}

_REASON = pytest.StashKey[str]()  # why the suites cannot run here ("" = they can)


def pytest_configure(config: pytest.Config) -> None:
    """Register the suite markers (`-m nfs_mount` runs suite 1 alone)."""
    for name, text in SUITES.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def controller_problem(controller: str | None) -> str:
    """Why no Juju controller can be used from here, or "" when one answers.

    Asks the controller for its models (`juju models`), bounded by HOMELAB_JUJU_TIMEOUT
    seconds (default 30), so a dead controller never hangs the run.
    """
    mode = os.environ.get("HOMELAB_INTEGRATION", "auto").strip().lower()
    if mode == "skip":
        return "HOMELAB_INTEGRATION=skip"
    juju = shutil.which("juju")
    if juju is None:
        return "no `juju` command on PATH (sudo snap install juju --channel 3.6/stable)"
    timeout = float(os.environ.get("HOMELAB_JUJU_TIMEOUT", "30"))
    version = juju_major_problem(juju, timeout)
    if version:
        return version
    cmd = [juju, "models", "--format", "json"]
    if controller:
        cmd += ["--controller", controller]
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,  # on timeout the whole process group goes
        )
    except OSError as e:
        return f"`juju models` could not run: {e}"
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return f"`juju models` got no answer from the controller within {timeout:.0f}s"
    if proc.returncode != 0:
        lines = [line.strip() for line in (stderr or stdout).splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:]
        message = errors[0].removeprefix("ERROR").strip() if errors else ""
        return f"`juju models` failed: {message or f'exit {proc.returncode}'}"
    return ""


def juju_major_problem(juju: str, timeout: float) -> str:
    """These suites need Juju 3.6: "" for a 3.x client, else why not.

    pytest-operator drives the model through python-libjuju, which is deprecated and relies on
    the all-watcher that Juju 4.0 removed (facts §10); the Jubilant path for Juju 4 is not
    written yet (tests/integration/README.md, "Juju 4").
    """
    try:
        proc = subprocess.run(
            [juju, "version"], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"`juju version` could not run: {e}"
    text = proc.stdout.strip()
    major = text.split(".", 1)[0]
    if proc.returncode != 0 or not major.isdigit():
        return f"`juju version` gave no version ({text or proc.stderr.strip()!r})"
    if int(major) >= 4:
        return (
            f"Juju {text}: these suites need a Juju 3.6 client and controller (pytest-operator "
            "and python-libjuju cannot drive Juju 4; the Jubilant path is not written yet)"
        )
    return ""


def _reason(config: pytest.Config) -> str:
    """The decision, made once per run (cached in the config's stash)."""
    if _REASON not in config.stash:
        reason = controller_problem(config.getoption("--controller", default=None))
        config.stash[_REASON] = f"no Juju controller reachable: {reason}" if reason else ""
    return config.stash[_REASON]


def _required() -> bool:
    return os.environ.get("HOMELAB_INTEGRATION", "").strip().lower() == "require"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Decide before collection (this conftest is loaded early when its folder is named)."""
    reason = _reason(session.config)
    if reason and _required():
        raise pytest.UsageError(f"HOMELAB_INTEGRATION=require, but {reason}")


def pytest_report_header(config: pytest.Config) -> str:
    """One line saying whether the suites run, and why not."""
    reason = _reason(config)
    if reason:
        return f"homelab integration: every test skips ({reason})"
    return "homelab integration: Juju controller reachable, the suites run for real"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Generator[None, None, None]:
    """Report our skip at the place that decided it, so the summary shows it once."""
    outcome = yield
    report = outcome.get_result()
    reason = item.config.stash.get(_REASON, "")
    if reason and report.skipped and isinstance(report.longrepr, tuple):
        where = controller_problem.__code__
        report.longrepr = (where.co_filename, where.co_firstlineno, report.longrepr[2])


@pytest.fixture(scope="session", autouse=True)
def _juju_controller(request: pytest.FixtureRequest) -> None:
    """Skip every test, with one reason, when no controller is reachable."""
    reason = _reason(request.config)
    if reason and _required():
        pytest.fail(f"HOMELAB_INTEGRATION=require, but {reason}")
    if reason:
        pytest.skip(reason)
