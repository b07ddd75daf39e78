"""Issue 22's classes: never more confident than the truth, never vaguer than the seed.

Class 1: a setting that makes a proxy believe a client-written header is ``spoofable`` whatever
sits in front of it. Class 2: a LoadBalancer or NodePort Service under externalTrafficPolicy
Cluster is ``lost`` whatever is behind it, unless something bypasses kube-proxy.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest

from realip._doctor import LOST, PRESERVED, SPOOFABLE, UNKNOWN, Entry, analyze

GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
"""Every spelling Go's strconv.ParseBool reads as true (strconv/atob.go)."""


def svc(
    name: str,
    namespace: str = "edge",
    *,
    stype: str = "LoadBalancer",
    etp: Optional[str] = None,
    labels: Optional[Dict[str, str]] = None,
    annotations: Optional[Dict[str, str]] = None,
    selector: Optional[Dict[str, str]] = None,
    lb_class: Optional[str] = None,
) -> Dict[str, Any]:
    spec: Dict[str, Any] = {"type": stype, "ports": [{"port": 80, "targetPort": 8080}]}
    if etp is not None:
        spec["externalTrafficPolicy"] = etp
    if selector is not None:
        spec["selector"] = selector
    if lb_class is not None:
        spec["loadBalancerClass"] = lb_class
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels or {},
            "annotations": annotations or {},
        },
        "spec": spec,
    }


def configmap(name: str, namespace: str, data: Dict[str, str], **labels: str) -> Dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "data": data,
    }


def ingress_class(name: str, controller: str) -> Dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": name},
        "spec": {"controller": controller},
    }


def ingress(cls: str, annotations: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "shop", "annotations": annotations or {}},
        "spec": {
            "ingressClassName": cls,
            "rules": [
                {
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    }
                }
            ],
        },
    }


def app() -> Dict[str, Any]:
    return svc("web", "shop", stype="ClusterIP", selector={"app": "web"})


def deployment(
    name: str, namespace: str, labels: Dict[str, str], args: List[str], image: str = "x"
) -> Dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": name, "image": image, "args": args}]},
            },
        },
    }


def errors(entry: Entry) -> List[str]:
    return [f.code for f in entry.findings if f.level == "error"]


# -- class 1: ingress-nginx -----------------------------------------------------------------

NGINX_LABELS = {
    "app.kubernetes.io/name": "ingress-nginx",
    "app.kubernetes.io/component": "controller",
}


def _nginx(data: Dict[str, str], etp: Optional[str] = None, **ann: str) -> List[Dict[str, Any]]:
    return [
        svc(
            "ingress-nginx-controller",
            "ingress-nginx",
            etp=etp,
            labels=NGINX_LABELS,
            annotations=ann,
        ),
        configmap("ingress-nginx-controller", "ingress-nginx", data, **NGINX_LABELS),
        ingress_class("nginx", "k8s.io/ingress-nginx"),
        ingress("nginx"),
        app(),
    ]


@pytest.mark.parametrize("key", ["use-forwarded-headers", "enable-real-ip"])
@pytest.mark.parametrize("spelling", GO_TRUE)
@pytest.mark.parametrize("etp", ["Local", "Cluster"])
def test_ingress_nginx_believing_every_peer_is_spoofable_behind_any_lb(
    key: str, spelling: str, etp: str
) -> None:
    # ingress-nginx configmap.md: proxy-real-ip-cidr defaults to 0.0.0.0/0; nginx.tmpl writes
    # "real_ip_header {{ $cfg.ForwardedForHeader }}" and "real_ip_recursive on" with
    # set_real_ip_from for every entry when use-forwarded-headers or enable-real-ip is on. The
    # load balancer (unknown here) cannot stop a client from sending the header.
    report = analyze(_nginx({key: spelling}, etp=etp))
    for entry in (
        report.find("Ingress", "shop", "web"),
        report.find("Service", "ingress-nginx", "ingress-nginx-controller"),
    ):
        assert entry.client_ip == SPOOFABLE, (entry.ref, entry.codes())
        assert "nginx-trusts-everyone" in errors(entry)
    assert report.find("Service", "shop", "web").client_ip == SPOOFABLE
    assert report.exit_code == 1


def test_ingress_nginx_release_found_by_its_chart_label() -> None:
    # The chart labels every object helm.sh/chart: ingress-nginx-<version> (charts/ingress-nginx
    # templates/_helpers.tpl "ingress-nginx.labels"), whatever the release or nameOverride.
    labels = {
        "helm.sh/chart": "ingress-nginx-4.11.3",
        "app.kubernetes.io/name": "edge",
        "app.kubernetes.io/component": "controller",
    }
    objects = [
        svc("edge-controller", "edge", etp="Local", labels=labels),
        configmap("edge-controller", "edge", {"use-forwarded-headers": "T"}, **labels),
        ingress_class("nginx", "k8s.io/ingress-nginx"),
        ingress("nginx"),
        app(),
    ]
    report = analyze(objects)
    assert report.find("Ingress", "shop", "web").client_ip == SPOOFABLE
    assert report.find("Service", "edge", "edge-controller").role == "ingress-controller"


def test_ingress_nginx_trusting_only_the_lb_is_not_spoofable() -> None:
    data = {"use-forwarded-headers": "true", "proxy-real-ip-cidr": "10.0.0.0/8"}
    report = analyze(_nginx(data, etp="Local"))
    assert report.find("Ingress", "shop", "web").client_ip != SPOOFABLE


# -- class 2: Cluster behind any load balancer ----------------------------------------------


def test_unannotated_load_balancer_under_cluster_is_lost() -> None:
    # kubernetes.io "Using Source IP", Type=LoadBalancer: under Cluster the SNAT is kube-proxy's,
    # on the node, whatever the cloud's load balancer is.
    report = analyze([svc("web", "shop", selector={"app": "web"})])
    entry = report.find("Service", "shop", "web")
    assert (entry.client_ip, errors(entry)) == (LOST, ["snat"])
    assert "direct server return" in next(f for f in entry.findings if f.code == "snat").message
    assert report.exit_code == 1
    local = analyze([svc("web", "shop", etp="Local", selector={"app": "web"})])
    assert local.find("Service", "shop", "web").client_ip == UNKNOWN


def test_use_proxy_protocol_behind_an_unread_lb_under_cluster_stays_unknown() -> None:
    # The PROXY header travels inside the stream and survives kube-proxy's SNAT; ingress-nginx
    # expecting it means something sends it (or nothing works), which doctor can't see.
    report = analyze(_nginx({"use-proxy-protocol": "true"}))
    assert report.find("Ingress", "shop", "web").client_ip == UNKNOWN
    ctrl = report.find("Service", "ingress-nginx", "ingress-nginx-controller")
    assert (ctrl.client_ip, errors(ctrl)) == (UNKNOWN, [])


def test_ingress_nginx_without_forwarded_headers_under_cluster_is_lost() -> None:
    report = analyze(_nginx({}))
    assert report.find("Ingress", "shop", "web").client_ip == LOST
    assert report.find("Service", "shop", "web").client_ip == LOST
    assert PRESERVED not in {e.client_ip for e in report.entries if e.kind != "ConfigMap"}


# -- class 1: Traefik, HAProxy, AWS ALB -------------------------------------------------------

TRAEFIK_LABELS = {"app.kubernetes.io/name": "traefik"}


def _traefik(
    args: List[str], etp: str = "Local", data: Optional[Dict[str, str]] = None
) -> List[Dict[str, Any]]:
    objects = [
        svc("traefik", "traefik", etp=etp, labels=TRAEFIK_LABELS, selector=TRAEFIK_LABELS),
        deployment("traefik", "traefik", TRAEFIK_LABELS, args, image="traefik:v3.4"),
        ingress_class("traefik", "traefik.io/ingress-controller"),
        ingress("traefik"),
        app(),
    ]
    if data is not None:
        objects.append(configmap("traefik-config", "traefik", data))
    return objects


@pytest.mark.parametrize(
    "arg",
    [
        # traefik-helm-chart templates/_podtemplate.tpl renders ports.<name>.forwardedHeaders
        # .insecure as this argument.
        "--entryPoints.web.forwardedHeaders.insecure",
        "--entrypoints.websecure.forwardedHeaders.insecure=true",
        "--entryPoints.web.forwardedHeaders.trustedIPs=10.0.0.0/8,0.0.0.0/0",
    ],
)
@pytest.mark.parametrize("etp", ["Local", "Cluster"])
def test_traefik_believing_every_peer_is_spoofable(arg: str, etp: str) -> None:
    report = analyze(_traefik(["--providers.kubernetesingress", arg], etp))
    ing = report.find("Ingress", "shop", "web")
    assert (ing.client_ip, errors(ing)) == (SPOOFABLE, ["controller-believes-clients"])
    ctrl = report.find("Service", "traefik", "traefik")
    assert ctrl.client_ip == SPOOFABLE
    assert report.exit_code == 1


def test_traefik_static_config_and_env_are_read() -> None:
    yaml_cfg = (
        "entryPoints:\n  web:\n    address: ':80'\n    forwardedHeaders:\n      insecure: true\n"
    )
    toml_cfg = '[entryPoints.web]\n  address = ":80"\n  [entryPoints.web.forwardedHeaders]\n    insecure = true\n'
    for data in ({"traefik.yml": yaml_cfg}, {"traefik.toml": toml_cfg}):
        report = analyze(_traefik([], data=data))
        assert report.find("Ingress", "shop", "web").client_ip == SPOOFABLE, data
    safe = yaml_cfg.replace("insecure: true", "trustedIPs: [10.0.0.0/8]")
    assert (
        analyze(_traefik([], data={"traefik.yml": safe})).find("Ingress", "shop", "web").client_ip
        == UNKNOWN  # Local behind a load balancer doctor cannot read
    )
    objects = _traefik([])
    container = objects[1]["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [
        {"name": "TRAEFIK_ENTRYPOINTS_WEB_FORWARDEDHEADERS_INSECURE", "value": "true"}
    ]
    assert analyze(objects).find("Ingress", "shop", "web").client_ip == SPOOFABLE


def test_traefik_not_appending_loses_the_client() -> None:
    report = analyze(_traefik(["--entryPoints.web.forwardedHeaders.notAppendXForwardedFor=true"]))
    ing = report.find("Ingress", "shop", "web")
    assert (ing.client_ip, errors(ing)) == (LOST, ["controller-drops-client"])
    both = analyze(
        _traefik(
            [
                "--entryPoints.web.forwardedHeaders.notAppendXForwardedFor=true",
                "--entryPoints.web.forwardedHeaders.insecure=true",
            ]
        )
    )
    assert both.find("Ingress", "shop", "web").client_ip == SPOOFABLE


HAPROXY_LABELS = {"app.kubernetes.io/name": "kubernetes-ingress"}


def _haproxy(
    data: Dict[str, str], ing_ann: Optional[Dict[str, str]] = None
) -> List[Dict[str, Any]]:
    return [
        svc(
            "haproxy-kubernetes-ingress",
            "haproxy",
            etp="Local",
            labels=HAPROXY_LABELS,
            selector=HAPROXY_LABELS,
        ),
        deployment("haproxy-kubernetes-ingress", "haproxy", HAPROXY_LABELS, []),
        configmap("haproxy-kubernetes-ingress", "haproxy", data),
        ingress_class("haproxy", "haproxy.org/ingress-controller"),
        ingress("haproxy", ing_ann),
        app(),
    ]


@pytest.mark.parametrize(
    "data, ann",
    [
        ({"src-ip-header": "X-Forwarded-For"}, None),
        ({}, {"haproxy.org/src-ip-header": "True-Client-IP"}),
        ({}, {"ingress.kubernetes.io/src-ip-header": "X-Real-IP"}),
    ],
)
def test_haproxy_src_ip_header_is_spoofable(
    data: Dict[str, str], ann: Optional[Dict[str, str]]
) -> None:
    report = analyze(_haproxy(data, ann))
    ing = report.find("Ingress", "shop", "web")
    assert (ing.client_ip, errors(ing)) == (SPOOFABLE, ["controller-believes-clients"])
    assert "set-src" in next(f for f in ing.findings if f.level == "error").message
    assert analyze(_haproxy({})).find("Ingress", "shop", "web").client_ip != SPOOFABLE


_ALB_ATTRS = "alb.ingress.kubernetes.io/load-balancer-attributes"


@pytest.mark.parametrize(
    "attrs, client, code",
    [
        ("routing.http.xff_header_processing.mode=preserve", SPOOFABLE, "aws-alb-xff-preserve"),
        (
            "idle_timeout.timeout_seconds=60, routing.http.xff_header_processing.mode=remove",
            LOST,
            "aws-alb-xff-remove",
        ),
        ("routing.http.xff_header_processing.mode=append", PRESERVED, None),
    ],
)
def test_aws_alb_xff_processing_mode(attrs: str, client: str, code: Optional[str]) -> None:
    # AWS ELB docs (Application Load Balancers, "X-Forwarded-For header"): append (default) adds
    # the client; preserve sends the header "without any change"; remove removes it.
    objects = [
        ingress_class("alb", "ingress.k8s.aws/alb"),
        ingress("alb", {_ALB_ATTRS: attrs, "alb.ingress.kubernetes.io/target-type": "ip"}),
        app(),
    ]
    entry = analyze(objects).find("Ingress", "shop", "web")
    assert (entry.client_ip, errors(entry)) == (client, [code] if code else [])


def test_f5_nginx_trusting_every_peer_is_spoofable_even_behind_snat() -> None:
    # nginx/kubernetes-ingress nginx.ingress.tmpl: real_ip_header and set_real_ip_from from the
    # ConfigMap, then "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for".
    labels = {"app.kubernetes.io/name": "nginx-ingress"}
    objects = [
        svc("nginx-ingress-controller", "nginx-ingress", labels=labels, selector=labels),
        configmap(
            "nginx-config",
            "nginx-ingress",
            {"real-ip-header": "X-Forwarded-For", "set-real-ip-from": "0.0.0.0/0"},
        ),
        ingress_class("nginx", "nginx.org/ingress-controller"),
        ingress("nginx"),
        app(),
    ]
    report = analyze(objects)
    ing = report.find("Ingress", "shop", "web")
    assert (ing.client_ip, errors(ing)) == (SPOOFABLE, ["f5-trusts-everyone"])


def _gateway(cls: str, name: str = "edge", namespace: str = "edge") -> Dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"gatewayClassName": cls, "listeners": [{"name": "http", "port": 80}]},
    }


@pytest.mark.parametrize("etp, client", [("Cluster", LOST), ("Local", UNKNOWN)])
def test_gateways_are_judged_through_their_data_plane_service(etp: str, client: str) -> None:
    # The same Service shape gives the same verdict whichever proxy is behind it.
    traefik = analyze([_gateway("traefik"), *_traefik([], etp)[:2]])
    istio_svc = svc(
        "edge-istio", labels={"gateway.networking.k8s.io/gateway-name": "edge"}, etp=etp
    )
    istio = analyze([_gateway("istio"), istio_svc])
    other_svc = svc("edge-ngf", labels={"gateway.networking.k8s.io/gateway-name": "edge"}, etp=etp)
    other = analyze([_gateway("nginx"), other_svc])
    envoy_svc = svc(
        "envoy-edge-1234",
        "envoy-gateway-system",
        etp=etp,
        labels={
            "gateway.envoyproxy.io/owning-gateway-name": "edge",
            "gateway.envoyproxy.io/owning-gateway-namespace": "edge",
        },
    )
    envoy = analyze([_gateway("eg"), envoy_svc])
    for report in (traefik, istio, other, envoy):
        gw = report.find("Gateway", "edge", "edge")
        assert gw.client_ip == client, gw.codes()
        if client == LOST:
            assert report.exit_code == 1


@pytest.mark.parametrize(
    "objects",
    [
        [svc("web", "shop", stype="NodePort", selector={"app": "web"})],
        [svc("web", "shop", selector={"app": "web"})],
        # MetalLB (metallb.io docs, "Usage", traffic policies) and kube-vip in Cluster mode.
        [svc("web", "shop", annotations={"metallb.universe.tf/address-pool": "default"})],
        [svc("web", "shop", annotations={"kube-vip.io/loadbalancerIPs": "192.0.2.10"})],
        # k3s ServiceLB: a Service with no annotation, served by svclb pods.
        [svc("traefik", "kube-system", labels=TRAEFIK_LABELS, selector=TRAEFIK_LABELS)],
        # Kong's chart: its proxy Service is a LoadBalancer under Cluster.
        [svc("kong-proxy", "kong", labels={"app.kubernetes.io/name": "kong"})],
    ],
)
def test_cluster_policy_is_lost_whatever_is_behind(objects: List[Dict[str, Any]]) -> None:
    report = analyze(objects)
    entry = report.entries[0]
    assert (entry.client_ip, errors(entry)) == (LOST, ["snat"])
    assert report.exit_code == 1


# -- class 3: provider switches -----------------------------------------------------------------

_OCI = "service.beta.kubernetes.io/oci-load-balancer-"


@pytest.mark.parametrize(
    "annotations, topology, client",
    [
        # oci-cloud-controller-manager load_balancer_spec.go getListenersOciLoadBalancer:
        # connection-proxy-protocol-version becomes BackendTcpProxyProtocolVersion.
        ({_OCI + "connection-proxy-protocol-version": "2"}, "lb-tcp-proxy", PRESERVED),
        ({_OCI + "connection-proxy-protocol-version": "1"}, "lb-tcp-proxy", PRESERVED),
        # docs/load-balancer-annotations.md: is-ppv2-enabled turns PPv2 on an NLB's listeners.
        (
            {
                "oci.oraclecloud.com/load-balancer-type": "nlb",
                "oci-network-load-balancer.oraclecloud.com/is-ppv2-enabled": "true",
            },
            "lb-tcp-proxy",
            PRESERVED,
        ),
        # getPreserveSourceAnnotation: is-preserve-source defaults to true.
        ({"oci.oraclecloud.com/load-balancer-type": "nlb"}, "lb-tcp", PRESERVED),
    ],
)
def test_oci_switches_are_read(annotations: Dict[str, str], topology: str, client: str) -> None:
    labels = {
        "app.kubernetes.io/name": "ingress-nginx",
        "app.kubernetes.io/component": "controller",
    }
    objects = [
        svc("web", "shop", etp="Local", annotations=annotations, selector={"app": "web"}),
    ]
    entry = analyze(objects).find("Service", "shop", "web")
    assert entry.topology == topology
    assert errors(entry) == []
    # Behind ingress-nginx decoding PROXY protocol the controller keeps the client.
    if topology == "lb-tcp-proxy":
        nginx = [
            svc(
                "ingress-nginx-controller",
                "ingress-nginx",
                etp="Local",
                labels=labels,
                annotations=annotations,
            ),
            configmap(
                "ingress-nginx-controller",
                "ingress-nginx",
                {"use-proxy-protocol": "true"},
                **labels,
            ),
        ]
        ctrl = analyze(nginx).find("Service", "ingress-nginx", "ingress-nginx-controller")
        assert (ctrl.client_ip, errors(ctrl)) == (client, [])


def test_oci_tcp_proxy_fix_keeps_the_load_balancer() -> None:
    # Was "use a Network Load Balancer": an ERROR's fix never replaces the load balancer.
    report = analyze([svc("web", "shop", etp="Local", annotations={_OCI + "shape": "flexible"})])
    (error,) = [f for f in report.entries[0].findings if f.level == "error"]
    assert error.code == "oci-lb-tcp-proxy"
    assert "connection-proxy-protocol-version" in (error.fix or "")
    assert "load-balancer-type" not in (error.fix or "")


_OS = "loadbalancer.openstack.org/"


@pytest.mark.parametrize(
    "annotations, topology, client",
    [
        # cloud-provider-openstack expose-applications-using-loadbalancer-type-service.md.
        ({_OS + "x-forwarded-for": "true"}, "lb-http", PRESERVED),
        ({_OS + "proxy-protocol": "true"}, "lb-tcp-proxy", PRESERVED),
        ({_OS + "floating-network-id": "abc"}, "lb-tcp", UNKNOWN),
    ],
)
def test_openstack_switches_are_read(
    annotations: Dict[str, str], topology: str, client: str
) -> None:
    entry = analyze([svc("web", "shop", etp="Local", annotations=annotations)]).entries[0]
    assert (entry.topology, entry.client_ip, errors(entry)) == (topology, client, [])
    cluster = analyze([svc("web", "shop", annotations=annotations)]).entries[0]
    # Under Cluster only the PROXY header rides through kube-proxy's SNAT.
    assert (cluster.client_ip == PRESERVED) == (topology == "lb-tcp-proxy")


_AWS = "service.beta.kubernetes.io/aws-load-balancer-"


def test_aws_proxy_protocol_per_target_group() -> None:
    # aws-load-balancer-controller model_build_target_group.go: each listed port's target group
    # gets proxy_protocol_v2.enabled=true.
    base = {_AWS + "type": "external", _AWS + "nlb-target-type": "ip"}
    every = {**base, _AWS + "proxy-protocol-per-target-group": "80"}
    entry = analyze([svc("web", "shop", etp="Local", annotations=every)]).entries[0]
    assert (entry.topology, errors(entry)) == ("lb-tcp-proxy", [])
    instance = {_AWS + "type": "external", _AWS + "proxy-protocol-per-target-group": "443"}
    two_ports = svc("web", "shop", etp="Local", annotations=instance)
    two_ports["spec"]["ports"].append({"port": 443, "targetPort": 8443})
    entry = analyze([two_ports]).entries[0]
    assert entry.client_ip == UNKNOWN and errors(entry) == []
    assert "aws-nlb-proxy-protocol-some-ports" in entry.codes()


# -- class 4: the controller's own Service -----------------------------------------------------


def test_ingress_nginx_behind_cluster_ip_external_ips_is_its_service() -> None:
    # ingress-nginx docs/deploy/baremetal.md, "External IPs": "this method does not allow
    # preserving the source IP of HTTP requests in any manner" (kube-proxy's SNAT under Cluster).
    ctrl = svc("ingress-nginx-controller", "ingress-nginx", stype="ClusterIP", labels=NGINX_LABELS)
    ctrl["spec"]["externalIPs"] = ["198.51.100.10"]
    report = analyze(
        [ctrl, ingress_class("nginx", "k8s.io/ingress-nginx"), ingress("nginx"), app()]
    )
    entry = report.find("Service", "ingress-nginx", "ingress-nginx-controller")
    assert (entry.role, entry.client_ip, errors(entry)) == ("ingress-controller", LOST, ["snat"])
    ing = report.find("Ingress", "shop", "web")
    assert "controller-service-not-found" not in ing.codes()
    assert ing.client_ip == LOST


def test_f5_external_service_argument_names_its_service() -> None:
    # nginx/kubernetes-ingress cmd/nginx-ingress flags: -external-service names the Service.
    labels = {"app": "edge-proxy"}
    objects = [
        svc("public-entry", "nginx-ingress", etp="Local", labels={"team": "web"}),
        deployment(
            "edge-proxy",
            "nginx-ingress",
            labels,
            ["-nginx-configmaps=$(POD_NAMESPACE)/nginx-config", "-external-service=public-entry"],
            image="nginx/nginx-ingress:3.4.0",
        ),
        ingress_class("nginx", "nginx.org/ingress-controller"),
        ingress("nginx"),
        app(),
    ]
    report = analyze(objects)
    assert report.find("Service", "nginx-ingress", "public-entry").role == "ingress-controller"
    ing = report.find("Ingress", "shop", "web")
    assert "controller-service-not-found" not in ing.codes()


# -- class 5: routing doctor cannot see ----------------------------------------------------------


@pytest.mark.parametrize(
    "container",
    [
        {
            "name": "cloudflared",
            "image": "cloudflare/cloudflared:2024.6.1",
            "args": ["tunnel", "--no-autoupdate", "run", "--token", "eyJh"],
        },
        {
            "name": "cloudflared",
            "image": "cloudflare/cloudflared:2024.6.1",
            "args": ["tunnel", "run"],
            "env": [{"name": "TUNNEL_TOKEN", "value": "eyJh"}],
        },
    ],
)
def test_remotely_managed_tunnel_makes_cluster_ip_services_unknown(
    container: Dict[str, Any],
) -> None:
    tunnel = deployment("cloudflared", "cloudflared", {"app": "cloudflared"}, [])
    tunnel["spec"]["template"]["spec"]["containers"] = [container]
    report = analyze([tunnel, app()])
    entry = report.find("Service", "shop", "web")
    assert entry.client_ip == UNKNOWN
    assert "cloudflared-remote-routes" in entry.codes()
    # Without a tunnel the same Service is pod-to-pod.
    assert analyze([app()]).find("Service", "shop", "web").client_ip == PRESERVED


# -- class 6: what a cluster dump says -----------------------------------------------------------


def _node(provider_id: str) -> Dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n1"},
        "spec": {"providerID": provider_id},
    }


@pytest.mark.parametrize(
    "provider_id, codes, client",
    [
        # kubernetes/cloud-provider-aws: an unannotated LoadBalancer Service is a Classic ELB,
        # which opens its own connection to the nodes.
        ("aws:///us-east-1a/i-0123456789abcdef0", ["aws-elb-tcp"], LOST),
        # GKE: a passthrough Network Load Balancer; Local keeps the client.
        ("gce://my-project/us-central1-a/gke-node-1", [], PRESERVED),
        (
            "azure:///subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/vm/z",
            [],
            PRESERVED,
        ),
        # OCI: the default Load Balancer is a TCP proxy.
        ("ocid1.instance.oc1.iad.abc", ["oci-lb-tcp-proxy"], LOST),
    ],
)
def test_nodes_provider_id_names_the_default_load_balancer(
    provider_id: str, codes: List[str], client: str
) -> None:
    service = svc("web", "shop", etp="Local", selector={"app": "web"})
    without = analyze([service]).find("Service", "shop", "web")
    assert without.client_ip == UNKNOWN
    entry = analyze([service, _node(provider_id)]).find("Service", "shop", "web")
    assert (entry.client_ip, errors(entry)) == (client, codes)
    assert "provider-from-cluster" in entry.codes()


def test_provider_option_and_load_balancer_hostname() -> None:
    service = svc("web", "shop", etp="Local", selector={"app": "web"})
    entry = analyze([service], provider="gcp").find("Service", "shop", "web")
    assert entry.client_ip == PRESERVED
    assert (
        "--provider" in next(f for f in entry.findings if f.code == "provider-from-cluster").message
    )
    service["status"] = {
        "loadBalancer": {"ingress": [{"hostname": "a1b2c3-123456.us-east-1.elb.amazonaws.com"}]}
    }
    entry = analyze([service]).find("Service", "shop", "web")
    assert (entry.client_ip, errors(entry)) == (LOST, ["aws-elb-tcp"])


def test_provider_option_on_the_command_line(tmp_path: Any) -> None:
    import argparse
    import json as _json

    from realip._doctor import run

    path = tmp_path / "svc.json"
    path.write_text(_json.dumps(svc("web", "shop", etp="Local", selector={"app": "web"})))
    args = argparse.Namespace(files=[str(path)], json=False, together=False, provider="aws")
    assert run(args) == 1  # a Classic ELB with a TCP listener


# -- the DSR exception ---------------------------------------------------------------------------


def _cilium(mode: str, kpr: str = "true") -> Dict[str, Any]:
    return configmap(
        "cilium-config", "kube-system", {"kube-proxy-replacement": kpr, "bpf-lb-mode": mode}
    )


@pytest.mark.parametrize(
    "mode, kpr, protocol, client",
    [
        # Cilium docs, Kubernetes without kube-proxy, "Direct Server Return": the backend sees the
        # client's address; hybrid mode does DSR for TCP only.
        ("dsr", "true", "TCP", PRESERVED),
        ("hybrid", "true", "TCP", PRESERVED),
        ("hybrid", "true", "UDP", LOST),
        ("snat", "true", "TCP", LOST),
        ("dsr", "false", "TCP", LOST),  # kube-proxy still in the path
    ],
)
def test_a_dsr_dataplane_keeps_the_client_under_cluster(
    mode: str, kpr: str, protocol: str, client: str
) -> None:
    node_port = svc("web", "shop", stype="NodePort", selector={"app": "web"})
    node_port["spec"]["ports"][0]["protocol"] = protocol
    entry = analyze([node_port, _cilium(mode, kpr)]).find("Service", "shop", "web")
    assert entry.client_ip == client, entry.codes()
    assert ("dsr-dataplane" in entry.codes()) == (client == PRESERVED)
    # An unread load balancer is no longer certainly lost, but still not known to pass through.
    lb = analyze([svc("web", "shop", selector={"app": "web"}), _cilium("dsr")])
    assert lb.find("Service", "shop", "web").client_ip == UNKNOWN
