"""What every compatibility app answers on ``/ip/<kind>``: realip's client and the accessors'.

The apps are served by real servers in separate processes; the harness reads this JSON back.
``app`` is what realip gives the app (None when it found no client), ``accessors`` maps each
framework accessor's spelling to what it returned, and ``notes`` says what the app could not use
(an adapter missing from this realip, an exception from a realip call).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional

ACCESSOR_ERROR = "error"


def call(fn: Callable[[], Any], notes: List[str], what: str) -> Optional[str]:
    """``fn()`` as text; an exception becomes a note naming its type, so the run records it."""
    try:
        value = fn()
    except Exception as exc:  # the table reports any failure, whatever raised it
        notes.append(f"{what} raised {type(exc).__name__}")
        return ACCESSOR_ERROR
    return None if value is None else str(value)


def body(app: Optional[str], accessors: Dict[str, Optional[str]], notes: List[str]) -> bytes:
    """The JSON answer of ``/ip/<kind>``."""
    return json.dumps({"app": app, "accessors": accessors, "notes": notes}).encode()
