"""Merge a bundle and its overlays exactly as Juju 3.6 does (facts §3).

Juju 3.6 merges with github.com/juju/charm/v12 overlay.go (`applyOverlay`, `mergeStructs`);
the line numbers below are from branch v12. Juju 4.0 carries the same code in juju/juju
internal/charm/overlay.go, except that 4.0 has no `series` field (`series:` is ignored).

1. Every document of every file is one part; the first is the base, the rest overlays, applied in
   order (overlay.go:403-437).
2. An empty overlay document changes nothing (overlay.go:523).
3. From an overlay only `applications`, `saas`, `series`, `relations` and `machines` are taken
   (overlay.go:530-597): `default-base`, `description`, `bundle`, `services` there are ignored.
4. `app:` / `app: null` removes the application and the relations naming it (overlay.go:540-543,
   604-619); `app: {}` changes nothing for an existing application (it reaches `mergeStructs`
   with no field present) and adds an application without a charm otherwise (overlay.go:548-551).
5. Only the fields an overlay writes are merged (overlay.go:662). Scalars and lists are replaced,
   `null` resets them (overlay.go:689-692). Maps merge key by key; a `null` map clears it,
   `{}` changes nothing (overlay.go:667-688); a key set to `null` is deleted from `options`,
   `resources`, `offers`, `exposed-endpoints`, and becomes "" in the string maps `storage`,
   `bindings`, `annotations`, `devices` (overlay.go:681, 699-713).
6. Relations are only appended (overlay.go:592).
7. An overlay's `machines:` map (even `{}`) replaces the base's; `machines: null` keeps them
   (overlay.go:595-597).
8. `scale:` is `num_units:` (bundledata.go:306-313). Keys Juju does not know are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from homelab.yamlio import line_of, plain

# ApplicationSpec's fields (bundledata.go:94-243) and how mergeStructs treats each.
STRING_MAPS = frozenset({"storage", "annotations", "devices", "bindings"})
ANY_MAPS = frozenset({"options", "resources", "exposed-endpoints", "offers"})
MAP_KEYS = STRING_MAPS | ANY_MAPS
APP_FIELDS = MAP_KEYS | {
    "charm", "channel", "revision", "series", "base", "num_units", "scale", "to", "placement",
    "expose", "constraints", "plan", "trust",
}  # fmt: skip
OVERLAY_TOP = ("applications", "saas", "series", "relations", "machines")


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
    saas: dict[str, dict[str, Any]] = field(default_factory=dict)
    saas_origin: dict[str, Loc] = field(default_factory=dict)
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
        if self.saas:
            out["saas"] = {name: plain(body) for name, body in self.saas.items()}
        out["relations"] = [list(r.ends) for r in self.relations]
        return out


def _ends(item: Any) -> tuple[str, str] | None:
    if isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
        return item[0], item[1]
    return None


def _app_of(end: str) -> str:
    return end.split(":", 1)[0]


def merge(documents: list[tuple[str, Any]]) -> Merged:
    """Merge (path, data) documents: the first is the base bundle, the rest overlays, in order.

    One entry per YAML document (a multi-document file gives several entries with the same
    path). Malformed parts (not a mapping, not a pair) are skipped here; `check` reports them.
    """
    merged = Merged()
    for index, (path, data) in enumerate(documents):
        if path not in merged.files:
            merged.files.append(path)
        if not isinstance(data, dict):
            continue
        overlay = index > 0
        if not overlay:
            for key, value in data.items():
                if key not in ("applications", "services", "machines", "relations", "saas"):
                    merged.data[key] = value
            merged.kubernetes = data.get("bundle") == "kubernetes"
        elif isinstance(data.get("series"), str) and data["series"]:
            merged.data["series"] = data["series"]  # overlay.go:587-589
        apps = data.get("applications")
        if isinstance(apps, dict):
            for name, body in apps.items():
                _merge_app(merged, str(name), body, Loc(path, line_of(apps, name)), overlay)
        saas = data.get("saas")
        if isinstance(saas, dict):
            for name, body in saas.items():
                _merge_saas(merged, str(name), body, Loc(path, line_of(saas, name)), overlay)
        _merge_machines_relations(merged, path, data)
    return merged


def _merge_machines_relations(merged: Merged, path: str, data: dict) -> None:
    machines = data.get("machines")
    if isinstance(machines, dict):
        merged.machines = {}
        merged.machine_origin = {}
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


def _remove(merged: Merged, name: str, loc: Loc, existed: bool) -> None:
    dropped = [r for r in merged.relations if name in (_app_of(r.ends[0]), _app_of(r.ends[1]))]
    merged.relations = [r for r in merged.relations if r not in dropped]
    merged.removals.append(Removal(name, loc, dropped, existed))
    for key in [k for k in merged.origin if k[0] == name]:
        del merged.origin[key]


def _merge_saas(merged: Merged, name: str, body: Any, loc: Loc, overlay: bool) -> None:
    if overlay and body is None:
        existed = name in merged.saas
        merged.saas.pop(name, None)
        _remove(merged, name, loc, existed)
        return
    target = merged.saas.setdefault(name, {})
    merged.saas_origin.setdefault(name, loc)
    if isinstance(body, dict) and "url" in body:
        if body["url"] is None:
            target.pop("url", None)
        else:
            target["url"] = body["url"]


def _normalise(body: dict) -> dict:
    """The fields Juju reads, `scale` folded into `num_units` (bundledata.go:306-313)."""
    out = {k: v for k, v in body.items() if k in APP_FIELDS}
    if "scale" in out and not out.get("num_units"):
        out["num_units"] = out.pop("scale")
    elif "scale" in out and not out["scale"]:
        out.pop("scale")
    return out


def _merge_app(merged: Merged, name: str, body: Any, loc: Loc, overlay: bool) -> None:
    if overlay and body is None:
        existed = merged.apps.pop(name, None) is not None
        _remove(merged, name, loc, existed)
        return
    if not isinstance(body, dict):
        merged.apps.setdefault(name, {})
        merged.origin.setdefault((name,), loc)
        return
    if name not in merged.apps:
        merged.apps[name] = {}
        merged.origin[(name,)] = loc
        fresh = True
    else:
        fresh = False
    target = merged.apps[name]
    for key, value in _normalise(body).items():
        key_loc = Loc(loc.file, line_of(body, key))
        merged.origin[(name, str(key))] = key_loc
        if fresh:
            target[key] = dict(value) if isinstance(value, dict) else value
        elif key in MAP_KEYS:
            if value is None:
                target[key] = {}  # a null map clears it (overlay.go:669-672)
                continue
            if not isinstance(value, dict):
                target[key] = value
                continue
            current = target.get(key)
            current = dict(current) if isinstance(current, dict) else {}
            for sub, sub_value in value.items():
                if sub_value is None and key in ANY_MAPS:
                    current.pop(sub, None)  # overlay.go:681-684
                else:
                    current[sub] = "" if sub_value is None else sub_value
            target[key] = current
        elif value is None:
            target.pop(key, None)  # null resets a scalar or list (overlay.go:689-692)
        else:
            target[key] = value
        if isinstance(value, dict):
            for sub in value:
                merged.origin[(name, str(key), str(sub))] = Loc(loc.file, line_of(value, sub))
