"""What every compatibility app answers on ``/ip/<kind>``: realip's client and the accessors'.

The apps are served by real servers in separate processes; the harness reads this JSON back.
``app`` is what realip gives the app (None when it found no client), ``accessors`` maps each
framework accessor's spelling to what it returned, and ``notes`` says what the app could not use
(an adapter missing from this realip, an exception from a realip call). ``raw`` is the
``X-Forwarded-For`` value as the server handed it over, recorded before realip runs (by
:func:`record_wsgi` / :func:`record_asgi` around the whole app): it shows what a server merged
into the header, such as a client's ``X_Forwarded_For``. ``run`` echoes ``COMPAT_RUN`` from the
server's environment, so the harness knows the answer came from the server it started and not
from another one that took the same port first.
"""

from __future__ import annotations

import json
import os
from contextvars import ContextVar
from typing import Any, Callable, Dict, List, Optional

RAW: ContextVar[Optional[str]] = ContextVar("compat_raw_xff", default=None)

ACCESSOR_ERROR = "error"


def call(fn: Callable[[], Any], notes: List[str], what: str) -> Optional[str]:
    """``fn()`` as text; an exception becomes a note naming its type, so the run records it."""
    try:
        value = fn()
    except Exception as exc:  # the table reports any failure, whatever raised it
        notes.append(f"{what} raised {type(exc).__name__}")
        return ACCESSOR_ERROR
    return None if value is None else str(value)


def body(app: Optional[str], accessors: Dict[str, Optional[str]], notes: List[str]) -> bytes:
    """The JSON answer of ``/ip/<kind>``."""
    return json.dumps(
        {
            "app": app,
            "accessors": accessors,
            "notes": notes,
            "raw": RAW.get(),
            "run": os.environ.get("COMPAT_RUN"),
        }
    ).encode()


def record_wsgi(app: Any) -> Any:
    """Wrap a WSGI app: record ``HTTP_X_FORWARDED_FOR`` as the server set it."""

    def recorded(environ: Dict[str, Any], start_response: Any) -> Any:
        RAW.set(environ.get("HTTP_X_FORWARDED_FOR"))
        return app(environ, start_response)

    return recorded


def record_asgi(app: Any) -> Any:
    """Wrap an ASGI app: record the ``x-forwarded-for`` values the server put in the scope."""

    async def recorded(scope: Dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            values = [
                value.decode("latin-1")
                for name, value in scope.get("headers") or ()
                if name == b"x-forwarded-for"
            ]
            RAW.set(",".join(values) if values else None)
        await app(scope, receive, send)

    return recorded


def record_headers(values: List[str]) -> None:
    """Record the header as a native server's request object holds it."""
    RAW.set(",".join(values) if values else None)
