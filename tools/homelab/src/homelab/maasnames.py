"""Site rules for day 0 (MAAS machines, the controller's tag, spaces, the GPU box's 10G NIC).

Value rules here are waiting for their place in homelab_core (requested in
/work/coord/requests-core.md); the tool switches to the core ones when they land.
No import from the rest of the tool: site.py uses these in its schema.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

ROLES = ("control_plane", "kubeflow", "gpu")
ROLE_NAMES = {"control_plane": "control-plane box", "kubeflow": "Kubeflow box", "gpu": "GPU box"}


def system_id(value: str) -> str | None:
    """A MAAS system id (six lower-case letters/digits, e.g. 4y3h7n), or empty."""
    if value == "" or re.fullmatch(r"[a-z0-9]{6}", value):
        return None
    return "a MAAS system id such as 4y3h7n (six lower-case letters and digits), or empty"


def hostname(value: str) -> str | None:
    """A MAAS machine hostname (one DNS label), or empty."""
    if value == "" or re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", value):
        return None
    return "a MAAS hostname: one DNS label of lower-case letters, digits and -"


def nic_name(value: str) -> str | None:
    """A Linux interface name as MAAS shows it (enp65s0f0, eth1), or empty."""
    if value == "" or re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}", value):
        return None
    return "an interface name such as enp65s0f0 (at most 15 characters, no spaces)"


def cidr(value: str) -> str | None:
    """A subnet in CIDR form (10.10.10.0/24), or empty."""
    if value == "":
        return None
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        return "a subnet in CIDR form such as 10.10.10.0/24 (network address, prefix length)"
    return None if "/" in value else "a subnet in CIDR form such as 10.10.10.0/24"


def cross_checks(site: Any, add: Callable[[str, str], None]) -> None:
    """The controller's tag, the replaced storage_space key, the NIC and the spaces."""
    ok = site.valid
    tag_keys = [f"maas.tags.{r}" for r in ROLES]
    if ok("maas.controller_tag", *tag_keys):
        ctag = site.get("maas.controller_tag")
        for key in tag_keys:
            if site.get(key) == ctag:
                add(
                    "maas.controller_tag",
                    f"{ctag!r} is also {key}: the controller would take that lab machine "
                    "(give the controller's machine its own tag, e.g. juju)",
                )
    if ok("maas.storage_space") and site.get("maas.storage_space"):
        add(
            "maas.storage_space",
            "replaced by maas.spaces.<role> (a space per machine that has a NIC in it; the "
            "traffic endpoints of the machines in that space are bound to it)",
        )
    if (
        ok("maas.gpu_nic.name", "maas.gpu_nic.subnet")
        and site.get("maas.gpu_nic.subnet")
        and not site.get("maas.gpu_nic.name")
    ):
        add("maas.gpu_nic.name", "needed when maas.gpu_nic.subnet is set (the 10G port)")
