"""No user input reaches a shell: no `shell=True`, `os.system`, `os.popen` or `pty.spawn` in the
charm's src/, and every subprocess call gets an argument list (read with `ast`, so a comment or
a string mentioning them does not count).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
SHELL_CALLS = {"os.system", "os.popen", "os.execl", "os.execlp", "os.spawnl", "pty.spawn"}
SUBPROCESS = {"run", "Popen", "call", "check_call", "check_output", "getoutput", "getstatusoutput"}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _calls(path: Path) -> list[ast.Call]:
    return [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)]


SOURCES = sorted(SRC.rglob("*.py"))


def test_sources_found():
    assert len(SOURCES) >= 3


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_shell(path: Path):
    for call in _calls(path):
        name = _name(call.func)
        where = f"{path.name}:{call.lineno}"
        assert name not in SHELL_CALLS, f"{where}: {name}"
        for kw in call.keywords:
            if kw.arg == "shell":
                assert isinstance(kw.value, ast.Constant), where
                assert kw.value.value is False, where
        if name.startswith("subprocess.") and name.split(".")[-1] in SUBPROCESS:
            assert name.split(".")[-1] not in ("getoutput", "getstatusoutput"), where
            first = call.args[0] if call.args else None
            assert not isinstance(first, (ast.Constant, ast.JoinedStr, ast.BinOp)), (
                f"{where}: a command line string, not an argument list"
            )
