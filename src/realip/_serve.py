"""``realip serve``: an echo server that shows what reached it and what realip makes of it.

    realip serve --topology ingress --pod-cidrs 10.244.0.0/16
    curl -s http://127.0.0.1:8080/

Deploy it where your app runs (docs/kubernetes/ has manifests for every topology) and request
it through the real path: every answer carries the peer address, the proxy headers exactly as
received, the resolution under the current configuration step by step, and suggestions about
which topology this looks like. JSON by default, HTML for browsers, ``/healthz`` for probes.

The server is for diagnosis, not for production traffic: standard library only, one thread per
connection, capped, with a socket timeout so slow or silent clients cannot pin it down.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import ipaddress
import json
import signal
import socket
import socketserver
import sys
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Sequence, TextIO, Tuple, Union
from urllib.parse import parse_qs

from realip._explain import PROXY_HEADERS, describe, explain
from realip._headers import lookup
from realip._networks import PRESETS
from realip._topologies import CLOUDFLARE_RANGES
from realip._version import __version__
from realip.proxy_server import (
    ProxyPolicy,
    add_serve_options,
    header_report,
    serve_accept,
    serve_policy,
)
from realip.resolver import Resolver, Result

_EXTRA_PROXY_HEADERS = (
    "x-original-forwarded-for",  # ingress-nginx: the X-Forwarded-For it received
    "x-envoy-external-address",  # Envoy / Istio
    "x-azure-clientip",  # Azure Front Door
    "x-azure-socketip",
    "x-appengine-user-ip",  # Google App Engine
    "cf-connecting-ipv6",  # Cloudflare
    "cf-pseudo-ipv4",
    "x-proxyuser-ip",
    "client-ip",
    "cdn-loop",
    "x-scheme",
)
_PROXY_HEADER_NAMES = frozenset(PROXY_HEADERS + _EXTRA_PROXY_HEADERS)
_SINGLE_IP_HEADERS = (
    "cf-connecting-ip",
    "true-client-ip",
    "fly-client-ip",
    "fastly-client-ip",
    "x-real-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "x-envoy-external-address",
    "x-azure-clientip",
    "x-appengine-user-ip",
)

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
# The RFC 1918 / ULA ranges, not ipaddress's is_private, which also covers documentation and
# benchmark ranges that stand for public clients in examples.
_PRIVATE = tuple(ipaddress.ip_network(c) for c in PRESETS["private"])
_CLOUDFLARE = tuple(ipaddress.ip_network(c) for c in CLOUDFLARE_RANGES)

DEFAULT_TIMEOUT = 10.0
"""Seconds a connection may stay silent before the server closes it."""
DEFAULT_MAX_CONNECTIONS = 256
"""Connections served at once; more get a 503 instead of another thread."""

HeaderPairs = Sequence[Tuple[str, str]]
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


def is_proxy_header(name: str) -> bool:
    """True for headers that proxies write about the client (X-Forwarded-*, Forwarded, ...)."""
    lower = name.strip().lower()
    return lower in _PROXY_HEADER_NAMES or lower.startswith("x-forwarded")


def _ip(text: Optional[str]) -> Optional[IPAddress]:
    if not text:
        return None
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _peer_class(ip: IPAddress) -> str:
    if ip.is_loopback:
        return "loopback"
    if ip.version == 4 and ip in _CGNAT:
        return "cgnat"
    if ip.is_link_local:
        return "link-local"
    if any(ip in net for net in _PRIVATE):
        return "private"
    return "public"


def suggest(
    peer: Optional[str], headers: HeaderPairs, resolver: Resolver, result: Result
) -> List[str]:
    """Plain-language guesses at the topology, from the peer address and the headers seen."""
    out: List[str] = []
    xff = lookup(headers, "x-forwarded-for")
    forwarded = lookup(headers, "forwarded")
    singles = [name for name in _SINGLE_IP_HEADERS if lookup(headers, name) is not None]
    configured = resolver.topology is not None or resolver.header is not None
    if not configured:
        out.append(
            "realip runs unconfigured here (it trusts nothing and answers the peer address); "
            "once you know the topology, set REALIP_TOPOLOGY (and its CIDRs) or pass --topology"
        )
    elif result.client_ip is None:
        out.append(f"realip found no client IP: {result.reason}")
    ip = _ip(peer)
    if ip is None:
        out.append(
            "there is no peer IP address (a Unix socket?): if a proxy listens on the other end "
            "of the socket, trust it with REALIP_TRUSTED_PROXIES=unix"
        )
        return out
    kind = _peer_class(ip)
    if kind == "loopback":
        out.append(
            f"the peer {ip} is loopback: a proxy on the same host or in the same pod (a sidecar "
            "such as Envoy or Istio) or `kubectl port-forward` (which always shows 127.0.0.1). "
            "If a local proxy forwards to the app, trust it: REALIP_TRUSTED_PROXIES=loopback"
        )
    elif kind in ("private", "link-local"):
        if xff is not None:
            already = resolver.topology == "ingress" and result.source == "x-forwarded-for"
            out.append(
                f"the peer {ip} is a private address and X-Forwarded-For is present: this looks "
                "like the `ingress` topology (an ingress controller pod forwarded the request); "
                + (
                    "the current configuration already reads it that way"
                    if already
                    else f"set REALIP_TOPOLOGY=ingress and REALIP_POD_CIDRS=<your pod CIDR, which "
                    f"contains {ip}>"
                )
            )
        elif forwarded is not None:
            out.append(
                f"the peer {ip} is a private address and sent a Forwarded header (RFC 7239): a "
                "proxy inside your network; set REALIP_HEADER=forwarded with the topology that "
                f"trusts {ip}'s range (e.g. REALIP_TOPOLOGY=ingress)"
            )
        elif singles:
            out.append(
                f"the peer {ip} is a private address and sent {', '.join(singles)}: a proxy "
                f"that writes a single-address header; set REALIP_HEADER={singles[0]} and trust "
                f"the proxy with REALIP_TRUSTED_PROXIES=<its range, which contains {ip}>"
            )
        else:
            out.append(
                f"the peer {ip} is a private address and no proxy header arrived: either another "
                "pod called you directly (pod-to-pod: the peer is the right answer, "
                "REALIP_TOPOLOGY=pod-to-pod), or kube-proxy source-NATed a request from outside "
                "(NodePort/LoadBalancer with externalTrafficPolicy: Cluster) and the client IP "
                "is lost: set externalTrafficPolicy: Local. If "
                f"{ip} is one of your nodes, it is the second case (REALIP_TOPOLOGY="
                "nodeport-cluster with REALIP_NODE_CIDRS flags it)"
            )
    elif kind == "cgnat":
        if xff is not None:
            out.append(
                f"the peer {ip} is in 100.64.0.0/10 and X-Forwarded-For is present: this looks "
                "like `lb-http` behind an Alibaba Cloud SLB HTTP listener (it forwards from "
                "100.64.0.0/10); set REALIP_TOPOLOGY=lb-http and REALIP_LB_CIDRS=100.64.0.0/10"
            )
        else:
            out.append(
                f"the peer {ip} is in 100.64.0.0/10 (shared address space: Alibaba Cloud SLB "
                "forwarders, carrier-grade NAT, Tailscale) and no proxy header arrived: if it is "
                "a load balancer, it hides the client; turn on X-Forwarded-For (HTTP listener) "
                "or use a TCP listener with externalTrafficPolicy: Local"
            )
    else:
        if lookup(headers, "cf-connecting-ip") is not None:
            edge = any(ip in net for net in _CLOUDFLARE)
            out.append(
                f"CF-Connecting-IP is present and the peer {ip} "
                + (
                    "is a Cloudflare edge address: set REALIP_TOPOLOGY=cloudflare"
                    if edge
                    else "is not in Cloudflare's published ranges: either another proxy sits between "
                    "Cloudflare and the app (trust it too), or the header is forged"
                )
            )
        elif xff is not None or forwarded is not None or singles:
            sent = (
                "X-Forwarded-For"
                if xff is not None
                else ("Forwarded" if forwarded is not None else singles[0])
            )
            out.append(
                f"the peer {ip} is a public address and sent {sent}: either the client wrote it "
                f"(a spoofing attempt, which realip ignores unless {ip} is trusted) or a CDN or "
                "proxy with public addresses is in front; trust only its published ranges "
                "(REALIP_TRUSTED_PROXIES)"
            )
        else:
            out.append(
                f"the peer {ip} is a public address and no proxy header arrived: the client "
                "reached the pod with its address intact (NodePort with externalTrafficPolicy: "
                "Local, or a pass-through TCP load balancer): REALIP_TOPOLOGY=nodeport-local or "
                "lb-tcp"
            )
    repeated = sum(1 for name, _ in headers if name.strip().lower() == "x-forwarded-for")
    if repeated > 1:
        out.append(
            f"X-Forwarded-For arrived {repeated} times; realip joins them in order, as RFC 9110 "
            "says, so the last one's entries are the rightmost"
        )
    return out


def observe(
    resolver: Resolver,
    peer: Optional[str],
    headers: HeaderPairs,
    *,
    peer_port: Optional[int] = None,
    method: str = "GET",
    path: str = "/",
    version: str = "HTTP/1.1",
) -> Dict[str, Any]:
    """Everything ``realip serve`` answers for one request, as a JSON-ready dict."""
    exp = explain(resolver, peer, list(headers))
    return {
        "realip": __version__,
        "peer": {"address": peer, "port": peer_port},
        "request": {
            "method": method,
            "path": path,
            "version": version,
            "host": lookup(headers, "host"),
        },
        "proxy_headers": [
            {"name": name, "value": value} for name, value in headers if is_proxy_header(name)
        ],
        "configuration": describe(resolver),
        "resolution": exp.as_dict(),
        "suggestions": suggest(peer, headers, resolver, exp.result),
    }


def _esc(value: Any) -> str:
    return html.escape("-" if value is None or value == "" else str(value), quote=True)


def render_html(report: Dict[str, Any]) -> str:
    """The report as a small self-contained HTML page; every value is escaped."""
    res = report["resolution"]
    peer = report["peer"]
    rows = (
        "".join(
            f"<tr><th>{_esc(h['name'])}</th><td><code>{_esc(h['value'])}</code></td></tr>"
            for h in report["proxy_headers"]
        )
        or '<tr><td colspan="2">none</td></tr>'
    )

    def items(values: List[str]) -> str:
        return "".join(f"<li>{_esc(v)}</li>" for v in values) or "<li>none</li>"

    peer_text = (
        peer["address"] if peer["port"] is None else (f"{peer['address']} port {peer['port']}")
    )
    req = report["request"]
    request = f"{req['method']} {req['path']} {req['version']}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>realip serve: {_esc(res.get("client_ip"))}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; }}
h1 {{ font-size: 1.4rem; }} h2 {{ font-size: 1.1rem; margin-top: 1.6rem; }}
table {{ border-collapse: collapse; }} th, td {{ text-align: left; padding: .2rem .8rem .2rem 0;
       vertical-align: top; }}
code {{ word-break: break-all; }} .client {{ font-size: 1.6rem; font-weight: bold; }}
.warn li {{ color: #8a4b00; }}
</style></head><body>
<h1>realip serve</h1>
<p>client IP: <span class="client">{_esc(res.get("client_ip"))}</span>
 (source: {_esc(res.get("source"))})</p>
<p>{_esc(res.get("reason"))}</p>
<table>
<tr><th>peer</th><td><code>{_esc(peer_text)}</code></td></tr>
<tr><th>request</th><td><code>{_esc(request)}</code></td></tr>
<tr><th>host</th><td><code>{_esc(req["host"])}</code></td></tr>
<tr><th>configuration</th><td>{_esc(report["configuration"])}</td></tr>
</table>
<h2>Steps</h2><ol>{items(res.get("steps", []))}</ol>
<h2>Warnings</h2><ul class="warn">{items(res.get("warnings", []))}</ul>
<h2>Suggestions</h2><ul>{items(report["suggestions"])}</ul>
<h2>Proxy headers as received</h2><table>{rows}</table>
<p><a href="?format=json">JSON</a> &middot; realip {_esc(report["realip"])}</p>
</body></html>
"""


def wants_html(accept: Optional[str], query: str = "") -> bool:
    """True when ``?format=html``, or when Accept prefers text/html over application/json."""
    fmt = parse_qs(query).get("format", [""])[-1].lower()
    if fmt in ("html", "json"):
        return fmt == "html"
    if not accept:
        return False
    best = {"html": 0.0, "json": 0.0}
    for part in accept.split(",")[:64]:
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media in ("text/html", "application/xhtml+xml", "text/*", "*/*"):
            best["html"] = max(best["html"], q)
        if media in ("application/json", "application/*", "*/*"):
            best["json"] = max(best["json"], q)
    return best["html"] > best["json"]


def _clean(text: str, limit: int = 300) -> str:
    text = text if len(text) <= limit else text[:limit] + "..."
    return "".join(
        c if c.isprintable() and c != "\\" else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


class _Handler(BaseHTTPRequestHandler):
    """Answers every request with what it saw; see :func:`observe`."""

    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = f"realip-serve/{__version__}"
    # A one- or two-word request line must not turn the answer into a bare HTTP/0.9 body.
    default_request_version = "HTTP/1.0"

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.conn_timeout)
        self._served = 0
        self._note: Optional[str] = None
        self._logged = False
        self._summary = ""

    def handle(self) -> None:
        # --proxy-protocol: the PROXY header is read (and trust decided) before any HTTP.
        if self.server.proxy_policy is None or serve_accept(self, self.server.proxy_policy):
            super().handle()

    def handle_one_request(self) -> None:
        self._note = None
        self._logged = False
        self._summary = ""
        super().handle_one_request()
        # A timeout or a dropped connection gets one line, unless it is an idle keep-alive.
        note = self._note
        if (
            note is not None
            and not self._logged
            and not (self._served and note.startswith("Request timed out"))
        ):
            self._log_line(note)

    def parse_request(self) -> bool:
        raw: bytes = getattr(self, "raw_requestline", b"")
        if raw.startswith(b"PROXY "):
            self.requestline = _clean(raw.decode("latin-1").rstrip("\r\n"))
            self.request_version = "HTTP/1.0"
            self.close_connection = True
            self.send_error(
                400,
                "PROXY protocol header received: the load balancer has PROXY "
                "protocol enabled; run realip serve --proxy-protocol to decode it "
                "(and your app with a server that decodes it, see docs/how-to/proxy-protocol.md)",
            )
            return False
        return super().parse_request()

    def _respond(self, body: bool) -> None:
        self._served += 1
        path, _, query = self.path.partition("?")
        if self.headers.get("Content-Length", "0").strip() not in ("", "0") or (
            "Transfer-Encoding" in self.headers
        ):
            # The body is never read; closing keeps it from being parsed as the next request.
            self.close_connection = True
        try:
            if path == "/healthz":
                self._send(200, "text/plain; charset=utf-8", b"ok\n", body)
                return
            pairs = [(str(k), str(v)) for k, v in self.headers.items()]
            addr = self.client_address
            peer = str(addr[0]) if isinstance(addr, tuple) and addr else None
            port = int(addr[1]) if isinstance(addr, tuple) and len(addr) > 1 else None
            report = observe(
                self.server.resolver,
                peer,
                pairs,
                peer_port=port,
                method=self.command,
                path=self.path,
                version=self.request_version,
            )
            if self.server.proxy_policy is not None:
                report["proxy_protocol"] = header_report(getattr(self, "proxy_header", None))
            res = report["resolution"]
            self._summary = f"client={res.get('client_ip') or '-'} source={res.get('source')}"
            if wants_html(self.headers.get("Accept"), query):
                data = render_html(report).encode("utf-8")
                self._send(200, "text/html; charset=utf-8", data, body)
            else:
                data = (json.dumps(report, indent=2) + "\n").encode("utf-8")
                self._send(200, "application/json", data, body)
        except Exception as exc:  # a diagnostic server answers, it does not die
            self._summary = f"internal error: {type(exc).__name__}: {_clean(str(exc), 120)}"
            self.close_connection = True
            self._send(500, "application/json", b'{"error": "internal error"}\n', body)

    def _send(self, status: int, ctype: str, data: bytes, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if ctype.startswith("text/html"):
            self.send_header(
                "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"
            )
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._respond(True)

    def do_HEAD(self) -> None:
        self._respond(False)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def log_error(self, format: str, *args: Any) -> None:
        self._note = format % args if args else format

    def log_request(self, code: Union[int, str] = "-", size: Union[int, str] = "-") -> None:
        code_text = str(getattr(code, "value", code))
        extra = self._summary or (self._note or "")
        self._log_line(f'"{_clean(self.requestline)}" {code_text} {_clean(extra, 200)}'.rstrip())

    def log_message(self, format: str, *args: Any) -> None:
        self._log_line(format % args if args else format)

    def _log_line(self, message: str) -> None:
        self._logged = True
        addr = self.client_address
        peer = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) and len(addr) > 1 else "-"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        self.server.log_line(f"{stamp}Z {peer} {_clean(message, 600)}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(
        self,
        address: Tuple[str, int],
        resolver: Resolver,
        *,
        timeout: float,
        max_connections: int,
        log: TextIO,
        proxy_policy: Optional[ProxyPolicy] = None,
    ) -> None:
        self.resolver = resolver
        self.proxy_policy = proxy_policy
        self.conn_timeout = timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        self._log = log
        self._log_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:
            # Let "::" take IPv4 connections too (they arrive as ::ffff: addresses).
            with contextlib.suppress(AttributeError, OSError):
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # HTTPServer.server_bind resolves the host name (socket.getfqdn), which can hang on
        # a broken resolver; the name is only cosmetic here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def log_line(self, line: str) -> None:
        with self._log_lock:
            try:
                self._log.write(line + "\n")
                self._log.flush()
            except (OSError, ValueError):
                pass

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                request.settimeout(1.0)
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\n\r\n"
                )
            except OSError:
                pass
            self.log_line(f"{client_address[0]}:{client_address[1]} refused: too many connections")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # the client went away; nothing to report
        self.log_line(
            f"{client_address[0]}:{client_address[1]} error: "
            f"{type(exc).__name__}: {_clean(str(exc), 200)}"
        )


def make_server(
    host: str,
    port: int,
    resolver: Resolver,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    log: Optional[TextIO] = None,
    proxy_policy: Optional[ProxyPolicy] = None,
) -> ThreadingHTTPServer:
    """A ready-to-run ``realip serve`` server (call ``serve_forever()``); port 0 picks one.

    With ``proxy_policy`` it decodes PROXY protocol headers first (see realip.proxy_server).
    """
    return _Server(
        (host, port),
        resolver,
        timeout=timeout,
        max_connections=max_connections,
        log=log if log is not None else sys.stderr,
        proxy_policy=proxy_policy,
    )


_EPILOG = """\
examples:
  realip serve                                        (unconfigured: shows what arrives)
  realip serve --topology ingress --pod-cidrs 10.244.0.0/16
  REALIP_TOPOLOGY=lb-http REALIP_LB_CIDRS=100.64.0.0/10 realip serve --port 9000
  curl -s http://127.0.0.1:8080/ -H 'X-Forwarded-For: 203.0.113.9'

Every request (any path, any method) is answered with JSON: peer, proxy_headers, resolution
(client_ip, source, reason, steps, warnings) and suggestions. Browsers (Accept: text/html) get
the same as a page; ?format=json or ?format=html forces one. GET /healthz answers "ok".
docs/kubernetes/ has manifests that run it in every Kubernetes topology.
"""


def add_parser(subparsers: Any) -> None:
    """Register the ``serve`` subcommand on an ``argparse`` subparsers object."""
    from realip.cli import add_config_options

    parser = subparsers.add_parser(
        "serve",
        help="run a diagnostic echo server that shows what reaches the app",
        description="Run a small HTTP server that answers every request with the peer address, "
        "the proxy headers as received, how realip resolves the client under the "
        "current configuration (step by step) and which topology this looks like.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host",
        default="0.0.0.0",
        help="address to listen on (default 0.0.0.0; '::' for IPv6 and IPv4)",
    )
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"close connections silent this long (default {DEFAULT_TIMEOUT:g})",
    )
    add_serve_options(parser)
    add_config_options(parser)
    parser.set_defaults(func=run)


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    """Run ``realip serve`` until interrupted; returns the exit status."""
    from realip.cli import resolver_from_args

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # printed below, once, in the server's own format
        resolver = resolver_from_args(args)
    policy = serve_policy(args, resolver)
    try:
        server = make_server(
            args.host, args.port, resolver, timeout=args.timeout, proxy_policy=policy
        )
    except OSError as exc:
        print(
            f"realip serve: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2
    bound = server.server_address
    host = bound[0].decode() if isinstance(bound[0], bytes) else str(bound[0])
    port = bound[1] if len(bound) > 1 else args.port
    shown = f"[{host}]" if ":" in host else host
    print(
        f"realip serve: listening on http://{shown}:{port}/ ({describe(resolver)})"
        + (f"; {policy.describe()}" if policy is not None else ""),
        file=sys.stderr,
        flush=True,
    )
    for message in resolver.warnings:
        print(f"realip serve: warning: {message}", file=sys.stderr, flush=True)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)  # Kubernetes stops pods with SIGTERM
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print("realip serve: stopped", file=sys.stderr, flush=True)
    return 0


__all__ = [
    "add_parser",
    "is_proxy_header",
    "make_server",
    "observe",
    "render_html",
    "run",
    "suggest",
    "wants_html",
]
