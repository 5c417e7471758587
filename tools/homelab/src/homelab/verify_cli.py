"""The `homelab verify` subcommand: options, and loading the site and the kubeconfig."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from homelab.problems import EXIT_USAGE

DESCRIPTION = """\
Prove the deployed lab works, against its cluster, in order: (1) every node Ready; (2) the
default StorageClass (the site's storage.class; `default` on the legacy line); (3) a test claim
binds from the pool and a pod running as uid 1000, gid 100 (a notebook's) writes to it; (4) the
GPU node has nvidia.com/gpu allocatable; (5) the CK docs' nvidia-smi Job runs on the GPU node
and its log names the GPU; (6) the dashboard URL (from istio-gateway's Service, or
--dashboard-url) leads to the dex login page. Each failed step names the likely cause and the
fix. Everything it creates is in one namespace homelab-verify-<random>, deleted at the end, also
on failure and Ctrl-C. Steps the site turns off (gpu.enabled, kubeflow.enabled) are skipped.

Get the cluster's kubeconfig first:
  juju ssh kubernetes-control-plane/leader -- cat config > ~/.kube/config
  (or: juju scp kubernetes-control-plane/0:config ~/.kube/config)"""

VERIFY_EXIT_CODES = """exit codes:
  0  every step the site asks for passed (skipped steps are listed as skipped)
  1  a step failed or could not run
  2  usage or input error: bad site file, missing or refused kubeconfig
  130 interrupted (the test namespace is deleted first)"""


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError("seconds must be above 0 and at most 86400")
    return value


def add_parser(sub: Any, common: dict) -> None:
    """Add `verify` to the subcommands."""
    parser = sub.add_parser(
        "verify",
        help="prove the deployed lab works (nodes, storage, GPU, dashboard login)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=VERIFY_EXIT_CODES,
    )
    parser.add_argument("--site", required=True, help="site file")
    parser.add_argument(
        "--kubeconfig", help="the cluster's kubeconfig (default: $KUBECONFIG or ~/.kube/config)"
    )
    parser.add_argument("--context", help="kubeconfig context (default: its current-context)")
    parser.add_argument("--dashboard-url", help="the dashboard's URL (default: from the API)")
    parser.add_argument("--image", help="image of the write test (default busybox:1.36)")
    parser.add_argument(
        "--cuda-image",
        help="image of the nvidia-smi Job (default nvidia/cuda:12.1.0-base-ubuntu22.04)",
    )
    waits = (
        ("--request-timeout", "request_timeout", "each API or HTTP request", 10),
        ("--wait-nodes", "wait_nodes", "nodes to be Ready", 60),
        ("--wait-bind", "wait_bind", "the test claim to bind", 120),
        ("--wait-pod", "wait_pod", "the write test pod (image pull included)", 300),
        ("--wait-gpu", "wait_gpu", "nvidia.com/gpu to be allocatable", 60),
        ("--wait-job", "wait_job", "the nvidia-smi Job (image pull included)", 600),
        ("--wait-dashboard", "wait_dashboard", "the dashboard to lead to the login", 30),
        ("--wait-cleanup", "wait_cleanup", "the test namespace to be gone", 60),
    )
    for flag, dest, what, default in waits:
        parser.add_argument(
            flag,
            dest=dest,
            type=_seconds,
            default=float(default),
            metavar="S",
            help=f"seconds to wait for {what} (default {default})",
        )
    parser.set_defaults(func=cmd_verify)


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    """Load the site and the kubeconfig, then run the steps."""
    from homelab.site import validate
    from homelab.verify import Options, run
    from homelab.verify_kube import Kube, KubeconfigError, load_kubeconfig
    from homelab.yamlio import YamlError, load

    # the site's values only: verify may run where the built charms (charms.local_dir) are not
    try:
        site = validate(load(args.site))
    except YamlError as exc:
        args.err.write(f"{exc}\n")
        return EXIT_USAGE
    if site.problems:
        for problem in site.problems:
            args.err.write(f"{problem}\n")
        args.err.write(f"FAIL: site file {args.site}: {len(site.problems)} problem(s)\n")
        return EXIT_USAGE
    try:
        config = load_kubeconfig(args.kubeconfig, args.context)
        kube = Kube(config, timeout=args.request_timeout)
    except KubeconfigError as exc:
        args.err.write(
            f"error: {exc}\nget the cluster's kubeconfig with: juju ssh "
            "kubernetes-control-plane/leader -- cat config > ~/.kube/config\n"
        )
        return EXIT_USAGE
    opts = Options(
        **{
            name: getattr(args, name)
            for name in (
                "request_timeout",
                "wait_nodes",
                "wait_bind",
                "wait_pod",
                "wait_gpu",
                "wait_job",
                "wait_dashboard",
                "wait_cleanup",
            )
        },
        dashboard_url=args.dashboard_url,
    )
    if args.image:
        opts.image = args.image
    if args.cuda_image:
        opts.cuda_image = args.cuda_image
    return run(kube, site, opts, out)
