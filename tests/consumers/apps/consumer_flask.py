"""Flask with Flask-Limiter, OpenTelemetry, sentry-sdk, structlog and loguru, as the how-tos wire
them: realip wraps the whole Flask app (``application``), outside ``Flask.__call__`` (which
Sentry's integration wraps) and ``app.wsgi_app`` (which OpenTelemetry's instrumentor wraps).

``inner`` is the wiring to avoid with Sentry: ``app.wsgi_app = RealIPMiddleware(app.wsgi_app)``
runs inside Sentry's middleware, which has read the request by then.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from consumer_common import Loggers, counts, setup_sentry, setup_tracing
from flask import Flask, jsonify

from realip.wsgi import RealIPMiddleware

if importlib.util.find_spec("sentry_sdk"):
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    setup_sentry(FlaskIntegration())
else:  # pragma: no cover - the scenarios that need it are skipped
    sentry_sdk = None

if importlib.util.find_spec("opentelemetry.instrumentation.flask"):
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    setup_tracing()
else:  # pragma: no cover
    FlaskInstrumentor = None


def build() -> Any:
    app = Flask(__name__)
    limiter = None
    if importlib.util.find_spec("flask_limiter"):
        from flask_limiter import Limiter
        from flask_limiter.util import get_remote_address

        limiter = Limiter(get_remote_address, app=app, default_limits=["1000/minute"])
    if FlaskInstrumentor is not None:
        FlaskInstrumentor().instrument_app(app)
    loggers = Loggers()

    @app.get("/hit/<kind>")
    def hit(kind: str) -> Any:
        loggers.hit(f"/hit/{kind}")
        if sentry_sdk is not None:
            sentry_sdk.capture_message(kind)
        stored = {} if limiter is None else counts(limiter.storage.storage)  # type: ignore[attr-defined]
        return jsonify(counts=stored)

    @app.get("/ready")
    def ready() -> str:
        return "ok"

    if limiter is not None:
        limiter.exempt(ready)
    return app


app = build()
application = RealIPMiddleware(app)  # what the server runs: realip outermost

_inner = build()
_inner.wsgi_app = RealIPMiddleware(_inner.wsgi_app)  # type: ignore[method-assign]
inner = _inner
