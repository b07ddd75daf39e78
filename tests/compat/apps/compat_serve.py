"""Start a server that has no command line of its own (waitress's settings, Werkzeug's server).

    python compat_serve.py waitress MODULE:ATTR HOST PORT [--clear-untrusted-proxy-headers=no]
    python compat_serve.py werkzeug MODULE:ATTR HOST PORT

Each server is started as its documentation shows, with its defaults unless a flag says otherwise.
"""

from __future__ import annotations

import importlib
import logging
import sys


def _load(target: str) -> object:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def main(argv: list) -> None:
    server, target, host, port, *options = argv
    app = _load(target)
    if server == "waitress":
        import waitress

        kwargs = {}
        if "--clear-untrusted-proxy-headers=no" in options:
            kwargs["clear_untrusted_proxy_headers"] = False
        logging.basicConfig(level=logging.INFO)
        waitress.serve(app, host=host, port=int(port), threads=4, **kwargs)
    elif server == "werkzeug":
        from werkzeug.serving import run_simple

        run_simple(host, int(port), app, threaded=True)  # type: ignore[arg-type]
    else:
        raise SystemExit(f"unknown server {server!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
