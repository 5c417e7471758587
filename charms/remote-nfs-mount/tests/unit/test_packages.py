"""nfs-common install: every failure charmlibs-apt can raise becomes one clear message."""

from __future__ import annotations

import subprocess

import pytest
from charmlibs import apt

import packages


def test_installs_with_charmlibs_apt(monkeypatch: pytest.MonkeyPatch):
    calls = []
    monkeypatch.setattr(apt, "add_package", lambda *a, **k: calls.append((a, k)))
    packages.install_nfs_common()
    assert calls == [(("nfs-common",), {"update_cache": True})]


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (apt.PackageNotFoundError("Package nfs-common not found"), "not found"),
        (apt.PackageError("Could not install nfs-common\nE: dpkg was interrupted"), "E: dpkg"),
        (subprocess.CalledProcessError(100, ["apt-get", "update"]), "returned non-zero"),
        (FileNotFoundError(2, "No such file or directory", "apt-get"), "No such file"),
    ],
)
def test_failures_become_one_message(monkeypatch: pytest.MonkeyPatch, error, message):
    def fail(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(apt, "add_package", fail)
    with pytest.raises(packages.PackageInstallError) as caught:
        packages.install_nfs_common()
    assert str(caught.value).startswith("installing nfs-common failed: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
