"""The NAS host rule and IP ranges (plain data, no ops).

See `homelab_core.validators` for the convention: each rule returns None when the value is
valid, else one problem text that reads after the value ("must ...").
"""

from __future__ import annotations

import ipaddress
import re

from homelab_core.yamlsafe import yaml_problem

HOSTNAME_MAX = 253  # RFC 1035, without the trailing dot
_DNS_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_DOTTED_NUMBERS = re.compile(r"[0-9.]+")
# A Linux interface name (IFNAMSIZ 16: at most 15 characters) or a numeric scope index.
ZONE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}")


def _address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if address.is_unspecified:
        return "must not be the unspecified address (0.0.0.0 or ::): give the NAS's address"
    if address.is_multicast:
        return "must not be a multicast address: give the NAS's own (unicast) address"
    if address == ipaddress.IPv4Address("255.255.255.255"):
        return "must not be the broadcast address 255.255.255.255"
    return None


def nas_host(value: str) -> str | None:
    """The NAS host: an IPv4 or IPv6 address (a zone id only on link-local) or a DNS name.

    Rejects unspecified, multicast and broadcast addresses, control characters, and any value
    that YAML would not read back as the same string (kubernetes-worker writes it unquoted).
    """
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "must be set: the NAS's IP address or DNS name"
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return "must not contain spaces, newlines or control characters"
    if len(value) > HOSTNAME_MAX:
        return f"must be at most {HOSTNAME_MAX} characters"
    if "://" in value or "/" in value:
        return "must be a bare IP address or DNS name, not a URL or path"
    if "[" in value or "]" in value:
        return "must be written without brackets (and without a port: NFS uses 2049)"
    if ":" in value:
        return _ipv6_problem(value) or yaml_problem(value)
    if _DOTTED_NUMBERS.fullmatch(value):
        try:
            address = ipaddress.IPv4Address(value)
        except ValueError:
            return "must be a valid IPv4 address (four numbers 0-255, no leading zeros)"
        return _address_problem(address)
    labels = value[:-1].split(".") if value.endswith(".") else value.split(".")
    if not all(_DNS_LABEL.fullmatch(label) for label in labels):
        return (
            "must be an IP address or a DNS name (labels of letters, digits and '-', "
            "at most 63 characters each, not starting or ending with '-')"
        )
    return yaml_problem(value)


def _ipv6_problem(value: str) -> str | None:
    address_text, percent, zone = value.partition("%")
    try:
        address = ipaddress.IPv6Address(address_text)
    except ValueError:
        if value.count(":") == 1:
            return "must not include a port (NFS uses 2049)"
        return "must be a valid IPv6 address"
    if percent:
        if not ZONE_ID.fullmatch(zone):
            return (
                "must have a zone id that is an interface name (letters, digits, '_', '.', "
                "'-'; at most 15 characters) after '%'"
            )
        if not address.is_link_local:
            return "must not have a zone id ('%...') unless the address is link-local (fe80::/10)"
    return _address_problem(address)


def ip_range(value: str) -> str | None:
    """`A-B`: two addresses of one family with A <= B (e.g. a MetalLB / MAAS reserved range)."""
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "must be set: a range such as 10.0.0.240-10.0.0.250"
    if value != value.strip() or any(ch.isspace() or not ch.isprintable() for ch in value):
        return "must not contain spaces or control characters"
    if "/" in value:
        return "must be a range start-end such as 10.0.0.240-10.0.0.250, not a CIDR"
    start_text, sep, end_text = value.partition("-")
    try:
        start = ipaddress.ip_address(start_text)
        end = ipaddress.ip_address(end_text)
    except ValueError:
        return "must be two IP addresses joined by '-', such as 10.0.0.240-10.0.0.250"
    if not sep or start.version != end.version:
        return "must have a start and an end of the same address family"
    if int(start) > int(end):
        return "must not end before it starts"
    return None
