"""realclientip-go's own test cases (../shared/vectors) run through realip.

Each vector records what realclientip-go answers. realip must give the same answer, except
where a rule of realip deliberately differs: those cases are listed in DIFFERENCES with
realip's own answer and the rule behind it, so a change in either direction fails here.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import pytest

from realip import ConfigError, RealIPWarning, Resolver

# The vectors are not part of the repository: the project keeps them in shared/vectors/, beside
# the checkout. RIP_TEST_VECTORS points the test at a copy elsewhere.
VECTORS = Path(
    os.environ.get("RIP_TEST_VECTORS")
    or Path(__file__).resolve().parents[2] / "shared/vectors/realclientip-go-vectors.json"
)
MISSING = (
    f"realclientip-go's test vectors are not at {VECTORS}: they live in the project's shared "
    "folder (shared/vectors/realclientip-go-vectors.json, beside the repository checkout); "
    "put a copy there, or set RIP_TEST_VECTORS=/path/to/realclientip-go-vectors.json"
)
ERROR = "ConfigError"

# (source_test, remote_addr, trusted_count) -> (realip's answer, why it differs)
DIFFERENCES: Dict[Tuple[str, str, Optional[int]], Tuple[Optional[str], str]] = {
    ("TestSingleIPHeaderStrategy/Error: X-Forwarded-For header", "", None): (
        "3.3.3.3",
        "header='x-forwarded-for' selects the list walk rather than being refused",
    ),
    ("TestRightmostTrustedRangeStrategy/Many kinds of ranges", "", None): (
        ERROR,
        "an IPv4-mapped CIDR (::ffff:4.4.4.4/124) is refused naming the IPv4 form",
    ),
    ("TestRightmostTrustedRangeStrategy/Peer garbage: walks header as normal", "ohno", None): (
        None,
        "rule 2: a peer that is not an address is never trusted",
    ),
    (
        "TestRightmostTrustedRangeStrategy/Peer unspecified IP: walks header as normal",
        "0.0.0.0",
        None,
    ): (None, "rule 1: 0.0.0.0 is not an address, so the peer is never trusted"),
    ("Fuzz_ClientIP_XFF/seed", "ohno", None): (
        None,
        "rule 2: a peer that is not an address is never trusted",
    ),
    ("TestRightmostTrustedRangeStrategy/Fail: no non-trusted IP", "", None): (
        "2.2.2.2",
        "rule 4: when every entry is trusted, the leftmost is the client",
    ),
    ("TestRightmostTrustedRangeStrategy/Error: bad header nanme", "", None): (
        None,
        "any other header name is read as a single-IP header (absent here: the peer)",
    ),
    ("Test_goodIPAddr/Empty zone", "1.1.1.1%", None): (
        None,
        "rule 1: a zone id belongs to IPv6 only and must not be empty",
    ),
    ("Test_goodIPAddr/Bad port (is discarded)", "[fe80::abcd%eth0]:xyz", None): (
        None,
        "rule 1: a port is 1-5 ASCII digits; anything else is not an address",
    ),
    ("Test_forwardedHeaderRFCDeviations/Invalid characters", "", 2): (
        None,
        "rule 7: a malformed element is not an address (fail closed)",
    ),
    ("Test_forwardedHeaderRFCDeviations/Duplicate token", "", 2): (
        None,
        "rule 7: an element with two for= parameters is not an address",
    ),
    ("Test_forwardedHeaderRFCDeviations/Escaped character", "", 1): (
        "3.3.3.3",
        "rule 7: quoted values undo backslash escapes",
    ),
    ("Test_forwardedHeaderRFCDeviations/Equal sign spaces", "", 2): (
        "1.1.1.1",
        "rule 7: spaces around '=' are tolerated",
    ),
    ("TestRightmostTrustedCountStrategy/Fail: header too short/count too large", "", 50): (
        ERROR,
        "trusted_hops is at most MAX_ITEMS (32): a walk never looks further",
    ),
    ("Test_forwardedHeaderRFCDeviations/IPv4 brackets", "", 1): (
        None,
        "rule 1: brackets hold IPv6 only",
    ),
}


def _load() -> Any:
    if not VECTORS.exists():
        return []
    data = json.loads(VECTORS.read_text())
    usable = ("RemoteAddr", "SingleIPHeader", "RightmostTrustedRange", "RightmostTrustedCount")
    return [v for v in data if v["strategy"] in usable]


CASES = _load()


def _resolver(vector: Dict[str, Any]) -> Tuple[Resolver, Optional[str]]:
    strategy, params = vector["strategy"], vector["params"]
    peer = vector["remote_addr"] or None
    if strategy == "RemoteAddr":
        return Resolver(header=None), vector["remote_addr"]
    # realclientip-go's header strategies don't look at the peer; a trusted Unix-socket peer
    # ("unix" preset) gives realip the same starting point without trusting any extra IP.
    if strategy == "SingleIPHeader":
        return Resolver(trusted_proxies=["unix"], header=params["header_name"]), None
    if strategy == "RightmostTrustedRange":
        ranges = list(params["trusted_ranges"] or [])
        return Resolver(trusted_proxies=[*ranges, "unix"], header=params["header_name"]), peer
    return Resolver(header=params["header_name"], trusted_hops=params["trusted_count"]), None


def _go_answer(vector: Dict[str, Any]) -> Optional[str]:
    expected = vector["expected"]
    if expected is None:
        return ERROR  # the Go constructor returned an error
    if expected == "":
        return None
    return expected.split("%")[0]  # realip drops zone ids from its output


@pytest.mark.skipif(not CASES, reason=MISSING)
@pytest.mark.parametrize(
    "vector", CASES, ids=[f"{v['source_test'].split(':', 1)[-1]}@{v['remote_addr']}" for v in CASES]
)
def test_realclientip_go_vector(vector: Dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RealIPWarning)
        try:
            resolver, peer = _resolver(vector)
        except ConfigError:
            got: Optional[str] = ERROR
        else:
            got = resolver.resolve(peer, vector["headers"]).client_ip
    key = (
        vector["source_test"].split(":", 1)[-1],
        vector["remote_addr"],
        vector["params"].get("trusted_count"),
    )
    if key in DIFFERENCES:
        expected, why = DIFFERENCES[key]
        assert got == expected, why
        assert got != _go_answer(vector), f"no longer differs from realclientip-go: {why}"
    else:
        assert got == _go_answer(vector)
