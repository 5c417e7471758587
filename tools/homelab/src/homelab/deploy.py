"""`homelab deploy`: run the plan's juju commands, skip what exists, stop at the first failure."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from homelab.jujuver import juju_json
from homelab.plan import Step
from homelab.problems import EXIT_DEPLOY_FAILED, EXIT_NO_JUJU, EXIT_OK


@dataclass
class Result:
    """What one command did."""

    returncode: int
    stdout: str
    stderr: str
    shown: bool = False  # the output was already written to the user as it came


Runner = Callable[[list[str], dict[str, str], "TextIO | None"], Result]


def run_juju(argv: list[str], env: dict[str, str], echo: TextIO | None = None) -> Result:
    """Run one command: an argument list, never a shell, stdin closed.

    With `echo`, its output (stdout and stderr together) is written there line by line as it
    comes, so long steps (`juju wait-for`) show progress; without, it is captured.
    """
    full_env = {**os.environ, **env}
    if echo is None:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=full_env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)
    lines: list[str] = []
    with subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=full_env,
    ) as proc:
        assert proc.stdout is not None  # noqa: S101 - PIPE was asked for
        for line in proc.stdout:
            lines.append(line)
            echo.write(f"    | {line}" if line.endswith("\n") else f"    | {line}\n")
            echo.flush()
        code = proc.wait()
    return Result(code, "".join(lines), "", shown=True)


def is_done(step: Step, runner: Runner) -> bool:
    """Whether what `step` creates exists already (so a re-run skips it)."""
    if not step.done:
        return False
    kind, where, *names = step.done
    if kind == "files":  # homelab build's .charm files: nothing to ask juju
        return bool(names) and all(Path(name).is_file() for name in names)
    if kind == "model":
        data = juju_json(runner, ["juju", "models", "--controller", where, "--format", "json"])
        models = data.get("models", []) if isinstance(data, dict) else []
        short = {
            str(m.get("short-name") or str(m.get("name", "")).split("/")[-1])
            for m in models
            if isinstance(m, dict)
        }
        return names[0] in short
    if kind == "apps":
        data = juju_json(runner, ["juju", "status", "-m", where, "--format", "json"])
        apps = data.get("applications", {}) if isinstance(data, dict) else {}
        return bool(names) and all(name in apps for name in names)
    if kind == "cloud":
        data = juju_json(runner, ["juju", "clouds", "--controller", where, "--format", "json"])
        return isinstance(data, dict) and names[0] in data
    if kind == "pool":
        data = juju_json(runner, ["juju", "storage-pools", "-m", where, "--format", "json"])
        if isinstance(data, dict):
            return names[0] in data or any(
                isinstance(v, dict) and v.get("name") == names[0] for v in data.values()
            )
        if isinstance(data, list):
            return any(isinstance(v, dict) and v.get("name") == names[0] for v in data)
    return False


def _dry_run(steps: list[Step], out: TextIO) -> int:
    for n, step in enumerate(steps, 1):
        if step.internal:  # not a command deploy runs: it writes the files itself
            out.write(f"{n:>2}. {step.title}: deploy writes them itself ({step.shell()})\n")
            continue
        out.write(f"{n:>2}. # {step.title}\n    {step.shell()}\n")
    out.write("dry run: nothing was run\n")
    return EXIT_OK


def _before(  # noqa: PLR0917 - the loop state deploy passes
    step: Step, n: int, runner: Runner, out: TextIO, err: TextIO, sleep
) -> tuple:
    """("run" | "done" | "replace" | "fail", steps): skips, redo of a cloud, Juju 4 waits."""
    if step.done and step.done[0] == "cloud" and step.argv[:2] == ["juju", "add-k8s"]:
        from homelab import redo  # issue 13: a redo compares the cloud with the cluster

        more = redo.handle(step, n, runner, out, err)
        if more is None:
            return "fail", []
        if more is False:
            return "run", []
        return ("replace", more) if more else ("done", [])
    if is_done(step, runner):
        out.write(f"{n:>2}. skip ({step.title}: already there)\n")
        return "done", []
    from homelab.jujuver import PollStep, run_poll

    if isinstance(step, PollStep):
        if sleep is None:
            import time

            sleep = time.sleep
        return ("done" if run_poll(step, n, runner, out, err, sleep) else "fail"), []
    return "run", []


def deploy(
    steps: list[Step],
    *,
    dry_run: bool,
    out: TextIO,
    runner: Runner = run_juju,
    which: Callable[[str], str | None] = shutil.which,
    err: TextIO | None = None,
    sleep: Callable[[float], None] | None = None,
) -> int:
    """Run (or, with dry_run, print) the steps; return an exit code.

    Progress and command output go to `out`; errors (and a failed command's captured output)
    to `err` (default: `out`).
    """
    err = err or out
    if dry_run:
        return _dry_run(steps, out)
    if which("juju") is None:
        err.write("error: the juju client is not installed (snap install juju) or not on PATH\n")
        return EXIT_NO_JUJU
    todo = list(steps)
    n = 0
    while todo:
        step = todo.pop(0)
        n += 1
        if step.internal:
            out.write(f"{n:>2}. {step.title}: done (deploy wrote them before step 1)\n")
            continue
        action, more = _before(step, n, runner, out, err, sleep)
        if action == "fail":
            return EXIT_DEPLOY_FAILED
        if action == "replace":
            todo = more + todo
            n -= 1
        if action != "run":
            continue
        out.write(f"{n:>2}. {step.title}\n    {step.shell()}\n")
        out.flush()
        result = runner(step.argv, step.env, None if step.stdout_to else out)
        if result.returncode != 0:
            out.flush()
            if result.shown:
                err.write(
                    f"error: step {n} failed with exit code {result.returncode} (output above)\n"
                )
            else:
                err.write(f"error: step {n} failed with exit code {result.returncode}\n")
                # A step whose stdout goes to a file (the kubeconfig) may have printed secrets
                # before it failed: show only its stderr.
                shown = (result.stderr,) if step.stdout_to else (result.stdout, result.stderr)
                for text in shown:
                    if text.strip():
                        err.write(text if text.endswith("\n") else text + "\n")
            err.write("nothing after it was run; fix the cause and run the same command again\n")
            return EXIT_DEPLOY_FAILED
        if step.stdout_to:
            path = Path(step.stdout_to)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(result.stdout)
            os.chmod(path, 0o600)
        elif result.stdout.strip() and not result.shown:
            out.write(result.stdout if result.stdout.endswith("\n") else result.stdout + "\n")
    out.write("done\n")
    return EXIT_OK
