"""`homelab check`: everything Juju would only tell you mid-deploy, or never (facts §3).

The rules follow Juju 3.6's bundle code, github.com/juju/charm/v12 (branch v12): bundledata.go
`Verify` (cited as bundledata.go:LINE), overlay.go `applyOverlay`, bundledatasrc.go (parsing), and
juju/juju cmd/juju/application/bundle/bundle.go `ComposeAndVerifyBundle`/`verifyBaseBundle`
(image-id, constraint and storage parsing: core/constraints, core/storage/directive.go). Where
this tool is stricter than Juju the message says so (README: "check rules").
"""

from __future__ import annotations

import ipaddress
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
# What an overlay's top level may hold (overlay.go:530-597); the rest is ignored by Juju.
OVERLAY_TOP = {"applications", "saas", "series", "relations", "machines"}
OVERLAY_IGNORED = {
    "default-base": "Juju ignores default-base in an overlay (overlay.go:522-600 reads only "
    "applications, saas, series, relations, machines): set it in the base bundle, or write "
    "base: on each application of this overlay",
    "services": "Juju drops services: in an overlay (charm/v12 has no services field, so the "
    "applications under it are never deployed): rename it applications:",
    "bundle": "Juju ignores bundle: in an overlay; the base bundle decides the bundle type",
}
_APP_NAME = r"[a-z][a-z0-9]*(?:-[a-z0-9]*[a-z][a-z0-9]*)*"  # names.ApplicationSnippet
_NUMBER = r"(?:0|[1-9][0-9]*)"  # names.NumberSnippet
_SPACE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # names.IsValidSpace
_SERIES = re.compile(r"[a-z]+([a-z0-9]+)?")  # url.go:66
_POOL = re.compile(r"[a-zA-Z]+[-?a-zA-Z0-9]*")  # core/storage/directive.go poolRE
_COUNT = re.compile(r"-?[0-9]+")
_DIRECTIVE_SIZE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?[MGTPEZY](?:i?B)?")
_OFFER_URL = re.compile(
    r"(?:[a-zA-Z0-9][a-zA-Z0-9_-]*:)?(?:[a-zA-Z0-9][a-zA-Z0-9.+_-]*/)?"
    r"[a-z0-9]+(?:-[a-z0-9]+)*\." + _APP_NAME
)  # approximates charm/v12 offerurl.go IsValidOfferURL
DROPS_OVERLAY = (
    "Juju would silently drop this overlay document: a type error anywhere in it empties the "
    "whole document (charm/v12 bundledatasrc.go:219-238, bundledata.go:273-279)"
)
EMPTIES_BASE = (
    "Juju cannot read this bundle: a type error empties the whole document "
    "(charm/v12 bundledatasrc.go:219-238)"
)


class TypeProblem(str):
    """A message for a value Go's YAML decoder cannot put in Juju's bundle structs."""


CONSTRAINT_KEYS = {
    "arch", "container", "cores", "cpu-cores", "cpu-power", "mem", "root-disk",
    "root-disk-source", "tags", "spaces", "virt-type", "zones", "allocate-public-ip",
    "instance-type", "instance-role", "image-id",
}  # fmt: skip
ARCHES = {"amd64", "arm64", "ppc64el", "s390x", "riscv64"}
_SIZE = re.compile(r"^\d+(\.\d+)?[MGTP]?$")
_STORAGE_SIZE = re.compile(r"^\d+(\.\d+)?[MGTPE]i?B?$")
# bundledata.go:1141-1145 (ParsePlacement)
_PLACEMENT = re.compile(
    rf"^(?:(?P<ctype>[a-z]+):)?(?:(?P<machine>{_NUMBER})|(?P<new>new)|"
    rf"(?P<app>{_APP_NAME})(?:/(?P<unit>{_NUMBER}))?)$"
)
# bundledata.go:1034, 1055-1069 (parseEndpoint)
_RELATION_END = re.compile(rf"{_APP_NAME}(:[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*)?")
_BASE = re.compile(r"^[a-z]+@\d+(\.\d+)?(/[a-z]+)?$")
_TYPES = {"string": (str,), "int": (int,), "float": (int, float), "boolean": (bool,)}


@dataclass
class _Ctx:
    problems: list[Problem]
    overlay: bool = False  # the document being checked is an overlay
    dropped: bool = False  # ... and Juju would drop it (a type error)

    def add(self, loc: Loc, key: str, message: str, severity: str = ERROR) -> None:
        if isinstance(message, TypeProblem):
            self.dropped = True
            message = f"{message}; {DROPS_OVERLAY if self.overlay else EMPTIES_BASE}"
        self.problems.append(Problem(loc.file, key, message, loc.line, severity))


def check_documents(
    documents: list[Document], db: CharmDB, *, trust: bool = False
) -> tuple[list[Problem], Merged]:
    """Check a bundle and its overlays: every problem (in file order) and the merge.

    Each YAML document is one part (a multi-document file is one overlay per document,
    bundledatasrc.go:196-246); the first document of the first file is the base bundle.
    """
    ctx = _Ctx([])
    parts: list[tuple[Document, Any]] = [(d, part) for d in documents for part in d.parts]
    if documents and not documents[0].parts:
        ctx.add(Loc(documents[0].path), "", "the bundle file is empty (Juju: bundle is empty)")
    # Whether the bundle is a Kubernetes one is decided by the base bundle's `bundle:` (Juju
    # does not merge an overlay's); overlays' `to:` and `machines:` are just as wrong there.
    base = parts[0][1] if parts else None
    kubernetes = isinstance(base, dict) and base.get("bundle") == "kubernetes"
    seen: set[int] = set()
    to_merge: list[tuple[str, Any]] = []
    for index, (doc, data) in enumerate(parts):
        ctx.overlay, ctx.dropped = index > 0, False
        first = id(doc) not in seen
        seen.add(id(doc))
        _check_document(ctx, doc, data, first_part=first, kubernetes=kubernetes)
        # What Juju merges: an overlay document with a type error is dropped whole.
        to_merge.append((doc.path, None if ctx.overlay and ctx.dropped else data))
    ctx.overlay = ctx.dropped = False
    merged = merge(to_merge)
    for doc in documents[1:]:
        if doc.path not in merged.files:
            merged.files.append(doc.path)
    _check_merged(ctx, merged, db, trust)
    if isinstance(base, dict) and len(parts) > 1:
        _check_base_alone(ctx, parts[0][0].path, base, kubernetes)
    for note in db.notes:
        ctx.add(Loc(documents[0].path if documents else ""), "", note, WARNING)
    order = {d.path: n for n, d in enumerate(documents)}
    unique = list(dict.fromkeys(ctx.problems))
    unique.sort(key=lambda p: (order.get(p.file, len(order)), p.line))
    return unique, merged


# ---------------------------------------------------------------- one document at a time


def _check_document(
    ctx: _Ctx, doc: Document, data: Any, *, first_part: bool, kubernetes: bool = False
) -> None:
    path = doc.path
    overlay = ctx.overlay
    if first_part:
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
        if not overlay:
            ctx.add(Loc(path), "", "the base bundle document is empty (Juju: bundle is empty)")
        return  # an empty overlay changes nothing (overlay.go:523-525)
    if not isinstance(data, dict):
        ctx.add(
            Loc(path, 1), "", TypeProblem("a bundle or overlay must be a mapping at the top level")
        )
        return
    _check_top_keys(ctx, path, data)
    if "bundle" in data and data["bundle"] not in (None, "", "kubernetes") and not overlay:
        ctx.add(
            Loc(path, line_of(data, "bundle")),
            "bundle",
            f'bundle has an invalid type "{data["bundle"]}": only "kubernetes" '
            "(bundledata.go:532-534)",
        )
    if "default-base" in data and not overlay and not _BASE.fullmatch(str(data["default-base"])):
        ctx.add(
            Loc(path, line_of(data, "default-base")),
            "default-base",
            f'"{data["default-base"]}" is not a base like ubuntu@22.04 (bundledata.go:547-551)',
        )
    if data.get("series") is not None and not _SERIES.fullmatch(str(data["series"])):
        ctx.add(
            Loc(path, line_of(data, "series")),
            "series",
            f'bundle declares an invalid series "{data["series"]}" (bundledata.go:544-546)',
        )
    apps = data.get("applications")
    if apps is not None and not isinstance(apps, dict):
        ctx.add(
            Loc(path, line_of(data, "applications")),
            "applications",
            TypeProblem("must be a mapping"),
        )
    elif isinstance(apps, dict):
        for name, body in apps.items():
            where = Loc(path, line_of(apps, name))
            _check_app_doc(ctx, where, str(name), body, overlay=overlay, kubernetes=kubernetes)
    _check_saas_section(ctx, path, data)
    if "machines" in data:
        _check_machines_section(ctx, path, data, kubernetes)
    _check_relations_section(ctx, path, data)


def _check_top_keys(ctx: _Ctx, path: str, data: dict) -> None:
    for key in data:
        key_s, loc = str(key), Loc(path, line_of(data, key))
        if ctx.overlay and key_s in OVERLAY_IGNORED:
            ctx.add(loc, key_s, OVERLAY_IGNORED[key_s], WARNING)
        elif ctx.overlay and key_s in TOP_KEYS and key_s not in OVERLAY_TOP:
            ctx.add(
                loc, key_s, f"Juju ignores {key_s}: in an overlay (overlay.go:522-600)", WARNING
            )
        elif key_s == "services":
            ctx.add(
                loc,
                key_s,
                "Juju 3.6 ignores services: (charm/v12 has no such field): rename it "
                "applications:",
                WARNING,
            )
        elif key_s not in TOP_KEYS:
            hint = did_you_mean(key_s, TOP_KEYS - {"services"})
            ctx.add(
                loc,
                key_s,
                f"unknown key{hint}: Juju silently ignores it (this tool is stricter and "
                "refuses it)",
            )


def _check_saas_section(ctx: _Ctx, path: str, data: dict) -> None:
    saas = data.get("saas")
    if saas is None:
        return
    if not isinstance(saas, dict):
        ctx.add(Loc(path, line_of(data, "saas")), "saas", TypeProblem("must be a mapping"))
        return
    for name, body in saas.items():
        loc, key = Loc(path, line_of(saas, name)), f"saas.{name}"
        if not re.fullmatch(_APP_NAME, str(name)):
            ctx.add(loc, key, f'invalid SAAS name "{name}" (bundledata.go:585-587)')
        if body is None:
            continue
        if not isinstance(body, dict):
            ctx.add(loc, key, TypeProblem("must be a mapping (url:)"))
            continue
        for k in body:
            if k != "url":
                ctx.add(loc, f"{key}.{k}", "unknown key: Juju silently ignores it (stricter)")
        url = body.get("url")
        if url is not None and not _OFFER_URL.fullmatch(str(url)):
            ctx.add(
                loc,
                f"{key}.url",
                f'invalid offer URL "{url}" for SAAS {name} (bundledata.go:591-593): '
                "[controller:][user/]model.application",
            )


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
        ctx.add(Loc(path, line_of(data, "machines")), "machines", TypeProblem("must be a mapping"))
    elif isinstance(machines, dict):
        for mid, body in machines.items():
            _check_machine_doc(ctx, path, mid, body, line_of(machines, mid))


def _check_relations_section(ctx: _Ctx, path: str, data: dict) -> None:
    relations = data.get("relations")
    if relations is not None and not isinstance(relations, list):
        ctx.add(
            Loc(path, line_of(data, "relations")),
            "relations",
            TypeProblem("must be a list of pairs"),
        )
        return
    for n, item in enumerate(relations or []):
        loc = Loc(path, line_of(relations, n))
        if not isinstance(item, list) or any(isinstance(e, (list, dict)) for e in item):
            ctx.add(
                loc,
                f"relations[{n}]",
                TypeProblem("a relation is a pair [app:endpoint, app:endpoint]"),
            )
            continue
        if len(item) != 2:
            ctx.add(
                loc,
                f"relations[{n}]",
                f"relation has {len(item)} endpoint(s), not 2 (bundledata.go:835-837)",
            )
            continue
        for end in item:
            if not _RELATION_END.fullmatch(str(end)):
                ctx.add(
                    loc,
                    f"relations[{n}]",
                    f'invalid relation syntax "{end}": app or app:endpoint '
                    "(bundledata.go:1055-1069)",
                )


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
    if not re.fullmatch(_APP_NAME, name):
        ctx.add(loc, where, "not a valid application name")
    if body is None or body == {}:
        if not overlay:
            ctx.add(
                loc,
                where,
                "an application needs a body with at least charm: (bundledata.go:627-633)",
            )
        elif body == {}:
            ctx.add(
                loc,
                where,
                f"an empty body changes nothing in Juju: only null removes an application "
                f"(overlay.go:540-555); write `{name}:` or `{name}: null` to remove it, or "
                "delete the line",
                WARNING,
            )
        return
    if not isinstance(body, dict):
        ctx.add(loc, where, TypeProblem("must be a mapping"))
        return
    _check_app_juju_rules(ctx, loc, name, body, overlay=overlay, kubernetes=kubernetes)
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


def _check_app_juju_rules(
    ctx: _Ctx, loc: Loc, name: str, body: dict, *, overlay: bool, kubernetes: bool
) -> None:
    """Rules Juju applies to one document's application before merging."""
    where = f"applications.{name}"
    if not overlay:
        for key in ("offers", "exposed-endpoints"):
            if body.get(key):
                ctx.add(
                    Loc(loc.file, line_of(body, key)),
                    f"{where}.{key}",
                    f"applications.{name}.{key} can only appear in an overlay section "
                    '(overlay.go:95-146, `source:"overlay-only"` in bundledata.go:204, 233)',
                )
        if "image-id" in _constraint_keys(body.get("constraints")):
            ctx.add(
                Loc(loc.file, line_of(body, "constraints")),
                f"{where}.constraints",
                "'image-id' constraint in a base bundle is not supported: put it in an overlay "
                "(juju cmd/juju/application/bundle/bundle.go verifyBaseBundle)",
            )
    units, scale = body.get("num_units"), body.get("scale")
    if isinstance(units, int) and isinstance(scale, int) and units > 0 and scale > 0:
        ctx.add(
            loc,
            where,
            f'cannot specify both scale and num_units for application "{name}" '
            "(bundledata.go:307-309): Juju refuses the whole file",
        )
    if body.get("placement") and not (kubernetes and not overlay):
        ctx.add(
            Loc(loc.file, line_of(body, "placement")),
            f"{where}.placement",
            f"placement not valid for non-Kubernetes application {name} (bundledata.go:315-317; "
            "an overlay has no bundle: kubernetes of its own): Juju refuses the whole file",
        )
    revision = body.get("revision")
    if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int)):
        ctx.add(
            Loc(loc.file, line_of(body, "revision")),
            f"{where}.revision",
            TypeProblem(f"must be a whole number, not {revision!r}"),
        )
    elif isinstance(revision, int) and revision < 0:
        ctx.add(
            Loc(loc.file, line_of(body, "revision")),
            f"{where}.revision",
            f'the revision for application "{name}" must be zero or greater '
            "(bundledata.go:665-667)",
        )


_Found = list[
    tuple[Any, str, str]
]  # (sub-key for the line or None, sub-key for the path, message)


def _v_units(value: Any, _k8s: bool) -> _Found:
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int):
        return [(None, "", TypeProblem(f"must be a whole number >= 0, not {value!r}"))]
    if value < 0:
        return [(None, "", "negative number of units (bundledata.go:742-744)")]
    return []


def _v_to(value: Any, k8s: bool) -> _Found:
    if value is None:
        return []  # `to:` null clears the placement (overlay.go:689-690)
    if not isinstance(value, list) or any(isinstance(v, (list, dict)) for v in value):
        return [(None, "", TypeProblem('must be a list of placements, e.g. ["0", "lxd:1"]'))]
    if k8s:
        return [
            (
                None,
                "",
                "Kubernetes applications cannot be placed with to:; use constraints (stricter "
                "than Juju's Verify, which takes one key=value node selector)",
            )
        ]
    found: _Found = []
    for item in value:
        match = _PLACEMENT.fullmatch(str(item))
        if not match or (match.group("app") == "new" and match.group("unit")):
            found.append(
                (
                    None,
                    "",
                    f'invalid placement syntax "{item}": 0, lxd:0, new, app/0 '
                    "(bundledata.go:1141-1174)",
                )
            )
    return found


def _v_channel(value: Any, _k8s: bool) -> _Found:
    if value is None:
        return []
    if isinstance(value, (list, dict)):
        return [(None, "", TypeProblem("must be a string like 1.32/stable"))]
    if not isinstance(value, str) or not _channel_ok(value):
        return [(None, "", f'"{value}" is not a channel like 1.32/stable or latest/edge')]
    return []


def _v_constraints(value: Any, _k8s: bool) -> _Found:
    if isinstance(value, (list, dict)):
        return [(None, "", TypeProblem('constraints are one string like "tags=gpu cores=32"'))]
    return [(None, "", message) for message in constraint_errors(value)]


def _v_map(value: Any, _k8s: bool) -> _Found:
    if value is not None and not isinstance(value, dict):
        return [(None, "", TypeProblem("must be a mapping"))]
    return []


def _v_string_map(value: Any, k8s: bool) -> _Found:
    found = _v_map(value, k8s)
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (list, dict)):
                found.append((key, str(key), TypeProblem("must be a plain value")))
    return found


def _v_storage(value: Any, k8s: bool) -> _Found:
    found = _v_string_map(value, k8s)
    if isinstance(value, dict):
        for name, spec in value.items():
            if not re.fullmatch(_APP_NAME, str(name)):
                found.append(
                    (name, str(name), f'invalid storage name "{name}" (bundledata.go:690-692)')
                )
            if not isinstance(spec, (list, dict)):
                found += [(name, str(name), message) for message in storage_errors(spec)]
    return found


def _v_bindings(value: Any, k8s: bool) -> _Found:
    found = _v_string_map(value, k8s)
    if isinstance(value, dict):
        for endpoint, space in value.items():
            if isinstance(space, (list, dict)):
                continue
            if space not in (None, "") and not _SPACE.fullmatch(str(space)):
                found.append((endpoint, str(endpoint), f"{space!r} is not a space name"))
    return found


def _v_resources(value: Any, k8s: bool) -> _Found:
    found = _v_map(value, k8s)
    if isinstance(value, dict):
        for name, rev in value.items():
            if not str(name):
                found.append((name, "", "missing resource name (bundledata.go:733-735)"))
            if rev is not None and (isinstance(rev, bool) or not isinstance(rev, (int, str))):
                found.append(
                    (
                        name,
                        str(name),
                        f"resource revision {rev!r} is not int or string (bundledata.go:736-740)",
                    )
                )
    return found


def _v_exposed(value: Any, k8s: bool) -> _Found:
    found = _v_map(value, k8s)
    if not isinstance(value, dict):
        return found
    for endpoint, spec in value.items():
        if spec is None:
            continue
        if not isinstance(spec, dict):
            found.append((endpoint, str(endpoint), TypeProblem("must be a mapping")))
            continue
        for cidr in spec.get("expose-to-cidrs") or []:
            try:
                ipaddress.ip_network(str(cidr), strict=False)
            except ValueError:
                found.append(
                    (
                        endpoint,
                        str(endpoint),
                        f'invalid CIDR "{cidr}" for expose to CIDRs (bundledata.go:762-767)',
                    )
                )
    return found


def _v_offers(value: Any, k8s: bool) -> _Found:
    found = _v_map(value, k8s)
    if not isinstance(value, dict):
        return found
    for offer, spec in value.items():
        if not re.fullmatch(_APP_NAME, str(offer)):
            found.append((offer, str(offer), f'invalid offer name "{offer}" (bundledata.go:708)'))
        if isinstance(spec, dict):
            for ep in spec.get("endpoints") or []:
                if not re.fullmatch(r"[a-z][a-z0-9]*(?:[_-][a-z0-9]+)*", str(ep)):
                    found.append(
                        (
                            offer,
                            str(offer),
                            f'invalid endpoint name "{ep}" (bundledata.go:712-715)',
                        )
                    )
    return found


def _v_bool(value: Any, _k8s: bool) -> _Found:
    if value is None or isinstance(value, bool):
        return []
    return [(None, "", TypeProblem(f"must be true or false, not {value!r}"))]


def _v_base(value: Any, _k8s: bool) -> _Found:
    if value is None:
        return []
    return (
        []
        if _BASE.fullmatch(str(value))
        else [(None, "", f'"{value}" is not a base like ubuntu@22.04 (bundledata.go:679-683)')]
    )


def _v_series(value: Any, _k8s: bool) -> _Found:
    if value is None or _SERIES.fullmatch(str(value)):
        return []
    return [(None, "", f'invalid series "{value}" (bundledata.go:675-677)')]


def _v_charm(value: Any, _k8s: bool) -> _Found:
    if value is None:
        return []
    if isinstance(value, (list, dict)):
        return [(None, "", TypeProblem("must name a charm"))]
    if not str(value).strip():
        return [(None, "", "must name a charm (Charmhub name or path to a .charm file)")]
    return [(None, "", message) for message in charm_url_errors(str(value))]


_VALUE_CHECKS = {
    "num_units": _v_units,
    "scale": _v_units,
    "to": _v_to,
    "channel": _v_channel,
    "constraints": _v_constraints,
    "options": _v_map,
    "annotations": _v_string_map,
    "resources": _v_resources,
    "devices": _v_string_map,
    "storage": _v_storage,
    "bindings": _v_bindings,
    "exposed-endpoints": _v_exposed,
    "offers": _v_offers,
    "trust": _v_bool,
    "expose": _v_bool,
    "base": _v_base,
    "series": _v_series,
    "charm": _v_charm,
}

_ARCH_SET = ("amd64", "arm64", "ppc64el", "s390x", "riscv64")


def charm_url_errors(charm: str) -> list[str]:
    """What Juju's ParseURL (charm/v12 url.go:162-438) refuses in a charm: value."""
    if charm.startswith(".") or charm.startswith("/"):
        return []  # a local charm path: Verify checks that it exists (bundledata.go:640-651)
    schema, rest = ("ch", charm)
    if ":" in charm:
        schema, rest = charm.split(":", 1)
    if schema == "cs":
        return [f'"{charm}": cs: (charm store) URLs are gone since Juju 3; use the Charmhub name']
    if schema not in ("ch", "local"):
        return [f'cannot parse charm URL "{charm}": schema "{schema}" (url.go:76-82)']
    if any(c in rest for c in "?#@"):
        return [f'charm URL "{charm}" has unrecognized parts (url.go:167-169)']
    parts = rest.strip("/").split("/")
    if len(parts) > (3 if schema == "ch" else 2) or parts[0].startswith("~"):
        return [f'charm URL "{charm}" malformed (url.go:390-398)']
    name = parts[-1]
    head, _, tail = name.rpartition("-")
    if head and tail.isdigit():
        return [
            f'cannot specify revision in "{charm}", please use revision: with channel: '
            "(bundledata.go:658-660)"
        ]
    if not re.fullmatch(_APP_NAME, name):
        return [
            f'invalid charm name "{name}": lower-case letters, digits and hyphens, starting '
            "with a letter (url.go:67, 426-428)"
        ]
    if len(parts) == 3 and parts[0] not in _ARCH_SET:
        return [f'invalid architecture "{parts[0]}" in charm URL "{charm}" (url.go:405-407)']
    return []


def _constraint_keys(value: Any) -> set[str]:
    if not isinstance(value, str):
        return set()
    return {t.split("=", 1)[0] for t in value.split() if "=" in t}


def _channel_ok(value: str) -> bool:
    if "/" in value or value in ("stable", "candidate", "beta", "edge"):
        return valid_channel(value)
    return valid_channel(value) and (any(c.isdigit() for c in value) or value == "latest")


def _check_machine_doc(ctx: _Ctx, path: str, mid: Any, body: Any, line: int) -> None:
    key = f"machines.{mid}"
    if not re.fullmatch(_NUMBER, str(mid)):
        ctx.add(
            Loc(path, line),
            key,
            f'machine ids are whole numbers ("0", "1"), not "{mid}" (bundledata.go:599-601)',
        )
    if body is None:
        return
    if not isinstance(body, dict):
        ctx.add(Loc(path, line), key, TypeProblem("must be a mapping (constraints:, base:)"))
        return
    if not ctx.overlay and "image-id" in _constraint_keys(body.get("constraints")):
        ctx.add(
            Loc(path, line_of(body, "constraints")),
            f"{key}.constraints",
            "'image-id' constraint in a base bundle is not supported: put it in an overlay "
            "(juju cmd/juju/application/bundle/bundle.go verifyBaseBundle)",
        )
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
        if "=" not in token or token.startswith("="):
            if previous in ("tags", "spaces", "zones"):
                errors.append(
                    f'"{previous}" value has a space before "{token}": MAAS tags, spaces and '
                    "zones cannot contain spaces; separate several with commas"
                )
            else:
                errors.append(f'malformed constraint: "{token}" is not key=value')
            continue
        key, val = token.split("=", 1)
        previous = key
        if key not in CONSTRAINT_KEYS:
            errors.append(f'unknown constraint "{key}"{did_you_mean(key, CONSTRAINT_KEYS)}')
            continue
        canonical = "cores" if key == "cpu-cores" else key
        if canonical in seen:
            errors.append(f'constraint "{key}" given twice (Juju: already set)')
        seen.add(canonical)
        errors += _constraint_value_errors(key, val)
    return errors


def _constraint_value_errors(key: str, val: str) -> list[str]:
    """Juju's core/constraints setRaw rules; an empty value is allowed as in Juju."""
    if val == "":
        return []
    if key in ("cores", "cpu-cores", "cpu-power") and not val.isdigit():
        return [f"{key}={val}: must be a whole number"]
    if key in ("mem", "root-disk") and not _SIZE.fullmatch(val):
        return [f"{key}={val}: must be a size like 64G, 512M or 2T"]
    if key == "arch" and val not in ARCHES:
        return [f"arch={val}: one of {', '.join(sorted(ARCHES))}"]
    if key == "spaces":
        bad = [v for v in val.split(",") if not _SPACE.fullmatch(v.removeprefix("^"))]
        if bad:
            return [
                f'spaces={val}: "{bad[0]}" is not a valid space name (lower-case letters, '
                "digits, single hyphens; juju core/constraints validateSpaces)"
            ]
    if key in ("tags", "zones"):
        items = [v.lstrip("^") for v in val.split(",")]
        if any(not v for v in items):
            return [f"{key}={val}: empty item (stricter than Juju, which passes it to MAAS)"]
    if key == "container" and val not in ("lxd", "kvm", "none"):
        return [f"container={val}: lxd, kvm or none"]
    if key == "allocate-public-ip" and val not in _GO_BOOLS:
        return [f"allocate-public-ip={val}: true or false"]
    return []


_GO_BOOLS = ("1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False")


def storage_errors(spec: Any) -> list[str]:
    """What juju core/storage/directive.go ParseDirective refuses in `pool,size,count`."""
    if isinstance(spec, bool) or spec is None:
        return [f'a storage directive is a string like "pool,10G", not {spec!r}']
    text = str(spec)
    pool = count = size = False
    for field_ in text.split(","):
        part = field_  # Juju does not strip spaces
        if part == "":
            continue
        if _POOL.fullmatch(part):
            if pool:
                return [f'"{text}": pool name is already set']
            pool = True
        elif _COUNT.fullmatch(part):
            if part.startswith("-") or int(part) == 0:
                return [f'"{text}": count must be greater than zero, got "{part}"']
            if count:
                return [f'"{text}": storage instance count is already set']
            count = True
        elif _DIRECTIVE_SIZE.fullmatch(part):
            if part.startswith("-"):
                return [f'"{text}": size must be a positive number']
            if size:
                return [f'"{text}": storage size is already set']
            size = True
        else:
            return [f'"{part}" is neither a pool name, a size (10G) nor a count (unrecognized)']
    if not (pool or count or size):
        return [f'"{text}": storage directives require at least one field']
    return []


# ---------------------------------------------------------------- the merged bundle


def _check_merged(ctx: _Ctx, merged: Merged, db: CharmDB, trust: bool) -> None:
    infos: dict[str, CharmInfo | None] = {}
    if not merged.apps:
        ctx.add(
            Loc(merged.files[0] if merged.files else ""),
            "applications",
            "at least one application must be specified (bundledata.go:622-624)",
        )
    _check_merged_juju_rules(ctx, merged)
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
                f"{len(removal.dropped)} relation(s) with it (stricter than Juju, which drops "
                "them silently: overlay.go:604-619)",
            )
    for name, body in merged.apps.items():
        info = infos.get(name)
        if isinstance(body, dict):
            _check_app_merged(ctx, merged, name, body, info=info, trust=trust)
    relations = _check_relations(ctx, merged, infos)
    _check_subordinates(ctx, merged, infos, relations)
    if not merged.kubernetes:
        _check_placement(ctx, merged, infos)


def _where(loc: Loc) -> str:
    return f"{loc.file}:{loc.line}" if loc.line else loc.file


def _check_base_alone(ctx: _Ctx, path: str, base: dict, kubernetes: bool) -> None:
    """Juju verifies the base bundle's first document on its own before applying overlays."""
    alone = merge([(path, base)])
    local = _Ctx([])
    if not kubernetes:
        _check_placement(local, alone, {})
    for rel in alone.relations:
        for end in rel.ends:
            app = end.split(":", 1)[0]
            if app not in alone.apps and app not in alone.saas:
                local.add(rel.loc, rel.key, f"application {app} is not defined in the base bundle")
    known = {(p.file, p.line, p.key) for p in ctx.problems}
    for problem in local.problems:
        if (problem.file, problem.line, problem.key) not in known:
            ctx.add(
                Loc(problem.file, problem.line),
                problem.key,
                f"{problem.message} (Juju verifies the base bundle alone before applying "
                "overlays: cmd/juju/application/bundle/bundle.go verifyBaseBundle)",
            )


def _check_merged_juju_rules(ctx: _Ctx, merged: Merged) -> None:
    """Verify's rules on the merged applications that no single document shows."""
    for name, body in merged.apps.items():
        key = f"applications.{name}"
        charm = str(body.get("charm") or "")
        local = charm.startswith((".", "/"))
        if body.get("revision") is not None and charm and not local and not body.get("channel"):
            ctx.add(
                merged.loc(name, "revision"),
                f"{key}.revision",
                f'application "{name}" with a revision requires a channel for future upgrades, '
                "please use channel (bundledata.go:661-664)",
            )
        if body.get("exposed-endpoints") and body.get("expose") is True:
            ctx.add(
                merged.loc(name, "exposed-endpoints"),
                f"{key}.exposed-endpoints",
                "exposed-endpoints cannot be specified together with expose: true "
                "(bundledata.go:758-761): drop expose: true, exposed-endpoints exposes it",
            )
        if name in merged.saas:
            ctx.add(
                merged.loc(name),
                key,
                f'SAAS "{name}" already exists with application "{name}" name '
                "(bundledata.go:582-584, 634-636)",
            )


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
    seen: dict[frozenset[str], Relation] = {}
    literal: dict[tuple[str, str], Relation] = {}
    removed = {r.app for r in merged.removals}
    for rel in merged.relations:
        apps = (rel.ends[0].split(":", 1)[0], rel.ends[1].split(":", 1)[0])
        pair = (min(rel.ends), max(rel.ends))
        if pair in literal:
            ctx.add(
                rel.loc,
                rel.key,
                f"relation [{rel.ends[0]}, {rel.ends[1]}] is defined more than once (first in "
                f"{_where(literal[pair].loc)}): Juju refuses the bundle (bundledata.go:885-892)",
            )
            continue
        literal[pair] = rel
        if any(app in merged.saas and app not in merged.apps for app in apps):
            continue  # a cross-model relation: the offer's endpoints are not known here
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
        if names in seen:
            ctx.add(
                rel.loc,
                rel.key,
                f"duplicate relation {' '.join(sorted(names))} (first in "
                f"{_where(seen[names].loc)}, written differently): stricter than Juju, "
                "whose Verify compares the text only, so the deploy would try to add it twice",
            )
        else:
            seen[names] = rel
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
        ctx.add(
            rel.loc,
            rel.key,
            f"ambiguous relation; name the endpoints: {options} (stricter than Juju: its "
            "Verify passes bare names, the deploy then fails)",
        )
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
