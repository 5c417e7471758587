"""One reconcile of the pool, the actions' work, and removal: plain code over injected I/O.

The cluster (`Api`, implemented by `cluster.Cluster`) and the NAS (`open_export`, a context
manager yielding `nas.ExportDirectories`) are passed in, as is `guard`, called before every
write: it raises `LeadershipLostError` when this unit stopped being the leader mid-reconcile.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import manifests
from cluster import ClassInfo, ConflictError
from constants import MAX_PER_SIZE_LIMIT, NAME_ATTEMPTS_PER_VOLUME, NO_PROVISIONER, RECLAIM_POLICY
from nas import ExportDirectories
from pool import Plan, Size, Target, Volume, free_names, make_plan, summarize

logger = logging.getLogger(__name__)

ACTIVE, WAITING, BLOCKED = "active", "waiting", "blocked"


class LeadershipLostError(Exception):
    """This unit is no longer the leader; stop writing (the new leader carries on)."""


class Api(Protocol):
    """The Kubernetes calls a reconcile needs (see cluster.Cluster)."""

    def list_volumes(self, labels: Mapping[str, str]) -> list[Volume]: ...  # noqa: D102
    def list_classes(self) -> list[ClassInfo]: ...  # noqa: D102
    def get_volume_labels(self, name: str) -> dict[str, str] | None: ...  # noqa: D102
    def create(self, manifest: Mapping[str, Any]) -> None: ...  # noqa: D102
    def apply(self, manifest: Mapping[str, Any]) -> None: ...  # noqa: D102
    def delete(self, kind: str, name: str, resource_version: str = "") -> bool: ...  # noqa: D102
    def mark_recycling(self, name: str, resource_version: str, claim: str) -> str: ...  # noqa: D102
    def make_available(self, name: str, resource_version: str) -> None: ...  # noqa: D102


OpenExport = Callable[[], AbstractContextManager[ExportDirectories]]


@dataclass(frozen=True)
class Settings:
    """Everything a reconcile needs from config, relation and model (validated already)."""

    target: Target
    owner: Mapping[str, str]
    binding_mode: str
    set_default: bool
    adopt_class: bool


@dataclass
class Outcome:
    """The result of a reconcile: the status to show and what the pool looks like now."""

    status: str
    message: str
    volumes: list[Volume] = field(default_factory=list)
    writes: int = 0
    class_ok: bool = False


def _owned(labels: Mapping[str, str] | None, owner: Mapping[str, str]) -> bool:
    return labels is not None and all(labels.get(k) == v for k, v in owner.items())


@dataclass
class _ClassResult:
    problem: tuple[str, str] | None = None  # (status, message) that stops the reconcile
    note: tuple[str, str] | None = None  # (status, message) shown after the pool summary
    writes: int = 0
    old: list[ClassInfo] = field(default_factory=list)  # ours, of an earlier storage-class


def ensure_class(settings: Settings, api: Api, guard: Callable[[], None]) -> _ClassResult:
    """Create, update, adopt or refuse the StorageClass (one LIST, writes only on change).

    Classes with our ownership labels under another name are ours from an earlier
    `storage-class`: they never count as "another default", lose the default marking we gave
    them, and are returned in `old` (reconcile deletes them once no PV uses them).
    """
    name = settings.target.class_name
    classes = {c.name: c for c in api.list_classes()}
    current = classes.get(name)
    old = [c for n, c in sorted(classes.items()) if n != name and _owned(c.labels, settings.owner)]
    other_default = sorted(
        c.name for c in classes.values() if c.default and c.name != name and c not in old
    )
    result = _ClassResult(old=old)
    if current is not None and not _owned(current.labels, settings.owner):
        if not settings.adopt_class:
            result.problem = (
                BLOCKED,
                f"StorageClass {name} exists and is not managed by this application: "
                "set adopt-class=true to use it unchanged, or choose another storage-class",
            )
            return result
        if current.provisioner != NO_PROVISIONER:
            logger.info("adopted StorageClass %s (provisioner %s)", name, current.provisioner)
        result.writes += _clear_old_defaults(old, settings, api, guard)
        return result
    if current is None and settings.adopt_class:
        result.problem = (WAITING, f"adopt-class: waiting for StorageClass {name} to exist")
        return result
    # Before ours is marked: never two defaults of ours at once.
    result.writes += _clear_old_defaults(old, settings, api, guard)
    want_default = settings.set_default and not other_default
    if settings.set_default and other_default:
        result.note = (
            BLOCKED,
            f"set-default: {', '.join(other_default)} is already the default StorageClass "
            "(never taken from another class)",
        )
    # Only a default marking we set is ours to take back ("false"); one set by someone else on
    # our class (kubectl annotate) is left alone.
    unmark = current is not None and current.default and current.default_is_ours
    default = True if want_default else (False if unmark else None)
    manifest = manifests.storage_class(name, settings.binding_mode, default, settings.owner)
    if current is None:
        guard()
        try:
            api.create(manifest)
        except ConflictError:  # another leader made it between our LIST and POST
            logger.info("StorageClass %s appeared while creating it", name)
        result.writes += 1
        return result
    immutable_differs = (
        current.provisioner != NO_PROVISIONER
        or current.reclaim_policy != RECLAIM_POLICY
        or current.binding_mode != settings.binding_mode
    )
    if immutable_differs:
        # Claims and PVs refer to a class by name only: re-creating ours changes nothing else.
        guard()
        api.delete("StorageClass", name)
        api.create(manifest)
        result.writes += 2
    elif (want_default and not current.default) or unmark:
        guard()
        api.apply(manifest)
        result.writes += 1
    return result


def _clear_old_defaults(
    old: Sequence[ClassInfo], settings: Settings, api: Api, guard: Callable[[], None]
) -> int:
    """Mark our old classes not default (`"false"`); the number of writes."""
    writes = 0
    for info in old:
        if info.default:
            guard()
            # The immutable fields as they are: only the marking changes.
            api.apply(manifests.storage_class(info.name, info.binding_mode, False, settings.owner))
            writes += 1
    return writes


def _delete_old_classes(
    old: Sequence[ClassInfo], api: Api, guard: Callable[[], None]
) -> tuple[int, list[str]]:
    """Delete our old classes that no PV uses (one LIST of every PV); (writes, notes)."""
    users = Counter(v.storage_class for v in api.list_volumes({}) if not v.deleting)
    writes, notes = 0, []
    for info in old:
        if users[info.name]:
            notes.append(f"kept old StorageClass {info.name} ({users[info.name]} PVs use it)")
            continue
        guard()
        api.delete("StorageClass", info.name)
        writes += 1
    return writes, notes


def reconcile(
    settings: Settings,
    api: Api,
    open_export: OpenExport,
    guard: Callable[[], None],
    check_class: bool,
) -> Outcome:
    """Bring the pool to what settings ask for; return the status to show.

    Steady state: one LIST of our PVs (plus one LIST of StorageClasses when `check_class`),
    no writes. Cluster and NAS errors propagate (the charm turns them into a status).
    """
    target = settings.target
    volumes = api.list_volumes(settings.owner)
    writes = 0
    class_result = _ClassResult()
    if check_class:
        class_result = ensure_class(settings, api, guard)
        writes += class_result.writes
        if class_result.problem:
            status, message = class_result.problem
            return Outcome(status, message, volumes, writes)
    plan = make_plan(target, volumes)
    by_name = {v.name: v for v in volumes}
    changed: list[str] = []
    for name in plan.delete:
        guard()
        writes += 1
        # Only the PV as it was listed (Available, no claimRef): a claim binding since is 409.
        try:
            api.delete("PersistentVolume", name, by_name[name].resource_version)
        except ConflictError:
            changed.append(name)
            continue
        by_name.pop(name, None)
    class_notes: list[str] = []
    if class_result.old:
        written, class_notes = _delete_old_classes(class_result.old, api, guard)
        writes += written
    for name in plan.update:
        volume = by_name[name]
        if volume.size is None:  # never: plan.update only holds volumes of a pool size
            continue
        guard()
        api.apply(manifests.persistent_volume(target, name, volume.size, settings.owner))
        writes += 1
        by_name[name] = replace(volume, mount_options=target.mount_options)
    made = _Created()
    if plan.create:
        # Names taken by PVs that are not ours, known before the NAS is touched: while a
        # collision lasts, each reconcile costs this one LIST, no mount and no write.
        foreign = {v.name for v in api.list_volumes({})} - plan.taken
        with ExitStack() as stack:
            opened: list[ExportDirectories] = []

            def directories() -> ExportDirectories:  # the export is mounted on first use
                if not opened:
                    opened.append(stack.enter_context(open_export()))
                return opened[0]

            for size, count in plan.create.items():
                one = _create_size(
                    settings,
                    api,
                    directories,
                    guard=guard,
                    plan=plan,
                    size=size,
                    count=count,
                    foreign=foreign,
                )
                writes += len(one.created)
                made.collisions += one.collisions
                made.busy += one.busy
                made.retry += one.retry
                by_name.update({v.name: v for v in one.created})
    after = sorted(by_name.values(), key=lambda v: v.name)
    status, message = _status(
        target,
        after,
        plan,
        made,
        class_result,
        changed=changed,
        extra=class_notes,
        adopted_default=settings.adopt_class and settings.set_default,
    )
    class_ok = check_class and class_result.note is None
    return Outcome(status, message, after, writes, class_ok)


def _status(
    target: Target,
    after: list[Volume],
    plan: Plan,
    made: _Created,
    class_result: _ClassResult,
    *,
    changed: list[str],
    extra: list[str],
    adopted_default: bool,
) -> tuple[str, str]:
    """The status and message after a reconcile: the pool summary, then what needs saying."""
    status, notes = ACTIVE, []
    if made.collisions:
        status = BLOCKED
        notes.append(
            f"name collision: PV {', '.join(made.collisions)} exists without this "
            "application's labels (never changed): remove it or choose another storage-class"
        )
    if made.retry:
        status = WAITING if status == ACTIVE else status
        notes.append(
            f"PV {', '.join(made.retry)} conflicted while creating it; retrying at the next "
            "update-status"
        )
    if class_result.note:
        status = class_result.note[0] if status == ACTIVE else status
        notes.append(class_result.note[1])
    if plan.kept_in_use:
        notes.append(f"{plan.kept_in_use} in-use PVs could not be removed")
    if plan.stale_in_use:
        notes.append(f"{plan.stale_in_use} in-use PVs left on an old class or share")
    if made.busy:
        notes.append(f"skipped non-empty NAS directories {', '.join(made.busy)}")
    if changed:
        notes.append(
            f"PV {', '.join(changed)} changed since it was listed (a claim may be binding): "
            "not deleted"
        )
    notes += extra
    message = f"{target.class_name}: {summarize(after).text()} on {target.address}"
    if adopted_default:
        notes.append(
            "set-default is ignored with adopt-class (the adopted class is used unchanged)"
        )
    if notes:
        message += "; " + "; ".join(notes)
    return status, message


@dataclass
class _Created:
    created: list[Volume] = field(default_factory=list)
    collisions: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    retry: list[str] = field(default_factory=list)  # 409, yet no such PV: try again later


def _create_size(
    settings: Settings,
    api: Api,
    directories: Callable[[], ExportDirectories],
    *,
    guard: Callable[[], None],
    plan: Plan,
    size: Size,
    count: int,
    foreign: set[str],
) -> _Created:
    """Create `count` PVs of one size, each after its directory is ready on the NAS.

    Names are tried lowest index first; a non-empty directory is skipped (its name is never
    used), a name taken by an object that is not ours is a collision and keeps its slot (one
    in `foreign` is known before its directory is touched).
    """
    target = settings.target
    result = _Created()
    made = attempts = 0
    for name in free_names(target.class_name, size, plan.taken, MAX_PER_SIZE_LIMIT):
        if made >= count or attempts >= count * NAME_ATTEMPTS_PER_VOLUME:
            break
        attempts += 1
        if name in foreign:
            result.collisions.append(name)
            made += 1
            continue
        guard()
        if directories().prepare(name) == ExportDirectories.BUSY:
            result.busy.append(name)
            continue
        made += 1
        try:
            api.create(manifests.persistent_volume(target, name, size, settings.owner))
        except ConflictError:
            labels = api.get_volume_labels(name)
            if labels is None:  # refused as taken, yet gone (deleted meanwhile): not a collision
                result.retry.append(name)
                continue
            if not _owned(labels, settings.owner):
                result.collisions.append(name)
                continue
        result.created.append(
            Volume(
                name=name,
                size=size,
                phase="Available",
                storage_class=target.class_name,
                server=target.server,
                path=target.path(name),
                mount_options=target.mount_options,
            )
        )
    return result


@dataclass
class RecycleResult:
    """What recycle did, per volume."""

    recycled: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def select_recycle(
    volumes: Sequence[Volume], volume: str, all_released: bool
) -> tuple[list[Volume], str]:
    """The Released volumes to recycle, or an error message for a failed action."""
    if bool(volume) == bool(all_released):
        return [], "recycle: give exactly one of volume=<name> or all-released=true"
    released = [v for v in volumes if v.phase == "Released" and not v.deleting]
    if all_released:
        return released, ""
    match = [v for v in volumes if v.name == volume]
    if not match:
        return [], f"volume {volume} is not one of this application's PVs"
    if match[0].deleting:
        return [], f"volume {volume} is being deleted, not recycled"
    if match[0].phase != "Released":
        return [], f"volume {volume} is {match[0].phase or 'Pending'}, not Released"
    return match, ""


def recycle(
    targets: Sequence[Volume],
    api: Api,
    open_export: OpenExport,
    guard: Callable[[], None],
    target: Target,
) -> RecycleResult:
    """Empty each volume's directory, then remove its claimRef so it is Available again.

    Per volume: first a guarded patch (the resourceVersion as listed) marks it as being
    recycled, so nothing is emptied when the PV changed since the LIST (409: left as it is);
    then the directory is emptied; then the claimRef goes, guarded by the version our own
    mark gave it. Only volumes whose directory is `<export>/<name>` on the current share are
    touched: the directory emptied is always the one the PV itself points at.
    """
    result = RecycleResult()
    mine = []
    for volume in targets:
        if volume.deleting or volume.phase != "Released":
            result.failed[volume.name] = "not a Released PV (any more): left as it is"
        elif (volume.server, volume.path) == (target.server, target.path(volume.name)):
            mine.append(volume)
        else:
            result.failed[volume.name] = (
                f"its directory {volume.directory} is not on the current share "
                f"{target.address}: recycle it by hand"
            )
    targets = mine
    if not targets:
        return result
    with open_export() as directories:
        for volume in targets:
            guard()
            try:
                version = api.mark_recycling(volume.name, volume.resource_version, volume.claim)
            except ConflictError:
                result.failed[volume.name] = (
                    "changed since it was listed: nothing emptied, left as it is"
                )
                continue
            directories.empty(volume.name)
            guard()
            try:
                api.make_available(volume.name, version)
            except ConflictError:
                result.failed[volume.name] = "changed while recycling (emptied; run again)"
                continue
            result.recycled.append(volume.name)
    return result


def remove(class_name: str, owner: Mapping[str, str], api: Api) -> str:
    """On removal: delete our Available PVs and our StorageClasses when no PV uses them.

    Needs no share (relations are gone by the `remove` hook). Data on the NAS is never
    touched. Returns what was done and what was left, for the log and the status.
    """
    name = class_name
    volumes = api.list_volumes(owner)
    shares = sorted({f"{v.server}:{v.path.rsplit('/', 1)[0] or '/'}" for v in volumes if v.server})
    gone: set[str] = set()
    for volume in volumes:
        if volume.available:
            try:  # only as listed: a claim binding since makes it 409, and it stays
                api.delete("PersistentVolume", volume.name, volume.resource_version)
            except ConflictError:
                continue
            gone.add(volume.name)
    deleted = len(gone)
    left = [v for v in volumes if v.name not in gone]
    class_note = ""
    # Ours: the configured class and any left from an earlier storage-class name.
    ours = sorted(
        (c.name for c in api.list_classes() if _owned(c.labels, owner)),
        key=lambda n: (n != name, n),
    )
    if ours:
        users = Counter(
            v.storage_class for v in api.list_volumes({}) if not v.deleting and v.name not in gone
        )
        for mine in ours:
            if users[mine]:
                class_note += f"; kept StorageClass {mine} ({users[mine]} PVs use it)"
            else:
                api.delete("StorageClass", mine)
                class_note += f"; deleted StorageClass {mine}"
    return (
        f"deleted {deleted} available PVs; left {len(left)} in-use PVs"
        f"{' (' + ', '.join(v.name for v in left) + ')' if left else ''}{class_note}; "
        f"data on {', '.join(shares) or 'the NAS'} left in place"
    )
