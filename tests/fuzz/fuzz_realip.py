"""Coverage-guided fuzzing of realip's parsers with atheris (libFuzzer for Python).

Run one target by hand (``pip install -e '.[fuzz]'`` first)::

    python tests/fuzz/fuzz_realip.py resolve /tmp/new-corpus tests/fuzz/corpus/resolve \\
        -dict=tests/fuzz/realip.dict -max_total_time=600

Targets: ``address`` (parse_address/format_address), ``forwarded`` (the RFC 7239 element
parser), ``proxy_protocol`` (the PROXY v1/v2 parser and the trust policy) and ``resolve`` (the resolver through the core, WSGI-environ and ASGI-scope readers);
the invariants are in ``fuzz_targets.py``. libFuzzer writes new inputs into the *first* corpus
folder, so give a scratch folder first and the saved corpus second. A crash leaves a
``crash-*`` file (see ``-artifact_prefix``): copy it into ``corpus/<target>/`` under a name that
says what it is, so ``test_fuzz.py`` replays it on every run. ``-timeout`` (seconds per input)
turns an input that makes realip do unbounded work into a failure too.
"""

from __future__ import annotations

import os
import shlex
import sys

import atheris

with atheris.instrument_imports(include=["realip"]):
    # Instrumented before anything else imports them (realip itself does not import these two).
    import realip
    import realip.proxy_protocol
    import realip.proxy_server  # noqa: F401

import fuzz_targets


def main() -> None:
    """Run the target named by the first argument; the rest are libFuzzer's arguments."""
    if len(sys.argv) < 2 or sys.argv[1] not in fuzz_targets.TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(fuzz_targets.TARGETS)}}} [libFuzzer args]")
    name = sys.argv.pop(1)
    # libFuzzer's -merge and -fork re-run argv[0] through the shell: make that a command line
    # that runs this interpreter on this file with this target.
    here = os.path.abspath(__file__)
    sys.argv[0] = " ".join(shlex.quote(p) for p in (sys.executable, here, name))
    atheris.Setup(sys.argv, fuzz_targets.TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
