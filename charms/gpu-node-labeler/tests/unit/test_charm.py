"""ops.testing: statuses, label ownership, cleanup, the taint rule, the detect action.

The Node API is replaced by FakeApi (an in-memory Node); tests against the fake Kubernetes API
server are in tests/component.
"""

from __future__ import annotations

import json

import pytest
from ops import testing

from node_api import NodeApiError, NodeView

P = "gpu.homelab-charms.io"
NODE = "gpu-box"
RTX = "1× GeForce RTX 2080 Ti (TU102)"  # noqa: RUF001 - the status uses a multiplication sign


class FakeApi:
    """An in-memory Node; callable as the charm's API factory (records what it was given)."""

    def __init__(self, labels=None, taints=None, exists=True):
        self.labels: dict[str, str] = dict(labels or {})
        self.taints: list[dict] = list(taints or [])
        self.rv = 1
        self.exists = exists
        self.sources: list[str] = []
        self.gets = 0
        self.patches: list[tuple[dict, list | None, str]] = []
        self.connect_error: NodeApiError | None = None
        self.get_errors: list[NodeApiError] = []
        self.patch_errors: list[NodeApiError] = []

    def __call__(self, source: str, option: str = "") -> FakeApi:
        self.sources.append(source)
        if self.connect_error:
            raise self.connect_error
        return self

    def get(self, name: str) -> NodeView:
        self.gets += 1
        if self.get_errors:
            raise self.get_errors.pop(0)
        if not self.exists or name != NODE:
            raise NodeApiError("not-found", f"GET node {name}: 404 NotFound", 404)
        return NodeView(name, dict(self.labels), [dict(t) for t in self.taints], str(self.rv))

    def patch(self, name, labels, taints=None, resource_version=""):
        self.patches.append((dict(labels), taints, resource_version))
        if self.patch_errors:
            raise self.patch_errors.pop(0)
        for k, v in labels.items():
            if v is None:
                self.labels.pop(k, None)
            else:
                self.labels[k] = v
        if taints is not None:
            self.taints = list(taints)
        self.rv += 1
        return NodeView(name, dict(self.labels), list(self.taints), str(self.rv))


def owned(out: testing.State) -> dict:
    return dict(out.get_stored_state("_stored", owner_path="TestCharm").content)


def run(make_ctx, root, smi, api, st, *, event="update_status"):
    ctx = make_ctx(root, smi=smi, api=api)
    out = ctx.run(getattr(ctx.on, event)(), st)
    return ctx, out


# --- statuses and labels ---


def test_nvidia_node_is_labelled(tree, smi, make_ctx, make_state):
    api = FakeApi(labels={"kubernetes.io/hostname": NODE})
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, make_state())
    assert out.unit_status == testing.ActiveStatus(f"{RTX}, driver 550.127.05, labelled")
    assert api.sources == ["/root/cdk/kubeconfig"]
    assert (api.gets, len(api.patches)) == (1, 1)
    assert api.labels[f"{P}/model"] == "GeForce-RTX-2080-Ti"
    assert api.labels["nvidia.com/gpu.product"] == "NVIDIA-GeForce-RTX-2080-Ti"
    assert api.labels["gpu"] == "true"
    assert api.labels["kubernetes.io/hostname"] == NODE
    stored = owned(out)
    assert stored["node"] == NODE
    assert set(stored["owned_labels"]) == set(api.labels) - {"kubernetes.io/hostname"}
    assert api.patches[0][1] is None  # no taint list sent


def test_steady_state_is_one_get_and_no_patch(tree, smi, make_ctx, make_state):
    api = FakeApi()
    root, runner = tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia")
    _, out = run(make_ctx, root, runner, api, make_state())
    api.gets, api.patches = 0, []
    for _ in range(3):
        _, out = run(make_ctx, root, runner, api, out)
    assert (api.gets, len(api.patches)) == (3, 0)
    assert out.unit_status.name == "active"


def test_hardware_change_is_exactly_one_patch(tree, smi, make_ctx, make_state):
    api = FakeApi()
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, make_state())
    api.gets, api.patches = 0, []
    _, out = run(make_ctx, tree("two-models"), smi("two-models"), api, out)
    assert (api.gets, len(api.patches)) == (1, 1)
    assert api.patches[0][0] == {
        f"{P}/count": "2",
        f"{P}/count.2204": "1",
        f"{P}/mixed": "true",
        "nvidia.com/gpu.count": "2",
    }
    assert out.unit_status == testing.ActiveStatus(
        f"{RTX} + 1× GeForce RTX 3090 (GA102), driver 550.127.05, labelled"  # noqa: RUF001
    )


def test_gpu_removed_removes_only_owned_labels(tree, smi, make_ctx, make_state):
    api = FakeApi(labels={"gpu": "true", "cuda": "true", "team": "ml"})  # a 1.28 worker's labels
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, make_state())
    assert "gpu" not in owned(out)["owned_labels"]
    _, out = run(make_ctx, tree("no-gpu"), smi("no-gpu"), api, out)
    assert out.unit_status == testing.ActiveStatus("no NVIDIA GPU")
    assert api.labels == {"gpu": "true", "cuda": "true", "team": "ml", f"{P}/present": "false"}
    assert owned(out)["owned_labels"] == [f"{P}/present"]


def test_no_gpu(tree, smi, make_ctx, make_state):
    api = FakeApi()
    _, out = run(make_ctx, tree("bmc-vga"), smi("bmc-vga"), api, make_state())
    assert out.unit_status == testing.ActiveStatus("no NVIDIA GPU")
    assert api.labels == {f"{P}/present": "false"}


NOUVEAU_FIX = (
    "printf 'blacklist nouveau\\noptions nouveau modeset=0\\n' | sudo tee "
    "/etc/modprobe.d/blacklist-nouveau.conf; sudo update-initramfs -u; sudo reboot"
)
CONTAINERD_FIX = (
    "set containerd gpu_driver=auto (juju config containerd gpu_driver=auto): containerd "
    "installs the NVIDIA driver"
)


@pytest.mark.parametrize(
    ("route", "tree_name", "status"),
    [
        (
            "operator",
            "rtx2080ti-nouveau",
            testing.BlockedStatus(
                "NVIDIA GPU found (TU102) but nouveau is loaded: blacklist it before the GPU "
                f"operator's driver container can load the NVIDIA driver: {NOUVEAU_FIX}"
            ),
        ),
        (
            "operator",
            "rtx2080ti-nodriver",
            testing.WaitingStatus(
                "NVIDIA GPU found (TU102), no driver loaded yet: waiting for the GPU operator's "
                "driver container (deploy nvidia-gpu-operator if it is not)"
            ),
        ),
        (
            "containerd",
            "rtx2080ti-nouveau",
            testing.BlockedStatus(
                f"NVIDIA GPU found (TU102) but nouveau is loaded: {CONTAINERD_FIX}, "
                f"and blacklist nouveau: {NOUVEAU_FIX}"
            ),
        ),
        (
            "containerd",
            "rtx2080ti-nodriver",
            testing.BlockedStatus(
                f"NVIDIA GPU found (TU102) but no driver loaded: {CONTAINERD_FIX}"
            ),
        ),
        (
            "preinstalled",
            "rtx2080ti-nouveau",
            testing.BlockedStatus(
                "NVIDIA GPU found (TU102) but nouveau is loaded: install the NVIDIA driver on "
                f"this machine (driver-route=preinstalled), and blacklist nouveau: {NOUVEAU_FIX}"
            ),
        ),
        (
            "preinstalled",
            "rtx2080ti-nodriver",
            testing.BlockedStatus(
                "NVIDIA GPU found (TU102) but no driver loaded: install the NVIDIA driver on "
                "this machine (driver-route=preinstalled)"
            ),
        ),
    ],
)
def test_missing_driver_advice_follows_the_driver_route(
    tree, smi, make_ctx, make_state, *, route, tree_name, status
):
    api = FakeApi()
    st = make_state(config={"driver-route": route})
    _, out = run(make_ctx, tree(tree_name), smi(tree_name), api, st)
    assert out.unit_status == status
    assert "gpu_driver" not in status.message or route == "containerd"
    assert api.labels[f"{P}/present"] == "true"  # labelled all the same
    assert api.labels[f"{P}/driver"] == tree_name.rpartition("-")[2].replace("nodriver", "none")


@pytest.mark.parametrize("route", ["operator", "containerd", "preinstalled"])
def test_a_usable_driver_is_active_on_every_route(tree, smi, make_ctx, make_state, *, route):
    api = FakeApi()
    st = make_state(config={"driver-route": route})
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, st)
    assert out.unit_status.name == "active"


def test_unknown_driver_route_is_blocked(tree, smi, make_ctx, make_state):
    api = FakeApi()
    st = make_state(config={"driver-route": "dkms"})
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, st)
    assert out.unit_status == testing.BlockedStatus(
        "driver-route 'dkms' must be one of operator, containerd, preinstalled"
    )
    assert api.sources == []


def test_driver_installed_later_adds_labels(tree, smi, make_ctx, make_state):
    api = FakeApi()
    _, out = run(
        make_ctx, tree("rtx2080ti-nodriver"), smi("rtx2080ti-nodriver"), api, make_state()
    )
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, out)
    assert out.unit_status.name == "active"
    assert api.labels[f"{P}/driver"] == "nvidia"
    assert api.labels["nvidia.com/gpu.memory"] == "11264"


def test_unusable_driver_keeps_gpu_labels_blocked(tree, smi, fake_smi, make_ctx, make_state):
    api = FakeApi()
    root = tree("rtx2080ti-nvidia")
    _, out = run(make_ctx, root, smi("rtx2080ti-nvidia"), api, make_state())
    broken = fake_smi("Unable to determine the device handle for GPU0000:01:00.0\n", returncode=15)
    _, out = run(make_ctx, root, broken, api, out)
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith(
        f"{RTX}: NVIDIA driver 550.127.05 loaded but unusable (nvidia-smi exit 15 (GPU fell off"
    )
    # the GPU is still there: our labels say so, the driver-data ones go
    assert api.labels[f"{P}/present"] == "true"
    assert api.labels[f"{P}/usable"] == "false"
    assert "nvidia.com/gpu.product" not in api.labels
    assert "gpu" not in api.labels


def test_gpu_operator_route_is_labelled_and_active(tree, smi, make_ctx, make_state):
    runner = smi("rtx2080ti-operator")
    runner.chroot_only = True  # nvidia-smi only in the operator's driver root
    api = FakeApi()
    _, out = run(make_ctx, tree("rtx2080ti-operator"), runner, api, make_state())
    assert out.unit_status == testing.ActiveStatus(f"{RTX}, driver 550.127.05, labelled")
    assert api.labels[f"{P}/usable"] == "true"
    assert (api.labels["gpu"], api.labels["cuda"]) == ("true", "true")
    assert api.labels["nvidia.com/gpu.product"] == "NVIDIA-GeForce-RTX-2080-Ti"


def test_operator_managed_driver_unreadable_here_is_active(tree, fake_smi, make_ctx, make_state):
    api = FakeApi(labels={"nvidia.com/gfd.timestamp": "1764400000"})
    runner = fake_smi(raises=FileNotFoundError())
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), runner, api, make_state())
    assert out.unit_status == testing.ActiveStatus(
        f"{RTX}, driver 550.127.05 managed by the GPU operator "
        "(here: nvidia-smi not installed), labelled"
    )


@pytest.mark.parametrize(
    "failure",
    [
        {"raises": "timeout"},
        {"stdout": "NVIDIA-SMI has failed\n", "returncode": 9},
        {"stdout": "NVML Shared Library Not Found\n", "returncode": 12},
        {"stdout": "Unknown Error\n", "returncode": 255},
    ],
)
def test_failed_nvidia_smi_read_does_not_flap_labels(
    tree, smi, fake_smi, make_ctx, make_state, *, failure
):
    import gpu

    if failure.get("raises") == "timeout":
        failure = {"raises": gpu.CommandTimeoutError("nvidia-smi ran past 10 s")}
    api = FakeApi()
    root, good = tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia")
    _, out = run(make_ctx, root, good, api, make_state())
    before, owned_before = dict(api.labels), owned(out)["owned_labels"]
    api.gets, api.patches = 0, []
    _, out = run(make_ctx, root, fake_smi(**failure), api, out)
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.endswith("; labels from its last answer kept")
    assert (api.gets, api.patches) == (1, [])  # nothing removed, nothing flipped
    assert api.labels == before
    assert owned(out)["owned_labels"] == owned_before  # still ours, removed at cleanup
    _, out = run(make_ctx, root, good, api, out)  # nvidia-smi answers again: nothing to redo
    assert (api.gets, api.patches) == (2, [])
    assert out.unit_status.name == "active"


def test_nvidia_smi_hanging_is_bounded(tree, fake_smi, make_ctx, make_state):
    import gpu

    runner = fake_smi(raises=gpu.CommandTimeoutError("x"))
    api = FakeApi()
    st = make_state(config={"nvidia-smi-timeout": 3})
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), runner, api, st)
    assert runner.calls[0][1] == 3
    assert "unusable (nvidia-smi timed out after 3 s)" in out.unit_status.message


def test_node_name_defaults_to_lower_cased_hostname(tree, smi, make_ctx, make_state):
    api = FakeApi()
    ctx = make_ctx(tree("no-gpu"), smi=smi("no-gpu"), api=api)  # hostname GPU-Box
    out = ctx.run(ctx.on.config_changed(), make_state())
    assert out.unit_status == testing.ActiveStatus("no NVIDIA GPU")


def test_node_not_registered_yet(tree, smi, make_ctx, make_state):
    api = FakeApi(exists=False)
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, make_state())
    assert out.unit_status == testing.WaitingStatus(f"node {NODE} not registered yet")
    assert api.patches == []


def test_configured_node_name(tree, smi, make_ctx, make_state):
    api = FakeApi()
    st = make_state(config={"node-name": "other-node"})
    _, out = run(make_ctx, tree("no-gpu"), smi("no-gpu"), api, st)
    assert out.unit_status == testing.WaitingStatus("node other-node not registered yet")


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (
            NodeApiError("missing", "/root/cdk/kubeconfig not found"),
            testing.WaitingStatus(
                "waiting for the kubelet's kubeconfig /root/cdk/kubeconfig (kubeconfig-path): "
                "it appears once the node joins the cluster; on Canonical Kubernetes set "
                "kubeconfig-path=/etc/kubernetes/kubelet.conf"
            ),
        ),
        (
            NodeApiError("invalid", "kubeconfig-path /root/cdk/kubeconfig is not valid YAML"),
            testing.BlockedStatus("kubeconfig-path /root/cdk/kubeconfig is not valid YAML"),
        ),
    ],
)
def test_kubeconfig_problems(tree, smi, make_ctx, make_state, *, error, status):
    api = FakeApi()
    api.connect_error = error
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, make_state())
    assert out.unit_status == status


UNAUTHORIZED = (
    "Kubernetes API rejected the credentials from kubeconfig-path /root/cdk/kubeconfig "
    "(401 Unauthorized) while trying to GET node gpu-box"
)
UNAVAILABLE_503 = "Kubernetes API error 503 while trying to GET node gpu-box"
TIMED_OUT = "Kubernetes API timed out while trying to GET node gpu-box"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (
            NodeApiError("unauthorized", UNAUTHORIZED, 401),
            testing.BlockedStatus(UNAUTHORIZED),
        ),
        (
            NodeApiError("forbidden", "Kubernetes API: not allowed to GET node gpu-box", 403),
            testing.BlockedStatus(
                "Kubernetes API: not allowed to GET node gpu-box; the kubelet identity may "
                "only read and label its own Node: check node-name"
            ),
        ),
        (
            NodeApiError("unavailable", UNAVAILABLE_503, 503),
            testing.WaitingStatus(f"{UNAVAILABLE_503}; retrying at next update-status"),
        ),
        (
            NodeApiError("unavailable", TIMED_OUT),
            testing.WaitingStatus(f"{TIMED_OUT}; retrying at next update-status"),
        ),
    ],
)
def test_api_faults_on_get(tree, smi, make_ctx, make_state, *, error, status):
    api = FakeApi(labels={f"{P}/present": "true"})
    api.get_errors = [error]
    st = make_state(owned=[f"{P}/present"])
    _, out = run(make_ctx, tree("no-gpu"), smi("no-gpu"), api, st)
    assert out.unit_status == status
    assert api.patches == []
    assert owned(out)["owned_labels"] == [f"{P}/present"]  # nothing forgotten


def test_api_fault_on_patch_keeps_ownership(tree, smi, make_ctx, make_state):
    api = FakeApi(labels={f"{P}/present": "true", f"{P}/count": "1"})
    api.patch_errors = [NodeApiError("unavailable", "PATCH node gpu-box: 500 InternalError", 500)]
    st = make_state(owned=[f"{P}/count", f"{P}/present"])
    _, out = run(make_ctx, tree("no-gpu"), smi("no-gpu"), api, st)
    assert out.unit_status.name == "waiting"
    assert owned(out)["owned_labels"] == [f"{P}/count", f"{P}/present"]
    _, out = run(make_ctx, tree("no-gpu"), smi("no-gpu"), api, out)  # the API is back
    assert api.labels == {f"{P}/present": "false"}


def test_conflict_on_patch_is_retried_once(tree, smi, make_ctx, make_state):
    api = FakeApi()
    api.patch_errors = [NodeApiError("conflict", "PATCH node gpu-box: 409 Conflict", 409)]
    st = make_state(config={"taint": "NoSchedule", "admin-kubeconfig-path": "/root/.kube/config"})
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, st)
    assert (api.gets, len(api.patches)) == (2, 2)
    assert out.unit_status.name == "active"


def test_conflict_twice_waits(tree, smi, make_ctx, make_state):
    api = FakeApi()
    err = NodeApiError("conflict", "PATCH node gpu-box: 409 Conflict", 409)
    api.patch_errors = [err, err]
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, make_state())
    assert out.unit_status.name == "waiting"
    assert "409" in out.unit_status.message


# --- bad input ---


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"label-prefix": "Bad_Prefix"}, "label-prefix 'Bad_Prefix' must be a DNS subdomain"),
        ({"label-prefix": "nvidia.com"}, "label-prefix 'nvidia.com' is reserved"),
        ({"label-prefix": "node.kubernetes.io"}, "label-prefix 'node.kubernetes.io' is reserved"),
        ({"node-name": "GPU Box"}, "node-name 'GPU Box' is not a valid node name"),
        ({"kubeconfig-path": "cdk/kubeconfig"}, "kubeconfig-path must be an absolute path"),
        ({"kubeconfig-path": ""}, "kubeconfig-path must not be empty"),
        (
            {"taint": "NoExecute"},
            "taint 'NoExecute' must be empty, NoSchedule or PreferNoSchedule",
        ),
        ({"admin-kubeconfig-path": "x"}, "admin-kubeconfig-path must be an absolute path"),
        ({"admin-kubeconfig-secret": "hello"}, "admin-kubeconfig-secret must be a Juju secret id"),
        (
            {"admin-kubeconfig-path": "/a", "admin-kubeconfig-secret": "secret:" + "a" * 20},
            "set only one of admin-kubeconfig-path and admin-kubeconfig-secret",
        ),
        ({"nvidia-smi-timeout": 0}, "nvidia-smi-timeout must be 1 to 120 seconds"),
        ({"nvidia-smi-timeout": 1000}, "nvidia-smi-timeout must be 1 to 120 seconds"),
    ],
)
def test_invalid_config_blocks_and_touches_nothing(
    tree, smi, make_ctx, make_state, *, config, message
):
    api = FakeApi()
    _, out = run(
        make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, make_state(config)
    )
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith(message)
    assert api.sources == []


def test_invalid_hostname_asks_for_node_name(tree, smi, make_ctx, make_state):
    ctx = make_ctx(tree("no-gpu"), smi=smi("no-gpu"), api=FakeApi(), hostname="bad_host")
    out = ctx.run(ctx.on.update_status(), make_state())
    assert out.unit_status == testing.BlockedStatus(
        "hostname 'bad_host' is not a valid node name: set node-name to the Node's name"
    )


def test_prefix_change_moves_labels(tree, smi, make_ctx, make_state):
    api = FakeApi()
    root, runner = tree("rtx2080ti-nodriver"), smi("rtx2080ti-nodriver")
    _, out = run(make_ctx, root, runner, api, make_state())
    out = testing.State(
        config={**out.config, "label-prefix": "gpu.example.org"},
        relations=out.relations,
        stored_states=out.stored_states,
    )
    _, out = run(make_ctx, root, runner, api, out)
    assert not any(k.startswith(P) for k in api.labels)
    assert api.labels["gpu.example.org/present"] == "true"
    assert len(api.patches) == 2


def test_corrupt_sysfs_never_removes_labels(tree, smi, make_ctx, make_state):
    api = FakeApi()
    root = tree("rtx2080ti-nvidia")
    runner = smi("rtx2080ti-nvidia")
    _, out = run(make_ctx, root, runner, api, make_state())
    before = dict(api.labels)
    (root / "sys/devices/pci0000:00/0000:01:00.0/vendor").write_text("???\n")
    api.gets = 0
    _, out = run(make_ctx, root, runner, api, out)
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith("PCI scan incomplete (1 unreadable entry")
    assert api.gets == 0  # a failed read does not even reach the API
    assert api.labels == before


def test_incomplete_scan_with_gpus_never_changes_or_removes(tree, smi, make_ctx, make_state):
    api = FakeApi()
    root = tree("two-models")
    _, out = run(make_ctx, root, smi("two-models"), api, make_state())
    before = dict(api.labels)
    (root / "sys/devices/pci0000:00/0000:02:00.0/vendor").write_text("???\n")
    _, out = run(make_ctx, root, smi("two-models"), api, out)
    # one of two GPUs unreadable: count stays 2, nothing is removed, nothing sent at all
    assert len(api.patches) == 1
    assert api.labels == before
    assert (api.labels[f"{P}/count"], api.labels["nvidia.com/gpu.count"]) == ("2", "2")
    assert set(owned(out)["owned_labels"]) == set(before)
    assert out.unit_status.message.endswith(
        "(1 unreadable PCI entry: labels only added, none changed or removed)"
    )


def test_incomplete_scan_still_adds_absent_keys(tree, smi, make_ctx, make_state):
    api = FakeApi()
    root = tree("two-models")
    (root / "sys/devices/pci0000:00/0000:02:00.0/vendor").write_text("???\n")
    _, out = run(make_ctx, root, smi("two-models"), api, make_state())
    assert api.labels[f"{P}/count"] == "1"  # a first run: nothing to keep, the one it saw
    assert out.unit_status.name == "active"


@pytest.mark.parametrize("event", ["update_status", "stop", "remove"])
def test_a_prefix_covering_the_role_label_never_deletes_it(
    tree, smi, make_ctx, make_state, *, event
):
    # issue 11: label-prefix homelab-charms.io, the worker's role label homelab-charms.io/role
    from pathlib import Path

    role = {"homelab-charms.io/role": "gpu", "homelab-charms.io/note": "by-hand"}
    api = FakeApi(labels=dict(role))
    root, runner = tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia")
    st = make_state(config={"label-prefix": "homelab-charms.io"})
    _, out = run(make_ctx, root, runner, api, st)
    assert api.labels["homelab-charms.io/present"] == "true"
    _, out = run(make_ctx, root, runner, api, out, event=event)
    assert {k: api.labels.get(k) for k in role} == role
    for patch in api.patches:
        assert not set(patch[0]) & set(role)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    ownership = readme.split("## Ownership", 1)[1].split("\n## ", 1)[0]
    assert "never removes a key it did not set" in ownership


def test_missing_sysfs_blocks_without_api(tmp_path, smi, make_ctx, make_state):
    api = FakeApi()
    _, out = run(make_ctx, tmp_path, smi("no-gpu"), api, make_state())
    assert out.unit_status.message.startswith("cannot scan PCI devices")
    assert api.sources == []


# --- GPU Feature Discovery ---


def test_gfd_managed_node_gets_no_nvidia_labels_and_keeps_gfds(tree, smi, make_ctx, make_state):
    api = FakeApi()
    root, runner = tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia")
    _, out = run(make_ctx, root, runner, api, make_state())
    # GFD arrives and rewrites the product in its own way
    api.labels.update({"nvidia.com/gfd.timestamp": "1764400000", "nvidia.com/gpu.product": "GFD"})
    api.patches = []
    _, out = run(make_ctx, root, runner, api, out)
    assert api.patches == []
    assert api.labels["nvidia.com/gpu.product"] == "GFD"
    assert not any(k.startswith("nvidia.com/") for k in owned(out)["owned_labels"])
    # and removing our charm later leaves GFD's labels alone
    ctx = make_ctx(root, smi=runner, api=api)
    ctx.run(ctx.on.stop(), out)
    assert api.labels["nvidia.com/gpu.product"] == "GFD"
    assert "nvidia.com/gpu.memory" in api.labels  # handed over, GFD owns it now
    assert not any(k.startswith(P) for k in api.labels)


def test_gfd_labels_off(tree, smi, make_ctx, make_state):
    api = FakeApi()
    st = make_state(config={"gfd-labels": False, "legacy-labels": False})
    run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, st)
    assert all(k.startswith(P + "/") for k in api.labels)


# --- taint ---


def test_taint_with_kubelet_identity_is_blocked_but_labels_applied(
    tree, smi, make_ctx, make_state
):
    api = FakeApi()
    st = make_state(config={"taint": "NoSchedule"})
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, st)
    assert out.unit_status == testing.BlockedStatus(
        "taint=NoSchedule needs an admin identity: the kubelet identity cannot change taints "
        "(NodeRestriction); set admin-kubeconfig-path or admin-kubeconfig-secret"
    )
    assert api.taints == []
    assert api.patches[0][1] is None
    assert api.labels[f"{P}/present"] == "true"


def test_taint_with_admin_path(tree, smi, make_ctx, make_state):
    api = FakeApi(taints=[{"key": "other", "effect": "NoExecute"}])
    st = make_state(config={"taint": "NoSchedule", "admin-kubeconfig-path": "/root/.kube/config"})
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, st)
    assert api.sources == ["/root/.kube/config"]
    assert out.unit_status == testing.ActiveStatus(
        f"{RTX}, driver 550.127.05, labelled, tainted NoSchedule"
    )
    assert api.taints == [
        {"key": "other", "effect": "NoExecute"},
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
    ]
    assert len(api.patches) == 1  # labels and taint in one request
    labels_sent, taints_sent, rv = api.patches[0]
    assert labels_sent
    assert taints_sent
    assert rv == "1"
    assert owned(out)["owned_taint"] == "NoSchedule"
    # steady state
    api.patches, api.gets = [], 0
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, out)
    assert (api.gets, len(api.patches)) == (1, 0)


def test_taint_not_applied_without_gpu(tree, smi, make_ctx, make_state):
    api = FakeApi()
    st = make_state(config={"taint": "NoSchedule"})  # no admin: but nothing to taint
    _, out = run(make_ctx, tree("no-gpu"), smi("no-gpu"), api, st)
    assert out.unit_status == testing.ActiveStatus("no NVIDIA GPU")
    assert api.taints == []


def test_taint_switched_off_removes_only_ours(tree, smi, make_ctx, make_state):
    ours = {"key": "nvidia.com/gpu", "value": "present", "effect": "PreferNoSchedule"}
    other = {"key": "other", "effect": "NoExecute"}
    api = FakeApi(taints=[other, ours])
    st = make_state(
        config={"admin-kubeconfig-path": "/root/.kube/config"},
        owned=[],
        owned_taint="PreferNoSchedule",
    )
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, st)
    assert api.taints == [other]
    assert owned(out)["owned_taint"] == ""


def test_taint_removal_without_admin_is_blocked(tree, smi, make_ctx, make_state):
    ours = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    api = FakeApi(taints=[ours])
    st = make_state(owned=[], owned_taint="NoSchedule")
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, st)
    assert out.unit_status.message.startswith("removing taint NoSchedule needs an admin identity")
    assert api.taints == [ours]
    assert owned(out)["owned_taint"] == "NoSchedule"


ADMIN_KUBECONFIG = "apiVersion: v1\nusers: [{name: a, user: {token: s3cr3t-t0ken}}]\n"


def test_taint_with_admin_secret(tree, smi, make_ctx, make_state):
    api = FakeApi()
    secret = testing.Secret(tracked_content={"kubeconfig": ADMIN_KUBECONFIG})
    st = make_state(
        config={"taint": "NoSchedule", "admin-kubeconfig-secret": secret.id}, secrets=[secret]
    )
    ctx, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, st)
    assert api.sources == [ADMIN_KUBECONFIG]
    assert out.unit_status.message.endswith("tainted NoSchedule")
    assert "s3cr3t" not in out.unit_status.message
    assert not any("s3cr3t" in log.message for log in ctx.juju_log)


def test_admin_secret_missing_or_not_granted(tree, smi, make_ctx, make_state):
    api = FakeApi()
    sid = "secret:" + "b" * 20
    st = make_state(config={"admin-kubeconfig-secret": sid})
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, st)
    assert out.unit_status == testing.BlockedStatus(
        f"admin-kubeconfig-secret {sid} not found or not granted "
        f"(juju grant-secret {sid} gpu-node-labeler)"
    )
    assert api.sources == []


def test_admin_secret_without_the_key(tree, smi, make_ctx, make_state):
    api = FakeApi()
    secret = testing.Secret(tracked_content={"config": ADMIN_KUBECONFIG})
    st = make_state(config={"admin-kubeconfig-secret": secret.id}, secrets=[secret])
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, st)
    assert out.unit_status == testing.BlockedStatus(
        f"admin-kubeconfig-secret {secret.id} has no 'kubeconfig' key"
    )


def test_admin_kubeconfig_missing_waits(tree, smi, make_ctx, make_state):
    api = FakeApi()
    api.connect_error = NodeApiError("missing", "/root/.kube/config not found")
    st = make_state(config={"admin-kubeconfig-path": "/root/.kube/config"})
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, st)
    assert out.unit_status == testing.WaitingStatus(
        "waiting for the admin kubeconfig /root/.kube/config (admin-kubeconfig-path): it "
        "appears once the worker is set up"
    )


def test_admin_kubeconfig_unreadable_is_blocked(tree, smi, make_ctx, make_state):
    api = FakeApi()
    api.connect_error = NodeApiError(
        "invalid", "admin-kubeconfig-path /root/.kube/config: cannot be read (Permission denied)"
    )
    st = make_state(config={"admin-kubeconfig-path": "/root/.kube/config"})
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, st)
    assert out.unit_status == testing.BlockedStatus(
        "admin-kubeconfig-path /root/.kube/config: cannot be read (Permission denied)"
    )


# --- cleanup ---


@pytest.mark.parametrize("event", ["stop", "remove"])
def test_removal_deletes_only_our_labels_and_taint(tree, smi, make_ctx, make_state, event):
    api = FakeApi(labels={"team": "ml", "gpu": "true"})
    st = make_state(config={"taint": "NoSchedule", "admin-kubeconfig-path": "/root/.kube/config"})
    root, runner = tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia")
    _, out = run(make_ctx, root, runner, api, st)
    assert api.taints
    api.patches = []
    _, out = run(make_ctx, root, runner, api, out, event=event)
    assert api.labels == {"team": "ml", "gpu": "true"}
    assert api.taints == []
    assert len(api.patches) == 1
    assert owned(out)["owned_labels"] == []
    assert owned(out)["owned_taint"] == ""


def test_removal_takes_the_same_path_conflict_retried_foreign_keys_kept(
    tree, smi, make_ctx, make_state
):
    api = FakeApi(labels={"team": "ml"})
    st = make_state(config={"taint": "NoSchedule", "admin-kubeconfig-path": "/root/.kube/config"})
    root, runner = tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia")
    _, out = run(make_ctx, root, runner, api, st)
    api.labels[f"{P}/note"] = "by-hand"  # under our prefix but not set by us: kept
    api.gets, api.patches = 0, []
    api.patch_errors = [NodeApiError("conflict", "PATCH node gpu-box: 409 Conflict", 409)]
    _, out = run(make_ctx, root, runner, api, out, event="stop")
    assert (api.gets, len(api.patches)) == (2, 2)  # one 409 retried, as in any hook
    assert api.labels == {"team": "ml", f"{P}/note": "by-hand"}
    assert api.taints == []


def test_removal_with_nothing_owned_makes_no_request(tree, smi, make_ctx, make_state):
    api = FakeApi()
    ctx = make_ctx(tree("no-gpu"), smi=smi("no-gpu"), api=api)
    ctx.run(ctx.on.stop(), make_state())
    assert api.sources == []


def test_removal_failure_does_not_fail_the_hook(tree, smi, make_ctx, make_state):
    api = FakeApi(labels={f"{P}/present": "true"})
    api.get_errors = [NodeApiError("unavailable", "GET node gpu-box: timed out")]
    st = make_state(owned=[f"{P}/present"])
    ctx = make_ctx(tree("no-gpu"), smi=smi("no-gpu"), api=api)
    out = ctx.run(ctx.on.stop(), st)
    assert api.labels == {f"{P}/present": "true"}
    assert owned(out)["owned_labels"] == [f"{P}/present"]  # kept: remove may try again
    out = ctx.run(ctx.on.remove(), out)
    assert api.labels == {}


def test_node_name_change_forgets_the_old_node(tree, smi, make_ctx, make_state):
    api = FakeApi()
    st = make_state(config={"node-name": NODE}, owned=["gpu"], node="old-node")
    _, out = run(make_ctx, tree("no-gpu"), smi("no-gpu"), api, st)
    assert owned(out) == {"owned_labels": [f"{P}/present"], "owned_taint": "", "node": NODE}


# --- the detect action ---


def test_detect_action_is_a_dry_run(tree, smi, make_ctx, make_state):
    api = FakeApi(labels={f"{P}/present": "false"})
    ctx = make_ctx(tree("rtx2080ti-nvidia"), smi=smi("rtx2080ti-nvidia"), api=api)
    ctx.run(ctx.on.action("detect"), make_state())
    assert api.patches == []
    results = ctx.action_results or {}
    detection = json.loads(results["detection"])
    assert detection["gpus"][0]["address"] == "0000:01:00.0"
    assert detection["gpus"][0]["usable"] is True
    assert detection["smi"]["ok"] is True
    wanted = json.loads(results["labels"])
    assert wanted[f"{P}/present"] == "true"
    changes = json.loads(results["changes"])
    assert changes[f"{P}/present"] == "true"
    assert results["summary"] == f"{RTX}, driver 550.127.05"
    assert results["node"] == NODE


def test_detect_action_without_api(tree, smi, make_ctx, make_state):
    api = FakeApi()
    api.connect_error = NodeApiError("missing", "/root/cdk/kubeconfig not found")
    ctx = make_ctx(tree("rtx2080ti-nouveau"), smi=smi("rtx2080ti-nouveau"), api=api)
    ctx.run(ctx.on.action("detect"), make_state())
    results = ctx.action_results or {}
    assert results["api-error"] == "/root/cdk/kubeconfig not found"
    assert json.loads(results["labels"])[f"{P}/driver"] == "nouveau"
    assert "changes" not in results


def test_detect_action_with_bad_config_fails(tree, smi, make_ctx, make_state):
    ctx = make_ctx(tree("no-gpu"), smi=smi("no-gpu"), api=FakeApi())
    with pytest.raises(testing.ActionFailed) as err:
        ctx.run(ctx.on.action("detect"), make_state({"label-prefix": "-x-"}))
    assert "label-prefix" in err.value.message


def test_detect_action_after_a_failed_read_would_change_nothing(tree, smi, make_ctx, make_state):
    api = FakeApi(labels={f"{P}/present": "true"})
    root = tree("rtx2080ti-nodriver")
    (root / "sys/devices/pci0000:00/0000:01:00.0/vendor").write_text("zz\n")
    ctx = make_ctx(root, smi=smi("rtx2080ti-nodriver"), api=api)
    ctx.run(ctx.on.action("detect"), make_state(owned=[f"{P}/present"]))
    results = ctx.action_results or {}
    assert json.loads(results["changes"]) == {}
    assert results["summary"].startswith("PCI scan incomplete")
    assert json.loads(results["detection"])["complete"] is False


def test_a_foreign_value_is_left_alone_and_the_status_says_so(tree, smi, make_ctx, make_state):
    api = FakeApi(labels={"gpu": "false"})  # set by hand, not by this unit
    _, out = run(make_ctx, tree("rtx2080ti-nvidia"), smi("rtx2080ti-nvidia"), api, make_state())
    assert api.labels["gpu"] == "false"
    assert "gpu" not in owned(out)["owned_labels"]
    assert out.unit_status == testing.ActiveStatus(
        f"{RTX}, driver 550.127.05, labelled; left alone, set by someone else with another "
        "value: gpu"
    )
