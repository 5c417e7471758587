"""The charm as Juju drives it (ops.testing): relation data, statuses, actions."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
import yaml
from charmlibs import apt
from fakes import FakeNetwork
from homelab_core import apt as core_apt
from ops import testing

from charm import RemoteNfsMountCharm
from preflight import Export

CONFIG = {"nas-host": "10.0.0.5", "export-path": "/volume1/k8s"}
MOUNT = {
    "hostname": "10.0.0.5",
    "mountpoint": "/volume1/k8s",
    "fstype": "nfs",
    "options": "nfsvers=4.1,hard,timeo=600,retrans=2,noresvport",
}


CHARMCRAFT = yaml.safe_load((Path(__file__).parents[2] / "charmcraft.yaml").read_text())


VERIFIED = "10.0.0.5:/volume1/k8s nfsvers=4.1"  # what a unit tells its peers it verified


def make_context(
    network: FakeNetwork | None = None,
    present: Callable[[], bool] = lambda: True,
    install: Callable[[], None] | None = None,
) -> testing.Context[RemoteNfsMountCharm]:
    def must_not_install() -> None:
        raise AssertionError("must not install")

    class Charm(RemoteNfsMountCharm):
        nfs_client_present = staticmethod(present)
        install_nfs_common = staticmethod(install or must_not_install)

    Charm.network = network or FakeNetwork()
    return testing.Context(Charm, meta=CHARMCRAFT)


def principal() -> testing.SubordinateRelation:
    return testing.SubordinateRelation("juju-info", remote_app_name="kubernetes-worker")


def state(
    config: Mapping[str, str | int | float | bool] | None = None,
    *relations: testing.RelationBase,
    leader: bool = True,
) -> testing.State:
    return testing.State(
        config=CONFIG if config is None else config,
        relations={principal(), *relations},
        leader=leader,
    )


def nfs_relation(**local: str) -> testing.Relation:
    return testing.Relation("nfs", remote_app_name="kubernetes-worker", local_unit_data=local)


# --- the `mount` interface for kubernetes-worker -------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (CONFIG, MOUNT),
        (
            {**CONFIG, "nfs-version": "3", "mount-options": "soft,timeo=100"},
            {**MOUNT, "options": "nfsvers=3,soft,timeo=100"},
        ),
        (
            {**CONFIG, "nfs-version": "4.2", "mount-options": ""},
            {**MOUNT, "options": "nfsvers=4.2"},
        ),
        (
            {**CONFIG, "nas-host": "nas.lab.example", "export-name": "k8s"},
            {**MOUNT, "hostname": "nas.lab.example", "export_name": "k8s"},
        ),
    ],
)
def test_mount_unit_data_exact(config, expected):
    network = FakeNetwork(addresses={"nas.lab.example": ["10.0.0.5"]})
    relation = nfs_relation()
    out = make_context(network).run(
        testing.CharmEvents.relation_joined(relation), state(config, relation)
    )
    data = dict(out.get_relation(relation.id).local_unit_data)
    assert {k: v for k, v in data.items() if k in MOUNT or k == "export_name"} == expected
    assert data["fstype"] == "nfs"  # never nfs4: kubernetes-worker ignores anything else


@pytest.mark.parametrize(
    "config",
    [
        {},
        {**CONFIG, "nas-host": ""},
        {**CONFIG, "nas-host": "nas box"},
        {**CONFIG, "nas-host": "nfs://10.0.0.5"},
        {**CONFIG, "export-path": "volume1"},
        {**CONFIG, "export-path": "/"},
        {**CONFIG, "export-path": "/a/../b"},
        {**CONFIG, "mount-options": "hard;reboot"},
        {**CONFIG, "mount-options": "hard\nsoft"},
        {**CONFIG, "nfs-version": "5"},
        {**CONFIG, "timeout": 0},
    ],
)
def test_invalid_config_publishes_nothing_and_blocks(config):
    network = FakeNetwork()
    relation = nfs_relation()
    share = testing.Relation("nfs-share", remote_app_name="static-pv-provisioner")
    out = make_context(network).run(
        testing.CharmEvents.config_changed(), state(config, relation, share)
    )
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith("invalid config: ")
    assert dict(out.get_relation(relation.id).local_unit_data).keys().isdisjoint(MOUNT)
    assert dict(out.get_relation(share.id).local_app_data) == {}
    assert network.calls == []  # nothing reaches the network with bad input


def test_status_names_option_and_rule():
    out = make_context().run(
        testing.CharmEvents.config_changed(), state({**CONFIG, "export-path": "/"})
    )
    assert out.unit_status == testing.BlockedStatus(
        "invalid config: export-path '/' must not be '/': "
        "export a directory of the NAS, not its root"
    )


def test_data_replaced_on_config_change_and_withdrawn_when_invalid():
    relation = nfs_relation(**MOUNT, export_name="old")
    ctx = make_context(FakeNetwork(exports=[Export("/volume2/k8s", ("*",))]))
    out = ctx.run(
        testing.CharmEvents.config_changed(),
        state({**CONFIG, "export-path": "/volume2/k8s"}, relation),
    )
    data = dict(out.get_relation(relation.id).local_unit_data)
    assert data["mountpoint"] == "/volume2/k8s"
    assert "export_name" not in data  # a stale optional key does not survive

    out = ctx.run(
        testing.CharmEvents.config_changed(), state({**CONFIG, "nas-host": ""}, relation)
    )
    assert dict(out.get_relation(relation.id).local_unit_data).keys().isdisjoint(MOUNT)


@pytest.mark.parametrize(
    ("network", "status"),
    [
        (FakeNetwork(reachable=False), "10.0.0.5:2049 unreachable: timed out after 5s"),
        (
            FakeNetwork(exports=[Export("/volume1/media", ("*",))]),
            "export /volume1/k8s not exported by 10.0.0.5 (exports: /volume1/media *)",
        ),
        (
            # issue 11 class 4: a directory inside an export is not "verified"
            FakeNetwork(exports=[Export("/volume1", ("*",))]),
            "export /volume1/k8s is not in 10.0.0.5's export list, only the export /volume1 * "
            "that holds it: a directory inside an export cannot be verified from here; set "
            "export-path to /volume1 or export /volume1/k8s on the NAS",
        ),
        (
            FakeNetwork(exports=None),
            "10.0.0.5: export list unavailable (MOUNT protocol: RPC: Port mapper failure): "
            "/volume1/k8s cannot be verified, so it is not published; let this node query the "
            "MOUNT protocol (showmount -e) or check the NAS",
        ),
    ],
)
def test_nothing_published_that_this_unit_could_not_verify(network, status):
    # kubernetes-worker keeps whatever manifest it rendered (facts §1): a wrong export must
    # never reach it, nor reach static-pv-provisioner as a share
    relation = nfs_relation(**MOUNT)
    share = share_relation(server="10.0.0.5")
    peers = testing.PeerRelation("peers", peers_data={1: {"verified": VERIFIED}})
    out = make_context(network).run(
        testing.CharmEvents.update_status(), state(CONFIG, relation, share, peers)
    )
    assert dict(out.get_relation(relation.id).local_unit_data).keys().isdisjoint(MOUNT)
    assert dict(out.get_relation(share.id).local_app_data) == {}
    assert "verified" not in out.get_relation(peers.id).local_unit_data  # "" unsets it
    assert out.unit_status == testing.BlockedStatus(f"{status} (nothing published)")


def test_worker_departing_leaves_other_relations_intact():
    leaving = nfs_relation(**MOUNT)
    staying = nfs_relation(**MOUNT)
    out = make_context().run(
        testing.CharmEvents.relation_departed(leaving, remote_unit=0),
        state(CONFIG, leaving, staying),
    )
    assert dict(out.get_relation(staying.id).local_unit_data).items() >= MOUNT.items()


# --- the nfs-share interface for static-pv-provisioner -------------------------------------


def share_relation(**app_data: str) -> testing.Relation:
    return testing.Relation(
        "nfs-share", remote_app_name="static-pv-provisioner", local_app_data=app_data
    )


def test_share_app_data_from_leader():
    share = share_relation()
    peers = testing.PeerRelation("peers", peers_data={1: {"verified": VERIFIED}})
    out = make_context().run(
        testing.CharmEvents.relation_joined(share), state(CONFIG, share, peers)
    )
    assert dict(out.get_relation(share.id).local_app_data) == {
        "server": "10.0.0.5",
        "export": "/volume1/k8s",
        "nfs-version": "4.1",
        "mount-options": "nfsvers=4.1,hard,timeo=600,retrans=2,noresvport",
        "verified": "true",
    }
    assert out.unit_status == testing.ActiveStatus("10.0.0.5:/volume1/k8s ready (nfsvers=4.1)")


@pytest.mark.parametrize(
    "peer",
    [
        {},  # not reported yet
        {"verified": ""},  # its pre-flight failed
        {"verified": "true"},  # a unit of the previous revision
        {"verified": "10.0.0.5:/volume2/k8s nfsvers=4.1"},  # verified the old config
    ],
)
def test_share_withheld_until_every_unit_verified_this_export(peer):
    share = share_relation(server="10.0.0.5", export="/volume1/old")
    peers = testing.PeerRelation("peers", peers_data={1: {"verified": VERIFIED}, 2: peer})
    out = make_context().run(testing.CharmEvents.update_status(), state(CONFIG, share, peers))
    assert dict(out.get_relation(share.id).local_app_data) == {}
    assert out.unit_status == testing.WaitingStatus(
        "10.0.0.5:/volume1/k8s ready (nfsvers=4.1); "
        "the share waits until every unit has verified it"
    )


def test_non_leader_writes_no_app_data_but_reports_to_peers():
    share = share_relation()
    peers = testing.PeerRelation("peers")
    out = make_context().run(
        testing.CharmEvents.update_status(), state(CONFIG, share, peers, leader=False)
    )
    assert dict(out.get_relation(share.id).local_app_data) == {}
    assert out.get_relation(peers.id).local_unit_data["verified"] == VERIFIED
    assert out.get_relation(peers.id).local_unit_data["address"] == "192.0.2.0"
    assert out.unit_status.name == "active"


def test_share_withdrawn_when_config_turns_invalid():
    share = share_relation(server="x")
    out = make_context().run(
        testing.CharmEvents.config_changed(), state({**CONFIG, "nas-host": ""}, share)
    )
    assert dict(out.get_relation(share.id).local_app_data) == {}


def test_peer_departure_recomputes_verified():
    share = share_relation()
    peers = testing.PeerRelation("peers", peers_data={})
    out = make_context().run(
        testing.CharmEvents.relation_departed(peers, remote_unit=2), state(CONFIG, share, peers)
    )
    assert out.get_relation(share.id).local_app_data["verified"] == "true"


# --- pre-flight and nfs-common mapped to status --------------------------------------------


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        (FakeNetwork(), testing.ActiveStatus("10.0.0.5:/volume1/k8s ready (nfsvers=4.1)")),
        (
            FakeNetwork(exports=[Export("/volume1/media", ("*",))]),
            testing.BlockedStatus(
                "export /volume1/k8s not exported by 10.0.0.5 (exports: /volume1/media *) "
                "(nothing published)"
            ),
        ),
        (
            FakeNetwork(reachable=False, connect_error="connection refused"),
            testing.BlockedStatus(
                "10.0.0.5:2049 unreachable: connection refused (nothing published)"
            ),
        ),
        (
            FakeNetwork(exports=[Export("/volume1/k8s", ("10.9.0.0/16",))]),
            testing.BlockedStatus(
                "export /volume1/k8s on 10.0.0.5 does not allow this node 192.0.2.0 "
                "(allowed: 10.9.0.0/16): add 192.0.2.0 on the NAS (nothing published)"
            ),
        ),
    ],
)
def test_preflight_result_is_the_status(network, expected):
    out = make_context(network).run(testing.CharmEvents.update_status(), state())
    assert out.unit_status == expected


def test_recovers_by_itself_on_update_status():
    network = FakeNetwork(reachable=False)
    ctx = make_context(network)
    out = ctx.run(testing.CharmEvents.update_status(), state())
    assert out.unit_status.name == "blocked"
    network.reachable = True
    out = ctx.run(testing.CharmEvents.update_status(), out)
    assert out.unit_status.name == "active"


def test_installs_nfs_common_when_missing():
    installed: list[bool] = []
    ctx = make_context(present=lambda: bool(installed), install=lambda: installed.append(True))
    out = ctx.run(testing.CharmEvents.install(), state())
    assert installed == [True]
    assert out.unit_status.name == "active"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (
            apt.PackageError("Failed to install packages: nfs-common"),
            "installing nfs-common failed: Failed to install packages: nfs-common",
        ),
        (apt.Error("E: dpkg was interrupted"),
         "installing nfs-common failed: E: dpkg was interrupted"),
        (
            subprocess.CalledProcessError(100, ["apt-get", "update"]),
            "installing nfs-common failed: apt-get update exited 100",
        ),
        (None, "installing nfs-common reported success but mount.nfs is missing "
               "(looked for /sbin/mount.nfs and /usr/sbin/mount.nfs)"),
    ],
)  # fmt: skip
def test_install_failure_blocks_with_worded_reason(monkeypatch, error, status):
    # the real install (homelab_core.apt) with charmlibs-apt failing underneath
    def add_package(*_args, **_kwargs):
        if error is not None:
            raise error

    monkeypatch.setattr(apt, "add_package", add_package)
    monkeypatch.setattr(core_apt, "nfs_client_present", lambda *_: False)
    ctx = make_context(present=lambda: False, install=core_apt.install_nfs_common)
    out = ctx.run(testing.CharmEvents.install(), state(CONFIG, nfs_relation()))
    assert out.unit_status == testing.BlockedStatus(
        f"{status}: NFS volumes cannot mount on this node"
    )
    assert "Error(" not in out.unit_status.message


def test_no_install_when_disabled():
    out = make_context(present=lambda: False).run(
        testing.CharmEvents.install(), state({**CONFIG, "install-nfs-common": False})
    )
    assert out.unit_status.name == "blocked"
    assert "install-nfs-common=false" in out.unit_status.message


# --- actions -------------------------------------------------------------------------------


def test_check_action_returns_steps_and_clients():
    peers = testing.PeerRelation("peers", peers_data={1: {"address": "10.0.0.8"}})
    ctx = make_context()
    ctx.run(ctx.on.action("check"), state(CONFIG, peers))
    results = ctx.action_results or {}
    assert results["verdict"] == "ready"
    assert results["clients"] == "10.0.0.8,192.0.2.0"
    steps = json.loads(results["steps"])
    assert [s["step"] for s in steps] == ["resolve", "connect", "exports", "export", "allowed"]
    assert all("seconds" in s for s in steps)


def test_check_action_fails_on_invalid_config():
    ctx = make_context()
    with pytest.raises(testing.ActionFailed) as caught:
        ctx.run(ctx.on.action("check"), state({**CONFIG, "nas-host": "a b"}))
    assert "nas-host 'a b' must not contain spaces" in caught.value.message


def test_show_exports_action():
    network = FakeNetwork(exports=[Export("/volume1/k8s", ("10.0.0.0/24",)), Export("/x", ())])
    ctx = make_context(network)
    ctx.run(ctx.on.action("show-exports"), state())
    assert ctx.action_results == {
        "server": "10.0.0.5",
        "exports": "/volume1/k8s 10.0.0.0/24\n/x (everyone)",
    }


def test_show_exports_action_fails_when_unreachable():
    ctx = make_context(FakeNetwork(exports=None))
    with pytest.raises(testing.ActionFailed) as caught:
        ctx.run(ctx.on.action("show-exports"), state())
    assert caught.value.message == "10.0.0.5: MOUNT protocol: RPC: Port mapper failure"
