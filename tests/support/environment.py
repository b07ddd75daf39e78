"""Which environment variables the suite clears before every test, and which it keeps.

Every ``REALIP_*`` variable configures realip, so none may leak in from the shell. The test
harness's own knobs use the ``RIP_TEST_`` prefix (e.g. ``RIP_TEST_NGINX``, the nginx binary the
end-to-end tests run) so that clearing realip's settings never clears them too.
"""

from __future__ import annotations

from typing import Iterable, List

SETTING_PREFIX = "REALIP_"
"""realip's own settings: cleared before every test."""
HARNESS_PREFIX = "RIP_TEST_"
"""The test harness's settings: never cleared."""


def realip_settings(names: Iterable[str]) -> List[str]:
    """The names among ``names`` that configure realip (and so must not reach a test)."""
    return [name for name in names if name.startswith(SETTING_PREFIX)]
