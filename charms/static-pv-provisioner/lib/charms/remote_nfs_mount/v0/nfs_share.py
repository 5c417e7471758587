"""The `nfs_share` interface: an NFS export on a NAS that Juju does not manage.

Owned by the remote-nfs-mount charm (the provider). Consumers such as static-pv-provisioner copy
this file unchanged into `lib/charms/remote_nfs_mount/v0/nfs_share.py`.

The provider's leader publishes one share in the **application** databag:

| key             | value                                                      |
|-----------------|------------------------------------------------------------|
| `server`        | NAS IP address or DNS name                                 |
| `export`        | absolute export path on the NAS, e.g. `/volume1/k8s`       |
| `nfs-version`   | `3`, `4`, `4.0`, `4.1` or `4.2`                            |
| `mount-options` | comma-separated NFS mount options, including `nfsvers=...` |
| `verified`      | `true` when every provider unit's pre-flight passed        |

Provider (remote-nfs-mount):

    self.share = NfsShareProvider(self, "nfs-share")
    ...
    if self.unit.is_leader():
        self.share.publish(NfsShare(server=..., export=..., nfs_version="4.1",
                                    mount_options=("nfsvers=4.1", "hard"), verified=True))

Requirer (static-pv-provisioner):

    self.share = NfsShareRequirer(self, "nfs-share")
    self.framework.observe(self.on["nfs-share"].relation_changed, self._on_share_changed)
    ...
    try:
        share = self.share.get()        # None when not related or nothing published yet
    except InvalidShareError as e:
        self.unit.status = ops.BlockedStatus(str(e))
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import ops

# The unique Charmhub library identifier, never change it.
LIBID = "a7ea2205775143edbe403cb0df1841fd"

# Increment this major API version when introducing breaking changes.
LIBAPI = 0

# Increment this PATCH version before using `charmcraft publish-lib` or reset to 0 if you are
# raising the major API version.
LIBPATCH = 2

PYDEPS: list[str] = []

DEFAULT_RELATION_NAME = "nfs-share"
NFS_VERSIONS = ("3", "4", "4.0", "4.1", "4.2")

_DNS_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_OPTION = re.compile(r"[a-z][a-z0-9_]*(=[A-Za-z0-9._:/-]+)?")
_REQUIRED_KEYS = ("server", "export", "nfs-version", "mount-options")


class InvalidShareError(ValueError):
    """The share data is present but not valid; the message says which field and why."""


@dataclass(frozen=True)
class NfsShare:
    """One NFS export: where it is, how to mount it, and whether every provider unit checked it.

    Attributes:
        server: NAS IP address or DNS name.
        export: absolute export path on the NAS.
        nfs_version: one of NFS_VERSIONS.
        mount_options: NFS mount options, including `nfsvers=<nfs_version>`.
        verified: every provider unit reached the NAS and found the export.
    """

    server: str
    export: str
    nfs_version: str
    mount_options: tuple[str, ...]
    verified: bool = False

    def __post_init__(self) -> None:
        """Reject invalid values (raises InvalidShareError)."""
        _check_server(self.server)
        _check_export(self.export)
        if self.nfs_version not in NFS_VERSIONS:
            raise InvalidShareError(
                f"nfs-version {self.nfs_version!r} is not one of {', '.join(NFS_VERSIONS)}"
            )
        if not self.mount_options:
            raise InvalidShareError("mount-options must not be empty")
        for option in self.mount_options:
            if not _OPTION.fullmatch(option):
                raise InvalidShareError(f"mount option {option!r} is not key or key=value")

    @property
    def address(self) -> str:
        """`server:/export`, as mount(8) and status messages write it."""
        return f"{self.server}:{self.export}"

    def to_databag(self) -> dict[str, str]:
        """The application databag content for this share."""
        return {
            "server": self.server,
            "export": self.export,
            "nfs-version": self.nfs_version,
            "mount-options": ",".join(self.mount_options),
            "verified": "true" if self.verified else "false",
        }

    @classmethod
    def from_databag(cls, data: dict[str, str]) -> NfsShare | None:
        """Parse a databag; None when nothing was published, InvalidShareError when broken."""
        if not any(key in data for key in _REQUIRED_KEYS):
            return None
        missing = [key for key in _REQUIRED_KEYS if not data.get(key)]
        if missing:
            raise InvalidShareError(f"nfs-share data incomplete: missing {', '.join(missing)}")
        verified = data.get("verified", "false")
        if verified not in ("true", "false"):
            raise InvalidShareError(f"nfs-share verified {verified!r} is not true or false")
        options = tuple(o.strip() for o in data["mount-options"].split(",") if o.strip())
        return cls(
            server=data["server"],
            export=data["export"],
            nfs_version=data["nfs-version"],
            mount_options=options,
            verified=verified == "true",
        )


def _check_server(server: str) -> None:
    if not server:
        raise InvalidShareError("server must not be empty")
    try:
        ipaddress.ip_address(server)
        return
    except ValueError:
        pass
    labels = server.rstrip(".").split(".")
    if len(server) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise InvalidShareError(f"server {server!r} is not an IP address or DNS name")


def _check_export(export: str) -> None:
    if not export.startswith("/") or export == "/":
        raise InvalidShareError(f"export {export!r} must be an absolute path other than /")
    if any(part in (".", "..") for part in export.split("/")):
        raise InvalidShareError(f"export {export!r} must not contain . or .. components")
    if any(ch.isspace() or not ch.isprintable() for ch in export):
        raise InvalidShareError(f"export {export!r} must not contain whitespace or controls")


class NfsShareProvider(ops.Object):
    """The provider side: the leader publishes (or withdraws) the share on every relation."""

    def __init__(self, charm: ops.CharmBase, relation_name: str = DEFAULT_RELATION_NAME):
        super().__init__(charm, relation_name)
        self._charm = charm
        self.relation_name = relation_name

    def publish(self, share: NfsShare) -> None:
        """Write the share to every relation's app databag (leader only, else a no-op)."""
        if not self._charm.unit.is_leader():
            return
        content = share.to_databag()
        for relation in self._charm.model.relations[self.relation_name]:
            databag = relation.data[self._charm.app]
            if dict(databag) != content:
                databag.clear()
                databag.update(content)

    def withdraw(self) -> None:
        """Remove the share from every relation (leader only, else a no-op)."""
        if not self._charm.unit.is_leader():
            return
        for relation in self._charm.model.relations[self.relation_name]:
            relation.data[self._charm.app].clear()


class NfsShareRequirer(ops.Object):
    """The requirer side: read the share the provider's leader published."""

    def __init__(self, charm: ops.CharmBase, relation_name: str = DEFAULT_RELATION_NAME):
        super().__init__(charm, relation_name)
        self._charm = charm
        self.relation_name = relation_name

    @property
    def relation(self) -> ops.Relation | None:
        """The relation, when there is one (the endpoint has `limit: 1`)."""
        return self._charm.model.get_relation(self.relation_name)

    def get(self) -> NfsShare | None:
        """The published share; None when not related or nothing published yet.

        Raises:
            InvalidShareError: the provider published data that is incomplete or invalid.
        """
        relation = self.relation
        if relation is None or relation.app is None:
            return None
        return NfsShare.from_databag(dict(relation.data[relation.app]))
