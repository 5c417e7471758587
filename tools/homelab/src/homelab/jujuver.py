"""Juju 3.6 and 4.0: the commands that differ, and how deploy finds out which Juju it talks to.

Checked for every command the tool prints (facts §10; juju/juju cmd/juju; Jubilant's docs "juju
wait-for removed"): `add-model`, `deploy --overlay` / `--map-machines=existing`, `add-k8s
--storage`, `update-k8s`, `remove-k8s`, `show-cloud`, `create-storage-pool`, `model-config`,
`trust`, `destroy-model`, `exec` are in both. Different in 4.0:
- `juju wait-for` is gone: the 4.0 form polls `juju status --format=json` (deploy does it).
- bundles' `series:` is ignored: the 4.0 machine-model step deploys the rendered whole-lab
  bundle, which writes `default-base`.
- MAAS has no default space: `add-model` gets `--config default-space=<maas.default_space>`.
- new models get no SSH keys, so `juju ssh` fails: the kubeconfig comes through `juju exec`.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from homelab.plan import Step
from homelab.upstream import DEFAULT_JUJU, JUJU_LINES

JUJU_CHOICES = tuple(JUJU_LINES)
POLL_SECONDS = 30


@dataclasses.dataclass
class PollStep(Step):
    """A wait that deploy does itself by polling `juju status` (Juju 4.0 has no `wait-for`)."""

    app: str = ""
    model: str = ""
    timeout_s: int = 7200


def _timeout_seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)([smh])", text)
    if not match:
        return 7200
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]


def wait_step(title: str, app: str, model: str, timeout: str = "120m", juju: str = DEFAULT_JUJU):
    """A step that waits for `app` in `model` to be active, in the form of that Juju."""
    if juju == "3.6":
        return Step(
            title,
            [
                "juju",
                "wait-for",
                "application",
                app,
                "-m",
                model,
                "--query",
                'status=="active"',
                "--timeout",
                timeout,
            ],
        )
    return PollStep(
        f"{title} (Juju {juju} has no wait-for: repeat until applications.{app}."
        f'application-status.current is "active"; deploy polls every {POLL_SECONDS} s, up to '
        f"{timeout})",
        ["juju", "status", "-m", model, app, "--format", "json"],
        app=app,
        model=model,
        timeout_s=_timeout_seconds(timeout),
    )


def for_juju(
    steps: list[Step],
    juju: str,
    *,
    bundle: str | None = None,
    space: str = "",
    maas_cloud: str = "",
) -> list[Step]:
    """The steps in the form of Juju `juju` (3.6 steps are returned unchanged)."""
    if juju == "3.6":
        return steps
    result: list[Step] = []
    for step in steps:
        argv = step.argv
        if argv[:3] == ["juju", "wait-for", "application"]:
            app, model = argv[3], argv[argv.index("-m") + 1]
            timeout = argv[argv.index("--timeout") + 1] if "--timeout" in argv else "120m"
            title = step.title
            result.append(wait_step(title, app, model, timeout, juju))
            continue
        if argv[:2] == ["juju", "ssh"] and argv[-2:] == ["cat", "config"]:
            model = argv[argv.index("-m") + 1]
            unit = argv[argv.index("-m") + 2]
            result.append(
                dataclasses.replace(
                    step,
                    title=step.title + f" (Juju {juju} adds no SSH keys to new models: juju exec)",
                    argv=[
                        "juju",
                        "exec",
                        "-m",
                        model,
                        "--unit",
                        unit,
                        "--",
                        "cat",
                        "/home/ubuntu/config",
                    ],
                )
            )
            continue
        if (
            argv[:2] == ["juju", "add-model"]
            and len(argv) > 3
            and space
            and argv[3] == maas_cloud
            and "--config" not in argv
        ):
            result.append(
                dataclasses.replace(
                    step,
                    title=step.title + f" (Juju {juju}: MAAS has no default space)",
                    argv=[*argv, "--config", f"default-space={space}"],
                )
            )
            continue
        if (
            bundle
            and argv[:2] == ["juju", "deploy"]
            and "charmed-kubernetes" in argv
            and "--overlay" in argv
        ):
            model = argv[argv.index("-m") + 1]
            result.append(
                dataclasses.replace(
                    step,
                    title=step.title
                    + f" (Juju {juju} ignores the upstream bundle's `series:`: the rendered "
                    "whole-lab bundle, which writes default-base)",
                    argv=["juju", "deploy", "-m", model, bundle, "--map-machines=existing"],
                )
            )
            continue
        result.append(step)
    return result


def parse_version(text: str) -> str | None:
    """`3.6.12-genericlinux-amd64` -> "3.6"; `4.0.16-...` -> "4.0"; None when not a version."""
    match = re.match(r"\s*(\d+)\.(\d+)", text or "")
    if not match:
        return None
    major, minor = int(match.group(1)), int(match.group(2))
    if major >= 4:
        return "4.0"
    if (major, minor) >= (3, 6):
        return "3.6"
    return f"{major}.{minor}"


def juju_version(runner: Callable[..., Any]) -> str | None:
    """Ask the client: `juju version` (None when it does not answer with a version)."""
    result = runner(["juju", "version"], {}, None)
    if result.returncode != 0:
        return None
    return parse_version(result.stdout)


def juju_json(runner: Callable[..., Any], argv: list[str]) -> Any:
    """The JSON a `juju ... --format json` command prints; None when it fails or is not JSON."""
    result = runner(argv, {}, None)
    if result.returncode != 0:
        return None
    try:
        return json.loads(result.stdout or "null")
    except json.JSONDecodeError:
        return None


def app_status(runner: Callable[..., Any], model: str, app: str) -> str | None:
    """`applications.<app>.application-status.current` from `juju status --format=json`."""
    data = juju_json(runner, ["juju", "status", "-m", model, app, "--format", "json"])
    apps = data.get("applications", {}) if isinstance(data, dict) else {}
    body = apps.get(app) if isinstance(apps, dict) else None
    status = body.get("application-status", {}) if isinstance(body, dict) else {}
    current = status.get("current") if isinstance(status, dict) else None
    return current if isinstance(current, str) else None


def poll(
    step: PollStep,
    runner: Callable[..., Any],
    out: Any,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Poll until the application is active (True) or the step's timeout passes (False)."""
    deadline = clock() + step.timeout_s
    last = None
    while True:
        current = app_status(runner, step.model, step.app)
        if current != last:
            out.write(f"    | {step.app}: {current or 'not reported yet'}\n")
            last = current
        if current == "active":
            return True
        if clock() >= deadline:
            return False
        sleep(POLL_SECONDS)


def bundle_path(out: Path, track: str) -> str:
    """The rendered whole-lab bundle of a line (what the 4.0 machine-model step deploys)."""
    return str(out / "bundles" / f"homelab-{track}.yaml")


def deploy_juju(args: Any, err: Any, runner: Callable[..., Any] | None = None) -> str | None:
    """The Juju deploy writes commands for: `--juju`, else what `juju version` says.

    Without a juju client: 3.6 (deploy then stops with its own "not installed" error; a dry
    run prints the 3.6 forms). A client older than 3.6 or unreadable: None, with the reason.
    """
    import shutil

    if getattr(args, "juju", None):
        return args.juju
    if shutil.which("juju") is None:
        return DEFAULT_JUJU
    if runner is None:
        from homelab.deploy import run_juju

        runner = run_juju
    version = juju_version(runner)
    if version in JUJU_LINES:
        return version
    err.write(
        f"error: `juju version` gave {version or 'no version'}: this tool writes commands for "
        "Juju 3.6 or 4.0 (or pass --juju)\n"
    )
    return None


def run_poll(  # noqa: PLR0917 - deploy's loop state
    step: PollStep, n: int, runner: Callable[..., Any], out: Any, err: Any, sleep
) -> bool:
    """Deploy's side of a PollStep: show it, poll, say why it failed."""
    out.write(f"{n:>2}. {step.title}\n    {step.shell()}\n")
    out.flush()
    if poll(step, runner, out, sleep=sleep):
        return True
    err.write(
        f"error: step {n}: {step.app} not active within {step.timeout_s} s "
        f"(juju status -m {step.model} {step.app})\n"
        "nothing after it was run; fix the cause and run the same command again\n"
    )
    return False
