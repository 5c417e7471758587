"""plan's command list, mermaid output, and deploy: dry run, skip, stop at first failure."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from pathlib import Path

import pytest
from conftest import REPO

from homelab.charmdb import CharmDB
from homelab.deploy import Result, deploy
from homelab.plan import format_mermaid, format_text, make_plan
from homelab.site import validate
from homelab.yamlio import load, loads

EXAMPLE = REPO / "sites" / "example.yaml"
OUT = Path("build/homelab/example")


def _plan(db: CharmDB, line: str = "current"):
    text = EXAMPLE.read_text(encoding="utf-8").replace("line: current", f"line: {line}")
    site = validate(loads(text, "sites/example.yaml"))
    assert site.problems == []
    return make_plan(site, OUT, db)


# issue 12's steps (nouveau, the GPU operator, MetalLB, login, address): test_stages.py
STAGE_WORDS = ("nouveau", "gpu-operator", "metallb", "dex-auth", "istio-ingressgateway")
STAGE_WORDS += ("allocatable",)

GOLDEN_CURRENT = [
    "homelab render --site sites/example.yaml --out build/homelab/example",
    "juju add-model lab maas --controller maas-controller",
    "juju deploy -m maas-controller:lab charmed-kubernetes --channel 1.34/stable"
    " --map-machines=existing"
    " --overlay build/homelab/example/overlays/placement.yaml"
    " --overlay build/homelab/example/overlays/storage.yaml"
    " --overlay build/homelab/example/overlays/gpu-worker.yaml"
    " --overlay build/homelab/example/overlays/gpu-storage.yaml",
    "juju wait-for application kubernetes-control-plane -m maas-controller:lab"
    " --query 'status==\"active\"' --timeout 120m",
    "juju wait-for application static-pv-provisioner -m maas-controller:lab"
    " --query 'status==\"active\"' --timeout 120m",
    "juju ssh -m maas-controller:lab kubernetes-control-plane/leader -- cat config"
    " > build/homelab/example/kubeconfig",
    "KUBECONFIG=build/homelab/example/kubeconfig juju add-k8s lab-k8s --controller maas-controller"
    " --storage homelab-nfs",
    "juju add-model kubeflow lab-k8s --controller maas-controller",
    "juju create-storage-pool -m maas-controller:kubeflow homelab-nfs kubernetes"
    " storage-class=homelab-nfs storage-provisioner=kubernetes.io/no-provisioner",
    "juju model-config -m maas-controller:kubeflow workload-storage=homelab-nfs",
    "juju deploy -m maas-controller:kubeflow kubeflow --channel 1.11/stable --trust"
    " --overlay build/homelab/example/overlays/kubeflow.yaml",
]


def test_plan_commands_golden(db: CharmDB):
    plan = _plan(db)
    assert [p.key for p in plan.problems] == ["charms.source"]  # not on Charmhub today
    stages = STAGE_WORDS
    shells = [s.shell() for s in plan.steps]
    assert [s for s in shells if not any(word in s for word in stages)] == GOLDEN_CURRENT


def test_plan_legacy_line(db: CharmDB):
    plan = _plan(db, "legacy")
    assert [p.key for p in plan.problems] == ["charms.source"]  # not on Charmhub today
    stages = STAGE_WORDS
    shells = [s.shell() for s in plan.steps if not any(w in s.shell() for w in stages)]
    assert "--channel 1.28/stable" in shells[2]
    assert shells[2].endswith("--overlay build/homelab/example/overlays/nfs-legacy-1.28.yaml")
    assert shells[6].endswith("--storage default")
    assert "storage-class=default" in shells[8]
    assert "kubeflow --channel 1.9/stable --trust" in shells[10]


def test_plan_names_each_lines_storage_class_provisioner(db: CharmDB):
    """1.28: the worker's class default has provisioner fuseim.pri/ifs (facts §1), adopted."""
    legacy = format_text(_plan(db, "legacy"))
    line = next(x for x in legacy.splitlines() if x.startswith("  StorageClass "))
    assert line.startswith("  StorageClass default (cluster default, made by kubernetes-worker")
    assert "provisioner fuseim.pri/ifs" in line
    assert "static-pv-provisioner adopts it unchanged" in line
    assert "no-provisioner" not in line
    current = format_text(_plan(db))
    line = next(x for x in current.splitlines() if x.startswith("  StorageClass "))
    assert "StorageClass homelab-nfs (cluster default, made by static-pv-provisioner" in line
    assert "provisioner kubernetes.io/no-provisioner" in line


def test_plan_text_sections(db: CharmDB):
    text = format_text(_plan(db))
    for needle in (
        "machine 0    tags=k8_admin",
        "kubernetes-control-plane/0  + calico, containerd, remote-nfs-mount, "
        "static-pv-provisioner",
        "machine new  tags=gpu cores=32 mem=60G",
        "kubernetes-worker-gpu/0  + calico, containerd-gpu, gpu-node-labeler, remote-nfs-mount",
        "remote-nfs-mount:juju-info  <->  kubernetes-worker-gpu:juju-info",
        "StorageClass homelab-nfs (cluster default, made by static-pv-provisioner",
        "8 x 10Gi + 4 x 50Gi = 280Gi of the 1Ti quota",
        "minio 50Gi -> PV 50Gi",
        "gpu.homelab-charms.io/present=true",
        "taint nvidia.com/gpu=present:PreferNoSchedule",
        "Charmed Kubeflow 1.11 (supports Kubernetes 1.32, 1.33, 1.34",
        "charm pods pinned: no",
    ):
        assert needle in text, f"{needle!r} not in\n{text}"


def test_plan_mermaid(db: CharmDB):
    text = format_mermaid(_plan(db))
    assert text.startswith("flowchart LR\n")
    assert 'nas[("NAS 192.168.10.20:/volume1/k8s")]' in text
    assert "-. NFS .-> nas" in text
    assert "GPU notebooks" in text


class FakeJuju:
    """Records commands; answers status queries from `existing`; fails `fail_on`."""

    def __init__(self, existing: dict | None = None, fail_on: str = ""):
        self.calls: list[list[str]] = []
        self.echoed: list[bool] = []
        self.existing = existing or {}
        self.fail_on = fail_on

    def __call__(self, argv: list[str], env: dict[str, str], echo=None) -> Result:
        self.calls.append(argv)
        self.echoed.append(echo is not None)
        if argv[:2] == ["juju", "models"]:
            return Result(
                0,
                json.dumps(
                    {"models": [{"short-name": m} for m in self.existing.get("models", [])]}
                ),
                "",
            )
        if argv[:2] == ["juju", "status"]:
            apps = self.existing.get("apps", {}).get(argv[3], [])
            return Result(0, json.dumps({"applications": {a: {} for a in apps}}), "")
        if argv[:2] == ["juju", "clouds"]:
            return Result(0, json.dumps({c: {} for c in self.existing.get("clouds", [])}), "")
        if argv[:2] == ["juju", "show-cloud"]:  # deploy compares an existing cloud (redo)
            if argv[2] not in self.existing.get("clouds", []):
                return Result(1, "", f'ERROR cloud "{argv[2]}" not found\n')
            return Result(0, json.dumps({"endpoint": "https://10.0.0.5:6443"}), "")
        if argv[:2] == ["juju", "storage-pools"]:
            return Result(0, json.dumps({p: {} for p in self.existing.get("pools", [])}), "")
        if self.fail_on and self.fail_on in " ".join(argv):
            return Result(1, "partial output\n", "ERROR cannot deploy bundle: boom\n")
        if argv[:2] == ["juju", "ssh"]:
            return Result(0, "apiVersion: v1\nkind: Config\n", "")
        return Result(0, "", "")

    def actions(self) -> list[list[str]]:
        queries = {"models", "status", "clouds", "storage-pools", "show-cloud"}
        return [c for c in self.calls if c[1] not in queries]


def _steps(db: CharmDB, tmp_path: Path):
    text = EXAMPLE.read_text(encoding="utf-8")
    site = validate(loads(text, "sites/example.yaml"))
    return make_plan(site, tmp_path, db).steps


def test_deploy_dry_run_runs_nothing(db: CharmDB, tmp_path: Path):
    fake = FakeJuju()
    out = io.StringIO()
    assert (
        deploy(_steps(db, tmp_path), dry_run=True, out=out, runner=fake, which=lambda _: None) == 0
    )
    assert fake.calls == []
    assert "dry run: nothing was run" in out.getvalue()
    assert "juju add-model lab maas" in out.getvalue()
    # Every `NN. # title` line is followed by a juju command deploy would run; the render step
    # (done in process) is a note on one line (tests/integration/test_homelab_dry_run.py parses
    # this output).
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(" 1. render the overlays and bundles")
    assert "deploy writes them itself (homelab render --site" in lines[0]
    titled = [lines[n + 1].split()[0] for n, line in enumerate(lines[:-1]) if ". # " in line]
    assert titled
    assert set(titled) <= {"juju", "KUBECONFIG=" + str(tmp_path / "kubeconfig")}


def test_deploy_runs_every_step_in_order(db: CharmDB, tmp_path: Path):
    fake = FakeJuju()
    out = io.StringIO()
    steps = _steps(db, tmp_path)
    assert (
        deploy(steps, dry_run=False, out=out, runner=fake, which=lambda _: "/snap/bin/juju") == 0
    )
    assert fake.actions() == [s.argv for s in steps if not s.internal]
    kubeconfig = tmp_path / "kubeconfig"
    assert kubeconfig.read_text(encoding="utf-8").startswith("apiVersion: v1")
    assert stat.S_IMODE(os.stat(kubeconfig).st_mode) == 0o600
    assert "kind: Config" not in out.getvalue()  # credentials are never printed


def test_deploy_stops_at_first_failure_with_its_output(db: CharmDB, tmp_path: Path):
    fake = FakeJuju(fail_on="charmed-kubernetes")
    out = io.StringIO()
    code = deploy(
        _steps(db, tmp_path), dry_run=False, out=out, runner=fake, which=lambda _: "juju"
    )
    assert code == 3
    text = out.getvalue()
    assert "error: step 3 failed with exit code 1" in text
    assert "ERROR cannot deploy bundle: boom" in text
    assert "partial output" in text
    assert [c[1] for c in fake.actions()] == ["add-model", "deploy"]


def test_deploy_rerun_skips_what_exists(db: CharmDB, tmp_path: Path):
    steps = _steps(db, tmp_path)
    machine_apps = list(steps[2].done[2:])
    kubeflow_apps = next(
        list(s.done[2:]) for s in steps if s.done[:2] == ("apps", "maas-controller:kubeflow")
    )
    fake = FakeJuju(
        existing={
            "models": ["lab", "kubeflow", "gpu-operator", "metallb-system"],
            "apps": {
                "maas-controller:lab": machine_apps,
                "maas-controller:kubeflow": kubeflow_apps,
                "maas-controller:gpu-operator": ["nvidia-gpu-operator"],
                "maas-controller:metallb-system": ["metallb"],
            },
            "clouds": ["lab-k8s"],
            "pools": ["homelab-nfs"],
        }
    )
    out = io.StringIO()
    assert deploy(steps, dry_run=False, out=out, runner=fake, which=lambda _: "juju") == 0
    ran = [c[1] for c in fake.actions()]
    assert ran == ["wait-for", "wait-for", "ssh", "exec", "exec", "exec", "model-config",
                   "config", "exec"]  # fmt: skip
    assert out.getvalue().count("skip (") == 10


def test_deploy_rerun_after_a_partial_deploy_reuses_the_machines(db: CharmDB, tmp_path: Path):
    """Only some applications exist: the deploy runs again, mapped onto the existing machines.

    Without --map-machines=existing Juju would add new machines for bundle machines 0 and 1,
    and MAAS has only the three tagged boxes (facts §3).
    """
    steps = _steps(db, tmp_path)
    some = ["kubernetes-control-plane", "etcd", "easyrsa"]  # the first run stopped midway
    fake = FakeJuju(existing={"models": ["lab"], "apps": {"maas-controller:lab": some}})
    out = io.StringIO()
    assert deploy(steps, dry_run=False, out=out, runner=fake, which=lambda _: "juju") == 0
    deploys = [c for c in fake.actions() if c[1] == "deploy" and "charmed-kubernetes" in c]
    assert len(deploys) == 1
    assert "--map-machines=existing" in deploys[0]
    assert fake.actions()[0][1] == "deploy"  # the model existed: add-model was skipped


def test_failed_kubeconfig_step_never_prints_its_stdout(db: CharmDB, tmp_path: Path):
    """`juju ssh … cat config` failing after printing part of the kubeconfig: stderr only."""
    token = "eyJhbGciOiJSUzI1NiIsImtpZCI6InNlY3JldCJ9.c2VjcmV0LXRva2Vu"

    def runner(argv: list[str], env: dict[str, str], echo=None) -> Result:
        if argv[:2] == ["juju", "ssh"]:
            stdout = f"apiVersion: v1\nusers:\n- user:\n    token: {token}\n"
            return Result(1, stdout, "ERROR connection to unit lost\n")
        return FakeJuju()(argv, env, echo)

    out = io.StringIO()
    code = deploy(_steps(db, tmp_path), dry_run=False, out=out, runner=runner, which=lambda _: "j")
    assert code == 3
    text = out.getvalue()
    assert "ERROR connection to unit lost" in text
    assert token not in text
    assert "apiVersion" not in text
    assert not (tmp_path / "kubeconfig").exists()


def test_deploy_without_juju(db: CharmDB, tmp_path: Path):
    out = io.StringIO()
    assert (
        deploy(
            _steps(db, tmp_path), dry_run=False, out=out, runner=FakeJuju(), which=lambda _: None
        )
        == 4
    )
    assert "juju client is not installed" in out.getvalue()


def test_example_site_loads_from_disk():
    assert validate(load(EXAMPLE)).problems == []


def test_plan_names_the_driver_route(db: CharmDB):
    assert "install the NVIDIA GPU operator" in format_text(_plan(db))
    text = EXAMPLE.read_text(encoding="utf-8").replace("line: current", "line: legacy")
    text = text.replace("driver_route: operator", "driver_route: containerd")
    site = validate(loads(text, "site.yaml"))
    assert site.problems == []
    plan = make_plan(site, OUT, db)
    assert "gpu_driver=nvidia" in format_text(plan)
    assert plan.machine.apps["containerd-gpu"]["options"]["gpu_driver"] == "nvidia"


def test_readme_diagram_is_the_example_plan(db: CharmDB):
    """The lab diagram in the README (or its draft) is what `plan --format mermaid` draws."""
    diagram = format_mermaid(_plan(db))
    for readme in (REPO / "README.md", REPO / "tools" / "homelab" / "README-lab-section.md"):
        text = readme.read_text(encoding="utf-8") if readme.exists() else ""
        if "```mermaid\nflowchart LR\n  subgraph m0" in text:
            block = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
            assert block == diagram, f"{readme}: run ./homelab plan --format mermaid"
            return
    pytest.skip("no lab diagram in README.md or its draft")


def test_run_juju_streams_and_captures(tmp_path: Path):
    from homelab.deploy import run_juju

    script = [
        sys.executable,
        "-c",
        "import sys; print('one'); print('two', file=sys.stderr); sys.exit(3)",
    ]
    out = io.StringIO()
    result = run_juju(script, {}, out)
    assert result.returncode == 3
    assert result.shown
    assert "    | one\n" in out.getvalue()
    assert "    | two\n" in out.getvalue()
    quiet = run_juju(script, {"X": "1"})
    assert (quiet.stdout, quiet.stderr, quiet.shown) == ("one\n", "two\n", False)


def test_deploy_never_echoes_the_kubeconfig_step(db: CharmDB, tmp_path: Path):
    fake = FakeJuju()
    steps = _steps(db, tmp_path)
    deploy(steps, dry_run=False, out=io.StringIO(), runner=fake, which=lambda _: "juju")
    actions = [
        (c, e)
        for c, e in zip(fake.calls, fake.echoed, strict=True)
        if c[1] not in {"models", "status", "clouds", "storage-pools", "show-cloud"}
    ]
    assert [e for c, e in actions if c[1] == "ssh"] == [False]
    assert all(e for c, e in actions if c[1] != "ssh")


def test_deploy_errors_go_to_err(db: CharmDB, tmp_path: Path):
    fake = FakeJuju(fail_on="charmed-kubernetes")
    out, err = io.StringIO(), io.StringIO()
    steps = _steps(db, tmp_path)
    assert deploy(steps, dry_run=False, out=out, err=err, runner=fake, which=lambda _: "j") == 3
    assert "error: step 3 failed" in err.getvalue()
    assert "ERROR cannot deploy bundle: boom" in err.getvalue()
    assert "error: " not in out.getvalue()
    assert "boom" not in out.getvalue()
    out, err = io.StringIO(), io.StringIO()
    assert deploy(steps, dry_run=False, out=out, err=err, runner=fake, which=lambda _: None) == 4
    assert out.getvalue() == ""
    assert "juju client is not installed" in err.getvalue()
