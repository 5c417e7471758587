"""homelab_core.kubeconfig: a kubeconfig is data, never a command or a pointer to a file."""

from __future__ import annotations

import copy

import pytest
import yaml

from homelab_core.kubeconfig import MAX_DEPTH, KubeconfigError, parse, to_lightkube

BASE = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "c", "cluster": {"server": "https://10.0.0.1:6443",
                                           "certificate-authority-data": "Y2E="}}],
    "users": [{"name": "u", "user": {"token": "s3cr3t-t0ken"}}],
    "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
    "current-context": "x",
    "preferences": {},
}  # fmt: skip


def text(**user: object) -> str:
    data = copy.deepcopy(BASE)
    if user:
        data["users"][0]["user"] = user
    return yaml.safe_dump(data)


def test_charmed_kubernetes_kubeconfig_is_accepted() -> None:
    # What charms.kubernetes_snaps.update_kubeconfig writes to /root/cdk/kubeconfig.
    kc = parse(text(), "kubeconfig-path /root/cdk/kubeconfig")
    assert kc.server == "https://10.0.0.1:6443"
    assert kc.data["users"] == [{"name": "user", "user": {"token": "s3cr3t-t0ken"}}]
    assert to_lightkube(kc).get().cluster.server == "https://10.0.0.1:6443"


@pytest.mark.parametrize(
    ("user", "field"),
    [
        ({"exec": {"command": "touch", "args": ["/tmp/x"]}}, "exec"),
        ({"auth-provider": {"name": "gcp"}}, "auth-provider"),
        ({"tokenFile": "/etc/shadow"}, "tokenFile"),
        ({"client-certificate": "/etc/ssl/c", "client-key": "/etc/ssl/k"}, "client-certificate"),
        ({"token": "t", "client-key": "/root/k"}, "client-key"),
        ({"token": "t", "some-file": "/root/k"}, "some-file"),
        ({"token": "t", "credentialPath": "/root/k"}, "credentialPath"),
    ],
)
def test_commands_and_file_references_are_refused(user: dict, field: str) -> None:
    with pytest.raises(KubeconfigError) as e:
        parse(text(**user), "kubeconfig-secret secret:abc")
    message = str(e.value)
    assert message.startswith("kubeconfig-secret secret:abc: the user of context 'x' uses")
    assert repr(field) in message
    assert "/etc/shadow" not in message
    assert "/tmp/x" not in message
    assert "/root" not in message


def test_cluster_file_reference_and_proxy_are_refused() -> None:
    for key, value in (("certificate-authority", "/etc/ca"), ("proxy-url", "http://p:3128")):
        data = copy.deepcopy(BASE)
        data["clusters"][0]["cluster"][key] = value
        with pytest.raises(KubeconfigError, match=f"the cluster of context 'x' uses '{key}'"):
            parse(yaml.safe_dump(data), "s")


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ("{not yaml", "is not valid YAML"),
        ("token: abc", "has no usable current-context"),
        ("- 1\n- 2", "is not a kubeconfig"),
        ("a: &x [1]\nb: *x\n", "uses a YAML alias"),
        ("a: " + "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2), "nested deeper than"),
        ("a: " + "x" * (2 << 20), "larger than"),
    ],
)
def test_malformed(body: str, rule: str) -> None:
    with pytest.raises(KubeconfigError, match=rule):
        parse(body, "src")


@pytest.mark.parametrize(
    ("server", "rule"),
    [("ftp://x", "must be an https://"), ("https://", "must be an https://"),
     ("https://a b", "must be an https://"), (5, "has no server")],
)  # fmt: skip
def test_server_rules(server: object, rule: str) -> None:
    data = copy.deepcopy(BASE)
    data["clusters"][0]["cluster"]["server"] = server
    with pytest.raises(KubeconfigError, match=rule):
        parse(yaml.safe_dump(data), "src")


def test_values_are_checked_and_never_echoed() -> None:
    with pytest.raises(KubeconfigError, match="one line of text") as e:
        parse(text(token="s3cr3t\ninjected"), "src")
    assert "s3cr3t" not in str(e.value)
    with pytest.raises(KubeconfigError, match="needs client-key-data"):
        parse(text(**{"client-certificate-data": "Y2E="}), "src")
    with pytest.raises(KubeconfigError, match="not base64"):
        parse(text(**{"client-certificate-data": "!!", "client-key-data": "Y2E="}), "src")


def test_only_the_chosen_context_is_kept() -> None:
    data = copy.deepcopy(BASE)
    data["users"].append({"name": "evil", "user": {"exec": {"command": "id"}}})
    data["contexts"].append({"name": "other", "context": {"cluster": "c", "user": "evil"}})
    kc = parse(yaml.safe_dump(data), "src")
    assert "evil" not in yaml.safe_dump(kc.data)
    with pytest.raises(KubeconfigError, match="'exec'"):
        parse(yaml.safe_dump(data), "src", context="other")
    data["clusters"][0]["cluster"]["insecure-skip-tls-verify"] = True
    assert parse(yaml.safe_dump(data), "src").cluster["insecure-skip-tls-verify"] is True
    with pytest.raises(KubeconfigError, match="insecure-skip-tls-verify is refused"):
        parse(yaml.safe_dump(data), "src", allow_insecure=False)
