"""Talk to a server over a raw TCP socket: send bytes, read the answer until it closes."""

from __future__ import annotations

import socket
import time
from typing import Optional


def exchange(
    host: str, port: int, data: bytes, *, source: Optional[str] = None, timeout: float = 5.0
) -> bytes:
    """Send ``data`` and return every byte the server sends until it closes the connection.

    ``source`` picks the client's address (a loopback address other than 127.0.0.1, say). A
    reset, a silence of ``timeout`` seconds or ``timeout`` seconds in all end the read: a server
    that never closes makes the answer short, never the test hang.
    """
    chunks = []
    with socket.create_connection(
        (host, port), timeout=timeout, source_address=(source, 0) if source else None
    ) as sock:
        sock.sendall(data)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)
