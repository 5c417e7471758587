"""`homelab build`: stage each charm with core, pack it with charmcraft into charms.local_dir.

charmcraft is a fake here (a script on PATH that records its argv and writes a .charm, or
fails): the real one and LXD are not on this machine.
"""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest
from conftest import REPO

from homelab.build import charm_names
from homelab.cli import main

EXAMPLE = REPO / "sites" / "example.yaml"
CHARMS = charm_names(REPO)

FAKE = """#!/usr/bin/env python3
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({"argv": args, "cwd": os.getcwd()}) + "\\n")
project = Path(args[args.index("--project-dir") + 1])
output = Path(args[args.index("--output") + 1])
name = project.name
print(f"Packing {name}")
if name in os.environ.get("FAKE_FAIL", "").split(","):
    print("Failed to build charm: lxd is not ready")
    sys.exit(1)
if name not in os.environ.get("FAKE_SILENT", "").split(","):
    assert (project / "homelab-core" / "src" / "homelab_core").is_dir()
    (output / f"{name}_ubuntu@24.04-amd64.charm").write_text("zip")
print("Packed")
"""


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake charmcraft first on PATH; returns its log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "charmcraft"
    script.write_text(FAKE)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "charmcraft.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LOG", str(log))
    return log


def _site(tmp_path: Path, local_dir: str = "packed") -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("local_dir: build", f"local_dir: {local_dir}")
    path = tmp_path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def _calls(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_build_packs_every_charm_into_local_dir(tmp_path: Path, fake: Path):
    site = _site(tmp_path)
    code, out, err = _run("build", "--site", str(site))
    assert code == 0, err
    packed = tmp_path / "packed"
    assert sorted(p.name for p in packed.iterdir()) == [
        f"{name}_ubuntu@24.04-amd64.charm" for name in CHARMS
    ]
    calls = _calls(fake)
    assert [Path(c["cwd"]).name for c in calls] == CHARMS
    for call, name in zip(calls, CHARMS, strict=True):
        argv = call["argv"]
        assert argv[:2] == ["pack", "--project-dir"]
        assert Path(argv[2]) == REPO / "build" / "stage" / name
        assert argv[3:] == ["--output", str(packed.resolve())]
    for name in CHARMS:  # which file is which charm
        assert f"{name}: " in out
        assert f"{name}_ubuntu@24.04-amd64.charm" in out


def test_destructive_mode_platform_and_one_charm_are_passed_on(tmp_path: Path, fake: Path):
    site = _site(tmp_path)
    code, _, err = _run(
        "build",
        "--site",
        str(site),
        "--charm",
        "gpu-node-labeler",
        "--destructive-mode",
        "--platform",
        "ubuntu@24.04:amd64",
    )
    assert code == 0, err
    (call,) = _calls(fake)
    assert call["argv"][-3:] == ["--destructive-mode", "--platform", "ubuntu@24.04:amd64"]


def test_out_overrides_local_dir(tmp_path: Path, fake: Path):
    code, _, err = _run("build", "--site", str(_site(tmp_path)), "--out", str(tmp_path / "o"),
                        "--charm", "remote-nfs-mount")  # fmt: skip
    assert code == 0, err
    assert [p.name for p in (tmp_path / "o").iterdir()] == [
        "remote-nfs-mount_ubuntu@24.04-amd64.charm"
    ]
    assert not (tmp_path / "packed").exists()


def test_dry_run_prints_the_commands_and_writes_nothing(tmp_path: Path, fake: Path):
    stage = REPO / "build" / "stage" / "static-pv-provisioner"
    before = stage.stat().st_mtime if stage.exists() else None
    code, out, err = _run("build", "--site", str(_site(tmp_path)), "--dry-run")
    assert code == 0, err
    assert _calls(fake) == []
    assert not (tmp_path / "packed").exists()
    assert (stage.stat().st_mtime if stage.exists() else None) == before
    for name in CHARMS:
        assert f"pack --project-dir {REPO / 'build' / 'stage' / name} --output" in out
    assert "dry run: nothing was staged, packed or written" in out


def test_dry_run_without_charmcraft_still_prints(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    code, out, _ = _run("build", "--site", str(_site(tmp_path)), "--dry-run")
    assert code == 0
    assert "charmcraft pack --project-dir" in out


def test_no_charmcraft_says_how_to_install(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on it
    code, out, err = _run("build", "--site", str(_site(tmp_path)))
    assert code == 2
    assert "Traceback" not in err + out
    (line,) = err.splitlines()
    assert line.startswith("error: charmcraft is not installed or not on PATH")
    assert "sudo snap install charmcraft --classic" in line
    assert "sudo snap install lxd && lxd init --auto" in line
    assert "--destructive-mode" in line
    assert not (tmp_path / "packed").exists()


def test_a_failed_pack_shows_its_last_lines(tmp_path: Path, fake: Path, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL", "static-pv-provisioner")
    code, out, err = _run("build", "--site", str(_site(tmp_path)))
    assert code == 2
    assert "Traceback" not in err + out
    assert "error: charmcraft pack of static-pv-provisioner failed (exit code 1)" in err
    assert "Failed to build charm: lxd is not ready" in err
    assert err.splitlines()[-1] == "FAIL: not packed: static-pv-provisioner"
    assert len(_calls(fake)) == len(CHARMS)  # the others were still packed


def test_a_pack_that_writes_no_charm_is_a_failure(tmp_path: Path, fake: Path, monkeypatch):
    monkeypatch.setenv("FAKE_SILENT", "gpu-node-labeler")
    code, _, err = _run("build", "--site", str(_site(tmp_path)), "--charm", "gpu-node-labeler")
    assert code == 2
    assert "(no gpu-node-labeler_*.charm written in" in err


def test_an_output_dir_that_is_a_file(tmp_path: Path, fake: Path):
    (tmp_path / "packed").write_text("not a folder")
    code, out, err = _run("build", "--site", str(_site(tmp_path)))
    assert code == 2
    assert "Traceback" not in err + out
    assert err.splitlines() == [
        f"error: the output folder {tmp_path / 'packed'} is a file, not a folder"
    ]
    assert _calls(fake) == []


def test_an_unknown_charm(tmp_path: Path, fake: Path):
    code, _, err = _run("build", "--site", str(_site(tmp_path)), "--charm", "nope")
    assert code == 2
    assert err.startswith("error: unknown charms: nope (known: ")
    assert _calls(fake) == []


def test_an_invalid_site_builds_nothing(tmp_path: Path, fake: Path):
    site = _site(tmp_path)
    site.write_text(site.read_text().replace("source: charmhub", "source: git"))
    code, _, err = _run("build", "--site", str(site))
    assert code == 2
    assert "charms.source" in err
    assert "nothing was done" in err
    assert _calls(fake) == []


# ----------------------------------------------------------- the plan: charms.source


def _local_site(tmp_path: Path, *, built: bool) -> Path:
    site = _site(tmp_path)
    site.write_text(site.read_text().replace("source: charmhub", "source: local"))
    if built:
        packed = tmp_path / "packed"
        packed.mkdir()
        for name in CHARMS:
            for base in ("ubuntu@22.04", "ubuntu@24.04"):
                (packed / f"{name}_{base}-amd64.charm").write_bytes(b"")
    return site


def test_plan_with_local_source_starts_with_build(tmp_path: Path):
    site = _local_site(tmp_path, built=True)
    code, out, err = _run("plan", "--format", "commands", "--site", str(site))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"homelab build --site {site}"
    assert lines[1].startswith("homelab render --site")
    assert "charms.source" not in err  # no Charmhub warning for local


def test_plan_with_charmhub_source_warns_and_has_no_build_step(tmp_path: Path):
    site = _site(tmp_path)
    code, out, err = _run("plan", "--format", "commands", "--site", str(site))
    assert code == 0  # a warning, not an error
    assert not any(" build " in line for line in out.splitlines())
    (line,) = err.splitlines()
    assert line == (
        f"{site}: warning: charms.source: remote-nfs-mount, static-pv-provisioner and "
        "gpu-node-labeler are not published on Charmhub today: a deploy from charmhub fails; "
        f"use charms.source: local and `homelab build --site {site}` (it packs them into "
        "charms.local_dir)"
    )
    code, out, _ = _run("check", "--site", str(site))
    assert code == 0
    assert "warning: charms.source:" in out
    assert "0 error(s), 1 warning(s)" in out
    assert _run("check", "--site", str(site), "--strict")[0] == 1


def test_deploy_dry_run_prints_the_build_step_first(tmp_path: Path):
    site = _local_site(tmp_path, built=True)
    code, out, err = _run("deploy", "--site", str(site), "--dry-run", "--juju", "3.6")
    assert code == 0, err
    first = out.split(" 2. ", 1)[0]
    assert first.startswith(" 1. # pack the lab's charms with charmcraft into")
    assert f"homelab build --site {site}" in first


def test_deploy_skips_the_build_step_when_the_files_are_there(tmp_path: Path):
    from homelab.build import build_step
    from homelab.deploy import is_done
    from homelab.site import validate
    from homelab.yamlio import load

    site = validate(load(_local_site(tmp_path, built=True)))
    step = build_step(site)
    assert step is not None

    def no_juju(*_args):  # the files kind never asks juju
        raise AssertionError

    assert is_done(step, no_juju)
    (tmp_path / "packed" / "gpu-node-labeler_ubuntu@22.04-amd64.charm").unlink()
    assert not is_done(step, no_juju)


def test_deploy_with_a_missing_charm_says_run_build_first(tmp_path: Path):
    site = _local_site(tmp_path, built=False)
    code, out, err = _run("deploy", "--site", str(site), "--juju", "3.6")
    assert code == 2
    assert "Traceback" not in out + err
    assert f"run ./homelab build --site {site} first" in err
    assert "nothing was done" in err
