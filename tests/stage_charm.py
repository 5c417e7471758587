"""Stage a charm for `charmcraft pack`: a copy of charms/NAME that carries homelab-core itself.

In the repository every charm depends on `homelab-core` as a uv workspace member
(`[tool.uv.sources] homelab-core = { workspace = true }`, core/ at the root). charmcraft packs
in a managed instance that sees only the project directory, so, as charmed-hpc/slurm-charms
stages its shared packages into `_build/<charm>`, this writes `build/stage/NAME` with:

- the charm's files (no tests, no caches);
- `homelab-core/`: core's pyproject.toml and src/ (the package as it is in the repository);
- pyproject.toml with the source pointed at that folder
  (`homelab-core = { path = "homelab-core" }`);
- uv.lock: the charm's committed `charms/NAME/uv.lock`, which is the lock of exactly this staged
  project (`--check` fails when it is not current; without it the lock is rewritten in place,
  keeping every other pin, and copied back to charms/NAME/uv.lock).

charmcraft.yaml's `charm` part (uv plugin, frozen lock) then installs homelab-core into the
charm's venv like any dependency, and refuses to build an unstaged copy.

Usage: python tests/stage_charm.py [--check] [--out DIR] NAME...
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"
STAGE = ROOT / "build" / "stage"
CORE_DIR = "homelab-core"
WORKSPACE_SOURCE = re.compile(
    r"^\[tool\.uv\.sources\]\n(homelab-core = \{ workspace = true \}\n)", re.MULTILINE
)
_IGNORE = shutil.ignore_patterns(
    "tests", "__pycache__", ".venv*", "build", "*.charm", ".pytest_cache", ".ruff_cache"
)


def uv() -> str:
    """The uv binary: .tools/bin/uv (run-tests installs it), else the one on PATH."""
    local = ROOT / ".tools" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if not found:
        raise SystemExit("uv not found: python3 -m pip install uv (or ./run-tests)")
    return found


def staged_pyproject(text: str) -> str:
    """The charm's pyproject.toml with homelab-core taken from the staged folder."""
    if not WORKSPACE_SOURCE.search(text):
        raise SystemExit(
            "pyproject.toml has no `[tool.uv.sources] homelab-core = { workspace = true }`"
        )
    return WORKSPACE_SOURCE.sub(
        f'[tool.uv.sources]\nhomelab-core = {{ path = "{CORE_DIR}" }}\n', text
    )


def stage(name: str, out: Path = STAGE, *, check: bool = False) -> Path:
    """Write the staged copy of charms/NAME under `out`; returns its folder."""
    charm = ROOT / "charms" / name
    if not (charm / "charmcraft.yaml").exists():
        raise SystemExit(f"no charm {name!r} in {ROOT / 'charms'}")
    dest = out / name
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(charm, dest, ignore=_IGNORE)
    (dest / CORE_DIR).mkdir()
    shutil.copy(CORE / "pyproject.toml", dest / CORE_DIR / "pyproject.toml")
    shutil.copytree(CORE / "src", dest / CORE_DIR / "src", ignore=_IGNORE)
    (dest / "pyproject.toml").write_text(staged_pyproject((charm / "pyproject.toml").read_text()))
    # The staged pyproject extends ../../pyproject.toml for ruff/pyright: not needed to build.
    env = {**os.environ, "UV_NO_CONFIG": "1"}
    cmd = [uv(), "lock", "--project", str(dest), *(["--check"] if check else [])]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        hint = " (run: python tests/stage_charm.py NAME, and commit its uv.lock)" if check else ""
        raise SystemExit(f"{name}: uv lock failed{hint}:\n{done.stderr.strip()}")
    if not check:
        shutil.copy(dest / "uv.lock", charm / "uv.lock")
    return dest


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
