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
| `verified`      | `true`: every provider unit's pre-flight saw the export    |

The provider never publishes a share it could not verify: `NfsShareProvider.publish()` of a
share with `verified=False` withdraws instead (since LIBPATCH 3). A requirer may still read
`verified: false` from a provider on an older LIBPATCH, and must not use such a share.

Values are checked with the homelab validators (`homelab_core.validators`, the same rules the
provider's config and the `homelab` site check use); both charms that use this library ship
`homelab_core` in their artifact.

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

from dataclasses import dataclass

import ops
from homelab_core import validators

# The unique Charmhub library identifier, never change it.
LIBID = "a7ea2205775143edbe403cb0df1841fd"

# Increment this major API version when introducing breaking changes.
LIBAPI = 0

# Increment this PATCH version before using `charmcraft publish-lib` or reset to 0 if you are
# raising the major API version.
LIBPATCH = 3

PYDEPS: list[str] = []

DEFAULT_RELATION_NAME = "nfs-share"
NFS_VERSIONS = validators.NFS_VERSIONS

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
        for field, value, rule in (
            ("server", self.server, validators.nas_host),
            ("export", self.export, validators.export_path),
            ("nfs-version", self.nfs_version, validators.nfs_version),
        ):
            problem = rule(value)
            if problem:
                raise InvalidShareError(f"{field} {validators.show(value)} {problem}")
        options = ",".join(self.mount_options)
        problem = (
            "must not be empty"
            if not options
            else validators.mount_options(options, allow_version=True)
        )
        versions = {
            o.partition("=")[2]
            for o in self.mount_options
            if o.partition("=")[0] in ("nfsvers", "vers")
        }
        if not problem and versions - {self.nfs_version}:
            problem = f"must not name another NFS version than nfs-version {self.nfs_version}"
        if problem:
            raise InvalidShareError(f"mount-options {validators.show(options)} {problem}")

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


class NfsShareProvider(ops.Object):
    """The provider side: the leader publishes (or withdraws) the share on every relation."""

    def __init__(self, charm: ops.CharmBase, relation_name: str = DEFAULT_RELATION_NAME):
        super().__init__(charm, relation_name)
        self._charm = charm
        self.relation_name = relation_name

    def publish(self, share: NfsShare) -> None:
        """Write the share to every relation's app databag (leader only, else a no-op).

        A share that is not verified is never published: this withdraws it instead.
        """
        if not self._charm.unit.is_leader():
            return
        if not share.verified:
            self.withdraw()
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
