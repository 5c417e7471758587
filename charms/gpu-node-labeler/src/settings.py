"""Validate the charm's configuration into plain settings. No `ops`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import constants as c
from labels import valid_dns_subdomain

_PATH_RE = re.compile(r"^[A-Za-z0-9._+@~:/-]+$")
_SECRET_ID_RE = re.compile(r"^(secret:(//[0-9a-f-]{36}/)?)?[0-9a-z]{20}$")


class ConfigError(ValueError):
    """A config option breaks a rule; the message names the option and the rule."""


@dataclass(frozen=True)
class Settings:
    """Validated configuration."""

    node_name: str
    kubeconfig_path: str
    label_prefix: str
    gfd_labels: bool
    legacy_labels: bool
    taint: str
    admin_kubeconfig_path: str
    admin_kubeconfig_secret: str
    nvidia_smi_timeout: int

    @property
    def has_admin(self) -> bool:
        """An admin identity is configured (needed for the taint)."""
        return bool(self.admin_kubeconfig_path or self.admin_kubeconfig_secret)


def _path(config: Mapping, option: str, *, required: bool) -> str:
    value = str(config.get(option, "")).strip()
    if not value:
        if required:
            raise ConfigError(f"{option} must not be empty")
        return ""
    if not value.startswith("/"):
        raise ConfigError(f"{option} must be an absolute path, got {value[:60]!r}")
    if len(value) > c.PATH_MAX:
        raise ConfigError(f"{option} must be at most {c.PATH_MAX} characters")
    if not _PATH_RE.fullmatch(value):
        raise ConfigError(
            f"{option} may only contain letters, digits and . _ - + @ ~ : /, got {value[:60]!r}"
        )
    if any(part in (".", "..") for part in value.split("/")):
        raise ConfigError(f"{option} must not contain '.' or '..' components, got {value[:60]!r}")
    return value


def node_name_from(config: Mapping, hostname: str) -> str:
    """The Node's name: the option, or the lower-cased hostname (as Charmed Kubernetes does)."""
    name = str(config.get("node-name", "")).strip()
    if name:
        if not valid_dns_subdomain(name, c.NODE_NAME_MAX):
            raise ConfigError(
                f"node-name {name[:60]!r} is not a valid node name "
                "(lower-case letters, digits, '-' and '.', at most 253 characters)"
            )
        return name
    name = hostname.strip().lower()
    if not valid_dns_subdomain(name, c.NODE_NAME_MAX):
        raise ConfigError(
            f"hostname {name[:60]!r} is not a valid node name: set node-name to the Node's name"
        )
    return name


def _prefix(config: Mapping) -> str:
    prefix = str(config.get("label-prefix", c.DEFAULT_LABEL_PREFIX)).strip()
    if not valid_dns_subdomain(prefix):
        raise ConfigError(
            f"label-prefix {prefix[:60]!r} must be a DNS subdomain "
            "(lower-case letters, digits, '-' and '.', at most 253 characters), "
            f"e.g. {c.DEFAULT_LABEL_PREFIX}"
        )
    for domain in c.RESERVED_PREFIX_DOMAINS:
        if prefix == domain or prefix.endswith("." + domain):
            raise ConfigError(
                f"label-prefix {prefix!r} is reserved ({domain} belongs to "
                f"{'NVIDIA GPU Feature Discovery' if domain == 'nvidia.com' else 'Kubernetes'})"
            )
    return prefix


def parse(config: Mapping, hostname: str) -> Settings:
    """Settings from the raw config, or ConfigError naming the first bad option."""
    taint = str(config.get("taint", "")).strip()
    if taint and taint not in c.TAINT_EFFECTS:
        raise ConfigError(f"taint {taint[:30]!r} must be empty, NoSchedule or PreferNoSchedule")
    secret = str(config.get("admin-kubeconfig-secret", "")).strip()
    if secret and not _SECRET_ID_RE.fullmatch(secret):
        raise ConfigError(
            "admin-kubeconfig-secret must be a Juju secret id (secret:...), "
            "as printed by `juju add-secret`"
        )
    admin_path = _path(config, "admin-kubeconfig-path", required=False)
    if admin_path and secret:
        raise ConfigError("set only one of admin-kubeconfig-path and admin-kubeconfig-secret")
    timeout = config.get("nvidia-smi-timeout", 10)
    if (
        not isinstance(timeout, int)
        or isinstance(timeout, bool)
        or not c.SMI_TIMEOUT_MIN_S <= timeout <= c.SMI_TIMEOUT_MAX_S
    ):
        raise ConfigError(
            f"nvidia-smi-timeout must be {c.SMI_TIMEOUT_MIN_S} to {c.SMI_TIMEOUT_MAX_S} seconds"
        )
    return Settings(
        node_name=node_name_from(config, hostname),
        kubeconfig_path=_path(config, "kubeconfig-path", required=True),
        label_prefix=_prefix(config),
        gfd_labels=bool(config.get("gfd-labels", True)),
        legacy_labels=bool(config.get("legacy-labels", True)),
        taint=taint,
        admin_kubeconfig_path=admin_path,
        admin_kubeconfig_secret=secret,
        nvidia_smi_timeout=timeout,
    )
