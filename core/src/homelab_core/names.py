"""Kubernetes and Juju names, label keys/values/prefixes (plain data, no ops).

See `homelab_core.validators` for the convention: each rule returns None when the value is
valid, else one problem text that reads after the value ("must ...").
"""

from __future__ import annotations

import re

DNS_LABEL_MAX = 63
DNS_SUBDOMAIN_MAX = 253
LABEL_NAME_MAX = 63
LABEL_VALUE_MAX = 63
LABEL_PREFIX_MAX = 253
JUJU_NAME_MAX = 63  # a Kubernetes model's name is its namespace (a DNS-1123 label)
STORAGE_CLASS_NAME_MAX = 200  # static-pv-provisioner's PV names add `-<size>-<NNN>` (<= 253)
STORAGE_POOL_NAME_MAX = 128  # Juju 4.0 (core/storage StoragePoolNameMaxLength)
# Prefixes no charm of ours may label with: NodeRestriction keeps kubernetes.io/k8s.io from the
# kubelet, and nvidia.com belongs to GPU Feature Discovery / the GPU operator.
RESERVED_PREFIX_DOMAINS = ("kubernetes.io", "k8s.io", "nvidia.com")

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL = re.compile(_LABEL)
_DNS_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
# juju/names: ApplicationSnippet; each '-'-separated part after the first has a letter.
_JUJU_APPLICATION = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*")
_JUJU_MODEL = re.compile(r"[a-z0-9][a-z0-9-]*")
_JUJU_SPACE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
# Juju 3.6 accepts ^[a-zA-Z]+[-?a-zA-Z0-9]*$, Juju 4.0 an RFC 1035 label of up to 128
# characters: both targets accept exactly what this accepts.
_STORAGE_POOL = re.compile(r"[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?")


def dns_label(value: str, max_length: int = DNS_LABEL_MAX) -> str | None:
    """A DNS-1123 label (namespace, Service name): lower-case letters, digits, '-'."""
    if not isinstance(value, str) or not value:
        return "must be set: lower-case letters, digits and '-'"
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    if not _DNS_LABEL.fullmatch(value):
        return (
            "must be a DNS-1123 label: lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return None


def dns_subdomain(value: str, max_length: int = DNS_SUBDOMAIN_MAX) -> str | None:
    """A DNS-1123 subdomain (most object names: StorageClass, PV, Node)."""
    if not isinstance(value, str) or not value:
        return "must be set: lower-case letters, digits, '-' and '.'"
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    if not _DNS_SUBDOMAIN.fullmatch(value):
        return (
            "must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', "
            "each part starting and ending with a letter or digit"
        )
    return None


def storage_class_name(value: str) -> str | None:
    """A StorageClass name our pools use: a DNS-1123 subdomain of at most 200 characters."""
    return dns_subdomain(value, STORAGE_CLASS_NAME_MAX)


def label_prefix(value: str, reserved: tuple[str, ...] = RESERVED_PREFIX_DOMAINS) -> str | None:
    """A label key prefix of ours: a DNS subdomain outside the reserved domains."""
    problem = dns_subdomain(value, LABEL_PREFIX_MAX)
    if problem:
        return problem
    for domain in reserved:
        if value == domain or value.endswith("." + domain):
            return f"must be outside {domain} (reserved: it belongs to Kubernetes or NVIDIA)"
    return None


def label_key(value: str) -> str | None:
    """A Kubernetes label key: optional `prefix/` (DNS subdomain) and a name of at most 63."""
    if not isinstance(value, str) or not value:
        return "must be set: a label key such as homelab-charms.io/role"
    prefix, slash, name = value.rpartition("/")
    if slash and (not prefix or dns_subdomain(prefix, LABEL_PREFIX_MAX)):
        return "must have a DNS-1123 subdomain of at most 253 characters before the '/'"
    if not name or len(name) > LABEL_NAME_MAX or not _LABEL_NAME.fullmatch(name):
        return (
            "must have a name of at most 63 letters, digits, '-', '_' and '.', starting and "
            "ending with a letter or digit (e.g. homelab-charms.io/role)"
        )
    return None


def label_value(value: str) -> str | None:
    """A Kubernetes label value: empty, or at most 63 letters, digits, '-', '_', '.'."""
    if not isinstance(value, str):
        return "must be a string"
    if value and (len(value) > LABEL_VALUE_MAX or not _LABEL_NAME.fullmatch(value)):
        return (
            "must be at most 63 letters, digits, '-', '_' and '.', starting and ending "
            "with a letter or digit"
        )
    return None


def juju_application_name(value: str) -> str | None:
    """A Juju application name (juju/names): `a`, `my-app2`; no part of only digits."""
    if not isinstance(value, str) or not value:
        return "must be set: lower-case letters, digits and '-'"
    if len(value) > JUJU_NAME_MAX:
        return f"must be at most {JUJU_NAME_MAX} characters"
    if not _JUJU_APPLICATION.fullmatch(value):
        return (
            "must be a Juju application name: lower-case letters, digits and '-', starting "
            "with a letter, each part after a '-' with a letter in it"
        )
    return None


def juju_model_name(value: str) -> str | None:
    """A Juju model (or controller, cloud) name: lower-case letters, digits, '-'."""
    if not isinstance(value, str) or not value:
        return "must be set: lower-case letters, digits and '-'"
    if len(value) > JUJU_NAME_MAX:
        return f"must be at most {JUJU_NAME_MAX} characters"
    if not _JUJU_MODEL.fullmatch(value):
        return "must be a Juju name: lower-case letters, digits and '-', not starting with '-'"
    return None


def juju_space_name(value: str) -> str | None:
    """A Juju space name: lower-case letters and digits in parts joined by single '-'."""
    if not isinstance(value, str) or not value or not _JUJU_SPACE.fullmatch(value):
        return "must be a Juju space name: lower-case letters and digits, parts joined by '-'"
    if len(value) > JUJU_NAME_MAX:
        return f"must be at most {JUJU_NAME_MAX} characters"
    return None


def storage_pool_name(value: str) -> str | None:
    """What `juju create-storage-pool` accepts on Juju 3.6 and on 4.0."""
    if not isinstance(value, str) or not value:
        return "must be set: a letter, then letters, digits and '-'"
    if len(value) > STORAGE_POOL_NAME_MAX:
        return f"must be at most {STORAGE_POOL_NAME_MAX} characters"
    if not _STORAGE_POOL.fullmatch(value):
        return (
            "must be a Juju storage pool name: a letter, then letters, digits and '-', "
            "ending with a letter or digit"
        )
    return None
