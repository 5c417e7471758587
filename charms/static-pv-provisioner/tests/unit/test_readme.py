"""The README says what the charm adds beyond its brief (issue 3), and it stays true."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[2]
# The config options and action parameters issue 3 asks for.
BRIEF_OPTIONS = {
    "kubeconfig-secret", "kubeconfig-path", "nfs-server", "nfs-export", "storage-class",
    "set-default", "adopt-class", "pool", "min-available", "max-per-size", "directory-mode",
    "directory-owner",
}  # fmt: skip
# Issue 13 asks for reattach: volume, claim-namespace, claim-name, confirm.
BRIEF_PARAMS = {"volume", "all-released", "confirm", "model", "claim-namespace", "claim-name"}


def test_every_option_beyond_the_brief_is_named_in_the_readme() -> None:
    charmcraft = yaml.safe_load((ROOT / "charmcraft.yaml").read_text())
    readme = (ROOT / "README.md").read_text()
    (beyond,) = re.findall(r"^- Beyond the brief.*?(?=^- |^#)", readme, re.S | re.M)
    options = set(charmcraft["config"]["options"])
    params = {p for a in charmcraft["actions"].values() for p in (a.get("params") or {})}
    extra = (options - BRIEF_OPTIONS) | (params - BRIEF_PARAMS)
    assert extra == {"nfs-mount-options", "volume-binding-mode", "mount-timeout", "pool-name"}
    for name in extra:
        assert re.search(rf"[` ]{name}[`=]", beyond), name
    assert "none" not in beyond.lower()
