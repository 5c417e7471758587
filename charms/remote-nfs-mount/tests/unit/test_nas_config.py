"""The typed config: every rule names the option and the rule, all errors at once.

The value rules themselves are homelab_core's (core/tests/unit/test_validators.py); these tests
show that the charm applies them to the right options and words the status from them.
"""

from __future__ import annotations

import pytest
from fakes import nas_config

from nas_config import InvalidConfigError

VALID = {"nas-host": "10.0.0.5", "export-path": "/volume1/k8s"}


def test_defaults_with_host_and_export_are_valid():
    parsed = nas_config(**VALID)
    assert parsed.address == "10.0.0.5:/volume1/k8s"
    assert parsed.options == ("nfsvers=4.1", "hard", "timeo=600", "retrans=2", "noresvport")
    assert parsed.timeout == 5
    assert parsed.install_nfs_common is True


@pytest.mark.parametrize(
    "host", ["nas.lab.example", "NAS", "fd00::5", "10.0.0.5", "nas-1.lab.", "a" * 63]
)
def test_valid_hosts(host):
    assert nas_config(**{**VALID, "nas-host": host}).host == host


def test_ipv6_address_in_brackets_for_mount():
    assert nas_config(**{**VALID, "nas-host": "fd00::5"}).address == "[fd00::5]:/volume1/k8s"


def test_trailing_slash_is_dropped():
    assert nas_config(**{**VALID, "export-path": "/volume1/k8s/"}).export == "/volume1/k8s"


def test_empty_mount_options_leave_nfsvers():
    assert nas_config(**{**VALID, "mount-options": "", "nfs-version": "3"}).options == (
        "nfsvers=3",
    )


@pytest.mark.parametrize(
    ("option", "value", "rule"),
    [
        ("nas-host", "", "nas-host must be set"),
        ("nas-host", "nas box", "nas-host 'nas box' must not contain spaces"),
        ("nas-host", "no", "nas-host 'no' must not be 'no': YAML reads it as a boolean"),
        ("nas-host", "0.0.0.0", "nas-host '0.0.0.0' must not be the unspecified address"),
        ("nas-host", "fe80::1%eth0\nx: y", "nas-host 'fe80::1%eth0\\nx: y' must not contain"),
        ("export-path", "", "export-path must be set"),
        ("export-path", "/volume1/k8s:", "export-path '/volume1/k8s:' must contain only"),
        ("export-path", " /volume1", "export-path ' /volume1' must not contain spaces"),
        ("nfs-version", "5", "nfs-version '5' must be one of 3, 4, 4.0, 4.1, 4.2"),
        ("mount-options", "ro,rw", "has 'ro' and 'rw', which contradict each other"),
        ("mount-options", "nfsvers=3", "the NFS version has its own setting"),
        ("mount-options", "hard, noatime", "must be one line without spaces"),
        ("export-name", "k8s data", "export-name 'k8s data' must be 1-63 letters"),
        ("export-name", "x" * 64, "must be 1-63 letters"),
        ("timeout", 0, "timeout 0 must be between 1 and 30"),
        ("timeout", 31, "timeout 31 must be between 1 and 30"),
        ("timeout", "5", "timeout '5' must be a whole number"),
        ("timeout", True, "timeout True must be a whole number"),
        ("install-nfs-common", "yes", "install-nfs-common 'yes' must be true or false"),
        ("nas-host", 5, "nas-host 5 must be a string"),
    ],
)
def test_invalid(option, value, rule):
    with pytest.raises(InvalidConfigError) as caught:
        nas_config(**{**VALID, option: value})
    [error] = caught.value.errors
    assert error.option == option
    assert rule in str(error)
    assert caught.value.summary.startswith(option)
    assert "\n" not in caught.value.summary


def test_every_error_reported_at_once():
    with pytest.raises(InvalidConfigError) as caught:
        nas_config(**{"nas-host": "", "export-path": "rel", "nfs-version": "9"})
    assert [e.option for e in caught.value.errors] == ["nas-host", "export-path", "nfs-version"]
    assert caught.value.summary.endswith("(+2 more: run `juju config` to review)")


def test_long_values_are_shortened_in_messages():
    with pytest.raises(InvalidConfigError) as caught:
        nas_config(**{**VALID, "nas-host": "x y" * 100})
    assert len(str(caught.value)) < 120
