#!/usr/bin/env python3
"""static-pv-provisioner: a self-maintaining pool of NAS-backed PersistentVolumes.

Thin: observe events, one `_reconcile`, compute the status. The work is in `pool` (plain
logic), `manifests`, `cluster` (lightkube, imported lazily), `nas` (the directory step),
`provisioner` (one reconcile over injected I/O), `sources` (share and credential inputs) and
`actions` (what the actions print). Tests replace the class attributes marked "injected" by
subclassing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import ops
from charms.remote_nfs_mount.v0.nfs_share import InvalidShareError, NfsShare, NfsShareRequirer

import actions
import cluster
import manifests
import nas
import packages
import pool
import provisioner
import sources
from constants import (
    APT_PACKAGES,
    CLASS_RECHECK_SECONDS,
    MOUNT_TIMEOUT_RANGE,
)

logger = logging.getLogger(__name__)
# lightkube's HTTP stack traces every request at DEBUG: keep it out of the Juju debug log.
for _noisy in ("httpx2", "httpcore2"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


class _StopError(Exception):
    """Stop the reconcile (or action) with this status."""

    def __init__(self, status: ops.StatusBase):
        super().__init__(status.message)
        self.status = status


@dataclass(frozen=True)
class _Inputs:
    settings: provisioner.Settings
    kubeconfig: cluster.Kubeconfig
    mount_options: tuple[str, ...]  # of the short admin mount on this host
    share_verified: bool  # remote-nfs-mount checked the share on every node (or config-given)
    mount_timeout: int
    mode: int
    uid: int
    gid: int


class StaticPvProvisionerCharm(ops.CharmBase):
    """Keeps a StorageClass and a pool of static NFS PVs in a cluster."""

    # Injected I/O: tests override these by subclassing.
    cluster_factory: Callable[[cluster.Kubeconfig], provisioner.Api] = cluster.Cluster
    mounter: nas.Mounter = nas.KernelNfsMounter()
    nfs_client_present: Callable[[], bool] = staticmethod(packages.nfs_client_present)
    install_packages: Callable[[Sequence[str]], None] = staticmethod(packages.install)
    clock: Callable[[], float] = staticmethod(time.time)

    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self._stored.set_default(class_fingerprint="", class_checked_at=0.0)
        self._install_tried = False  # at most one apt run per hook
        self._install_problem = ""
        self.share = NfsShareRequirer(self, "nfs-share")
        for event in (
            self.on.config_changed,
            self.on.leader_elected,
            self.on.start,
            self.on.secret_changed,
            self.on["nfs-share"].relation_changed,
            self.on["nfs-share"].relation_broken,
        ):
            framework.observe(event, self._on_change)
        framework.observe(self.on.install, self._on_install)
        framework.observe(self.on.upgrade_charm, self._on_install)
        framework.observe(self.on.update_status, self._on_update_status)
        framework.observe(self.on.remove, self._on_remove)
        framework.observe(self.on.recycle_action, self._on_recycle_action)
        framework.observe(self.on.list_volumes_action, self._on_list_volumes_action)
        framework.observe(
            self.on.storage_pool_commands_action, self._on_storage_pool_commands_action
        )

    # Events.

    def _on_install(self, _: ops.EventBase) -> None:
        self._ensure_nfs_client()  # every unit: a later leader needs it too
        self._reconcile(force_class_check=True)

    def _ensure_nfs_client(self) -> bool:
        """Install nfs-common when mount.nfs is missing (once per hook); whether it is there."""
        if self.nfs_client_present():
            return True
        if not self._install_tried:
            self._install_tried = True
            self.unit.status = ops.MaintenanceStatus(f"installing {', '.join(APT_PACKAGES)}")
            try:
                self.install_packages(APT_PACKAGES)
            except packages.PackageInstallError as e:
                logger.warning("%s", e)
                self._install_problem = str(e)
        return self.nfs_client_present()

    def _on_change(self, _: ops.EventBase) -> None:
        self._reconcile(force_class_check=True)

    def _on_update_status(self, _: ops.EventBase) -> None:
        self._reconcile(force_class_check=False)

    def _on_remove(self, _: ops.EventBase) -> None:
        if not self.unit.is_leader():
            return
        planned = self.app.planned_units()
        if planned > 0:
            # Only this unit goes (its principal or machine is removed): the application stays,
            # so does the pool; the next leader carries on with it.
            message = f"removing this unit only ({planned} stay): the pool is left as it is"
            logger.info("%s", message)
            self.unit.status = ops.MaintenanceStatus(message)
            return
        try:
            class_name = pool.check_class_name(str(self.config["storage-class"]))
            api = self.cluster_factory(self._kubeconfig())
            owner = manifests.ownership_labels(self.model.name, self.app.name)
            summary = provisioner.remove(class_name, owner, api)
        except (_StopError, pool.ConfigError, cluster.CredentialsError, cluster.ClusterError) as e:
            # PVs deleted before the failure stay deleted; nothing on the NAS was touched.
            message = f"removal stopped: {e}; in-use PVs and the data on the NAS are left"
            logger.warning("%s", message)
            self.unit.status = ops.BlockedStatus(message)
            return
        logger.warning("removed: %s", summary)
        self.unit.status = ops.MaintenanceStatus(f"removed: {summary}")

    # The one reconcile.

    def _reconcile(self, force_class_check: bool) -> None:
        try:
            inputs = self._inputs()
            if not self.unit.is_leader():
                name = inputs.settings.target.class_name
                raise _StopError(ops.ActiveStatus(f"standby: the leader unit manages {name}"))
            if not self._ensure_nfs_client():
                raise _StopError(
                    ops.BlockedStatus(
                        f"{self._install_problem}; retrying at the next update-status"
                        if self._install_problem
                        else "nfs-common is not installed (no mount.nfs on this host)"
                    )
                )
            fingerprint = self._class_fingerprint(inputs)
            check_class = (
                force_class_check
                or fingerprint != self._stored.class_fingerprint
                or self.clock() - self._stored.class_checked_at > CLASS_RECHECK_SECONDS
            )
            if check_class:
                self._stored.class_fingerprint = ""  # set again only when the check passes
            outcome = provisioner.reconcile(
                inputs.settings,
                self.cluster_factory(inputs.kubeconfig),
                lambda: self._open_export(inputs),
                self._guard,
                check_class,
            )
            if outcome.class_ok:
                self._stored.class_fingerprint = fingerprint
                self._stored.class_checked_at = self.clock()
            message = outcome.message
            if not inputs.share_verified:
                message += "; remote-nfs-mount has not verified the share on every node yet"
            self.unit.status = _STATUS[outcome.status](message)
        except _StopError as e:
            self.unit.status = e.status
        except Exception as e:  # every known failure becomes a status
            self.unit.status = self._failure_status(e)

    @staticmethod
    def _failure_status(e: Exception) -> ops.StatusBase:
        if isinstance(e, provisioner.LeadershipLostError):
            return ops.ActiveStatus("standby: leadership moved mid-reconcile")
        if isinstance(e, cluster.CredentialsError):
            return ops.BlockedStatus(str(e))
        if isinstance(e, cluster.ClusterError):
            if e.retry:
                return ops.WaitingStatus(f"{e}; retrying at the next update-status")
            return ops.BlockedStatus(str(e))
        if isinstance(e, nas.MountTimeoutError):
            return ops.WaitingStatus(f"NAS: {e}; retrying at the next update-status")
        if isinstance(e, nas.NasError):
            return ops.BlockedStatus(f"NAS: {e}")
        raise e

    def _guard(self) -> None:
        if not self.unit.is_leader():
            raise provisioner.LeadershipLostError()

    @contextmanager
    def _open_export(self, inputs: _Inputs) -> Iterator[nas.ExportDirectories]:
        target = inputs.settings.target
        server = f"[{target.server}]" if ":" in target.server else target.server  # IPv6
        with nas.mounted_export(
            f"{server}:{target.export}", inputs.mount_options, inputs.mount_timeout, self.mounter
        ) as root:
            yield nas.ExportDirectories(root, target.address, inputs.mode, inputs.uid, inputs.gid)

    def _class_fingerprint(self, inputs: _Inputs) -> str:
        settings = inputs.settings
        server = inputs.kubeconfig.data.get("clusters")
        data = [
            settings.target.class_name,
            settings.binding_mode,
            settings.set_default,
            settings.adopt_class,
            sorted(settings.owner.items()),
            json.dumps(server, sort_keys=True, default=str),
        ]
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()

    # Inputs: config, relation, credentials (all validated; _StopError with the exact cause).

    def _inputs(self) -> _Inputs:
        config = self.config
        try:
            class_name = pool.check_class_name(str(config["storage-class"]))
            max_per_size = int(config["max-per-size"])
            min_available = int(config["min-available"])
            pool.check_limits(min_available, max_per_size)
            sizes = pool.parse_pool(str(config["pool"]), max_per_size)
            binding_mode = pool.check_binding_mode(str(config["volume-binding-mode"]))
            mode = pool.parse_mode(str(config["directory-mode"]))
            uid, gid = pool.parse_owner(str(config["directory-owner"]))
            mount_timeout = int(config["mount-timeout"])
            low, high = MOUNT_TIMEOUT_RANGE
            if not low <= mount_timeout <= high:
                raise pool.ConfigError(f"mount-timeout {mount_timeout} must be {low} to {high}")
        except pool.ConfigError as e:
            raise _StopError(ops.BlockedStatus(str(e))) from None
        share, share_verified = self._share()
        kubeconfig = self._kubeconfig()
        target = pool.Target(
            class_name=class_name,
            server=share.server,
            export=share.export,
            mount_options=share.mount_options,
            sizes=sizes,
            min_available=min_available,
            max_per_size=max_per_size,
        )
        settings = provisioner.Settings(
            target=target,
            owner=manifests.ownership_labels(self.model.name, self.app.name),
            binding_mode=binding_mode,
            set_default=bool(config["set-default"]),
            adopt_class=bool(config["adopt-class"]),
        )
        return _Inputs(
            settings=settings,
            kubeconfig=kubeconfig,
            mount_options=nas.admin_mount_options(share.mount_options, mount_timeout),
            share_verified=share_verified,
            mount_timeout=mount_timeout,
            mode=mode,
            uid=uid,
            gid=gid,
        )

    def _share(self) -> tuple[NfsShare, bool]:
        """The share (relation, else config; both and different: Blocked) and if it is verified."""
        related, error = None, ""
        try:
            related = self.share.get()
        except InvalidShareError as e:
            error = str(e)
        try:
            return sources.resolve_share(
                str(self.config["nfs-server"]),
                str(self.config["nfs-export"]),
                str(self.config["nfs-mount-options"]),
                related,
                related_error=error,
                relation_present=self.share.relation is not None,
            )
        except sources.ShareError as e:
            status = ops.WaitingStatus if e.waiting else ops.BlockedStatus
            raise _StopError(status(str(e))) from None

    def _kubeconfig(self) -> cluster.Kubeconfig:
        """Credentials: the user secret named by kubeconfig-secret, else the host's file."""
        secret_id = str(self.config["kubeconfig-secret"]).strip()
        try:
            if not secret_id:
                return cluster.read_kubeconfig_file(str(self.config["kubeconfig-path"]))
            sources.check_secret_id(secret_id)
            grant = f"juju grant-secret {secret_id} {self.app.name}"
            try:
                content = self.model.get_secret(id=secret_id).get_content(refresh=True)
            except ops.SecretNotFoundError:
                raise cluster.CredentialsError(
                    f"kubeconfig-secret {secret_id} not found or not granted ({grant})"
                ) from None
            except ops.ModelError:
                raise cluster.CredentialsError(
                    f"kubeconfig-secret {secret_id} cannot be read: is it granted? ({grant})"
                ) from None
            return sources.kubeconfig_from_secret(content, secret_id)
        except cluster.CredentialsError as e:
            raise _StopError(ops.BlockedStatus(str(e))) from None

    # Actions.

    def _action_api(self, event: ops.ActionEvent) -> tuple[_Inputs, provisioner.Api] | None:
        try:
            inputs = self._inputs()
            return inputs, self.cluster_factory(inputs.kubeconfig)
        except _StopError as e:
            event.fail(e.status.message)
        except cluster.CredentialsError as e:
            event.fail(str(e))
        return None

    def _on_list_volumes_action(self, event: ops.ActionEvent) -> None:
        # Only what listing needs: credentials and our labels (works with no share, bad pool).
        try:
            api = self.cluster_factory(self._kubeconfig())
            volumes = api.list_volumes(manifests.ownership_labels(self.model.name, self.app.name))
        except _StopError as e:
            event.fail(e.status.message)
            return
        except (cluster.ClusterError, cluster.CredentialsError) as e:
            event.fail(str(e))
            return
        event.set_results(actions.volume_results(volumes))

    def _on_recycle_action(self, event: ops.ActionEvent) -> None:
        if event.params.get("confirm") is not True:
            event.fail("recycle deletes the data in the directories: pass confirm=true")
            return
        volume = str(event.params.get("volume") or "")
        if volume:
            try:
                pool.check_volume_name(volume)
            except pool.ConfigError as e:
                event.fail(str(e))
                return
        if not self.unit.is_leader():
            event.fail("only the leader changes the cluster: run it on the leader unit")
            return
        ready = self._action_api(event)
        if ready is None:
            return
        inputs, api = ready
        try:
            volumes = api.list_volumes(inputs.settings.owner)
            chosen, error = provisioner.select_recycle(
                volumes, volume, bool(event.params.get("all-released", False))
            )
            if error:
                event.fail(error)
                return
            result = provisioner.recycle(
                chosen,
                api,
                lambda: self._open_export(inputs),
                self._guard,
                inputs.settings.target,
            )
        except provisioner.LeadershipLostError:
            event.fail("recycle stopped: leadership moved to another unit; run it on the leader")
            return
        except (cluster.ClusterError, cluster.CredentialsError, nas.NasError) as e:
            event.fail(f"recycle stopped: {e}")
            return
        event.set_results(
            {
                "recycled": ", ".join(result.recycled) or "none",
                "count": len(result.recycled),
                **({"failed": json.dumps(result.failed)} if result.failed else {}),
            }
        )
        if result.failed:
            event.fail(
                f"{len(result.failed)} volumes were not recycled: "
                + "; ".join(f"{name}: {why}" for name, why in sorted(result.failed.items()))
            )
        self._reconcile(force_class_check=False)

    def _on_storage_pool_commands_action(self, event: ops.ActionEvent) -> None:
        try:
            model = actions.check_model(str(event.params.get("model") or ""))
            class_name = pool.check_class_name(str(self.config["storage-class"]))
            pool_name = actions.pool_name(str(event.params.get("pool-name") or ""), class_name)
        except pool.ConfigError as e:
            event.fail(str(e))
            return
        try:
            names = {c.name for c in self.cluster_factory(self._kubeconfig()).list_classes()}
            check = actions.class_check_note(model, class_name, names)
        except (_StopError, cluster.CredentialsError, cluster.ClusterError) as e:
            check = f"Could not check the cluster's StorageClasses ({e})."
        event.set_results(
            {
                "commands": "\n".join(actions.storage_pool_commands(model, pool_name, class_name)),
                "notes": f"{actions.lookup_note(model, class_name)} {check}",
            }
        )


_STATUS: dict[str, Callable[[str], ops.StatusBase]] = {
    provisioner.ACTIVE: ops.ActiveStatus,
    provisioner.WAITING: ops.WaitingStatus,
    provisioner.BLOCKED: ops.BlockedStatus,
}


if __name__ == "__main__":  # pragma: nocover
    ops.main(StaticPvProvisionerCharm)
