"""homelab_core.files: host files named by options, read without hanging or exhausting memory."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from homelab_core.files import FileReadError, path_problem, read_text


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    f = tmp_path / "kc"
    f.write_text("kind: Config\n")
    assert read_text("kubeconfig-path", str(f)) == "kind: Config\n"


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("root/cdk/kubeconfig", "must be an absolute path"),
        ("/root/cdk/../../etc/shadow", "must not contain '.' or '..' components"),
        ("/root/$(id)/config", "may only contain letters, digits"),
        ("/root/a\nb", "may only contain letters, digits"),
        ("/" + "a" * 5000, "must be at most 4096 characters"),
    ],
)
def test_path_rules(path: str, rule: str) -> None:
    assert rule in (path_problem(path) or "")
    with pytest.raises(FileReadError, match=r"^kubeconfig-path ") as e:
        read_text("kubeconfig-path", path)
    assert rule in str(e.value)


def test_a_fifo_neither_hangs_nor_is_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done: list[BaseException] = []

    def run() -> None:
        try:
            read_text("kubeconfig-path", str(fifo))
        except FileReadError as e:
            done.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout=3)
    assert done, "reading a FIFO hung"
    assert str(done[0]) == f"kubeconfig-path {fifo}: not a regular file (a FIFO)"


def test_dev_zero_is_refused_at_once() -> None:
    start = time.monotonic()
    with pytest.raises(FileReadError) as e:
        read_text("admin-kubeconfig-path", "/dev/zero")
    assert (
        str(e.value) == "admin-kubeconfig-path /dev/zero: not a regular file (a character device)"
    )
    assert time.monotonic() - start < 1


def test_missing_directory_link_large_and_binary(tmp_path: Path) -> None:
    with pytest.raises(FileReadError) as e:
        read_text("kubeconfig-path", str(tmp_path / "none"))
    assert e.value.missing
    assert str(e.value).endswith("does not exist")
    with pytest.raises(FileReadError, match=r"not a regular file \(a directory\)"):
        read_text("kubeconfig-path", str(tmp_path))
    (tmp_path / "link").symlink_to("/etc/hostname")
    with pytest.raises(FileReadError, match=r"not a regular file \(a symbolic link\)"):
        read_text("kubeconfig-path", str(tmp_path / "link"))
    big = tmp_path / "big"
    big.write_bytes(b"a" * 2000)
    with pytest.raises(FileReadError, match="larger than 1000 bytes"):
        read_text("kubeconfig-path", str(big), max_bytes=1000)
    binary = tmp_path / "bin"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(FileReadError, match="not UTF-8 text"):
        read_text("kubeconfig-path", str(binary))
