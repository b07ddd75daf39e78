"""Put the current request's client IP on every log record: a :class:`logging.Filter`.

Every realip middleware (WSGI, ASGI, Django, aiohttp) records the request's
:class:`~realip.Result` in a context variable while the request is handled; the filter copies
its client IP onto each record as ``record.client_ip``, for format strings like
``"%(client_ip)s %(message)s"``::

    import logging

    from realip.log import ClientIPFilter

    handler = logging.StreamHandler()
    handler.addFilter(ClientIPFilter())
    handler.setFormatter(logging.Formatter("%(client_ip)s %(levelname)s %(message)s"))

Attach it to handlers (a logger's own filters only see records logged on that very logger).
The middlewares start recording the result once this module is imported — which configuring
the filter does, at start-up — so apps that don't use it pay nothing per request.
"""

from __future__ import annotations

import logging
from typing import Optional

from realip import _context
from realip._context import current
from realip.resolver import Result

__all__ = ["ClientIPFilter", "current_client_ip", "current_result"]

_get = current.get
# From now on every realip middleware records its result in ``current`` (see realip._context).
_context.enabled = True


def current_result() -> Optional[Result]:
    """The :class:`~realip.Result` of the request handled in this context, or None."""
    return _get()


def current_client_ip() -> Optional[str]:
    """The client IP of the request handled in this context, or None."""
    result = _get()
    return None if result is None else result.client_ip


class ClientIPFilter(logging.Filter):
    """Sets ``record.client_ip`` to the current request's client IP (``default`` when none)."""

    def __init__(self, default: str = "-") -> None:
        super().__init__()
        self.default = default

    def filter(self, record: logging.LogRecord) -> bool:
        """Add ``client_ip`` to ``record``; never drops a record."""
        result = _get()
        ip = None if result is None else result.client_ip
        record.client_ip = ip if ip is not None else self.default
        return True
