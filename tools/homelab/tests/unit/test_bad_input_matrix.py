"""The site file's section of the bad-input matrix (tests/robustness/bad_inputs.yaml).

Each case, through the command line (`homelab render`, `plan` and `deploy`): exit code 2, a
message naming the key and the rule, nothing rendered (the output folder is never created) and
no juju command run (a `juju` on PATH records every call).
"""

from __future__ import annotations

import copy
import io
import os
import stat
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from homelab.cli import main
from homelab.problems import EXIT_USAGE

MATRIX = yaml.safe_load((REPO / "tests" / "robustness" / "bad_inputs.yaml").read_text())["site"]
BASE_TEXT = (REPO / MATRIX["base"]).read_text()


def site_text(case: dict) -> str:
    """The site file of one case."""
    if "text" in case:
        return case["text"]
    if "replace" in case:
        old, new = case["replace"]
        assert old in BASE_TEXT, old
        return BASE_TEXT.replace(old, new, 1)
    data = copy.deepcopy(yaml.safe_load(BASE_TEXT))
    *parents, last = case["key"].split(".")
    node = data
    for part in parents:
        node = node[part]
    if case.get("unset"):
        del node[last]
    else:
        node[last] = case["value"] + "a" * case["pad"] if "pad" in case else case["value"]
    return yaml.safe_dump(data, sort_keys=False)


def _id(case: dict) -> str:
    what = case.get("value", case.get("replace", case.get("text", "unset")))
    return f"{case['key']}={what!r}"[:60]


def test_matrix_is_large_enough():
    assert len(MATRIX["cases"]) >= 25
    assert sum(1 for c in MATRIX["cases"] if c["key"] is None) <= 5  # most name a key


def test_the_base_is_valid(tmp_path: Path):
    path = tmp_path / "site.yaml"
    path.write_text(BASE_TEXT)
    out = io.StringIO()
    assert main(["plan", "--site", str(path), "--out", str(tmp_path / "out")], out) == 0


@pytest.fixture
def juju_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `juju` first on PATH that appends its arguments to the returned file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "juju-calls"
    juju = bin_dir / "juju"
    juju.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho "{{}}"\n')
    juju.chmod(juju.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return log


@pytest.mark.parametrize("case", MATRIX["cases"], ids=_id)
def test_bad_site(case: dict, tmp_path: Path, juju_calls: Path, monkeypatch: pytest.MonkeyPatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # the default output folder (build/homelab/SITE) would land here
    path = work / "site.yaml"
    path.write_text(site_text(case))
    outdir = tmp_path / "out"
    for argv in (
        ["render", "--site", str(path), "--out", str(outdir)],
        ["render", "--site", str(path)],
        ["plan", "--site", str(path), "--out", str(outdir)],
        ["deploy", "--site", str(path), "--out", str(outdir)],
        ["deploy", "--site", str(path), "--dry-run"],
    ):
        out = io.StringIO()
        code = main(argv, out)
        text = out.getvalue()
        assert code == EXIT_USAGE, (argv, text)
        if named := case.get("names", case["key"]):
            assert f" {named}: " in text, text
        assert case["rule"] in text, text
        assert str(path) in text  # the file is named (with line, and column for broken YAML)
        assert "juju " not in text  # no command printed, not even a dry run
    assert not outdir.exists()
    assert sorted(p.name for p in work.iterdir()) == ["site.yaml"]
    assert not juju_calls.exists()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("nas.host", "fd00::20"),
        ("nas.host", "nas-1.lab.example"),
        ("nas.host", "255.255.255.254"),
        ("nas.export", "/volume1/k8s_data-2/v1.0"),
        ("nas.mount_options", "hard,timeo=600,retrans=3,nconnect=8,sec=krb5p,noatime"),
        ("storage.min_available", 0),
        ("kubeflow.gpu_number_default", 2),
        ("gpu.label_prefix", "gpu.lab.example"),
        ("charms.local_dir", "~/charms/build"),
    ],
)
def test_boundary_values_that_are_fine(key: str, value, tmp_path: Path):
    """The rules the matrix checks do not refuse what a lab really uses."""
    path = tmp_path / "site.yaml"
    path.write_text(site_text({"key": key, "value": value}))
    out = io.StringIO()
    code = main(["plan", "--site", str(path), "--out", str(tmp_path / "out")], out)
    assert code == 0, out.getvalue()
