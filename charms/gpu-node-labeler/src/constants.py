"""Every constant of the gpu-node-labeler charm in one place."""

from __future__ import annotations

# --- detection (sysfs, pci.ids, nvidia-smi) ---
NVIDIA_VENDOR_ID = 0x10DE
PCI_CLASS_DISPLAY = 0x03
PCI_SUBCLASS_VGA = 0x00
PCI_SUBCLASS_3D = 0x02
PCI_DEVICES_DIR = "sys/bus/pci/devices"
NVIDIA_MODULE_VERSION = "sys/module/nvidia/version"
NVIDIA_PROC_VERSION = (
    "proc/driver/nvidia/version"  # fallback: "NVRM version: ... Module  550.127.05  ..."
)
NOUVEAU_MODULE_DIR = "sys/module/nouveau"
# Debian/Ubuntu `pci.ids` (/usr/share/hwdata/pci.ids links to it there; the real file elsewhere).
PCI_IDS_PATHS = ("usr/share/misc/pci.ids", "usr/share/hwdata/pci.ids")
NVIDIA_SMI = "nvidia-smi"
NVIDIA_SMI_PATHS = ("/usr/bin/nvidia-smi", "/usr/local/bin/nvidia-smi", "/snap/bin/nvidia-smi")
# The NVIDIA GPU operator's driver container exposes its root filesystem on the host here; its
# nvidia-smi only runs inside that root (`chroot /run/nvidia/driver nvidia-smi`, as the operator's
# own driver validator does: NVIDIA/gpu-operator validator/main.go).
OPERATOR_DRIVER_ROOT = "run/nvidia/driver"
OPERATOR_SMI_PATHS = ("usr/bin/nvidia-smi", "usr/local/bin/nvidia-smi", "bin/nvidia-smi")
CHROOT = "chroot"
SMI_FIELDS = ("pci.bus_id", "name", "memory.total", "compute_cap", "driver_version")
# Drivers older than ~510 do not know `compute_cap` (exit 2): ask again without it.
SMI_FIELDS_OLD = ("pci.bus_id", "name", "memory.total", "driver_version")
SMI_EXIT_INVALID_ARGUMENT = 2
# nvidia-smi exit codes documented in its man page; all mean "driver unusable", never "no GPU".
SMI_EXIT_MEANINGS = {
    2: "invalid argument",
    3: "operation not available",
    6: "query unsuccessful",
    8: "external power cables not attached",
    9: "NVIDIA driver is not loaded",
    10: "kernel interrupt issue with a GPU",
    12: "NVML shared library not found",
    13: "function not implemented",
    14: "infoROM corrupted",
    15: "GPU fell off the bus",
    255: "other error or internal driver error",
}
# Exit codes that are no answer from the driver (it is not reachable right now), like a timeout
# or a missing binary: a failed read, which changes no label derived from nvidia-smi. Other
# non-zero codes (e.g. 15, GPU fell off the bus) are the driver's answer: the GPU is unusable.
SMI_EXIT_FAILED_READ = (9, 12, 255)
SMI_KILL_GRACE_S = 2.0  # after a timeout, how long to wait for a killed nvidia-smi to go away
SMI_TIMEOUT_MIN_S, SMI_TIMEOUT_MAX_S = 1, 120

# Chip code-name prefixes from pci.ids (e.g. `TU102`) -> architecture family, as GFD names them.
CHIP_FAMILIES = {
    "GK": "kepler",
    "GM": "maxwell",
    "GP": "pascal",
    "GV": "volta",
    "TU": "turing",
    "GA": "ampere",
    "AD": "ada-lovelace",
    "GH": "hopper",
    "GB": "blackwell",
}

# --- labels ---
DEFAULT_LABEL_PREFIX = "gpu.homelab-charms.io"
GFD_PREFIX = "nvidia.com/"
GFD_TIMESTAMP = "nvidia.com/gfd.timestamp"  # present when GPU Feature Discovery manages the node
LEGACY_LABELS = {"gpu": "true", "cuda": "true"}  # what kubernetes-worker <= 1.28 set
# Our keys (under the prefix) that nvidia-smi's answer decides or may decide: held, like the
# nvidia.com/* subset and the legacy keys, when nvidia-smi gives no answer (a failed read).
SMI_DERIVED_NAMES = ("usable", "family", "driver-version")
LABEL_VALUE_MAX = 63
LABEL_PREFIX_MAX = 253
# Prefixes the charm refuses as its own: homelab_core.names.RESERVED_PREFIX_DOMAINS.
# Keys the charm never sends, whatever its state says (operator/NFD/role keys).
FORBIDDEN_KEY_PREFIXES = (
    "nvidia.com/gpu.deploy.",
    "nvidia.com/gfd.",
    "feature.node.kubernetes.io/",
    "node-role.kubernetes.io/",
)

# --- taint ---
TAINT_KEY = "nvidia.com/gpu"
TAINT_VALUE = "present"
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule")

# --- Kubernetes API ---
FIELD_MANAGER = "gpu-node-labeler"
API_TIMEOUT_S = 10.0
KUBELET_KUBECONFIG_CK = "/root/cdk/kubeconfig"
KUBELET_KUBECONFIG_CANONICAL_K8S = "/etc/kubernetes/kubelet.conf"
ADMIN_SECRET_KEY = "kubeconfig"  # noqa: S105 - a key name, not a secret
NODE_NAME_MAX = 253
PATH_MAX = 4096  # kubeconfig-path, admin-kubeconfig-path (Linux PATH_MAX)

# --- GPU driver route (where the NVIDIA driver comes from: the status's advice depends on it) ---
DRIVER_ROUTE_OPERATOR = "operator"  # the NVIDIA GPU operator's driver container (CK >= 1.29)
DRIVER_ROUTE_CONTAINERD = "containerd"  # the containerd charm's gpu_driver (CK <= 1.28)
DRIVER_ROUTE_PREINSTALLED = "preinstalled"  # installed on the machine by its owner
DRIVER_ROUTES = (DRIVER_ROUTE_OPERATOR, DRIVER_ROUTE_CONTAINERD, DRIVER_ROUTE_PREINSTALLED)
DEFAULT_DRIVER_ROUTE = DRIVER_ROUTE_OPERATOR
# NVIDIA's way to disable nouveau on Ubuntu (CUDA installation guide, "Disabling Nouveau"); the
# GPU operator's driver container cannot load its kernel module while nouveau is loaded.
NOUVEAU_FIX = (
    "printf 'blacklist nouveau\\noptions nouveau modeset=0\\n' | "
    "sudo tee /etc/modprobe.d/blacklist-nouveau.conf; sudo update-initramfs -u; sudo reboot"
)
