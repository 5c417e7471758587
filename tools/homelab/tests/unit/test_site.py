"""The site file: defaults, and every error at once with file, line and key."""

from __future__ import annotations

import textwrap

import pytest
from conftest import REPO

from homelab.site import parse_pool, parse_size, validate
from homelab.yamlio import load, loads

MINIMAL = """
site: mylab
juju: {controller: ctrl}
nas: {host: nas.lab.example, export: /tank/k8s, quota: 2Ti}
storage: {pool: "10Gi:4"}
"""
MINIMAL_KF = MINIMAL.replace('"10Gi:4"', '"10Gi:4,50Gi:1"')


def _site(text: str):
    return validate(loads(textwrap.dedent(text), "site.yaml"))


def test_example_site_is_valid():
    site = validate(load(REPO / "sites" / "example.yaml", "sites/example.yaml"))
    assert site.problems == []
    assert site.line.track == "1.34"
    assert site.kubeflow_track == "1.11"


def test_minimal_site_gets_defaults():
    site = _site(MINIMAL_KF)
    assert site.problems == []
    assert site.get("kubernetes.line") == "current"
    assert site.get("maas.tags.gpu") == "gpu"
    assert site.get("nas.nfs_version") == "4.1"


def test_all_errors_at_once_with_lines():
    site = _site(
        """
        site: My Lab
        juju: {controler: ctrl}  # codespell:ignore controler
        kubernetes: {line: newest}
        maas:
          tags: {control_plane: "k8 admin", kubeflow: kf_admin, gpu: gpu}
        nas:
          host: "http://nas:2049"
          export: volume1
          nfs_version: 4.1
          quota: lots
        storage: {pool: "10Gi*8", min_available: two}
        gpu: {enabled: yes-please}
        """
    )
    text = "\n".join(str(p) for p in site.problems)
    expected = [
        "site.yaml:2: error: site:",
        'juju.controler: unknown key (did you mean "controller"?)',  # codespell:ignore controler
        "juju.controller: missing (required)",
        "kubernetes.line: 'newest' is not one of",
        "maas.tags.control_plane: 'k8 admin': must be a MAAS tag: no spaces",
        "nas.host: 'http://nas:2049': must be a bare IP address or DNS name, not a URL",
        "nas.export: 'volume1': must be an absolute path",
        "nas.nfs_version: must be a string, not float 4.1 (write it in quotes: YAML reads 4.1 as",
        "nas.quota: 'lots': must be a size",
        "storage.pool: '10Gi*8': must be size:count",
        "storage.min_available: must be a whole number",
        "gpu.enabled: must be true or false",
    ]
    for needle in expected:
        assert needle in text, f"{needle!r} not in\n{text}"
    assert all(p.line > 0 for p in site.problems), text


def test_cross_field_errors_are_reported_with_field_errors():
    """Four field errors do not hide the three cross-field errors whose fields are valid."""
    site = _site(
        """
        site: My Lab
        juju: {controller: "a b"}
        nas: {host: "http://x", export: volume1, quota: 100Gi}
        storage: {pool: "10Gi:8,50Gi:4", min_available: two}
        gpu: {driver_route: containerd}
        kubeflow: {track: "1.9"}
        """
    )
    text = "\n".join(str(p) for p in site.problems)
    for needle in (
        "site:",
        "juju.controller:",
        "nas.host:",
        "nas.export:",
        "storage.min_available:",
        "storage.pool: the pool needs 280Gi, more than the NAS quota nas.quota 100Gi",
        "gpu.driver_route: containerd installs NVIDIA drivers only up to Charmed Kubernetes 1.28",
        "kubeflow.track: Charmed Kubeflow 1.9 supports Kubernetes 1.27, 1.28, 1.29, not 1.34",
    ):
        assert needle in text, f"{needle!r} not in\n{text}"


def test_cross_checks_skip_fields_that_are_invalid():
    """A cross-field rule does not run on a value that failed its own check."""
    site = _site(
        """
        site: lab
        juju: {controller: ctrl}
        kubernetes: {line: newest}
        nas: {host: nas.lab, export: /tank, quota: lots}
        storage: {pool: "10Gi:4,50Gi:1"}
        gpu: {driver_route: containerd}
        kubeflow: {storage: {mlmd: tiny}}
        """
    )
    text = "\n".join(str(p) for p in site.problems)
    assert "kubernetes.line: 'newest' is not one of" in text
    assert "nas.quota: 'lots': must be a size" in text
    assert "kubeflow.storage.mlmd: 'tiny': must be a size" in text
    for absent in (
        "the pool needs",
        "only up to Charmed Kubernetes",
        "supports Kubernetes",
        "mlmd needs at least",
        "no free PV",
    ):
        assert absent not in text, text


def test_pool_larger_than_quota():
    site = _site(
        MINIMAL.replace("quota: 2Ti", "quota: 80Gi").replace('"10Gi:4"', '"10Gi:4,50Gi:1"')
    )
    text = "\n".join(str(p) for p in site.problems)
    assert (
        "site.yaml:5: error: storage.pool: the pool needs 90Gi, "
        "more than the NAS quota nas.quota 80Gi" in text
    )


def test_kubeflow_storage_needs_a_large_enough_pv():
    site = _site(MINIMAL)  # pool 10Gi:4, minio wants 50Gi
    text = "\n".join(str(p) for p in site.problems)
    assert "kubeflow.storage.minio: 50Gi: storage.pool 10Gi:4 has no free PV that large" in text
    assert "katib-db" not in text


def test_pool_without_kubeflow():
    site = _site(MINIMAL + "kubeflow: {enabled: false}\n")
    assert site.problems == []


def test_containerd_driver_route_only_on_1_28():
    site = _site(MINIMAL_KF + "gpu: {driver_route: containerd}\n")
    assert "containerd installs NVIDIA drivers only up to Charmed Kubernetes 1.28" in str(
        site.problems
    )
    site = _site(MINIMAL_KF + "kubernetes: {line: legacy}\ngpu: {driver_route: containerd}\n")
    assert site.problems == []


def test_kubeflow_track_must_support_the_line():
    site = _site(MINIMAL_KF + "kubeflow: {track: '1.9'}\n")
    assert "Charmed Kubeflow 1.9 supports Kubernetes 1.27, 1.28, 1.29, not 1.34" in str(
        site.problems
    )


def test_mlmd_needs_10gi():
    site = _site(MINIMAL_KF + "kubeflow: {storage: {mlmd: 5Gi}}\n")
    assert "mlmd needs at least 10Gi" in str(site.problems)


def test_empty_and_non_mapping_site():
    assert "the site file is empty" in str(_site("").problems)
    assert "must be a mapping" in str(_site("- a\n- b\n").problems)


@pytest.mark.parametrize(
    ("text", "size"),
    [("10Gi", 10 * 2**30), ("2Ti", 2 * 2**40), ("500Mi", 500 * 2**20), ("500G", None)],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


def test_parse_pool():
    assert parse_pool("10Gi:8,50Gi:4") == [("10Gi", 8), ("50Gi", 4)]
    assert parse_pool("10Gi:0") is None
    assert parse_pool("10:8") is None
