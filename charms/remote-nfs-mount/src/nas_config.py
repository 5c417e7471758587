"""Validate the charm's configuration into a NasConfig (plain data, no ops).

Every rule failure is a ConfigError naming the option and the rule; parse_config() collects all
of them so the status can say what is wrong without a fix-one-find-the-next loop.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from constants import (
    EXPORT_PATH_MAX,
    HOSTNAME_MAX,
    MOUNT_OPTIONS,
    NFS_VERSIONS,
    TIMEOUT_MAX,
    TIMEOUT_MIN,
    VERSION_OPTIONS,
)

_DNS_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_DOTTED_NUMBERS = re.compile(r"[0-9.]+")
_EXPORT_CHARS = re.compile(r"[A-Za-z0-9._~@%+=:/-]+")
_EXPORT_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?")
_OPTION_KEY = re.compile(r"[a-z_]+")


@dataclass(frozen=True)
class ConfigError:
    """One broken rule: which option, and what the rule is."""

    option: str
    rule: str

    def __str__(self) -> str:
        return f"{self.option} {self.rule}"


@dataclass(frozen=True)
class NasConfig:
    """A validated configuration."""

    host: str
    export: str
    nfs_version: str
    extra_options: tuple[str, ...]
    export_name: str
    timeout: int
    install_nfs_common: bool

    @property
    def mount_options(self) -> tuple[str, ...]:
        """All NFS mount options to hand on, `nfsvers=` first."""
        return (f"nfsvers={self.nfs_version}", *self.extra_options)

    @property
    def address(self) -> str:
        """`host:/export` as mount(8) writes it (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.export}"


class InvalidConfigError(ValueError):
    """The configuration breaks one or more rules."""

    def __init__(self, errors: list[ConfigError]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors

    @property
    def summary(self) -> str:
        """The first error, and how many more there are: short enough for a status line."""
        first = str(self.errors[0])
        more = len(self.errors) - 1
        return f"{first} (+{more} more: run `juju config` to review)" if more else first


def parse_config(raw: Mapping[str, object]) -> NasConfig:
    """Validate the raw Juju config; raises InvalidConfigError listing every broken rule."""
    errors: list[ConfigError] = []
    host = _string(raw, "nas-host", errors)
    export = _string(raw, "export-path", errors)
    version = _string(raw, "nfs-version", errors)
    options = _string(raw, "mount-options", errors)
    export_name = _string(raw, "export-name", errors)

    if host is not None:
        errors += [ConfigError("nas-host", rule) for rule in check_host(host)]
    if export is not None:
        errors += [ConfigError("export-path", rule) for rule in check_export(export)]
    if version is not None and version not in NFS_VERSIONS:
        errors.append(
            ConfigError(
                "nfs-version", f"{_show(version)} must be one of {', '.join(NFS_VERSIONS)}"
            )
        )
    extra, option_rules = parse_options(options or "")
    errors += [ConfigError("mount-options", rule) for rule in option_rules]
    if export_name and not _EXPORT_NAME.fullmatch(export_name):
        errors.append(
            ConfigError(
                "export-name",
                f"{_show(export_name)} must be 1-63 letters, digits, '.', '_' or '-', "
                "starting and ending with a letter or digit",
            )
        )
    timeout = raw.get("timeout", 5)
    if not isinstance(timeout, int) or isinstance(timeout, bool):
        errors.append(ConfigError("timeout", f"{_show(timeout)} must be a whole number"))
        timeout = 0
    elif not TIMEOUT_MIN <= timeout <= TIMEOUT_MAX:
        errors.append(
            ConfigError("timeout", f"{timeout} must be between {TIMEOUT_MIN} and {TIMEOUT_MAX}")
        )
    install = raw.get("install-nfs-common", True)
    if not isinstance(install, bool):
        errors.append(ConfigError("install-nfs-common", f"{_show(install)} must be true or false"))
    if errors or host is None or export is None or version is None:
        raise InvalidConfigError(errors)  # (the None cases always come with an error)
    return NasConfig(
        host=host,
        export=export.rstrip("/"),
        nfs_version=version,
        extra_options=extra,
        export_name=export_name or "",
        timeout=int(timeout),
        install_nfs_common=bool(install),
    )


def _string(raw: Mapping[str, object], option: str, errors: list[ConfigError]) -> str | None:
    """The option's value, stripped (but export-path, whose spaces are an error), or None."""
    value = raw.get(option, "")
    if not isinstance(value, str):
        errors.append(ConfigError(option, f"{_show(value)} must be a string"))
        return None
    return value.strip() if option != "export-path" else value


def _show(value: object, limit: int = 40) -> str:
    """A value for a status message: quoted, control characters escaped, shortened."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def check_host(host: str) -> list[str]:
    """The rules a NAS host breaks (empty list when it is a valid IP address or DNS name)."""
    if not host:
        return ["is not set: set it to the NAS's IP address or DNS name"]
    if "://" in host or "/" in host:
        return [f"{_show(host)} must be a bare IP address or DNS name, not a URL or path"]
    if any(ch.isspace() or not ch.isprintable() for ch in host):
        return [f"{_show(host)} must not contain spaces or control characters"]
    try:
        ipaddress.ip_address(host)
        return []
    except ValueError:
        pass
    if host.count(":") == 1 or host.startswith("["):
        return [f"{_show(host)} must not include a port or brackets (NFS uses 2049)"]
    if _DOTTED_NUMBERS.fullmatch(host):
        return [f"{_show(host)} is not a valid IPv4 address"]
    labels = host.rstrip(".").split(".")
    if len(host) > HOSTNAME_MAX or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        return [
            f"{_show(host)} is not a valid IP address or DNS name "
            "(labels of letters, digits and '-', at most 63 characters each)"
        ]
    return []


def check_export(export: str) -> list[str]:
    """The rules an export path breaks (empty list when valid)."""
    if not export:
        return ["is not set: set it to the absolute export path on the NAS, e.g. /volume1/k8s"]
    if any(ch.isspace() or not ch.isprintable() for ch in export):
        return [f"{_show(export)} must not contain whitespace or control characters"]
    if not export.startswith("/"):
        return [f"{_show(export)} must be an absolute path (start with /)"]
    if export.rstrip("/") == "":
        return ["'/' is not allowed: export a directory of the NAS, not its root"]
    if len(export) > EXPORT_PATH_MAX:
        return [f"must be at most {EXPORT_PATH_MAX} characters"]
    parts = export.rstrip("/").split("/")[1:]
    if any(part in ("", ".", "..") for part in parts):
        return [f"{_show(export)} must not contain empty, '.' or '..' components"]
    if not _EXPORT_CHARS.fullmatch(export):
        return [f"{_show(export)} may only contain letters, digits and . _ ~ @ % + = : / -"]
    return []


def parse_options(text: str) -> tuple[tuple[str, ...], list[str]]:
    """Split and check `mount-options`; returns (options, broken rules)."""
    if not text:
        return (), []
    if any(ch in text for ch in "\n\r\t\0") or not text.isprintable():
        return (), ["must be one line without control characters"]
    options: list[str] = []
    rules: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        key, sep, value = item.partition("=")
        if not item:
            rules.append(f"{_show(text)} has an empty option (stray comma)")
            continue
        if not _OPTION_KEY.fullmatch(key):
            rules.append(f"{_show(item)} is not an NFS option (letters and '_' then '=value')")
            continue
        if key in VERSION_OPTIONS:
            rules.append(f"{_show(item)} is not allowed here: set nfs-version instead")
            continue
        if key not in MOUNT_OPTIONS:
            rules.append(f"{_show(key)} is not a known NFS mount option")
            continue
        kind = MOUNT_OPTIONS[key]
        if kind is None and sep:
            rules.append(f"{_show(key)} takes no value")
        elif kind == "int" and not (value.isdigit() and value.isascii() and len(value) <= 9):
            rules.append(f"{_show(key)} needs a whole number (e.g. {key}=600)")
        elif isinstance(kind, tuple) and value not in kind:
            rules.append(f"{_show(key)} must be one of {', '.join(kind)}")
        elif key in {o.partition("=")[0] for o in options}:
            rules.append(f"{_show(key)} is given twice")
        else:
            options.append(item)
    flags = set(options)
    for a, b in (("hard", "soft"), ("ro", "rw"), ("sync", "async"), ("lock", "nolock")):
        if a in flags and b in flags:
            rules.append(f"{a!r} and {b!r} contradict each other")
    return tuple(options), rules
