"""The site file: every lab-specific value in one place, validated all at once."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from homelab_core import validators
from homelab_core.sizes import PER_SIZE_DEFAULT

from homelab import maasnames
from homelab.charmdb import valid_channel
from homelab.check import constraint_errors
from homelab.problems import Problem, did_you_mean
from homelab.upstream import CK_LINES, KUBEFLOW_MATRIX, LAB_LINES
from homelab.yamlio import Document, line_of

REQUIRED = object()


@dataclass(frozen=True)
class Line:
    """One Charmed Kubernetes line the lab supports."""

    key: str
    track: str
    base: str
    kubeflow: str  # Charmed Kubeflow track deployed on it by default
    worker_nfs: bool  # kubernetes-worker still has the `nfs` endpoint
    snap_channel: str = ""  # the kubernetes snap channel the lab writes (upstream.CK_LINES)


# The lab's lines come from the one version table (upstream.LAB_LINES, CK_LINES): current is the
# newest CK line both upstreams support (CK 1.34 + Charmed Kubeflow 1.11); legacy is 1.28, the
# last line whose kubernetes-worker has `nfs`, kept for labs that run it (Kubeflow 1.9).
LINES = {
    key: Line(
        key,
        ck,
        CK_LINES[ck].base,
        kf,
        CK_LINES[ck].worker_nfs,
        CK_LINES[ck].snap_channel,
    )
    for key, (ck, kf) in LAB_LINES.items()
}


def parse_size(text: str) -> int | None:
    """Bytes in a size such as 500Mi, 10Gi or 2Ti (None when not one: homelab_core's rule)."""
    return validators.parse_size(text)


def parse_pool(text: str) -> list[tuple[str, int]] | None:
    """`10Gi:8,50Gi:4` -> [("10Gi", 8), ("50Gi", 4)] (None when malformed)."""
    pool = validators.parse_pool_spec(text)
    return list(pool) if pool else None


def human(size: int) -> str:
    """Bytes as Gi/Ti text."""
    if size >= 2**40 and size % 2**30 == 0 and (size / 2**40) >= 1:
        return f"{size / 2**40:g}Ti"
    return f"{size / 2**30:g}Gi"


# ---------------------------------------- validators (None = fine, else "must ..." text)
# The value rules the charms also apply come from homelab_core.validators, so a site value passes
# `check` exactly when the charm accepts it; only the tool's own fields have rules here.


def _tag(value: str) -> str | None:
    if not value or re.search(r"\s", value):
        return "must be a MAAS tag: no spaces, not empty"
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
        return "must be a MAAS tag: letters, digits, _ . - only"
    return None


def _not_negative(value: int) -> str | None:
    return None if value >= 0 else "must be 0 or more"


def _pool(value: str) -> str | None:
    # static-pv-provisioner gets the pool with its default max-per-size (the site sets no other)
    return validators.pool_spec(value, max_count=PER_SIZE_DEFAULT)


def _min_available(value: int) -> str | None:
    if 0 <= value <= PER_SIZE_DEFAULT:
        return None
    return f"must be 0 to {PER_SIZE_DEFAULT} (static-pv-provisioner's max-per-size)"


def _folder(value: str) -> str | None:
    return None if value.strip() and value.isprintable() else "must be a folder path on one line"


def _channel(value: str) -> str | None:
    return (
        None if valid_channel(value) and "/" in value else "must be a channel such as latest/edge"
    )


def _constraints(value: str) -> str | None:
    errors = constraint_errors(value)
    return "must be " + "; ".join(errors) if errors else None


def _space(value: str) -> str | None:
    return None if value == "" else validators.juju_space_name(value)


def _track(value: str) -> str | None:
    if value == "" or value in KUBEFLOW_MATRIX:
        return None
    tracks = ", ".join(sorted(KUBEFLOW_MATRIX))
    return f"must be a Charmed Kubeflow track: {tracks} (or empty for the default)"


def _stage_rule(name: str, value: str) -> str | None:
    from homelab import stages  # issue 12's rules (stages imports plan, which imports site)

    return getattr(stages, name)(value)


@dataclass(frozen=True)
class F:
    """One field of the site file."""

    kind: type | tuple[type, ...]
    default: Any = REQUIRED
    check: Callable[[Any], str | None] | None = None
    choices: tuple[Any, ...] = ()


SCHEMA: dict[str, Any] = {
    "site": F(str, check=validators.juju_model_name),
    "juju": {
        "controller": F(str, check=validators.juju_model_name),
        "cloud": F(str, "maas", validators.juju_model_name),
        "model": F(str, "lab", validators.juju_model_name),
        "k8s_cloud": F(str, "lab-k8s", validators.juju_model_name),
    },
    "kubernetes": {"line": F(str, "current", choices=("current", "legacy"))},
    "maas": {
        "tags": {
            "control_plane": F(str, "k8_admin", _tag),
            "kubeflow": F(str, "kf_admin", _tag),
            "gpu": F(str, "gpu", _tag),
        },
        "gpu_constraints": F(str, "cores=32 mem=60G", _constraints),
        "storage_space": F(str, "", _space),  # replaced by spaces.<role>: an error when set
        # day 0 and the network (issue 13; homelab.day0, homelab.maasnames)
        "controller_tag": F(str, "juju", _tag),
        "machines": {
            role: {
                "hostname": F(str, "", maasnames.hostname),
                "system_id": F(str, "", maasnames.system_id),
            }
            for role in maasnames.ROLES
        },
        "spaces": {role: F(str, "", _space) for role in maasnames.ROLES},
        # issue 12 (homelab.layout): what MAAS reports of each machine, for the layout-fit check
        "sizes": {
            role: {
                "cores": F(int, 0, _not_negative),
                "memory": F(str, "", lambda v: None if v == "" else validators.size(v)),
                "disk": F(str, "", lambda v: None if v == "" else validators.size(v)),
            }
            for role in maasnames.ROLES
        },
        "default_space": F(str, "", _space),
        "gpu_nic": {
            "name": F(str, "", maasnames.nic_name),
            "subnet": F(str, "", maasnames.cidr),
        },
    },
    "nas": {
        "host": F(str, check=validators.nas_host),
        "export": F(str, check=validators.export_path),
        "nfs_version": F(str, "4.1", choices=validators.NFS_VERSIONS),
        "mount_options": F(str, "", validators.mount_options),
        "quota": F(str, check=validators.size),
    },
    "storage": {
        "class": F(str, "homelab-nfs", validators.storage_class_name),
        "pool": F(str, check=_pool),
        "min_available": F(int, 2, _min_available),
        "juju_pool": F(str, "homelab-nfs", validators.storage_pool_name),
    },
    "gpu": {
        "enabled": F(bool, True),
        "driver_route": F(str, "operator", choices=("operator", "containerd", "preinstalled")),
        "taint": F(str, "NoSchedule", choices=("", "NoSchedule", "PreferNoSchedule")),
        "legacy_labels": F(bool, False),
        "label_prefix": F(str, "gpu.homelab-charms.io", validators.label_prefix),
    },
    "kubeflow": {
        "enabled": F(bool, True),
        "track": F(str, "", _track),
        "role_label": F(str, "homelab-charms.io/role", validators.label_key),
        "pin_to_admin_node": F(bool, True),
        "gpu_number_default": F(int, 0, _not_negative),
        # issue 12 (homelab.stages): the dashboard login and address
        "username": F(str, "admin", lambda v: _stage_rule("username_rule", v)),
        "gateway": F(str, "metallb", choices=("metallb", "nodeport")),
        "metallb_range": F(str, "", lambda v: None if v == "" else validators.ip_range(v)),
        "storage": {
            "minio": F(str, "50Gi", validators.size),
            "katib-db": F(str, "10Gi", validators.size),
            "kfp-db": F(str, "10Gi", validators.size),
            "mlmd": F(str, "10Gi", validators.size),
        },
    },
    "charms": {
        "source": F(str, "charmhub", choices=("charmhub", "local")),
        "channel": F(str, "latest/edge", _channel),
        "local_dir": F(str, "build", _folder),
    },
}

_TYPE_NAMES = {str: "a string", int: "a whole number", bool: "true or false"}


@dataclass
class Site:
    """A validated site file, with defaults filled in."""

    path: str
    values: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)

    def get(self, dotted: str) -> Any:
        """The value at `a.b.c`."""
        node: Any = self.values
        for part in dotted.split("."):
            node = node[part]
        return node

    def valid(self, *dotted: str) -> bool:
        """Whether each of these fields passed its own check (no problem on it or a parent).

        Cross-field checks run whenever the fields they read are valid, so a site file with
        field errors still gets every cross-field error in the same run.
        """
        bad = {p.key for p in self.problems if p.key}
        for key in dotted:
            parts = key.split(".")
            if any(".".join(parts[:n]) in bad for n in range(1, len(parts) + 1)):
                return False
        return True

    @property
    def line(self) -> Line:
        """The Charmed Kubernetes line of this site."""
        return LINES[self.get("kubernetes.line")]

    @property
    def name(self) -> str:
        """The site's name."""
        return self.get("site")

    @property
    def kubeflow_track(self) -> str:
        """The Charmed Kubeflow track (the line's default unless the site picks one)."""
        return self.get("kubeflow.track") or self.line.kubeflow


def _walk(
    schema: dict, data: Any, prefix: str, *, path: str, out: dict, problems: list[Problem]
) -> None:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(Problem(path, prefix.rstrip("."), "must be a mapping", 0))
        data = {}
    for key in data:
        if str(key) not in schema:
            hint = did_you_mean(str(key), schema)
            problems.append(
                Problem(path, f"{prefix}{key}", f"unknown key{hint}", line_of(data, key))
            )
    for key, spec in schema.items():
        dotted = f"{prefix}{key}"
        line = line_of(data, key)
        if isinstance(spec, dict):
            sub: dict[str, Any] = {}
            _walk(spec, data.get(key), f"{dotted}.", path=path, out=sub, problems=problems)
            out[key] = sub
            continue
        if key not in data or data[key] is None:
            if spec.default is REQUIRED:
                problems.append(
                    Problem(path, dotted, "missing (required)", line or line_of(data, key))
                )
                out[key] = None
            else:
                out[key] = spec.default
            continue
        value = data[key]
        kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
        if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
            want = _TYPE_NAMES.get(kinds[0], kinds[0].__name__)
            hint = (
                f" (write it in quotes: YAML reads {data_text(data, key)} as a number)"
                if isinstance(value, float) and str in kinds
                else ""
            )
            problems.append(
                Problem(
                    path,
                    dotted,
                    f"must be {want}, not {type(value).__name__} {value!r}{hint}",
                    line,
                )
            )
            out[key] = None
            continue
        if spec.choices and value not in spec.choices:
            choices = ", ".join(repr(c) for c in spec.choices)
            problems.append(Problem(path, dotted, f"{value!r} is not one of {choices}", line))
        elif spec.check is not None and (message := spec.check(value)):
            problems.append(Problem(path, dotted, f"{value!r}: {message}", line))
        out[key] = value


def data_text(data: dict, key: str) -> str:
    """The value of `key` as written in the file, when the loader kept it (else its repr)."""
    raw = getattr(data, "raw", {}).get(key)
    return raw if raw is not None else repr(data[key])


def _dotted(data: Any, mapping: dict, key: str, prefix: str = "") -> str:
    """`nas.export` for key `export` of the mapping under `nas` (the bare key if not found)."""
    if data is mapping:
        return prefix + key
    if isinstance(data, dict):
        for name, value in data.items():
            found = _dotted(value, mapping, key, f"{prefix}{name}.")
            if found != key:
                return found
    return key


def validate(doc: Document) -> Site:
    """Validate a loaded site file; every problem is collected, none stops the others."""
    problems: list[Problem] = []
    for dup in doc.duplicates:
        key = _dotted(doc.data, dup.mapping, dup.key)
        problems.append(
            Problem(doc.path, key, f"duplicate key (first on line {dup.first_line})", dup.line)
        )
    values: dict[str, Any] = {}
    data = doc.data
    if data is None:
        problems.append(Problem(doc.path, "", "the site file is empty", 0))
    _walk(SCHEMA, data, "", path=doc.path, out=values, problems=problems)
    site = Site(doc.path, values, problems)
    _cross_checks(site, data if isinstance(data, dict) else {})
    return site


def kubeflow_volumes(site: Site) -> list[tuple[str, str, str]]:
    """(storage, requested size, PV size that will hold it) for Kubeflow's charm storage.

    Kubernetes binds a claim to the smallest Available PV of the class that is large enough; the
    charm storage is claimed first (at deploy), so it is matched against the fresh pool.
    """
    pool = sorted(
        (
            (parse_size(size) or 0, size)
            for size, count in parse_pool(site.get("storage.pool")) or []
            for _ in range(count)
        ),
    )
    result = []
    for name, size in site.get("kubeflow.storage").items():
        want = parse_size(size) or 0
        match = next((pv for pv in pool if pv[0] >= want), None)
        if match is not None:
            pool.remove(match)
        result.append((name, size, match[1] if match else ""))
    return result


def pool_bytes(pool: list[tuple[str, int]]) -> int:
    """Total bytes of a pool."""
    return sum((parse_size(size) or 0) * count for size, count in pool)


def _cross_checks(site: Site, data: dict) -> None:
    """The rules across fields; each runs when the fields it reads passed their own checks."""
    path = site.path
    found: list[Problem] = []

    def where(*keys: str) -> int:
        node: Any = data
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        return line_of(node, keys[-1]) if isinstance(node, dict) else 0

    def add(key: str, message: str) -> None:
        found.append(Problem(path, key, message, where(*key.split("."))))

    ok = site.valid
    if ok("gpu.enabled", "gpu.driver_route", "kubernetes.line"):
        line = site.line
        route = site.get("gpu.driver_route")
        if site.get("gpu.enabled") and route == "containerd" and not line.worker_nfs:
            add(
                "gpu.driver_route",
                f"containerd installs NVIDIA drivers only up to Charmed Kubernetes 1.28; on "
                f"{line.track} use operator (NVIDIA GPU operator) or preinstalled",
            )
    if ok("kubeflow.enabled", "kubeflow.track", "kubernetes.line"):
        line = site.line
        track = site.kubeflow_track
        supported = KUBEFLOW_MATRIX.get(track, ())
        if site.get("kubeflow.enabled") and line.track not in supported:
            add(
                "kubeflow.track",
                f"Charmed Kubeflow {track} supports Kubernetes "
                f"{', '.join(supported) or 'unknown'}, not {line.track} (the {line.key} line)",
            )
    tag_keys = [f"maas.tags.{k}" for k in ("control_plane", "kubeflow", "gpu")]
    if ok(*tag_keys):
        tags = [site.get(k) for k in tag_keys]
        if len(set(tags)) != len(tags):
            add("maas.tags", "the three machines need three different tags")
    _storage_cross_checks(site, add)
    maasnames.cross_checks(site, add)  # controller tag, spaces, NIC (issue 13)
    site.problems.extend(found)


def _storage_cross_checks(site: Site, add: Callable[[str, str], None]) -> None:
    """The NAS quota, the pool and Kubeflow's charm storage, each when its fields are valid."""
    ok = site.valid
    if ok("kubeflow.storage.mlmd") and (parse_size(site.get("kubeflow.storage.mlmd")) or 0) < (
        10 * 2**30
    ):
        add("kubeflow.storage.mlmd", "mlmd needs at least 10Gi (facts §4)")
    if ok("nas.quota", "storage.pool"):
        quota = parse_size(site.get("nas.quota")) or 0
        total = pool_bytes(parse_pool(site.get("storage.pool")) or [])
        if total > quota:
            add(
                "storage.pool",
                f"the pool needs {human(total)}, more than the NAS quota nas.quota "
                f"{site.get('nas.quota')}",
            )
    storage_keys = [f"kubeflow.storage.{k}" for k in SCHEMA["kubeflow"]["storage"]]
    if ok("kubeflow.enabled", "storage.pool", *storage_keys) and site.get("kubeflow.enabled"):
        for name, size, pv in kubeflow_volumes(site):
            if not pv:
                add(
                    f"kubeflow.storage.{name}",
                    f"{size}: storage.pool {site.get('storage.pool')} has no free PV that large "
                    "(each Kubeflow charm storage takes one PV of at least its size)",
                )
