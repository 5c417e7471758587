"""Integration suites: markers, and one decision whether a Juju controller is reachable.

Without a reachable controller every test skips with one reason and the run exits 0 (so
`tox -e integration` is harmless anywhere). HOMELAB_INTEGRATION changes that:
`skip` skips without asking juju, `require` (CI) makes an unreachable controller an error.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from integration.backend import BACKENDS, JUBILANT, LIBJUJU, Backend

SUITES = {
    "nfs_mount": "suite 1: remote-nfs-mount next to an ubuntu principal, NFS server in the model",
    "k8s_legacy": "suite 2: Charmed Kubernetes 1.28, the worker's nfs relation, class `default`",
    "k8s_current": "suite 3: current Charmed Kubernetes, static-pv-provisioner's own class",
    "gpu_labeler": "suite 4: gpu-node-labeler on a worker without a GPU",
    "homelab_dry_run": "suite 5: `homelab deploy --dry-run` of the example site in the model",
    "cluster": "deploys a Charmed Kubernetes cluster (suites 2-4: long, heavy)",
}

_REASON = pytest.StashKey[str]()  # why the suites cannot run here ("" = they can)
_BACKEND = pytest.StashKey[str]()  # libjuju or jubilant (backend_choice)
_FAILED = pytest.StashKey[bool]()  # a test item failed (setup, call or teardown)
_ABORTED = pytest.StashKey[bool]()  # an abort_on_fail test of this module failed (Jubilant)


def pytest_configure(config: pytest.Config) -> None:
    """Register the suite markers (`-m nfs_mount` runs suite 1 alone)."""
    for name, text in SUITES.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def controller_problem(controller: str | None) -> str:
    """Why no Juju controller can be used from here, or "" when one answers."""
    return probe(controller)[1]


def probe(controller: str | None) -> tuple[str, str]:
    """(backend, problem): which backend drives Juju here, and why nothing can run ("" = ok).

    Asks `juju version` (which picks the backend, see backend_choice), then the controller for
    its models (`juju models`), each bounded by HOMELAB_JUJU_TIMEOUT seconds (default 30), so a
    dead controller never hangs the run.
    """
    mode = os.environ.get("HOMELAB_INTEGRATION", "auto").strip().lower()
    if mode == "skip":
        return "", "HOMELAB_INTEGRATION=skip"
    juju = shutil.which("juju")
    if juju is None:
        return "", "no `juju` command on PATH (sudo snap install juju --channel 3.6/stable)"
    timeout = float(os.environ.get("HOMELAB_JUJU_TIMEOUT", "30"))
    version, problem = juju_version(juju, timeout)
    if problem:
        return "", problem
    backend, problem = backend_choice(version, os.environ.get("HOMELAB_JUJU_BACKEND", ""))
    if problem:
        return "", problem
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
        return backend, f"`juju models` could not run: {e}"
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return backend, f"`juju models` got no answer from the controller within {timeout:.0f}s"
    if proc.returncode != 0:
        lines = [line.strip() for line in (stderr or stdout).splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR")] or lines[-1:]
        message = errors[0].removeprefix("ERROR").strip() if errors else ""
        return backend, f"`juju models` failed: {message or f'exit {proc.returncode}'}"
    return backend, ""


def juju_version(juju: str, timeout: float) -> tuple[str, str]:
    """(version text, problem) from `juju version`, e.g. ("3.6.12-genericlinux-amd64", "")."""
    try:
        proc = subprocess.run(
            [juju, "version"], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return "", f"`juju version` could not run: {e}"
    text = proc.stdout.strip()
    major = text.split(".", 1)[0]
    if proc.returncode != 0 or not major.isdigit() or "." not in text:
        return "", f"`juju version` gave no version ({text or proc.stderr.strip()!r})"
    return text, ""


def backend_choice(version: str, wanted: str = "") -> tuple[str, str]:
    """(backend, problem): the one place that decides which backend drives the suites.

    `wanted` is HOMELAB_JUJU_BACKEND: `libjuju`, `jubilant`, or empty/`auto`. Auto picks
    pytest-operator/python-libjuju on a Juju 3 client (the path the CI workflows and
    pytest-operator's options such as `--crash-dump` are written for; Jubilant works there too
    and is one variable away) and Jubilant on Juju 4 and later (python-libjuju relies on the
    all-watcher Juju 4.0 removed, facts §10). libjuju asked for on Juju 4 is a problem, not a
    silent switch.
    """
    major = int(version.split(".", 1)[0])
    wanted = wanted.strip().lower()
    if wanted in ("", "auto"):
        return (JUBILANT if major >= 4 else LIBJUJU), ""
    if wanted not in BACKENDS:
        return "", f"HOMELAB_JUJU_BACKEND={wanted}: must be one of auto, {', '.join(BACKENDS)}"
    if wanted == LIBJUJU and major >= 4:
        return "", (
            f"HOMELAB_JUJU_BACKEND=libjuju, but Juju {version}: python-libjuju (pytest-operator) "
            "cannot drive Juju 4; leave HOMELAB_JUJU_BACKEND unset or set it to jubilant"
        )
    return wanted, ""


def _reason(config: pytest.Config) -> str:
    """The decision, made once per run (cached in the config's stash)."""
    if _REASON not in config.stash:
        backend, reason = probe(config.getoption("--controller", default=None))
        config.stash[_BACKEND] = backend
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
    backend = config.stash.get(_BACKEND, "")
    return f"homelab integration: Juju controller reachable, the suites run for real ({backend})"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Generator[None, None, None]:
    """Report our skip at the place that decided it, so the summary shows it once."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        item.stash[_FAILED] = True
    reason = item.config.stash.get(_REASON, "")
    if reason and report.skipped and isinstance(report.longrepr, tuple):
        where = probe.__code__
        report.longrepr = (where.co_filename, where.co_firstlineno, report.longrepr[2])


@pytest.fixture(scope="session", autouse=True)
def _juju_controller(request: pytest.FixtureRequest) -> None:
    """Skip every test, with one reason, when no controller is reachable."""
    reason = _reason(request.config)
    if reason and _required():
        pytest.fail(f"HOMELAB_INTEGRATION=require, but {reason}")
    if reason:
        pytest.skip(reason)


def _current_controller(juju: str) -> str:
    """The current controller's name (`juju controllers`)."""
    out = subprocess.run(
        [juju, "controllers", "--format", "json"], capture_output=True, text=True, check=True
    ).stdout
    return str(json.loads(out).get("current-controller") or "")


@pytest.fixture(scope="module")
def juju(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """The test module's model, driven by the backend chosen once (see backend_choice).

    libjuju: pytest-operator's `ops_test` (its model, its `--model`/`--keep-models`).
    jubilant: a new model `homelab-<suite>-<hex>` on `--controller` (or the current one), or
    `--model NAME`; destroyed with its storage at the end unless `--keep-models`.
    """
    from integration.backend import JubilantBackend, LibjujuBackend

    backend = request.config.stash.get(_BACKEND, "")
    if backend == LIBJUJU:
        yield LibjujuBackend(request.getfixturevalue("ops_test"))
        return
    import jubilant

    cli = shutil.which("juju") or "juju"
    controller = request.config.getoption("--controller", default=None) or _current_controller(cli)
    given = request.config.getoption("--model", default=None)
    keep = bool(request.config.getoption("--keep-models", default=False)) or bool(given)
    suite = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    name = given or f"homelab-{suite}-{secrets.token_hex(3)}"
    client = jubilant.Juju(cli_binary=cli)
    if given:
        client.model = f"{controller}:{given}"
    else:
        client.add_model(name, controller=controller)
    tmp = Path(tmp_path_factory.mktemp(name))
    try:
        yield JubilantBackend(client, controller, name, tmp)
    finally:
        if not keep:
            client.destroy_model(
                f"{controller}:{name}", destroy_storage=True, force=True, timeout=600
            )


@pytest.fixture(autouse=True)
def _abort_on_fail_jubilant(request: pytest.FixtureRequest) -> Iterator[None]:
    """`abort_on_fail` on the Jubilant path, as pytest-operator does it for ops_test.

    After a failed test marked abort_on_fail, the rest of its module is xfailed ("aborted").
    """
    if request.config.stash.get(_BACKEND, "") != JUBILANT:
        yield
        return
    module = request.node.getparent(pytest.Module)
    if module is not None and module.stash.get(_ABORTED, False):
        pytest.xfail("aborted: an abort_on_fail test of this suite failed")
    yield
    failed = request.node.stash.get(_FAILED, False)
    if failed and module is not None and request.node.get_closest_marker("abort_on_fail"):
        module.stash[_ABORTED] = True
