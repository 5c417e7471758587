"""`homelab teardown`: take the lab down in the right order, keeping the NAS data by default.

Order: the Kubeflow model; the GPU operator and MetalLB models; the Kubernetes cloud; the lab
(machine) model. Only the models and the cloud the site names are touched, each only when it
exists (a re-run skips what is gone). Storage: `keep` (default) destroys the models with
`--release-storage`: Juju lets go of the volumes and the static PVs (reclaim policy Retain)
keep their data on the NAS for a redo (static-pv-provisioner's reattach, README "Redo");
`destroy` uses `--destroy-storage`: Juju deletes the claims of its storage. The pool's
directories on the NAS are only emptied by static-pv-provisioner itself (nothing here deletes
NAS data it cannot prove is the pool's). Same flags in Juju 3.6 and 4.0 (`destroy-model
--no-prompt --release-storage|--destroy-storage`, `remove-k8s --controller`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable
from typing import Any, TextIO

from homelab.plan import Step
from homelab.problems import EXIT_DEPLOY_FAILED, EXIT_NO_JUJU, EXIT_OK, EXIT_USAGE

KEEP, DESTROY = "keep", "destroy"


def _site_value(site: Any, key: str, default: str) -> str:
    try:
        value = site.get(key)
    except (KeyError, TypeError):
        return default
    return value or default


def teardown_steps(site: Any, storage: str) -> list[Step]:
    """The ordered teardown for a site (every step names the site's own model or cloud)."""
    ctrl = site.get("juju.controller")
    flag = "--release-storage" if storage == KEEP else "--destroy-storage"
    steps = []

    def model(name: str, why: str) -> None:
        steps.append(
            Step(
                f"destroy the model {name} ({why}; storage: {storage})",
                ["juju", "destroy-model", f"{ctrl}:{name}", "--no-prompt", flag],
                ("model", ctrl, name),
            )
        )

    if site.get("kubeflow.enabled"):
        model("kubeflow", "Charmed Kubeflow, on the cluster")
    # plan12's models (issue 12), named in the site when it has the keys
    if site.get("gpu.enabled") and site.get("gpu.driver_route") == "operator":
        model(_site_value(site, "gpu.operator_model", "gpu-operator"), "the NVIDIA GPU operator")
    if _site_value(site, "kubeflow.dashboard", "") == "metallb":
        model(_site_value(site, "kubeflow.metallb_model", "metallb-system"), "MetalLB")
    k8s_cloud = site.get("juju.k8s_cloud")
    steps.append(
        Step(
            f"remove the Kubernetes cloud {k8s_cloud} from the controller",
            ["juju", "remove-k8s", k8s_cloud, "--controller", ctrl],
            ("cloud", ctrl, k8s_cloud),
        )
    )
    model(site.get("juju.model"), "the machines: Charmed Kubernetes and our charms")
    return steps


def _exists(step: Step, runner: Callable[..., Any]) -> bool:
    kind, ctrl, name = step.done
    argv = (
        ["juju", "models", "--controller", ctrl, "--format", "json"]
        if kind == "model"
        else ["juju", "clouds", "--controller", ctrl, "--format", "json"]
    )
    result = runner(argv, {}, None)
    if result.returncode != 0:
        return True  # unknown: try it, and let Juju say
    try:
        data = json.loads(result.stdout or "null")
    except json.JSONDecodeError:
        return True
    if kind == "cloud":
        return isinstance(data, dict) and name in data
    models = data.get("models", []) if isinstance(data, dict) else []
    return name in {
        str(m.get("short-name") or str(m.get("name", "")).split("/")[-1])
        for m in models
        if isinstance(m, dict)
    }


def run_teardown(
    steps: list[Step],
    *,
    dry_run: bool,
    out: TextIO,
    err: TextIO,
    runner: Callable[..., Any],
    which: Callable[[str], str | None] = shutil.which,
) -> int:
    """Print (dry run) or run the steps, skipping what is already gone."""
    if dry_run:
        for n, step in enumerate(steps, 1):
            out.write(f"{n:>2}. # {step.title}\n    {step.shell()}\n")
        out.write("dry run: nothing was run\n")
        return EXIT_OK
    if which("juju") is None:
        err.write("error: the juju client is not installed (snap install juju) or not on PATH\n")
        return EXIT_NO_JUJU
    for n, step in enumerate(steps, 1):
        if not _exists(step, runner):
            out.write(f"{n:>2}. skip ({step.title}: already gone)\n")
            continue
        out.write(f"{n:>2}. {step.title}\n    {step.shell()}\n")
        out.flush()
        result = runner(step.argv, step.env, out)
        if result.returncode != 0:
            err.write(f"error: step {n} failed with exit code {result.returncode}\n")
            if not result.shown:
                for text in (result.stdout, result.stderr):
                    if text.strip():
                        err.write(text if text.endswith("\n") else text + "\n")
            err.write("nothing after it was run; fix the cause and run teardown again\n")
            return EXIT_DEPLOY_FAILED
    out.write("done\n")
    return EXIT_OK


def _ask_storage(inp: TextIO, out: TextIO) -> str | None:
    out.write(
        "Storage: keep the NAS data (volumes released, data stays for a redo) or destroy "
        "Juju's storage? [keep/destroy] (keep): "
    )
    out.flush()
    answer = inp.readline().strip().lower()
    if answer in ("", KEEP, "k"):
        return KEEP
    if answer in (DESTROY, "d"):
        return DESTROY
    return None


def cmd_teardown(args: argparse.Namespace, out: TextIO) -> int:
    """`homelab teardown`."""
    from homelab.cli import _load_site
    from homelab.deploy import run_juju

    site = _load_site(args.site, args.err)
    if site is None:
        return EXIT_USAGE
    storage = args.storage
    if storage is None:
        if args.yes or args.dry_run:
            storage = KEEP
        else:
            storage = _ask_storage(getattr(args, "stdin", None) or sys.stdin, out)
            if storage is None:
                args.err.write("error: answer keep or destroy; nothing was done\n")
                return EXIT_USAGE
    steps = teardown_steps(site, storage)
    runner = getattr(args, "runner", None) or run_juju
    return run_teardown(steps, dry_run=args.dry_run, out=out, err=args.err, runner=runner)


def add_parser(sub: Any, common: dict) -> None:
    """The `teardown` subcommand (called from cli.build_parser)."""
    parser = sub.add_parser(
        "teardown",
        help="destroy the lab's models and cloud in the right order (safe to re-run)",
        description=(
            "Destroy, in order, the kubeflow model, the GPU operator and MetalLB models, the "
            "Kubernetes cloud and the lab model, each only if the site names it and it exists. "
            "Storage: keep the NAS data (default) or destroy Juju's storage; asked unless "
            "--storage or --yes."
        ),
        **common,
    )
    parser.add_argument("--site", required=True, help="site file")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument("--storage", choices=(KEEP, DESTROY), help="keep (default) or destroy")
    parser.add_argument(
        "--yes", action="store_true", help="do not ask (storage: keep unless --storage)"
    )
    parser.set_defaults(func=cmd_teardown)
