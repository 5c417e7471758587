"""The NAS directory step against the real NFS test server's export directory.

No kernel NFS client can run on these machines (facts §6), so the export is "mounted" with a
bind mount of the server's export directory (`nfs_server.directory`): the charm's code path is
the same — `nas.mounted_export()` runs a mount command with the admin options, creates or
empties directories below the mount point, and always unmounts — only the mount command differs.
What lands on the export is checked in the directory the NFS server really serves.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from parts import OTHER_POOL, POOL, BindMounter, mounted
from support.nfs_server import NfsServer

import nas

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def export(nfs: NfsServer) -> NfsServer:
    return nfs


def source(server: NfsServer) -> str:
    return f"{server.host}:{server.export}"


def test_directories_are_created_on_the_export_with_mode_and_owner(export: NfsServer) -> None:
    mounter = BindMounter(export)
    options = nas.admin_mount_options(("nfsvers=4.1", "hard", "timeo=600", "noresvport"), 10)
    assert options == ("nfsvers=4.1", "noresvport", "rw", "fg", "soft", "timeo=100", "retrans=1")
    assert nas.admin_mount_options(("nfsvers=3", "ro", "soft", "timeo=5", "bg"), 2) == (
        "nfsvers=3", "rw", "fg", "soft", "timeo=20", "retrans=1", "nolock",
    )  # fmt: skip
    assert "nolock" not in nas.admin_mount_options(("vers=3", "lock"), 2)
    with nas.mounted_export(source(export), options, 10, mounter) as root:
        mountpoint = str(root)
        assert mounted(mountpoint)
        dirs = nas.ExportDirectories(root, source(export), 0o2775, 1000, 100, pool=POOL)
        assert dirs.prepare("homelab-nfs-10gi-001") == dirs.CREATED
        assert dirs.prepare("homelab-nfs-10gi-001") == dirs.EMPTY
    made = export.directory / "homelab-nfs-10gi-001"
    info = made.stat()
    assert stat.S_ISDIR(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o2775
    assert (info.st_uid, info.st_gid) == (1000, 100)
    assert not mounted(mountpoint)
    assert not Path(mountpoint).exists()
    assert mounter.calls[0] == ("mount", source(export), ",".join(options))
    assert mounter.calls[1] == ("unmount", mountpoint)


def test_existing_directories_with_data_are_never_used_or_changed(export: NfsServer) -> None:
    busy = export.directory / "homelab-nfs-10gi-001"
    busy.mkdir(mode=0o700)
    (busy / "data.db").write_text("precious")
    (export.directory / "homelab-nfs-10gi-002").write_text("a file, not a directory")
    empty = export.directory / "homelab-nfs-10gi-003"
    empty.mkdir(mode=0o700)
    with nas.mounted_export(source(export), ("soft",), 5, BindMounter(export)) as root:
        dirs = nas.ExportDirectories(root, source(export), 0o770, 0, 0, pool=POOL)
        # No marker: never used (whatever is in it); with ours, a non-empty one is busy.
        assert dirs.prepare("homelab-nfs-10gi-001") == dirs.UNMARKED
        assert dirs.prepare("homelab-nfs-10gi-002") == dirs.UNMARKED
        assert dirs.adopt("homelab-nfs-10gi-001", "homelab-nfs") == dirs.ADOPTED
        assert dirs.adopt("homelab-nfs-10gi-002", "homelab-nfs") == dirs.ADOPTED
        assert dirs.prepare("homelab-nfs-10gi-001") == dirs.BUSY
        assert dirs.prepare("homelab-nfs-10gi-002") == dirs.BUSY
        # Empty but without a marker: not proven ours (another pool's, made before markers).
        assert dirs.prepare("homelab-nfs-10gi-003") == dirs.UNMARKED
        assert dirs.adopt("homelab-nfs-10gi-003", "homelab-nfs") == dirs.ADOPTED
        assert dirs.prepare("homelab-nfs-10gi-003") == dirs.EMPTY
    assert (busy / "data.db").read_text() == "precious"
    assert stat.S_IMODE(busy.stat().st_mode) == 0o700
    assert stat.S_IMODE(empty.stat().st_mode) == 0o770


def test_empty_removes_everything_inside_and_follows_no_link(
    export: NfsServer, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not on the export")
    volume = export.directory / "homelab-nfs-10gi-001"
    (volume / "deep" / "er").mkdir(parents=True)
    (volume / "deep" / "er" / "file").write_text("x")
    (volume / "top").write_text("y")
    (volume / "link").symlink_to(outside)
    (volume / "dirlink").symlink_to(tmp_path)
    with nas.mounted_export(source(export), ("soft",), 5, BindMounter(export)) as root:
        dirs = nas.ExportDirectories(root, source(export), 0o770, 0, 0, pool=POOL)
        assert dirs.empty("homelab-nfs-10gi-001", "homelab-nfs") == 4
        assert dirs.empty("homelab-nfs-10gi-009", "homelab-nfs") == 0  # missing: created empty
    assert list(volume.iterdir()) == []
    assert outside.read_text() == "not on the export"
    assert (export.directory / "homelab-nfs-10gi-009").is_dir()


def test_unsafe_names_are_refused(export: NfsServer) -> None:
    with nas.mounted_export(source(export), ("soft",), 5, BindMounter(export)) as root:
        dirs = nas.ExportDirectories(root, source(export), 0o770, 0, 0, pool=POOL)
        for name in ("..", ".", "a/b", ""):
            with pytest.raises(nas.NasError, match="unsafe"):
                dirs.prepare(name)


def test_unmount_happens_when_the_step_fails(export: NfsServer) -> None:
    mounter = BindMounter(export)
    seen: list[str] = []

    def step() -> None:
        with nas.mounted_export(source(export), ("soft",), 5, mounter) as root:
            seen.append(str(root))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        step()
    assert not mounted(seen[0])
    assert not Path(seen[0]).exists()


def test_permission_denied_says_root_squash(export: NfsServer) -> None:
    """A squashed root is `nobody` on the NAS: run the step as nobody for real (EACCES)."""
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("needs a system python3 that user nobody can run")
    os.chmod(export.directory, 0o755)  # noqa: S103 - root's own export root, as on a NAS
    # The checkout may sit below a directory nobody cannot enter (a fresh `mktemp -d` clone):
    # give nobody its own readable copy of the two modules the step needs.
    code_dir = Path(tempfile.mkdtemp(prefix="static-pv-nas-"))
    code_dir.chmod(0o755)
    for module in ("nas.py", "constants.py", "marker.py"):
        shutil.copy(SRC / module, code_dir / module)
        (code_dir / module).chmod(0o644)
    code = (
        "import sys; from pathlib import Path; import nas\n"
        "from marker import PoolId\n"
        "d = nas.ExportDirectories(Path(sys.argv[1]), 'nas:/x', 0o770, 0, 0,"
        " pool=PoolId('m', 'u', 'a', 'c'))\n"
        "try:\n    d.prepare('homelab-nfs-10gi-001')\n"
        "except nas.RootSquashError as e:\n    print(e)\n"
    )
    result = subprocess.run(
        [python, "-c", code, str(export.directory)],
        capture_output=True, text=True, timeout=60, user=65534, group=65534, extra_groups=[],
        env={"PYTHONPATH": str(code_dir), "PATH": os.environ["PATH"]}, check=False, cwd="/",
    )  # fmt: skip
    shutil.rmtree(code_dir)
    assert (
        "permission denied to read the marker of homelab-nfs-10gi-001 on nas:/x" in result.stdout
    )
    assert "squashes root" in result.stdout
    assert not (export.directory / "homelab-nfs-10gi-001").exists()


class SlowMounter(nas.KernelNfsMounter):
    """A mount command that hangs like a mount against a dead NAS."""

    def mount(self, source: str, target: str, options: Sequence[str], timeout: float) -> None:
        nas._run(["sleep", "30"], timeout, f"mounting {source}")


def test_mount_timeout_is_bounded_and_cleans_up() -> None:
    start = time.monotonic()
    with (
        pytest.raises(nas.MountTimeoutError, match=r"10\.0\.0\.5:/k8s timed out after 1s"),
        nas.mounted_export("10.0.0.5:/k8s", ("soft",), 1, SlowMounter()),
    ):
        pytest.fail("must not get here")
    assert time.monotonic() - start < 10


def test_the_real_kernel_mount_fails_cleanly_or_works(export: NfsServer) -> None:
    """`mount -t nfs` itself: without a kernel NFS client it must fail fast with a message."""
    options = nas.admin_mount_options(("nfsvers=3",), 3)
    start = time.monotonic()
    error = ""
    try:
        with nas.mounted_export(source(export), options, 3, nas.KernelNfsMounter()) as root:
            dirs = nas.ExportDirectories(root, source(export), 0o770, 0, 0, pool=POOL)
            assert dirs.prepare("kernel-mount-check") in (dirs.CREATED, dirs.EMPTY)
    except nas.NasError as e:
        error = str(e)
    assert not error or f"mounting {source(export)}" in error, error
    assert time.monotonic() - start < 3 + nas.UNMOUNT_TIMEOUT_SECONDS


class NotMounting(BindMounter):
    """A mount command that exits 0 and mounts nothing (`mount.nfs` with `bg`, say)."""

    def mount(self, source: str, target: str, options: Sequence[str], timeout: float) -> None:
        self.calls.append(("mount", source, ",".join(options)))
        nas._run(["true"], timeout, f"mounting {source}")


def test_a_mount_that_did_not_happen_is_an_error_and_nothing_is_written(
    export: NfsServer,
) -> None:
    mounter = NotMounting(export)
    seen: list[str] = []

    def step() -> None:
        with nas.mounted_export(source(export), ("soft",), 5, mounter) as root:
            seen.append(str(root))
            nas.ExportDirectories(root, source(export), 0o770, 0, 0, pool=POOL).prepare(
                "homelab-nfs-1gi-001"
            )

    with pytest.raises(nas.NasError, match="reported success, but nothing is mounted on"):
        step()
    assert seen == []  # the block never ran
    assert [c[0] for c in mounter.calls] == ["mount"]
    assert list(export.directory.iterdir()) == []


# Ownership markers (issue 11 class 3), on the files the NFS server serves.


def test_a_directory_of_another_pool_is_never_used_emptied_or_adopted(export: NfsServer) -> None:
    address = source(export)
    with nas.mounted_export(address, ("soft",), 5, BindMounter(export)) as root:
        theirs = nas.ExportDirectories(root, address, 0o770, 0, 0, pool=OTHER_POOL)
        assert theirs.prepare("homelab-nfs-10gi-001") == theirs.CREATED
        assert theirs.prepare("homelab-nfs-10gi-002") == theirs.CREATED
    # Their claim writes data in 001; 002 stays empty (an Available PV of theirs).
    (export.directory / "homelab-nfs-10gi-001" / "ibdata1").write_text("their data")
    with nas.mounted_export(address, ("soft",), 5, BindMounter(export)) as root:
        ours = nas.ExportDirectories(root, address, 0o770, 0, 0, pool=POOL)
        assert ours.prepare("homelab-nfs-10gi-002") == ours.FOREIGN  # empty, still theirs
        assert ours.adopt("homelab-nfs-10gi-001", "homelab-nfs") == ours.FOREIGN
        with pytest.raises(nas.ForeignDirectoryError, match="owned by pool k8s/static-pv"):
            ours.empty("homelab-nfs-10gi-001", "homelab-nfs")
        assert "model 0a0b0c0d" in ours.owners["homelab-nfs-10gi-001"]
    assert (export.directory / "homelab-nfs-10gi-001" / "ibdata1").read_text() == "their data"
    marker = json.loads(
        (export.directory / ".static-pv-provisioner" / "homelab-nfs-10gi-002.json").read_text()
    )
    assert marker["model-uuid"] == OTHER_POOL.model_uuid  # never rewritten


def test_markers_that_are_not_ours_count_as_foreign(export: NfsServer, tmp_path: Path) -> None:
    marks = export.directory / ".static-pv-provisioner"
    marks.mkdir()
    (marks / "homelab-nfs-10gi-001.json").write_text("not json")
    good = (
        '{"managed-by": "static-pv-provisioner", "model": "k8s", "model-uuid": "%s", '
        '"application": "static-pv-provisioner", "class": "homelab-nfs", "volume": "%s"}'
    )
    # A copy of our own marker under another volume's name is not a marker of that volume.
    (marks / "homelab-nfs-10gi-002.json").write_text(good % (POOL.model_uuid, "other-volume"))
    target = tmp_path / "elsewhere.json"
    target.write_text(good % (POOL.model_uuid, "homelab-nfs-10gi-003"))
    (marks / "homelab-nfs-10gi-003.json").symlink_to(target)  # never followed
    address = source(export)
    with nas.mounted_export(address, ("soft",), 5, BindMounter(export)) as root:
        dirs = nas.ExportDirectories(root, address, 0o770, 0, 0, pool=POOL)
        for name in ("homelab-nfs-10gi-001", "homelab-nfs-10gi-002", "homelab-nfs-10gi-003"):
            assert dirs.prepare(name) == dirs.FOREIGN, name
        assert "not JSON" in dirs.owners["homelab-nfs-10gi-001"]
        assert "names volume 'other-volume'" in dirs.owners["homelab-nfs-10gi-002"]
        assert "symbolic link" in dirs.owners["homelab-nfs-10gi-003"]
    assert not (export.directory / "homelab-nfs-10gi-001").exists()


def test_verify_proves_the_share_writable(export: NfsServer) -> None:
    address = source(export)
    with nas.mounted_export(address, ("soft",), 5, BindMounter(export)) as root:
        nas.ExportDirectories(root, address, 0o770, 0, 0, pool=POOL).verify()
    assert sorted(p.name for p in export.directory.iterdir()) == [".static-pv-provisioner"]
    assert list((export.directory / ".static-pv-provisioner").iterdir()) == []  # probe gone
