"""``python -m realip``."""

import sys

from realip.cli import main

sys.exit(main())
