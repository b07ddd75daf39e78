"""Put the current request's client IP on every log record: a :class:`logging.Filter`.

Every realip middleware (WSGI, ASGI, Django, aiohttp) records the request's
:class:`~realip.Result` in a context variable for exactly the request it handles, and restores
it when the request ends; the filter copies its client IP onto each record as
``record.client_ip`` (``-`` outside a request), for format strings like
``"%(client_ip)s %(message)s"``::

    import logging

    from realip.log import ClientIPFilter

    handler = logging.StreamHandler()
    handler.addFilter(ClientIPFilter())
    handler.setFormatter(logging.Formatter("%(client_ip)s %(levelname)s %(message)s"))

Attach it to handlers (a logger's own filters only see records logged on that very logger).
Recording costs a little per request, so it is off until asked for: building a
:class:`ClientIPFilter` turns it on, and code that only calls :func:`current_client_ip` or
:func:`current_result` calls :func:`enable` once at start-up.
"""

from __future__ import annotations

import logging
from typing import Optional

from realip import _context
from realip._context import current
from realip.resolver import Result

__all__ = ["ClientIPFilter", "current_client_ip", "current_result", "enable"]

_get = current.get


def enable() -> None:
    """Make every realip middleware record its request's result for this module (idempotent)."""
    _context.enabled = True


def current_result() -> Optional[Result]:
    """The :class:`~realip.Result` of the request handled in this context, or None.

    None too until :func:`enable` (or a :class:`ClientIPFilter`) turned recording on.
    """
    return _get()


def current_client_ip() -> Optional[str]:
    """The client IP of the request handled in this context, or None (see current_result)."""
    result = _get()
    return None if result is None else result.client_ip


class ClientIPFilter(logging.Filter):
    """Sets ``record.client_ip`` to the current request's client IP (``default`` when none).

    Building one turns recording on (:func:`enable`).
    """

    def __init__(self, default: str = "-") -> None:
        super().__init__()
        self.default = default
        enable()

    def filter(self, record: logging.LogRecord) -> bool:
        """Add ``client_ip`` to ``record``; never drops a record."""
        result = _get()
        ip = None if result is None else result.client_ip
        record.client_ip = ip if ip is not None else self.default
        return True
