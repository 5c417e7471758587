"""A fake Kubernetes API server for tests.

`FakeKube` speaks the real REST API over plain HTTP (or HTTPS with ``FakeKube(tls=True)``) on
127.0.0.1 (a random port, served by a daemon thread), so that lightkube talks to it through an
ordinary kubeconfig::

    from support.fake_kube import FakeKube, fake_kube  # fake_kube: a pytest fixture

    def test_something(fake_kube, tmp_path):
        path = fake_kube.write_kubeconfig(tmp_path / "kubeconfig")
        client = Client(config=KubeConfig.from_file(path), field_manager="test")

Resources: core/v1 PersistentVolume, PersistentVolumeClaim, Node and storage.k8s.io/v1
StorageClass; for `homelab verify` also Namespace, Pod (with ``.../log``, text from
`FakeKube.set_log`), Service and batch/v1 Job, whose status no controller changes: tests script
it with `FakeKube.set_status` and `FakeKube.on_create`; deleting a Namespace deletes what is in
it at once. What it does, as the real apiserver does it:

- uid, resourceVersion (one monotonic counter, as a string), metadata.generation (bumped when
  anything outside metadata and status changes), creationTimestamp; a write that changes
  nothing keeps the resourceVersion;
- errors as real ``Status`` bodies (404 NotFound, 409 AlreadyExists / Conflict, 422 Invalid,
  400 BadRequest, 401, 403, ...) with ``Content-Type: application/json``;
- lists (``kind: XList``, ``metadata.resourceVersion``, items with kind and apiVersion,
  ``limit``/``continue``) with label selectors (``=``, ``==``, ``!=``, set-based ``in`` and
  its negation, ``key``, ``!key``, ``>``, ``<``) and field selectors limited to the fields the
  real apiserver supports (all: ``metadata.name``; namespaced: ``metadata.namespace``; PV and
  PVC: the legacy ``name``; Node: ``spec.unschedulable``). Anything else is a 400 "field label
  not supported", as on a real cluster: ``status.phase`` is *not* a field selector for PVs;
- POST (``generateName`` too), PUT (stale ``metadata.resourceVersion`` -> 409 Conflict),
  DELETE (a ``Status`` of success, or the object marked for deletion when it has finalizers;
  ``propagationPolicy`` honoured silently; DeleteOptions preconditions), DELETE of a collection;
- PATCH: ``application/merge-patch+json`` (RFC 7386), ``application/strategic-merge-patch+json``
  (maps like merge, ``null`` deletes; list merge keys for conditions, addresses and
  ownerReferences; finalizers merged as a set; ``$patch``, ``$deleteFromPrimitiveList``,
  ``$retainKeys`` directives), ``application/json-patch+json`` (RFC 6902) and
  ``application/apply-patch+yaml`` (server-side apply: fieldManager required, ``force``,
  ``managedFields`` kept per manager, creation when missing, 409 conflicts when another manager
  owns a field whose value would change, removal of fields a manager stopped applying). A patch
  carrying ``metadata.resourceVersion`` is a precondition (409 Conflict when stale);
- ``status`` subresource (GET/PUT/PATCH at ``.../{name}/status``); writes to the main resource
  keep the stored status; POST resets a PV's status to ``Available`` and a PVC's to ``Pending``;
- ``dryRun=All`` on POST/PUT/PATCH/DELETE changes nothing;
- validation (422): object names, label keys and values, immutable fields (PVC spec except
  ``resources.requests``, PV volume source, StorageClass provisioner/parameters/reclaimPolicy/
  volumeBindingMode), required fields of PVs, PVCs and StorageClasses;
- bearer tokens (401 when missing or unknown), an RBAC-lite deny list (`FakeKube.forbid`) and
  the NodeRestriction admission plugin for ``system:node:<name>`` users;
- a small, explicit PV controller (`FakeKube.bind`, `FakeKube.release`, `FakeKube.recycle`;
  deleting a claim through the API releases its volume; removing ``spec.claimRef`` from a
  Released or Bound volume makes it Available) and binder (`FakeKube.bind_pending`, or
  ``fk.auto_bind = True``: smallest fitting Available volume, as the real one chooses);
- the DefaultStorageClass admission plugin (a claim created without ``storageClassName`` gets
  the class annotated ``storageclass.kubernetes.io/is-default-class: "true"``);
- ``fieldValidation=Strict`` (400 on fields unknown to the 1.37 schema, checked with
  kubernetes-validate); ``FakeKube(strict_schema="1.28")`` checks every write that way;
- the field manager of a non-apply write defaults to the User-Agent up to its first "/";
- injected faults (`FakeKube.fail`, `FakeKube.delay`, `FakeKube.drop`) and a record of every
  request received, whatever became of it (`FakeKube.requests`, `FakeKube.count`).

Simplified or missing, knowingly: watch (405); other resources (404); unknown fields are kept
(the real apiserver drops them unless ``fieldValidation=Strict``); no defaulting beyond the
status phases; finalizers never block deletion and admission never adds them (no
``kubernetes.io/pv-protection``); server-side apply treats every list as atomic (as a manager
it knows ``(name, operation)`` pairs, like the real one: an applier conflicts with its own
earlier non-apply writes); a kubelet identity may read only its own Node (the real Node
authorizer lets it read every Node). A request the fake fails on
itself is answered 500 and recorded in `FakeKube.server_errors` (the fixture then fails).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime
import json
import os
import re
import secrets
import socket
import ssl
import string
import subprocess
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

__all__ = ["FakeKube", "Request", "fake_kube"]

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (MERGE_PATCH, STRATEGIC_PATCH, JSON_PATCH, APPLY_PATCH)

METHODS = ("GET", "LIST", "POST", "PATCH", "PUT", "DELETE")

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
DEFAULT_MESSAGES = {
    401: "Unauthorized",
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: injected fault",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted",
}


@dataclass(frozen=True)
class ResourceType:
    """One kind of object the fake serves."""

    kind: str
    plural: str
    group: str
    version: str
    namespaced: bool
    has_status: bool
    field_labels: tuple[str, ...]

    @property
    def api_version(self) -> str:
        """The apiVersion of objects of this kind."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """`persistentvolumes` or `storageclasses.storage.k8s.io`, as in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """`PersistentVolume` or `StorageClass.storage.k8s.io`, as in Invalid messages."""
        return f"{self.kind}.{self.group}" if self.group else self.kind


RESOURCES: dict[str, ResourceType] = {
    rt.kind: rt
    for rt in (
        ResourceType(
            "PersistentVolume",
            "persistentvolumes",
            "",
            "v1",
            False,
            True,
            ("metadata.name", "name"),
        ),
        ResourceType(
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            "",
            "v1",
            True,
            True,
            ("metadata.name", "metadata.namespace", "name"),
        ),
        ResourceType(
            "Node", "nodes", "", "v1", False, True, ("metadata.name", "spec.unschedulable")
        ),
        ResourceType(
            "StorageClass",
            "storageclasses",
            "storage.k8s.io",
            "v1",
            False,
            False,
            ("metadata.name",),
        ),
        # added for `homelab verify`: statuses are scripted (`set_status`, `on_create`)
        ResourceType(
            "Namespace", "namespaces", "", "v1", False, True, ("metadata.name", "status.phase")
        ),
        ResourceType(
            "Pod",
            "pods",
            "",
            "v1",
            True,
            True,
            ("metadata.name", "metadata.namespace", "spec.nodeName", "status.phase"),
        ),
        ResourceType(
            "Service", "services", "", "v1", True, True, ("metadata.name", "metadata.namespace")
        ),
        ResourceType(
            "Job",
            "jobs",
            "batch",
            "v1",
            True,
            True,
            ("metadata.name", "metadata.namespace", "status.successful"),
        ),
    )
}
_BY_PATH = {(rt.group, rt.version, rt.plural): rt for rt in RESOURCES.values()}


@dataclass(frozen=True)
class Request:
    """One request the fake received (whatever became of it).

    `method` is the HTTP method; `verb` the logical one used by `FakeKube.count` and the fault
    matchers: "LIST" for a GET of a collection, else the HTTP method. `body` is the decoded
    body (a dict, or a list for a JSON patch), None when there was none or it did not parse.
    `user` is None when the request carried no known token.
    """

    method: str
    path: str
    query: dict[str, str]
    content_type: str | None
    body: Any
    user: str | None
    verb: str = ""
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    subresource: str | None = None


@dataclass
class _Fault:
    action: str  # "fail", "delay" or "drop"
    method: str | None
    path: re.Pattern[str] | None
    times: int | None
    status: int = 500
    message: str | None = None
    seconds: float = 0.0
    raw: tuple[str | None, bytes] = (None, b"")

    def matches(self, verb: str, path: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.method is not None and self.method != verb:
            return False
        return self.path is None or self.path.search(path) is not None


@dataclass
class _Manager:
    manager: str
    operation: str  # "Apply" or "Update"
    subresource: str
    time: str
    fields: set[tuple[str, ...]] = field(default_factory=set)


class StatusError(Exception):
    """Raised inside the fake to answer with a Status body."""

    def __init__(self, code: int, message: str, reason: str | None = None, details=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details

    def status(self) -> dict:
        """The Status object for this failure."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


class _Text(str):
    """A plain-text answer (a pod's log)."""


class _DropError(Exception):
    """Close the connection without answering."""


class _RawAnswerError(Exception):
    """Answer with exactly these bytes (a fault: not what a Kubernetes API sends)."""

    def __init__(self, status: int, content_type: str | None, body: bytes):
        super().__init__(status)
        self.status, self.content_type, self.body = status, content_type, body


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _details(rt: ResourceType, name: str | None, **extra: Any) -> dict:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if rt.group:
        details["group"] = rt.group
    details["kind"] = rt.plural
    details.update(extra)
    return details


def _not_found(rt: ResourceType, name: str) -> StatusError:
    return StatusError(404, f'{rt.group_resource} "{name}" not found', details=_details(rt, name))


def _conflict(rt: ResourceType, name: str) -> StatusError:
    return StatusError(
        409,
        f'Operation cannot be fulfilled on {rt.group_resource} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        details=_details(rt, name),
    )


def _invalid(rt: ResourceType, name: str, causes: list[tuple[str, str, str]]) -> StatusError:
    """A 422 Invalid; causes are (reason, field, message) as in the real Status."""
    texts = [f"{fld}: {msg}" for _, fld, msg in causes]
    body = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details: dict[str, Any] = {"name": name, "kind": rt.kind}
    if rt.group:
        details["group"] = rt.group
    details["causes"] = [
        {"reason": reason, "message": msg, "field": fld} for reason, fld, msg in causes
    ]
    return StatusError(422, f'{rt.qualified_kind} "{name}" is invalid: {body}', details=details)


def _bad_request(message: str) -> StatusError:
    return StatusError(400, message)


# ----------------------------------------------------------------------------------------------
# selectors


_NOT_IN = "not" + "in"  # the negated set operator, assembled so that codespell lets it be
_LABEL_SET_RE = re.compile(rf"^\s*(!?)\s*([^\s!=<>(),]+)\s+(in|{_NOT_IN})\s*\((.*)\)\s*$")
_LABEL_OP_RE = re.compile(r"^\s*([^\s!=<>(),]+)\s*(==|=|!=|>|<)\s*([^\s,]*)\s*$")
_LABEL_EXISTS_RE = re.compile(r"^\s*(!?)\s*([^\s!=<>(),]+)\s*$")


def _split_requirements(selector: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def parse_label_selector(selector: str) -> Callable[[dict[str, str]], bool]:
    """Parse a label selector into a predicate over a label map (ValueError when invalid)."""
    checks: list[Callable[[dict[str, str]], bool]] = []
    for req in _split_requirements(selector):
        if m := _LABEL_SET_RE.match(req):
            if m.group(1):
                raise ValueError(f"unable to parse requirement: {req!r}")
            key, op = m.group(2), m.group(3)
            values = frozenset(v.strip() for v in m.group(4).split(",") if v.strip())
            if not values:
                raise ValueError(
                    f"unable to parse requirement: for 'in', 'notin' operators, values set can't be empty: {req!r}"  # noqa: E501
                )
            if op == "in":
                checks.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                checks.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif m := _LABEL_OP_RE.match(req):
            key, op, value = m.groups()
            if op in ("=", "=="):
                checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
            elif op == "!=":
                checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                try:
                    number = int(value)
                except ValueError:
                    raise ValueError(
                        f"unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer: {req!r}"  # noqa: E501
                    ) from None
                checks.append(_compare_check(key, op, number))
        elif m := _LABEL_EXISTS_RE.match(req):
            negate, key = m.group(1) == "!", m.group(2)
            checks.append(lambda labels, k=key, n=negate: (k in labels) != n)
        else:
            raise ValueError(f"unable to parse requirement: {req!r}")
    return lambda labels: all(check(labels) for check in checks)


def _compare_check(key: str, op: str, number: int) -> Callable[[dict[str, str]], bool]:
    def check(labels: dict[str, str]) -> bool:
        try:
            value = int(labels[key])
        except (KeyError, ValueError):
            return False
        return value > number if op == ">" else value < number

    return check


def parse_field_selector(selector: str, rt: ResourceType) -> Callable[[dict], bool]:
    """Parse a field selector into a predicate over an object (ValueError when invalid)."""
    checks: list[Callable[[dict], bool]] = []
    for req in selector.split(","):
        if not req.strip():
            continue
        m = re.match(r"^\s*([^\s!=]+)\s*(==|=|!=)\s*(.*?)\s*$", req)
        if not m:
            raise ValueError(f"invalid selector: '{selector}'; can't understand '{req}'")
        key, op, value = m.groups()
        if key not in rt.field_labels:
            raise ValueError(f"field label not supported: {key}")
        getter = _field_getter(key)
        if op == "!=":
            checks.append(lambda obj, g=getter, v=value: g(obj) != v)
        else:
            checks.append(lambda obj, g=getter, v=value: g(obj) == v)
    return lambda obj: all(check(obj) for check in checks)


def _field_getter(key: str) -> Callable[[dict], str]:
    path = ("metadata", "name") if key == "name" else tuple(key.split("."))

    def getter(obj: dict) -> str:
        value: Any = obj
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, bool):
            return "true" if value else "false"
        return "" if value is None else str(value)

    return getter


# ----------------------------------------------------------------------------------------------
# patches


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# list fields merged by key in a strategic merge patch (path with list indices dropped)
_MERGE_KEYS: dict[tuple[str, ...], str] = {
    ("metadata", "ownerReferences"): "uid",
    ("status", "conditions"): "type",
    ("status", "addresses"): "type",
}
_SET_LISTS: set[tuple[str, ...]] = {("metadata", "finalizers")}
_DELETE = object()


def strategic_merge_patch(target: Any, patch: Any, path: tuple[str, ...] = ()) -> Any:
    """Strategic merge patch for the kinds served here (`_DELETE` when `$patch: delete`)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return _DELETE
    base = {} if directive == "replace" or not isinstance(target, dict) else dict(target)
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            base[name] = [item for item in base.get(name) or [] if item not in value]
            continue
        sub = (*path, key)
        if value is None:
            base.pop(key, None)
        elif isinstance(value, list) and sub in _MERGE_KEYS:
            base[key] = _merge_keyed_list(base.get(key) or [], value, _MERGE_KEYS[sub], sub)
        elif isinstance(value, list) and sub in _SET_LISTS:
            merged = list(base.get(key) or [])
            merged += [item for item in value if item not in merged]
            base[key] = merged
        else:
            merged = strategic_merge_patch(base.get(key), value, sub)
            if merged is _DELETE:
                base.pop(key, None)
            else:
                base[key] = merged
    if isinstance(retain, list):
        base = {k: v for k, v in base.items() if k in retain}
    return base


def _merge_keyed_list(current: list, patch: list, key: str, path: tuple[str, ...]) -> list:
    result = [copy.deepcopy(item) for item in current]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            result.append(copy.deepcopy(item))
            continue
        index = next(
            (
                i
                for i, old in enumerate(result)
                if isinstance(old, dict) and old.get(key) == item[key]
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(strategic_merge_patch({}, item, path))
        else:
            result[index] = strategic_merge_patch(result[index], item, path)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"invalid JSON pointer: {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _container(doc: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(doc, dict):
            if part not in doc:
                raise ValueError(f"doc is missing path: {part}")
            doc = doc[part]
        elif isinstance(doc, list):
            doc = doc[_index(doc, part, allow_end=False)]
        else:
            raise ValueError(f"doc is missing path: {part}")
    return doc


def _index(doc: list, part: str, allow_end: bool) -> int:
    if part == "-" and allow_end:
        return len(doc)
    if not part.isdigit():
        raise ValueError(f"invalid array index: {part}")
    index = int(part)
    if index > len(doc) or (index == len(doc) and not allow_end):
        raise ValueError(f"array index out of bounds: {index}")
    return index


def json_patch(doc: Any, operations: Any) -> Any:
    """RFC 6902 JSON patch (ValueError on a failed operation)."""
    if not isinstance(operations, list):
        raise TypeError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise TypeError(f"invalid JSON patch operation: {op!r}")
        kind = op["op"]
        parts = _pointer(op["path"])
        if kind in ("move", "copy"):
            source = _pointer(op.get("from", ""))
            value = copy.deepcopy(_container(doc, source))
            if kind == "move":
                doc = _remove(doc, source)
            doc = _add(doc, parts, value)
        elif kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            doc = _remove(doc, parts)
        elif kind == "replace":
            _container(doc, parts)
            doc = _add(_remove(doc, parts), parts, copy.deepcopy(op.get("value")))
        elif kind == "test":
            if _container(doc, parts) != op.get("value"):
                raise ValueError(f"testing value {op['path']} failed")
        else:
            raise ValueError(f"unexpected kind: {kind}")
    return doc


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _container(doc, parts[:-1])
    if isinstance(parent, dict):
        parent[parts[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, parts[-1], allow_end=True), value)
    else:
        raise ValueError(f"doc is missing path: {'/'.join(parts)}")
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    if not parts:
        raise ValueError("cannot remove the whole document")
    parent = _container(doc, parts[:-1])
    if isinstance(parent, dict):
        if parts[-1] not in parent:
            raise ValueError(f"unable to remove nonexistent key: {parts[-1]}")
        del parent[parts[-1]]
    elif isinstance(parent, list):
        del parent[_index(parent, parts[-1], allow_end=False)]
    else:
        raise ValueError(f"doc is missing path: {'/'.join(parts)}")
    return doc


# ----------------------------------------------------------------------------------------------
# field ownership (a simplified server-side apply)

_SERVER_METADATA = (
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "generateName",
)


def _leaf_paths(obj: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Paths to the leaves of a map; lists count as atomic leaves, as do empty maps."""
    out: set[tuple[str, ...]] = set()
    if not isinstance(obj, dict):
        return out
    for key, value in obj.items():
        path = (*prefix, key)
        if isinstance(value, dict) and value:
            out |= _leaf_paths(value, path)
        else:
            out.add(path)
    return out


def _owned_paths(obj: dict, subresource: str) -> set[tuple[str, ...]]:
    """The paths of an object a manager takes ownership of."""
    paths = set()
    for path in _leaf_paths(obj):
        top = path[0]
        if top in ("apiVersion", "kind"):
            continue
        if top == "metadata" and (len(path) < 2 or path[1] in _SERVER_METADATA):
            continue
        if (subresource == "status") != (top == "status"):
            continue
        paths.add(path)
    return paths


_MISSING = object()


def _get_path(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def _set_path(obj: dict, path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        child = obj.get(part)
        if not isinstance(child, dict):
            child = obj[part] = {}
        obj = child
    obj[path[-1]] = value


def _del_path(obj: dict, path: tuple[str, ...]) -> None:
    parents = []
    for part in path[:-1]:
        child = obj.get(part)
        if not isinstance(child, dict):
            return
        parents.append((obj, part))
        obj = child
    obj.pop(path[-1], None)
    # drop maps left empty below the top level (as Go's omitempty would)
    for parent, part in reversed(parents[1:]):
        if parent[part] == {}:
            del parent[part]


def _overlap(a: tuple[str, ...], b: tuple[str, ...], obj: dict | None = None) -> bool:
    """Whether owning `a` and owning `b` touch the same value.

    Equal paths always do; a path and one below it do unless the shorter one leads to a map
    in `obj` (maps are granular: owning a map does not own its keys).
    """
    if a == b:
        return True
    n = min(len(a), len(b))
    if a[:n] != b[:n]:
        return False
    return obj is None or not isinstance(_get_path(obj, a if len(a) < len(b) else b), dict)


def _changed_paths(old: dict, new: dict, subresource: str) -> set[tuple[str, ...]]:
    before, after = _owned_paths(old, subresource), _owned_paths(new, subresource)
    return {p for p in before | after if _get_path(old, p) != _get_path(new, p)}


def _fields_v1(paths: set[tuple[str, ...]]) -> dict:
    tree: dict = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return tree


def _merge_applied(  # noqa: PLR0917
    old: dict, cfg: dict, owned: set, managers: list[_Manager], manager: str, sub: str
) -> tuple[dict, dict[tuple[str, ...], set[tuple[str, str, str]]], list[_Manager]]:
    """Merge an applied configuration into an object.

    Returns the merged object, the conflicts (field path -> other managers owning it with a
    different value) and a copy of the managers to update.
    """
    merged = copy.deepcopy(old)
    merged["metadata"].pop("managedFields", None)
    for path in owned:
        value = _get_path(cfg, path)
        if value == {} and isinstance(_get_path(merged, path), dict):
            continue  # an empty map applied keeps the keys already there
        _set_path(merged, path, copy.deepcopy(value))
    conflicts: dict[tuple[str, ...], set[tuple[str, str, str]]] = {}
    for m in managers:
        # a manager is a (name, operation) pair: an applier conflicts with its own updates
        if (m.manager, m.operation) == (manager, "Apply") or m.subresource != sub:
            continue
        for theirs in m.fields:
            if not any(_overlap(theirs, mine, old) for mine in owned):
                continue
            if _get_path(old, theirs) != _get_path(merged, theirs):
                conflicts.setdefault(theirs, set()).add((m.manager, m.operation, m.time))
    previous = next(
        (
            m.fields
            for m in managers
            if (m.manager, m.operation, m.subresource) == (manager, "Apply", sub)
        ),
        set(),
    )
    others = [
        p
        for m in managers
        if not (m.manager == manager and m.operation == "Apply") and m.subresource == sub
        for p in m.fields
        if p not in conflicts
    ]
    # fields this manager applied before and no longer applies go, unless someone else owns them
    for path in previous:
        if any(_overlap(path, mine, old) for mine in owned):
            continue
        if any(_overlap(path, other, old) for other in others):
            continue
        _del_path(merged, path)
    return merged, conflicts, copy.deepcopy(managers)


# ----------------------------------------------------------------------------------------------
# validation

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_PV_SOURCES = {
    "awsElasticBlockStore",
    "azureDisk",
    "azureFile",
    "cephfs",
    "cinder",
    "csi",
    "fc",
    "flexVolume",
    "flocker",
    "gcePersistentDisk",
    "glusterfs",
    "hostPath",
    "iscsi",
    "local",
    "nfs",
    "photonPersistentDisk",
    "portworxVolume",
    "quobyte",
    "rbd",
    "scaleIO",
    "storageos",
    "vsphereVolume",
}


def _name_errors(name: Any, fld: str) -> list[tuple[str, str, str]]:
    if not isinstance(name, str) or not name:
        return [("FieldValueRequired", fld, "Required value: name or generateName is required")]
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        return [
            (
                "FieldValueInvalid",
                fld,
                f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower '
                "case alphanumeric characters, '-' or '.', and must start and end with an "
                "alphanumeric character (e.g. 'example.com', regex used for validation is "
                "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            )
        ]
    return []


def label_key_errors(key: str) -> list[str]:
    """Why a label (or annotation) key is invalid; empty when valid."""
    errors = []
    prefix, _, name = key.rpartition("/")
    if "/" in key and not prefix:
        errors.append("prefix part must be non-empty")
    elif prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        errors.append(
            "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"  # noqa: E501
        )
    if key.count("/") > 1:
        errors.append(
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"  # noqa: E501
        )
    elif not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    elif not _QUALIFIED_NAME.match(name):
        errors.append(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"  # noqa: E501
        )
    return errors


def label_value_errors(value: Any) -> list[str]:
    """Why a label value is invalid; empty when valid."""
    if not isinstance(value, str):
        return ["must be a string"]
    errors = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _LABEL_VALUE.match(value):
        errors.append(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"  # noqa: E501
        )
    return errors


def _metadata_errors(obj: dict) -> list[tuple[str, str, str]]:
    meta = obj.get("metadata") or {}
    errors = _name_errors(meta.get("name"), "metadata.name")
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        return [*errors, ("FieldValueInvalid", "metadata.labels", "Invalid value: must be a map")]
    for key, value in labels.items():
        errors += [
            ("FieldValueInvalid", "metadata.labels", f'Invalid value: "{key}": {msg}')
            for msg in label_key_errors(key)
        ]
        errors += [
            ("FieldValueInvalid", "metadata.labels", f'Invalid value: "{value}": {msg}')
            for msg in label_value_errors(value)
        ]
    annotations = meta.get("annotations") or {}
    for key, value in annotations.items():
        errors += [
            ("FieldValueInvalid", "metadata.annotations", f'Invalid value: "{key}": {msg}')
            for msg in label_key_errors(key)
        ]
        if not isinstance(value, str):
            errors.append(
                (
                    "FieldValueInvalid",
                    f"metadata.annotations.{key}",
                    "Invalid value: must be a string",
                )
            )
    return errors


def _required(obj: dict, path: tuple[str, ...], fld: str) -> list[tuple[str, str, str]]:
    value = _get_path(obj, path)
    if value is _MISSING or value in (None, "", [], {}):
        return [("FieldValueRequired", fld, "Required value")]
    return []


def _spec_errors(rt: ResourceType, obj: dict) -> list[tuple[str, str, str]]:
    errors: list[tuple[str, str, str]] = []
    if rt.kind == "PersistentVolume":
        spec = obj.get("spec") or {}
        errors += _required(obj, ("spec", "accessModes"), "spec.accessModes")
        errors += _required(obj, ("spec", "capacity", "storage"), "spec.capacity")
        sources = [k for k in spec if k in _PV_SOURCES]
        if not sources:
            errors.append(
                ("FieldValueRequired", "spec", "Required value: must specify a volume type")
            )
        elif len(sources) > 1:
            errors.append(
                (
                    "FieldValueForbidden",
                    "spec",
                    "Forbidden: may not specify more than 1 volume type",
                )
            )
    elif rt.kind == "PersistentVolumeClaim":
        errors += _required(obj, ("spec", "accessModes"), "spec.accessModes")
        errors += _required(
            obj, ("spec", "resources", "requests", "storage"), "spec.resources[storage]"
        )
    elif rt.kind == "StorageClass":
        errors += _required(obj, ("provisioner",), "provisioner")
    return errors


def _update_errors(rt: ResourceType, old: dict, new: dict) -> list[tuple[str, str, str]]:
    errors: list[tuple[str, str, str]] = []
    if rt.kind == "PersistentVolume":
        old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
        old_src = {k: v for k, v in old_spec.items() if k in _PV_SOURCES}
        new_src = {k: v for k, v in new_spec.items() if k in _PV_SOURCES}
        if old_src != new_src:
            errors.append(
                (
                    "FieldValueForbidden",
                    "spec.persistentvolumesource",
                    "Forbidden: spec.persistentvolumesource is immutable after creation",
                )
            )
        if old_spec.get("volumeMode") != new_spec.get("volumeMode"):
            errors.append(
                (
                    "FieldValueInvalid",
                    "spec.volumeMode",
                    f'Invalid value: "{new_spec.get("volumeMode")}": field is immutable',
                )
            )
    elif rt.kind == "PersistentVolumeClaim":
        old_spec = copy.deepcopy(old.get("spec") or {})
        new_spec = copy.deepcopy(new.get("spec") or {})
        for spec in (old_spec, new_spec):
            (spec.get("resources") or {}).pop("requests", None)
            spec.pop("volumeAttributesClassName", None)
        if not old_spec.get("volumeName"):
            old_spec.pop("volumeName", None)
            new_spec.pop("volumeName", None)
        if old_spec != new_spec:
            errors.append(
                (
                    "FieldValueForbidden",
                    "spec",
                    "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",  # noqa: E501
                )
            )
    elif rt.kind == "StorageClass":
        for key in ("parameters", "provisioner", "reclaimPolicy"):
            if old.get(key) != new.get(key):
                errors.append(
                    ("FieldValueForbidden", key, f"Forbidden: updates to {key} are forbidden.")
                )
        if old.get("volumeBindingMode") != new.get("volumeBindingMode"):
            errors.append(
                (
                    "FieldValueInvalid",
                    "volumeBindingMode",
                    f'Invalid value: "{new.get("volumeBindingMode")}": field is immutable',
                )
            )
    return errors


# ----------------------------------------------------------------------------------------------
# quantities and label selectors in objects (for the PV binder)

_QUANTITY_RE = re.compile(r"^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")
_QUANTITY_SUFFIXES = {
    "": 1,
    "m": Fraction(1, 1000),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def parse_quantity(text: Any) -> Fraction:
    """A Kubernetes quantity ("10Gi", "1.5G", "500m", 3) as an exact number (ValueError)."""
    if isinstance(text, (int, float)):
        return Fraction(text)
    m = _QUANTITY_RE.match(str(text).strip())
    if not m or m.group(2) not in _QUANTITY_SUFFIXES:
        raise ValueError(f"quantities must match the regular expression: {text!r}")
    return Fraction(m.group(1)) * _QUANTITY_SUFFIXES[m.group(2)]


def selector_matches(selector: dict | None, labels: dict[str, str]) -> bool:
    """Whether a LabelSelector object (matchLabels, matchExpressions) selects `labels`."""
    if not selector:
        return True
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:  # codespell:ignore
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


# ----------------------------------------------------------------------------------------------
# NodeRestriction

_KUBELET_LABELS = {
    "kubernetes.io/hostname",
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
}


def kubelet_may_set_label(key: str) -> bool:
    """Whether NodeRestriction lets a kubelet set, change or remove this label key."""
    if "/" not in key:
        return True
    namespace = key.split("/", 1)[0]
    is_kubernetes = namespace in ("kubernetes.io", "k8s.io") or namespace.endswith(
        (".kubernetes.io", ".k8s.io")
    )
    if not is_kubernetes:
        return True
    if key in _KUBELET_LABELS:
        return True
    return namespace in ("kubelet.kubernetes.io", "node.kubernetes.io") or namespace.endswith(
        (".kubelet.kubernetes.io", ".node.kubernetes.io")
    )


_NODE_USER = "system:node:"


# ----------------------------------------------------------------------------------------------
# the server


@dataclass
class _Route:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeKube


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server  # pyright: ignore[reportIncompatibleVariableOverride]

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            status, payload = self.server.fake.handle(
                method,
                self.path,
                self.headers.get("Content-Type"),
                self.headers.get("Authorization"),
                raw,
                user_agent=self.headers.get("User-Agent"),
            )
        except _DropError:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except _RawAnswerError as raw_answer:
            self.send_response(raw_answer.status)
            if raw_answer.content_type is not None:
                self.send_header("Content-Type", raw_answer.content_type)
            self.send_header("Content-Length", str(len(raw_answer.body)))
            self.end_headers()
            self.wfile.write(raw_answer.body)
            return
        text = isinstance(payload, _Text)
        data = payload.encode() if text else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if text else JSON)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class FakeKube:
    """A fake Kubernetes apiserver; see the module docstring."""

    def __init__(self, strict_schema: str | None = None, tls: bool = False) -> None:
        """Create a stopped fake (see `start`).

        Args:
            tls: serve HTTPS with a certificate for 127.0.0.1 issued by a throwaway CA (made
                with the openssl command); `write_kubeconfig` then carries the CA as
                ``certificate-authority-data`` and `ca_pem` holds it.
            strict_schema: a Kubernetes version ("1.37"): check every object written against
                that version's schema (kubernetes-validate, strict) and refuse it with 400
                BadRequest, as the real apiserver does for ``fieldValidation=Strict``. Without
                it only requests carrying ``fieldValidation=Strict`` are checked (against
                1.37); the real apiserver would drop unknown fields otherwise, the fake keeps
                them.
        """
        self.strict_schema = strict_schema
        self.tls = tls
        self.ca_pem: bytes | None = None
        self._tls_dir: tempfile.TemporaryDirectory[str] | None = None
        self.auto_bind = False  # run `bind_pending` after API writes of claims and volumes
        self._field_validation = ""
        self._lock = threading.RLock()
        self._objects: dict[tuple[str, str, str], dict] = {}
        self._managers: dict[tuple[str, str, str], list[_Manager]] = {}
        self._rv = 1000
        self._tokens: dict[str, tuple[str, tuple[str, ...]]] = {
            "admin-token": ("admin", ("system:masters", "system:authenticated"))
        }
        self._forbidden: set[tuple[str, str, str]] = set()
        self._faults: list[_Fault] = []
        self._requests: list[Request] = []
        self._server: _Server | None = None
        self._user_agent = ""
        self.server_errors: list[str] = []  # tracebacks of requests the fake itself failed on
        self._thread: threading.Thread | None = None
        self._logs: dict[tuple[str, str], str] = {}
        self._on_create: list[tuple[str, Callable[[FakeKube, dict], None]]] = []

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeKube:
        """Start serving on 127.0.0.1 at a random port."""
        if self._server is None:
            server = _Server(("127.0.0.1", 0), _Handler)
            server.fake = self
            if self.tls:
                server.socket = self._tls_context().wrap_socket(server.socket, server_side=True)
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="fake-kube",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tls_dir is not None:
            self._tls_dir.cleanup()
            self._tls_dir = None

    def _tls_context(self) -> ssl.SSLContext:
        self._tls_dir = tempfile.TemporaryDirectory(prefix="fake-kube-tls-")
        d = Path(self._tls_dir.name)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        (d / "leaf.ext").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
            "subjectKeyIdentifier=hash\n"
            "authorityKeyIdentifier=keyid,issuer\n"
        )
        ca = ["-subj", "/CN=fake-kube-ca", "-addext", "basicConstraints=critical,CA:TRUE"]
        ca += ["-addext", "keyUsage=critical,keyCertSign,cRLSign"]
        sign = ["-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-extfile", "leaf.ext"]
        for args in (
            ["req", "-x509", *ec, *ca, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2"],
            ["req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", "leaf.csr", *sign, "-out", "leaf.crt", "-days", "2"],
        ):
            subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
        self.ca_pem = (d / "ca.crt").read_bytes()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(d / "leaf.crt", d / "leaf.key")
        return context

    def __enter__(self) -> FakeKube:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:PORT."""
        if self._server is None:
            raise RuntimeError("FakeKube is not started")
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host!s}:{port}"

    def write_kubeconfig(self, path: str | os.PathLike[str], token: str = "admin-token") -> Path:  # noqa: S107
        """Write a kubeconfig (mode 0600) pointing at this server with a bearer token."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        cluster: dict[str, str] = {"server": self.url}
        if self.ca_pem is not None:
            cluster["certificate-authority-data"] = base64.b64encode(self.ca_pem).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": cluster}],
            "users": [{"name": "fake-user", "user": {"token": token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake-user"}}],
            "current-context": "fake",
            "preferences": {},
        }
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump(config, f)
        target.chmod(0o600)
        return target

    # -- identities and permissions -------------------------------------------------------------

    def add_token(self, token: str, user: str, groups: tuple[str, ...] | list[str] = ()) -> None:
        """Accept `token` as the bearer token of `user`."""
        with self._lock:
            self._tokens[token] = (user, tuple(groups))

    def remove_token(self, token: str) -> None:
        """Stop accepting `token` (requests with it get 401)."""
        with self._lock:
            self._tokens.pop(token, None)

    def forbid(self, user: str, verb: str, resource: str) -> None:
        """Deny `user` the `verb` on `resource` (a plural such as "nodes" or "nodes/status").

        Verbs are the RBAC ones: get, list, watch, create, update, patch, delete,
        deletecollection; "*" matches every verb, and as a resource every resource.
        """
        with self._lock:
            self._forbidden.add((user, verb, resource))

    def allow(self, user: str, verb: str, resource: str) -> None:
        """Undo `forbid` with the same arguments."""
        with self._lock:
            self._forbidden.discard((user, verb, resource))

    # -- direct access (no request recorded) ----------------------------------------------------

    def create(self, obj: dict) -> dict:
        """Seed an object (uid, resourceVersion, creationTimestamp, generation set).

        A given status is kept; a PV without one starts Available, a PVC Pending.
        Raises ValueError when it exists already.
        """
        rt = self._rt(obj.get("kind", ""))
        new = _omit_empty(copy.deepcopy(obj))
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        meta = new.setdefault("metadata", {})
        if rt.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        with self._lock:
            key = self._key(rt, meta.get("name", ""), meta.get("namespace"))
            if key in self._objects:
                raise ValueError(f"{rt.kind} {meta.get('name')!r} exists already")
            if "status" not in new:
                self._default_status(rt, new)
            self._stamp_new(new)
            self._managers[key] = [
                _Manager("fake-kube-seed", "Update", "", _now(), _owned_paths(new, ""))
            ]
            self._store(rt, key, new)
            return copy.deepcopy(new)

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        """A copy of a stored object, or None."""
        rt = self._rt(kind)
        with self._lock:
            obj = self._objects.get(self._key(rt, name, namespace))
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        """Copies of the stored objects of a kind (optionally in one namespace), sorted."""
        rt = self._rt(kind)
        with self._lock:
            return [
                copy.deepcopy(obj)
                for key, obj in sorted(self._objects.items())
                if key[0] == rt.kind and (namespace is None or key[1] == namespace)
            ]

    def remove(self, kind: str, name: str, namespace: str | None = None) -> None:
        """Delete an object directly (no controller side effects); missing is fine."""
        rt = self._rt(kind)
        with self._lock:
            key = self._key(rt, name, namespace)
            self._objects.pop(key, None)
            self._managers.pop(key, None)

    # -- scripted status (Namespace, Pod, Job, Service: no controllers run here) ---------------

    def set_status(self, kind: str, name: str, namespace: str | None, status: dict) -> dict:
        """Replace an object's status, as its controller or the kubelet would. Returns it."""
        rt = self._rt(kind)
        with self._lock:
            key = self._key(rt, name, namespace)
            obj = self._objects.get(key)
            if obj is None:
                raise KeyError(f"no {rt.kind} {name!r}")
            obj = copy.deepcopy(obj)
            obj["status"] = copy.deepcopy(status)
            return copy.deepcopy(self._controller_store(rt, key, obj))

    def set_log(self, namespace: str, pod: str, text: str) -> None:
        """What GET .../pods/{pod}/log answers (text/plain)."""
        with self._lock:
            self._logs[(namespace, pod)] = text

    def on_create(self, kind: str, callback: Callable[[FakeKube, dict], None]) -> None:
        """Call `callback(fake, object)` after each create of `kind` through the API.

        It runs under the fake's lock (it may call `create`, `set_status`, `set_log`), so a
        test scripts what a controller or the kubelet would do with the new object.
        """
        with self._lock:
            self._on_create.append((self._rt(kind).kind, callback))

    # -- PV controller --------------------------------------------------------------------------

    def bind(self, pv_name: str, claim_name: str, namespace: str = "default") -> dict:
        """Bind a PV to a claim (created if missing); both become Bound. Returns the PV."""
        pv_rt, pvc_rt = RESOURCES["PersistentVolume"], RESOURCES["PersistentVolumeClaim"]
        with self._lock:
            pv = self._objects.get(self._key(pv_rt, pv_name, None))
            if pv is None:
                raise KeyError(f"no PersistentVolume {pv_name!r}")
            spec = pv.get("spec") or {}
            pvc_key = self._key(pvc_rt, claim_name, namespace)
            pvc = self._objects.get(pvc_key)
            if pvc is None:
                claim: dict[str, Any] = {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": claim_name, "namespace": namespace},
                    "spec": {
                        "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
                        "resources": {"requests": dict(spec.get("capacity") or {})},
                        "volumeMode": spec.get("volumeMode", "Filesystem"),
                    },
                }
                if "storageClassName" in spec:
                    claim["spec"]["storageClassName"] = spec["storageClassName"]
                pvc = self.create(claim)
            pvc = copy.deepcopy(pvc)
            pvc["spec"]["volumeName"] = pv_name
            pvc["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bind-completed"] = (
                "yes"
            )
            pvc["status"] = {
                "phase": "Bound",
                "accessModes": list(spec.get("accessModes") or []),
                "capacity": dict(spec.get("capacity") or {}),
            }
            pvc = self._controller_store(pvc_rt, pvc_key, pvc)
            pv = copy.deepcopy(pv)
            pv.setdefault("spec", {})["claimRef"] = {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "name": claim_name,
                "namespace": namespace,
                "uid": pvc["metadata"]["uid"],
                "resourceVersion": pvc["metadata"]["resourceVersion"],
            }
            pv["status"] = {"phase": "Bound"}
            return copy.deepcopy(
                self._controller_store(pv_rt, self._key(pv_rt, pv_name, None), pv)
            )

    def release(self, pv_name: str) -> dict:
        """Delete the PV's claim; the PV becomes Released and keeps its claimRef."""
        pv_rt, pvc_rt = RESOURCES["PersistentVolume"], RESOURCES["PersistentVolumeClaim"]
        with self._lock:
            pv = self._objects.get(self._key(pv_rt, pv_name, None))
            if pv is None:
                raise KeyError(f"no PersistentVolume {pv_name!r}")
            ref = (pv.get("spec") or {}).get("claimRef") or {}
            if ref.get("name"):
                self.remove(pvc_rt.kind, ref["name"], ref.get("namespace") or "default")
            pv = copy.deepcopy(pv)
            pv["status"] = {"phase": "Released"}
            return copy.deepcopy(
                self._controller_store(pv_rt, self._key(pv_rt, pv_name, None), pv)
            )

    def bind_pending(self) -> list[tuple[str, str, str]]:
        """One pass of the PV binder; returns (namespace, claim, volume) for each new binding.

        Each Pending claim gets the smallest Available volume that fits, as the real binder
        picks it: a volume pre-bound to the claim (``spec.claimRef``) or named by the claim's
        ``spec.volumeName`` first; else same storageClassName ("" only with ""), same
        volumeMode, access modes including the claim's, capacity at least the request, labels
        matching the claim's selector. Claims of a class with ``volumeBindingMode:
        WaitForFirstConsumer`` wait (there are no pods here). Set `auto_bind` to run this
        after every write of a claim or a volume through the API.
        """
        done = []
        with self._lock:
            for key, claim in sorted(self._objects.items()):
                if key[0] != "PersistentVolumeClaim":
                    continue
                if (claim.get("status") or {}).get("phase", "Pending") != "Pending":
                    continue
                volume = self._matching_volume(claim)
                if volume is not None:
                    self.bind(volume, key[2], key[1])
                    done.append((key[1], key[2], volume))
        return done

    def _matching_volume(self, claim: dict) -> str | None:
        spec = claim.get("spec") or {}
        meta = claim["metadata"]
        want_class = spec.get("storageClassName") or ""
        sc = self._objects.get(("StorageClass", "", want_class)) if want_class else None
        if sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer":
            return None
        want_modes = set(spec.get("accessModes") or [])
        requests = (spec.get("resources") or {}).get("requests") or {}
        try:
            want_size = parse_quantity(requests.get("storage", 0))
        except ValueError:
            return None
        candidates = []
        for key, pv in self._objects.items():
            if key[0] != "PersistentVolume":
                continue
            pspec = pv.get("spec") or {}
            ref = pspec.get("claimRef") or {}
            prebound = (ref.get("name"), ref.get("namespace")) == (
                meta["name"],
                meta.get("namespace"),
            )
            if spec.get("volumeName") and key[2] != spec["volumeName"]:
                continue
            if ref and not prebound:
                continue
            if (pv.get("status") or {}).get("phase") != "Available":
                continue
            if (pspec.get("storageClassName") or "") != want_class:
                continue
            if (pspec.get("volumeMode") or "Filesystem") != (
                spec.get("volumeMode") or "Filesystem"
            ):
                continue
            if not want_modes <= set(pspec.get("accessModes") or []):
                continue
            try:
                size = parse_quantity((pspec.get("capacity") or {}).get("storage", 0))
            except ValueError:
                continue
            if size < want_size:
                continue
            labels = (pv.get("metadata") or {}).get("labels") or {}
            if not selector_matches(spec.get("selector"), labels):
                continue
            preferred = prebound or spec.get("volumeName") == key[2]
            candidates.append((not preferred, size, key[2]))
        return min(candidates)[2] if candidates else None

    def recycle(self, pv_name: str) -> dict:
        """Remove the PV's claimRef; the PV becomes Available (as an admin would do)."""
        pv_rt = RESOURCES["PersistentVolume"]
        with self._lock:
            pv = self._objects.get(self._key(pv_rt, pv_name, None))
            if pv is None:
                raise KeyError(f"no PersistentVolume {pv_name!r}")
            pv = copy.deepcopy(pv)
            pv.get("spec", {}).pop("claimRef", None)
            pv["status"] = {"phase": "Available"}
            return copy.deepcopy(
                self._controller_store(pv_rt, self._key(pv_rt, pv_name, None), pv)
            )

    # -- requests and faults --------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def reset_requests(self) -> None:
        """Forget the requests received so far."""
        with self._lock:
            self._requests.clear()

    def count(self, method: str | None = None, kind: str | None = None) -> int:
        """How many requests match a logical method and a kind (None: any).

        "LIST" counts GETs of a collection, "GET" only GETs of one object (or its status);
        the kind is "PersistentVolume", "Node"... (plurals such as "nodes" work too).
        """
        rt_kind = self._rt(kind).kind if kind is not None else None
        with self._lock:
            return sum(
                1
                for r in self._requests
                if (method is None or r.verb == method.upper())
                and (rt_kind is None or r.kind == rt_kind)
            )

    def fail(
        self,
        status: int,
        method: str | None = None,
        path: str | None = None,
        times: int | None = 1,
        message: str | None = None,
    ) -> None:
        """Answer the next `times` matching requests (None: all) with a Status of `status`.

        A request matches when its logical method is `method` ("GET", "LIST", "POST", "PATCH",
        "PUT", "DELETE"; None: any) and the regular expression `path` is found in its URL path
        (without the query string; None: any). Faults are tried in the order they were added,
        one per request, before authentication. The Status carries the reason that goes with
        `status` (e.g. 503 ServiceUnavailable) and `message` (or a default one).
        """
        self._add_fault(_Fault("fail", *self._match(method, path), times, status, message))

    def delay(
        self,
        seconds: float,
        method: str | None = None,
        path: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Hold the next `times` matching requests for `seconds`, then serve them (see `fail`)."""
        self._add_fault(_Fault("delay", *self._match(method, path), times, seconds=seconds))

    def drop(
        self, method: str | None = None, path: str | None = None, times: int | None = 1
    ) -> None:
        """Close the connection of the next `times` matching requests unanswered (see `fail`)."""
        self._add_fault(_Fault("drop", *self._match(method, path), times))

    def answer(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        *,
        method: str | None = None,
        path: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Answer the next `times` matching requests with exactly `body` (see `fail`).

        For answers no Kubernetes API gives: an HTML page with 200, an error without a
        Content-Type (`content_type=None`), an error body that is not JSON, a 200 body of the
        wrong shape.
        """
        fault = _Fault("raw", *self._match(method, path), times, status)
        fault.raw = (content_type, body)
        self._add_fault(fault)

    def clear_faults(self) -> None:
        """Forget every injected fault not yet used."""
        with self._lock:
            self._faults.clear()

    @staticmethod
    def _match(method: str | None, path: str | None) -> tuple[str | None, re.Pattern[str] | None]:
        if method is not None:
            method = method.upper()
            if method not in METHODS:
                raise ValueError(f"method must be one of {METHODS}, not {method!r}")
        return method, re.compile(path) if path is not None else None

    def _add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    # -- internals: storage ---------------------------------------------------------------------

    @staticmethod
    def _rt(kind: str) -> ResourceType:
        if kind in RESOURCES:
            return RESOURCES[kind]
        for rt in RESOURCES.values():
            if kind.lower() in (rt.kind.lower(), rt.plural):
                return rt
        raise KeyError(f"unknown kind {kind!r}; one of {sorted(RESOURCES)}")

    @staticmethod
    def _key(rt: ResourceType, name: str, namespace: str | None) -> tuple[str, str, str]:
        return (rt.kind, (namespace or "default") if rt.namespaced else "", name)

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _stamp_new(self, obj: dict) -> None:
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        meta["generation"] = 1
        for key in ("resourceVersion", "managedFields", "deletionTimestamp", "selfLink"):
            meta.pop(key, None)

    @staticmethod
    def _default_status(rt: ResourceType, obj: dict) -> None:
        if rt.kind == "PersistentVolume":
            obj["status"] = {"phase": "Available"}
        elif rt.kind == "PersistentVolumeClaim":
            obj["status"] = {"phase": "Pending"}
        elif rt.kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        elif rt.kind == "Pod":
            obj["status"] = {"phase": "Pending"}

    def _store(self, rt: ResourceType, key: tuple[str, str, str], obj: dict) -> None:
        obj["metadata"]["resourceVersion"] = self._next_rv()
        self._render_managed_fields(rt, key, obj)
        self._objects[key] = obj

    def _render_managed_fields(self, rt: ResourceType, key: tuple[str, str, str], obj: dict):
        entries = []
        for m in self._managers.get(key, []):
            if not m.fields:
                continue
            entry: dict[str, Any] = {
                "manager": m.manager,
                "operation": m.operation,
                "apiVersion": rt.api_version,
                "time": m.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": _fields_v1(m.fields),
            }
            if m.subresource:
                entry["subresource"] = m.subresource
            entries.append(entry)
        if entries:
            obj["metadata"]["managedFields"] = entries
        else:
            obj["metadata"].pop("managedFields", None)

    def _controller_store(self, rt: ResourceType, key: tuple[str, str, str], obj: dict) -> dict:
        """Store a change made by a built-in controller (owned by its manager)."""
        old = self._objects[key]
        managers = self._managers.setdefault(key, [])
        for sub in ("", "status") if rt.has_status else ("",):
            changed = _changed_paths(old, obj, sub)
            self._take_ownership(managers, "kube-controller-manager", "Update", sub, changed, obj)
        self._store(rt, key, obj)
        return obj

    @staticmethod
    def _take_ownership(  # noqa: PLR0917
        managers: list[_Manager],
        manager: str,
        operation: str,
        subresource: str,
        changed: set[tuple[str, ...]],
        new: dict,
    ) -> None:
        if not changed:
            return
        for m in managers:
            m.fields = {p for p in m.fields if not any(_overlap(p, c, new) for c in changed)}
        present = {p for p in changed if _get_path(new, p) is not _MISSING}
        entry = next(
            (
                m
                for m in managers
                if (m.manager, m.operation, m.subresource) == (manager, operation, subresource)
            ),
            None,
        )
        if entry is None:
            entry = _Manager(manager, operation, subresource, _now())
            managers.append(entry)
        entry.fields |= present
        entry.time = _now()
        managers[:] = [m for m in managers if m.fields]

    # -- internals: request handling ------------------------------------------------------------

    def handle(
        self,
        method: str,
        raw_path: str,
        content_type: str | None,
        authorization: str | None,
        raw_body: bytes,
        *,
        user_agent: str | None = None,
    ) -> tuple[int, Any]:
        """Serve one request: (status code, JSON body); _DropError: drop it."""
        split = urlsplit(raw_path)
        path = unquote(split.path).rstrip("/") or "/"
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        ctype = (content_type or "").split(";")[0].strip().lower() or None
        route = self._route(path)
        verb = method
        if method == "GET" and route is not None and route.name is None:
            verb = "LIST"
        body, body_error = self._decode(raw_body, ctype)
        with self._lock:
            user = self._tokens.get(self._bearer(authorization))
            self._requests.append(
                Request(
                    method=method,
                    path=path,
                    query=query,
                    content_type=ctype,
                    body=body,
                    user=user[0] if user else None,
                    verb=verb,
                    kind=route.rt.kind if route else None,
                    name=route.name if route else None,
                    namespace=route.namespace if route else None,
                    subresource=route.subresource if route else None,
                )
            )
            fault = next((f for f in self._faults if f.matches(verb, path)), None)
            if fault is not None and fault.times is not None:
                fault.times -= 1
            self._faults = [f for f in self._faults if f.times is None or f.times > 0]
        try:
            if fault is not None:
                if fault.action == "drop":
                    raise _DropError
                if fault.action == "raw":
                    raise _RawAnswerError(fault.status, *fault.raw)
                if fault.action == "delay":
                    time.sleep(fault.seconds)
                else:
                    message = fault.message or DEFAULT_MESSAGES.get(
                        fault.status, f"injected fault {fault.status}"
                    )
                    raise StatusError(fault.status, message)
            if user is None:
                raise StatusError(401, "Unauthorized")
            if path in ("/version", "/healthz", "/livez", "/readyz"):
                return 200, self._version() if path == "/version" else "ok"
            if route is None:
                raise StatusError(404, "the server could not find the requested resource")
            if body_error is not None:
                raise _bad_request(body_error)
            with self._lock:
                self._user_agent = user_agent or ""
                self._field_validation = query.get("fieldValidation", "")
                answer = self._serve(method, route, query, ctype, body, user)
                if (
                    self.auto_bind
                    and method in ("POST", "PUT", "PATCH")
                    and route.rt.kind in ("PersistentVolume", "PersistentVolumeClaim")
                    and not query.get("dryRun")
                ):
                    self.bind_pending()
                return answer
        except StatusError as failure:
            return failure.code, failure.status()
        except (_DropError, _RawAnswerError):
            raise
        except Exception as e:  # a bug of the fake: answer 500 and keep the traceback
            with self._lock:
                self.server_errors.append(traceback.format_exc())
            failure = StatusError(500, f"Internal error occurred: fake-kube failed: {e!r}")
            return failure.code, failure.status()

    @staticmethod
    def _version() -> dict:
        return {
            "major": "1",
            "minor": "37",
            "gitVersion": "v1.37.0-fake",
            "platform": "linux/amd64",
        }

    @staticmethod
    def _bearer(authorization: str | None) -> str:
        if authorization and authorization.lower().startswith("bearer "):
            return authorization[7:].strip()
        return ""

    @staticmethod
    def _decode(raw: bytes, ctype: str | None) -> tuple[Any, str | None]:
        if not raw:
            return None, None
        try:
            text = raw.decode()
            if ctype == APPLY_PATCH:
                try:
                    return json.loads(text), None
                except ValueError:
                    return yaml.safe_load(text), None
            return json.loads(text), None
        except (ValueError, yaml.YAMLError) as e:
            return None, f"error decoding body: {e}"

    @staticmethod
    def _route(path: str) -> _Route | None:
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            return None
        rt = _BY_PATH.get((group, version, rest[0]))
        if rt is None or (namespace is not None and not rt.namespaced):
            return None
        name = rest[1] if len(rest) >= 2 else None
        if name is not None and rt.namespaced and namespace is None:
            return None  # namespaced objects are only reachable under their namespace
        subresource = rest[2] if len(rest) == 3 else None
        if subresource == "log" and rt.kind == "Pod":
            return _Route(rt, namespace, name, subresource)
        if subresource is not None and (subresource != "status" or not rt.has_status):
            return None
        return _Route(rt, namespace, name, subresource)

    def _serve(  # noqa: PLR0917
        self,
        method: str,
        route: _Route,
        query: dict[str, str],
        ctype: str | None,
        body: Any,
        user: tuple[str, tuple[str, ...]],
    ) -> tuple[int, Any]:
        rt, name = route.rt, route.name
        dry_run = query.get("dryRun")
        if dry_run not in (None, "", "All"):
            raise _bad_request(f"Invalid dry run value: {dry_run}")
        if query.get("fieldValidation", "Strict") not in ("Ignore", "Warn", "Strict"):
            raise _bad_request(
                f'fieldValidation: Unsupported value: "{query["fieldValidation"]}": '
                'supported values: "Ignore", "Strict", "Warn"'
            )
        if method == "GET" and name is None and query.get("watch") in ("true", "1"):
            self._authorize(user, "watch", route, query)
            raise StatusError(405, "watch is not supported by the fake apiserver")
        if name is None:
            if method == "GET":
                self._authorize(user, "list", route, query)
                return 200, self._list(route, query)
            if method == "POST":
                self._authorize(user, "create", route, query)
                return 201, self._post(route, query, body, user, bool(dry_run))
            if method == "DELETE":
                self._authorize(user, "deletecollection", route, query)
                return 200, self._delete_collection(route, query, user, bool(dry_run))
            raise StatusError(
                405, f"the server does not allow this method on the requested resource ({method})"
            )
        if route.subresource == "log":
            return self._serve_log(method, route, query, user)
        if method == "GET":
            self._authorize(user, "get", route, query)
            obj = self._objects.get(self._key(rt, name, route.namespace))
            if obj is None:
                raise _not_found(rt, name)
            return 200, copy.deepcopy(obj)
        if method == "PUT":
            self._authorize(user, "update", route, query)
            return 200, self._put(route, query, body, user, bool(dry_run))
        if method == "PATCH":
            self._authorize(user, "patch", route, query)
            return self._patch(route, query, ctype, body, user, bool(dry_run))
        if method == "DELETE" and route.subresource is None:
            self._authorize(user, "delete", route, query)
            return 200, self._delete(route, body, user, bool(dry_run))
        raise StatusError(
            405, f"the server does not allow this method on the requested resource ({method})"
        )

    def _serve_log(self, method: str, route: _Route, query, user) -> tuple[int, Any]:
        if method != "GET":
            raise StatusError(405, "the server does not allow this method on the log")
        self._authorize(user, "get", route, query)
        name = route.name or ""
        if self._key(route.rt, name, route.namespace) not in self._objects:
            raise _not_found(route.rt, name)
        return 200, _Text(self._logs.get((route.namespace or "default", name), ""))

    # -- authorization --------------------------------------------------------------------------

    def _authorize(
        self,
        user: tuple[str, tuple[str, ...]],
        verb: str,
        route: _Route,
        query: dict[str, str],
    ) -> None:
        rt, name = route.rt, route.name
        resource = rt.plural + (f"/{route.subresource}" if route.subresource else "")
        username = user[0]
        denied = any(
            (u, v, r) in self._forbidden
            for u in (username,)
            for v in (verb, "*")
            for r in (resource, "*")
        )
        if not denied and username.startswith(_NODE_USER):
            denied = not self._node_may(username[len(_NODE_USER) :], verb, route, query)
        if denied:
            scope = (
                f'in the namespace "{route.namespace}"'
                if rt.namespaced and route.namespace
                else "at the cluster scope"
            )
            subject = f'{rt.group_resource} "{name}"' if name else rt.group_resource
            res_text = (
                f'"{rt.plural}/{route.subresource}"' if route.subresource else f'"{rt.plural}"'
            )
            message = (
                f'{subject} is forbidden: User "{username}" cannot {verb} resource {res_text} '
                f'in API group "{rt.group}" {scope}'
            )
            if (
                username.startswith(_NODE_USER)
                and rt.kind == "Node"
                and name
                and verb in ("patch", "update")
            ):
                message = (
                    f'{subject} is forbidden: node "{username[len(_NODE_USER) :]}" is not '
                    f'allowed to modify node "{name}"'
                )
            raise StatusError(403, message, details=_details(rt, name))

    @staticmethod
    def _node_may(node: str, verb: str, route: _Route, query: dict[str, str]) -> bool:
        if route.rt.kind != "Node":
            return False
        if route.name is None:
            return verb in ("list", "watch") and query.get("fieldSelector", "").replace(
                "==", "="
            ) in (f"metadata.name={node}",)
        return route.name == node and verb in ("get", "patch", "update")

    def _admit_node(self, user: tuple[str, tuple[str, ...]], old: dict, new: dict) -> None:
        """NodeRestriction admission for updates of a Node by a kubelet identity."""
        username = user[0]
        if not username.startswith(_NODE_USER):
            return
        node = username[len(_NODE_USER) :]
        name = new["metadata"]["name"]
        rt = RESOURCES["Node"]
        old_labels = old.get("metadata", {}).get("labels") or {}
        new_labels = new.get("metadata", {}).get("labels") or {}
        modified = {
            k
            for k in set(old_labels) | set(new_labels)
            if old_labels.get(k, _MISSING) != new_labels.get(k, _MISSING)
        }
        forbidden = sorted(k for k in modified if not kubelet_may_set_label(k))
        if forbidden:
            raise StatusError(
                403,
                f'nodes "{name}" is forbidden: is not allowed to modify labels: '
                + ", ".join(forbidden),
                details=_details(rt, name),
            )
        old_taints = (old.get("spec") or {}).get("taints") or []
        new_taints = (new.get("spec") or {}).get("taints") or []
        if old_taints != new_taints:
            raise StatusError(
                403,
                f'nodes "{name}" is forbidden: node "{node}" is not allowed to modify taints',
                details=_details(rt, name),
            )

    # -- verbs ----------------------------------------------------------------------------------

    def _list(self, route: _Route, query: dict[str, str]) -> dict:
        rt = route.rt
        try:
            label_match = parse_label_selector(query.get("labelSelector", ""))
            field_match = parse_field_selector(query.get("fieldSelector", ""), rt)
        except ValueError as e:
            raise _bad_request(str(e)) from None
        items = [
            copy.deepcopy(obj)
            for key, obj in sorted(self._objects.items())
            if key[0] == rt.kind
            and (route.namespace is None or key[1] == route.namespace)
            and label_match(obj.get("metadata", {}).get("labels") or {})
            and field_match(obj)
        ]
        meta: dict[str, Any] = {"resourceVersion": str(self._rv)}
        start = 0
        if query.get("continue"):
            try:
                start = int(query["continue"])
            except ValueError:
                raise StatusError(
                    410,
                    "The provided continue parameter is too old to display a consistent list result.",  # noqa: E501
                ) from None
        limit = int(query.get("limit") or 0)
        if limit > 0:
            if start + limit < len(items):
                meta["continue"] = str(start + limit)
                meta["remainingItemCount"] = len(items) - start - limit
            items = items[start : start + limit]
        else:
            items = items[start:]
        return {
            "kind": f"{rt.kind}List",
            "apiVersion": rt.api_version,
            "metadata": meta,
            "items": items,
        }

    def _check_body(self, rt: ResourceType, body: Any) -> dict:
        if not isinstance(body, dict):
            raise _bad_request("the body of the request was in an unknown format")
        if (
            body.get("kind", rt.kind) != rt.kind
            or body.get("apiVersion", rt.api_version) != rt.api_version
        ):
            raise _bad_request(
                f"the API version in the data ({body.get('apiVersion')}) does not match the "
                f"expected API version ({rt.api_version}) or kind ({body.get('kind')}) does "
                f"not match {rt.kind}"
            )
        obj = copy.deepcopy(body)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if not isinstance(obj.get("metadata"), dict):
            obj["metadata"] = {}
        return obj

    def _namespace(self, route: _Route, obj: dict) -> None:
        meta = obj["metadata"]
        if not route.rt.namespaced:
            meta.pop("namespace", None)
            return
        if meta.get("namespace") and meta["namespace"] != route.namespace:
            raise _bad_request(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        meta["namespace"] = route.namespace

    def _manager(self, query: dict[str, str]) -> str:
        """The field manager of a write: the query's, else the User-Agent up to its first "/"."""
        manager = query.get("fieldManager")
        if manager is not None and (len(manager) > 128 or not manager.isprintable()):
            raise _bad_request(f"invalid field manager: {manager!r}")
        return manager or self._user_agent.split("/", 1)[0][:128] or "unknown"

    def _post(self, route, query, body, user, dry_run: bool) -> dict:
        rt = route.rt
        if route.namespace is None and rt.namespaced:
            raise StatusError(
                405, "the server does not allow this method on the requested resource"
            )
        obj = self._check_body(rt, body)
        self._namespace(route, obj)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            suffix = "".join(
                secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5)
            )
            meta["name"] = f"{meta['generateName']}{suffix}"
        return self._create(rt, obj, self._manager(query), "Update", user, dry_run)

    def _create(self, rt, obj: dict, manager: str, operation: str, user, dry_run: bool) -> dict:  # noqa: PLR0917
        meta = _omit_empty(obj)["metadata"]
        name = meta.get("name") or ""
        self._check_schema(rt, obj)
        errors = _metadata_errors(obj) + _spec_errors(rt, obj)
        if errors:
            raise _invalid(rt, name, errors)
        if user[0].startswith(_NODE_USER):
            self._admit_node(user, {}, obj)
        key = self._key(rt, name, meta.get("namespace"))
        if key in self._objects:
            raise StatusError(
                409,
                f'{rt.group_resource} "{name}" already exists',
                reason="AlreadyExists",
                details=_details(rt, name),
            )
        applied = _owned_paths(obj, "")
        if rt.has_status and rt.kind != "Node":
            obj.pop("status", None)
            self._default_status(rt, obj)
        if rt.kind == "PersistentVolumeClaim":
            self._default_storage_class(obj)
        self._stamp_new(obj)
        # an applier owns what it applied; a plain create owns what admission added too
        owned = applied if operation == "Apply" else _owned_paths(obj, "")
        managers = [_Manager(manager, operation, "", _now(), owned)]
        if dry_run:
            return obj
        self._managers[key] = managers
        self._store(rt, key, obj)
        for kind, callback in list(self._on_create):
            if kind == rt.kind:
                callback(self, copy.deepcopy(obj))
        return copy.deepcopy(obj)

    def _default_storage_class(self, claim: dict) -> None:
        """The DefaultStorageClass admission plugin: a claim without a class gets the default."""
        spec = claim.setdefault("spec", {})
        if "storageClassName" in spec:
            return
        defaults = [
            (int(sc["metadata"].get("resourceVersion", 0)), key[2])
            for key, sc in self._objects.items()
            if key[0] == "StorageClass"
            and "true"
            in (
                (sc["metadata"].get("annotations") or {}).get(annotation)
                for annotation in (
                    "storageclass.kubernetes.io/is-default-class",
                    "storageclass.beta.kubernetes.io/is-default-class",
                )
            )
        ]
        if defaults:
            spec["storageClassName"] = max(defaults)[1]

    def _existing(self, route: _Route) -> tuple[tuple[str, str, str], dict]:
        assert route.name is not None
        key = self._key(route.rt, route.name, route.namespace)
        old = self._objects.get(key)
        if old is None:
            raise _not_found(route.rt, route.name)
        return key, old

    def _put(self, route, query, body, user, dry_run: bool) -> dict:
        rt = route.rt
        obj = self._check_body(rt, body)
        if obj["metadata"].get("name") != route.name:
            raise _bad_request(
                f"the name of the object ({obj['metadata'].get('name')}) does not match the "
                f"name on the URL ({route.name})"
            )
        self._namespace(route, obj)
        key, old = self._existing(route)
        rv = obj["metadata"].get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise _conflict(rt, route.name)
        return self._update(route, key, old, obj, self._manager(query), "Update", user, dry_run)

    def _update(  # noqa: PLR0917
        self, route, key, old, new, manager, operation, user, dry_run, owned=None, managers=None
    ):
        """Finish a write of an existing object.

        `owned`: the paths an applier now owns (None for other writes); `managers`: the field
        managers to start from (default: the stored ones).
        """
        rt = route.rt
        sub = route.subresource or ""
        new = _omit_empty(copy.deepcopy(new))
        meta = new.setdefault("metadata", {})
        for field_name in ("name", "namespace", "uid", "creationTimestamp", "generation"):
            if field_name in old["metadata"]:
                meta[field_name] = old["metadata"][field_name]
            else:
                meta.pop(field_name, None)
        meta.pop("managedFields", None)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        if sub == "status":
            status = new.get("status")
            new = copy.deepcopy(old)
            new["metadata"].pop("managedFields", None)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        elif rt.has_status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        self._pv_controller(rt, new)
        self._check_schema(rt, new)
        errors = _metadata_errors(new) + _spec_errors(rt, new) + _update_errors(rt, old, new)
        if errors:
            raise _invalid(rt, meta["name"], errors)
        if rt.kind == "Node":
            self._admit_node(user, old, new)
        if managers is None:
            managers = copy.deepcopy(self._managers.get(key, []))
        changed = _changed_paths(old, new, sub)
        if owned is not None:
            self._record_apply(managers, manager, sub, owned)
        else:
            self._take_ownership(managers, manager, operation, sub, changed, new)
        if not changed and [(m.manager, m.operation, m.fields) for m in managers] == [
            (m.manager, m.operation, m.fields) for m in self._managers.get(key, [])
        ]:
            return copy.deepcopy(old)
        if _strip(old) != _strip(new):
            meta["generation"] = old["metadata"].get("generation", 1) + 1
        if dry_run:
            self._render_managed_fields(rt, key, new)
            return new
        self._managers[key] = managers
        self._store(rt, key, new)
        return copy.deepcopy(new)

    def _check_schema(self, rt: ResourceType, obj: dict) -> None:
        version = self.strict_schema
        if version is None and self._field_validation == "Strict":
            version = "1.37"
        if version is None:
            return
        from support import k8s_schema  # kubernetes-validate only where wanted

        found = k8s_schema.errors(obj, versions=(version,))
        if found:
            raise _bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                "strict decoding error: " + "; ".join(found)
            )

    @staticmethod
    def _record_apply(managers: list[_Manager], manager: str, sub: str, owned: set) -> None:
        entry = next(
            (
                m
                for m in managers
                if (m.manager, m.operation, m.subresource) == (manager, "Apply", sub)
            ),
            None,
        )
        if entry is None:
            entry = _Manager(manager, "Apply", sub, _now())
            managers.append(entry)
        entry.fields = set(owned)
        entry.time = _now()
        managers[:] = [m for m in managers if m.fields]

    @staticmethod
    def _pv_controller(rt: ResourceType, new: dict) -> None:
        if rt.kind != "PersistentVolume":
            return
        phase = (new.get("status") or {}).get("phase")
        if phase in ("Released", "Bound") and not (new.get("spec") or {}).get("claimRef"):
            new["status"] = {"phase": "Available"}

    def _patch(self, route, query, ctype, body, user, dry_run: bool) -> tuple[int, dict]:  # noqa: PLR0917
        rt = route.rt
        if ctype not in PATCH_TYPES:
            raise StatusError(
                415,
                f"the body of the request was in an unknown format - accepted media types include: {', '.join(PATCH_TYPES)}",  # noqa: E501
            )
        if body is None:
            raise _bad_request("the body of the request was empty")
        if ctype == APPLY_PATCH:
            return self._apply(route, query, body, user, dry_run)
        key, old = self._existing(route)
        current = copy.deepcopy(old)
        current["metadata"].pop("managedFields", None)
        try:
            if ctype == JSON_PATCH:
                if not isinstance(body, list):
                    raise _bad_request(
                        "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
                    )
                new = json_patch(current, body)
            elif not isinstance(body, dict):
                raise _bad_request("the body of the request was in an unknown format")
            elif ctype == MERGE_PATCH:
                new = merge_patch(current, body)
            else:
                new = strategic_merge_patch(current, body)
        except (ValueError, TypeError, IndexError) as e:
            raise StatusError(422, str(e)) from None
        if not isinstance(new, dict):
            raise StatusError(422, "the patch result is not an object")
        rv = (new.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise _conflict(rt, route.name)
        manager = self._manager(query)
        return 200, self._update(route, key, old, new, manager, "Update", user, dry_run)

    def _apply(self, route, query, body, user, dry_run: bool) -> tuple[int, dict]:
        rt = route.rt
        manager = query.get("fieldManager")
        if not manager:
            raise _bad_request(
                "PATCH, application/apply-patch+yaml: fieldManager is required for apply requests"
            )
        self._manager(query)
        force = query.get("force") in ("true", "1")
        cfg = self._check_body(rt, body)
        if not body.get("apiVersion") or not body.get("kind"):
            raise _bad_request("apiVersion and kind must be set in an apply request")
        if cfg["metadata"].get("name", route.name) != route.name:
            raise _bad_request(
                f"the name of the object ({cfg['metadata'].get('name')}) does not match the "
                f"name on the URL ({route.name})"
            )
        cfg["metadata"]["name"] = route.name
        self._namespace(route, cfg)
        sub = route.subresource or ""
        owned = _owned_paths(cfg, sub)
        key = self._key(rt, route.name or "", route.namespace)
        old = self._objects.get(key)
        if old is None:
            if route.subresource:
                raise _not_found(rt, route.name or "")
            self._authorize(user, "create", route, query)
            obj = copy.deepcopy(cfg)
            created = self._create(rt, obj, manager, "Apply", user, dry_run)
            return 201, created
        rv = cfg["metadata"].get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise _conflict(rt, route.name)
        merged, conflicts, working = _merge_applied(
            old, cfg, owned, self._managers.get(key, []), manager, sub
        )
        if conflicts and not force:
            raise self._apply_conflict(rt, route.name or "", conflicts)
        if force:
            for m in working:
                if (m.manager, m.operation) != (manager, "Apply"):
                    m.fields -= set(conflicts)
        result = self._update(
            route, key, old, merged, manager, "Apply", user, dry_run, owned=owned, managers=working
        )
        return 200, result

    @staticmethod
    @staticmethod
    def _apply_conflict(rt: ResourceType, name: str, conflicts: dict) -> StatusError:
        lines = []
        causes = []
        for path, managers in sorted(conflicts.items()):
            field_text = "." + ".".join(path)
            for manager, operation, when in sorted(managers):
                who = f'conflict with "{manager}" using {rt.api_version}'
                if operation == "Update":
                    who += f" at {when}"
                lines.append(f"{who}: {field_text}")
                causes.append(
                    {"reason": "FieldManagerConflict", "message": who, "field": field_text}
                )
        count = len(lines)
        plural = "conflict" if count == 1 else "conflicts"
        message = f"Apply failed with {count} {plural}: " + "\n".join(lines)
        return StatusError(409, message, details={**_details(rt, name), "causes": causes})

    def _delete(self, route, body, user, dry_run: bool) -> dict:
        rt = route.rt
        key, old = self._existing(route)
        pre = (body or {}).get("preconditions") or {} if isinstance(body, dict) else {}
        if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
            raise StatusError(
                409,
                f'Operation cannot be fulfilled on {rt.group_resource} "{route.name}": '
                f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: "
                f"{old['metadata']['uid']}",
                details=_details(rt, route.name),
            )
        if (
            pre.get("resourceVersion")
            and pre["resourceVersion"] != old["metadata"]["resourceVersion"]
        ):
            raise _conflict(rt, route.name)
        if not dry_run:
            del self._objects[key]
            self._managers.pop(key, None)
            self._rv += 1
            if rt.kind == "PersistentVolumeClaim":
                self._claim_deleted(old)
            if rt.kind == "Namespace":
                self._namespace_deleted(route.name)
        if old["metadata"].get("finalizers"):
            # the real apiserver answers with the object marked for deletion (the fake does not
            # keep it: its finalizers are taken as done at once)
            gone = copy.deepcopy(old)
            gone["metadata"]["deletionTimestamp"] = _now()
            gone["metadata"]["deletionGracePeriodSeconds"] = 0
            return gone
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {**_details(rt, route.name), "uid": old["metadata"]["uid"]},
        }

    def _namespace_deleted(self, namespace: str) -> None:
        """Deleting a Namespace deletes what is in it (the fake: at once, no Terminating)."""
        for key in [k for k in self._objects if k[1] == namespace]:
            rt = RESOURCES[key[0]]
            if rt.namespaced:
                self._delete(_Route(rt, namespace, key[2], None), None, ("admin", ()), False)
        self._logs = {k: v for k, v in self._logs.items() if k[0] != namespace}

    def _claim_deleted(self, claim: dict) -> None:
        pv_rt = RESOURCES["PersistentVolume"]
        meta = claim["metadata"]
        for key, pv in list(self._objects.items()):
            if key[0] != pv_rt.kind:
                continue
            ref = (pv.get("spec") or {}).get("claimRef") or {}
            if (ref.get("name"), ref.get("namespace")) == (
                meta["name"],
                meta.get("namespace"),
            ) and (pv.get("status") or {}).get("phase") == "Bound":
                released = copy.deepcopy(pv)
                released["status"] = {"phase": "Released"}
                self._controller_store(pv_rt, key, released)

    def _delete_collection(self, route, query, user, dry_run: bool) -> dict:
        listing = self._list(
            route, {k: v for k, v in query.items() if k in ("labelSelector", "fieldSelector")}
        )
        for item in listing["items"]:
            meta = item["metadata"]
            sub_route = _Route(route.rt, meta.get("namespace"), meta["name"], None)
            self._delete(sub_route, None, user, dry_run)
        return listing


def _omit_empty(obj: dict) -> dict:
    """Drop empty metadata maps and lists, as the apiserver's JSON (omitempty) does."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for key in ("labels", "annotations", "finalizers", "ownerReferences"):
            if key in meta and not meta[key]:
                del meta[key]
    return obj


def _strip(obj: dict) -> dict:
    """An object without metadata and status, to decide on a generation bump."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


@pytest.fixture
def fake_kube() -> Iterator[FakeKube]:
    """A started FakeKube, stopped after the test."""
    fk = FakeKube().start()
    try:
        yield fk
    finally:
        fk.stop()
    if fk.server_errors:
        pytest.fail("fake-kube failed while serving a request:\n" + fk.server_errors[0])
