"""The pool: parse the options, name the PVs, and diff what is wanted against what exists.

Plain data in and out; no I/O and no `ops`. Every parse function raises `ConfigError` with a
message naming the option and the rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from homelab_core import names

from constants import (
    BINDING_MODES,
    MAX_CLASS_NAME_LENGTH,
    MAX_ID,
    MAX_PER_SIZE_LIMIT,
    MAX_PV_NAME_LENGTH,
    MAX_SIZE_MIB,
    MODE_PATTERN,
    OWNER_PATTERN,
    POOL_COUNT_PATTERN,
    SIZE_PATTERN,
    SIZE_UNITS,
)


class ConfigError(ValueError):
    """A config option or action parameter is invalid; the message names it and the rule."""


@dataclass(frozen=True, order=True)
class Size:
    """A PV size, a whole number of MiB, written with the largest exact binary unit."""

    mib: int

    @property
    def text(self) -> str:
        """The Kubernetes quantity, e.g. `10Gi`."""
        for unit in ("Ti", "Gi", "Mi"):
            factor = SIZE_UNITS[unit]
            if self.mib % factor == 0:
                return f"{self.mib // factor}{unit}"
        raise AssertionError("unreachable: every size is a whole number of Mi")

    @property
    def slug(self) -> str:
        """The size as it appears in PV names, e.g. `10gi`."""
        return self.text.lower()


def parse_size(text: str) -> Size:
    """Parse `500Mi`, `10Gi` or `1Ti` (raises ConfigError)."""
    match = SIZE_PATTERN.fullmatch(text)
    if not match:
        hint = ""
        upper = text.upper()
        if upper.endswith(("GB", "G", "MB", "M", "TB", "T")):
            hint = " (Kubernetes binary units: write 10Gi, not 10GB or 10G)"
        raise ConfigError(f"size {shown(text)} is not a whole number of Mi, Gi or Ti{hint}")
    mib = int(match.group(1)) * SIZE_UNITS[match.group(2)]
    if mib <= 0:
        raise ConfigError(f"size {text!r} must be larger than zero")
    if mib > MAX_SIZE_MIB:
        raise ConfigError(f"size {text!r} is larger than 1024Ti")
    return Size(mib)


def parse_pool(text: str, max_per_size: int) -> tuple[tuple[Size, int], ...]:
    """Parse the `pool` option: `10Gi:8,50Gi:4` -> ((10Gi, 8), (50Gi, 4)), sorted by size."""
    entries = [entry.strip() for entry in text.split(",")]
    if not text.strip() or not all(entries):
        raise ConfigError(
            f"pool {shown(text)}: expected comma-separated size:count, e.g. 10Gi:8,50Gi:4"
        )
    pool: dict[Size, int] = {}
    for entry in entries:
        size_text, sep, count_text = entry.partition(":")
        if not sep:
            raise ConfigError(f"pool entry {shown(entry)}: expected size:count, e.g. 10Gi:8")
        try:
            size = parse_size(size_text.strip())
        except ConfigError as e:
            raise ConfigError(f"pool entry {shown(entry)}: {e}") from None
        count_text = count_text.strip()
        if not POOL_COUNT_PATTERN.fullmatch(count_text):
            raise ConfigError(f"pool entry {shown(entry)}: count must be a whole number")
        count = int(count_text)
        if count < 1:
            raise ConfigError(
                f"pool entry {shown(entry)}: count must be at least 1 (leave the size out)"
            )
        if count > max_per_size:
            raise ConfigError(
                f"pool entry {shown(entry)}: count {count} is more than max-per-size "
                f"{max_per_size}"
            )
        if size in pool:
            raise ConfigError(
                f"pool entry {shown(entry)}: size {size.text} is given more than once"
            )
        pool[size] = count
    return tuple(sorted(pool.items()))


def check_class_name(name: str) -> str:
    """Check the `storage-class` option: a DNS-1123 subdomain short enough for PV names."""
    if not name:
        raise ConfigError("storage-class must not be empty")
    if len(name) > MAX_CLASS_NAME_LENGTH:
        raise ConfigError(f"storage-class is longer than {MAX_CLASS_NAME_LENGTH} characters")
    if names.storage_class_name(name) is not None:  # homelab_core: the site check's rule too
        raise ConfigError(
            f"storage-class {shown(name)} is not a DNS-1123 subdomain "
            "(lower-case letters, digits, '-' and '.', starting and ending alphanumeric)"
        )
    return name


def check_volume_name(name: str) -> str:
    """Check the recycle action's `volume`: a PV name (DNS-1123 subdomain, at most 253)."""
    if names.dns_subdomain(name, MAX_PV_NAME_LENGTH) is not None:
        raise ConfigError(
            f"volume {shown(name)} is not a PV name (a DNS-1123 subdomain of at most "
            f"{MAX_PV_NAME_LENGTH} characters)"
        )
    return name


def check_claim(namespace: str, name: str) -> str:
    """Check reattach's `claim-namespace` (a DNS-1123 label) and `claim-name` (a subdomain).

    Returns `namespace/name`.
    """
    for option, value, rule in (
        ("claim-namespace", namespace, names.dns_label(namespace)),
        ("claim-name", name, names.dns_subdomain(name)),
    ):
        if rule is not None:
            raise ConfigError(f"{option} {shown(value)} {rule}")
    return f"{namespace}/{name}"


def shown(value: str, limit: int = 64) -> str:
    """`value` quoted for a message, cut short when it is long (never a wall of input)."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value)} characters)"


def parse_mode(text: str) -> int:
    """Parse `directory-mode`: octal, 3 or 4 digits (`0770`, `2775`)."""
    if not MODE_PATTERN.fullmatch(text):
        raise ConfigError(f"directory-mode {text!r} must be an octal mode such as 0770 or 2775")
    return int(text, 8)


def parse_owner(text: str) -> tuple[int, int]:
    """Parse `directory-owner`: numeric `uid:gid`."""
    match = OWNER_PATTERN.fullmatch(text)
    if not match or int(match.group(1)) > MAX_ID or int(match.group(2)) > MAX_ID:
        raise ConfigError(
            f"directory-owner {text!r} must be numeric uid:gid, e.g. 0:0 or 1000:100"
        )
    return int(match.group(1)), int(match.group(2))


def check_binding_mode(text: str) -> str:
    """Check `volume-binding-mode`."""
    if text not in BINDING_MODES:
        raise ConfigError(f"volume-binding-mode {text!r} is not one of {', '.join(BINDING_MODES)}")
    return text


def check_limits(min_available: int, max_per_size: int) -> None:
    """Check `min-available` and `max-per-size` against each other."""
    if not 1 <= max_per_size <= MAX_PER_SIZE_LIMIT:
        raise ConfigError(
            f"max-per-size {max_per_size} must be between 1 and {MAX_PER_SIZE_LIMIT}"
        )
    if not 0 <= min_available <= max_per_size:
        raise ConfigError(
            f"min-available {min_available} must be between 0 and max-per-size ({max_per_size})"
        )


def pv_name(class_name: str, size: Size, index: int) -> str:
    """The stable, readable name of a pool PV: `homelab-nfs-10gi-003`."""
    return f"{class_name}-{size.slug}-{index:03d}"


def pv_index(class_name: str, size: Size, name: str) -> int | None:
    """The index in a pool PV name, or None when the name is not of that class and size."""
    prefix = f"{class_name}-{size.slug}-"
    rest = name[len(prefix) :] if name.startswith(prefix) else ""
    return int(rest) if rest.isdigit() else None


@dataclass(frozen=True)
class Volume:
    """One of our PVs as it is in the cluster.

    Attributes:
        name: the PV name.
        size: its capacity, or None when that is not a whole number of Mi.
        phase: Available, Bound, Released, Pending, Failed (or "" before the controller saw it).
        claim: `namespace/name` of the claim it is or was bound to, or "".
        storage_class: spec.storageClassName.
        server: spec.nfs.server.
        path: spec.nfs.path.
        mount_options: spec.mountOptions.
        resource_version: metadata.resourceVersion.
        deleting: metadata.deletionTimestamp is set.
        marked: its NAS directory carries our ownership marker (the marker annotation).
        previous_claim: the claim it held data of before reattach pre-bound it (annotation).
        recycling: recycle started emptying its directory (our recycling annotation).
    """

    name: str
    size: Size | None
    phase: str
    claim: str = ""
    storage_class: str = ""
    server: str = ""
    path: str = ""
    mount_options: tuple[str, ...] = ()
    resource_version: str = ""
    deleting: bool = False
    marked: bool = False
    previous_claim: str = ""
    recycling: bool = False

    @property
    def available(self) -> bool:
        """Whether a new claim can bind to it: Available, not being deleted, and no claimRef.

        A claimRef on an Available PV means a claim is binding to it (WaitForFirstConsumer, or a
        PV pre-bound to a claim): it is in use, never deleted.
        """
        return self.phase == "Available" and not self.deleting and not self.claim

    @property
    def prebound(self) -> bool:
        """Available with a claimRef: reserved for that claim (reattach), not free capacity."""
        return self.phase == "Available" and not self.deleting and bool(self.claim)

    @property
    def in_use(self) -> bool:
        """Whether a claim uses (or used) it: Bound or Released, or any PV with a claimRef.

        A Pending PV (the PV controller has not seen it yet) or a Failed one without a claim is
        neither available nor in use: it never makes top-up create more.
        """
        return self.phase in ("Bound", "Released") or bool(self.claim)

    @property
    def directory(self) -> str:
        """`server:/path` of its NFS directory."""
        return f"{self.server}:{self.path}"


@dataclass(frozen=True)
class Target:
    """Where the pool lives and how its PVs are made."""

    class_name: str
    server: str
    export: str
    mount_options: tuple[str, ...]
    sizes: tuple[tuple[Size, int], ...]
    min_available: int
    max_per_size: int

    def path(self, name: str) -> str:
        """The NFS path of a PV's directory: `<export>/<name>`."""
        return f"{self.export.rstrip('/')}/{name}"

    @property
    def address(self) -> str:
        """`server:/export`."""
        return f"{self.server}:{self.export}"

    def matches(self, volume: Volume) -> bool:
        """Whether an existing PV is where and what this target would make (immutable parts)."""
        return (
            volume.storage_class == self.class_name
            and volume.server == self.server
            and volume.path == self.path(volume.name)
            and volume.size is not None
            and pv_index(self.class_name, volume.size, volume.name) is not None
        )


@dataclass
class Plan:
    """What one reconcile changes.

    Attributes:
        create: per size, how many PVs to create.
        delete: names of our Available PVs to delete (highest index first per size).
        update: names of our PVs whose mutable fields (mount options) need an apply.
        kept_in_use: in-use PVs the configured pool does not want (above a size's count, or of
            a size no longer in the pool): they stay until released.
        stale_in_use: in-use PVs on another class or share (left alone until released).
        taken: every name in use or being deleted (never chosen for a new PV).
    """

    create: dict[Size, int] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    kept_in_use: int = 0
    stale_in_use: int = 0
    taken: set[str] = field(default_factory=set)


def make_plan(target: Target, existing: Iterable[Volume]) -> Plan:
    """Diff the pool that is wanted against our existing PVs.

    Per pool size with count C, min-available M and max-per-size X: with U of our PVs of that
    size in use (`Volume.in_use`), the size wants T = min(max(C, U + M), X) PVs. Missing ones are
    created; extra Available ones are deleted (highest index first); in-use ones never are.
    Sizes no longer in the pool lose their Available PVs. Available PVs on another class or
    share are deleted (their replacements are created); in-use ones are left alone.
    """
    plan = Plan()
    wanted = dict(target.sizes)
    by_size: dict[Size, list[Volume]] = {size: [] for size in wanted}
    for volume in existing:
        plan.taken.add(volume.name)
        if volume.deleting:
            continue
        if volume.size in wanted and target.matches(volume):
            by_size[volume.size].append(volume)  # type: ignore[index]
            if volume.mount_options != target.mount_options:
                plan.update.append(volume.name)
        elif volume.available:
            plan.delete.append(volume.name)
        elif volume.size in wanted:
            plan.stale_in_use += 1
        else:
            plan.kept_in_use += 1
    for size, count in target.sizes:
        volumes = by_size[size]
        in_use = sum(1 for v in volumes if v.in_use)
        want = min(max(count, in_use + target.min_available), target.max_per_size)
        if len(volumes) < want:
            plan.create[size] = want - len(volumes)
        elif len(volumes) > want:
            excess = len(volumes) - want
            available = [v for v in volumes if v.available]
            available.sort(key=lambda v: pv_index(target.class_name, size, v.name) or 0)
            doomed = available[::-1][:excess]
            plan.delete.extend(v.name for v in doomed)
            plan.update = [n for n in plan.update if n not in {v.name for v in doomed}]
        # In-use PVs above the configured count: the pool would be smaller without them.
        plan.kept_in_use += max(0, in_use - count)
    return plan


def free_names(class_name: str, size: Size, taken: set[str], limit: int) -> Iterator[str]:
    """Free PV names of a size, lowest index first (index 1 up to `limit`)."""
    for index in range(1, limit + 1):
        name = pv_name(class_name, size, index)
        if name not in taken:
            yield name


@dataclass(frozen=True)
class Summary:
    """Counts by phase, for the status line and the benchmark."""

    total: int
    available: int
    bound: int
    released: int
    other: dict[str, int]

    def text(self) -> str:
        """`12 PVs (8 available, 3 bound, 1 released)` (+ other phases when there are any)."""
        parts = [f"{self.available} available", f"{self.bound} bound", f"{self.released} released"]
        parts += [f"{n} {phase.lower()}" for phase, n in sorted(self.other.items())]
        noun = "PV" if self.total == 1 else "PVs"
        return f"{self.total} {noun} ({', '.join(parts)})"


def summarize(volumes: Sequence[Volume]) -> Summary:
    """Count our PVs by phase (PVs being deleted count as `deleting`)."""
    phases = Counter(
        "Deleting" if v.deleting else ("Pre-bound" if v.prebound else (v.phase or "Pending"))
        for v in volumes
    )
    return Summary(
        total=len(volumes),
        available=phases.pop("Available", 0),
        bound=phases.pop("Bound", 0),
        released=phases.pop("Released", 0),
        other=dict(phases),
    )
