"""Run the ``realip`` command as users do: a child process, ``python -m realip``."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Mapping, Optional, Sequence

from support.environment import realip_settings


def run_realip(
    args: Sequence[str], env: Optional[Mapping[str, str]] = None
) -> subprocess.CompletedProcess[str]:
    """``python -m realip ARGS``, its output as text; no ``REALIP_*`` setting but ``env``'s."""
    clean = {k: v for k, v in os.environ.items() if k not in realip_settings(os.environ)}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "realip", *args],
        capture_output=True,
        text=True,
        env=clean,
        timeout=60,
    )
