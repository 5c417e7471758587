"""Sizes (Kubernetes binary quantities) and pool specs (plain data, no ops).

See `homelab_core.validators` for the convention: each rule returns None when the value is
valid, else one problem text that reads after the value ("must ...").
"""

from __future__ import annotations

import re

from homelab_core.text import show

SIZE_UNITS = {"Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
SIZE_MAX = 1024 * 2**40  # 1024Ti
POOL_COUNT_MAX = 999  # PV names carry a 3-digit index
# static-pv-provisioner's `max-per-size` default (its charmcraft.yaml; a test keeps them equal):
# the lab's site file does not set that option, so its pool counts and min_available obey it.
PER_SIZE_DEFAULT = 32
_SIZE = re.compile(r"([0-9]{1,10})(Mi|Gi|Ti)")
_OTHER_UNIT = re.compile(r"[0-9]+([kmgtpe]i?b?)", re.IGNORECASE)


def parse_size(value: str) -> int | None:
    """Bytes in `500Mi`, `10Gi` or `2Ti` (None when `size` finds a problem)."""
    if not isinstance(value, str):
        return None
    match = _SIZE.fullmatch(value)
    if not match:
        return None
    result = int(match.group(1)) * SIZE_UNITS[match.group(2)]
    return result if 0 < result <= SIZE_MAX else None


def size(value: str) -> str | None:
    """A size: a whole number of Mi, Gi or Ti, more than zero, at most 1024Ti."""
    if parse_size(value) is not None:
        return None
    if _SIZE.fullmatch(str(value)):
        return "must be more than zero and at most 1024Ti"
    if _OTHER_UNIT.fullmatch(str(value)):
        return "must be in Kubernetes binary units Mi, Gi or Ti (write 10Gi, not 10GB or 10G)"
    return "must be a size such as 500Mi, 10Gi or 2Ti"


def parse_pool_spec(value: str) -> tuple[tuple[str, int], ...] | None:
    """`10Gi:8,50Gi:4` -> (("10Gi", 8), ("50Gi", 4)) (None when `pool_spec` finds a problem)."""
    return None if pool_spec(value) else tuple(_entries(value))


def _entries(value: str) -> list[tuple[str, int]]:
    result = []
    for entry in value.split(","):
        size_text, _, count = entry.partition(":")
        result.append((size_text, int(count)))
    return result


def pool_spec(value: str, max_count: int = POOL_COUNT_MAX) -> str | None:
    """Comma-separated `size:count`, each size once, counts 1..max_count, no spaces."""
    if not isinstance(value, str) or not value:
        return 'must be set: size:count, ... such as "10Gi:8,50Gi:4"'
    seen: set[int] = set()
    for entry in value.split(","):
        size_text, sep, count = entry.partition(":")
        if not sep:
            return f"must be size:count, ... such as 10Gi:8,50Gi:4 (not {show(entry)})"
        problem = size(size_text)
        if problem:
            return f"has {show(size_text)}, which {problem}"
        if not (count.isascii() and count.isdigit() and 1 <= int(count) <= max_count):
            return f"has count {show(count)}: each count must be a whole number 1-{max_count}"
        bytes_ = parse_size(size_text)
        if bytes_ in seen:
            return f"gives the size {size_text} twice"
        seen.add(bytes_ or 0)
    return None
