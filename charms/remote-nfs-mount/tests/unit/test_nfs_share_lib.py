"""The nfs_share charm library: typed data, validation, provider → requirer round trip."""

from __future__ import annotations

from typing import ClassVar

import ops
import pytest
from charms.remote_nfs_mount.v0.nfs_share import (
    InvalidShareError,
    NfsShare,
    NfsShareProvider,
    NfsShareRequirer,
)
from ops import testing

SHARE = NfsShare(
    server="10.0.0.5",
    export="/volume1/k8s",
    nfs_version="4.1",
    mount_options=("nfsvers=4.1", "hard"),
    verified=True,
)


class Provider(ops.CharmBase):
    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.share = NfsShareProvider(self)
        framework.observe(self.on["nfs-share"].relation_joined, self._on_joined)

    def _on_joined(self, _: ops.EventBase) -> None:
        self.share.publish(SHARE)


class Requirer(ops.CharmBase):
    seen: ClassVar[list[NfsShare | str | None]] = []

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.share = NfsShareRequirer(self)
        framework.observe(self.on["nfs-share"].relation_changed, self._on_changed)
        framework.observe(self.on.update_status, self._on_changed)

    def _on_changed(self, _: ops.EventBase) -> None:
        try:
            Requirer.seen.append(self.share.get())
        except InvalidShareError as e:
            Requirer.seen.append(str(e))


PROVIDER_META = {"name": "p", "provides": {"nfs-share": {"interface": "nfs_share"}}}
REQUIRER_META = {"name": "r", "requires": {"nfs-share": {"interface": "nfs_share", "limit": 1}}}


def requirer_sees(app_data: dict[str, str] | None) -> NfsShare | str | None:
    Requirer.seen = []
    ctx = testing.Context(Requirer, meta=REQUIRER_META)
    relations = []
    if app_data is not None:
        relations.append(testing.Relation("nfs-share", remote_app_data=app_data))
    ctx.run(ctx.on.update_status(), testing.State(relations=relations))
    return Requirer.seen[-1]


def test_round_trip_provider_to_requirer():
    relation = testing.Relation("nfs-share")
    ctx = testing.Context(Provider, meta=PROVIDER_META)
    state = testing.State(relations=[relation], leader=True)
    out = ctx.run(ctx.on.relation_joined(relation), state)
    published = dict(out.get_relation(relation.id).local_app_data)
    assert published == {
        "server": "10.0.0.5",
        "export": "/volume1/k8s",
        "nfs-version": "4.1",
        "mount-options": "nfsvers=4.1,hard",
        "verified": "true",
    }
    assert requirer_sees(published) == SHARE


def test_non_leader_provider_publishes_nothing():
    relation = testing.Relation("nfs-share")
    ctx = testing.Context(Provider, meta=PROVIDER_META)
    out = ctx.run(ctx.on.relation_joined(relation), testing.State(relations=[relation]))
    assert dict(out.get_relation(relation.id).local_app_data) == {}


def test_requirer_without_relation_or_data_sees_none():
    assert requirer_sees(None) is None
    assert requirer_sees({}) is None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"server": "10.0.0.5"}, "incomplete: missing export, nfs-version, mount-options"),
        ({**SHARE.to_databag(), "export": "relative"}, "must be an absolute path"),
        ({**SHARE.to_databag(), "export": "/a/../b"}, "must not contain empty, '.' or '..'"),
        ({**SHARE.to_databag(), "export": "/k8s:"}, "must contain only letters"),
        ({**SHARE.to_databag(), "server": "nas box"}, "server 'nas box' must not contain spaces"),
        ({**SHARE.to_databag(), "server": "no"}, "YAML reads it as a boolean"),
        ({**SHARE.to_databag(), "server": "fe80::1%eth0\nx"}, "must not contain spaces"),
        ({**SHARE.to_databag(), "nfs-version": "5"}, "must be one of"),
        ({**SHARE.to_databag(), "mount-options": "hard;reboot"}, "which is not an NFS option"),
        ({**SHARE.to_databag(), "mount-options": "nfsvers=4.1,ro,rw"}, "contradict"),
        ({**SHARE.to_databag(), "mount-options": "nfsvers=3,hard"}, "another NFS version"),
        ({**SHARE.to_databag(), "verified": "yes"}, "is not true or false"),
        ({**SHARE.to_databag(), "server": "nas.lab\n"}, "must not contain spaces"),
        ({**SHARE.to_databag(), "mount-options": "nfsvers=4.1,ha\nrd"}, "must be one line"),
    ],
)
def test_requirer_reports_invalid_data(data, error):
    seen = requirer_sees(data)
    assert isinstance(seen, str)
    assert error in seen


def test_share_address():
    assert SHARE.address == "10.0.0.5:/volume1/k8s"


def test_an_unverified_share_is_never_published():
    class Unverified(Provider):
        def _on_joined(self, _: ops.EventBase) -> None:
            self.share.publish(NfsShare("10.0.0.5", "/k8s", "4.1", ("nfsvers=4.1",)))

    relation = testing.Relation("nfs-share", local_app_data={"server": "10.0.0.9"})
    ctx = testing.Context(Unverified, meta=PROVIDER_META)
    out = ctx.run(
        ctx.on.relation_joined(relation), testing.State(relations=[relation], leader=True)
    )
    assert dict(out.get_relation(relation.id).local_app_data) == {}  # withdrawn, not published


def test_unverified_round_trip():
    share = NfsShare("nas.lab", "/k8s", "3", ("nfsvers=3",))
    assert NfsShare.from_databag(share.to_databag()) == share
