"""Nothing the lab creates outlives it: not on close, not on SIGTERM, not on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .netlab import PREFIX_ROOT, Lab, leftovers, unavailable_reason

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parent.parent.parent

# A child that builds a small lab (two namespaces, a veth pair, a process in each), says so,
# and waits to be interrupted; the signal handlers must tear it all down.
_CHILD = """
import sys, time
from tests.lab.netlab import Lab
lab = Lab()
a, b = lab.ns("a"), lab.ns("b")
lab.veth(a, "eth0", b, "eth0")
procs = [lab.spawn(ns, f"sleeper-{i}", ["sleep", "60"]) for i, ns in enumerate((a, b))]
print(lab.prefix, *(p.popen.pid for p in procs), flush=True)
time.sleep(30)
"""


@pytest.fixture
def _needs_lab() -> None:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); its state says it is finished.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


@pytest.mark.usefixtures("_needs_lab")
def test_close_removes_namespaces_and_processes() -> None:
    lab = Lab()
    a, b = lab.ns("a"), lab.ns("b")
    lab.veth(a, "eth0", b, "eth0")
    proc = lab.spawn(a, "sleeper", ["sleep", "60"])
    assert sorted(leftovers(lab.prefix)) == sorted([a, b])
    lab.close()
    lab.close()  # idempotent
    assert leftovers(lab.prefix) == []
    assert proc.popen.poll() is not None
    assert not lab.workdir.exists()


@pytest.mark.usefixtures("_needs_lab")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_tears_down(sig: signal.Signals) -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        prefix, *pids = child.stdout.readline().split()
        assert len(leftovers(prefix)) == 2
        child.send_signal(sig)
        child.wait(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=20)
        if child.stdout is not None:
            child.stdout.close()
    assert leftovers(prefix) == []
    deadline = time.monotonic() + 5
    while not all(_gone(int(pid)) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(int(pid)) for pid in pids)


def test_without_root_the_reason_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    reason = unavailable_reason()
    assert reason is not None and "root" in reason and "\n" not in reason


def test_a_missing_tool_is_named_with_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from . import netlab

    monkeypatch.setattr(shutil, "which", lambda name: None if name == "haproxy" else "/bin/true")
    monkeypatch.setattr(netlab.os.path, "exists", lambda path: "haproxy" not in path)
    reason = unavailable_reason()
    assert reason == "the topology lab needs haproxy: apt-get install haproxy"


@pytest.mark.usefixtures("_needs_lab")
def test_a_killed_runs_leftovers_are_swept() -> None:
    # No process has pid 999999999 (Linux caps pids at 2**22): its namespaces are stale.
    stale = f"{PREFIX_ROOT}999999999x0000-a"
    subprocess.run(["ip", "netns", "add", stale], check=True)
    try:
        lab = Lab()
        lab.close()
        assert stale not in leftovers()
    finally:
        subprocess.run(["ip", "netns", "del", stale], capture_output=True)
