"""`homelab verify` against the fake Kubernetes API and a local dashboard server."""

from __future__ import annotations

import copy
import io
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from support.fake_kube import FakeKube

from homelab import verify
from homelab.cli import main
from homelab.site import Site, validate
from homelab.verify_kube import Kube, KubeconfigError, load_kubeconfig
from homelab.yamlio import load

REPO = Path(__file__).resolve().parents[4]
EXAMPLE = REPO / "sites" / "example.yaml"
ROLE = "homelab-charms.io/role"
SMI_LOG = """\
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.144.03             Driver Version: 550.144.03     CUDA Version: 12.4     |
|-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
|=========================================+========================+======================|
|   0  NVIDIA GeForce RTX 2080 Ti     Off |   00000000:01:00.0 Off |                  N/A |
+-----------------------------------------+------------------------+----------------------+
"""


@dataclass
class Lab:
    """What the scripted cluster does with verify's objects."""

    fk: FakeKube
    dashboard: str = ""
    writer_phase: str = "Succeeded"
    writer_log: str = f"{verify.WRITE_MARK}\nuid=1000 gid=100 groups=100\n"
    writer_waiting: str = ""  # a container waiting reason instead of finishing
    job_phase: str = "Succeeded"
    job_log: str = SMI_LOG
    job_node: str = "gpu-1"
    job_unschedulable: str = ""
    interrupt_on: str = ""  # "writer": raise KeyboardInterrupt when the pod is created
    created: list[str] = field(default_factory=list)


def _node(name: str, ready: bool = True, gpus: str | None = None, labels=None) -> dict:
    status: dict = {
        "conditions": [
            {"type": "Ready", "status": "True" if ready else "False", "reason": "KubeletReady"}
            if ready
            else {"type": "Ready", "status": "False", "reason": "KubeletNotReady"}
        ],
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "allocatable": {"cpu": "4"},
    }
    if gpus is not None:
        status["allocatable"]["nvidia.com/gpu"] = gpus
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels or {}},
        "status": status,
    }


def _seed(fk: FakeKube, class_name: str = "homelab-nfs") -> None:
    fk.create(_node("admin-1"))
    fk.create(_node("kf-1", labels={ROLE: "kf-admin"}))
    fk.create(_node("gpu-1", gpus="1", labels={ROLE: "gpu"}))
    fk.create(
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": class_name,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": "kubernetes.io/no-provisioner",
        }
    )
    fk.create(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"{class_name}-10gi-001"},
            "spec": {
                "capacity": {"storage": "10Gi"},
                "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
                "storageClassName": class_name,
                "persistentVolumeReclaimPolicy": "Retain",
                "nfs": {"server": "192.0.2.1", "path": "/k8s/a"},
            },
        }
    )
    fk.auto_bind = True


def _script(lab: Lab) -> None:
    def on_pod(fk: FakeKube, pod: dict) -> None:
        name, ns = pod["metadata"]["name"], pod["metadata"]["namespace"]
        lab.created.append(f"pod {name}")
        if lab.interrupt_on == "writer":
            raise KeyboardInterrupt
        if lab.writer_waiting:
            state = {"waiting": {"reason": lab.writer_waiting}}
            fk.set_status(
                "Pod",
                name,
                ns,
                {"phase": "Pending", "containerStatuses": [{"name": "write", "state": state}]},
            )
            return
        fk.set_status("Pod", name, ns, {"phase": lab.writer_phase})
        fk.set_log(ns, name, lab.writer_log)

    def on_job(fk: FakeKube, job: dict) -> None:
        ns = job["metadata"]["namespace"]
        lab.created.append("job")
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "nvidia-smi-x1y2z",
                "namespace": ns,
                "labels": {"job-name": "nvidia-smi"},
            },
            "spec": copy.deepcopy(job["spec"]["template"]["spec"]),
        }
        if lab.job_unschedulable:
            pod["status"] = {
                "phase": "Pending",
                "conditions": [
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": lab.job_unschedulable,
                    }
                ],
            }
        else:
            pod["spec"]["nodeName"] = lab.job_node
            pod["status"] = {"phase": lab.job_phase}
        fk.create(pod)
        fk.set_log(ns, "nvidia-smi-x1y2z", lab.job_log)

    lab.fk.on_create("Pod", on_pod)
    lab.fk.on_create("Job", on_job)


class _Dashboard(BaseHTTPRequestHandler):
    mode = "login"

    def do_GET(self) -> None:
        mode = self.server.mode  # type: ignore[attr-defined]
        if mode == "503":
            self._answer(503, "no healthy upstream")
        elif mode == "open":
            self._answer(200, "<html>Kubeflow Central Dashboard</html>")
        elif self.path == "/":
            self._redirect("/dex/auth?client_id=authservice-oidc&state=x")
        elif self.path.startswith("/dex/auth?"):
            self._redirect("/dex/auth/local/login?back=&state=abc")
        elif self.path.startswith("/dex/auth/local/login"):
            self._answer(
                200,
                '<form method="post"><input name="login" placeholder="Email Address">'
                '<input name="password" type="password"></form>',
            )
        else:
            self._answer(404, "not found")

    def _redirect(self, where: str) -> None:
        self.send_response(302)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _answer(self, code: int, body: str) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def fk_api() -> Iterator[FakeKube]:
    """A started fake API (as support.fake_kube's fixture), stopped after the test."""
    fk = FakeKube().start()
    try:
        yield fk
    finally:
        fk.stop()
    assert not fk.server_errors, fk.server_errors[0]


@pytest.fixture
def dashboard() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Dashboard)
    server.mode = "login"  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def lab(fk_api: FakeKube, dashboard: ThreadingHTTPServer) -> Lab:
    _seed(fk_api)
    port = dashboard.server_address[1]
    fk_api.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": verify.GATEWAY_SERVICE, "namespace": "kubeflow"},
            "spec": {
                "type": "NodePort",
                "ports": [{"name": "http2", "port": 80, "nodePort": port}],
            },
        }
    )
    result = Lab(fk_api, dashboard=f"http://127.0.0.1:{port}")
    _script(result)
    return result


def _site(**changes) -> Site:
    site = validate(load(EXAMPLE, "sites/example.yaml"))
    assert not site.problems
    values = copy.deepcopy(site.values)
    for dotted, value in changes.items():
        node = values
        *parents, last = dotted.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return Site(site.path, values)


def _opts(**changes) -> verify.Options:
    base: dict[str, Any] = {
        "request_timeout": 2.0,
        "wait_nodes": 0.3,
        "wait_bind": 0.3,
        "wait_pod": 0.3,
        "wait_gpu": 0.3,
        "wait_job": 0.3,
        "wait_dashboard": 0.3,
        "wait_cleanup": 0.3,
        "poll": 0.02,
        "progress_every": 0.05,
    }
    base.update(changes)
    return verify.Options(**base)


def _run(lab: Lab, tmp_path: Path, site: Site | None = None, **opts) -> tuple[int, str]:
    config = load_kubeconfig(lab.fk.write_kubeconfig(tmp_path / "kubeconfig"))
    out = io.StringIO()
    code = verify.run(Kube(config, timeout=2.0), site or _site(), _opts(**opts), out)
    return code, out.getvalue()


def _namespaces(fk: FakeKube) -> list[str]:
    return [n["metadata"]["name"] for n in fk.list("Namespace")]


def _step(text: str, number: int) -> str:
    """The lines of step `number` in verify's output."""
    start = text.index(f"[{number}/6]")
    end = text.find(f"[{number + 1}/6]", start)
    return text[start : end if end != -1 else len(text)]


# ----------------------------------------------------------------------------------------------
# everything passes


def test_all_steps_pass_and_the_namespace_is_deleted(lab: Lab, tmp_path: Path) -> None:
    code, text = _run(lab, tmp_path)
    assert code == 0, text
    assert "ok: 6 passed, 0 failed, 0 not run, 0 skipped" in text
    assert "3 nodes Ready: admin-1, gpu-1, kf-1" in text
    assert "StorageClass homelab-nfs is the default" in text
    assert "bound to PV homelab-nfs-10gi-001" in text
    assert "nvidia-smi on gpu-1 sees: NVIDIA GeForce RTX 2080 Ti" in text
    assert "leads to the dex login page (/dex/auth/local/login)" in text
    assert _namespaces(lab.fk) == []
    assert "cleanup: namespace homelab-verify-" in text
    assert " deleted\n" in text
    assert "recycle volume=homelab-nfs-10gi-001 confirm=true" in text
    # the PV the claim used is Released (Retain), as on a real cluster
    pv = lab.fk.get("PersistentVolume", "homelab-nfs-10gi-001")
    assert pv is not None
    assert pv["status"]["phase"] == "Released"


def test_everything_is_created_in_one_unique_namespace(lab: Lab, tmp_path: Path) -> None:
    _run(lab, tmp_path)
    posts = [r for r in lab.fk.requests if r.method == "POST"]
    namespace = posts[0].body["metadata"]["name"]
    assert posts[0].kind == "Namespace"
    assert namespace.startswith("homelab-verify-")
    assert {r.kind for r in posts} == {"Namespace", "PersistentVolumeClaim", "Pod", "Job"}
    assert all(r.namespace == namespace for r in posts[1:])
    # the server checked each manifest strictly (unknown fields would be a 400)
    assert all(r.query.get("fieldValidation") == "Strict" for r in posts)
    _run(lab, tmp_path)
    second = [r for r in lab.fk.requests if r.method == "POST" and r.kind == "Namespace"][-1]
    assert second.body["metadata"]["name"] != namespace


def test_manifests_uid_gid_and_gpu_job(lab: Lab, tmp_path: Path) -> None:
    _run(lab, tmp_path)
    pods = [r.body for r in lab.fk.requests if r.method == "POST" and r.kind == "Pod"]
    ctx = pods[0]["spec"]["securityContext"]
    assert (ctx["runAsUser"], ctx["runAsGroup"]) == (1000, 100)
    job = next(r.body for r in lab.fk.requests if r.method == "POST" and r.kind == "Job")
    assert job["apiVersion"] == "batch/v1"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nvidia/cuda:12.1.0-base-ubuntu22.04"
    assert container["args"] == ["nvidia-smi"]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": 1}
    assert job["spec"]["template"]["spec"]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "PreferNoSchedule"}
    ]


def test_the_claim_asks_for_the_legacy_default_class(fk_api: FakeKube, tmp_path: Path) -> None:
    _seed(fk_api, class_name="default")
    lab = Lab(fk_api)
    _script(lab)
    _, text = _run(
        lab, tmp_path, _site(**{"kubernetes.line": "legacy"}), dashboard_url="http://127.0.0.1:9/"
    )
    assert "StorageClass default is the default" in text
    claim = next(
        r.body for r in fk_api.requests if r.method == "POST" and r.kind == "PersistentVolumeClaim"
    )
    assert claim["spec"]["storageClassName"] == "default"
    assert "ok: claim bound to PV default-10gi-001" in text


def test_steps_the_site_turns_off_are_skipped_not_passed(lab: Lab, tmp_path: Path) -> None:
    site = _site(**{"gpu.enabled": False, "kubeflow.enabled": False})
    code, text = _run(lab, tmp_path, site)
    assert code == 0
    assert "skipped: the site has gpu.enabled: false" in _step(text, 4)
    assert "skipped: the site has gpu.enabled: false" in _step(text, 5)
    assert "skipped: the site has kubeflow.enabled: false" in _step(text, 6)
    assert "ok: 3 passed, 0 failed, 0 not run, 3 skipped (by the site)" in text
    assert not any(r.kind == "Job" for r in lab.fk.requests)


# ----------------------------------------------------------------------------------------------
# each step fails, with cause and fix; the namespace still goes


def _assert_failed(code: int, text: str, number: int, *words: str) -> None:
    assert code == 1, text
    part = _step(text, number)
    for label in ("FAILED:", "likely cause:", "fix:"):
        assert label in part, part
    for word in words:
        assert word in part, part
    assert "FAIL: " in text


def test_nodes_not_ready_fail(lab: Lab, tmp_path: Path) -> None:
    lab.fk.remove("Node", "kf-1")
    lab.fk.create(_node("kf-1", ready=False))
    code, text = _run(lab, tmp_path)
    _assert_failed(
        code, text, 1, "1 of 3 not Ready: kf-1 (KubeletNotReady)", "kubelet", "juju status"
    )
    assert "waiting for nodes Ready" in _step(text, 1)  # progress while it waited


def test_no_nodes_fail(fk_api: FakeKube, tmp_path: Path) -> None:
    lab = Lab(fk_api)
    code, text = _run(lab, tmp_path, dashboard_url="http://127.0.0.1:9/")
    _assert_failed(code, text, 1, "no nodes registered")


def test_missing_storage_class_fails(lab: Lab, tmp_path: Path) -> None:
    lab.fk.remove("StorageClass", "homelab-nfs")
    code, text = _run(lab, tmp_path)
    _assert_failed(
        code, text, 2, "StorageClass homelab-nfs does not exist", "static-pv-provisioner"
    )


def test_class_not_default_fails(lab: Lab, tmp_path: Path) -> None:
    sc = lab.fk.get("StorageClass", "homelab-nfs")
    assert sc is not None
    lab.fk.remove("StorageClass", "homelab-nfs")
    sc["metadata"].pop("annotations")
    lab.fk.create(sc)
    code, text = _run(lab, tmp_path)
    _assert_failed(code, text, 2, "is not the default", "set-default=true")


def test_claim_that_never_binds_fails_and_the_namespace_goes(lab: Lab, tmp_path: Path) -> None:
    lab.fk.remove("PersistentVolume", "homelab-nfs-10gi-001")
    code, text = _run(lab, tmp_path)
    _assert_failed(code, text, 3, "is still Pending", "no Available PV", "list-volumes")
    assert "waiting for claim verify-claim to bind: Pending" in text
    assert _namespaces(lab.fk) == []


def test_write_denied_names_owner_and_mode(lab: Lab, tmp_path: Path) -> None:
    lab.writer_phase = "Failed"
    lab.writer_log = "sh: can't create /data/homelab-verify-7: Permission denied\n"
    code, text = _run(lab, tmp_path)
    _assert_failed(code, text, 3, "Permission denied", "uid 1000 / gid 100", "directory-mode=1777")
    assert _namespaces(lab.fk) == []


def test_image_pull_failure_names_the_image_option(lab: Lab, tmp_path: Path) -> None:
    lab.writer_waiting = "ImagePullBackOff"
    code, text = _run(lab, tmp_path)
    _assert_failed(code, text, 3, "ImagePullBackOff", "--image")


def test_no_gpu_allocatable_fails_with_the_operator_causes(lab: Lab, tmp_path: Path) -> None:
    lab.fk.remove("Node", "gpu-1")
    lab.fk.create(_node("gpu-1", gpus="0", labels={ROLE: "gpu"}))
    code, text = _run(lab, tmp_path)
    _assert_failed(code, text, 4, "gpu-1: nvidia.com/gpu 0", "GPU operator", "nouveau")
    assert "not run: step 4" in _step(text, 5)
    assert not any(r.kind == "Job" for r in lab.fk.requests)


def test_no_gpu_node_fails(lab: Lab, tmp_path: Path) -> None:
    lab.fk.remove("Node", "gpu-1")
    code, text = _run(lab, tmp_path)
    _assert_failed(code, text, 4, "no node is labelled", "gpu-node-labeler")


def test_job_log_without_a_gpu_fails(lab: Lab, tmp_path: Path) -> None:
    lab.job_phase = "Failed"
    lab.job_log = (
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure "
        "that the latest NVIDIA driver is installed and running.\n"
    )
    code, text = _run(lab, tmp_path)
    _assert_failed(code, text, 5, "names no GPU", "driver is not loaded")
    assert _namespaces(lab.fk) == []


def test_job_that_cannot_schedule_fails(lab: Lab, tmp_path: Path) -> None:
    lab.job_unschedulable = "0/3 nodes are available: 1 node(s) had untolerated taint {x: y}"
    code, text = _run(lab, tmp_path)
    _assert_failed(code, text, 5, "did not finish", "taint")


def test_job_on_another_node_fails(lab: Lab, tmp_path: Path) -> None:
    lab.job_node = "kf-1"
    code, text = _run(lab, tmp_path)
    _assert_failed(code, text, 5, "ran on kf-1, not on the GPU node")


def test_dashboard_503_fails(lab: Lab, tmp_path: Path, dashboard) -> None:
    dashboard.mode = "503"
    code, text = _run(lab, tmp_path)
    _assert_failed(
        code, text, 6, "HTTP 503", "not ready", "juju status -m maas-controller:kubeflow"
    )
    assert "waiting for the dashboard: HTTP 503" in text


def test_dashboard_without_login_fails(lab: Lab, tmp_path: Path, dashboard) -> None:
    dashboard.mode = "open"
    code, text = _run(lab, tmp_path)
    _assert_failed(code, text, 6, "without a dex login page", "oidc-gatekeeper")


def test_dashboard_unreachable_fails(lab: Lab, tmp_path: Path) -> None:
    code, text = _run(lab, tmp_path, dashboard_url="http://127.0.0.1:9/")
    _assert_failed(code, text, 6, "does not answer from here", "MetalLB")


def test_load_balancer_without_address_fails(lab: Lab, tmp_path: Path) -> None:
    lab.fk.remove("Service", verify.GATEWAY_SERVICE, "kubeflow")
    lab.fk.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": verify.GATEWAY_SERVICE, "namespace": "kubeflow"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            "status": {"loadBalancer": {}},
        }
    )
    code, text = _run(lab, tmp_path)
    _assert_failed(code, text, 6, "<pending>", "MetalLB", "gateway_service_type=NodePort")


def test_load_balancer_address_is_used(lab: Lab, tmp_path: Path) -> None:
    lab.fk.remove("Service", verify.GATEWAY_SERVICE, "kubeflow")
    lab.fk.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": verify.GATEWAY_SERVICE, "namespace": "kubeflow"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.240"}]}},
        }
    )
    lab.fk.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    _, text = _run(lab, tmp_path, wait_dashboard=0.05, request_timeout=0.2)
    assert "dashboard URL: http://192.0.2.240" in text
    assert _namespaces(lab.fk) == ["other"]  # only verify's own namespace is deleted


def test_api_unreachable_fails_every_step_without_waiting(tmp_path: Path) -> None:
    fk = FakeKube().start()
    path = fk.write_kubeconfig(tmp_path / "kubeconfig")
    fk.stop()
    out = io.StringIO()
    code = verify.run(Kube(load_kubeconfig(path), timeout=1.0), _site(), _opts(), out)
    text = out.getvalue()
    assert code == 1
    assert "not reachable from here" in _step(text, 1)
    assert "not run" in _step(text, 6)
    assert "0 passed, 1 failed, 5 not run" in text


def test_unauthorized_names_the_kubeconfig_fix(fk_api: FakeKube, tmp_path: Path) -> None:
    path = fk_api.write_kubeconfig(tmp_path / "kubeconfig", token="wrong")
    out = io.StringIO()
    code = verify.run(Kube(load_kubeconfig(path), timeout=1.0), _site(), _opts(), out)
    assert code == 1
    assert (
        "juju ssh kubernetes-control-plane/leader -- cat config > ~/.kube/config" in out.getvalue()
    )


# ----------------------------------------------------------------------------------------------
# Ctrl-C and SIGTERM


def test_keyboard_interrupt_deletes_the_namespace(lab: Lab, tmp_path: Path) -> None:
    lab.interrupt_on = "writer"
    lab.fk.on_create("Pod", lambda fk, pod: None)
    config = load_kubeconfig(lab.fk.write_kubeconfig(tmp_path / "kubeconfig"))

    class Interrupting(Kube):
        def create(self, path: str, obj: dict) -> dict:
            if obj["kind"] == "Pod":
                raise KeyboardInterrupt
            return super().create(path, obj)

    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        verify.run(Interrupting(config, timeout=2.0), _site(), _opts(), out)
    assert "interrupted: cleaning up" in out.getvalue()
    assert "cleanup: namespace homelab-verify-" in out.getvalue()
    assert _namespaces(lab.fk) == []


def test_sigterm_deletes_the_namespace(lab: Lab, tmp_path: Path) -> None:
    lab.fk.remove("PersistentVolume", "homelab-nfs-10gi-001")  # the claim waits
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            _run(lab, tmp_path, wait_bind=10.0)
    finally:
        timer.cancel()
    assert _namespaces(lab.fk) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_cli_exit_codes(lab: Lab, tmp_path: Path, capsys) -> None:
    kubeconfig = str(lab.fk.write_kubeconfig(tmp_path / "kubeconfig"))
    args = ["verify", "--site", str(EXAMPLE), "--kubeconfig", kubeconfig]
    out = io.StringIO()
    assert main([*args, "--wait-dashboard", "5"], out=out) == 0, out.getvalue()
    lab.fk.remove("StorageClass", "homelab-nfs")
    out = io.StringIO()
    assert main([*args, "--wait-bind", "0.2", "--wait-dashboard", "1"], out=out) == 1
    assert "FAIL:" in out.getvalue()
    with pytest.raises(SystemExit) as refused:  # 0 s is a usage error
        main([*args, "--wait-dashboard", "0"], out=io.StringIO())
    assert refused.value.code == 2
    out = io.StringIO()
    assert (
        main(["verify", "--site", str(EXAMPLE), "--kubeconfig", str(tmp_path / "none")], out=out)
        == 2
    )
    assert "juju ssh kubernetes-control-plane/leader -- cat config" in out.getvalue()


def test_cli_interrupt_is_130(lab: Lab, tmp_path: Path, monkeypatch) -> None:
    kubeconfig = str(lab.fk.write_kubeconfig(tmp_path / "kubeconfig"))

    def boom(ctx):
        raise KeyboardInterrupt

    monkeypatch.setattr(verify, "STEPS", (*verify.STEPS[:3], boom, *verify.STEPS[4:]))
    out = io.StringIO()
    code = main(["verify", "--site", str(EXAMPLE), "--kubeconfig", kubeconfig], out=out)
    assert code == 130
    assert _namespaces(lab.fk) == []


# ----------------------------------------------------------------------------------------------
# the kubeconfig loader refuses what is not self-contained


@pytest.mark.parametrize(
    ("user", "cluster", "why"),
    [
        ({"exec": {"command": "sh"}}, {}, "exec"),
        ({"auth-provider": {"name": "oidc"}}, {}, "auth-provider"),
        ({"tokenFile": "/etc/shadow"}, {}, "tokenFile"),
        ({"client-certificate": "/x", "client-key": "/y"}, {}, "client-certificate"),
        ({"token": "t"}, {"certificate-authority": "/etc/ca"}, "certificate-authority"),
        ({"token": "t"}, {"insecure-skip-tls-verify": True}, "insecure-skip-tls-verify"),
        ({"token": "t"}, {"certificate-authority-data": "%%%"}, "not base64"),
    ],
)
def test_kubeconfig_refused(tmp_path: Path, user: dict, cluster: dict, why: str) -> None:
    import yaml

    config = {
        "clusters": [{"name": "c", "cluster": {"server": "https://192.0.2.1:6443", **cluster}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(KubeconfigError, match=why):
        load_kubeconfig(path)


def test_kubeconfig_not_a_regular_file(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="not a regular file"):
        load_kubeconfig(tmp_path)


def test_https_with_the_cluster_ca_from_the_kubeconfig(tmp_path: Path) -> None:
    with FakeKube(tls=True) as fk:
        _seed(fk)
        lab = Lab(fk)
        _script(lab)
        code, text = _run(lab, tmp_path, dashboard_url="http://127.0.0.1:9/")
    assert code == 1  # only the dashboard (nothing listens on port 9)
    assert "ok: 3 nodes Ready" in _step(text, 1)
    assert "ok: nvidia-smi on gpu-1" in _step(text, 5)
    assert text.startswith("homelab verify: site example, cluster https://127.0.0.1:")


def test_cli_needs_no_built_charms_but_a_valid_site(lab: Lab, tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    text = EXAMPLE.read_text().replace("source: charmhub", "source: local")
    site.write_text(text.replace("local_dir: build", "local_dir: no-such-folder"))
    kubeconfig = str(lab.fk.write_kubeconfig(tmp_path / "kubeconfig"))
    out = io.StringIO()
    code = main(["verify", "--site", str(site), "--kubeconfig", kubeconfig], out=out)
    assert code == 0, out.getvalue()
    site.write_text(text.replace("class: homelab-nfs", "class: Not_A_Name"))
    lab.fk.reset_requests()
    out = io.StringIO()
    assert main(["verify", "--site", str(site), "--kubeconfig", kubeconfig], out=out) == 2
    assert "storage.class" in out.getvalue()
    assert lab.fk.requests == []  # nothing was asked of the cluster


def test_namespaces_of_an_earlier_run_are_named_not_deleted(lab: Lab, tmp_path: Path) -> None:
    left = {"name": "homelab-verify-old123", "labels": dict(verify.MANAGED_BY)}
    lab.fk.create({"apiVersion": "v1", "kind": "Namespace", "metadata": left})
    code, text = _run(lab, tmp_path)
    assert code == 0
    assert "namespaces left by an earlier verify: homelab-verify-old123" in text
    assert _namespaces(lab.fk) == ["homelab-verify-old123"]


@pytest.mark.parametrize("route", ["operator", "containerd"])
def test_manifests_are_valid_on_both_lines(route: str) -> None:
    from support.k8s_schema import assert_valid

    assert_valid(
        verify.claim_manifest("homelab-verify-abc123", "homelab-nfs"), versions=("1.28", "1.32")
    )
    assert_valid(
        verify.writer_manifest("homelab-verify-abc123", verify.WRITE_IMAGE),
        versions=("1.28", "1.32"),
    )
    job = verify.job_manifest("homelab-verify-abc123", verify.CUDA_IMAGE, "NoSchedule", route)
    assert_valid(job, versions=("1.28", "1.32"))
    volumes = job["spec"]["template"]["spec"].get("volumes", [])
    assert bool(volumes) == (route != "operator")  # the docs' hostPath mounts off the operator
