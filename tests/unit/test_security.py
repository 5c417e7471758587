"""Security pass over all shipped code: no shell, no eval, no stray process spawning.

Shipped code is every charm's `src/` and `lib/`, the `homelab` tool's `src/`, and the scripts
the project runs for users (bench/). User input must never reach a shell: subprocess calls take
argument lists and never `shell=True`; `os.system`, `os.popen`, `subprocess.getoutput` and
friends, `eval` and `exec` are not used at all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(
    {
        *ROOT.glob("charms/*/src/**/*.py"),
        *ROOT.glob("charms/*/lib/**/*.py"),
        *ROOT.glob("tools/*/src/**/*.py"),
        *ROOT.glob("bench/**/*.py"),
    }
)
FORBIDDEN_CALLS = {
    "os.system",
    "os.popen",
    "os.spawnl",
    "os.spawnlp",
    "os.spawnv",
    "os.spawnvp",
    "os.execl",
    "os.execlp",
    "os.execv",
    "os.execvp",
    "pty.spawn",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "eval",
    "exec",
    "pickle.loads",
    "yaml.load",
}
SUBPROCESS_CALLS = {"run", "call", "check_call", "check_output", "Popen"}


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return ""


def problems(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        where = f"{path.relative_to(root)}:{node.lineno}"
        if name in FORBIDDEN_CALLS:
            found.append(f"{where}: {name}()")
        for keyword in node.keywords:
            if keyword.arg == "shell" and not (
                isinstance(keyword.value, ast.Constant) and keyword.value.value is False
            ):
                found.append(f"{where}: {name}(shell=...)")
        if (
            name.split(".")[-1] in SUBPROCESS_CALLS
            and name.startswith("subprocess")
            and (node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr, ast.BinOp)))
        ):
            found.append(f"{where}: {name}() with a command string, not an argument list")
    return found


def test_there_is_code_to_check():
    assert any("remote-nfs-mount" in str(p) for p in SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_shell_and_no_eval(path: Path):
    assert problems(path) == []


def test_the_checker_catches_what_it_should(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import os, subprocess\n"
        "os.system('x')\n"
        "subprocess.run('ls -l', check=True)\n"
        "subprocess.run(['ls'], shell=True)\n"
        "eval('1')\n"
    )
    assert len(problems(bad, root=tmp_path)) == 4
