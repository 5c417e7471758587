"""tests/lint_extra.py's charmcraft step refuses what Juju refuses (runs in the lint env)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

import lint_extra  # noqa: E402

pytest.importorskip("charmcraft", reason="the lint environment has charmcraft")


def charmcraft(tmp_path: Path, config: str) -> Path:
    path = tmp_path / "charmcraft.yaml"
    path.write_text(f"name: x\ntype: charm\nconfig:\n  options:\n{config}")
    return path


@pytest.mark.parametrize(
    "option",
    [
        "    n:\n      type: integer\n      default: 5\n",  # Juju's word is `int`
        "    n:\n      type: bool\n",
        "    n:\n      type: int\n      default: five\n",
    ],
)
def test_config_juju_rejects_is_a_problem(tmp_path: Path, option: str):
    problems = lint_extra.charmcraft_problems(charmcraft(tmp_path, option))
    assert problems
    assert all(
        p.startswith(str(tmp_path / "charmcraft.yaml") + ": config.options.n") for p in problems
    )


def test_valid_config_passes(tmp_path: Path):
    option = "    n:\n      type: int\n      default: 5\n    s:\n      type: string\n"
    assert lint_extra.charmcraft_problems(charmcraft(tmp_path, option)) == []


@pytest.mark.parametrize("path", sorted((ROOT / "charms").glob("*/charmcraft.yaml")), ids=str)
def test_every_charm_passes(path: Path):
    assert lint_extra.charmcraft_problems(path) == []
