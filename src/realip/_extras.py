"""What each framework module of realip needs installed, and the error that says so.

``import realip`` needs nothing beyond the standard library; ``realip.django``,
``realip.aiohttp``, ``realip.uvicorn`` and ``realip.gunicorn`` import their framework. Without
it, Python's own error names whichever dependency happens to be imported first
(``No module named 'asgiref'`` for Django); :func:`requires` names the framework and the extra
that installs it instead.
"""

from __future__ import annotations

import contextlib
from typing import Dict, Iterator, Tuple

EXTRAS: Dict[str, Tuple[str, str, Tuple[str, ...]]] = {
    # realip module: (what it needs, the extra of realip that installs it, the top-level
    # modules that come with that install)
    "realip.django": ("Django", "django", ("django", "asgiref", "sqlparse")),
    "realip.aiohttp": ("aiohttp", "aiohttp", ("aiohttp", "multidict", "yarl", "aiosignal")),
    "realip.uvicorn": ("uvicorn", "uvicorn", ("uvicorn", "h11", "click")),
    "realip.gunicorn": ("gunicorn", "gunicorn", ("gunicorn", "packaging")),
}
"""The framework modules, what each needs, and the extra (``pip install 'realip[EXTRA]'``)."""


def install_hint(module: str) -> str:
    """What to run to get what ``module`` needs."""
    needs, extra, _ = EXTRAS[module]
    return f"pip install 'realip[{extra}]' (or {needs} itself)"


@contextlib.contextmanager
def requires(module: str) -> Iterator[None]:
    """Around ``module``'s framework imports: a missing framework is an ImportError saying
    what to install; any other import error passes through unchanged."""
    try:
        yield
    except ModuleNotFoundError as exc:
        needs, _, provided = EXTRAS[module]
        if (exc.name or "").partition(".")[0] not in provided:
            raise
        raise ModuleNotFoundError(
            f"{module} needs {needs}, which is not installed (no module named {exc.name!r}): "
            f"{install_hint(module)}",
            name=exc.name,
        ) from exc


__all__ = ["EXTRAS", "install_hint", "requires"]
