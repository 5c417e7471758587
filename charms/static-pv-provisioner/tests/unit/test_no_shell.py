"""Security: no user input can reach a shell — the charm's code never starts one.

An AST scan of src/ and lib/: no `shell=True`, no os.system/os.popen/os.exec*/pty.spawn, no
`sh -c`/`bash -c` argument lists, and every subprocess call gets an argument list.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CHARM = Path(__file__).parents[2]
SOURCES = sorted([*CHARM.glob("src/*.py"), *CHARM.glob("lib/**/*.py")])
SHELLS = {"sh", "bash", "/bin/sh", "/bin/bash", "dash"}


def calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def name(func: ast.expr) -> str:
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(CHARM)))
def test_no_shell(source: Path) -> None:
    tree = ast.parse(source.read_text(), str(source))
    for call in calls(tree):
        called = name(call.func)
        where = f"{source.name}:{call.lineno} {called}"
        assert not any(
            kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and not kw.value.value)
            for kw in call.keywords
        ), where
        assert called not in {"os.system", "os.popen", "pty.spawn", "commands.getoutput"}, where
        assert not called.startswith(("os.exec", "os.spawn")), where
        if called.startswith("subprocess.") and call.args:
            argv = call.args[0]
            assert not isinstance(argv, (ast.Constant, ast.JoinedStr, ast.BinOp)), where
            if isinstance(argv, ast.List) and argv.elts:
                first = argv.elts[0]
                assert not (isinstance(first, ast.Constant) and first.value in SHELLS), where


def test_the_scan_sees_the_charm() -> None:
    names = {p.name for p in SOURCES}
    assert {"charm.py", "nas.py", "packages.py"} <= names
    nas = ast.parse((CHARM / "src" / "nas.py").read_text())
    assert any(name(c.func) == "subprocess.run" for c in calls(nas))
