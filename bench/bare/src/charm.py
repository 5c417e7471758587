#!/usr/bin/env python3
"""The benchmark baseline: a bare ops charm."""

import ops


class BareCharm(ops.CharmBase):
    """Sets Active on update-status; nothing else."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        framework.observe(self.on.update_status, self._on_update_status)

    def _on_update_status(self, _: ops.EventBase) -> None:
        self.unit.status = ops.ActiveStatus()


if __name__ == "__main__":  # pragma: nocover
    ops.main(BareCharm)
