"""Check Kubernetes objects against the API's OpenAPI schemas (kubernetes-validate, strict).

    from support.k8s_schema import assert_valid

    assert_valid(pv_manifest)                       # Kubernetes 1.28 and 1.37
    assert_valid(node_patch, versions=("1.35",))

Strict mode rejects unknown fields (a typo such as ``spec.accesModes`` fails), wrong types and
missing required fields. It does not check enum values or quantities (facts §6).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema
import kubernetes_validate
from jsonschema.validators import Draft202012Validator
from kubernetes_validate import utils as kv_utils
from referencing import Registry, Resource

__all__ = ["DEFAULT_VERSIONS", "assert_valid", "errors"]

DEFAULT_VERSIONS = ("1.28", "1.37")


def _supported(version: str) -> str:
    wanted = kv_utils.major_minor(version.removeprefix("v"))
    known = {kv_utils.major_minor(v) for v in kv_utils.all_versions()}
    if wanted not in known:
        raise ValueError(
            f"kubernetes-validate has no schema for Kubernetes {version}; known: "
            + ", ".join(sorted(known, key=lambda v: tuple(int(p) for p in v.split("."))))
        )
    return wanted


def _all_errors(obj: Mapping[str, Any], version: str) -> list[str]:
    """Every strict-schema error (kubernetes_validate.validate stops at the first one)."""
    schema_dir = f"v{version}.0-local-strict"
    api_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", obj["apiVersion"])
    schema = kv_utils.schema_contents(
        f"kubernetes-json-schema/{schema_dir}/{obj['kind'].lower()}-{api_version}.json",
        version,
    )
    definitions = kv_utils.schema_contents(
        f"kubernetes-json-schema/{schema_dir}/_definitions.json", version
    )
    registry: Registry = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(definitions) @ registry
    validator = Draft202012Validator(schema, registry=registry)
    found = sorted(validator.iter_errors(dict(obj)), key=lambda e: list(e.absolute_path))
    return [_describe(e) for e in found]


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "<root>"
    return f"{where}: {error.message}"


def errors(obj: Mapping[str, Any], versions: Iterable[str] = DEFAULT_VERSIONS) -> list[str]:
    """Every strict validation error of `obj`, prefixed with the Kubernetes version."""
    found: list[str] = []
    for requested in versions:
        version = _supported(requested)
        try:
            kubernetes_validate.validate(dict(obj), version, strict=True)
        except kubernetes_validate.ValidationError as e:
            try:
                details = _all_errors(obj, version)
            except Exception:
                details = []
            found += [f"[{version}] {d}" for d in details or [_describe(e)]]
        except kubernetes_validate.SchemaNotFoundError as e:
            found.append(f"[{version}] {e.message}")
    return found


def assert_valid(obj: Mapping[str, Any], versions: Iterable[str] = DEFAULT_VERSIONS) -> None:
    """Fail (AssertionError listing every error) unless `obj` is valid in every version."""
    found = errors(obj, versions)
    if found:
        kind = obj.get("kind", "?")
        name = (obj.get("metadata") or {}).get("name", "?")
        raise AssertionError(
            f"{kind} {name!r} is not valid (kubernetes-validate --strict):\n  "
            + "\n  ".join(found)
        )
