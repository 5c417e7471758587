"""What `plan` says about versions: each line's support status and the legacy upgrade path.

Every version and status comes from the one table in `homelab.upstream`.
"""

from __future__ import annotations

from homelab.site import LINES, Site
from homelab.upstream import (
    CK_LINES,
    JUJU_LINES,
    KUBEFLOW_LINES,
    LAB_LINES,
    SUPPORTED,
    support_text,
    upgrade_path,
)

LEGACY_NFS_RELATION = "remote-nfs-mount:nfs kubernetes-worker:nfs"


def versions_text(site: Site, juju: str) -> str:
    """The "Versions and support" section of the plan."""
    line = site.line
    track = site.kubeflow_track
    jl = JUJU_LINES[juju]
    out = ["Versions and support (upstream.py, checked 2026-12-02)"]
    out.append(
        f"  this lab: {support_text(line.track, track if site.get('kubeflow.enabled') else None)}"
    )
    for key, (ck, kf) in LAB_LINES.items():
        mark = " (this site)" if key == line.key else ""
        out.append(f"  {key} line{mark}: {support_text(ck, kf)}")
    supported = [t for t, c in CK_LINES.items() if c.support == SUPPORTED]
    out.append(f"  Charmed Kubernetes supports only {', '.join(supported)}")
    ck = CK_LINES.get(line.track)
    if ck is not None and ck.bundle_snap_channel != ck.snap_channel:
        out.append(f"  note: {ck.note}")
    out.append(f"  Juju {juju}: {jl.note}")
    if site.get("kubeflow.enabled"):
        kfl = KUBEFLOW_LINES.get(track)
        out.append(
            f"  Charmed Kubeflow supports Juju {kfl.juju if kfl else '3.6'} only"
            + (
                ": on Juju 4.0 deploy the machine model only, or use a 3.6 controller"
                if juju != "3.6"
                else ""
            )
        )
    if line.worker_nfs:
        out += ["", *upgrade_text(site)]
    return "\n".join(out)


def upgrade_text(site: Site) -> list[str]:
    """The legacy line's upgrade path to the current line, one minor at a time."""
    model = f"{site.get('juju.controller')}:{site.get('juju.model')}"
    start, target = site.line.track, LINES["current"].track
    steps = upgrade_path(start, target)
    out = [
        f"Upgrade path {start} -> {target} ({CK_LINES[start].support}; one minor at a time, "
        "in the order each release's Charmed Kubernetes upgrade notes give; wait until every "
        "unit is active before the next minor)",
        f"  before 1.29: juju remove-relation -m {model} {LEGACY_NFS_RELATION}",
        "    (1.29's kubernetes-worker has no `nfs` endpoint: the refresh is refused while the "
        "relation exists)",
        "  what the 1.28 worker leaves behind (it never removes them): StorageClass `default` "
        "(cluster default, provisioner fuseim.pri/ifs), Deployment nfs-client-provisioner and its "
        "RBAC; once static-pv-provisioner serves the claims from its own class:",
        "    kubectl delete deployment nfs-client-provisioner  (and its ServiceAccount, "
        "ClusterRole, ClusterRoleBinding, Role, RoleBinding)",
        "    set static-pv-provisioner adopt-class=false storage-class=<its own class> "
        "set-default=true, then kubectl delete storageclass default when nothing uses it",
    ]
    kf = site.kubeflow_track
    for minor in steps:
        channel = CK_LINES[minor].snap_channel if minor in CK_LINES else f"{minor}/stable"
        apps = "etcd easyrsa kubernetes-control-plane kubernetes-worker calico containerd"
        if site.get("kubeflow.enabled"):
            need = sorted(
                (t for t, k in KUBEFLOW_LINES.items() if minor in k.kubernetes),
                key=lambda t: tuple(int(x) for x in t.split(".")),
            )
            if kf in KUBEFLOW_LINES and minor not in KUBEFLOW_LINES[kf].kubernetes and need:
                out.append(
                    f"  before {minor}: Charmed Kubeflow {kf} does not support {minor}: upgrade "
                    f"it to {need[0]} first (juju refresh of each Kubeflow charm to its "
                    f"{need[0]} channel, as the Charmed Kubeflow upgrade guide says)"
                )
                kf = need[0]
        out.append(
            f"  {minor}: for APP in {apps} (and kubernetes-worker-gpu, containerd-gpu): "
            f"juju refresh -m {model} $APP --channel {minor}/stable; "
            f"juju config -m {model} kubernetes-control-plane channel={channel} (and each "
            f"worker application)"
        )
    out.append(
        "  from 1.29 containerd no longer installs NVIDIA drivers: the GPU route is the NVIDIA "
        "GPU operator (gpu.driver_route: operator)"
    )
    return out
