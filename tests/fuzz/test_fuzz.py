"""Fuzzing on every test run: the saved corpus, hypothesis, and a bounded atheris run.

* The corpus under ``corpus/<target>/`` (hand-written inputs with descriptive names, plus the
  inputs atheris kept for new coverage) is replayed through the targets' invariants.
* hypothesis feeds the same targets random and grammar-shaped bytes. This is the documented
  replacement for coverage-guided fuzzing where atheris is not installed: it is not coverage
  guided, but it shrinks a failure to a minimal input and runs everywhere.
* When atheris is installed (``pip install -e '.[fuzz]'``), each target is fuzzed by libFuzzer
  for a bounded time: ``REALIP_FUZZ_SECONDS`` per target, default 7 s in CI (``CI`` set) and
  2 s otherwise; ``0`` skips it. Inputs it finds go to a scratch folder, never into the repo.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
from fuzz_targets import TARGETS
from hypothesis import given
from hypothesis import strategies as st

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
HARNESS = HERE / "fuzz_realip.py"
DICTIONARY = HERE / "realip.dict"


def corpus_files(target: str) -> List[Path]:
    return sorted(p for p in (CORPUS / target).iterdir() if p.is_file())


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_corpus_replays_clean(target: str) -> None:
    files = corpus_files(target)
    assert len(files) >= 10, f"the {target} corpus is missing"
    for path in files:
        data = path.read_bytes()
        try:
            TARGETS[target](data)
        except Exception as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"corpus/{target}/{path.name} ({data[:200]!r}): {exc!r}") from exc


# Pieces of the grammars, so hypothesis builds inputs that reach the interesting branches.
TOKENS = [
    b"1.2.3.4",
    b"10.0.0.1",
    b"100.64.0.7",
    b"203.0.113.7",
    b"2001:db8::1",
    b"fd00::2",
    b"::ffff:",
    b"::",
    b"0.0.0.0",
    b"[",
    b"]",
    b":",
    b":443",
    b":65536",
    b"%eth0",
    b",",
    b", ",
    b";",
    b"=",
    b"for=",
    b"For=",
    b"proto=https",
    b'"',
    b"\\",
    b" ",
    b"\t",
    b"\n",
    b"\nX-Forwarded-For: ",
    b"\nForwarded: ",
    b"\nX-Real-IP: ",
    b"\nCF-Connecting-IP: ",
    b"unknown",
    b"_hidden",
    b"/run/app.sock",
    b"\x00",
    b"\xff",
    b"\xc3\xa9",
]
GRAMMAR_BYTES = st.lists(
    st.one_of(st.sampled_from(TOKENS), st.binary(max_size=3)), max_size=24
).map(b"".join)
FUZZ_INPUT = st.one_of(st.binary(max_size=256), GRAMMAR_BYTES)


@given(data=FUZZ_INPUT)
def test_hypothesis_fuzz_address(data: bytes) -> None:
    TARGETS["address"](data)


@given(data=FUZZ_INPUT)
def test_hypothesis_fuzz_forwarded(data: bytes) -> None:
    TARGETS["forwarded"](data)


@given(
    peer=st.sampled_from([b"10.0.0.1", b"203.0.113.7", b"", b"[fd00::2]:80", b"unix:x"]),
    data=FUZZ_INPUT,
)
def test_hypothesis_fuzz_resolve(peer: bytes, data: bytes) -> None:
    TARGETS["resolve"](peer + b"\n" + data)


PP_TOKENS = [
    b"PROXY ",
    b"TCP4 ",
    b"TCP6 ",
    b"UNKNOWN",
    b"203.0.113.7 ",
    b"2001:db8::1 ",
    b"65535 ",
    b"0 ",
    b"\r\n",
    b"\r\n\r\n\x00\r\nQUIT\n",
    b"\x20",
    b"\x21",
    b"\x11\x00\x0c",
    b"\x21\x00\x24",
    b"\x11\x00\x13",
    b"\x03\x00\x04",
    b"\x20\x00\x05\x01\x00\x00\x00\x00",
    b"\x00",
    b"\xff",
]
PP_INPUT = st.one_of(
    st.binary(max_size=256),
    st.lists(st.one_of(st.sampled_from(PP_TOKENS), st.binary(max_size=4)), max_size=16).map(
        b"".join
    ),
)


@given(data=PP_INPUT)
def test_hypothesis_fuzz_proxy_protocol(data: bytes) -> None:
    TARGETS["proxy_protocol"](data)


def _fuzz_seconds() -> int:
    configured = os.environ.get("REALIP_FUZZ_SECONDS")
    if configured is not None:
        return int(configured)
    return 7 if os.environ.get("CI") else 2


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_atheris_bounded_run(target: str, tmp_path: Path) -> None:
    if importlib.util.find_spec("atheris") is None:
        pytest.skip(
            "atheris is not installed (pip install -e '.[fuzz]'); the corpus replay and "
            "the hypothesis fuzz tests in this file ran instead"
        )
    seconds = _fuzz_seconds()
    if seconds <= 0:
        pytest.skip("REALIP_FUZZ_SECONDS=0")
    scratch = tmp_path / "new"
    scratch.mkdir()
    command = [
        sys.executable,
        str(HARNESS),
        target,
        str(scratch),
        str(CORPUS / target),
        f"-dict={DICTIONARY}",
        f"-max_total_time={seconds}",
        "-timeout=5",
        "-rss_limit_mb=2048",
        f"-artifact_prefix={tmp_path}/",
        "-print_final_stats=1",
    ]
    run = subprocess.run(
        command, cwd=HERE, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    crashes = sorted(tmp_path.glob("crash-*")) + sorted(tmp_path.glob("timeout-*"))
    found = "\n".join(f"{p.name}: {p.read_bytes()[:300]!r}" for p in crashes)
    assert run.returncode == 0 and not crashes, (
        f"atheris found a failing input for {target} (save it under corpus/{target}/ with a "
        f"name that says what it is):\n{found}\n{run.stderr[-4000:]}"
    )
    assert "Done" in run.stderr, run.stderr[-2000:]
