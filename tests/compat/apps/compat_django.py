"""Django, WSGI (``wsgi_app``) and ASGI (``asgi_app``), with ``realip.django.RealIPMiddleware``.

``asgi_wrapped`` is the ASGI application also wrapped in ``realip.asgi.RealIPMiddleware``: the
Django middleware then reads the answer the ASGI one stored, and the server's scope holds it.
"""

from __future__ import annotations

from typing import Any

import django
from compat_common import body, call, record_asgi, record_wsgi
from django.conf import settings
from django.http import HttpResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY="realip-compat",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["realip.django.RealIPMiddleware"],
    INSTALLED_APPS=[],
    DATABASES={},
)
django.setup()


def ip(request: Any, kind: str) -> HttpResponse:
    notes: list = []
    app_ip = call(lambda: request.client_ip, notes, "request.client_ip")
    meta = call(lambda: request.META["REMOTE_ADDR"], notes, "request.META")
    return HttpResponse(
        body(app_ip, {"request.META['REMOTE_ADDR']": meta}, notes), content_type="application/json"
    )


def ready(request: Any) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [path("ip/<str:kind>", ip), path("ready", ready)]

from django.core.asgi import get_asgi_application  # noqa: E402  (after settings.configure)
from django.core.wsgi import get_wsgi_application  # noqa: E402

from realip.asgi import RealIPMiddleware  # noqa: E402

wsgi_app = record_wsgi(get_wsgi_application())
asgi_app = record_asgi(get_asgi_application())
asgi_wrapped = record_asgi(RealIPMiddleware(get_asgi_application()))
