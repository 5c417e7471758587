"""Benchmark of `homelab check` on the full lab; prints the figures quoted in the README.

Run:  python tools/homelab/tests/bench_check.py [--runs N] [--json]

The full lab is the upstream charmed-kubernetes bundle (built in) with the four machine
overlays, as in the README's "Speed" paragraph:

    homelab check charmed-kubernetes --overlay overlays/placement.yaml \\
        --overlay overlays/storage.yaml --overlay overlays/gpu-worker.yaml \\
        --overlay overlays/gpu-storage.yaml

Figures (medians of N, runs interleaved so that load from other processes hits all alike):

1. `check` in process (the CLI's `main`, after one warm-up run), and that ÷ the time to parse
   the same four overlay files alone with `yaml.safe_load`: what the merge and every check cost
   on top of reading the YAML;
2. homelab's own loader alone (line numbers and duplicate keys kept) ÷ `yaml.safe_load`;
3. `python -m homelab check ...` as a fresh process ÷ a fresh `python -c "import yaml"`.

With --json the last stdout line is `{"rows": [...]}` for bench/run.py.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOL = HERE.parent
REPO = TOOL.parent.parent
sys.path.insert(0, str(TOOL / "src"))

import yaml  # noqa: E402

from homelab.cli import main as homelab  # noqa: E402
from homelab.yamlio import load  # noqa: E402

OVERLAYS = [
    REPO / "overlays" / f"{n}.yaml" for n in ("placement", "storage", "gpu-worker", "gpu-storage")
]
ARGS = ["check", "charmed-kubernetes"] + [a for p in OVERLAYS for a in ("--overlay", str(p))]


def check_once() -> None:
    out = io.StringIO()
    code = homelab(ARGS, out)
    if code != 0:
        raise SystemExit(f"homelab check failed (exit {code}):\n{out.getvalue()}")


def parse_once() -> None:
    for path in OVERLAYS:
        yaml.safe_load(path.read_text())


def load_once() -> None:
    for path in OVERLAYS:
        load(path)


def process(argv: list[str]) -> Callable[[], None]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{TOOL / 'src'}:{REPO / 'core' / 'src'}",
        "HOMELAB_REPO": str(REPO),
    }

    def once() -> None:
        subprocess.run(argv, env=env, cwd=REPO, check=True, capture_output=True)

    return once


def medians(fns: dict[str, Callable[[], None]], runs: int) -> dict[str, float]:
    """Median seconds of each function over `runs` interleaved rounds (after one warm-up)."""
    for fn in fns.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(s) for name, s in samples.items()}


def main() -> None:
    """Print the figures (Markdown), or (--json) the rows bench/run.py collects."""
    parser = argparse.ArgumentParser(description="Benchmark of `homelab check` on the full lab.")
    parser.add_argument("--runs", type=int, default=21, help="in-process runs (processes: 1/3)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON, last line")
    args = parser.parse_args()
    inproc = medians({"check": check_once, "safe_load": parse_once, "load": load_once}, args.runs)
    procs = medians(
        {
            "check": process([sys.executable, "-m", "homelab", *ARGS]),
            "python": process([sys.executable, "-c", "import yaml"]),
        },
        max(3, args.runs // 3),
    )
    size = sum(p.stat().st_size for p in OVERLAYS)
    ms = {k: v * 1000 for k, v in inproc.items()}
    rows = [
        {
            "figure": "homelab check, full lab (in process)",
            "value": round(ms["check"], 2),
            "unit": "ms",
            "ratio": round(ms["check"] / ms["safe_load"], 1),
            "ratio_of": "yaml.safe_load of the same 4 overlay files",
            "note": f"upstream charmed-kubernetes (built in) + 4 overlays; median of {args.runs}",
        },
        {
            "figure": "homelab check, full lab: parse the YAML alone (yaml.safe_load)",
            "value": round(ms["safe_load"], 2),
            "unit": "ms",
            "note": f"4 overlay files, {size / 1024:.1f} KiB",
        },
        {
            "figure": "homelab check, full lab: homelab's YAML loader alone (lines, duplicates)",
            "value": round(ms["load"], 2),
            "unit": "ms",
            "ratio": round(ms["load"] / ms["safe_load"], 2),
            "ratio_of": "yaml.safe_load of the same 4 overlay files",
        },
        {
            "figure": "homelab check, full lab (fresh process)",
            "value": round(procs["check"] * 1000, 1),
            "unit": "ms",
            "ratio": round(procs["check"] / procs["python"], 2),
            "ratio_of": "python -c 'import yaml' (interpreter start-up)",
            "note": f"python -m homelab check ...; median of {max(3, args.runs // 3)}",
        },
    ]
    if args.json:
        print(json.dumps({"rows": rows}, ensure_ascii=False))
        return
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores\n")
    print("| figure | value | ratio | of |\n|---|---|---|---|")
    for row in rows:
        value = f"{row['value']} {row['unit']}"
        print(
            f"| {row['figure']} | {value} | {row.get('ratio', '')} | {row.get('ratio_of', '')} |"
        )


if __name__ == "__main__":
    main()
