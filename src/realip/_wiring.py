"""Whether realip was installed too late: a consumer that records the client already ran.

A tracer or an error reporter that reads the request before realip's middleware records the
proxy (or a client's forged address), however right realip's own answer is. Some leave a mark
realip can see; each middleware looks for them once, on the first request it handles, and
says what it found with one :class:`~realip.RealIPWarning` (never again, and never per
request). Nothing here imports a consumer: a mark is only looked for when the consumer's
module is already loaded, and private names are read behind ``getattr`` and a type check, so a
consumer that renames them makes the check silent, never an error.
"""

from __future__ import annotations

import sys
from contextvars import ContextVar
from typing import Any, List

# Flask's OpenTelemetry instrumentation (instrument_app wraps app.wsgi_app) writes these into
# the environ before it calls the app it wrapped; a middleware inside it finds them.
_OTEL_FLASK_PREFIX = "opentelemetry-flask."

_WARNING = (
    "realip: {who} runs after {marks}, which read the request before realip did, so it records "
    "the proxy's address (or one a client wrote) instead of the verified client. Put realip "
    "outside it: wrap the whole application, e.g. application = RealIPMiddleware(app, ...) "
    "served as the app (see docs/how-to/tracing.md and docs/how-to/error-reports.md, and "
    "docs/reference/warnings.md)."
)


def _otel_server_span() -> List[str]:
    """An OpenTelemetry SERVER span already recording in this context (OTel loaded only)."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return []
    try:
        span = trace.get_current_span()
        kind = getattr(span, "kind", None)
        if span.is_recording() and kind is trace.SpanKind.SERVER:
            return [f"an OpenTelemetry server span ({getattr(span, 'name', '?')!r})"]
    except Exception:  # a consumer's internals must never fail a request
        return []
    return []


def _sentry_wsgi() -> List[str]:
    """sentry-sdk's WSGI middleware (Flask's and Django's integrations use it) already ran."""
    module = sys.modules.get("sentry_sdk.integrations.wsgi")
    applied = getattr(module, "_wsgi_middleware_applied", None)
    try:
        if isinstance(applied, ContextVar) and applied.get(False) is True:
            return ["sentry-sdk's WSGI middleware (its Flask or Django integration)"]
    except Exception:  # pragma: no cover - a ContextVar's get(default) does not raise
        return []
    return []


def wsgi_marks(environ: Any) -> List[str]:
    """What shows that a consumer read this WSGI request before realip (empty: nothing)."""
    marks = _sentry_wsgi()
    try:
        flask = any(key.__class__ is str and key.startswith(_OTEL_FLASK_PREFIX) for key in environ)
    except Exception:  # not a dict of keys: a broken server, nothing to say
        flask = False
    if flask:
        marks.append("Flask's OpenTelemetry instrumentation (opentelemetry-flask.* in the environ)")
    else:
        marks += _otel_server_span()
    return marks


def asgi_marks() -> List[str]:
    """What shows that a consumer read this ASGI request before realip (empty: nothing).

    sentry-sdk's ASGI middleware is not judged: its Starlette and FastAPI integrations build the
    event from the scope realip rewrote (docs/how-to/error-reports.md), so its mark would be a
    false alarm there.
    """
    return _otel_server_span()


def warn_if_late(who: str, marks: List[str]) -> None:
    """Warn (and log) once that ``who`` runs after the consumers ``marks`` names."""
    if not marks:
        return
    import logging  # only on this once-per-middleware path: importing realip stays cheap
    import warnings

    from realip._errors import RealIPWarning

    message = _WARNING.format(who=who, marks=" and ".join(marks))
    warnings.warn(message, RealIPWarning, stacklevel=3)
    logging.getLogger("realip").warning(message)
