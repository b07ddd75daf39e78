"""``realip doctor``: each topology and each way of losing the client IP, from real manifests."""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from realip import TOPOLOGIES
from realip._doctor import (
    LOST,
    NOT_APPLICABLE,
    PRESERVED,
    SPOOFABLE,
    UNKNOWN,
    DoctorInputError,
    Entry,
    Report,
    analyze,
    parse_objects,
    run,
)

DATA = Path(__file__).parent.parent / "data" / "doctor"
DOCS = Path(__file__).parent.parent.parent / "docs" / "kubernetes"


def load(name: str) -> List[Dict[str, Any]]:
    return parse_objects((DATA / name).read_text())


def report_of(name: str) -> Report:
    return analyze(load(name))


def errors(entry: Entry) -> List[str]:
    return [f.code for f in entry.findings if f.level == "error"]


def finding(entry: Entry, code: str) -> Any:
    found = [f for f in entry.findings if f.code == code]
    assert len(found) == 1, (code, entry.codes())
    return found[0]


# -- one fixture per topology and per problem -------------------------------------------

# file, kind, namespace, name, topology, client_ip, error codes, settings
CASES = [
    (
        "pod-to-pod.json",
        "Service",
        "shop",
        "shop",
        "pod-to-pod",
        PRESERVED,
        [],
        {"REALIP_TOPOLOGY": "pod-to-pod"},
    ),
    (
        "nodeport-local.json",
        "Service",
        "shop",
        "shop",
        "nodeport-local",
        PRESERVED,
        [],
        {"REALIP_TOPOLOGY": "nodeport-local"},
    ),
    (
        "nodeport-cluster.json",
        "Service",
        "shop",
        "shop",
        "nodeport-cluster",
        LOST,
        ["snat"],
        {"REALIP_TOPOLOGY": "nodeport-cluster", "REALIP_NODE_CIDRS": "<your node CIDR>"},
    ),
    (
        "lb-tcp-alibaba.json",
        "Service",
        "shop",
        "shop",
        "lb-tcp",
        PRESERVED,
        [],
        {"REALIP_TOPOLOGY": "lb-tcp"},
    ),
    (
        "lb-http-alibaba.json",
        "Service",
        "shop",
        "shop",
        "lb-http",
        PRESERVED,
        [],
        {"REALIP_TOPOLOGY": "lb-http", "REALIP_LB_CIDRS": "100.64.0.0/10"},
    ),
    (
        "lb-cluster-alibaba.json",
        "Service",
        "shop",
        "shop",
        "lb-tcp",
        LOST,
        ["snat"],
        {"REALIP_TOPOLOGY": "lb-tcp"},
    ),
    (
        # Was lb-tcp/unknown before the lb-tcp-proxy topology existed: realip now decodes it.
        "lb-proxy-protocol-alibaba.json",
        "Service",
        "shop",
        "shop",
        "lb-tcp-proxy",
        PRESERVED,
        [],
        {
            "REALIP_TOPOLOGY": "lb-tcp-proxy",
            "REALIP_LB_CIDRS": "<the load balancer's address range>",
        },
    ),
    (
        "aws-nlb-ip-targets.json",
        "Service",
        "shop",
        "shop",
        "lb-tcp",
        LOST,
        ["aws-nlb-client-ip-not-preserved"],
        {"REALIP_TOPOLOGY": "lb-tcp"},
    ),
    (
        "aws-nlb-ip-preserve.json",
        "Service",
        "shop",
        "shop",
        "lb-tcp",
        PRESERVED,
        [],
        {"REALIP_TOPOLOGY": "lb-tcp"},
    ),
    (
        "aws-classic-elb-tcp.json",
        "Service",
        "shop",
        "shop",
        "lb-tcp",
        LOST,
        ["aws-elb-tcp"],
        {"REALIP_TOPOLOGY": "lb-tcp"},
    ),
    (
        "gke-passthrough.json",
        "Service",
        "shop",
        "shop",
        "lb-tcp",
        PRESERVED,
        [],
        {"REALIP_TOPOLOGY": "lb-tcp"},
    ),
    (
        # Was "preserved": the controller's load balancer has no annotation doctor knows, and
        # assuming a pass-through was wrong (issue 13, item 5); now an honest "unknown".
        "ingress-nginx.json",
        "Ingress",
        "shop",
        "shop",
        "ingress",
        UNKNOWN,
        [],
        {"REALIP_TOPOLOGY": "ingress", "REALIP_POD_CIDRS": "<your pod CIDR>"},
    ),
    (
        "ingress-controller-cluster.json",
        "Ingress",
        "shop",
        "shop",
        "ingress",
        LOST,
        ["controller-loses-client-ip"],
        {"REALIP_TOPOLOGY": "ingress", "REALIP_POD_CIDRS": "<your pod CIDR>"},
    ),
    (
        "ingress-slb-http-ignored.json",
        "Ingress",
        "shop",
        "shop",
        "ingress",
        LOST,
        ["nginx-ignores-lb-header"],
        {"REALIP_TOPOLOGY": "ingress", "REALIP_POD_CIDRS": "<your pod CIDR>"},
    ),
    (
        "ingress-slb-http-trusted.json",
        "Ingress",
        "shop",
        "shop",
        "ingress",
        PRESERVED,
        [],
        {"REALIP_TOPOLOGY": "ingress", "REALIP_POD_CIDRS": "<your pod CIDR>"},
    ),
    (
        "ingress-slb-http-full-chain.json",
        "Ingress",
        "shop",
        "shop",
        "ingress",
        PRESERVED,
        [],
        {
            "REALIP_TOPOLOGY": "ingress",
            "REALIP_POD_CIDRS": "<your pod CIDR>",
            "REALIP_LB_CIDRS": "100.64.0.0/10",
        },
    ),
    (
        "ingress-trusts-everyone.json",
        "Ingress",
        "shop",
        "shop",
        "ingress",
        SPOOFABLE,
        ["nginx-trusts-everyone"],
        {"REALIP_TOPOLOGY": "ingress", "REALIP_POD_CIDRS": "<your pod CIDR>"},
    ),
    (
        "ingress-proxy-protocol-mismatch.json",
        "Ingress",
        "shop",
        "shop",
        "ingress",
        LOST,
        ["proxy-protocol-mismatch"],
        {"REALIP_TOPOLOGY": "ingress", "REALIP_POD_CIDRS": "<your pod CIDR>"},
    ),
    (
        "ingress-proxy-protocol.json",
        "Ingress",
        "shop",
        "shop",
        "ingress",
        PRESERVED,
        [],
        {"REALIP_TOPOLOGY": "ingress", "REALIP_POD_CIDRS": "<your pod CIDR>"},
    ),
]


@pytest.mark.parametrize(
    ("name", "kind", "ns", "obj", "topology", "client", "codes", "settings"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_fixture_verdicts(
    name: str,
    kind: str,
    ns: str,
    obj: str,
    topology: str,
    client: str,
    codes: List[str],
    settings: Dict[str, str],
) -> None:
    report = report_of(name)
    entry = report.find(kind, ns, obj)
    assert entry.topology == topology
    assert entry.topology in TOPOLOGIES
    assert entry.client_ip == client
    assert errors(entry) == codes
    assert entry.settings == settings
    expect_bad = client in (LOST, SPOOFABLE)
    assert report.exit_code == (1 if expect_bad else 0)
    for f in entry.findings:
        if f.level == "error":
            assert f.fix, f.code  # every error says how to fix it


def test_every_fixture_is_covered_by_a_case() -> None:
    covered = {c[0] for c in CASES} | {"pods.json", "single-service.json", "concatenated.json"}
    assert {p.name for p in DATA.glob("*.json")} == covered


def test_snat_finding_names_the_policy_and_the_fix() -> None:
    entry = report_of("nodeport-cluster.json").find("Service", "shop", "shop")
    snat = finding(entry, "snat")
    # Worded like the resolver's SNAT warning, so the two tools say the same thing.
    assert "externalTrafficPolicy: Cluster SNATs a request to a node address before the app" in (
        snat.message
    )
    assert "node's IP instead of the client's" in snat.message
    assert "seed" not in snat.message
    assert snat.fix.startswith(
        "set externalTrafficPolicy: Local on that Service to keep the client IP"
    )
    assert snat.fix.endswith("REALIP_TOPOLOGY=nodeport-local")
    lb = report_of("lb-cluster-alibaba.json").find("Service", "shop", "shop")
    assert finding(lb, "snat").fix.endswith("REALIP_TOPOLOGY=lb-tcp")


def test_alibaba_listener_annotations() -> None:
    http = report_of("lb-http-alibaba.json").find("Service", "shop", "shop")
    msg = finding(http, "alibaba-http-listener").message
    assert "'http:80,https:443'" in msg and "100.64.0.0/10" in msg and "X-Forwarded-For" in msg
    assert finding(http, "etp-local").level == "info"
    tcp = report_of("lb-tcp-alibaba.json").find("Service", "shop", "shop")
    assert "TCP listener (tcp:80)" in finding(tcp, "alibaba-tcp-listener").message
    proxy = report_of("lb-proxy-protocol-alibaba.json").find("Service", "shop", "shop")
    pp = finding(proxy, "proxy-protocol")
    assert pp.level == "warning"
    assert "alibaba-cloud-loadbalancer-proxy-protocol: on" in pp.message
    assert "gunicorn --proxy-protocol" in pp.fix


def _shop_lb(
    annotations: Dict[str, str], etp: str = "Local", lb_class: Optional[str] = None
) -> Dict[str, Any]:
    svc = copy.deepcopy(load("lb-tcp-alibaba.json")[0])
    svc["metadata"]["annotations"] = annotations
    svc["spec"]["externalTrafficPolicy"] = etp
    if lb_class:
        svc["spec"]["loadBalancerClass"] = lb_class
    return svc


def _only(objects: List[Dict[str, Any]]) -> Entry:
    report = analyze(objects)
    assert len(report.entries) == 1, [e.ref for e in report.entries]
    return report.entries[0]


def test_alibaba_legacy_prefix_mixed_listeners_and_eni_backends() -> None:
    svc = _shop_lb(
        {
            "service.beta.kubernetes.io/alicloud-loadbalancer-protocol-port": "https:443,tcp:8443",
            "service.beta.kubernetes.io/backend-type": "eni",
        },
        etp="Cluster",
    )
    svc["spec"]["ports"] = [{"port": 443, "protocol": "TCP"}, {"port": 8443, "protocol": "TCP"}]
    entry = _only([svc])
    # ENI backends bypass kube-proxy: Cluster does not SNAT here.
    assert (entry.topology, entry.client_ip, errors(entry)) == ("lb-http", PRESERVED, [])
    assert entry.codes() == [
        "alibaba-eni-backend",
        "alibaba-http-listener",
        "alibaba-mixed-listeners",
    ]
    assert "tcp:8443" in finding(entry, "alibaba-mixed-listeners").message


def test_alibaba_unreadable_protocol_port() -> None:
    entry = _only(
        [
            _shop_lb(
                {
                    "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-protocol-port": "http80,tcp:x"
                }
            )
        ]
    )
    # cloud-provider-alibaba-cloud's protocol(): an entry without ":" fails the Service, so no
    # listener is built from the annotation and doctor can't say what the listeners are.
    bad = finding(entry, "alibaba-protocol-port-unreadable")
    assert bad.level == "warning" and "'http80'" in bad.message
    assert (entry.client_ip, errors(entry)) == (UNKNOWN, [])


_ALI = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-"


def _ali_lb(annotations: Dict[str, str], ports: List[int], nlb: bool = False) -> Entry:
    svc = _shop_lb(
        {_ALI + k: v for k, v in annotations.items()},
        lb_class="alibabacloud.com/nlb" if nlb else None,
    )
    svc["spec"]["ports"] = [{"port": p, "protocol": "TCP"} for p in ports]
    return _only([svc])


@pytest.mark.parametrize(
    "annotations, ports, nlb, topology, client_ip, code",
    [
        # protocol(): entries split on "," and ":", protocol compared exactly with
        # http/https/tcp/udp, the port as text with each Service port.
        (
            {"protocol-port": "https:443,http:80"},
            [443, 80],
            False,
            "lb-http",
            PRESERVED,
            "alibaba-http-listener",
        ),
        ({"protocol-port": "http:80"}, [80], False, "lb-http", PRESERVED, "alibaba-http-listener"),
        (
            {"protocol-port": "HTTP:80"},
            [80],
            False,
            "lb-tcp",
            UNKNOWN,
            "alibaba-protocol-port-unreadable",
        ),
        (
            {"protocol-port": "http:80, https:443"},
            [80, 443],
            False,
            "lb-tcp",
            UNKNOWN,
            "alibaba-protocol-port-unreadable",
        ),
        # An entry for a port the Service doesn't have is ignored: port 80 stays TCP.
        (
            {"protocol-port": "http:8080"},
            [80],
            False,
            "lb-tcp",
            PRESERVED,
            "alibaba-protocol-port-unmatched",
        ),
        # clbv1 listeners: PROXY protocol only for exactly "on"; nlbv2: "on" in any case.
        ({"proxy-protocol": "on"}, [80], False, "lb-tcp-proxy", PRESERVED, "proxy-protocol"),
        (
            {"proxy-protocol": "On"},
            [80],
            False,
            "lb-tcp",
            PRESERVED,
            "alibaba-proxy-protocol-value",
        ),
        (
            {"proxy-protocol": "true"},
            [80],
            False,
            "lb-tcp",
            PRESERVED,
            "alibaba-proxy-protocol-value",
        ),
        ({"proxy-protocol": "On"}, [80], True, "lb-tcp-proxy", PRESERVED, None),
        # nlbv2 server groups: preserve-client-ip is on only for "on" (any case).
        ({"preserve-client-ip": "on"}, [80], True, "lb-tcp", PRESERVED, "alibaba-tcp-listener"),
        ({"preserve-client-ip": "ON"}, [80], True, "lb-tcp", PRESERVED, "alibaba-tcp-listener"),
        (
            {"preserve-client-ip": "true"},
            [80],
            True,
            "lb-tcp",
            LOST,
            "alibaba-nlb-client-ip-not-preserved",
        ),
        # docs/usage.md: a reused load balancer keeps its listeners unless force-override is "true".
        ({"id": "lb-1"}, [80], False, "lb-tcp", UNKNOWN, "alibaba-existing-lb-listeners"),
        (
            {"id": "lb-1", "force-override-listeners": "true", "protocol-port": "http:80"},
            [80],
            False,
            "lb-http",
            PRESERVED,
            "alibaba-http-listener",
        ),
        (
            {"id": "lb-1", "force-override-listeners": "True"},
            [80],
            False,
            "lb-tcp",
            UNKNOWN,
            "alibaba-existing-lb-listeners",
        ),
    ],
)
def test_alibaba_annotation_values_as_the_cloud_controller_reads_them(
    annotations: Dict[str, str],
    ports: List[int],
    nlb: bool,
    topology: str,
    client_ip: str,
    code: Optional[str],
) -> None:
    entry = _ali_lb(annotations, ports, nlb)
    assert (entry.topology, entry.client_ip) == (topology, client_ip), entry.codes()
    if code is not None:
        assert code in entry.codes()
    if client_ip == UNKNOWN:
        assert errors(entry) == []


def test_alibaba_nlb_is_layer_4_even_with_http_words() -> None:
    entry = _only(
        [
            _shop_lb(
                {"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-protocol-port": "tcp:80"},
                lb_class="alibabacloud.com/nlb",
            )
        ]
    )
    assert entry.topology == "lb-tcp"
    assert "Alibaba Cloud NLB" in finding(entry, "alibaba-tcp-listener").message


def test_aws_variants() -> None:
    nlb_cls = _only([_shop_lb({}, etp="Cluster", lb_class="service.k8s.aws/nlb")])
    # Instance targets (the default) go through kube-proxy: Cluster SNATs.
    assert (nlb_cls.client_ip, errors(nlb_cls)) == (LOST, ["snat"])
    in_tree = _only([_shop_lb({"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"})])
    assert (in_tree.topology, in_tree.client_ip, errors(in_tree)) == ("lb-tcp", PRESERVED, [])
    elb_http = _only(
        [
            _shop_lb(
                {"service.beta.kubernetes.io/aws-load-balancer-backend-protocol": "http"},
                etp="Cluster",
            )
        ]
    )
    assert (elb_http.topology, elb_http.client_ip) == ("lb-http", PRESERVED)
    assert elb_http.settings["REALIP_LB_CIDRS"] == "<your VPC CIDR>"
    pp_v2 = _only(
        [
            _shop_lb(
                {
                    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
                    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
                    "service.beta.kubernetes.io/aws-load-balancer-target-group-attributes": "proxy_protocol_v2.enabled=true",
                }
            )
        ]
    )
    # realip decodes PROXY protocol itself now (lb-tcp-proxy): no longer "unknown".
    assert (pp_v2.topology, pp_v2.client_ip) == ("lb-tcp-proxy", PRESERVED)
    assert "proxy_protocol_v2.enabled=true" in finding(pp_v2, "proxy-protocol").message
    nlb_ip = report_of("aws-nlb-ip-targets.json").find("Service", "shop", "shop")
    assert (
        "preserve_client_ip.enabled=true" in finding(nlb_ip, "aws-nlb-client-ip-not-preserved").fix
    )
    # IP targets bypass kube-proxy: no SNAT finding although the policy is Cluster.
    assert "snat" not in nlb_ip.codes()


def test_gcp_internal_passthrough() -> None:
    entry = _only([_shop_lb({"networking.gke.io/load-balancer-type": "Internal"}, etp="Cluster")])
    assert "GKE internal passthrough" in finding(entry, "gcp-passthrough").message
    assert errors(entry) == ["snat"]


def test_unknown_load_balancer_is_unknown_not_assumed_layer_4() -> None:
    # Was "assumed layer 4, preserved": the Kubernetes source-IP tutorial warns some cloud load
    # balancers are proxies, so doctor now says it can't tell, and how to find out.
    entry = _only([_shop_lb({"example.com/owner": "team-a"})])
    assert (entry.topology, entry.client_ip) == ("lb-tcp", UNKNOWN)
    warn = finding(entry, "lb-unknown")
    assert warn.level == "warning" and warn.fix is None
    assert "realip serve" in warn.message and "proxies" in warn.message
    assert errors(entry) == []


# -- ingress-nginx ----------------------------------------------------------------------


def test_ingress_controller_service_is_judged_where_clients_enter() -> None:
    report = report_of("ingress-controller-cluster.json")
    ctrl = report.find("Service", "ingress-nginx", "ingress-nginx-controller")
    assert ctrl.role == "ingress-controller"
    assert (ctrl.client_ip, errors(ctrl)) == (LOST, ["snat"])
    assert ctrl.settings == {}  # realip does not run in the controller
    # The app behind the Ingress inherits the verdict.
    app = report.find("Service", "shop", "shop")
    assert (app.role, app.topology, app.client_ip) == ("app", "ingress", LOST)
    assert "Ingress shop/shop" in finding(app, "behind-ingress").message
    # The admission webhook Service is not an entry point.
    with pytest.raises(KeyError):
        report.find("Service", "ingress-nginx", "ingress-nginx-controller-admission")
    assert any("ingress-nginx-controller-admission" in n for n in report.notes)


def test_nginx_configmap_keys_are_explained() -> None:
    report = report_of("ingress-slb-http-full-chain.json")
    cm = report.find("ConfigMap", "ingress-nginx", "ingress-nginx-controller")
    assert cm.client_ip == NOT_APPLICABLE
    assert cm.codes() == [
        "nginx-use-forwarded-headers",
        "nginx-compute-full-forwarded-for",
        "nginx-forwarded-for-header",
        "nginx-proxy-real-ip-cidr",
        "nginx-use-proxy-protocol",
        "nginx-enable-real-ip",
    ]
    assert finding(cm, "nginx-use-forwarded-headers").message.startswith(
        "use-forwarded-headers: 'true': "
    )
    assert finding(cm, "nginx-proxy-real-ip-cidr").message.startswith(
        "proxy-real-ip-cidr: '100.64.0.0/10': only these peers"
    )
    assert "(default)" in finding(cm, "nginx-use-proxy-protocol").message
    ing = report.find("Ingress", "shop", "shop")
    assert (
        "'<what the client sent>, <client>, <load balancer>'"
        in finding(ing, "nginx-full-chain").message
    )


def test_slb_http_listener_without_forwarded_headers_fix() -> None:
    ing = report_of("ingress-slb-http-ignored.json").find("Ingress", "shop", "shop")
    fix = finding(ing, "nginx-ignores-lb-header").fix
    assert fix == (
        'set use-forwarded-headers: "true" and proxy-real-ip-cidr: '
        '"100.64.0.0/10" in the ingress-nginx ConfigMap'
    )


def test_trusting_everyone_without_an_http_lb_says_turn_it_off() -> None:
    ing = report_of("ingress-trusts-everyone.json").find("Ingress", "shop", "shop")
    bad = finding(ing, "nginx-trusts-everyone")
    assert "leftmost" in bad.message
    assert bad.fix.startswith('set use-forwarded-headers: "false"')


def _nginx_case(name: str, data: Dict[str, str]) -> Report:
    objects = load(name)
    for obj in objects:
        if obj["kind"] == "ConfigMap":
            obj["data"] = data
    return analyze(objects)


def test_compute_full_forwarded_for_rescues_a_trust_everyone_config() -> None:
    report = _nginx_case(
        "ingress-trusts-everyone.json",
        {"use-forwarded-headers": "true", "compute-full-forwarded-for": "true"},
    )
    ing = report.find("Ingress", "shop", "shop")
    assert (ing.client_ip, errors(ing)) == (PRESERVED, [])
    assert finding(ing, "nginx-remote-addr-spoofable").level == "warning"
    assert report.exit_code == 0


def test_real_ip_cidr_must_cover_the_load_balancer() -> None:
    report = _nginx_case(
        "ingress-slb-http-trusted.json",
        {"use-forwarded-headers": "true", "proxy-real-ip-cidr": "10.0.0.0/8"},
    )
    ing = report.find("Ingress", "shop", "shop")
    assert (ing.client_ip, errors(ing)) == (LOST, ["nginx-lb-not-trusted"])
    assert finding(ing, "nginx-lb-not-trusted").fix == "add 100.64.0.0/10 to proxy-real-ip-cidr"


def test_http_lb_with_trust_everyone_is_spoofable() -> None:
    report = _nginx_case("ingress-slb-http-trusted.json", {"use-forwarded-headers": "true"})
    ing = report.find("Ingress", "shop", "shop")
    assert (ing.client_ip, errors(ing)) == (SPOOFABLE, ["nginx-trusts-everyone"])
    assert '"100.64.0.0/10"' in finding(ing, "nginx-trusts-everyone").fix


def test_forwarded_for_header_must_match_what_the_lb_writes() -> None:
    report = _nginx_case(
        "ingress-slb-http-trusted.json",
        {
            "use-forwarded-headers": "true",
            "proxy-real-ip-cidr": "100.64.0.0/10",
            "forwarded-for-header": "X-Real-IP",
        },
    )
    ing = report.find("Ingress", "shop", "shop")
    assert errors(ing) == ["nginx-wrong-header"]


def test_use_proxy_protocol_behind_an_unknown_lb_is_a_warning_not_an_error() -> None:
    # Was an ERROR telling the user to turn use-proxy-protocol off (issue 13, item 1): with a
    # load balancer doctor does not know, that advice would break a working cluster.
    report = _nginx_case("ingress-nginx.json", {"use-proxy-protocol": "true"})
    ing = report.find("Ingress", "shop", "shop")
    assert (ing.client_ip, errors(ing)) == (UNKNOWN, [])
    assert "can't tell whether" in finding(ing, "proxy-protocol-unverified").message
    ctrl = report.find("Service", "ingress-nginx", "ingress-nginx-controller")
    assert (ctrl.client_ip, errors(ctrl)) == (UNKNOWN, [])


def test_use_proxy_protocol_with_a_known_lb_without_it_is_a_mismatch() -> None:
    report = _nginx_case("ingress-slb-http-trusted.json", {"use-proxy-protocol": "true"})
    assert errors(report.find("Ingress", "shop", "shop")) == ["proxy-protocol-mismatch"]


def test_proxy_protocol_agreement() -> None:
    report = report_of("ingress-proxy-protocol.json")
    ctrl = report.find("Service", "ingress-nginx", "ingress-nginx-controller")
    assert ctrl.client_ip == PRESERVED
    # PROXY protocol survives kube-proxy's SNAT, and ingress-nginx is the decoder.
    assert "proxy-protocol" not in ctrl.codes()
    assert "proxy-protocol-decoded" in ctrl.codes()


def test_bad_configmap_values_are_reported() -> None:
    report = _nginx_case(
        "ingress-nginx.json",
        {"use-forwarded-headers": "yes", "proxy-real-ip-cidr": "100.64.0.0/10,bogus"},
    )
    cm = report.find("ConfigMap", "ingress-nginx", "ingress-nginx-controller")
    assert "'yes' is not a boolean" in finding(cm, "nginx-bad-boolean").message
    assert "'bogus' is not a CIDR" in finding(cm, "nginx-bad-cidr").message
    # "yes" falls back to false, as in ingress-nginx (the LB itself is unknown).
    assert report.find("Ingress", "shop", "shop").client_ip == UNKNOWN


def test_ingress_without_controller_service_or_configmap() -> None:
    objects = [
        o
        for o in load("ingress-nginx.json")
        if o["kind"] == "Ingress" or o["metadata"]["name"] == "shop"
    ]
    report = analyze(objects)
    ing = report.find("Ingress", "shop", "shop")
    # Not assumed Local: a Service's default policy (Cluster) would SNAT the client away.
    assert ing.client_ip == UNKNOWN
    assert finding(ing, "controller-service-not-found").level == "warning"
    assert errors(ing) == []


def _ingress(cls: str, annotations: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    ing = copy.deepcopy(next(o for o in load("ingress-nginx.json") if o["kind"] == "Ingress"))
    ing["spec"]["ingressClassName"] = cls
    if annotations:
        ing["metadata"]["annotations"] = annotations
    return ing


def test_aws_alb_ingress() -> None:
    entry = _only([_ingress("alb", {"alb.ingress.kubernetes.io/target-type": "ip"})])
    assert (entry.topology, entry.client_ip) == ("lb-http", PRESERVED)
    assert entry.settings == {"REALIP_TOPOLOGY": "lb-http", "REALIP_LB_CIDRS": "<your VPC CIDR>"}
    assert "target-type: ip" in finding(entry, "aws-alb").message


def test_gke_ingress_trusts_front_ends_and_its_own_address() -> None:
    entry = _only([_ingress("gce")])
    # Google's IPv6 front-end ranges were missing (issue 13, range data).
    assert entry.settings["REALIP_LB_CIDRS"] == (
        "35.191.0.0/16,130.211.0.0/22,2600:2d00:1:1::/64,2600:2d00:1:b029::/64,47.96.12.34"
    )


def test_unknown_ingress_controller() -> None:
    entry = _only([_ingress("acme-edge")])
    assert (entry.topology, entry.client_ip) == ("ingress", UNKNOWN)
    assert finding(entry, "ingress-controller-unknown").level == "warning"


# -- input handling ---------------------------------------------------------------------


def test_skipped_services_are_noted() -> None:
    report = report_of("pod-to-pod.json")
    assert [e.ref for e in report.entries] == ["Service shop/shop"]
    assert report.notes == [
        "skipped Service default/kubernetes: the API server",
        "skipped Service kube-system/kube-dns: a kube-system component",
    ]


def test_single_object_and_concatenated_objects() -> None:
    assert [o["kind"] for o in load("single-service.json")] == ["Service"]
    report = report_of("concatenated.json")
    assert [e.ref for e in report.entries] == ["Service shop/shop", "Service shop/admin"]


def test_json_array_and_nested_lists() -> None:
    svc = load("single-service.json")[0]
    text = json.dumps([{"kind": "ServiceList", "items": [svc]}, svc])
    assert [o["kind"] for o in parse_objects(text)] == ["Service", "Service"]


def test_yaml_input() -> None:
    pytest.importorskip("yaml")
    objects = parse_objects((DOCS / "lb-http.yaml").read_text())
    assert [o["kind"] for o in objects] == ["Deployment", "Service"]
    entry = analyze(objects).find("Service", "realip-demo", "realip-lb-http")
    assert entry.settings == {"REALIP_TOPOLOGY": "lb-http", "REALIP_LB_CIDRS": "100.64.0.0/10"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the input is empty"),
        ("   \n", "the input is empty"),
        ('{"kind": "List", "items": []}', "no Kubernetes objects found"),
        ('{"metadata": {"name": "x"}}', "an object has no 'kind'"),
        ("[1, 2]", "found the int '1'"),
        ('{"kind": "Service"} trailing', None),
    ],
)
def test_unreadable_input(text: str, message: Optional[str]) -> None:
    with pytest.raises(DoctorInputError) as info:
        parse_objects(text)
    if message is not None:
        assert message in str(info.value)


def test_garbage_types_inside_objects_do_not_crash() -> None:
    weird = {
        "kind": "Service",
        "metadata": {"name": 5, "annotations": ["x"], "labels": None},
        "spec": {"type": "LoadBalancer", "ports": "80", "externalTrafficPolicy": True},
    }
    ingress = {"kind": "Ingress", "metadata": "nope", "spec": {"rules": [None, {"http": 3}]}}
    report = analyze([weird, ingress, {"kind": "ConfigMap", "data": None}])
    assert len(report.entries) == 2
    report.render()
    json.dumps(report.as_dict())


def test_render_and_json_agree() -> None:
    report = report_of("ingress-controller-cluster.json")
    text = report.render()
    assert "client IP: LOST" in text
    assert "fix: set externalTrafficPolicy: Local on that Service" in text
    assert text.rstrip().endswith("Service shop/shop, Ingress shop/shop.")
    data = report.as_dict()
    assert data["exit_code"] == 1 and data["loses_client_ip"] is True
    assert {e["name"] for e in data["entries"] if e["loses_client_ip"]} == {
        "ingress-nginx-controller",
        "shop",
    }


# -- run() and the command line ---------------------------------------------------------


def _run(*files: str, as_json: bool = False) -> int:
    return run(argparse.Namespace(files=list(files), json=as_json))


def test_run_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(str(DATA / "nodeport-local.json")) == 0
    assert _run(str(DATA / "nodeport-cluster.json")) == 1
    assert _run(str(DATA / "pods.json")) == 2
    assert "no Service, Ingress, Gateway or workload (found: Pod)" in capsys.readouterr().err
    assert _run(str(DATA / "does-not-exist.json")) == 2
    assert "cannot read" in capsys.readouterr().err


PYTHON = sys.executable


def _cli(*args: str, stdin: Optional[str] = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "realip", "doctor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_exit_0_when_the_client_ip_survives() -> None:
    out = _cli(str(DATA / "nodeport-local.json"))
    assert out.returncode == 0, out.stderr
    assert "The client IP survives every path in this input." in out.stdout


def test_cli_exit_1_when_something_loses_it() -> None:
    out = _cli(str(DATA / "nodeport-cluster.json"))
    assert out.returncode == 1
    assert "client IP: LOST" in out.stdout


def test_cli_reads_stdin_and_prints_json() -> None:
    out = _cli("--json", "-", stdin=(DATA / "ingress-trusts-everyone.json").read_text())
    assert out.returncode == 1
    data = json.loads(out.stdout)
    ing = next(e for e in data["entries"] if e["kind"] == "Ingress")
    assert ing["client_ip"] == "spoofable"
    assert ing["settings"] == {"REALIP_TOPOLOGY": "ingress", "REALIP_POD_CIDRS": "<your pod CIDR>"}


@pytest.mark.parametrize("content", ["{not json", "\xff\xfe garbage", ""])
def test_cli_exit_2_on_unreadable_input(tmp_path: Path, content: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content.encode("latin-1"))
    out = _cli(str(bad))
    assert out.returncode == 2
    assert out.stderr.startswith(f"realip doctor: {bad}: ")
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_cli_exit_2_on_a_missing_file() -> None:
    out = _cli("/nonexistent/cluster.json")
    assert out.returncode == 2
    # Issue 23: the path is said once, before the reason.
    assert out.stderr == (
        "realip doctor: /nonexistent/cluster.json: cannot read it: No such file or directory\n"
    )
    assert "Traceback" not in out.stderr


def test_cli_several_files_and_yaml() -> None:
    pytest.importorskip("yaml")
    out = _cli(*sorted(str(p) for p in DOCS.glob("*.yaml")))
    # The nodeport-cluster demo is there to show the loss, so the exit status is 1.
    assert out.returncode == 1, out.stderr
    assert out.stdout.count("client IP: LOST") == 1
    assert "Service realip-demo/realip-nodeport-cluster" in out.stdout


def test_cli_help_has_an_example() -> None:
    out = _cli("--help")
    assert out.returncode == 0
    assert (
        "kubectl get svc,ingress,ingressclass,configmap,deploy,ds -A -o json | realip doctor -"
        in (out.stdout)
    )
    assert "--json" in out.stdout and "exit status" in out.stdout


def test_app_behind_an_alb_ingress_gets_the_alb_settings() -> None:
    app = next(
        o
        for o in load("ingress-nginx.json")
        if o["metadata"]["name"] == "shop" and o["kind"] == "Service"
    )
    report = analyze([_ingress("alb"), app])
    entry = report.find("Service", "shop", "shop")
    assert (entry.topology, entry.client_ip) == ("lb-http", PRESERVED)
    assert entry.settings == {"REALIP_TOPOLOGY": "lb-http", "REALIP_LB_CIDRS": "<your VPC CIDR>"}
    assert "the load balancer" in finding(entry, "behind-ingress").message


def test_app_behind_ingress_and_also_exposed_with_snat() -> None:
    objects = load("ingress-nginx.json")
    for obj in objects:
        if obj["kind"] == "Service" and obj["metadata"]["name"] == "shop":
            obj["spec"]["type"] = "NodePort"
            obj["spec"]["externalTrafficPolicy"] = "Cluster"
    entry = analyze(objects).find("Service", "shop", "shop")
    assert (entry.topology, entry.client_ip) == ("ingress", LOST)
    assert entry.codes() == ["behind-ingress", "also-exposed", "snat"]


# -- load balancers whose documented client-IP switch is PROXY protocol ----------------------


def _lb(annotations: Dict[str, str], ns: str = "shop", **spec: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {"type": "LoadBalancer", "selector": {"app": "shop"}}
    body.update(spec)
    return {
        "kind": "Service",
        "metadata": {"name": "shop", "namespace": ns, "annotations": annotations},
        "spec": body,
    }


_LINODE = "service.beta.kubernetes.io/linode-loadbalancer-"
_VULTR = "service.beta.kubernetes.io/vultr-loadbalancer-"


@pytest.mark.parametrize(
    ("annotations", "topology", "client", "code"),
    [
        ({_LINODE + "default-proxy-protocol": "v2"}, "lb-tcp-proxy", PRESERVED, None),
        ({_LINODE + "proxy-protocol": "v1"}, "lb-tcp-proxy", PRESERVED, None),
        (
            {_LINODE + "default-proxy-protocol": "none"},
            "lb-tcp",
            UNKNOWN,
            "linode-no-proxy-protocol",
        ),
        ({_LINODE + "default-protocol": "http"}, "lb-tcp", UNKNOWN, "linode-no-proxy-protocol"),
        ({_VULTR + "proxy-protocol": "true"}, "lb-tcp-proxy", PRESERVED, None),
        ({_VULTR + "proxy-protocol": "false"}, "lb-tcp", UNKNOWN, "vultr-no-proxy-protocol"),
        (
            {"kubernetes.civo.com/loadbalancer-enable-proxy-protocol": "send-proxy-v2"},
            "lb-tcp-proxy",
            PRESERVED,
            None,
        ),
        ({"kubernetes.civo.com/firewall-id": "x"}, "lb-tcp", UNKNOWN, "civo-no-proxy-protocol"),
        (
            {"k8s.cloudscale.ch/loadbalancer-pool-protocol": "proxy"},
            "lb-tcp-proxy",
            PRESERVED,
            None,
        ),
        (
            {"k8s.cloudscale.ch/loadbalancer-pool-protocol": "tcp"},
            "lb-tcp",
            UNKNOWN,
            "cloudscale-no-proxy-protocol",
        ),
    ],
)
def test_proxy_protocol_switch_of_smaller_providers(
    annotations: Dict[str, str], topology: str, client: str, code: Optional[str]
) -> None:
    entry = analyze([_lb(annotations, externalTrafficPolicy="Local")]).entries[0]
    assert (entry.topology, entry.client_ip) == (topology, client)
    assert not [f for f in entry.findings if f.level == "error"]
    if code is None:
        assert entry.settings["REALIP_TOPOLOGY"] == "lb-tcp-proxy"
    else:
        warning = next(f for f in entry.findings if f.code == code)
        assert warning.level == "warning" and "realip serve" in warning.message


def test_linode_proxy_protocol_on_some_ports_only_is_not_taken_for_all() -> None:
    port = {_LINODE + "port-443": '{"protocol": "https", "proxy-protocol": "v2"}'}
    entry = analyze([_lb(port, externalTrafficPolicy="Local")]).entries[0]
    assert (entry.topology, entry.client_ip) == ("lb-tcp", UNKNOWN)
    assert "443" in next(f for f in entry.findings if f.code == "linode-no-proxy-protocol").message
    broken = {_LINODE + "port-80": "{not json"}
    assert analyze([_lb(broken)]).entries[0].client_ip == UNKNOWN


@pytest.mark.parametrize(
    ("svc_type", "analysed"), [("LoadBalancer", True), ("NodePort", True), ("ClusterIP", False)]
)
def test_kube_system_skips_only_internal_services(svc_type: str, analysed: bool) -> None:
    report = analyze([_lb({}, ns="kube-system", type=svc_type)])
    assert bool(report.entries) is analysed
    assert any("kube-system component" in n for n in report.notes) is not analysed


# -- routing custom resources doctor does not read -------------------------------------------


def _app(name: str, ns: str = "shop") -> Dict[str, Any]:
    return {
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80}]},
    }


def _cr(api: str, kind: str, spec: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": "r", "namespace": "shop"},
        "spec": spec,
    }


@pytest.mark.parametrize(
    ("resource", "target"),
    [
        (  # Traefik IngressRoute: routes[].services[].name
            _cr(
                "traefik.io/v1alpha1", "IngressRoute", {"routes": [{"services": [{"name": "web"}]}]}
            ),
            ("shop", "web"),
        ),
        (  # F5 NGINX VirtualServer: upstreams[].service (the upstream's own name is not one)
            _cr(
                "k8s.nginx.org/v1",
                "VirtualServer",
                {"upstreams": [{"name": "u", "service": "web"}]},
            ),
            ("shop", "web"),
        ),
        (  # Emissary Mapping: service "name.namespace:port"
            _cr("getambassador.io/v3alpha1", "Mapping", {"service": "web.other:8080"}),
            ("other", "web"),
        ),
        (  # Istio VirtualService: http[].route[].destination.host
            _cr(
                "networking.istio.io/v1",
                "VirtualService",
                {"http": [{"route": [{"destination": {"host": "web.shop.svc.cluster.local"}}]}]},
            ),
            ("shop", "web"),
        ),
        (  # APISIX ApisixRoute: http[].backends[].serviceName
            _cr(
                "apisix.apache.org/v2",
                "ApisixRoute",
                {"http": [{"backends": [{"serviceName": "web"}]}]},
            ),
            ("shop", "web"),
        ),
        (  # Gateway API TCPRoute, which doctor does not read itself
            _cr(
                "gateway.networking.k8s.io/v1alpha2",
                "TCPRoute",
                {"rules": [{"backendRefs": [{"name": "web"}]}]},
            ),
            ("shop", "web"),
        ),
    ],
)
def test_services_behind_routing_resources_are_unknown_not_pod_to_pod(
    resource: Dict[str, Any], target: Any
) -> None:
    ns, name = target
    report = analyze([_app(name, ns), resource])
    entry = report.find("Service", ns, name)
    assert (entry.topology, entry.client_ip) == ("ingress", UNKNOWN)
    warning = next(f for f in entry.findings if f.code == "unread-route-resource")
    assert warning.level == "warning" and resource["kind"] in warning.message
    assert report.find(resource["kind"], "shop", "r").client_ip == UNKNOWN


def _nested(depth: int, leaf: Any) -> Any:
    # Deeper than doctor walks: past its depth bound a target is not looked for.
    for _ in range(depth):
        leaf = [leaf]
    return leaf


@pytest.mark.parametrize(
    "resource",
    [
        # An outside host name is not a Service of the cluster.
        _cr(
            "networking.istio.io/v1",
            "VirtualService",
            {"http": [{"route": [{"destination": {"host": "web.example.com"}}]}]},
        ),
        # A Kubernetes group that names no traffic path (an autoscaler's target).
        _cr("autoscaling.k8s.io/v1", "VerticalPodAutoscaler", {"targetRef": {"name": "web"}}),
        # Ill-typed and deep specs are read as nothing, never raise.
        _cr("example.com/v1", "Thing", {"services": "web", "service": 3, "backends": [None, 1]}),
        _cr(
            "example.com/v1",
            "Deep",
            {"a": _nested(40, {"service": "web"})},
        ),
    ],
)
def test_other_custom_resources_leave_a_cluster_ip_service_alone(resource: Dict[str, Any]) -> None:
    entry = analyze([_app("web"), resource]).find("Service", "shop", "web")
    assert (entry.topology, entry.client_ip) == ("pod-to-pod", PRESERVED)


def test_an_istio_gateway_is_not_read_as_a_gateway_api_gateway() -> None:
    istio = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "shop"},
        "spec": {"selector": {"istio": "ingressgateway"}},
    }
    report = analyze([_app("web"), istio])
    assert [e.kind for e in report.entries] == ["Service"]
    assert any("not a Gateway API one" in n for n in report.notes)
    for api in ("gateway.networking.k8s.io/v1", "networking.x-k8s.io/v1alpha1", None):
        gateway_api = dict(istio, apiVersion=api)
        assert analyze([gateway_api]).entries[0].kind == "Gateway", api


def test_a_service_of_another_api_group_is_unknown_not_a_core_service() -> None:
    knative = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "hello", "namespace": "shop"},
        "spec": {"template": {"spec": {"containers": [{"image": "ghcr.io/knative/helloworld"}]}}},
    }
    report = analyze([knative])
    [entry] = report.entries
    assert (entry.kind, entry.name, entry.topology, entry.client_ip) == (
        "Service",
        "hello",
        None,
        UNKNOWN,
    )
    [finding] = entry.findings
    assert finding.code == "unread-service-resource" and "serving.knative.dev/v1" in finding.message
    assert finding.fix is None  # nothing to set: doctor can't know what is in front
    # The core group, spelled out or left out, is still read as a Service.
    for api in ("v1", None):
        svc = dict(_app("web"), apiVersion=api)
        assert analyze([svc]).find("Service", "shop", "web").topology == "pod-to-pod", api


@pytest.mark.parametrize("prefix", ["metallb.universe.tf/", "metallb.io/"])
@pytest.mark.parametrize(
    ("policy", "client", "codes"), [("Local", PRESERVED, []), ("Cluster", LOST, ["snat"])]
)
def test_metallb_is_read_under_both_annotation_prefixes(
    prefix: str, policy: str, client: str, codes: List[str]
) -> None:
    # MetalLB usage page: with Cluster "kube-proxy will obscure the source IP address"; with
    # Local "your pods can see the real source IP address". Its docs spell the annotations
    # metallb.io/ now; metallb.universe.tf/ is the older spelling.
    svc = _lb({prefix + "loadBalancerIPs": "192.168.1.100"}, externalTrafficPolicy=policy)
    entry = analyze([svc]).entries[0]
    assert (entry.topology, entry.client_ip, errors(entry)) == ("lb-tcp", client, codes)
    assert "metallb" in entry.codes() and "lb-unknown" not in entry.codes()


_AZ = "service.beta.kubernetes.io/azure-"


@pytest.mark.parametrize(
    ("annotations", "policy", "topology", "client", "codes", "code"),
    [
        # No PLS: a layer-4 pass-through (AKS load balancer docs).
        ({_AZ + "load-balancer-internal": "true"}, "Local", "lb-tcp", PRESERVED, [], "azure-lb"),
        # A PLS without PROXY protocol: private-endpoint clients arrive from the PLS NAT
        # addresses, direct clients keep theirs; no single verdict holds, so unknown.
        ({_AZ + "pls-create": "true"}, "Local", "lb-tcp", UNKNOWN, [], "azure-pls-nat"),
        ({_AZ + "pls-create": "true"}, "Cluster", "lb-tcp", LOST, ["snat"], "azure-pls-nat"),
        (
            {_AZ + "pls-create": "true", _AZ + "pls-proxy-protocol": "false"},
            "Local",
            "lb-tcp",
            UNKNOWN,
            [],
            "azure-pls-nat",
        ),
        # azure-pls-proxy-protocol: the PLS sends PROXY v2 and "the backend service MUST support
        # the PROXY protocol" (cloud-provider-azure pls-integration.md).
        (
            {_AZ + "pls-create": "true", _AZ + "pls-proxy-protocol": "true"},
            "Local",
            "lb-tcp-proxy",
            PRESERVED,
            [],
            "azure-pls-direct",
        ),
        (
            {_AZ + "pls-create": "true", _AZ + "pls-proxy-protocol": "true"},
            "Cluster",
            "lb-tcp-proxy",
            PRESERVED,
            [],
            "azure-pls-direct-snat",
        ),
        # pls-create "false" is no PLS at all.
        ({_AZ + "pls-create": "false"}, "Local", "lb-tcp", PRESERVED, [], "azure-lb"),
    ],
)
def test_azure_private_link_service(
    annotations: Dict[str, str],
    policy: str,
    topology: str,
    client: str,
    codes: List[str],
    code: str,
) -> None:
    entry = analyze([_lb(annotations, externalTrafficPolicy=policy)]).entries[0]
    assert (entry.topology, entry.client_ip, errors(entry)) == (topology, client, codes)
    assert code in entry.codes()


def test_azure_pls_names_its_nat_subnet_in_the_settings() -> None:
    ann = {
        _AZ + "pls-create": "true",
        _AZ + "pls-proxy-protocol": "true",
        _AZ + "pls-ip-configuration-subnet": "pls-subnet",
    }
    entry = analyze([_lb(ann, externalTrafficPolicy="Local")]).entries[0]
    assert entry.settings == {
        "REALIP_TOPOLOGY": "lb-tcp-proxy",
        "REALIP_LB_CIDRS": "<the PLS NAT subnet (pls-subnet)>",
    }
    without = analyze([_lb({_AZ + "pls-create": "true"}, externalTrafficPolicy="Local")])
    warning = finding(without.entries[0], "azure-pls-nat")
    assert warning.level == "warning" and "pls-proxy-protocol" in (warning.fix or "")


def _istio_gateway(annotations: Dict[str, str], **spec: Any) -> Dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "edge", "namespace": "shop", "annotations": annotations},
        "spec": {"gatewayClassName": "istio", **spec},
    }


def _proxy_protocol_filter(selector: Dict[str, str], ns: str = "shop") -> Dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": {"name": "proxy-protocol", "namespace": ns},
        "spec": {
            "workloadSelector": {"labels": selector},
            "configPatches": [
                {
                    "applyTo": "LISTENER",
                    "patch": {
                        "value": {"listener_filters": [{"name": "envoy.listener.proxy_protocol"}]}
                    },
                }
            ],
        },
    }


_NLB = {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
_ELB_PP = {"service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": "*"}
_ISTIO_PP = {"proxy.istio.io/config": '{"gatewayTopology": {"proxyProtocol": {}}}'}
_BY_NAME = {"istio.io/gateway-name": "edge"}


@pytest.mark.parametrize(
    ("annotations", "spec", "extra", "client", "codes"),
    [
        # No cloud annotation (issue 22 class 2; was preserved): the generated Service is a
        # LoadBalancer under Cluster, SNAT'ed by kube-proxy whatever the load balancer is
        # (kubernetes.io "Using Source IP", Type=LoadBalancer).
        ({}, {}, [], LOST, ["snat"]),
        # Istio copies the Gateway's annotations to the LoadBalancer Service it generates, whose
        # policy is Cluster unless patched (istio.io authz-ingress task).
        (_NLB, {}, [], LOST, ["snat"]),
        ({}, {"infrastructure": {"annotations": _NLB}}, [], LOST, ["snat"]),
        # PROXY protocol from the load balancer: decoded only if the gateway is told to.
        (_ELB_PP, {}, [], UNKNOWN, []),
        ({**_ELB_PP, **_ISTIO_PP}, {}, [], PRESERVED, []),
        (_ELB_PP, {}, [_proxy_protocol_filter(_BY_NAME)], PRESERVED, []),
        # An EnvoyFilter for another gateway, or in another namespace, is not this one's.
        (_ELB_PP, {}, [_proxy_protocol_filter({"istio.io/gateway-name": "other"})], UNKNOWN, []),
        (_ELB_PP, {}, [_proxy_protocol_filter(_BY_NAME, ns="elsewhere")], UNKNOWN, []),
    ],
)
def test_istio_gateway_is_judged_through_the_service_it_generates(
    annotations: Dict[str, str],
    spec: Dict[str, Any],
    extra: List[Dict[str, Any]],
    client: str,
    codes: List[str],
) -> None:
    entry = analyze([_istio_gateway(annotations, **spec), *extra]).find("Gateway", "shop", "edge")
    assert (entry.topology, entry.client_ip, errors(entry)) == ("ingress", client, codes)
    assert all(f.fix for f in entry.findings if f.level == "error")
    if client == UNKNOWN:
        assert finding(entry, "controller-proxy-protocol-unverified").level == "warning"


def test_other_in_cluster_gateway_classes_are_judged_through_their_service() -> None:
    # Only Istio is documented to copy the Gateway's annotations to its Service; for the others
    # the proxy's own Service decides (issue 22 class 2: was preserved with no Service at all).
    gw = _istio_gateway(_NLB)
    gw["spec"]["gatewayClassName"] = "contour"
    entry = analyze([gw]).entries[0]
    assert entry.client_ip == UNKNOWN
    assert entry.codes() == ["gateway-proxy", "controller-header", "controller-service-not-found"]


# -- F5 NGINX Ingress Controller: which ConfigMap it reads ---------------------------------

# The AWS Load Balancer Controller's NLB, which applies the PROXY annotation (the in-tree
# "type: nlb" does not: test_in_tree_nlb_proxy_annotation_is_unverified).
_F5_NLB_PP = {
    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
    "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": "*",
}
_F5_PP_ON = {"proxy-protocol": "True", "real-ip-header": "proxy_protocol"}


def _f5_objects(cms: List[Dict[str, Any]], arg: Optional[str]) -> List[Dict[str, Any]]:
    labels = {"app.kubernetes.io/name": "nginx-ingress"}
    svc = _lb(_F5_NLB_PP, ns="nic", externalTrafficPolicy="Local", selector=labels)
    svc["metadata"].update(name="rel-nginx-ingress-controller", labels=labels)
    container: Dict[str, Any] = {"name": "nginx-ingress", "args": [arg] if arg else []}
    dep = {
        "kind": "Deployment",
        "metadata": {"name": "rel-nginx-ingress-controller", "namespace": "nic"},
        "spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}},
    }
    ic = {
        "kind": "IngressClass",
        "metadata": {"name": "nginx"},
        "spec": {"controller": "nginx.org/ingress-controller"},
    }
    return [svc, dep, ic, _ingress("nginx"), *cms]


def _cm(name: str, data: Dict[str, str], ns: str = "nic") -> Dict[str, Any]:
    return {"kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


@pytest.mark.parametrize(
    ("cms", "arg", "client", "codes"),
    [
        # cmd/nginx-ingress: -nginx-configmaps names the one ConfigMap it reads; the chart's
        # is <fullname>, even when another F5-looking ConfigMap is in the input.
        (
            [
                _cm("other", {"proxy-protocol": "False"}, ns="elsewhere"),
                _cm("rel-nginx-ingress", _F5_PP_ON),
            ],
            "-nginx-configmaps=$(POD_NAMESPACE)/rel-nginx-ingress",
            PRESERVED,
            [],
        ),
        # The named ConfigMap is there and leaves PROXY protocol off: a known mismatch.
        (
            [_cm("rel-nginx-ingress", {})],
            "-nginx-configmaps=$(POD_NAMESPACE)/rel-nginx-ingress",
            LOST,
            ["proxy-protocol-mismatch"],
        ),
        # The named ConfigMap is not in the input: what it says is unknown, never an error.
        (
            [_cm("unrelated", _F5_PP_ON, ns="elsewhere")],
            "--nginx-configmaps=nic/rel-nginx-ingress",
            UNKNOWN,
            [],
        ),
        ([], None, UNKNOWN, []),
        # No workload: the chart's <fullname> beside the Service is taken.
        ([_cm("rel-nginx-ingress", _F5_PP_ON)], None, PRESERVED, []),
        ([_cm("nginx-config", {})], None, LOST, ["proxy-protocol-mismatch"]),
    ],
)
def test_f5_reads_the_configmap_its_controller_names(
    cms: List[Dict[str, Any]], arg: Optional[str], client: str, codes: List[str]
) -> None:
    report = analyze(_f5_objects(cms, arg))
    ing = report.find("Ingress", "shop", "shop")
    svc = report.find("Service", "nic", "rel-nginx-ingress-controller")
    # The controller's Service and the Ingress behind it agree.
    assert (ing.client_ip, errors(ing)) == (client, codes)
    assert (svc.client_ip, errors(svc)) == (client, codes)
    if client == UNKNOWN:
        assert finding(ing, "controller-proxy-protocol-unverified").level == "warning"


def _without_classes(objects: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [o for o in objects if o["kind"] != "IngressClass"]


_INGRESS_NGINX_SVC = {
    "kind": "Service",
    "metadata": {
        "name": "ingress-nginx-controller",
        "namespace": "ingress-nginx",
        "labels": {"app.kubernetes.io/name": "ingress-nginx"},
    },
    "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Cluster"},
}


@pytest.mark.parametrize(
    ("cls", "arg", "extra", "client", "codes"),
    [
        # F5's pods (known by -nginx-configmaps) serve class nginx by default: PROXY protocol
        # on both ends, read from the ConfigMap they name.
        ("nginx", None, [], PRESERVED, ["ingress-class-f5"]),
        # -ingress-class names another class: "nginx" stays ambiguous, ingress-nginx assumed
        # (as without any controller in the input), and the warning says so; its Service is not
        # in the input, so what reaches it is unknown.
        ("nginx", "-ingress-class=f5", [], UNKNOWN, ["ingress-class-ambiguous"]),
        ("f5", "-ingress-class=f5", [], PRESERVED, ["ingress-class-f5"]),
        # No class at all: F5's controller takes Ingresses without ingressClassName.
        ("", None, [], PRESERVED, ["ingress-class-assumed"]),
        # Both controllers in the input: doctor says it can't tell which.
        ("nginx", None, [_INGRESS_NGINX_SVC], LOST, ["ingress-class-ambiguous"]),
    ],
)
def test_f5_pods_name_the_controller_without_an_ingressclass(
    cls: str, arg: Optional[str], extra: List[Dict[str, Any]], client: str, codes: List[str]
) -> None:
    objects = _f5_objects(
        [_cm("rel-nginx-ingress", _F5_PP_ON)],
        "-nginx-configmaps=$(POD_NAMESPACE)/rel-nginx-ingress",
    )
    if arg:
        objects[1]["spec"]["template"]["spec"]["containers"][0]["args"].append(arg)
    ing = _ingress(cls)
    if not cls:
        del ing["spec"]["ingressClassName"]
    objects = [o for o in _without_classes(objects) if o["kind"] != "Ingress"] + [ing, *extra]
    entry = analyze(objects).find("Ingress", "shop", "shop")
    assert entry.client_ip == client
    assert set(codes) <= set(entry.codes())
    # The F5 controller's Service is never taken for ingress-nginx's.
    assert analyze(objects).find("Service", "nic", "rel-nginx-ingress-controller").role == (
        "ingress-controller"
    )


@pytest.mark.parametrize(
    ("host_port", "data", "client", "code"),
    [
        # No Service in the input: a hostPort DaemonSet (F5's deployments/daemon-set manifest)
        # is reached on the nodes' ports, and doctor says so.
        (True, None, PRESERVED, "controller-service-not-found"),
        # Neither a Service nor hostPort pods: reached through a Service that may SNAT.
        (False, None, UNKNOWN, "controller-service-not-found"),
        # PROXY protocol expected, but nothing in the input says what sends it.
        (True, _F5_PP_ON, UNKNOWN, "proxy-protocol-unverified"),
    ],
)
def test_f5_without_its_service_says_how_clients_reach_it(
    host_port: bool, data: Optional[Dict[str, str]], client: str, code: str
) -> None:
    objects = _f5_objects(
        [_cm("nginx-config", data)] if data is not None else [],
        "-nginx-configmaps=$(POD_NAMESPACE)/nginx-config",
    )
    objects = [o for o in objects if o["kind"] != "Service"]
    if host_port:
        container = objects[0]["spec"]["template"]["spec"]["containers"][0]
        container["ports"] = [{"containerPort": 80, "hostPort": 80}]
    entry = analyze(objects).find("Ingress", "shop", "shop")
    assert (entry.client_ip, errors(entry)) == (client, [])
    message = finding(entry, "controller-service-not-found").message
    assert ("hostPort" in message) == host_port
    assert code in entry.codes()
    if data is None:
        assert "nic/nginx-config" in finding(entry, "controller-header").message


def _ingress_nginx_setup(annotations: Dict[str, str], data: Dict[str, str]) -> List[Any]:
    """ingress-nginx.json with the controller Service's annotations and ConfigMap replaced."""
    objects = load("ingress-nginx.json")
    for obj in objects:
        if obj["kind"] == "ConfigMap":
            obj["data"] = data
        elif obj["metadata"]["name"] == "ingress-nginx-controller":
            obj["metadata"]["annotations"] = annotations
            obj["spec"]["externalTrafficPolicy"] = "Local"
    return objects


@pytest.mark.parametrize("controller_expects_proxy", [True, False])
def test_in_tree_nlb_proxy_annotation_is_unverified(controller_expects_proxy: bool) -> None:
    """The in-tree controller applies aws-load-balancer-proxy-protocol to Classic ELBs only; on a
    "type: nlb" Service whether PROXY is sent depends on what was done by hand (or on the AWS
    Load Balancer Controller taking the Service): unknown either way, never a mismatch ERROR."""
    in_tree = {
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
        "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": "*",
    }
    cm = {"use-proxy-protocol": "true"} if controller_expects_proxy else {}
    report = analyze(_ingress_nginx_setup(in_tree, cm))
    svc = report.find("Service", "ingress-nginx", "ingress-nginx-controller")
    ing = report.find("Ingress", "shop", "shop")
    assert svc.client_ip == UNKNOWN and "aws-nlb-proxy-protocol-unverified" in svc.codes()
    assert ing.client_ip == UNKNOWN
    assert not [f for e in report.entries for f in e.findings if f.level == "error"]
    # The AWS Load Balancer Controller's NLB does apply it.
    managed = dict(in_tree, **{"service.beta.kubernetes.io/aws-load-balancer-type": "external"})
    report = analyze(_ingress_nginx_setup(managed, cm))
    svc = report.find("Service", "ingress-nginx", "ingress-nginx-controller")
    assert svc.topology == "lb-tcp-proxy"
    expected = PRESERVED if controller_expects_proxy else LOST
    assert report.find("Ingress", "shop", "shop").client_ip == expected


# -- GKE: v1alpha1 Gateway API, multi-cluster resources ----------------------------------------


def _v1alpha1_gateway(routes: Dict[str, Any], cls: str = "gke-l7-rilb") -> Dict[str, Any]:
    return {
        "apiVersion": "networking.x-k8s.io/v1alpha1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "shop"},
        "spec": {
            "gatewayClassName": cls,
            "listeners": [{"protocol": "HTTP", "port": 80, "routes": routes}],
        },
    }


def _v1alpha1_route(
    labels: Dict[str, str], ns: str = "shop", gateways: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    spec: Dict[str, Any] = {"rules": [{"forwardTo": [{"serviceName": "web", "port": 80}]}]}
    if gateways is not None:
        spec["gateways"] = gateways
    return {
        "apiVersion": "networking.x-k8s.io/v1alpha1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": ns, "labels": labels},
        "spec": spec,
    }


_SELECT_GW = {"kind": "HTTPRoute", "selector": {"matchLabels": {"gateway": "gw"}}}


@pytest.mark.parametrize(
    ("routes", "route", "attached"),
    [
        # The listener's label selector picks the route (gke-networking-recipes regional-l7-ilb).
        (_SELECT_GW, _v1alpha1_route({"gateway": "gw"}), True),
        (_SELECT_GW, _v1alpha1_route({"gateway": "other"}), False),
        # No selector: every HTTPRoute of the Gateway's namespace.
        ({"kind": "HTTPRoute"}, _v1alpha1_route({}), True),
        (
            {
                "kind": "HTTPRoute",
                "selector": {
                    "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]
                },
            },
            _v1alpha1_route({"tier": "web"}),
            True,
        ),
        (
            {
                "kind": "HTTPRoute",
                "selector": {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]},
            },
            _v1alpha1_route({"tier": "web"}),
            False,
        ),
        # namespaces.from defaults to Same; the route allows its own namespace by default.
        (_SELECT_GW, _v1alpha1_route({"gateway": "gw"}, ns="other"), False),
        (
            dict(_SELECT_GW, namespaces={"from": "All"}),
            _v1alpha1_route({"gateway": "gw"}, ns="other", gateways={"allow": "All"}),
            True,
        ),
        (
            dict(_SELECT_GW, namespaces={"from": "All"}),
            _v1alpha1_route({"gateway": "gw"}, ns="other"),
            False,
        ),
        # A route of another kind is not this listener's.
        ({"kind": "TCPRoute"}, _v1alpha1_route({}), False),
    ],
)
def test_v1alpha1_gateway_selects_its_routes(
    routes: Dict[str, Any], route: Dict[str, Any], attached: bool
) -> None:
    ns = route["metadata"]["namespace"]
    entry = analyze([_app("web", ns), _v1alpha1_gateway(routes), route]).find("Service", ns, "web")
    expected = ("lb-http", PRESERVED) if attached else ("pod-to-pod", PRESERVED)
    assert (entry.topology, entry.client_ip) == expected
    if attached:
        assert entry.settings["REALIP_LB_CIDRS"] == "<your proxy-only subnet>"


@pytest.mark.parametrize(
    "rule",
    [
        # v1alpha1 forwardTo.backendRef (gke-networking-recipes mcg-internal-basic route.yaml)
        {
            "forwardTo": [
                {"backendRef": {"group": "net.gke.io", "kind": "ServiceImport", "name": "web"}}
            ]
        },
        # v1 backendRefs to a ServiceImport (GKE multi-cluster Gateway docs)
        {"backendRefs": [{"group": "net.gke.io", "kind": "ServiceImport", "name": "web"}]},
    ],
)
def test_a_route_to_a_service_import_reaches_the_exported_service(rule: Dict[str, Any]) -> None:
    gw = _v1alpha1_gateway(_SELECT_GW, cls="gke-l7-gxlb-mc")
    route = _v1alpha1_route({"gateway": "gw"})
    route["spec"]["rules"] = [rule]
    entry = analyze([_app("web"), gw, route]).find("Service", "shop", "web")
    assert (entry.topology, entry.client_ip) == ("lb-http", PRESERVED)
    assert entry.settings["REALIP_LB_CIDRS"].startswith("35.191.0.0/16,130.211.0.0/22")
    # Another kind of backend is not a Service.
    route["spec"]["rules"] = [{"backendRefs": [{"kind": "Bucket", "name": "web"}]}]
    entry = analyze([_app("web"), gw, route]).find("Service", "shop", "web")
    assert entry.topology == "pod-to-pod"


def _multi_cluster(kind: str, spec: Dict[str, Any], api: str = "networking.gke.io/v1") -> Any:
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"spec": spec}},
    }


_MCI_SPEC = {"backend": {"serviceName": "web", "servicePort": 8080}}
_MCS_SPEC = {"selector": {"app": "web"}, "ports": [{"port": 8080}]}


def test_multi_cluster_ingress_is_a_google_external_alb_before_its_services(
    tmp_path: Path,
) -> None:
    mci = _multi_cluster("MultiClusterIngress", _MCI_SPEC)
    mci["status"] = {"VIP": "34.1.2.3"}
    report = analyze([mci, _multi_cluster("MultiClusterService", _MCS_SPEC)])
    ing = report.find("MultiClusterIngress", "shop", "web")
    svc = report.find("MultiClusterService", "shop", "web")
    for entry in (ing, svc):
        assert (entry.topology, entry.client_ip) == ("lb-http", PRESERVED)
        cidrs = entry.settings["REALIP_LB_CIDRS"].split(",")
        assert cidrs[:2] == ["35.191.0.0/16", "130.211.0.0/22"] and cidrs[-1] == "34.1.2.3"
    assert "multi-cluster-ingress" in ing.codes() and not errors(svc)
    # No class, no GKE annotation: the kind alone says GKE; the CLI does not refuse the input.
    path = tmp_path / "mci.json"
    path.write_text(json.dumps([mci]))
    assert _run(str(path)) == 0


def test_multi_cluster_resources_of_another_group_are_not_read_as_gke() -> None:
    other = _multi_cluster("MultiClusterIngress", _MCI_SPEC, api="example.com/v1")
    entry = analyze([_app("web"), other]).find("Service", "shop", "web")
    assert entry.client_ip == UNKNOWN and "unread-route-resource" in entry.codes()


@pytest.mark.parametrize(
    ("lb_class", "annotations", "what"),
    [
        ("networking.gke.io/l4-regional-internal", {}, "GKE internal passthrough"),
        ("networking.gke.io/l4-regional-external", {}, "backend service-based external"),
        # The class decides; a leftover annotation does not make an external one internal.
        (
            "networking.gke.io/l4-regional-external",
            {"networking.gke.io/load-balancer-type": "Internal"},
            "backend service-based external",
        ),
    ],
)
@pytest.mark.parametrize(
    ("policy", "client", "codes"), [("Local", PRESERVED, []), ("Cluster", LOST, ["snat"])]
)
def test_gke_load_balancer_class_is_a_passthrough_nlb(
    lb_class: str,
    annotations: Dict[str, str],
    what: str,
    policy: str,
    client: str,
    codes: List[str],
) -> None:
    svc = _lb(annotations, loadBalancerClass=lb_class, externalTrafficPolicy=policy)
    entry = analyze([svc]).find("Service", "shop", "shop")
    assert (entry.topology, entry.client_ip, errors(entry)) == ("lb-tcp", client, codes)
    assert what in finding(entry, "gcp-passthrough").message


@pytest.mark.parametrize(
    ("neg", "standalone"),
    [
        ('{"exposed_ports": {"80": {"name": "web-neg"}}}', True),
        ('{"ingress": true, "exposed_ports": {"80": {}}}', True),
        # Ingress NEGs only, an empty map, or an unreadable value: nothing outside the input.
        ('{"ingress": true}', False),
        ('{"exposed_ports": {}}', False),
        ("{not json", False),
        ('["exposed_ports"]', False),
    ],
)
def test_gke_standalone_neg_is_unknown_not_pod_to_pod(neg: str, standalone: bool) -> None:
    svc = _app("web")
    svc["metadata"]["annotations"] = {"cloud.google.com/neg": neg}
    entry = analyze([svc]).find("Service", "shop", "web")
    if standalone:
        assert (entry.topology, entry.client_ip, entry.codes()) == (
            None,
            UNKNOWN,
            ["gke-standalone-neg"],
        )
        assert finding(entry, "gke-standalone-neg").level == "warning" and not errors(entry)
    else:
        assert (entry.topology, entry.client_ip) == ("pod-to-pod", PRESERVED)


def test_gke_standalone_neg_behind_an_ingress_takes_the_ingress_settings() -> None:
    svc = _app("web")
    svc["metadata"]["annotations"] = {"cloud.google.com/neg": '{"exposed_ports": {"80": {}}}'}
    ing = _ingress("gce")
    ing["metadata"]["namespace"] = "shop"
    ing["spec"] = {
        "ingressClassName": "gce",
        "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}},
    }
    entry = analyze([svc, ing]).find("Service", "shop", "web")
    assert (entry.topology, entry.client_ip) == ("lb-http", PRESERVED)


_AWS = "service.beta.kubernetes.io/aws-load-balancer-"


def _aws_lb(annotations: Dict[str, str], ports: List[str], etp: str = "Local") -> Entry:
    svc = _shop_lb({_AWS + k: v for k, v in annotations.items()}, etp=etp)
    svc["spec"]["ports"] = [
        {"name": f"p{i}", "port": 80 + i if proto != "UDP53" else 53, "protocol": proto[:3]}
        for i, proto in enumerate(ports)
    ]
    return _only([svc])


@pytest.mark.parametrize(
    "annotations, ports, client_ip, codes_in, codes_out",
    [
        # AWS LBC docs (guide/service/annotations, nlb-target-type; load-balancer-source-ranges):
        # only that controller reads these keys; without aws-load-balancer-type or a
        # loadBalancerClass it takes the Service only when its webhook set the class.
        (
            {"nlb-target-type": "ip", "target-group-attributes": "preserve_client_ip.enabled=true"},
            ["TCP"],
            UNKNOWN,
            ["aws-controller-unstated"],
            ["aws-nlb-client-ip-not-preserved"],
        ),
        ({"scheme": "internet-facing"}, ["TCP"], UNKNOWN, ["aws-controller-unstated"], []),
        # ip targets without preservation and a Classic ELB both lose the client: an error.
        (
            {"nlb-target-type": "ip", "scheme": "internal"},
            ["TCP"],
            LOST,
            ["aws-controller-unstated", "aws-nlb-client-ip-not-preserved"],
            [],
        ),
        # Keys both controllers read leave the in-tree reading (Classic ELB) alone.
        (
            {"connection-idle-timeout": "60"},
            ["TCP"],
            LOST,
            ["aws-elb-tcp"],
            ["aws-controller-unstated"],
        ),
        # ELB docs (target groups, client IP preservation): on by default for UDP and TCP_UDP
        # IP targets, off for TCP/TLS ones.
        (
            {"type": "external", "nlb-target-type": "ip"},
            ["UDP53"],
            PRESERVED,
            ["aws-nlb"],
            ["aws-nlb-client-ip-not-preserved"],
        ),
        (
            {"type": "external", "nlb-target-type": "ip"},
            ["TCP", "UDP53"],
            LOST,
            ["aws-nlb-client-ip-not-preserved"],
            [],
        ),
        (
            {
                "type": "external",
                "nlb-target-type": "ip",
                "target-group-attributes": "preserve_client_ip.enabled=false",
            },
            ["UDP53"],
            PRESERVED,
            ["aws-nlb"],
            [],
        ),
    ],
)
def test_aws_controller_and_preservation_rules(
    annotations: Dict[str, str],
    ports: List[str],
    client_ip: str,
    codes_in: List[str],
    codes_out: List[str],
) -> None:
    entry = _aws_lb(annotations, ports)
    assert entry.client_ip == client_ip
    assert set(codes_in) <= set(entry.codes()), entry.codes()
    assert not set(codes_out) & set(entry.codes()), entry.codes()
    if client_ip == UNKNOWN:
        assert errors(entry) == []


def test_aws_unstated_controller_is_not_an_error_when_the_readings_differ() -> None:
    entry = _aws_lb({"nlb-target-type": "instance"}, ["TCP"])
    assert entry.client_ip == UNKNOWN and errors(entry) == []
    warning = finding(entry, "aws-controller-unstated")
    assert "aws-load-balancer-type: external" in warning.message


@pytest.mark.parametrize(
    "annotations, warned",
    [
        ({"type": "external", "ip-address-type": "dualstack"}, True),
        (
            {
                "type": "external",
                "nlb-target-type": "ip",
                "ip-address-type": "dualstack",
                "target-group-attributes": "preserve_client_ip.enabled=true",
            },
            True,
        ),
        ({"type": "external", "ip-address-type": "ipv4"}, False),
        # PROXY protocol v2 carries IPv6 clients.
        ({"type": "external", "ip-address-type": "dualstack", "proxy-protocol": "*"}, False),
    ],
)
def test_aws_dualstack_nlb_warns_about_ipv6_clients(
    annotations: Dict[str, str], warned: bool
) -> None:
    entry = _aws_lb(annotations, ["TCP"])
    assert ("aws-nlb-ipv6-clients" in entry.codes()) == warned
    assert errors(entry) == []


@pytest.mark.parametrize("svc_type", ["ClusterIP", "NodePort"])
def test_aws_target_group_binding_makes_its_service_unknown(svc_type: str) -> None:
    # AWS LBC docs (guide/targetgroupbinding): the binding exposes the Service through an existing
    # ALB or NLB target group; which one is not in the input.
    svc = {
        "kind": "Service",
        "metadata": {"name": "awesome-service", "namespace": "web"},
        "spec": {"type": svc_type, "ports": [{"port": 80}]},
    }
    tgb = {
        "apiVersion": "elbv2.k8s.aws/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": {"name": "my-tgb", "namespace": "web"},
        "spec": {"serviceRef": {"name": "awesome-service", "port": 80}, "targetGroupARN": "arn"},
    }
    report = analyze([svc, tgb])
    entry = report.find("Service", "web", "awesome-service")
    assert entry.client_ip == UNKNOWN and errors(entry) == []
    assert "aws-target-group-binding" in entry.codes()
    binding = report.find("TargetGroupBinding", "web", "my-tgb")
    assert binding.client_ip == UNKNOWN
    assert "describe-target-groups" in finding(binding, "aws-target-group-binding").message


def test_trusting_a_vpc_says_what_else_it_trusts() -> None:
    """AWS ALB and Classic ELB settings trust the VPC CIDR; the entry says that trusts every pod
    and instance in it too, and how to narrow it. Google's fixed ranges get no such note."""
    alb = _only([_ingress("alb", {"alb.ingress.kubernetes.io/target-type": "ip"})])
    assert alb.settings["REALIP_LB_CIDRS"] == "<your VPC CIDR>"
    note = finding(alb, "vpc-trust-scope")
    assert note.level == "info" and "subnets" in note.message
    gke = _only([_ingress("gce")])
    assert "vpc-trust-scope" not in gke.codes()
