"""The ops-free action and input helpers as plain tests (the charm tests cover them in hooks)."""

from __future__ import annotations

import json

import pytest
from charms.remote_nfs_mount.v0.nfs_share import NfsShare

import actions
import cluster
import sources
from pool import ConfigError, Volume, parse_size

SHARE = NfsShare(
    server="10.0.0.5", export="/volume1/k8s", nfs_version="4.1", mount_options=("hard",)
)


def test_volume_results_table_and_json() -> None:
    volumes = [
        Volume("b-1gi-002", parse_size("1Gi"), "Bound", claim="ns/c", server="s", path="/e/b"),
        Volume("a-1gi-001", None, "", server="s", path="/e/a", deleting=True),
    ]
    results = actions.volume_results(volumes)
    assert results["count"] == 2
    table = str(results["table"]).splitlines()
    assert table[0].split() == ["NAME", "SIZE", "PHASE", "CLAIM", "DIRECTORY"]
    assert table[1].split() == ["a-1gi-001", "?", "Deleting", "-", "s:/e/a"]
    assert json.loads(str(results["json"]))[1]["claim"] == "ns/c"


def test_storage_pool_commands_parameters() -> None:
    assert actions.pool_name("", "homelab-nfs") == "homelab-nfs"
    assert actions.pool_name("", "1.nfs") == "pool-1-nfs"
    assert actions.pool_name("nas", "homelab-nfs") == "nas"
    with pytest.raises(ConfigError, match="pool-name 'nas pool': a letter"):
        actions.pool_name("nas pool", "homelab-nfs")
    with pytest.raises(ConfigError, match="model 'Kubeflow' is not a Juju model name"):
        actions.check_model("Kubeflow")
    assert actions.storage_pool_commands("kf", "nas", "homelab-nfs")[1] == (
        "juju model-config -m kf workload-storage=nas"
    )
    assert actions.class_check_note("kf", "nfs", {"nfs"}).startswith("Checked:")
    assert "also exists" in actions.class_check_note("kf", "nfs", {"nfs", "kf-nfs"})
    assert "does not exist yet" in actions.class_check_note("kf", "nfs", set())


def test_resolve_share() -> None:
    share, verified = sources.resolve_share("", "", "", SHARE)
    assert (share.address, share.mount_options) == ("10.0.0.5:/volume1/k8s", ("hard",))
    assert verified is False  # the relation's own flag (not verified on every node yet)
    assert sources.resolve_share("nas", "/k8s", "", None)[1] is True  # config: nothing to wait
    share, _ = sources.resolve_share("10.0.0.5", "", "nfsvers=3,hard", SHARE)
    assert (share.nfs_version, share.mount_options) == ("3", ("nfsvers=3", "hard"))
    with pytest.raises(sources.ShareError, match="but nfs-export says /v2: clear") as e:
        sources.resolve_share("", "/v2", "", SHARE)
    assert not e.value.waiting
    with pytest.raises(sources.ShareError) as e:
        sources.resolve_share("", "", "", None, relation_present=True)
    assert e.value.waiting
    share, _ = sources.resolve_share("nas", "/k8s", "", None)
    assert share.nfs_version == "4.1"
    with pytest.raises(sources.ShareError, match=r"^nfs-share relation: bad$"):
        sources.resolve_share("", "", "", None, related_error="bad", relation_present=True)


def test_secret_id_and_content() -> None:
    assert sources.check_secret_id("secret:d0000000000000000000")
    with pytest.raises(cluster.CredentialsError, match="must be a Juju secret id"):
        sources.check_secret_id("secret:d0000000000000000000\n")
    with pytest.raises(cluster.CredentialsError, match="has no 'kubeconfig' key"):
        sources.kubeconfig_from_secret({"other": "x"}, "secret:x")
