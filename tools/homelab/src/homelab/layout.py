"""Does the layout fit the machines (issue 12; facts §11)?

The site states each machine's cores, memory and disk (maas.sizes.<role>). Charmed Kubeflow
asks for at least 4 cores, 32 GB memory and 50 GB disk on the nodes its pods run on; the GPU
machine's Juju constraints must be within what that machine has. Units placed with `to:` carry
no constraints of their own in the lab's overlays (placement.yaml clears upstream's cloud sizes),
so those add nothing here.
"""

from __future__ import annotations

from homelab.problems import Problem
from homelab.site import Site, parse_size

KUBEFLOW_MIN = (4, 32 * 10**9, 50 * 10**9)  # cores, memory, disk (facts §11, CKF get-started)
NAMES = {"control_plane": "control-plane box", "kubeflow": "Kubeflow worker box", "gpu": "GPU box"}


def _size(site: Site, role: str) -> tuple[int, int, int] | None:
    base = f"maas.sizes.{role}"
    cores, memory, disk = (site.get(f"{base}.{k}") for k in ("cores", "memory", "disk"))
    if not cores or not memory or not disk:
        return None
    return cores, parse_size(memory) or 0, parse_size(disk) or 0


def _g(n: int) -> str:
    return f"{n / 10**9:.0f} GB"


def kubeflow_roles(site: Site) -> list[str]:
    """The machines whose nodes Kubeflow's own pods may run on."""
    if site.get("kubeflow.pin_to_admin_node"):
        return ["kubeflow"]
    roles = ["kubeflow"]
    if site.get("gpu.enabled") and site.get("gpu.taint") != "NoSchedule":
        roles.append("gpu")
    return roles


def fit_problems(site: Site) -> list[Problem]:
    """One error per machine (or machine set) that is too small, with the numbers."""
    problems = []
    sizes = {r: _size(site, r) for r in NAMES}
    if site.get("gpu.enabled") and sizes["gpu"]:
        cores, memory, _ = sizes["gpu"]
        want = dict(p.split("=", 1) for p in site.get("maas.gpu_constraints").split() if "=" in p)
        need_mem = parse_size(want.get("mem", "0G")) or 0
        need_cores = int(want.get("cores", "0") or 0)
        if need_mem > memory or need_cores > cores:
            problems.append(
                Problem(
                    site.path,
                    "maas.gpu_constraints",
                    f"{site.get('maas.gpu_constraints')} asks more than the GPU box has "
                    f"({cores} cores, {_g(memory)}): MAAS cannot allocate it",
                )
            )
    if site.get("kubeflow.enabled"):
        roles = kubeflow_roles(site)
        known = [sizes[r] for r in roles]
        if all(known):
            have = tuple(sum(k[i] for k in known) for i in range(3))  # type: ignore[index]
            show = (str, _g, _g)
            short = [
                f"{what} {show[i](have[i])} < {show[i](KUBEFLOW_MIN[i])}"
                for i, what in enumerate(("cores", "memory", "disk"))
                if have[i] < KUBEFLOW_MIN[i]
            ]
            if short:
                where = " + ".join(NAMES[r] for r in roles)
                problems.append(
                    Problem(
                        site.path,
                        "kubeflow.pin_to_admin_node",
                        f"Kubeflow's pods may run only on the {where}: {', '.join(short)} "
                        "(Charmed Kubeflow asks 4 cores, 32 GB memory, 50 GB disk; facts §11). "
                        "Let them use the GPU box too: pin_to_admin_node false and gpu.taint "
                        'PreferNoSchedule or ""',
                    )
                )
    return problems


def fit_text(site: Site) -> str:
    """What the layout puts where, and what letting Kubeflow use the GPU box trades."""
    roles = kubeflow_roles(site)
    text = "Layout fit: Kubeflow's pods may run on the " + " + ".join(NAMES[r] for r in roles)
    if "gpu" in roles:
        text += (
            "; the trade: Kubeflow's own pods and CPU-only notebooks may take CPU and memory on "
            "the GPU box (never its GPU: they request no nvidia.com/gpu), the scheduler prefers "
            "the other node while it has room, and GPU notebooks still land on the GPU box by "
            "affinity and toleration"
        )
    return text
