"""ingress-nginx recognised and read: its Services, its ConfigMap, what each client-IP key means.

:func:`read_config` turns the controller's ConfigMap into an :class:`NginxConfig` (PROXY protocol,
the header it reads and whom it believes, the chain it forwards), with a finding for every key
that changes the client address. Every rule cites the part of ingress-nginx's
``rootfs/etc/nginx/template/nginx.tmpl`` or its ConfigMap documentation
(docs/user-guide/nginx-configuration/configmap.md) it rests on.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Tuple

from realip._doctor._objects import Obj, parse_bool
from realip._doctor._report import INFO, WARNING, Finding

CONFIGMAP_NAMES = ("ingress-nginx-controller", "nginx-configuration", "nginx-ingress-controller")
_NOT_CONFIG = ("tcp-services", "udp-services", "ingress-controller-leader")
SERVICE_NAMES = (
    "ingress-nginx",
    "ingress-nginx-controller",
    "nginx-ingress-lb",
    "nginx-ingress-controller",
)
_APP_LABELS = ("ingress-nginx", "nginx-ingress", "nginx-ingress-lb")


@dataclass
class NginxConfig:
    """The ingress-nginx ConfigMap keys doctor reads, with ingress-nginx's defaults."""

    source: Optional[Obj]
    use_forwarded_headers: bool = False
    compute_full: bool = False
    forwarded_for_header: str = "X-Forwarded-For"
    # configmap.md: proxy-real-ip-cidr defaults to "0.0.0.0/0".
    real_ip_cidrs: Tuple[str, ...] = ("0.0.0.0/0",)
    use_proxy_protocol: bool = False
    enable_real_ip: bool = False
    findings: List[Finding] = field(default_factory=list)

    @property
    def reads_header(self) -> bool:
        """nginx.tmpl: ``real_ip_header {{ $cfg.ForwardedForHeader }}`` unless PROXY protocol."""
        return (self.use_forwarded_headers or self.enable_real_ip) and not self.use_proxy_protocol

    @property
    def full_chain(self) -> bool:
        """nginx.tmpl builds $full_x_forwarded_for only with both keys on."""
        return self.use_forwarded_headers and self.compute_full

    def trusts_everyone(self) -> bool:
        """proxy-real-ip-cidr contains a /0: set_real_ip_from believes every peer."""
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


def _from_chart(obj: Obj) -> bool:
    # charts/ingress-nginx templates/_helpers.tpl "ingress-nginx.labels": every object carries
    # helm.sh/chart: ingress-nginx-<version>, whatever the release name or nameOverride (which
    # also rename app.kubernetes.io/name).
    return obj.labels.get("helm.sh/chart", "").startswith("ingress-nginx-")


def is_configmap(cm: Obj) -> bool:
    """True for ingress-nginx's main ConfigMap (not tcp-services, leader election, ...)."""
    if cm.name in _NOT_CONFIG:
        return False
    if cm.name in CONFIGMAP_NAMES:
        return True
    if _from_chart(cm) and cm.name.endswith("-controller"):
        # The chart's controller-configmap.yaml names it "<fullname>-controller"; its
        # tcp/udp-services ConfigMaps end in "-tcp"/"-udp".
        return True
    return cm.labels.get("app.kubernetes.io/name") == "ingress-nginx" and (
        cm.labels.get("app.kubernetes.io/component", "controller") == "controller"
    )


def is_related(svc: Obj) -> bool:
    """True for any Service of an ingress-nginx install (controller, webhook, metrics)."""
    if svc.name in SERVICE_NAMES:
        return True
    if svc.labels.get("app.kubernetes.io/name") == "ingress-nginx" or _from_chart(svc):
        return svc.labels.get("app.kubernetes.io/component", "controller") == "controller"
    return svc.labels.get("app") in _APP_LABELS


def is_service(svc: Obj) -> bool:
    """True for the ingress-nginx controller's own Service."""
    if svc.name.endswith(("-admission", "-metrics")):
        return False
    return is_related(svc)


def read_config(cm: Optional[Obj]) -> NginxConfig:
    """Read the ConfigMap (or ingress-nginx's defaults when there is none)."""
    cfg = NginxConfig(cm)
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
            value = parse_bool(data[key])
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
    cfg.findings.extend(_key_meanings(cfg, data))
    return cfg


def _key_meanings(cfg: NginxConfig, data: Mapping[str, str]) -> List[Finding]:
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
    # nginx.tmpl: real_ip_header {{ $cfg.ForwardedForHeader }}, and the incoming value of that
    # header is passed on as X-Original-Forwarded-For.
    out.append(
        Finding(
            INFO,
            "nginx-forwarded-for-header",
            f"{shown('forwarded-for-header', 'X-Forwarded-For')}: the header ingress-nginx reads "
            "the client from when use-forwarded-headers or enable-real-ip is on; the app still "
            "receives X-Forwarded-For (and the incoming value of this header as "
            "X-Original-Forwarded-For), so realip keeps reading X-Forwarded-For",
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


def believes_clients(cfg: NginxConfig) -> bool:
    """ingress-nginx takes the client from a header any peer may write, and passes only that on.

    nginx.tmpl: with use-forwarded-headers or enable-real-ip, "real_ip_header
    {{ $cfg.ForwardedForHeader }}", "real_ip_recursive on" and set_real_ip_from for every
    proxy-real-ip-cidr entry (default 0.0.0.0/0, configmap.md); without compute-full-forwarded-for
    the app gets "X-Forwarded-For $remote_addr", the leftmost entry the client wrote. Whatever load
    balancer is in front, a client can send that header.
    """
    return cfg.reads_header and cfg.trusts_everyone() and not cfg.full_chain
