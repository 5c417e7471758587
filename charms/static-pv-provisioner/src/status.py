"""Status text, in one place: lists of names and whole messages are capped (no ops, no I/O).

A status line is read by people (`juju status`) and kept by the controller: a pool of hundreds
of PVs must never make it hundreds of kB. Every list of names in a status goes through
`listed()`, and every message the charm shows goes through `capped()`.
"""

from __future__ import annotations

from collections.abc import Sequence

from constants import STATUS_LIST_LIMIT, STATUS_MAX_CHARS


def listed(items: Sequence[str], limit: int = STATUS_LIST_LIMIT) -> str:
    """`a, b, c` or, past `limit`, `a, b, c and 97 more`."""
    shown = ", ".join(items[:limit])
    more = len(items) - limit
    return f"{shown} and {more} more" if more > 0 else shown


def capped(message: str, limit: int = STATUS_MAX_CHARS) -> str:
    """`message`, or its first notes (whole `; `-separated parts) and how many were left out."""
    if len(message) <= limit:
        return message
    parts = message.split("; ")
    kept: list[str] = []
    for index, part in enumerate(parts):
        tail = f"; … {len(parts) - index} more notes (see the debug log)"
        if len("; ".join([*kept, part])) + len(tail) > limit:
            if not kept:  # one huge part: cut it
                return f"{part[: limit - len(tail) - 1]}…{tail}"
            return "; ".join(kept) + tail
        kept.append(part)
    return "; ".join(kept)  # pragma: no cover (the whole message fitted)
