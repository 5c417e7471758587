"""Component tests: the charm and node_api against the shared fake Kubernetes API server."""

from __future__ import annotations

from typing import Any

import pytest
from support.fake_kube import fake_kube  # noqa: F401 - registers the fixture


class Labeler:
    """Runs the charm (ops.testing) on a fixture sysfs tree with the real Node API."""

    def __init__(self, tree, smi, make_ctx, make_state):
        self._tree, self._smi, self._make_ctx = tree, smi, make_ctx
        self.state = make_state

    def run(
        self,
        name: str,
        config: dict | None = None,
        st: Any = None,
        event: str = "update_status",
        api: Any = None,
        *,
        smi: Any = None,
    ) -> tuple[Any, Any]:
        """(context, output state) of one event; `event="detect"` runs the action.

        `smi`: a command runner instead of the tree's canned nvidia-smi.
        """
        ctx = self._make_ctx(self._tree(name), smi=smi or self._smi(name), api=api)
        state = st or self.state(config)
        if event == "detect":
            return ctx, ctx.run(ctx.on.action("detect"), state)
        return ctx, ctx.run(getattr(ctx.on, event)(), state)


@pytest.fixture
def labeler(tree, smi, make_ctx, make_state) -> Labeler:
    """The charm, ready to run against the fake API."""
    return Labeler(tree, smi, make_ctx, make_state)
