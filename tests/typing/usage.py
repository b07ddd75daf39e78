"""The public API used the way applications use it, checked by ``mypy`` (strict) in CI.

Nothing here is called by the test suite as a test: it is a type test. If an annotation in
realip changes so that one of these ordinary uses stops type-checking (or starts needing a
``# type: ignore``), CI fails. ``tests/test_typing.py`` imports it, so it also has to run.
"""

from __future__ import annotations

import ipaddress
import warnings
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from flask import Flask
from flask import request as flask_request
from starlette.applications import Starlette

import realip
from realip import TOPOLOGIES, ConfigError, RealIPWarning, Resolver, Result
from realip.asgi import RealIPMiddleware as ASGIRealIP
from realip.wsgi import RealIPMiddleware as WSGIRealIP

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:

    def assert_type(value: Any, _: Any) -> Any:
        return value


# -- The core ------------------------------------------------------------------------------

INGRESS = Resolver.for_topology("ingress", pod_cidrs=["10.244.0.0/16"], lb_cidrs=["100.64.0.0/10"])
BY_CIDR = Resolver(trusted_proxies=["10.0.0.0/8", "loopback", ipaddress.ip_network("fd00::/8")])
with warnings.catch_warnings():
    # Hop counting always comes with a RealIPWarning saying when it is safe.
    warnings.simplefilter("ignore", RealIPWarning)
    BY_HOPS = Resolver(header="x-forwarded-for", trusted_hops=2)
PEER_ONLY = Resolver(header=None)


def resolve_by_hand() -> Optional[str]:
    """Resolve a peer and headers given as a mapping, as pairs and as ASGI byte pairs."""
    result = BY_CIDR.resolve("10.0.3.4", {"X-Forwarded-For": "203.0.113.9, 10.0.1.2"})
    assert_type(result, Result)
    assert_type(result.client_ip, Optional[str])
    assert_type(result.reason, str)
    assert_type(result.proxies, Tuple[str, ...])
    assert_type(result.snat, bool)
    assert_type(result.via_proxies, bool)
    address: Union[ipaddress.IPv4Address, ipaddress.IPv6Address, None] = result.ip_address
    pairs: List[Tuple[str, str]] = [("X-Forwarded-For", "203.0.113.9")]
    BY_HOPS.resolve(("10.0.0.1", 443), pairs)
    INGRESS.resolve(None, [(b"x-forwarded-for", b"203.0.113.9")])
    assert_type(BY_CIDR.trusts("10.0.0.1"), bool)
    return None if address is None else str(address)


def configure_from_outside(environ: Dict[str, str]) -> Resolver:
    """Configuration errors are ConfigError (a ValueError); lints are RealIPWarning."""
    try:
        resolver = Resolver.from_env(environ)
    except ConfigError as exc:
        message: str = str(exc)
        raise SystemExit(message) from exc
    names: List[str] = sorted(TOPOLOGIES)
    assert resolver.topology is None or resolver.topology in names
    return resolver


def lint(trusted: str) -> List[str]:
    """The RealIPWarning messages a configuration raises (also kept on ``resolver.warnings``)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RealIPWarning)
        resolver = Resolver(trusted_proxies=[trusted])
    kept: Tuple[str, ...] = resolver.warnings
    return [str(w.message) for w in caught if issubclass(w.category, RealIPWarning)] + list(kept)


# -- Flask (WSGI) ----------------------------------------------------------------------------

flask_app = Flask(__name__)

# `flask_app.wsgi_app = WSGIRealIP(flask_app.wsgi_app, ...)` works at run time, but mypy
# rejects assigning to a method ([method-assign]). setattr says the same and type-checks, and
# `flask run`, the test client and every WSGI server still go through the middleware.
setattr(flask_app, "wsgi_app", WSGIRealIP(flask_app.wsgi_app, INGRESS))

# When the WSGI server is pointed at an object you name (gunicorn "module:application"),
# wrapping the whole app type-checks too.
application = WSGIRealIP(flask_app, BY_CIDR, forwarded_proto=True)
assert_type(application.resolver, Resolver)


@flask_app.get("/")
def flask_whoami() -> Dict[str, Optional[str]]:
    """The client IP three ways: REMOTE_ADDR, get_client_ip and the stored Result."""
    result = realip.get_result(flask_request)
    assert_type(result, Result)
    client: Optional[str] = realip.get_client_ip(flask_request)
    return {"remote_addr": flask_request.remote_addr, "client": client, "why": result.reason}


# -- FastAPI / Starlette (ASGI) ------------------------------------------------------------

fastapi_app = FastAPI()
fastapi_app.add_middleware(ASGIRealIP, resolver=INGRESS)
fastapi_app.add_middleware(ASGIRealIP, resolver=BY_CIDR, forwarded_proto=True)


@fastapi_app.get("/")
async def fastapi_whoami(request: FastAPIRequest) -> Dict[str, Optional[str]]:
    """``request.client.host`` is the client once the middleware ran."""
    host = request.client.host if request.client else None
    return {"client": host, "also": realip.get_client_ip(request)}


starlette_app = ASGIRealIP(Starlette(), INGRESS)
# No resolver: REALIP_* from the environment (it warns when none is set).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", RealIPWarning)
    bare_asgi = ASGIRealIP(fastapi_app)
