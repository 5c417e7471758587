"""Shared parts of the integration suites: charm files, juju commands, NFS server, cluster.

Everything here drives Juju through `juju`, the suite's `Backend` (backend.py): pytest-operator
and python-libjuju on Juju 3.6, Jubilant on Juju 4 (conftest.py picks one), so the same helpers
and test bodies serve both. Commands that run on a unit (`juju exec`) are built from constants
and validated addresses only, each word quoted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import shlex
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from integration.backend import Backend

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
CHARMS_DIR = ROOT / "charms"
BUILD_DIR = ROOT / "build" / "charms"  # where `tox -e build` puts the packed charms

# The charms of this repository, by name.
REMOTE_NFS_MOUNT = "remote-nfs-mount"
STATIC_PV_PROVISIONER = "static-pv-provisioner"
GPU_NODE_LABELER = "gpu-node-labeler"

# The NFS server every suite puts into its model (an `ubuntu` unit with nfs-kernel-server).
NFS_SERVER_APP = "nfs-server"
EXPORT = "/srv/k8s"  # the export the lab uses
RESTRICTED_EXPORT = "/srv/restricted"  # exported to a TEST-NET address only
NOBODY = "192.0.2.10"  # RFC 5737 TEST-NET-1: never a real client
RW_OPTIONS = "rw,sync,no_subtree_check,no_root_squash"
RO_OPTIONS = "ro,sync,no_subtree_check"

# A small image that Charmed Kubernetes' own tests pull (Canonical's registry, no rate limit).
TEST_IMAGE = os.environ.get("HOMELAB_TEST_IMAGE", "rocks.canonical.com/cdk/busybox:1.36")


def env(name: str, default: str) -> str:
    """An integration setting from the environment (HOMELAB_*), stripped."""
    return os.environ.get(name, default).strip()


# ------------------------------------------------------------------------------ charm files


_built: dict[tuple[str, str], Path] = {}


def charm_env_var(name: str) -> str:
    """HOMELAB_CHARM_<NAME>: the environment variable naming a pre-built charm file."""
    return "HOMELAB_CHARM_" + name.upper().replace("-", "_")


def _pick(candidates: Iterable[Path], name: str, base: str) -> Path | None:
    """The .charm among candidates built for `base` (e.g. ubuntu@22.04), or None."""
    for path in sorted(candidates):
        if path.name.startswith(f"{name}_") and f"{base}-" in path.name:
            return path
    return None


def prebuilt_charm(name: str, base: str) -> Path | None:
    """A pre-built charm for `base`, from the environment or `tox -e build`, if there is one.

    Looked for, in order: HOMELAB_CHARM_<NAME> (a .charm file, or a directory holding
    `<name>_<base>-amd64.charm`), HOMELAB_CHARMS_DIR (a directory of them, e.g. a CI artifact),
    build/charms/ (`tox -e build`), and charms/<name>/ (a plain `charmcraft pack`).
    """
    given = os.environ.get(charm_env_var(name), "").strip()
    if given:
        path = Path(given).expanduser()
        if path.is_file():
            return path
        if path.is_dir() and (found := _pick(path.glob("*.charm"), name, base)):
            return found
        raise FileNotFoundError(
            f"{charm_env_var(name)}={given}: not a .charm file, nor a directory holding "
            f"{name}_{base}-amd64.charm"
        )
    folders = [Path(d).expanduser() for d in [os.environ.get("HOMELAB_CHARMS_DIR", "")] if d]
    folders += [BUILD_DIR, CHARMS_DIR / name]
    for folder in folders:
        if folder.is_dir() and (found := _pick(folder.glob("*.charm"), name, base)):
            return found
    return None


async def charm_file(juju: Backend, name: str, base: str) -> Path:
    """The charm file of one of our charms for `base` (ubuntu@22.04 / ubuntu@24.04).

    Pre-built when given (see prebuilt_charm); otherwise packed once per session with
    `charmcraft pack` through the backend's build_charm (both platforms are packed; the one for
    `base` is used).
    """
    if (name, base) in _built:
        return _built[(name, base)]
    found = prebuilt_charm(name, base)
    if found is None:
        log.info("packing %s with charmcraft (set %s to skip this)", name, charm_env_var(name))
        for built in await juju.build_charm(CHARMS_DIR / name):
            for platform_base in ("ubuntu@22.04", "ubuntu@24.04"):
                if _pick([built], name, platform_base):
                    _built[(name, platform_base)] = built
        found = _built.get((name, base))
        if found is None:
            raise FileNotFoundError(f"charmcraft packed no {name} charm for {base}")
    log.info("%s for %s: %s", name, base, found)
    _built[(name, base)] = found
    return found


# --------------------------------------------------------------------------- juju commands


async def juju_cli(juju: Backend, *args: str) -> str:
    """Run one juju command in the test model; fail the test when it fails; return stdout."""
    _, stdout, _ = await juju.cli(*args)
    return stdout


def shell_words(*commands: list[str]) -> str:
    """Argument lists as one command line for `juju exec`, every word quoted, joined by &&."""
    return " && ".join(shlex.join(command) for command in commands)


async def exec_on(juju: Backend, unit_name: str, command: str, timeout: float = 600) -> str:
    """Run a command on a unit (`juju exec`, as root); fail the test when it fails."""
    return await juju.exec(unit_name, command, timeout=timeout)


async def run_action(juju: Backend, unit_name: str, action: str, **params: Any) -> dict:
    """Run an action, wait for it, and return its results; fail when it did not complete."""
    return (await juju.run_action(unit_name, action, params)).results


async def show_unit(juju: Backend, unit_name: str) -> dict:
    """`juju show-unit --format json` of one unit."""
    return await juju.show_unit(unit_name)


def relation_info(unit_info: dict, endpoint: str) -> list[dict]:
    """The relation-info entries of a unit (from show_unit) for one of its endpoints."""
    return [r for r in unit_info.get("relation-info", []) if r.get("endpoint") == endpoint]


async def unit_on(juju: Backend, subordinate_app: str, principal_unit: str) -> str:
    """The name of the unit of a subordinate app that sits next to a principal unit."""
    return await juju.unit_on(subordinate_app, principal_unit)


async def leader_of(juju: Backend, app: str) -> str:
    """The leader unit of an application."""
    return await juju.leader(app)


async def wait_for(
    what: str, check: Callable[[], Any], timeout: float, interval: float = 5
) -> Any:
    """Call `check` (sync or async) until it returns something truthy; fail after timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = check()
            if asyncio.iscoroutine(last):
                last = await last
            if last:
                return last
        except Exception as e:  # a cluster still coming up answers with errors
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} ({last!r})")
        await asyncio.sleep(interval)


async def wait_for_unit_status(
    juju: Backend, unit_name: str, status: str, message_starts: str = "", timeout: float = 900
) -> str:
    """Wait until a unit's workload status is `status` with a message starting so; return it."""

    async def reached() -> str | None:
        current, message = await juju.unit_status(unit_name)
        if current == status and message.startswith(message_starts):
            return message or "(no message)"
        return None

    return await wait_for(f"{unit_name} {status} '{message_starts}...'", reached, timeout, 2)


async def vm_constraints(juju: Backend) -> str:
    """Constraints for machines that need a kernel NFS client or server.

    HOMELAB_VM_CONSTRAINTS when set (may be empty); on LXD `virt-type=virtual-machine`: an LXD
    container can neither serve NFS from the kernel nor mount NFS; on MAAS nothing.
    """
    given = os.environ.get("HOMELAB_VM_CONSTRAINTS")
    if given is not None:
        return given.strip()
    return "virt-type=virtual-machine" if await juju.is_lxd() else ""


def join_constraints(*parts: str) -> str:
    """Constraint strings joined by spaces, empty parts dropped."""
    return " ".join(p.strip() for p in parts if p and p.strip())


# ------------------------------------------------------------------------------ NFS server


async def unit_address(juju: Backend, unit_name: str) -> str:
    """The unit's address (what other machines in the model reach it at), validated."""
    return str(ipaddress.ip_address(await juju.address(unit_name)))


async def setup_nfs_server(
    juju: Backend, unit_name: str, exports: dict[str, list[tuple[str, str]]]
) -> str:
    """Install nfs-kernel-server on a unit and export directories; return the server address.

    `exports` maps a path to (client, options) pairs; a client is an IP address or `*`.
    """
    lines = []
    for path, clients in exports.items():
        _check_server_path(path, "/srv/")
        specs = []
        for client, options in clients:
            who = client if client == "*" else str(ipaddress.ip_address(client))
            specs.append(f"{who}({options})")
        lines.append(f"{path} {' '.join(specs)}")
    wait_lock = "DPkg::Lock::Timeout=600"  # unattended-upgrades may hold apt on a new machine
    install = shell_words(
        ["apt-get", "-o", wait_lock, "update", "-q"],
        ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "-o", wait_lock, "install", "-y",
         "-q", "nfs-kernel-server"],
    )  # fmt: skip
    await exec_on(juju, unit_name, install, timeout=1500)
    dirs = shell_words(["mkdir", "-p", *exports], ["chmod", "0777", *exports])
    await exec_on(juju, unit_name, dirs)
    write = shlex.join(["printf", "%s\\n", *lines]) + " > /etc/exports"
    await exec_on(juju, unit_name, write)
    await exec_on(
        juju,
        unit_name,
        shell_words(["systemctl", "enable", "--now", "nfs-server"], ["exportfs", "-ra"]),
    )
    listed = await exec_on(juju, unit_name, shell_words(["exportfs", "-v"]))
    log.info("exports on %s:\n%s", unit_name, listed)
    return await unit_address(juju, unit_name)


def _check_server_path(path: str, under: str) -> None:
    """Paths on the server come from the tests and the cluster: keep them plain."""
    if not path.startswith(under) or ".." in path or any(c.isspace() for c in path):
        raise AssertionError(f"unexpected path on the NFS server: {path!r}")


async def read_on_server(juju: Backend, path: str) -> str | None:
    """A file's content on the NFS server unit, or None when it does not exist."""
    _check_server_path(path, EXPORT + "/")
    unit = f"{NFS_SERVER_APP}/0"
    present = shell_words(["test", "-f", path]) + " && echo yes || echo no"
    if (await exec_on(juju, unit, present)).strip() != "yes":
        return None
    return await exec_on(juju, unit, shell_words(["cat", path]))


async def dir_on_server(juju: Backend, path: str) -> bool:
    """Whether a directory exists on the NFS server unit."""
    _check_server_path(path, EXPORT + "/")
    present = shell_words(["test", "-d", path]) + " && echo yes || echo no"
    return (await exec_on(juju, f"{NFS_SERVER_APP}/0", present)).strip() == "yes"


async def list_on_server(juju: Backend, path: str) -> list[str]:
    """The names in a directory on the NFS server unit."""
    _check_server_path(path, EXPORT + "/")
    out = await exec_on(juju, f"{NFS_SERVER_APP}/0", shell_words(["ls", "-A", path]))
    return out.split()


# ----------------------------------------------------------------- Charmed Kubernetes core


@dataclass(frozen=True)
class Line:
    """A Charmed Kubernetes line to deploy: charm channel and Ubuntu series."""

    channel: str  # e.g. 1.28/stable: the charms' channel and the Kubernetes snaps' channel
    series: str  # jammy / noble

    @property
    def base(self) -> str:
        """Our charms' base for this line (a subordinate takes its principal's base)."""
        return {"focal": "ubuntu@20.04", "jammy": "ubuntu@22.04", "noble": "ubuntu@24.04"}[
            self.series
        ]


# 1.28: the last line whose kubernetes-worker has `nfs` (facts §2). Current: the lab's line
# (tools/homelab `LINES["current"]`); override to try another one.
LEGACY = Line(
    env("HOMELAB_CK_LEGACY_CHANNEL", "1.28/stable"), env("HOMELAB_CK_LEGACY_SERIES", "jammy")
)
CURRENT = Line(
    env("HOMELAB_CK_CURRENT_CHANNEL", "1.34/stable"), env("HOMELAB_CK_CURRENT_SERIES", "noble")
)

CONTROL_PLANE = "kubernetes-control-plane"
WORKER = "kubernetes-worker"
CK_APPS = ("easyrsa", "etcd", CONTROL_PLANE, WORKER)


def kubernetes_core_bundle(line: Line, vm: str) -> dict:
    """A kubernetes-core shaped bundle from Charmhub, plus the in-model NFS server.

    The shape of the upstream charmed-kubernetes bundle without the load balancer, with one
    unit each: easyrsa, etcd, kubernetes-control-plane, kubernetes-worker, calico, containerd.
    The control plane (it mounts the export), the worker (the kubelet mounts PVs) and the NFS
    server need a kernel: `vm` constraints (virtual machines on LXD).
    """
    channel = line.channel
    node = join_constraints("cores=2 mem=4G root-disk=16G", vm)
    return {
        # A base, not `series:`: Juju 4.0 reads bases only (facts §10); `default-base` is read
        # by Juju 3.3 and later too (juju/juju#15725).
        "default-base": line.base,
        "applications": {
            "easyrsa": {"charm": "easyrsa", "channel": channel, "num_units": 1},
            "etcd": {
                "charm": "etcd",
                "channel": channel,
                "num_units": 1,
                "options": {"channel": "3.4/stable"},
            },
            CONTROL_PLANE: {
                "charm": CONTROL_PLANE,
                "channel": channel,
                "num_units": 1,
                "constraints": node,
                "options": {"channel": channel},
            },
            WORKER: {
                "charm": WORKER,
                "channel": channel,
                "num_units": 1,
                "constraints": node,
                "options": {"channel": channel},
            },
            "calico": {"charm": "calico", "channel": channel, "options": {"vxlan": "Always"}},
            "containerd": {"charm": "containerd", "channel": channel},
            NFS_SERVER_APP: {
                "charm": "ubuntu",
                "num_units": 1,
                "constraints": join_constraints("mem=2G root-disk=10G", vm),
            },
        },
        "relations": [
            [f"{CONTROL_PLANE}:kube-control", f"{WORKER}:kube-control"],
            [f"{CONTROL_PLANE}:certificates", "easyrsa:client"],
            ["etcd:certificates", "easyrsa:client"],
            [f"{CONTROL_PLANE}:etcd", "etcd:db"],
            [f"{WORKER}:certificates", "easyrsa:client"],
            ["calico:etcd", "etcd:db"],
            ["calico:cni", f"{CONTROL_PLANE}:cni"],
            ["calico:cni", f"{WORKER}:cni"],
            ["containerd:containerd", f"{WORKER}:container-runtime"],
            ["containerd:containerd", f"{CONTROL_PLANE}:container-runtime"],
        ],
    }


async def deploy_kubernetes_core(juju: Backend, line: Line) -> None:
    """Deploy the kubernetes-core shape and the NFS server; wait until all are active."""
    bundle = kubernetes_core_bundle(line, await vm_constraints(juju))
    path = juju.tmp_path / f"kubernetes-core-{line.channel.replace('/', '-')}.yaml"
    path.write_text(yaml.safe_dump(bundle, sort_keys=False))
    log.info("deploying Charmed Kubernetes %s (%s) from %s", line.channel, line.series, path)
    # Charmed Kubernetes' charms rely on Juju retrying a hook that failed while a peer was not
    # ready yet; CI controllers (actions-operator) switch that off model-wide by default.
    await juju.model_config({"automatically-retry-hooks": "true"})
    await juju.deploy(path)
    await juju.wait(
        [*CK_APPS, NFS_SERVER_APP],
        status="active",
        timeout=float(env("HOMELAB_CK_TIMEOUT", "5400")),
        idle_period=30,
        raise_on_error=False,  # a hook error that Juju retries is not the end; the timeout is
    )


async def deploy_subordinate(
    juju: Backend, name: str, base: str, config: dict[str, str], app: str | None = None
) -> str:
    """Deploy one of our (subordinate) charms from its file with config; return the app name."""
    path = await charm_file(juju, name, base)
    app = app or name
    await juju.deploy(path, app, base=base, config=config)
    return app


async def admin_kubeconfig(juju: Backend) -> dict:
    """The admin kubeconfig of the cluster, read from the control plane (never logged).

    `/home/ubuntu/config` is the one Charmed Kubernetes tells users to copy; a server on the
    loopback address (the control plane's own `/root/.kube/config`) is pointed at the unit.
    """
    unit = f"{CONTROL_PLANE}/0"
    text = ""
    for path in ("/home/ubuntu/config", "/root/.kube/config"):
        try:
            text = await exec_on(juju, unit, shell_words(["cat", path]))
        except AssertionError:
            continue
        if text.strip():
            break
    assert text.strip(), f"no admin kubeconfig on {unit}"
    config = yaml.safe_load(text)
    address = await unit_address(juju, unit)
    for cluster in config.get("clusters", []):
        server = urlsplit(cluster["cluster"]["server"])
        if server.hostname in ("127.0.0.1", "localhost", "::1"):
            netloc = f"{address}:{server.port or 6443}"
            cluster["cluster"]["server"] = urlunsplit(server._replace(netloc=netloc))
    return config


@dataclass
class Kube:
    """The official `kubernetes` client's APIs for one cluster."""

    core: Any
    storage: Any


_kubes: dict[str, Kube] = {}


async def kube(juju: Backend) -> Kube:
    """Clients for the cluster's API from the admin kubeconfig (official `kubernetes` client).

    One per model: the kubeconfig is fetched from the control plane once.
    """
    from kubernetes import client, config

    key = juju.model_full_name
    if key not in _kubes:
        api_client = config.new_client_from_config_dict(
            await admin_kubeconfig(juju), persist_config=False
        )
        _kubes[key] = Kube(client.CoreV1Api(api_client), client.StorageV1Api(api_client))
    return _kubes[key]


def pvs_of_class(k: Kube, class_name: str) -> list[Any]:
    """The PersistentVolumes of one StorageClass."""
    return [
        pv
        for pv in k.core.list_persistent_volume().items
        if pv.spec.storage_class_name == class_name
    ]


def create_namespace(k: Kube, name: str) -> None:
    """Create a namespace (already there is fine)."""
    from kubernetes.client.rest import ApiException

    try:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        k.core.create_namespace(body)
    except ApiException as e:
        if e.status != 409:
            raise


def create_claim(k: Kube, namespace: str, name: str, class_name: str, size: str) -> None:
    """Create a ReadWriteOnce PersistentVolumeClaim."""
    k.core.create_namespaced_persistent_volume_claim(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": name},
            "spec": {
                "storageClassName": class_name,
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": size}},
            },
        },
    )


async def wait_bound(k: Kube, namespace: str, claim: str, timeout: float = 600) -> str:
    """Wait until a claim is Bound; return the PersistentVolume's name."""

    def bound() -> str | None:
        pvc = k.core.read_namespaced_persistent_volume_claim(claim, namespace)
        return pvc.spec.volume_name if pvc.status.phase == "Bound" else None

    return await wait_for(f"claim {namespace}/{claim} Bound", bound, timeout)


async def run_writer_pod(
    k: Kube, namespace: str, name: str, claim: str, *, file_name: str, content: str
) -> None:
    """Run a pod that writes `content` to `file_name` on the claim's volume; wait for it."""
    k.core.create_namespaced_pod(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "writer",
                        "image": TEST_IMAGE,
                        "command": ["sh", "-c", 'printf %s "$CONTENT" > "/data/$FILE" && sync'],
                        "env": [
                            {"name": "CONTENT", "value": content},
                            {"name": "FILE", "value": file_name},
                        ],
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    }
                ],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
            },
        },
    )

    def finished() -> str | None:
        phase = k.core.read_namespaced_pod(name, namespace).status.phase
        assert phase != "Failed", f"pod {namespace}/{name} failed"
        return phase if phase == "Succeeded" else None

    await wait_for(f"pod {namespace}/{name} Succeeded", finished, timeout=900)


def delete_pod_and_claim(k: Kube, namespace: str, pod: str | None, claim: str) -> None:
    """Delete a pod (when given) and a claim, now."""
    if pod:
        k.core.delete_namespaced_pod(pod, namespace, grace_period_seconds=0)
    k.core.delete_namespaced_persistent_volume_claim(claim, namespace)


async def node_name_of(juju: Backend, unit_name: str) -> str:
    """The Kubernetes Node name of a unit's machine: its lower-cased hostname."""
    return (await exec_on(juju, unit_name, shell_words(["hostname"]))).strip().lower()
