"""``python -m tests.lab``: build the lab, print the results table (see run.py)."""

import sys

from .run import main

sys.exit(main())
