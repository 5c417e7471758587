"""The project's benchmark: one run, every figure a ratio measured in that same run.

Usage: python bench/run.py [--repeat N]   (tox -e bench)

Writes bench/results/latest.md (a Markdown table, with the machine it ran on) and
bench/results/latest.json, and prints the table. Sections, each in its own process:

- per charm: cold import of src/charm.py and one update-status dispatch (bench/probe.py),
  median of N fresh interpreters, ÷ the same for a bare ops charm (bench/bare);
- every `bench_*.py` script in a charm's or tool's `tests/` directory and bench/nas_hook.py:
  each prints JSON `{"rows": [{"figure", "value", "unit", "ratio", "ratio_of", ...}]}`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def probe(charm_dir: Path, repeat: int) -> dict[str, float]:
    """Median import and dispatch seconds over `repeat` fresh interpreters."""
    samples = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "probe.py"), str(charm_dir)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def charm_rows(repeat: int) -> list[dict[str, object]]:
    """Import and dispatch of every charm ÷ the bare ops charm."""
    bare = probe(ROOT / "bench" / "bare", repeat)
    rows: list[dict[str, object]] = [
        {"figure": "bare ops charm: cold import", "value": ms(bare["import_s"]), "unit": "ms"},
        {"figure": "bare ops charm: update-status", "value": ms(bare["dispatch_s"]), "unit": "ms"},
    ]
    for charm_dir in sorted((ROOT / "charms").glob("*/src/charm.py")):
        charm = charm_dir.parents[1]
        figures = probe(charm, repeat)
        for key, label in (("import_s", "cold import"), ("dispatch_s", "update-status")):
            rows.append(
                {
                    "figure": f"{charm.name}: {label}",
                    "value": ms(figures[key]),
                    "unit": "ms",
                    "ratio": round(figures[key] / bare[key], 2),
                    "ratio_of": f"bare ops charm {label}",
                }
            )
    return rows


def script_rows(script: Path) -> list[dict[str, object]]:
    """Run one benchmark script and return its rows (or one row saying it failed)."""
    start = time.monotonic()
    out = subprocess.run(
        [sys.executable, str(script), "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=script.parent,
    )
    name = script.relative_to(ROOT).as_posix()
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return [{"figure": name, "skipped": f"failed (exit {out.returncode}): {tail}"}]
    rows = json.loads(out.stdout.strip().splitlines()[-1])["rows"]
    print(f"  {name}: {len(rows)} rows in {time.monotonic() - start:.1f}s", file=sys.stderr)
    return rows


def ms(seconds: float) -> float:
    """Seconds to milliseconds, rounded for the table."""
    return round(seconds * 1000, 1)


def machine() -> str:
    """The machine the figures come from."""
    return (
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def table(rows: list[dict[str, object]]) -> str:
    """The Markdown table."""
    lines = ["| figure | value | ratio | of | note |", "|---|---|---|---|---|"]
    for row in rows:
        if "skipped" in row:
            lines.append(f"| {row['figure']} | — | — | — | skipped: {row['skipped']} |")
            continue
        value = f"{row['value']} {row.get('unit', '')}".strip()
        note = row.get("note") or row.get("status") or ""
        ratio, of = row.get("ratio", ""), row.get("ratio_of", "")
        lines.append(f"| {row['figure']} | {value} | {ratio} | {of} | {note} |")
    return "\n".join(lines)


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh interpreters per probe")
    args = parser.parse_args()

    print("charms: import and update-status", file=sys.stderr)
    rows = charm_rows(args.repeat)
    scripts = [
        ROOT / "bench" / "nas_hook.py",
        *sorted(ROOT.glob("charms/*/tests/bench_*.py")),
        *sorted(ROOT.glob("tools/*/tests/bench_*.py")),
    ]
    scripts = [s for s in scripts if s.name != "bench_scenario.py"]  # probe.py's, not a script
    for script in scripts:
        rows += script_rows(script)

    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report = f"Benchmark of {stamp} on {machine()}\n\n{table(rows)}\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(report)
    (RESULTS / "latest.json").write_text(
        json.dumps({"date": stamp, "machine": machine(), "rows": rows}, indent=2) + "\n"
    )
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
