"""URLconf for the Django integration tests: one sync and one async view reporting the client."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import path

import realip

MISSING = "<no request.client_ip>"


def describe(request: HttpRequest) -> dict[str, Any]:
    """Every place a Django view can see the client IP (plus the result's SNAT flag)."""
    return {
        "META['REMOTE_ADDR']": request.META.get("REMOTE_ADDR"),
        "request.client_ip": getattr(request, "client_ip", MISSING),
        "get_client_ip(request)": realip.get_client_ip(request),
        "snat": realip.get_result(request).snat,
    }


def ip(request: HttpRequest) -> JsonResponse:
    return JsonResponse(describe(request))


async def aip(request: HttpRequest) -> JsonResponse:
    return JsonResponse(describe(request))


def detail(request: HttpRequest) -> JsonResponse:
    result = realip.get_result(request)
    return JsonResponse(
        {
            "remote_addr": request.META.get("REMOTE_ADDR"),
            "client_ip": getattr(request, "client_ip", MISSING),
            "original": request.META.get("realip.original_remote_addr"),
            "result_is_stored": request.META.get("realip.result") is result,
            "source": result.source,
            "scheme": request.scheme,
        }
    )


urlpatterns = [
    path("ip", ip),
    path("aip", aip),
    path("detail", detail),
]
