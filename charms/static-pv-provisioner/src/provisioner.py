"""One reconcile of the pool, the actions' work, and removal: plain code over injected I/O.

The cluster (`Api`, implemented by `cluster.Cluster`) and the NAS (`open_export`, a context
manager yielding `nas.ExportDirectories`) are passed in, as is `guard`, called before every
write: it raises `LeadershipLostError` when this unit stopped being the leader mid-reconcile.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

import manifests
from cluster import ClassInfo, ClusterError, ConflictError, CredentialsError
from constants import (
    CLASS_RECHECK_SECONDS,
    MAX_PER_SIZE_LIMIT,
    NAME_ATTEMPTS_PER_VOLUME,
    NO_PROVISIONER,
    PREVIOUS_CLAIM_ANNOTATION,
    RECLAIM_POLICY,
)
from nas import ExportDirectories, ForeignDirectoryError, MountTimeoutError, NasError
from pool import Plan, Size, Target, Volume, free_names, make_plan, summarize
from status import capped, listed

if TYPE_CHECKING:
    from charms.remote_nfs_mount.v0.nfs_share import NfsShare

    from cluster import Kubeconfig
    from config import CharmConfig, Credentials, ReattachParams, RecycleParams

logger = logging.getLogger(__name__)

ACTIVE, WAITING, BLOCKED, MAINTENANCE = "active", "waiting", "blocked", "maintenance"


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
    def patch_volume(self, name: str, body: Mapping[str, Any]) -> str: ...  # noqa: D102


OpenExport = Callable[[], AbstractContextManager[ExportDirectories]]


@dataclass(frozen=True)
class Settings:
    """Everything a reconcile needs from config, relation and model (validated already)."""

    target: Target
    owner: Mapping[str, str]
    binding_mode: str
    set_default: bool
    adopt_class: bool

    @classmethod
    def from_config(cls, cfg: CharmConfig, share: NfsShare, owner: Mapping[str, str]) -> Settings:
        """The settings of checked config, the resolved share and our ownership labels."""
        target = Target(
            class_name=cfg.storage_class,
            server=share.server,
            export=share.export,
            mount_options=share.mount_options,
            sizes=cfg.sizes,
            min_available=cfg.min_available,
            max_per_size=cfg.max_per_size,
        )
        return cls(
            target=target,
            owner=owner,
            binding_mode=cfg.volume_binding_mode,
            set_default=cfg.set_default,
            adopt_class=cfg.adopt_class,
        )


def inputs(
    cfg: CharmConfig,
    get_share: Callable[[], Any],
    relation_present: bool,
    owner: Mapping[str, str],
) -> tuple[Settings, bool]:
    """The settings and whether the share is verified (raises sources.ShareError).

    `get_share` is the nfs-share requirer's `get` (its InvalidShareError becomes the reason).
    """
    from charms.remote_nfs_mount.v0.nfs_share import InvalidShareError

    import sources

    related, error = None, ""
    try:
        related = get_share()
    except InvalidShareError as e:
        error = str(e)
    share, verified = sources.resolve_share(
        cfg.nfs_server,
        cfg.nfs_export,
        cfg.nfs_mount_options,
        related,
        related_error=error,
        relation_present=relation_present,
    )
    return Settings.from_config(cfg, share, owner), verified


def kubeconfig(
    creds: Credentials, app: str, read_secret: Callable[[str], Mapping[str, str] | str]
) -> Kubeconfig:
    """Credentials: the user secret named by kubeconfig-secret, else the host's file.

    `read_secret` returns the secret's content, or why it cannot be read. Raises
    CredentialsError naming the source and the fix.
    """
    import sources
    from cluster import read_kubeconfig_file

    secret_id = creds.kubeconfig_secret.strip()
    if not secret_id:
        return read_kubeconfig_file(creds.kubeconfig_path)
    sources.check_secret_id(secret_id)
    content = read_secret(secret_id)
    if isinstance(content, str):
        grant = f"juju grant-secret {secret_id} {app}"
        raise CredentialsError(f"kubeconfig-secret {secret_id} {content} ({grant})")
    return sources.kubeconfig_from_secret(dict(content), secret_id)


def class_fingerprint(settings: Settings, clusters: object) -> str:
    """What the last good StorageClass check depended on (the class settings, the cluster)."""
    data = [
        settings.target.class_name,
        settings.binding_mode,
        settings.set_default,
        settings.adopt_class,
        sorted(settings.owner.items()),
        json.dumps(clusters, sort_keys=True, default=str),
    ]
    return json.dumps(data)


def class_check_due(
    *, forced: bool, fingerprint: str, stored: str, now: float, checked_at: float
) -> bool:
    """Whether this reconcile re-reads the StorageClasses.

    Always when forced (config, relation, leader, upgrade events) or the fingerprint changed;
    otherwise when the last good check is more than CLASS_RECHECK_SECONDS old by the wall
    clock, or lies in the future: a clock stepped back (NTP, a VM restored) never freezes
    the check, and one stepped forward only brings it earlier.
    """
    elapsed = now - checked_at
    return forced or fingerprint != stored or not 0 <= elapsed <= CLASS_RECHECK_SECONDS


def run(
    settings: Settings,
    api: Api,
    open_export: OpenExport,
    guard: Callable[[], None],
    *,
    forced: bool,
    clusters: object,
    last_check: tuple[str, float],
    clock: Callable[[], float],
    record: Callable[[str, float], None],
) -> tuple[Outcome, bool]:
    """A reconcile with the StorageClass check when it is due (`class_check_due`).

    `last_check` is the (fingerprint, wall time) of the last good check; `record` stores a new
    one: cleared before a check, set again only when the check passed.
    """
    fingerprint = class_fingerprint(settings, clusters)
    check_class = class_check_due(
        forced=forced,
        fingerprint=fingerprint,
        stored=last_check[0],
        now=clock(),
        checked_at=float(last_check[1]),
    )
    if check_class:
        record("", float(last_check[1]))
    outcome = reconcile(settings, api, open_export, guard, check_class)
    if outcome.class_ok:
        record(fingerprint, clock())
    return outcome, check_class


def evaluate(
    settings: Settings,
    connect: Callable[[], Api],
    open_export: OpenExport,
    guard: Callable[[], None],
    *,
    verified: bool,
    **check: Any,
) -> tuple[str, str]:
    """The leader's reconcile as the (status kind, message) to show (`check`: see `run`)."""
    try:
        outcome, _ = run(settings, connect(), open_export, guard, **check)
    except Exception as e:  # every known failure becomes a status
        return failure_status(e)
    message = outcome.message
    if not verified:
        message += "; remote-nfs-mount has not verified the share on every node yet"
    return outcome.status, message


def failure_status(e: Exception) -> tuple[str, str]:
    """The status (kind, message) of a failed reconcile; an unknown exception is re-raised."""
    if isinstance(e, LeadershipLostError):
        return ACTIVE, "standby: leadership moved mid-reconcile"
    if isinstance(e, CredentialsError):
        return BLOCKED, str(e)
    if isinstance(e, ClusterError):
        if e.retry:
            return WAITING, f"{e}; retrying at the next update-status"
        return BLOCKED, str(e)
    if isinstance(e, MountTimeoutError):
        return WAITING, f"NAS: {e}; retrying at the next update-status"
    if isinstance(e, NasError):
        return BLOCKED, f"NAS: {e}"
    raise e


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
    no writes, no mount. Cluster and NAS errors propagate (the charm turns them into a status).

    The NAS is mounted only when needed: to verify the share before any PV that points
    elsewhere (another share or class) is removed, to mark the directories of PVs made before
    ownership markers (once: the PV then carries the marker annotation), and to create PVs.
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
    made = _Created()
    class_notes: list[str] = []
    with ExitStack() as stack:
        opened: list[ExportDirectories] = []

        def directories() -> ExportDirectories:  # the export is mounted on first use
            if not opened:
                opened.append(stack.enter_context(open_export()))
            return opened[0]

        replaced = [n for n in plan.delete if not target.matches(by_name[n])]
        if replaced:
            _verify_share(target, directories, len(replaced))
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
        if class_result.old:
            written, class_notes = _delete_old_classes(class_result.old, api, guard)
            writes += written
        writes += _adopt_and_update(
            settings, api, directories, guard=guard, plan=plan, by_name=by_name, made=made
        )
        if plan.create:
            writes += _create_all(
                settings, api, directories, guard=guard, plan=plan, by_name=by_name, made=made
            )
    after = sorted(by_name.values(), key=lambda v: v.name)
    # A NAS that squashes root: noted while the directories are usable anyway (world-writable).
    squash = opened[0].squash if opened else None
    if squash is not None:
        class_notes.append(squash.note())
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


def _adopt_and_update(
    settings: Settings,
    api: Api,
    directories: Callable[[], ExportDirectories],
    *,
    guard: Callable[[], None],
    plan: Plan,
    by_name: dict[str, Volume],
    made: _Created,
) -> int:
    """Mark the directories of our PVs made before markers, then apply changed PVs; writes.

    Only PVs where the pool would make them (its class, share and path). A directory with
    another pool's marker is not adopted: the PV keeps no marker annotation, and it is named.
    """
    target = settings.target
    update = set(plan.update)
    for volume in sorted(by_name.values(), key=lambda v: v.name):
        if volume.marked or volume.deleting or not target.matches(volume):
            continue
        guard()
        if directories().adopt(volume.name, volume.storage_class) == ExportDirectories.FOREIGN:
            made.foreign[volume.name] = directories().owners[volume.name]
            continue
        by_name[volume.name] = replace(volume, marked=True)
        update.add(volume.name)
    writes = 0
    for name in sorted(update):
        volume = by_name[name]
        if volume.size is None:  # never: updates only hold volumes of a pool size
            continue
        guard()
        manifest = manifests.persistent_volume(
            target, name, volume.size, settings.owner, marked=volume.marked
        )
        api.apply(manifest)
        writes += 1
        by_name[name] = replace(volume, mount_options=target.mount_options)
    return writes


def _create_all(
    settings: Settings,
    api: Api,
    directories: Callable[[], ExportDirectories],
    *,
    guard: Callable[[], None],
    plan: Plan,
    by_name: dict[str, Volume],
    made: _Created,
) -> int:
    """Create the PVs the plan wants; the number created."""
    # Names taken by PVs that are not ours, known before the NAS is touched: while a
    # collision lasts, each reconcile costs this one LIST, no mount and no write.
    foreign = {v.name for v in api.list_volumes({})} - plan.taken
    writes = 0
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
        made.add(one)
        by_name.update({v.name: v for v in one.created})
    return writes


def _verify_share(
    target: Target, directories: Callable[[], ExportDirectories], replaced: int
) -> None:
    """Mount and verify the configured share before anything pointing elsewhere goes."""
    try:
        directories().verify()
    except NasError as e:
        raise type(e)(
            f"{e}; the share is not verified, so none of the {replaced} available PVs on "
            f"the old share or class was removed or replaced"
        ) from None


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
            f"name collision: PV {listed(made.collisions)} exists without this "
            "application's labels (never changed): remove it or choose another storage-class"
        )
    if made.foreign:
        status = BLOCKED
        owners = sorted(set(made.foreign.values()))
        notes.append(
            f"NAS directories {listed(sorted(made.foreign))} belong to another pool "
            f"({listed(owners, 2)}): never used, emptied or recycled by this one"
        )
    if made.retry:
        status = WAITING if status == ACTIVE else status
        notes.append(
            f"PV {listed(made.retry)} conflicted while creating it; retrying at the next "
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
        notes.append(f"skipped non-empty NAS directories {listed(made.busy)}")
    if made.unmarked:
        notes.append(
            f"skipped NAS directories without an ownership marker {listed(made.unmarked)} "
            "(not proven to be this pool's: never used)"
        )
    if changed:
        notes.append(
            f"PV {listed(changed)} changed since it was listed (a claim may be binding): "
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
    unmarked: list[str] = field(default_factory=list)
    foreign: dict[str, str] = field(default_factory=dict)  # name -> whose it is
    retry: list[str] = field(default_factory=list)  # 409, yet no such PV: try again later

    def add(self, other: _Created) -> None:
        self.collisions += other.collisions
        self.busy += other.busy
        self.unmarked += other.unmarked
        self.foreign.update(other.foreign)
        self.retry += other.retry


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

    Names are tried lowest index first; a directory that is not empty, has no ownership
    marker or has another pool's is skipped (its name is never used), a name taken by an
    object that is not ours is a collision and keeps its slot (one in `foreign` is known
    before its directory is touched).
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
        prepared = directories().prepare(name)
        if prepared == ExportDirectories.BUSY:
            result.busy.append(name)
            continue
        if prepared == ExportDirectories.UNMARKED:
            result.unmarked.append(name)
            continue
        if prepared == ExportDirectories.FOREIGN:
            result.foreign[name] = directories().owners[name]
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
                marked=True,
            )
        )
    return result


@dataclass
class RecycleResult:
    """What recycle did, per volume: every volume asked for is in exactly one of these.

    Attributes:
        recycled: emptied and Available again.
        failed: name -> what happened to it (whether its directory was emptied).
        not_tried: never touched, because recycle stopped at `stopped`.
        stopped: why recycle stopped before the end ("" when it did not).
    """

    recycled: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    not_tried: list[str] = field(default_factory=list)
    stopped: str = ""

    def results(self) -> dict[str, str | int]:
        """The action results (plain strings: Juju action results are strings and ints)."""
        out: dict[str, str | int] = {
            "recycled": ", ".join(self.recycled) or "none",
            "count": len(self.recycled),
        }
        if self.failed:
            out["failed"] = json.dumps(self.failed, sort_keys=True)
        if self.not_tried:
            out["not-tried"] = ", ".join(self.not_tried)
        if self.stopped:
            out["stopped"] = self.stopped
        return out

    def failure(self) -> str:
        """The action's failure message, or "" when every volume was recycled."""
        parts = []
        if self.stopped:
            parts.append(f"recycle stopped: {self.stopped}")
        if self.failed:
            parts.append(
                f"{len(self.failed)} volumes were not recycled: "
                + "; ".join(f"{name}: {why}" for name, why in sorted(self.failed.items()))
            )
        if self.not_tried:
            parts.append(f"not tried (left as they are): {listed(self.not_tried)}")
        if parts and self.recycled:
            parts.append(f"recycled: {listed(self.recycled)}")
        return capped(". ".join(parts))


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
    if match[0].prebound:
        claim = match[0].claim
        return [], f"volume {volume} is pre-bound to claim {claim} (reattach): not recycled"
    if match[0].phase != "Released":
        return [], f"volume {volume} is {match[0].phase or 'Pending'}, not Released"
    return match, ""


_RECYCLE_PHASE = {
    "": "nothing changed",
    "listed": "nothing changed",
    "emptying": "its directory may be partly emptied; it is still Released, with our "
    "recycling mark: run recycle again",
    "emptied": "its directory was emptied, but it is still Released: run recycle again",
}


def recycle_action(
    params: RecycleParams,
    api: Api,
    open_export: OpenExport,
    guard: Callable[[], None],
    settings: Settings,
) -> RecycleResult | str:
    """The recycle action: list, choose, recycle; a message instead when it cannot start."""
    try:
        volumes = api.list_volumes(settings.owner)
    except (ClusterError, CredentialsError) as e:
        return f"recycle stopped: {e}"
    chosen, error = select_recycle(volumes, params.volume, params.all_released)
    if error:
        return error
    return recycle(chosen, api, open_export, guard, settings.target)


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
    then the directory is emptied, only when its ownership marker names this pool (one without
    a marker is adopted: the PV pointing at it is ours); then the claimRef goes, guarded by the
    version our own mark gave it. Only volumes whose directory is `<export>/<name>` on the
    current share are touched: the directory emptied is always the one the PV points at.

    A cluster or NAS error, or lost leadership, stops it: the result still says exactly which
    volumes were recycled, which failed (and whether their directory was emptied) and which
    were never tried.
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
    if not mine:
        return result
    todo = [v.name for v in mine]
    current, phase = "", ""
    try:
        with open_export() as directories:
            for volume in mine:
                current, phase = volume.name, "listed"
                todo.remove(volume.name)
                guard()
                try:
                    version = api.mark_recycling(
                        volume.name, volume.resource_version, volume.claim
                    )
                except ConflictError:
                    result.failed[volume.name] = (
                        "changed since it was listed: nothing emptied, left as it is"
                    )
                    continue
                phase = "emptying"
                try:
                    directories.empty(volume.name, volume.storage_class)
                except ForeignDirectoryError as e:
                    result.failed[volume.name] = f"{e} (still Released, with our recycling mark)"
                    continue
                phase = "emptied"
                guard()
                try:
                    api.make_available(volume.name, version)
                except ConflictError:
                    result.failed[volume.name] = "changed while recycling (emptied; run again)"
                    continue
                result.recycled.append(volume.name)
                current = ""
    except (ClusterError, NasError, LeadershipLostError) as e:
        why = str(e) or "leadership moved to another unit; run it on the leader"
        result.stopped = why
        if current:
            result.failed[current] = f"stopped while recycling it: {_RECYCLE_PHASE[phase]}"
        result.not_tried = todo
    return result


def select_reattach(
    volumes: Sequence[Volume], name: str, new_claim: str, target: Target
) -> tuple[Volume | None, str]:
    """The Released PV of this pool to hand to `new_claim`, or why it is refused."""
    match = [v for v in volumes if v.name == name]
    if not match:
        return None, (
            f"volume {name} is not one of this application's PVs (none of that name carries its "
            "labels): never reattached"
        )
    volume = match[0]
    for other in volumes:
        if other.name != name and other.claim == new_claim and other.phase == "Bound":
            return None, (
                f"claim {new_claim} is Bound to PV {other.name} already: delete that claim "
                "first (scale the application to 0), then run reattach again"
            )
        if other.name != name and other.claim == new_claim and other.prebound:
            return None, f"PV {other.name} is already pre-bound to claim {new_claim}"
    if volume.deleting:
        return None, f"volume {name} is being deleted: never reattached"
    if volume.prebound:
        return None, f"volume {name} is already pre-bound to claim {volume.claim} (waits for it)"
    if volume.phase == "Bound":
        return None, f"volume {name} is Bound to claim {volume.claim}: in use, never reattached"
    if volume.phase != "Released":
        held = "holds no claim's data" if volume.phase == "Available" else "not Released"
        return None, f"volume {name} is {volume.phase or 'Pending'} ({held}): only a Released PV"
    if volume.recycling:
        return None, (
            f"volume {name} has our recycling mark: its directory may be partly emptied; "
            "never reattached"
        )
    if (volume.server, volume.path) != (target.server, target.path(volume.name)):
        return None, (
            f"volume {name}'s directory {volume.directory} is not on the current share "
            f"{target.address}: its ownership cannot be checked, never reattached"
        )
    return volume, ""


def check_reattach_directory(directories: ExportDirectories, volume: Volume) -> tuple[str, int]:
    """Why the PV's NAS directory is not provably this pool's ("" when it is), and its entries.

    The share is verified (a real, writable mount of the export), the ownership marker is read
    (never written: a PV without one is refused) and must name this pool and the PV's class,
    and the directory must be a real directory there.
    """
    where = f"{directories.address}/{volume.name}"
    directories.verify()
    try:
        found = directories.owner(volume.name)
    except ForeignDirectoryError as e:
        return f"{e}: not this pool's, never reattached", 0
    if found is None:
        return f"{where} has no ownership marker: not proven this pool's, never reattached", 0
    if not directories.pool.with_class(volume.storage_class).owns(found):
        return f"{where} is owned by pool {found.describe()}: never reattached", 0
    path = directories.root / volume.name
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return f"{where} is not a directory: never reattached", 0
        return "", sum(1 for _ in os.scandir(path))
    except FileNotFoundError:
        return f"{where} does not exist on the share: no data to hand back, never reattached", 0
    except OSError as e:
        raise NasError(f"cannot read {where}: {e.strerror}") from None


def reattach_body(volume: Volume, new_claim: str) -> dict[str, Any]:
    """The one merge patch: claimRef `{namespace, name}` only (pre-bound), the old claim noted.

    The old claim's uid and resourceVersion (and kind, apiVersion, fieldPath) are removed: a
    claimRef without uid is what reserves a PV for a claim of that name (Kubernetes,
    "Reserving a PersistentVolume"). The PV's resourceVersion as read is a precondition.
    """
    namespace, name = new_claim.split("/", 1)
    drop = dict.fromkeys(("uid", "resourceVersion", "kind", "apiVersion", "fieldPath"))
    return {
        "metadata": {
            "resourceVersion": volume.resource_version,
            "annotations": {PREVIOUS_CLAIM_ANNOTATION: volume.claim or "-"},
        },
        "spec": {"claimRef": {"namespace": namespace, "name": name, **drop}},
    }


def reattach_action(
    params: ReattachParams,
    api: Api,
    open_export: OpenExport,
    guard: Callable[[], None],
    settings: Settings,
) -> tuple[dict[str, str], str]:
    """The reattach action: (results, failure message or "").

    Without confirm it only reads the cluster and says what it would do (and fails). With it:
    the NAS checks (`check_reattach_directory`), then one guarded merge patch.
    """
    new_claim = f"{params.claim_namespace}/{params.claim_name}"
    try:
        volumes = api.list_volumes(settings.owner)
    except (ClusterError, CredentialsError) as e:
        return {}, f"reattach stopped: {e}; nothing changed"
    volume, why = select_reattach(volumes, params.volume, new_claim, settings.target)
    if volume is None:
        return {}, why
    plan = {
        "volume": volume.name,
        "directory": volume.directory,
        "old-claim": volume.claim or "-",
        "new-claim": new_claim,
    }
    what = (
        f"reattach would pre-bind PV {volume.name} (NAS directory {volume.directory}, the data "
        f"of old claim {plan['old-claim']}) to claim {new_claim}: its claimRef becomes "
        f"{new_claim} without uid, so only a claim of that name binds to it"
    )
    if params.confirm is not True:
        return plan, f"{what}. Check it, then run again with confirm=true; nothing changed"
    try:
        with open_export() as directories:
            why, entries = check_reattach_directory(directories, volume)
    except NasError as e:
        return plan, f"reattach stopped: NAS: {e}; nothing changed"
    if why:
        return plan, why
    plan["entries"] = str(entries)
    try:
        guard()
        api.patch_volume(volume.name, reattach_body(volume, new_claim))
    except LeadershipLostError:
        return plan, "leadership moved to another unit: run it on the leader; nothing changed"
    except ConflictError:
        return plan, (
            f"PV {volume.name} changed since it was read (409 Conflict): nothing changed; "
            "run reattach again"
        )
    except (ClusterError, CredentialsError) as e:
        return plan, f"reattach stopped: {e}"
    plan["result"] = (
        f"PV {volume.name} is pre-bound to claim {new_claim}: create (or let the StatefulSet "
        f"recreate) that claim with storageClassName {volume.storage_class}, a request of at "
        f"most {volume.size.text if volume.size else 'its size'} and ReadWriteOnce or "
        "ReadWriteMany; it binds to this PV and finds its data"
    )
    return plan, ""


def nfs_client_missing(problem: str) -> str:
    """The Blocked message when mount.nfs is missing (`problem`: why apt failed, or "")."""
    if problem:
        return f"{problem}; retrying at the next update-status"
    return "nfs-common is not installed (no mount.nfs on this host)"


def recycle_results(
    params: RecycleParams,
    api: Api,
    open_export: OpenExport,
    guard: Callable[[], None],
    settings: Settings,
) -> tuple[dict[str, str | int], str]:
    """The recycle action as (results, failure message or "")."""
    result = recycle_action(params, api, open_export, guard, settings)
    if isinstance(result, str):
        return {}, result
    return result.results(), result.failure()


def removal(
    planned: int, class_name: str, owner: Mapping[str, str], api: Api | None
) -> tuple[str, str]:
    """The `remove` hook on the leader: (status kind, message), logged.

    With units planned to stay only this unit goes and nothing is touched; otherwise `remove`.
    """
    if planned > 0 or api is None:
        message = f"removing this unit only ({planned} stay): the pool is left as it is"
        logger.info("%s", message)
        return MAINTENANCE, message
    summary = remove(class_name, owner, api)
    logger.warning("removed: %s", summary)
    return MAINTENANCE, f"removed: {summary}"


def removal_stopped(e: Exception) -> tuple[str, str]:
    """The status of a removal that failed (PVs deleted before the failure stay deleted)."""
    message = f"removal stopped: {e}; in-use PVs and the data on the NAS are left"
    logger.warning("%s", message)
    return BLOCKED, message


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
