"""Problems found in bundles, overlays and site files, and the exit codes scripts can trust."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

# Exit codes (documented in the README and in `homelab --help`).
EXIT_OK = 0  # nothing wrong (warnings may have been printed)
EXIT_PROBLEMS = 1  # `check` found problems (errors, or warnings with --strict)
EXIT_USAGE = 2  # bad command line, unreadable file, broken YAML, invalid site file
EXIT_DEPLOY_FAILED = 3  # `deploy`: a juju command failed; its output was printed
EXIT_NO_JUJU = 4  # `deploy`: the juju client is not installed / not on PATH
EXIT_INTERRUPTED = 130  # Ctrl-C

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One problem: where (file, line, key path) and what."""

    file: str
    key: str
    message: str
    line: int = 0
    severity: str = ERROR

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key}:" if self.key else ""
        return f"{where}: {self.severity}:{key} {self.message}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean "x"?)' for the closest choice, or ''."""
    close = difflib.get_close_matches(str(word), sorted(set(choices)), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def has_errors(problems: Iterable[Problem], strict: bool = False) -> bool:
    """Whether these problems make a run fail."""
    return any(p.severity == ERROR or strict for p in problems)
