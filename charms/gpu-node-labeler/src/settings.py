"""The charm's configuration as one typed, validated value. No `ops`.

`Settings` is the class the charm hands to ops' `load_config` (option names with `-` become
`_`; `hostname` is passed in by the charm): it validates in `__post_init__` and raises
`ConfigError` (a ValueError) naming the option and the rule. `parse` builds it from a plain
mapping (tests, tools).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from homelab_core import files, names, secrets
from homelab_core.text import show

import constants as c


class ConfigError(ValueError):
    """A config option breaks a rule; the message names the option and the rule."""


def _path(option: str, value: object, *, required: bool) -> str:
    value = str(value).strip()
    if not value:
        if required:
            raise ConfigError(f"{option} must not be empty")
        return ""
    problem = files.path_problem(value)
    if problem:
        raise ConfigError(f"{option} {problem}, got {show(value, 60)}")
    return value


def _node_name(option_value: str, hostname: str) -> str:
    """The Node's name: the option, or the lower-cased hostname (as Charmed Kubernetes does)."""
    name = str(option_value).strip()
    if name:
        if names.dns_subdomain(name, c.NODE_NAME_MAX):
            raise ConfigError(
                f"node-name {show(name, 60)} is not a valid node name "
                "(lower-case letters, digits, '-' and '.', at most 253 characters)"
            )
        return name
    name = hostname.strip().lower()
    if names.dns_subdomain(name, c.NODE_NAME_MAX):
        raise ConfigError(
            f"hostname {show(name, 60)} is not a valid node name: set node-name to the Node's name"
        )
    return name


def _prefix(value: object) -> str:
    # not stripped: exactly what the site check (gpu.label_prefix) accepts, the same validator
    prefix = str(value)
    if names.dns_subdomain(prefix, names.LABEL_PREFIX_MAX):
        raise ConfigError(
            f"label-prefix {show(prefix, 60)} must be a DNS subdomain (lower-case letters, "
            f"digits, '-' and '.', at most 253 characters), e.g. {c.DEFAULT_LABEL_PREFIX}"
        )
    problem = names.label_prefix(prefix)
    if problem:
        raise ConfigError(f"label-prefix {show(prefix, 60)} is reserved: it {problem}")
    return prefix


@dataclass(frozen=True)
class Settings:
    """Validated configuration (field names are the options with `_` for `-`)."""

    node_name: str = ""
    kubeconfig_path: str = c.KUBELET_KUBECONFIG_CK
    label_prefix: str = c.DEFAULT_LABEL_PREFIX
    gfd_labels: bool = True
    legacy_labels: bool = True
    taint: str = ""
    admin_kubeconfig_path: str = ""
    admin_kubeconfig_secret: str = ""
    nvidia_smi_timeout: int = 10
    driver_route: str = c.DEFAULT_DRIVER_ROUTE
    hostname: str = ""  # not an option: the machine's, for the default node-name

    def __post_init__(self) -> None:
        taint = str(self.taint).strip()
        if taint and taint not in c.TAINT_EFFECTS:
            raise ConfigError(
                f"taint {show(taint, 30)} must be empty, NoSchedule or PreferNoSchedule"
            )
        secret = str(self.admin_kubeconfig_secret).strip()
        if secret and secrets.secret_id_problem(secret):
            raise ConfigError(f"admin-kubeconfig-secret {secrets.secret_id_problem(secret)}")
        admin_path = _path("admin-kubeconfig-path", self.admin_kubeconfig_path, required=False)
        if admin_path and secret:
            raise ConfigError("set only one of admin-kubeconfig-path and admin-kubeconfig-secret")
        timeout = self.nvidia_smi_timeout
        if (
            not isinstance(timeout, int)
            or isinstance(timeout, bool)
            or not c.SMI_TIMEOUT_MIN_S <= timeout <= c.SMI_TIMEOUT_MAX_S
        ):
            raise ConfigError(
                f"nvidia-smi-timeout must be {c.SMI_TIMEOUT_MIN_S} to {c.SMI_TIMEOUT_MAX_S} "
                "seconds"
            )
        route = str(self.driver_route).strip()
        if route not in c.DRIVER_ROUTES:
            raise ConfigError(
                f"driver-route {show(route, 30)} must be one of {', '.join(c.DRIVER_ROUTES)}"
            )
        values = {
            "node_name": _node_name(self.node_name, self.hostname),
            "kubeconfig_path": _path("kubeconfig-path", self.kubeconfig_path, required=True),
            "label_prefix": _prefix(self.label_prefix),
            "gfd_labels": bool(self.gfd_labels),
            "legacy_labels": bool(self.legacy_labels),
            "taint": taint,
            "admin_kubeconfig_path": admin_path,
            "admin_kubeconfig_secret": secret,
            "driver_route": route,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def has_admin(self) -> bool:
        """An admin identity is configured (needed for the taint)."""
        return bool(self.admin_kubeconfig_path or self.admin_kubeconfig_secret)


_FIELDS = frozenset(f.name for f in dataclasses.fields(Settings)) - {"hostname"}


def parse(config: Mapping, hostname: str) -> Settings:
    """Settings from a raw option mapping (as Juju gives it), or ConfigError."""
    given = {k.replace("-", "_"): v for k, v in config.items()}
    return Settings(**{k: v for k, v in given.items() if k in _FIELDS}, hostname=hostname)
