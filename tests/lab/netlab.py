"""Network namespaces, veth pairs and processes for the topology lab, with a teardown that runs.

A :class:`Lab` owns everything it creates: namespaces named ``<prefix>-<role>`` with a prefix
unique to the run (so two runs, or a run and a stale leftover, never share a name), the veth
pairs between them (created inside the namespaces, so nothing appears in the root namespace),
and the processes started in them (each in its own session, so a stop reaches its workers).

Teardown stops the processes (SIGTERM, then SIGKILL to the whole group) and deletes the
namespaces, which deletes their interfaces, routes and iptables rules with them. It runs from
:meth:`Lab.close`, from an ``atexit`` hook and on SIGINT/SIGTERM, whichever comes first; it is
idempotent.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

PREFIX_ROOT = "rllab"
"""Every lab namespace name starts with this (then a per-run id): what the leak check looks for."""

IP = shutil.which("ip") or "/usr/sbin/ip"


class LabUnavailable(RuntimeError):
    """This machine cannot run the lab (no root, no netns, a missing binary); says which."""


class LabError(RuntimeError):
    """A lab step failed; the message carries the command and its output."""


def _run(argv: Sequence[str], *, check: bool = True, timeout: float = 20.0) -> str:
    proc = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def unavailable_reason() -> Optional[str]:
    """Why the lab cannot run here (one line), or None when it can."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "the topology lab needs root (network namespaces and iptables); run as root"
    for tool, package in (
        ("ip", "iproute2"),
        ("iptables", "iptables"),
        ("haproxy", "haproxy"),
        ("nginx", "nginx-light"),
    ):
        if not (shutil.which(tool) or os.path.exists(f"/usr/sbin/{tool}")):
            return f"the topology lab needs {tool}: apt-get install {package}"
    probe = f"{PREFIX_ROOT}probe{secrets.token_hex(3)}"
    try:
        _run([IP, "netns", "add", probe])
    except (LabError, OSError, subprocess.TimeoutExpired) as exc:
        return f"network namespaces are not available here ({exc})"
    try:
        _run([IP, "-n", probe, "link", "add", "v0", "type", "veth", "peer", "name", "v1"])
        _run(["ip", "netns", "exec", probe, iptables(), "-t", "nat", "-S"])
    except (LabError, OSError, subprocess.TimeoutExpired) as exc:
        return f"veth pairs or iptables NAT do not work in a network namespace here ({exc})"
    finally:
        _run([IP, "netns", "del", probe], check=False)
    return None


_IPTABLES: Dict[bool, str] = {}


def iptables(v6: bool = False) -> str:
    """The iptables binary that works here: the default (nft on Debian 12), else legacy.

    Both program the same kernel netfilter hooks for what the lab uses (nat DNAT/MASQUERADE,
    mangle marks); which one exists and loads depends on the kernel's modules, so try in order.
    """
    if v6 not in _IPTABLES:
        base = "ip6tables" if v6 else "iptables"
        found = base
        for candidate in (base, f"{base}-nft", f"{base}-legacy"):
            path = shutil.which(candidate) or f"/usr/sbin/{candidate}"
            if not os.path.exists(path):
                continue
            try:
                proc = subprocess.run(
                    [path, "-t", "nat", "-S"], capture_output=True, timeout=10, check=False
                )
            except (OSError, subprocess.TimeoutExpired):
                continue
            if proc.returncode == 0:
                found = path
                break
        _IPTABLES[v6] = found
    return _IPTABLES[v6]


def leftovers(prefix: str = PREFIX_ROOT) -> List[str]:
    """Namespaces whose name starts with ``prefix`` that exist right now."""
    out = _run([IP, "netns", "list"], check=False)
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix)]


def _owner(name: str) -> Optional[int]:
    rest = name[len(PREFIX_ROOT) :]
    pid, sep, _ = rest.partition("x")
    return int(pid) if sep and pid.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale() -> List[str]:
    """Delete lab namespaces whose owning process is gone (a run killed with SIGKILL)."""
    removed = []
    for name in leftovers():
        pid = _owner(name)
        if pid is None or _alive(pid):
            continue
        for member in _run([IP, "netns", "pids", name], check=False).split():
            with contextlib.suppress(ProcessLookupError, ValueError, PermissionError):
                os.kill(int(member), signal.SIGKILL)
        _run([IP, "netns", "del", name], check=False)
        removed.append(name)
    return removed


class Proc:
    """One process started inside a namespace, with its log file."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.name = name
        self.popen = popen
        self.log = log

    def logs(self, limit: int = 4000) -> str:
        """The tail of the process's log."""
        try:
            return self.log.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.popen.poll() is None

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM the process group, then SIGKILL what is left after ``grace`` seconds."""
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace)


_OPEN_LABS: List[Lab] = []
_HANDLERS_INSTALLED = False


def _close_all() -> None:
    for lab in list(_OPEN_LABS):
        lab.close()


def _on_signal(signum: int, frame: Any) -> None:
    _close_all()
    # Then behave as the signal would have: KeyboardInterrupt for Ctrl-C, exit for SIGTERM.
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + signum)


def _install_handlers() -> None:
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED:
        return
    _HANDLERS_INSTALLED = True
    atexit.register(_close_all)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(sig)
            # Keep a handler someone else installed (pytest's own, for example): only replace
            # the defaults, and chain to the previous one otherwise.
            if previous in (signal.SIG_DFL, signal.default_int_handler, None):
                signal.signal(sig, _on_signal)
            else:
                signal.signal(sig, _chained(previous))


def _chained(previous: Any) -> Callable[[int, Any], None]:
    def handler(signum: int, frame: Any) -> None:
        _close_all()
        if callable(previous):
            previous(signum, frame)

    return handler


class Lab:
    """A set of namespaces, links and processes that all go away together."""

    def __init__(self) -> None:
        # The owner's pid is part of the name, so a later run can tell a leftover of a run that
        # was SIGKILLed (nothing could tear it down) from a live run's namespaces.
        self.run_id = f"{os.getpid()}x{secrets.token_hex(2)}"
        self.prefix = f"{PREFIX_ROOT}{self.run_id}"
        sweep_stale()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-"))
        self.namespaces: List[str] = []
        self.procs: List[Proc] = []
        self._closed = False
        self._lock = threading.Lock()
        _install_handlers()
        _OPEN_LABS.append(self)

    # -- namespaces and links -------------------------------------------------------------
    def ns(self, role: str) -> str:
        """Create namespace ``<prefix>-<role>`` with loopback up; returns its name."""
        name = f"{self.prefix}-{role}"
        _run([IP, "netns", "add", name])
        self.namespaces.append(name)
        self.ip(name, "link", "set", "lo", "up")
        return name

    def ip(self, ns: str, *args: str) -> str:
        """Run ``ip -n ns ARGS``."""
        return _run([IP, "-n", ns, *args])

    def batch(self, ns: str, lines: Sequence[str]) -> None:
        """Run many ``ip`` commands in one process (``ip -n ns -batch``)."""
        if not lines:
            return
        path = self.workdir / f"batch-{secrets.token_hex(4)}"
        path.write_text("\n".join(lines) + "\n")
        _run([IP, "-n", ns, "-batch", str(path)])

    def exec(self, ns: str, *argv: str, check: bool = True, timeout: float = 20.0) -> str:
        """Run a command inside namespace ``ns`` and return its stdout."""
        return _run([IP, "netns", "exec", ns, *argv], check=check, timeout=timeout)

    def sysctl(self, ns: str, **values: str) -> None:
        """Set sysctls inside ``ns``; pass dotted keys with ``**{"net.ipv4.ip_forward": "1"}``."""
        args = [f"{key}={value}" for key, value in values.items()]
        self.exec(ns, "sysctl", "-q", "-w", *args)

    def veth(self, a: str, a_if: str, b: str, b_if: str) -> None:
        """A veth pair from ``a``/``a_if`` to ``b``/``b_if``, both ends up."""
        self.ip(a, "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b)
        self.ip(a, "link", "set", a_if, "up")
        self.ip(b, "link", "set", b_if, "up")

    def iptables(self, ns: str, rules: Sequence[Sequence[str]], v6: bool = False) -> None:
        """Load rules into ``ns`` with one iptables-restore per table (fast and atomic)."""
        tables: Dict[str, List[str]] = {}
        for rule in rules:
            table, *rest = rule
            tables.setdefault(table, []).append(" ".join(rest))
        # iptables -> iptables-restore, iptables-nft -> iptables-nft-restore, and so on.
        restore = iptables(v6) + "-restore"
        text = ""
        for table, lines in tables.items():
            chains = sorted({w.split()[1] for w in lines if w.startswith("-N ")})
            body = [line for line in lines if not line.startswith("-N ")]
            text += f"*{table}\n" + "".join(f":{c} - [0:0]\n" for c in chains)
            text += "\n".join(body) + "\nCOMMIT\n"
        proc = subprocess.run(
            [IP, "netns", "exec", ns, restore, "--noflush"],
            input=text,
            capture_output=True,
            text=True,
            timeout=20,
        )
        if proc.returncode != 0:
            raise LabError(f"{restore} in {ns}: {proc.stderr.strip()}\n{text}")

    # -- processes ------------------------------------------------------------------------
    def spawn(
        self, ns: str, name: str, argv: Sequence[str], env: Optional[Dict[str, str]] = None
    ) -> Proc:
        """Start ``argv`` inside ``ns`` in its own session, logging to the workdir."""
        log = self.workdir / f"{name}.log"
        with open(log, "wb") as out:
            popen = subprocess.Popen(
                [IP, "netns", "exec", ns, *argv],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    # -- teardown -------------------------------------------------------------------------
    def close(self) -> None:
        """Stop every process and delete every namespace; safe to call more than once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for proc in self.procs:
            proc.stop()
        # A process left in a namespace (a forked worker that escaped its group) keeps the
        # namespace alive after `ip netns del`: kill whatever still runs in ours first.
        for ns in self.namespaces:
            pids = _run([IP, "netns", "pids", ns], check=False).split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError, PermissionError):
                    os.kill(int(pid), signal.SIGKILL)
        for ns in self.namespaces:
            _run([IP, "netns", "del", ns], check=False)
        if self in _OPEN_LABS:
            _OPEN_LABS.remove(self)
        if not os.environ.get("REALIP_LAB_KEEP_LOGS"):
            shutil.rmtree(self.workdir, ignore_errors=True)
