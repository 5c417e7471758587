"""Run one stage of the test suite in every project of the repository, one process each.

Projects are the core package (`core`), the charms (`charms/*`) and the tools (`tools/*`); the
repository-wide tests in `tests/unit` and `tests/component` run last, as a project of their own
(and, in the lint stage, `tests/lint`, which needs the lint env's charmcraft). Every charm's entry
module is called `charm`, so each project gets its own pytest process (and its own pyright run).

Usage: python tests/each_charm.py {unit,component,lint} [pytest arguments...]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def projects() -> list[Path]:
    """The charm and tool directories, in a stable order."""
    found = [ROOT / "core", *sorted(ROOT.glob("charms/*/")), *sorted(ROOT.glob("tools/*/"))]
    return [p for p in found if (p / "pyproject.toml").exists()]


def run(cmd: list[str], cwd: Path) -> int:
    """Run one command, print how long it took, and return its exit code."""
    print(f"\n=== {cwd.relative_to(ROOT) or '.'}: {' '.join(cmd)}", flush=True)
    start = time.monotonic()
    code = subprocess.call(cmd, cwd=cwd)
    print(f"=== exit {code} after {time.monotonic() - start:.1f}s", flush=True)
    return code


def tests_stage(stage: str, extra: list[str]) -> list[tuple[str, int]]:
    """Run `<project>/tests/<stage>` for every project that has it, then the repo-wide ones."""
    results = []
    for project in projects():
        if (project / "tests" / stage).is_dir():
            cmd = [sys.executable, "-m", "pytest", f"tests/{stage}", *extra]
            results.append((f"{project.name} {stage}", run(cmd, project)))
    if (ROOT / "tests" / stage).is_dir():
        cmd = [sys.executable, "-m", "pytest", f"tests/{stage}", *extra]
        results.append((f"repository {stage}", run(cmd, ROOT)))
    return results


def lint_stage() -> list[tuple[str, int]]:
    """Per project: pyright with the project's own paths; per charm: charmcraft's schema check."""
    results = []
    for project in projects():
        results.append((f"{project.name} pyright", run(["pyright"], project)))
        if (project / "charmcraft.yaml").exists():
            code = run(["charmcraft", "expand-extensions"], project)
            results.append((f"{project.name} charmcraft", code))
    extra = ROOT / "tests" / "lint_extra.py"
    if extra.exists():
        results.append(("repository extra lint", run([sys.executable, str(extra)], ROOT)))
    if (ROOT / "tests" / "lint").is_dir():  # the lint's own tests need the lint env (charmcraft)
        cmd = [sys.executable, "-m", "pytest", "tests/lint", "-q"]
        results.append(("repository lint tests", run(cmd, ROOT)))
    return results


def main(argv: list[str]) -> int:
    """Entry point."""
    if not argv or argv[0] not in {"unit", "component", "lint"}:
        print(__doc__)
        return 2
    stage, extra = argv[0], argv[1:]
    results = lint_stage() if stage == "lint" else tests_stage(stage, extra)
    print(f"\n=== {stage} summary")
    for name, code in results:
        print(f"  {'ok  ' if code == 0 else 'FAIL'} {name} (exit {code})")
    if not results:
        print("  nothing to run")
        return 1
    return 0 if all(code == 0 for _, code in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
