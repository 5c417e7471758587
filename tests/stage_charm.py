"""Stage a charm for `charmcraft pack`: a copy of charms/NAME that carries homelab-core itself.

A thin caller of the `homelab` tool's staging (tools/homelab/src/homelab/build.py, which
`homelab build` and tests/integration/build_charms.py use too; its docstring says what the
staged copy holds): `build/stage/NAME` with the charm's files, `homelab-core/` (core's
pyproject.toml and src/), the pyproject pointed at that folder, and the charm's committed
uv.lock (`--check` fails when it is not current; without it the lock is rewritten in place and
copied back to charms/NAME/uv.lock).

Usage: python tests/stage_charm.py [--check] [--out DIR] NAME...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools" / "homelab" / "src"))
from homelab import build  # noqa: E402 - the tool's package, from this checkout

CORE = ROOT / "core"
STAGE = ROOT / "build" / "stage"
CORE_DIR = build.CORE_DIR
WORKSPACE_SOURCE = build.WORKSPACE_SOURCE


def uv() -> str:
    """The uv binary: .tools/bin/uv (run-tests installs it), else the one on PATH."""
    found = build.find_uv(ROOT)
    if not found:
        raise SystemExit("uv not found: python3 -m pip install uv (or ./run-tests)")
    return found


def staged_pyproject(text: str) -> str:
    """The charm's pyproject.toml with homelab-core taken from the staged folder."""
    try:
        return build.staged_pyproject(text)
    except build.BuildError as exc:
        raise SystemExit(str(exc)) from None


def stage(name: str, out: Path = STAGE, *, check: bool = False) -> Path:
    """Write the staged copy of charms/NAME under `out`; returns its folder."""
    try:
        return build.stage(name, out, ROOT, check=check, uv=uv())
    except build.BuildError as exc:
        raise SystemExit(str(exc)) from None


def main(argv: list[str]) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a uv.lock is not current")
    parser.add_argument("--out", type=Path, default=STAGE, help=f"default: {STAGE}")
    parser.add_argument("names", nargs="+", help="charm names")
    args = parser.parse_args(argv)
    for name in args.names:
        print(stage(name, args.out, check=args.check))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
