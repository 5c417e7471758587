"""The NFS rules: export path, mount options, NFS version (plain data, no ops).

See `homelab_core.validators` for the convention: each rule returns None when the value is
valid, else one problem text that reads after the value ("must ...").
"""

from __future__ import annotations

import re

from homelab_core.text import show
from homelab_core.yamlsafe import yaml_problem

NFS_VERSIONS = ("3", "4", "4.0", "4.1", "4.2")
# MNTPATHLEN of the MOUNT protocol (RFC 1813) is 1024; a path component at most NAME_MAX.
EXPORT_PATH_MAX = 1024
EXPORT_COMPONENT_MAX = 255
# No ':' (mount.nfs splits `host:path` at it, and a trailing ':' breaks the worker's manifest),
# no ',' (mount.nfs reads it as a list of servers), no spaces, quotes or shell characters.
_EXPORT_CHARS = re.compile(r"[A-Za-z0-9._~@%+=/-]+")

# NFS mount options accepted (nfs(5)); value kinds: None = flag only, "int" = decimal number,
# a tuple = one of those words, "version" = an NFS version (only with allow_version).
MOUNT_OPTIONS: dict[str, object] = {
    "hard": None,
    "soft": None,
    "softerr": None,
    "intr": None,
    "nointr": None,
    "timeo": "int",
    "retrans": "int",
    "rsize": "int",
    "wsize": "int",
    "nconnect": "int",
    "port": "int",
    "actimeo": "int",
    "acregmin": "int",
    "acregmax": "int",
    "acdirmin": "int",
    "acdirmax": "int",
    "noac": None,
    "ac": None,
    "cto": None,
    "nocto": None,
    "noatime": None,
    "nodiratime": None,
    "relatime": None,
    "rw": None,
    "ro": None,
    "sync": None,
    "async": None,
    "lock": None,
    "nolock": None,
    "resvport": None,
    "noresvport": None,
    "fsc": None,
    "nofsc": None,
    "proto": ("tcp", "tcp6", "rdma", "rdma6"),
    "sec": ("sys", "krb5", "krb5i", "krb5p"),
    "lookupcache": ("all", "none", "pos", "positive"),
    "local_lock": ("none", "all", "flock", "posix"),
    "nfsvers": "version",
    "vers": "version",
}
VERSION_OPTIONS = ("nfsvers", "vers")
# Options that cannot both be given: mount(8) silently keeps the last one.
CONTRADICTIONS = (
    ("hard", "soft"),
    ("hard", "softerr"),
    ("soft", "softerr"),
    ("ro", "rw"),
    ("sync", "async"),
    ("lock", "nolock"),
    ("ac", "noac"),
    ("cto", "nocto"),
    ("intr", "nointr"),
    ("resvport", "noresvport"),
    ("fsc", "nofsc"),
)
_OPTION_KEY = re.compile(r"[a-z_]+")
_INT_VALUE = re.compile(r"[0-9]{1,9}")


def nfs_version(value: str) -> str | None:
    """An NFS protocol version as mount.nfs takes it: 3, 4, 4.0, 4.1 or 4.2."""
    if not isinstance(value, str):
        return "must be a string"
    if value in NFS_VERSIONS:
        return None
    return f"must be one of {', '.join(NFS_VERSIONS)}"


def export_path(value: str) -> str | None:
    """An export path on the NAS: absolute, not '/', no '..', characters NFS and YAML accept."""
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "must be set: the absolute export path on the NAS, e.g. /volume1/k8s"
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return "must not contain spaces, newlines or control characters"
    if not value.startswith("/"):
        return "must be an absolute path (start with /)"
    if value.rstrip("/") == "":
        return "must not be '/': export a directory of the NAS, not its root"
    if len(value) > EXPORT_PATH_MAX:
        return f"must be at most {EXPORT_PATH_MAX} characters"
    parts = value.rstrip("/").split("/")[1:]
    if any(part in ("", ".", "..") for part in parts):
        return "must not contain empty, '.' or '..' components"
    if any(len(part) > EXPORT_COMPONENT_MAX for part in parts):
        return f"must not have a component longer than {EXPORT_COMPONENT_MAX} characters"
    if not _EXPORT_CHARS.fullmatch(value):
        return "must contain only letters, digits and . _ ~ @ % + = / -"
    return yaml_problem(value)


def split_mount_options(value: str) -> tuple[str, ...]:
    """The options of a valid `mount_options` value, in order (empty for "")."""
    return tuple(value.split(",")) if value else ()


def mount_options(value: str, *, allow_version: bool = False) -> str | None:
    """NFS mount options, `name` or `name=value` joined by commas, no spaces; "" is valid.

    Each name must be a known NFS option with a value of its kind, given once; contradictory
    pairs (ro+rw, hard+soft, sync+async, ...) are refused. `nfsvers`/`vers` are refused unless
    `allow_version` (where the NFS version has a setting of its own), and then two different
    versions contradict each other. Problems are joined with "; ".
    """
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return "must be one line without spaces or control characters (e.g. hard,timeo=600)"
    problems: list[str] = []
    seen: dict[str, str] = {}
    versions: list[str] = []
    for item in value.split(","):
        key, sep, option_value = item.partition("=")
        problem = _option_problem(item, key, sep, option_value, allow_version)
        if problem is None and key in seen:
            problem = f"gives {show(key)} twice"
        if problem:
            problems.append(problem)
            continue
        seen[key] = option_value
        if key in VERSION_OPTIONS:
            versions.append(option_value)
    if len(set(versions)) > 1:
        problems.append("gives two different NFS versions (nfsvers/vers)")
    elif len(versions) > 1:
        problems.append("gives the NFS version twice (nfsvers and vers)")
    for a, b in CONTRADICTIONS:
        if a in seen and b in seen:
            problems.append(f"has {a!r} and {b!r}, which contradict each other")
    return "; ".join(problems) if problems else None


def _option_problem(item: str, key: str, sep: str, value: str, allow_version: bool) -> str | None:
    """What is wrong with one `name` or `name=value` item (None: fine)."""
    if not item:
        return "must not have an empty option (a stray comma)"
    if not _OPTION_KEY.fullmatch(key):
        return f"has {show(item)}, which is not an NFS option (name or name=value)"
    if key not in MOUNT_OPTIONS:
        return f"has {show(key)}, which is not a known NFS mount option"
    kind = MOUNT_OPTIONS[key]
    if kind == "version" and not allow_version:
        return f"must not set {key}=: the NFS version has its own setting"
    if kind is None:
        return f"gives {show(key)} a value, but it takes none" if sep else None
    if not sep:
        return f"needs a value for {show(key)} ({key}=...)"
    if kind == "int" and not _INT_VALUE.fullmatch(value):
        return f"needs a whole number for {show(key)} (e.g. {key}=600)"
    if isinstance(kind, tuple) and value not in kind:
        return f"needs one of {', '.join(kind)} for {show(key)}"
    if kind == "version" and value not in NFS_VERSIONS:
        return f"needs one of {', '.join(NFS_VERSIONS)} for {show(key)}"
    return None
