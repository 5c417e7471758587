"""The `world` fixture of test_charm, shared with the other ops.testing test modules."""

from test_charm import world  # noqa: F401
