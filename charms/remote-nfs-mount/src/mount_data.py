"""What this charm publishes on its relations, computed from a NasConfig (no ops).

`mount` (kubernetes-worker <= 1.28, charmed-kubernetes/interface-mount): each provider unit writes
its own unit databag; the worker takes the first entry whose `fstype` is exactly `nfs` and drops
entries with an empty `mountpoint` or `options` (facts §1). So `fstype` is always `nfs` (NFSv4 is
chosen by `nfsvers=` in the options, never by `fstype: nfs4`), and the entry is all or nothing.
"""

from __future__ import annotations

from constants import MOUNT_FSTYPE
from nas_config import NasConfig

# Every key this charm may write on the `mount` relation: withdrawing clears exactly these.
MOUNT_KEYS = ("hostname", "mountpoint", "fstype", "options", "export_name")


def mount_unit_data(config: NasConfig) -> dict[str, str]:
    """The complete `mount` entry for one unit's databag."""
    data = {
        "hostname": config.host,
        "mountpoint": config.export,
        "fstype": MOUNT_FSTYPE,
        "options": ",".join(config.options),
    }
    if config.export_name:
        data["export_name"] = config.export_name
    return data


def verified_as(config: NasConfig | None) -> str:
    """What a unit publishes to its peers as `verified`: the share it verified, or ""."""
    return f"{config.address} nfsvers={config.nfs_version}" if config else ""


def all_verified(peer_results: list[str | None], config: NasConfig) -> bool:
    """Whether every unit (this one and its peers) verified exactly this share.

    Args:
        peer_results: each unit's published `verified` value (None when not published yet).
        config: the share the leader would publish.
    """
    wanted = verified_as(config)
    return bool(peer_results) and all(result == wanted for result in peer_results)
