"""Merge a bundle and its overlays exactly as Juju 3.6 does (facts §3).

1. Overlays apply in command-line order.
2. Scalars and lists (`to`, `num_units`, `channel`, `constraints`, ...) are replaced.
3. Maps (`options`, `storage`, `annotations`, `bindings`) merge key by key.
4. An application with an empty or null body is removed, together with its relations.
5. Relations are only appended.
6. An overlay's `machines:` replaces the base's machines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from homelab.yamlio import line_of, plain

MAP_KEYS = frozenset({"options", "storage", "annotations", "bindings", "devices", "resources"})


@dataclass(frozen=True)
class Loc:
    """Where a value came from."""

    file: str
    line: int = 0


@dataclass
class Relation:
    """One relation line of the merged bundle."""

    ends: tuple[str, str]
    loc: Loc
    key: str


@dataclass
class Removal:
    """An application removed by an overlay, and the relations that vanished with it."""

    app: str
    loc: Loc
    dropped: list[Relation]
    existed: bool


@dataclass
class Merged:
    """The merged bundle, with where each part came from."""

    data: dict[str, Any] = field(default_factory=dict)  # top-level scalars (name, bases...)
    apps: dict[str, dict[str, Any]] = field(default_factory=dict)
    origin: dict[tuple[str, ...], Loc] = field(default_factory=dict)  # (app, key[, sub]) -> Loc
    machines: dict[str, dict[str, Any]] | None = None
    machine_origin: dict[str, Loc] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    kubernetes: bool = False
    files: list[str] = field(default_factory=list)

    def loc(self, app: str, *keys: str) -> Loc:
        """Where `app`'s key (or the app itself) was last set."""
        for n in range(len(keys), -1, -1):
            found = self.origin.get((app, *keys[:n]))
            if found:
                return found
        return Loc(self.files[0] if self.files else "")

    def to_bundle(self) -> dict[str, Any]:
        """The merged bundle as plain data (what `juju deploy` would see)."""
        out: dict[str, Any] = {k: plain(v) for k, v in self.data.items()}
        out["applications"] = {name: plain(body) for name, body in self.apps.items()}
        if self.machines is not None:
            out["machines"] = {mid: plain(body) for mid, body in self.machines.items()}
        out["relations"] = [list(r.ends) for r in self.relations]
        return out


def _ends(item: Any) -> tuple[str, str] | None:
    if isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
        return item[0], item[1]
    return None


def _app_of(end: str) -> str:
    return end.split(":", 1)[0]


def merge(documents: list[tuple[str, Any]]) -> Merged:
    """Merge (path, data) documents: the first is the bundle, the rest overlays, in order.

    Malformed parts (not a mapping, not a pair) are skipped here; `check` reports them.
    """
    merged = Merged()
    for index, (path, data) in enumerate(documents):
        merged.files.append(path)
        if not isinstance(data, dict):
            continue
        for key, value in data.items():
            if key not in ("applications", "services", "machines", "relations"):
                merged.data[key] = value
        if str(data.get("bundle", "")).lower() == "kubernetes":
            merged.kubernetes = True
        apps = data.get("applications", data.get("services"))
        if isinstance(apps, dict):
            for name, body in apps.items():
                _merge_app(merged, str(name), body, Loc(path, line_of(apps, name)), index > 0)
        machines = data.get("machines")
        if "machines" in data:
            merged.machines = {}
            merged.machine_origin = {}
            if isinstance(machines, dict):
                for mid, body in machines.items():
                    merged.machines[str(mid)] = body if isinstance(body, dict) else {}
                    merged.machine_origin[str(mid)] = Loc(path, line_of(machines, mid))
        relations = data.get("relations")
        if isinstance(relations, list):
            for n, item in enumerate(relations):
                ends = _ends(item)
                if ends is not None:
                    loc = Loc(path, line_of(relations, n))
                    merged.relations.append(Relation(ends, loc, f"relations[{n}]"))
    return merged


def _merge_app(merged: Merged, name: str, body: Any, loc: Loc, overlay: bool) -> None:
    if overlay and (body is None or body == {}):
        existed = name in merged.apps
        merged.apps.pop(name, None)
        dropped = [r for r in merged.relations if name in (_app_of(r.ends[0]), _app_of(r.ends[1]))]
        merged.relations = [r for r in merged.relations if r not in dropped]
        merged.removals.append(Removal(name, loc, dropped, existed))
        for key in [k for k in merged.origin if k[0] == name]:
            del merged.origin[key]
        return
    if not isinstance(body, dict):
        merged.apps.setdefault(name, {})
        merged.origin.setdefault((name,), loc)
        return
    target = merged.apps.setdefault(name, {})
    merged.origin.setdefault((name,), loc)
    for key, value in body.items():
        key_loc = Loc(loc.file, line_of(body, key))
        current = target.get(key)
        if key in MAP_KEYS and isinstance(value, dict) and isinstance(current, dict):
            current.update(value)
            for sub in value:
                merged.origin[(name, str(key), str(sub))] = Loc(loc.file, line_of(value, sub))
        else:
            target[key] = dict(value) if isinstance(value, dict) else value
            if isinstance(value, dict):
                for sub in value:
                    merged.origin[(name, str(key), str(sub))] = Loc(loc.file, line_of(value, sub))
        merged.origin[(name, str(key))] = key_loc
