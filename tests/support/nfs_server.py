"""A real userspace NFS server (nfs-ganesha, VFS FSAL) on 127.0.0.1 for component tests.

rpcbind starts first (NFSv3 and the MOUNT protocol register with it), then ganesha.nfsd
exporting a temporary directory. The fixture waits until `showmount -e 127.0.0.1` lists the
export and stops both processes by PID at the end of the test run.

Only one NFSv3 server can run per machine at a time (they share rpcbind's registrations), so the
fixture is session-scoped and each pytest process starts at most one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HOST = "127.0.0.1"
NFS_PORT = 2049
EXPORT_PATH = "/srv/homelab-test"  # the path clients see (pseudo path == export path)
PACKAGES = ("nfs-ganesha", "nfs-ganesha-vfs", "rpcbind", "nfs-common")
BINARIES = {
    "ganesha.nfsd": "nfs-ganesha",
    "rpcbind": "rpcbind",
    "showmount": "nfs-common",
}
GANESHA_PLUGINS = "/usr/lib/x86_64-linux-gnu/ganesha"
# The squash settings NAS products ship (ganesha's names), and the uid/gid a squashed user
# becomes (Linux's nobody/nogroup, as knfsd's anonuid/anongid default).
SQUASHES = {
    "No_Root_Squash": 'no root squash (Synology\'s default, NFS rule Squash "No mapping")',
    "Root_Squash": "root squash (Linux exports(5) default root_squash)",
    "All_Squash": 'all squash (Synology "Map all users to guest", Linux all_squash)',
}
ANON_ID = 65534

_CONFIG = """
NFS_CORE_PARAM {{
    Bind_addr = {host};
    NFS_Port = {port};
    Protocols = 3, 4;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    mount_path_pseudo = true;
    Plugins_Dir = "{plugins}";
}}
NFSV4 {{
    Graceless = true;
    RecoveryRoot = "{state}";
}}
NFS_KRB5 {{
    Active_krb5 = false;
}}
EXPORT {{
    Export_Id = 1;
    Path = "{directory}";
    Pseudo = "{export}";
    Access_Type = RW;
    Squash = {squash};
    Anonymous_Uid = {anon_uid};
    Anonymous_Gid = {anon_gid};
    Transports = TCP;
    Protocols = 3, 4;
    SecType = sys;
    FSAL {{
        Name = VFS;
    }}
}}
"""


def missing_parts() -> list[str]:
    """Return what is missing to run the server (empty when everything is there)."""
    missing = [
        f"{binary} (Debian package {package})"
        for binary, package in BINARIES.items()
        if not _which(binary)
    ]
    if not Path(GANESHA_PLUGINS, "libfsalvfs.so").exists():
        missing.append("the VFS FSAL (Debian package nfs-ganesha-vfs)")
    if os.geteuid() != 0:
        missing.append("root (rpcbind and ganesha bind privileged ports)")
    return missing


def _which(binary: str) -> str | None:
    return shutil.which(binary, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


@dataclass
class NfsServer:
    """A running server: where it listens, what it exports and where the files really are."""

    host: str
    port: int
    export: str
    directory: Path
    workdir: Path
    _ganesha: subprocess.Popen[bytes] | None = None
    _rpcbind: subprocess.Popen[bytes] | None = None
    squash: str = "No_Root_Squash"

    def start(self) -> None:
        """Start rpcbind then ganesha, and wait until the export is listed."""
        self.directory.mkdir(parents=True, exist_ok=True)
        state = self.workdir / "state"
        state.mkdir(exist_ok=True)
        config = self.workdir / "ganesha.conf"
        config.write_text(
            _CONFIG.format(
                host=self.host,
                port=self.port,
                plugins=GANESHA_PLUGINS,
                state=state,
                directory=self.directory,
                export=self.export,
                squash=self.squash,
                anon_uid=ANON_ID,
                anon_gid=ANON_ID,
            )
        )
        if self._rpcbind is None:
            self._rpcbind = _start_rpcbind(self.workdir)
        log = (self.workdir / "ganesha.log").open("ab")
        self._ganesha = subprocess.Popen(
            [
                _which("ganesha.nfsd") or "ganesha.nfsd",
                "-F",  # foreground: we own the PID
                "-f",
                str(config),
                "-L",
                str(self.workdir / "ganesha.log"),
                "-p",
                str(self.workdir / "ganesha.pid"),
                "-N",
                "NIV_EVENT",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Wait until the NFS port answers and `showmount -e` lists the export."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self._ganesha is not None and self._ganesha.poll() is not None:
                raise RuntimeError(f"ganesha.nfsd exited early: {self.log_tail()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    pass
                out = subprocess.run(
                    [_which("showmount") or "showmount", "-e", self.host],
                    capture_output=True,
                    text=True,
                    timeout=5,
                    check=False,
                )
                last = out.stdout + out.stderr
                if self.export in out.stdout:
                    return
            except (OSError, subprocess.TimeoutExpired) as e:
                last = str(e)
            time.sleep(0.1)
        raise RuntimeError(f"NFS server not ready after {timeout}s: {last}\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop ganesha (rpcbind stays until close())."""
        _terminate(self._ganesha)
        self._ganesha = None

    def restart(self) -> None:
        """Start ganesha again after stop()."""
        self.start()

    @contextlib.contextmanager
    def squashing(self, squash: str) -> Iterator[NfsServer]:
        """The same server and export with another squash setting (SQUASHES), then back."""
        if squash not in SQUASHES:
            raise ValueError(f"squash {squash!r} must be one of {', '.join(SQUASHES)}")
        before = self.squash
        self.stop()
        self.squash = squash
        try:
            self.start()
            yield self
        finally:
            self.stop()
            self.squash = before
            self.start()

    def close(self) -> None:
        """Stop both processes by PID."""
        self.stop()
        _terminate(self._rpcbind)
        self._rpcbind = None

    @property
    def running(self) -> bool:
        """Whether ganesha is running."""
        return self._ganesha is not None and self._ganesha.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        """The end of ganesha's log, for error messages."""
        log = self.workdir / "ganesha.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _start_rpcbind(workdir: Path) -> subprocess.Popen[bytes] | None:
    """Start rpcbind in the foreground unless one already listens on port 111."""
    with contextlib.suppress(OSError), socket.create_connection((HOST, 111), timeout=0.5):
        return None  # a system rpcbind is running: use it, and leave it alone
    proc = subprocess.Popen(
        [_which("rpcbind") or "rpcbind", "-f", "-w"],
        stdout=(workdir / "rpcbind.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((HOST, 111), timeout=0.2):
            return proc
        if proc.poll() is not None:
            raise RuntimeError("rpcbind exited early")
        time.sleep(0.05)
    raise RuntimeError("rpcbind did not listen on port 111")


def _terminate(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@contextlib.contextmanager
def running_nfs_server() -> Iterator[NfsServer]:
    """Start a server in a fresh temporary directory; stop it on exit."""
    with tempfile.TemporaryDirectory(prefix="homelab-nfs-") as tmp:
        workdir = Path(tmp)
        server = NfsServer(
            host=HOST,
            port=NFS_PORT,
            export=EXPORT_PATH,
            directory=workdir / "export",
            workdir=workdir,
        )
        try:
            server.start()
            yield server
        finally:
            server.close()


@pytest.fixture(scope="session")
def nfs_server() -> Iterator[NfsServer]:
    """The session's NFS server; skips with one clear reason when it cannot run here.

    In CI (`CI` set) a missing part is an error, never a skip: the component tests must run.
    """
    missing = missing_parts()
    if missing:
        reason = (
            "real NFS server unavailable: missing "
            + ", ".join(missing)
            + " (./run-tests installs the Debian packages when run as root)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with running_nfs_server() as server:
        yield server


@pytest.fixture
def live_nfs_server(nfs_server: NfsServer) -> Iterator[NfsServer]:
    """The session server, guaranteed running before and after the test (for fault tests)."""
    if not nfs_server.running:
        nfs_server.restart()
    yield nfs_server
    if not nfs_server.running:
        nfs_server.restart()
