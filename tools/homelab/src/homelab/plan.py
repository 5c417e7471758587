"""`homelab plan`: what goes where, the storage and labels that result, and the juju commands."""

from __future__ import annotations

import dataclasses
import shlex
import textwrap
from pathlib import Path

from homelab.charmdb import CharmDB
from homelab.check import check_documents
from homelab.merge import Merged
from homelab.problems import Problem
from homelab.render import (
    JUJU_CLASS_SOURCE,
    KUBEFLOW_OVERLAY,
    Rendered,
    juju_class_rule,
    overlay_names,
    render,
)
from homelab.site import Site, human, kubeflow_volumes, parse_pool, parse_size, pool_bytes
from homelab.upstream import KUBEFLOW_JUJU, KUBEFLOW_MATRIX, charmed_kubernetes, kubeflow
from homelab.yamlio import Document, loads


@dataclasses.dataclass
class Step:
    """One juju command of the deployment, and how to tell it is already done."""

    title: str
    argv: list[str]
    # ("model", ctrl, name), ("apps", model, *apps), ("cloud", ctrl, name), ("pool", model, name),
    # ("files", "", *paths): every file exists (homelab build's .charm files)
    done: tuple[str, ...] = ()
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    stdout_to: str | None = None  # write stdout to this file (mode 0600) instead of printing
    internal: bool = False  # `homelab render`: deploy writes the files itself, runs nothing

    def shell(self) -> str:
        """The command as one would type it (for reading only: it never goes to a shell)."""
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        text = shlex.join(self.argv)
        if self.stdout_to:
            text += f" > {shlex.quote(self.stdout_to)}"
        return f"{env} {text}" if env else text


@dataclasses.dataclass
class Plan:
    """Everything `plan` prints and `deploy` runs."""

    site: Site
    rendered: Rendered
    out: Path
    machine: Merged
    kube: Merged | None
    problems: list[Problem]
    steps: list[Step]
    placements: list[tuple[str, str, list[str]]]  # (machine, constraints, units)
    subordinates: dict[str, list[str]]
    juju: str = "3.6"  # the Juju the commands are written for (homelab.jujuver)
    day0: list[Step] = dataclasses.field(default_factory=list)  # before you start (day0.py)


def _docs_for(site: Site, rendered: Rendered, out: Path) -> tuple[list[Document], list[Document]]:
    line = site.line
    machine = [
        Document(
            f"charmed-kubernetes {line.track}/stable (built-in)",
            charmed_kubernetes(line.track),
            [],
        )
    ]
    for name in overlay_names(line, site):
        rel = f"overlays/{name}.yaml"
        machine.append(loads(rendered.files[rel], str(out / rel)))
    kube: list[Document] = []
    if site.get("kubeflow.enabled"):
        rel = f"overlays/{KUBEFLOW_OVERLAY}.yaml"
        kube = [
            Document(
                f"kubeflow {site.kubeflow_track}/stable (built-in)",
                kubeflow(site.kubeflow_track),
                [],
            ),
            loads(rendered.files[rel], str(out / rel)),
        ]
    return machine, kube


def make_plan(
    site: Site, out: Path, db: CharmDB, program: str = "homelab", juju: str = "3.6"
) -> Plan:
    """Render the site in memory, check the result, and work out the plan."""
    rendered = render(site)
    machine_docs, kube_docs = _docs_for(site, rendered, out)
    problems, machine = check_documents(machine_docs, db)
    from homelab.build import source_problems  # charms.source: charmhub is not published yet

    problems = [*rendered.problems, *source_problems(site, program), *problems]
    kube = None
    if kube_docs:
        kube_problems, kube = check_documents(kube_docs, db, trust=True)
        problems += kube_problems
    subs = attachments(machine, db)
    plan = Plan(
        site,
        rendered,
        out,
        machine,
        kube,
        problems,
        commands(site, out, machine, kube, program),
        _placements(machine, db),
        subs,
    )
    from homelab.day0 import finish_plan  # issue 13: Juju 3.6/4.0 forms, day 0, spaces
    from homelab.stages import finish  # issue 12: nouveau, GPU operator, MetalLB, login

    return finish(finish_plan(plan, juju))


def attachments(merged: Merged, db: CharmDB) -> dict[str, list[str]]:
    """Principal application -> subordinate applications attached to it (container scope)."""
    result: dict[str, list[str]] = {}
    infos = {
        name: db.lookup(str(body.get("charm", "")), body.get("channel"))
        for name, body in merged.apps.items()
        if isinstance(body, dict)
    }

    def scope(end: str) -> str:
        app, _, endpoint = end.partition(":")
        info = infos.get(app)
        found = info.endpoints.get(endpoint) if info is not None and endpoint else None
        return found.scope if found is not None else "global"

    for rel in merged.relations:
        a, b = (end.split(":", 1)[0] for end in rel.ends)
        info_a, info_b = infos.get(a), infos.get(b)
        if info_a is None or info_b is None or info_a.subordinate == info_b.subordinate:
            continue
        if "container" not in (scope(rel.ends[0]), scope(rel.ends[1])):
            continue
        principal, subordinate = (b, a) if info_a.subordinate else (a, b)
        result.setdefault(principal, []).append(subordinate)
    return {k: sorted(set(v)) for k, v in result.items()}


def _placements(merged: Merged, db: CharmDB) -> list[tuple[str, str, list[str]]]:
    machines = merged.machines or {}
    rows: dict[str, list[str]] = {mid: [] for mid in machines}
    new_rows: list[tuple[str, str, list[str]]] = []
    for name, body in merged.apps.items():
        if not isinstance(body, dict):
            continue
        info = db.lookup(str(body.get("charm", "")), body.get("channel"))
        if info and info.subordinate:
            continue
        units = body.get("num_units", 0) or 0
        to = body.get("to") or []
        for n in range(units):
            where = str(to[min(n, len(to) - 1)]) if to else "new"
            unit = f"{name}/{n}"
            if ":" in where and where.split(":", 1)[1] in rows:
                ctype, mid = where.split(":", 1)
                rows[mid].append(f"{unit} (in {ctype})")
            elif where in rows:
                rows[where].append(unit)
            else:
                new_rows.append(("new", str(body.get("constraints", "")), [unit]))
    result = [
        (mid, str((machines[mid] or {}).get("constraints", "")), units)
        for mid, units in rows.items()
    ]
    return result + new_rows


def commands(
    site: Site, out: Path, machine: Merged, kube: Merged | None, program: str = "homelab"
) -> list[Step]:
    """The ordered commands for the site: render the files the juju commands use, then juju."""
    ctrl = site.get("juju.controller")
    model = site.get("juju.model")
    cloud = site.get("juju.cloud")
    k8s_cloud = site.get("juju.k8s_cloud")
    line = site.line
    m = f"{ctrl}:{model}"
    # --map-machines=existing: a re-run after a partial deploy (the step counts as done only when
    # every application exists) maps the bundle's machines 0 and 1 onto the machines the first
    # run made instead of asking MAAS for new ones; on a first run the model has no machines and
    # it changes nothing (facts §3; juju/juju cmd/juju/application/deploy.go, `juju deploy
    # --help`: "Use the `--map-machines=existing` option to make use of any existing machines").
    deploy = [
        "juju",
        "deploy",
        "-m",
        m,
        "charmed-kubernetes",
        "--channel",
        f"{line.track}/stable",
        "--map-machines=existing",
    ]
    for name in overlay_names(line, site):
        deploy += ["--overlay", str(out / "overlays" / f"{name}.yaml")]
    from homelab.build import build_step  # charms.source: local: pack them first

    built = build_step(site, program)
    steps = [
        *([built] if built else []),
        Step(
            f"render the overlays and bundles the commands below use into {out}",
            [program, "render", "--site", site.path, "--out", str(out)],
            internal=True,
        ),
        Step(
            f"create the machine model {model} on {cloud}",
            ["juju", "add-model", model, cloud, "--controller", ctrl],
            ("model", ctrl, model),
        ),
        Step(
            f"deploy Charmed Kubernetes {line.track} with the lab's overlays "
            f"(same as {out / 'bundles' / f'homelab-{line.track}.yaml'})",
            deploy,
            ("apps", m, *sorted(machine.apps)),
        ),
    ]
    waits = ["kubernetes-control-plane", "static-pv-provisioner"]
    for app in waits:
        steps.append(
            Step(
                f"wait for {app} to be active",
                [
                    "juju",
                    "wait-for",
                    "application",
                    app,
                    "-m",
                    m,
                    "--query",
                    'status=="active"',
                    "--timeout",
                    "120m",
                ],
            )
        )
    if kube is None:
        return steps
    kubeconfig = str(out / "kubeconfig")
    storage_class = "default" if line.worker_nfs else site.get("storage.class")
    pool = site.get("storage.juju_pool")
    kf = f"{ctrl}:kubeflow"
    steps += [
        Step(
            "fetch the cluster's admin kubeconfig (written 0600)",
            ["juju", "ssh", "-m", m, "kubernetes-control-plane/leader", "--", "cat", "config"],
            stdout_to=kubeconfig,
        ),
        Step(
            f"register the cluster as cloud {k8s_cloud}, storage class {storage_class}",
            ["juju", "add-k8s", k8s_cloud, "--controller", ctrl, "--storage", storage_class],
            ("cloud", ctrl, k8s_cloud),
            env={"KUBECONFIG": kubeconfig},
        ),
        Step(
            "create the model kubeflow (the name Kubeflow requires)",
            ["juju", "add-model", "kubeflow", k8s_cloud, "--controller", ctrl],
            ("model", ctrl, "kubeflow"),
        ),
        Step(
            f"Juju storage pool {pool} on the static PVs of class {storage_class}",
            [
                "juju",
                "create-storage-pool",
                "-m",
                kf,
                pool,
                "kubernetes",
                f"storage-class={storage_class}",
                "storage-provisioner=kubernetes.io/no-provisioner",
            ],
            ("pool", kf, pool),
        ),
        Step(
            f"make {pool} the model's default storage",
            ["juju", "model-config", "-m", kf, f"workload-storage={pool}"],
        ),
        Step(
            f"deploy Charmed Kubeflow {site.kubeflow_track} with the lab overlay",
            [
                "juju",
                "deploy",
                "-m",
                kf,
                "kubeflow",
                "--channel",
                f"{site.kubeflow_track}/stable",
                "--trust",
                "--overlay",
                str(out / "overlays" / f"{KUBEFLOW_OVERLAY}.yaml"),
            ],
            ("apps", kf, *sorted(kube.apps)),
        ),
    ]
    return steps


def expected_labels(site: Site) -> list[str]:
    """The labels the GPU node should end up with."""
    if not site.get("gpu.enabled"):
        return []
    prefix = site.get("gpu.label_prefix")
    labels = [f"{site.get('kubeflow.role_label')}=gpu (kubernetes-worker-gpu option labels)"]
    for suffix, example in (
        ("present", "true"),
        ("count", "<number of GPUs>"),
        ("model", "<product, e.g. GeForce-RTX-2080-Ti>"),
        ("device-id", "<PCI device id>"),
        ("family", "<architecture, e.g. turing>"),
        ("driver", "<nvidia|nouveau|none>"),
        ("driver-version", "<when the driver is loaded>"),
    ):
        labels.append(f"{prefix}/{suffix}={example}")
    if site.get("gpu.legacy_labels") or site.line.worker_nfs:
        labels.append("gpu=true, cuda=true (legacy names)")
    labels.append(
        "nvidia.com/gpu.present, .count, .product, .memory, .family, "
        "nvidia.com/cuda.driver-version.* (gpu-node-labeler gfd-labels from nvidia-smi, "
        "or GPU Feature Discovery when the operator runs)"
    )
    if site.get("gpu.taint"):
        labels.append(
            f"taint nvidia.com/gpu=present:{site.get('gpu.taint')} (only pods that tolerate it)"
        )
    return labels


_DRIVER_ROUTES = {
    "operator": (
        "containerd-gpu gpu_driver=none; install the NVIDIA GPU operator on the cluster "
        "(https://ubuntu.com/kubernetes/docs/gpu-workers): it brings the driver, the container "
        "toolkit and the device plugin that makes nvidia.com/gpu schedulable "
        "(not in these commands)"
    ),
    "preinstalled": (
        "containerd-gpu gpu_driver=none; the NVIDIA driver is already on the machine (MAAS "
        "image or cloud-init); a device plugin for nvidia.com/gpu is still needed"
    ),
    "containerd": (
        "containerd-gpu gpu_driver=nvidia: containerd installs the driver and container runtime "
        "from NVIDIA's apt repositories (Charmed Kubernetes <= 1.28 only)"
    ),
}


def format_text(plan: Plan) -> str:
    """The plan as text."""
    site = plan.site
    line = site.line
    track = site.kubeflow_track
    out: list[str] = []
    add = out.append
    add(f'Lab "{site.name}" (site file {site.path})')
    add(
        f"  Charmed Kubernetes {line.track} ({line.key} line, {line.base}); "
        f"Charmed Kubeflow {track} (supports Kubernetes "
        f"{', '.join(KUBEFLOW_MATRIX.get(track, ()))}; Juju {KUBEFLOW_JUJU.get(track, '?')})"
    )
    from homelab.day0 import day0_text  # issue 13
    from homelab.versions import versions_text

    add(versions_text(site, plan.juju))
    add("")
    add(day0_text(plan))
    add("")
    add(f"Machines (model {site.get('juju.model')} on cloud {site.get('juju.cloud')})")
    for mid, constraints, units in plan.placements:
        add(f"  machine {mid:<4} {constraints}")
        for unit in units:
            app = unit.split("/", 1)[0]
            subs = plan.subordinates.get(app, [])
            add(f"      {unit}" + (f"  + {', '.join(subs)}" if subs else ""))
    add("")
    add(f"Relations ({len(plan.machine.relations)})")
    for rel in plan.machine.relations:
        add(f"  {rel.ends[0]}  <->  {rel.ends[1]}")
    add("")
    add(_storage_text(site))
    add("")
    labels = expected_labels(site)
    add("GPU node labels expected" if labels else "GPU: disabled in the site file")
    for label in labels:
        add(f"  {label}")
    if site.get("gpu.enabled"):
        add(f"  driver route: {_DRIVER_ROUTES[site.get('gpu.driver_route')]}")
    add("")
    add(_kubeflow_text(site))
    add("")
    add(f"Commands (rendered files under {plan.out})")
    for n, step in enumerate(plan.steps, 1):
        add(f"  {n:>2}. # {step.title}")
        add(f"      {step.shell()}")
    from homelab.stages import closing_text  # issue 12: the URL to open, the user

    closing = closing_text(plan)
    if closing:
        add("")
        add(closing)
    return "\n".join(out) + "\n"


def _storage_text(site: Site) -> str:
    line = site.line
    pool = parse_pool(site.get("storage.pool")) or []
    cls = "default" if line.worker_nfs else site.get("storage.class")
    if line.worker_nfs:  # facts §1: the 1.28 worker's class, which static-pv-provisioner adopts
        made = (
            "cluster default, made by kubernetes-worker (nfs relation), provisioner "
            "fuseim.pri/ifs; static-pv-provisioner adopts it unchanged, and claims bind to its "
            "static PVs before that provisioner is asked"
        )
    else:
        made = "cluster default, made by static-pv-provisioner, provisioner "
        made += "kubernetes.io/no-provisioner"
    quota = parse_size(site.get("nas.quota")) or 0
    nas = f"{site.get('nas.host')}:{site.get('nas.export')}"
    volumes = " + ".join(f"{c} x {s}" for s, c in pool)
    lines = [
        f"Storage: NAS {nas} (NFS {site.get('nas.nfs_version')}, quota {site.get('nas.quota')})",
        f"  StorageClass {cls} ({made})",
        f"  static PVs: {volumes} = {human(pool_bytes(pool))} of the {human(quota)} quota; "
        f"topped up to keep {site.get('storage.min_available')} Available",
    ]
    if site.get("kubeflow.enabled"):
        pool_name = site.get("storage.juju_pool")
        lines.append(f"  Juju pool {pool_name} in model kubeflow -> StorageClass {cls}:")
        lines += textwrap.wrap(
            f"{juju_class_rule(cls)} ({JUJU_CLASS_SOURCE})",
            width=96,
            initial_indent="    ",
            subsequent_indent="    ",
            break_on_hyphens=False,
        )
        taken = ", ".join(f"{name} {size} -> PV {pv}" for name, size, pv in kubeflow_volumes(site))
        lines.append(f"  Kubeflow charm storage: {taken}")
        lines.append("  notebooks and pipelines claim the remaining PVs through the default class")
    return "\n".join(lines)


def _kubeflow_text(site: Site) -> str:
    if not site.get("kubeflow.enabled"):
        return "Kubeflow: disabled in the site file"
    role = site.get("kubeflow.role_label")
    storage = site.get("kubeflow.storage")
    pinned = f"tags=node.{role}=kf-admin" if site.get("kubeflow.pin_to_admin_node") else "no"
    lines = [
        f"Kubeflow {site.kubeflow_track} (model kubeflow on cloud {site.get('juju.k8s_cloud')}, "
        "deployed with --trust)",
        f"  charm pods pinned: {pinned}",
        "  storage: " + ", ".join(f"{k} {v}" for k, v in storage.items()),
    ]
    if site.get("gpu.enabled"):
        lines.append(
            f"  jupyter-ui: GPU vendor nvidia.com/gpu, {site.get('kubeflow.gpu_number_default')} "
            f'GPU(s) by default, toleration + affinity option "gpu-node" ({role}=gpu)'
        )
    return "\n".join(lines)


def format_mermaid(plan: Plan) -> str:
    """The lab as a Mermaid flowchart."""
    site = plan.site
    lines = ["flowchart LR"]
    ids: dict[str, str] = {}

    def node(name: str) -> str:
        return ids.setdefault(name, "n" + str(len(ids)))

    for mid, constraints, units in plan.placements:
        label = f"machine {mid}: {constraints}".replace('"', "'")
        lines.append(f'  subgraph m{mid if mid != "new" else "new" + str(len(ids))}["{label}"]')
        for unit in units:
            app = unit.split("/", 1)[0]
            subs = plan.subordinates.get(app, [])
            text = unit + ("<br/>+ " + ", ".join(subs) if subs else "")
            lines.append(f'    {node(app)}["{text}"]')
        lines.append("  end")
    nas = f"NAS {site.get('nas.host')}:{site.get('nas.export')}"
    lines.append(f'  nas[("{nas}")]')
    if "remote-nfs-mount" in plan.machine.apps:
        for principal, subs in plan.subordinates.items():
            if "remote-nfs-mount" in subs and principal in ids:
                lines.append(f"  {ids[principal]} -. NFS .-> nas")
    seen = set()
    for rel in plan.machine.relations:
        a, b = (end.split(":", 1)[0] for end in rel.ends)
        if a in ids and b in ids and (a, b) not in seen and (b, a) not in seen:
            seen.add((a, b))
            lines.append(f"  {ids[a]} --- {ids[b]}")
    if plan.kube is not None:
        count = len(plan.kube.apps)
        lines.append(
            f'  kf["model kubeflow: Charmed Kubeflow {site.kubeflow_track} ({count} apps)"]'
        )
        worker = ids.get("kubernetes-worker")
        if worker:
            lines.append(f"  kf == pods ==> {worker}")
        gpu = ids.get("kubernetes-worker-gpu")
        if gpu:
            lines.append(f"  kf -. GPU notebooks .-> {gpu}")
    return "\n".join(lines) + "\n"
