"""Layout fit (issue 12): the machines' stated sizes against what the layout puts on them."""

from __future__ import annotations

from conftest import REPO

from homelab.charmdb import CharmDB
from homelab.layout import fit_problems
from homelab.plan import format_text, make_plan
from homelab.site import validate
from homelab.yamlio import loads

EXAMPLE = REPO / "sites" / "example.yaml"


def _site(*pairs: tuple[str, str]):
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    site = validate(loads(text, "sites/example.yaml"))
    assert site.problems == []
    return site


PINNED = ("pin_to_admin_node: false", "pin_to_admin_node: true")
NOSCHEDULE = ("taint: PreferNoSchedule", "taint: NoSchedule")


def test_the_example_default_fits(db: CharmDB):
    site = _site()
    assert fit_problems(site) == []
    plan = make_plan(site, REPO / "build", db)
    assert [p for p in plan.problems if p.severity == "error"] == []
    text = format_text(plan)
    assert "Kubeflow's pods may run on the Kubeflow worker box + GPU box; the trade:" in text


def test_kubeflow_pinned_to_one_16gb_box_is_rejected_with_the_numbers(db: CharmDB):
    for pairs in ((PINNED,), (NOSCHEDULE,), (PINNED, NOSCHEDULE)):
        site = _site(*pairs)
        problems = fit_problems(site)
        assert len(problems) == 1
        message = problems[0].message
        assert "only on the Kubeflow worker box: memory 17 GB < 32 GB" in message
        assert "4 cores, 32 GB memory, 50 GB disk" in message
        plan = make_plan(site, REPO / "build", db)
        assert problems[0] in plan.problems


def test_gpu_constraints_larger_than_the_box(db: CharmDB):
    site = _site(("gpu: {cores: 32, memory: 64Gi", "gpu: {cores: 16, memory: 64Gi"))
    assert [p.key for p in fit_problems(site)] == ["maas.gpu_constraints"]


def test_no_sizes_no_fit_check():
    site = _site(
        (PINNED[0], PINNED[1]),
        ("kubeflow: {cores: 8, memory: 16Gi, disk: 500Gi}", "kubeflow: {}"),
    )
    assert fit_problems(site) == []


def test_check_site_rejects_kubeflow_pinned_to_one_16gb_box(tmp_path):
    import io

    from homelab.cli import main

    text = EXAMPLE.read_text(encoding="utf-8")
    pinned = tmp_path / "pinned.yaml"
    pinned.write_text(text.replace(*PINNED).replace(*NOSCHEDULE), encoding="utf-8")
    out = io.StringIO()
    assert main(["check", "--site", str(pinned)], out, out) == 1
    assert "memory 17 GB < 32 GB" in out.getvalue()
    out = io.StringIO()
    assert main(["check", "--site", str(EXAMPLE)], out, out) == 0
    assert f"ok: site {EXAMPLE}: 0 error(s)" in out.getvalue()
