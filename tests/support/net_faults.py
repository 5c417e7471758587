"""Network faults on 127.0.0.1 for tests and benchmarks."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator


@contextlib.contextmanager
def blackhole(host: str, port: int) -> Iterator[None]:
    """A host that silently drops packets, as a dead NAS behind a firewall looks to a client.

    A listener that never accepts, its accept queue filled: the kernel then drops new SYNs, so a
    client's connect() waits until its own timeout. Needs the port free (and root below 1024).
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(0)
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect((host, port))
            fillers.append(filler)
        time.sleep(0.2)
        yield
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
