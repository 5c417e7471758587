"""Suite 5: `homelab deploy --dry-run` of the example site, checked by Juju in the test model.

The example site is pointed at this controller and model and at the packed charms
(`charms.source: local`); `homelab deploy --dry-run` must print the plan and run nothing; then
the plan's Charmed Kubernetes step, exactly as `homelab deploy` would run it, goes to Juju with
`--dry-run`: Juju resolves every charm and channel from Charmhub, reads our local charms, and
checks the bundle with every overlay (relations, endpoints, options, placement) against a real
controller, without deploying anything. MAAS tags are not checked by a dry run (facts §3).
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from integration import helpers as h

pytestmark = pytest.mark.homelab_dry_run

HOMELAB = h.ROOT / "homelab"
EXAMPLE = h.ROOT / "sites" / "example.yaml"
OUR_CHARMS = (h.REMOTE_NFS_MOUNT, h.STATIC_PV_PROVISIONER, h.GPU_NODE_LABELER)


async def _homelab(juju, *args: str) -> str:
    code, stdout, stderr = await juju.run_local(str(HOMELAB), *args, cwd=h.ROOT)
    assert code == 0, f"homelab {' '.join(args)} exited {code}:\n{stdout}\n{stderr}"
    return stdout


def _commands(dry_run_output: str) -> list[list[str]]:
    """The commands `homelab deploy --dry-run` prints (the line under each `NN. # title`)."""
    lines = dry_run_output.splitlines()
    commands = []
    for n, line in enumerate(lines[:-1]):
        if line.lstrip()[:1].isdigit() and ". # " in line:
            commands.append(shlex.split(lines[n + 1].strip()))
    return commands


def _base_of_line(out: Path) -> str:
    """The base the rendered storage overlay asks for (ubuntu@22.04 on both lab lines)."""
    overlay = yaml.safe_load((out / "overlays" / "storage.yaml").read_text())
    return overlay["applications"][h.REMOTE_NFS_MOUNT]["base"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("homelab")


@pytest.mark.abort_on_fail
async def test_site_for_this_model(juju, workdir):
    """The example site, aimed at the test model and at local charm files for its base."""
    site = yaml.safe_load(EXAMPLE.read_text())
    first = workdir / "first.yaml"
    first.write_text(yaml.safe_dump(site, sort_keys=False))
    await _homelab(juju, "render", "--site", str(first), "--out", str(workdir / "first"))
    base = _base_of_line(workdir / "first")

    charms = workdir / "charms"  # only the files for the line's base: no wrong pick possible
    charms.mkdir()
    for name in OUR_CHARMS:
        shutil.copy(await h.charm_file(juju, name, base), charms)

    site["juju"]["controller"] = juju.controller_name
    site["juju"]["model"] = juju.model_name
    site["charms"]["source"] = "local"
    site["charms"]["local_dir"] = str(charms)
    (workdir / "site.yaml").write_text(yaml.safe_dump(site, sort_keys=False))


async def test_dry_run_prints_the_plan_and_runs_nothing(juju, workdir):
    site, out = str(workdir / "site.yaml"), str(workdir / "out")
    output = await _homelab(juju, "deploy", "--site", site, "--dry-run", "--out", out)
    assert output.rstrip().endswith("dry run: nothing was run"), output
    commands = _commands(output)
    assert commands, output
    assert all("juju" in c for c in commands), commands
    deploys = [c for c in commands if c[:2] == ["juju", "deploy"] and "charmed-kubernetes" in c]
    assert len(deploys) == 1, commands
    target = juju.model_full_name
    assert deploys[0][deploys[0].index("-m") + 1] == target, deploys[0]
    (workdir / "deploy-command.txt").write_text(shlex.join(deploys[0]))
    status = await h.juju_cli(juju, "status", "--format", "json")
    assert not yaml.safe_load(status).get("applications"), status


async def test_juju_accepts_the_bundle_and_overlays(juju, workdir):
    """The plan's Charmed Kubernetes step with `--dry-run`, run by Juju in the test model."""
    site, out = str(workdir / "site.yaml"), str(workdir / "out")
    await _homelab(juju, "render", "--site", site, "--out", out)
    command = shlex.split((workdir / "deploy-command.txt").read_text())
    overlays = [command[i + 1] for i, word in enumerate(command) if word == "--overlay"]
    assert overlays, command
    for overlay in overlays:
        assert Path(overlay).is_file() or (h.ROOT / overlay).is_file(), overlay
    code, stdout, stderr = await juju.run_local(*command, "--dry-run", cwd=h.ROOT)
    assert code == 0, f"{shlex.join(command)} --dry-run exited {code}:\n{stdout}\n{stderr}"
    changes = stdout + stderr
    for name in (*OUR_CHARMS, "kubernetes-control-plane", "kubernetes-worker"):
        assert name in changes, f"{name} not in the dry run's changes:\n{changes}"
    status = await h.juju_cli(juju, "status", "--format", "json")
    assert not yaml.safe_load(status).get("applications"), status


async def test_juju_accepts_the_rendered_bundle(juju, workdir):
    """The self-contained bundle `homelab render` writes for the site's line, same check."""
    site, out = str(workdir / "site.yaml"), str(workdir / "out")
    await _homelab(juju, "render", "--site", site, "--out", out)
    command = shlex.split((workdir / "deploy-command.txt").read_text())
    track = command[command.index("--channel") + 1].split("/")[0]
    bundle = workdir / "out" / "bundles" / f"homelab-{track}.yaml"
    assert bundle.is_file(), f"homelab render wrote no {bundle.name}"
    target = juju.model_full_name
    code, stdout, stderr = await juju.run_local(
        "juju", "deploy", "-m", target, str(bundle), "--dry-run", cwd=h.ROOT
    )
    assert code == 0, f"juju deploy {bundle.name} --dry-run exited {code}:\n{stdout}\n{stderr}"
    changes = stdout + stderr
    for name in (*OUR_CHARMS, "kubernetes-control-plane", "kubernetes-worker"):
        assert name in changes, f"{name} not in the dry run's changes:\n{changes}"
    status = await h.juju_cli(juju, "status", "--format", "json")
    assert not yaml.safe_load(status).get("applications"), status
