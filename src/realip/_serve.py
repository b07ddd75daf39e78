"""``realip serve``: an echo server that shows what reached it and what realip makes of it.

    realip serve --topology ingress --pod-cidrs 10.244.0.0/16
    curl -s http://127.0.0.1:8080/

Deploy it where your app runs (docs/kubernetes/ has manifests for every topology) and request
it through the real path: every answer carries the peer address, the proxy headers exactly as
received, the resolution under the current configuration step by step, and suggestions about
which topology this looks like. JSON by default, HTML for browsers, ``/healthz`` for probes.

The server is for diagnosis, not for production traffic: standard library only, one thread per
connection, capped. Slow or silent clients cannot pin it down: each request's whole header must
arrive within ``--timeout`` seconds (not per byte, so trickling a byte at a time does not keep a
connection), and when every slot is taken a new connection takes the one that has waited longest
for its header. With ``--proxy-protocol``, only trusted load balancers wait for a PROXY header
(on readiness, not by polling); anyone else goes straight to HTTP, where a forged header is
answered with a 400 that says why.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import signal
import socket
import socketserver
import sys
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Optional, TextIO, Tuple, Union

from realip._cli_options import add_config_options, resolver_from_args
from realip._explain import describe
from realip._proxy_policy import ProxyPolicy
from realip._proxy_sockets import CLOSED, TIMED_OUT, accept_socket
from realip._serve_report import is_proxy_header, observe, render_html, suggest, wants_html
from realip._version import __version__
from realip.proxy_protocol import SIGNATURE_V2, ProxyHeader, header_report
from realip.resolver import Resolver

DEFAULT_TIMEOUT = 10.0
"""Seconds a request's whole header may take to arrive (and a connection may stay silent)."""
_DISPLACED_WAIT = 1.0  # seconds for a displaced connection's thread to free its slot
DEFAULT_MAX_CONNECTIONS = 256
"""Connections served at once; more get a 503 instead of another thread."""


def _clean(text: str, limit: int = 300) -> str:
    text = text if len(text) <= limit else text[:limit] + "..."
    return "".join(
        c if c.isprintable() and c != "\\" else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


class _HeaderClock(io.RawIOBase):
    """The socket as the request reader sees it: every read is bounded by the request's deadline.

    A per-read timeout alone lets a client keep a connection forever by sending one byte just
    before each timeout; the deadline covers the whole header, however it is dribbled.
    """

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        super().__init__()
        self._sock = sock
        self._timeout = timeout
        self.deadline: Optional[float] = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        wait = self._timeout
        if self.deadline is not None:
            wait = min(wait, self.deadline - time.monotonic())
            if wait <= 0:
                raise socket.timeout("the request header did not arrive in time")
        self._sock.settimeout(wait)
        return self._sock.recv_into(buffer)


def _reply(sock: Any, status: str, text: str) -> None:
    """A whole HTTP answer with realip's own words, written before the connection is closed."""
    body = f"realip serve: {status}: {text}\n".encode("utf-8", "backslashreplace")
    with contextlib.suppress(OSError):
        sock.settimeout(1.0)
        sock.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("ascii")
            + body
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
        self._clock = _HeaderClock(self.connection, self.server.conn_timeout)
        self.rfile = io.BufferedReader(self._clock)
        self.proxy_header: Optional[ProxyHeader] = None
        self._served = 0
        self._note: Optional[str] = None
        self._logged = False
        self._summary = ""

    def handle(self) -> None:
        # --proxy-protocol: the PROXY header is read (and trust decided) before any HTTP.
        if self.server.proxy_policy is None or self._accept_proxy(self.server.proxy_policy):
            super().handle()

    def _accept_proxy(self, policy: ProxyPolicy) -> bool:
        self.server.waiting(self, True)
        decision = accept_socket(self.connection, policy, self.client_address)
        self.proxy_header = decision.header
        if not decision.accepted:
            self._log_line(f"refused: {decision.reason}")
            if decision.reason.endswith(TIMED_OUT):
                _reply(self.connection, "408 Request Timeout", decision.reason)
            elif not decision.reason.endswith(CLOSED):
                _reply(self.connection, "400 Bad Request", f"refused: {decision.reason}")
            return False
        if decision.peer is not None:
            self.client_address = decision.peer
        return True

    def handle_one_request(self) -> None:
        self._note = None
        self._logged = False
        self._summary = ""
        # The whole header (request line and fields) must arrive before this deadline, and
        # until it has, the connection may be displaced by a new one when all slots are taken.
        self._clock.deadline = time.monotonic() + self.server.conn_timeout
        self.server.waiting(self, True)
        try:
            super().handle_one_request()
        finally:
            self._clock.deadline = None
            self.server.waiting(self, False)
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
        if raw.startswith(b"PROXY ") or (
            raw == b"\r\n" and self.rfile.peek(10)[:10] == SIGNATURE_V2[2:]  # type: ignore[attr-defined]
        ):
            self.command = None  # type: ignore[assignment]
            self.requestline = _clean(raw.decode("latin-1").rstrip("\r\n")) or "PROXY v2"
            self.request_version = "HTTP/1.0"
            self.close_connection = True
            message = self._proxy_refusal()
            self._summary = message
            self.send_error(400, message)
            return False
        if super().parse_request():
            # The header is in: from here the connection is busy, not waiting for one.
            self._clock.deadline = None
            self.server.waiting(self, False)
            return True
        return False

    def _proxy_refusal(self) -> str:
        if self.server.proxy_policy is None:
            return (
                "PROXY protocol header received: the load balancer has PROXY protocol enabled; "
                "run realip serve --proxy-protocol to decode it (and your app with a server that "
                "decodes it, see docs/how-to/proxy-protocol.md)"
            )
        addr = self.client_address
        peer = str(addr[0]) if isinstance(addr, tuple) and addr else "this peer"
        return (
            f"refused: peer {peer} sent a PROXY header but is not a trusted load balancer "
            "(it could name any client); if it is your load balancer, add its addresses to "
            "--lb-cidrs"
        )

    def send_error(
        self, code: int, message: Optional[str] = None, explain: Optional[str] = None
    ) -> None:
        """Answer an error in realip's words (Python's stock page names Python, not the cause)."""
        short, long = self.responses.get(code, ("Error", ""))
        self.log_error("code %d, message %s", code, message or short)
        self.send_response(code, short)
        self.send_header("Connection", "close")
        self.close_connection = True
        body = b""
        if code >= 200 and code not in (204, 304):
            body = f"realip serve: {code} {short}: {message or long or short}\n".encode(
                "utf-8", "backslashreplace"
            )
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if getattr(self, "command", None) != "HEAD" and body:
            self.wfile.write(body)

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
        # Connections waiting for a request header, by handler, with the time they started to.
        self._waiting: Dict[Any, float] = {}
        self._waiting_lock = threading.Lock()
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

    def waiting(self, handler: Any, waiting: bool) -> None:
        """Mark ``handler``'s connection as waiting for a request header, or not."""
        with self._waiting_lock:
            if waiting:
                self._waiting.setdefault(handler, time.monotonic())
            else:
                self._waiting.pop(handler, None)

    def _displace(self) -> bool:
        # Every slot is taken: close the connection that has waited longest for its header
        # (an idle keep-alive, or a client trickling bytes), so a new client is not turned away
        # while slow ones hold the slots. Its thread ends and frees the slot.
        with self._waiting_lock:
            if not self._waiting:
                return False
            handler = min(self._waiting, key=self._waiting.__getitem__)
            del self._waiting[handler]
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)
        return True

    def _busy(self, request: Any, client_address: Any) -> None:
        _reply(request, "503 Service Unavailable", "too many connections")
        self.log_line(f"{client_address[0]}:{client_address[1]} refused: too many connections")
        self.shutdown_request(request)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Only this thread (the accept loop) takes slots, so the one a displaced connection
        # frees goes to the connection that displaced it, not to whoever connects next.
        if not self._slots.acquire(blocking=False) and not (
            self._displace() and self._slots.acquire(timeout=_DISPLACED_WAIT)
        ):
            self._busy(request, client_address)
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


def add_serve_options(parser: Any) -> None:
    """Add ``--proxy-protocol`` to the ``realip serve`` argument parser."""
    parser.add_argument(
        "--proxy-protocol",
        nargs="?",
        const="required",
        choices=("required", "optional"),
        default=None,
        help="decode a PROXY protocol (v1/v2) header at the start of each connection, from the "
        "peers the configuration trusts (e.g. --topology lb-tcp-proxy --lb-cidrs ...); "
        "'optional' also serves trusted peers that send none (default: required)",
    )


def serve_policy(args: Any, resolver: Resolver) -> Optional[ProxyPolicy]:
    """The policy ``realip serve``'s options ask for, or None without ``--proxy-protocol``."""
    mode = getattr(args, "proxy_protocol", None)
    if mode is None:
        return None
    ProxyPolicy.check_resolver(
        resolver,
        "pass --topology lb-tcp-proxy --lb-cidrs with the load balancer's addresses "
        "(or set REALIP_TOPOLOGY and REALIP_LB_CIDRS)",
    )
    return ProxyPolicy(resolver, required=mode == "required", timeout=args.timeout)


_EPILOG = """\
examples:
  realip serve                                        (unconfigured: shows what arrives)
  realip serve --topology ingress --pod-cidrs 10.244.0.0/16
  REALIP_TOPOLOGY=lb-http REALIP_LB_CIDRS=100.64.0.0/10 realip serve --port 9000
  curl -s http://127.0.0.1:8080/ -H 'X-Forwarded-For: 203.0.113.9'

Every request (any path, any method) is answered with JSON: peer, proxy_headers, resolution
(client_ip, source, reason, steps, warnings) and suggestions. Browsers (Accept: text/html) get
the same as a page; ?format=json or ?format=html forces one. GET /healthz answers "ok".
Manifests that run it in every Kubernetes topology: docs/kubernetes/ in realip's repository
and source distribution (pip download --no-deps --no-binary :all: realip).
"""


def _port(text: str) -> int:
    # Checked like every other option: a bad port is a usage error, not a traceback from bind().
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 1-65535 (0 picks a free one)")
    return port


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < seconds < 86400:
        raise argparse.ArgumentTypeError(f"{text} seconds: use a positive number below 86400")
    return seconds


def add_parser(subparsers: Any) -> None:
    """Register the ``serve`` subcommand on an ``argparse`` subparsers object."""
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
    parser.add_argument(
        "--port", type=_port, default=8080, help="port (default 8080; 0 picks a free one)"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="how long a request's whole header may take to arrive; silent connections are "
        f"closed after it too (default {DEFAULT_TIMEOUT:g})",
    )
    add_serve_options(parser)
    add_config_options(parser)
    parser.set_defaults(func=run)


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    """Run ``realip serve`` until interrupted; returns the exit status."""
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
