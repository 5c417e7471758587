"""This charm's section of the bad-input matrix (tests/robustness/bad_inputs.yaml).

Each case: Blocked naming the option and the rule, no exception from the hook, nothing
published on any relation, and nothing sent to the network.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fakes import FakeNetwork
from ops import testing
from test_charm import make_context, principal

MATRIX = yaml.safe_load(
    (Path(__file__).parents[4] / "tests" / "robustness" / "bad_inputs.yaml").read_text()
)["remote-nfs-mount"]


@pytest.mark.parametrize(
    "case", MATRIX["config"], ids=lambda c: f"{c['option']}={c['value']!r}"[:60]
)
def test_bad_config(case):
    network = FakeNetwork()
    nfs = testing.Relation("nfs", remote_app_name="kubernetes-worker")
    share = testing.Relation("nfs-share", remote_app_name="static-pv-provisioner")
    peers = testing.PeerRelation("peers")
    state = testing.State(
        config={
            **MATRIX["base"],
            case["option"]: case["value"] + "a" * case["pad"] if "pad" in case else case["value"],
        },
        relations={principal(), nfs, share, peers},
        leader=True,
    )
    out = make_context(network).run(testing.CharmEvents.config_changed(), state)
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith(f"invalid config: {case['option']} ")
    assert case["rule"] in out.unit_status.message
    assert dict(out.get_relation(nfs.id).local_unit_data).keys() <= {
        "egress-subnets",
        "ingress-address",
        "private-address",
    }
    assert dict(out.get_relation(share.id).local_app_data) == {}
    assert out.get_relation(peers.id).local_unit_data.get("verified", "") == ""  # none verified
    assert network.calls == []
