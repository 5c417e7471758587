"""Credentials are data: a secret's `exec` never runs, file references are never followed, and a
path option naming a FIFO or /dev/zero is Blocked at once (issue 11, class 1), in every hook."""

from __future__ import annotations

import os
import time

import pytest
import yaml
from ops import testing
from support.fake_kube import FakeKube

HOOKS = ["install", "config_changed", "update_status", "stop", "remove"]


@pytest.mark.parametrize("event", HOOKS)
def test_exec_in_the_admin_secret_never_runs(fake_kube: FakeKube, labeler, tmp_path, event):
    marker = tmp_path / "exec-ran"
    conf = yaml.safe_load(fake_kube.write_kubeconfig(tmp_path / "kc").read_text())
    conf["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "/usr/bin/touch",
            "args": [str(marker)],
        }
    }
    secret = testing.Secret(tracked_content={"kubeconfig": yaml.safe_dump(conf)})
    st = labeler.state({"admin-kubeconfig-secret": secret.id}, secrets=[secret])
    _, out = labeler.run("rtx2080ti-nvidia", st=st, event=event)
    assert not marker.exists()
    assert fake_kube.requests == []
    if event not in ("stop", "remove"):
        assert out.unit_status == testing.BlockedStatus(
            f"admin-kubeconfig-secret {secret.id}: the user of context 'fake' uses 'exec', "
            "which runs a command to get credentials; the charm never runs commands from "
            "credentials (it would run as root in every hook): use a token or a client "
            "certificate"
        )


def test_token_file_in_the_admin_secret_is_never_read(fake_kube: FakeKube, labeler, tmp_path):
    host_file = tmp_path / "host-secret"
    host_file.write_text("h0st-s3cr3t-content")
    conf = yaml.safe_load(fake_kube.write_kubeconfig(tmp_path / "kc").read_text())
    conf["users"][0]["user"] = {"tokenFile": str(host_file)}
    secret = testing.Secret(tracked_content={"kubeconfig": yaml.safe_dump(conf)})
    st = labeler.state({"admin-kubeconfig-secret": secret.id}, secrets=[secret])
    ctx, out = labeler.run("rtx2080ti-nvidia", st=st)
    assert out.unit_status.name == "blocked"
    assert "uses 'tokenFile', which names a file" in out.unit_status.message
    assert str(host_file) not in out.unit_status.message
    assert fake_kube.requests == []  # nothing, so the file's content cannot have reached it
    assert not any("h0st-s3cr3t" in log.message for log in ctx.juju_log)


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
@pytest.mark.parametrize("option", ["kubeconfig-path", "admin-kubeconfig-path"])
def test_fifo_or_dev_zero_path_is_blocked_at_once(labeler, tmp_path, kind, option):
    if kind == "fifo":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)
        what = "a FIFO"
    else:
        path, what = "/dev/zero", "a character device"
    start = time.monotonic()
    _, out = labeler.run("rtx2080ti-nvidia", {option: path})
    assert time.monotonic() - start < 5
    assert out.unit_status == testing.BlockedStatus(
        f"{option} {path}: not a regular file ({what})"
    )
