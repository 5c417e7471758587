"""The charm as Juju drives it (ops.testing): relation data, statuses, actions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from fakes import FakeNetwork
from ops import testing

import packages
from charm import Packages, RemoteNfsMountCharm
from preflight import Export

CONFIG = {"nas-host": "10.0.0.5", "export-path": "/volume1/k8s"}
MOUNT = {
    "hostname": "10.0.0.5",
    "mountpoint": "/volume1/k8s",
    "fstype": "nfs",
    "options": "nfsvers=4.1,hard,timeo=600,retrans=2,noresvport",
}


CHARMCRAFT = yaml.safe_load((Path(__file__).parents[2] / "charmcraft.yaml").read_text())


class InstalledPackages(Packages):
    installed = staticmethod(lambda: True)


def make_context(
    network: FakeNetwork | None = None, pkgs: type[Packages] = InstalledPackages
) -> testing.Context[RemoteNfsMountCharm]:
    class Charm(RemoteNfsMountCharm):
        pass

    Charm.network = network or FakeNetwork()
    Charm.packages = pkgs
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
        "invalid config: export-path '/' is not allowed: "
        "export a directory of the NAS, not its root"
    )


def test_data_replaced_on_config_change_and_withdrawn_when_invalid():
    relation = nfs_relation(**MOUNT, export_name="old")
    ctx = make_context()
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


def test_mount_data_published_while_nas_down():
    # The entry is configuration; the NAS being down shows in the status, not by flapping data.
    relation = nfs_relation()
    out = make_context(FakeNetwork(reachable=False)).run(
        testing.CharmEvents.update_status(), state(CONFIG, relation)
    )
    assert dict(out.get_relation(relation.id).local_unit_data).items() >= MOUNT.items()
    assert out.unit_status == testing.BlockedStatus(
        "10.0.0.5:2049 unreachable: timed out after 5s"
    )


def test_worker_departing_leaves_other_relations_intact():
    leaving = nfs_relation(**MOUNT)
    staying = nfs_relation(**MOUNT)
    out = make_context().run(
        testing.CharmEvents.relation_departed(leaving, remote_unit=0),
        state(CONFIG, leaving, staying),
    )
    assert dict(out.get_relation(staying.id).local_unit_data).items() >= MOUNT.items()


# --- the nfs-share interface for static-pv-provisioner -------------------------------------


def share_relation() -> testing.Relation:
    return testing.Relation("nfs-share", remote_app_name="static-pv-provisioner")


def test_share_app_data_from_leader():
    share = share_relation()
    peers = testing.PeerRelation("peers", peers_data={1: {"verified": "true"}})
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


def test_share_not_verified_until_every_unit_is():
    share = share_relation()
    peers = testing.PeerRelation(
        "peers", peers_data={1: {"verified": "true"}, 2: {"verified": "false"}}
    )
    out = make_context().run(testing.CharmEvents.update_status(), state(CONFIG, share, peers))
    assert out.get_relation(share.id).local_app_data["verified"] == "false"


def test_share_not_verified_when_this_unit_fails():
    share = share_relation()
    peers = testing.PeerRelation("peers", peers_data={1: {"verified": "true"}})
    out = make_context(FakeNetwork(exports=[])).run(
        testing.CharmEvents.update_status(), state(CONFIG, share, peers)
    )
    assert out.get_relation(share.id).local_app_data["verified"] == "false"
    assert out.get_relation(peers.id).local_unit_data["verified"] == "false"


def test_non_leader_writes_no_app_data_but_reports_to_peers():
    share = share_relation()
    peers = testing.PeerRelation("peers")
    out = make_context().run(
        testing.CharmEvents.update_status(), state(CONFIG, share, peers, leader=False)
    )
    assert dict(out.get_relation(share.id).local_app_data) == {}
    assert out.get_relation(peers.id).local_unit_data["verified"] == "true"
    assert out.get_relation(peers.id).local_unit_data["address"] == "192.0.2.0"


def test_share_withdrawn_when_config_turns_invalid():
    share = testing.Relation(
        "nfs-share", remote_app_name="static-pv-provisioner", local_app_data={"server": "x"}
    )
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
                "export /volume1/k8s not exported by 10.0.0.5 (exports: /volume1/media)"
            ),
        ),
        (
            FakeNetwork(reachable=False, connect_error="connection refused"),
            testing.BlockedStatus("10.0.0.5:2049 unreachable: connection refused"),
        ),
        (
            FakeNetwork(exports=[Export("/volume1/k8s", ("10.9.0.0/16",))]),
            testing.BlockedStatus(
                "export /volume1/k8s on 10.0.0.5 does not allow this node 192.0.2.0 "
                "(allowed: 10.9.0.0/16): add 192.0.2.0 on the NAS"
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

    class Missing(Packages):
        installed = staticmethod(lambda: bool(installed))
        install = staticmethod(lambda: installed.append(True))

    out = make_context(pkgs=Missing).run(testing.CharmEvents.install(), state())
    assert installed == [True]
    assert out.unit_status.name == "active"


def test_install_failure_blocks_with_reason():
    def fail() -> None:
        raise packages.PackageInstallError("installing nfs-common failed: no candidate")

    class Broken(Packages):
        installed = staticmethod(lambda: False)
        install = staticmethod(fail)

    out = make_context(pkgs=Broken).run(testing.CharmEvents.install(), state())
    assert out.unit_status == testing.BlockedStatus(
        "installing nfs-common failed: no candidate: NFS volumes cannot mount on this node"
    )


def test_no_install_when_disabled():
    class Missing(Packages):
        installed = staticmethod(lambda: False)

        @staticmethod
        def install() -> None:
            raise AssertionError("must not install")

    out = make_context(pkgs=Missing).run(
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
