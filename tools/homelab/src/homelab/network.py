"""Spaces and bindings: the endpoints that carry the lab's traffic, and the machines' spaces.

A bound endpoint needs the space on every machine of its application (binding_problems).

Traffic-carrying endpoints (the charms' metadata in ../shared/reference: kubernetes-worker main
charmcraft.yaml, kubernetes-control-plane main charmcraft.yaml; facts §2):
- `kube-control`: the worker's address on this relation is what it gives the control plane (the
  kubelet's node address, so kubelet and API-server-to-kubelet traffic use that network).
- `cni` (container scope, to calico): the principal's address calico is handed for pod traffic.
Bound on the worker and control-plane applications only: calico, containerd and remote-nfs-mount
are subordinates on every machine, and binding them needs the space on all of them.
remote-nfs-mount's endpoints (`nfs`, `nfs-share`, `juju-info`) carry no data: the kernel's NFS
mount goes wherever the host's routing sends the NAS address, so they are not bound.
What calico itself does with the address: not verified here (no controller, no cluster).
"""

from __future__ import annotations

import re
from typing import Any

from homelab.merge import Merged
from homelab.problems import Problem

TRAFFIC_ENDPOINTS = {
    "kubernetes-worker": ("kube-control", "cni"),
    "kubernetes-control-plane": ("kube-control", "cni"),
}


def _spaces(constraints: str) -> set[str]:
    match = re.search(r"(?:^|\s)spaces=(\S+)", constraints or "")
    if not match:
        return set()
    return {s for s in match.group(1).split(",") if s and not s.startswith("^")}


def _machines_of(app: str, body: dict, merged: Merged) -> list[tuple[str, set[str]]]:
    """(machine label, its spaces) for each machine the application's units land on."""
    machines = merged.machines or {}
    to = body.get("to") or []
    found = []
    for where in to or ["new"]:
        target = str(where).split(":", 1)[-1]
        if target in machines:
            spec = machines[target] or {}
            found.append((f"machine {target}", _spaces(str(spec.get("constraints", "")))))
        else:
            found.append((f"{app}'s own machine", _spaces(str(body.get("constraints", "")))))
    return found


def binding_problems(merged: Merged, path: str = "") -> list[Problem]:
    """An error for each bound endpoint whose space a machine of its application lacks."""
    problems = []
    for app, body in merged.apps.items():
        if not isinstance(body, dict):
            continue
        bindings: Any = body.get("bindings") or {}
        if not isinstance(bindings, dict):
            continue
        for endpoint, space in bindings.items():
            if not space:
                continue
            for label, spaces in _machines_of(app, body, merged):
                if space not in spaces:
                    problems.append(
                        Problem(
                            path,
                            f"applications.{app}.bindings.{endpoint or '(default)'}",
                            f"bound to space {space}, but {label} of {app} is not constrained to "
                            f"it (spaces={space}): a machine without a NIC in {space} cannot "
                            "host it",
                        )
                    )
    return problems
