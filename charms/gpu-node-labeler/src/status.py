"""Every status line the charm shows, from plain data. No `ops`.

Each function returns (state, message) with state "active", "waiting", "blocked" or
"maintenance"; charm.py turns the pair into an ops status in one place.
"""

from __future__ import annotations

import json

import constants as c
import gpu
import labels
from labels import Reconcile
from settings import Settings


def failed_read(det: gpu.Detection) -> bool:
    """The PCI scan cannot be trusted at all: nothing may change on the Node."""
    return bool(det.sysfs_error or (not det.gpus and det.errors))


def labelled(det: gpu.Detection, outcome: Reconcile, cfg: Settings) -> tuple[str, str]:
    """The status after a reconcile that reached the API."""
    state, message = gpu.describe(det, gfd_managed=outcome.gfd_managed, route=cfg.driver_route)
    if state != "active":
        return state, message
    if outcome.taint_blocked:
        return "blocked", outcome.taint_blocked
    if not det.gpus:
        return "active", message
    message += ", labelled"
    if outcome.tainted:
        message += f", tainted {outcome.tainted}"
    if det.errors:
        n = len(det.errors)
        message += (
            f" ({n} unreadable PCI entr{'y' if n == 1 else 'ies'}: "
            "labels only added, none changed or removed)"
        )
    if outcome.foreign:
        keys = ", ".join(sorted(outcome.foreign)[:3]) + (
            ", ..." if len(outcome.foreign) > 3 else ""
        )
        message += f"; left alone, set by someone else with another value: {keys}"
    return "active", message


def api_problem(kind: str, message: str, cfg: Settings) -> tuple[str, str]:
    """The status for a failure loading the kubeconfig or talking to the API.

    A missing kubeconfig file appears later (the kubelet's once the node joins, the worker's
    admin kubeconfig once it is set up): wait, naming the file and the option, whatever words
    the loader used. An unreadable or invalid one needs the user.
    """
    if kind == "missing" and cfg.admin_kubeconfig_path:
        return "waiting", (
            f"waiting for the admin kubeconfig {cfg.admin_kubeconfig_path} "
            "(admin-kubeconfig-path): it appears once the worker is set up"
        )
    if kind == "missing":
        return "waiting", (
            f"waiting for the kubelet's kubeconfig {cfg.kubeconfig_path} (kubeconfig-path): "
            "it appears once the node joins the cluster; on Canonical Kubernetes set "
            f"kubeconfig-path={c.KUBELET_KUBECONFIG_CANONICAL_K8S}"
        )
    if kind == "invalid":  # the loaders' messages name the option (and the path) themselves
        return "blocked", message
    if kind == "not-found":
        return "waiting", f"node {cfg.node_name} not registered yet"
    if kind == "unauthorized":
        return "blocked", message
    if kind == "forbidden":
        return "blocked", (
            f"{message}; the kubelet identity may only read and label its own Node: "
            "check node-name"
        )
    if kind == "conflict":
        return (
            "waiting",
            f"node {cfg.node_name} kept changing ({message}); retrying at next update-status",
        )
    return "waiting", f"{message}; retrying at next update-status"


def detect_results(
    det: gpu.Detection, cfg: Settings, plan: Reconcile | None, api_error: str
) -> dict[str, str]:
    """The `detect` action's results: a dry run (`plan` None when the API did not answer)."""
    results = {"node": cfg.node_name}
    if plan is None:
        wanted = labels.compute(
            det, cfg.label_prefix, gfd_labels=cfg.gfd_labels, legacy_labels=cfg.legacy_labels
        )
        results["summary"] = gpu.describe(det, route=cfg.driver_route)[1]
        results["api-error"] = api_error
    else:
        wanted = plan.wanted
        results["summary"] = gpu.describe(
            det, gfd_managed=plan.gfd_managed, route=cfg.driver_route
        )[1]
        changes = {} if failed_read(det) else plan.patch
        results["changes"] = json.dumps(changes, sort_keys=True)
        results["gfd-managed"] = "true" if plan.gfd_managed else "false"
    results["labels"] = json.dumps(wanted, sort_keys=True)
    results["detection"] = json.dumps(det.to_dict(), sort_keys=True)
    return results
