"""What the NVIDIA GPU operator charm tolerates, and whether the site's GPU taint stops it.

The facts are the tolerations of the manifest the `nvidia-gpu-operator` charm ships, read from
charmed-kubernetes/nvidia at commit 130c4185d5644adbb5da2c931cc87a05d963f191 (2025-03-31,
"Update to v24.9.2 from v23.9.0"), file
charms/gpu-operator/upstream/gpu-operator/manifests/v24.9.2/manifest.yaml: GPU operator v24.9.2
with its own Node Feature Discovery v0.16.6. The manifest before that commit (v23.9.0, same
path with v23.9.0) has exactly the same tolerations. Which of the two the `1.29/stable` channel
carries is unknown: the repository has no branches, tags or release workflow that say so.
The charm applies the manifest with no toleration patch (its src/manifests.py patches only the
namespace, the image registry and the NFD worker config).

Only the toleration facts are kept here (no copy of the manifest). Matching follows Kubernetes'
`Toleration.ToleratesTaint`: the effect must be equal (or the toleration's empty = any), the key
equal (or empty with `Exists` = any key), and with `Equal` the value equal. A `PreferNoSchedule`
taint never stops a pod (the scheduler only avoids the node), so it is reported by neither
function; `NoSchedule` and `NoExecute` do.
"""

from __future__ import annotations

from dataclasses import dataclass

MANIFEST_VERSION = "v24.9.2"
SOURCE = (
    "charmed-kubernetes/nvidia@130c4185d5644adbb5da2c931cc87a05d963f191 "
    "charms/gpu-operator/upstream/gpu-operator/manifests/v24.9.2/manifest.yaml"
)
CHANNEL = "1.29/stable"
CHANNEL_VERSION = "unknown (v23.9.0 or v24.9.2; both tolerate the same taints)"
GPU_TAINT_KEY = "nvidia.com/gpu"
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
SOFT_EFFECTS = ("PreferNoSchedule",)


@dataclass(frozen=True)
class Toleration:
    """One toleration as the manifest writes it."""

    key: str = ""
    operator: str = "Equal"  # Equal or Exists
    value: str = ""
    effect: str = ""  # "" tolerates every effect

    def tolerates(self, key: str, value: str, effect: str) -> bool:
        """Kubernetes' ToleratesTaint for the taint `key=value:effect`."""
        if self.effect and self.effect != effect:
            return False
        if self.key and self.key != key:
            return False
        if self.operator == "Exists":
            return True
        return self.operator == "Equal" and self.value == value


@dataclass(frozen=True)
class Workload:
    """A pod template of the operator and where it has to run."""

    name: str
    kind: str
    on_gpu_node: bool  # runs on every GPU node (a DaemonSet), else needs one schedulable node
    tolerations: tuple[Toleration, ...]


_CONTROL_PLANE = (
    Toleration("node-role.kubernetes.io/master", "Equal", "", "NoSchedule"),
    Toleration("node-role.kubernetes.io/control-plane", "Equal", "", "NoSchedule"),
)
_GPU_NOSCHEDULE = Toleration(GPU_TAINT_KEY, "Exists", "", "NoSchedule")

# The ClusterPolicy's `daemonsets.tolerations` (no operand section has its own) apply to every
# operand DaemonSet; the operands enabled in the shipped ClusterPolicy for container workloads:
OPERANDS = ("driver", "toolkit", "devicePlugin", "dcgmExporter", "gfd", "migManager", "validator")

WORKLOADS = (
    Workload(
        "nvidia-charm-node-feature-discovery-worker",
        "DaemonSet",
        True,
        (*_CONTROL_PLANE, _GPU_NOSCHEDULE),
    ),
    *(
        Workload(f"ClusterPolicy operand {name}", "DaemonSet", True, (_GPU_NOSCHEDULE,))
        for name in OPERANDS
    ),
    Workload("gpu-operator", "Deployment", False, _CONTROL_PLANE),
    Workload("nvidia-charm-node-feature-discovery-master", "Deployment", False, _CONTROL_PLANE),
    Workload("nvidia-charm-node-feature-discovery-gc", "Deployment", False, ()),
)


def _stopped(workload: Workload, effect: str, key: str, value: str) -> bool:
    if not effect or effect in SOFT_EFFECTS:
        return False
    return not any(t.tolerates(key, value, effect) for t in workload.tolerations)


def untolerated_pods(effect: str, key: str = GPU_TAINT_KEY, value: str = "") -> list[str]:
    """The operator pods that must run on the GPU node and would not tolerate its taint.

    `effect`: the site's `gpu.taint` ("" = no taint, NoSchedule, PreferNoSchedule, NoExecute);
    `key`/`value`: the taint's key and value (the labeler's taint is `nvidia.com/gpu=present`).
    Empty: the operator can run its node agents there. Otherwise NFD or the operands never
    start on the node, and the operator marks it `nvidia.com/gpu.present=false`: no GPU becomes
    allocatable.
    """
    return [w.name for w in WORKLOADS if w.on_gpu_node and _stopped(w, effect, key, value)]


def needs_another_node(effect: str, key: str = GPU_TAINT_KEY, value: str = "") -> list[str]:
    """The operator's Deployments that the GPU node's taint keeps off it.

    They run anywhere; with this taint they need another worker that is schedulable (the
    control-plane taints they tolerate, or no taint at all).
    """
    return [w.name for w in WORKLOADS if not w.on_gpu_node and _stopped(w, effect, key, value)]


def problem(effect: str, key: str = GPU_TAINT_KEY, value: str = "") -> str | None:
    """One sentence for `homelab check` when the taint stops the operator; None if it does not."""
    pods = untolerated_pods(effect, key, value)
    if not pods:
        return None
    taint = f"{key}{'=' + value if value else ''}:{effect}"
    return (
        f"the GPU taint {taint} stops the NVIDIA GPU operator on the GPU node: "
        f"{', '.join(pods)} tolerate only {GPU_TAINT_KEY}:NoSchedule "
        f"(operator {MANIFEST_VERSION}); use NoSchedule, PreferNoSchedule or no taint"
    )
