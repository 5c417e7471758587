"""Pack the repository's charms with charmcraft into build/charms (`tox -e build`).

Usage: python tests/integration/build_charms.py [--platform ubuntu@24.04:amd64] [CHARM ...]

Without names every charm under charms/ is packed; without --platform every platform of each
charm. The integration suites find the files there (or set HOMELAB_CHARMS_DIR to another
folder, e.g. a downloaded CI artifact). charmcraft needs LXD (or Multipass) on the host.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
import stage_charm  # noqa: E402

OUTPUT = ROOT / "build" / "charms"


def main(argv: list[str]) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", help="one platform, e.g. ubuntu@24.04:amd64")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="folder for .charm files")
    parser.add_argument("charms", nargs="*", help="charm names (default: all)")
    args = parser.parse_args(argv)

    known = sorted(p.parent.name for p in ROOT.glob("charms/*/charmcraft.yaml"))
    names = args.charms or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        print(f"unknown charms: {', '.join(unknown)} (known: {', '.join(known)})")
        return 2
    charmcraft = shutil.which("charmcraft")
    if charmcraft is None:
        print("charmcraft not found: sudo snap install charmcraft --classic (and LXD)")
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in names:
        staged = stage_charm.stage(name, check=True)  # a copy carrying homelab-core (core/)
        cmd = [charmcraft, "pack", "--project-dir", str(staged)]
        cmd += ["--output", str(args.output.resolve())]
        if args.platform:
            cmd += ["--platform", args.platform]
        print(f"=== {name}: {' '.join(cmd)}", flush=True)
        start = time.monotonic()
        code = subprocess.call(cmd, cwd=staged)
        print(f"=== {name}: exit {code} after {time.monotonic() - start:.0f}s", flush=True)
        if code != 0:
            failed.append(name)
    for path in sorted(args.output.glob("*.charm")):
        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    if failed:
        print(f"failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
