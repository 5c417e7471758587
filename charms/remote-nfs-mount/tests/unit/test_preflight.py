"""The pre-flight logic against a scripted network: verdicts, messages, steps."""

from __future__ import annotations

import pytest
from fakes import FakeNetwork, nas_config

import preflight
from preflight import Export

BASE = {"nas-host": "10.0.0.5", "export-path": "/volume1/k8s", "nfs-version": "4.1"}


def run(network: FakeNetwork, address: str | None = "10.0.0.7", **changes: str):
    return preflight.run(nas_config(**{**BASE, **changes}), address, network)


def test_ready():
    result = run(FakeNetwork())
    assert result.verdict == "ready"
    assert result.verified
    assert result.message == "10.0.0.5:/volume1/k8s ready (nfsvers=4.1)"
    assert [s.name for s in result.steps] == ["resolve", "connect", "exports", "export", "allowed"]
    assert all(s.ok for s in result.steps)


def test_unreachable_stops_before_export_list():
    network = FakeNetwork(reachable=False)
    result = run(network)
    assert result.verdict == "blocked"
    assert result.message == "10.0.0.5:2049 unreachable: timed out after 5s"
    assert network.calls == ["resolve 10.0.0.5", "connect 10.0.0.5:2049"]
    assert not result.verified


def test_dns_failure_names_the_option():
    result = run(FakeNetwork(), **{"nas-host": "nas.lab"})
    assert result.verdict == "blocked"
    assert result.message == "nas-host nas.lab: DNS lookup failed: Name or service not known"


def test_dns_name_connects_to_first_address():
    network = FakeNetwork(addresses={"nas.lab": ["10.0.0.9", "fd00::9"]})
    result = run(network, **{"nas-host": "nas.lab"})
    assert result.verdict == "ready"
    assert "connect 10.0.0.9:2049" in network.calls


def test_export_missing_lists_the_real_exports():
    network = FakeNetwork(exports=[Export("/volume1/media", ("*",)), Export("/backup", ())])
    result = run(network)
    assert result.verdict == "blocked"
    assert result.message == (
        "export /volume1/k8s not exported by 10.0.0.5 "
        "(exports: /volume1/media *; /backup (everyone))"
    )


def test_no_exports_at_all():
    result = run(FakeNetwork(exports=[]))
    assert result.message == "export /volume1/k8s not exported by 10.0.0.5 (exports: none)"


def test_the_export_step_names_the_export_line_it_saw():
    network = FakeNetwork(exports=[Export("/volume1/k8s", ("10.0.0.0/24",))])
    result = run(network)
    assert result.verdict == "ready"
    assert result.steps[3].detail == "10.0.0.5 lists the export /volume1/k8s 10.0.0.0/24"


def test_directory_inside_an_export_is_not_verified():
    # issue 11 class 4: the export list shows /volume1, never /volume1/k8s; calling that
    # "verified" was a claim about a directory the pre-flight never saw
    network = FakeNetwork(exports=[Export("/volume1", ("*",)), Export("/volume1/k", ("*",))])
    result = run(network)
    assert result.verdict == "blocked"
    assert not result.verified
    assert result.message == (
        "export /volume1/k8s is not in 10.0.0.5's export list, only the export /volume1 * that "
        "holds it: a directory inside an export cannot be verified from here; set export-path "
        "to /volume1 or export /volume1/k8s on the NAS"
    )


def test_node_not_allowed():
    network = FakeNetwork(exports=[Export("/volume1/k8s", ("10.0.1.0/24", "10.0.0.8"))])
    result = run(network, address="10.0.0.7")
    assert result.verdict == "blocked"
    assert result.message == (
        "export /volume1/k8s on 10.0.0.5 does not allow this node 10.0.0.7 "
        "(allowed: 10.0.1.0/24,10.0.0.8): add 10.0.0.7 on the NAS"
    )


@pytest.mark.parametrize(
    ("clients", "expected"),
    [
        ((), True),
        (("*",), True),
        (("(everyone)",), True),
        (("10.0.0.7",), True),
        (("10.0.0.0/24",), True),
        (("10.0.0.0/255.255.255.0",), True),
        (("10.0.1.0/24",), False),
        (("nas-clients.lab",), None),
        (("10.0.1.0/24", "@k8s"), None),
        (("*.lab",), None),
    ],
)
def test_client_allowed(clients, expected):
    assert preflight.client_allowed("10.0.0.7", clients) is expected


def test_hostname_clients_cannot_be_checked_but_do_not_block():
    network = FakeNetwork(exports=[Export("/volume1/k8s", ("worker*.lab",))])
    result = run(network)
    assert result.verdict == "ready"
    assert "cannot tell" in result.steps[-1].detail


@pytest.mark.parametrize("version", ["3", "4.1"])
def test_without_the_export_list_nothing_is_verified(version):
    result = run(FakeNetwork(exports=None), **{"nfs-version": version})
    assert result.verdict == "blocked"
    assert not result.verified
    assert result.message == (
        "10.0.0.5: export list unavailable (MOUNT protocol: RPC: Port mapper failure): "
        "/volume1/k8s cannot be verified, so it is not published; let this node query the "
        "MOUNT protocol (showmount -e) or check the NAS"
    )


def test_parse_showmount():
    output = "/srv/a (everyone)\n/srv/b 10.0.0.0/24,host.lab\n\nnot a path\n/srv/c\n"
    assert preflight.parse_showmount(output) == [
        Export("/srv/a", ("(everyone)",)),
        Export("/srv/b", ("10.0.0.0/24", "host.lab")),
        Export("/srv/c", ()),
    ]


def test_steps_serialise():
    result = run(FakeNetwork())
    first = result.steps[0].as_dict()
    assert first["step"] == "resolve"
    assert first["ok"] is True
    assert isinstance(first["seconds"], float)
