"""Values in messages: quoted, control characters escaped, shortened (plain data, no ops)."""

from __future__ import annotations


def show(value: object, limit: int = 40) -> str:
    """`value` for a status line or a site-check message: its repr, at most `limit` characters.

    repr() escapes newlines and control characters, so a hostile value can never start a new
    line in a status or in the tool's output.
    """
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"
