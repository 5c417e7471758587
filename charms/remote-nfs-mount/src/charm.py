#!/usr/bin/env python3
"""remote-nfs-mount: an NFS export on an unmanaged NAS, usable by every Kubernetes node.

Every event runs one reconcile: validate config, publish (or withdraw) relation data, make sure
nfs-common is installed, run the pre-flight against the NAS, and set the status from the result.
"""

from __future__ import annotations

import json
import logging

import ops
from charms.remote_nfs_mount.v0.nfs_share import NfsShare, NfsShareProvider

import packages
import preflight
from constants import MOUNT_ENDPOINT, PEER_ENDPOINT, PRINCIPAL_ENDPOINT, SHARE_ENDPOINT
from mount_data import MOUNT_KEYS, all_verified, mount_unit_data
from nas_config import InvalidConfigError, NasConfig, parse_config

logger = logging.getLogger(__name__)


class Packages:
    """How the charm checks and installs nfs-common (tests replace it by subclassing)."""

    installed = staticmethod(packages.nfs_common_installed)
    install = staticmethod(packages.install_nfs_common)


class RemoteNfsMountCharm(ops.CharmBase):
    """Subordinate charm publishing one NAS export to kubernetes-worker and our provisioner."""

    # Injected I/O: unit tests subclass the charm and replace these.
    network: preflight.Network = preflight.SystemNetwork()
    packages: type[Packages] = Packages

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.share = NfsShareProvider(self, SHARE_ENDPOINT)
        on = self.on
        for event in (
            on.install,
            on.upgrade_charm,
            on.config_changed,
            on.start,
            on.update_status,
            on.leader_elected,
            on[MOUNT_ENDPOINT].relation_joined,
            on[SHARE_ENDPOINT].relation_joined,
            on[PEER_ENDPOINT].relation_changed,
            on[PEER_ENDPOINT].relation_departed,
        ):
            framework.observe(event, self._on_change)
        framework.observe(on.check_action, self._on_check_action)
        framework.observe(on.show_exports_action, self._on_show_exports_action)

    def _on_change(self, _: ops.EventBase) -> None:
        self._reconcile()

    def _reconcile(self) -> None:
        try:
            config = parse_config(self.config)
        except InvalidConfigError as e:
            logger.warning("invalid config: %s", e)
            self._withdraw()
            self._publish_peer(verified=False)
            self.unit.status = ops.BlockedStatus(f"invalid config: {e.summary}")
            return

        self._publish_mount(config)
        package_problem = self._ensure_nfs_common(config)
        result = preflight.run(config, self._address, self.network)
        for step in result.steps:
            logger.info("pre-flight %s: %s (%.3fs)", step.name, step.detail, step.seconds)
        self._publish_peer(verified=result.verified and not package_problem)
        self._publish_share(config)

        if package_problem:
            self.unit.status = ops.BlockedStatus(package_problem)
        elif result.verdict == "ready":
            self.unit.status = ops.ActiveStatus(result.message)
        else:
            self.unit.status = ops.BlockedStatus(result.message)

    # --- nfs-common -------------------------------------------------------------------------

    def _ensure_nfs_common(self, config: NasConfig) -> str | None:
        """Install nfs-common when missing; returns the problem to show, if any."""
        if self.packages.installed():
            return None
        if not config.install_nfs_common:
            return (
                "nfs-common is missing and install-nfs-common=false: "
                "this node cannot mount NFS volumes"
            )
        self.unit.status = ops.MaintenanceStatus("installing nfs-common")
        try:
            self.packages.install()
        except packages.PackageInstallError as e:
            logger.error("%s", e)
            return f"{e}: NFS volumes cannot mount on this node"
        return None

    # --- relation data ----------------------------------------------------------------------

    def _publish_mount(self, config: NasConfig) -> None:
        """Write the complete `mount` entry in this unit's databag on every `nfs` relation."""
        wanted = mount_unit_data(config)
        for relation in self.model.relations[MOUNT_ENDPOINT]:
            databag = relation.data[self.unit]
            current = {key: databag.get(key) for key in MOUNT_KEYS if key in databag}
            if current != wanted:
                for key in MOUNT_KEYS:
                    databag.pop(key, None)
                databag.update(wanted)

    def _publish_share(self, config: NasConfig) -> None:
        """Leader: the share, with `verified` true only when every unit verified the export."""
        if not self.unit.is_leader():
            return
        self.share.publish(
            NfsShare(
                server=config.host,
                export=config.export,
                nfs_version=config.nfs_version,
                mount_options=config.mount_options,
                verified=all_verified(self._peer_values("verified")),
            )
        )

    def _withdraw(self) -> None:
        """Remove everything this charm published: never leave a stale or partial entry."""
        for relation in self.model.relations[MOUNT_ENDPOINT]:
            for key in MOUNT_KEYS:
                relation.data[self.unit].pop(key, None)
        self.share.withdraw()

    def _publish_peer(self, verified: bool) -> None:
        relation = self.model.get_relation(PEER_ENDPOINT)
        if relation is None:
            return
        relation.data[self.unit].update(
            {"verified": "true" if verified else "false", "address": self._address or ""}
        )

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

    def _on_check_action(self, event: ops.ActionEvent) -> None:
        try:
            config = parse_config(self.config)
        except InvalidConfigError as e:
            event.fail(f"invalid config: {e}")
            return
        result = preflight.run(config, self._address, self.network)
        clients = sorted({a for a in self._peer_values("address") if a} | {self._address or ""})
        event.set_results(
            {
                "verdict": result.verdict,
                "message": result.message,
                "steps": json.dumps([step.as_dict() for step in result.steps]),
                "clients": ",".join(c for c in clients if c),
            }
        )

    def _on_show_exports_action(self, event: ops.ActionEvent) -> None:
        try:
            config = parse_config(self.config)
        except InvalidConfigError as e:
            event.fail(f"invalid config: {e}")
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
