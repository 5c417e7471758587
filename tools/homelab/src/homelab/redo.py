"""Redo after a cluster rebuild: compare the Kubernetes cloud Juju has with the running cluster.

`juju show-cloud NAME --controller C --format json` gives `endpoint` and `ca-credentials` (PEM
list; juju/juju cmd/juju/cloud/show.go CloudDetails); the cluster's side is the kubeconfig just
fetched from it (current context's cluster: `server`, `certificate-authority-data`).
When they differ:
- no model uses the cloud: deploy removes it (`juju remove-k8s NAME --controller C`, which Juju
  refuses while a model uses it) and runs the plan's `add-k8s` again, so endpoint, CA and
  credential all come from the new cluster (same commands in Juju 3.6 and 4.0);
- models still use it: deploy stops and prints exactly what to run. `juju update-k8s -f` would
  replace the whole cloud definition, and updates no credential of a cloud added with add-k8s
  (juju/juju cmd/juju/caas/update.go updates credentials only for built-in clouds).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from homelab.jujuver import juju_json
from homelab.plan import Step

SAME, ABSENT, CHANGED, UNKNOWN = "same", "absent", "changed", "unknown"


def _pem(text: str) -> str:
    return "\n".join(line.strip() for line in str(text).strip().splitlines() if line.strip())


def cluster_of(kubeconfig: Path) -> tuple[str, str] | None:
    """(server, CA PEM) of the kubeconfig's current context, or None when unreadable."""
    try:
        data = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    contexts = {
        c.get("name"): c.get("context") or {}
        for c in data.get("contexts") or []
        if isinstance(c, dict)
    }
    clusters = {
        c.get("name"): c.get("cluster") or {}
        for c in data.get("clusters") or []
        if isinstance(c, dict)
    }
    ctx = contexts.get(data.get("current-context")) or (next(iter(contexts.values()), {}))
    cluster = clusters.get(ctx.get("cluster")) if isinstance(ctx, dict) else None
    if cluster is None and len(clusters) == 1:
        cluster = next(iter(clusters.values()))
    if not isinstance(cluster, dict) or not cluster.get("server"):
        return None
    ca = ""
    if cluster.get("certificate-authority-data"):
        try:
            ca = base64.b64decode(str(cluster["certificate-authority-data"])).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
    return str(cluster["server"]), _pem(ca)


def juju_cloud(runner: Callable[..., Any], ctrl: str, name: str) -> tuple[str, list[str]] | None:
    """(endpoint, CA PEMs) of the controller's cloud `name`, or None when it has none."""
    data = juju_json(
        runner, ["juju", "show-cloud", name, "--controller", ctrl, "--format", "json"]
    )
    if isinstance(data, dict) and "endpoint" not in data and isinstance(data.get(name), dict):
        data = data[name]
    if not isinstance(data, dict):
        return None
    cas = data.get("ca-credentials") or []
    return str(data.get("endpoint", "")), [_pem(c) for c in cas if isinstance(c, str)]


def models_on(runner: Callable[..., Any], ctrl: str, cloud: str) -> list[str]:
    """The models of the controller on `cloud`."""
    data = juju_json(runner, ["juju", "models", "--controller", ctrl, "--format", "json"])
    models = data.get("models", []) if isinstance(data, dict) else []
    return [
        str(m.get("short-name") or str(m.get("name", "")).split("/")[-1])
        for m in models
        if isinstance(m, dict) and m.get("cloud") == cloud
    ]


def compare(step: Step, runner: Callable[..., Any]) -> tuple[str, str]:
    """(state, words) for an add-k8s step: is the controller's cloud the running cluster?"""
    _, ctrl, name = step.done
    have = juju_cloud(runner, ctrl, name)
    if have is None:
        return ABSENT, ""
    kubeconfig = step.env.get("KUBECONFIG")
    cluster = cluster_of(Path(kubeconfig)) if kubeconfig else None
    if cluster is None:
        return UNKNOWN, f"cloud {name} exists; the cluster's kubeconfig could not be read"
    server, ca = cluster
    endpoint, cas = have
    if endpoint.rstrip("/") == server.rstrip("/") and (not ca or ca in cas):
        return SAME, f"cloud {name}: same endpoint {server} and CA as the running cluster"
    what = []
    if endpoint.rstrip("/") != server.rstrip("/"):
        what.append(f"endpoint {endpoint or '(none)'} -> {server}")
    if ca and ca not in cas:
        what.append("a different CA certificate")
    return CHANGED, f"cloud {name} points at another cluster: " + ", ".join(what)


def replace_steps(step: Step, runner: Callable[..., Any]) -> tuple[list[Step], str]:
    """The steps that bring a changed cloud up to date, or ([], what the user must run)."""
    _, ctrl, name = step.done
    users = models_on(runner, ctrl, name)
    if users:
        listed = ", ".join(users)
        return [], (
            f"models {listed} still use cloud {name} (the old cluster); Juju refuses to remove a "
            "cloud in use. Either remove them first (`homelab teardown --site SITE` keeps the "
            "NAS data by default, or `juju destroy-model "
            + " ".join(f"{ctrl}:{m}" for m in users)
            + "`) and run deploy again, or keep them and write the new endpoint and CA into a "
            f"cloud file for `juju update-k8s {name} -f FILE --controller {ctrl}` and the "
            f"new credential for `juju update-credential {name} -f CREDFILE --controller {ctrl}`"
        )
    remove = Step(
        f"remove the stale cloud {name} (no model uses it)",
        ["juju", "remove-k8s", name, "--controller", ctrl],
    )
    again = Step(step.title + " (again, from the new cluster)", step.argv, (), dict(step.env))
    return [remove, again], ""


def handle(step: Step, n: int, runner: Callable[..., Any], out: Any, err: Any):
    """What deploy does with an add-k8s step.

    False: run it (no such cloud); []: skip (same cluster, or unknown); [steps]: run these
    instead; None: stop (the user must act).
    """
    state, words = compare(step, runner)
    if state in (SAME, UNKNOWN):
        out.write(f"{n:>2}. skip ({step.title}: already there; {words})\n")
        return []
    if state == ABSENT:
        return False
    more, must = replace_steps(step, runner)
    out.write(f"{n:>2}. {words}\n")
    if not more:
        err.write(f"error: step {n}: {must}\n")
        err.write("nothing after it was run\n")
        return None
    return more
