"""homelab_core.secrets: the Juju secret id rule and the kubeconfig key."""

from __future__ import annotations

import pytest

from homelab_core.secrets import SecretError, kubeconfig_text, not_granted, secret_id_problem

GOOD = "secret:csv2n3hfmnhc7lmpn8kg"


@pytest.mark.parametrize(
    "value",
    ["hello", "secret:$(cat /root/.kube/config)", GOOD + "\nx", GOOD[:-1], GOOD.upper(), 5],
)
def test_bad_ids(value: object) -> None:
    assert "must be a Juju secret id" in (secret_id_problem(value) or "")


def test_good_ids() -> None:
    assert secret_id_problem(GOOD) is None
    assert secret_id_problem(f"secret://{'0' * 8}-0000-0000-0000-{'0' * 12}/{GOOD[7:]}") is None


def test_kubeconfig_key() -> None:
    assert kubeconfig_text({"kubeconfig": "kind: Config"}, "kubeconfig-secret", GOOD)
    with pytest.raises(SecretError) as e:
        kubeconfig_text({"other": "x"}, "kubeconfig-secret", GOOD)
    assert str(e.value) == f"kubeconfig-secret {GOOD} has no 'kubeconfig' key"
    assert not_granted("o", GOOD, "app").endswith(f"(juju grant-secret {GOOD} app)")
