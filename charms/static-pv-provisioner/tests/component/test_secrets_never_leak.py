"""Security: a kubeconfig in a Juju secret never leaks, and no kubeconfig file lingers.

The secret's kubeconfig points at the fake API over HTTPS (certificate-authority-data), with a
bearer token and a client certificate and key (client-certificate-data, client-key-data). The
charm runs its hooks and all three actions against it, good paths and failing ones (a revoked
token, a broken secret), with every logger at DEBUG (lightkube's HTTP stack included). Nothing
of the kubeconfig may appear in the captured log records, in what the charm sent to juju-log,
in any status it set, or in action results, failures and logs.

Files: the charm writes no kubeconfig itself; lightkube turns the *-data fields into temporary
files (`lightkube.config.models.FileStr`: tempfile.NamedTemporaryFile, made 0600 by mkstemp,
removed when dropped). An audit hook records every file opened for writing during the hooks:
each must be such a temporary file, and none may remain afterwards; FileStr's files are 0600.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube.config.models import FileStr
from ops import testing
from parts import BindMounter
from support.fake_kube import FakeKube
from support.nfs_server import NfsServer

from charm import StaticPvProvisionerCharm

MODEL_UUID = "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c"  # one model across runs

CHARMCRAFT = yaml.safe_load((Path(__file__).parents[2] / "charmcraft.yaml").read_text())
TOKEN = "sPv-t0ken-4f9c2e7d1b8a6c3e5f0a9d8b7c6e5f4a"


class FileAudit:
    """Files opened for writing, and files made by tempfile.mkstemp, while `on` is set."""

    def __init__(self) -> None:
        self.on = False
        self.written: set[str] = set()
        self.temporary: set[str] = set()  # made by tempfile.mkstemp (0600, see the test)
        self.tmpdir = Path(tempfile.gettempdir())

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.on:
            return
        if event == "tempfile.mkstemp":  # raised just before the file is created
            self.temporary.add(os.fsdecode(args[0]))
        elif event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
            mode, flags = args[1], args[2]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                mode is None and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            )
            if writing:
                self.written.add(os.fsdecode(args[0]))


_AUDIT = FileAudit()
sys.addaudithook(_AUDIT)  # audit hooks cannot be removed: it records only while `on` is set


@pytest.fixture
def audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FileAudit]:
    """The audit, reset, and temporary files made in a fresh directory of their own."""
    _AUDIT.written.clear()
    _AUDIT.temporary.clear()
    _AUDIT.tmpdir = tmp_path / "tmp"
    _AUDIT.tmpdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(_AUDIT.tmpdir))  # where lightkube's files go
    yield _AUDIT
    _AUDIT.on = False


def client_certificate(tmp: Path) -> tuple[str, str]:
    """A throwaway client certificate and key, base64 as in a kubeconfig."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", "client.key", "-out", "client.crt", "-subj", "/CN=pv", "-days", "1"],
        cwd=tmp, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return (
        base64.b64encode((tmp / "client.crt").read_bytes()).decode(),
        base64.b64encode((tmp / "client.key").read_bytes()).decode(),
    )


def left_behind(tmpdir: Path) -> list[Path]:
    """Files left in the temporary directory (ops.testing's own `scenario-*` state aside)."""
    return [
        p
        for p in tmpdir.rglob("*")
        if not p.relative_to(tmpdir).parts[0].startswith("scenario-") and not p.is_dir()
    ]


@pytest.fixture
def tls_kube() -> Iterator[FakeKube]:
    fk = FakeKube(tls=True).start()
    try:
        yield fk
    finally:
        fk.stop()
    assert fk.server_errors == []


def test_kubeconfig_from_a_secret_never_leaks(
    tls_kube: FakeKube,
    live_nfs_server: NfsServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    audit: FileAudit,
) -> None:
    nfs = live_nfs_server
    for child in nfs.directory.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    fk = tls_kube
    fk.add_token(TOKEN, "pv-manager")
    cert, key = client_certificate(tmp_path)
    data = yaml.safe_load(fk.write_kubeconfig(tmp_path / "kc", token=TOKEN).read_text())
    data["users"][0]["user"].update({"client-certificate-data": cert, "client-key-data": key})
    text = yaml.safe_dump(data)
    (tmp_path / "kc").unlink()
    secret = testing.Secret(tracked_content={"kubeconfig": text})
    key_pem = base64.b64decode(key).decode()
    key_lines = [line for line in key_pem.splitlines() if "-----" not in line]
    needles = [TOKEN, TOKEN[-16:], text, cert, key, *key_lines]
    needles.append(data["clusters"][0]["cluster"]["certificate-authority-data"])

    for name in ("httpx2", "httpcore2", "lightkube", ""):
        caplog.set_level(logging.DEBUG, logger=name or None)

    class Charm(StaticPvProvisionerCharm):
        mounter = BindMounter(nfs)
        nfs_client_present = staticmethod(lambda: True)

    ctx = testing.Context(
        Charm,
        meta=CHARMCRAFT,
        app_name="static-pv-provisioner",
    )
    config = {
        "kubeconfig-secret": secret.id,
        "kubeconfig-path": "/nonexistent",
        "nfs-server": nfs.host,
        "nfs-export": nfs.export,
        "pool": "1Gi:2",
    }
    state = testing.State(
        leader=True,
        config=config,
        secrets=[secret],
        relations=[testing.SubordinateRelation("juju-info", remote_app_name="k8s-cp")],
        model=testing.Model(name="k8s", uuid=MODEL_UUID),
    )
    seen: list[str] = []  # every status, result and failure the user could see

    def run(event: Any, st: testing.State) -> testing.State:
        audit.on = True
        try:
            out = ctx.run(event, st)
        finally:
            audit.on = False
        seen.extend(s.message for s in ctx.unit_status_history)
        seen.append(out.unit_status.message)
        return out

    def action(name: str, st: testing.State, **params: Any) -> None:
        audit.on = True
        try:
            ctx.run(ctx.on.action(name, params=params), st)
            seen.append(json.dumps(ctx.action_results))
        except testing.ActionFailed as e:
            seen.append(e.message)
        finally:
            audit.on = False
        seen.extend(ctx.action_logs)
        seen.extend(s.message for s in ctx.unit_status_history)

    out = run(ctx.on.install(), state)
    assert out.unit_status.message.startswith("homelab-nfs: 2 PVs (2 available")
    out = run(ctx.on.secret_changed(secret), out)
    out = run(ctx.on.leader_elected(), out)
    out = run(ctx.on.update_status(), out)
    fk.bind("homelab-nfs-1gi-001", "claim", "kubeflow")
    fk.release("homelab-nfs-1gi-001")
    action("list-volumes", out)
    action("recycle", out, volume="homelab-nfs-1gi-001", confirm=True)
    assert ctx.action_results == {"recycled": "homelab-nfs-1gi-001", "count": 1}
    action("storage-pool-commands", out, model="kubeflow")
    assert ctx.action_results is not None
    assert "Checked: homelab-nfs exists" in ctx.action_results["notes"]
    # Failing paths: the token revoked, then a secret whose YAML is broken.
    fk.remove_token(TOKEN)
    out = run(ctx.on.update_status(), out)
    assert "(401 Unauthorized)" in out.unit_status.message
    action("list-volumes", out)
    action("recycle", out, **{"all-released": True, "confirm": True})
    action("storage-pool-commands", out, model="kubeflow")
    assert "401 Unauthorized" in seen[-1] or "Could not check" in json.dumps(seen)
    broken = testing.Secret(tracked_content={"kubeconfig": text.replace("users:", "users: [")})
    bad = testing.State(
        leader=True,
        config={**config, "kubeconfig-secret": broken.id},
        secrets=[broken],
        model=testing.Model(name="k8s", uuid=MODEL_UUID),
    )
    out = run(ctx.on.config_changed(), bad)
    assert out.unit_status.message == f"kubeconfig-secret {broken.id} is not valid YAML"
    fk.add_token(TOKEN, "pv-manager")
    out = run(ctx.on.remove(), dataclasses.replace(state, planned_units=0))
    assert out.unit_status.message.startswith("removed: deleted 2 available PVs")

    logs = [r.getMessage() for r in caplog.records]
    logs += [r.exc_text or "" for r in caplog.records]
    logs += [line.message for line in ctx.juju_log]
    assert len(logs) > 20  # the hooks did log, at DEBUG too
    assert any("HTTP Request" in line or "send_request" in line for line in logs)
    for needle in needles:
        for where, texts in (("log", logs), ("status, result or failure", seen)):
            leaks = [t for t in texts if needle in t]
            assert leaks == [], f"kubeconfig content in a {where}: {leaks[0][:200]}"

    # Files: only lightkube's temporary files, none left behind, and those are 0600.
    assert len(audit.temporary) >= 3, "expected the CA, certificate and key files"
    harness = {"metadata.yaml", "config.yaml", "actions.yaml"}  # ops.testing's charm root
    # The ownership markers on the export are written by the NAS step (open() too): not here.
    written = {
        f
        for f in audit.written
        if Path(f).name not in harness
        and not Path(f).is_dir()
        and Path(f).parent.name != ".static-pv-provisioner"
    }
    assert written <= audit.temporary, written - audit.temporary
    assert left_behind(audit.tmpdir) == []
    held = FileStr(key)  # what lightkube makes of client-key-data, while it is in use
    assert held is not None
    assert os.stat(held).st_mode & 0o777 == 0o600
    assert Path(held).read_text() == key_pem
    del held
    assert left_behind(audit.tmpdir) == []
