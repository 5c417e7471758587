"""Where the NAS and the credentials come from: plain data in and out.

`resolve_share` merges the nfs-share relation's share with the `nfs-*` options;
`check_secret_id` and `kubeconfig_from_secret` turn the `kubeconfig-secret` option and the
secret's content into a `cluster.Kubeconfig`. The charm does the Juju calls (relation data,
secret content) and turns the errors into statuses.
"""

from __future__ import annotations

from collections.abc import Mapping

from charms.remote_nfs_mount.v0.nfs_share import InvalidShareError, NfsShare
from homelab_core import secrets

from cluster import CredentialsError, Kubeconfig, parse_kubeconfig
from constants import (
    DEFAULT_NFS_VERSION,
    DEFAULT_PV_MOUNT_OPTIONS,
)
from pool import shown


class ShareError(Exception):
    """No usable share; `waiting` when it only has to arrive (the relation has no data yet)."""

    def __init__(self, message: str, waiting: bool = False):
        super().__init__(message)
        self.waiting = waiting


def resolve_share(
    server: str,
    export: str,
    options_text: str,
    related: NfsShare | None,
    *,
    related_error: str = "",
    relation_present: bool = False,
) -> tuple[NfsShare, bool]:
    """The share (the relation's, else the options') and whether it is verified on every node.

    `server`, `export` and `options_text` are the `nfs-server`, `nfs-export` and
    `nfs-mount-options` options; `related` the relation's share (None: no relation, or no data
    yet when `relation_present`); `related_error` why the relation's data is invalid. With a
    relation, each of `nfs-server`/`nfs-export` that is set must equal the relation's.
    """
    server, export, options_text = server.strip(), export.strip(), options_text.strip()
    options = tuple(o.strip() for o in options_text.split(",") if o.strip())
    if related_error:
        raise ShareError(f"nfs-share relation: {related_error}")
    if relation_present and related is None:
        raise ShareError("waiting for the nfs-share relation to publish a share", waiting=True)
    if related is not None:
        # Each option that is set must equal the relation's (an empty one is not compared).
        differs = [
            f"{option} says {mine}"
            for option, mine, theirs in (
                ("nfs-server", server, related.server),
                ("nfs-export", export, related.export),
            )
            if mine and mine != theirs
        ]
        if differs:
            raise ShareError(
                f"nfs-share relation gives {related.address} but {' and '.join(differs)}: "
                "clear the option or remove the relation"
            )
        server, export = related.server, related.export
        options = options or related.mount_options
    elif not server or not export:
        raise ShareError(
            "no NAS: relate to remote-nfs-mount (nfs-share) or set nfs-server and nfs-export"
        )
    options = options or DEFAULT_PV_MOUNT_OPTIONS
    versions = [o.split("=", 1)[1] for o in options if o.startswith(("nfsvers=", "vers="))]
    try:
        share = NfsShare(
            server=server,
            export=export,
            nfs_version=versions[-1] if versions else DEFAULT_NFS_VERSION,
            mount_options=options,
        )
    except InvalidShareError as e:
        source = "nfs-share relation" if related is not None else "nfs-server/nfs-export"
        if options_text:
            source += "/nfs-mount-options"
        raise ShareError(f"{source}: {e}") from None
    return share, related.verified if related is not None else True


def check_secret_id(secret_id: str) -> str:
    """Check the `kubeconfig-secret` option (raises CredentialsError naming the rule)."""
    problem = secrets.secret_id_problem(secret_id)
    if problem:
        raise CredentialsError(f"kubeconfig-secret {shown(secret_id)} {problem}")
    return secret_id


def kubeconfig_from_secret(content: Mapping[str, str], secret_id: str) -> Kubeconfig:
    """The kubeconfig in the secret's `kubeconfig` key (raises CredentialsError)."""
    try:
        text = secrets.kubeconfig_text(content, "kubeconfig-secret", secret_id)
    except secrets.SecretError as e:
        raise CredentialsError(str(e)) from None
    return parse_kubeconfig(text, f"kubeconfig-secret {secret_id}")
