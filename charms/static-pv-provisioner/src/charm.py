#!/usr/bin/env python3
"""static-pv-provisioner: a self-maintaining pool of NAS-backed PersistentVolumes.

Wiring only: events, typed config and parameters (`config`), one `_reconcile`, every status
set in `_show`. The policy is in ops-free modules (`pool`, `provisioner`, `nas`, `marker`,
`manifests`, `actions`, `sources`, `cluster`); tests replace the "injected" attributes.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import ops


class _Lazy:
    """A module imported on first use: a hook pays only for the modules it runs."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)


if TYPE_CHECKING:
    from charms.remote_nfs_mount.v0 import nfs_share

    import actions
    import cluster
    import config
    import constants
    import manifests
    import marker
    import nas
    import packages
    import pool
    import provisioner
    import sources
    import status
else:
    actions, cluster, config = _Lazy("actions"), _Lazy("cluster"), _Lazy("config")
    manifests, marker, nas = _Lazy("manifests"), _Lazy("marker"), _Lazy("nas")
    packages, pool, provisioner = _Lazy("packages"), _Lazy("pool"), _Lazy("provisioner")
    sources, status, constants = _Lazy("sources"), _Lazy("status"), _Lazy("constants")
    nfs_share = _Lazy("charms.remote_nfs_mount.v0.nfs_share")

logger = logging.getLogger(__name__)
# lightkube's HTTP stack traces every request at DEBUG: keep it out of the Juju debug log.
for _noisy in ("httpx2", "httpcore2"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


def _stops() -> tuple[type[Exception], ...]:
    """The failures an action or removal reports as they are."""
    return (pool.ConfigError, cluster.CredentialsError, cluster.ClusterError)


class _StopError(Exception):
    """Stop the reconcile (or action) with this status."""

    def __init__(self, status: ops.StatusBase):
        super().__init__(status.message)
        self.status = status


def _connect(kubeconfig: cluster.Kubeconfig) -> provisioner.Api:
    return cluster.Cluster(kubeconfig)


class StaticPvProvisionerCharm(ops.CharmBase):
    """Keeps a StorageClass and a pool of static NFS PVs in a cluster."""

    # Injected I/O: tests override these by subclassing.
    cluster_factory: Callable[[cluster.Kubeconfig], provisioner.Api] = staticmethod(_connect)
    mounter: nas.Mounter | None = None  # None: the kernel NFS client (nas.KernelNfsMounter)
    # Lambdas on purpose: homelab_core.apt is imported only when a hook calls them.
    nfs_client_present: Callable[[], bool] = staticmethod(
        lambda: packages.nfs_client_present()  # noqa: PLW0108
    )
    install_packages: Callable[[Sequence[str]], None] = staticmethod(
        lambda names: packages.install(names)  # noqa: PLW0108
    )
    clock: Callable[[], float] = staticmethod(time.time)

    _stored = ops.StoredState()

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self._stored.set_default(class_fingerprint="", class_checked_at=0.0)
        self._install_tried = False  # at most one apt run per hook
        self._install_problem = ""
        self.share = nfs_share.NfsShareRequirer(self, "nfs-share")
        on = self.on
        for event in (on.config_changed, on.leader_elected, on.start, on.secret_changed):
            framework.observe(event, self._on_change)
        framework.observe(on["nfs-share"].relation_changed, self._on_change)
        framework.observe(on["nfs-share"].relation_broken, self._on_change)
        framework.observe(on.install, self._on_install)
        framework.observe(on.upgrade_charm, self._on_install)
        framework.observe(on.update_status, self._on_update_status)
        framework.observe(on.remove, self._on_remove)
        framework.observe(on.recycle_action, self._on_recycle_action)
        framework.observe(on.list_volumes_action, self._on_list_volumes_action)
        framework.observe(on.reattach_action, self._on_reattach_action)
        framework.observe(on.storage_pool_commands_action, self._on_storage_pool_commands)

    # Events.

    def _on_install(self, _: ops.EventBase) -> None:
        self._ensure_nfs_client()  # every unit: a later leader needs it too
        self._reconcile(force_class_check=True)

    def _on_change(self, _: ops.EventBase) -> None:
        self._reconcile(force_class_check=True)

    def _on_update_status(self, _: ops.EventBase) -> None:
        self._reconcile(force_class_check=False)

    def _on_remove(self, _: ops.EventBase) -> None:
        if not self.unit.is_leader():
            return
        planned = self.app.planned_units()
        try:
            if planned > 0:  # only this unit goes: the pool stays, the next leader carries on
                kind, message = provisioner.removal(planned, "", self._owner(), None)
            else:
                class_name = self.load_config(config.ClassConfig).storage_class
                api = self.cluster_factory(self._kubeconfig())
                kind, message = provisioner.removal(0, class_name, self._owner(), api)
        except (_StopError, *_stops()) as e:
            kind, message = provisioner.removal_stopped(e)
        self._show(_STATUS[kind](message))

    # The one reconcile, and the one place a status is set.

    def _show(self, status_: ops.StatusBase) -> None:
        self.unit.status = type(status_)(status.capped(status_.message))  # type: ignore[call-arg]

    def _reconcile(self, force_class_check: bool) -> None:
        try:
            self._show(self._evaluate(force_class_check))
        except _StopError as e:
            self._show(e.status)

    def _evaluate(self, force_class_check: bool) -> ops.StatusBase:
        cfg, settings, kubeconfig, verified = self._inputs()
        if not self.unit.is_leader():
            return ops.ActiveStatus(f"standby: the leader unit manages {cfg.storage_class}")
        if not self._ensure_nfs_client():
            return ops.BlockedStatus(provisioner.nfs_client_missing(self._install_problem))
        kind, message = provisioner.evaluate(
            settings,
            lambda: self.cluster_factory(kubeconfig),
            lambda: self._open_export(cfg, settings.target),
            self._guard,
            forced=force_class_check,
            clusters=kubeconfig.data.get("clusters"),
            last_check=(str(self._stored.class_fingerprint), self._stored.class_checked_at),
            clock=self.clock,
            record=self._record_class_check,
            verified=verified,
        )
        return _STATUS[kind](message)

    def _record_class_check(self, fingerprint: str, at: float) -> None:
        self._stored.class_fingerprint = fingerprint
        self._stored.class_checked_at = at

    def _ensure_nfs_client(self) -> bool:
        """Install nfs-common when mount.nfs is missing (once per hook); whether it is there."""
        if self.nfs_client_present():
            return True
        if not self._install_tried:
            self._install_tried = True
            self._show(ops.MaintenanceStatus(f"installing {', '.join(constants.APT_PACKAGES)}"))
            try:
                self.install_packages(constants.APT_PACKAGES)
            except packages.PackageInstallError as e:
                logger.warning("%s", e)
                self._install_problem = str(e)
        return self.nfs_client_present()

    def _guard(self) -> None:
        if not self.unit.is_leader():
            raise provisioner.LeadershipLostError()

    def _owner(self) -> dict[str, str]:
        return manifests.ownership_labels(self.model.name, self.app.name)

    def _open_export(self, cfg: config.CharmConfig, target: pool.Target) -> Any:
        pool_id = marker.PoolId(self.model.name, self.model.uuid, self.app.name, target.class_name)
        return nas.open_export(target, cfg, pool_id, self.mounter or nas.KernelNfsMounter())

    # Inputs: config, relation, credentials (all validated; _StopError with the exact cause).

    def _inputs(self) -> tuple[config.CharmConfig, Any, cluster.Kubeconfig, bool]:
        try:
            cfg = self.load_config(config.CharmConfig)
        except ValueError as e:
            raise _StopError(ops.BlockedStatus(str(e))) from None
        try:
            settings, verified = provisioner.inputs(
                cfg, self.share.get, self.share.relation is not None, self._owner()
            )
        except sources.ShareError as e:
            status = ops.WaitingStatus if e.waiting else ops.BlockedStatus
            raise _StopError(status(str(e))) from None
        return cfg, settings, self._kubeconfig(), verified

    def _kubeconfig(self) -> cluster.Kubeconfig:
        """Credentials: the user secret named by kubeconfig-secret, else the host's file."""
        try:
            creds = self.load_config(config.Credentials)
            return provisioner.kubeconfig(creds, self.app.name, self._secret_content)
        except cluster.CredentialsError as e:
            raise _StopError(ops.BlockedStatus(str(e))) from None

    def _secret_content(self, secret_id: str) -> dict[str, str] | str:
        """The secret's content, or why it cannot be read."""
        try:
            return self.model.get_secret(id=secret_id).get_content(refresh=True)
        except ops.SecretNotFoundError:
            return "not found or not granted"
        except ops.ModelError:
            return "cannot be read: is it granted?"

    # Actions: parameters through load_params; the work in provisioner, the text in actions.

    def _on_list_volumes_action(self, event: ops.ActionEvent) -> None:
        # Only what listing needs: credentials and our labels (works with no share, bad pool).
        try:
            volumes = self.cluster_factory(self._kubeconfig()).list_volumes(self._owner())
        except (_StopError, *_stops()) as e:
            event.fail(str(e))
            return
        event.set_results(actions.volume_results(volumes))

    def _on_recycle_action(self, event: ops.ActionEvent) -> None:
        # A partly failed recycle changed some PVs: the status shows the pool after it.
        self._leader_action(event, config.RecycleParams, provisioner.recycle_results, True)

    def _on_reattach_action(self, event: ops.ActionEvent) -> None:
        self._leader_action(event, config.ReattachParams, provisioner.reattach_action, False)

    def _leader_action(
        self, event: ops.ActionEvent, cls: type[Any], work: Any, partial: bool
    ) -> None:
        """An action that changes the pool: `work` returns (results, failure message or "")."""
        try:
            params = event.load_params(cls)
            if not self.unit.is_leader():
                event.fail("only the leader changes the cluster: run it on the leader unit")
                return
            cfg, settings, kubeconfig, _ = self._inputs()
            api = self.cluster_factory(kubeconfig)
        except (ValueError, _StopError, *_stops()) as e:
            event.fail(str(e))
            return
        opener = lambda: self._open_export(cfg, settings.target)  # noqa: E731
        results, failure = work(params, api, opener, self._guard, settings)
        if results:
            event.set_results(results)
        if failure:
            event.fail(failure)
        if results and (partial or not failure):  # changed: show the pool as it is now
            self._reconcile(force_class_check=False)

    def _on_storage_pool_commands(self, event: ops.ActionEvent) -> None:
        def class_names() -> set[str]:
            return {c.name for c in self.cluster_factory(self._kubeconfig()).list_classes()}

        try:
            params = event.load_params(config.StoragePoolParams)
            class_name = self.load_config(config.ClassConfig).storage_class
            results = actions.storage_pool_results(
                params.model, params.pool_name, class_name, class_names, (_StopError, *_stops())
            )
        except ValueError as e:
            event.fail(str(e))
            return
        event.set_results(results)


_STATUS: dict[str, Callable[[str], ops.StatusBase]] = {
    "active": ops.ActiveStatus,
    "waiting": ops.WaitingStatus,
    "blocked": ops.BlockedStatus,
    "maintenance": ops.MaintenanceStatus,
}


if __name__ == "__main__":  # pragma: nocover
    ops.main(StaticPvProvisionerCharm)
