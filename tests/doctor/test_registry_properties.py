"""Properties that keep issue 22's classes fixed, over everything in doctor's registry.

1. For every controller setting and load-balancer attribute that believes a client-written
   header, turning it on makes the verdict ``spoofable`` whatever sits in front.
2. For every provider in the registry and every Service type that goes through kube-proxy,
   ``externalTrafficPolicy: Cluster`` with nothing that bypasses kube-proxy (and nothing that
   carries the client inside the stream or a header) is never ``preserved`` nor ``unknown``.
3. No ERROR finding's fix replaces a load balancer, switches its listener protocol or turns its
   PROXY protocol off.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realip._doctor import LOST, SPOOFABLE, analyze, parse_objects
from realip._doctor._controller_evidence import CLIENT_HEADER_SETTINGS
from realip._doctor._controllers import CONTROLLERS
from realip._doctor._providers import PROVIDERS

REAL = Path(__file__).parent.parent / "data" / "doctor" / "real"
_SVC = "service.beta.kubernetes.io/"

# One annotation set per provider that recognises it with its plain layer-4 default: no PROXY
# protocol, no HTTP listener, no pod-IP targets. A provider added to the registry without a row
# here fails test_every_provider_has_a_plain_row.
PLAIN: Dict[str, Dict[str, str]] = {
    "alibaba": {_SVC + "alibaba-cloud-loadbalancer-address-type": "internet"},
    "aws": {_SVC + "aws-load-balancer-type": "nlb"},
    "gcp": {"cloud.google.com/l4-rbs": "enabled"},
    "digitalocean": {_SVC + "do-loadbalancer-name": "edge"},
    "scaleway": {_SVC + "scw-loadbalancer-type": "lb-s"},
    "hetzner": {"load-balancer.hetzner.cloud/location": "fsn1"},
    "oci": {_SVC + "oci-load-balancer-shape": "flexible"},
    "azure": {_SVC + "azure-load-balancer-internal": "true"},
    "metallb": {"metallb.universe.tf/address-pool": "default"},
    "kube-vip": {"kube-vip.io/loadbalancerIPs": "192.0.2.10"},
    "openstack": {"loadbalancer.openstack.org/floating-network-id": "ext"},
    "linode": {_SVC + "linode-loadbalancer-throttle": "4"},
    "vultr": {_SVC + "vultr-loadbalancer-label": "edge"},
    "civo": {"kubernetes.civo.com/firewall-id": "fw"},
    "cloudscale": {"k8s.cloudscale.ch/loadbalancer-flavor": "lb-standard"},
    "none": {},
}

# Controllers whose own Service is recognised by these labels (their service_hints).
CONTROLLER_LABELS = {
    "ingress-nginx": {"app.kubernetes.io/name": "ingress-nginx"},
    "traefik": {"app.kubernetes.io/name": "traefik"},
    "istio": {"istio": "ingressgateway"},
    "haproxy": {"app.kubernetes.io/name": "kubernetes-ingress"},
    "contour": {"app": "envoy"},
    "f5-nginx": {"app.kubernetes.io/name": "nginx-ingress"},
    "none": {"app": "web"},
}
CLASS_OF = {c.key: name for name, c in CONTROLLERS.items()}


def test_every_provider_has_a_plain_row() -> None:
    assert {p.key for p in PROVIDERS} | {"none"} == set(PLAIN)


def _service(
    name: str,
    namespace: str,
    stype: str,
    etp: str,
    annotations: Dict[str, str],
    labels: Dict[str, str],
) -> Dict[str, Any]:
    spec: Dict[str, Any] = {
        "type": "ClusterIP" if stype == "externalIPs" else stype,
        "externalTrafficPolicy": etp,
        "selector": labels,
        "ports": [{"port": 80, "targetPort": 8080}],
    }
    if stype == "externalIPs":
        spec["externalIPs"] = ["198.51.100.7"]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": spec,
    }


def _ingress(cls: str, annotations: Optional[Dict[str, str]] = None) -> List[Dict[str, Any]]:
    path = {
        "path": "/",
        "pathType": "Prefix",
        "backend": {"service": {"name": "web", "port": {"number": 80}}},
    }
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": cls},
            "spec": {"controller": CLASS_OF.get(cls, cls)},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "shop", "annotations": annotations or {}},
            "spec": {"ingressClassName": cls, "rules": [{"http": {"paths": [path]}}]},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"selector": {"app": "web"}},
        },
    ]


_FRONTS = st.tuples(
    st.sampled_from(sorted(PLAIN)),
    st.sampled_from(["LoadBalancer", "NodePort", "externalIPs"]),
    st.sampled_from(["Cluster", "Local"]),
)


def _workload(
    name: str,
    namespace: str,
    labels: Dict[str, str],
    args: List[str],
    env: Optional[List[Dict[str, str]]] = None,
) -> Dict[str, Any]:
    container: Dict[str, Any] = {"name": name, "image": name, "args": args}
    if env:
        container["env"] = env
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}},
    }


def _believer_objects(index: int, channel: int) -> List[Dict[str, Any]]:
    """A controller with CLIENT_HEADER_SETTINGS[index] turned on, through one of its channels."""
    rule = CLIENT_HEADER_SETTINGS[index]
    labels = CONTROLLER_LABELS[rule.controller]
    ns = rule.controller
    objects: List[Dict[str, Any]] = []
    ann: Dict[str, str] = {}
    channels = []
    if rule.args is not None:
        key = (
            "notappendxforwardedfor"
            if rule.drops
            else ("trustedips=0.0.0.0/0" if "trustedIPs" in rule.setting else "insecure")
        )
        channels.append(("args", [f"--entryPoints.web.forwardedHeaders.{key}"]))
    if rule.keys:
        channels.append(("cm", {rule.keys[0]: "X-Forwarded-For"}))
        channels.append(("ann", {rule.keys[-1]: "X-Forwarded-For"}))
    if rule.static[0]:
        channels.append(
            (
                "cm",
                {
                    "traefik.yml": f"entryPoints:\n  web:\n    {rule.static[0]}:\n"
                    f"      {rule.static[1]}: true\n"
                },
            )
        )
    how, what = channels[channel % len(channels)]
    args = what if how == "args" else []
    objects.append(_workload(rule.controller, ns, labels, args))  # type: ignore[arg-type]
    if how == "cm":
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"{rule.controller}-config", "namespace": ns},
                "data": what,
            }
        )
    if how == "ann":
        ann = what  # type: ignore[assignment]
    return objects + _ingress(rule.controller, ann)


_BELIEVERS = [i for i, r in enumerate(CLIENT_HEADER_SETTINGS) if not r.drops]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_BELIEVERS), st.integers(0, 3), _FRONTS)
def test_a_setting_that_believes_clients_is_spoofable_behind_anything(
    index: int, channel: int, front: Any
) -> None:
    provider, stype, etp = front
    rule = CLIENT_HEADER_SETTINGS[index]
    labels = CONTROLLER_LABELS[rule.controller]
    objects = _believer_objects(index, channel)
    objects.append(_service(rule.controller, rule.controller, stype, etp, PLAIN[provider], labels))
    report = analyze(objects)
    assert report.find("Ingress", "shop", "web").client_ip == SPOOFABLE, rule.setting
    assert report.find("Service", "shop", "web").client_ip == SPOOFABLE
    assert report.exit_code == 1


GO_TRUE = ["1", "t", "T", "TRUE", "true", "True"]


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["use-forwarded-headers", "enable-real-ip"]),
    st.sampled_from(GO_TRUE),
    _FRONTS,
    st.booleans(),
)
def test_ingress_nginx_believing_every_peer_is_spoofable_behind_anything(
    key: str, value: str, front: Any, chart_named: bool
) -> None:
    provider, stype, etp = front
    labels = (
        {
            "helm.sh/chart": "ingress-nginx-4.12.0",
            "app.kubernetes.io/name": "edge",
            "app.kubernetes.io/component": "controller",
        }
        if chart_named
        else dict(CONTROLLER_LABELS["ingress-nginx"])
    )
    name = "edge-controller" if chart_named else "ingress-nginx-controller"
    objects = [
        _service(name, "ingress-nginx", stype, etp, PLAIN[provider], labels),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "ingress-nginx", "labels": labels},
            "data": {key: value},
        },
        *_ingress("nginx"),
    ]
    objects[-3]["spec"]["controller"] = "k8s.io/ingress-nginx"
    report = analyze(objects)
    assert report.find("Ingress", "shop", "web").client_ip == SPOOFABLE


@settings(max_examples=60, deadline=None)
@given(_FRONTS)
def test_an_alb_preserving_the_client_header_is_spoofable(front: Any) -> None:
    # The ALB is the load balancer itself; what is "in front" is nothing, whatever the backend
    # Service looks like.
    provider, stype, etp = front
    attrs = "routing.http.xff_header_processing.mode=preserve"
    objects = _ingress("alb", {"alb.ingress.kubernetes.io/load-balancer-attributes": attrs})
    objects[0]["spec"]["controller"] = "ingress.k8s.aws/alb"
    objects[-1] = _service("web", "shop", stype, etp, PLAIN[provider], {"app": "web"})
    assert analyze(objects).find("Ingress", "shop", "web").client_ip == SPOOFABLE


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(PLAIN)),
    st.sampled_from(["LoadBalancer", "NodePort", "externalIPs"]),
    st.sampled_from(sorted(CONTROLLER_LABELS)),
    st.dictionaries(
        st.sampled_from(["team", "example.com/owner", "app.kubernetes.io/part-of"]),
        st.text(max_size=5),
        max_size=2,
    ),
)
def test_cluster_without_a_bypass_is_never_preserved_nor_unknown(
    provider: str, stype: str, controller: str, extra: Dict[str, str]
) -> None:
    # kubernetes.io "Using Source IP": Cluster SNATs NodePort/LoadBalancer/externalIPs traffic to
    # a node address whatever is behind the Service; the same shape gets the same verdict.
    labels = CONTROLLER_LABELS[controller]
    service = _service("edge", "edge", stype, "Cluster", {**PLAIN[provider], **extra}, labels)
    objects = [service]
    if controller != "none":
        objects += _ingress(controller)
    report = analyze(objects)
    entry = report.find("Service", "edge", "edge")
    assert entry.client_ip == LOST, (provider, stype, controller, entry.codes())
    assert report.exit_code == 1


# -- no ERROR whose fix replaces the load balancer or changes its protocol -------------------

_HARMFUL_FIX = re.compile(
    r"load-balancer-type|loadBalancerClass|use an NLB|use a Network Load Balancer|"
    r"backend-protocol|protocol: http|turn PROXY protocol off|disable PROXY|"
    r"PROXY protocol off on the load balancer",
    re.IGNORECASE,
)


def _error_fixes(objects: List[Dict[str, Any]]) -> List[str]:
    return [
        f"{e.ref} {f.code}: {f.fix}"
        for e in analyze(objects).entries
        for f in e.findings
        if f.level == "error" and f.fix and _HARMFUL_FIX.search(f.fix)
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in REAL.glob("*.yaml")))
def test_no_error_fix_changes_a_load_balancer_in_the_corpus(name: str) -> None:
    pytest.importorskip("yaml")
    assert _error_fixes(parse_objects((REAL / name).read_text())) == []


_ANY_ANNOTATION = st.dictionaries(
    st.sampled_from(
        [
            *sorted({k for row in PLAIN.values() for k in row}),
            _SVC + "aws-load-balancer-proxy-protocol",
            _SVC + "aws-load-balancer-nlb-target-type",
            _SVC + "aws-load-balancer-backend-protocol",
            _SVC + "do-loadbalancer-protocol",
            _SVC + "do-loadbalancer-enable-proxy-protocol",
            _SVC + "oci-load-balancer-backend-protocol",
            "oci.oraclecloud.com/load-balancer-type",
            "oci-network-load-balancer.oraclecloud.com/is-preserve-source",
            _SVC + "alibaba-cloud-loadbalancer-protocol-port",
            _SVC + "alibaba-cloud-loadbalancer-proxy-protocol",
            "load-balancer.hetzner.cloud/uses-proxyprotocol",
            "load-balancer.hetzner.cloud/protocol",
            _SVC + "azure-pls-create",
        ]
    ),
    st.sampled_from(
        ["true", "false", "*", "http", "tcp", "nlb", "ip", "on", "http:80", "external"]
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(
    _ANY_ANNOTATION,
    _FRONTS,
    st.sampled_from(sorted(CONTROLLER_LABELS)),
    st.sampled_from([{}, {"use-proxy-protocol": "true"}, {"use-forwarded-headers": "true"}]),
)
def test_no_error_fix_changes_a_load_balancer(
    annotations: Dict[str, str], front: Any, controller: str, cm: Dict[str, str]
) -> None:
    _, stype, etp = front
    labels = CONTROLLER_LABELS[controller]
    objects = [_service("edge", "edge", stype, etp, annotations, labels)]
    if controller != "none":
        objects += _ingress(controller)
    if controller == "ingress-nginx":
        objects[1]["spec"]["controller"] = "k8s.io/ingress-nginx"
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "ingress-nginx-controller", "namespace": "edge"},
                "data": cm,
            }
        )
    assert _error_fixes(objects) == []


@settings(max_examples=80, deadline=None)
@given(
    _FRONTS,
    st.sampled_from(["X-Forwarded-For", "X-Real-IP", "True-Client-IP"]),
    st.sampled_from(["0.0.0.0/0", "10.0.0.0/8,0.0.0.0/0", "::/0"]),
)
def test_f5_believing_every_peer_is_spoofable_behind_anything(
    front: Any, header: str, cidrs: str
) -> None:
    # nginx/kubernetes-ingress nginx.ingress.tmpl: real_ip_header from the ConfigMap, believed
    # from every set_real_ip_from entry, then appended to X-Forwarded-For.
    provider, stype, etp = front
    labels = CONTROLLER_LABELS["f5-nginx"]
    objects = [
        _service("nginx-ingress", "nginx-ingress", stype, etp, PLAIN[provider], labels),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "nginx-config", "namespace": "nginx-ingress"},
            "data": {"real-ip-header": header, "set-real-ip-from": cidrs},
        },
        *_ingress("nginx"),
    ]
    objects[2]["spec"]["controller"] = "nginx.org/ingress-controller"  # the IngressClass
    assert analyze(objects).find("Ingress", "shop", "web").client_ip == SPOOFABLE
