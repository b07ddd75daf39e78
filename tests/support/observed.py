"""What one adapter or framework run showed the app about the client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

from realip import Result


@dataclass(frozen=True)
class Observed:
    """Every place the app saw a client IP (by where), the SNAT flag, and the stored result."""

    ips: Dict[str, Optional[str]]
    snat: bool
    result: Optional[Result] = None

    @classmethod
    def of(cls, result: Result, app_ip: Optional[str]) -> Observed:
        """One adapter's run: the result it stored and the one address the app saw."""
        return cls({"app": app_ip}, result.snat, result)

    @property
    def app_ip(self) -> Optional[str]:
        """The address the app saw, when the run recorded a single one."""
        (ip,) = self.ips.values()
        return ip
