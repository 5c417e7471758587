"""Integration suites: pytest-operator on a real Juju controller (see README.md)."""
