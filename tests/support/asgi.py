"""Build an ASGI scope as a server does, and drive an ASGI app on asyncio as a server does."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple


def _as_bytes(text: str) -> bytes:
    # Servers hand over header bytes as received; text beyond latin-1 (generated test input)
    # goes in as UTF-8, surrogates included, so any str makes some scope.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def asgi_scope(
    peer: Optional[str],
    headers: Sequence[Tuple[str, str]],
    kind: str = "http",
    *,
    path: str = "/",
) -> Dict[str, Any]:
    """A complete ASGI ``http`` (or ``websocket``) scope: lower-case byte names, latin-1 values.

    ``peer`` None gives ``client: None``, as a server on a Unix socket does.
    """
    return {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "ws" if kind == "websocket" else "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode("ascii"),
        "query_string": b"",
        "root_path": "",
        "headers": [(_as_bytes(k.lower()), _as_bytes(v)) for k, v in headers],
        "client": (peer, 50123) if peer is not None else None,
        "server": ("10.244.2.2", 8000),
    }


def raw_scope(
    client: Any, headers: Iterable[Tuple[bytes, bytes]], kind: str = "http"
) -> Dict[str, Any]:
    """A complete scope with ``client`` and the header byte pairs exactly as given.

    For what a server (or a broken one) might hand over: a malformed ``client``, header names
    or values a well-behaved server would never produce.
    """
    return {**asgi_scope(None, [], kind), "client": client, "headers": list(headers)}


def call_asgi(app: Any, scope: Dict[str, Any]) -> List[Dict[str, Any]]:
    """One ASGI call with an empty request body; returns the messages the app sent."""
    sent: List[Dict[str, Any]] = []

    async def receive() -> Dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Dict[str, Any]) -> None:
        sent.append(message)

    async def call() -> None:
        await app(scope, receive, send)

    asyncio.run(call())
    return sent


def run_asgi_app(app: Any, scope: Dict[str, Any]) -> Tuple[int, bytes]:
    """Drive an ASGI app like a server: the response status and the whole body."""
    sent = call_asgi(app, scope)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body
