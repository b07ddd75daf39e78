"""Django with django-ratelimit, DRF throttling, OpenTelemetry, sentry-sdk, as the how-tos wire
them, served by gunicorn.

``application``: ``realip.django.RealIPMiddleware`` first in ``MIDDLEWARE``: enough for
django-ratelimit and DRF, which read ``request.META`` in the view. OpenTelemetry's
``DjangoInstrumentor`` puts its own middleware before every other one, and Sentry's integration
wraps Django's WSGI handler, so they read the request before any Django middleware runs:
``wrapped`` (realip's WSGI middleware around the WSGI application) is the wiring for them, and
``asgi_wrapped`` (realip's ASGI middleware around the ASGI application) under ASGI.
``CONSUMER_NUM_PROXIES`` sets DRF's ``NUM_PROXIES`` (``unset``: DRF's default). ``/hit/<kind>`` is a DRF view (throttled) that
also counts the request with django-ratelimit, and answers with both libraries' counters.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import django
from consumer_common import Loggers, setup_sentry, setup_tracing
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="realip-consumers",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["realip.django.RealIPMiddleware"],
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
    DATABASES={},
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    # django-ratelimit refuses a cache that is not shared between processes; one worker here.
    SILENCED_SYSTEM_CHECKS=["django_ratelimit.E003", "django_ratelimit.W001"],
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [],
        "DEFAULT_PERMISSION_CLASSES": [],
        "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"],
        "DEFAULT_THROTTLE_RATES": {"anon": "1000/minute"},
        # realip already walked the proxy chain: REMOTE_ADDR is the client.
        **(
            {}
            if os.environ.get("CONSUMER_NUM_PROXIES") == "unset"  # DRF's default, None
            else {"NUM_PROXIES": int(os.environ.get("CONSUMER_NUM_PROXIES", "0"))}
        ),
    },
    USE_TZ=True,
)

if importlib.util.find_spec("sentry_sdk"):
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    setup_sentry(DjangoIntegration())
else:  # pragma: no cover - the scenarios that need it are skipped
    sentry_sdk = None

if importlib.util.find_spec("opentelemetry.instrumentation.django"):
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    setup_tracing()
    DjangoInstrumentor().instrument()  # inserts its middleware first in MIDDLEWARE

django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django_ratelimit.core import get_usage  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from realip.asgi import RealIPMiddleware as ASGIRealIP  # noqa: E402
from realip.wsgi import RealIPMiddleware  # noqa: E402

CANDIDATES = ("203.0.113.7", "198.51.100.66", "10.1.2.3", "127.0.0.2", "127.0.0.3")
RATE = "1000/m"
loggers = Loggers()


def _ratelimit_counts(request: Any) -> dict:  # type: ignore[type-arg]
    """django-ratelimit's counter under each address a key could hold (its keys are hashed)."""
    found = {}
    for ip in CANDIDATES:
        usage = get_usage(request, group="hits", key=lambda group, r, ip=ip: ip, rate=RATE)
        found[f"ratelimit/{ip}"] = usage["count"] if usage else 0
    return found


def _throttle_counts() -> dict:  # type: ignore[type-arg]
    """DRF's throttle history per cache key (``throttle_anon_<ident>``)."""
    found = {}
    for made in list(cache._cache):  # type: ignore[attr-defined]  # LocMemCache's own dict
        key = made.split(":", 2)[-1]
        if key.startswith("throttle_"):
            found[f"drf/{key}"] = len(cache.get(key) or ())
    return found


class Hit(APIView):
    def get(self, request: Any, kind: str) -> Response:
        loggers.hit(f"/hit/{kind}")
        if sentry_sdk is not None:
            sentry_sdk.capture_message(kind)
        # What @ratelimit(key="ip", rate=...) does in the view; DRF's throttle ran before it.
        get_usage(request, group="hits", key="ip", rate=RATE, increment=True)
        return Response({"counts": {**_ratelimit_counts(request), **_throttle_counts()}})


def ready(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [path("hit/<str:kind>", Hit.as_view()), path("ready", ready)]

application = get_wsgi_application()
wrapped = RealIPMiddleware(application)  # realip outermost: before Sentry and OpenTelemetry
# The same under ASGI: realip.asgi around Django's ASGI handler.
asgi_wrapped = ASGIRealIP(get_asgi_application())
