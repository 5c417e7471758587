"""Issue 13: version table, Juju 3.6/4.0 forms, day 0, spaces and bindings, redo, teardown."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from homelab.charmdb import CharmDB
from homelab.cli import main
from homelab.deploy import Result, deploy
from homelab.jujuver import PollStep, parse_version
from homelab.plan import format_text, make_plan
from homelab.render import render
from homelab.site import LINES, validate
from homelab.teardown import run_teardown, teardown_steps
from homelab.upstream import (
    CK_LINES,
    JUJU_LINES,
    KUBEFLOW_LINES,
    LAB_LINES,
    SUPPORT_STATES,
    SUPPORTED,
    charmed_kubernetes,
)
from homelab.yamlio import loads

EXAMPLE = REPO / "sites" / "example.yaml"
OUT = Path("build/homelab/example")
REF = REPO.parent / "shared" / "reference"


def _site(edit=lambda t: t):
    site = validate(loads(edit(EXAMPLE.read_text(encoding="utf-8")), "sites/example.yaml"))
    return site


# ------------------------------------------------------------------ the version table


def test_every_line_has_a_support_status():
    for table in (CK_LINES, KUBEFLOW_LINES, JUJU_LINES):
        for key, line in table.items():
            assert line.support in SUPPORT_STATES, f"{key} is listed without its support status"


def test_table_matches_the_facts():
    assert [t for t, c in CK_LINES.items() if c.support == SUPPORTED] == ["1.35", "1.34", "1.33"]
    assert CK_LINES["1.32"].support != SUPPORTED
    assert CK_LINES["1.28"].support != SUPPORTED
    assert KUBEFLOW_LINES["1.11"].kubernetes == ("1.32", "1.33", "1.34")
    assert KUBEFLOW_LINES["1.10"].kubernetes == ("1.29", "1.30", "1.31", "1.32", "1.33")
    assert {KUBEFLOW_LINES[t].juju for t in ("1.11", "1.10")} == {"3.6"}
    assert [t for t, k in KUBEFLOW_LINES.items() if k.support == SUPPORTED] == ["1.11", "1.10"]
    assert LAB_LINES["current"] == ("1.34", "1.11")
    assert LINES["current"].base == "ubuntu@24.04"
    assert LINES["current"].snap_channel == "1.34/stable"


def test_current_is_the_newest_line_both_upstreams_support():
    both = [
        t
        for t, c in CK_LINES.items()
        if c.support == SUPPORTED
        and any(t in k.kubernetes for k in KUBEFLOW_LINES.values() if k.support == SUPPORTED)
    ]
    assert LAB_LINES["current"][0] == max(both, key=lambda t: int(t.split(".")[1]))


@pytest.mark.skipif(not REF.is_dir(), reason="../shared/reference not on this machine")
def test_builtin_1_34_shape_is_the_reference_bundle():
    ref = yaml.safe_load((REF / "charmed-kubernetes-1.34-bundle.yaml").read_text())
    ours = charmed_kubernetes("1.34")
    assert ours["series"] == ref["series"] == "noble"
    assert "default-base" not in ours
    for app, body in ref["applications"].items():
        assert ours["applications"][app]["channel"] == body["channel"]
        assert ours["applications"][app].get("options", {}) == body.get("options", {})


def test_lab_writes_stable_snaps_and_default_base():
    rendered = render(_site())
    bundle = yaml.safe_load(rendered.files["bundles/homelab-1.34.yaml"])
    assert bundle["default-base"] == "ubuntu@24.04"
    assert "series" not in bundle
    for app in ("kubernetes-control-plane", "kubernetes-worker", "kubernetes-worker-gpu"):
        assert bundle["applications"][app]["options"]["channel"] == "1.34/stable"
    assert "edge" not in rendered.files["overlays/placement.yaml"].split("channel:", 1)[1][:30]


def test_plan_states_support_and_juju(db: CharmDB):
    text = format_text(make_plan(_site(), OUT, db))
    assert "Charmed Kubernetes 1.34: supported; Charmed Kubeflow 1.11: supported" in text
    assert "legacy line: Charmed Kubernetes 1.28: out of upstream support" in text
    assert "Charmed Kubeflow supports Juju 3.6 only" in text


def test_legacy_plan_prints_upgrade_path(db: CharmDB):
    site = _site(lambda t: t.replace("line: current", "line: legacy"))
    text = format_text(make_plan(site, OUT, db))
    start = text.index("Upgrade path 1.28 -> 1.34")
    block = text[start:]
    assert (
        "juju remove-relation -m maas-controller:lab remote-nfs-mount:nfs kubernetes-worker:nfs"
        in block
    )
    assert "nfs-client-provisioner" in block
    assert "StorageClass `default`" in block
    minors = [f"  1.{m}: " for m in range(29, 35)]
    positions = [block.index(m) for m in minors]
    assert positions == sorted(positions)
    assert block.index("before 1.29") < positions[0]


# ------------------------------------------------------------------ Juju 4.0


def test_juju_4_forms(db: CharmDB):
    site = _site(lambda t: t.replace('default_space: ""', "default_space: lab"))
    plan = make_plan(site, OUT, db, juju="4.0")
    shells = [s.shell() for s in plan.steps]
    assert not any("wait-for" in s for s in shells)
    waits = [s for s in plan.steps if isinstance(s, PollStep)]
    assert [w.app for w in waits][:2] == ["kubernetes-control-plane", "static-pv-provisioner"]
    assert (
        "juju add-model lab maas --controller maas-controller --config default-space=lab" in shells
    )
    assert any(
        s.startswith("juju exec -m maas-controller:lab --unit kubernetes-control-plane/leader")
        for s in shells
    )
    assert not any(s.startswith("juju ssh") for s in shells)
    deploy_ck = next(s for s in shells if "homelab-1.34.yaml" in s)
    assert deploy_ck.startswith("juju deploy -m maas-controller:lab build/homelab/example/bundles")
    assert any("supports Juju 3.6 only" in p.message for p in plan.problems)
    # 3.6 keeps wait-for
    assert any("juju wait-for application" in s.shell() for s in make_plan(site, OUT, db).steps)


def test_juju_4_without_default_space_warns(db: CharmDB):
    plan = make_plan(_site(), OUT, db, juju="4.0")
    assert any(p.key == "maas.default_space" for p in plan.problems)


def test_parse_juju_version():
    assert parse_version("3.6.12-genericlinux-amd64\n") == "3.6"
    assert parse_version("4.0.16-ubuntu-amd64") == "4.0"
    assert parse_version("2.9.46") == "2.9"
    assert parse_version("garbage") is None


def test_deploy_polls_on_juju_4(db: CharmDB):
    site = _site(lambda t: t.replace('default_space: ""', "default_space: lab"))
    plan = make_plan(site, OUT, db, juju="4.0")
    wait = next(s for s in plan.steps if isinstance(s, PollStep))
    answers = iter(["maintenance", "active"])
    calls = []

    def runner(argv, env, echo):
        calls.append(argv)
        status = next(answers)
        body = {"applications": {wait.app: {"application-status": {"current": status}}}}
        return Result(0, json.dumps(body), "")

    out = io.StringIO()
    code = deploy(
        [wait], dry_run=False, out=out, runner=runner, which=lambda _: "/x", sleep=lambda _: None
    )
    assert code == 0, out.getvalue()
    assert calls == [["juju", "status", "-m", wait.model, wait.app, "--format", "json"]] * 2
    assert f"{wait.app}: maintenance" in out.getvalue()


# ------------------------------------------------------------------ day 0


def test_plan_starts_with_day0_in_order(db: CharmDB):
    plan = make_plan(_site(), OUT, db)
    shells = [" ".join(s.argv) for s in plan.day0]
    creates = [i for i, s in enumerate(shells) if " tags create name=" in s]
    updates = [i for i, s in enumerate(shells) if " tag update-nodes " in s]
    assert len(updates) == 3
    assert max(creates[:3]) < min(updates)
    assert "tag update-nodes gpu add=" in shells[updates[2]]
    assert "hostname=gpu-box" in shells[updates[2]]
    assert shells[-1] == "juju bootstrap maas maas-controller --constraints tags=juju"
    text = format_text(plan)
    assert text.index("Before you start") < text.index("Machines (model")


def test_day0_links_the_10g_nic_when_named(db: CharmDB):
    site = _site(
        lambda t: (
            t.replace('name: ""                    # e.g.', "name: enp65s0f0  # e.g.")
            .replace('subnet: ""                  # e.g.', "subnet: 10.10.10.0/24  # e.g.")
            .replace(
                'gpu: {hostname: gpu-box, system_id: ""}',
                "gpu: {hostname: gpu-box, system_id: 4y3h7n}",
            )
        )
    )
    assert site.problems == []
    steps = make_plan(site, OUT, db).day0
    link = next(s for s in steps if "link-subnet" in s.argv)
    text = " ".join(link.argv)
    assert "interface link-subnet 4y3h7n" in text
    assert 'select(.name=="enp65s0f0")' in text
    assert 'select(.cidr=="10.10.10.0/24")' in text
    assert "mode=AUTO" in text
    assert steps.index(link) < len(steps) - 1  # before bootstrap


def test_check_refuses_controller_tag_equal_to_a_lab_tag():
    site = _site(lambda t: t.replace("controller_tag: juju", "controller_tag: gpu"))
    assert any(
        p.key == "maas.controller_tag" and "maas.tags.gpu" in p.message for p in site.problems
    )


def test_storage_space_is_replaced():
    site = _site(
        lambda t: t.replace(
            "  controller_tag: juju", "  storage_space: s10g\n  controller_tag: juju"
        )
    )
    assert any(p.key == "maas.storage_space" and "maas.spaces" in p.message for p in site.problems)


# ------------------------------------------------------------------ spaces and bindings


def test_space_only_on_its_machine_and_traffic_endpoints_bound(db: CharmDB):
    site = _site(
        lambda t: t.replace('gpu: ""                     # e.g.', "gpu: storage-10g  # e.g.")
    )
    assert site.problems == []
    rendered = render(site)
    placement = yaml.safe_load(rendered.files["overlays/placement.yaml"])
    assert all("spaces=" not in m["constraints"] for m in placement["machines"].values())
    gpu = yaml.safe_load(rendered.files["overlays/gpu-worker.yaml"])["applications"]
    worker = gpu["kubernetes-worker-gpu"]
    assert worker["constraints"] == "tags=gpu cores=32 mem=60G spaces=storage-10g"
    assert worker["bindings"] == {"kube-control": "storage-10g", "cni": "storage-10g"}
    storage = yaml.safe_load(rendered.files["overlays/storage.yaml"])["applications"]
    assert "bindings" not in storage["remote-nfs-mount"]
    assert [p.key for p in make_plan(site, OUT, db).problems] == ["charms.source"]


def test_binding_without_the_space_on_a_machine_is_an_error(db: CharmDB, tmp_path: Path):
    overlay = tmp_path / "bad.yaml"
    overlay.write_text(
        "applications:\n  kubernetes-worker:\n    bindings:\n      kube-control: storage-10g\n"
    )
    out = io.StringIO()
    code = main(
        ["check", "--overlay", str(REPO / "overlays/placement.yaml"), "--overlay", str(overlay)],
        out,
    )
    assert code == 1, out.getvalue()
    assert "applications.kubernetes-worker.bindings.kube-control" in out.getvalue()
    from homelab.check import check_documents
    from homelab.cli import _builtin_document
    from homelab.network import binding_problems
    from homelab.yamlio import load

    docs = [
        _builtin_document("charmed-kubernetes", None),
        load(REPO / "overlays/placement.yaml", "placement"),
        load(overlay, "bad"),
    ]
    _, merged = check_documents(docs, db)
    problems = binding_problems(merged)
    assert len(problems) == 1, problems
    assert "kubernetes-worker" in problems[0].message
    assert "machine 1" in problems[0].message
    assert "storage-10g" in problems[0].message


# ------------------------------------------------------------------ redo


def _kubeconfig(path: Path, server: str, ca: str) -> None:
    data = {
        "apiVersion": "v1",
        "current-context": "juju-context",
        "contexts": [
            {"name": "juju-context", "context": {"cluster": "juju-cluster", "user": "admin"}}
        ],
        "clusters": [
            {
                "name": "juju-cluster",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca.encode()).decode(),
                },
            }
        ],
        "users": [{"name": "admin", "user": {"token": "t"}}],
    }
    path.write_text(yaml.safe_dump(data))


CA_OLD = "-----BEGIN CERTIFICATE-----\nOLD\n-----END CERTIFICATE-----\n"
CA_NEW = "-----BEGIN CERTIFICATE-----\nNEW\n-----END CERTIFICATE-----\n"


def _add_k8s_step(db: CharmDB, kubeconfig: Path):
    plan = make_plan(_site(), OUT, db)
    step = next(s for s in plan.steps if s.argv[:2] == ["juju", "add-k8s"])
    step.env = {"KUBECONFIG": str(kubeconfig)}
    return step


def _cloud_runner(endpoint: str, ca: str, models: list[dict], calls: list):
    def runner(argv, env, echo):
        calls.append(argv)
        if argv[:2] == ["juju", "show-cloud"]:
            return Result(0, json.dumps({"endpoint": endpoint, "ca-credentials": [ca]}), "")
        if argv[:2] == ["juju", "models"]:
            return Result(0, json.dumps({"models": models}), "")
        return Result(0, "", "")

    return runner


def test_redo_updates_a_cloud_whose_endpoint_changed(db: CharmDB, tmp_path: Path):
    kc = tmp_path / "kubeconfig"
    _kubeconfig(kc, "https://10.0.0.9:6443", CA_NEW)
    step = _add_k8s_step(db, kc)
    calls: list = []
    runner = _cloud_runner(
        "https://10.0.0.5:6443", CA_OLD, [{"short-name": "lab", "cloud": "maas"}], calls
    )
    out = io.StringIO()
    assert deploy([step], dry_run=False, out=out, runner=runner, which=lambda _: "/x") == 0
    run = [c for c in calls if c[:2] in (["juju", "remove-k8s"], ["juju", "add-k8s"])]
    assert run == [
        ["juju", "remove-k8s", "lab-k8s", "--controller", "maas-controller"],
        step.argv,
    ]
    assert "endpoint https://10.0.0.5:6443 -> https://10.0.0.9:6443" in out.getvalue()
    assert "skip" not in out.getvalue()


def test_redo_skips_the_same_cluster(db: CharmDB, tmp_path: Path):
    kc = tmp_path / "kubeconfig"
    _kubeconfig(kc, "https://10.0.0.5:6443", CA_OLD)
    step = _add_k8s_step(db, kc)
    calls: list = []
    out = io.StringIO()
    runner = _cloud_runner("https://10.0.0.5:6443", CA_OLD, [], calls)
    assert deploy([step], dry_run=False, out=out, runner=runner, which=lambda _: "/x") == 0
    assert "same endpoint" in out.getvalue()
    assert not any(c[:2] in (["juju", "add-k8s"], ["juju", "remove-k8s"]) for c in calls)


def test_redo_with_models_on_the_old_cloud_says_what_to_run(db: CharmDB, tmp_path: Path):
    kc = tmp_path / "kubeconfig"
    _kubeconfig(kc, "https://10.0.0.5:6443", CA_NEW)  # same endpoint, new CA
    step = _add_k8s_step(db, kc)
    calls: list = []
    out, err = io.StringIO(), io.StringIO()
    models = [{"short-name": "kubeflow", "cloud": "lab-k8s"}]
    runner = _cloud_runner("https://10.0.0.5:6443", CA_OLD, models, calls)
    assert (
        deploy([step], dry_run=False, out=out, err=err, runner=runner, which=lambda _: "/x") == 3
    )
    assert "a different CA certificate" in out.getvalue()
    assert "juju destroy-model maas-controller:kubeflow" in err.getvalue()
    assert "juju update-k8s lab-k8s -f FILE --controller maas-controller" in err.getvalue()
    assert not any(c[:2] in (["juju", "add-k8s"], ["juju", "remove-k8s"]) for c in calls)


# ------------------------------------------------------------------ teardown


def test_teardown_order_and_storage():
    site = _site()
    keep = [s.shell() for s in teardown_steps(site, "keep")]
    assert keep[0] == "juju destroy-model maas-controller:kubeflow --no-prompt --release-storage"
    assert keep[-2] == "juju remove-k8s lab-k8s --controller maas-controller"
    assert keep[-1] == "juju destroy-model maas-controller:lab --no-prompt --release-storage"
    destroy = [x.shell() for x in teardown_steps(site, "destroy") if "destroy-model" in x.argv]
    assert destroy
    assert all("--destroy-storage" in s for s in destroy)
    named = {"kubeflow", "gpu-operator", "metallb-system", "lab", "lab-k8s"}
    for step in teardown_steps(site, "keep"):
        assert step.done[2] in named


def test_teardown_skips_what_is_gone_and_touches_nothing_else():
    site = _site()
    steps = teardown_steps(site, "keep")
    calls: list = []

    def runner(argv, env, echo):
        calls.append(argv)
        if argv[:2] == ["juju", "models"]:
            models = [{"short-name": "lab"}, {"short-name": "someone-elses"}]
            return Result(0, json.dumps({"models": models}), "")
        if argv[:2] == ["juju", "clouds"]:
            return Result(0, json.dumps({"maas": {}}), "")
        return Result(0, "", "")

    out, err = io.StringIO(), io.StringIO()
    assert (
        run_teardown(steps, dry_run=False, out=out, err=err, runner=runner, which=lambda _: "/x")
        == 0
    )
    ran = [c for c in calls if c[:2] in (["juju", "destroy-model"], ["juju", "remove-k8s"])]
    assert ran == [
        ["juju", "destroy-model", "maas-controller:lab", "--no-prompt", "--release-storage"]
    ]
    assert out.getvalue().count("already gone") == len(steps) - 1


def test_teardown_cli_dry_run_and_prompt(monkeypatch: pytest.MonkeyPatch):
    out = io.StringIO()
    assert main(["teardown", "--site", str(EXAMPLE), "--dry-run"], out) == 0
    text = out.getvalue()
    assert (
        text.index("maas-controller:kubeflow")
        < text.index("remove-k8s")
        < text.index("maas-controller:lab ")
    )
    assert "dry run: nothing was run" in text
    out = io.StringIO()
    assert (
        main(["teardown", "--site", str(EXAMPLE), "--dry-run", "--storage", "destroy"], out) == 0
    )
    assert "--destroy-storage" in out.getvalue()
    monkeypatch.setattr("sys.stdin", io.StringIO("nonsense\n"))
    monkeypatch.setattr("homelab.teardown.shutil.which", lambda _: None)
    out = io.StringIO()
    assert main(["teardown", "--site", str(EXAMPLE)], out) == 2
    assert "keep/destroy" in out.getvalue()
    assert "nothing was done" in out.getvalue()


def test_deploy_asks_juju_version(monkeypatch: pytest.MonkeyPatch):
    import argparse

    from homelab import jujuver

    monkeypatch.setattr("shutil.which", lambda _: "/snap/bin/juju")
    args = argparse.Namespace(juju=None)
    for text, want in (("4.0.16-ubuntu-amd64\n", "4.0"), ("3.6.12-genericlinux-amd64\n", "3.6")):
        calls = []

        def runner(argv, env, echo, text=text, calls=calls):
            calls.append(argv)
            return Result(0, text, "")

        assert jujuver.deploy_juju(args, io.StringIO(), runner) == want
        assert calls == [["juju", "version"]]
    err = io.StringIO()
    old = jujuver.deploy_juju(args, err, lambda *a: Result(0, "2.9.46-ubuntu-amd64", ""))
    assert old is None
    assert "Juju 3.6 or 4.0" in err.getvalue()
    assert jujuver.deploy_juju(argparse.Namespace(juju="4.0"), err, None) == "4.0"


def test_deploy_dry_run_in_juju_4_form():
    out = io.StringIO()
    assert main(["deploy", "--site", str(EXAMPLE), "--dry-run", "--juju", "4.0"], out) == 0
    text = out.getvalue()
    assert "juju wait-for" not in text
    assert "juju exec -m maas-controller:lab --unit kubernetes-control-plane/leader" in text
