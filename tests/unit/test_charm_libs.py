"""Charm libraries: each is owned by one charm and copied byte-identically into its users.

A library lives at `lib/charms/<owner>/v<N>/<name>.py`, where `<owner>` is the owning charm's
name with `-` replaced by `_`; the owner's copy is the original.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHARMS = ROOT / "charms"


def library_copies() -> dict[str, list[Path]]:
    """Every library file in every charm, grouped by its path below lib/."""
    copies: dict[str, list[Path]] = {}
    for path in sorted(CHARMS.glob("*/lib/charms/*/v*/*.py")):
        relative = path.relative_to(path.parents[4] / "lib").as_posix()
        copies.setdefault(relative, []).append(path)
    return copies


LIBS = library_copies()


def test_there_are_libraries():
    assert "charms/remote_nfs_mount/v0/nfs_share.py" in LIBS


@pytest.mark.parametrize("relative", sorted(LIBS))
def test_every_copy_is_identical_to_the_owner(relative: str):
    owner_name = relative.split("/")[1].replace("_", "-")
    original = CHARMS / owner_name / "lib" / relative
    assert original.exists(), f"{relative}: its owner charm {owner_name} does not hold it"
    for copy in LIBS[relative]:
        assert copy.read_bytes() == original.read_bytes(), (
            f"{copy.relative_to(ROOT)} differs from {original.relative_to(ROOT)}: "
            f"copy the owner's file unchanged"
        )


@pytest.mark.parametrize("relative", sorted(LIBS))
def test_library_metadata(relative: str):
    text = (CHARMS / relative.split("/")[1].replace("_", "-") / "lib" / relative).read_text()
    assert re.search(r'^LIBID = "[0-9a-f]{32}"$', text, re.M)
    assert re.search(rf"^LIBAPI = {relative.split('/')[2][1:]}$", text, re.M)
    assert re.search(r"^LIBPATCH = [1-9][0-9]*$", text, re.M)
