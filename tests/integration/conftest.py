"""Makes the helper modules next to this file (integration_scenarios, integration_django_urls)
importable whatever pytest's import mode is. Django and the environment: tests/conftest.py."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
