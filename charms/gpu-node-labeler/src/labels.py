"""Node labels and the taint from a detection, and the minimal change to the Node. No `ops`.

Ownership: the charm passes in the label keys (and taint effect) it set before; a key is
removed only if the charm owns it, detection was complete, and it is no longer wanted.
`reconcile` is the whole decision for one Node (labels, taint, ownership afterwards); the
charm only does the I/O around it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from homelab_core import names

import constants as c
from gpu import Detection, Gpu
from settings import Settings


def sanitise(value: str) -> str:
    """A label value from free text; may return "".

    GFD's rules (spaces -> '-', keep [A-Za-z0-9-_.]), then Kubernetes' (<= 63 characters,
    alphanumeric at both ends).
    """
    value = "-".join(re.sub(r"[^A-Za-z0-9\-_. ]", "", value).split())
    value = value[: c.LABEL_VALUE_MAX]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", value)


def forbidden(key: str) -> bool:
    """Keys this charm never sends.

    kubernetes.io/k8s.io domains (NodeRestriction allows the kubelet only a few of them, and
    none are ours), GPU operator / NFD / role keys.
    """
    if key.startswith(c.FORBIDDEN_KEY_PREFIXES):
        return True
    prefix = key.rpartition("/")[0]
    return any(prefix == d or prefix.endswith("." + d) for d in ("kubernetes.io", "k8s.io"))


def _put(labels: dict[str, str], key: str, value: str) -> None:
    value = sanitise(value)
    if value and names.label_key(key) is None and not forbidden(key):
        labels[key] = value


def _primary(gpus: list[Gpu]) -> Gpu:
    """The representative GPU: of the most numerous model, the lowest PCI address."""
    counts: dict[str, int] = {}
    for g in gpus:
        counts[g.device_id] = counts.get(g.device_id, 0) + 1
    return min(gpus, key=lambda g: (-counts[g.device_id], g.address))


def compute(
    det: Detection,
    prefix: str,
    *,
    gfd_labels: bool = True,
    legacy_labels: bool = True,
    gfd_managed: bool = False,
) -> dict[str, str]:
    """Every label the node should carry from this charm, given a detection.

    Mixed models: `count` is the total; `model`, `device-id`, `chip` and `family` describe the
    most numerous model (ties: lowest PCI address), `mixed=true` says there is more than one,
    and `count.<device-id>` gives the number of each model, so a selector can ask for any.
    """
    p = prefix + "/"
    labels: dict[str, str] = {}
    if not det.gpus:
        labels[p + "present"] = "false"
        return labels
    gpus = sorted(det.gpus, key=lambda g: g.address)
    primary = _primary(gpus)
    labels[p + "present"] = "true"
    labels[p + "count"] = str(len(gpus))
    _put(labels, p + "model", primary.model)
    _put(labels, p + "device-id", primary.device_id)
    _put(labels, p + "chip", primary.chip)
    _put(labels, p + "family", primary.family)
    for device_id in sorted({g.device_id for g in gpus}):
        labels[p + f"count.{device_id}"] = str(sum(g.device_id == device_id for g in gpus))
    if len({g.device_id for g in gpus}) > 1:
        labels[p + "mixed"] = "true"
    drivers = sorted({g.driver for g in gpus})
    _put(labels, p + "driver", drivers[0] if len(drivers) == 1 else "mixed")
    if any(g.driver == "nvidia" for g in gpus) and det.driver_version:
        _put(labels, p + "driver-version", det.driver_version)
    usable = [g for g in gpus if g.usable]
    labels[p + "usable"] = "true" if usable else "false"  # at least one GPU for containers

    if legacy_labels and usable:
        labels.update(c.LEGACY_LABELS)
    if gfd_labels and usable and not gfd_managed:
        labels.update(_gfd(usable, det.driver_version))
    return labels


def _gfd(usable: list[Gpu], driver_version: str) -> dict[str, str]:
    """The GPU Feature Discovery subset, only from driver (nvidia-smi) data."""
    g = _primary(usable)
    out: dict[str, str] = {}
    _put(out, "nvidia.com/gpu.present", "true")
    _put(out, "nvidia.com/gpu.count", str(len(usable)))
    _put(out, "nvidia.com/gpu.product", g.product)
    if g.memory_mib is not None:
        _put(out, "nvidia.com/gpu.memory", str(g.memory_mib))
    if g.compute_capability:
        major, _, minor = g.compute_capability.partition(".")
        _put(out, "nvidia.com/gpu.compute.major", major)
        _put(out, "nvidia.com/gpu.compute.minor", minor)
        if g.family:
            _put(out, "nvidia.com/gpu.family", g.family)
    parts = driver_version.split(".") if driver_version else []
    if 2 <= len(parts) <= 3:
        _put(out, "nvidia.com/cuda.driver-version.major", parts[0])
        _put(out, "nvidia.com/cuda.driver-version.minor", parts[1])
        if len(parts) == 3:
            _put(out, "nvidia.com/cuda.driver-version.revision", parts[2])
        _put(out, "nvidia.com/cuda.driver-version.full", driver_version)
    return out


@dataclass
class LabelPlan:
    """The change to send (None removes a key) and the keys owned afterwards."""

    patch: dict[str, str | None] = field(default_factory=dict)
    owned: set[str] = field(default_factory=set)
    # owned keys left as they are although the detection says otherwise (a failed read)
    kept: list[str] = field(default_factory=list)
    # wanted keys on the Node with another value that this unit did not set: left alone
    foreign: list[str] = field(default_factory=list)


def hold_none(_key: str) -> bool:
    """A complete detection: no key's value is held."""
    return False


def hold_all(_key: str) -> bool:
    """An incomplete PCI scan: every key on the Node keeps its value (only absent keys added)."""
    return True


def smi_derived(key: str, prefix: str) -> bool:
    """Keys whose value comes from nvidia-smi's answer (or depends on it)."""
    return (
        key.startswith(c.GFD_PREFIX)
        or key in c.LEGACY_LABELS
        or key in {f"{prefix}/{name}" for name in c.SMI_DERIVED_NAMES}
    )


def held_keys(det: Detection, prefix: str) -> Callable[[str], bool]:
    """Which keys a detection may not change or remove on the Node (see `plan`).

    An incomplete PCI scan: all of them. nvidia-smi gave no answer (a failed read): the keys
    derived from it, so that one timeout does not take them away until the next answer.
    """
    if not det.complete:
        return hold_all
    if det.smi_failed_read:
        return lambda key: smi_derived(key, prefix)
    return hold_none


def plan(
    wanted: dict[str, str],
    current: dict[str, str],
    owned: set[str],
    prefix: str,
    *,
    allow_removal: bool,
    gfd_managed: bool = False,
    held: Callable[[str], bool] = hold_none,
) -> LabelPlan:
    """The minimal label change from `current` to `wanted`, respecting ownership.

    Only keys this unit set (`owned`) are ever removed: a key it did not set is someone
    else's whatever its prefix (a worker's `homelab-charms.io/role` under a prefix
    `homelab-charms.io`, `gpu=true` from a 1.28 worker, a label added by hand).

    - A wanted key that is absent is set and becomes owned.
    - A wanted key with another value is set and owned if it is owned or one of the charm's
      own names under its prefix (`<prefix>/count` after the unit lost its state), unless
      `held(key)`: a failed read never changes a value already on the Node. Any other such
      key (`gpu=false` set by hand) is left as it is and reported in `foreign`.
    - A wanted key already there with the right value is owned only if it was owned before,
      or is one of the charm's names under its prefix.
    - An owned key no longer wanted is removed, only if `allow_removal` (a complete scan) and
      not `held(key)`.
    - When GPU Feature Discovery manages the node, our nvidia.com keys are handed over: no
      longer owned, never removed (GFD rewrites them).
    """
    mine = prefix + "/"
    result = LabelPlan()
    owned = set(owned)
    if gfd_managed:
        owned = {k for k in owned if not k.startswith(c.GFD_PREFIX)}
    for key, value in wanted.items():
        if forbidden(key):
            continue
        if key in current and current[key] != value and held(key):
            if key in owned:
                result.owned.add(key)
                result.kept.append(key)
            continue
        if key in current and key not in owned and not key.startswith(mine):
            if current[key] != value:
                result.foreign.append(key)
            continue
        if current.get(key) != value:
            result.patch[key] = value
        result.owned.add(key)
    for key in sorted(owned - wanted.keys()):
        if forbidden(key):
            continue
        if key not in current:
            continue
        if allow_removal and not held(key):
            result.patch[key] = None
        else:
            result.owned.add(key)
            result.kept.append(key)
    return result


def _ours(taint: dict, effect: str) -> bool:
    return (
        taint.get("key") == c.TAINT_KEY
        and taint.get("value") == c.TAINT_VALUE
        and taint.get("effect") == effect
    )


def has_taint(current: list[dict], effect: str) -> bool:
    """Whether our taint `nvidia.com/gpu=present:<effect>` is in `current`."""
    return any(_ours(t, effect) for t in current)


def plan_taints(
    current: list[dict], wanted_effect: str, owned_effect: str
) -> tuple[list[dict] | None, str]:
    """(new taint list or None when unchanged, owned effect afterwards).

    Our taint is `nvidia.com/gpu=present:<effect>`. A matching taint already there that we did
    not set (the GPU operator's, an admin's) is left alone and never claimed.
    """
    taints = [dict(t) for t in current]
    changed = False
    owned = owned_effect
    if owned_effect and owned_effect != wanted_effect:
        kept = [t for t in taints if not _ours(t, owned_effect)]
        changed = len(kept) != len(taints)
        taints, owned = kept, ""
    if wanted_effect and not any(_ours(t, wanted_effect) for t in taints):
        taints.append({"key": c.TAINT_KEY, "value": c.TAINT_VALUE, "effect": wanted_effect})
        changed, owned = True, wanted_effect
    return (taints if changed else None), owned


# --- the whole decision for one Node ---


class NodeState(Protocol):
    """What `reconcile` reads of a Node (node_api.NodeView)."""

    labels: dict[str, str]
    taints: list[dict]


@dataclass(frozen=True)
class Owned:
    """What this unit set on the Node: from its state, for this Node only.

    `pending_*`: what a PATCH whose answer was lost was setting (a client timeout after the API
    applied it); found on the Node with exactly those values, it is ours too.
    """

    labels: frozenset[str] = frozenset()
    taint: str = ""
    pending_labels: Mapping[str, str] = field(default_factory=dict)
    pending_taint: str = ""

    @classmethod
    def for_node(
        cls,
        name: str,
        stored: tuple[str, list[str], str],
        pending: tuple[str, dict[str, str], str],
    ) -> Owned:
        """What the unit's state says it owns on Node `name`.

        `stored`: (node, label keys, taint) it set; `pending`: (node, labels, taint) of a PATCH
        in flight. Nothing is owned on a Node the state is not about (node-name changed).
        """
        stored_node, stored_labels, stored_taint = stored
        pending_node, pending_labels, pending_taint = pending
        mine = not stored_node or stored_node == name
        in_flight = pending_node == name
        return cls(
            labels=frozenset(stored_labels) if mine else frozenset(),
            taint=stored_taint if mine else "",
            pending_labels=dict(pending_labels) if in_flight else {},
            pending_taint=pending_taint if in_flight else "",
        )

    def claimed(self, node: NodeState) -> tuple[set[str], str]:
        """(label keys, taint effect) owned on `node`."""
        keys = set(self.labels)
        keys |= {k for k, v in self.pending_labels.items() if node.labels.get(k) == v}
        taint = self.taint
        if self.pending_taint and not taint and has_taint(node.taints, self.pending_taint):
            taint = self.pending_taint
        return keys, taint


@dataclass
class Reconcile:
    """The change to make on the Node, and what is owned after it."""

    wanted: dict[str, str]  # every label the detection asks for
    patch: dict[str, str | None]  # the label merge patch (None removes a key)
    taints: list[dict] | None  # the new taint list, or None: unchanged
    owned: set[str]  # label keys owned once the change is made
    owned_taint: str  # taint effect owned once the change is made
    gfd_managed: bool  # the Node carries nvidia.com/gfd.timestamp
    tainted: str = ""  # the taint effect on the Node (ours) after the change
    taint_blocked: str = ""  # why a taint change was left out (no admin identity)
    foreign: list[str] = field(default_factory=list)  # wanted keys set by others, left alone

    @property
    def changes(self) -> bool:
        """A PATCH is needed."""
        return bool(self.patch) or self.taints is not None


def reconcile(node: NodeState, det: Detection | None, cfg: Settings, owned: Owned) -> Reconcile:
    """Labels and taint for the Node from a detection; `det=None`: nothing wanted (cleanup).

    - labels: `compute`, then `plan` against the Node with ownership (claimed pending keys
      included), removal only after a complete scan, held keys after a failed read, `nvidia.com`
      keys handed over to GPU Feature Discovery;
    - taint: ours (`nvidia.com/gpu=present:<taint>`) on a node with GPUs; a change of the taint
      list needs an admin identity: without one it is left out and `taint_blocked` says why.
    """
    gfd_managed = c.GFD_TIMESTAMP in node.labels
    claimed, claimed_taint = owned.claimed(node)
    if det is None:
        wanted: dict[str, str] = {}
        wanted_taint, complete, held = "", True, hold_none
    else:
        wanted = compute(
            det,
            cfg.label_prefix,
            gfd_labels=cfg.gfd_labels,
            legacy_labels=cfg.legacy_labels,
            gfd_managed=gfd_managed,
        )
        wanted_taint = cfg.taint if det.gpus else ""
        complete, held = det.complete, held_keys(det, cfg.label_prefix)
    change = plan(
        wanted,
        node.labels,
        claimed,
        cfg.label_prefix,
        allow_removal=complete,
        gfd_managed=gfd_managed,
        held=held,
    )
    taints, owned_taint = plan_taints(node.taints, wanted_taint, claimed_taint)
    result = Reconcile(
        wanted,
        change.patch,
        taints,
        change.owned,
        owned_taint,
        gfd_managed,
        foreign=change.foreign,
    )
    if taints is not None and not cfg.has_admin:
        what = f"taint={wanted_taint}" if wanted_taint else f"removing taint {claimed_taint}"
        result.taint_blocked = (
            f"{what} needs an admin identity: the kubelet identity cannot change taints "
            "(NodeRestriction); set admin-kubeconfig-path or admin-kubeconfig-secret"
        )
        result.taints, result.owned_taint = None, claimed_taint
    elif wanted_taint:
        result.tainted = wanted_taint
    return result
