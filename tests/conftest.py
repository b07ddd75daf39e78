"""Suite-wide settings: the hypothesis profiles.

``ci`` (loaded when the ``CI`` environment variable is set) runs every property with 2,000
examples and no per-example deadline, because CI machines are shared and their timing is noisy.
Locally the default profile keeps a full run quick.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", max_examples=2000, deadline=None)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
