"""Measure one charm in a fresh interpreter: cold import of src/charm.py, one update-status.

Usage: python bench/probe.py CHARM_DIR

Prints JSON: {"import_s": ..., "dispatch_s": ...}. `dispatch_s` is the cold import of the charm
(ops included) plus one update-status run through ops.testing; the ops.testing harness itself
is imported in between and not counted. A charm's `tests/bench_scenario.py`, when present,
provides `context()` and `state()` with its I/O faked (network, Kubernetes API), so the figure is
the charm's own cost; without one the charm runs with default config and no relations.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Entry point."""
    charm_dir = Path(sys.argv[1]).resolve()
    for path in ("tests", "lib", "src"):
        sys.path.insert(0, str(charm_dir / path))
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.append(str(ROOT / "core" / "src"))  # homelab_core: in the packed charm's venv

    start = time.perf_counter()
    charm = importlib.import_module("charm")
    imported = time.perf_counter() - start

    import ops
    import yaml
    from ops import testing

    if (charm_dir / "tests" / "bench_scenario.py").exists():
        scenario = importlib.import_module("bench_scenario")
        ctx, state = scenario.context(), scenario.state()
    else:
        charm_type = next(
            obj
            for obj in vars(charm).values()
            if inspect.isclass(obj)
            and issubclass(obj, ops.CharmBase)
            and obj.__module__ == "charm"
        )
        meta = yaml.safe_load((charm_dir / "charmcraft.yaml").read_text())
        ctx, state = testing.Context(charm_type, meta=meta), testing.State()
    start = time.perf_counter()
    ctx.run(ctx.on.update_status(), state)
    ran = time.perf_counter() - start
    print(json.dumps({"import_s": imported, "dispatch_s": imported + ran}))


if __name__ == "__main__":
    main()
