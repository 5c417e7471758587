#!/usr/bin/env python3
"""remote-nfs-mount: an NFS export on an unmanaged NAS, usable by every Kubernetes node.

Wiring only. Every event runs one reconcile: load the typed config, make sure nfs-common is
installed, run the pre-flight against the NAS, publish the relation data only for an export
this unit (and, for the share, every unit) verified, and withdraw it otherwise. The status is
collected in one place (`collect-unit-status`) from what the reconcile found.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import ops
from charms.remote_nfs_mount.v0.nfs_share import NfsShare, NfsShareProvider
from homelab_core import apt

import preflight
from constants import (
    CHANGE_EVENTS,
    MOUNT_ENDPOINT,
    PEER_ENDPOINT,
    PRINCIPAL_ENDPOINT,
    RELATION_CHANGE_EVENTS,
    SHARE_ENDPOINT,
)
from mount_data import MOUNT_KEYS, all_verified, mount_unit_data, verified_as
from nas_config import InvalidConfigError, NasConfig

logger = logging.getLogger(__name__)


class RemoteNfsMountCharm(ops.CharmBase):
    """Subordinate charm publishing one NAS export to kubernetes-worker and our provisioner."""

    # Injected I/O: unit tests subclass the charm and replace these.
    network: preflight.Network = preflight.SystemNetwork()
    nfs_client_present: Callable[[], bool] = staticmethod(apt.nfs_client_present)
    install_nfs_common: Callable[[], None] = staticmethod(apt.install_nfs_common)

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.share = NfsShareProvider(self, SHARE_ENDPOINT)
        self._status: ops.StatusBase | None = None
        on = self.on
        for name in CHANGE_EVENTS:
            framework.observe(getattr(on, name), self._on_change)
        for endpoint, name in RELATION_CHANGE_EVENTS:
            framework.observe(getattr(on[endpoint], name), self._on_change)
        framework.observe(on.collect_unit_status, self._on_collect_status)
        framework.observe(on.check_action, self._on_check_action)
        framework.observe(on.show_exports_action, self._on_show_exports_action)

    def _on_change(self, _: ops.EventBase) -> None:
        self._status = self._reconcile()

    def _on_collect_status(self, event: ops.CollectStatusEvent) -> None:
        if self._status is not None:
            event.add_status(self._status)

    def _reconcile(self) -> ops.StatusBase:
        try:
            config = self.load_config(NasConfig)
        except InvalidConfigError as e:
            logger.warning("invalid config: %s", e)
            self._publish(None)
            return ops.BlockedStatus(f"invalid config: {e.summary}")

        package_problem = self._ensure_nfs_common(config)
        result = preflight.run(config, self._address, self.network)
        for step in result.steps:
            logger.info("pre-flight %s: %s (%.3fs)", step.name, step.detail, step.seconds)
        verified = result.verified and not package_problem
        shared = self._publish(config if verified else None)

        if package_problem:
            return ops.BlockedStatus(package_problem)
        if not verified:
            return ops.BlockedStatus(f"{result.message} (nothing published)")
        if self.unit.is_leader() and self.model.relations[SHARE_ENDPOINT] and not shared:
            return ops.WaitingStatus(
                f"{result.message}; the share waits until every unit has verified it"
            )
        return ops.ActiveStatus(result.message)

    def _ensure_nfs_common(self, config: NasConfig) -> str | None:
        """Install nfs-common when missing; returns the problem to show, if any."""
        if self.nfs_client_present():
            return None
        if not config.install_nfs_common:
            return (
                "nfs-common is missing and install-nfs-common=false: "
                "this node cannot mount NFS volumes"
            )
        self.unit.status = ops.MaintenanceStatus("installing nfs-common")
        try:
            self.install_nfs_common()
        except apt.PackageInstallError as e:
            logger.error("%s", e)
            return f"{e}: NFS volumes cannot mount on this node"
        return None

    # --- relation data ----------------------------------------------------------------------

    def _publish(self, config: NasConfig | None) -> bool:
        """Publish what `config` (verified on this unit) gives, or withdraw it all (None).

        Returns whether the share is published (leader; every unit verified this export).
        """
        mount = mount_unit_data(config) if config else {}
        for relation in self.model.relations[MOUNT_ENDPOINT]:
            databag = relation.data[self.unit]
            if {key: databag[key] for key in MOUNT_KEYS if key in databag} != mount:
                for key in MOUNT_KEYS:
                    databag.pop(key, None)
                databag.update(mount)
        peers = self.model.get_relation(PEER_ENDPOINT)
        if peers is not None:
            peers.data[self.unit].update(
                {"verified": verified_as(config), "address": self._address or ""}
            )
        if not self.unit.is_leader():
            return False
        if config is None or not all_verified(self._peer_values("verified"), config):
            self.share.withdraw()
            return False
        self.share.publish(
            NfsShare(
                server=config.host,
                export=config.export,
                nfs_version=config.nfs_version,
                mount_options=config.options,
                verified=True,
            )
        )
        return True

    def _peer_values(self, key: str) -> list[str | None]:
        """`key` as published by every unit, this one included (this one first)."""
        relation = self.model.get_relation(PEER_ENDPOINT)
        if relation is None:
            return []
        units = [self.unit, *sorted(relation.units, key=lambda unit: unit.name)]
        return [relation.data[unit].get(key) for unit in units]

    @property
    def _address(self) -> str | None:
        """This node's address as the NAS sees it (the principal's ingress address)."""
        try:
            binding = self.model.get_binding(PRINCIPAL_ENDPOINT)
            address = binding.network.ingress_address if binding else None
        except (ops.ModelError, ops.RelationNotFoundError):
            return None
        return str(address) if address else None

    # --- actions ----------------------------------------------------------------------------

    def _action_config(self, event: ops.ActionEvent) -> NasConfig | None:
        try:
            return self.load_config(NasConfig)
        except InvalidConfigError as e:
            event.fail(f"invalid config: {e}")
            return None

    def _on_check_action(self, event: ops.ActionEvent) -> None:
        config = self._action_config(event)
        if config is None:
            return
        result = preflight.run(config, self._address, self.network)
        clients = {a for a in self._peer_values("address") if a} | {self._address or ""}
        event.set_results(
            {
                "verdict": result.verdict,
                "message": result.message,
                "steps": json.dumps([step.as_dict() for step in result.steps]),
                "clients": ",".join(sorted(c for c in clients if c)),
            }
        )

    def _on_show_exports_action(self, event: ops.ActionEvent) -> None:
        config = self._action_config(event)
        if config is None:
            return
        try:
            exports = self.network.list_exports(config.host, float(config.timeout))
        except preflight.NetworkError as e:
            event.fail(f"{config.host}: {e}")
            return
        event.set_results(
            {"server": config.host, "exports": "\n".join(str(e) for e in exports) or "(none)"}
        )


if __name__ == "__main__":  # pragma: nocover
    ops.main(RemoteNfsMountCharm)
