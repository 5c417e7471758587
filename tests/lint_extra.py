"""Extra repository lint, run by `tox -e lint` (through tests/each_charm.py).

For every charm's charmcraft.yaml: its `config` validates against charmcraft's own model
(`charmcraft.models.config.JujuConfig`), the rules Juju applies at deploy, so `type: integer`
(Juju knows `int`) fails here, not at deploy; `charmcraft expand-extensions` alone does not
check it. (charmcraft's JujuActions model cannot be used on its own in charmcraft 4.5.)

For every file in .github/workflows/:
- it validates against GitHub's workflow schema (`check-jsonschema --builtin-schema
  vendor.github-workflows`; the schema is vendored in check-jsonschema, no network needed);
- every action it uses is pinned to an exact version tag (v1.2.3) or a full commit SHA;
- every integration suite it selects (`matrix.suite`) is a marker the suites declare
  (tests/integration/conftest.py, SUITES).
Exits non-zero on any problem.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHARMS = ROOT / "charms"
WORKFLOWS = ROOT / ".github" / "workflows"
CONFTEST = ROOT / "tests" / "integration" / "conftest.py"
PINNED = re.compile(r"^(v\d+\.\d+\.\d+|[0-9a-f]{40})$")


def workflow_files() -> list[Path]:
    """The workflow files, in a stable order."""
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def schema_problems(files: list[Path]) -> list[str]:
    """Validate the files against the vendored GitHub workflow schema."""
    cmd = [sys.executable, "-m", "check_jsonschema", "--builtin-schema"]
    cmd += ["vendor.github-workflows", *map(str, files)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        return []
    output = (proc.stdout + proc.stderr).strip()
    return [f"check-jsonschema (exit {proc.returncode}):\n{output}"]


def _steps(workflow: dict) -> Iterator[tuple[str, dict]]:
    jobs = workflow.get("jobs") or {}
    for job_name, job in jobs.items():
        if not isinstance(job, dict):
            continue
        if isinstance(job.get("uses"), str):  # a reusable workflow call
            yield job_name, {"uses": job["uses"]}
        for step in job.get("steps") or []:
            if isinstance(step, dict):
                yield job_name, step


def pin_problems(path: Path, workflow: dict) -> list[str]:
    """Actions not pinned to an exact version tag or a full commit SHA."""
    problems = []
    for job_name, step in _steps(workflow):
        uses = step.get("uses")
        if not isinstance(uses, str) or uses.startswith(("./", "docker://")):
            continue
        _, _, ref = uses.partition("@")
        if not PINNED.match(ref):
            problems.append(
                f"{path.name}: job {job_name}: `uses: {uses}` is not pinned "
                "(use an exact version tag such as v4.2.2, or a full commit SHA)"
            )
    return problems


def charmcraft_problems(path: Path) -> list[str]:
    """What charmcraft's (and so Juju's) config model refuses in a charmcraft.yaml."""
    import pydantic
    from charmcraft.models.config import JujuConfig

    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        return [f"{name}: not YAML: {e}"]
    if not isinstance(data, dict):
        return [f"{name}: not a mapping"]
    if data.get("config") is None:
        return []
    try:
        JujuConfig.model_validate(data["config"])
    except pydantic.ValidationError as e:
        return [
            f"{name}: config.{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in e.errors()
        ]
    return []


def declared_suites() -> set[str]:
    """The suite markers declared in tests/integration/conftest.py (SUITES), read by ast."""
    tree = ast.parse(CONFTEST.read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "SUITES" for t in node.targets)
            and isinstance(node.value, ast.Dict)
        ):
            return {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    return set()


def suite_problems(path: Path, workflow: dict, suites: set[str]) -> list[str]:
    """Suites selected in a job matrix that no integration test module declares."""
    problems = []
    for job_name, job in (workflow.get("jobs") or {}).items():
        matrix = ((job or {}).get("strategy") or {}).get("matrix") or {}
        selected = matrix.get("suite") if isinstance(matrix, dict) else None
        for suite in selected if isinstance(selected, list) else []:
            if suite not in suites:
                problems.append(
                    f"{path.name}: job {job_name}: suite {suite!r} is not a marker in "
                    f"{CONFTEST.relative_to(ROOT)} (known: {', '.join(sorted(suites))})"
                )
    return problems


def main() -> int:
    """Entry point."""
    files = workflow_files()
    if not files:
        print(f"no workflow files in {WORKFLOWS.relative_to(ROOT)}")
        return 1
    problems = schema_problems(files)
    suites = declared_suites()
    for path in files:
        try:
            workflow = yaml.safe_load(path.read_text())
        except yaml.YAMLError as e:
            problems.append(f"{path.name}: not YAML: {e}")
            continue
        if not isinstance(workflow, dict):
            problems.append(f"{path.name}: not a workflow (a mapping at the top)")
            continue
        problems += pin_problems(path, workflow)
        problems += suite_problems(path, workflow, suites)
    charms = sorted(CHARMS.glob("*/charmcraft.yaml"))
    for path in charms:
        problems += charmcraft_problems(path)
    for problem in problems:
        print(problem)
    names = ", ".join(p.name for p in files)
    print(
        f"workflows: {len(files)} checked ({names}); charmcraft.yaml: {len(charms)} checked; "
        f"{len(problems)} problems"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
