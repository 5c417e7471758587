"""Security pass: the admin kubeconfig from a Juju secret never leaks, and is never left on disk.

The fake API serves HTTPS here, so the secret's kubeconfig carries everything a real admin
kubeconfig does: the CA (certificate-authority-data), a bearer token and a client certificate
with its private key (client-certificate-data, client-key-data). Every hook the charm observes
and the detect action run with it, on the happy path and on failures (token revoked, API down,
bad content), with every logger at DEBUG (the HTTP client's too). Then:

- neither the token nor the private key (nor the kubeconfig text) is in the captured Python
  logs, in what the charm sent to juju-log, in any status, in the action's results or logs,
  or in the unit's stored state;
- the charm writes no kubeconfig of its own: the only files written are lightkube's temporary
  copies of the certificate data, each mode 0600 while it exists, and all gone afterwards;
  the working directory stays empty. (ops.testing's own scratch folders are not counted.)
"""

from __future__ import annotations

import base64
import dataclasses
import gc
import logging
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from ops import testing
from support.fake_kube import FakeKube

NODE = "gpu-box"
TOKEN = "hl-4dm1n-t0k3n-7c1f0e9a5b3d"


@pytest.fixture(scope="module")
def client_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """A throwaway client certificate and its private key (PEM)."""
    d = tmp_path_factory.mktemp("client-cert")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=admin",
            "-keyout",
            "admin.key",
            "-out",
            "admin.crt",
            "-days",
            "1",
        ],
        cwd=d,
        check=True,
        capture_output=True,
    )
    return (d / "admin.crt").read_bytes(), (d / "admin.key").read_bytes()


@pytest.fixture
def tls_kube():
    fk = FakeKube(tls=True).start()
    try:
        fk.add_token(TOKEN, "admin", ("system:masters", "system:authenticated"))
        fk.create({"kind": "Node", "metadata": {"name": NODE, "labels": {"team": "ml"}}})
        yield fk
    finally:
        fk.stop()
    assert not fk.server_errors, fk.server_errors[0]


@pytest.fixture
def kubeconfig_text(tls_kube: FakeKube, client_cert, tmp_path: Path) -> str:
    data = yaml.safe_load(tls_kube.write_kubeconfig(tmp_path / "w" / "k", token=TOKEN).read_text())
    crt, key = client_cert
    data["users"][0]["user"]["client-certificate-data"] = base64.b64encode(crt).decode()
    data["users"][0]["user"]["client-key-data"] = base64.b64encode(key).decode()
    return yaml.safe_dump(data)


def _secrets(text: str, key: bytes) -> list[str]:
    """What must never show: the token, the key (PEM body lines, base64), the whole text."""
    body = [line for line in key.decode().splitlines() if line and not line.startswith("-----")]
    return [TOKEN, base64.b64encode(key).decode()[:40], *body, text[:80]]


class Watch:
    """Temporary files made while the charm runs: their mode as created."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmpdir: Path):
        self.made: list[tuple[str, int]] = []
        real = tempfile.NamedTemporaryFile
        monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))

        def named(*args: Any, **kwargs: Any):
            f = real(*args, **kwargs)
            self.made.append((f.name, os.stat(f.name).st_mode & 0o777))
            return f

        monkeypatch.setattr(tempfile, "NamedTemporaryFile", named)


def _everything_shown(ctx: testing.Context, out: testing.State | None) -> str:
    parts = [log.message for log in ctx.juju_log]
    parts += [str(s) for s in ctx.unit_status_history + ctx.app_status_history]
    parts += [str(ctx.action_results or {}), "\n".join(ctx.action_logs)]
    if out is not None:
        parts += [str(out.unit_status), str(out.app_status)]
        parts += [str(s.content) for s in out.stored_states]
    return "\n".join(parts)


def test_admin_secret_never_leaks_and_no_kubeconfig_is_left(  # noqa: PLR0917
    tree,
    smi,
    make_ctx,
    make_state,
    kubeconfig_text,
    client_cert,
    tls_kube,
    caplog,
    tmp_path,
    monkeypatch,
):
    caplog.set_level(logging.DEBUG)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    watch = Watch(monkeypatch, tmpdir)
    secret = testing.Secret(tracked_content={"kubeconfig": kubeconfig_text})
    st = make_state(
        {"admin-kubeconfig-secret": secret.id, "taint": "NoSchedule"}, secrets=[secret]
    )
    shown: list[str] = []
    statuses = []

    def run(event: str, state, **kw) -> Any:
        ctx = make_ctx(tree("rtx2080ti-nvidia"), smi=smi("rtx2080ti-nvidia"), **kw)
        if event == "detect":
            out = ctx.run(ctx.on.action("detect"), state)
        elif event == "secret_changed":
            out = ctx.run(ctx.on.secret_changed(secret), state)
        else:
            out = ctx.run(getattr(ctx.on, event)(), state)
        shown.append(_everything_shown(ctx, out))
        statuses.append(out.unit_status)
        return out

    st = run("install", st)
    st = run("config_changed", st)
    assert st.unit_status.message.endswith("labelled, tainted NoSchedule")
    st = run("update_status", st)
    st = run("detect", st)
    st = run("secret_changed", st)
    # failures carry server answers and client errors: still nothing secret
    tls_kube.fail(500, method="PATCH", times=None)
    st = run(
        "update_status", dataclasses.replace(st, config={**st.config, "taint": "PreferNoSchedule"})
    )
    assert st.unit_status.name == "waiting"
    tls_kube.clear_faults()
    tls_kube.drop(method="GET")
    st = run("update_status", st)
    assert st.unit_status.name == "waiting"
    tls_kube.remove_token(TOKEN)
    st = run("update_status", st)
    assert "Kubernetes API rejected the credentials from" in st.unit_status.message
    st = run("detect", st)
    tls_kube.add_token(TOKEN, "admin", ("system:masters",))
    st = run("stop", st)
    st = run("remove", st)
    assert tls_kube.get("Node", NODE)["metadata"]["labels"] == {"team": "ml"}

    # nothing secret anywhere a person or a log collector can see
    text = "\n".join(shown) + "\n" + caplog.text
    for needle in _secrets(kubeconfig_text, client_cert[1]):
        assert needle not in text, needle[:12]
    # the charm wrote no kubeconfig; lightkube's copies of the certificate data were 0600
    assert watch.made, "expected lightkube to copy the CA and client certificate"
    assert all(mode == 0o600 for _, mode in watch.made), watch.made
    gc.collect()
    assert not [name for name, _ in watch.made if Path(name).exists()]  # all deleted again
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize(
    "content",
    [
        f"users: [{{name: a, user: {{token: {TOKEN}}}}}]: [",
        f"users: [{{name: a, user: {{token: {TOKEN}}}}}]\n",
        f"clusters: [{{name: a}}]\ncontexts: [{{name: b, context: {{cluster: a}}}}]\n"
        f"users: [{{name: a, user: {{token: {TOKEN}}}}}]\n",
        "clusters: [{name: a, cluster: {server: 'https://127.0.0.1:1', "
        f"certificate-authority-data: '{TOKEN}'}}}}]\n"
        "contexts: [{name: b, context: {cluster: a, user: a}}]\ncurrent-context: b\n"
        f"users: [{{name: a, user: {{token: {TOKEN}}}}}]\n",
    ],
    ids=["broken-yaml", "no-clusters", "no-server", "bad-ca-data"],
)
def test_bad_secret_content_never_leaks(labeler, caplog, tmp_path, monkeypatch, content):
    caplog.set_level(logging.DEBUG)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    secret = testing.Secret(tracked_content={"kubeconfig": content})
    st = labeler.state({"admin-kubeconfig-secret": secret.id}, secrets=[secret])
    for event in ("update_status", "detect"):
        ctx, out = labeler.run("rtx2080ti-nvidia", st=st, event=event)
        assert out.unit_status.message.startswith("admin-kubeconfig-secret") or event == "detect"
        assert TOKEN not in _everything_shown(ctx, out)
    assert TOKEN not in caplog.text
    assert list(cwd.iterdir()) == []
