"""The current request's :class:`~realip.Result`, for code that has no request at hand.

Every realip middleware sets :data:`current` for exactly the request it handles, and puts it
back as it was when the request ends, once :func:`realip.log.enable` has been called (it sets
:data:`enabled`; building a :class:`realip.log.ClientIPFilter` calls it): setting a context
variable costs about a tenth of a resolution, so apps that never read it don't pay for it.
Kept apart from ``realip.log`` so the middlewares don't import :mod:`logging`.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from realip.resolver import Result

current: ContextVar[Optional[Result]] = ContextVar("realip.result", default=None)
"""The result of the request being handled in this context (None outside a request)."""

enabled = False
"""Whether the middlewares set :data:`current`: True once :func:`realip.log.enable` ran."""
