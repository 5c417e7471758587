"""Benchmark of the gpu-node-labeler charm; prints the figures quoted in its README.

Run from the charm directory:  python tests/bench_labeler.py [--runs N] [--json]

With --json the last stdout line is `{"rows": [...]}` for bench/run.py (the project benchmark):
requests per steady-state update-status against the target (at most 1 read, 0 writes), first
run, hardware change, removal, the hook's wall time, and the import ratio to bare `ops`.

1. Cold import cost (fresh interpreter, median of N): bare `ops`, `ops` + `lightkube`, and the
   charm's entry module `charm`, whose ratio to bare `ops` is the figure; also whether `import
   charm` pulled in lightkube (it must not).
2. API requests per update-status against the fake Kubernetes API (real lightkube over HTTP):
   first run, steady state (unchanged hardware and labels), a hardware change, removal.
3. Wall time of one update-status hook (ops.testing, in process, fake API over HTTP).
4. Detection time: a fixture tree; this machine's real /sys; parsing a ~1 MB pci.ids-format
   file (synthetic: no copy of the real file is kept).
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHARM = HERE.parent
CORE = CHARM.parent.parent / "core" / "src"  # homelab_core, packed into the charm
SRC_PATH = f"{CHARM / 'src'}:{CORE}"
sys.path[:0] = [str(CHARM / "src"), str(CORE), str(CHARM.parent.parent / "tests"), str(HERE)]

import conftest  # noqa: E402 - the fixture trees and the charm Context factory
from support.fake_kube import FakeKube  # noqa: E402

import gpu  # noqa: E402


def cold_imports(statements: list[str], runs: int) -> dict[str, tuple[float, float]]:
    """Per statement: median (CPU ms, wall ms) of a fresh interpreter running it, minus those of
    an empty one. Runs are interleaved so that load from other processes hits all alike; CPU
    time (user + system of the child) is the steadier figure on a shared machine."""
    env = {"PYTHONPATH": SRC_PATH}

    def once(code: str) -> tuple[float, float]:
        before = os.times()
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=CHARM, env=env)
        wall = (time.perf_counter() - start) * 1000
        after = os.times()
        cpu = (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )
        return cpu * 1000, wall

    codes = ["pass", *statements]
    for code in codes:
        once(code)  # warm the page cache, write .pyc files
    samples: dict[str, list[tuple[float, float]]] = {code: [] for code in codes}
    for _ in range(runs):
        for code in codes:
            samples[code].append(once(code))

    def med(code: str, i: int) -> float:
        return statistics.median(s[i] for s in samples[code])

    return {
        code: (med(code, 0) - med("pass", 0), med(code, 1) - med("pass", 1)) for code in statements
    }


def importtime(modules: list[str], runs: int) -> float:
    """Median of the summed top-level cumulative times (ms) that `python -X importtime` reports
    for importing `modules` in a fresh interpreter: in-process, microsecond resolution."""
    code = "import " + ", ".join(modules)
    samples = []
    for _ in range(runs):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            cwd=CHARM,
            env={"PYTHONPATH": SRC_PATH},
            check=True,
        ).stderr
        total = 0
        for line in err.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[2].rstrip() in {f" {m}" for m in modules}:
                total += int(parts[1])
        samples.append(total / 1000)
    return statistics.median(samples)


Row = dict[str, object]


def imports(runs: int) -> tuple[list[str], list[Row]]:
    got = cold_imports(["import ops", "import ops, lightkube", "import charm"], runs)
    ops_cpu = got["import ops"][0]
    it = {
        "import ops": importtime(["ops"], runs),
        "import ops, lightkube": importtime(["ops", "lightkube"], runs),
        "import charm": importtime(["charm"], runs),
    }
    leak = subprocess.run(
        [sys.executable, "-c", "import charm, sys; print('lightkube' in sys.modules)"],
        capture_output=True,
        text=True,
        cwd=CHARM,
        env={"PYTHONPATH": SRC_PATH},
        check=True,
    ).stdout.strip()
    lines = [
        "| import (fresh interpreter) | -X importtime ms | ratio to ops | process CPU ms "
        "(minus empty) | process wall ms (minus empty) |",
        "|---|---|---|---|---|",
    ]
    for code, (cpu, wall) in got.items():
        ratio = it[code] / it["import ops"]
        lines.append(f"| `{code}` | {it[code]:.1f} | {ratio:.2f} | {cpu:.0f} | {wall:.0f} |")
    lines.append(f"\nprocess CPU ratio charm/ops: {got['import charm'][0] / ops_cpu:.2f}")
    lines.append(f"\nlightkube in sys.modules after `import charm`: {leak}")
    rows: list[Row] = [
        {
            "figure": "gpu-node-labeler: import charm (-X importtime)",
            "value": round(it["import charm"], 1),
            "unit": "ms",
            "ratio": round(it["import charm"] / it["import ops"], 2),
            "ratio_of": "import ops",
            "note": f"lightkube imported: {leak.lower()}; "
            f"process CPU ratio {got['import charm'][0] / ops_cpu:.2f}",
        },
        {
            "figure": "gpu-node-labeler: import ops, lightkube (-X importtime)",
            "value": round(it["import ops, lightkube"], 1),
            "unit": "ms",
            "ratio": round(it["import ops, lightkube"] / it["import ops"], 2),
            "ratio_of": "import ops",
            "note": "what every hook would pay with lightkube imported at module level",
        },
    ]
    return lines, rows


def _requests_row(what: str, counts: tuple[int, int, int], minimum: tuple[int, int]) -> Row:
    total = counts[0] + counts[1] + counts[2]
    return {
        "figure": f"gpu-node-labeler: API requests, {what}",
        "value": total,
        "unit": "requests",
        "ratio": round(total / sum(minimum), 2),
        "ratio_of": f"minimum ({minimum[0]} GET + {minimum[1]} PATCH)",
        "note": f"{counts[0]} GET, {counts[1]} PATCH, {counts[2]} other",
    }


def requests_and_hook_time(runs: int, work: Path) -> tuple[list[str], list[Row]]:
    lines = ["| update-status | GET | PATCH | other |", "|---|---|---|---|"]
    rows: list[Row] = []
    hook_ms: list[float] = []
    with FakeKube() as fk:
        fk.add_token("kubelet-token", "system:node:gpu-box")
        fk.create({"kind": "Node", "metadata": {"name": "gpu-box"}})
        kubeconfig = str(fk.write_kubeconfig(work / "kubelet.conf", token="kubelet-token"))

        def hook(tree: str, state, event: str = "update_status"):
            root = work / tree
            if not root.exists():
                conftest.build_tree(tree, root)
            ctx = conftest.context(conftest.charm_type(root, conftest.smi_for(tree)))
            fk.reset_requests()
            start = time.perf_counter()
            out = ctx.run(getattr(ctx.on, event)(), state)
            elapsed = (time.perf_counter() - start) * 1000
            other = len(fk.requests) - fk.count("GET") - fk.count("PATCH")
            return out, (fk.count("GET"), fk.count("PATCH"), other), elapsed

        state = conftest.state({"kubeconfig-path": kubeconfig})
        state, counts, _ = hook("rtx2080ti-nvidia", state)
        lines.append(f"| first run (labels added) | {counts[0]} | {counts[1]} | {counts[2]} |")
        rows.append(_requests_row("first run (labels added)", counts, (1, 1)))
        steady = []
        for _ in range(runs):
            state, counts, ms = hook("rtx2080ti-nvidia", state)
            steady.append(counts)
            hook_ms.append(ms)
        worst = max(steady)
        lines.append(f"| steady state (worst of {runs}) | {worst[0]} | {worst[1]} | {worst[2]} |")
        met = worst[0] <= 1 and worst[1] == 0 and worst[2] == 0
        rows += [
            {
                "figure": "gpu-node-labeler: steady-state update-status, reads (GET)",
                "value": worst[0],
                "unit": "requests",
                "ratio": round(worst[0] / 1, 2),
                "ratio_of": "target ≤ 1 read",
                "note": f"worst of {runs} hooks; target met: {'yes' if met else 'NO'}",
            },
            {
                "figure": "gpu-node-labeler: steady-state update-status, writes (PATCH)",
                "value": worst[1],
                "unit": "requests",
                "note": f"target 0 writes; {worst[2]} other requests; worst of {runs} hooks",
            },
        ]
        state, counts, _ = hook("two-models", state)
        lines.append(f"| hardware change (2nd model) | {counts[0]} | {counts[1]} | {counts[2]} |")
        rows.append(_requests_row("hardware change (2nd model)", counts, (1, 1)))
        state, counts, _ = hook("two-models", state, "stop")
        lines.append(f"| stop (labels removed) | {counts[0]} | {counts[1]} | {counts[2]} |")
        rows.append(_requests_row("stop (labels removed)", counts, (1, 1)))
    lines += [
        "",
        f"update-status hook, steady state (ops.testing in process, fake API over HTTP): "
        f"median {statistics.median(hook_ms):.1f} ms over {runs} runs.",
    ]
    rows.append(
        {
            "figure": "gpu-node-labeler: steady-state update-status hook (in process)",
            "value": round(statistics.median(hook_ms), 1),
            "unit": "ms",
            "note": f"ops.testing, real lightkube over HTTP to the fake API; median of {runs}",
        }
    )
    return lines, rows


def detection(runs: int, work: Path) -> list[str]:
    root = conftest.build_tree("two-models", work / "detect-tree")
    runner = conftest.smi_for("two-models")

    def timed(fn) -> float:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000)
        return statistics.median(samples)

    tree_ms = timed(lambda: gpu.detect(root, runner, 10))
    real = gpu.detect("/", conftest.FakeSmi(returncode=9), 10)
    real_ms = timed(lambda: gpu.detect("/", conftest.FakeSmi(returncode=9), 10))
    lines_ = ["# synthetic, pci.ids format"]
    for vendor in range(0x1000, 0x1000 + 2400):
        lines_.append(f"{vendor:04x}  Vendor {vendor:04x}")
        for device in range(12):
            lines_.append(f"\t{device:04x}  Device {device} [Model {vendor:04x}-{device}]")
    text = "\n".join(lines_) + "\n"
    parse_ms = timed(lambda: gpu.parse_pci_ids(text))
    return [
        "| detection | median ms |",
        "|---|---|",
        f"| fixture tree `two-models` (8 PCI functions, fake nvidia-smi) | {tree_ms:.2f} |",
        f"| this machine's /sys ({len(list(Path('/sys/bus/pci/devices').iterdir()))} PCI "
        f"functions, {len(real.gpus)} NVIDIA GPU) | {real_ms:.2f} |",
        f"| parse a {len(text) / 1e6:.1f} MB pci.ids-format file for 10de | {parse_ms:.1f} |",
    ]


def main() -> None:
    """Print every figure as Markdown, or (--json) the rows bench/run.py collects."""
    parser = argparse.ArgumentParser(description="Benchmark of the gpu-node-labeler charm.")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON, last line")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        request_lines, request_rows = requests_and_hook_time(args.runs, work)
        import_lines, import_rows = imports(args.runs)
        if args.json:
            print(json.dumps({"rows": request_rows + import_rows}, ensure_ascii=False))
            return
        print(f"Python {sys.version.split()[0]}, {args.runs} runs each\n")
        for section in (import_lines, request_lines, detection(args.runs, work)):
            print("\n".join(section) + "\n")


if __name__ == "__main__":
    main()
