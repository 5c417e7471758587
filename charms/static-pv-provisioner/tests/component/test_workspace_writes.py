"""Issue 12 item 4, part: a freshly provisioned PV directory is writable over real NFS.

The charm's NAS step (`nas.ExportDirectories.prepare`, through the bind mount of the export,
see parts.py) makes the directory with `directory-owner`/`directory-mode`; then a userspace NFS
client (Debian libnfs-utils `nfs-cp`, NFSv4 to the nfs-ganesha test server, AUTH_SYS with the
uid and gid in the URL) writes a file into it as the workload would. The server exports with
No_Root_Squash (Synology's "no mapping", the default the README asks for).

Not covered here (not done): root-squash exports, the other Kubeflow workload uids.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from parts import export_opener
from support.nfs_server import NfsServer

# One directory name per test: the server caches names, and each test starts on an export
# emptied behind its back.
NAMES = iter(f"homelab-nfs-10gi-{i:03d}" for i in range(101, 200))


def nfs_write(server: NfsServer, name: str, uid: int, gid: int, tmp: Path) -> tuple[int, str]:
    """Write one file into `<export>/<name>` as uid:gid over NFSv4; (exit code, output)."""
    if shutil.which("nfs-cp") is None:
        reason = "nfs-cp missing (Debian package libnfs-utils; ./run-tests installs it as root)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    source = tmp / "note.txt"
    source.write_text(f"written as {uid}:{gid}\n")
    url = f"nfs://{server.host}{server.export}/{name}/as-{uid}.txt?uid={uid}&gid={gid}&version=4"
    done = subprocess.run(
        ["nfs-cp", str(source), url], capture_output=True, text=True, timeout=60, check=False
    )
    return done.returncode, done.stdout + done.stderr


def provision(server: NfsServer, mode: int, uid: int, gid: int) -> str:
    name = next(NAMES)
    with export_opener(server, mode=mode, uid=uid, gid=gid)() as directories:
        assert directories.prepare(name) == directories.CREATED
    return name


def test_a_notebook_writes_its_workspace_as_1000_100(nfs: NfsServer, tmp_path: Path) -> None:
    name = provision(nfs, 0o2770, 1000, 100)
    code, output = nfs_write(nfs, name, 1000, 100, tmp_path)
    assert code == 0, output
    written = nfs.directory / name / "as-1000.txt"
    assert written.read_text() == "written as 1000:100\n"
    assert (written.stat().st_uid, written.stat().st_gid) == (1000, 100)


def test_the_mode_decides_for_a_uid_outside_the_group(nfs: NfsServer, tmp_path: Path) -> None:
    # A workload of another uid and gid (e.g. a rock's daemon user) and the 0770 default:
    # refused by the NAS, as the kernel client would be.
    name = provision(nfs, 0o770, 1000, 100)
    code, output = nfs_write(nfs, name, 584792, 584792, tmp_path)
    assert code != 0
    assert "ACCESS" in output
    assert not (nfs.directory / name / "as-584792.txt").exists()


def test_a_world_writable_mode_lets_any_uid_write(nfs: NfsServer, tmp_path: Path) -> None:
    name = provision(nfs, 0o1777, 1000, 100)
    for uid, gid in ((1000, 100), (584792, 584792)):
        code, output = nfs_write(nfs, name, uid, gid, tmp_path)
        assert code == 0, output
        assert (nfs.directory / name / f"as-{uid}.txt").stat().st_uid == uid
