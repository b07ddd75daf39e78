"""Issue 25's yardstick: a hand-written middleware that does only the irreducible work.

For ``X-Forwarded-For`` behind trusted CIDRs it does what the issue lists and nothing else: find
the header among the ASGI pairs (or in the environ), split it, strip each item, look a repeated
proxy address up in a memo, parse and range-check the client with ``inet_pton`` and one
``bisect``, and write the client into the scope (or ``REMOTE_ADDR``). No header rewrite, no
``Result``, no checks for servers that rewrote the peer, no bound on hostile input, no
``Forwarded``: it is not a product, only the floor ``bench.py`` measures realip's features
against, in the same run, on the same requests.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from socket import AF_INET, AF_INET6, inet_pton
from typing import Any, Dict, Iterable, List, Optional

_V6 = 1 << 32
_from_bytes = int.from_bytes


def _bounds(cidrs: Iterable[str]) -> List[int]:
    """Sorted ``[start, end)`` boundaries of the trusted ranges (IPv6 keys above 2**32)."""
    spans = []
    for cidr in cidrs:
        net = ipaddress.ip_network(cidr)
        offset = 0 if net.version == 4 else _V6
        start = int(net.network_address) + offset
        spans.append((start, start + net.num_addresses))
    spans.sort()
    merged: List[List[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [edge for span in merged for edge in span]


def _key(text: str) -> Optional[int]:
    try:
        return _from_bytes(inet_pton(AF_INET, text), "big")
    except OSError:
        pass
    try:
        return _from_bytes(inet_pton(AF_INET6, text), "big") + _V6
    except OSError:
        return None


class _Trust:
    """The trusted ranges, and the walk of a header from a trusted peer."""

    def __init__(self, trusted: Iterable[str]) -> None:
        bounds = _bounds(trusted)
        memo: Dict[Any, bool] = {}

        def peer_trusted(peer: str) -> bool:
            key = _key(peer)
            return key is not None and bisect_right(bounds, key) & 1 == 1

        def walk(value: Any) -> Optional[str]:
            """The rightmost untrusted entry, or None to keep the peer."""
            raw = value.__class__ is bytes
            for item in reversed(value.split(b"," if raw else ",")):
                item = item.strip()
                if item in memo:
                    continue
                text = item.decode("latin-1") if raw else item
                key = _key(text)
                if key is None:
                    return None
                if not bisect_right(bounds, key) & 1:
                    return text
                memo[item] = True
            return None

        self.peer_trusted = peer_trusted
        self.walk = walk


class HandWrittenASGI:
    """The yardstick as ASGI middleware."""

    def __init__(self, app: Any, trusted: Iterable[str]) -> None:
        self.app = app
        trust = _Trust(trusted)
        self.peer_trusted, self.walk = trust.peer_trusted, trust.walk

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.peer_trusted(scope["client"][0]):
            value = None
            for name, item in scope["headers"]:
                if name == b"x-forwarded-for":
                    value = item if value is None else value + b"," + item
            found = None if value is None else self.walk(value)
            if found is not None:
                scope["client"] = (found, 0)
        await self.app(scope, receive, send)


class HandWrittenWSGI:
    """The yardstick as WSGI middleware."""

    def __init__(self, app: Any, trusted: Iterable[str]) -> None:
        self.app = app
        trust = _Trust(trusted)
        self.peer_trusted, self.walk = trust.peer_trusted, trust.walk

    def __call__(self, environ: Any, start_response: Any) -> Any:
        if self.peer_trusted(environ["REMOTE_ADDR"]):
            value = environ.get("HTTP_X_FORWARDED_FOR")
            found = None if value is None else self.walk(value)
            if found is not None:
                environ["REMOTE_ADDR"] = found
        return self.app(environ, start_response)
