"""`homelab check`: everything Juju would only tell you mid-deploy, or never (facts §3)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from homelab.charmdb import CharmDB, valid_channel
from homelab.merge import Loc, Merged, Relation, merge
from homelab.problems import ERROR, WARNING, Problem, did_you_mean
from homelab.upstream import ALLOWED_VALUES, CharmInfo, Endpoint
from homelab.yamlio import Document, LocDict, line_of

TOP_KEYS = {
    "bundle", "name", "description", "series", "default-base", "applications", "services",
    "machines", "relations", "saas", "type", "tags", "docs", "issues", "source", "website",
    "variables",
}  # fmt: skip
APP_KEYS = {
    "charm", "channel", "revision", "series", "base", "resources", "num_units", "scale", "to",
    "placement", "expose", "exposed-endpoints", "options", "annotations", "constraints",
    "storage", "devices", "bindings", "trust", "offers", "plan", "requires",
}  # fmt: skip
MACHINE_KEYS = {"constraints", "annotations", "series", "base"}
CONSTRAINT_KEYS = {
    "arch", "container", "cores", "cpu-cores", "cpu-power", "mem", "root-disk",
    "root-disk-source", "tags", "spaces", "virt-type", "zones", "allocate-public-ip",
    "instance-type", "instance-role", "image-id",
}  # fmt: skip
ARCHES = {"amd64", "arm64", "ppc64el", "s390x", "riscv64"}
_SIZE = re.compile(r"^\d+(\.\d+)?[MGTP]?$")
_STORAGE_SIZE = re.compile(r"^\d+(\.\d+)?[MGTPE]i?B?$")
_PLACEMENT = re.compile(
    r"^(?:(?P<ctype>[a-z]+):)?(?:(?P<machine>\d+)|(?P<new>new)|"
    r"(?P<app>[a-z][a-z0-9-]*)(?:/(?P<unit>\d+))?)$"
)
_RELATION_END = re.compile(r"[a-z][a-z0-9-]*(:[a-z][a-z0-9_-]*)?")
_BASE = re.compile(r"^[a-z]+@\d+(\.\d+)?(/[a-z]+)?$")
_TYPES = {"string": (str,), "int": (int,), "float": (int, float), "boolean": (bool,)}


@dataclass
class _Ctx:
    problems: list[Problem]

    def add(self, loc: Loc, key: str, message: str, severity: str = ERROR) -> None:
        self.problems.append(Problem(loc.file, key, message, loc.line, severity))


def check_documents(
    documents: list[Document], db: CharmDB, *, trust: bool = False
) -> tuple[list[Problem], Merged]:
    """Check a bundle and its overlays: every problem (in file order) and the merge."""
    ctx = _Ctx([])
    merged = merge([(d.path, d.data) for d in documents])
    # Whether the bundle is a Kubernetes one is decided by the merged result (in practice the
    # base bundle's `bundle: kubernetes`): overlays do not repeat the key, yet their `to:` and
    # `machines:` are just as wrong on a Kubernetes bundle.
    for index, doc in enumerate(documents):
        _check_document(ctx, doc, overlay=index > 0, kubernetes=merged.kubernetes)
    _check_merged(ctx, merged, db, trust)
    for note in db.notes:
        ctx.add(Loc(documents[0].path if documents else ""), "", note, WARNING)
    order = {d.path: n for n, d in enumerate(documents)}
    unique = list(dict.fromkeys(ctx.problems))
    unique.sort(key=lambda p: (order.get(p.file, len(order)), p.line))
    return unique, merged


# ---------------------------------------------------------------- one file at a time


def _check_document(ctx: _Ctx, doc: Document, overlay: bool, kubernetes: bool = False) -> None:
    path, data = doc.path, doc.data
    machines = data.get("machines") if isinstance(data, dict) else None
    for dup in doc.duplicates:
        if dup.mapping is not machines:
            ctx.add(
                Loc(path, dup.line),
                dup.key,
                f'duplicate key "{dup.key}" (first written on line {dup.first_line}); '
                "YAML keeps only the last one",
            )
    _mark_machine_duplicates(ctx, doc)
    if data is None:
        ctx.add(Loc(path), "", "the file is empty")
        return
    if not isinstance(data, dict):
        ctx.add(Loc(path, 1), "", "a bundle or overlay must be a mapping at the top level")
        return
    for key in data:
        if str(key) not in TOP_KEYS:
            hint = did_you_mean(str(key), TOP_KEYS)
            ctx.add(Loc(path, line_of(data, key)), str(key), f"unknown key{hint}: Juju ignores it")
    kubernetes = kubernetes or str(data.get("bundle", "")).lower() == "kubernetes"
    if "default-base" in data and not _BASE.fullmatch(str(data["default-base"])):
        ctx.add(
            Loc(path, line_of(data, "default-base")),
            "default-base",
            f'"{data["default-base"]}" is not a base like ubuntu@22.04',
        )
    apps = data.get("applications", data.get("services"))
    if apps is not None and not isinstance(apps, dict):
        ctx.add(Loc(path, line_of(data, "applications")), "applications", "must be a mapping")
    elif isinstance(apps, dict):
        for name, body in apps.items():
            where = Loc(path, line_of(apps, name))
            _check_app_doc(ctx, where, str(name), body, overlay=overlay, kubernetes=kubernetes)
    if "machines" in data:
        _check_machines_section(ctx, path, data, kubernetes)
    _check_relations_section(ctx, path, data)


def _check_machines_section(ctx: _Ctx, path: str, data: dict, kubernetes: bool) -> None:
    machines = data.get("machines")
    if kubernetes:
        ctx.add(
            Loc(path, line_of(data, "machines")),
            "machines",
            "a Kubernetes bundle has no machines; pin pods with constraints "
            "tags=node.<label>=<value>",
        )
    if machines is not None and not isinstance(machines, dict):
        ctx.add(Loc(path, line_of(data, "machines")), "machines", "must be a mapping")
    elif isinstance(machines, dict):
        for mid, body in machines.items():
            _check_machine_doc(ctx, path, mid, body, line_of(machines, mid))


def _check_relations_section(ctx: _Ctx, path: str, data: dict) -> None:
    relations = data.get("relations")
    if relations is not None and not isinstance(relations, list):
        ctx.add(Loc(path, line_of(data, "relations")), "relations", "must be a list of pairs")
        return
    for n, item in enumerate(relations or []):
        loc = Loc(path, line_of(relations, n))
        if not (isinstance(item, list) and len(item) == 2):
            ctx.add(loc, f"relations[{n}]", "a relation is a pair [app:endpoint, app:endpoint]")
            continue
        for end in item:
            if not isinstance(end, str) or not _RELATION_END.fullmatch(end):
                ctx.add(loc, f"relations[{n}]", f'"{end}" is not app or app:endpoint')


def _mark_machine_duplicates(ctx: _Ctx, doc: Document) -> None:
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("machines"), LocDict):
        return
    machines = data["machines"]
    for dup in doc.duplicates:
        if dup.mapping is machines:
            ctx.add(
                Loc(doc.path, dup.line),
                f"machines.{dup.key}",
                f"duplicate machine id {dup.key} (first defined on line {dup.first_line})",
            )


def _check_app_doc(
    ctx: _Ctx, loc: Loc, name: str, body: Any, *, overlay: bool, kubernetes: bool
) -> None:
    where = f"applications.{name}"
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*", name):
        ctx.add(loc, where, "not a valid application name")
    if body is None or body == {}:
        if not overlay:
            ctx.add(loc, where, "an application needs a body with at least charm:")
        return
    if not isinstance(body, dict):
        ctx.add(loc, where, "must be a mapping")
        return
    for key, value in body.items():
        key_s = str(key)
        kloc = Loc(loc.file, line_of(body, key))
        if key_s.startswith("_"):
            continue  # private annotations such as _github_repo_name: ignored by Juju, on purpose
        if key_s not in APP_KEYS:
            hint = did_you_mean(key_s, APP_KEYS)
            ctx.add(kloc, f"{where}.{key_s}", f"unknown key{hint}: Juju silently ignores it")
            continue
        check = _VALUE_CHECKS.get(key_s)
        if check is not None:
            for sub_line, sub_key, message in check(value, kubernetes):
                line = line_of(value, sub_line) if sub_line is not None else kloc.line
                key_path = f"{where}.{key_s}" + (f".{sub_key}" if sub_key else "")
                ctx.add(Loc(loc.file, line or kloc.line), key_path, message)


_Found = list[
    tuple[Any, str, str]
]  # (sub-key for the line or None, sub-key for the path, message)


def _v_units(value: Any, _k8s: bool) -> _Found:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return [(None, "", f"must be a whole number >= 0, not {value!r}")]
    return []


def _v_to(value: Any, k8s: bool) -> _Found:
    if not isinstance(value, list):
        return [(None, "", 'must be a list of placements, e.g. ["0", "lxd:1"]')]
    if k8s:
        return [(None, "", "Kubernetes applications cannot be placed with to:; use constraints")]
    return [
        (None, "", f'"{item}" is not a placement (0, lxd:0, new, app/0)')
        for item in value
        if not _PLACEMENT.fullmatch(str(item))
    ]


def _v_channel(value: Any, _k8s: bool) -> _Found:
    if not isinstance(value, str) or not _channel_ok(value):
        return [(None, "", f'"{value}" is not a channel like 1.32/stable or latest/edge')]
    return []


def _v_constraints(value: Any, _k8s: bool) -> _Found:
    return [(None, "", message) for message in constraint_errors(value)]


def _v_map(value: Any, _k8s: bool) -> _Found:
    if value is not None and not isinstance(value, dict):
        return [(None, "", "must be a mapping")]
    return []


def _v_storage(value: Any, k8s: bool) -> _Found:
    found = _v_map(value, k8s)
    if isinstance(value, dict):
        for name, spec in value.items():
            found += [(name, str(name), message) for message in storage_errors(spec)]
    return found


def _v_bindings(value: Any, k8s: bool) -> _Found:
    found = _v_map(value, k8s)
    if isinstance(value, dict):
        for endpoint, space in value.items():
            if not isinstance(space, str) or " " in space:
                found.append((endpoint, str(endpoint), f"{space!r} is not a space name"))
    return found


def _v_bool(value: Any, _k8s: bool) -> _Found:
    return [] if isinstance(value, bool) else [(None, "", f"must be true or false, not {value!r}")]


def _v_base(value: Any, _k8s: bool) -> _Found:
    return (
        []
        if _BASE.fullmatch(str(value))
        else [(None, "", f'"{value}" is not a base like ubuntu@22.04')]
    )


def _v_charm(value: Any, _k8s: bool) -> _Found:
    if not isinstance(value, str) or not value.strip():
        return [(None, "", "must name a charm (Charmhub name or path to a .charm file)")]
    return []


_VALUE_CHECKS = {
    "num_units": _v_units,
    "scale": _v_units,
    "to": _v_to,
    "channel": _v_channel,
    "constraints": _v_constraints,
    "options": _v_map,
    "annotations": _v_map,
    "resources": _v_map,
    "devices": _v_map,
    "storage": _v_storage,
    "bindings": _v_bindings,
    "trust": _v_bool,
    "expose": _v_bool,
    "base": _v_base,
    "charm": _v_charm,
}


def _channel_ok(value: str) -> bool:
    if "/" in value or value in ("stable", "candidate", "beta", "edge"):
        return valid_channel(value)
    return valid_channel(value) and (any(c.isdigit() for c in value) or value == "latest")


def _check_machine_doc(ctx: _Ctx, path: str, mid: Any, body: Any, line: int) -> None:
    key = f"machines.{mid}"
    if not re.fullmatch(r"\d+", str(mid)):
        ctx.add(Loc(path, line), key, f'machine ids are whole numbers ("0", "1"), not "{mid}"')
    if body is None:
        return
    if not isinstance(body, dict):
        ctx.add(Loc(path, line), key, "must be a mapping (constraints:, base:)")
        return
    for k, value in body.items():
        kloc = Loc(path, line_of(body, k))
        if str(k) not in MACHINE_KEYS:
            hint = did_you_mean(str(k), MACHINE_KEYS)
            ctx.add(kloc, f"{key}.{k}", f"unknown key{hint}: Juju silently ignores it")
        elif k == "constraints":
            for message in constraint_errors(value):
                ctx.add(kloc, f"{key}.constraints", message)


def constraint_errors(value: Any) -> list[str]:
    """What is wrong with a constraints string (empty list when it is fine)."""
    if value is None or value == "":
        return []
    if not isinstance(value, str):
        return [f'constraints are one string like "tags=gpu cores=32", not {value!r}']
    errors: list[str] = []
    seen: set[str] = set()
    tokens = value.split()
    previous = ""
    for token in tokens:
        if "=" not in token:
            if previous in ("tags", "spaces", "zones"):
                errors.append(
                    f'"{previous}" value has a space before "{token}": MAAS tags, spaces and '
                    "zones cannot contain spaces; separate several with commas"
                )
            else:
                errors.append(f'"{token}" is not key=value')
            continue
        key, val = token.split("=", 1)
        previous = key
        if key not in CONSTRAINT_KEYS:
            errors.append(f'unknown constraint "{key}"{did_you_mean(key, CONSTRAINT_KEYS)}')
            continue
        if key in seen:
            errors.append(f'constraint "{key}" given twice')
        seen.add(key)
        if key in ("cores", "cpu-cores", "cpu-power") and not val.isdigit():
            errors.append(f"{key}={val}: must be a whole number")
        elif key in ("mem", "root-disk") and not _SIZE.fullmatch(val):
            errors.append(f"{key}={val}: must be a size like 64G, 512M or 2T")
        elif key == "arch" and val not in ARCHES:
            errors.append(f"arch={val}: one of {', '.join(sorted(ARCHES))}")
        elif key in ("tags", "spaces", "zones"):
            items = [v.lstrip("^") for v in val.split(",")]
            if not val or any(not v for v in items):
                errors.append(f"{key}={val}: empty item")
        elif key == "container" and val not in ("lxd", "kvm"):
            errors.append(f"container={val}: lxd or kvm")
        elif key == "allocate-public-ip" and val not in ("true", "false"):
            errors.append(f"allocate-public-ip={val}: true or false")
    return errors


def storage_errors(spec: Any) -> list[str]:
    """What is wrong with one storage directive `pool,size,count` (any order, each optional)."""
    if isinstance(spec, int) and not isinstance(spec, bool):
        return []
    if not isinstance(spec, str) or not spec.strip():
        return [f'a storage directive is a string like "pool,10G", not {spec!r}']
    errors = []
    for raw in spec.split(","):
        part = raw.strip()
        if not part:
            errors.append(f'"{spec}": empty part')
        elif (
            part.isdigit()
            or _STORAGE_SIZE.fullmatch(part)
            or re.fullmatch(r"[a-z][a-z0-9-]*", part)
        ):
            continue
        else:
            errors.append(f'"{part}" is neither a pool name, a size (10G) nor a count')
    return errors


# ---------------------------------------------------------------- the merged bundle


def _check_merged(ctx: _Ctx, merged: Merged, db: CharmDB, trust: bool) -> None:
    infos: dict[str, CharmInfo | None] = {}
    for name, body in merged.apps.items():
        if not isinstance(body, dict) or not body.get("charm"):
            ctx.add(
                merged.loc(name), f"applications.{name}", "no charm: given for this application"
            )
            infos[name] = None
            continue
        infos[name] = db.lookup(str(body["charm"]), body.get("channel"))
    for removal in merged.removals:
        key = f"applications.{removal.app}"
        if not removal.existed:
            ctx.add(
                removal.loc, key, "removes an application that no earlier file defines", WARNING
            )
        if removal.dropped:
            users = sorted(
                {
                    e
                    for r in removal.dropped
                    for e in r.ends
                    if not e.startswith(f"{removal.app}:") and e != removal.app
                }
            )
            ctx.add(
                removal.loc,
                key,
                f"removes {removal.app}, which {', '.join(users)} relate to: Juju drops "
                f"{len(removal.dropped)} relation(s) with it",
            )
    for name, body in merged.apps.items():
        info = infos.get(name)
        if isinstance(body, dict):
            _check_app_merged(ctx, merged, name, body, info=info, trust=trust)
    relations = _check_relations(ctx, merged, infos)
    _check_subordinates(ctx, merged, infos, relations)
    if not merged.kubernetes:
        _check_placement(ctx, merged, infos)


def _check_app_merged(
    ctx: _Ctx, merged: Merged, name: str, body: dict, *, info: CharmInfo | None, trust: bool
) -> None:
    key = f"applications.{name}"
    if info is None:
        return
    options = body.get("options")
    if info.options is not None and isinstance(options, dict):
        for opt, value in options.items():
            loc = merged.loc(name, "options", str(opt))
            if str(opt) not in info.options:
                hint = did_you_mean(str(opt), info.options)
                if info.ours or info.options_complete:
                    ctx.add(
                        loc,
                        f"{key}.options.{opt}",
                        f"{info.name} has no option {opt}{hint} ({info.source})",
                        ERROR if info.ours else WARNING,
                    )
                elif hint:
                    ctx.add(
                        loc,
                        f"{key}.options.{opt}",
                        f"{opt} is not among the {info.name} options this project knows{hint}",
                        WARNING,
                    )
                continue
            allowed = ALLOWED_VALUES.get((info.name, str(opt)))
            if allowed is not None and value is not None and str(value) not in allowed:
                choices = ", ".join(repr(a) for a in allowed)
                ctx.add(loc, f"{key}.options.{opt}", f"{value!r} is not one of {choices}")
                continue
            expected = info.options[str(opt)]
            types = _TYPES.get(expected)
            if value is not None and types is not None:
                wrong = not isinstance(value, types) or (
                    expected != "boolean" and isinstance(value, bool)
                )
                if wrong:
                    ctx.add(
                        loc,
                        f"{key}.options.{opt}",
                        f"{info.name} option {opt} is a {expected}, not {value!r}",
                    )
    if info.needs_trust and not trust and body.get("trust") is not True:
        ctx.add(
            merged.loc(name),
            key,
            f"{info.name} needs cluster access: add trust: true or deploy with --trust",
        )
    if info.kubernetes and not merged.kubernetes:
        ctx.add(merged.loc(name), key, f"{info.name} is a Kubernetes charm in a machine bundle")
    if not info.kubernetes and merged.kubernetes and not info.ours and info.endpoints:
        ctx.add(merged.loc(name), key, f"{info.name} is a machine charm in a Kubernetes bundle")


@dataclass
class _Resolved:
    rel: Relation
    apps: tuple[str, str]
    endpoints: tuple[Endpoint | None, Endpoint | None]
    scope: str


def _implicit(name: str) -> Endpoint | None:
    """Every charm has an implicit juju-info provides endpoint."""
    if name == "juju-info":
        return Endpoint("juju-info", "provides", "juju-info")
    return None


def _endpoint(info: CharmInfo, name: str) -> Endpoint | None:
    return info.endpoints.get(name) or _implicit(name)


def _compatible(a: Endpoint, b: Endpoint) -> bool:
    if a.interface != b.interface:
        return False
    roles = {a.role, b.role}
    return roles == {"provides", "requires"}


def _check_relations(
    ctx: _Ctx, merged: Merged, infos: dict[str, CharmInfo | None]
) -> list[_Resolved]:
    resolved: list[_Resolved] = []
    seen: Counter[frozenset[str]] = Counter()
    removed = {r.app for r in merged.removals}
    for rel in merged.relations:
        apps = (rel.ends[0].split(":", 1)[0], rel.ends[1].split(":", 1)[0])
        ok = True
        for app in apps:
            if app not in merged.apps:
                why = (
                    "was removed by an overlay"
                    if app in removed
                    else "is not defined by the bundle or an earlier overlay"
                )
                ctx.add(rel.loc, rel.key, f"application {app} {why}")
                ok = False
        if not ok:
            continue
        if apps[0] == apps[1]:
            ctx.add(
                rel.loc, rel.key, "an application cannot relate to itself (peers are implicit)"
            )
            continue
        eps = _resolve_pair(ctx, rel, apps, infos=infos, merged=merged)
        if eps is None:
            continue
        scope = (
            "container" if any(e is not None and e.scope == "container" for e in eps) else "global"
        )
        resolved.append(_Resolved(rel, apps, eps, scope))
        names = frozenset(
            f"{a}:{e.name}" if e else rel.ends[i]
            for i, (a, e) in enumerate(zip(apps, eps, strict=True))
        )
        seen[names] += 1
        if seen[names] == 2:
            ctx.add(rel.loc, rel.key, f"duplicate relation {' '.join(sorted(names))}", WARNING)
    _check_limits(ctx, resolved, infos)
    return resolved


def _resolve_pair(
    ctx: _Ctx,
    rel: Relation,
    apps: tuple[str, str],
    *,
    infos: dict[str, CharmInfo | None],
    merged: Merged,
) -> tuple[Endpoint | None, Endpoint | None] | None:
    given = [e.split(":", 1)[1] if ":" in e else None for e in rel.ends]
    found: list[Endpoint | None] = [None, None]
    for i in (0, 1):
        info = infos.get(apps[i])
        name = given[i]
        if info is None or name is None:
            continue
        ep = _endpoint(info, name)
        if ep is None:
            channel = merged.apps[apps[i]].get("channel")
            if info.name == "kubernetes-worker" and name == "nfs":
                ctx.add(
                    rel.loc,
                    rel.key,
                    f"kubernetes-worker on channel {channel or 'latest'} has no nfs endpoint "
                    "(it exists up to 1.28 only: facts §2); use the legacy 1.28 line or drop "
                    "the legacy nfs overlay",
                )
                return None
            if info.complete:
                hint = did_you_mean(name, info.endpoints)
                ctx.add(
                    rel.loc,
                    rel.key,
                    f"{info.name} has no endpoint {name}{hint} (source: {info.source})",
                )
                return None
            ctx.add(
                rel.loc,
                rel.key,
                f"{apps[i]}:{name} is not in this project's endpoint table for {info.name}: "
                "not verified",
                WARNING,
            )
            continue
        if ep.role == "peers":
            ctx.add(
                rel.loc, rel.key, f"{apps[i]}:{name} is a peer endpoint: Juju relates peers itself"
            )
            return None
        found[i] = ep
    info_a, info_b = infos.get(apps[0]), infos.get(apps[1])
    if found[0] and found[1]:
        if not _compatible(found[0], found[1]):
            ctx.add(
                rel.loc,
                rel.key,
                f"{rel.ends[0]} ({found[0].role} {found[0].interface}) cannot relate to "
                f"{rel.ends[1]} ({found[1].role} {found[1].interface})",
            )
            return None
        return found[0], found[1]
    # Infer missing endpoint names where both charms are fully known.
    if info_a is None or info_b is None or not (info_a.complete and info_b.complete):
        return found[0], found[1]
    cands_a = [found[0]] if found[0] else _all_eps(info_a)
    cands_b = [found[1]] if found[1] else _all_eps(info_b)
    pairs = [(a, b) for a in cands_a for b in cands_b if _compatible(a, b)]
    if len(pairs) > 1 and any(p[0].name == "juju-info" or p[1].name == "juju-info" for p in pairs):
        non_implicit = [p for p in pairs if "juju-info" not in (p[0].name, p[1].name)]
        pairs = non_implicit or pairs
    if not pairs:
        ctx.add(rel.loc, rel.key, f"no matching endpoints between {rel.ends[0]} and {rel.ends[1]}")
        return None
    if len(pairs) > 1:
        options = ", ".join(f"{apps[0]}:{a.name} {apps[1]}:{b.name}" for a, b in pairs)
        ctx.add(rel.loc, rel.key, f"ambiguous relation; name the endpoints: {options}")
        return None
    return pairs[0]


def _all_eps(info: CharmInfo) -> list[Endpoint]:
    eps = [e for e in info.endpoints.values() if e.role != "peers"]
    if not info.subordinate and "juju-info" not in info.endpoints:
        eps.append(Endpoint("juju-info", "provides", "juju-info"))
    return eps


def _check_limits(
    ctx: _Ctx, resolved: list[_Resolved], infos: dict[str, CharmInfo | None]
) -> None:
    counts: Counter[tuple[str, str]] = Counter()
    for item in resolved:
        for app, ep in zip(item.apps, item.endpoints, strict=True):
            if ep is None or ep.limit is None:
                continue
            counts[(app, ep.name)] += 1
            if counts[(app, ep.name)] > ep.limit:
                ctx.add(
                    item.rel.loc,
                    item.rel.key,
                    f"{app}:{ep.name} allows {ep.limit} relation(s) "
                    f"(limit in {_source(infos, app)})",
                )


def _source(infos: dict[str, CharmInfo | None], app: str) -> str:
    info = infos.get(app)
    return info.source if info is not None else "the charm"


def _check_subordinates(
    ctx: _Ctx, merged: Merged, infos: dict[str, CharmInfo | None], resolved: list[_Resolved]
) -> None:
    for name, body in merged.apps.items():
        info = infos.get(name)
        if info is None or not isinstance(body, dict):
            continue
        if info.subordinate:
            _check_one_subordinate(
                ctx, merged, name, body, info=info, infos=infos, resolved=resolved
            )
        for item in resolved:
            if item.scope != "container" or name != item.apps[0]:
                continue
            other_info = infos.get(item.apps[1])
            if other_info is not None and not info.subordinate and not other_info.subordinate:
                ctx.add(
                    item.rel.loc,
                    item.rel.key,
                    "a container-scoped relation needs a subordinate on one side; "
                    f"{item.apps[0]} and {item.apps[1]} are both principals",
                )


def _check_one_subordinate(
    ctx: _Ctx,
    merged: Merged,
    name: str,
    body: dict,
    *,
    info: CharmInfo,
    infos: dict[str, CharmInfo | None],
    resolved: list[_Resolved],
) -> None:
    key = f"applications.{name}"
    for field_name in ("num_units", "to", "constraints"):
        if body.get(field_name) not in (None, 0, "", []):
            ctx.add(
                merged.loc(name, field_name),
                f"{key}.{field_name}",
                f"{info.name} is a subordinate: it gets its units from its principals, "
                f"remove {field_name}",
            )
    principals = []
    unknown = False  # related (container scope) to a charm this tool does not know
    for item in resolved:
        if item.scope != "container" or name not in item.apps:
            continue
        other = item.apps[1] if item.apps[0] == name else item.apps[0]
        other_info = infos.get(other)
        if other_info is None:
            unknown = True
        elif not other_info.subordinate:
            principals.append((other, other_info, item))
    if not principals and not unknown:
        ctx.add(
            merged.loc(name),
            key,
            f"subordinate {name} has no container-scoped relation to a principal "
            "(e.g. its juju-info to kubernetes-worker:juju-info): it would get no units",
        )
    for other, other_info, item in principals:
        if info.principals and other_info.name not in info.principals:
            ctx.add(
                item.rel.loc,
                item.rel.key,
                f"{info.name} must be attached to {' or '.join(info.principals)}, "
                f"not {other} ({other_info.name})",
            )


def _placement_target(entry: str) -> tuple[str, str | None, str | None]:
    match = _PLACEMENT.fullmatch(entry)
    if not match:
        return ("invalid", None, None)
    if match.group("machine") is not None:
        return ("machine", match.group("machine"), None)
    if match.group("new"):
        return ("new", None, None)
    return ("unit", match.group("app"), match.group("unit"))


def _check_placement(ctx: _Ctx, merged: Merged, infos: dict[str, CharmInfo | None]) -> None:
    machines = merged.machines or {}
    used: set[str] = set()
    for name, body in merged.apps.items():
        if not isinstance(body, dict):
            continue
        info = infos.get(name)
        if info is not None and info.subordinate:
            continue
        units = body.get("num_units", body.get("scale"))
        to = body.get("to")
        key = f"applications.{name}"
        if units is None and isinstance(to, list) and to:
            ctx.add(merged.loc(name), key, "to: without num_units: Juju deploys 0 units")
        if isinstance(units, int) and isinstance(to, list) and len(to) > units:
            ctx.add(
                merged.loc(name, "to"),
                f"{key}.to",
                f"{len(to)} placements for num_units {units}: more to entries than units is "
                "an error",
            )
        if isinstance(to, list):
            used |= _check_to_entries(ctx, merged, name, to)
    for mid in machines:
        if mid not in used:
            ctx.add(
                merged.machine_origin.get(mid, Loc("")),
                f"machines.{mid}",
                f"machine {mid} is defined but no application is placed on it",
            )


def _check_to_entries(ctx: _Ctx, merged: Merged, name: str, to: list) -> set[str]:
    """Check one application's placements; return the machine ids they use."""
    machines = merged.machines or {}
    used: set[str] = set()
    key = f"applications.{name}.to"
    loc = merged.loc(name, "to")
    for entry in to:
        kind, target, unit = _placement_target(str(entry))
        if kind == "machine" and target is not None:
            used.add(target)
            if target not in machines:
                ctx.add(loc, key, f'machine "{target}" is not defined under machines:')
        elif kind == "unit" and target is not None:
            other = merged.apps.get(target)
            if other is None:
                ctx.add(loc, key, f'"{entry}" names no application of this bundle')
            elif unit is not None:
                count = other.get("num_units", 0) if isinstance(other, dict) else 0
                if isinstance(count, int) and int(unit) >= count:
                    ctx.add(loc, key, f"{target} has no unit {unit} (num_units {count})")
    return used
