"""FastAPI with OpenTelemetry, sentry-sdk, structlog and loguru, as the how-tos wire them.

``app``: realip wraps the whole FastAPI app, outside the instrumentor's middleware (which
``FastAPIInstrumentor`` puts outside every ``add_middleware`` one) and Sentry's (which wraps
``Starlette.__call__``). ``inner``: the wiring to avoid with them,
``app.add_middleware(RealIPMiddleware)``: they read the request before realip runs.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Dict

from consumer_common import Loggers, setup_sentry, setup_tracing
from fastapi import FastAPI

from realip.asgi import RealIPMiddleware

if importlib.util.find_spec("sentry_sdk"):
    import sentry_sdk
    from sentry_sdk.integrations.fastapi import FastApiIntegration
    from sentry_sdk.integrations.starlette import StarletteIntegration

    setup_sentry(StarletteIntegration(), FastApiIntegration())
else:  # pragma: no cover - the scenarios that need it are skipped
    sentry_sdk = None

if importlib.util.find_spec("opentelemetry.instrumentation.fastapi"):
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    setup_tracing()
else:  # pragma: no cover
    FastAPIInstrumentor = None

loggers = Loggers()


def build(realip_inside: bool) -> FastAPI:
    api = FastAPI()
    if realip_inside:
        api.add_middleware(RealIPMiddleware)  # configured by REALIP_TRUSTED_PROXIES
    if FastAPIInstrumentor is not None:
        FastAPIInstrumentor.instrument_app(api)

    @api.get("/hit/{kind}")
    async def hit(kind: str) -> Dict[str, Any]:
        loggers.hit(f"/hit/{kind}")
        if sentry_sdk is not None:
            sentry_sdk.capture_message(kind)
        return {"counts": {}}

    @api.get("/ready")
    async def ready() -> str:
        return "ok"

    return api


api = build(realip_inside=False)
app = RealIPMiddleware(api)  # what the server runs: realip outermost
inner = build(realip_inside=True)
