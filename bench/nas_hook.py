"""remote-nfs-mount: wall time of one update-status hook against an up, refusing or dead NAS.

The NAS is up, refusing connections, or silently dropping packets; the charm runs its real
network code against a real NFS server on 127.0.0.1.

Prints JSON rows for bench/run.py. Needs root and the Debian NFS server packages (./run-tests
installs them); otherwise prints one row saying why it was skipped.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHARM = ROOT / "charms" / "remote-nfs-mount"
sys.path[:0] = [
    str(CHARM / "src"),
    str(CHARM / "lib"),
    str(ROOT / "tests"),
    str(ROOT / "core" / "src"),
]

TIMEOUT = 2  # seconds, the charm's `timeout` option for this run


def main() -> None:
    """Entry point."""
    from support.nfs_server import missing_parts, running_nfs_server

    missing = missing_parts()
    if missing:
        rows = [{"figure": "remote-nfs-mount hook vs NAS", "skipped": ", ".join(missing)}]
        print(json.dumps({"rows": rows}))
        return

    import preflight
    import yaml
    from charm import RemoteNfsMountCharm
    from ops import testing
    from support.net_faults import blackhole

    meta = yaml.safe_load((CHARM / "charmcraft.yaml").read_text())

    class Charm(RemoteNfsMountCharm):
        network = preflight.SystemNetwork()
        nfs_client_present = staticmethod(lambda: True)

    rows = []
    with running_nfs_server() as server:
        config = {"nas-host": server.host, "export-path": server.export, "timeout": TIMEOUT}
        state = testing.State(
            config=config,
            relations={testing.SubordinateRelation("juju-info", remote_app_name="ubuntu")},
        )

        def hook(case: str) -> None:
            ctx = testing.Context(Charm, meta=meta)
            start = time.perf_counter()
            out = ctx.run(ctx.on.update_status(), state)
            wall = time.perf_counter() - start
            rows.append(
                {
                    "figure": f"remote-nfs-mount update-status, NAS {case}",
                    "value": round(wall, 3),
                    "unit": "s",
                    "ratio": round(wall / TIMEOUT, 2),
                    "ratio_of": f"timeout {TIMEOUT}s",
                    "status": f"{out.unit_status.name}: {out.unit_status.message}",
                }
            )

        hook("up")
        server.stop()
        hook("refusing connections")
        with blackhole(server.host, server.port):
            hook("dropping packets")
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
