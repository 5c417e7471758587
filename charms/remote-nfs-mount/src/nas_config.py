"""The charm's typed configuration (loaded with ops' `load_config`; plain data, no ops).

Every value rule is homelab_core's (`homelab_core.validators`), the same function the site check
of the `homelab` tool calls, so a site value passes `homelab check` exactly when this charm
accepts it. All broken rules are collected, so the status can say what is wrong without a
fix-one-find-the-next loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homelab_core import validators

from constants import TIMEOUT_MAX, TIMEOUT_MIN


@dataclass(frozen=True)
class ConfigError:
    """One broken rule: which option, and what the rule is."""

    option: str
    rule: str

    def __str__(self) -> str:
        return f"{self.option} {self.rule}"


class InvalidConfigError(ValueError):
    """The configuration breaks one or more rules (a ValueError, as `load_config` expects)."""

    def __init__(self, errors: list[ConfigError]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors

    @property
    def summary(self) -> str:
        """The first error, and how many more there are: short enough for a status line."""
        first = str(self.errors[0])
        more = len(self.errors) - 1
        return f"{first} (+{more} more: run `juju config` to review)" if more else first


def _export_name(value: str) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if value and validators.label_value(value):
        return "must be 1-63 letters, digits, '.', '_' or '-', starting and ending with one"
    return None


def _timeout(value: int) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return "must be a whole number"
    if not TIMEOUT_MIN <= value <= TIMEOUT_MAX:
        return f"must be between {TIMEOUT_MIN} and {TIMEOUT_MAX}"
    return None


def _boolean(value: bool) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


# option -> rule, in the order the status reports them
RULES: dict[str, Callable[..., str | None]] = {
    "nas-host": validators.nas_host,
    "export-path": validators.export_path,
    "nfs-version": validators.nfs_version,
    "mount-options": validators.mount_options,
    "export-name": _export_name,
    "timeout": _timeout,
    "install-nfs-common": _boolean,
}


@dataclass(frozen=True)
class NasConfig:
    """A valid configuration: one field per option of charmcraft.yaml (dashes as underscores).

    Construction validates every option and raises InvalidConfigError naming each broken rule;
    the defaults live in charmcraft.yaml only (`load_config` passes every option).
    """

    nas_host: str
    export_path: str
    nfs_version: str
    mount_options: str
    export_name: str
    timeout: int
    install_nfs_common: bool

    def __post_init__(self) -> None:
        errors = []
        for option, rule in RULES.items():
            value = getattr(self, option.replace("-", "_"))
            problem = rule(value)
            if problem:
                shown = f"{validators.show(value)} " if value != "" else ""
                errors.append(ConfigError(option, f"{shown}{problem}"))
        if errors:
            raise InvalidConfigError(errors)

    @property
    def host(self) -> str:
        """The NAS host."""
        return self.nas_host

    @property
    def export(self) -> str:
        """The export path without a trailing '/' (as showmount lists exports)."""
        return self.export_path.rstrip("/")

    @property
    def options(self) -> tuple[str, ...]:
        """All NFS mount options to hand on, `nfsvers=` first."""
        return (f"nfsvers={self.nfs_version}", *validators.split_mount_options(self.mount_options))

    @property
    def address(self) -> str:
        """`host:/export` as mount(8) writes it (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.export}"
