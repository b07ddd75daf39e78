"""A miniature Kubernetes data path in network namespaces: clients, an edge router with a load
balancer, two nodes with kube-proxy's NodePort rules, pods on two kinds of CNI, an ingress.

::

    c1 203.0.113.10 ─┐                              ┌─ node1 10.0.0.11 ── cni0 10.244.1.1/24 ─ app 10.244.1.10
    c2 198.51.100.20 ┼─ edge (router; haproxy VIP   │   flannel.1 10.244.1.0 (VXLAN)        ─ ing 10.244.1.20
    c3 203.0.113.130 ┤   192.0.2.10, sources from   ├─ br-nodes 10.0.0.0/24 ("the VPC")     ─ vapp 10.0.1.10 (VPC CNI)
    cf 173.245.48.10 ┘   100.64.0.10)  ─────────────┘                                       ─ ving 10.0.1.20 (VPC CNI)
                                                    └─ node2 10.0.0.12 ── cni0 10.244.2.1/24 ─ cpod 10.244.2.10
                                                        flannel.1 10.244.2.0 (VXLAN)

- **flannel** (VXLAN backend): each node has ``cni0`` (the pod bridge, .1 of its pod CIDR) and
  ``flannel.1`` (.0 of its pod CIDR); another node's pod CIDR is routed over ``flannel.1``, so a
  request kube-proxy masquerades towards a pod on another node carries ``flannel.1``'s address.
- **VPC CNI** (AWS VPC CNI, Alibaba Terway style): pods get addresses from the VPC
  (10.0.1.0/24 here), routed between nodes over the node's primary interface, so a masqueraded
  request carries the node's InternalIP.
- **kube-proxy** (iptables mode): NodePort rules as kube-proxy writes them
  (``KUBE-NODEPORTS`` -> ``KUBE-EXT-*``; Cluster marks 0x4000 and ``KUBE-POSTROUTING``
  masquerades marked packets; Local DNATs only on a node with an endpoint and drops elsewhere).
- **edge**: the clients' router and the cloud load balancer: haproxy on the VIP, connecting to
  NodePorts from 100.64.0.10 (HTTP listener adds X-Forwarded-For; TCP with send-proxy /
  send-proxy-v2), and a pass-through TCP listener that keeps the client's address
  (``usesrc clientip`` with TPROXY, as an L4 cloud LB keeps it); nodes route back through it.
- **cf**: a stand-in for a Cloudflare edge server, with an address inside Cloudflare's range,
  adding CF-Connecting-IP and X-Forwarded-For like the real edge does.

Nothing is routed out of the lab: the edge has no default route and no link to the host.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import ingress_nginx
from .netlab import Lab, LabError, Proc
from .nsclient import NsPool

HERE = Path(__file__).resolve().parent
SRC = HERE.parent.parent / "src"

# -- the address plan ------------------------------------------------------------------------
CLIENTS = {
    "c1": ("203.0.113.10", "203.0.113.1", 25, "2001:db8:113::10", "2001:db8:113::1"),
    "c2": ("198.51.100.20", "198.51.100.1", 24, "2001:db8:100::20", "2001:db8:100::1"),
    "c3": ("203.0.113.130", "203.0.113.129", 25, "2001:db8:130::30", "2001:db8:130::1"),
}
VIP = "192.0.2.10"
VIP6 = "2001:db8:f::10"
LB_SOURCE = "100.64.0.10"
LB_CIDR = "100.64.0.0/10"
CF_ADDR = "173.245.48.10"
CF_GW = "173.245.48.1"
NODE_NET = "10.0.0.0/24"
NODE_NET6 = "fd00:10::/64"
NODES = {
    "node1": ("10.0.0.11", "fd00:10::11", "10.244.1.0/24", 1),
    "node2": ("10.0.0.12", "fd00:10::12", "10.244.2.0/24", 2),
}
POD_CIDR = "10.244.0.0/16"
VPC_POD_NET = "10.0.1.0/24"


def flannel_addr(node: str) -> str:
    """The node's ``flannel.1`` address: .0 of its pod CIDR."""
    return f"10.244.{NODES[node][3]}.0"


def cni0_addr(node: str) -> str:
    """The node's ``cni0`` bridge address: .1 of its pod CIDR."""
    return f"10.244.{NODES[node][3]}.1"


@dataclass(frozen=True)
class Pod:
    """A pod: its namespace role, node, CNI and addresses."""

    name: str
    node: str
    cni: str  # "flannel" or "vpc"
    ip: str
    ip6: Optional[str] = None


PODS = {
    "app": Pod("app", "node1", "flannel", "10.244.1.10", "fd00:244:1::10"),
    "ing": Pod("ing", "node1", "flannel", "10.244.1.20"),
    "vapp": Pod("vapp", "node1", "vpc", "10.0.1.10"),
    "ving": Pod("ving", "node1", "vpc", "10.0.1.20"),
    "cpod": Pod("cpod", "node2", "flannel", "10.244.2.10"),
}

SERVERS = ("uvicorn", "gunicorn", "serve")


@dataclass(frozen=True)
class App:
    """One app server process in a pod: its server, topology configuration and port."""

    key: str
    pod: str
    server: str
    topology: Dict[str, Any]
    port: int
    v6: bool = False
    """Listens on IPv6 only (asyncio servers set IPV6_V6ONLY), for the IPv6 paths."""


@dataclass(frozen=True)
class NodePortSvc:
    """A NodePort Service as kube-proxy sees it: one endpoint, one policy."""

    name: str
    nodeport: int
    pod: str
    port: int
    policy: str  # "Local" or "Cluster"
    v6: bool = False


@dataclass(frozen=True)
class Frontend:
    """A haproxy listener (on the edge's VIP, or on the Cloudflare stand-in)."""

    name: str
    where: str  # "edge" or "cf"
    mode: str  # "http", "tcp", "proxy-v1", "proxy-v2"
    port: int
    node: str
    nodeport: int


@dataclass(frozen=True)
class IngressServer:
    """One ingress-nginx server block: its ConfigMap, the port it listens on, its upstream."""

    name: str
    pod: str
    config: Dict[str, str]
    port: int
    upstream: App


@dataclass
class Cluster:
    """The running lab: namespaces, processes, and the catalogue of what listens where."""

    lab: Optional[Lab]
    """None for a dry catalogue (pytest collection lists the paths without building anything)."""
    ns: Dict[str, str] = field(default_factory=dict)
    apps: Dict[str, App] = field(default_factory=dict)
    services: List[NodePortSvc] = field(default_factory=list)
    frontends: List[Frontend] = field(default_factory=list)
    ingresses: List[IngressServer] = field(default_factory=list)
    pools: Dict[str, NsPool] = field(default_factory=dict)
    load_frontends: Dict[str, int] = field(default_factory=dict)
    procs: Dict[str, Proc] = field(default_factory=dict)
    ip6: bool = True
    tproxy: bool = True
    notes: List[str] = field(default_factory=list)
    _next_app_port: int = 8000
    _next_nodeport: int = 30000
    _next_fe_port: int = 10000

    # -- catalogue --------------------------------------------------------------------------
    def app(
        self, key: str, pod: str, server: str, topology: Dict[str, Any], v6: bool = False
    ) -> App:
        """Register an app server (started by :meth:`start`)."""
        full = f"{key}{'-v6' if v6 else ''}/{server}"
        if full not in self.apps:
            self.apps[full] = App(full, pod, server, topology, self._next_app_port, v6)
            self._next_app_port += 1
        return self.apps[full]

    def nodeport(self, app_or_port: Any, policy: str, pod: Optional[str] = None) -> NodePortSvc:
        """Register a NodePort Service in front of an app (or a pod port) with ``policy``."""
        if isinstance(app_or_port, App):
            pod, port, name, v6 = app_or_port.pod, app_or_port.port, app_or_port.key, app_or_port.v6
        else:
            assert pod is not None
            port, name, v6 = int(app_or_port), f"{pod}:{app_or_port}", False
        for svc in self.services:
            if (svc.pod, svc.port, svc.policy) == (pod, port, policy):
                return svc
        svc = NodePortSvc(f"{name}/{policy}", self._next_nodeport, pod, port, policy, v6)
        self._next_nodeport += 1
        self.services.append(svc)
        return svc

    def frontend(self, where: str, mode: str, node: str, svc: NodePortSvc) -> Frontend:
        """Register a load-balancer listener forwarding to ``node``'s NodePort of ``svc``."""
        for fe in self.frontends:
            if (fe.where, fe.mode, fe.node, fe.nodeport) == (where, mode, node, svc.nodeport):
                return fe
        fe = Frontend(
            f"fe{self._next_fe_port}", where, mode, self._next_fe_port, node, svc.nodeport
        )
        self._next_fe_port += 1
        self.frontends.append(fe)
        return fe

    def ingress(self, name: str, pod: str, config: Dict[str, str], upstream: App) -> IngressServer:
        """Register an ingress-nginx server block in ``pod`` generated from ``config``."""
        for ing in self.ingresses:
            if ing.name == name:
                return ing
        ing = IngressServer(name, pod, dict(config), 80 + len(self.ingresses), upstream)
        self.ingresses.append(ing)
        return ing

    def addr(self, role: str, v6: bool = False) -> str:
        """The address of a lab member by role (client, pod, node, ...)."""
        if role in CLIENTS:
            return CLIENTS[role][3] if v6 else CLIENTS[role][0]
        if role in PODS:
            pod = PODS[role]
            return (pod.ip6 or "") if v6 else pod.ip
        if role in NODES:
            return NODES[role][1] if v6 else NODES[role][0]
        return {"lb": LB_SOURCE, "cf": CF_ADDR, "vip": VIP6 if v6 else VIP}[role]

    # -- building the network ---------------------------------------------------------------
    def build_network(self) -> None:
        """Namespaces, links, addresses, routes; kube-proxy's static chains."""
        lab = self.lab
        assert lab is not None, "a dry catalogue cannot be built"
        for role in ("edge", "cf", *CLIENTS, *NODES, *PODS):
            self.ns[role] = lab.ns(role)
        edge = self.ns["edge"]
        lab.sysctl(edge, **{"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"})
        # The load balancer's addresses (on lo: the kernel here may lack the dummy driver): the
        # VIP clients connect to, and the source it forwards from.
        lab.batch(
            edge,
            [
                f"addr add {VIP}/32 dev lo",
                f"addr add {LB_SOURCE}/32 dev lo",
                "link add br-nodes type bridge",
                "link set br-nodes up",
                "addr add 10.0.0.1/24 dev br-nodes",
            ],
        )
        if self.ip6:
            try:
                lab.batch(
                    edge,
                    [
                        f"addr add {VIP6}/128 dev lo nodad",
                        "addr add fd00:10::1/64 dev br-nodes nodad",
                    ],
                )
            except LabError as exc:
                self.ip6 = False
                self.notes.append(f"IPv6 is off in this lab run: {exc}")
        for role, (addr, gw, plen, addr6, gw6) in CLIENTS.items():
            c = self.ns[role]
            lab.veth(edge, f"to-{role}", c, "eth0")
            lab.ip(edge, "addr", "add", f"{gw}/{plen}", "dev", f"to-{role}")
            lab.ip(c, "addr", "add", f"{addr}/{plen}", "dev", "eth0")
            lab.ip(c, "route", "add", "default", "via", gw)
            if self.ip6:
                lab.ip(edge, "addr", "add", f"{gw6}/64", "dev", f"to-{role}", "nodad")
                lab.ip(c, "addr", "add", f"{addr6}/64", "dev", "eth0", "nodad")
                lab.ip(c, "-6", "route", "add", "default", "via", gw6)
        cf = self.ns["cf"]
        lab.veth(edge, "to-cf", cf, "eth0")
        lab.ip(edge, "addr", "add", f"{CF_GW}/24", "dev", "to-cf")
        lab.ip(cf, "addr", "add", f"{CF_ADDR}/24", "dev", "eth0")
        lab.ip(cf, "route", "add", "default", "via", CF_GW)
        for node, (addr, addr6, _pod_cidr, index) in NODES.items():
            n = self.ns[node]
            lab.sysctl(n, **{"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"})
            lab.veth(edge, f"to-{node}", n, "eth0")
            # Room for the VXLAN header, so flannel.1 keeps a 1500-byte MTU like the pods'.
            lab.batch(edge, [f"link set to-{node} mtu 1600", f"link set to-{node} master br-nodes"])
            lines = [
                "link set eth0 mtu 1600",
                f"addr add {addr}/24 dev eth0",
                "route add default via 10.0.0.1",
                "link add cni0 type bridge",
                "link set cni0 up",
                f"addr add {cni0_addr(node)}/24 dev cni0",
                # flannel's VXLAN device: VNI 1, port 8472, no learning (flanneld programs it).
                f"link add flannel.1 type vxlan id 1 local {addr} dev eth0 dstport 8472 nolearning",
                f"link set flannel.1 address 02:42:0a:f4:0{index}:00",
                f"addr add {flannel_addr(node)}/32 dev flannel.1",
                "link set flannel.1 up",
            ]
            if self.ip6:
                lines += [
                    f"addr add {addr6}/64 dev eth0 nodad",
                    "route add default via fd00:10::1",
                    f"addr add fd00:244:{index}::1/64 dev cni0 nodad",
                ]
            lab.batch(n, lines)
        # flanneld's routes, neighbours and forwarding entries for the other node's pod CIDR.
        for node in NODES:
            for other, (other_addr, other6, other_cidr, other_index) in NODES.items():
                if other == node:
                    continue
                mac = f"02:42:0a:f4:0{other_index}:00"
                lab.batch(
                    self.ns[node],
                    [
                        f"route add {other_cidr} via {flannel_addr(other)} dev flannel.1 onlink",
                        f"neigh add {flannel_addr(other)} lladdr {mac} dev flannel.1 nud permanent",
                    ],
                )
                if self.ip6:
                    # IPv6 pod traffic is routed between nodes natively (no VXLAN): a
                    # masqueraded IPv6 request carries the node's IPv6 InternalIP.
                    lab.ip(
                        self.ns[node],
                        "-6",
                        "route",
                        "add",
                        f"fd00:244:{other_index}::/64",
                        "via",
                        other6,
                    )
                lab.exec(
                    self.ns[node],
                    "bridge",
                    "fdb",
                    "append",
                    mac,
                    "dev",
                    "flannel.1",
                    "dst",
                    other_addr,
                )
                # The VPC routes the VPC pod subnet to the node hosting those pods (node1).
                if other == "node1":
                    lab.ip(self.ns[node], "route", "add", VPC_POD_NET, "via", other_addr)
        for _name, pod in PODS.items():
            self._plug_pod(pod)
        self._kube_proxy_base()
        self._edge_tproxy()

    def _plug_pod(self, pod: Pod) -> None:
        lab, node, p = self.lab, self.ns[pod.node], self.ns[pod.name]
        host_if = f"veth-{pod.name}"
        lab.veth(node, host_if, p, "eth0")
        if pod.cni == "flannel":
            index = NODES[pod.node][3]
            lab.ip(node, "link", "set", host_if, "master", "cni0")
            lab.ip(p, "addr", "add", f"{pod.ip}/24", "dev", "eth0")
            lab.ip(p, "route", "add", "default", "via", cni0_addr(pod.node))
            if pod.ip6 and self.ip6:
                lab.ip(p, "addr", "add", f"{pod.ip6}/64", "dev", "eth0", "nodad")
                lab.ip(p, "-6", "route", "add", "default", "via", f"fd00:244:{index}::1")
        else:
            # VPC CNIs give the pod a VPC address and a host route on the node; the pod's
            # gateway is a link-local address on the node's end of its veth.
            lab.ip(node, "addr", "add", "169.254.1.1/32", "dev", host_if)
            lab.ip(node, "route", "add", f"{pod.ip}/32", "dev", host_if)
            lab.ip(p, "addr", "add", f"{pod.ip}/32", "dev", "eth0")
            lab.ip(p, "route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
            lab.ip(p, "route", "add", "default", "via", "169.254.1.1", "dev", "eth0")

    def _kube_proxy_base(self) -> None:
        # kube-proxy's fixed chains (pkg/proxy/iptables/proxier.go): NodePorts are matched on
        # local destinations; Cluster-policy traffic is marked and masqueraded on the way out.
        rules = [
            ("nat", "-N", "KUBE-NODEPORTS"),
            ("nat", "-N", "KUBE-MARK-MASQ"),
            ("nat", "-N", "KUBE-POSTROUTING"),
            ("nat", "-A PREROUTING -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS"),
            ("nat", "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000"),
            ("nat", "-A POSTROUTING -j KUBE-POSTROUTING"),
            ("nat", "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN"),
            ("nat", "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000"),
            ("nat", "-A KUBE-POSTROUTING -j MASQUERADE"),
        ]
        for node in NODES:
            self.lab.iptables(self.ns[node], [self._rule(r) for r in rules])
            if self.ip6:
                self.lab.iptables(self.ns[node], [self._rule(r) for r in rules], v6=True)

    @staticmethod
    def _rule(rule: Tuple[str, ...]) -> Tuple[str, ...]:
        if len(rule) == 3 and rule[1] == "-N":
            return (rule[0], f"-N {rule[2]}")
        return rule

    def _edge_tproxy(self) -> None:
        # Transparent proxying for the pass-through TCP listener: replies from the nodes to a
        # client address belong to haproxy's socket, so deliver them locally.
        edge = self.ns["edge"]
        try:
            self.lab.iptables(
                edge,
                [
                    ("mangle", "-N DIVERT"),
                    ("mangle", "-A PREROUTING -p tcp -m socket -j DIVERT"),
                    ("mangle", "-A DIVERT -j MARK --set-mark 1"),
                    ("mangle", "-A DIVERT -j ACCEPT"),
                ],
            )
            self.lab.batch(
                edge, ["rule add fwmark 1 lookup 100", "route add local 0.0.0.0/0 dev lo table 100"]
            )
        except LabError as exc:
            self.tproxy = False
            self.notes.append(f"no TPROXY here, pass-through TCP listener unavailable: {exc}")

    # -- services and processes -------------------------------------------------------------
    def _service_rules(self, node: str, v6: bool) -> List[Tuple[str, ...]]:
        rules: List[Tuple[str, ...]] = []
        for i, svc in enumerate(self.services):
            pod = PODS[svc.pod]
            target = pod.ip6 if v6 else pod.ip
            if not target:
                continue
            dest = f"[{target}]:{svc.port}" if v6 else f"{target}:{svc.port}"
            ext, sep = f"KUBE-EXT-{i}", f"KUBE-SEP-{i}"
            rules += [
                ("nat", f"-N {ext}"),
                ("nat", f"-N {sep}"),
                ("nat", f"-A KUBE-NODEPORTS -p tcp --dport {svc.nodeport} -j {ext}"),
            ]
            if svc.policy == "Cluster":
                rules += [("nat", f"-A {ext} -j KUBE-MARK-MASQ"), ("nat", f"-A {ext} -j {sep}")]
            elif pod.node == node:
                rules.append(("nat", f"-A {ext} -j {sep}"))
            else:
                # Local with no endpoint on this node: kube-proxy drops (filter table).
                rules.append(("filter", f"-A INPUT -p tcp --dport {svc.nodeport} -j DROP"))
            rules.append(("nat", f"-A {sep} -p tcp -j DNAT --to-destination {dest}"))
        return rules

    def _app_argv(self, app: App, bind6: bool) -> Tuple[List[str], Dict[str, str]]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("REALIP_") and k != "FORWARDED_ALLOW_IPS"
        }
        env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(HERE)])
        env["LAB_TOPOLOGY"] = json.dumps(app.topology)
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONWARNINGS"] = "ignore"
        host = "::" if bind6 else "0.0.0.0"
        py = sys.executable
        proxy_protocol = app.topology.get("name") == "lb-tcp-proxy"
        if proxy_protocol:
            # realip's PROXY protocol decoders read their configuration from REALIP_*.
            env["REALIP_TOPOLOGY"] = "lb-tcp-proxy"
            env["REALIP_LB_CIDRS"] = ",".join(app.topology.get("lb_cidrs", []))
        if app.server == "uvicorn":
            argv = [
                py,
                "-m",
                "uvicorn",
                "--factory",
                "lab_apps:asgi_app",
                "--host",
                host,
                "--port",
                str(app.port),
                "--no-access-log",
                "--no-proxy-headers",
                "--log-level",
                "warning",
            ]
            if proxy_protocol:
                argv += ["--http", "realip.uvicorn:H11ProxyProtocol"]
            if app.topology.get("plain"):
                env["LAB_PLAIN"] = "1"
                env["LAB_TOPOLOGY"] = json.dumps({"name": "pod-to-pod"})
        elif app.server == "gunicorn":
            bind = f"[::]:{app.port}" if bind6 else f"0.0.0.0:{app.port}"
            argv = [
                py,
                "-m",
                "gunicorn",
                "lab_apps:wsgi_app()",
                "-b",
                bind,
                "-w",
                "1",
                "--log-level",
                "warning",
                "--forwarded-allow-ips",
                "127.0.0.1",
            ]
            if proxy_protocol:
                # gunicorn decodes PROXY itself; realip.gunicorn configures who may send it and
                # keeps the client for every request of a kept-alive connection.
                argv += ["-c", "python:realip.gunicorn"]
        else:
            spec = app.topology
            argv = [
                py,
                "-m",
                "realip",
                "serve",
                "--host",
                host,
                "--port",
                str(app.port),
                "--topology",
                spec["name"],
            ]
            for key in ("pod_cidrs", "node_cidrs", "lb_cidrs"):
                if spec.get(key):
                    argv += [f"--{key.replace('_', '-')}", ",".join(spec[key])]
            if proxy_protocol:
                argv.append("--proxy-protocol")
        return argv, env

    def _haproxy_conf(self, where: str) -> str:
        lines = [
            "global",
            "    maxconn 4096",
            "defaults",
            "    timeout connect 5s",
            "    timeout client 30s",
            "    timeout server 30s",
        ]
        bind_addr = VIP if where == "edge" else CF_ADDR
        for fe in self.frontends:
            if fe.where != where:
                continue
            node_ip = NODES[fe.node][0]
            http = fe.mode == "http"
            binds = [f"    bind {bind_addr}:{fe.port}"]
            if where == "edge" and self.ip6:
                binds.append(f"    bind [{VIP6}]:{fe.port}")
            lines += [f"listen {fe.name}", f"    mode {'http' if http else 'tcp'}", *binds]
            if http:
                lines += ["    option http-keep-alive", "    option forwardfor"]
                if where == "cf":
                    # Cloudflare sets CF-Connecting-IP to the address it accepted the
                    # connection from, replacing whatever the client sent.
                    lines.append("    http-request set-header CF-Connecting-IP %[src]")
            source = ""
            if fe.mode == "tcp" and where == "edge":
                source = " source 0.0.0.0 usesrc clientip"
            elif where == "edge":
                source = f" source {LB_SOURCE}"
            send = {"proxy-v1": " send-proxy", "proxy-v2": " send-proxy-v2"}.get(fe.mode, "")
            lines.append(f"    server {fe.node} {node_ip}:{fe.nodeport}{send}{source}")
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        """Write the Service rules, start every process, and wait until all of them listen."""
        lab = self.lab
        assert lab is not None, "a dry catalogue cannot be started"
        for node in NODES:
            lab.iptables(self.ns[node], self._service_rules(node, False))
            if self.ip6:
                lab.iptables(self.ns[node], self._service_rules(node, True), v6=True)
        waits: List[Tuple[str, str, int, Proc]] = []
        for app in self.apps.values():
            argv, env = self._app_argv(app, app.v6)
            proc = lab.spawn(self.ns[app.pod], app.key.replace("/", "-"), argv, env)
            self.procs[app.key] = proc
            waits.append((app.pod, "::1" if app.v6 else "127.0.0.1", app.port, proc))
        by_pod: Dict[str, List[IngressServer]] = {}
        for ing in self.ingresses:
            by_pod.setdefault(ing.pod, []).append(ing)
        for pod, ings in by_pod.items():
            prefix = lab.workdir / f"nginx-{pod}"
            prefix.mkdir()
            blocks = []
            for ing in ings:
                upstream = f"{PODS[ing.upstream.pod].ip}:{ing.upstream.port}"
                blocks.append(
                    ingress_nginx.server_block(
                        ing.config,
                        listen=[f"0.0.0.0:{ing.port}"],
                        upstream=upstream,
                        name=ing.name.replace("-", "_"),
                    )
                )
            conf = prefix / "nginx.conf"
            conf.write_text(ingress_nginx.nginx_conf(blocks, prefix=str(prefix)))
            proc = lab.spawn(
                self.ns[pod], f"nginx-{pod}", ["nginx", "-c", str(conf), "-p", str(prefix)]
            )
            self.procs[f"nginx-{pod}"] = proc
            for ing in ings:
                if ing.config.get("use-proxy-protocol") != "true":
                    waits.append((pod, "127.0.0.1", ing.port, proc))
        for where in ("edge", "cf"):
            if not any(fe.where == where for fe in self.frontends):
                continue
            conf = lab.workdir / f"haproxy-{where}.cfg"
            conf.write_text(self._haproxy_conf(where))
            proc = lab.spawn(
                self.ns[where], f"haproxy-{where}", ["haproxy", "-db", "-f", str(conf)]
            )
            self.procs[f"haproxy-{where}"] = proc
            fe = next(fe for fe in self.frontends if fe.where == where)
            waits.append((where, VIP if where == "edge" else CF_ADDR, fe.port, proc))
        self._wait_all(waits)

    def pool(self, role: str) -> NsPool:
        """Worker threads inside ``role``'s namespace (made on first use)."""
        if role not in self.pools:
            self.pools[role] = NsPool(self.ns[role], workers=8)
        return self.pools[role]

    def _wait_all(self, waits: Sequence[Tuple[str, str, int, Proc]], timeout: float = 60.0) -> None:
        import socket

        def probe(host: str, port: int) -> bool:
            try:
                socket.create_connection((host, port), timeout=0.5).close()
                return True
            except OSError:
                return False

        deadline = time.monotonic() + timeout
        pending = list(waits)
        while pending:
            futures = [(w, self.pool(w[0]).submit(probe, w[1], w[2])) for w in pending]
            pending = [w for w, f in futures if not f.result()]
            for w in pending:
                if not w[3].alive():
                    raise LabError(f"{w[3].name} exited:\n{w[3].logs()}")
            if pending and time.monotonic() > deadline:
                names = ", ".join(f"{w[3].name} ({w[1]}:{w[2]})" for w in pending)
                raise LabError(f"not listening after {timeout:.0f}s: {names}")
            if pending:
                time.sleep(0.1)

    def close(self) -> None:
        """Stop the client threads and tear the lab down."""
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()
        self.lab.close()
