"""HTTP requests sent from inside a lab namespace, without a process per request.

A socket belongs to the network namespace of the thread that created it, and ``setns(2)``
moves only the calling thread. So each namespace gets worker threads that entered it once
(``/run/netns/<name>``, via libc because ``os.setns`` is Python 3.12+); connections they
open are real connections from that namespace's addresses.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import http.client
import json
import os
import socket
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

CLONE_NEWNET = 0x40000000
TIMEOUT = 20.0  # generous: CI machines run other suites next to the lab

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
T = TypeVar("T")


def _enter(ns: str) -> None:
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {ns}: {os.strerror(err)}")
    finally:
        os.close(fd)


class NsPool:
    """Threads living inside one namespace."""

    def __init__(self, ns: str, workers: int = 1) -> None:
        self.ns = ns
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=f"ns-{ns}", initializer=_enter, initargs=(ns,)
        )

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``fn(*args)`` on a thread inside the namespace."""
        return self._pool.submit(fn, *args)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` inside the namespace and wait for it."""
        return self._pool.submit(fn, *args).result(timeout=60)

    def close(self) -> None:
        """Stop the threads."""
        self._pool.shutdown(wait=True)


Headers = Sequence[Tuple[str, str]]


def _connection(host: str, port: int, source: Optional[str]) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection(
        host, port, timeout=TIMEOUT, source_address=(source, 0) if source else None
    )
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


class Refused(Exception):
    """The server closed the connection without an HTTP answer."""


def get_json(
    host: str,
    port: int,
    headers: Headers = (),
    path: str = "/",
    source: Optional[str] = None,
    prefix: bytes = b"",
) -> Dict[str, Any]:
    """One GET on a fresh connection (call it from a namespace thread); the JSON answer.

    ``prefix`` is written before the request (a PROXY protocol header a client forges); a
    server that closes the connection instead of answering raises :class:`Refused`.
    """
    if prefix:
        return _raw(host, port, headers, path, prefix)
    conn = _connection(host, port, source)
    try:
        return _request(conn, path, headers)
    finally:
        conn.close()


def _raw(host: str, port: int, headers: Headers, path: str, prefix: bytes) -> Dict[str, Any]:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    request = prefix + ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    data = b"".join(chunks)
    if not data:
        raise Refused("the server closed the connection without answering")
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status + b" ":
        raise Refused(f"the server answered {status.decode('latin-1')!r}")
    answer: Dict[str, Any] = json.loads(body)
    return answer


def _request(conn: http.client.HTTPConnection, path: str, headers: Headers) -> Dict[str, Any]:
    conn.putrequest("GET", path, skip_accept_encoding=True)
    for name, value in headers:
        conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: HTTP {response.status}: {body[:300]!r}")
    data: Dict[str, Any] = json.loads(body)
    return data


def burst(
    host: str,
    port: int,
    count: int,
    keepalive: bool,
    tag: str,
    headers: Headers = (),
) -> List[Dict[str, Any]]:
    """``count`` GETs tagged ``?n=<tag>-<i>``, over one kept-alive connection or one each."""
    answers = []
    conn: Optional[http.client.HTTPConnection] = None
    try:
        for i in range(count):
            if conn is None:
                conn = _connection(host, port, None)
            answers.append(_request(conn, f"/?n={tag}-{i}", headers))
            if not keepalive:
                conn.close()
                conn = None
    finally:
        if conn is not None:
            conn.close()
    return answers
