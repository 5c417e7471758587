#!/usr/bin/env python3
"""gpu-node-labeler: label (and optionally taint) the Kubernetes Node of a GPU machine.

Thin wiring: observe events, one `_reconcile` path, the status set in one place (`_show`).
Detection is in `gpu`, labels and ownership rules in `labels`, the typed configuration in
`settings` (loaded with ops' `load_config`), every status line in `status`, the API in
`node_api`. I/O is injected through class attributes that tests override by subclassing.
"""

from __future__ import annotations

import json
import logging
import socket
from typing import Any, ClassVar

import ops
from homelab_core import secrets

import constants as c
import gpu
import labels
import settings
import status
from node_api import NodeApiError

logger = logging.getLogger(__name__)


class GpuNodeLabelerCharm(ops.CharmBase):
    """Subordinate of kubernetes-worker (or k8s-worker): GPU labels on its own Node."""

    _stored = ops.StoredState()
    _pending = ops.StoredState()

    # Injected I/O: tests subclass the charm and replace these.
    sysfs_root: ClassVar[str] = "/"
    run_command = staticmethod(gpu.run_command)
    hostname = staticmethod(socket.gethostname)

    @staticmethod
    def api_from_file(path: str, option: str) -> Any:
        """A NodeApi for the kubeconfig file named by `option` (lightkube imported lazily)."""
        from node_api import connect_file

        return connect_file(path, option=option)

    @staticmethod
    def api_from_text(text: str, what: str) -> Any:
        """A NodeApi for kubeconfig text from a Juju secret."""
        from node_api import connect_text

        return connect_text(text, what)

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        # Label keys (and the taint effect) this unit set on `node`: kept in the unit's local
        # state so that only they are ever removed; survives hooks and charm upgrades.
        self._stored.set_default(owned_labels=[], owned_taint="", node="")
        # What a PATCH in flight was setting (labels, taint effect, node): when its answer is
        # lost (timeout, dropped connection) the API may still have applied it, so whatever is
        # found there with exactly these values is ours on the next hook, and gets removed with
        # the rest; otherwise it would be taken for someone else's label and left behind.
        self._pending.set_default(labels={}, taint="", node="")
        on = self.on
        for event in (
            on.install,
            on.start,
            on.upgrade_charm,
            on.config_changed,
            on.update_status,
            on.secret_changed,
            on["juju-info"].relation_joined,
        ):
            framework.observe(event, self._on_change)
        framework.observe(on.stop, self._on_leaving)
        framework.observe(on.remove, self._on_leaving)
        framework.observe(on.detect_action, self._on_detect_action)

    # --- event handlers ---

    def _on_change(self, _: ops.EventBase) -> None:
        """Anything that can change the labels: the one reconcile path."""
        self._reconcile()

    def _on_leaving(self, _: ops.EventBase) -> None:
        """stop/remove: take this unit's labels and taint off its Node."""
        self._cleanup()

    def _on_detect_action(self, event: ops.ActionEvent) -> None:
        try:
            cfg = self._config()
        except ValueError as e:
            event.fail(str(e))
            return
        det = self._detect(cfg)
        try:
            node = self._api(cfg).get(cfg.node_name)
        except (NodeApiError, _SecretError) as e:
            event.set_results(status.detect_results(det, cfg, None, str(e)))
            return
        plan = labels.reconcile(node, det, cfg, self._owned(cfg.node_name))
        event.set_results(status.detect_results(det, cfg, plan, ""))

    # --- the one reconcile path ---

    def _reconcile(self) -> None:
        self._show(*self._sync())

    def _show(self, state: str, message: str) -> None:
        """The one place that sets the unit's status."""
        self.unit.status = _STATUS[state](message)

    def _config(self) -> settings.Settings:
        """The typed configuration (ops' load_config); ValueError names the bad option."""
        return self.load_config(settings.Settings, hostname=self.hostname())

    def _sync(self) -> tuple[str, str]:
        try:
            cfg = self._config()
        except ValueError as e:
            return "blocked", str(e)
        det = self._detect(cfg)
        if status.failed_read(det):  # a failed read never changes labels
            return "blocked", gpu.describe(det, route=cfg.driver_route)[1]
        try:
            outcome = self._apply(self._api(cfg), cfg, det, cfg.node_name)
        except _SecretError as e:
            return "blocked", str(e)
        except NodeApiError as e:
            return status.api_problem(e.kind, e.message, cfg)
        return status.labelled(det, outcome, cfg)

    def _apply(
        self, api: Any, cfg: settings.Settings, det: gpu.Detection | None, name: str
    ) -> labels.Reconcile:
        """1 GET and at most 1 PATCH (a second round only after a 409 on the taint list).

        `det=None` removes everything this unit owns (cleanup). What a PATCH sets is recorded
        before it is sent, so that a lost answer does not lose track of it.
        """
        for attempt in range(2):
            node = api.get(name)
            plan = labels.reconcile(node, det, cfg, self._owned(name))
            if plan.changes:
                logger.info(
                    "patching node %s: labels %s%s",
                    name,
                    json.dumps(plan.patch, sort_keys=True),
                    f", taints {json.dumps(plan.taints)}" if plan.taints is not None else "",
                )
                self._pending.labels = {k: v for k, v in plan.patch.items() if v}
                self._pending.taint = plan.owned_taint if plan.taints is not None else ""
                self._pending.node = name
                try:
                    api.patch(name, plan.patch, plan.taints, node.resource_version)
                except NodeApiError as e:
                    if e.kind == "conflict" and attempt == 0:
                        continue
                    raise
            self._stored.owned_labels = sorted(plan.owned)
            self._stored.owned_taint = plan.owned_taint
            self._stored.node = name
            self._pending.labels, self._pending.taint, self._pending.node = {}, "", ""
            return plan
        raise NodeApiError("conflict", f"node {name} kept changing", 409)  # pragma: no cover

    def _cleanup(self) -> None:
        """Remove this unit's labels and taint from its Node (stop/remove). Never raises."""
        name = self._stored.node or self._pending.node
        pending = self._pending.labels or self._pending.taint
        if not name or not (self._stored.owned_labels or self._stored.owned_taint or pending):
            return
        self._show("maintenance", f"removing GPU labels from node {name}")
        try:
            cfg = self._config()
            plan = self._apply(self._api(cfg), cfg, None, name)
        except Exception as e:  # stop/remove never fail: a hook error would wedge the removal
            logger.warning("could not remove GPU labels from node %s: %s", name, e)
            return
        logger.info("removed labels %s from node %s", sorted(plan.patch), name)
        if plan.taint_blocked:
            logger.warning(
                "taint %s=%s:%s left on node %s: removing it needs an admin identity",
                c.TAINT_KEY,
                c.TAINT_VALUE,
                plan.owned_taint,
                name,
            )
        self._stored.owned_labels = []
        self._stored.owned_taint = ""

    # --- helpers ---

    def _owned(self, name: str) -> labels.Owned:
        """What this unit set on Node `name` (nothing if its state is about another Node)."""
        if self._stored.node and self._stored.node != name:
            old = self._stored.node
            logger.warning("node-name changed from %s to %s: labels on %s left", old, name, old)
        return labels.Owned.for_node(
            name,
            (self._stored.node, self._stored.owned_labels, self._stored.owned_taint),
            (self._pending.node, dict(self._pending.labels), self._pending.taint),
        )

    def _detect(self, cfg: settings.Settings) -> gpu.Detection:
        det = gpu.detect(self.sysfs_root, self.run_command, cfg.nvidia_smi_timeout)
        for problem in det.errors + det.warnings:
            logger.warning("detection: %s", problem)
        if det.smi.error:
            logger.warning("detection: %s", det.smi.error)
        return det

    def _api(self, cfg: settings.Settings) -> Any:
        """The API client: the admin identity when configured, else the kubelet's."""
        if cfg.admin_kubeconfig_secret:
            return self.api_from_text(
                self._admin_secret(cfg), f"admin-kubeconfig-secret {cfg.admin_kubeconfig_secret}"
            )
        if cfg.admin_kubeconfig_path:
            return self.api_from_file(cfg.admin_kubeconfig_path, "admin-kubeconfig-path")
        return self.api_from_file(cfg.kubeconfig_path, "kubeconfig-path")

    def _admin_secret(self, cfg: settings.Settings) -> str:
        secret_id, option = cfg.admin_kubeconfig_secret, "admin-kubeconfig-secret"
        try:
            content = self.model.get_secret(id=secret_id).get_content(refresh=True)
            return secrets.kubeconfig_text(content, option, secret_id)
        except (ops.SecretNotFoundError, ops.ModelError):
            raise _SecretError(secrets.not_granted(option, secret_id, self.app.name)) from None
        except secrets.SecretError as e:
            raise _SecretError(str(e)) from None


_STATUS = {
    "active": ops.ActiveStatus,
    "waiting": ops.WaitingStatus,
    "blocked": ops.BlockedStatus,
    "maintenance": ops.MaintenanceStatus,
}


class _SecretError(Exception):
    """The admin kubeconfig secret cannot be used; the message is safe for the status."""


if __name__ == "__main__":  # pragma: nocover
    ops.main(GpuNodeLabelerCharm)
