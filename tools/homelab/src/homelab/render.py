"""`homelab render`: the lab's overlays and whole-lab bundles from jinja2 templates and a site."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jinja2
import yaml

from homelab.merge import merge
from homelab.network import TRAFFIC_ENDPOINTS
from homelab.problems import Problem
from homelab.site import LINES, Line, Site
from homelab.upstream import (
    KUBEFLOW_APPS,
    KUBEFLOW_CONSTRAINTS,
    KUBEFLOW_STORAGE,
    charmed_kubernetes,
)

# Which StorageClass Juju gives a sidecar charm's storage in a pool with storage-class=<class>;
# the one statement the plan, the storage overlay and the READMEs make (source: the section below
# of static-pv-provisioner's README, read in juju/juju caas/kubernetes/provider).
JUJU_CLASS_SOURCE = (
    'charms/static-pv-provisioner/README.md, "What Juju does with the class name '
    '(read in juju/juju)"'
)


def juju_class_rule(cls: str, model: str = "kubeflow") -> str:
    """The rule for class `cls` in `model`, in words."""
    return (
        f"Juju uses the plain class name {cls} when it exists before the application is "
        f"deployed; otherwise {model}-{cls} is used, or created (empty: the claims stay Pending)"
    )


GPU_WORKER = "kubernetes-worker-gpu"
# gpu-node-labeler taints GPU nodes nvidia.com/gpu=present:<effect> (its charmcraft.yaml `taint`).
TAINT_KEY = "nvidia.com/gpu"
CK_OVERLAYS = ("placement", "storage", "gpu-worker", "gpu-storage")
LEGACY_OVERLAY = "nfs-legacy-1.28"
KUBEFLOW_OVERLAY = "kubeflow"


@dataclasses.dataclass
class Rendered:
    """The rendered files: relative path -> text."""

    files: dict[str, str]
    warnings: list[str]
    problems: list[Problem] = dataclasses.field(default_factory=list)  # e.g. a missing .charm


def _q(value: Any) -> str:
    """A YAML scalar, double-quoted (JSON strings are valid YAML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value if isinstance(value, (int, float)) else str(value))


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("homelab", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - YAML, not HTML
    )
    env.filters["q"] = _q
    return env


def overlay_names(line: Line, site: Site) -> list[str]:
    """The machine-model overlays for a line, in the order they are applied."""
    names = ["placement", "storage"]
    if site.get("gpu.enabled"):
        names += ["gpu-worker", "gpu-storage"]
    if line.worker_nfs:
        names.append(LEGACY_OVERLAY)
    return names


# The charms this repository packs (`homelab build`) and a `charms.source: local` site uses.
LOCAL_CHARMS = ("remote-nfs-mount", "static-pv-provisioner", "gpu-node-labeler")


def local_charm_path(site: Site, name: str, line: Line) -> Path:
    """The `.charm` file `charmcraft pack` makes for `name` on the line's base (amd64).

    charmcraft names a package `{name}_{platform}.charm` with the platform's `:` replaced by
    `-` (canonical/charmcraft `charmcraft/services/package.py`, `get_charm_name`); our charms
    build for the platforms `ubuntu@22.04:amd64` and `ubuntu@24.04:amd64`. Exactly that file is
    used: a package for another base next to `base: {line.base}` is refused by Juju.
    `charms.local_dir` is relative to the site file's folder.
    """
    folder = Path(site.path).parent / Path(site.get("charms.local_dir")).expanduser()
    return (folder / f"{name}_{line.base}-amd64.charm").resolve()


def local_charm_problems(site: Site) -> list[Problem]:
    """A problem for each local `.charm` a render of this site needs and does not find."""
    if site.get("charms.source") != "local":
        return []
    names = LOCAL_CHARMS  # all rendered
    problems = []
    for base in dict.fromkeys(line.base for line in LINES.values()):
        line = next(line for line in LINES.values() if line.base == base)
        for name in names:
            path = local_charm_path(site, name, line)
            if not path.is_file():
                problems.append(
                    Problem(
                        site.path,
                        "charms.local_dir",
                        f"no {path.name} in {path.parent} (charms.source is local): run "
                        f"./homelab build --site {site.path} first (it packs platform "
                        f"{base}:amd64 with charmcraft)",
                    )
                )
    return problems


def context(site: Site, line: Line, warnings: list[str]) -> dict[str, Any]:
    """Everything the templates use."""
    values = site.values

    def charm_ref(name: str) -> str:
        if site.get("charms.source") == "local":
            ref = [f"    charm: {_q(str(local_charm_path(site, name, line)))}"]
        else:
            ref = [f"    charm: {name}", f"    channel: {site.get('charms.channel')}"]
        ref.append(f"    base: {line.base}")
        return "\n".join(ref)

    # A space per machine role that has a NIC in it (maas.spaces.<role>): `spaces=` only on that
    # role's machine, and its traffic endpoints bound to it (homelab.network).
    spaces = dict(site.get("maas.spaces"))
    space = ""  # maas.storage_space is replaced by maas.spaces (an error when set)
    role_of_tag = {t: role for role, t in site.get("maas.tags").items()}

    def machine_constraints(tag: str, extra: str = "") -> str:
        parts = [f"tags={tag}"]
        if extra:
            parts.append(extra)
        role_space = spaces.get(role_of_tag.get(tag, ""), "")
        if role_space:
            parts.append(f"spaces={role_space}")
        return " ".join(parts)

    storage_class = "default" if line.worker_nfs else site.get("storage.class")
    juju_pool = site.get("storage.juju_pool")
    role_label = site.get("kubeflow.role_label")
    route = site.get("gpu.driver_route")
    gpu_driver = "nvidia" if route == "containerd" and line.worker_nfs else "none"
    apps = []
    for name in KUBEFLOW_APPS:
        entry: dict[str, Any] = {
            "name": name,
            "constraints": "",
            "storage": "",
            "storage_name": "",
        }
        if site.get("kubeflow.pin_to_admin_node"):
            pin = f"tags=node.{role_label}=kf-admin"
            base = KUBEFLOW_CONSTRAINTS.get(name)
            entry["constraints"] = f"{base} {pin}" if base else pin
        if name in KUBEFLOW_STORAGE:
            key = "minio" if name == "minio" else name
            size = site.get(f"kubeflow.storage.{key}")
            entry["storage"] = f"{juju_pool},{size.removesuffix('i')}"
            entry["storage_name"] = KUBEFLOW_STORAGE[name]
        if entry["constraints"] or entry["storage"] or name == "jupyter-ui":
            apps.append(entry)
    tolerations = []
    affinity = []
    if site.get("gpu.enabled"):
        if site.get("gpu.taint"):
            tolerations.append(
                {
                    "groupKey": "gpu-node",
                    "displayName": "Run on the GPU worker (tolerate its taint)",
                    "tolerations": [
                        {"key": TAINT_KEY, "operator": "Exists", "effect": site.get("gpu.taint")}
                    ],
                }
            )
        affinity.append(
            {
                "configKey": "gpu-node",
                "displayName": "The GPU worker",
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": role_label, "operator": "In", "values": ["gpu"]}
                                    ]
                                }
                            ]
                        }
                    }
                },
            }
        )
    jupyter = {
        "gpu_vendors": json.dumps([{"limitsKey": "nvidia.com/gpu", "uiName": "NVIDIA"}])
        if site.get("gpu.enabled")
        else "[]",
        "gpu_vendors_default": "nvidia.com/gpu" if site.get("gpu.enabled") else "",
        "tolerations": json.dumps(tolerations),
        "affinity": json.dumps(affinity),
    }
    return {
        **values,
        "site_path": site.path,
        "line": line,
        "tags": values["maas"]["tags"],
        "storage_space": space,
        "spaces": spaces,
        "traffic_endpoints": TRAFFIC_ENDPOINTS,
        "storage_class": storage_class,
        "juju_class_rule": juju_class_rule(storage_class),
        "juju_class_source": JUJU_CLASS_SOURCE,
        "role_label": role_label,
        "gpu_driver": gpu_driver,
        "gpu_constraints": machine_constraints(
            values["maas"]["tags"]["gpu"], site.get("maas.gpu_constraints")
        ),
        "machine_constraints": machine_constraints,
        "charm_ref": charm_ref,
        "kubeflow_track": site.kubeflow_track,
        "kubeflow_apps": apps,
        "jupyter": jupyter,
    }


def render_overlays(site: Site, line: Line, warnings: list[str]) -> dict[str, str]:
    """Overlay name -> YAML text for one line."""
    env = _env()
    ctx = context(site, line, warnings)
    names = [*CK_OVERLAYS, LEGACY_OVERLAY]
    if site.get("kubeflow.enabled"):
        names.append(KUBEFLOW_OVERLAY)
    return {name: env.get_template(f"{name}.yaml.j2").render(ctx) for name in names}


def bundle_text(site: Site, line: Line, overlays: dict[str, str]) -> str:
    """The whole machine model of the lab as one bundle: upstream CK + this line's overlays."""
    docs: list[tuple[str, Any]] = [("charmed-kubernetes", charmed_kubernetes(line.track))]
    for name in overlay_names(line, site):
        docs.append((name, yaml.safe_load(overlays[name])))
    merged = merge(docs).to_bundle()
    merged.pop("name", None)
    # One file for Juju 3.6 and 4.0: `default-base`, never `series:` (Juju 4 ignores it; facts §2).
    merged.pop("series", None)
    merged["default-base"] = line.base
    gpu = merged["applications"].get(GPU_WORKER)
    machines = merged.setdefault("machines", {})
    if isinstance(gpu, dict) and not gpu.get("to"):
        # One file, so the GPU box can be an explicit machine too (an overlay cannot add one
        # without replacing the others: facts §3).
        machine = str(len(machines))
        machines[machine] = {"constraints": gpu.pop("constraints", "")}
        gpu["to"] = [machine]
    ordered = {
        "name": f"homelab-{site.name}-{line.track}",
        "description": f"The {site.name} lab on Charmed Kubernetes {line.track}",
        **{k: v for k, v in merged.items() if k not in ("applications", "machines", "relations")},
        "machines": merged.get("machines", {}),
        "applications": merged["applications"],
        "relations": merged["relations"],
    }
    overlays_used = ", ".join(overlay_names(line, site))
    header = (
        f"# The whole {site.name} lab on Charmed Kubernetes {line.track} ({line.key} line) "
        "as one bundle:\n"
        f"# upstream charmed-kubernetes {line.track}/stable + overlays {overlays_used},\n"
        "# with the GPU worker's machine made explicit.\n"
        f"# Rendered by `homelab render` from the site file {site.path}: "
        "edit the site file, not this.\n"
        f"# Deploy:  juju deploy ./bundles/homelab-{line.track}.yaml\n"
    )
    return header + yaml.safe_dump(ordered, sort_keys=False, default_flow_style=False, width=100)


def render(site: Site) -> Rendered:
    """All files for a site: overlays for its line, and one bundle per line."""
    warnings: list[str] = []
    files: dict[str, str] = {}
    overlays = render_overlays(site, site.line, warnings)
    for name, text in overlays.items():
        files[f"overlays/{name}.yaml"] = text
    for line in LINES.values():
        line_overlays = overlays if line == site.line else render_overlays(site, line, warnings)
        files[f"bundles/homelab-{line.track}.yaml"] = bundle_text(site, line, line_overlays)
    return Rendered(files, list(dict.fromkeys(warnings)), local_charm_problems(site))


def write(rendered: Rendered, out: Path) -> list[Path]:
    """Write the files under `out`; return the paths written."""
    written = []
    for rel, text in rendered.files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
