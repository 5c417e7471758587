"""Config validation: every rule names the option and the rule, all errors at once."""

from __future__ import annotations

import pytest

from nas_config import InvalidConfigError, parse_config, parse_options

VALID = {
    "nas-host": "10.0.0.5",
    "export-path": "/volume1/k8s",
    "nfs-version": "4.1",
    "mount-options": "hard,timeo=600,retrans=2,noresvport",
    "export-name": "",
    "timeout": 5,
    "install-nfs-common": True,
}


def config(**changes: object) -> dict[str, object]:
    return {**VALID, **{k.replace("_", "-"): v for k, v in changes.items()}}


def test_valid_defaults():
    parsed = parse_config(VALID)
    assert parsed.address == "10.0.0.5:/volume1/k8s"
    assert parsed.mount_options == ("nfsvers=4.1", "hard", "timeo=600", "retrans=2", "noresvport")


@pytest.mark.parametrize(
    "host", ["nas.lab.example", "NAS", "fd00::5", "10.0.0.5", "nas-1.lab.", "a" * 63]
)
def test_valid_hosts(host):
    assert parse_config(config(nas_host=host)).host == host


def test_ipv6_address_in_brackets_for_mount():
    assert parse_config(config(nas_host="fd00::5")).address == "[fd00::5]:/volume1/k8s"


def test_trailing_slash_is_dropped():
    assert parse_config(config(export_path="/volume1/k8s/")).export == "/volume1/k8s"


@pytest.mark.parametrize(
    ("option", "value", "rule"),
    [
        ("nas-host", "", "is not set"),
        ("nas-host", "nas box", "must not contain spaces"),
        ("nas-host", "nfs://10.0.0.5/volume1", "not a URL"),
        ("nas-host", "10.0.0.5:2049", "must not include a port"),
        ("nas-host", "10.0.0.256", "not a valid IPv4 address"),
        ("nas-host", "nas_box.lab", "not a valid IP address or DNS name"),
        ("nas-host", "-nas.lab", "not a valid IP address or DNS name"),
        ("nas-host", "a" * 64, "not a valid IP address or DNS name"),
        ("nas-host", "nas;reboot", "not a valid IP address or DNS name"),
        ("nas-host", "$(reboot)", "not a valid IP address or DNS name"),
        ("export-path", "", "is not set"),
        ("export-path", "volume1/k8s", "must be an absolute path"),
        ("export-path", "/", "'/' is not allowed"),
        ("export-path", "//", "'/' is not allowed"),
        ("export-path", "/volume1/../etc", "'..' components"),
        ("export-path", "/volume1/./k8s", "'.' or '..' components"),
        ("export-path", "/volume1//k8s", "empty"),
        ("export-path", "/volume1/k8s data", "whitespace"),
        ("export-path", "/volume1/k8s\n", "whitespace"),
        ("export-path", "/volume1/k8s\x07", "control characters"),
        ("export-path", "/volume1/k8s;rm", "may only contain"),
        ("export-path", "/v/" + "a" * 1030, "at most 1024"),
        ("nfs-version", "5", "must be one of 3, 4, 4.0, 4.1, 4.2"),
        ("nfs-version", "", "must be one of"),
        ("nfs-version", "nfs4", "must be one of"),
        ("mount-options", "hard\nsoft", "one line"),
        ("mount-options", "hard;reboot", "is not an NFS option"),
        ("mount-options", "hard,`id`", "is not an NFS option"),
        ("mount-options", "hard,$(id)", "is not an NFS option"),
        ("mount-options", "hard,,timeo=600", "stray comma"),
        ("mount-options", "bogus", "not a known NFS mount option"),
        ("mount-options", "nfsvers=3", "set nfs-version instead"),
        ("mount-options", "vers=4.2", "set nfs-version instead"),
        ("mount-options", "timeo=abc", "needs a whole number"),
        ("mount-options", "timeo=-1", "needs a whole number"),
        ("mount-options", "hard=1", "takes no value"),
        ("mount-options", "proto=udp", "must be one of tcp"),
        ("mount-options", "hard,soft", "contradict"),
        ("mount-options", "timeo=1,timeo=2", "given twice"),
        ("export-name", "k8s data", "1-63 letters"),
        ("export-name", "-k8s", "1-63 letters"),
        ("export-name", "x" * 64, "1-63 letters"),
        ("timeout", 0, "between 1 and 30"),
        ("timeout", 31, "between 1 and 30"),
        ("timeout", "5", "whole number"),
        ("timeout", True, "whole number"),
        ("install-nfs-common", "yes", "true or false"),
        ("nas-host", 5, "must be a string"),
    ],
)
def test_invalid(option, value, rule):
    with pytest.raises(InvalidConfigError) as caught:
        parse_config({**VALID, option: value})
    [error] = caught.value.errors
    assert error.option == option
    assert rule in error.rule
    assert str(caught.value.summary).startswith(option)


def test_every_error_reported_at_once():
    with pytest.raises(InvalidConfigError) as caught:
        parse_config(config(nas_host="", export_path="rel", nfs_version="9"))
    assert [e.option for e in caught.value.errors] == ["nas-host", "export-path", "nfs-version"]
    assert caught.value.summary.endswith("(+2 more: run `juju config` to review)")


@pytest.mark.parametrize(
    "text",
    ["", "soft,timeo=100", "hard,nconnect=4,proto=tcp,sec=sys", " hard , noatime "],
)
def test_valid_options(text):
    options, rules = parse_options(text)
    assert rules == []
    assert all(o == o.strip() for o in options)


def test_long_values_are_shortened_in_messages():
    with pytest.raises(InvalidConfigError) as caught:
        parse_config(config(nas_host="x y" * 100))
    assert len(str(caught.value)) < 120
