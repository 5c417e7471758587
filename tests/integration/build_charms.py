"""Pack the repository's charms with charmcraft into build/charms (`tox -e build`).

Usage: python tests/integration/build_charms.py [--platform ubuntu@24.04:amd64] [CHARM ...]

Without names every charm under charms/ is packed; without --platform every platform of each
charm. The integration suites find the files there (or set HOMELAB_CHARMS_DIR to another
folder, e.g. a downloaded CI artifact). charmcraft needs LXD (or Multipass) on the host.
A thin caller of `homelab build` (tools/homelab/src/homelab/build.py): the same staging and the
same `charmcraft pack` command per charm.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "homelab" / "src"))
from homelab import build  # noqa: E402 - the tool's package, from this checkout

OUTPUT = ROOT / "build" / "charms"


def main(argv: list[str]) -> int:
    """Entry point: 0 all packed, 1 a pack failed, 2 nothing could start."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", help="one platform, e.g. ubuntu@24.04:amd64")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="folder for .charm files")
    parser.add_argument("charms", nargs="*", help="charm names (default: all)")
    args = parser.parse_args(argv)
    request = build.Request(ROOT, args.output, list(args.charms), platform=args.platform)
    try:
        packed = build.build(request, sys.stdout, sys.stdout)
    except build.BuildError as exc:
        print(exc)
        return 2
    if packed.failed:
        print(f"failed: {', '.join(packed.failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
