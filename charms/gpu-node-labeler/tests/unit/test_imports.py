"""Every hook pays the charm's imports: lightkube must come only with the API."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
CORE_SRC = Path(__file__).resolve().parents[4] / "core" / "src"
# The repository's own ops-free package (a uv workspace member, distribution homelab-core):
# declared like any other dependency, with its workspace source.
WORKSPACE = {"homelab_core": "homelab-core"}


def test_import_charm_does_not_import_lightkube():
    code = (
        "import sys, charm\n"
        "heavy = sorted(m for m in ('lightkube', 'httpx2') if m in sys.modules)\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{SRC}:{CORE_SRC}"},
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == ""


def _declared() -> set[str]:
    """The distributions named in pyproject.toml's [project] dependencies."""
    text = (SRC.parent / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    assert block, "no dependencies list in pyproject.toml"
    names = re.findall(r'^\s*"([A-Za-z0-9._-]+)', block.group(1), re.MULTILINE)
    return {_normal(n) for n in names}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_third_party_import_is_declared():
    # what src/ imports itself must be a direct dependency, not something that happens to come
    # with one (the uv plugin installs exactly what pyproject.toml and uv.lock say)
    local = {p.stem for p in SRC.glob("*.py")}
    modules: set[str] = set()
    for path in SRC.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = sorted(modules - local - set(sys.stdlib_module_names) - {"__future__"})
    dists = {**importlib.metadata.packages_distributions()}
    dists.update({m: [d] for m, d in WORKSPACE.items()})
    missing = [m for m in third_party if not {_normal(d) for d in dists.get(m, [m])} & _declared()]
    assert "homelab_core" in third_party
    assert missing == []


def test_labels_and_settings_import_no_circle():
    # settings is plain configuration; labels may use it, never the other way round
    def imports(name: str) -> set[str]:
        tree = ast.parse((SRC / f"{name}.py").read_text())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
        return found

    assert "labels" not in imports("settings")
    assert "settings" in imports("labels")
