"""Typed config and action parameters: the classes ops' `load_config`/`load_params` fill.

No ops import: ops passes the raw values as keyword arguments (dashes made underscores) and
each class checks them in `__post_init__`, raising `pool.ConfigError` (a ValueError) with a
message naming the option or parameter and the rule. Hooks that need only part of the config
load only that part (`Credentials` for list-volumes, `ClassConfig` for removal), so one bad
option does not stop them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pool
from constants import DEFAULT_DIRECTORY_MODE, DEFAULT_DIRECTORY_OWNER, MOUNT_TIMEOUT_RANGE


@dataclass(frozen=True)
class Credentials:
    """Where the cluster credentials come from (checked when they are read)."""

    kubeconfig_secret: str = ""
    kubeconfig_path: str = "/root/.kube/config"


@dataclass(frozen=True)
class ClassConfig:
    """The StorageClass name alone (removal, storage-pool-commands)."""

    storage_class: str = "homelab-nfs"

    def __post_init__(self) -> None:
        pool.check_class_name(self.storage_class)


@dataclass(frozen=True)
class CharmConfig(Credentials, ClassConfig):
    """Every option, checked; the parsed values are attributes too (`sizes`, `mode`, ...)."""

    nfs_server: str = ""
    nfs_export: str = ""
    nfs_mount_options: str = ""
    set_default: bool = False
    adopt_class: bool = False
    pool: str = "10Gi:8,50Gi:4"
    min_available: int = 2
    max_per_size: int = 32
    volume_binding_mode: str = "Immediate"
    directory_mode: str = DEFAULT_DIRECTORY_MODE
    directory_owner: str = DEFAULT_DIRECTORY_OWNER
    mount_timeout: int = 10
    sizes: tuple[tuple[pool.Size, int], ...] = field(init=False, default=())
    mode: int = field(init=False, default=0)
    uid: int = field(init=False, default=0)
    gid: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        super().__post_init__()
        pool.check_limits(self.min_available, self.max_per_size)
        set_ = object.__setattr__  # frozen: the parsed values are set once, here
        set_(self, "sizes", pool.parse_pool(self.pool, self.max_per_size))
        pool.check_binding_mode(self.volume_binding_mode)
        set_(self, "mode", pool.parse_mode(self.directory_mode))
        uid, gid = pool.parse_owner(self.directory_owner)
        set_(self, "uid", uid)
        set_(self, "gid", gid)
        low, high = MOUNT_TIMEOUT_RANGE
        if not low <= self.mount_timeout <= high:
            raise pool.ConfigError(f"mount-timeout {self.mount_timeout} must be {low} to {high}")


@dataclass(frozen=True)
class RecycleParams:
    """`recycle`: confirm=true, and exactly one of volume and all-released."""

    confirm: bool = False
    volume: str = ""
    all_released: bool = False

    def __post_init__(self) -> None:
        if self.confirm is not True:
            raise pool.ConfigError(
                "recycle deletes the data in the directories: pass confirm=true"
            )
        if self.volume:
            pool.check_volume_name(self.volume)


@dataclass(frozen=True)
class ReattachParams:
    """`reattach`: a PV of this pool and the new claim (namespace, name), checked here.

    confirm is not checked here: without it the action says what it would do, then fails.
    """

    volume: str = ""
    claim_namespace: str = ""
    claim_name: str = ""
    confirm: bool = False

    def __post_init__(self) -> None:
        pool.check_volume_name(self.volume)
        pool.check_claim(self.claim_namespace, self.claim_name)


@dataclass(frozen=True)
class StoragePoolParams:
    """`storage-pool-commands`: the model (checked by actions.check_model) and a pool name."""

    model: str = ""
    pool_name: str = ""

    def __post_init__(self) -> None:
        import actions  # only this action needs it

        actions.check_model(self.model)
