"""The one interface the integration suites drive Juju through, with two implementations.

- `LibjujuBackend`: pytest-operator's `ops_test` and python-libjuju (Juju 3.6 only: libjuju
  relies on the all-watcher that Juju 4.0 removed, facts §10).
- `JubilantBackend`: Jubilant's `jubilant.Juju`, which shells out to the `juju` CLI (Juju 3.6
  and 4.x).

The test bodies and helpers.py use only the methods of `Backend`; which implementation a run
gets is decided once, in conftest.py (`backend_choice`), from `juju version` and
HOMELAB_JUJU_BACKEND. Every method is a coroutine so that one test body serves both (libjuju
is async, Jubilant is not). Nothing here needs a controller to be imported.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import json
import shlex
import subprocess
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LIBJUJU = "libjuju"
JUBILANT = "jubilant"
BACKENDS = (LIBJUJU, JUBILANT)


@dataclass(frozen=True)
class ActionResult:
    """What an action ended with: Juju's task status and the charm's results."""

    status: str  # completed, failed, ...
    results: dict[str, Any] = field(default_factory=dict)
    message: str = ""


def parse_constraints(text: str) -> dict[str, str]:
    """`mem=2G virt-type=virtual-machine` as a mapping (Jubilant's deploy takes one)."""
    out: dict[str, str] = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"constraint {word!r} is not key=value")
        out[key] = value
    return out


def _status_matches(info: Any, status: str | None) -> bool:
    return status is None or info.current == status


class Backend(abc.ABC):
    """What the suites need from Juju, in one model (the test model)."""

    name: str
    tmp_path: Path

    # ---------------------------------------------------------------- identity of the model

    @property
    @abc.abstractmethod
    def controller_name(self) -> str:
        """The controller the test model is on."""

    @property
    @abc.abstractmethod
    def model_name(self) -> str:
        """The test model's short name."""

    @property
    def model_full_name(self) -> str:
        """`controller:model`."""
        return f"{self.controller_name}:{self.model_name}"

    # ------------------------------------------------------------------------- the CLI

    @abc.abstractmethod
    async def cli(self, *args: str, check: bool = True) -> tuple[int, str, str]:
        """Run `juju <args>` in the test model: (exit code, stdout, stderr).

        With check (the default) a failing command fails the test with its stderr.
        """

    async def run_local(self, *cmd: str, cwd: Path | None = None) -> tuple[int, str, str]:
        """Run a local command (not juju-specific): (exit code, stdout, stderr)."""
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            cwd=cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
        )
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode(), err.decode()

    async def status_json(self) -> dict:
        """`juju status --format json` of the test model."""
        _, out, _ = await self.cli("status", "--format", "json")
        return json.loads(out)

    async def show_unit(self, unit: str) -> dict:
        """`juju show-unit --format json` of one unit (its relation-info and data)."""
        _, out, _ = await self.cli("show-unit", unit, "--format", "json")
        return json.loads(out)[unit]

    async def integrate(self, first: str, second: str) -> None:
        """`juju integrate first second`."""
        await self.cli("integrate", first, second)

    async def try_integrate(self, first: str, second: str) -> bool:
        """`juju integrate`, which may be refused: whether Juju accepted it."""
        code, _, _ = await self.cli("integrate", first, second, check=False)
        return code == 0

    async def config(self, app: str, values: Mapping[str, str]) -> None:
        """`juju config app k=v ...`."""
        await self.cli("config", app, *(f"{k}={v}" for k, v in values.items()))

    async def model_config(self, values: Mapping[str, str]) -> None:
        """`juju model-config k=v ...` of the test model."""
        await self.cli("model-config", *(f"{k}={v}" for k, v in values.items()))

    async def ssh(self, unit: str, command: str) -> str:
        """`juju ssh unit -- command` (as the ubuntu user); fail the test when it fails."""
        _, out, _ = await self.cli("ssh", unit, "--", command)
        return out

    @contextlib.asynccontextmanager
    async def fast_forward(self, interval: str = "10s") -> AsyncIterator[None]:
        """update-status every `interval` while inside, then back to what it was."""
        _, out, _ = await self.cli("model-config", "update-status-hook-interval")
        before = out.strip() or "5m"
        await self.model_config({"update-status-hook-interval": interval})
        try:
            yield
        finally:
            await self.model_config({"update-status-hook-interval": before})

    async def is_lxd(self) -> bool:
        """Whether the test model lives on an LXD cloud."""
        _, out, _ = await self.cli("show-model", self.model_full_name, "--format", "json")
        info = next(iter(json.loads(out).values()), {})
        return (
            info.get("type") == "lxd"
            or "lxd" in str(info.get("cloud", ""))
            or (info.get("cloud") == "localhost")
        )

    # ------------------------------------------------------------------ units and status

    async def units(self, app: str) -> list[str]:
        """The unit names of an application (subordinates too), sorted by number."""
        status = await self.status_json()
        apps = status.get("applications", {})
        if app not in apps:
            raise AssertionError(f"no application {app} in the model")
        names = set(apps[app].get("units", {}))
        for other in apps.values():
            for unit in other.get("units", {}).values():
                names.update(s for s in unit.get("subordinates", {}) if s.startswith(app + "/"))
        return sorted(names, key=lambda n: int(n.split("/")[1]))

    async def unit_on(self, subordinate_app: str, principal_unit: str) -> str:
        """The subordinate app's unit next to a principal unit."""
        status = await self.status_json()
        principal_app = principal_unit.split("/", maxsplit=1)[0]
        unit = status.get("applications", {}).get(principal_app, {}).get("units", {})
        for name in unit.get(principal_unit, {}).get("subordinates", {}):
            if name.startswith(subordinate_app + "/"):
                return name
        raise AssertionError(f"no {subordinate_app} unit next to {principal_unit}")

    async def _unit_entry(self, unit: str) -> dict:
        status = await self.status_json()
        for app in status.get("applications", {}).values():
            for name, entry in app.get("units", {}).items():
                if name == unit:
                    return entry
                if unit in entry.get("subordinates", {}):
                    return entry["subordinates"][unit]
        raise AssertionError(f"no unit {unit} in the model")

    async def unit_status(self, unit: str) -> tuple[str, str]:
        """A unit's workload status and message, as `juju status` shows them."""
        ws = (await self._unit_entry(unit)).get("workload-status", {})
        return str(ws.get("current", "")), str(ws.get("message", ""))

    async def leader(self, app: str) -> str:
        """The leader unit of an application."""
        for unit in await self.units(app):
            if (await self._unit_entry(unit)).get("leader"):
                return unit
        raise AssertionError(f"{app} has no leader")

    async def address(self, unit: str) -> str:
        """The unit's public address (what other machines of the model reach it at)."""
        entry = await self._unit_entry(unit)
        address = entry.get("public-address") or entry.get("address") or ""
        if not address:
            raise AssertionError(f"{unit} has no address yet")
        return str(address)

    # ------------------------------------------------------------------- the abstract rest

    @abc.abstractmethod
    async def deploy(
        self,
        charm: str | Path,
        app: str | None = None,
        *,
        channel: str | None = None,
        base: str | None = None,
        config: Mapping[str, str] | None = None,
        constraints: str = "",
        trust: bool = False,
        to: str | None = None,
        num_units: int = 1,
    ) -> None:
        """Deploy a charm file, a Charmhub charm or a bundle file."""

    @abc.abstractmethod
    async def wait(
        self,
        apps: Iterable[str],
        *,
        status: str | None = "active",
        timeout: float = 1800,
        units: int | None = None,
        raise_on_error: bool = True,
        idle_period: float = 15,
    ) -> None:
        """Wait until every app (and unit) has `status` and its agents are idle.

        `units`: each app has exactly this many units. A unit in error fails at once with
        raise_on_error. After `timeout` seconds the test fails naming what each app shows.
        """

    @abc.abstractmethod
    async def run_action(
        self, unit: str, action: str, params: Mapping[str, Any] | None = None, *,
        timeout: float = 600, check: bool = True,
    ) -> ActionResult:  # fmt: skip
        """Run an action and wait for it; with check a status but `completed` fails."""

    @abc.abstractmethod
    async def exec(self, unit: str, command: str, timeout: float = 600) -> str:
        """Run a shell command on a unit as root (`juju exec`); fail when it exits non-zero."""

    @abc.abstractmethod
    async def remove_application(self, app: str, timeout: float = 900) -> None:
        """Remove an application and wait until it is gone from the model."""

    @abc.abstractmethod
    async def build_charm(self, path: Path) -> list[Path]:
        """Pack a charm folder with charmcraft; every .charm it made."""


def wait_failure(apps: Iterable[str], status: str | None, timeout: float, seen: str) -> str:
    """The one failure text of a wait that ran out of time."""
    want = f"{status}, agents idle" if status else "agents idle"
    return f"timed out after {timeout:.0f}s waiting for {', '.join(apps)} to be {want}: {seen}"


def summarize(status: Any, apps: Iterable[str]) -> str:
    """What a jubilant Status shows for some apps: `app: status 'message'; unit: ...`."""
    parts = []
    for app in apps:
        info = status.apps.get(app)
        if info is None:
            parts.append(f"{app}: not in the model")
            continue
        parts.append(f"{app}: {info.app_status.current} {info.app_status.message!r}")
        for name, unit in sorted(status.get_units(app).items()):
            ws, js = unit.workload_status, unit.juju_status
            parts.append(f"{name}: {ws.current} {ws.message!r} (agent {js.current})")
    return "; ".join(parts)


# ---------------------------------------------------------------------------- Jubilant


class JubilantBackend(Backend):
    """`jubilant.Juju` on one model: every call is a `juju` CLI command (Juju 3.6 and 4.x)."""

    name = JUBILANT

    def __init__(self, juju: Any, controller: str, model: str, tmp_path: Path, delay: float = 5):
        self.juju = juju  # a jubilant.Juju whose .model is `controller:model`
        self._controller = controller
        self._model = model
        self.tmp_path = tmp_path
        self.delay = delay  # seconds between two `juju status` calls of a wait

    @property
    def controller_name(self) -> str:
        return self._controller

    @property
    def model_name(self) -> str:
        return self._model

    async def cli(self, *args: str, check: bool = True) -> tuple[int, str, str]:
        import jubilant

        include_model = args[:1] != ("show-model",)
        try:
            out, err = self.juju._cli(*args, include_model=include_model)
        except jubilant.CLIError as e:
            if check:
                raise AssertionError(
                    f"juju {shlex.join(args)} exited {e.returncode}: {(e.stderr or '').strip()}"
                ) from None
            return e.returncode, e.stdout or "", e.stderr or ""
        return 0, out, err

    async def deploy(
        self,
        charm: str | Path,
        app: str | None = None,
        *,
        channel: str | None = None,
        base: str | None = None,
        config: Mapping[str, str] | None = None,
        constraints: str = "",
        trust: bool = False,
        to: str | None = None,
        num_units: int = 1,
    ) -> None:
        self._checked(
            self.juju.deploy,
            charm,
            app,
            channel=channel,
            base=base,
            config=dict(config) if config else None,
            constraints=parse_constraints(constraints) or None,
            trust=trust,
            to=to,
            num_units=num_units,
        )

    def _checked(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        """A jubilant.Juju method whose failing juju command fails the test with its stderr."""
        import jubilant

        try:
            return call(*args, **kwargs)
        except jubilant.CLIError as e:
            command = shlex.join(str(word) for word in e.cmd[1:])
            raise AssertionError(
                f"juju {command} exited {e.returncode}: {(e.stderr or '').strip()}"
            ) from None

    async def integrate(self, first: str, second: str) -> None:
        self._checked(self.juju.integrate, first, second)

    async def config(self, app: str, values: Mapping[str, str]) -> None:
        self._checked(self.juju.config, app, dict(values))

    async def wait(
        self,
        apps: Iterable[str],
        *,
        status: str | None = "active",
        timeout: float = 1800,
        units: int | None = None,
        raise_on_error: bool = True,
        idle_period: float = 15,
    ) -> None:
        import jubilant

        names = list(apps)

        def ready(s: Any) -> bool:
            for app in names:
                info = s.apps.get(app)
                if info is None or not _status_matches(info.app_status, status):
                    return False
                found = s.get_units(app)
                if units is not None and len(found) != units:
                    return False
                if not found:
                    return False
                for unit in found.values():
                    if not _status_matches(unit.workload_status, status):
                        return False
            return jubilant.all_agents_idle(s, *names)

        def error(s: Any) -> bool:
            return jubilant.any_error(s, *names)

        successes = max(1, int(idle_period // self.delay) + 1)
        try:
            self.juju.wait(
                ready,
                error=error if raise_on_error else None,
                delay=self.delay,
                timeout=timeout,
                successes=successes,
            )
        except TimeoutError:
            seen = summarize(self.juju.status(), names)
            raise AssertionError(wait_failure(names, status, timeout, seen)) from None
        except jubilant.WaitError:
            seen = summarize(self.juju.status(), names)
            raise AssertionError(f"an app or unit went into error: {seen}") from None

    async def run_action(
        self, unit: str, action: str, params: Mapping[str, Any] | None = None, *,
        timeout: float = 600, check: bool = True,
    ) -> ActionResult:  # fmt: skip
        import jubilant

        try:
            task = self.juju.run(unit, action, dict(params) if params else None, wait=timeout)
        except jubilant.TaskError as e:
            task = e.task
        result = ActionResult(task.status, dict(task.results), task.message)
        if check and result.status != "completed":
            raise AssertionError(
                f"{unit} {action}: {result.status} {result.message} {result.results}"
            )
        return result

    async def exec(self, unit: str, command: str, timeout: float = 600) -> str:
        import jubilant

        try:
            task = self.juju.exec(command, unit=unit, wait=timeout)
        except jubilant.TaskError as e:
            task = e.task
            raise AssertionError(
                f"on {unit}: `{command}` exited {task.return_code}: {task.stderr.strip()}"
            ) from None
        return task.stdout

    async def remove_application(self, app: str, timeout: float = 900) -> None:
        self._checked(self.juju.remove_application, app)
        try:
            self.juju.wait(lambda s: app not in s.apps, delay=self.delay, timeout=timeout)
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {app} to go"
            ) from None

    async def build_charm(self, path: Path) -> list[Path]:
        before = set(path.glob("*.charm"))
        proc = subprocess.run(
            ["charmcraft", "pack", "--verbose"], cwd=path, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-10:])
            raise AssertionError(f"charmcraft pack in {path} exited {proc.returncode}:\n{tail}")
        made = sorted(set(path.glob("*.charm")) - before) or sorted(path.glob("*.charm"))
        return [p.resolve() for p in made]


# ------------------------------------------------------------------- pytest-operator / libjuju


class LibjujuBackend(Backend):
    """pytest-operator's `ops_test` (python-libjuju underneath): Juju 3.6 only."""

    name = LIBJUJU

    def __init__(self, ops_test: Any):
        self.ops_test = ops_test
        self.tmp_path = Path(ops_test.tmp_path)

    @property
    def controller_name(self) -> str:
        return str(self.ops_test.controller_name)

    @property
    def model_name(self) -> str:
        return str(self.ops_test.model_name)

    async def cli(self, *args: str, check: bool = True) -> tuple[int, str, str]:
        code, out, err = await self.ops_test.juju(*args)
        if check and code != 0:
            raise AssertionError(f"juju {shlex.join(args)} exited {code}: {err.strip()}")
        return code, out, err

    async def deploy(
        self,
        charm: str | Path,
        app: str | None = None,
        *,
        channel: str | None = None,
        base: str | None = None,
        config: Mapping[str, str] | None = None,
        constraints: str = "",
        trust: bool = False,
        to: str | None = None,
        num_units: int = 1,
    ) -> None:
        args = ["deploy", str(charm)]
        if app:
            args.append(app)
        if base:
            args += ["--base", base]
        if channel:
            args += ["--channel", channel]
        for key, value in (config or {}).items():
            args += ["--config", f"{key}={value}"]
        if constraints:
            args += ["--constraints", constraints]
        if num_units != 1:
            args += ["--num-units", str(num_units)]
        if to:
            args += ["--to", to]
        if trust:
            args.append("--trust")
        await self.cli(*args)

    async def wait(
        self,
        apps: Iterable[str],
        *,
        status: str | None = "active",
        timeout: float = 1800,
        units: int | None = None,
        raise_on_error: bool = True,
        idle_period: float = 15,
    ) -> None:
        names = list(apps)
        try:
            await self.ops_test.model.wait_for_idle(
                apps=names,
                status=status,
                timeout=timeout,
                wait_for_exact_units=units,
                raise_on_error=raise_on_error,
                idle_period=idle_period,
            )
        except asyncio.TimeoutError:
            raise AssertionError(wait_failure(names, status, timeout, "see juju status")) from None

    async def run_action(
        self, unit: str, action: str, params: Mapping[str, Any] | None = None, *,
        timeout: float = 600, check: bool = True,
    ) -> ActionResult:  # fmt: skip
        started = await self.ops_test.model.units[unit].run_action(action, **dict(params or {}))
        done = await asyncio.wait_for(started.wait(), timeout)
        message = str(getattr(done, "message", "") or "")  # not on every libjuju Action
        result = ActionResult(str(done.status), dict(done.results), message)
        if check and result.status != "completed":
            raise AssertionError(
                f"{unit} {action}: {result.status} {result.message} {result.results}"
            )
        return result

    async def exec(self, unit: str, command: str, timeout: float = 600) -> str:
        action = await self.ops_test.model.units[unit].run(command, timeout=timeout, block=True)
        results = action.results
        code = int(results.get("return-code", results.get("Code", 0)) or 0)
        if code != 0:
            stderr = str(results.get("stderr", results.get("Stderr", "")))
            raise AssertionError(f"on {unit}: `{command}` exited {code}: {stderr.strip()}")
        return str(results.get("stdout", results.get("Stdout", "")))

    async def remove_application(self, app: str, timeout: float = 900) -> None:
        await self.ops_test.model.remove_application(app, block_until_done=True, timeout=timeout)

    async def build_charm(self, path: Path) -> list[Path]:
        return list(await self.ops_test.build_charm(path, return_all=True))
