"""Juju secrets as the charms use them: the id rule and the kubeconfig key (plain data, no ops).

The charm does the Juju call (`model.get_secret(id=...).get_content(refresh=True)`); these
functions check the option before it and the content after it. Messages name the option and the
rule, never the secret's content.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# `secret:<20 base32hex>` or `secret://<model uuid>/<20 base32hex>` (or the bare 20), as
# `juju add-secret` prints it; always used with fullmatch.
SECRET_ID_PATTERN = re.compile(r"(secret:(//[0-9a-f-]{36}/)?)?[0-9a-z]{20}")
KUBECONFIG_KEY = "kubeconfig"


class SecretError(ValueError):
    """The secret (or the option naming it) cannot be used; the message is safe for a status."""


def secret_id_problem(value: object) -> str | None:
    """Why `value` is not a Juju secret id (None: it is one); follows the option name."""
    if isinstance(value, str) and SECRET_ID_PATTERN.fullmatch(value):
        return None
    return (
        "must be a Juju secret id (secret:<20 lower-case letters and digits>, "
        "as printed by `juju add-secret`)"
    )


def not_granted(option: str, secret_id: str, app: str) -> str:
    """The message for a secret the charm cannot read."""
    return f"{option} {secret_id} not found or not granted (juju grant-secret {secret_id} {app})"


def kubeconfig_text(content: Mapping[str, str], option: str, secret_id: str) -> str:
    """The kubeconfig in the secret's `kubeconfig` key (SecretError when it is missing)."""
    text = content.get(KUBECONFIG_KEY, "") if isinstance(content, Mapping) else ""
    if not isinstance(text, str) or not text.strip():
        raise SecretError(f"{option} {secret_id} has no {KUBECONFIG_KEY!r} key")
    return text
