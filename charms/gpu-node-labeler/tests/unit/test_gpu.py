"""Detection from fixture sysfs trees, pci.ids and canned nvidia-smi output."""

from __future__ import annotations

import os
import sys

import pytest

import gpu

RTX = "1× GeForce RTX 2080 Ti (TU102)"  # noqa: RUF001 - the status uses a multiplication sign


def test_no_gpu(tree, smi):
    runner = smi("no-gpu")
    det = gpu.detect(tree("no-gpu"), runner, 10)
    assert det.gpus == []
    assert det.complete
    assert runner.calls == []  # no NVIDIA function: nvidia-smi is not even asked
    assert gpu.describe(det) == ("active", "no NVIDIA GPU")


def test_bmc_vga_is_not_a_gpu(tree, smi):
    det = gpu.detect(tree("bmc-vga"), smi("bmc-vga"), 10)
    assert det.gpus == []
    assert det.skipped == []  # not NVIDIA: not even listed
    assert gpu.describe(det) == ("active", "no NVIDIA GPU")


def test_rtx2080ti_without_driver_counts_one_gpu_of_four_functions(tree, smi):
    runner = smi("rtx2080ti-nodriver")
    det = gpu.detect(tree("rtx2080ti-nodriver"), runner, 10)
    assert [(g.address, g.device_id, g.kind, g.driver) for g in det.gpus] == [
        ("0000:01:00.0", "1e04", "vga", "none")
    ]
    g = det.gpus[0]
    assert (g.chip, g.model, g.family, g.pci_name) == (
        "TU102",
        "GeForce RTX 2080 Ti",
        "turing",
        "TU102 [GeForce RTX 2080 Ti]",
    )
    assert sorted(s["address"] for s in det.skipped) == [
        "0000:01:00.1",
        "0000:01:00.2",
        "0000:01:00.3",
    ]
    assert runner.calls == []  # no nvidia driver bound: nvidia-smi is not run
    assert not g.usable
    state, message = gpu.describe(det)  # the operator route: its driver container is coming
    assert (state, message.split(":")[0]) == (
        "waiting",
        "NVIDIA GPU found (TU102), no driver loaded yet",
    )
    state, message = gpu.describe(det, route="preinstalled")
    assert state == "blocked"
    assert message.endswith(
        "install the NVIDIA driver on this machine (driver-route=preinstalled)"
    )


def test_rtx2080ti_with_nouveau(tree, smi):
    det = gpu.detect(tree("rtx2080ti-nouveau"), smi("rtx2080ti-nouveau"), 10)
    assert [g.driver for g in det.gpus] == ["nouveau"]
    assert det.nouveau_loaded
    state, message = gpu.describe(det)
    assert state == "blocked"
    assert message.startswith("NVIDIA GPU found (TU102) but nouveau is loaded: blacklist it")
    assert "sudo update-initramfs -u; sudo reboot" in message
    assert "install" not in message
    assert "gpu_driver" not in message


def test_rtx2080ti_with_nvidia_joins_nvidia_smi_by_bus_id(tree, smi):
    runner = smi("rtx2080ti-nvidia")
    det = gpu.detect(tree("rtx2080ti-nvidia"), runner, 7)
    (g,) = det.gpus
    assert g.driver == "nvidia"
    assert (g.product, g.memory_mib, g.compute_capability, g.family) == (
        "NVIDIA GeForce RTX 2080 Ti",
        11264,
        "7.5",
        "turing",
    )
    assert g.usable
    assert det.nvidia_module_version == "550.127.05"
    assert det.smi.ok
    (args, timeout), *_ = runner.calls
    assert args[0] == "nvidia-smi"
    assert args[1].startswith("--query-gpu=pci.bus_id,name,memory.total,compute_cap")
    assert args[2] == "--format=csv,noheader,nounits"
    assert timeout == 7
    assert gpu.describe(det) == (
        "active",
        "1× GeForce RTX 2080 Ti (TU102), driver 550.127.05",  # noqa: RUF001
    )


def test_gpu_operator_driver_root_runs_nvidia_smi_in_a_chroot(tree, smi):
    root = tree("rtx2080ti-operator")
    runner = smi("rtx2080ti-operator")
    runner.chroot_only = True  # the host has no nvidia-smi of its own
    det = gpu.detect(root, runner, 7)
    args, timeout = runner.calls[0]
    assert args == [
        "chroot",
        str(root / "run/nvidia/driver"),
        "/usr/bin/nvidia-smi",
        "--query-gpu=pci.bus_id,name,memory.total,compute_cap,driver_version",
        "--format=csv,noheader,nounits",
    ]
    assert timeout == 7  # the same bound as on the host
    assert det.smi.ok
    assert det.smi.driver_root == str(root / "run/nvidia/driver")
    (g,) = det.gpus
    assert g.usable
    assert (g.product, g.memory_mib, g.compute_capability) == (
        "NVIDIA GeForce RTX 2080 Ti",
        11264,
        "7.5",
    )
    assert gpu.describe(det) == ("active", f"{RTX}, driver 550.127.05")


def test_without_an_operator_driver_root_the_hosts_nvidia_smi_is_used(tree, smi):
    runner = smi("rtx2080ti-nvidia")
    det = gpu.detect(tree("rtx2080ti-nvidia"), runner, 7)
    assert runner.calls[0][0][0] == "nvidia-smi"
    assert det.smi.driver_root == ""


def test_nvidia_bound_but_unreadable_on_a_gfd_managed_node_is_not_blocked(tree, fake_smi):
    det = gpu.detect(tree("rtx2080ti-nvidia"), fake_smi(raises=FileNotFoundError()), 3)
    assert gpu.describe(det)[0] == "blocked"
    assert gpu.describe(det, gfd_managed=True) == (
        "active",
        f"{RTX}, driver 550.127.05 managed by the GPU operator (here: nvidia-smi not installed)",
    )


def test_two_models(tree, smi):
    det = gpu.detect(tree("two-models"), smi("two-models"), 10)
    assert [(g.device_id, g.chip, g.family, g.memory_mib) for g in det.gpus] == [
        ("1e04", "TU102", "turing", 11264),
        ("2204", "GA102", "ampere", 24576),
    ]
    assert gpu.describe(det) == (
        "active",
        "1× GeForce RTX 2080 Ti (TU102) + 1× GeForce RTX 3090 (GA102), "  # noqa: RUF001
        "driver 550.127.05",
    )


def test_sriov_virtual_functions_are_skipped(tree, smi):
    det = gpu.detect(tree("sriov-vf"), smi("sriov-vf"), 10)
    assert [g.address for g in det.gpus] == ["0000:41:00.0"]
    assert {s["address"]: s["reason"] for s in det.skipped} == {
        "0000:41:00.4": "SR-IOV virtual function",
        "0000:41:00.5": "SR-IOV virtual function",
    }
    assert det.gpus[0].usable


def test_datacenter_3d_controller(tree, smi):
    det = gpu.detect(tree("datacenter-3d"), smi("datacenter-3d"), 10)
    (g,) = det.gpus
    assert (g.kind, g.chip, g.model, g.family, g.product, g.compute_capability) == (
        "3d",
        "GA100",
        "A100 SXM4 40GB",
        "ampere",
        "NVIDIA A100-SXM4-40GB",
        "8.0",
    )
    assert gpu.describe(det)[0] == "active"


def test_no_pci_ids_gives_raw_device_id(tree, smi):
    det = gpu.detect(tree("rtx2080ti-nodriver", pci_ids=False), smi("rtx2080ti-nodriver"), 10)
    (g,) = det.gpus
    assert (g.model, g.chip, g.family) == ("10de:1e04", "", "")
    assert det.pci_ids == "missing"
    assert gpu.describe(det, route="containerd")[1].startswith(
        "NVIDIA GPU found (10de:1e04) but no driver"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_pci_ids_is_a_warning_not_a_failure(tree, smi):
    root = tree("rtx2080ti-nodriver")
    (root / "usr/share/misc/pci.ids").chmod(0)
    det = gpu.detect(root, smi("rtx2080ti-nodriver"), 10)
    assert det.gpus[0].model == "10de:1e04"
    assert det.pci_ids == "unreadable"
    assert det.complete


def test_pci_ids_that_is_a_directory_is_a_warning(tree, smi):
    root = tree("rtx2080ti-nodriver", pci_ids=False)
    (root / "usr/share/misc/pci.ids").mkdir(parents=True)
    det = gpu.detect(root, smi("rtx2080ti-nodriver"), 10)
    assert det.pci_ids == "unreadable"
    assert det.warnings
    assert "pci.ids unreadable" in det.warnings[0]
    assert det.gpus[0].model == "10de:1e04"


def test_corrupt_pci_ids_lines_are_ignored():
    text = "10de  NVIDIA\n\tzzzz  junk\n\t1e04 single-space\n\t2204  GA102 [GeForce RTX 3090]\n"
    assert gpu.parse_pci_ids(text) == {"2204": "GA102 [GeForce RTX 3090]"}
    assert gpu.parse_pci_ids("\x00\xff garbage") == {}


def test_hwdata_pci_ids_is_used_when_misc_is_missing(tree, smi):
    root = tree("rtx2080ti-nodriver")
    hwdata = root / "usr/share/hwdata"
    hwdata.mkdir(parents=True)
    (root / "usr/share/misc/pci.ids").rename(hwdata / "pci.ids")
    det = gpu.detect(root, smi("rtx2080ti-nodriver"), 10)
    assert det.pci_ids == "/usr/share/hwdata/pci.ids"
    assert det.gpus[0].model == "GeForce RTX 2080 Ti"


def test_corrupt_vendor_entry_makes_the_scan_incomplete(tree, smi):
    root = tree("no-gpu")
    (root / "sys/devices/pci0000:00/0000:03:00.0/vendor").write_text("garbage\n")
    det = gpu.detect(root, smi("no-gpu"), 10)
    assert not det.complete
    assert det.errors == [
        "0000:03:00.0: vendor unreadable (vendor is 'garbage', not a hex number)"
    ]
    state, message = gpu.describe(det)
    assert state == "blocked"
    assert message.startswith("PCI scan incomplete (1 unreadable entry: 0000:03:00.0")
    assert message.endswith("labels left unchanged")


def test_corrupt_class_of_an_nvidia_function(tree, smi):
    root = tree("two-models")
    (root / "sys/devices/pci0000:00/0000:02:00.0/class").write_bytes(b"\xff\xfe")
    det = gpu.detect(root, smi("two-models"), 10)
    assert [g.device_id for g in det.gpus] == ["1e04"]
    assert not det.complete
    assert det.errors[0].startswith("0000:02:00.0: NVIDIA function unreadable")


def test_missing_class_file(tree, smi):
    root = tree("rtx2080ti-nodriver")
    (root / "sys/devices/pci0000:00/0000:01:00.0/class").unlink()
    det = gpu.detect(root, smi("rtx2080ti-nodriver"), 10)
    assert det.gpus == []
    assert not det.complete
    assert gpu.describe(det)[0] == "blocked"


def test_missing_sysfs(tmp_path, smi):
    det = gpu.detect(tmp_path, smi("no-gpu"), 10)
    assert det.sysfs_error == "/sys/bus/pci/devices unreadable (No such file or directory)"
    assert not det.complete
    assert gpu.describe(det) == (
        "blocked",
        "cannot scan PCI devices: /sys/bus/pci/devices unreadable (No such file or directory); "
        "labels left unchanged",
    )


def test_odd_entries_in_the_device_list_are_ignored(tree, smi):
    root = tree("no-gpu")
    (root / "sys/bus/pci/devices/not-an-address").mkdir()
    det = gpu.detect(root, smi("no-gpu"), 10)
    assert det.complete
    assert det.gpus == []


def test_corrupt_module_version_is_a_warning(tree, smi):
    root = tree("rtx2080ti-nvidia")
    (root / "sys/module/nvidia/version").write_text("550.127.05; rm -rf /\n")
    det = gpu.detect(root, smi("rtx2080ti-nvidia"), 10)
    assert det.nvidia_module_version == ""
    assert det.driver_version == "550.127.05"  # from nvidia-smi
    assert det.warnings == ["/sys/module/nvidia/version is not a version: '550.127.05; rm -rf /'"]


@pytest.mark.parametrize(
    ("code", "meaning"),
    [(9, "NVIDIA driver is not loaded"), (12, "NVML shared library not found"), (255, "other")],
)
def test_nvidia_smi_failure_means_unusable_driver_not_no_gpu(tree, fake_smi, code, meaning):
    runner = fake_smi("NVIDIA-SMI has failed because it couldn't communicate.\n", returncode=code)
    det = gpu.detect(tree("rtx2080ti-nvidia"), runner, 10)
    assert len(det.gpus) == 1
    assert not det.gpus[0].usable
    assert det.smi.ran
    assert not det.smi.ok
    assert det.smi.error.startswith(f"nvidia-smi exit {code} ({meaning}")
    state, message = gpu.describe(det)
    assert state == "blocked"
    assert message.startswith(
        "1× GeForce RTX 2080 Ti (TU102): NVIDIA driver 550.127.05 loaded but unusable "  # noqa: RUF001
        f"(nvidia-smi exit {code}"
    )


def test_nvidia_smi_timeout(tree, fake_smi):
    runner = fake_smi(raises=gpu.CommandTimeoutError("nvidia-smi ran past 3 s"))
    det = gpu.detect(tree("rtx2080ti-nvidia"), runner, 3)
    assert det.smi.error == "nvidia-smi timed out after 3 s"
    assert len(det.gpus) == 1
    assert "loaded but unusable (nvidia-smi timed out after 3 s)" in gpu.describe(det)[1]


@pytest.mark.parametrize(
    ("runner_kwargs", "failed_read"),
    [
        ({"raises": gpu.CommandTimeoutError("x")}, True),
        ({"raises": FileNotFoundError()}, True),
        ({"raises": PermissionError(13, "Permission denied")}, True),
        ({"stdout": "NVIDIA-SMI has failed\n", "returncode": 9}, True),
        ({"stdout": "NVML Shared Library Not Found\n", "returncode": 12}, True),
        ({"stdout": "Unknown Error\n", "returncode": 255}, True),
        ({"stdout": "garbage\n"}, True),
        ({"stdout": "GPU 0000:01:00.0 fell off the bus\n", "returncode": 15}, False),
        ({"stdout": "infoROM is corrupted\n", "returncode": 14}, False),
    ],
)
def test_nvidia_smi_no_answer_is_a_failed_read(tree, fake_smi, runner_kwargs, failed_read):
    det = gpu.detect(tree("rtx2080ti-nvidia"), fake_smi(**runner_kwargs), 3)
    assert not det.smi.ok
    assert det.smi_failed_read is failed_read
    message = gpu.describe(det)[1]
    assert message.endswith("; labels from its last answer kept") is failed_read


def test_nvidia_smi_missing(tree, fake_smi):
    det = gpu.detect(tree("rtx2080ti-nvidia"), fake_smi(raises=FileNotFoundError()), 3)
    assert det.smi.error == "nvidia-smi not installed"


def test_nvidia_smi_garbage_output(tree, fake_smi):
    det = gpu.detect(tree("rtx2080ti-nvidia"), fake_smi("hello\nworld\n"), 3)
    assert det.smi.error == "nvidia-smi gave no usable output"
    assert not det.gpus[0].usable


def test_nvidia_smi_lists_other_gpus_only(tree, fake_smi):
    det = gpu.detect(tree("rtx2080ti-nvidia"), fake_smi("00000000:99:00.0, X, 1, 7.5, 550.1\n"), 3)
    assert det.smi.error == "nvidia-smi listed none of the GPUs found in sysfs"


def test_old_driver_without_compute_cap_is_asked_again(tree, smi):
    runner = smi("rtx2080ti-nvidia")
    runner.no_compute_cap = True
    runner.stdout = "00000000:01:00.0, NVIDIA GeForce RTX 2080 Ti, 11264, 470.256.02\n"
    det = gpu.detect(tree("rtx2080ti-nvidia"), runner, 3)
    assert len(runner.calls) == 2
    assert "compute_cap" not in runner.calls[1][0][1]
    g = det.gpus[0]
    assert g.usable
    assert (g.compute_capability, g.family) == ("", "turing")  # family from the chip


def test_error_text_from_nvidia_smi_is_sanitised(tree, fake_smi):
    runner = fake_smi("\x1b[31mbad\x00 $(reboot) `x`\n", returncode=255)
    det = gpu.detect(tree("rtx2080ti-nvidia"), runner, 3)
    assert (
        det.smi.error
        == "nvidia-smi exit 255 (other error or internal driver error): 31mbad (reboot) x"
    )


def test_to_dict_is_json_ready(tree, smi):
    import json

    det = gpu.detect(tree("two-models"), smi("two-models"), 10)
    data = json.loads(json.dumps(det.to_dict()))
    assert data["complete"] is True
    assert data["driver_version"] == "550.127.05"
    assert [g["usable"] for g in data["gpus"]] == [True, True]
    assert data["smi"] == {
        "ran": True,
        "ok": True,
        "error": "",
        "driver_version": "550.127.05",
        "driver_root": "",
        "failed_read": False,
    }


@pytest.mark.parametrize(
    ("cc", "family"),
    [
        ("3.7", "kepler"),
        ("6.1", "pascal"),
        ("7.0", "volta"),
        ("7.5", "turing"),
        ("8.0", "ampere"),
        ("8.9", "ada-lovelace"),
        ("9.0", "hopper"),
        ("10.0", "blackwell"),
        ("x", ""),
    ],
)
def test_family_of_compute_capability(cc, family):
    assert gpu.family_of_compute_capability(cc) == family


@pytest.mark.parametrize(
    ("name", "chip", "model"),
    [
        ("TU102 [GeForce RTX 2080 Ti]", "TU102", "GeForce RTX 2080 Ti"),
        ("AD102GL [L40S]", "AD102GL", "L40S"),
        ("GK104", "GK104", "GK104"),
        ("NVIDIA Something [Odd]", "", "Odd"),
        ("Plain name", "", "Plain name"),
    ],
)
def test_split_pci_name(name, chip, model):
    assert gpu.split_pci_name(name) == (chip, model)


def test_run_command_kills_a_hanging_command_within_the_bound():
    import time

    start = time.monotonic()
    with pytest.raises(gpu.CommandTimeoutError):
        gpu.run_command([sys.executable, "-c", "import time; time.sleep(30)"], 0.5)
    assert time.monotonic() - start < 0.5 + 2.5


def test_run_command_returns_exit_code_and_output():
    result = gpu.run_command([sys.executable, "-c", "print('hi'); raise SystemExit(9)"], 5)
    assert (result.returncode, result.stdout) == (9, "hi\n")


def test_run_command_missing_binary():
    with pytest.raises(FileNotFoundError):
        gpu.run_command(["/nonexistent/nvidia-smi"], 5)


def _rebind(root, address: str, driver: str) -> None:
    link = root / "sys/devices/pci0000:00" / address / "driver"
    link.unlink()
    (root / "sys/bus/pci/drivers" / driver).mkdir(exist_ok=True)
    os.symlink(f"../../../bus/pci/drivers/{driver}", link)


def test_passthrough_gpu_is_reported_not_blocked(tree, smi):
    root = tree("datacenter-3d")
    _rebind(root, "0000:41:00.0", "vfio-pci")
    runner = smi("datacenter-3d")
    det = gpu.detect(root, runner, 10)
    assert runner.calls == []
    assert det.gpus[0].driver == "vfio-pci"
    assert gpu.describe(det) == (
        "active",
        "1× A100 SXM4 40GB (GA100), vfio-pci bound (not for containers)",  # noqa: RUF001
    )


def test_one_gpu_for_containers_one_passed_through(tree, smi):
    root = tree("two-models")
    _rebind(root, "0000:02:00.0", "vfio-pci")
    det = gpu.detect(root, smi("two-models"), 10)
    assert [g.usable for g in det.gpus] == [True, False]
    assert gpu.describe(det) == (
        "active",
        "1× GeForce RTX 2080 Ti (TU102) + 1× GeForce RTX 3090 (GA102), driver 550.127.05, "  # noqa: RUF001
        "vfio-pci bound (not for containers)",
    )


def test_driver_version_from_proc_when_sys_module_has_none(tree, smi):
    root = tree("rtx2080ti-nvidia")
    (root / "sys/module/nvidia/version").unlink()
    proc = root / "proc/driver/nvidia"
    proc.mkdir(parents=True)
    (proc / "version").write_text(
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.127.05  Tue Oct  8 03:22 UTC 2024\n"
        "GCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04)\n"
    )
    det = gpu.detect(root, smi("rtx2080ti-nvidia"), 10)
    assert det.nvidia_module_version == "550.127.05"


def test_two_identical_gpus_status_as_in_the_issue():
    det = gpu.Detection(nvidia_module_version="550.127.05")
    det.smi.ok = True
    for address in ("0000:01:00.0", "0000:02:00.0"):
        g = gpu.Gpu(address, "1e04", "vga", "nvidia", model="GeForce RTX 2080 Ti", chip="TU102")
        g.product = "NVIDIA GeForce RTX 2080 Ti"
        det.gpus.append(g)
    assert gpu.describe(det) == (
        "active",
        "2× GeForce RTX 2080 Ti (TU102), driver 550.127.05",  # noqa: RUF001
    )
