#!/usr/bin/env python3
"""Benchmark of the pool reconcile against the fake Kubernetes API (not a timed test).

Run from the charm directory with the dev environment:

    python tests/bench_pool.py            # N = 10, 100, 1000
    python tests/bench_pool.py --sizes 10 100
    python tests/bench_pool.py --json     # rows for bench/run.py, as JSON on the last line

For each N (N PVs in sizes of at most 500, min-available 0) it reports, counting the requests
the fake API server received:

- first reconcile: requests made / the minimum (N creates + the reads: 2 LISTs of PVs, ours
  by label and every name, which any reconcile that creates PVs makes to find collisions
  before the NAS is touched; 1 LIST of StorageClasses, 1 POST of the class);
- steady state (update-status, class check cached): requests / 1 (one LIST, no writes);
- steady state with the hourly class check: requests / 2;
- a one-size change (+10% of N): requests / (changes + 2 LISTs);
- CPU time of the reconciling thread per steady-state reconcile (median of 5; the fake API
  server runs in other threads and is not counted).

Then the cold import cost of `src/charm.py` against bare `ops` (median of 5 fresh
interpreters). The NAS step runs against a local directory "mounted" with a symlink (the
directory code is the charm's own; only the mount command is replaced).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHARM = HERE.parent
sys.path[:0] = [
    str(CHARM / "src"),
    str(CHARM / "lib"),
    str(CHARM.parent.parent / "core" / "src"),
    str(CHARM.parent.parent / "tests"),
]

from support.fake_kube import FakeKube  # noqa: E402
from unit.fakes import LinkMounter  # noqa: E402

import cluster  # noqa: E402
import manifests  # noqa: E402
import nas  # noqa: E402
import provisioner  # noqa: E402
from marker import PoolId  # noqa: E402
from pool import Target, parse_pool  # noqa: E402

OWNER = manifests.ownership_labels("bench", "static-pv-provisioner")


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
            yield nas.ExportDirectories(
                root, "10.0.0.5:/volume1/k8s", 0o770, 0, 0, pool=PoolId("k8s", "u", "a", "c")
            )

    fk.reset_requests()
    cpu = time.thread_time()
    outcome = provisioner.reconcile(settings(pool), api, open_export, lambda: None, check_class)
    cpu = time.thread_time() - cpu
    return outcome, fk.count(), cpu


@dataclass
class Figures:
    """What one N measured (requests counted by the fake API, CPU of the reconciling thread)."""

    n: int
    pool: str
    first: int
    first_posts: int
    first_cpu: float
    steady: int
    steady_writes: int
    steady_class: int
    steady_cpu: float
    grow: int
    change: int
    change_writes: int

    @property
    def first_minimum(self) -> int:
        """N creates + 2 LISTs of PVs, 1 LIST of StorageClasses, 1 POST of the class."""
        return self.n + 4


def bench(n: int) -> Figures:
    with FakeKube() as fk, tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "export"
        export.mkdir()
        api = cluster.Cluster(
            cluster.read_kubeconfig_file(str(fk.write_kubeconfig(Path(tmp) / "kc")))
        )
        pool = pool_text(n)
        outcome, first, first_cpu = run_once(fk, api, export, pool, True)
        assert outcome.status == "active", outcome.message
        first_posts = fk.count("POST")
        _, steady, _ = run_once(fk, api, export, pool, False)
        steady_writes = fk.count() - fk.count("LIST") - fk.count("GET")
        _, steady_class, _ = run_once(fk, api, export, pool, True)
        cpus = [run_once(fk, api, export, pool, False)[2] for _ in range(5)]
        grow = max(1, n // 10)
        _, change, _ = run_once(fk, api, export, pool_text(n, grow), False)
        change_writes = fk.count("POST") + fk.count("PATCH") + fk.count("DELETE")
        assert change_writes == grow
        return Figures(
            n=n,
            pool=pool,
            first=first,
            first_posts=first_posts,
            first_cpu=first_cpu,
            steady=steady,
            steady_writes=steady_writes,
            steady_class=steady_class,
            steady_cpu=statistics.median(cpus),
            grow=grow,
            change=change,
            change_writes=change_writes,
        )


def human(f: Figures) -> dict[str, str]:
    """The figures of one N as the lines the script prints without --json."""
    return {
        "N": f"{f.n} (pool {f.pool})",
        "first reconcile": f"{f.first} requests ({f.first_posts} POST) / {f.first_minimum} = "
        f"{f.first / f.first_minimum:.2f}",
        "steady state": f"{f.steady} ({f.steady_writes} writes) / 1 = {f.steady:.2f}",
        "steady + class check": f"{f.steady_class} / 2 = {f.steady_class / 2:.2f}",
        f"+{f.grow} PVs": f"{f.change} ({f.change_writes} writes) / {f.grow + 2} = "
        f"{f.change / (f.grow + 2):.2f}",
        "CPU first reconcile": f"{f.first_cpu * 1000:.1f} ms",
        "CPU per steady reconcile": f"{f.steady_cpu * 1000:.1f} ms",
    }


def rows(figures: list[Figures], imports: dict[str, float]) -> list[dict[str, object]]:
    """The rows for bench/run.py: every request count ÷ its minimum, CPU, imports ÷ ops."""
    out: list[dict[str, object]] = []
    base = figures[0]
    for f in figures:
        name = f"static-pv-provisioner: N={f.n}"
        out += [
            {
                "figure": f"{name} first reconcile: requests",
                "value": f.first,
                "unit": "requests",
                "ratio": round(f.first / f.first_minimum, 2),
                "ratio_of": f"minimum {f.first_minimum} ({f.n} PV creates, 3 LIST, 1 class)",
                "note": f"{f.first_posts} POST",
            },
            {
                "figure": f"{name} first reconcile: CPU",
                "value": round(f.first_cpu * 1000, 1),
                "unit": "ms",
                "ratio": round(f.first_cpu / f.n * 1000, 3),
                "ratio_of": "ms per PV created (NAS directory included)",
            },
            {
                "figure": f"{name} steady state: requests",
                "value": f.steady,
                "unit": "requests",
                "ratio": round(f.steady / 1, 2),
                "ratio_of": "minimum 1 (1 LIST, 0 writes)",
                "note": f"{f.steady_writes} writes",
            },
            {
                "figure": f"{name} steady state + hourly class check: requests",
                "value": f.steady_class,
                "unit": "requests",
                "ratio": round(f.steady_class / 2, 2),
                "ratio_of": "minimum 2 (2 LIST, 0 writes)",
            },
            {
                "figure": f"{name} steady state: CPU",
                "value": round(f.steady_cpu * 1000, 1),
                "unit": "ms",
                "ratio": round(f.steady_cpu / base.steady_cpu, 2),
                "ratio_of": f"N={base.n} steady CPU",
                "note": "median of 5; the fake API server's threads are not counted",
            },
            {
                "figure": f"{name} one-size change (+{f.grow} PVs): requests",
                "value": f.change,
                "unit": "requests",
                "ratio": round(f.change / (f.grow + 2), 2),
                "ratio_of": f"minimum {f.grow + 2} ({f.grow} creates + 2 LIST)",
                "note": f"{f.change_writes} writes",
            },
        ]
    out += [
        {
            "figure": "static-pv-provisioner: import charm",
            "value": round(imports["charm"] * 1000, 1),
            "unit": "ms",
            "ratio": round(imports["charm"] / imports["ops"], 2),
            "ratio_of": "import ops",
            "note": "non-leaders and steady hooks before lightkube",
        },
        {
            "figure": "static-pv-provisioner: import charm + lightkube (leader)",
            "value": round(imports["lightkube"] * 1000, 1),
            "unit": "ms",
            "ratio": round(imports["lightkube"] / imports["ops"], 2),
            "ratio_of": "import ops",
        },
    ]
    return out


def import_time(code: str, runs: int = 5) -> float:
    """Median wall time of a fresh interpreter running `code` (seconds)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path[:4])}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument(
        "--json", action="store_true", help="print the rows for bench/run.py as the last line"
    )
    args = parser.parse_args()
    figures = []
    for n in args.sizes:
        figures.append(bench(n))
        if not args.json:
            for key, value in human(figures[-1]).items():
                print(f"{key:>26}: {value}")
            print()
    baseline = import_time("pass")
    imports = {
        "ops": import_time("import ops") - baseline,
        "charm": import_time("import charm") - baseline,
        "lightkube": import_time("import charm, cluster, lightkube.resources.core_v1") - baseline,
    }
    if args.json:
        print(json.dumps({"rows": rows(figures, imports)}))
        return
    ops_time, charm_time, lightkube_time = imports["ops"], imports["charm"], imports["lightkube"]
    print(f"{'interpreter start':>26}: {baseline * 1000:.0f} ms")
    print(f"{'import ops':>26}: {ops_time * 1000:.0f} ms")
    print(f"{'import charm':>26}: {charm_time * 1000:.0f} ms ({charm_time / ops_time:.2f} x ops)")
    print(
        f"{'charm + lightkube (leader)':>26}: {lightkube_time * 1000:.0f} ms "
        f"({lightkube_time / ops_time:.2f} x ops)"
    )


if __name__ == "__main__":
    main()
