"""`homelab build`: pack the repository's charms with charmcraft for a site's `charms.local_dir`.

Staging (what `tests/stage_charm.py` and `tests/integration/build_charms.py` call too): in the
repository every charm depends on `homelab-core` as a uv workspace member
(`[tool.uv.sources] homelab-core = { workspace = true }`, core/ at the root). charmcraft packs
in a managed instance that sees only the project directory, so, as charmed-hpc/slurm-charms
stages its shared packages into `_build/<charm>`, `stage` writes `build/stage/NAME` with:

- the charm's files (no tests, no caches);
- `homelab-core/`: core's pyproject.toml and src/ (the package as it is in the repository);
- pyproject.toml with the source pointed at that folder
  (`homelab-core = { path = "homelab-core" }`);
- uv.lock: the charm's committed `charms/NAME/uv.lock`, which is the lock of exactly this staged
  project (`check` fails when it is not current; without it the lock is rewritten in place,
  keeping every other pin, and copied back to charms/NAME/uv.lock).

charmcraft.yaml's `charm` part (uv plugin, frozen lock) then installs homelab-core into the
charm's venv like any dependency, and refuses to build an unstaged copy.

Only the standard library here: the integration build script imports this module from a bare
Python.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

CORE_DIR = "homelab-core"
WORKSPACE_SOURCE = re.compile(
    r"^\[tool\.uv\.sources\]\n(homelab-core = \{ workspace = true \}\n)", re.MULTILINE
)
_IGNORE = shutil.ignore_patterns(
    "tests", "__pycache__", ".venv*", "build", "*.charm", ".pytest_cache", ".ruff_cache"
)
TAIL_LINES = 15  # of a failed pack's output, repeated after the error line
INSTALL_HINT = (
    "install it: sudo snap install charmcraft --classic, and LXD for its build instance: "
    "sudo snap install lxd && lxd init --auto (or pass --destructive-mode on an Ubuntu host "
    "of the charm's base)"
)


class BuildError(Exception):
    """A build problem the user can fix, in one line (or a line and a pack's last lines)."""


def charm_names(root: Path) -> list[str]:
    """The charms of the checkout (folders under charms/ with a charmcraft.yaml)."""
    return sorted(p.parent.name for p in (root / "charms").glob("*/charmcraft.yaml"))


def find_uv(root: Path, which: Callable[[str], str | None] = shutil.which) -> str | None:
    """The uv binary: .tools/bin/uv (run-tests installs it), else the one on PATH."""
    local = root / ".tools" / "bin" / "uv"
    return str(local) if local.exists() else which("uv")


def staged_pyproject(text: str) -> str:
    """The charm's pyproject.toml with homelab-core taken from the staged folder."""
    if not WORKSPACE_SOURCE.search(text):
        raise BuildError(
            "pyproject.toml has no `[tool.uv.sources] homelab-core = { workspace = true }`"
        )
    return WORKSPACE_SOURCE.sub(
        f'[tool.uv.sources]\nhomelab-core = {{ path = "{CORE_DIR}" }}\n', text
    )


def stage(
    name: str,
    out: Path,
    root: Path,
    *,
    check: bool = False,
    uv: str | None = None,
    require_uv: bool = True,
) -> Path:
    """Write the staged copy of charms/NAME under `out`; returns its folder.

    With `require_uv` false and no uv, the committed uv.lock is copied unchecked (it is the
    staged project's lock; `tests/unit/test_charm_packaging.py` keeps it current).
    """
    charm = root / "charms" / name
    if not (charm / "charmcraft.yaml").exists():
        raise BuildError(f"no charm {name!r} in {root / 'charms'}")
    pyproject = staged_pyproject((charm / "pyproject.toml").read_text(encoding="utf-8"))
    uv = uv or find_uv(root)
    if uv is None and require_uv:
        raise BuildError("uv not found: python3 -m pip install uv (or ./run-tests)")
    dest = out / name
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(charm, dest, ignore=_IGNORE)
    (dest / CORE_DIR).mkdir()
    shutil.copy(root / "core" / "pyproject.toml", dest / CORE_DIR / "pyproject.toml")
    shutil.copytree(root / "core" / "src", dest / CORE_DIR / "src", ignore=_IGNORE)
    (dest / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    if uv is None:
        return dest
    # The staged pyproject extends ../../pyproject.toml for ruff/pyright: not needed to build.
    env = {**os.environ, "UV_NO_CONFIG": "1"}
    cmd = [uv, "lock", "--project", str(dest), *(["--check"] if check else [])]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        hint = " (run: python tests/stage_charm.py NAME, and commit its uv.lock)" if check else ""
        raise BuildError(f"{name}: uv lock failed{hint}:\n{done.stderr.strip()}")
    if not check:
        shutil.copy(dest / "uv.lock", charm / "uv.lock")
    return dest


def pack_command(
    charmcraft: str,
    staged: Path,
    output: Path,
    *,
    platform: str | None = None,
    destructive_mode: bool = False,
) -> list[str]:
    """The `charmcraft pack` argument list for one staged charm (never a shell line)."""
    cmd = [charmcraft, "pack", "--project-dir", str(staged), "--output", str(output)]
    if destructive_mode:
        cmd.append("--destructive-mode")
    if platform:
        cmd += ["--platform", platform]
    return cmd


@dataclass
class Request:
    """What to build and where."""

    root: Path  # the checkout (charms/, core/)
    output: Path  # where the .charm files go
    names: list[str] = field(default_factory=list)  # empty: every charm
    platform: str | None = None
    destructive_mode: bool = False
    dry_run: bool = False
    stage_dir: Path | None = None  # default: ROOT/build/stage


@dataclass
class Packed:
    """The outcome: charm -> files it made, and the charms whose pack failed."""

    files: dict[str, list[Path]] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


def _run_streaming(argv: list[str], cwd: Path, out: TextIO) -> tuple[int, list[str]]:
    """Run, echoing each output line as it comes (a pack takes minutes); return code and lines."""
    lines: list[str] = []
    with subprocess.Popen(
        argv,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    ) as proc:
        assert proc.stdout is not None  # noqa: S101 - PIPE was asked for
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            out.write(f"    | {line}" if line.endswith("\n") else f"    | {line}\n")
            out.flush()
        code = proc.wait()
    return code, lines


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def build(
    req: Request,
    out: TextIO,
    err: TextIO,
    which: Callable[[str], str | None] = shutil.which,
) -> Packed:
    """Stage and pack each charm; raises BuildError before anything runs for a bad request.

    A pack that fails is reported on `err` with its last lines and the next charm is packed;
    the caller turns `Packed.failed` into its exit code.
    """
    known = charm_names(req.root)
    names = req.names or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise BuildError(f"unknown charms: {', '.join(unknown)} (known: {', '.join(known)})")
    output = req.output.resolve()
    if output.exists() and not output.is_dir():
        raise BuildError(f"the output folder {output} is a file, not a folder")
    charmcraft = which("charmcraft")
    if charmcraft is None and not req.dry_run:
        raise BuildError(f"charmcraft is not installed or not on PATH: {INSTALL_HINT}")
    charmcraft = charmcraft or "charmcraft"
    stage_dir = (req.stage_dir or req.root / "build" / "stage").resolve()
    uv = find_uv(req.root, which)
    result = Packed()
    for name in names:
        staged = stage_dir / name
        cmd = pack_command(
            charmcraft,
            staged,
            output,
            platform=req.platform,
            destructive_mode=req.destructive_mode,
        )
        if req.dry_run:
            out.write(f"=== {name}: stage charms/{name} + core/ into {staged}\n")
            out.write(f"    {' '.join(cmd)}  (in {staged})\n")
            continue
        output.mkdir(parents=True, exist_ok=True)
        if uv is None:
            out.write(f"=== {name}: uv not found: the committed uv.lock is used unchecked\n")
        stage(name, stage_dir, req.root, check=True, uv=uv, require_uv=False)
        out.write(f"=== {name}: {' '.join(cmd)}\n")
        out.flush()
        start = time.time()
        code, lines = _run_streaming(cmd, staged, out)
        made = sorted(p for p in output.glob(f"{name}_*.charm") if p.stat().st_mtime >= start - 1)
        if code != 0 or not made:
            why = f"exit code {code}" if code != 0 else f"no {name}_*.charm written in {output}"
            err.write(f"error: charmcraft pack of {name} failed ({why}); its last lines:\n")
            for line in lines[-TAIL_LINES:] or ["(no output)"]:
                err.write(f"    {line}\n")
            result.failed.append(name)
            continue
        result.files[name] = made
    if req.dry_run:
        out.write("dry run: nothing was staged, packed or written\n")
        return result
    for name, files in result.files.items():
        for path in files:
            out.write(f"{name}: {_shown(path)}\n")
    return result


# ------------------------------------------------------------- the plan's side (charms.source)
CHARMHUB_WARNING = (
    "remote-nfs-mount, static-pv-provisioner and gpu-node-labeler are not published on Charmhub "
    "today: a deploy from charmhub fails; use charms.source: local and `{program} build --site "
    "{site}` (it packs them into charms.local_dir)"
)


def source_problems(site, program: str = "homelab") -> list:
    """A warning for `charms.source: charmhub` (our charms are not published there today)."""
    from homelab.problems import WARNING, Problem

    if site.get("charms.source") != "charmhub":
        return []
    message = CHARMHUB_WARNING.format(program=program, site=site.path)
    return [Problem(site.path, "charms.source", message, 0, WARNING)]


def build_step(site, program: str = "homelab"):
    """The lab's first step for `charms.source: local`: pack the charms (None for charmhub).

    Done (deploy skips it) when every .charm the rendered files name is there; deploy stops
    before step 1 when one is missing ("run ... build first", homelab.render).
    """
    if site.get("charms.source") != "local":
        return None
    from homelab.plan import Step
    from homelab.render import LOCAL_CHARMS, local_charm_path
    from homelab.site import LINES

    files = [
        str(local_charm_path(site, name, line)) for line in LINES.values() for name in LOCAL_CHARMS
    ]
    folder = Path(site.path).parent / site.get("charms.local_dir")
    return Step(
        f"pack the lab's charms with charmcraft into {folder} (charms.source: local; needs "
        "charmcraft and LXD: run it yourself, deploy skips it when the files are there)",
        [program, "build", "--site", site.path],
        ("files", "", *dict.fromkeys(files)),
    )
