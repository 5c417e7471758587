"""nfs-common: installed with charmlibs-apt, failures end in a Blocked status that says why."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from charmlibs import apt
from ops import testing
from test_charm import CHARMCRAFT, World, state

import packages


class FailingInstall:
    """What the injected installer does on a host whose mirror is down."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, names: Any) -> None:
        self.calls += 1
        raise packages.PackageInstallError("installing nfs-common failed: no candidate")


def test_failed_install_blocks_with_the_reason_then_retries(world: World) -> None:
    install = FailingInstall()
    world.nfs_client = False

    class Charm(world.charm):  # the world's injected cluster and NAS, this installer
        install_packages = staticmethod(install)

    ctx = testing.Context(
        Charm,
        meta=CHARMCRAFT,
        app_name="static-pv-provisioner",
    )
    out = ctx.run(ctx.on.install(), state(world))
    assert out.unit_status == testing.BlockedStatus(
        "installing nfs-common failed: no candidate; retrying at the next update-status"
    )
    assert install.calls == 1  # once per hook, not again in the reconcile
    assert world.api.writes() == []
    out = ctx.run(ctx.on.update_status(), out)
    assert install.calls == 2  # the leader retries: the mirror may be back
    assert out.unit_status.name == "blocked"
    world.nfs_client = True  # installed by hand, or the mirror came back
    out = ctx.run(ctx.on.update_status(), out)
    assert install.calls == 2
    assert out.unit_status.name == "active"


def test_non_leader_installs_at_install_and_stays_standby(world: World) -> None:
    world.nfs_client = False
    out = world.run(world.ctx.on.install(), state(world, leader=False))
    assert world.installs == [("nfs-common",)]
    assert out.unit_status == testing.ActiveStatus("standby: the leader unit manages homelab-nfs")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (apt.PackageError("Failed to install packages: nfs-common"),
         "installing nfs-common failed: Failed to install packages: nfs-common"),
        (apt.PackageNotFoundError("Package nfs-common.amd64 is not in the apt cache!"),
         "installing nfs-common failed: Package nfs-common.amd64 is not in the apt cache!"),
        (subprocess.CalledProcessError(100, ["apt-get", "update", "--error-on=any"]),
         "installing nfs-common failed: apt-get update exited 100"),
        (FileNotFoundError(2, "No such file or directory"),
         "installing nfs-common failed: No such file or directory"),
    ],
)  # fmt: skip
def test_install_maps_every_apt_failure(
    monkeypatch: pytest.MonkeyPatch, error: Exception, message: str
) -> None:
    seen: list[tuple[Any, bool]] = []

    def add_package(names: Any, update_cache: bool = False) -> None:
        seen.append((names, update_cache))
        raise error

    monkeypatch.setattr(apt, "add_package", add_package)  # the library boundary, not the charm
    with pytest.raises(packages.PackageInstallError) as e:
        packages.install(("nfs-common",))
    assert str(e.value) == message
    assert seen == [(["nfs-common"], True)]


def test_install_calls_charmlibs_apt(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Any, bool]] = []
    monkeypatch.setattr(
        apt, "add_package", lambda names, update_cache=False: seen.append((names, update_cache))
    )
    packages.install(("nfs-common",))
    assert seen == [(["nfs-common"], True)]
