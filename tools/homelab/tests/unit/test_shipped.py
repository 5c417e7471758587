"""The shipped bundles and overlays: in sync with the example site, and all passing check."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import REPO, messages

from homelab.charmdb import CharmDB
from homelab.check import check_documents
from homelab.cli import (
    Combination,
    _builtin_document,
    combination_documents,
    shipped_combinations,
)
from homelab.render import overlay_names, render
from homelab.site import LINES, validate
from homelab.yamlio import Document, load, loads

EXAMPLE = REPO / "sites" / "example.yaml"


def _example():
    return validate(load(EXAMPLE, "sites/example.yaml"))


def test_shipped_files_are_the_example_site_rendered():
    rendered = render(_example())
    for rel, text in rendered.files.items():
        shipped = REPO / rel
        assert shipped.exists(), (
            f"{rel} missing: run ./homelab render --site sites/example.yaml --out ."
        )
        assert shipped.read_text(encoding="utf-8") == text, (
            f"{rel} differs from the example site's rendering: "
            "run ./homelab render --site sites/example.yaml --out ."
        )


COMBOS = shipped_combinations(REPO)


def test_every_shipped_file_is_in_a_combination():
    named = {o for c in COMBOS for o in c.overlays} | {c.bundle for c in COMBOS}
    for path in [*REPO.glob("bundles/*.yaml"), *REPO.glob("overlays/*.yaml")]:
        assert str(path.relative_to(REPO)) in named, path


def test_both_lines_are_checked():
    """`check` with no arguments covers the legacy 1.28 line too, with its nfs overlay."""
    legacy = [c for c in COMBOS if c.channel == "1.28/stable"]
    assert any(
        c.overlays == ("overlays/storage.yaml", "overlays/nfs-legacy-1.28.yaml") for c in legacy
    )
    assert all(c.line == "legacy" for c in legacy)
    docs = combination_documents(REPO, legacy[0])
    assert docs[0].data["applications"]["kubernetes-worker"]["channel"] == "1.28/stable"
    storage = docs[1].data["applications"]["static-pv-provisioner"]["options"]
    assert (storage["storage-class"], storage["adopt-class"]) == ("default", True)


@pytest.mark.parametrize("combo", COMBOS, ids=[c.label() for c in COMBOS])
def test_shipped_combination_passes_check(combo: Combination, db: CharmDB):
    problems, _ = check_documents(combination_documents(REPO, combo), db, trust=combo.trust)
    assert problems == [], messages(problems)


def test_legacy_nfs_overlay_passes_on_1_28_and_fails_on_1_34(db: CharmDB):
    overlays = [load(REPO / f"overlays/{n}.yaml", n) for n in ("storage", "nfs-legacy-1.28")]
    problems, _ = check_documents(
        [_builtin_document("charmed-kubernetes", "1.28/stable"), *overlays], db
    )
    assert problems == [], messages(problems)
    problems, _ = check_documents(
        [_builtin_document("charmed-kubernetes", "1.34/stable"), *overlays], db
    )
    assert "has no nfs endpoint" in messages(problems)


@pytest.mark.parametrize("line", sorted(LINES))
@pytest.mark.parametrize("source", ["charmhub", "local"])
def test_render_is_valid_yaml_that_check_accepts(
    tmp_path: Path, db: CharmDB, line: str, source: str
):
    text = EXAMPLE.read_text(encoding="utf-8").replace("line: current", f"line: {line}")
    text = text.replace("source: charmhub", f"source: {source}").replace(
        "local_dir: build", f"local_dir: {tmp_path}"
    )
    if source == "local":  # render writes both lines' bundles: both bases are needed
        for name in ("remote-nfs-mount", "static-pv-provisioner", "gpu-node-labeler"):
            for base in ("ubuntu@22.04", "ubuntu@24.04"):
                (tmp_path / f"{name}_{base}-amd64.charm").write_bytes(b"")
    site = validate(loads(text, "site.yaml"))
    assert site.problems == []
    rendered = render(site)
    for rel, body in rendered.files.items():
        assert isinstance(yaml.safe_load(body), dict), rel
    track = site.line.track
    docs = [_builtin_document("charmed-kubernetes", f"{track}/stable")]
    docs += [
        loads(rendered.files[f"overlays/{n}.yaml"], n) for n in overlay_names(site.line, site)
    ]
    problems, merged = check_documents(docs, db)
    assert problems == [], messages(problems)
    bundle = loads(rendered.files[f"bundles/homelab-{track}.yaml"], "bundle")
    problems, merged_bundle = check_documents([bundle], db)
    assert problems == [], messages(problems)
    assert set(merged_bundle.apps) == set(merged.apps)
    kube = [
        _builtin_document("kubeflow", None),
        loads(rendered.files["overlays/kubeflow.yaml"], "kubeflow"),
    ]
    problems, _ = check_documents(kube, db, trust=True)
    assert problems == [], messages(problems)
    charm = merged.apps["remote-nfs-mount"]["charm"]
    if source == "local":
        assert charm.endswith(f"remote-nfs-mount_{site.line.base}-amd64.charm")
        assert "channel" not in merged.apps["remote-nfs-mount"]
    else:
        assert charm == "remote-nfs-mount"


def test_render_local_source_without_built_charms_is_an_error(tmp_path: Path):
    text = EXAMPLE.read_text(encoding="utf-8").replace("source: charmhub", "source: local")
    text = text.replace("local_dir: build", f"local_dir: {tmp_path}")
    rendered = render(validate(loads(text, "site.yaml")))
    assert any(
        p.key == "charms.local_dir" and "no remote-nfs-mount_ubuntu@22.04-amd64.charm" in p.message
        for p in rendered.problems
    ), rendered.problems


_OURS = ("remote-nfs-mount", "static-pv-provisioner", "gpu-node-labeler")


def test_local_charm_matches_the_base_exactly(tmp_path: Path):
    """With packages for both bases, the one for the line's base is used, not the last."""
    charms = tmp_path / "charms"
    charms.mkdir()
    for name in _OURS:
        for base in ("ubuntu@22.04", "ubuntu@24.04"):
            (charms / f"{name}_{base}-amd64.charm").write_bytes(b"")
    text = EXAMPLE.read_text(encoding="utf-8").replace("source: charmhub", "source: local")
    text = text.replace("local_dir: build", f"local_dir: {charms}")
    rendered = render(validate(loads(text, "site.yaml")))
    assert rendered.problems == []
    storage = yaml.safe_load(rendered.files["overlays/storage.yaml"])
    app = storage["applications"]["remote-nfs-mount"]
    base = LINES["current"].base  # ubuntu@24.04: CK 1.34's bundle is noble
    assert base == "ubuntu@24.04"
    assert app["charm"] == str(charms / f"remote-nfs-mount_{base}-amd64.charm")
    assert app["base"] == base


def test_local_dir_is_relative_to_the_site_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    lab = tmp_path / "lab"
    (lab / "packed").mkdir(parents=True)
    for name in _OURS:
        for base in ("ubuntu@22.04", "ubuntu@24.04"):
            (lab / "packed" / f"{name}_{base}-amd64.charm").write_bytes(b"")
    text = EXAMPLE.read_text(encoding="utf-8").replace("source: charmhub", "source: local")
    site_file = lab / "site.yaml"
    site_file.write_text(text.replace("local_dir: build", "local_dir: packed"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    rendered = render(validate(load(site_file)))
    assert rendered.problems == []
    storage = yaml.safe_load(rendered.files["overlays/storage.yaml"])
    charm = storage["applications"]["static-pv-provisioner"]["charm"]
    assert charm == str(lab / "packed" / "static-pv-provisioner_ubuntu@24.04-amd64.charm")


def test_missing_local_charm_exit_2_nothing_written_nothing_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import io

    from homelab.cli import main

    lab = tmp_path / "lab"
    (lab / "packed").mkdir(parents=True)
    for name in _OURS:  # only the 24.04 packages: the legacy line's base (22.04) is missing
        (lab / "packed" / f"{name}_ubuntu@24.04-amd64.charm").write_bytes(b"")
    text = EXAMPLE.read_text(encoding="utf-8").replace("source: charmhub", "source: local")
    site_file = lab / "site.yaml"
    site_file.write_text(text.replace("local_dir: build", "local_dir: packed"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "juju-calls"
    juju = bin_dir / "juju"
    juju.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho "{{}}"\n')
    juju.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    out_dir = tmp_path / "out"
    for argv in (
        ["render", "--site", str(site_file), "--out", str(out_dir)],
        ["plan", "--site", str(site_file), "--out", str(out_dir)],
        ["deploy", "--site", str(site_file), "--out", str(out_dir)],
    ):
        out = io.StringIO()
        code = main(argv, out)
        assert code == 2, (argv, out.getvalue())
        assert "charms.local_dir: no remote-nfs-mount_ubuntu@22.04-amd64.charm" in out.getvalue()
        assert "nothing was done" in out.getvalue()
    assert not out_dir.exists()
    assert not log.exists()


def test_our_charms_are_read_from_their_charmcraft_yaml(db: CharmDB):
    info = db.ours("remote-nfs-mount")
    assert info.source == "charms/remote-nfs-mount/charmcraft.yaml"
    assert info.subordinate
    assert info.endpoints["nfs"].interface == "mount"
    assert info.endpoints["nfs-share"].interface == "nfs_share"
    assert info.endpoints["juju-info"].scope == "container"
    assert "nas-host" in (info.options or {})


@pytest.mark.parametrize(
    ("charm", "endpoints", "options"),
    [
        (
            "remote-nfs-mount",
            {"juju-info", "nfs", "nfs-share", "peers"},
            {"nas-host", "export-path", "nfs-version"},
        ),
        (
            "static-pv-provisioner",
            {"juju-info", "nfs-share"},
            {"storage-class", "set-default", "adopt-class", "pool"},
        ),
        (
            "gpu-node-labeler",
            {"juju-info"},
            {"label-prefix", "legacy-labels", "taint", "admin-kubeconfig-path"},
        ),
    ],
)
def test_our_charms_have_what_the_lab_relies_on(
    db: CharmDB, charm: str, endpoints: set, options: set
):
    info = db.ours(charm)
    assert endpoints <= set(info.endpoints), info.source
    assert options <= set(info.options or {}), info.source


def test_fallback_names_when_charmcraft_is_missing(tmp_path: Path):
    (tmp_path / "charms").mkdir()
    db = CharmDB(tmp_path)
    info = db.ours("static-pv-provisioner")
    assert info.endpoints["nfs-share"].limit == 1
    assert db.notes


def test_charm_name_from_references():
    from homelab.charmdb import charm_name

    assert charm_name("ch:remote-nfs-mount") == "remote-nfs-mount"
    assert charm_name("./build/remote-nfs-mount_ubuntu@22.04-amd64.charm") == "remote-nfs-mount"
    assert charm_name("/abs/gpu-node-labeler.charm") == "gpu-node-labeler"
    assert charm_name("./charms/static-pv-provisioner") == "static-pv-provisioner"


def test_builtin_document_is_a_document():
    doc = _builtin_document("charmed-kubernetes", "1.28/stable")
    assert isinstance(doc, Document)
    assert doc.data["applications"]["kubernetes-worker"]["channel"] == "1.28/stable"


def test_storage_space_is_refused_now():
    """maas.storage_space put spaces= on every machine and bound only remote-nfs-mount (which
    carries no data): replaced by maas.spaces.<role> (issue 13; tests in test_day13.py)."""
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "  controller_tag: juju", "  storage_space: storage-10g\n  controller_tag: juju"
    )
    site = validate(loads(text, "site.yaml"))
    assert [p.key for p in site.problems] == ["maas.storage_space"]


def _words(text: str) -> str:
    """Text without comment markers, backticks, markdown link targets and line breaks."""
    import re

    text = re.sub(r"\]\([^)]*\)", "]", text).replace("`", "").replace("[", "").replace("]", "")
    return " ".join(text.replace("#", " ").split())


@pytest.mark.parametrize("line", sorted(LINES))
def test_class_statement_is_never_split_at_a_hyphen(db: CharmDB, line: str):
    """Wrapped comment and plan lines keep the source path whole on both lines."""
    from homelab.plan import format_text, make_plan
    from homelab.render import JUJU_CLASS_SOURCE

    text = EXAMPLE.read_text(encoding="utf-8").replace("line: current", f"line: {line}")
    site = validate(loads(text, "sites/example.yaml"))
    storage = render(site).files["overlays/storage.yaml"]
    plan = format_text(make_plan(site, Path("build/homelab/example"), db))
    for text in (storage, plan):
        assert "charms/static-pv-provisioner/README.md" in text
        assert _words(JUJU_CLASS_SOURCE) in _words(text)


def test_one_statement_about_the_class_of_kubeflow_storage(db: CharmDB):
    """Site file, storage overlay, README and plan say what static-pv-provisioner's README says."""
    from homelab.plan import format_text, make_plan
    from homelab.render import JUJU_CLASS_SOURCE, juju_class_rule

    section = (REPO / "charms/static-pv-provisioner/README.md").read_text(encoding="utf-8")
    assert "### What Juju does with the class name (read in juju/juju)" in section
    assert JUJU_CLASS_SOURCE.endswith('"What Juju does with the class name (read in juju/juju)"')
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    lab = readme.split("## The lab:", 1)[1].split("## What is here", 1)[0]
    plan = format_text(make_plan(_example(), Path("build/homelab/example"), db))
    places = {
        "sites/example.yaml": (EXAMPLE.read_text(encoding="utf-8"), "<class>"),
        "overlays/storage.yaml": ((REPO / "overlays/storage.yaml").read_text(), "homelab-nfs"),
        "README.md The lab": (lab, "homelab-nfs"),
        "plan": (plan, "homelab-nfs"),
    }
    for where, (text, cls) in places.items():
        words = _words(text)
        assert _words(juju_class_rule(cls)) in words, where
        assert _words(JUJU_CLASS_SOURCE) in words, where
        for wrong in (
            "whichever exists",
            "<model>-<class> or <class>",
            "class kubeflow-homelab-nfs)",
        ):
            assert wrong not in words, (where, wrong)
