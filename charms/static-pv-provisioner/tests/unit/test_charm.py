"""The charm in ops.testing, with the cluster and the NAS mount injected by subclassing.

What is asserted is what a user sees: the unit status, the objects in the (in-memory) cluster,
the directories on the (local) export, and action results.
"""

from __future__ import annotations

import dataclasses
import json
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes import FakeApi, LinkMounter
from ops import testing

import cluster
import manifests
import nas
import provisioner
from charm import StaticPvProvisionerCharm
from constants import DEFAULT_CLASS_ANNOTATION, LABEL_MANAGED_BY, MARKER_ANNOTATION
from pool import Target, parse_pool, parse_size

MODEL_UUID = "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c"  # one model across runs

CHARMCRAFT = yaml.safe_load((Path(__file__).parents[2] / "charmcraft.yaml").read_text())
KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: ck, cluster: {server: "https://10.0.0.10:6443"}}]
users: [{name: admin, user: {token: s3cr3t-t0ken}}]
contexts: [{name: ck, context: {cluster: ck, user: admin}}]
current-context: ck
"""
SHARE = {
    "server": "10.0.0.5",
    "export": "/volume1/k8s",
    "nfs-version": "4.1",
    "mount-options": "nfsvers=4.1,hard,timeo=600,retrans=2,noresvport",
    "verified": "true",
}
OWNER = manifests.ownership_labels("k8s", "static-pv-provisioner")


@dataclass
class World:
    """The injected cluster, NAS and host, and a Context whose charm uses them."""

    api: FakeApi
    export: Path
    kubeconfig: Path
    mounter: LinkMounter
    installs: list[tuple[str, ...]] = field(default_factory=list)
    nfs_client: bool = True
    clock: float = 1_000_000.0
    ctx: Any = None
    charm: Any = None  # the charm class with the injections, for tests that add their own

    def run(self, event: Any, state: testing.State) -> testing.State:
        return self.ctx.run(event, state)


@pytest.fixture
def world(tmp_path: Path) -> World:
    export = tmp_path / "export"
    export.mkdir()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    w = World(api=FakeApi(), export=export, kubeconfig=kubeconfig, mounter=LinkMounter(export))

    class Charm(StaticPvProvisionerCharm):
        cluster_factory = staticmethod(w.api.connect)
        mounter = w.mounter
        nfs_client_present = staticmethod(lambda: w.nfs_client)
        install_packages = staticmethod(lambda packages: w.installs.append(tuple(packages)))
        clock = staticmethod(lambda: w.clock)

    w.charm = Charm
    w.ctx = testing.Context(
        Charm,
        meta=CHARMCRAFT,
        app_name="static-pv-provisioner",
    )
    return w


def share_relation(data: dict[str, str] | None = None) -> testing.Relation:
    return testing.Relation("nfs-share", remote_app_name="nas", remote_app_data=data or {})


def state(
    world: World,
    *,
    leader: bool = True,
    share: dict[str, str] | None = SHARE,
    config: dict[str, Any] | None = None,
    secrets: tuple[testing.Secret, ...] = (),
    relations: tuple[Any, ...] = (),
) -> testing.State:
    rels = list(relations)
    if share is not None:
        rels.append(share_relation(share))
    rels.append(
        testing.SubordinateRelation("juju-info", remote_app_name="kubernetes-control-plane")
    )
    return testing.State(
        leader=leader,
        config={"kubeconfig-path": str(world.kubeconfig), **(config or {})},
        relations=rels,
        secrets=list(secrets),
        model=testing.Model(name="k8s", uuid=MODEL_UUID),
    )


def target(pool: str = "10Gi:8,50Gi:4") -> Target:
    return Target(
        class_name="homelab-nfs",
        server="10.0.0.5",
        export="/volume1/k8s",
        mount_options=tuple(SHARE["mount-options"].split(",")),
        sizes=parse_pool(pool, 32),
        min_available=2,
        max_per_size=32,
    )


# The happy path.


def test_first_reconcile_creates_class_pool_and_directories(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world))
    assert out.unit_status == testing.ActiveStatus(
        "homelab-nfs: 12 PVs (12 available, 0 bound, 0 released) on 10.0.0.5:/volume1/k8s"
    )
    sc = world.api.classes["homelab-nfs"]
    assert sc["provisioner"] == "kubernetes.io/no-provisioner"
    assert sc["volumeBindingMode"] == "Immediate"
    assert "annotations" not in sc["metadata"]
    names = sorted(world.api.pvs)
    assert names[:2] == ["homelab-nfs-10gi-001", "homelab-nfs-10gi-002"]
    assert names[-1] == "homelab-nfs-50gi-004"
    pv = world.api.pvs["homelab-nfs-10gi-003"]
    assert pv["spec"]["nfs"] == {"server": "10.0.0.5", "path": "/volume1/k8s/homelab-nfs-10gi-003"}
    assert pv["spec"]["mountOptions"] == SHARE["mount-options"].split(",")
    assert pv["metadata"]["labels"][LABEL_MANAGED_BY] == "static-pv-provisioner"
    # Every directory exists on the export, 1777 root:root (the default: any workload uid
    # can write, Kubernetes applies no fsGroup to NFS), before its PV, with its
    # ownership marker beside it (never inside: the workload's directory stays empty).
    dirs = sorted(p.name for p in world.export.iterdir())
    assert dirs == [".static-pv-provisioner", *names]
    assert sorted(p.name for p in (world.export / ".static-pv-provisioner").iterdir()) == [
        f"{n}.json" for n in names
    ]
    mark = json.loads((world.export / ".static-pv-provisioner" / f"{names[0]}.json").read_text())
    assert mark == {
        "managed-by": "static-pv-provisioner",
        "model": "k8s",
        "model-uuid": MODEL_UUID,
        "application": "static-pv-provisioner",
        "class": "homelab-nfs",
        "volume": names[0],
    }
    assert list((world.export / names[0]).iterdir()) == []
    assert pv["metadata"]["annotations"] == {MARKER_ANNOTATION: "v1"}
    assert stat.S_IMODE((world.export / names[0]).stat().st_mode) == 0o1777
    # One admin mount, soft with the mount timeout, the share's version kept.
    ((source, options),) = world.mounter.mounts
    assert source == "10.0.0.5:/volume1/k8s"
    assert options == (
        "nfsvers=4.1", "noresvport", "rw", "fg", "soft", "timeo=100", "retrans=1",
    )  # fmt: skip


def test_unverified_share_is_used_and_said(world: World) -> None:
    share = {**SHARE, "verified": "false"}
    out = world.run(world.ctx.on.config_changed(), state(world, share=share))
    assert out.unit_status == testing.ActiveStatus(
        "homelab-nfs: 12 PVs (12 available, 0 bound, 0 released) on 10.0.0.5:/volume1/k8s; "
        "remote-nfs-mount has not verified the share on every node yet"
    )


def test_steady_state_update_status_is_one_list_and_no_writes(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world))
    world.api.calls.clear()
    world.mounter.mounts.clear()
    out = world.run(world.ctx.on.update_status(), out)
    assert world.api.calls == [("list_volumes", "")]
    assert world.mounter.mounts == []
    assert out.unit_status.name == "active"
    # After an hour the StorageClass is re-read once; config events always re-read it.
    world.clock += 3601
    world.api.calls.clear()
    out = world.run(world.ctx.on.update_status(), out)
    assert world.api.calls == [("list_volumes", ""), ("list_classes", "")]
    world.api.calls.clear()
    world.run(world.ctx.on.config_changed(), out)
    assert world.api.calls == [("list_volumes", ""), ("list_classes", "")]


def test_top_up_when_claims_consume_volumes(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world))
    for i in range(1, 8):
        world.api.set_phase(f"homelab-nfs-10gi-00{i}", "Bound", f"kubeflow/claim-{i}")
    out = world.run(world.ctx.on.update_status(), out)
    assert "homelab-nfs-10gi-009" in world.api.pvs
    assert out.unit_status == testing.ActiveStatus(
        "homelab-nfs: 13 PVs (6 available, 7 bound, 0 released) on 10.0.0.5:/volume1/k8s"
    )


def test_a_slow_pv_controller_never_grows_the_pool(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world))
    for name in world.api.pvs:
        world.api.set_phase(name, "Pending")  # not seen by the PV controller yet
    for _ in range(3):
        world.api.calls.clear()
        out = world.run(world.ctx.on.update_status(), out)
        assert world.api.writes() == []
    assert len(world.api.pvs) == 12
    assert out.unit_status == testing.ActiveStatus(
        "homelab-nfs: 12 PVs (0 available, 0 bound, 0 released, 12 pending) on "
        "10.0.0.5:/volume1/k8s"
    )


def test_shrink_keeps_used_volumes_and_says_so(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world))
    world.api.set_phase("homelab-nfs-50gi-001", "Bound", "kubeflow/minio")
    world.api.set_phase("homelab-nfs-50gi-002", "Released", "kubeflow/old")
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "10Gi:8"}))
    assert sorted(n for n in world.api.pvs if "50gi" in n) == [
        "homelab-nfs-50gi-001",
        "homelab-nfs-50gi-002",
    ]
    assert out.unit_status == testing.ActiveStatus(
        "homelab-nfs: 10 PVs (8 available, 1 bound, 1 released) on 10.0.0.5:/volume1/k8s; "
        "2 in-use PVs could not be removed"
    )
    # Data stays on the NAS.
    assert (world.export / "homelab-nfs-50gi-004").is_dir()


def test_shrinking_below_the_claims_says_how_many_stay(world: World) -> None:
    config: dict[str, Any] = {"pool": "10Gi:8", "min-available": 0}
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    for i in range(1, 6):
        world.api.set_phase(f"homelab-nfs-10gi-00{i}", "Bound", f"kubeflow/claim-{i}")
    config["pool"] = "10Gi:2"
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    assert len(world.api.pvs) == 5
    assert out.unit_status == testing.ActiveStatus(
        "homelab-nfs: 5 PVs (0 available, 5 bound, 0 released) on 10.0.0.5:/volume1/k8s; "
        "3 in-use PVs could not be removed"
    )


def test_non_leader_is_standby_and_never_calls_the_api(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, leader=False))
    assert out.unit_status == testing.ActiveStatus("standby: the leader unit manages homelab-nfs")
    assert world.api.calls == []


def test_install_installs_nfs_common_when_missing(world: World) -> None:
    world.nfs_client = False
    out = world.run(world.ctx.on.install(), state(world))
    assert world.installs == [("nfs-common",)]
    assert out.unit_status == testing.BlockedStatus(
        "nfs-common is not installed (no mount.nfs on this host)"
    )
    world.nfs_client = True
    world.installs.clear()
    world.run(world.ctx.on.install(), state(world))
    assert world.installs == []


# The share: relation or config.


def test_share_from_config_with_default_options(world: World) -> None:
    config = {"nfs-server": "nas.lab.example", "nfs-export": "/srv/k8s", "pool": "1Gi:1"}
    out = world.run(world.ctx.on.config_changed(), state(world, share=None, config=config))
    assert out.unit_status.message.endswith("on nas.lab.example:/srv/k8s")
    pv = world.api.pvs["homelab-nfs-1gi-001"]
    assert pv["spec"]["mountOptions"] == [
        "nfsvers=4.1",
        "hard",
        "timeo=600",
        "retrans=2",
        "noresvport",
    ]


def test_config_mount_options_override(world: World) -> None:
    config = {"nfs-mount-options": "nfsvers=3,hard,nolock", "pool": "1Gi:1"}
    world.run(world.ctx.on.config_changed(), state(world, config=config))
    assert world.api.pvs["homelab-nfs-1gi-001"]["spec"]["mountOptions"] == [
        "nfsvers=3",
        "hard",
        "nolock",
    ]


@pytest.mark.parametrize(
    ("share", "config", "status"),
    [
        (None, {}, testing.BlockedStatus(
            "no NAS: relate to remote-nfs-mount (nfs-share) or set nfs-server and nfs-export")),
        (None, {"nfs-server": "10.0.0.5"}, testing.BlockedStatus(
            "no NAS: relate to remote-nfs-mount (nfs-share) or set nfs-server and nfs-export")),
        ({}, {}, testing.WaitingStatus("waiting for the nfs-share relation to publish a share")),
        (SHARE, {"nfs-server": "10.0.0.6", "nfs-export": "/volume1/k8s"}, testing.BlockedStatus(
            "nfs-share relation gives 10.0.0.5:/volume1/k8s but nfs-server says 10.0.0.6: "
            "clear the option or remove the relation")),
        (SHARE, {"nfs-export": "/volume2"}, testing.BlockedStatus(
            "nfs-share relation gives 10.0.0.5:/volume1/k8s but nfs-export says /volume2: "
            "clear the option or remove the relation")),
        (SHARE, {"nfs-server": "10.0.0.6", "nfs-export": "/volume2"}, testing.BlockedStatus(
            "nfs-share relation gives 10.0.0.5:/volume1/k8s but nfs-server says 10.0.0.6 and "
            "nfs-export says /volume2: clear the option or remove the relation")),
        ({**SHARE, "export": "relative"}, {}, testing.BlockedStatus(
            "nfs-share relation: export 'relative' must be an absolute path (start with /)")),
        ({"server": "10.0.0.5"}, {}, testing.BlockedStatus(
            "nfs-share relation: nfs-share data incomplete: missing export, nfs-version, "
            "mount-options")),
        (None, {"nfs-server": "bad host!", "nfs-export": "/x"}, testing.BlockedStatus(
            "nfs-server/nfs-export: server 'bad host!' must not contain spaces, newlines or "
            "control characters")),
        (SHARE, {"nfs-mount-options": "hard,$(reboot)"}, testing.BlockedStatus(
            "nfs-share relation/nfs-mount-options: mount-options 'hard,$(reboot)' has "
            "'$(reboot)', which is not an NFS option (name or name=value)")),
    ],
)  # fmt: skip
def test_share_problems(world: World, share: Any, config: Any, status: Any) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, share=share, config=config))
    assert out.unit_status == status
    assert world.api.writes() == []


@pytest.mark.parametrize(
    "config", [{"nfs-server": "10.0.0.5"}, {"nfs-export": "/volume1/k8s"}], ids=str
)
def test_one_option_equal_to_the_relation_is_fine(world: World, config: dict[str, str]) -> None:
    # The description: "With a relation it must be empty or equal to the relation's server".
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    assert out.unit_status.name == "active", out.unit_status


def test_share_relation_broken_falls_back_to_config_or_blocks(world: World) -> None:
    relation = share_relation(SHARE)
    base = state(world, share=None, relations=(relation,))
    out = world.run(world.ctx.on.relation_broken(relation), base)
    assert out.unit_status == testing.BlockedStatus(
        "no NAS: relate to remote-nfs-mount (nfs-share) or set nfs-server and nfs-export"
    )
    assert world.api.calls == []
    config = {"nfs-server": "10.0.0.5", "nfs-export": "/volume1/k8s", "pool": "1Gi:1"}
    base = state(world, share=None, relations=(relation,), config=config)
    out = world.run(world.ctx.on.relation_broken(relation), base)
    assert out.unit_status.name == "active"


def test_failed_reconcile_rechecks_the_class_next_time(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world))
    world.api.faults["list_volumes"] = cluster.UnavailableError("Kubernetes API timed out")
    out = world.run(world.ctx.on.config_changed(), out)
    assert out.unit_status.name == "waiting"
    world.api.calls.clear()
    out = world.run(world.ctx.on.update_status(), out)
    assert ("list_classes", "") in world.api.calls
    assert out.unit_status.name == "active"


def test_same_share_in_config_and_relation_is_fine(world: World) -> None:
    config = {"nfs-server": "10.0.0.5", "nfs-export": "/volume1/k8s", "pool": "1Gi:1"}
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    assert out.unit_status.name == "active"


# Bad config.


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"pool": "lots"}, "pool entry 'lots': expected size:count, e.g. 10Gi:8"),
        ({"pool": "10GB:3"}, "pool entry '10GB:3': size '10GB' is not a whole number of Mi, "
         "Gi or Ti (Kubernetes binary units: write 10Gi, not 10GB or 10G)"),
        ({"pool": "-1Gi:2"}, "pool entry '-1Gi:2': size '-1Gi' is not a whole number of Mi, "
         "Gi or Ti"),
        ({"pool": "10Gi:0"}, "pool entry '10Gi:0': count must be at least 1 (leave the size out)"),
        ({"pool": "10Gi:100000"}, "pool entry '10Gi:100000': count 100000 is more than "
         "max-per-size 32"),
        ({"pool": "10Gi:1,10Gi:2"}, "pool entry '10Gi:2': size 10Gi is given more than once"),
        ({"storage-class": "Homelab_NFS"}, "storage-class 'Homelab_NFS' is not a DNS-1123 "
         "subdomain (lower-case letters, digits, '-' and '.', starting and ending alphanumeric)"),
        ({"min-available": 50}, "min-available 50 must be between 0 and max-per-size (32)"),
        ({"max-per-size": 0}, "max-per-size 0 must be between 1 and 999"),
        ({"volume-binding-mode": "Later"}, "volume-binding-mode 'Later' is not one of "
         "Immediate, WaitForFirstConsumer"),
        ({"directory-mode": "999"}, "directory-mode '999' must be an octal mode such as 0770 "
         "or 2775"),
        ({"directory-owner": "root"}, "directory-owner 'root' must be numeric uid:gid, e.g. 0:0 "
         "or 1000:100"),
        ({"mount-timeout": 0}, "mount-timeout 0 must be 1 to 120"),
    ],
)  # fmt: skip
def test_bad_config_blocks_with_the_rule_and_writes_nothing(
    world: World, config: dict[str, Any], message: str
) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    assert out.unit_status == testing.BlockedStatus(message)
    assert world.api.calls == []


# Credentials.


def test_missing_kubeconfig_file(world: World) -> None:
    config = {"kubeconfig-path": "/nonexistent/config"}
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    assert out.unit_status == testing.BlockedStatus(
        "no cluster credentials: kubeconfig-secret is not set and kubeconfig-path "
        "/nonexistent/config does not exist"
    )


def test_no_kubeconfig_source_at_all(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, config={"kubeconfig-path": ""}))
    assert out.unit_status == testing.BlockedStatus(
        "no cluster credentials: set kubeconfig-secret or kubeconfig-path"
    )


def test_unreadable_kubeconfig_file(world: World, tmp_path: Path) -> None:
    config = {"kubeconfig-path": str(tmp_path)}  # a directory
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    assert out.unit_status == testing.BlockedStatus(
        f"kubeconfig-path {tmp_path}: not a regular file (a directory)"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not yaml", "is not valid YAML"),
        ("- a list", "is not a kubeconfig (kind: Config)"),
        ("kind: Config\ncontexts: []\n", "has no usable current-context"),
        (
            "kind: Config\ncurrent-context: x\ncontexts: [{name: x, context: {cluster: y}}]\n",
            "has no cluster with a server for context 'x'",
        ),
        ("kind: Config\ncontexts: [1]\n", "has no usable current-context"),
        ("kind: Config\ncontexts: 7\n", "has no usable current-context"),
        (
            "kind: Config\ncurrent-context: [x]\ncontexts: [{name: x}]\n",
            "has no usable current-context",
        ),
        ("kind: Config\ncontexts: [{name: x, context: [1]}]\n", "has no usable current-context"),
        (
            "kind: Config\ncontexts: [{name: x, context: {cluster: [1]}}]\nclusters: [5, {}]\n",
            "has no cluster with a server for context 'x'",
        ),
    ],
)
def test_invalid_kubeconfig_never_echoes_content(world: World, content: str, message: str) -> None:
    world.kubeconfig.write_text(content)
    out = world.run(world.ctx.on.config_changed(), state(world))
    assert out.unit_status == testing.BlockedStatus(
        f"kubeconfig-path {world.kubeconfig} {message}"
    )


@pytest.mark.parametrize(
    ("user", "option"),
    [
        ({"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "touch"}}, "exec"),
        ({"auth-provider": {"name": "oidc", "config": {"cmd-path": "touch"}}}, "auth-provider"),
    ],
)
def test_kubeconfig_that_runs_a_command_is_refused(
    world: World, tmp_path: Path, user: dict[str, Any], option: str
) -> None:
    marker = tmp_path / "ran"
    for value in user.values():
        value.update(args=[str(marker)])
    content = yaml.safe_load(KUBECONFIG)
    content["users"][0]["user"] = user
    secret = testing.Secret(tracked_content={"kubeconfig": yaml.safe_dump(content)})
    for config, secrets, source in (
        ({"kubeconfig-secret": secret.id}, (secret,), f"kubeconfig-secret {secret.id}"),
        ({}, (), f"kubeconfig-path {world.kubeconfig}"),
    ):
        world.kubeconfig.write_text(yaml.safe_dump(content))
        out = world.run(
            world.ctx.on.config_changed(), state(world, config=config, secrets=secrets)
        )
        assert out.unit_status == testing.BlockedStatus(
            f"{source}: the user of context 'ck' uses {option!r}, which runs a command to get "
            "credentials; the charm never runs commands from credentials (it would run as root "
            "in every hook): use a token or a client certificate"
        )
    assert world.api.kubeconfigs == []
    assert not marker.exists()
    # A user of another context may have one: only the user the charm uses matters.
    content["users"].append({"name": "admin", "user": {"token": "t"}})
    content["users"][0]["name"] = "sso"
    world.kubeconfig.write_text(yaml.safe_dump(content))
    out = world.run(world.ctx.on.config_changed(), state(world))
    assert out.unit_status.name == "active"


def test_secret_kubeconfig_is_preferred(world: World) -> None:
    secret = testing.Secret(tracked_content={"kubeconfig": KUBECONFIG})
    config = {"kubeconfig-secret": secret.id, "kubeconfig-path": "/nonexistent"}
    out = world.run(world.ctx.on.config_changed(), state(world, config=config, secrets=(secret,)))
    assert out.unit_status.name == "active"
    assert world.api.kubeconfigs[-1].source == f"kubeconfig-secret {secret.id}"
    assert getattr(world.api.kubeconfigs[-1], "path", None) is None  # no file behind it


def test_secret_problems(world: World) -> None:
    empty = testing.Secret(tracked_content={"other": "x"})
    config = {"kubeconfig-secret": empty.id}
    out = world.run(world.ctx.on.config_changed(), state(world, config=config, secrets=(empty,)))
    assert out.unit_status == testing.BlockedStatus(
        f"kubeconfig-secret {empty.id} has no 'kubeconfig' key"
    )
    config = {"kubeconfig-secret": "secret:d0000000000000000000"}
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    assert out.unit_status == testing.BlockedStatus(
        "kubeconfig-secret secret:d0000000000000000000 not found or not granted "
        "(juju grant-secret secret:d0000000000000000000 static-pv-provisioner)"
    )
    bad = testing.Secret(tracked_content={"kubeconfig": "token: s3cr3t-t0ken\n"})
    config = {"kubeconfig-secret": bad.id}
    out = world.run(world.ctx.on.config_changed(), state(world, config=config, secrets=(bad,)))
    assert out.unit_status == testing.BlockedStatus(
        f"kubeconfig-secret {bad.id} has no usable current-context"
    )
    assert "s3cr3t" not in out.unit_status.message


# StorageClass rules.


def test_set_default_when_no_other_class_is_default(world: World) -> None:
    world.run(world.ctx.on.config_changed(), state(world, config={"set-default": True}))
    annotations = world.api.classes["homelab-nfs"]["metadata"]["annotations"]
    assert annotations == {DEFAULT_CLASS_ANNOTATION: "true"}
    # Turning it off takes our marking back.
    world.run(world.ctx.on.config_changed(), state(world, config={"set-default": False}))
    annotations = world.api.classes["homelab-nfs"]["metadata"]["annotations"]
    assert annotations == {DEFAULT_CLASS_ANNOTATION: "false"}


def test_a_default_marking_set_by_someone_else_is_left(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world))
    sc = world.api.classes["homelab-nfs"]
    sc["metadata"]["annotations"] = {DEFAULT_CLASS_ANNOTATION: "true"}  # kubectl annotate
    world.api.calls.clear()
    world.clock += 3601
    out = world.run(world.ctx.on.update_status(), out)
    assert world.api.writes() == []  # not ours to take back: no write, now or hourly
    assert sc["metadata"]["annotations"] == {DEFAULT_CLASS_ANNOTATION: "true"}
    assert out.unit_status.name == "active"


def test_never_steals_the_default(world: World) -> None:
    world.api.classes["local-path"] = {
        "kind": "StorageClass",
        "metadata": {"name": "local-path", "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": "rancher.io/local-path",
    }
    out = world.run(world.ctx.on.config_changed(), state(world, config={"set-default": True}))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.endswith(
        "; set-default: local-path is already the default StorageClass (never taken from "
        "another class)"
    )
    assert "annotations" not in world.api.classes["homelab-nfs"]["metadata"]
    assert len(world.api.pvs) == 12  # the pool is still kept
    assert world.api.classes["local-path"]["metadata"]["annotations"] == {
        DEFAULT_CLASS_ANNOTATION: "true"
    }


def test_renaming_our_default_class_moves_the_default_and_deletes_the_old_one(
    world: World,
) -> None:
    config: dict[str, Any] = {"set-default": True, "pool": "1Gi:2"}
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    world.api.set_phase("homelab-nfs-1gi-001", "Bound", "kubeflow/data")
    config["storage-class"] = "lab-nfs"
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    # Our own old class is not "another default": the new one is default, the old one not.
    assert out.unit_status == testing.ActiveStatus(
        "lab-nfs: 3 PVs (2 available, 1 bound, 0 released) on 10.0.0.5:/volume1/k8s; "
        "1 in-use PVs left on an old class or share; kept old StorageClass homelab-nfs "
        "(1 PVs use it)"
    )
    assert world.api.classes["lab-nfs"]["metadata"]["annotations"] == {
        DEFAULT_CLASS_ANNOTATION: "true"
    }
    old = world.api.classes["homelab-nfs"]["metadata"]["annotations"]
    assert old == {DEFAULT_CLASS_ANNOTATION: "false"}
    # Once no PV uses it, the old class goes (at the next class check).
    del world.api.pvs["homelab-nfs-1gi-001"]
    world.clock += 3601
    out = world.run(world.ctx.on.update_status(), out)
    assert sorted(world.api.classes) == ["lab-nfs"]
    assert out.unit_status == testing.ActiveStatus(
        "lab-nfs: 2 PVs (2 available, 0 bound, 0 released) on 10.0.0.5:/volume1/k8s"
    )
    # The steady state after that is unchanged: one LIST, no write.
    world.api.calls.clear()
    world.run(world.ctx.on.update_status(), out)
    assert world.api.calls == [("list_volumes", "")]


def test_a_foreign_default_still_counts_after_a_rename(world: World) -> None:
    world.api.classes["local-path"] = {
        "kind": "StorageClass",
        "metadata": {
            "name": "local-path",
            "labels": {LABEL_MANAGED_BY: "static-pv-provisioner"},  # not all our labels
            "annotations": {DEFAULT_CLASS_ANNOTATION: "true"},
        },
        "provisioner": "rancher.io/local-path",
    }
    config = {"set-default": True, "storage-class": "lab-nfs"}
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    assert out.unit_status.name == "blocked"
    assert "set-default: local-path is already the default StorageClass" in out.unit_status.message
    assert "local-path" in world.api.classes


def test_foreign_class_of_the_same_name_blocks_unless_adopted(world: World) -> None:
    foreign = {
        "kind": "StorageClass",
        "metadata": {"name": "default", "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": "fuseim.pri/ifs",
    }
    world.api.classes["default"] = dict(foreign)
    out = world.run(
        world.ctx.on.config_changed(), state(world, config={"storage-class": "default"})
    )
    assert out.unit_status == testing.BlockedStatus(
        "StorageClass default exists and is not managed by this application: set "
        "adopt-class=true to use it unchanged, or choose another storage-class"
    )
    assert world.api.writes() == []
    config = {"storage-class": "default", "adopt-class": True, "set-default": True}
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    note = "; set-default is ignored with adopt-class (the adopted class is used unchanged)"
    assert out.unit_status == testing.ActiveStatus(
        f"default: 12 PVs (12 available, 0 bound, 0 released) on 10.0.0.5:/volume1/k8s{note}"
    )
    out = world.run(world.ctx.on.update_status(), out)  # the steady state says it too
    assert out.unit_status.message.endswith(note)
    assert world.api.classes["default"] == foreign
    assert world.api.pvs["default-10gi-001"]["spec"]["storageClassName"] == "default"


def test_adopting_a_missing_class_waits(world: World) -> None:
    config = {"storage-class": "default", "adopt-class": True}
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    assert out.unit_status == testing.WaitingStatus(
        "adopt-class: waiting for StorageClass default to exist"
    )
    assert world.api.writes() == []


def test_binding_mode_change_recreates_our_class(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world))
    world.api.calls.clear()
    config = {"volume-binding-mode": "WaitForFirstConsumer"}
    world.run(world.ctx.on.config_changed(), state(world, config=config))
    assert world.api.writes() == [
        ("delete", "StorageClass/homelab-nfs"),
        ("create", "StorageClass/homelab-nfs"),
    ]
    assert world.api.classes["homelab-nfs"]["volumeBindingMode"] == "WaitForFirstConsumer"
    assert out is not None


# Collisions.


def test_foreign_pv_with_our_name_is_never_touched(world: World) -> None:
    foreign = manifests.persistent_volume(target(), "homelab-nfs-10gi-001", parse_size("10Gi"), {})
    foreign["spec"]["nfs"]["path"] = "/somewhere/else"
    world.api.add_pv(foreign, "Bound", "default/theirs")
    before = dict(world.api.pvs["homelab-nfs-10gi-001"])
    out = world.run(world.ctx.on.config_changed(), state(world))
    assert out.unit_status.name == "blocked"
    assert "name collision: PV homelab-nfs-10gi-001 exists without this application's labels" in (
        out.unit_status.message
    )
    assert world.api.pvs["homelab-nfs-10gi-001"] == before
    assert "homelab-nfs-10gi-008" in world.api.pvs  # the other names are created
    assert "homelab-nfs-10gi-009" not in world.api.pvs  # the collision keeps its slot
    # Its name's directory on the NAS was never touched (it may be the foreign PV's).
    assert not (world.export / "homelab-nfs-10gi-001").exists()
    # While it lasts: the LIST of ours, the LIST by name, no mount, no write, still Blocked.
    world.api.calls.clear()
    world.mounter.mounts.clear()
    for _ in range(2):
        out = world.run(world.ctx.on.update_status(), out)
    assert world.api.calls == [("list_volumes", "")] * 4
    assert world.mounter.mounts == []
    assert out.unit_status.name == "blocked"


def test_a_foreign_pv_directory_keeps_its_mode_and_owner(world: World) -> None:
    foreign = manifests.persistent_volume(target(), "homelab-nfs-1gi-001", parse_size("1Gi"), {})
    world.api.add_pv(foreign, "Bound", "default/theirs")
    theirs = world.export / "homelab-nfs-1gi-001"
    theirs.mkdir(mode=0o755)
    theirs.chmod(0o755)
    world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:1"}))
    assert stat.S_IMODE(theirs.stat().st_mode) == 0o755
    assert sorted(world.api.pvs) == ["homelab-nfs-1gi-001", "homelab-nfs-1gi-002"]


# Faults.


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (cluster.UnauthorizedError("Kubernetes API rejected the credentials (401)"), "blocked"),
        (cluster.ForbiddenError("not allowed to list persistentvolumes (403)"), "blocked"),
        (cluster.UnavailableError("Kubernetes API error 503 while trying to list"), "waiting"),
        (cluster.NotFoundError("list persistentvolumes: 404 Not Found"), "waiting"),
        (cluster.InvalidError("create: 422"), "blocked"),
    ],
)
def test_api_errors_become_status(world: World, fault: Exception, status: str) -> None:
    world.api.faults["list_volumes"] = fault
    out = world.run(world.ctx.on.config_changed(), state(world))
    assert out.unit_status.name == status
    assert out.unit_status.message.startswith(str(fault))


def test_api_failure_mid_create_then_retry_makes_no_duplicates(world: World) -> None:
    original = world.api.create
    calls = {"n": 0}

    def flaky(manifest: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 5:
            raise cluster.UnavailableError("Kubernetes API timed out while trying to create")
        original(manifest)

    world.api.create = flaky  # type: ignore[method-assign]
    out = world.run(world.ctx.on.config_changed(), state(world))
    assert out.unit_status == testing.WaitingStatus(
        "Kubernetes API timed out while trying to create; retrying at the next update-status"
    )
    assert len(world.api.pvs) == 3  # class + 3 PVs made before the failure
    out = world.run(world.ctx.on.update_status(), out)
    assert sorted(world.api.pvs) == sorted(
        [f"homelab-nfs-10gi-00{i}" for i in range(1, 9)]
        + [f"homelab-nfs-50gi-00{i}" for i in range(1, 5)]
    )
    assert out.unit_status.name == "active"


def test_leadership_lost_mid_reconcile_stops_writing(world: World) -> None:
    original = world.api.create
    calls = {"n": 0}

    def create(manifest: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 4:  # what the guard raises when is-leader turns false
            raise provisioner.LeadershipLostError()
        original(manifest)

    world.api.create = create  # type: ignore[method-assign]
    out = world.run(world.ctx.on.config_changed(), state(world))
    assert out.unit_status == testing.ActiveStatus("standby: leadership moved mid-reconcile")
    assert len(world.api.pvs) == 2


def test_nas_mount_timeout_waits(world: World) -> None:
    world.mounter.fail = nas.MountTimeoutError(
        "mounting 10.0.0.5:/volume1/k8s timed out after 10s"
    )
    out = world.run(world.ctx.on.config_changed(), state(world))
    assert out.unit_status == testing.WaitingStatus(
        "NAS: mounting 10.0.0.5:/volume1/k8s timed out after 10s; retrying at the next "
        "update-status"
    )
    assert world.api.pvs == {}  # never a PV without its directory


def test_a_mount_that_did_not_happen_touches_nothing(world: World, tmp_path: Path) -> None:
    # `mount.nfs` can exit 0 without mounting (`bg`, which the share may no longer carry, did
    # so): the charm forces `fg` and checks the mount point.
    share = SHARE
    made: list[str] = []

    class Silent(LinkMounter):
        def mount(self, source: str, target: str, options: Any, timeout: float) -> None:
            self.mounts.append((source, tuple(options)))
            made.append(target)  # exit 0, nothing mounted

    world.mounter = Silent(world.export)

    class Charm(world.charm):
        mounter = world.mounter

    ctx = testing.Context(
        Charm,
        meta=CHARMCRAFT,
        app_name="static-pv-provisioner",
    )
    out = ctx.run(ctx.on.config_changed(), state(world, share=share))
    assert out.unit_status == testing.BlockedStatus(
        f"NAS: mounting 10.0.0.5:/volume1/k8s reported success, but nothing is mounted on "
        f"{made[0]}: no directory was touched"
    )
    ((_, options),) = world.mounter.mounts
    assert "bg" not in options
    assert "fg" in options
    assert not Path(made[0]).exists()  # the empty mount point is gone, nothing was made in it
    assert [k for k, _ in world.api.writes() if k == "create"] == ["create"]  # the class only
    assert world.api.pvs == {}


def test_nas_refusing_root_blocks_and_says_root_squash(world: World) -> None:
    world.mounter.fail = nas.RootSquashError(
        "permission denied to create directory x on 10.0.0.5:/volume1/k8s: the NAS squashes "
        "root for this host (export it with no_root_squash for this host, or make the export "
        "writable)"
    )
    out = world.run(world.ctx.on.config_changed(), state(world))
    assert out.unit_status.name == "blocked"
    assert "squashes root" in out.unit_status.message


def test_busy_directories_are_skipped(world: World) -> None:
    (world.export / "homelab-nfs-1gi-001").mkdir()
    (world.export / "homelab-nfs-1gi-001" / "old-data").write_text("keep")
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:1"}))
    assert sorted(world.api.pvs) == ["homelab-nfs-1gi-002", "homelab-nfs-1gi-003"]
    assert out.unit_status.message.endswith(
        "; skipped NAS directories without an ownership marker homelab-nfs-1gi-001 (not proven "
        "to be this pool's: never used)"
    )
    assert (world.export / "homelab-nfs-1gi-001" / "old-data").read_text() == "keep"


def test_our_own_non_empty_directory_is_skipped(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:1"}))
    # Our PV of that name goes (shrink to nothing is not allowed: delete it by hand), data stays.
    (world.export / "homelab-nfs-1gi-001" / "old-data").write_text("keep")
    del world.api.pvs["homelab-nfs-1gi-001"]
    out = world.run(world.ctx.on.config_changed(), out)
    assert out.unit_status.message.endswith(
        "; skipped non-empty NAS directories homelab-nfs-1gi-001"
    )
    assert (world.export / "homelab-nfs-1gi-001" / "old-data").read_text() == "keep"


# Actions.


def test_list_volumes(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:2"}))
    world.api.set_phase("homelab-nfs-1gi-001", "Bound", "kubeflow/data")
    world.ctx.run(world.ctx.on.action("list-volumes"), out)
    results = world.ctx.action_results
    assert results["count"] == 2
    assert results["summary"] == "2 PVs (1 available, 1 bound, 0 released)"
    lines = results["table"].splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "PHASE", "CLAIM", "DIRECTORY"]
    assert lines[1].split() == [
        "homelab-nfs-1gi-001",
        "1Gi",
        "Bound",
        "kubeflow/data",
        "10.0.0.5:/volume1/k8s/homelab-nfs-1gi-001",
    ]


def test_list_volumes_needs_only_credentials(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:2"}))
    # The share gone and the pool invalid: listing still works (it needs neither).
    broken = dataclasses.replace(
        state(world, share=None, config={"pool": "10GB:3"}), stored_states=out.stored_states
    )
    world.ctx.run(world.ctx.on.action("list-volumes"), broken)
    assert world.ctx.action_results["count"] == 2
    with pytest.raises(testing.ActionFailed, match="kubeconfig-secret 'hello' must be a Juju"):
        world.ctx.run(
            world.ctx.on.action("list-volumes"),
            state(world, share=None, config={"kubeconfig-secret": "hello"}),
        )


def test_recycle(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:2"}))
    world.api.set_phase("homelab-nfs-1gi-001", "Released", "kubeflow/gone")
    (world.export / "homelab-nfs-1gi-001" / "data").write_text("old")
    with pytest.raises(testing.ActionFailed, match="pass confirm=true"):
        world.ctx.run(
            world.ctx.on.action(
                "recycle", params={"volume": "homelab-nfs-1gi-001", "confirm": False}
            ),
            out,
        )
    with pytest.raises(
        testing.ActionFailed, match="homelab-nfs-1gi-002 is Available, not Released"
    ):
        world.ctx.run(
            world.ctx.on.action(
                "recycle", params={"volume": "homelab-nfs-1gi-002", "confirm": True}
            ),
            out,
        )
    with pytest.raises(testing.ActionFailed, match="exactly one of"):
        world.ctx.run(world.ctx.on.action("recycle", params={"confirm": True}), out)
    assert (world.export / "homelab-nfs-1gi-001" / "data").exists()
    world.ctx.run(
        world.ctx.on.action("recycle", params={"all-released": True, "confirm": True}), out
    )
    assert world.ctx.action_results == {"recycled": "homelab-nfs-1gi-001", "count": 1}
    assert list((world.export / "homelab-nfs-1gi-001").iterdir()) == []
    assert world.api.phases()["homelab-nfs-1gi-001"] == "Available"
    assert "claimRef" not in world.api.pvs["homelab-nfs-1gi-001"]["spec"]


def test_recycle_refuses_a_volume_being_deleted(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:2"}))
    world.api.set_phase("homelab-nfs-1gi-001", "Released", "kubeflow/gone")
    world.api.pvs["homelab-nfs-1gi-001"]["metadata"]["deletionTimestamp"] = "2026-11-29T06:00:00Z"
    (world.export / "homelab-nfs-1gi-001" / "data").write_text("old")
    world.api.calls.clear()
    world.mounter.mounts.clear()
    with pytest.raises(testing.ActionFailed, match="homelab-nfs-1gi-001 is being deleted"):
        world.ctx.run(
            world.ctx.on.action(
                "recycle", params={"volume": "homelab-nfs-1gi-001", "confirm": True}
            ),
            out,
        )
    assert world.api.writes() == []
    assert world.mounter.mounts == []
    assert (world.export / "homelab-nfs-1gi-001" / "data").read_text() == "old"
    # recycle() itself never touches one either (e.g. listed Released, then deleted).
    volumes = [cluster.volume_from_dict(pv) for pv in world.api.pvs.values()]
    doomed = [v for v in volumes if v.name == "homelab-nfs-1gi-001"]
    result = provisioner.recycle(doomed, world.api, _no_export, lambda: None, target("1Gi:2"))
    assert result.failed == {"homelab-nfs-1gi-001": "not a Released PV (any more): left as it is"}


def _no_export() -> Any:
    raise AssertionError("the NAS must not be mounted")


def test_recycle_never_empties_a_directory_on_another_share(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:1"}))
    old = manifests.persistent_volume(
        Target(
            class_name="homelab-nfs",
            server="10.0.0.9",
            export="/old",
            mount_options=("hard",),
            sizes=parse_pool("1Gi:1", 32),
            min_available=0,
            max_per_size=32,
        ),
        "homelab-nfs-1gi-009",
        parse_size("1Gi"),
        OWNER,
    )
    world.api.add_pv(old, "Released", "kubeflow/gone")
    (world.export / "homelab-nfs-1gi-009").mkdir()
    (world.export / "homelab-nfs-1gi-009" / "someone-elses").write_text("x")
    with pytest.raises(
        testing.ActionFailed, match=r"10\.0\.0\.9:/old/homelab-nfs-1gi-009 is not on"
    ):
        world.ctx.run(
            world.ctx.on.action("recycle", params={"all-released": True, "confirm": True}), out
        )
    assert (world.export / "homelab-nfs-1gi-009" / "someone-elses").exists()
    assert world.api.phases()["homelab-nfs-1gi-009"] == "Released"


def test_recycle_only_on_the_leader(world: World) -> None:
    with pytest.raises(testing.ActionFailed, match="only the leader"):
        world.ctx.run(
            world.ctx.on.action("recycle", params={"all-released": True, "confirm": True}),
            state(world, leader=False),
        )


def test_storage_pool_commands(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world))
    world.ctx.run(world.ctx.on.action("storage-pool-commands", params={"model": "kubeflow"}), out)
    results = world.ctx.action_results
    assert results["commands"].splitlines() == [
        "juju create-storage-pool -m kubeflow homelab-nfs kubernetes "
        "storage-class=homelab-nfs storage-provisioner=kubernetes.io/no-provisioner",
        "juju model-config -m kubeflow workload-storage=homelab-nfs",
    ]
    assert "Checked: homelab-nfs exists and kubeflow-homelab-nfs does not" in results["notes"]
    world.api.classes["kubeflow-homelab-nfs"] = {
        "kind": "StorageClass",
        "metadata": {"name": "kubeflow-homelab-nfs"},
    }
    world.ctx.run(
        world.ctx.on.action(
            "storage-pool-commands", params={"model": "kubeflow", "pool-name": "nas"}
        ),
        out,
    )
    results = world.ctx.action_results
    assert "workload-storage=nas" in results["commands"]
    assert "WARNING: StorageClass kubeflow-homelab-nfs also exists" in results["notes"]
    with pytest.raises(testing.ActionFailed, match="not a Juju model name"):
        world.ctx.run(
            world.ctx.on.action("storage-pool-commands", params={"model": "Bad;rm"}), out
        )
    with pytest.raises(testing.ActionFailed, match="pool-name"):
        world.ctx.run(
            world.ctx.on.action(
                "storage-pool-commands", params={"model": "kubeflow", "pool-name": "1x"}
            ),
            out,
        )


# Removal.


def test_remove_deletes_available_pvs_and_leaves_the_rest(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:2"}))
    world.api.set_phase("homelab-nfs-1gi-001", "Bound", "kubeflow/data")
    out = world.run(world.ctx.on.remove(), replace(out, planned_units=0))
    assert sorted(world.api.pvs) == ["homelab-nfs-1gi-001"]
    assert "homelab-nfs" in world.api.classes  # a PV still uses it
    assert out.unit_status == testing.MaintenanceStatus(
        "removed: deleted 1 available PVs; left 1 in-use PVs (homelab-nfs-1gi-001); kept "
        "StorageClass homelab-nfs (1 PVs use it); data on 10.0.0.5:/volume1/k8s left in place"
    )
    assert sorted(p.name for p in world.export.iterdir()) == [
        ".static-pv-provisioner",
        "homelab-nfs-1gi-001",
        "homelab-nfs-1gi-002",
    ]


def test_remove_deletes_our_class_when_unused(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:1"}))
    world.run(world.ctx.on.remove(), replace(out, planned_units=0))
    assert world.api.pvs == {}
    assert world.api.classes == {}


def test_remove_deletes_our_old_classes_too(world: World) -> None:
    config: dict[str, Any] = {"pool": "1Gi:1"}
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    world.api.set_phase("homelab-nfs-1gi-001", "Bound", "kubeflow/data")
    config["storage-class"] = "lab-nfs"
    out = world.run(world.ctx.on.config_changed(), state(world, config=config))
    world.api.pvs.pop("homelab-nfs-1gi-001")  # the claim and its PV went (by hand)
    world.api.classes["local-path"] = {"kind": "StorageClass", "metadata": {"name": "local-path"}}
    out = world.run(world.ctx.on.remove(), replace(out, planned_units=0))
    assert sorted(world.api.classes) == ["local-path"]
    assert "; deleted StorageClass lab-nfs; deleted StorageClass homelab-nfs;" in (
        out.unit_status.message
    )


def test_remove_after_the_relations_are_gone(world: World) -> None:
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:1"}))
    gone = testing.State(
        leader=True,
        config={"kubeconfig-path": str(world.kubeconfig), "pool": "1Gi:1"},
        stored_states=out.stored_states,
        model=testing.Model(name="k8s", uuid=MODEL_UUID),
        planned_units=0,
    )
    out = world.run(world.ctx.on.remove(), gone)
    assert world.api.pvs == {}
    assert out.unit_status == testing.MaintenanceStatus(
        "removed: deleted 2 available PVs; left 0 in-use PVs; deleted StorageClass homelab-nfs; "
        "data on 10.0.0.5:/volume1/k8s left in place"
    )


def test_removing_one_unit_leaves_the_pool(world: World) -> None:
    # The leader's machine (or principal unit) goes, the application stays (2 units planned).
    out = world.run(world.ctx.on.config_changed(), state(world, config={"pool": "1Gi:2"}))
    world.api.calls.clear()
    out = world.run(world.ctx.on.remove(), replace(out, planned_units=2))
    assert world.api.calls == []
    assert sorted(world.api.pvs) == ["homelab-nfs-1gi-001", "homelab-nfs-1gi-002"]
    assert "homelab-nfs" in world.api.classes
    assert out.unit_status == testing.MaintenanceStatus(
        "removing this unit only (2 stay): the pool is left as it is"
    )


def test_remove_on_a_non_leader_does_nothing(world: World) -> None:
    world.run(world.ctx.on.remove(), state(world, leader=False))
    assert world.api.calls == []
