"""What the list-volumes and storage-pool-commands actions print: plain data in and out.

No I/O and no `ops`: the charm reads the cluster and hands the results here. Parameter checks
raise `pool.ConfigError` with a message naming the parameter and the rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Sequence

from homelab_core import names

from constants import DEFAULT_POOL_NAME, NO_PROVISIONER
from pool import ConfigError, Volume, shown, summarize

_COLUMNS = ("name", "size", "phase", "claim", "directory")


def volume_results(volumes: Sequence[Volume]) -> dict[str, str | int]:
    """The list-volumes results: count, summary, an aligned table and the same rows as JSON."""
    rows = [
        {
            "name": v.name,
            "size": v.size.text if v.size else "?",
            "phase": "Deleting" if v.deleting else (v.phase or "Pending"),
            "claim": v.claim or "-",
            "directory": v.directory,
        }
        for v in sorted(volumes, key=lambda v: v.name)
    ]
    notes = []
    for v in sorted(volumes, key=lambda v: v.name):
        row = next(r for r in rows if r["name"] == v.name)
        if v.prebound:
            row["phase"] = "Pre-bound"
            row["waits-for"] = v.claim
            was = f" (it held the data of {v.previous_claim})" if v.previous_claim else ""
            notes.append(f"{v.name}: pre-bound, waits for claim {v.claim}{was}")
        elif v.phase == "Released" and v.claim and not v.deleting:
            row["holds-data-of"] = v.claim
            notes.append(
                f"{v.name}: Released, holds the data of claim {v.claim} (reattach "
                f"volume={v.name} hands it to a new claim, recycle empties it)"
            )
    widths = {c: max([len(c)] + [len(r[c]) for r in rows]) for c in _COLUMNS}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in _COLUMNS).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in _COLUMNS).rstrip() for r in rows]
    return {
        "count": len(rows),
        "summary": summarize(volumes).text(),
        "table": "\n".join(lines),
        "json": json.dumps(rows),
        "reattach": "\n".join(notes) or "no Released or pre-bound PVs",
    }


def check_model(model: str) -> str:
    """Check the `model` parameter: a Juju model name (it is also the namespace)."""
    if names.juju_model_name(model) is not None:
        raise ConfigError(
            f"model {shown(model)} is not a Juju model name (lower-case letters, digits and -, "
            "at most 63 characters)"
        )
    return model


def pool_name(given: str, class_name: str) -> str:
    """The `pool-name` parameter, checked (homelab_core's rule: what Juju 3.6 and 4.0 accept).

    By default the class name made a pool name: other characters become `-`, a leading digit
    gets `pool-`, and a name too long for Juju is cut with a short hash of the whole (so two
    long class names still give two pools).
    """
    default = re.sub(r"[^-a-zA-Z0-9]", "-", class_name).strip("-") or DEFAULT_POOL_NAME
    if not default[0].isalpha():
        default = f"pool-{default}"
    if len(default) > names.STORAGE_POOL_NAME_MAX:
        import hashlib

        digest = hashlib.sha256(class_name.encode()).hexdigest()[:8]
        head = default[: names.STORAGE_POOL_NAME_MAX - len(digest) - 1].rstrip("-")
        default = f"{head}-{digest}"
    name = given or default
    if names.storage_pool_name(name) is not None:
        raise ConfigError(
            f"pool-name {shown(name)}: a letter, then letters, digits and -, ending with a "
            f"letter or digit, at most {names.STORAGE_POOL_NAME_MAX} characters"
        )
    return name


def storage_pool_commands(model: str, pool: str, class_name: str) -> list[str]:
    """The `juju create-storage-pool` and `juju model-config` commands for one model."""
    return [
        f"juju create-storage-pool -m {model} {pool} kubernetes "
        f"storage-class={class_name} storage-provisioner={NO_PROVISIONER}",
        f"juju model-config -m {model} workload-storage={pool}",
    ]


def lookup_note(model: str, class_name: str) -> str:
    """How Juju picks the class for a model's storage (read in juju/juju)."""
    return (
        f"Juju looks for StorageClass {model}-{class_name} and {class_name} (the first that "
        f"exists wins; sidecar charms try {class_name} first); it creates "
        f"{model}-{class_name} only when neither exists."
    )


def class_check_note(model: str, class_name: str, names: Collection[str]) -> str:
    """What the cluster's StorageClass names mean for that model's claims."""
    qualified = f"{model}-{class_name}"
    if class_name not in names:
        return (
            f"WARNING: StorageClass {class_name} does not exist yet: Juju would create "
            f"{qualified}, which has no PVs. Wait until this charm is active."
        )
    if qualified in names:
        return (
            f"WARNING: StorageClass {qualified} also exists: pod-spec charms would use it "
            "instead of this pool. Delete it if it is not wanted."
        )
    return f"Checked: {class_name} exists and {qualified} does not, so claims use the pool."


def storage_pool_results(
    model: str,
    pool_name_param: str,
    class_name: str,
    class_names: Callable[[], Collection[str]],
    errors: tuple[type[Exception], ...],
) -> dict[str, str]:
    """The storage-pool-commands results.

    `class_names` reads the cluster's StorageClasses; one of `errors` from it becomes a note,
    never a failed action.
    """
    pool = pool_name(pool_name_param, class_name)
    try:
        check = class_check_note(model, class_name, class_names())
    except errors as e:
        check = f"Could not check the cluster's StorageClasses ({e})."
    return {
        "commands": "\n".join(storage_pool_commands(model, pool, class_name)),
        "notes": f"{lookup_note(model, class_name)} {check}",
    }
