"""`homelab verify`: prove the deployed lab works, step by step, against its cluster.

Steps, in order: (1) nodes Ready; (2) the default StorageClass exists; (3) a test claim binds
from the pool and a pod running as uid 1000 / gid 100 writes to it; (4) the GPU node has
``nvidia.com/gpu`` allocatable; (5) the CK docs' ``nvidia-smi`` Job runs on the GPU node and
its log names the GPU; (6) the dashboard URL answers and leads to the dex login page.

Everything it creates lives in one namespace, ``homelab-verify-<random>``, deleted at the end,
also on failure, Ctrl-C and SIGTERM. Exit 0 only when every step the site asks for passed.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import signal
import string
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from homelab.problems import EXIT_OK, EXIT_PROBLEMS
from homelab.verify_http import DashboardError, check_dashboard
from homelab.verify_kube import Kube, KubeError

PASSED, FAILED, SKIPPED, NOT_RUN = "passed", "FAILED", "skipped", "not run"
NAMESPACE_PREFIX = "homelab-verify-"
MANAGED_BY = {"app.kubernetes.io/managed-by": "homelab-verify"}
KUBEFLOW_NAMESPACE = "kubeflow"  # the model Kubeflow requires is named kubeflow
GATEWAY_SERVICE = "istio-ingressgateway-workload"  # istio-gateway's Service (facts §9)
GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT_KEY = "nvidia.com/gpu"  # gpu-node-labeler's taint: nvidia.com/gpu=present:<effect>
CUDA_IMAGE = "nvidia/cuda:12.1.0-base-ubuntu22.04"  # the CK docs' nvidia-smi test
WRITE_IMAGE = "busybox:1.36"
CLAIM, WRITER, JOB = "verify-claim", "verify-writer", "nvidia-smi"
WRITE_MARK = "written by homelab verify"
CLAIM_SIZE = "1Gi"  # the smallest PV of the pool that fits is bound (the binder's rule)
TITLES = (
    "nodes Ready",
    "default StorageClass",
    "test claim binds; uid 1000 writes to it",
    "GPU allocatable",
    "nvidia-smi Job on the GPU node",
    "dashboard leads to the login page",
)


@dataclass
class Options:
    """What `verify` talks to and how long it waits (seconds)."""

    request_timeout: float = 10.0
    wait_nodes: float = 60.0
    wait_bind: float = 120.0
    wait_pod: float = 300.0
    wait_gpu: float = 60.0
    wait_job: float = 600.0
    wait_dashboard: float = 30.0
    wait_cleanup: float = 60.0
    image: str = WRITE_IMAGE
    cuda_image: str = CUDA_IMAGE
    dashboard_url: str | None = None
    poll: float = 2.0  # seconds between two looks at something it waits for
    progress_every: float = 10.0  # a "still waiting" line at most this often
    namespace: str | None = None  # default: homelab-verify-<6 random characters>


@dataclass
class Result:
    """The outcome of one step."""

    number: int
    title: str
    state: str
    detail: str = ""
    cause: str = ""
    fix: str = ""


class FailedStepError(Exception):
    """A step failed: what was seen, the likely cause and the fix."""

    def __init__(self, detail: str, cause: str = "", fix: str = "") -> None:
        super().__init__(detail)
        self.detail, self.cause, self.fix = detail, cause, fix


class SkipStepError(Exception):
    """The site does not ask for this step."""


@dataclass
class _Context:
    kube: Kube
    site: Any
    opts: Options
    out: TextIO
    namespace: str
    created: bool = False
    gpu_nodes: list[str] = field(default_factory=list)
    bound_pv: str | None = None
    results: list[Result] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    @property
    def juju_model(self) -> str:
        return f"{self.site.get('juju.controller')}:{self.site.get('juju.model')}"


def _random_namespace() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return NAMESPACE_PREFIX + "".join(secrets.choice(alphabet) for _ in range(6))


def storage_class(site: Any) -> str:
    """The class `verify` expects as default: the site's, or `default` on the legacy line."""
    return "default" if site.line.worker_nfs else site.get("storage.class")


# ----------------------------------------------------------------------------------------------
# waiting, with progress


def wait_for(
    ctx: _Context, what: str, timeout: float, look: Callable[[], tuple[Any, str]]
) -> tuple[Any, str]:
    """Call `look` until it returns a value (not None) or `timeout` passes.

    `look` returns (value or None, a short state text). A state change is printed at once,
    an unchanged state at most every `progress_every` seconds. Returns (value, last state);
    the value is None on timeout.
    """
    start = time.monotonic()
    last_state, last_print = None, start
    while True:
        value, state = look()
        if value is not None:
            return value, state
        now = time.monotonic()
        elapsed = now - start
        if elapsed >= timeout:
            return None, state
        if state != last_state or now - last_print >= ctx.opts.progress_every:
            ctx.say(f"      waiting for {what}: {state} ({elapsed:.0f}s of {timeout:g}s)")
            last_state, last_print = state, now
        time.sleep(min(ctx.opts.poll, max(0.0, timeout - elapsed)))


# ----------------------------------------------------------------------------------------------
# step 1: nodes


def _ready(node: dict) -> tuple[bool, str]:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            why = cond.get("reason") or cond.get("message") or cond.get("status")
            return cond.get("status") == "True", str(why)
    return False, "no Ready condition yet"


def step_nodes(ctx: _Context) -> str:
    """Step 1: every node Ready (waits up to wait_nodes)."""

    def look() -> tuple[Any, str]:
        nodes = ctx.kube.get("/api/v1/nodes").get("items") or []
        if not nodes:
            return None, "no nodes registered"
        bad = []
        for node in nodes:
            ok, why = _ready(node)
            if not ok:
                bad.append(f"{node['metadata']['name']} ({why})")
        if bad:
            return None, f"{len(bad)} of {len(nodes)} not Ready: " + ", ".join(bad)
        return nodes, "all Ready"

    nodes, state = wait_for(ctx, "nodes Ready", ctx.opts.wait_nodes, look)
    if nodes is None:
        raise FailedStepError(
            state,
            "a node's kubelet is not running or cannot reach the control plane (a machine "
            "still deploying, a failed kubernetes-worker unit, or the CNI not up yet)",
            f"juju status -m {ctx.juju_model} (look at kubernetes-worker, kubernetes-worker-gpu, "
            "calico); juju debug-log -m "
            f"{ctx.juju_model} --include kubernetes-worker; re-run verify when all are active",
        )
    names = sorted(n["metadata"]["name"] for n in nodes)
    cordoned = [n["metadata"]["name"] for n in nodes if (n.get("spec") or {}).get("unschedulable")]
    note = f"; cordoned: {', '.join(cordoned)}" if cordoned else ""
    return f"{len(names)} nodes Ready: {', '.join(names)}{note}"


# ----------------------------------------------------------------------------------------------
# step 2: default StorageClass


def _is_default(sc: dict) -> bool:
    annotations = (sc.get("metadata") or {}).get("annotations") or {}
    return "true" in (
        annotations.get("storageclass.kubernetes.io/is-default-class"),
        annotations.get("storageclass.beta.kubernetes.io/is-default-class"),
    )


def step_storage_class(ctx: _Context) -> str:
    """Step 2: the expected StorageClass exists and is the default."""
    name = storage_class(ctx.site)
    classes = ctx.kube.get("/apis/storage.k8s.io/v1/storageclasses").get("items") or []
    by_name = {sc["metadata"]["name"]: sc for sc in classes}
    defaults = sorted(n for n, sc in by_name.items() if _is_default(sc))
    legacy = ctx.site.line.worker_nfs
    maker = (
        "kubernetes-worker's nfs relation (remote-nfs-mount)"
        if legacy
        else "static-pv-provisioner"
    )
    if name not in by_name:
        raise FailedStepError(
            f"StorageClass {name} does not exist "
            f"(classes: {', '.join(sorted(by_name)) or 'none'})",
            f"{maker} has not made it yet, or is blocked",
            f"juju status -m {ctx.juju_model} static-pv-provisioner remote-nfs-mount (its status "
            "says why); the class appears once the unit is active",
        )
    if not _is_default(by_name[name]):
        others = f" (default now: {', '.join(defaults)})" if defaults else " (no class is default)"
        fix = (
            f"juju config -m {ctx.juju_model} static-pv-provisioner set-default=true"
            if not legacy
            else f"kubectl annotate storageclass {name} "
            "storageclass.kubernetes.io/is-default-class=true"
        )
        raise FailedStepError(
            f"StorageClass {name} exists but is not the default{others}",
            "another class was default first (static-pv-provisioner never takes the default "
            "from another class), or set-default is off",
            f"remove the default mark from the other class "
            f"(kubectl annotate storageclass OTHER storageclass.kubernetes.io/is-default-class-), "
            f"then {fix}",
        )
    extra = f"; also marked default: {', '.join(d for d in defaults if d != name)}"
    return f"StorageClass {name} is the default" + (extra if len(defaults) > 1 else "")


# ----------------------------------------------------------------------------------------------
# the namespace and step 3: claim and writer pod


def _ensure_namespace(ctx: _Context) -> None:
    if ctx.created:
        return
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": ctx.namespace, "labels": dict(MANAGED_BY)},
    }
    try:
        ctx.kube.create("/api/v1/namespaces", body)
    except KubeError as exc:
        raise FailedStepError(
            f"cannot create namespace {ctx.namespace}: {exc}",
            "the kubeconfig's user may not create namespaces",
            "use the admin kubeconfig: juju ssh kubernetes-control-plane/leader -- cat config "
            "> ~/.kube/config",
        ) from None
    ctx.created = True
    ctx.say(f"      created namespace {ctx.namespace} (deleted at the end)")


def claim_manifest(namespace: str, class_name: str) -> dict:
    """The test claim (ReadWriteOnce, 1Gi, the expected class)."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": CLAIM, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": class_name,
            "resources": {"requests": {"storage": CLAIM_SIZE}},
        },
    }


def writer_manifest(namespace: str, image: str) -> dict:
    """A pod running as uid 1000, gid 100 (a Kubeflow notebook's) that writes to the claim."""
    script = (
        f'set -e; f=/data/homelab-verify-$$; echo "{WRITE_MARK}" > "$f"; cat "$f"; rm -f "$f"; id'
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": WRITER, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {
                "runAsUser": 1000,
                "runAsGroup": 100,
                "runAsNonRoot": True,
                "seccompProfile": {"type": "RuntimeDefault"},  # Pod Security "restricted"
            },
            "containers": [
                {
                    "name": "write",
                    "image": image,
                    "command": ["sh", "-c", script],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": CLAIM}}],
        },
    }


def pod_state(pod: dict) -> str:
    """A short text for where a pod is: phase, then the reason it waits or ended."""
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return f"{phase}: {cond.get('reason', 'Unschedulable')}: {cond.get('message', '')}"
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if "waiting" in state:
            waiting = state["waiting"]
            return (
                f"{phase}: {waiting.get('reason', 'waiting')} {waiting.get('message', '')}".strip()
            )
        if "terminated" in state:
            done = state["terminated"]
            return f"{phase}: exit code {done.get('exitCode')} ({done.get('reason', '')})"
    return phase


def _image_pull(state: str) -> bool:
    return any(r in state for r in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName"))


def _wait_pod_done(ctx: _Context, name: str, timeout: float, what: str) -> tuple[dict | None, str]:
    path = f"/api/v1/namespaces/{ctx.namespace}/pods/{name}"

    def look() -> tuple[Any, str]:
        pod = ctx.kube.get(path)
        phase = (pod.get("status") or {}).get("phase")
        return (pod if phase in ("Succeeded", "Failed") else None), pod_state(pod)

    return wait_for(ctx, what, timeout, look)


def _log(ctx: _Context, pod: str) -> str:
    try:
        return ctx.kube.log(ctx.namespace, pod)
    except KubeError as exc:
        return f"(no log: {exc})"


def step_claim_write(ctx: _Context) -> str:
    """Step 3: a claim binds from the pool; a uid 1000 / gid 100 pod writes to it."""
    name = storage_class(ctx.site)
    _ensure_namespace(ctx)
    ns_path = f"/api/v1/namespaces/{ctx.namespace}"
    ctx.kube.create(f"{ns_path}/persistentvolumeclaims", claim_manifest(ctx.namespace, name))

    def bound() -> tuple[Any, str]:
        claim = ctx.kube.get(f"{ns_path}/persistentvolumeclaims/{CLAIM}")
        phase = (claim.get("status") or {}).get("phase", "Pending")
        volume = (claim.get("spec") or {}).get("volumeName")
        return (volume if phase == "Bound" and volume else None), phase

    volume, state = wait_for(ctx, f"claim {CLAIM} to bind", ctx.opts.wait_bind, bound)
    if volume is None:
        raise FailedStepError(
            f"claim {CLAIM} ({CLAIM_SIZE}, class {name}) is still {state} after "
            f"{ctx.opts.wait_bind:g}s",
            f"no Available PV in class {name} fits {CLAIM_SIZE}: the pool is used up (Bound or "
            "Released PVs), static-pv-provisioner is blocked, or the class binds only on first "
            "use (WaitForFirstConsumer)",
            f"juju run -m {ctx.juju_model} static-pv-provisioner/leader list-volumes; recycle "
            "Released PVs (recycle volume=NAME confirm=true) or raise the pool's counts",
        )
    ctx.bound_pv = volume
    ctx.say(f"      claim {CLAIM} bound to PV {volume}")
    ctx.kube.create(f"{ns_path}/pods", writer_manifest(ctx.namespace, ctx.opts.image))
    pod, state = _wait_pod_done(ctx, WRITER, ctx.opts.wait_pod, f"pod {WRITER}")
    if pod is None:
        if _image_pull(state):
            raise FailedStepError(
                f"pod {WRITER} could not start: {state}",
                f"the nodes cannot pull the image {ctx.opts.image}",
                "give an image the nodes can pull: "
                "homelab verify ... --image REGISTRY/busybox:TAG",
            )
        raise FailedStepError(
            f"pod {WRITER} did not finish within {ctx.opts.wait_pod:g}s: {state}",
            f"the node cannot mount PV {volume} (NFS unreachable from the node, nfs-common "
            "missing) or the pod cannot be scheduled",
            f"kubectl -n {ctx.namespace} describe pod {WRITER} (events); juju status -m "
            f"{ctx.juju_model} remote-nfs-mount (its preflight runs from every node)",
        )
    log = _log(ctx, WRITER)
    if pod["status"].get("phase") != "Succeeded" or WRITE_MARK not in log:
        denied = "ermission denied" in log or "Read-only" in log
        raise FailedStepError(
            f"pod {WRITER} (uid 1000, gid 100) could not write to PV {volume}: {state}; log: "
            + (log.strip()[-300:] or "(empty)"),
            (
                "the PV's directory on the NAS is not writable by uid 1000 / gid 100 (its owner "
                "and mode; Kubernetes does not apply fsGroup to NFS), or the NAS squashes or "
                "maps the uid"
                if denied
                else "the write command failed on the volume"
            ),
            f"juju config -m {ctx.juju_model} static-pv-provisioner directory-mode=1777 (the "
            "default: every uid can write; new PVs, recycle the others), and on the NAS map no "
            "uid other than root (static-pv-provisioner's status and list-volumes say when its "
            "chown does not take)",
        )
    return f"claim bound to PV {volume}; pod as uid 1000 gid 100 wrote and read a file on it"


# ----------------------------------------------------------------------------------------------
# step 4: GPU allocatable, step 5: nvidia-smi


def _gpu_count(node: dict) -> int:
    value = ((node.get("status") or {}).get("allocatable") or {}).get(GPU_RESOURCE, "0")
    try:
        return int(str(value))
    except ValueError:
        return 0


def _gpu_node_names(ctx: _Context, nodes: list[dict]) -> list[str]:
    role = ctx.site.get("kubeflow.role_label")
    present = f"{ctx.site.get('gpu.label_prefix')}/present"
    return sorted(
        n["metadata"]["name"]
        for n in nodes
        if ((n["metadata"].get("labels") or {}).get(role) == "gpu")
        or ((n["metadata"].get("labels") or {}).get(present) == "true")
    )


def _gpu_fix(ctx: _Context) -> tuple[str, str]:
    route = ctx.site.get("gpu.driver_route")
    if route == "operator":
        return (
            "the NVIDIA GPU operator has not finished (15-30 minutes after deploy), nouveau is "
            "still loaded (the driver container cannot load), or a taint other than "
            f"{GPU_TAINT_KEY}:NoSchedule keeps Node Feature Discovery off the node",
            "juju status -m <the GPU operator's model> (see ./homelab plan); kubectl get node "
            "-L nvidia.com/gpu.present; juju ssh kubernetes-worker-gpu/0 -- lsmod | grep "
            "nouveau (then follow the plan's nouveau step and reboot)",
        )
    return (
        f"the NVIDIA driver or device plugin is not running (driver route {route})",
        f"juju status -m {ctx.juju_model} gpu-node-labeler containerd-gpu (gpu-node-labeler's "
        "status names the fix for the route)",
    )


def step_gpu_allocatable(ctx: _Context) -> str:
    """Step 4: a GPU node has nvidia.com/gpu allocatable."""
    if not ctx.site.get("gpu.enabled"):
        raise SkipStepError("the site has gpu.enabled: false")
    seen: dict[str, list[str]] = {"gpu": []}

    def look() -> tuple[Any, str]:
        nodes = ctx.kube.get("/api/v1/nodes").get("items") or []
        names = _gpu_node_names(ctx, nodes)
        seen["gpu"] = names
        if not names:
            return None, "no node carries the GPU labels"
        counts = {n["metadata"]["name"]: _gpu_count(n) for n in nodes}
        ready = [n for n in names if counts.get(n, 0) > 0]
        if ready:
            return ready, ", ".join(f"{n}: {counts[n]}" for n in ready)
        return None, ", ".join(f"{n}: {GPU_RESOURCE} 0" for n in names)

    ready, state = wait_for(ctx, f"{GPU_RESOURCE} allocatable", ctx.opts.wait_gpu, look)
    if ready is None:
        if not seen["gpu"]:
            role = ctx.site.get("kubeflow.role_label")
            raise FailedStepError(
                f"no node is labelled {role}=gpu or {ctx.site.get('gpu.label_prefix')}/present="
                "true",
                "the GPU worker has not joined, or gpu-node-labeler has not found the GPU",
                f"juju status -m {ctx.juju_model} kubernetes-worker-gpu gpu-node-labeler",
            )
        cause, fix = _gpu_fix(ctx)
        raise FailedStepError(
            f"GPU node(s) without {GPU_RESOURCE} allocatable: {state}", cause, fix
        )
    ctx.gpu_nodes = ready
    return f"{GPU_RESOURCE} allocatable on {state}"


def job_manifest(namespace: str, image: str, taint: str, route: str) -> dict:
    """The CK docs' nvidia-smi test Job, tolerating the site's GPU taint.

    On the operator route the container toolkit brings nvidia-smi and the driver's libraries;
    on the other routes the driver is on the host and the docs' hostPath mounts bring them.
    """
    container: dict[str, Any] = {
        "name": "nvidia-smi",
        "image": image,
        "args": ["nvidia-smi"],
        "resources": {"limits": {GPU_RESOURCE: 1}, "requests": {GPU_RESOURCE: 1}},
    }
    pod_spec: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
    if route != "operator":
        container["volumeMounts"] = [
            {"mountPath": "/usr/bin/", "name": "binaries", "readOnly": True},
            {"mountPath": "/usr/lib/x86_64-linux-gnu", "name": "libraries", "readOnly": True},
        ]
        pod_spec["volumes"] = [
            {"name": "binaries", "hostPath": {"path": "/usr/bin/"}},
            {"name": "libraries", "hostPath": {"path": "/usr/lib/x86_64-linux-gnu"}},
        ]
    if taint:
        pod_spec["tolerations"] = [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": taint}]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": JOB, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": {
            "backoffLimit": 0,
            "template": {"metadata": {"labels": dict(MANAGED_BY)}, "spec": pod_spec},
        },
    }


_GPU_ROW = re.compile(r"^\|\s*\d+\s+(.+?)\s+(?:On|Off)\s+\|", re.MULTILINE)


def gpu_names(log: str) -> list[str]:
    """The GPU names in nvidia-smi's table."""
    if "NVIDIA-SMI" not in log:
        return []
    return [m.group(1).strip() for m in _GPU_ROW.finditer(log)]


def step_gpu_job(ctx: _Context) -> str:
    """Step 5: the nvidia-smi Job runs on the GPU node; its log names the GPU."""
    if not ctx.site.get("gpu.enabled"):
        raise SkipStepError("the site has gpu.enabled: false")
    if not ctx.gpu_nodes:
        raise FailedStepError(
            "not run: step 4 found no GPU allocatable", "see step 4", "see step 4"
        )
    _ensure_namespace(ctx)
    ns_path = f"/api/v1/namespaces/{ctx.namespace}"
    manifest = job_manifest(
        ctx.namespace,
        ctx.opts.cuda_image,
        ctx.site.get("gpu.taint"),
        ctx.site.get("gpu.driver_route"),
    )
    ctx.kube.create(f"/apis/batch/v1/namespaces/{ctx.namespace}/jobs", manifest)

    def look() -> tuple[Any, str]:
        pods = ctx.kube.get(f"{ns_path}/pods", labelSelector=f"job-name={JOB}").get("items") or []
        if not pods:
            return None, "no pod yet"
        pod = pods[0]
        phase = (pod.get("status") or {}).get("phase")
        return (pod if phase in ("Succeeded", "Failed") else None), pod_state(pod)

    pod, state = wait_for(ctx, f"Job {JOB}", ctx.opts.wait_job, look)
    if pod is None:
        if _image_pull(state):
            cause = f"the GPU node cannot pull {ctx.opts.cuda_image}"
            fix = "give an image it can pull: homelab verify ... --cuda-image REGISTRY/cuda:TAG"
        elif "taint" in state:
            cause = "the Job does not tolerate a taint on the GPU node (not the site's gpu.taint?)"
            fix = "kubectl describe node <GPU node> (Taints); set gpu.taint in the site to match"
        else:
            cause = f"no GPU free to schedule on, or the GPU node cannot run it ({state})"
            fix = f"kubectl -n {ctx.namespace} describe pods -l job-name={JOB}; free the GPU"
        raise FailedStepError(
            f"Job {JOB} did not finish within {ctx.opts.wait_job:g}s: {state}", cause, fix
        )
    name = pod["metadata"]["name"]
    node = (pod.get("spec") or {}).get("nodeName") or "?"
    log = _log(ctx, name)
    found = gpu_names(log)
    if pod["status"].get("phase") != "Succeeded" or not found:
        cause, fix = _gpu_fix(ctx)
        if "couldn't communicate with the NVIDIA driver" in log:
            cause = "the NVIDIA driver is not loaded on the GPU node (nouveau still loaded?)"
        raise FailedStepError(
            f"nvidia-smi on {node}: {state}; its log names no GPU: "
            + (log.strip()[-300:] or "(empty)"),
            cause,
            fix,
        )
    if node not in ctx.gpu_nodes:
        raise FailedStepError(
            f"nvidia-smi ran on {node}, not on the GPU node ({', '.join(ctx.gpu_nodes)})",
            "another node offers nvidia.com/gpu without the GPU labels",
            "kubectl get nodes -L " + ctx.site.get("kubeflow.role_label"),
        )
    return f"nvidia-smi on {node} sees: {', '.join(found)}"


# ----------------------------------------------------------------------------------------------
# step 6: the dashboard


def dashboard_url(ctx: _Context) -> str:
    """The dashboard's URL: --dashboard-url, else from istio-gateway's Service."""
    if ctx.opts.dashboard_url:
        return ctx.opts.dashboard_url
    path = f"/api/v1/namespaces/{KUBEFLOW_NAMESPACE}/services/{GATEWAY_SERVICE}"
    try:
        svc = ctx.kube.get(path)
    except KubeError as exc:
        if exc.status == 404:
            raise FailedStepError(
                f"no Service {KUBEFLOW_NAMESPACE}/{GATEWAY_SERVICE}",
                "istio-gateway is not deployed or not active yet",
                f"juju status -m {ctx.site.get('juju.controller')}:kubeflow istio-ingressgateway "
                "istio-pilot",
            ) from None
        raise
    spec = svc.get("spec") or {}
    ports = spec.get("ports") or []
    http_port = next((p for p in ports if p.get("port") == 80), ports[0] if ports else {})
    kind = spec.get("type", "ClusterIP")
    if kind == "LoadBalancer":
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        address = next((i.get("ip") or i.get("hostname") for i in ingress if i), None)
        if not address:
            raise FailedStepError(
                f"Service {GATEWAY_SERVICE} is a LoadBalancer with no address (<pending>)",
                "no load balancer hands out addresses: MetalLB is not deployed, or its range "
                "is empty or used up",
                "deploy MetalLB with the site's address range (./homelab plan shows the "
                "commands), or use NodePort: juju config -m "
                f"{ctx.site.get('juju.controller')}:kubeflow istio-ingressgateway "
                "gateway_service_type=NodePort",
            )
        port = http_port.get("port", 80)
        return f"http://{address}" + ("" if port == 80 else f":{port}")
    if kind == "NodePort":
        nodes = ctx.kube.get("/api/v1/nodes").get("items") or []
        addresses = [
            a.get("address")
            for n in nodes
            if _ready(n)[0]
            for a in (n.get("status") or {}).get("addresses") or []
            if a.get("type") == "InternalIP"
        ]
        if not addresses or not http_port.get("nodePort"):
            raise FailedStepError(
                f"Service {GATEWAY_SERVICE} is NodePort but no node address or port is known",
                "the Service has no nodePort yet, or no node is Ready",
                "kubectl -n kubeflow get svc " + GATEWAY_SERVICE,
            )
        return f"http://{addresses[0]}:{http_port['nodePort']}"
    raise FailedStepError(
        f"Service {GATEWAY_SERVICE} is {kind}: not reachable from outside the cluster",
        "istio-ingressgateway's gateway_service_type is ClusterIP",
        "set it to LoadBalancer (with MetalLB) or NodePort, or give --dashboard-url",
    )


def step_dashboard(ctx: _Context) -> str:
    """Step 6: the dashboard URL leads to the dex login page."""
    if not ctx.site.get("kubeflow.enabled"):
        raise SkipStepError("the site has kubeflow.enabled: false")
    url = dashboard_url(ctx)
    ctx.say(f"      dashboard URL: {url}")
    try:
        final = check_dashboard(
            url,
            request_timeout=ctx.opts.request_timeout,
            total_timeout=ctx.opts.wait_dashboard,
            poll=ctx.opts.poll,
            progress=lambda text: ctx.say(f"      waiting for the dashboard: {text}"),
        )
    except DashboardError as exc:
        ctrl = ctx.site.get("juju.controller")
        raise FailedStepError(
            f"{url}: {exc}", exc.cause, exc.fix.replace("CONTROLLER", ctrl)
        ) from None
    return f"{url} leads to the dex login page ({final}); log in with the site's username"


# ----------------------------------------------------------------------------------------------
# running it all, and cleaning up


STEPS: tuple[Callable[[_Context], str], ...] = (
    step_nodes,
    step_storage_class,
    step_claim_write,
    step_gpu_allocatable,
    step_gpu_job,
    step_dashboard,
)


def _cleanup(ctx: _Context) -> bool:
    """Delete the namespace and wait (bounded) until it is gone; True when it is."""
    if not ctx.created:
        return True
    path = f"/api/v1/namespaces/{ctx.namespace}"
    manual = f"kubectl delete namespace {ctx.namespace}"
    try:
        ctx.kube.delete(path, propagationPolicy="Background")
    except KubeError as exc:
        if exc.status != 404:
            ctx.say(f"cleanup: could not delete namespace {ctx.namespace}: {exc}; run: {manual}")
            return False

    def gone() -> tuple[Any, str]:
        try:
            ns = ctx.kube.get(path)
        except KubeError as exc:
            if exc.status == 404:
                return True, "gone"
            return None, str(exc)
        return None, (ns.get("status") or {}).get("phase", "Terminating")

    done, state = wait_for(ctx, f"namespace {ctx.namespace} to go", ctx.opts.wait_cleanup, gone)
    if done:
        ctx.say(f"cleanup: namespace {ctx.namespace} deleted")
    else:
        ctx.say(f"cleanup: namespace {ctx.namespace} is still {state}; check: {manual}")
    if ctx.bound_pv:
        ctx.say(
            f"note: the test claim used PV {ctx.bound_pv}; it is now Released and keeps its "
            f"(empty) directory: juju run -m {ctx.juju_model} static-pv-provisioner/leader "
            f"recycle volume={ctx.bound_pv} confirm=true makes it Available again"
        )
    return bool(done)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt while verify runs (so cleanup runs); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _report(ctx: _Context, result: Result) -> None:
    ctx.results.append(result)
    if result.state == PASSED:
        ctx.say(f"      ok: {result.detail}")
    elif result.state == SKIPPED:
        ctx.say(f"      skipped: {result.detail}")
    else:
        ctx.say(f"      {result.state}: {result.detail}")
        if result.cause:
            ctx.say(f"      likely cause: {result.cause}")
        if result.fix:
            ctx.say(f"      fix: {result.fix}")


def run(kube: Kube, site: Any, opts: Options, out: TextIO) -> int:
    """Run every step, clean up, print a summary; EXIT_OK only when no asked-for step failed."""
    ctx = _Context(kube, site, opts, out, opts.namespace or _random_namespace())
    ctx.say(
        f"homelab verify: site {site.name}, cluster {kube.config.server} (context "
        f"{kube.config.context}), test namespace {ctx.namespace}"
    )
    _leftovers(ctx)
    unreachable = ""
    interrupted = False
    with _sigterm_as_interrupt():
        try:
            for number, (title, step) in enumerate(zip(TITLES, STEPS, strict=True), 1):
                ctx.say(f"[{number}/{len(STEPS)}] {title}")
                if unreachable:
                    _report(ctx, Result(number, title, NOT_RUN, unreachable))
                    continue
                try:
                    _report(ctx, Result(number, title, PASSED, step(ctx)))
                except SkipStepError as skip:
                    _report(ctx, Result(number, title, SKIPPED, str(skip)))
                except FailedStepError as fail:
                    _report(ctx, Result(number, title, FAILED, fail.detail, fail.cause, fail.fix))
                except KubeError as exc:
                    cause, fix = _api_cause(exc)
                    _report(ctx, Result(number, title, FAILED, str(exc), cause, fix))
                    if exc.unreachable or exc.status in (401, 403):
                        unreachable = "the API server did not answer usefully (see above)"
        except KeyboardInterrupt:
            interrupted = True
            ctx.say("interrupted: cleaning up")
        finally:
            try:
                _cleanup(ctx)
            except KeyboardInterrupt:
                ctx.say(f"cleanup interrupted: run kubectl delete namespace {ctx.namespace}")
                interrupted = True
            except KubeError as exc:
                ctx.say(f"cleanup failed: {exc}; run kubectl delete namespace {ctx.namespace}")
    if interrupted:
        raise KeyboardInterrupt
    counts = {
        s: sum(1 for r in ctx.results if r.state == s) for s in (PASSED, FAILED, SKIPPED, NOT_RUN)
    }
    failed = counts[FAILED] + counts[NOT_RUN]
    ctx.say(
        f"{'FAIL' if failed else 'ok'}: {counts[PASSED]} passed, {counts[FAILED]} failed, "
        f"{counts[NOT_RUN]} not run, {counts[SKIPPED]} skipped (by the site)"
    )
    return EXIT_PROBLEMS if failed else EXIT_OK


def _leftovers(ctx: _Context) -> None:
    """Name namespaces an earlier run could not delete (killed with -9, say); never delete them."""
    selector = ",".join(f"{k}={v}" for k, v in MANAGED_BY.items())
    try:
        items = ctx.kube.get("/api/v1/namespaces", labelSelector=selector).get("items") or []
    except KubeError:
        return  # step 1 reports an API that does not answer
    names = sorted(n["metadata"]["name"] for n in items if n["metadata"]["name"] != ctx.namespace)
    if names:
        ctx.say(
            f"note: namespaces left by an earlier verify: {', '.join(names)} (kubectl delete "
            f"namespace {' '.join(names)})"
        )


def _api_cause(exc: KubeError) -> tuple[str, str]:
    get_config = "juju ssh kubernetes-control-plane/leader -- cat config > ~/.kube/config"
    if exc.status in (401, 403):
        return (
            "the kubeconfig's credentials are not accepted or not allowed",
            f"fetch the admin kubeconfig again: {get_config}",
        )
    if exc.unreachable:
        return (
            "the API server is not reachable from here (address, firewall, TLS), or the "
            "kubeconfig is for another cluster",
            f"{get_config}; check that its server address answers from this machine",
        )
    return ("the API server refused the request", "see the message; re-run verify")
