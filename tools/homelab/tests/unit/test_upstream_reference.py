"""The built-in upstream tables agree with the saved upstream files, when they are available.

The files are not in this repository (third-party data): set HOMELAB_REFERENCE_DIR, or keep the
shared checkout next to the repository (../shared/reference); otherwise these tests are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from homelab.upstream import KUBEFLOW_APPS, KUBEFLOW_STORAGE, charmed_kubernetes, upstream_charm

CANDIDATES = [
    os.environ.get("HOMELAB_REFERENCE_DIR", ""),
    str(REPO.parent / "shared" / "reference"),
]
REF = next((Path(p) for p in CANDIDATES if p and (Path(p) / "README.md").exists()), None)
pytestmark = pytest.mark.skipif(REF is None, reason="upstream reference files not available")


def _load(name: str) -> dict:
    assert REF is not None
    return yaml.safe_load((REF / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("track", ["1.28", "1.35"])
def test_charmed_kubernetes_shape_matches_the_upstream_bundle(track: str):
    real = _load(f"charmed-kubernetes-{track}-bundle.yaml")
    ours = charmed_kubernetes(track)
    assert set(ours["applications"]) == set(real["applications"])
    for name, body in real["applications"].items():
        mine = ours["applications"][name]
        for key in ("charm", "channel", "num_units", "constraints", "options", "expose"):
            assert mine.get(key) == body.get(key), (name, key)
    assert sorted(map(tuple, ours["relations"])) == sorted(map(tuple, real["relations"]))


def _endpoints(meta: dict) -> set[str]:
    return {name for role in ("provides", "requires", "peers") for name in (meta.get(role) or {})}


@pytest.mark.parametrize(
    ("charm", "track", "file"),
    [
        ("kubernetes-worker", "1.28", "kubernetes-worker-1.28-metadata.yaml"),
        ("kubernetes-worker", "1.35", "kubernetes-worker-main-charmcraft.yaml"),
        ("kubernetes-control-plane", "1.28", "kubernetes-control-plane-1.28-metadata.yaml"),
        ("kubernetes-control-plane", "1.35", "kubernetes-control-plane-main-charmcraft.yaml"),
    ],
)
def test_endpoint_tables_cover_the_upstream_metadata(charm: str, track: str, file: str):
    info = upstream_charm(charm, track)
    assert info is not None
    real = _endpoints(_load(file))
    assert real <= set(info.endpoints), real - set(info.endpoints)
    # Only layer endpoints that the upstream bundles use may be added to the metadata's.
    assert set(info.endpoints) - real <= {"certificates", "container-runtime"}


def test_worker_nfs_endpoint_only_up_to_1_28():
    assert "nfs" in _endpoints(_load("kubernetes-worker-1.28-metadata.yaml"))
    assert "nfs" not in _endpoints(_load("kubernetes-worker-main-charmcraft.yaml"))
    old, new = (
        upstream_charm("kubernetes-worker", "1.28"),
        upstream_charm("kubernetes-worker", "1.32"),
    )
    assert old is not None
    assert new is not None
    assert "nfs" in old.endpoints
    assert "nfs" not in new.endpoints


def test_kubeflow_apps_match_the_1_10_bundle():
    real = _load("kubeflow-1.10-stable-bundle.yaml")
    assert {k: v["charm"] for k, v in real["applications"].items()} == KUBEFLOW_APPS
    untrusted = {k for k, v in real["applications"].items() if not v.get("trust")}
    assert untrusted == {"minio"}
    for app in KUBEFLOW_STORAGE:
        assert app in real["applications"]


@pytest.mark.parametrize(
    ("charm", "track", "file", "exact"),
    [
        ("kubernetes-worker", "1.35", "kubernetes-worker-main-charmcraft.yaml", True),
        (
            "kubernetes-control-plane",
            "1.35",
            "kubernetes-control-plane-main-charmcraft.yaml",
            True,
        ),
        ("kubernetes-worker", "1.28", "kubernetes-worker-1.28-config.yaml", False),
    ],
)
def test_option_tables_match_the_upstream_config(charm: str, track: str, file: str, exact: bool):
    info = upstream_charm(charm, track)
    assert info is not None
    assert info.options is not None
    data = _load(file)
    real = (data.get("config") or data)["options"]
    types = {name: spec.get("type") for name, spec in real.items()}
    if exact:
        assert info.options == types
    else:
        assert all(info.options.get(name) == kind for name, kind in types.items())
