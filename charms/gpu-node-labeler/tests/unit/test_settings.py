"""Configuration rules (the charm tests check the statuses they lead to)."""

from __future__ import annotations

import pytest

import settings

DEFAULTS = {
    "node-name": "",
    "kubeconfig-path": "/root/cdk/kubeconfig",
    "label-prefix": "gpu.homelab-charms.io",
    "gfd-labels": True,
    "legacy-labels": True,
    "taint": "",
    "admin-kubeconfig-path": "",
    "admin-kubeconfig-secret": "",
    "nvidia-smi-timeout": 10,
}


def test_defaults():
    got = settings.parse(DEFAULTS, "GPU-Box")
    assert got.node_name == "gpu-box"
    assert got.kubeconfig_path == "/root/cdk/kubeconfig"
    assert got.label_prefix == "gpu.homelab-charms.io"
    assert not got.has_admin


@pytest.mark.parametrize(
    "secret_id",
    [
        "secret:csv2n3hfmnhc7lmpn8kg",
        "csv2n3hfmnhc7lmpn8kg",
        "secret://c0ffee00-1111-2222-3333-444455556666/csv2n3hfmnhc7lmpn8kg",
    ],
)
def test_secret_ids(secret_id):
    got = settings.parse({**DEFAULTS, "admin-kubeconfig-secret": secret_id}, "h")
    assert got.admin_kubeconfig_secret == secret_id
    assert got.has_admin


@pytest.mark.parametrize(
    "prefix", ["gpu.homelab-charms.io", "example.com", "a", "my-lab.example.org"]
)
def test_valid_prefixes(prefix):
    assert settings.parse({**DEFAULTS, "label-prefix": prefix}, "h").label_prefix == prefix


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "UPPER.example.com",
        "-x.example.com",
        "x..y",
        "x/y",
        "a" * 254,
        "k8s.io",
        "foo.kubernetes.io",
        "gpu.nvidia.com",
    ],
)
def test_invalid_prefixes(prefix):
    with pytest.raises(settings.ConfigError, match="label-prefix"):
        settings.parse({**DEFAULTS, "label-prefix": prefix}, "h")


def test_bool_is_not_a_timeout():
    with pytest.raises(settings.ConfigError, match="nvidia-smi-timeout"):
        settings.parse({**DEFAULTS, "nvidia-smi-timeout": True}, "h")


def test_node_name_with_dots_and_long():
    assert settings.parse({**DEFAULTS, "node-name": "gpu-1.lab.example"}, "h").node_name == (
        "gpu-1.lab.example"
    )
    with pytest.raises(settings.ConfigError, match="node-name"):
        settings.parse({**DEFAULTS, "node-name": "a" * 254}, "h")


@pytest.mark.parametrize(
    "prefix",
    [
        "gpu.homelab-charms.io",
        "homelab-charms.io",
        "node-role.kubernetes.io",
        "kubernetes.io",
        "gpu.nvidia.com",
        "Gpu.lab",
        "gpu.lab\n",
        " gpu.lab",
        "",
        "a" * 253,
        "a" * 254,
    ],
)
def test_prefix_accepted_exactly_when_the_site_check_accepts_it(prefix):
    # the site file's gpu.label_prefix is checked with the same core validator
    from homelab_core import validators

    try:
        settings.parse({**DEFAULTS, "label-prefix": prefix}, "h")
        charm_ok = True
    except settings.ConfigError:
        charm_ok = False
    assert charm_ok is (validators.label_prefix(prefix) is None)


@pytest.mark.parametrize("route", ["operator", "containerd", "preinstalled"])
def test_driver_routes(route):
    assert settings.parse({**DEFAULTS, "driver-route": route}, "h").driver_route == route


def test_driver_route_defaults_to_the_operator():
    assert settings.parse(DEFAULTS, "h").driver_route == "operator"
