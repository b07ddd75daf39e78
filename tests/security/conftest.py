"""Makes the security helpers (and the fuzz targets they share) importable.

Django and the clean REALIP_* environment come from tests/conftest.py; each Django test
overrides the settings it needs (``REALIP``, ``MIDDLEWARE``, the URLconf).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
for folder in (HERE, HERE.parent / "fuzz"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
