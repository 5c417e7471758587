"""The nfs-common install: every failure is one worded line; success is re-checked."""

from __future__ import annotations

import subprocess

import pytest
from charmlibs import apt as charmlibs_apt

from homelab_core import apt


@pytest.fixture
def mount_nfs(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether mount.nfs exists (a list so tests can flip it)."""
    present = [True]
    monkeypatch.setattr(apt, "nfs_client_present", lambda *a: present[0])
    return present


def test_installs_with_charmlibs_apt(monkeypatch: pytest.MonkeyPatch, mount_nfs):
    calls = []
    monkeypatch.setattr(charmlibs_apt, "add_package", lambda *a, **k: calls.append((a, k)))
    apt.install_nfs_common()
    assert calls == [((["nfs-common"],), {"update_cache": True})]


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            charmlibs_apt.PackageNotFoundError("Package nfs-common not found"),
            "installing nfs-common failed: Package nfs-common not found",
        ),
        (
            charmlibs_apt.PackageError("Could not install nfs-common\nE: dpkg was interrupted"),
            "installing nfs-common failed: E: dpkg was interrupted",
        ),
        (
            subprocess.CalledProcessError(100, ["apt-get", "update"], stderr="E: no network\n"),
            "installing nfs-common failed: apt-get update exited 100 (E: no network)",
        ),
        (
            subprocess.CalledProcessError(100, ["apt-get", "update"]),
            "installing nfs-common failed: apt-get update exited 100",
        ),
        (
            FileNotFoundError(2, "No such file or directory", "apt-get"),
            "installing nfs-common failed: apt-get: No such file or directory",
        ),
        (
            PermissionError(13, "Permission denied"),
            "installing nfs-common failed: Permission denied",
        ),
        (ValueError(""), "installing nfs-common failed: ValueError: no reason given"),
        (KeyError("nfs-common"), "installing nfs-common failed: KeyError: 'nfs-common'"),
    ],
)
def test_failures_become_one_worded_line(monkeypatch: pytest.MonkeyPatch, error, message):
    def fail(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(charmlibs_apt, "add_package", fail)
    with pytest.raises(apt.PackageInstallError) as caught:
        apt.install_nfs_common()
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)
    assert "Error(" not in str(caught.value)  # never a repr


def test_success_without_mount_nfs_is_a_failure(monkeypatch: pytest.MonkeyPatch, mount_nfs):
    monkeypatch.setattr(charmlibs_apt, "add_package", lambda *a, **k: None)
    mount_nfs[0] = False
    with pytest.raises(apt.PackageInstallError) as caught:
        apt.install_nfs_common()
    assert str(caught.value) == (
        "installing nfs-common reported success but mount.nfs is missing "
        "(looked for /sbin/mount.nfs and /usr/sbin/mount.nfs)"
    )


def test_other_packages_are_not_rechecked(monkeypatch: pytest.MonkeyPatch, mount_nfs):
    monkeypatch.setattr(charmlibs_apt, "add_package", lambda *a, **k: None)
    mount_nfs[0] = False
    apt.install(["jq"])


def test_presence_is_a_stat(tmp_path):
    helper = tmp_path / "mount.nfs"
    assert not apt.nfs_client_present([str(helper)])
    helper.touch()
    assert apt.nfs_client_present([str(tmp_path / "nope"), str(helper)])
