"""Whether a string survives being written unquoted into YAML (plain data, no ops).

kubernetes-worker <= 1.28 renders the `nfs` relation's `hostname` and `mountpoint` unquoted
into its manifest (`server: {{ hostname }}`), and our overlays are YAML too: a value is only
valid if every YAML reader gets the same string back. The readers: YAML 1.1 (PyYAML, go-yaml v2
as used by kubectl and Juju 3.6) and YAML 1.2 (go-yaml v3). The rule is the union of what any of
them reads as something other than that string: booleans, nulls, numbers (including base 60,
`0x`, `0o`, `1e3`), dates, `<<`/`=`, and anything that breaks a plain scalar.
"""

from __future__ import annotations

import re

_BOOLS = "y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"
_NULLS = "~|null|Null|NULL"
_NUMBER = re.compile(
    r"[-+]?(?:"
    r"0b[0-1_]+"  # 1.1 binary
    r"|0o[0-7_]+"  # 1.2 octal
    r"|0x[0-9a-fA-F_]+"  # hexadecimal
    r"|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"  # 1.1 base 60 (int and float)
    r"|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?"  # decimal, 1.1/1.2 floats
    r"|\.(?:inf|Inf|INF|nan|NaN|NAN)"
    r")"
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt \t].*)?")
_WORDS = re.compile(rf"(?:{_BOOLS}|{_NULLS}|<<|=)")
# A plain scalar may not start with an indicator (`-`, `?` and `:` only before a space).
_BAD_START = set(",[]{}#&*!|>'\"%@`")


def yaml_problem(value: str) -> str | None:
    """Why `value` written unquoted as a YAML value would not read back as itself (None: fine)."""
    if value == "":
        return "must not be empty (YAML reads an empty value as null)"
    if value != value.strip() or any(not ch.isprintable() for ch in value):
        return "must not start or end with spaces or contain control characters or newlines"
    if _WORDS.fullmatch(value):
        return f"must not be {value!r}: YAML reads it as a boolean or null, not text"
    if _NUMBER.fullmatch(value):
        return "must not look like a number: YAML reads it as one, not as text"
    if _DATE.fullmatch(value):
        return "must not look like a date: YAML reads it as a timestamp, not text"
    first = value[0]
    if first in _BAD_START or (first in "-?:" and (len(value) == 1 or value[1] == " ")):
        return f"must not start with {first!r} (YAML reads it as syntax, not text)"
    if value.endswith(":") or ": " in value or " #" in value:
        return "must not end with ':' or contain ': ' or ' #' (YAML syntax)"
    return None
