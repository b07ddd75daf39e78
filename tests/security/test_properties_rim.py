"""Properties of the rules added after 0.1's outside review: the scheme, node SNAT, trust-all."""

from __future__ import annotations

import ipaddress
import warnings
from typing import List, Optional

from hypothesis import given
from hypothesis import strategies as st

from realip import RealIPWarning, Resolver

PROXY = "10.0.0.1"
FWD = Resolver(trusted_proxies=["10.0.0.0/8"], header="forwarded")
XFF = Resolver(trusted_proxies=["10.0.0.0/8"])
PROTOS = st.sampled_from(["http", "https", "HTTPS", "ftp", "wss", ""])
# 0.0.0.0 is never a client address (realip refuses it as an entry).
CLIENTS = st.ip_addresses(v=4).filter(
    lambda a: a not in ipaddress.ip_network("10.0.0.0/8") and int(a) != 0
)
HOPS = st.lists(st.integers(2, 250).map(lambda n: f"10.0.0.{n}"), max_size=4)


def _element(address: str, proto: Optional[str]) -> str:
    return f"for={address}" + (f";proto={proto}" if proto else "")


@given(
    before=st.lists(st.tuples(CLIENTS.map(str), PROTOS), max_size=4),
    client=CLIENTS.map(str),
    client_proto=st.one_of(st.none(), PROTOS),
    hops=st.lists(st.tuples(HOPS.map(lambda h: h[0] if h else "10.0.0.9"), st.none()), max_size=3),
    proxy_proto=st.one_of(st.none(), PROTOS),
    xfp=st.one_of(st.none(), PROTOS),
)
def test_scheme_never_comes_from_left_of_the_client(
    before: List[tuple],  # type: ignore[type-arg]
    client: str,
    client_proto: Optional[str],
    hops: List[tuple],  # type: ignore[type-arg]
    proxy_proto: Optional[str],
    xfp: Optional[str],
) -> None:
    elements = [_element(a, p) for a, p in before]
    elements.append(_element(client, client_proto))
    elements += [_element(a, None) for a, _ in hops]
    if hops:
        # The nearest proxy may say which scheme it saw.
        elements[-1] = _element(hops[-1][0], proxy_proto)
    header = ", ".join(elements)
    result = FWD.resolve(PROXY, {"Forwarded": header})
    assert result.client_ip == client
    scheme = FWD.scheme(result, xfp, header)
    # What the client's own element and everything right of it say, nearest to the client first.
    said = [client_proto] + ([None] * (len(hops) - 1) + [proxy_proto] if hops else [])
    expected = next((p for p in said if p), None)
    expected = expected.lower() if expected and expected.lower() in ("http", "https") else None
    assert scheme == expected  # X-Forwarded-Proto (xfp) is never read for a Forwarded resolver


@given(xfp=PROTOS, client=CLIENTS.map(str), peer_trusted=st.booleans())
def test_x_forwarded_proto_only_from_a_trusted_peer_that_produced_a_client(
    xfp: str, client: str, peer_trusted: bool
) -> None:
    peer = PROXY if peer_trusted else "198.51.100.7"
    result = XFF.resolve(peer, {"X-Forwarded-For": client, "X-Forwarded-Proto": xfp})
    scheme = XFF.scheme(result, xfp, None)
    if not peer_trusted:
        assert scheme is None
    else:
        assert scheme == (xfp.lower() if xfp.lower() in ("http", "https") else None)
    failed = XFF.resolve(PROXY, {"X-Forwarded-For": "junk"})
    assert failed.client_ip is None and XFF.scheme(failed, xfp, None) is None


NODE = Resolver.for_topology(
    "ingress",
    pod_cidrs=["10.244.0.0/16"],
    # flannel: the node's cni0 addresses sit inside the pod CIDR that ingress pods are trusted by
    node_cidrs=["10.244.0.1/32", "10.244.1.1/32", "192.168.0.0/24"],
)
NODES = st.sampled_from(["10.244.0.1", "10.244.1.1", "192.168.0.7", "192.168.0.200"])
PODS = st.integers(2, 250).map(lambda n: f"10.244.2.{n}")


@given(
    prefix=st.lists(CLIENTS.map(str), max_size=3),
    node=NODES,
    pods=st.lists(PODS, max_size=3),
    peer=PODS,
)
def test_a_node_address_is_flagged_and_never_walked_past(
    prefix: List[str], node: str, pods: List[str], peer: str
) -> None:
    result = NODE.resolve(peer, {"X-Forwarded-For": ", ".join([*prefix, node, *pods])})
    assert result.client_ip == node and result.snat is True
    assert "ingress controller's Service" in result.reason
    as_peer = NODE.resolve(node, {"X-Forwarded-For": ", ".join(prefix) or "203.0.113.9"})
    assert as_peer.client_ip == node and as_peer.snat is True


@given(prefix=st.integers(1, 8), family=st.sampled_from([4, 6]))
def test_ranges_that_cover_a_family_warn_however_spelled(prefix: int, family: int) -> None:
    whole = ipaddress.ip_network("0.0.0.0/0" if family == 4 else "::/0")
    parts = [str(net) for net in whole.subnets(new_prefix=prefix)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Resolver(trusted_proxies=parts)
    assert any(
        w.category is RealIPWarning and "every peer is trusted" in str(w.message) for w in caught
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Resolver(trusted_proxies=parts[:-1])  # one piece missing: not everything
    assert not any("every peer is trusted" in str(w.message) for w in caught)
