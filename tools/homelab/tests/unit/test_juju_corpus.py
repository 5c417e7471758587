"""The table-driven corpus (data/juju_corpus.yaml): the verdict Juju 3.6 gives, and the merge.

Each case names the rule of Juju's bundle code it mirrors (github.com/juju/charm branch v12,
file:line, or juju/juju's cmd/juju/application/bundle/bundle.go). A case passes when `check`
gives Juju's verdict (errors or not), the expected message, and the expected merged parts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import errors, messages

from homelab.check import check_documents
from homelab.yamlio import loads

CASES = yaml.safe_load((Path(__file__).parent / "data" / "juju_corpus.yaml").read_text())["cases"]


def test_the_corpus_is_big_enough_and_covers_every_area():
    assert len(CASES) >= 60
    assert {c["area"] for c in CASES} >= {
        "merge", "placement", "constraints", "storage", "relations", "top-level", "yaml",
    }  # fmt: skip
    assert all(c["juju"] for c in CASES)


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _subset(v, actual[k]) for k, v in expected.items()
        )
    return expected == actual


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_corpus_case(case: dict, db):
    docs = [
        loads(text, "bundle.yaml" if n == 0 else f"overlay{n}.yaml")
        for n, text in enumerate(case["docs"])
    ]
    problems, merged = check_documents(docs, db)
    errs = errors(problems)
    where = f"{case['name']} ({case['juju']}):\n{messages(problems)}"
    if case["verdict"] == "ok":
        assert errs == [], where
    else:
        assert errs, where
    if case.get("juju_verdict") == "ok":  # deliberately stricter: the message must say so
        assert any("stricter" in e for e in errs), where
    if "error" in case:
        assert any(case["error"] in e for e in errs), where
    if "warning" in case:
        warnings = [str(p) for p in problems if p.severity == "warning"]
        assert any(case["warning"] in w for w in warnings), where
    expected = case.get("merged") or {}
    bundle = merged.to_bundle()
    for name, body in expected.get("apps", {}).items():
        assert name in merged.apps, where
        assert _subset(body, merged.apps[name]), (where, merged.apps)
    for name in expected.get("apps_absent", []):
        assert name not in merged.apps, where
    if "relations" in expected:
        assert bundle["relations"] == expected["relations"], where
    if "machines" in expected:
        assert merged.machines == expected["machines"], where
    if "saas" in expected:
        assert merged.saas == expected["saas"], where
    for key, value in expected.get("data", {}).items():
        assert merged.data.get(key) == value, where
    for key in expected.get("data_absent", []):
        assert key not in merged.data, where
