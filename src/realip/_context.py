"""The current request's :class:`~realip.Result`, for code that has no request at hand.

Every realip middleware sets :data:`current` for exactly the request it handles, and puts it
back as it was when the request ends, once :func:`realip.log.enable` has been called (it sets
:data:`enabled`; building a :class:`realip.log.ClientIPFilter` calls it): setting a context
variable costs about a tenth of a resolution, so apps that never read it don't pay for it.
Kept apart from ``realip.log`` so the middlewares don't import :mod:`logging`; the helpers
below are how every adapter sets the context for exactly its request and restores it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional

if TYPE_CHECKING:
    from realip.resolver import Result

current: ContextVar[Optional[Result]] = ContextVar("realip.result", default=None)
"""The result of the request being handled in this context (None outside a request)."""

enabled = False
"""Whether the middlewares set :data:`current`: True once :func:`realip.log.enable` ran."""

_set = current.set
_reset = current.reset


class ContextClosingIterator:
    """A WSGI response iterable that ends the request's context when the server closes it.

    The app's generator runs (and the server writes its access line) while the response is
    iterated, after the middleware returned; PEP 3333 servers call ``close()`` when done.
    """

    __slots__ = ("_close", "_iterable", "_token")

    def __init__(self, iterable: Iterable[bytes], token: Any) -> None:
        self._iterable = iterable
        self._close: Optional[Callable[[], Any]] = getattr(iterable, "close", None)
        self._token = token

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._iterable)

    def close(self) -> None:
        """Close the app's iterable, then restore the context as it was before the request."""
        token, self._token = self._token, None
        try:
            if self._close is not None:
                self._close()
        finally:
            if token is not None:
                restore(token)


def restore(token: Any) -> None:
    """Put the context back as it was before ``token``'s request (never raises)."""
    try:
        _reset(token)
    except ValueError:
        # Closed from another context than the request's (a server that closes responses in
        # another thread): that context must not keep a client either.
        _set(None)


def wsgi_with_context(
    app: Callable[..., Iterable[bytes]], environ: Any, start_response: Any, result: Result
) -> Iterable[bytes]:
    """Call a WSGI ``app`` with ``result`` as the context's request until its response closes."""
    token = _set(result)
    try:
        iterable = app(environ, start_response)
    except BaseException:
        restore(token)
        raise
    wrapper = environ.get("wsgi.file_wrapper")
    if isinstance(wrapper, type) and isinstance(iterable, wrapper):
        # Served with sendfile by the server (which looks for its own class): no app code runs
        # any more, so the context ends now rather than hiding the file from the server.
        restore(token)
        return iterable
    return ContextClosingIterator(iterable, token)


# The messages that can end an HTTP response (the body, and the pathsend and zerocopysend
# extensions).
_BODIES = frozenset(("http.response.body", "http.response.pathsend", "http.response.zerocopysend"))


def asgi_send_outside(send: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``send``, with the message that ends an HTTP response sent outside the request's context.

    uvicorn (and daphne) start a pipelined request's task from inside that call, and a task
    copies the context it starts in: the next request would begin with this one's client.
    """

    async def send_final_outside(message: Any) -> None:
        kind = message.get("type")
        if kind in _BODIES and (kind == "http.response.pathsend" or not message.get("more_body")):
            token = _set(None)
            try:
                await send(message)
            finally:
                _reset(token)
            return
        await send(message)

    return send_final_outside
