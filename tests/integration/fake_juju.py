"""A fake `juju` command for the integration backend's unit tests (no Juju here).

Each call appends its argv (without `juju`) as one JSON line to $FAKE_JUJU_DIR/calls.jsonl and
answers from $FAKE_JUJU_DIR:
- `juju version` prints $FAKE_JUJU_VERSION; `juju version --format json --all` prints it as
  Jubilant reads it; an empty $FAKE_JUJU_VERSION exits 1;
- `status`: the next file of status/*.json (sorted; the last one repeats);
- any other command `<name>`: <name>.out printed, <name>.err to stderr, exit <name>.rc (0);
  without them it prints `{}` for `--format json` reads and nothing otherwise.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    """Answer one juju call."""
    state = Path(os.environ["FAKE_JUJU_DIR"])
    with (state / "calls.jsonl").open("a") as log:
        log.write(json.dumps(argv) + "\n")
    version = os.environ.get("FAKE_JUJU_VERSION", "")
    command = argv[0] if argv else ""
    if command == "version":
        if not version:
            print("ERROR no version", file=sys.stderr)
            return 1
        print(json.dumps({"version": version}) if "--format" in argv else version)
        return 0
    if command == "status":
        answers = sorted((state / "status").glob("*.json"))
        counter = state / "status.count"
        n = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(n + 1))
        print(answers[min(n, len(answers) - 1)].read_text() if answers else "{}")
        return 0
    out, err, rc = (state / f"{command}.{ext}" for ext in ("out", "err", "rc"))
    if out.exists():
        sys.stdout.write(out.read_text())
    elif "--format" in argv:
        print("{}")
    if err.exists():
        sys.stderr.write(err.read_text())
    return int(rc.read_text()) if rc.exists() else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
