"""What this project relies on from upstream charms and bundles, per channel, with sources.

These tables were built by reading the files named in `SOURCES` (saved verbatim, for reference,
outside this repository in `../shared/reference/`, and on GitHub); they restate only the facts
`homelab check` needs: endpoint names, roles, interfaces, scopes, and the shape of the upstream
bundles our overlays layer onto. Nothing here is a copy of those files.

An endpoint table marked `complete=True` lists every endpoint of that charm on that line, so a
relation to any other endpoint is an error; `complete=False` lists only the endpoints the upstream
bundles use, so any other endpoint is reported as "not verified" (a warning).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SOURCES = {
    "worker-1.28": (
        "charmed-kubernetes/charm-kubernetes-worker@release_1.28 (1b6fafe) src/metadata.yaml; "
        "`certificates` and `container-runtime` come from charm layers, used in "
        "charmed-kubernetes/bundle releases/1.28/bundle.yaml"
    ),
    "worker-main": "charmed-kubernetes/charm-kubernetes-worker@main (b702c96) charmcraft.yaml",
    "cp-1.28": (
        "charmed-kubernetes/charm-kubernetes-control-plane@release_1.28 metadata.yaml; "
        "`certificates` and `container-runtime` from layers, used in releases/1.28/bundle.yaml"
    ),
    "cp-main": "charmed-kubernetes/charm-kubernetes-control-plane@main charmcraft.yaml",
    "ck-bundle": (
        "charmed-kubernetes/bundle@da6e9af releases/1.28/bundle.yaml, releases/1.34/bundle.yaml "
        "and releases/1.35/bundle.yaml (1.33+: `series: noble`, no default-base; 1.34 sets the "
        "snap `channel` option to 1.34/edge)"
    ),
    "ck-support": (
        "https://ubuntu.com/kubernetes/docs/supported-versions (kubernetes-docs "
        "supported-versions.md), checked 2026-12-02: only the three newest lines are supported"
    ),
    "containerd": (
        "charmed-kubernetes/charm-containerd src/metadata.yaml (4507891), src/config.yaml "
        "(gpu_driver: auto|nvidia|none)"
    ),
    "calico": "charmed-kubernetes/charm-calico metadata.yaml (07dde3d)",
    "kubeflow-bundle": (
        "canonical/bundle-kubeflow @8107887 releases/1.11/stable/bundle.yaml and "
        "releases/1.10/stable/bundle.yaml; releases/1.9/stable/bundle.yaml @024117f (the same 37 "
        "applications in all three)"
    ),
    "jupyter-ui": "canonical/notebook-operators charms/jupyter-ui/config.yaml @01dbfa4",
    "kubeflow-matrix": (
        "https://documentation.ubuntu.com/charmed-kubeflow/reference/supported-versions"
    ),
}


@dataclass(frozen=True)
class Endpoint:
    """One relation endpoint of a charm."""

    name: str
    role: str  # provides | requires | peers
    interface: str
    scope: str = "global"  # global | container
    limit: int | None = None


@dataclass
class CharmInfo:
    """What `check` knows about one charm (on one line, for upstream charms)."""

    name: str
    subordinate: bool
    endpoints: dict[str, Endpoint]
    source: str
    complete: bool = True
    options: dict[str, str] | None = None  # option -> type; None: options not checked
    options_complete: bool = True  # False: an unknown option is only flagged when close to one
    kubernetes: bool = False  # a Kubernetes (sidecar) charm
    needs_trust: bool = False
    ours: bool = False
    principals: tuple[str, ...] = ()  # charms this subordinate must be attached to
    extra: dict[str, str] = field(default_factory=dict)


def _eps(*specs: str) -> dict[str, Endpoint]:
    """Endpoints from compact specs `role name interface [container]`."""
    result = {}
    for spec in specs:
        parts = spec.split()
        scope = "container" if len(parts) > 3 and parts[3] == "container" else "global"
        result[parts[1]] = Endpoint(parts[1], parts[0], parts[2], scope)
    return result


_WORKER_1_28 = _eps(
    "requires kube-api-endpoint http",
    "requires kube-control kube-control",
    "requires aws aws-integration",
    "requires gcp gcp-integration",
    "requires openstack openstack-integration",
    "requires vsphere vsphere-integration",
    "requires azure azure-integration",
    "requires nfs mount",
    "requires certificates tls-certificates",
    "provides cni kubernetes-cni container",
    "provides container-runtime container-runtime container",
    "provides ingress-proxy http",
    "provides scrape prometheus",
)
_WORKER_MAIN = _eps(
    "peers coordinator coordinator",
    "provides cni kubernetes-cni container",
    "provides container-runtime container-runtime container",
    "provides cos-agent cos_agent",
    "provides ingress-proxy http",
    "requires aws aws-integration",
    "requires gcp gcp-integration",
    "requires azure azure-integration",
    "requires certificates tls-certificates",
    "requires kube-control kube-control",
    "requires tokens tokens",
)
_CP_1_28 = _eps(
    "peers kube-masters kube-masters",
    "provides kube-api-endpoint http",
    "provides kube-control kube-control",
    "provides cni kubernetes-cni container",
    "provides container-runtime container-runtime container",
    "provides prometheus prometheus-manual",
    "provides grafana grafana-dashboard",
    "provides aws-iam aws-iam container",
    "requires etcd etcd",
    "requires loadbalancer public-address",
    "requires ceph-storage ceph-admin",
    "requires ceph-client ceph-client",
    "requires aws aws-integration",
    "requires gcp gcp-integration",
    "requires openstack openstack-integration",
    "requires vsphere vsphere-integration",
    "requires azure azure-integration",
    "requires keystone-credentials keystone-credentials",
    "requires dns-provider kube-dns",
    "requires loadbalancer-internal loadbalancer",
    "requires loadbalancer-external loadbalancer",
    "requires external-cloud-provider external_cloud_provider",
    "requires certificates tls-certificates",
)
_CP_MAIN = _eps(
    "peers coordinator coordinator",
    "peers peer kubernetes-control-plane-peer",
    "provides cni kubernetes-cni container",
    "provides container-runtime container-runtime container",
    "provides cos-agent cos_agent",
    "provides kube-control kube-control",
    "provides tokens tokens",
    "requires ceph-client ceph-client",
    "requires aws aws-integration",
    "requires gcp gcp-integration",
    "requires azure azure-integration",
    "requires openstack openstack-integration",
    "requires keystone-credentials keystone-credentials",
    "requires certificates tls-certificates",
    "requires dns-provider kube-dns",
    "requires etcd etcd",
    "requires ha hacluster",
    "requires loadbalancer-external loadbalancer",
    "requires loadbalancer-internal loadbalancer",
    "requires external-cloud-provider external_cloud_provider",
    "requires vault-kv vault-kv",
)


def _opts(*specs: str) -> dict[str, str]:
    """Options from compact specs `type: name name ...`."""
    result = {}
    for spec in specs:
        kind, _, names = spec.partition(":")
        result.update(dict.fromkeys(names.split(), kind.strip()))
    return result


# Options (name -> type). Main lines: every option of the charmcraft.yaml. 1.28: src/config.yaml
# plus the layer options the project knows of (`labels`, ...), so that table is incomplete.
_WORKER_MAIN_OPTIONS = _opts(
    "string: channel ingress-default-ssl-certificate ingress-default-ssl-key "
    "ingress-proxy-real-ip-cidr kubelet-extra-args kubelet-extra-config labels nginx-image "
    "proxy-extra-args proxy-extra-config sysctl",
    "boolean: ignore-missing-cni ingress ingress-ssl-chain-completion ingress-ssl-passthrough "
    "ingress-use-forwarded-headers",
)
_WORKER_1_28_OPTIONS = _opts(
    "string: channel ingress-default-ssl-certificate ingress-default-ssl-key nginx-image "
    "default-backend-image snapd_refresh labels kubelet-extra-args kubelet-extra-config "
    "proxy-extra-args proxy-extra-config sysctl",
    "boolean: ingress require-manual-upgrade ingress-ssl-passthrough ingress-ssl-chain-completion "
    "ingress-use-forwarded-headers ignore-missing-cni",
)
_CP_MAIN_OPTIONS = _opts(
    "string: allow-privileged api-extra-args audit-policy audit-webhook-config "
    "authn-webhook-endpoint authorization-mode authorization-webhook-config-file channel "
    "controller-manager-extra-args default-cni default-storage dns_domain dns-provider "
    "enable-nvidia-plugin extra_sans ha-cluster-vip ha-cluster-dns ignore-kube-system-pods "
    "image-registry kubelet-extra-args kubelet-extra-config labels loadbalancer-ips "
    "proxy-extra-args proxy-extra-config register-with-taints scheduler-extra-args "
    "service-cidr sysctl",
    "boolean: enable-dashboard-addons enable-metrics ignore-missing-cni",
)
_CP_1_28_OPTIONS = _opts(
    "string: channel labels register-with-taints api-extra-args default-storage "
    "kubelet-extra-args controller-manager-extra-args scheduler-extra-args",
)
_CONTAINERD_OPTIONS = _opts(
    "string: custom_registries gpu_driver runtime kill_signal shim http_proxy https_proxy "
    "no_proxy config_version nvidia_apt_key_urls nvidia_apt_sources nvidia_apt_packages",
)
# Values the lab relies on, checked before Juju does: (charm, option) -> allowed values.
ALLOWED_VALUES = {
    ("containerd", "gpu_driver"): ("auto", "nvidia", "none"),
    ("gpu-node-labeler", "taint"): ("", "NoSchedule", "PreferNoSchedule"),
    ("remote-nfs-mount", "nfs-version"): ("3", "4", "4.0", "4.1", "4.2"),
    ("static-pv-provisioner", "volume-binding-mode"): ("Immediate", "WaitForFirstConsumer"),
}


def _line_of_track(track: str | None) -> str:
    """'1.28' for Charmed Kubernetes tracks up to 1.28, else 'main' (1.29+ and latest)."""
    if track:
        try:
            major, minor = (int(x) for x in track.split(".")[:2])
        except ValueError:
            return "main"
        if (major, minor) <= (1, 28):
            return "1.28"
    return "main"


def upstream_charm(name: str, track: str | None) -> CharmInfo | None:
    """What this project knows about an upstream charm on a channel track, or None."""
    line = _line_of_track(track)
    if name in ("kubernetes-worker", "kubernetes-control-plane"):
        worker = name == "kubernetes-worker"
        if line == "1.28":
            eps, opts = (
                (_WORKER_1_28, _WORKER_1_28_OPTIONS) if worker else (_CP_1_28, _CP_1_28_OPTIONS)
            )
            src = SOURCES["worker-1.28" if worker else "cp-1.28"]
            return CharmInfo(name, False, eps, src, True, opts, options_complete=False)
        eps, opts = (
            (_WORKER_MAIN, _WORKER_MAIN_OPTIONS) if worker else (_CP_MAIN, _CP_MAIN_OPTIONS)
        )
        src = SOURCES["worker-main" if worker else "cp-main"]
        return CharmInfo(name, False, eps, src, True, opts)
    if name == "containerd":
        eps = _eps(
            "requires containerd container-runtime container",
            "requires docker-registry docker-registry",
            "provides untrusted untrusted-container-runtime container",
        )
        src = SOURCES["containerd"]
        return CharmInfo(name, True, eps, src, True, _CONTAINERD_OPTIONS, options_complete=False)
    if name == "calico":
        eps = _eps("requires etcd etcd", "requires cni kubernetes-cni container")
        return CharmInfo(name, True, eps, SOURCES["calico"], False)
    if name == "etcd":
        eps = _eps("provides db etcd", "requires certificates tls-certificates")
        return CharmInfo(name, False, eps, SOURCES["ck-bundle"], False)
    if name == "easyrsa":
        return CharmInfo(
            name, False, _eps("provides client tls-certificates"), SOURCES["ck-bundle"], False
        )
    if name == "kubeapi-load-balancer":
        eps = _eps("provides lb-consumers loadbalancer", "requires certificates tls-certificates")
        return CharmInfo(name, False, eps, SOURCES["ck-bundle"], False)
    if name in KUBEFLOW_CHARMS:
        options = dict(JUPYTER_UI_OPTIONS) if name == "jupyter-ui" else None
        return CharmInfo(
            name,
            False,
            {},
            SOURCES["kubeflow-bundle"],
            complete=False,
            options=options,
            kubernetes=True,
            needs_trust=name != "minio",
        )
    return None


# jupyter-ui options (track 1.8+), from its config.yaml: the ones the lab sets are checked.
JUPYTER_UI_OPTIONS = {
    "port": "int",
    "ui": "string",
    "url-prefix": "string",
    "backend-mode": "string",
    "secure-cookies": "boolean",
    "jupyter-images": "string",
    "vscode-images": "string",
    "rstudio-images": "string",
    "gpu-number-default": "int",
    "gpu-vendors": "string",
    "gpu-vendors-default": "string",
    "affinity-options": "string",
    "affinity-options-default": "string",
    "tolerations-options": "string",
    "tolerations-options-default": "string",
    "default-poddefaults": "string",
}

# Charmed Kubeflow 1.9, 1.10 and 1.11 bundles: application -> charm (identical sets in all).
KUBEFLOW_APPS = {
    "admission-webhook": "admission-webhook",
    "argo-controller": "argo-controller",
    "dex-auth": "dex-auth",
    "envoy": "envoy",
    "istio-ingressgateway": "istio-gateway",
    "istio-pilot": "istio-pilot",
    "jupyter-controller": "jupyter-controller",
    "jupyter-ui": "jupyter-ui",
    "katib-controller": "katib-controller",
    "katib-db": "mysql-k8s",
    "katib-db-manager": "katib-db-manager",
    "katib-ui": "katib-ui",
    "kfp-api": "kfp-api",
    "kfp-db": "mysql-k8s",
    "kfp-metadata-writer": "kfp-metadata-writer",
    "kfp-persistence": "kfp-persistence",
    "kfp-profile-controller": "kfp-profile-controller",
    "kfp-schedwf": "kfp-schedwf",
    "kfp-ui": "kfp-ui",
    "kfp-viewer": "kfp-viewer",
    "kfp-viz": "kfp-viz",
    "knative-eventing": "knative-eventing",
    "knative-operator": "knative-operator",
    "knative-serving": "knative-serving",
    "kserve-controller": "kserve-controller",
    "kubeflow-dashboard": "kubeflow-dashboard",
    "kubeflow-profiles": "kubeflow-profiles",
    "kubeflow-roles": "kubeflow-roles",
    "kubeflow-volumes": "kubeflow-volumes",
    "metacontroller-operator": "metacontroller-operator",
    "mlmd": "mlmd",
    "minio": "minio",
    "oidc-gatekeeper": "oidc-gatekeeper",
    "pvcviewer-operator": "pvcviewer-operator",
    "tensorboard-controller": "tensorboard-controller",
    "tensorboards-web-app": "tensorboards-web-app",
    "training-operator": "training-operator",
}
KUBEFLOW_CHARMS = frozenset(KUBEFLOW_APPS.values())
# Applications with storage in the Kubeflow bundle (facts §4): app -> storage name.
KUBEFLOW_STORAGE = {
    "minio": "minio-data",
    "katib-db": "database",
    "kfp-db": "database",
    "mlmd": "mlmd-data",
}
# Applications whose bundle constraints must be kept when the lab adds its own.
KUBEFLOW_CONSTRAINTS = {"katib-db": "mem=2G", "kfp-db": "mem=2G"}

_CK_APPS = {
    "calico": {"options": {"vxlan": "Always"}},
    "containerd": {},
    "easyrsa": {"constraints": "cores=1 mem=4G root-disk=16G", "num_units": 1},
    "etcd": {
        "constraints": "cores=2 mem=8G root-disk=16G",
        "num_units": 3,
        "options": {"channel": "3.4/stable"},
    },
    "kubeapi-load-balancer": {
        "constraints": "cores=1 mem=4G root-disk=16G",
        "expose": True,
        "num_units": 1,
    },
    "kubernetes-control-plane": {
        "constraints": "cores=2 mem=8G root-disk=16G",
        "num_units": 2,
        "options": {"channel": "@"},
    },
    "kubernetes-worker": {
        "constraints": "cores=2 mem=8G root-disk=16G",
        "expose": True,
        "num_units": 3,
        "options": {"channel": "@"},
    },
}
_CK_RELATIONS = [
    ("kubernetes-control-plane:loadbalancer-external", "kubeapi-load-balancer:lb-consumers"),
    ("kubernetes-control-plane:loadbalancer-internal", "kubeapi-load-balancer:lb-consumers"),
    ("kubernetes-control-plane:kube-control", "kubernetes-worker:kube-control"),
    ("kubernetes-control-plane:certificates", "easyrsa:client"),
    ("etcd:certificates", "easyrsa:client"),
    ("kubernetes-control-plane:etcd", "etcd:db"),
    ("kubernetes-worker:certificates", "easyrsa:client"),
    ("kubeapi-load-balancer:certificates", "easyrsa:client"),
    ("calico:etcd", "etcd:db"),
    ("calico:cni", "kubernetes-control-plane:cni"),
    ("calico:cni", "kubernetes-worker:cni"),
    ("containerd:containerd", "kubernetes-worker:container-runtime"),
    ("containerd:containerd", "kubernetes-control-plane:container-runtime"),
]
SUPPORTED = "supported"
OUT_OF_SUPPORT = "out of upstream support"
SUPPORT_STATES = (SUPPORTED, OUT_OF_SUPPORT)


@dataclass(frozen=True)
class CKLine:
    """One Charmed Kubernetes line: its support status and what its upstream bundle writes."""

    track: str
    support: str  # one of SUPPORT_STATES (a test fails on a line without one)
    base: str  # the base its bundle deploys (series noble = ubuntu@24.04)
    series: str | None  # the bundle's top-level `series:` (1.33+), else it has `default-base`
    bundle_snap_channel: str  # the kubernetes snap `channel` option the upstream bundle sets
    snap_channel: str  # the snap channel this project writes (never an edge channel)
    worker_nfs: bool = False  # kubernetes-worker still has the `nfs` endpoint (<= 1.28)
    note: str = ""


def _ck(track: str, support: str, base: str, series: str | None, **kw) -> CKLine:
    stable = f"{track}/stable"
    return CKLine(
        track,
        support,
        base,
        series,
        kw.pop("bundle_snap_channel", stable),
        stable,
        **kw,
    )


# Charmed Kubernetes lines (SOURCES["ck-support"], SOURCES["ck-bundle"]; facts §2). 1.29-1.32 are
# here only as the steps of the legacy line's upgrade path (one minor at a time).
CK_LINES = {
    "1.35": _ck("1.35", SUPPORTED, "ubuntu@24.04", "noble", note="newest line"),
    "1.34": _ck(
        "1.34",
        SUPPORTED,
        "ubuntu@24.04",
        "noble",
        bundle_snap_channel="1.34/edge",
        note=(
            "the upstream 1.34 bundle sets the kubernetes snap channel to 1.34/edge; the lab "
            "sets 1.34/stable on every control-plane and worker application"
        ),
    ),
    "1.33": _ck("1.33", SUPPORTED, "ubuntu@24.04", "noble"),
    "1.32": _ck("1.32", OUT_OF_SUPPORT, "ubuntu@22.04", None),
    "1.31": _ck("1.31", OUT_OF_SUPPORT, "ubuntu@22.04", None, note="base not read (as 1.32)"),
    "1.30": _ck("1.30", OUT_OF_SUPPORT, "ubuntu@22.04", None, note="base not read (as 1.32)"),
    "1.29": _ck(
        "1.29",
        OUT_OF_SUPPORT,
        "ubuntu@22.04",
        None,
        note="first ops line: kubernetes-worker has no `nfs` endpoint; GPUs via the GPU operator",
    ),
    "1.28": _ck(
        "1.28",
        OUT_OF_SUPPORT,
        "ubuntu@22.04",
        None,
        worker_nfs=True,
        note="last line whose kubernetes-worker has `nfs` (interface mount)",
    ),
}


@dataclass(frozen=True)
class KFLine:
    """One Charmed Kubeflow release: support status, Kubernetes lines and Juju it needs."""

    track: str
    support: str  # one of SUPPORT_STATES
    kubernetes: tuple[str, ...]
    juju: str
    note: str = ""


# Charmed Kubeflow releases (SOURCES["kubeflow-matrix"], checked 2026-12-02; facts §10).
KUBEFLOW_LINES = {
    "1.11": KFLine(
        "1.11",
        SUPPORTED,
        ("1.32", "1.33", "1.34"),
        "3.6",
        "released 2026-04-13; upgrading 1.10 -> 1.11 needs Kubernetes >= 1.32",
    ),
    "1.10": KFLine("1.10", SUPPORTED, ("1.29", "1.30", "1.31", "1.32", "1.33"), "3.6"),
    "1.9": KFLine("1.9", OUT_OF_SUPPORT, ("1.27", "1.28", "1.29"), ">=3.4.3"),
    "1.8": KFLine(
        "1.8", OUT_OF_SUPPORT, ("1.24", "1.25", "1.26", "1.27", "1.28", "1.29"), ">=3.4.3"
    ),
    "1.7": KFLine("1.7", OUT_OF_SUPPORT, ("1.22", "1.23", "1.24"), "2.9"),
}
KUBEFLOW_MATRIX = {track: kf.kubernetes for track, kf in KUBEFLOW_LINES.items()}
KUBEFLOW_JUJU = {track: kf.juju for track, kf in KUBEFLOW_LINES.items()}


@dataclass(frozen=True)
class JujuLine:
    """One Juju release line the tool prints commands for."""

    version: str
    support: str
    note: str


# Juju (facts §10; canonical/jubilant docs "juju wait-for removed"). 3.6 is the LTS.
JUJU_LINES = {
    "3.6": JujuLine("3.6", SUPPORTED, "LTS; the only Juju Charmed Kubeflow supports"),
    "4.0": JujuLine(
        "4.0",
        SUPPORTED,
        "no `juju wait-for`, bundles' `series:` ignored (bases only), no default MAAS space, "
        "no SSH keys added to new models; no Charmed Kubeflow release supports it",
    ),
}
DEFAULT_JUJU = "3.6"

# The lab's lines: (Charmed Kubernetes track, Charmed Kubeflow track). current is the newest CK
# line that both upstreams support (CK 1.33-1.35 and CKF 1.11's 1.32-1.34 meet at 1.34); legacy
# is 1.28, kept for labs that already run it (its upgrade path: `homelab plan` for it).
LAB_LINES = {"current": ("1.34", "1.11"), "legacy": ("1.28", "1.9")}


def support_text(ck: str, kf: str | None = None) -> str:
    """`Charmed Kubernetes 1.34: supported; Charmed Kubeflow 1.11: supported (...)`."""
    line = CK_LINES.get(ck)
    text = f"Charmed Kubernetes {ck}: {line.support if line else 'unknown to this tool'}"
    if kf is not None:
        kfl = KUBEFLOW_LINES.get(kf)
        if kfl is None:
            text += f"; Charmed Kubeflow {kf}: unknown to this tool"
        else:
            text += (
                f"; Charmed Kubeflow {kf}: {kfl.support} (Kubernetes "
                f"{', '.join(kfl.kubernetes)}; Juju {kfl.juju} only)"
            )
    return text


def upgrade_path(start: str, target: str) -> list[str]:
    """The CK tracks from `start` (exclusive) to `target`, one minor at a time."""
    lo, hi = (int(t.split(".")[1]) for t in (start, target))
    return [f"1.{m}" for m in range(lo + 1, hi + 1)]


def charmed_kubernetes(track: str) -> dict:
    """The shape of the upstream `charmed-kubernetes` bundle for a track (no annotations)."""
    channel = f"{track}/stable"
    line = CK_LINES.get(track)
    snap = line.bundle_snap_channel if line else channel
    apps = {}
    for name, spec in _CK_APPS.items():
        body: dict = {"charm": name, "channel": channel}
        for key, value in spec.items():
            if key == "options":
                body[key] = {k: (snap if v == "@" else v) for k, v in value.items()}
            else:
                body[key] = value
        apps[name] = body
    head: dict = {"name": "charmed-kubernetes"}
    if line is not None and line.series:
        head["series"] = line.series  # 1.33+: `series: noble`, no default-base (facts §2)
    else:
        head["default-base"] = line.base if line else "ubuntu@22.04"
    return {**head, "applications": apps, "relations": [list(pair) for pair in _CK_RELATIONS]}


def kubeflow(track: str) -> dict:
    """The shape of the upstream `kubeflow` bundle (applications only; see module doc)."""
    apps = {}
    for name, charm in KUBEFLOW_APPS.items():
        body: dict = {"charm": charm, "scale": 1}
        if charm != "minio":
            body["trust"] = True
        if name in KUBEFLOW_CONSTRAINTS:
            body["constraints"] = KUBEFLOW_CONSTRAINTS[name]
        apps[name] = body
    return {"bundle": "kubernetes", "name": "kubeflow", "applications": apps, "relations": []}


# Charms of the lab's add-on stages (homelab.stages), one channel each: nvidia-gpu-operator
# (facts §8: 1.29/stable is the only channel CK's docs name; which operator version that
# revision carries is unknown, see homelab.gpu_operator.CHANNEL_VERSION) and metallb (facts §9,
# kubernetes-docs metallb.md).
ADDON_CHANNELS = {"nvidia-gpu-operator": "1.29/stable", "metallb": "1.28/stable"}
