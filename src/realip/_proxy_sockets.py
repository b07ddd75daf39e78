"""PROXY headers on blocking sockets, for thread-per-connection servers (``realip serve``).

The connection's bytes are read exactly as far as the header goes, and the thread sleeps until
the bytes it needs have arrived (no polling): the parser says how many more it needs before it
can decide (:attr:`ProxyConnection.needed`). While it is not yet known whether a header comes at
all (the first 1-12 bytes), they are peeked with the socket's receive low-water mark set to that
count, so the kernel wakes the thread only once they are there; after that, the header's own
bytes are read with ``recv`` of exactly the count, which never takes a byte of the request.
"""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any, Optional

from realip._proxy_policy import Decision, ProxyConnection, ProxyPolicy, show_peer
from realip.proxy_protocol import bytes_needed, detect

TIMED_OUT = "sent nothing decisive in time"
"""How a refusal's reason ends when the peer was too slow (a server may answer 408)."""
CLOSED = "closed before a request"
"""How a refusal's reason ends when the peer went away (nobody to answer)."""


def accept_socket(sock: Any, policy: ProxyPolicy, peer: Any = None) -> Decision:
    """Decide a blocking socket's PROXY header and consume exactly its bytes from the socket.

    For thread-per-connection servers (``realip serve``, socketserver): only the header is
    read, so the HTTP parser finds the request where it starts. A peer the policy does not
    trust is decided at once, before any byte: its header would be refused, so there is nothing
    to wait for (the HTTP parser meets a forged header as its first line and can answer it).
    A trusted peer gets ``policy.timeout`` seconds in all, however slowly its bytes come.
    ``decision.rest`` is always empty here (the request's bytes stay in the socket).
    """
    if peer is None:
        try:
            peer = sock.getpeername()
        except OSError:
            peer = None
    state = policy.connection(peer)
    if state.decision is not None:
        return state.decision
    if not state.trusted:
        shown = show_peer(state.peer)
        return Decision(True, state.peer, None, b"", f"peer {shown} (not a load balancer)")
    deadline = time.monotonic() + policy.timeout
    previous = sock.gettimeout()
    try:
        return _decide(sock, state, deadline)
    except (OSError, ValueError) as exc:
        return state.refuse(f"{show_peer(state.peer)}: {type(exc).__name__} while waiting")
    finally:
        with contextlib.suppress(OSError):
            sock.settimeout(previous)


def _decide(sock: Any, state: ProxyConnection, deadline: float) -> Decision:
    shown = show_peer(state.peer)
    # 1. Is there a header at all? Peek (consume nothing) until the signature tells.
    start = b""
    while True:
        count = len(start) + (bytes_needed(start) if start else 1)
        peeked = _peek(sock, count, deadline)
        if peeked is None:
            return state.refuse(f"{shown} {TIMED_OUT}")
        if len(peeked) < count:
            return state.refuse(f"{shown} {CLOSED}")
        start = peeked
        if detect(start) is not None:
            break
    if detect(start) == 0:
        decision = state.feed(start)
        assert decision is not None  # no signature: decided on these bytes
        return decision._replace(rest=b"")  # nothing was consumed: the request is in the socket
    # 2. A header: its bytes are consumed exactly (recv of what the parser still needs).
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return state.refuse(f"{shown} {TIMED_OUT}")
        sock.settimeout(left)
        try:
            data = sock.recv(state.needed)
        except (TimeoutError, socket.timeout):
            continue  # the deadline check above gives the reason
        if not data:
            return state.refuse(f"{shown} {CLOSED}")
        decision = state.feed(data)
        if decision is not None:
            return decision._replace(rest=b"")


def _peek(sock: Any, count: int, deadline: float) -> Optional[bytes]:
    """The first ``count`` bytes of the socket, unconsumed, once they are all there.

    None on the deadline; fewer bytes when the peer closed first.
    """
    lowat = _set_lowat(sock, count)
    seen = -1
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            sock.settimeout(left)
            try:
                data: bytes = sock.recv(count, socket.MSG_PEEK)
            except (TimeoutError, socket.timeout):
                continue
            if len(data) >= count or not data:
                return data
            if len(data) == seen:
                # Readable yet short and unchanged: the peer closed after a partial signature
                # (the low-water mark no longer holds at EOF), or the platform ignores it.
                if lowat:
                    return data
                time.sleep(min(0.05, max(left, 0)))
            seen = len(data)
    finally:
        if lowat:
            _set_lowat(sock, 1)


def _set_lowat(sock: Any, count: int) -> bool:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, count)
    except (AttributeError, OSError):
        return False
    return True
