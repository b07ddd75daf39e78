"""Properties of ``realip doctor``: any objects in, a report out, never an exception."""

from __future__ import annotations

import json
from typing import Any, Dict, List

from hypothesis import given, settings
from hypothesis import strategies as st

from realip._doctor import LOST, SPOOFABLE, Report, analyze

KINDS = [
    "Service",
    "Ingress",
    "IngressClass",
    "ConfigMap",
    "Deployment",
    "DaemonSet",
    "Gateway",
    "HTTPRoute",
    "Pod",
    # Read for the Services they name, or for a PROXY listener filter (issue 13's later rounds).
    "VirtualServer",
    "IngressRoute",
    "HTTPProxy",
    "VirtualService",
    "TCPRoute",
    "EnvoyFilter",
    # GKE multi-cluster Ingress: an Ingress / Service spec under spec.template.spec.
    "MultiClusterIngress",
    "MultiClusterService",
]
# The API group decides how a kind is read (a Knative Service, an Istio Gateway).
_API_VERSIONS = st.one_of(
    st.sampled_from(
        [
            "v1",
            "networking.k8s.io/v1",
            "gateway.networking.k8s.io/v1",
            "networking.x-k8s.io/v1alpha1",
            "networking.istio.io/v1",
            "k8s.nginx.org/v1",
            "traefik.io/v1alpha1",
            "serving.knative.dev/v1",
            "example.k8s.io/v1",
            "networking.gke.io/v1",
        ]
    ),
    st.one_of(st.none(), st.integers(), st.text(max_size=20)),
)

# Any JSON value, biased towards the shapes doctor reads (dicts and lists of strings).
_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12))
_json = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
_fields = st.sampled_from(
    [
        "type",
        "externalTrafficPolicy",
        "externalIPs",
        "ports",
        "selector",
        "rules",
        "ingressClassName",
        "controller",
        "template",
        "gatewayClassName",
        "parentRefs",
        "gateways",
        "loadBalancerClass",
        "services",
        "backendRefs",
        "upstreams",
        "routes",
        "http",
        "workloadSelector",
        "configPatches",
        "infrastructure",
        "forwardTo",
    ]
)


@st.composite
def k8s_object(draw: Any) -> Dict[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    meta = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "name": st.one_of(st.text(max_size=8), _leaf),
                "namespace": st.one_of(st.text(max_size=8), _leaf),
                "labels": _json,
                "annotations": st.one_of(
                    _json,
                    st.dictionaries(
                        st.sampled_from(
                            [
                                "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol",
                                "service.beta.kubernetes.io/aws-load-balancer-type",
                                "service.beta.kubernetes.io/backend-type",
                                "load-balancer.hetzner.cloud/uses-proxyprotocol",
                                "kubernetes.io/ingress.class",
                                "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol",
                                "service.beta.kubernetes.io/azure-pls-create",
                                "service.beta.kubernetes.io/azure-pls-proxy-protocol",
                                "service.beta.kubernetes.io/linode-loadbalancer-port-443",
                                "service.beta.kubernetes.io/linode-loadbalancer-default-proxy-protocol",
                                "metallb.io/address-pool",
                                "proxy.istio.io/config",
                            ]
                        ),
                        st.text(max_size=8),
                        max_size=3,
                    ),
                ),
            },
        )
    )
    spec = draw(st.dictionaries(_fields, _json, max_size=5))
    obj = {"kind": kind, "metadata": meta, "spec": spec, "data": draw(_json)}
    if draw(st.booleans()):
        obj["apiVersion"] = draw(_API_VERSIONS)
    return obj


@settings(max_examples=80, deadline=None)
@given(st.lists(k8s_object(), max_size=6))
def test_any_objects_give_a_report(objects: List[Dict[str, Any]]) -> None:
    report = analyze(objects)
    assert isinstance(report, Report)
    report.render()
    json.dumps(report.as_dict())
    # The exit code is 1 exactly when some entry loses the client IP.
    bad = any(e.client_ip in (LOST, SPOOFABLE) for e in report.entries)
    assert report.exit_code == (1 if bad else 0)
    for entry in report.entries:
        for finding in entry.findings:
            if finding.level == "error":
                assert finding.fix
