"""``realip doctor``: read Kubernetes objects and say whether the client IP reaches the app.

    kubectl get svc,ingress,configmap -A -o json | realip doctor -

For every Service and Ingress it reports the topology the object implies (the names of
:data:`realip.TOPOLOGIES`), whether the client's address survives the path (``externalTrafficPolicy:
Cluster`` source-NATs it away, an L4 proxy without PROXY protocol replaces it, ...), what the
load balancer annotations and the ingress-nginx ConfigMap change, and the ``REALIP_*`` settings
that fit. :func:`analyze` is pure (objects in, :class:`Report` out); :func:`run` does the I/O.
"""

from __future__ import annotations

import argparse
import importlib
import ipaddress
import json
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

# Topology names, as in realip.TOPOLOGIES.
POD_TO_POD = "pod-to-pod"
NODEPORT_LOCAL = "nodeport-local"
NODEPORT_CLUSTER = "nodeport-cluster"
LB_TCP = "lb-tcp"
LB_HTTP = "lb-http"
INGRESS = "ingress"

# Finding levels.
ERROR = "error"
WARNING = "warning"
INFO = "info"

# What happens to the client IP on the way to the app.
PRESERVED = "preserved"
LOST = "lost"
SPOOFABLE = "spoofable"
UNKNOWN = "unknown"
NOT_APPLICABLE = "n/a"
_BAD = (LOST, SPOOFABLE)

POD_CIDR = "<your pod CIDR>"
NODE_CIDR = "<your node CIDR>"
VPC_CIDR = "<your VPC CIDR>"
ALIBABA_SLB_RANGE = "100.64.0.0/10"
GOOGLE_FRONT_END_RANGES = "35.191.0.0/16,130.211.0.0/22"

_SVC = "service.beta.kubernetes.io/"
_ALI_PREFIXES = (_SVC + "alibaba-cloud-", _SVC + "alicloud-")
_ALI_NLB_CLASS = "alibabacloud.com/nlb"
_ALI_BACKEND_TYPE = _SVC + "backend-type"
_AWS_PREFIX = _SVC + "aws-load-balancer-"
_AWS_NLB_CLASS = "service.k8s.aws/nlb"
_GCP_RBS = "cloud.google.com/l4-rbs"
_GCP_LB_TYPE = ("networking.gke.io/load-balancer-type", "cloud.google.com/load-balancer-type")
_INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
_ALB_TARGET_TYPE = "alb.ingress.kubernetes.io/target-type"

_NGINX_CONFIGMAP_NAMES = (
    "ingress-nginx-controller",
    "nginx-configuration",
    "nginx-ingress-controller",
)
_NGINX_NOT_CONFIG = ("tcp-services", "udp-services", "ingress-controller-leader")
_NGINX_SERVICE_NAMES = (
    "ingress-nginx",
    "ingress-nginx-controller",
    "nginx-ingress-lb",
    "nginx-ingress-controller",
)
_NGINX_APP_LABELS = ("ingress-nginx", "nginx-ingress", "nginx-ingress-lb")

NGINX_KEYS = (
    "use-forwarded-headers",
    "compute-full-forwarded-for",
    "forwarded-for-header",
    "proxy-real-ip-cidr",
    "use-proxy-protocol",
    "enable-real-ip",
)
"""The ingress-nginx ConfigMap keys that decide which address reaches the app."""

KUBECTL_COMMAND = "kubectl get svc,ingress,configmap -A -o json"


class DoctorInputError(ValueError):
    """The input is not a readable set of Kubernetes objects."""


@dataclass(frozen=True)
class Finding:
    """One observation about an object: a level, a stable code, a sentence, maybe a fix."""

    level: str
    code: str
    message: str
    fix: Optional[str] = None

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready form."""
        out: Dict[str, Any] = {"level": self.level, "code": self.code, "message": self.message}
        if self.fix is not None:
            out["fix"] = self.fix
        return out


@dataclass
class Entry:
    """The verdict on one Service, Ingress or ingress-nginx ConfigMap."""

    kind: str
    namespace: str
    name: str
    role: str
    summary: str
    topology: Optional[str]
    client_ip: str
    findings: List[Finding] = field(default_factory=list)
    settings: Dict[str, str] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """``Kind namespace/name``."""
        return f"{self.kind} {self.namespace}/{self.name}"

    @property
    def loses_client_ip(self) -> bool:
        """True when the app cannot get the real client address through this object."""
        return self.client_ip in _BAD

    def codes(self) -> List[str]:
        """The codes of the findings, in order (handy in tests and scripts)."""
        return [f.code for f in self.findings]

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "role": self.role,
            "summary": self.summary,
            "topology": self.topology,
            "client_ip": self.client_ip,
            "loses_client_ip": self.loses_client_ip,
            "findings": [f.as_dict() for f in self.findings],
            "settings": dict(self.settings),
        }


@dataclass
class Report:
    """Everything ``realip doctor`` found, in a form for people (:meth:`render`) or tools."""

    entries: List[Entry]
    notes: List[str] = field(default_factory=list)

    @property
    def loses_client_ip(self) -> bool:
        """True when at least one object loses (or lets clients forge) the client IP."""
        return any(e.loses_client_ip for e in self.entries)

    @property
    def exit_code(self) -> int:
        """0 when nothing loses the client IP, 1 otherwise."""
        return 1 if self.loses_client_ip else 0

    def find(self, kind: str, namespace: str, name: str) -> Entry:
        """The entry for one object; KeyError if the report has none."""
        for entry in self.entries:
            if (entry.kind, entry.namespace, entry.name) == (kind, namespace, name):
                return entry
        raise KeyError(f"{kind} {namespace}/{name}")

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready form (what ``--json`` prints)."""
        return {
            "loses_client_ip": self.loses_client_ip,
            "exit_code": self.exit_code,
            "entries": [e.as_dict() for e in self.entries],
            "notes": list(self.notes),
        }

    def render(self) -> str:
        """Readable text (what ``realip doctor`` prints by default)."""
        out: List[str] = []
        wrap = textwrap.TextWrapper(width=100, break_long_words=False, break_on_hyphens=False)
        for entry in self.entries:
            out.append(f"{entry.ref}  ({entry.summary})")
            if entry.topology is not None and entry.role == "ingress-controller":
                out.append(
                    f"  arrives:   {entry.topology} (what reaches the ingress controller; "
                    "realip runs behind it)"
                )
            elif entry.topology is not None:
                out.append(f"  topology:  {entry.topology}")
            verdict = entry.client_ip.upper() if entry.loses_client_ip else entry.client_ip
            out.append(f"  client IP: {verdict}")
            for finding in entry.findings:
                wrap.initial_indent = f"  {finding.level.upper():<8}"
                wrap.subsequent_indent = " " * 10
                out.append(wrap.fill(finding.message))
                if finding.fix:
                    wrap.initial_indent = " " * 10 + "fix: "
                    wrap.subsequent_indent = " " * 15
                    out.append(wrap.fill(finding.fix))
            if entry.settings:
                env = " ".join(f"{k}={v}" for k, v in entry.settings.items())
                out.append(f"  settings:  {env}")
            out.append("")
        for note in self.notes:
            wrap.initial_indent = "note: "
            wrap.subsequent_indent = "      "
            out.append(wrap.fill(note))
        if self.notes:
            out.append("")
        bad = [e.ref for e in self.entries if e.loses_client_ip]
        if bad:
            out.append(f"The client IP is lost or forgeable at: {', '.join(bad)}.")
        else:
            out.append("The client IP survives every path in this input.")
        return "\n".join(out) + "\n"


# -- reading ----------------------------------------------------------------------------


def _flatten(value: Any, out: List[Dict[str, Any]]) -> None:
    if isinstance(value, list):
        for item in value:
            _flatten(item, out)
    elif isinstance(value, dict):
        kind = value.get("kind")
        if isinstance(value.get("items"), list) and (
            kind is None or (isinstance(kind, str) and kind.endswith("List"))
        ):
            _flatten(value["items"], out)
        else:
            out.append(value)
    elif value is not None:
        raise DoctorInputError(
            f"expected Kubernetes objects (JSON objects with a 'kind'), found the "
            f"{type(value).__name__} {str(value)[:40]!r}"
        )


def _json_documents(text: str) -> List[Any]:
    decoder = json.JSONDecoder()
    docs: List[Any] = []
    pos = 0
    length = len(text)
    while True:
        while pos < length and text[pos] in " \t\r\n":
            pos += 1
        if pos >= length:
            return docs
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)


def _yaml_documents(text: str) -> Optional[List[Any]]:
    try:
        # PyYAML is optional: YAML input works when it happens to be installed.
        yaml = importlib.import_module("yaml")
    except ImportError:
        return None
    try:
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as exc:
        raise DoctorInputError(f"neither JSON nor YAML: {exc}") from None


def parse_objects(text: str) -> List[Dict[str, Any]]:
    """Kubernetes objects from JSON (a List, one object, several objects) or YAML.

    Raises :class:`DoctorInputError` with a readable message when the text is neither.
    """
    if not text.strip():
        raise DoctorInputError(f"the input is empty; feed it the output of `{KUBECTL_COMMAND}`")
    try:
        docs = _json_documents(text)
    except json.JSONDecodeError as exc:
        yaml_docs = _yaml_documents(text)
        if yaml_docs is None:
            raise DoctorInputError(
                f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                "YAML input needs PyYAML (pip install pyyaml)"
            ) from None
        docs = yaml_docs
    objects: List[Dict[str, Any]] = []
    for doc in docs:
        _flatten(doc, objects)
    if not objects:
        raise DoctorInputError(f"no Kubernetes objects found; feed it `{KUBECTL_COMMAND}`")
    for obj in objects:
        if not isinstance(obj.get("kind"), str):
            raise DoctorInputError(
                f"an object has no 'kind' (keys: {', '.join(sorted(map(str, obj))[:6])}); "
                f"feed it `{KUBECTL_COMMAND}`"
            )
    return objects


# -- object views -----------------------------------------------------------------------


def _d(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> List[Any]:
    return value if isinstance(value, list) else []


def _s(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        # YAML turns an unquoted true into a bool; Kubernetes would have stored "true".
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _strmap(value: Any) -> Dict[str, str]:
    return {_s(k): _s(v) for k, v in _d(value).items()}


@dataclass(frozen=True)
class _Obj:
    kind: str
    namespace: str
    name: str
    labels: Dict[str, str]
    annotations: Dict[str, str]
    spec: Dict[str, Any]
    data: Dict[str, str]
    status: Dict[str, Any]

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> _Obj:
        meta = _d(raw.get("metadata"))
        return cls(
            kind=_s(raw.get("kind")),
            namespace=_s(meta.get("namespace")) or "default",
            name=_s(meta.get("name")) or "<unnamed>",
            labels=_strmap(meta.get("labels")),
            annotations=_strmap(meta.get("annotations")),
            spec=_d(raw.get("spec")),
            data=_strmap(raw.get("data")),
            status=_d(raw.get("status")),
        )

    @property
    def key(self) -> Tuple[str, str]:
        return (self.namespace, self.name)


def _bool(text: str) -> Optional[bool]:
    # The values Go's strconv.ParseBool accepts, which is what ingress-nginx uses.
    value = text.strip()
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if value in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    return None


def _ports(svc: _Obj) -> str:
    shown = []
    for port in _l(svc.spec.get("ports")):
        port = _d(port)
        text = _s(port.get("port"))
        target = _s(port.get("targetPort"))
        if target and target != text:
            text += f"->{target}"
        node_port = _s(port.get("nodePort"))
        if node_port and _s(svc.spec.get("type")) in ("NodePort", "LoadBalancer"):
            text += f" (node {node_port})"
        shown.append(f"{text}/{_s(port.get('protocol')) or 'TCP'}")
    return ", ".join(shown)


def _service_type(svc: _Obj) -> str:
    return _s(svc.spec.get("type")) or "ClusterIP"


def _etp(svc: _Obj) -> str:
    return _s(svc.spec.get("externalTrafficPolicy")) or "Cluster"


def _service_summary(svc: _Obj) -> str:
    stype = _service_type(svc)
    parts = [stype]
    if stype in ("NodePort", "LoadBalancer"):
        parts.append(f"externalTrafficPolicy: {_etp(svc)}")
    lb_class = _s(svc.spec.get("loadBalancerClass"))
    if lb_class:
        parts.append(f"loadBalancerClass: {lb_class}")
    ports = _ports(svc)
    if ports:
        parts.append(ports)
    return ", ".join(parts)


# -- what arrives at a Service's pods ---------------------------------------------------

# Front kinds: how a request reaches the pods behind a Service.
_INTERNAL = "internal"  # ClusterIP: from other pods
_DIRECT = "direct"  # the peer is the client
_SNAT = "snat"  # the peer is a node: the client is gone
_PROXIED = "proxied"  # an L4 proxy opened its own connection: the client is gone
_HTTP = "http"  # an L7 load balancer: peer = LB, client in X-Forwarded-For
_PROXY_PROTOCOL = "proxy-protocol"  # a PROXY header carries the client


@dataclass
class _Front:
    kind: str
    topology: str
    findings: List[Finding]
    lb_cidrs: Optional[str] = None

    @property
    def client_ip(self) -> str:
        if self.kind in (_SNAT, _PROXIED):
            return LOST
        if self.kind == _PROXY_PROTOCOL:
            return UNKNOWN
        return PRESERVED


def _snat_finding(svc: _Obj, what: str, after: str) -> Finding:
    return Finding(
        ERROR,
        "snat",
        f"externalTrafficPolicy is {_etp(svc)} on this {what}: kube-proxy may pass a request "
        "to a pod on another node, and then source-NATs it, so the app sees that node's IP "
        "instead of the client's (the seed's 'node 2' case); which requests keep their client "
        "IP depends on the node they hit.",
        f"set spec.externalTrafficPolicy: Local (only nodes running a pod then receive traffic, "
        f"and they keep the client's address); then use REALIP_TOPOLOGY={after}",
    )


def _ali(ann: Mapping[str, str], suffix: str) -> Optional[str]:
    for prefix in _ALI_PREFIXES:
        if prefix + suffix in ann:
            return ann[prefix + suffix]
    return None


def _parse_protocol_ports(text: str) -> Tuple[List[Tuple[str, str]], List[str]]:
    listeners: List[Tuple[str, str]] = []
    bad: List[str] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        proto, sep, port = item.partition(":")
        if not sep or not port.strip().isdigit() or not proto.strip():
            bad.append(item)
            continue
        listeners.append((proto.strip().lower(), port.strip()))
    return listeners, bad


def _alibaba_front(svc: _Obj) -> _Front:
    ann = svc.annotations
    findings: List[Finding] = []
    nlb = _s(svc.spec.get("loadBalancerClass")) == _ALI_NLB_CLASS
    product = "Alibaba Cloud NLB" if nlb else "Alibaba Cloud SLB (CLB)"
    eni = ann.get(_ALI_BACKEND_TYPE, "").strip().lower() == "eni"
    proxy = (_ali(ann, "loadbalancer-proxy-protocol") or "").strip().lower() == "on"
    listeners: List[Tuple[str, str]] = []
    protocol_port = _ali(ann, "loadbalancer-protocol-port")
    if protocol_port is not None:
        listeners, bad = _parse_protocol_ports(protocol_port)
        if bad:
            findings.append(
                Finding(
                    WARNING,
                    "alibaba-protocol-port-unreadable",
                    f"alibaba-cloud-loadbalancer-protocol-port {protocol_port!r}: cannot read "
                    f"{', '.join(repr(b) for b in bad)}; expected entries like 'http:80,https:443'",
                )
            )
    l7 = [f"{p}:{port}" for p, port in listeners if p in ("http", "https")]
    l4 = [f"{p}:{port}" for p, port in listeners if p not in ("http", "https")]
    kube_proxy = not eni
    if eni:
        findings.append(
            Finding(
                INFO,
                "alibaba-eni-backend",
                f"{_ALI_BACKEND_TYPE}: eni: the {product} sends straight to the pods' ENI "
                "addresses (Terway), so kube-proxy and externalTrafficPolicy are not in the path",
            )
        )
    if l7 and not nlb:
        front = _Front(_HTTP, LB_HTTP, findings, ALIBABA_SLB_RANGE)
        findings.append(
            Finding(
                INFO,
                "alibaba-http-listener",
                f"alibaba-cloud-loadbalancer-protocol-port {protocol_port!r}: HTTP/HTTPS listener "
                f"({', '.join(l7)}): the SLB terminates HTTP, connects to the pods from "
                f"{ALIBABA_SLB_RANGE} and appends the client to X-Forwarded-For (seed: 'SLB "
                "listening on HTTP: take X-Forwarded-For')",
            )
        )
        if l4:
            findings.append(
                Finding(
                    INFO,
                    "alibaba-mixed-listeners",
                    f"TCP/UDP listeners ({', '.join(l4)}) pass the client through as the peer; the "
                    f"lb-http settings still work for them because a client is never in "
                    f"{ALIBABA_SLB_RANGE}",
                )
            )
        if proxy:
            findings.append(
                Finding(
                    INFO,
                    "alibaba-proxy-protocol-l4-only",
                    "alibaba-cloud-loadbalancer-proxy-protocol: on applies to the TCP/UDP "
                    "listeners only; the HTTP listeners still use X-Forwarded-For",
                )
            )
    elif proxy:
        front = _Front(_PROXY_PROTOCOL, LB_TCP, findings)
        findings.append(
            _proxy_protocol_finding(
                f"alibaba-cloud-loadbalancer-proxy-protocol: on: the {product} sends a PROXY "
                "protocol header with the client's address at the start of every TCP connection"
            )
        )
    else:
        front = _Front(_DIRECT, LB_TCP, findings)
        shown = f" ({', '.join(l4)})" if l4 else " (the default when no protocol-port is set)"
        findings.append(
            Finding(
                INFO,
                "alibaba-tcp-listener",
                f"{product} TCP listener{shown}: layer-4 pass-through, the client's address "
                "arrives as the peer and no header is added (seed: 'SLB listening on TCP: take "
                "remote_addr')",
            )
        )
    if kube_proxy:
        _apply_etp(svc, front, "LoadBalancer Service")
    return front


def _proxy_protocol_finding(what: str) -> Finding:
    # realip decodes PROXY headers in the app's server since the lb-tcp-proxy topology
    # (docs/how-to/proxy-protocol.md); a plain HTTP server still answers them with 400.
    return Finding(
        WARNING,
        "proxy-protocol",
        f"{what}. A plain HTTP server answers such connections with 400: the app's server, or "
        "something in front of it, must decode the PROXY header before HTTP.",
        "decode it in the app's server with REALIP_TOPOLOGY=lb-tcp-proxy and REALIP_LB_CIDRS="
        "<the load balancer's source range> (plus REALIP_NODE_CIDRS under externalTrafficPolicy: "
        "Cluster): uvicorn --http realip.uvicorn:H11ProxyProtocol, gunicorn --proxy-protocol via "
        "-c python:realip.gunicorn, realip serve --proxy-protocol; or decode it in front of the "
        'app (ingress-nginx use-proxy-protocol: "true", nginx `listen ... proxy_protocol` with '
        "`real_ip_header proxy_protocol`, HAProxy `accept-proxy`) and use that hop's topology; "
        "or turn PROXY protocol off",
    )


def _aws_attributes(text: str) -> Dict[str, str]:
    attrs: Dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if sep:
            attrs[key.strip()] = value.strip().lower()
    return attrs


def _aws_front(svc: _Obj) -> _Front:
    ann = svc.annotations
    findings: List[Finding] = []
    lb_type = ann.get(_AWS_PREFIX + "type", "").strip().lower()
    lb_class = _s(svc.spec.get("loadBalancerClass"))
    attrs = _aws_attributes(ann.get(_AWS_PREFIX + "target-group-attributes", ""))
    proxy = ann.get(_AWS_PREFIX + "proxy-protocol", "").strip() == "*" or (
        attrs.get("proxy_protocol_v2.enabled") == "true"
    )
    if lb_class == _AWS_NLB_CLASS or lb_type in ("external", "nlb-ip"):
        target = (
            "ip"
            if lb_type == "nlb-ip"
            else (ann.get(_AWS_PREFIX + "nlb-target-type", "").strip().lower() or "instance")
        )
        default_preserve = target != "ip"
        preserve_text = attrs.get("preserve_client_ip.enabled")
        preserve = default_preserve if preserve_text is None else preserve_text == "true"
        how = "" if preserve_text is None else f" (preserve_client_ip.enabled={preserve_text})"
        findings.append(
            Finding(
                INFO,
                "aws-nlb",
                f"AWS Network Load Balancer from the AWS Load Balancer Controller, {target} targets"
                f"{how}: layer 4, no X-Forwarded-For",
            )
        )
        if proxy:
            front = _Front(_PROXY_PROTOCOL, LB_TCP, findings)
            findings.append(
                _proxy_protocol_finding(
                    'PROXY protocol v2 is on (aws-load-balancer-proxy-protocol: "*" or '
                    "proxy_protocol_v2.enabled=true): the NLB prepends a PROXY header with the "
                    "client's address to every connection"
                )
            )
        elif not preserve:
            front = _Front(_PROXIED, LB_TCP, findings)
            findings.append(
                Finding(
                    ERROR,
                    "aws-nlb-client-ip-not-preserved",
                    f"client IP preservation is off for these {target} targets (AWS's default for "
                    "IP targets over TCP/TLS): the pods see the NLB's private address, and nothing "
                    "carries the client's",
                    "add preserve_client_ip.enabled=true to service.beta.kubernetes.io/"
                    "aws-load-balancer-target-group-attributes (then REALIP_TOPOLOGY=lb-tcp), or "
                    "enable PROXY protocol and decode it in front of the app",
                )
            )
        else:
            front = _Front(_DIRECT, LB_TCP, findings)
        if target == "ip":
            findings.append(
                Finding(
                    INFO,
                    "aws-ip-targets",
                    "IP targets: the NLB sends straight to pod IPs, so kube-proxy and "
                    "externalTrafficPolicy are not in the path",
                )
            )
        else:
            _apply_etp(svc, front, "LoadBalancer Service")
        return front
    if lb_type == "nlb":
        findings.append(
            Finding(
                INFO,
                "aws-nlb",
                "AWS Network Load Balancer (in-tree controller, instance targets): layer-4 "
                "pass-through, the client's address arrives as the peer, no X-Forwarded-For",
            )
        )
        if proxy:
            front = _Front(_PROXY_PROTOCOL, LB_TCP, findings)
            findings.append(
                _proxy_protocol_finding(
                    'aws-load-balancer-proxy-protocol: "*": the load balancer prepends a PROXY '
                    "header with the client's address to every connection"
                )
            )
        else:
            front = _Front(_DIRECT, LB_TCP, findings)
        _apply_etp(svc, front, "LoadBalancer Service")
        return front
    # No type annotation on AWS: the in-tree controller builds a Classic ELB.
    backend = ann.get(_AWS_PREFIX + "backend-protocol", "").strip().lower() or "tcp"
    if backend in ("http", "https"):
        front = _Front(_HTTP, LB_HTTP, findings, VPC_CIDR)
        findings.append(
            Finding(
                INFO,
                "aws-elb-http",
                f"Classic ELB with aws-load-balancer-backend-protocol: {backend}: the ELB "
                "terminates HTTP and appends the client to X-Forwarded-For; it connects from "
                "addresses in your VPC, and so do the nodes when kube-proxy forwards, so trust the "
                "VPC CIDR",
            )
        )
        return front
    if proxy:
        findings.append(
            Finding(
                INFO,
                "aws-elb-tcp",
                f"Classic ELB with a {backend.upper()} listener: the ELB opens its own connection "
                "to the nodes",
            )
        )
        findings.append(
            _proxy_protocol_finding(
                'aws-load-balancer-proxy-protocol: "*": the ELB prepends a PROXY protocol v1 '
                "header with the client's address to every connection"
            )
        )
        return _Front(_PROXY_PROTOCOL, LB_TCP, findings)
    findings.append(
        Finding(
            ERROR,
            "aws-elb-tcp",
            f"Classic ELB with a {backend.upper()} listener (no aws-load-balancer-type annotation, "
            "so the in-tree controller builds a Classic ELB): the ELB opens its own connection to "
            "the nodes, the app sees the ELB's address and nothing carries the client's",
            "use an NLB (service.beta.kubernetes.io/aws-load-balancer-type: nlb, with "
            "externalTrafficPolicy: Local), or set aws-load-balancer-backend-protocol: http to get "
            "X-Forwarded-For (then REALIP_TOPOLOGY=lb-http), or enable "
            'aws-load-balancer-proxy-protocol: "*" and decode it in front of the app',
        )
    )
    return _Front(_PROXIED, LB_TCP, findings)


def _gcp_front(svc: _Obj) -> _Front:
    ann = svc.annotations
    findings: List[Finding] = []
    internal = any(ann.get(key, "").strip().lower() == "internal" for key in _GCP_LB_TYPE)
    if internal:
        what = "GKE internal passthrough Network Load Balancer"
    elif ann.get(_GCP_RBS, "").strip().lower() == "enabled":
        what = (
            "GKE backend service-based external passthrough Network Load Balancer "
            f"({_GCP_RBS}: enabled)"
        )
    else:
        what = "GKE passthrough Network Load Balancer"
    findings.append(
        Finding(
            INFO,
            "gcp-passthrough",
            f"{what}: not a proxy, packets keep the client's source address and no header is added",
        )
    )
    front = _Front(_DIRECT, LB_TCP, findings)
    _apply_etp(svc, front, "LoadBalancer Service")
    return front


def _apply_etp(svc: _Obj, front: _Front, what: str) -> None:
    if _etp(svc) == "Local":
        front.findings.append(
            Finding(
                INFO,
                "etp-local",
                "externalTrafficPolicy: Local: only nodes running a pod of this Service take "
                "traffic and they deliver it without SNAT, so the source address is kept",
            )
        )
        return
    if front.kind == _PROXY_PROTOCOL:
        front.findings.append(
            Finding(
                INFO,
                "etp-cluster-proxy-protocol",
                "externalTrafficPolicy is Cluster, so kube-proxy may SNAT the connection, but the "
                "client's address travels inside the PROXY header and survives",
            )
        )
        return
    if front.kind in (_DIRECT, _HTTP):
        after = front.topology
        front.findings.append(_snat_finding(svc, what, after))
        front.kind = _SNAT


def _generic_lb_front(svc: _Obj) -> _Front:
    findings = [
        Finding(
            INFO,
            "lb-assumed-l4",
            "no load-balancer annotation realip knows: assuming a layer-4 pass-through load "
            "balancer (the client's address arrives as the peer); if yours terminates HTTP and "
            "adds X-Forwarded-For, use REALIP_TOPOLOGY=lb-http with REALIP_LB_CIDRS=<its address "
            "range>",
        )
    ]
    front = _Front(_DIRECT, LB_TCP, findings)
    _apply_etp(svc, front, "LoadBalancer Service")
    return front


def _service_front(svc: _Obj) -> _Front:
    stype = _service_type(svc)
    if stype == "NodePort":
        if _etp(svc) == "Local":
            return _Front(
                _DIRECT,
                NODEPORT_LOCAL,
                [
                    Finding(
                        INFO,
                        "etp-local",
                        "NodePort with externalTrafficPolicy: Local: clients must hit a node running a "
                        "pod of this Service, and that node delivers the packet with the client's "
                        "address as the peer",
                    )
                ],
            )
        return _Front(
            _SNAT, NODEPORT_CLUSTER, [_snat_finding(svc, "NodePort Service", NODEPORT_LOCAL)]
        )
    if stype == "LoadBalancer":
        ann = svc.annotations
        lb_class = _s(svc.spec.get("loadBalancerClass"))
        if lb_class == _ALI_NLB_CLASS or any(k.startswith(_ALI_PREFIXES) for k in ann):
            return _alibaba_front(svc)
        if lb_class == _AWS_NLB_CLASS or any(k.startswith(_AWS_PREFIX) for k in ann):
            return _aws_front(svc)
        if _GCP_RBS in ann or any(k in ann for k in _GCP_LB_TYPE):
            return _gcp_front(svc)
        return _generic_lb_front(svc)
    return _Front(
        _INTERNAL,
        POD_TO_POD,
        [
            Finding(
                INFO,
                "cluster-ip",
                "ClusterIP: reachable from inside the cluster only; the peer is the calling pod's IP "
                "and no proxy header is added",
            )
        ],
    )


def _settings(topology: str, lb_cidrs: Optional[str] = None) -> Dict[str, str]:
    out = {"REALIP_TOPOLOGY": topology}
    if topology == NODEPORT_CLUSTER:
        out["REALIP_NODE_CIDRS"] = NODE_CIDR
    if topology == INGRESS:
        out["REALIP_POD_CIDRS"] = POD_CIDR
    if lb_cidrs is not None and topology in (LB_HTTP, INGRESS):
        out["REALIP_LB_CIDRS"] = lb_cidrs
    return out


# -- ingress-nginx ----------------------------------------------------------------------


@dataclass
class _NginxConfig:
    source: Optional[_Obj]
    use_forwarded_headers: bool = False
    compute_full: bool = False
    forwarded_for_header: str = "X-Forwarded-For"
    real_ip_cidrs: Tuple[str, ...] = ("0.0.0.0/0",)
    use_proxy_protocol: bool = False
    enable_real_ip: bool = False
    findings: List[Finding] = field(default_factory=list)

    @property
    def realip_module(self) -> bool:
        return self.use_forwarded_headers or self.enable_real_ip or self.use_proxy_protocol

    @property
    def reads_header(self) -> bool:
        return (self.use_forwarded_headers or self.enable_real_ip) and not self.use_proxy_protocol

    @property
    def full_chain(self) -> bool:
        return self.use_forwarded_headers and self.compute_full

    def trusts_everyone(self) -> bool:
        for text in self.real_ip_cidrs:
            try:
                if ipaddress.ip_network(text, strict=False).prefixlen == 0:
                    return True
            except ValueError:
                continue
        return False

    def trusts(self, cidrs: str) -> Optional[bool]:
        """Whether proxy-real-ip-cidr covers every range in ``cidrs``; None if unknowable."""
        try:
            wanted = [ipaddress.ip_network(c.strip(), strict=False) for c in cidrs.split(",")]
        except ValueError:
            return None
        trusted = []
        for text in self.real_ip_cidrs:
            try:
                trusted.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                continue
        return all(
            any(
                w.version == t.version
                and int(t.network_address) <= int(w.network_address)
                and int(w.broadcast_address) <= int(t.broadcast_address)
                for t in trusted
            )
            for w in wanted
        )


def _is_nginx_configmap(cm: _Obj) -> bool:
    if cm.name in _NGINX_NOT_CONFIG:
        return False
    if cm.name in _NGINX_CONFIGMAP_NAMES:
        return True
    return cm.labels.get("app.kubernetes.io/name") == "ingress-nginx" and (
        cm.labels.get("app.kubernetes.io/component", "controller") == "controller"
    )


def _is_nginx_service(svc: _Obj) -> bool:
    if svc.name.endswith(("-admission", "-metrics")):
        return False
    return _is_nginx_related(svc)


def _is_nginx_related(svc: _Obj) -> bool:
    if svc.name in _NGINX_SERVICE_NAMES:
        return True
    if svc.labels.get("app.kubernetes.io/name") == "ingress-nginx":
        return svc.labels.get("app.kubernetes.io/component", "controller") == "controller"
    return svc.labels.get("app") in _NGINX_APP_LABELS


def _is_nginx_front(svc: _Obj) -> bool:
    return _is_nginx_service(svc) and _service_type(svc) in ("LoadBalancer", "NodePort")


def _nginx_config(cm: Optional[_Obj]) -> _NginxConfig:
    cfg = _NginxConfig(cm)
    if cm is None:
        return cfg
    data = cm.data
    for key, attr in (
        ("use-forwarded-headers", "use_forwarded_headers"),
        ("compute-full-forwarded-for", "compute_full"),
        ("use-proxy-protocol", "use_proxy_protocol"),
        ("enable-real-ip", "enable_real_ip"),
    ):
        if key in data:
            value = _bool(data[key])
            if value is None:
                cfg.findings.append(
                    Finding(
                        WARNING,
                        "nginx-bad-boolean",
                        f"{key}: {data[key]!r} is not a boolean ingress-nginx understands; it "
                        "falls back to false",
                        f'write {key}: "true" or "false"',
                    )
                )
            else:
                setattr(cfg, attr, value)
    header = data.get("forwarded-for-header", "").strip()
    if header:
        cfg.forwarded_for_header = header
    if "proxy-real-ip-cidr" in data:
        cidrs = tuple(c.strip() for c in data["proxy-real-ip-cidr"].split(",") if c.strip())
        bad = []
        for text in cidrs:
            try:
                ipaddress.ip_network(text, strict=False)
            except ValueError:
                bad.append(text)
        if bad:
            cfg.findings.append(
                Finding(
                    WARNING,
                    "nginx-bad-cidr",
                    f"proxy-real-ip-cidr: {', '.join(repr(b) for b in bad)} is not a CIDR; nginx "
                    "refuses a configuration with an invalid set_real_ip_from",
                    "list CIDRs separated by commas, e.g. 100.64.0.0/10,10.0.0.0/8",
                )
            )
        cfg.real_ip_cidrs = cidrs or ("0.0.0.0/0",)
    cfg.findings.extend(_nginx_key_meanings(cfg, data))
    return cfg


def _nginx_key_meanings(cfg: _NginxConfig, data: Mapping[str, str]) -> List[Finding]:
    def shown(key: str, default: str) -> str:
        return f"{key}: {data[key]!r}" if key in data else f"{key}: {default!r} (default)"

    out = []
    if cfg.use_forwarded_headers:
        text = (
            "ingress-nginx believes X-Forwarded-For/-Proto/-Host from whoever connects "
            "(within proxy-real-ip-cidr): right behind an HTTP load balancer, a spoofing "
            "hole when clients connect directly"
        )
    else:
        text = (
            "ingress-nginx ignores incoming X-Forwarded-* and sends the app X-Forwarded-For: "
            "<its own peer>; right when clients or a layer-4 load balancer connect to it"
        )
    out.append(
        Finding(
            INFO,
            "nginx-use-forwarded-headers",
            f"{shown('use-forwarded-headers', 'false')}: {text}",
        )
    )
    if cfg.full_chain:
        text = (
            "X-Forwarded-For reaching the app is the incoming list plus the address "
            "ingress-nginx received the connection from; realip must trust every proxy in "
            "that list (REALIP_LB_CIDRS)"
        )
    elif cfg.compute_full:
        text = 'has no effect without use-forwarded-headers: "true"'
    else:
        text = (
            "X-Forwarded-For reaching the app holds one address: the one ingress-nginx "
            "decided is the client"
        )
    out.append(
        Finding(
            INFO,
            "nginx-compute-full-forwarded-for",
            f"{shown('compute-full-forwarded-for', 'false')}: {text}",
        )
    )
    out.append(
        Finding(
            INFO,
            "nginx-forwarded-for-header",
            f"{shown('forwarded-for-header', 'X-Forwarded-For')}: the header ingress-nginx reads "
            "the client from when use-forwarded-headers or enable-real-ip is on; the app still "
            "receives X-Forwarded-For (the original as X-Original-Forwarded-For), so realip keeps "
            "reading X-Forwarded-For",
        )
    )
    if cfg.trusts_everyone():
        text = (
            "nginx trusts every peer to set the client address (set_real_ip_from "
            "0.0.0.0/0); only safe if nothing but your load balancer can reach ingress-nginx"
        )
    else:
        text = (
            "only these peers may set the client address (set_real_ip_from); it must "
            "cover your load balancer's range"
        )
    out.append(
        Finding(
            INFO, "nginx-proxy-real-ip-cidr", f"{shown('proxy-real-ip-cidr', '0.0.0.0/0')}: {text}"
        )
    )
    if cfg.use_proxy_protocol:
        text = (
            "ingress-nginx expects a PROXY protocol header on every connection and takes "
            "the client from it; the load balancer must send one"
        )
    else:
        text = "connections are plain HTTP/TLS; a load balancer must not send PROXY headers"
    out.append(
        Finding(INFO, "nginx-use-proxy-protocol", f"{shown('use-proxy-protocol', 'false')}: {text}")
    )
    if cfg.enable_real_ip:
        text = (
            "turns on nginx's realip module with forwarded-for-header and "
            "proxy-real-ip-cidr, even without use-forwarded-headers"
        )
    else:
        text = "the realip module is on only with use-forwarded-headers or use-proxy-protocol"
    out.append(Finding(INFO, "nginx-enable-real-ip", f"{shown('enable-real-ip', 'false')}: {text}"))
    return out


def _nginx_verdict(
    front: Optional[_Front], cfg: _NginxConfig
) -> Tuple[str, List[Finding], Dict[str, str]]:
    """What the app behind ingress-nginx gets, given what reaches the controller."""
    findings: List[Finding] = []
    kind = front.kind if front is not None else None
    lb_cidrs = front.lb_cidrs if front is not None else None
    where = ("ConfigMap " + "/".join(cfg.source.key)) if cfg.source is not None else "defaults"
    settings = _settings(INGRESS)

    if kind in (_SNAT, _PROXIED):
        findings.append(
            Finding(
                ERROR,
                "controller-loses-client-ip",
                "the ingress controller's Service already loses the client IP (see its entry): "
                "ingress-nginx sees a node or load-balancer address and passes that on",
                "fix the controller Service first (externalTrafficPolicy: Local, or PROXY protocol "
                "on both the load balancer and ingress-nginx)",
            )
        )
        return LOST, findings, settings
    if kind == _PROXY_PROTOCOL and not cfg.use_proxy_protocol:
        findings.append(
            Finding(
                ERROR,
                "proxy-protocol-mismatch",
                f"the load balancer sends PROXY protocol headers but ingress-nginx ({where}) does "
                "not expect them: nginx reads the PROXY line as a broken request and answers 400",
                'set use-proxy-protocol: "true" in the ingress-nginx ConfigMap',
            )
        )
        return LOST, findings, settings
    if cfg.use_proxy_protocol and kind != _PROXY_PROTOCOL:
        if kind is None:
            findings.append(
                Finding(
                    WARNING,
                    "proxy-protocol-unverified",
                    "use-proxy-protocol is on: make sure whatever is in front of ingress-nginx sends "
                    "PROXY headers, or every request fails",
                )
            )
        else:
            findings.append(
                Finding(
                    ERROR,
                    "proxy-protocol-mismatch",
                    "use-proxy-protocol is on but the controller's load balancer does not send "
                    "PROXY headers: nginx waits for one and rejects every request",
                    "enable PROXY protocol on the load balancer (annotation on the controller "
                    'Service), or set use-proxy-protocol: "false"',
                )
            )
            return LOST, findings, settings
    if cfg.use_proxy_protocol:
        findings.append(
            Finding(
                INFO,
                "nginx-proxy-protocol",
                "ingress-nginx takes the client from the PROXY header and sends it on in "
                "X-Forwarded-For",
            )
        )
        return PRESERVED, findings, settings

    if kind == _HTTP:
        header = cfg.forwarded_for_header.lower()
        if not cfg.reads_header:
            findings.append(
                Finding(
                    ERROR,
                    "nginx-ignores-lb-header",
                    "an HTTP load balancer in front of ingress-nginx puts the client in "
                    "X-Forwarded-For, but use-forwarded-headers is off: ingress-nginx replaces it "
                    "with the load balancer's own address",
                    f'set use-forwarded-headers: "true" and proxy-real-ip-cidr: '
                    f'"{lb_cidrs or "<the load balancer range>"}" in the ingress-nginx ConfigMap',
                )
            )
            return LOST, findings, settings
        if header != "x-forwarded-for":
            findings.append(
                Finding(
                    ERROR,
                    "nginx-wrong-header",
                    f"ingress-nginx reads the client from {cfg.forwarded_for_header}, but the load "
                    "balancer writes X-Forwarded-For: nginx keeps the load balancer's address",
                    "remove forwarded-for-header (default X-Forwarded-For)",
                )
            )
            return LOST, findings, settings
        covered = cfg.trusts(lb_cidrs) if lb_cidrs else None
        if covered is False:
            findings.append(
                Finding(
                    ERROR,
                    "nginx-lb-not-trusted",
                    f"proxy-real-ip-cidr ({', '.join(cfg.real_ip_cidrs)}) does not cover the load "
                    f"balancer's range {lb_cidrs}: nginx ignores its X-Forwarded-For and keeps the "
                    "load balancer's address",
                    f"add {lb_cidrs} to proxy-real-ip-cidr",
                )
            )
            return LOST, findings, settings
        if cfg.full_chain:
            settings = _settings(INGRESS, lb_cidrs or "<the load balancer range>")
            findings.append(
                Finding(
                    INFO,
                    "nginx-full-chain",
                    "X-Forwarded-For reaches the app as '<what the client sent>, <client>, <load "
                    "balancer>' (the load balancer appended the client, ingress-nginx the load "
                    "balancer): realip must trust the load balancer's range as well as the pods",
                )
            )
            if cfg.trusts_everyone():
                findings.append(
                    _nginx_spoofable_addr_warning(
                        "realip is not fooled: it walks X-Forwarded-For from the right, where "
                        "ingress-nginx appended the load balancer's address and the load balancer "
                        "appended the client's"
                    )
                )
            return PRESERVED, findings, settings
        if cfg.trusts_everyone():
            findings.append(_nginx_spoofable_error(lb_cidrs or "<your load balancer range>"))
            return SPOOFABLE, findings, settings
        findings.append(
            Finding(
                INFO,
                "nginx-trusted-lb",
                "ingress-nginx trusts only the load balancer's range and passes the client on in "
                "X-Forwarded-For",
            )
        )
        return PRESERVED, findings, settings

    # Clients (or a pass-through load balancer) connect to ingress-nginx directly.
    if kind is None:
        findings.append(
            Finding(
                INFO,
                "controller-service-not-found",
                "the ingress controller's Service is not in this input; assuming clients reach "
                "ingress-nginx directly (a LoadBalancer or NodePort Service with "
                "externalTrafficPolicy: Local)",
            )
        )
    if cfg.reads_header and cfg.trusts_everyone():
        if cfg.full_chain:
            findings.append(
                _nginx_spoofable_addr_warning(
                    "realip is not fooled: ingress-nginx appends the real peer to the right of "
                    "X-Forwarded-For, which is where realip looks"
                )
            )
            return PRESERVED, findings, settings
        findings.append(_nginx_spoofable_error(None))
        return SPOOFABLE, findings, settings
    if cfg.reads_header:
        findings.append(
            Finding(
                INFO,
                "nginx-forwarded-headers-unneeded",
                "use-forwarded-headers/enable-real-ip is on but nothing in front of ingress-nginx "
                "adds X-Forwarded-For; harmless while proxy-real-ip-cidr excludes clients",
            )
        )
    else:
        findings.append(
            Finding(
                INFO,
                "nginx-peer-forwarded",
                "ingress-nginx sends the app X-Forwarded-For: <the address that connected to it>, "
                "dropping whatever the client sent",
            )
        )
    return PRESERVED, findings, settings


def _nginx_spoofable_error(lb_cidrs: Optional[str]) -> Finding:
    if lb_cidrs is None:
        fix = (
            'set use-forwarded-headers: "false" (nothing in front of ingress-nginx writes '
            'X-Forwarded-For), or compute-full-forwarded-for: "true" so the real peer is '
            "appended for realip to find"
        )
    else:
        fix = (
            f'set proxy-real-ip-cidr: "{lb_cidrs}" (only your load balancer), or '
            'compute-full-forwarded-for: "true" so the real peer is appended for realip to find'
        )
    return Finding(
        ERROR,
        "nginx-trusts-everyone",
        "use-forwarded-headers (or enable-real-ip) is on and proxy-real-ip-cidr trusts every "
        "address (default 0.0.0.0/0): with real_ip_recursive nginx takes the leftmost "
        "X-Forwarded-For entry, which the client writes, and forwards only that to the app. Any "
        "client can pick its address.",
        fix,
    )


def _nginx_spoofable_addr_warning(why_ok: str) -> Finding:
    return Finding(
        WARNING,
        "nginx-remote-addr-spoofable",
        "proxy-real-ip-cidr trusts every address, so nginx's own $remote_addr and X-Real-IP "
        f"(used by its logs, allow-lists and rate limits) are whatever the client sends; "
        f"{why_ok}",
        "set proxy-real-ip-cidr to your load balancer's range only",
    )


# -- Ingress ----------------------------------------------------------------------------


def _ingress_class(ing: _Obj) -> str:
    return (
        _s(ing.spec.get("ingressClassName")) or ing.annotations.get(_INGRESS_CLASS_ANNOTATION, "")
    ).strip()


def _ingress_backends(ing: _Obj) -> List[str]:
    names: List[str] = []

    def add(backend: Any) -> None:
        backend = _d(backend)
        name = _s(_d(backend.get("service")).get("name")) or _s(backend.get("serviceName"))
        if name and name not in names:
            names.append(name)

    add(ing.spec.get("defaultBackend"))
    add(ing.spec.get("backend"))
    for rule in _l(ing.spec.get("rules")):
        for path in _l(_d(_d(rule).get("http")).get("paths")):
            add(_d(path).get("backend"))
    return names


def _ingress_summary(ing: _Obj) -> str:
    cls = _ingress_class(ing) or "no class"
    hosts = [_s(_d(r).get("host")) for r in _l(ing.spec.get("rules"))]
    hosts = [h for h in hosts if h]
    backends = _ingress_backends(ing)
    parts = [f"class {cls}"]
    if hosts:
        parts.append("hosts " + ", ".join(hosts))
    if backends:
        parts.append("-> " + ", ".join(backends))
    return ", ".join(parts)


def _lb_addresses(obj: _Obj) -> List[str]:
    found = []
    for item in _l(_d(obj.status.get("loadBalancer")).get("ingress")):
        ip = _s(_d(item).get("ip"))
        if ip:
            found.append(ip)
    return found


def _alb_verdict(ing: _Obj) -> Tuple[str, List[Finding], Dict[str, str], str]:
    target = ing.annotations.get(_ALB_TARGET_TYPE, "").strip().lower() or "instance"
    via = (
        "straight to pod IPs"
        if target == "ip"
        else "to NodePorts, so kube-proxy may SNAT it to a node address (also in the VPC)"
    )
    return (
        PRESERVED,
        [
            Finding(
                INFO,
                "aws-alb",
                f"AWS Application Load Balancer ({_ALB_TARGET_TYPE}: {target}): it terminates HTTP, "
                f"appends the client to X-Forwarded-For and forwards {via}; trust the VPC CIDR",
            )
        ],
        _settings(LB_HTTP, VPC_CIDR),
        LB_HTTP,
    )


def _gce_verdict(ing: _Obj, internal: bool) -> Tuple[str, List[Finding], Dict[str, str], str]:
    if internal:
        return (
            PRESERVED,
            [
                Finding(
                    INFO,
                    "gce-internal-alb",
                    "GKE internal Application Load Balancer: Envoy proxies in your proxy-only subnet "
                    "append the client to X-Forwarded-For; trust that subnet",
                )
            ],
            _settings(LB_HTTP, "<your proxy-only subnet>"),
            LB_HTTP,
        )
    addresses = _lb_addresses(ing)
    ranges = GOOGLE_FRONT_END_RANGES + "".join(f",{a}" for a in addresses)
    if not addresses:
        ranges += ",<the Ingress's load balancer IP>"
    return (
        PRESERVED,
        [
            Finding(
                INFO,
                "gce-alb",
                "GKE Ingress (external Application Load Balancer): Google Front Ends connect from "
                f"{GOOGLE_FRONT_END_RANGES} and append '<client>, <load balancer IP>' to "
                "X-Forwarded-For, so both the front-end ranges and the load balancer's own address must "
                "be trusted (with instance-group backends kube-proxy may also SNAT to a node: add your "
                "node CIDR then)",
            )
        ],
        _settings(LB_HTTP, ranges),
        LB_HTTP,
    )


# -- the analysis -----------------------------------------------------------------------


def _skip_reason(svc: _Obj) -> Optional[str]:
    if _service_type(svc) == "ExternalName":
        return "ExternalName (a DNS alias, no traffic passes through it)"
    if svc.key == ("default", "kubernetes"):
        return "the API server"
    if _is_nginx_related(svc) and not _is_nginx_front(svc):
        return "an internal Service of ingress-nginx (webhook, metrics); clients do not use it"
    if svc.namespace == "kube-system" and not _is_nginx_front(svc):
        return "a kube-system component"
    return None


def analyze(objects: Iterable[Mapping[str, Any]]) -> Report:
    """Analyze Kubernetes objects (dicts as kubectl prints them) into a :class:`Report`."""
    objs = [_Obj.of(o) for o in objects if isinstance(o, Mapping)]
    services = [o for o in objs if o.kind == "Service"]
    ingresses = [o for o in objs if o.kind == "Ingress"]
    configmaps = [o for o in objs if o.kind == "ConfigMap"]
    notes: List[str] = []

    controllers = [s for s in services if _is_nginx_service(s)]
    front_controllers = [s for s in controllers if _is_nginx_front(s)]
    nginx_cms = [c for c in configmaps if _is_nginx_configmap(c)]
    controller_ns = {s.namespace for s in front_controllers}
    nginx_cms.sort(
        key=lambda c: (c.namespace not in controller_ns, c.name not in _NGINX_CONFIGMAP_NAMES)
    )
    cfg = _nginx_config(nginx_cms[0] if nginx_cms else None)
    if len(nginx_cms) > 1:
        notes.append(
            f"several ingress-nginx ConfigMaps found; using {'/'.join(nginx_cms[0].key)} "
            f"(also seen: {', '.join('/'.join(c.key) for c in nginx_cms[1:])})"
        )

    fronts: Dict[Tuple[str, str], _Front] = {s.key: _service_front(s) for s in services}
    controller_fronts = [fronts[s.key] for s in front_controllers]
    # Judge Ingresses by the controller Service that does worst: one lossy path is enough.
    ranked = sorted(
        controller_fronts, key=lambda f: (f.client_ip not in _BAD, f.kind != _PROXY_PROTOCOL)
    )
    worst_front: Optional[_Front] = ranked[0] if ranked else None
    if len(front_controllers) > 1:
        notes.append(
            "several ingress-nginx controller Services found ("
            + ", ".join("/".join(s.key) for s in front_controllers)
            + "); Ingresses are judged by the one that loses the client IP, if any"
        )
    has_nginx = bool(controllers or nginx_cms)

    entries: List[Entry] = []
    ingress_of: Dict[Tuple[str, str], List[Entry]] = {}
    ingress_entries: List[Entry] = []
    for ing in ingresses:
        cls = _ingress_class(ing)
        lower = cls.lower()
        findings: List[Finding] = []
        topology = INGRESS
        if lower == "alb":
            client, more, settings, topology = _alb_verdict(ing)
        elif lower in ("gce", "gce-internal"):
            client, more, settings, topology = _gce_verdict(ing, lower == "gce-internal")
        elif "nginx" in lower or (not cls and has_nginx):
            if not cls:
                findings.append(
                    Finding(
                        INFO,
                        "ingress-class-assumed",
                        "no ingressClassName: assuming the default class is the ingress-nginx "
                        "controller found in this input",
                    )
                )
            client, more, settings = _nginx_verdict(worst_front, cfg)
        else:
            client, settings = UNKNOWN, _settings(INGRESS)
            more = [
                Finding(
                    WARNING,
                    "ingress-controller-unknown",
                    f"ingress class {cls or '(none)'!r}: realip does not know this controller; "
                    "most append the client to X-Forwarded-For, which the ingress topology reads, "
                    "but check that its own Service keeps the client IP "
                    "(externalTrafficPolicy: Local)",
                )
            ]
        findings.extend(more)
        entry = Entry(
            "Ingress",
            ing.namespace,
            ing.name,
            "ingress",
            _ingress_summary(ing),
            topology,
            client,
            findings,
            settings,
        )
        ingress_entries.append(entry)
        for backend in _ingress_backends(ing):
            ingress_of.setdefault((ing.namespace, backend), []).append(entry)

    for svc in services:
        reason = _skip_reason(svc)
        if reason is not None:
            notes.append(f"skipped Service {'/'.join(svc.key)}: {reason}")
            continue
        front = fronts[svc.key]
        summary = _service_summary(svc)
        if svc in front_controllers:
            entries.append(_controller_entry(svc, front, cfg, summary))
            continue
        via = ingress_of.get(svc.key)
        if via:
            entries.append(_backend_entry(svc, front, via, summary))
            continue
        entries.append(
            Entry(
                "Service",
                svc.namespace,
                svc.name,
                "app",
                summary,
                front.topology,
                front.client_ip,
                list(front.findings),
                _settings(front.topology, front.lb_cidrs),
            )
        )
    entries.extend(ingress_entries)
    if cfg.source is not None:
        cm = cfg.source
        entries.append(
            Entry(
                "ConfigMap",
                cm.namespace,
                cm.name,
                "ingress-nginx-config",
                "ingress-nginx configuration",
                None,
                NOT_APPLICABLE,
                list(cfg.findings),
            )
        )
    elif ingresses and has_nginx:
        notes.append("no ingress-nginx ConfigMap in the input: assuming its defaults")
    if not services and not ingresses:
        notes.append("the input has no Service or Ingress")
    for ing in ingresses:
        missing = [b for b in _ingress_backends(ing) if (ing.namespace, b) not in fronts]
        if missing and services:
            notes.append(
                f"Ingress {'/'.join(ing.key)} routes to Services not in the input: "
                + ", ".join(missing)
            )
    return Report(entries, notes)


def _controller_entry(svc: _Obj, front: _Front, cfg: _NginxConfig, summary: str) -> Entry:
    findings = list(front.findings)
    client = front.client_ip
    if front.kind == _PROXY_PROTOCOL:
        # The generic advice about decoding does not apply: ingress-nginx is the decoder.
        findings = [f for f in findings if f.code != "proxy-protocol"]
        if cfg.use_proxy_protocol:
            client = PRESERVED
            findings.append(
                Finding(
                    INFO,
                    "proxy-protocol-decoded",
                    "the load balancer sends PROXY headers and ingress-nginx decodes them "
                    '(use-proxy-protocol: "true")',
                )
            )
        else:
            client = LOST
            findings.append(
                Finding(
                    ERROR,
                    "proxy-protocol-mismatch",
                    "the load balancer sends PROXY headers but ingress-nginx does not expect them "
                    "(use-proxy-protocol is off): every request fails with 400",
                    'set use-proxy-protocol: "true" in the ingress-nginx ConfigMap',
                )
            )
    elif cfg.use_proxy_protocol and client not in _BAD:
        client = LOST
        findings.append(
            Finding(
                ERROR,
                "proxy-protocol-mismatch",
                'ingress-nginx expects PROXY headers (use-proxy-protocol: "true") but this '
                "load balancer does not send them: every request is rejected",
                'enable PROXY protocol on the load balancer, or set use-proxy-protocol: "false"',
            )
        )
    findings.insert(
        0,
        Finding(
            INFO,
            "ingress-controller",
            "the ingress-nginx controller's Service: this is where the client's address must "
            "survive for every Ingress behind it (seed: 'set the ingress svc to "
            "NodePort/LoadBalancer with externalTrafficPolicy: Local')",
        ),
    )
    return Entry(
        "Service",
        svc.namespace,
        svc.name,
        "ingress-controller",
        summary,
        front.topology,
        client,
        findings,
    )


def _backend_entry(svc: _Obj, front: _Front, via: Sequence[Entry], summary: str) -> Entry:
    names = ", ".join(f"{e.namespace}/{e.name}" for e in via)
    clients = [e.client_ip for e in via]
    client = next((c for c in clients if c in _BAD), None) or (
        UNKNOWN if UNKNOWN in clients else PRESERVED
    )
    # The app runs one configuration; take the first Ingress's (they rarely differ).
    topology = via[0].topology or INGRESS
    settings = dict(via[0].settings)
    peer = (
        "the ingress controller pod"
        if topology == INGRESS
        else "the load balancer (or a node in front of it)"
    )
    findings = [
        Finding(
            INFO,
            "behind-ingress",
            f"external clients reach this Service through Ingress {names}: the app sees {peer} as "
            "the peer and the client in X-Forwarded-For (see the Ingress entry); pods calling it "
            "directly appear as themselves",
        )
    ]
    if front.kind == _HTTP and front.lb_cidrs and topology == INGRESS:
        settings["REALIP_LB_CIDRS"] = front.lb_cidrs
    if front.kind != _INTERNAL:
        problems = [f for f in front.findings if f.level != INFO]
        if problems:
            findings.append(
                Finding(
                    INFO,
                    "also-exposed",
                    f"it is also exposed directly as {_service_type(svc)}, and that path has "
                    "problems of its own:",
                )
            )
            findings.extend(problems)
        else:
            findings.append(
                Finding(
                    INFO,
                    "also-exposed",
                    f"it is also exposed directly as {_service_type(svc)} ({front.topology}); the "
                    "settings below cover that path too",
                )
            )
        if front.client_ip in _BAD:
            client = front.client_ip
    return Entry(
        "Service", svc.namespace, svc.name, "app", summary, topology, client, findings, settings
    )


# -- command line -----------------------------------------------------------------------

_EPILOG = f"""\
examples:
  {KUBECTL_COMMAND} | realip doctor -
  {KUBECTL_COMMAND} > cluster.json && realip doctor --json cluster.json
  realip doctor docs/kubernetes/*.yaml          (YAML needs PyYAML)

what it prints, per Service and Ingress:
  topology   the realip topology the path implies (pod-to-pod, nodeport-local,
             nodeport-cluster, lb-tcp, lb-http, ingress)
  client IP  preserved, lost (SNAT, a proxy without PROXY protocol, ...),
             spoofable (ingress-nginx forwards what the client wrote), unknown
  findings   error / warning / info lines, each error with its fix
  settings   the REALIP_* environment for the app; replace the <...> placeholders

exit status: 0 when the client IP survives every path, 1 when something loses it
(or lets clients forge it), 2 when the input cannot be read.
"""


def add_parser(subparsers: Any) -> None:
    """Register the ``doctor`` subcommand on an ``argparse`` subparsers object."""
    parser = subparsers.add_parser(
        "doctor",
        help="check Kubernetes Services/Ingresses for client-IP loss and suggest REALIP_* settings",
        description="Read the JSON of `kubectl get svc,ingress,configmap -A -o json` (or YAML "
        "manifests) and report, for each Service and Ingress, the topology it "
        "implies, whether the client IP survives, what load-balancer annotations "
        "and the ingress-nginx ConfigMap change, and the REALIP_* settings to use.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files",
        metavar="FILE",
        nargs="+",
        help="a file with the kubectl output (JSON, or YAML with PyYAML), or - "
        "for standard input; several files are read as one input",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def _read(path: str) -> str:
    if path == "-":
        data = sys.stdin.buffer.read()
        name = "standard input"
    else:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise DoctorInputError(f"cannot read {path}: {exc.strerror or exc}") from None
        name = path
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DoctorInputError(f"{name} is not UTF-8 text (byte {exc.start})") from None


def run(args: argparse.Namespace) -> int:
    """Run ``realip doctor``; returns the exit status (0 fine, 1 client IP lost, 2 bad input)."""
    files = getattr(args, "files", None) or [getattr(args, "file", "-")]
    objects: List[Dict[str, Any]] = []
    for path in files:
        try:
            objects.extend(parse_objects(_read(path)))
        except DoctorInputError as exc:
            where = "standard input" if path == "-" else path
            print(f"realip doctor: {where}: {exc}", file=sys.stderr)
            return 2
    kinds = {o["kind"] for o in objects}
    if not kinds & {"Service", "Ingress"}:
        print(
            f"realip doctor: no Service or Ingress in the input (found: "
            f"{', '.join(sorted(kinds))}); run `{KUBECTL_COMMAND}`",
            file=sys.stderr,
        )
        return 2
    report = analyze(objects)
    if getattr(args, "json", False):
        print(json.dumps(report.as_dict(), indent=2))
    else:
        sys.stdout.write(report.render())
    return report.exit_code


__all__ = [
    "DoctorInputError",
    "Entry",
    "Finding",
    "Report",
    "add_parser",
    "analyze",
    "parse_objects",
    "run",
]
