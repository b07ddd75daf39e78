"""The lab's paths: every topology in realip.TOPOLOGIES, the Cluster-policy variants, and the
requests sent along each (a legitimate one and spoofing attempts), with what must come out.

Expectations are named by role (``"c1"``, ``"lb"``, the SNAT source of a node for its CNI) and
turned into addresses by the cluster's address plan, so a row says *who* the pod must see, not
a number typed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from . import cluster as c
from . import manifests

FORGED = "198.18.0.66"
"""The address a spoofing client claims to be (RFC 2544 benchmark range; no lab member has it)."""

SPOOFS: Tuple[Tuple[str, Tuple[Tuple[str, str], ...]], ...] = (
    ("forged X-Forwarded-For", (("X-Forwarded-For", FORGED),)),
    ("forged Forwarded", (("Forwarded", f"for={FORGED}"),)),
    ("forged X-Real-IP", (("X-Real-IP", FORGED),)),
    # A chain that claims to have come through the load balancer and an ingress pod already.
    ("forged chain", (("X-Forwarded-For", f"{FORGED}, 100.64.0.10, 10.244.1.20"),)),
    # Some servers merge underscores into dashes (WSGI's HTTP_X_FORWARDED_FOR).
    ("underscore X_Forwarded_For", (("X_Forwarded_For", FORGED),)),
)
CF_SPOOF = ("forged CF-Connecting-IP", (("CF-Connecting-IP", FORGED),))

GUNICORN_PROXY_MISSING = (
    "PROXY v2 through gunicorn needs gunicorn 27: older releases (23 is the last for Python "
    "3.9) decode PROXY v1 only"
)
DOCTOR_TRUST_NODES = (
    "doctor reads the Service, not the app's REALIP_* settings: it reports this Cluster-policy "
    "HTTP listener as unknown and warns that trusting node addresses - what this app does - is "
    "spoofable unless only the load balancer can reach the NodePort; the lab shows the spoof"
)
PROXY_MISSING = (
    "lb-tcp-proxy needs realip's PROXY protocol server integration (branch `proxy`), not merged "
    "into the lab yet"
)

FLANNEL_NODE_ADDRS = [f"{c.flannel_addr(n)}/32" for n in c.NODES] + [
    f"{c.cni0_addr(n)}/32" for n in c.NODES
]
NODE_CIDRS_IIP = [c.NODE_NET, c.NODE_NET6]
NODE_CIDRS_FLANNEL = NODE_CIDRS_IIP + FLANNEL_NODE_ADDRS
CLOUDFLARE_CIDRS = "173.245.48.0/20,103.21.244.0/22,162.158.0.0/15,104.16.0.0/13"


@dataclass
class Request:
    """One request along a path: who sends it, the headers, and who realip must name."""

    kind: str
    sender: str
    headers: Tuple[Tuple[str, str], ...] = ()
    host: str = ""
    port: int = 0
    v6: bool = False
    expect_peer: str = ""
    expect_client: Optional[str] = ""
    expect_snat: bool = False
    snat_xfail: Optional[str] = None
    prefix: bytes = b""
    """Bytes sent before the HTTP request (a PROXY header the client forges)."""
    expect_refused: bool = False
    """The server must close the connection instead of answering."""


@dataclass
class Path:
    """One way a request reaches an app, and what realip and doctor must make of it."""

    id: str
    topology: str
    title: str
    server: str
    app_key: str
    requests: List[Request]
    manifest: Dict[str, Any]
    doctor_topology: Optional[str]
    lost: bool = False
    """Whether the client's address is lost on this path (doctor must say ``lost``)."""
    spoofable: bool = False
    """Whether a spoofing attempt succeeds on this path (doctor must say ``spoofable``)."""
    skip: Optional[str] = None
    note: str = ""
    doctor_xfail: Optional[str] = None
    doctor_verdict: Optional[str] = None
    """What doctor must say when it can't know the lab's answer from the manifests (and why, in
    ``note``); None: the verdict follows from what the lab observed."""
    order: int = 0


def define(cl: c.Cluster, *, proxy_protocol: bool, gunicorn_proxy: bool = True) -> List[Path]:
    """Register every app, Service and listener the paths need; return the paths."""
    paths: List[Path] = []
    a = cl.addr

    def add(
        pid: str,
        topology: str,
        title: str,
        server: str,
        app: c.App,
        sender: str,
        host: str,
        port: int,
        *,
        peer: str,
        client: Optional[str],
        snat: bool = False,
        manifest: Dict[str, Any],
        doctor_topology: Optional[str],
        lost: bool = False,
        v6: bool = False,
        spoofs: Tuple[Any, ...] = SPOOFS,
        bypass: Optional[Tuple[str, str, int, str]] = None,
        snat_xfail: Optional[str] = None,
        skip: Optional[str] = None,
        note: str = "",
        doctor_xfail: Optional[str] = None,
        doctor_verdict: Optional[str] = None,
        forged_proxy: Optional[Tuple[str, str, int]] = None,
        bypass_client: Optional[str] = None,
        spoofable: bool = False,
        spoof_wins: Tuple[str, ...] = (),
    ) -> None:
        def req(kind: str, headers: Tuple[Tuple[str, str], ...]) -> Request:
            return Request(kind, sender, headers, host, port, v6, peer, client, snat, snat_xfail)

        requests = [req("legitimate", ())] + [req(k, h) for k, h in spoofs]
        for request in requests:
            if request.kind in spoof_wins:
                # On a misconfigured path the forged address is what comes out: the lab shows it.
                request.expect_client = FORGED
        if bypass is not None:
            who, bhost, bport, bpeer = bypass
            requests.append(
                Request(
                    "bypass: straight to the NodePort with forged headers",
                    who,
                    (("X-Forwarded-For", FORGED), ("CF-Connecting-IP", FORGED)),
                    bhost,
                    bport,
                    False,
                    bpeer,
                    bypass_client or a(who),
                )
            )
        if forged_proxy is not None:
            who, bhost, bport = forged_proxy
            line = f"PROXY TCP4 {FORGED} {bhost} 40000 {bport}\r\n".encode()
            requests.append(
                Request(
                    "bypass: straight to the NodePort with a forged PROXY header",
                    who,
                    (),
                    bhost,
                    bport,
                    prefix=line,
                    expect_refused=True,
                )
            )
        paths.append(
            Path(
                id=pid,
                topology=topology,
                title=title,
                server=server,
                app_key=app.key,
                requests=requests,
                manifest=manifest,
                doctor_topology=doctor_topology,
                lost=lost,
                skip=skip,
                note=note,
                doctor_xfail=doctor_xfail,
                doctor_verdict=doctor_verdict,
                order=len(paths),
                spoofable=spoofable,
            )
        )

    node1, node2 = a("node1"), a("node2")
    # -- pod-to-pod ---------------------------------------------------------------------------
    for server in c.SERVERS:
        app = cl.app("p2p", "app", server, {"name": "pod-to-pod"})
        add(
            "pod-to-pod",
            "pod-to-pod",
            "pod on node2 -> pod on node1 (flannel)",
            server,
            app,
            "cpod",
            a("app"),
            app.port,
            peer=a("cpod"),
            client=a("cpod"),
            manifest=manifests.app_service("ClusterIP", None),
            doctor_topology="pod-to-pod",
        )
    # -- NodePort -----------------------------------------------------------------------------
    for server in c.SERVERS:
        app = cl.app("npl", "app", server, {"name": "nodeport-local"})
        svc = cl.nodeport(app, "Local")
        add(
            "nodeport-local",
            "nodeport-local",
            "client -> node1:NodePort (Local) -> pod",
            server,
            app,
            "c1",
            node1,
            svc.nodeport,
            peer=a("c1"),
            client=a("c1"),
            manifest=manifests.app_service("NodePort", "Local"),
            doctor_topology="nodeport-local",
        )
    if cl.ip6:
        app = cl.app("npl", "app", "uvicorn", {"name": "nodeport-local"}, v6=True)
        svc = cl.nodeport(app, "Local")
        add(
            "nodeport-local-v6",
            "nodeport-local",
            "IPv6 client -> node1:NodePort (Local)",
            "uvicorn",
            app,
            "c1",
            c.NODES["node1"][1],
            svc.nodeport,
            peer=a("c1", True),
            client=a("c1", True),
            v6=True,
            manifest=manifests.app_service("NodePort", "Local"),
            doctor_topology="nodeport-local",
        )
    npc_flannel = {"name": "nodeport-cluster", "node_cidrs": NODE_CIDRS_FLANNEL}
    for server in c.SERVERS:
        app = cl.app("npc", "app", server, npc_flannel)
        svc = cl.nodeport(app, "Cluster")
        add(
            "nodeport-cluster",
            "nodeport-cluster",
            "client -> node2:NodePort (Cluster) -> pod on node1, flannel",
            server,
            app,
            "c1",
            node2,
            svc.nodeport,
            peer=c.flannel_addr("node2"),
            client=c.flannel_addr("node2"),
            snat=True,
            lost=True,
            manifest=manifests.app_service("NodePort", "Cluster"),
            doctor_topology="nodeport-cluster",
            note="node_cidrs lists flannel's per-node addresses (flannel.1, cni0) besides the "
            "InternalIP range",
        )
    app = cl.app("npc", "app", "uvicorn", npc_flannel)
    svc = cl.nodeport(app, "Cluster")
    add(
        "nodeport-cluster-same-node",
        "nodeport-cluster",
        "client -> node1:NodePort (Cluster), pod on node1, flannel",
        "uvicorn",
        app,
        "c1",
        node1,
        svc.nodeport,
        peer=c.cni0_addr("node1"),
        client=c.cni0_addr("node1"),
        snat=True,
        lost=True,
        manifest=manifests.app_service("NodePort", "Cluster"),
        doctor_topology="nodeport-cluster",
        note="kube-proxy masquerades every external Cluster-policy request, even to a local pod: "
        "the pod sees cni0",
    )
    iip = cl.app(
        "npc-iip", "app", "uvicorn", {"name": "nodeport-cluster", "node_cidrs": NODE_CIDRS_IIP}
    )
    svc = cl.nodeport(iip, "Cluster")
    add(
        "nodeport-cluster-flannel-internalip",
        "nodeport-cluster",
        "as above, node_cidrs = InternalIP range only",
        "uvicorn",
        iip,
        "c1",
        node2,
        svc.nodeport,
        peer=c.flannel_addr("node2"),
        client=c.flannel_addr("node2"),
        snat=False,
        lost=True,
        manifest=manifests.app_service("NodePort", "Cluster"),
        doctor_topology="nodeport-cluster",
        note="pitfall: with flannel the SNAT source is flannel.1's address, inside the pod CIDR; "
        "node_cidrs from `kubectl get nodes -o wide` alone misses it",
    )
    vpc = cl.app(
        "npc-vpc", "vapp", "uvicorn", {"name": "nodeport-cluster", "node_cidrs": NODE_CIDRS_IIP}
    )
    svc = cl.nodeport(vpc, "Cluster")
    add(
        "nodeport-cluster-vpc",
        "nodeport-cluster",
        "client -> node2:NodePort (Cluster) -> pod on node1, VPC CNI",
        "uvicorn",
        vpc,
        "c1",
        node2,
        svc.nodeport,
        peer=node2,
        client=node2,
        snat=True,
        lost=True,
        manifest=manifests.app_service("NodePort", "Cluster"),
        doctor_topology="nodeport-cluster",
    )
    if cl.ip6:
        app = cl.app("npc", "app", "uvicorn", npc_flannel, v6=True)
        svc = cl.nodeport(app, "Cluster")
        add(
            "nodeport-cluster-v6",
            "nodeport-cluster",
            "IPv6 client -> node2:NodePort (Cluster) -> pod on node1",
            "uvicorn",
            app,
            "c1",
            c.NODES["node2"][1],
            svc.nodeport,
            peer=a("node2", True),
            client=a("node2", True),
            snat=True,
            lost=True,
            v6=True,
            manifest=manifests.app_service("NodePort", "Cluster"),
            doctor_topology="nodeport-cluster",
        )
    # -- LoadBalancer, TCP listener -------------------------------------------------------------
    for server in c.SERVERS:
        app = cl.app("lbt", "app", server, {"name": "lb-tcp"})
        svc = cl.nodeport(app, "Local")
        fe = cl.frontend("edge", "tcp", "node1", svc)
        add(
            "lb-tcp",
            "lb-tcp",
            "client -> LB (TCP, pass-through) -> node1 (Local) -> pod",
            server,
            app,
            "c1",
            c.VIP,
            fe.port,
            peer=a("c1"),
            client=a("c1"),
            manifest=manifests.app_service("LoadBalancer", "Local", "tcp:80"),
            doctor_topology="lb-tcp",
            bypass=("c2", node1, svc.nodeport, a("c2")),
            skip=None if cl.tproxy else "no TPROXY in this kernel: " + "; ".join(cl.notes),
        )
    app = cl.app(
        "lbt-cluster", "app", "uvicorn", {"name": "lb-tcp", "node_cidrs": NODE_CIDRS_FLANNEL}
    )
    svc = cl.nodeport(app, "Cluster")
    fe = cl.frontend("edge", "tcp", "node2", svc)
    add(
        "lb-tcp-cluster",
        "lb-tcp",
        "client -> LB (TCP) -> node2 (Cluster) -> pod on node1",
        "uvicorn",
        app,
        "c1",
        c.VIP,
        fe.port,
        peer=c.flannel_addr("node2"),
        client=c.flannel_addr("node2"),
        snat=True,
        lost=True,
        manifest=manifests.app_service("LoadBalancer", "Cluster", "tcp:80"),
        doctor_topology="lb-tcp",
        skip=None if cl.tproxy else "no TPROXY in this kernel",
    )
    # -- LoadBalancer, TCP listener with PROXY protocol ----------------------------------------
    # PROXY headers are decoded by realip.uvicorn's protocol class, by gunicorn itself configured
    # with realip.gunicorn, and by `realip serve --proxy-protocol`.
    for mode in ("proxy-v1", "proxy-v2"):
        for server in c.SERVERS:
            spec = {"name": "lb-tcp-proxy", "lb_cidrs": [c.LB_CIDR]}
            title = f"client -> LB (TCP, PROXY {mode[-2:]}) -> node1 (Local) -> pod"
            manifest = manifests.app_service("LoadBalancer", "Local", "tcp:80:proxy")
            missing = PROXY_MISSING if not proxy_protocol else None
            if server == "gunicorn" and not gunicorn_proxy and not missing and mode == "proxy-v2":
                missing = GUNICORN_PROXY_MISSING
            if missing:
                app = cl.app("lbt", "app", server, {"name": "lb-tcp"})
                port = 0
            else:
                app = cl.app("lbp", "app", server, spec)
                svc = cl.nodeport(app, "Local")
                port = cl.frontend("edge", mode, "node1", svc).port
            # The IPv6 row: an IPv6 client's address in the header of an IPv4 connection, so
            # the server reports an IPv6 peer on an IPv4 socket.
            for v6 in (False, True) if cl.ip6 else (False,):
                extra: Dict[str, Any] = {}
                if not v6 and not missing:
                    extra = {
                        "bypass": ("c2", node1, svc.nodeport, a("c2")),
                        "forged_proxy": ("c2", node1, svc.nodeport),
                        "note": "the TCP peer is the load balancer (100.64.0.10); the server "
                        "reports the PROXY header's source as the peer",
                    }
                add(
                    f"lb-tcp-{mode}" + ("-v6" if v6 else ""),
                    "lb-tcp-proxy",
                    ("IPv6 " if v6 else "") + title,
                    server,
                    app,
                    "c1",
                    c.VIP6 if v6 else c.VIP,
                    port,
                    peer=a("c1", v6),
                    client=a("c1", v6),
                    v6=v6,
                    manifest=manifest,
                    doctor_topology="lb-tcp-proxy",
                    skip=missing,
                    **extra,
                )
    # -- LoadBalancer, HTTP listener -----------------------------------------------------------
    lbh = {"name": "lb-http", "lb_cidrs": [c.LB_CIDR]}
    for server in c.SERVERS:
        app = cl.app("lbh", "app", server, lbh)
        svc = cl.nodeport(app, "Local")
        fe = cl.frontend("edge", "http", "node1", svc)
        add(
            "lb-http",
            "lb-http",
            "client -> LB (HTTP, adds X-Forwarded-For) -> node1 (Local) -> pod",
            server,
            app,
            "c1",
            c.VIP,
            fe.port,
            peer=a("lb"),
            client=a("c1"),
            manifest=manifests.app_service("LoadBalancer", "Local", "http:80"),
            doctor_topology="lb-http",
            bypass=("c2", node1, svc.nodeport, a("c2")),
        )
    app = cl.app("lbh", "app", "uvicorn", lbh)
    svc = cl.nodeport(app, "Local")
    fe = cl.frontend("edge", "http", "node1", svc)
    if cl.ip6:
        add(
            "lb-http-v6",
            "lb-http",
            "IPv6 client -> LB (HTTP) -> node1 (Local) -> pod",
            "uvicorn",
            app,
            "c1",
            c.VIP6,
            fe.port,
            peer=a("lb"),
            client=a("c1", True),
            v6=True,
            manifest=manifests.app_service("LoadBalancer", "Local", "http:80"),
            doctor_topology="lb-http",
        )
    app = cl.app("lbh-cluster", "app", "uvicorn", dict(lbh, node_cidrs=NODE_CIDRS_FLANNEL))
    svc = cl.nodeport(app, "Cluster")
    fe = cl.frontend("edge", "http", "node2", svc)
    add(
        "lb-http-cluster",
        "lb-http",
        "client -> LB (HTTP) -> node2 (Cluster) -> pod on node1",
        "uvicorn",
        app,
        "c1",
        c.VIP,
        fe.port,
        peer=c.flannel_addr("node2"),
        client=c.flannel_addr("node2"),
        snat=True,
        lost=True,
        manifest=manifests.app_service("LoadBalancer", "Cluster", "http:80"),
        doctor_topology="lb-http",
        # realip flags the node peer; doctor can't tell from a manifest whether trusting the
        # nodes would be safe (who can reach the NodePort), so it says "unknown" and warns.
        doctor_verdict="unknown",
        note="X-Forwarded-For still holds the client, but the peer is a SNAT'ed node: trusting "
        "node addresses would let a client that reaches the NodePort directly write its own; "
        "doctor says unknown: whether that is safe depends on who can reach the NodePort",
    )
    trusting = dict(lbh, lb_cidrs=[c.LB_CIDR, *NODE_CIDRS_FLANNEL])
    app = cl.app("lbh-trust-nodes", "app", "uvicorn", trusting)
    svc = cl.nodeport(app, "Cluster")
    fe = cl.frontend("edge", "http", "node2", svc)
    add(
        "lb-http-cluster-trusting-nodes",
        "lb-http",
        "as above, node addresses trusted as proxies",
        "uvicorn",
        app,
        "c1",
        c.VIP,
        fe.port,
        peer=c.flannel_addr("node2"),
        client=a("c1"),
        manifest=manifests.app_service("LoadBalancer", "Cluster", "http:80"),
        doctor_topology="lb-http",
        bypass=("c2", node2, svc.nodeport, c.flannel_addr("node2")),
        bypass_client=FORGED,
        spoofable=True,
        doctor_xfail=DOCTOR_TRUST_NODES,
        note="the load balancer's requests resolve, but a client that reaches a NodePort "
        "directly is SNAT'ed to a node address too, and its forged X-Forwarded-For is believed",
    )
    # -- ingress --------------------------------------------------------------------------------
    ing_spec = {
        "name": "ingress",
        "pod_cidrs": [c.POD_CIDR],
        "lb_cidrs": [c.LB_CIDR],
        "node_cidrs": NODE_CIDRS_FLANNEL,
    }
    default_cm: Dict[str, str] = {}
    for server in c.SERVERS:
        app = cl.app("ing", "app", server, ing_spec)
        ing = cl.ingress(f"default-{server}", "ing", default_cm, app)
        svc = cl.nodeport(ing.port, "Local", pod="ing")
        fe = cl.frontend("edge", "tcp", "node1", svc)
        add(
            "ingress",
            "ingress",
            "client -> LB (TCP) -> node1 (Local) -> ingress-nginx (defaults) -> pod",
            server,
            app,
            "c1",
            c.VIP,
            fe.port,
            peer=a("ing"),
            client=a("c1"),
            manifest=manifests.behind_ingress(default_cm, "Local"),
            doctor_topology="ingress",
            bypass=("c2", node1, svc.nodeport, a("ing")),
            skip=None if cl.tproxy else "no TPROXY in this kernel",
        )
    app = cl.app("ing", "app", "uvicorn", ing_spec)
    slb_cm = {
        "use-forwarded-headers": "true",
        "compute-full-forwarded-for": "true",
        "proxy-real-ip-cidr": c.LB_CIDR,
    }
    # The cluster is IPv4 inside; an IPv6 client reaches the pod only as text: in the load
    # balancer's X-Forwarded-For (rewritten by the ingress's realip module into its own), or in
    # a PROXY v2 header carried over the IPv4 connection to the node.
    pp_cm = {"use-proxy-protocol": "true", "proxy-real-ip-cidr": c.LB_CIDR}
    for pid, name, cm, mode, title, listener in (
        (
            "ingress-lb-http",
            "slb-http",
            slb_cm,
            "http",
            "client -> LB (HTTP) -> node1 (Local) -> ingress-nginx (use-forwarded-headers, "
            "compute-full-forwarded-for) -> pod",
            "http:80",
        ),
        (
            "ingress-proxy-protocol",
            "proxy-protocol",
            pp_cm,
            "proxy-v2",
            "client -> LB (TCP, PROXY v2) -> node1 (Local) -> ingress-nginx (use-proxy-protocol) "
            "-> pod",
            "tcp:80",
        ),
    ):
        ing = cl.ingress(name, "ing", cm, app)
        svc = cl.nodeport(ing.port, "Local", pod="ing")
        fe = cl.frontend("edge", mode, "node1", svc)
        manifest = manifests.behind_ingress(cm, "Local", listener)
        for v6 in (False, True) if cl.ip6 else (False,):
            add(
                pid + ("-v6" if v6 else ""),
                "ingress",
                ("IPv6 " if v6 else "") + title,
                "uvicorn",
                app,
                "c1",
                c.VIP6 if v6 else c.VIP,
                fe.port,
                peer=a("ing"),
                client=a("c1", v6),
                v6=v6,
                manifest=manifest,
                doctor_topology="ingress",
            )
    app = cl.app("ing", "app", "uvicorn", ing_spec)
    ing = cl.ingress("slb-http-defaults", "ing", default_cm, app)
    svc = cl.nodeport(ing.port, "Local", pod="ing")
    fe = cl.frontend("edge", "http", "node1", svc)
    add(
        "ingress-lb-http-defaults",
        "ingress",
        "client -> LB (HTTP) -> node1 (Local) -> ingress-nginx (defaults) -> pod",
        "uvicorn",
        app,
        "c1",
        c.VIP,
        fe.port,
        peer=a("ing"),
        client=a("lb"),
        lost=True,
        manifest=manifests.behind_ingress(default_cm, "Local", "http:80"),
        doctor_topology="ingress",
        note="without use-forwarded-headers ingress-nginx replaces the load balancer's "
        "X-Forwarded-For with its own peer, the load balancer",
    )
    trust_all = {"use-forwarded-headers": "true"}
    ing = cl.ingress("trust-all", "ing", trust_all, app)
    svc = cl.nodeport(ing.port, "Local", pod="ing")
    fe = cl.frontend("edge", "tcp", "node1", svc)
    add(
        "ingress-trusts-everyone",
        "ingress",
        "client -> LB (TCP) -> node1 (Local) -> ingress-nginx (use-forwarded-headers, "
        "proxy-real-ip-cidr left at 0.0.0.0/0) -> pod",
        "uvicorn",
        app,
        "c1",
        c.VIP,
        fe.port,
        peer=a("ing"),
        client=a("c1"),
        spoofable=True,
        spoof_wins=("forged X-Forwarded-For", "forged chain"),
        manifest=manifests.behind_ingress(trust_all, "Local"),
        doctor_topology="ingress",
        skip=None if cl.tproxy else "no TPROXY in this kernel",
        note="nginx's realip module believes the client's X-Forwarded-For and sends the forged "
        "address on as the only entry",
    )
    trust_all_full = dict(trust_all, **{"compute-full-forwarded-for": "true"})
    ing = cl.ingress("trust-all-full", "ing", trust_all_full, app)
    svc = cl.nodeport(ing.port, "Local", pod="ing")
    fe = cl.frontend("edge", "tcp", "node1", svc)
    add(
        "ingress-trusts-everyone-compute-full",
        "ingress",
        "as above, with compute-full-forwarded-for",
        "uvicorn",
        app,
        "c1",
        c.VIP,
        fe.port,
        peer=a("ing"),
        client=a("c1"),
        manifest=manifests.behind_ingress(trust_all_full, "Local"),
        doctor_topology="ingress",
        skip=None if cl.tproxy else "no TPROXY in this kernel",
        note="the real peer is appended, and realip walks past the forged part",
    )
    cf_cm = {
        "use-forwarded-headers": "true",
        "forwarded-for-header": "CF-Connecting-IP",
        "proxy-real-ip-cidr": CLOUDFLARE_CIDRS,
    }
    ing = cl.ingress("cf-header", "ing", cf_cm, app)
    svc = cl.nodeport(ing.port, "Local", pod="ing")
    fe = cl.frontend("cf", "http", "node1", svc)
    add(
        "ingress-forwarded-for-header",
        "ingress",
        "client -> Cloudflare stand-in -> node1 (Local) -> ingress-nginx (forwarded-for-header: "
        "CF-Connecting-IP) -> pod",
        "uvicorn",
        app,
        "c1",
        c.CF_ADDR,
        fe.port,
        peer=a("ing"),
        client=a("c1"),
        spoofs=(*SPOOFS, CF_SPOOF),
        manifest=manifests.behind_ingress(cf_cm, "Local"),
        doctor_topology="ingress",
        bypass=("c2", node1, svc.nodeport, a("ing")),
    )
    ing = cl.ingress("default-uvicorn", "ing", default_cm, app)
    svc = cl.nodeport(ing.port, "Cluster", pod="ing")
    fe = cl.frontend("edge", "tcp", "node2", svc)
    add(
        "ingress-cluster",
        "ingress",
        "client -> LB (TCP) -> node2 (Cluster) -> ingress-nginx on node1 -> pod (flannel)",
        "uvicorn",
        app,
        "c1",
        c.VIP,
        fe.port,
        peer=a("ing"),
        client=c.flannel_addr("node2"),
        snat=True,
        lost=True,
        manifest=manifests.behind_ingress(default_cm, "Cluster"),
        doctor_topology="ingress",
        skip=None if cl.tproxy else "no TPROXY in this kernel",
        note="the ingress writes flannel.1's address into X-Forwarded-For; it is inside the pod "
        "CIDR the ingress topology trusts",
    )
    vspec = {"name": "ingress", "pod_cidrs": [c.VPC_POD_NET], "node_cidrs": NODE_CIDRS_IIP}
    vapp = cl.app("ing-vpc", "vapp", "uvicorn", vspec)
    ving = cl.ingress("vpc-default", "ving", default_cm, vapp)
    svc = cl.nodeport(ving.port, "Cluster", pod="ving")
    fe = cl.frontend("edge", "tcp", "node2", svc)
    add(
        "ingress-cluster-vpc",
        "ingress",
        "client -> LB (TCP) -> node2 (Cluster) -> ingress-nginx on node1 -> pod (VPC CNI)",
        "uvicorn",
        vapp,
        "c1",
        c.VIP,
        fe.port,
        peer=a("ving"),
        client=node2,
        snat=True,
        lost=True,
        manifest=manifests.behind_ingress(default_cm, "Cluster"),
        doctor_topology="ingress",
        skip=None if cl.tproxy else "no TPROXY in this kernel",
    )
    # -- cloudflare -----------------------------------------------------------------------------
    for server in c.SERVERS:
        app = cl.app("cf", "app", server, {"name": "cloudflare"})
        svc = cl.nodeport(app, "Local")
        fe = cl.frontend("cf", "http", "node1", svc)
        add(
            "cloudflare",
            "cloudflare",
            "client -> Cloudflare stand-in (173.245.48.10) -> node1:NodePort (Local) -> pod",
            server,
            app,
            "c1",
            c.CF_ADDR,
            fe.port,
            peer=a("cf"),
            client=a("c1"),
            spoofs=(*SPOOFS, CF_SPOOF),
            manifest=manifests.app_service("NodePort", "Local"),
            doctor_topology="nodeport-local",
            bypass=("c2", node1, svc.nodeport, a("c2")),
            note="doctor reads Services, so it sees the NodePort, not the CDN in front of it",
        )
    # -- the load comparison: the same ingress path, the app with and without realip ------------
    for key, spec in (
        ("load-realip", ing_spec),
        ("load-plain", {"name": "pod-to-pod", "plain": True}),
    ):
        app = cl.app(key, "app", "uvicorn", spec)
        ing = cl.ingress(key, "ing", default_cm, app)
        svc = cl.nodeport(ing.port, "Local", pod="ing")
        cl.load_frontends[key] = cl.frontend("edge", "tcp", "node1", svc).port
    return paths


def all_requests(paths: List[Path]) -> List[Tuple[Path, Request]]:
    """Every (path, request) pair that is to be sent."""
    return [(p, r) for p in paths if not p.skip for r in p.requests]
