"""How long ``import realip`` takes next to ``import werkzeug.middleware.proxy_fix``.

Each import runs in a fresh interpreter (nothing cached in ``sys.modules``), timed inside that
interpreter around the import statement alone (CPU time), so interpreter start-up does not
count. The
two imports alternate, so drift on a busy machine hits both alike; the median of ``--runs``
samples is reported for each, with the ratio realip / Werkzeug (target: 0.25 or less).

    python benchmarks/import_time.py            # 31 runs each
    python benchmarks/import_time.py --runs 101 --max-ratio 0.25   # exit 1 above the target
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

_SRC = Path(__file__).resolve().parent.parent / "src"

# CPU time of this process, not wall time: importing is CPU-bound (the files are in the page
# cache after the warm-up), and CPU time barely moves when other work shares the machine.
_PROBE = (
    "import time\n"
    "start = time.process_time()\n"
    "import {module}\n"
    "print(time.process_time() - start)\n"
)


def sample(module: str) -> float:
    """Seconds one fresh interpreter spends importing ``module``."""
    env = dict(os.environ)
    # This checkout's realip, not whichever one is installed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_SRC), env.get("PYTHONPATH")) if p)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    # Installed packages import from cached bytecode; so must this checkout (the first, warm-up
    # sample writes it), or compiling realip's sources would be measured as importing them.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    return float(done.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    """Print both medians and the ratio; exit 1 if ``--max-ratio`` is given and exceeded."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=31, help="fresh interpreters per import")
    parser.add_argument("--max-ratio", type=float, help="exit 1 if realip/werkzeug is above this")
    args = parser.parse_args(argv)
    try:
        sample("werkzeug.middleware.proxy_fix")  # warm-up: both write their bytecode caches
        sample("realip")
    except subprocess.CalledProcessError:
        print("werkzeug is not installed: pip install werkzeug (it is in the bench extra)")
        return 2
    realip: list[float] = []
    werkzeug: list[float] = []
    for _ in range(args.runs):
        realip.append(sample("realip"))
        werkzeug.append(sample("werkzeug.middleware.proxy_fix"))
    ours, theirs = statistics.median(realip), statistics.median(werkzeug)
    ratio = ours / theirs
    print(f"python {sys.version.split()[0]}, {args.runs} fresh interpreters each (median)")
    print(f"import realip                         {ours * 1000:7.2f} ms")
    print(f"import werkzeug.middleware.proxy_fix  {theirs * 1000:7.2f} ms")
    print(f"ratio realip / werkzeug               {ratio:7.3f}")
    # The fastest samples are the least disturbed by other load on the machine.
    print(f"ratio of the fastest samples          {min(realip) / min(werkzeug):7.3f}")
    if args.max_ratio is not None and ratio > args.max_ratio:
        print(f"above the target ratio {args.max_ratio}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
