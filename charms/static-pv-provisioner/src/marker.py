"""Which pool owns a directory on the NAS: the ownership marker (plain data, no I/O, no ops).

Each PV directory `<export>/<name>` has a marker file beside it, never inside it:
`<export>/.static-pv-provisioner/<name>.json`, naming the Juju model (name and UUID), the
application and the StorageClass of the pool that made (or adopted) the directory. A pool uses,
empties or hands back only directories whose marker names itself; the README says why the
marker is a file beside the directory rather than a name scheme or a file inside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from constants import CHARM_NAME, MARKER_MAX_BYTES


@dataclass(frozen=True)
class PoolId:
    """A pool: the model, the application and the StorageClass.

    The model's UUID is part of it: two models of one name (two controllers, a rebuilt lab)
    are two pools.
    """

    model: str
    model_uuid: str
    application: str
    class_name: str

    def owns(self, other: PoolId) -> bool:
        """Whether `other` (read from a marker) is this pool."""
        return (self.model_uuid, self.application, self.class_name) == (
            other.model_uuid,
            other.application,
            other.class_name,
        )

    def with_class(self, class_name: str) -> PoolId:
        """The same application's pool of another class (a PV of an earlier storage-class)."""
        return PoolId(self.model, self.model_uuid, self.application, class_name)

    def describe(self) -> str:
        """`k8s/static-pv-provisioner class homelab-nfs (model 6f1c2a3b…)` for a status."""
        return (
            f"{self.model}/{self.application} class {self.class_name} "
            f"(model {self.model_uuid[:8]}…)"
        )


def render(pool: PoolId, volume: str) -> bytes:
    """The marker of `volume`'s directory."""
    data = {
        "managed-by": CHARM_NAME,
        "model": pool.model,
        "model-uuid": pool.model_uuid,
        "application": pool.application,
        "class": pool.class_name,
        "volume": volume,
    }
    return (json.dumps(data, sort_keys=True) + "\n").encode()


class MarkerError(ValueError):
    """A marker file that is not one of ours (unreadable, malformed, or of another volume)."""


def parse(raw: bytes, volume: str) -> PoolId:
    """The pool a marker names; MarkerError when it is not a marker of `volume`."""
    if len(raw) > MARKER_MAX_BYTES:
        raise MarkerError(f"more than {MARKER_MAX_BYTES} bytes")
    try:
        data = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError):
        raise MarkerError("not JSON") from None
    if not isinstance(data, dict):
        raise MarkerError("not a JSON object")
    fields = ("model", "model-uuid", "application", "class", "volume")
    values = {key: data.get(key) for key in fields}
    if data.get("managed-by") != CHARM_NAME or not all(
        isinstance(v, str) and v for v in values.values()
    ):
        raise MarkerError("not a static-pv-provisioner marker")
    if values["volume"] != volume:
        raise MarkerError(f"it names volume {str(values['volume'])[:64]!r}")
    return PoolId(
        str(values["model"]),
        str(values["model-uuid"]),
        str(values["application"]),
        str(values["class"]),
    )
