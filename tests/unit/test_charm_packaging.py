"""Each packed charm contains homelab_core and imports with nothing but its own dependencies.

What `charmcraft pack` does with a charm, short of the managed instance: the staged copy
(tests/stage_charm.py, what `tox -e build` packs) carries core as `homelab-core/`; its committed
uv.lock must be current (the uv plugin installs from it frozen); installing exactly what that
lock exports into an empty folder and importing `charm` from src/ and lib/ with only that folder
on the path (`python -S`: not even the test environment's site-packages) must work, with
homelab_core coming from that folder.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
import stage_charm  # noqa: E402

CHARMS = sorted(p.parent.name for p in (ROOT / "charms").glob("*/charmcraft.yaml"))


def _uv(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [stage_charm.uv(), *args], capture_output=True, text=True, check=False, cwd=cwd
    )


@pytest.mark.parametrize("name", CHARMS)
def test_packed_charm_carries_core_and_imports_alone(name: str, tmp_path: Path):
    staged = stage_charm.stage(name, tmp_path / "stage", check=True)  # fails: lock not current
    assert (staged / "homelab-core" / "src" / "homelab_core" / "validators.py").is_file()
    assert not (staged / "tests").exists()

    exported = _uv("export", "--project", str(staged), "--frozen", "--no-dev", "--no-hashes",
                   "--no-emit-project", "--no-header", "--no-annotate")  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(exported.stdout)
    assert any(line.strip().endswith("homelab-core") for line in exported.stdout.splitlines())

    target = tmp_path / "venv"
    install = ["pip", "install", "--python", sys.executable, "--target", str(target)]
    install += ["--no-deps", "-r", str(requirements)]
    done = _uv(*install, "--offline", cwd=staged)  # from uv's cache when it has everything
    if done.returncode != 0:
        done = _uv(*install, cwd=staged)  # else from PyPI (reachable in CI)
    assert done.returncode == 0, done.stderr

    probe = "import charm, homelab_core, ops\nprint(homelab_core.__file__)\nprint(ops.__file__)\n"
    path = f"{target}:{staged / 'src'}:{staged / 'lib'}"
    run = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        capture_output=True,
        text=True,
        check=False,
        cwd=staged,
        env={"PYTHONPATH": path, "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr
    core_file, ops_file = run.stdout.split()
    assert Path(core_file).is_relative_to(target)  # the installed copy, not the repository's
    assert Path(ops_file).is_relative_to(target)


def test_a_charm_without_the_workspace_source_is_refused():
    with pytest.raises(SystemExit, match="workspace = true"):
        stage_charm.staged_pyproject('[project]\nname = "x"\ndependencies = ["homelab-core"]\n')


# import name -> distribution, for the third-party packages the charms use
DISTRIBUTIONS = {
    "ops": "ops",
    "lightkube": "lightkube",
    "charmlibs": "charmlibs-apt",
    "yaml": "pyyaml",
    "httpx2": "httpx2",
    "homelab_core": "homelab-core",
}


def _imported_top_names(path: Path) -> set[str]:
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("name", CHARMS)
def test_every_runtime_import_is_a_declared_dependency(name: str):
    import re

    import tomllib

    charm = ROOT / "charms" / name
    local = {p.stem for p in (charm / "src").glob("*.py")} | {"charms"}
    imported = set()
    for path in (charm / "src").rglob("*.py"):
        imported |= _imported_top_names(path)
    third_party = imported - local - set(sys.stdlib_module_names) - {"__future__"}
    unknown = sorted(third_party - set(DISTRIBUTIONS))
    assert not unknown, f"add these imports to DISTRIBUTIONS: {unknown}"
    declared = {
        re.split(r"[<>=!~ \[;@]", dep, maxsplit=1)[0].lower()
        for dep in tomllib.loads((charm / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    missing = sorted(DISTRIBUTIONS[n] for n in third_party if DISTRIBUTIONS[n] not in declared)
    assert not missing, f"{name} imports {missing} without declaring them in pyproject.toml"
