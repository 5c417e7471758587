#!/usr/bin/env python3
"""Benchmark of the pool reconcile against the fake Kubernetes API (not a timed test).

Run from the charm directory with the dev environment:

    python tests/bench_pool.py            # N = 10, 100, 1000
    python tests/bench_pool.py --sizes 10 100

For each N (N PVs in sizes of at most 500, min-available 0) it reports, counting the requests
the fake API server received:

- first reconcile: requests made / the minimum (N creates + the reads: 1 LIST of PVs,
  1 LIST of StorageClasses, 1 POST of the class);
- steady state (update-status, class check cached): requests / 1 (one LIST, no writes);
- steady state with the hourly class check: requests / 2;
- a one-size change (+10% of N): requests / (changes + 1 LIST);
- CPU time of the reconciling thread per steady-state reconcile (median of 5; the fake API
  server runs in other threads and is not counted).

Then the cold import cost of `src/charm.py` against bare `ops` (median of 5 fresh
interpreters). The NAS step runs against a local directory "mounted" with a symlink (the
directory code is the charm's own; only the mount command is replaced).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHARM = HERE.parent
sys.path[:0] = [str(CHARM / "src"), str(CHARM / "lib"), str(CHARM.parent.parent / "tests")]

from support.fake_kube import FakeKube  # noqa: E402

import cluster  # noqa: E402
import manifests  # noqa: E402
import nas  # noqa: E402
import provisioner  # noqa: E402
from pool import Target, parse_pool  # noqa: E402

OWNER = manifests.ownership_labels("bench", "static-pv-provisioner")


class LinkMounter:
    """Mounts a local directory by making the mount point a symlink to it."""

    def __init__(self, export: Path):
        self.export = export

    def mount(self, source: str, target: str, options: Sequence[str], timeout: float) -> None:
        os.rmdir(target)
        os.symlink(self.export, target)

    def unmount(self, target: str, timeout: float) -> None:
        os.unlink(target)
        os.mkdir(target)


def pool_text(n: int, grow: int = 0) -> str:
    """N PVs in sizes of at most 500 each (1Gi, 2Gi, ...); `grow` more of the first size."""
    counts = [min(500, n - i) for i in range(0, n, 500)]
    counts[0] += grow
    return ",".join(f"{i + 1}Gi:{c}" for i, c in enumerate(counts))


def settings(pool: str) -> provisioner.Settings:
    target = Target(
        class_name="bench",
        server="10.0.0.5",
        export="/volume1/k8s",
        mount_options=("nfsvers=4.1", "hard"),
        sizes=parse_pool(pool, 999),
        min_available=0,
        max_per_size=999,
    )
    return provisioner.Settings(
        target=target, owner=OWNER, binding_mode="Immediate", set_default=False, adopt_class=False
    )


def run_once(fk: FakeKube, api: cluster.Cluster, export: Path, pool: str, check_class: bool):
    mounter = LinkMounter(export)

    @contextmanager
    def open_export() -> Iterator[nas.ExportDirectories]:
        with nas.mounted_export("10.0.0.5:/volume1/k8s", ("soft",), 5, mounter) as root:
            yield nas.ExportDirectories(root, "10.0.0.5:/volume1/k8s", 0o770, 0, 0)

    fk.reset_requests()
    cpu = time.thread_time()
    outcome = provisioner.reconcile(settings(pool), api, open_export, lambda: None, check_class)
    cpu = time.thread_time() - cpu
    return outcome, fk.count(), cpu


def bench(n: int) -> dict[str, str]:
    with FakeKube() as fk, tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export"
        export.mkdir()
        api = cluster.Cluster(
            cluster.read_kubeconfig_file(str(fk.write_kubeconfig(Path(tmp) / "kc")))
        )
        pool = pool_text(n)
        outcome, first, _ = run_once(fk, api, export, pool, True)
        assert outcome.status == "active", outcome.message
        first_writes = fk.count("POST")
        _, steady, _ = run_once(fk, api, export, pool, False)
        _, steady_class, _ = run_once(fk, api, export, pool, True)
        cpus = [run_once(fk, api, export, pool, False)[2] for _ in range(5)]
        grow = max(1, n // 10)
        _, change, _ = run_once(fk, api, export, pool_text(n, grow), False)
        change_writes = fk.count("POST") + fk.count("PATCH") + fk.count("DELETE")
        assert change_writes == grow
        return {
            "N": f"{n} (pool {pool})",
            "first reconcile": f"{first} requests ({first_writes} POST) / {n + 3} = "
            f"{first / (n + 3):.2f}",
            "steady state": f"{steady} / 1 = {steady:.2f}",
            "steady + class check": f"{steady_class} / 2 = {steady_class / 2:.2f}",
            f"+{grow} PVs": f"{change} ({change_writes} writes) / {grow + 1} = "
            f"{change / (grow + 1):.2f}",
            "CPU per steady reconcile": f"{statistics.median(cpus) * 1000:.1f} ms",
        }


def import_time(code: str, runs: int = 5) -> float:
    """Median wall time of a fresh interpreter running `code` (seconds)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path[:3])}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    args = parser.parse_args()
    for n in args.sizes:
        for key, value in bench(n).items():
            print(f"{key:>26}: {value}")
        print()
    baseline = import_time("pass")
    ops_time = import_time("import ops") - baseline
    charm_time = import_time("import charm") - baseline
    lightkube_time = import_time("import charm, cluster, lightkube.resources.core_v1") - baseline
    print(f"{'interpreter start':>26}: {baseline * 1000:.0f} ms")
    print(f"{'import ops':>26}: {ops_time * 1000:.0f} ms")
    print(f"{'import charm':>26}: {charm_time * 1000:.0f} ms ({charm_time / ops_time:.2f} x ops)")
    print(
        f"{'charm + lightkube (leader)':>26}: {lightkube_time * 1000:.0f} ms "
        f"({lightkube_time / ops_time:.2f} x ops)"
    )


if __name__ == "__main__":
    main()
