"""Issue 12's stages: nouveau and the NVIDIA GPU operator, MetalLB / NodePort, the login."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from homelab import stages
from homelab.charmdb import CharmDB
from homelab.cli import main
from homelab.deploy import deploy
from homelab.gpu_operator import untolerated_pods
from homelab.plan import format_text, make_plan
from homelab.render import render
from homelab.site import validate
from homelab.upstream import ADDON_CHANNELS
from homelab.yamlio import loads

EXAMPLE = REPO / "sites" / "example.yaml"
OUT = Path("build/homelab/example")


def _site(**replace: str):
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old.replace("_", " ") in text or old in text
        text = text.replace(old, new)
    return validate(loads(text, "sites/example.yaml"))


def _plan(db: CharmDB, site=None, out: Path = OUT):
    site = site or _site()
    assert site.problems == []
    return make_plan(site, out, db)


def _index(shells: list[str], needle: str) -> int:
    found = [n for n, s in enumerate(shells) if needle in s]
    assert found, needle
    return found[0]


def test_gpu_operator_stage_commands_in_order(db: CharmDB):
    plan = _plan(db)
    shells = [s.shell() for s in plan.steps]
    add_k8s = _index(shells, "juju add-k8s lab-k8s")
    nouveau = _index(shells, "blacklist nouveau")
    check = _index(shells, "--wait 30m -- '! lsmod")
    model = _index(shells, "juju add-model gpu-operator lab-k8s --controller maas-controller")
    channel = ADDON_CHANNELS["nvidia-gpu-operator"]
    op = _index(
        shells,
        f"juju deploy -m maas-controller:gpu-operator nvidia-gpu-operator --channel {channel} "
        "--trust",
    )
    wait = _index(shells, "allocatable.nvidia")
    assert add_k8s < nouveau < check < model < op < wait
    assert channel == "1.29/stable"  # facts §8: the only channel CK's docs name
    nouveau_argv = plan.steps[nouveau].argv
    assert nouveau_argv[:6] == [
        "juju",
        "exec",
        "-m",
        "maas-controller:lab",
        "--unit",
        "kubernetes-worker-gpu/0",
    ]
    script = nouveau_argv[-1]
    assert "blacklist nouveau\\noptions nouveau modeset=0" in script
    assert "> /etc/modprobe.d/blacklist-nouveau.conf && update-initramfs -u" in script
    assert 'if lsmod | grep -q "^nouveau "' in script
    assert "systemctl reboot" in script
    argv = plan.steps[wait].argv
    # juju exec joins its arguments for bash on the unit: the jsonpath keeps its own quotes
    assert '"--for=jsonpath={.status.allocatable.nvidia\\.com/gpu}"' in argv
    assert argv[argv.index("-l") + 1] == "homelab-charms.io/role=gpu"
    assert "--timeout=45m" in argv
    assert "15-30 minutes" in plan.steps[wait].title


def test_gpu_overlay_writes_the_operator_routes_options():
    site = _site()
    text = render(site).files["overlays/gpu-worker.yaml"]
    data = yaml.safe_load(text)
    cp = data["applications"]["kubernetes-control-plane"]["options"]
    assert cp == {"allow-privileged": "true", "enable-nvidia-plugin": "false"}
    assert 'allow-privileged: "true"' in text  # a string, written explicitly
    assert data["applications"]["containerd-gpu"]["options"]["gpu_driver"] == "none"
    assert data["applications"]["gpu-node-labeler"]["options"]["driver-route"] == "operator"
    # the shipped overlay is this rendering
    assert (REPO / "overlays" / "gpu-worker.yaml").read_text(encoding="utf-8") == text


def test_other_routes_have_no_operator_stage(db: CharmDB):
    site = _site(**{"driver_route: operator": "driver_route: preinstalled"})
    plan = _plan(db, site)
    shells = " ".join(s.shell() for s in plan.steps)
    assert "nvidia-gpu-operator" not in shells
    assert "nouveau" not in shells
    assert (
        "kubernetes-control-plane"
        not in yaml.safe_load(render(site).files["overlays/gpu-worker.yaml"])["applications"]
    )


@pytest.mark.parametrize("taint", ["", "NoSchedule", "PreferNoSchedule"])
def test_every_site_taint_leaves_the_operator_pods_running(taint: str):
    """The site's taint choices against the shipped manifest's tolerations (gpu_operator)."""
    assert untolerated_pods(taint, "nvidia.com/gpu", "present") == []
    site = _site(**{"taint: PreferNoSchedule": f'taint: "{taint}"'})
    assert site.problems == []
    assert [p for p in stages.stage_problems(site) if p.key == "gpu.taint"] == []


def test_metallb_stage_and_maas_reservation(db: CharmDB):
    plan = _plan(db)
    shells = [s.shell() for s in plan.steps]
    model = _index(shells, "juju add-model metallb-system lab-k8s --controller maas-controller")
    lb = _index(
        shells,
        "juju deploy -m maas-controller:metallb-system metallb --channel 1.28/stable --trust "
        "--config iprange=192.168.10.240-192.168.10.247",
    )
    kubeflow = _index(shells, "kubeflow --channel")
    assert model < lb < kubeflow  # an address exists before istio asks for one
    reserve = [s.argv for s in plan.day0 if s.argv[:1] == ["maas"]][-1]
    assert reserve == [
        "maas",
        "$PROFILE",
        "ipranges",
        "create",
        "type=reserved",
        "start_ip=192.168.10.240",
        "end_ip=192.168.10.247",
        "comment=MetalLB: Kubeflow dashboard (example)",
    ]
    wait = plan.steps[_index(shells, "svc/istio-ingressgateway-workload")].argv
    assert '"--for=jsonpath={.status.loadBalancer.ingress[0].ip}"' in wait


@pytest.mark.parametrize(
    "value",
    [
        "192.168.10.247-192.168.10.240",
        "192.168.10.300-192.168.10.301",
        "192.168.10.0/29",
        "192.168.10.1-",
        "a-b",
    ],
)
def test_bad_metallb_range_is_rejected(value: str):
    site = _site(**{"192.168.10.240-192.168.10.247": value})
    assert [p.key for p in site.problems] == ["kubeflow.metallb_range"]


def test_metallb_without_range_is_an_error(db: CharmDB):
    site = _site(**{'"192.168.10.240-192.168.10.247"': '""'})
    assert site.problems == []
    plan = make_plan(site, OUT, db)
    assert [p.key for p in plan.problems if p.severity == "error"] == ["kubeflow.metallb_range"]


def test_nodeport_gateway(db: CharmDB):
    plan = _plan(db, _site(**{"gateway: metallb": "gateway: nodeport"}))
    shells = [s.shell() for s in plan.steps]
    assert "metallb" not in " ".join(shells)
    assert not [s for s in plan.day0 if "ipranges" in s.argv]
    n = _index(shells, "gateway_service_type=NodePort")
    assert plan.steps[n].argv == [
        "juju",
        "config",
        "-m",
        "maas-controller:kubeflow",
        "istio-ingressgateway",
        "gateway_service_type=NodePort",
    ]
    assert "nodePort" in shells[n + 1]
    lines = format_text(plan).rstrip("\n").splitlines()
    assert lines[-2] == (
        "Open the Kubeflow dashboard: http://<any node's address>:<the NodePort printed above>/"
    )


def test_plan_ends_with_the_url_and_the_user(db: CharmDB):
    plan = _plan(db)
    lines = format_text(plan).rstrip("\n").splitlines()
    assert lines[-2].startswith("Open the Kubeflow dashboard: http://")
    assert "192.168.10.240" in lines[-2]
    assert lines[-1].startswith("Log in as: admin ")
    assert str(OUT / "secrets" / "dex-auth.yaml") in lines[-1]


def test_plan_proves_the_lab_with_homelab_verify_before_the_url(db: CharmDB):
    plan = _plan(db)
    lines = format_text(plan).rstrip("\n").splitlines()
    verify = [n for n, line in enumerate(lines) if "./homelab verify --site" in line]
    assert len(verify) == 1
    assert verify[0] < len(lines) - 2
    assert f"--kubeconfig {OUT / 'kubeconfig'}" in lines[verify[0]]


def test_login_step_reads_the_password_from_the_file(db: CharmDB):
    plan = _plan(db)
    step = next(s for s in plan.steps if "dex-auth" in s.argv)
    assert step.argv == [
        "juju",
        "config",
        "-m",
        "maas-controller:kubeflow",
        "dex-auth",
        "--file",
        str(OUT / "secrets" / "dex-auth.yaml"),
    ]
    kf = next(n for n, s in enumerate(plan.steps) if "kubeflow" in s.argv and "deploy" in s.argv)
    assert plan.steps.index(step) > kf  # dex-auth exists by then


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _password(path: Path) -> str:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["dex-auth"]["static-password"]


def test_ensure_login_creates_keeps_and_rotates(tmp_path: Path):
    path, what = stages.ensure_login("admin", tmp_path)
    assert what == "created"
    assert path == tmp_path / "secrets" / "dex-auth.yaml"
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["dex-auth"]["static-username"] == "admin"
    first = _password(path)
    assert len(first) >= 32  # token_urlsafe(24): 192 bits
    assert stages.ensure_login("admin", tmp_path) == (path, "kept")
    assert _password(path) == first
    assert stages.ensure_login("alice", tmp_path)[1] == "kept (user name updated)"
    assert _password(path) == first
    assert stages.ensure_login("alice", tmp_path, rotate=True)[1] == "replaced"
    second = _password(path)
    assert second != first
    assert _mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["dex-auth.yaml"]  # no temp file left
    os.chmod(path, 0o644)
    stages.ensure_login("alice", tmp_path)
    assert _mode(path) == 0o600
    assert _password(path) == second


def test_the_password_never_appears_in_any_output(db: CharmDB, tmp_path: Path, monkeypatch):
    site_file = tmp_path / "site.yaml"
    site_file.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    out_dir = tmp_path / "out"
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))  # no juju: deploy stops after login
    out, err = io.StringIO(), io.StringIO()
    main(["deploy", "--site", str(site_file), "--out", str(out_dir)], out, err)
    secret = out_dir / "secrets" / "dex-auth.yaml"
    password = _password(secret)
    assert f"password created in {secret}" in out.getvalue()
    texts = [out.getvalue(), err.getvalue()]
    for argv in (
        ["deploy", "--site", str(site_file), "--out", str(out_dir), "--dry-run"],
        ["plan", "--site", str(site_file), "--out", str(out_dir)],
        ["plan", "--site", str(site_file), "--out", str(out_dir), "--format", "commands"],
        ["deploy", "--site", str(site_file), "--out", str(out_dir)],
    ):
        o, e = io.StringIO(), io.StringIO()
        main(argv, o, e)
        texts += [o.getvalue(), e.getvalue()]
    assert _password(secret) == password  # kept across re-runs
    main(["deploy", "--site", str(site_file), "--out", str(out_dir), "--new-password"], out, err)
    assert _password(secret) != password
    texts += [out.getvalue(), err.getvalue()]
    for text in texts:
        assert password not in text
        assert _password(secret) not in text
    # deploy itself (a fake juju) never carries it on a command line
    plan = make_plan(validate(loads(site_file.read_text(), str(site_file))), out_dir, db)
    seen: list[list[str]] = []

    def runner(argv, env, echo):
        from homelab.deploy import Result

        seen.append(argv)
        return Result(0, "{}" if "--format" in argv else "", "")

    log = io.StringIO()
    deploy(plan.steps, dry_run=False, out=log, runner=runner, which=lambda _: "/bin/juju")
    assert all(_password(secret) not in " ".join(a) for a in seen)
    assert _password(secret) not in log.getvalue()


def test_username_rule():
    assert stages.username_rule("admin") is None
    assert stages.username_rule("Admin User") is not None
    assert [p.key for p in _site(**{"username: admin": "username: 'a b'"}).problems] == [
        "kubeflow.username"
    ]
