"""``realip doctor`` on the upstream projects' own manifests (tests/data/doctor/real/).

Each row names the file, the object doctor must judge, the verdict, and the upstream sentence or
template line the verdict rests on. Every file records where it came from in its header.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from realip import TOPOLOGIES
from realip._doctor import (
    LOST,
    PRESERVED,
    SPOOFABLE,
    UNKNOWN,
    Entry,
    analyze,
    parse_objects,
    run,
)
from realip._doctor._controllers import CONTROLLERS

pytest.importorskip("yaml", reason="the corpus is YAML; install PyYAML (pip install pyyaml)")

REAL = Path(__file__).parent.parent / "data" / "doctor" / "real"
FIXTURES = Path(__file__).parent.parent / "data" / "doctor"

# file, kind, namespace, name, topology, client IP, error codes, upstream basis
CORPUS = [
    (
        "ingress-nginx-do.yaml",
        "Service",
        "ingress-nginx",
        "ingress-nginx-controller",
        "lb-tcp-proxy",
        PRESERVED,
        [],
        # Item 1. digitalocean-cloud-controller-manager annotations.md: do-loadbalancer-enable-
        # proxy-protocol turns PROXY protocol on; ingress-nginx's own DO manifest pairs it with
        # use-proxy-protocol: "true" (nginx.tmpl: "real_ip_header proxy_protocol").
    ),
    (
        "ingress-nginx-scw.yaml",
        "Service",
        "ingress-nginx",
        "ingress-nginx-controller",
        "lb-tcp-proxy",
        PRESERVED,
        [],
        # Item 1. Scaleway CCM docs: scw-loadbalancer-proxy-protocol-v2 "can enable the PROXY
        # protocol V2. The possible values are false, true or *".
    ),
    (
        "hetzner-proxy-protocol.yaml",
        "Ingress",
        "default",
        "hello-ingress",
        "ingress",
        PRESERVED,
        [],
        # Item 1. hcloud CCM internal/annotation/load_balancer.go: LBSvcProxyProtocol
        # "load-balancer.hetzner.cloud/uses-proxyprotocol" makes the LB services use it.
    ),
    (
        "hetzner-tutorial.yaml",
        "Ingress",
        "default",
        "hello-ingress",
        "ingress",
        LOST,
        ["controller-loses-client-ip"],
        # Item 5/10. The chart's default policy is Cluster (kubernetes.io "Using Source IP":
        # NodePort/LoadBalancer traffic is "source NAT'd by default"); without PROXY protocol or
        # use-forwarded-headers ingress-nginx forwards "X-Forwarded-For $remote_addr" (nginx.tmpl).
    ),
    (
        "hetzner-tutorial.yaml",
        "Service",
        "ingress-nginx",
        "ingress-nginx-controller",
        "lb-tcp",
        LOST,
        ["snat"],
        # Same basis: SNAT under Cluster, worded as the resolver words it.
    ),
    (
        "aws-lbc-echoserver.yaml",
        "Service",
        "echoserver",
        "echoserver",
        "lb-http",
        PRESERVED,
        [],
        # Item 2. AWS LBC docs, target-type: "instance mode will route traffic to all ec2
        # instances within cluster on NodePort opened for your service"; node addresses are in the
        # VPC range lb-http trusts, and the ALB appends the client to X-Forwarded-For.
    ),
    (
        "aws-lbc-echoserver.yaml",
        "Ingress",
        "echoserver",
        "echoserver",
        "lb-http",
        PRESERVED,
        [],
        # Item 2, same basis.
    ),
    (
        "aws-lbc-2048.yaml",
        "Service",
        "game-2048",
        "service-2048",
        "lb-http",
        PRESERVED,
        [],
        # Item 2. target-type: ip: "ip mode will route traffic directly to the pod IP".
    ),
    (
        "ingress-nginx-do-forwarded-headers.yaml",
        "Service",
        "ingress-nginx",
        "ingress-nginx-controller",
        "lb-tcp-proxy",
        SPOOFABLE,
        ["nginx-proxy-protocol-trusts-everyone"],
        # Item 3. nginx.tmpl realip section: "set_real_ip_from {{ $trusted_ip }}" for each
        # proxy-real-ip-cidr entry (default 0.0.0.0/0), and with UseForwardedHeaders the
        # X-Forwarded-* maps take the incoming headers: any peer is believed.
    ),
    (
        "gke-gateway-gxlb.yaml",
        "Gateway",
        "default",
        "external-http",
        "lb-http",
        PRESERVED,
        [],
        # Item 4. GKE GatewayClass gke-l7-gxlb is a global external Application Load Balancer;
        # Google docs: GFE traffic comes from 35.191.0.0/16, 130.211.0.0/22 and, for IPv6,
        # 2600:2d00:1:1::/64, and appends "<client>,<load balancer>" to X-Forwarded-For.
    ),
    (
        "cloudflared.yaml",
        "Deployment",
        "default",
        "cloudflared",
        "cloudflare",
        PRESERVED,
        [],
        # Item 4. The tunnel's ingress rules send "service: http://web-service:80" from the
        # cloudflared pod; Cloudflare puts the visitor in CF-Connecting-IP.
    ),
    (
        "ingress-nginx-oracle.yaml",
        "Service",
        "ingress-nginx",
        "ingress-nginx-controller",
        "lb-tcp",
        LOST,
        ["oci-lb-tcp-proxy"],
        # Item 5. OCI CCM load-balancer annotations: the default type is the (proxy) Load
        # Balancer; a Network Load Balancer with is-preserve-source keeps the client address.
    ),
    (
        "ingress-nginx-do-http.yaml",
        "Service",
        "ingress-nginx",
        "ingress-nginx-controller",
        "lb-http",
        PRESERVED,
        [],
        # Item 5. DO annotations.md: do-loadbalancer-protocol "Options are tcp, http and https";
        # DO docs: HTTP listeners add X-Forwarded-For.
    ),
    (
        "ingress-nginx-aws-nlb.yaml",
        "Service",
        "ingress-nginx",
        "ingress-nginx-controller",
        "lb-tcp",
        PRESERVED,
        [],
        # AWS docs: an NLB with instance targets keeps the client IP; externalTrafficPolicy: Local.
    ),
    (
        "ingress-nginx-kind.yaml",
        "Service",
        "ingress-nginx",
        "ingress-nginx-controller",
        "nodeport-local",
        PRESERVED,
        [],
        # Item 8. The kind manifest gives the controller "hostPort: 80" and "hostPort: 443": a
        # hostPort is a DNAT on the node straight to the pod, not kube-proxy's Service path.
    ),
    (
        "contour.yaml",
        "Service",
        "projectcontour",
        "envoy",
        "lb-tcp",
        LOST,
        ["aws-elb-tcp"],
        # Item 6. Contour's own comment on this Service: in TCP mode "the remote IP address of all
        # connections will appear to be the internal address of the ELB" (Classic ELB, no type).
    ),
    (
        "haproxy-ingress.yaml",
        "Service",
        "haproxy-controller",
        "haproxy-kubernetes-ingress",
        "nodeport-cluster",
        LOST,
        ["snat"],
        # Item 6. A NodePort Service with the default Cluster policy: "source NAT'd by default"
        # (kubernetes.io "Using Source IP").
    ),
    (
        "agic-aspnetapp.yaml",
        "Ingress",
        "default",
        "aspnetapp",
        "lb-http",
        PRESERVED,
        [],
        # Item 6. Class azure/application-gateway: Application Gateway adds X-Forwarded-For
        # (Azure docs, "Application Gateway ... inserts X-Forwarded-For").
    ),
    (
        "gke-ingress-neg.yaml",
        "Service",
        "default",
        "foo",
        "lb-http",
        PRESERVED,
        [],
        # Google docs: the external Application Load Balancer appends "<client>,<LB IP>" to
        # X-Forwarded-For; NEG backends are reached from the GFE ranges directly.
    ),
    (
        "gke-ingress-no-class.yaml",
        "Ingress",
        "default",
        "foo-external",
        "lb-http",
        PRESERVED,
        [],
        # Item 6. No class, a cloud.google.com/neg backend: GKE's Ingress controller takes it.
    ),
    (
        "alibaba-alb.yaml",
        "Ingress",
        "default",
        "cafe-ingress",
        "lb-http",
        PRESERVED,
        [],
        # Item 7. usage-alb.md: alb.ingress.kubernetes.io/vswitch-ids and address-type are
        # Alibaba's ALB Ingress annotations: described as Alibaba, not AWS (checked below).
    ),
    (
        "istio-gateway-chart.yaml",
        "Service",
        "istio-ingress",
        "istio-ingressgateway",
        "lb-tcp",
        LOST,
        ["snat"],
        # Issue 22 class 2 (was unknown): no provider annotation, and the chart leaves
        # externalTrafficPolicy at Cluster. kubernetes.io "Using Source IP", Type=LoadBalancer:
        # under Cluster "the source IP is the node's" whatever the provider, since the SNAT is
        # kube-proxy's on the node; istio.io's "Configuring Gateway Network Topology" sets Local
        # for that reason.
    ),
    (
        "alibaba-eni-backend.yaml",
        "Service",
        "shop",
        "shop",
        "lb-tcp",
        PRESERVED,
        [],
        # Item 7. backend-type: eni mounts pods directly; kube-proxy's SNAT is not in the path.
    ),
    (
        "ingress-nginx-cloud.yaml",
        "Service",
        "ingress-nginx",
        "ingress-nginx-controller",
        "lb-tcp",
        UNKNOWN,
        [],
        # Item 5. The generic "cloud" manifest names no provider: the source-IP tutorial warns
        # some cloud load balancers are proxies, so doctor can't tell (warning, no fix).
    ),
    (
        "ingress-nginx-baremetal.yaml",
        "Service",
        "ingress-nginx",
        "ingress-nginx-controller",
        "nodeport-cluster",
        LOST,
        ["snat"],
        # ingress-nginx's bare-metal docs: a NodePort Service with the default Cluster policy
        # SNATs ("source NAT'd by default", kubernetes.io "Using Source IP").
    ),
    (
        "ingress-nginx-exoscale.yaml",
        "Service",
        "ingress-nginx",
        "ingress-nginx-controller",
        "lb-tcp",
        UNKNOWN,
        [],
        # Item 5. Exoscale annotations doctor has no documented rule for: unknown, with how to
        # find out (a warning, never an error with a fix).
    ),
    (
        "traefik-chart.yaml",
        "Service",
        "traefik",
        "traefik",
        "lb-tcp",
        LOST,
        ["snat"],
        # Issue 22 class 2 (was unknown). The chart's Service is a LoadBalancer with no provider
        # annotation and the default (Cluster) policy: kube-proxy SNATs whatever the load
        # balancer is (kubernetes.io "Using Source IP"; Traefik's own setup guide shows
        # "X-Forwarded-For: 10.42.0.1", a node's address, for this Service).
    ),
    (
        "f5-virtualserver-cafe.yaml",
        "Service",
        "default",
        "tea-svc",
        "ingress",
        UNKNOWN,
        [],
        # nginxinc basic-configuration README: the VirtualServer routes /tea to tea-svc through
        # the F5 NGINX Ingress Controller, so the app's peer is that proxy, not a calling pod;
        # what is in front of the controller is not in the input: unknown, never pod-to-pod.
    ),
    (
        "f5-virtualserver-cafe.yaml",
        "VirtualServer",
        "default",
        "cafe",
        "ingress",
        UNKNOWN,
        [],
        # Same basis: a CRD doctor does not read gets a warning naming it, not a guess.
    ),
    (
        "contour-httpproxy.yaml",
        "Service",
        "default",
        "s1",
        "ingress",
        UNKNOWN,
        [],
        # Contour's HTTPProxy routes[].services[].name: s1 is served by Envoy (Contour), whose
        # num-trusted-hops and load balancer are not in the input.
    ),
    (
        "cloudscale-proxy-v2.yaml",
        "Service",
        "default",
        "proxy-hello",
        "lb-tcp-proxy",
        PRESERVED,
        [],
        # cloudscale example: pool protocol proxyv2 "uses the PROXYv2 protocol between the load
        # balancer and the nginx server in order to preserve the original source IP".
    ),
    (
        "linode-http.yaml",
        "Service",
        "kube-system",
        "http-lb",
        "lb-tcp",
        UNKNOWN,
        [],
        # A LoadBalancer in kube-system is still an app's way in (not skipped). Linode's CCM docs
        # list default-protocol http but say nothing of X-Forwarded-For: unknown, with the
        # default-proxy-protocol ("none, v1, v2") switch named.
    ),
    (
        "linode-tcp-no-annotation.yaml",
        "Service",
        "default",
        "tcp-lb",
        "lb-tcp",
        LOST,
        ["snat"],
        # Issue 22 class 2 (was unknown). No annotation names the provider, but the policy is
        # Cluster (the default): whether the load balancer passes through or proxies, the
        # client is gone before the pod (kubernetes.io "Using Source IP", Type=LoadBalancer).
    ),
    (
        "vultr-https-to-http.yaml",
        "Service",
        "default",
        "test",
        "lb-tcp",
        UNKNOWN,
        [],
        # vultr docs/load-balancers.md: protocol https / backend-protocol http, and proxy-protocol
        # "Indicates whether Proxy protocol should be enabled" (default false); the table says
        # nothing of X-Forwarded-For, so doctor says unknown and names the switch.
    ),
    (
        "kong-dbless.yaml",
        "Service",
        "kong",
        "kong-proxy",
        "lb-tcp",
        LOST,
        ["snat"],
        # aws-load-balancer-type: nlb (in-tree, instance targets) keeps the client as the peer,
        # but the Service keeps the default Cluster policy: "source NAT'd by default"
        # (kubernetes.io "Using Source IP") for pods on another node.
    ),
    (
        "emissary-ingress.yaml",
        "Service",
        "emissary",
        "emissary-ingress",
        "lb-tcp",
        LOST,
        ["snat"],
        # Issue 22 class 2 (was unknown). Emissary's generated manifest: a LoadBalancer with
        # no provider annotation under the default Cluster policy: SNAT'ed whatever the load
        # balancer is (kubernetes.io "Using Source IP", Type=LoadBalancer).
    ),
    (
        "emissary-ingress.yaml",
        "Service",
        "emissary",
        "emissary-ingress-admin",
        "nodeport-cluster",
        LOST,
        ["snat"],
        # A NodePort with the default Cluster policy SNATs (kubernetes.io "Using Source IP").
    ),
    (
        "istio-bookinfo-gateway.yaml",
        "VirtualService",
        "default",
        "bookinfo",
        "ingress",
        UNKNOWN,
        [],
        # Istio bookinfo: the VirtualService's route "destination: host: productpage" is served
        # by the ingress gateway the networking.istio.io Gateway selects ("istio:
        # ingressgateway"); its numTrustedProxies and load balancer are not in the input.
    ),
    (
        "traefik-ingressroute.yaml",
        "Service",
        "default",
        "whoami",
        "ingress",
        UNKNOWN,
        [],
        # Traefik crd-acme guide: the IngressRoutes' "services: - name: whoami" send it traffic
        # through Traefik, whose forwardedHeaders.trustedIPs is not in the input.
    ),
    (
        "oci-nlb-doc.yaml",
        "Service",
        "default",
        "example-nlb",
        "lb-tcp",
        PRESERVED,
        [],
        # Issue 22 class 3 (was unknown). OCI CCM using-network-load-balancer.md: load-balancer-
        # type nlb with Local and no is-preserve-source, which load_balancer_spec.go
        # getPreserveSourceAnnotation defaults to true ("default behavior is to enable source
        # destination preservation"), kept under Local by getPreserveSource.
    ),
    (
        "gke-internal-lb-service.yaml",
        "Service",
        "default",
        "foo",
        "lb-tcp",
        LOST,
        ["snat"],
        # gke-networking-recipes internal-lb-service README: cloud.google.com/load-balancer-type
        # "Internal" makes GKE create an internal TCP/UDP (passthrough) load balancer; the Service
        # keeps the default Cluster policy, "source NAT'd by default" (kubernetes.io "Using
        # Source IP") for pods on another node.
    ),
    (
        "gke-gateway-rilb-v1alpha1.yaml",
        "Service",
        "store",
        "store-v1",
        "lb-http",
        PRESERVED,
        [],
        # gke-networking-recipes regional-l7-ilb README: the gke-l7-rilb Gateway creates "an
        # internal HTTP/S Load Balancer" and selects "HTTPRoutes with the label `gateway:
        # single-cluster-gateway-rilb`"; the README has you create a proxy-only subnet first.
    ),
    (
        "gke-gateway-rilb-v1alpha1.yaml",
        "Service",
        "store",
        "store-v2",
        "lb-http",
        PRESERVED,
        [],
        # Same route: its weights send the other half of the traffic to store-v2.
    ),
    (
        "gke-mcg-internal-blue-green.yaml",
        "Service",
        "mcgi-bg",
        "sample-app-blue",
        "lb-http",
        PRESERVED,
        [],
        # mcg-internal-blue-green README: gke-l7-rilb-mc is "a multi-cluster internal Layer 7
        # load balancer"; the route's ServiceImport sample-app-blue "maps to a ServiceExport",
        # which exposes the Service of that name.
    ),
    (
        "gke-mcg-internal-blue-green.yaml",
        "Service",
        "mcgi-bg",
        "sample-app",
        "pod-to-pod",
        PRESERVED,
        [],
        # Step 1's route sends nothing to the implicit sample-app ServiceImport yet.
    ),
    (
        "gke-mci-frontend-config.yaml",
        "MultiClusterIngress",
        "multi-cluster-demo",
        "foobar-ingress",
        "lb-http",
        PRESERVED,
        [],
        # mci-frontend-config README: the MultiClusterIngress is served by an "External HTTPS
        # Load Balancer"; Google docs: it appends "<client>,<load balancer>" to X-Forwarded-For.
    ),
    (
        "gke-mci-frontend-config.yaml",
        "MultiClusterService",
        "multi-cluster-demo",
        "foo",
        "lb-http",
        PRESERVED,
        [],
        # Same README: "The `serviceName` field in this MCI specifies the name of an MCS
        # resource", whose selector picks the pods in every member cluster.
    ),
    (
        "gke-ingress-internal-basic.yaml",
        "Service",
        "default",
        "foo",
        "lb-http",
        PRESERVED,
        [],
        # Class gce-internal: GKE's internal Application Load Balancer, whose Envoy proxies in
        # the proxy-only subnet append the client to X-Forwarded-For (Google docs, internal ALB).
    ),
    (
        "gke-ingress-custom-hc.yaml",
        "Ingress",
        "default",
        "hc-test",
        "lb-http",
        PRESERVED,
        [],
        # No class; the backend Service carries cloud.google.com/neg and a BackendConfig: GKE's
        # Ingress controller takes it (external Application Load Balancer).
    ),
    (
        "azure-pls-internal.yaml",
        "Service",
        "default",
        "myService",
        "lb-tcp",
        LOST,
        ["snat"],
        # cloud-provider-azure pls-integration.md: an internal Azure LB (layer 4) with a managed
        # PLS and azure-pls-proxy-protocol "false"; the Service keeps the default Cluster policy,
        # so kube-proxy SNATs direct clients, and private-endpoint clients arrive from the PLS
        # NAT addresses (Azure Private Link: consumer traffic "originate[s] from this pool").
    ),
    (
        "metallb-usage.yaml",
        "Service",
        "default",
        "nginx",
        "lb-tcp",
        LOST,
        ["snat"],
        # MetalLB usage page, "Cluster" traffic policy: "kube-proxy will obscure the source IP
        # address of the connection"; the Service sets no policy (Cluster by default) and is
        # MetalLB's by its metallb.io/loadBalancerIPs annotation.
    ),
    (
        "metallb-usage.yaml",
        "Service",
        "default",
        "dns-service-tcp",
        "lb-tcp",
        LOST,
        ["snat"],
        # Same page, "IP address sharing": metallb.io/allow-shared-ip, Cluster by default.
    ),
    (
        "knative-helloworld-go.yaml",
        "Service",
        "default",
        "helloworld-go",
        None,
        UNKNOWN,
        [],
        # knative/docs helloworld-go: a serving.knative.dev/v1 Service; Knative's README says
        # it creates "a route, ingress, service, and load balance for your app" itself, none of
        # which is in the input: no topology, and a warning naming the platform's networking.
    ),
    (
        "traefik-do-proxy-protocol.yaml",
        "Service",
        "traefik",
        "traefik",
        "lb-tcp-proxy",
        PRESERVED,
        [],
        # traefik-helm-chart EXAMPLES.md "Use PROXY protocol on Digital Ocean": DO's
        # enable-proxy-protocol with proxyProtocol.trustedIPs on both entry points (rendered as
        # --entrypoints.<n>.proxyProtocol.trustedIPs); Cluster is kept "to keep the DO health
        # checks working", and the PROXY header survives kube-proxy's SNAT.
    ),
    (
        "istio-gateway-api-nlb.yaml",
        "Gateway",
        "foo",
        "httpbin-gateway",
        "ingress",
        LOST,
        ["snat"],
        # istio.io authz-ingress task: the Gateway's aws-load-balancer-type "nlb" annotation goes
        # to the Service Istio generates ("an annotation on the gateway service"), and the task
        # then patches "svc httpbin-gateway-istio" to externalTrafficPolicy Local "to preserve
        # the original client source IP": before that, Cluster SNATs (kubernetes.io "Using
        # Source IP").
    ),
    (
        "istio-gateway-api-elb-proxy.yaml",
        "Gateway",
        "foo",
        "httpbin-gateway",
        "ingress",
        PRESERVED,
        [],
        # Same task, "TCP/UDP Proxy Load Balancer": the Classic ELB sends PROXY protocol
        # (aws-load-balancer-proxy-protocol "*") and the EnvoyFilter selecting
        # "istio.io/gateway-name: httpbin-gateway" adds Envoy's proxy_protocol listener filter;
        # the header survives kube-proxy's SNAT.
    ),
    (
        "f5-nginx-chart.yaml",
        "Service",
        "nginx-ingress",
        "my-release-nginx-ingress-controller",
        "lb-tcp",
        UNKNOWN,
        [],
        # nginx/kubernetes-ingress values.yaml: controller.service.type LoadBalancer,
        # externalTrafficPolicy Local, annotations {}: no provider doctor knows, so what the load
        # balancer does to the client address is not in the input.
    ),
    (
        "f5-nginx-chart.yaml",
        "Ingress",
        "default",
        "cafe-ingress",
        "ingress",
        UNKNOWN,
        [],
        # Same basis, through IngressClass nginx -> nginx.org/ingress-controller; the chart's
        # ConfigMap (controller.config.entries {}) sets no realip key, so only the unknown load
        # balancer stands between the client and a preserved verdict.
    ),
    (
        "f5-nginx-chart.yaml",
        "Service",
        "default",
        "tea-svc",
        "ingress",
        UNKNOWN,
        [],
        # cafe-ingress.yaml routes /tea to tea-svc: the app is behind the controller and takes
        # its verdict.
    ),
    (
        "f5-nginx-chart-aws-nlb-proxy.yaml",
        "Service",
        "nginx-ingress",
        "my-release-nginx-ingress-controller",
        "lb-tcp",
        UNKNOWN,
        [],
        # F5's EKS guide ("Use a Network Load Balancer in front of NGINX Ingress Controller")
        # puts aws-load-balancer-proxy-protocol "*" on a "type: nlb" Service and then has the
        # user switch PROXY protocol v2 on for the target groups by hand: the in-tree controller
        # applies the annotation to Classic ELBs only (kubernetes/cloud-provider-aws #234,
        # kubernetes/kubernetes #101608). Whether that was done is not in the manifest.
    ),
    (
        "f5-nginx-chart-aws-nlb-proxy.yaml",
        "Ingress",
        "default",
        "cafe-ingress",
        "ingress",
        UNKNOWN,
        [],
        # Same guide: with PROXY on at both ends, real-ip-header "proxy_protocol" makes nginx's
        # $remote_addr the PROXY source, appended to X-Forwarded-For; without the manual step
        # every connection fails. Not an error: the documented setup includes that step.
    ),
    (
        "f5-nginx-chart-aws-nlb-proxy.yaml",
        "Service",
        "default",
        "coffee-svc",
        "ingress",
        UNKNOWN,
        [],
        # cafe-ingress.yaml routes /coffee to coffee-svc behind that controller.
    ),
    (
        "f5-nginx-chart-nodeport.yaml",
        "Service",
        "nginx-ingress",
        "my-release-nginx-ingress-controller",
        "nodeport-local",
        PRESERVED,
        [],
        # controller-service.yaml writes externalTrafficPolicy (values: Local, "preserves the
        # client source IP") for NodePort too: no kube-proxy SNAT on the node port.
    ),
    (
        "f5-nginx-chart-nodeport.yaml",
        "Ingress",
        "default",
        "cafe-ingress",
        "ingress",
        PRESERVED,
        [],
        # The controller sees the client as its peer and appends it to X-Forwarded-For
        # ($proxy_add_x_forwarded_for); no realip key in its ConfigMap.
    ),
    (
        "f5-daemonset-hostport.yaml",
        "Ingress",
        "default",
        "cafe-ingress",
        "ingress",
        PRESERVED,
        [],
        # deployments/daemon-set/nginx-ingress.yaml: hostPort 80/443, no Service; its
        # -nginx-configmaps argument marks F5's controller, which serves class nginx by default
        # (values.yaml controller.ingressClass.name), and clients on the node ports are the peer.
    ),
    (
        "f5-daemonset-hostport.yaml",
        "Service",
        "default",
        "tea-svc",
        "ingress",
        PRESERVED,
        [],
        # cafe-ingress.yaml routes /tea to tea-svc behind that DaemonSet.
    ),
    (
        "aws-lbc-nlb-tls-termination.yaml",
        "Service",
        "dev",
        "MyAppSvc",
        "lb-tcp",
        LOST,
        ["aws-nlb-client-ip-not-preserved"],
        # AWS LBC docs guide/service/nlb.md, "Protocols": in case of TCP an NLB with IP targets
        # does not pass the client source IP unless target group attributes say so; this
        # use-case page sets none (its note points at the preservation limits).
    ),
    (
        "aws-lbc-targetgroupbinding.yaml",
        "TargetGroupBinding",
        "default",
        "my-tgb",
        "lb-tcp",
        UNKNOWN,
        [],
        # AWS LBC docs guide/targetgroupbinding: the binding exposes pods through an existing
        # ALB or NLB target group made outside Kubernetes; the page's own load balancer is an
        # NLB, "but an application load balancer may be similarly configured".
    ),
    (
        "aws-lbc-grpc-ingress.yaml",
        "Ingress",
        "grpcserver",
        "grpcserver",
        "lb-http",
        PRESERVED,
        [],
        # AWS LBC docs guide/ingress/annotations, target-type: "ip mode will route traffic
        # directly to the pod IP"; the ALB adds X-Forwarded-For (how-to/load-balancer.md).
    ),
    (
        "alibaba-usage-services.yaml",
        "Service",
        "default",
        "nginx-http",
        "lb-http",
        UNKNOWN,
        [],
        # cloud-provider-alibaba-cloud docs/usage.md #3, protocol-port "http:80": an HTTP
        # listener (X-Forwarded-For); the default Cluster policy SNATs it to a node, so a client
        # reaching the NodePort could write the header (the etp-cluster-http warning).
    ),
    (
        "alibaba-usage-services.yaml",
        "Service",
        "default",
        "nginx-existing-lb",
        "lb-tcp",
        UNKNOWN,
        [],
        # docs/usage.md #7: with an existing loadbalancer-id the controller "will only help to
        # attach & detach backend server" unless force-override-listeners is "true": the
        # listeners (HTTP or TCP) are not in the manifest.
    ),
    (
        "alibaba-usage-services.yaml",
        "Service",
        "default",
        "nginx-local",
        "lb-tcp",
        PRESERVED,
        [],
        # docs/usage.md #14: externalTrafficPolicy Local "only uses nodes where pods are
        # located as backend servers"; a TCP listener passes the client through.
    ),
    (
        "alibaba-usage-services.yaml",
        "Service",
        "default",
        "nginx-forward-port",
        "lb-http",
        UNKNOWN,
        [],
        # docs/usage.md #21, protocol-port "https:443,http:80" names both Service ports: both
        # listeners are HTTP(S); Cluster policy as for #3.
    ),
    (
        "openstack-proxy-protocol.yaml",
        "Service",
        "nginx-ingress",
        "nginx-ingress",
        "lb-tcp-proxy",
        PRESERVED,
        [],
        # Issue 22 class 3. cloud-provider-openstack expose-applications-using-loadbalancer-type-
        # service.md: proxy-protocol "If 'true', the loadbalancer pool protocol will be set as
        # PROXY"; the page's Service is Cluster, and the PROXY header survives kube-proxy's SNAT;
        # the page's nginx config (proxy-protocol "True", real-ip-header proxy_protocol) decodes
        # it, and those nginx.org keys with nothing of ingress-nginx's name F5's controller.
    ),
    (
        "openstack-proxy-protocol.yaml",
        "Ingress",
        "default",
        "test-proxy-protocol",
        "ingress",
        PRESERVED,
        [],
        # Same page: "you should see your public IP address is shown in the Request Headers
        # (x-forwarded-for or x-real-ip)".
    ),
]


def _errors(entry: Entry) -> List[str]:
    return [f.code for f in entry.findings if f.level == "error"]


@pytest.mark.parametrize(
    ("name", "kind", "ns", "obj", "topology", "client", "codes"),
    CORPUS,
    ids=[f"{c[0]}:{c[1]}/{c[3]}" for c in CORPUS],
)
def test_corpus_verdicts(
    name: str,
    kind: str,
    ns: str,
    obj: str,
    topology: Optional[str],
    client: str,
    codes: List[str],
) -> None:
    report = analyze(parse_objects((REAL / name).read_text()))
    entry = report.find(kind, ns, obj)
    assert (entry.topology, entry.client_ip, _errors(entry)) == (topology, client, codes)
    # No topology only where doctor says it can't tell (a platform's own Service kind).
    assert entry.topology in TOPOLOGIES or (entry.topology is None and client == UNKNOWN)
    for f in entry.findings:
        assert "seed" not in f.message
        if f.level == "error":
            assert f.fix, f.code


def test_every_corpus_file_has_a_row_and_a_source_header() -> None:
    files = {p.name for p in REAL.glob("*.yaml")}
    assert files == {c[0] for c in CORPUS}
    for name in files:
        header = [line for line in (REAL / name).read_text().splitlines() if line.startswith("#")]
        assert any(line.startswith("# Source: ") for line in header[:20]), name
        assert any("Licen" in line for line in header[:20]), name
        assert any("commit" in line or "constant" in line for line in header[:20]), name


def _run(*files: str, as_json: bool = True, together: bool = False) -> int:
    return run(argparse.Namespace(files=list(files), json=as_json, together=together))


def _single_codes(paths: List[Path]) -> List[int]:
    codes = []
    for path in paths:
        codes.append(_run(str(path)))
    return codes


@pytest.mark.parametrize("which", ["corpus", "fixtures"])
def test_all_files_at_once_exit_with_the_worst_single_verdict(
    which: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Issue 13 item 9: a LOST verdict must never disappear when files are read together.
    paths = sorted(REAL.glob("*.yaml")) if which == "corpus" else sorted(FIXTURES.glob("*.json"))
    paths = [p for p in paths if p.name != "pods.json"]  # unreadable alone (exit 2): no Service
    singles = _single_codes(paths)
    capsys.readouterr()
    assert 1 in singles and 0 in singles
    assert _run(*map(str, paths)) == max(singles)
    assert _run(*map(str, reversed(paths))) == max(singles)
    data = json.loads(capsys.readouterr().out.split("\n}\n")[-2] + "\n}")
    assert data["exit_code"] == max(singles)
    assert len(data["files"]) == len(paths)


def test_files_stay_apart_in_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    a, b = FIXTURES / "nodeport-cluster.json", FIXTURES / "pod-to-pod.json"
    for order in ((a, b), (b, a)):
        assert _run(*map(str, order)) == 1
        data = json.loads(capsys.readouterr().out)
        assert [f["file"] for f in data["files"]] == [str(p) for p in order]
        verdicts = {f["file"]: f["entries"][0]["client_ip"] for f in data["files"]}
        assert verdicts == {str(a): LOST, str(b): PRESERVED}


def test_together_refuses_the_same_object_twice(capsys: pytest.CaptureFixture[str]) -> None:
    a, b = FIXTURES / "nodeport-cluster.json", FIXTURES / "pod-to-pod.json"
    assert _run(str(a), str(b), together=True) == 2
    assert "Service shop/shop is in both" in capsys.readouterr().err


def test_alibaba_alb_is_not_described_as_aws() -> None:
    report = analyze(parse_objects((REAL / "alibaba-alb.yaml").read_text()))
    entry = report.find("Ingress", "default", "cafe-ingress")
    assert "alibaba-alb" in entry.codes() and "aws-alb" not in entry.codes()


def test_unknown_verdicts_say_how_to_find_out() -> None:
    hetzner = analyze(parse_objects((REAL / "hetzner-tutorial.yaml").read_text()))
    ctrl = hetzner.find("Service", "ingress-nginx", "ingress-nginx-controller")
    warn = next(f for f in ctrl.findings if f.code == "hetzner-no-proxy-protocol")
    assert warn.level == "warning" and warn.fix is None and "realip serve" in warn.message


def _svc(annotations: Dict[str, str], etp: str = "Local", **spec: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {"type": "LoadBalancer", "externalTrafficPolicy": etp}
    body.update(spec)
    return {
        "kind": "Service",
        "metadata": {"name": "shop", "namespace": "shop", "annotations": annotations},
        "spec": body,
    }


def test_alibaba_eni_backend_type_alone_reaches_the_alibaba_analysis() -> None:
    # Item 7: cloud-provider-alibaba-cloud: backend-type "eni" mounts pod ENIs directly.
    key = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-backend-type"
    entry = analyze([_svc({key: "eni"}, etp="Cluster")]).entries[0]
    assert (entry.client_ip, _errors(entry)) == (PRESERVED, [])
    assert "alibaba-eni-backend" in entry.codes()


def test_alibaba_nlb_preserve_client_ip_off_loses_it() -> None:
    key = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-preserve-client-ip"
    entry = analyze([_svc({key: "off"}, loadBalancerClass="alibabacloud.com/nlb")]).entries[0]
    assert (entry.client_ip, _errors(entry)) == (LOST, ["alibaba-nlb-client-ip-not-preserved"])


def test_alibaba_http_listener_under_cluster_keeps_the_client_in_xff() -> None:
    # Item 10: not "lost": the client stays in X-Forwarded-For. But the peer is a SNAT'ed node,
    # and trusting nodes would trust any client that reaches the NodePort directly (issue 17,
    # and the topology lab's lb-http-cluster rows): "unknown", a warning naming both fixes, and
    # node_cidrs to flag the SNAT'ed requests - never the nodes added to the trusted range.
    key = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-protocol-port"
    entry = analyze([_svc({key: "http:80"}, etp="Cluster")]).entries[0]
    assert (entry.topology, entry.client_ip, _errors(entry)) == ("lb-http", UNKNOWN, [])
    assert entry.settings["REALIP_LB_CIDRS"] == "100.64.0.0/10"
    assert entry.settings["REALIP_NODE_CIDRS"] == "<your node CIDR>"
    warning = next(f for f in entry.findings if f.code == "etp-cluster-http")
    assert "externalTrafficPolicy: Local" in (warning.fix or "")
    assert "NodePort" in (warning.fix or "")


def test_external_ips_are_not_pod_to_pod() -> None:
    # Item 8: kube-proxy answers on externalIPs and applies externalTrafficPolicy to them.
    svc = _svc({}, etp="Cluster", type="ClusterIP", externalIPs=["198.51.100.7"])
    entry = analyze([svc]).entries[0]
    assert (entry.topology, entry.client_ip) == ("nodeport-cluster", LOST)


def _ingress(cls: str) -> Dict[str, Any]:
    return {
        "kind": "Ingress",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "ingressClassName": cls,
            "rules": [{"http": {"paths": [{"backend": {"service": {"name": "web"}}}]}}],
        },
    }


def _class(name: str, controller: str, **spec: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {"controller": controller}
    body.update(spec)
    return {"kind": "IngressClass", "metadata": {"name": name}, "spec": body}


@pytest.mark.parametrize(
    ("controller", "code"),
    [
        ("traefik.io/ingress-controller", "controller-header"),
        ("istio.io/ingress-controller", "controller-header"),
        ("haproxy.org/ingress-controller", "controller-header"),
        ("projectcontour.io/contour", "controller-header"),
        ("nginx.org/ingress-controller", "controller-header"),
        ("azure/application-gateway", "agic"),
        ("ingresses.networking.alibabacloud.com/alb", "alibaba-alb"),
    ],
)
def test_ingress_class_objects_name_the_controller(controller: str, code: str) -> None:
    # Item 6: the IngressClass's spec.controller decides, not the class name.
    report = analyze([_class("edge", controller), _ingress("edge")])
    entry = report.find("Ingress", "shop", "web")
    assert code in entry.codes()
    ctrl = CONTROLLERS[controller]
    if ctrl.lb:
        # A cloud HTTP load balancer is the controller: nothing sits between it and the client.
        assert entry.client_ip == PRESERVED and _errors(entry) == []
        return
    # An in-cluster controller without its Service in the input: whether the client reaches it
    # (Local) or is SNAT'ed on the way (Cluster, a Service's default) is not known.
    assert (entry.client_ip, _errors(entry)) == (UNKNOWN, [])
    assert "controller-service-not-found" in entry.codes()
    # With its Service (found by its labels) on a Local NodePort, the client reaches it.
    key, value = ctrl.service_hints[0]
    svc: Dict[str, Any] = {
        "kind": "Service",
        "metadata": {"name": value if key == "name" else "edge", "namespace": "edge"},
        "spec": {"type": "NodePort", "externalTrafficPolicy": "Local", "ports": [{"port": 80}]},
    }
    if key != "name":
        svc["metadata"]["labels"] = {key: value}
    entry = analyze([_class("edge", controller), _ingress("edge"), svc]).find(
        "Ingress", "shop", "web"
    )
    assert (entry.client_ip, _errors(entry)) == (PRESERVED, [])
    # ... and on a Cluster one it is SNAT'ed away.
    svc["spec"]["externalTrafficPolicy"] = "Cluster"
    entry = analyze([_class("edge", controller), _ingress("edge"), svc]).find(
        "Ingress", "shop", "web"
    )
    assert entry.client_ip == LOST


def test_unknown_controller_is_a_warning_with_a_way_to_find_out() -> None:
    report = analyze([_class("edge", "example.com/edge"), _ingress("edge")])
    entry = report.find("Ingress", "shop", "web")
    assert (entry.client_ip, _errors(entry)) == (UNKNOWN, [])
    warn = next(f for f in entry.findings if f.code == "ingress-controller-unknown")
    assert warn.level == "warning" and "realip serve" in warn.message


def test_traefik_behind_a_cluster_policy_service_loses_it() -> None:
    svc = _svc({}, etp="Cluster", type="NodePort")
    svc["metadata"].update(name="traefik", labels={"app.kubernetes.io/name": "traefik"})
    report = analyze([svc, _class("traefik", "traefik.io/ingress-controller"), _ingress("traefik")])
    entry = report.find("Ingress", "shop", "web")
    assert (entry.client_ip, _errors(entry)) == (LOST, ["controller-loses-client-ip"])


def _f5(annotations: Dict[str, str], data: Dict[str, str]) -> Entry:
    svc = _svc(annotations, etp="Local")
    svc["metadata"].update(name="nginx-ingress", namespace="nginx-ingress")
    svc["metadata"]["labels"] = {"app": "nginx-ingress"}
    cm = {"kind": "ConfigMap", "metadata": {"name": "nginx-config", "namespace": "nginx-ingress"}}
    cm["data"] = data
    objects = [svc, cm, _class("nginx", "nginx.org/ingress-controller"), _ingress("nginx")]
    return analyze(objects).find("Ingress", "shop", "web")


# The AWS Load Balancer Controller's NLB: it applies the PROXY annotation (the in-tree
# controller's "type: nlb" does not, see test_analyze's in-tree NLB test).
_NLB_PP = {
    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
    "service.beta.kubernetes.io/aws-load-balancer-proxy-protocol": "*",
}


@pytest.mark.parametrize(
    ("annotations", "data", "client", "codes"),
    [
        # nginx.ingress.tmpl: "real_ip_header {{$server.RealIPHeader}}" must be proxy_protocol for
        # $remote_addr (appended to X-Forwarded-For) to be the PROXY source.
        (
            _NLB_PP,
            {"proxy-protocol": "True", "real-ip-header": "proxy_protocol"},
            PRESERVED,
            [],
        ),
        (_NLB_PP, {"proxy-protocol": "True"}, LOST, ["f5-proxy-protocol-not-used"]),
        (_NLB_PP, {}, LOST, ["proxy-protocol-mismatch"]),
        # "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for": after realip took the
        # address from a header anyone writes, the appended entry is the client's choice.
        (
            {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
            {"real-ip-header": "X-Forwarded-For", "set-real-ip-from": "0.0.0.0/0"},
            SPOOFABLE,
            ["f5-trusts-everyone"],
        ),
        (
            {"service.beta.kubernetes.io/alibaba-cloud-loadbalancer-protocol-port": "http:80"},
            {},
            PRESERVED,
            [],
        ),
    ],
)
def test_f5_nginx_configmap_keys(
    annotations: Dict[str, str], data: Dict[str, str], client: str, codes: List[str]
) -> None:
    entry = _f5(annotations, data)
    assert (entry.client_ip, _errors(entry)) == (client, codes)
    assert "controller-header" in entry.codes()


def test_f5_behind_an_http_lb_trusts_the_lb_range() -> None:
    key = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-protocol-port"
    entry = _f5({key: "http:80"}, {})
    assert entry.settings["REALIP_LB_CIDRS"] == "100.64.0.0/10"


def test_httproute_v1_gives_its_backend_the_gateway_verdict() -> None:
    gw = {
        "kind": "Gateway",
        "metadata": {"name": "ext", "namespace": "infra"},
        "spec": {"gatewayClassName": "gke-l7-global-external-managed"},
        "status": {"addresses": [{"type": "IPAddress", "value": "34.1.2.3"}]},
    }
    route = {
        "kind": "HTTPRoute",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "parentRefs": [{"name": "ext", "namespace": "infra"}],
            "rules": [{"backendRefs": [{"name": "web", "port": 80}]}],
        },
    }
    app = {"kind": "Service", "metadata": {"name": "web", "namespace": "shop"}, "spec": {}}
    report = analyze([gw, route, app])
    entry = report.find("Service", "shop", "web")
    assert (entry.topology, entry.client_ip) == ("lb-http", PRESERVED)
    assert entry.settings["REALIP_LB_CIDRS"].endswith(",34.1.2.3")
    assert "2600:2d00:1:1::/64" in entry.settings["REALIP_LB_CIDRS"]


def test_unknown_gateway_class_is_a_warning() -> None:
    gw = {"kind": "Gateway", "metadata": {"name": "g"}, "spec": {"gatewayClassName": "acme"}}
    entry = analyze([gw]).entries[0]
    assert (entry.client_ip, _errors(entry)) == (UNKNOWN, [])
    assert "gateway-class-unknown" in entry.codes()


def test_cloudflared_routes_its_services_to_the_cloudflare_topology() -> None:
    objects = parse_objects((REAL / "cloudflared.yaml").read_text())
    objects.append(
        {"kind": "Service", "metadata": {"name": "web-service", "namespace": "default"}, "spec": {}}
    )
    entry = analyze(objects).find("Service", "default", "web-service")
    assert (entry.topology, entry.client_ip) == ("cloudflare", PRESERVED)
    assert entry.settings == {
        "REALIP_TOPOLOGY": "cloudflare",
        "REALIP_POD_CIDRS": "<your pod CIDR>",
    }
    assert "CF-Connecting-IP" in entry.findings[0].message


def test_host_network_daemonset_keeps_the_client_behind_a_nodeport() -> None:
    svc = _svc({}, etp="Cluster", type="NodePort", selector={"app": "edge"})
    ds = {
        "kind": "DaemonSet",
        "metadata": {"name": "edge", "namespace": "shop"},
        "spec": {
            "template": {
                "metadata": {"labels": {"app": "edge"}},
                "spec": {"hostNetwork": True, "containers": [{"name": "edge"}]},
            }
        },
    }
    entry = analyze([svc, ds]).find("Service", "shop", "shop")
    assert (entry.topology, entry.client_ip, _errors(entry)) == ("nodeport-local", PRESERVED, [])
    assert "host-port" in entry.codes()
    # The Service's own SNAT stays visible, as a warning for clients that use the NodePort.
    assert any(f.code == "snat" and f.level == "warning" for f in entry.findings)


def _traefik(annotations: Dict[str, str], container_args: List[str]) -> Dict[str, Entry]:
    svc = _svc(annotations, etp="Local", selector={"app.kubernetes.io/name": "traefik"})
    svc["metadata"].update(name="traefik", labels={"app.kubernetes.io/name": "traefik"})
    deploy = {
        "kind": "Deployment",
        "metadata": {"name": "traefik", "namespace": "shop"},
        "spec": {
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "traefik"}},
                "spec": {"containers": [{"name": "traefik", "args": container_args}]},
            }
        },
    }
    report = analyze(
        [svc, deploy, _class("traefik", "traefik.io/ingress-controller"), _ingress("traefik")]
    )
    return {
        "ingress": report.find("Ingress", "shop", "web"),
        "controller": report.find("Service", "shop", "traefik"),
    }


_DO_PP = {"service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol": "true"}
_ELB_HTTP = {"service.beta.kubernetes.io/aws-load-balancer-backend-protocol": "http"}


@pytest.mark.parametrize(
    ("annotations", "container_args", "client"),
    [
        # Traefik docs (EntryPoints): proxyProtocol.trustedIPs makes it decode PROXY headers.
        (_DO_PP, ["--entryPoints.web.proxyProtocol.trustedIPs=10.0.0.0/8"], PRESERVED),
        (_DO_PP, ["--entryPoints.web.address=:8000"], UNKNOWN),
        # forwardedHeaders.trustedIPs makes it keep the load balancer's X-Forwarded-For; without
        # it Traefik replaces the header, and the setting may live in a file doctor can't see.
        (_ELB_HTTP, ["--entryPoints.web.forwardedHeaders.trustedIPs=10.0.0.0/8"], PRESERVED),
        (_ELB_HTTP, [], UNKNOWN),
    ],
)
def test_traefik_settings_come_from_its_arguments(
    annotations: Dict[str, str], container_args: List[str], client: str
) -> None:
    got = _traefik(annotations, container_args)
    assert (got["ingress"].client_ip, _errors(got["ingress"])) == (client, [])
    assert got["controller"].role == "ingress-controller"


def test_appending_controller_behind_an_http_lb_trusts_the_lb_range() -> None:
    # Envoy (Contour) appends the peer: the app sees '<client>, <load balancer>'.
    svc = _svc(_ELB_HTTP, etp="Local", selector={"app": "envoy"})
    svc["metadata"].update(name="envoy", labels={"app": "envoy"})
    report = analyze([svc, _class("contour", "projectcontour.io/contour"), _ingress("contour")])
    entry = report.find("Ingress", "shop", "web")
    assert (entry.client_ip, _errors(entry)) == (PRESERVED, [])
    assert entry.settings["REALIP_LB_CIDRS"] == "<your VPC CIDR>"


def test_files_stay_apart_in_the_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    # b exits 0 with an unknown: a Local Service behind a load balancer doctor cannot read.
    a, b = FIXTURES / "nodeport-cluster.json", REAL / "ingress-nginx-cloud.yaml"
    assert _run(str(b), str(a), as_json=False) == 1
    text = capsys.readouterr().out
    # Each file's entries sit under its own heading, in the order given.
    assert text.index(f"== {b} ==") < text.index("Service ingress-nginx/ingress-nginx-controller")
    assert text.index("Service ingress-nginx/ingress-nginx-controller") < text.index(f"== {a} ==")
    assert text.index(f"== {a} ==") < text.index("Service shop/shop")
    assert text.rstrip().endswith(f"Overall: the client IP is lost or forgeable in {a}.")
    assert _run(str(b), as_json=False) == 0
    assert "doctor cannot tell for: Service ingress-nginx/ingress-nginx-controller" in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize("name", sorted(p.name for p in REAL.glob("*.yaml")))
def test_yaml_and_json_give_the_same_report(name: str) -> None:
    objects = parse_objects((REAL / name).read_text())
    as_json = parse_objects(json.dumps({"kind": "List", "items": objects}))
    assert analyze(as_json).as_dict() == analyze(objects).as_dict()


@pytest.mark.parametrize(
    ("preserve", "etp", "client", "codes"),
    [
        # OCI docs: an NLB "is a non-proxy load balancing solution"; is-preserve-source keeps
        # the client address, but "if externalTrafficPolicy is set to Cluster, client IP
        # addresses are not preserved regardless".
        ("true", "Local", PRESERVED, []),
        ("true", "Cluster", LOST, ["snat"]),
        ("false", "Local", LOST, ["oci-nlb-source-not-preserved"]),
        # Issue 22 class 3 (was unknown): load_balancer_spec.go getPreserveSourceAnnotation
        # defaults is-preserve-source to true, and getPreserveSource keeps it under Local.
        (None, "Local", PRESERVED, []),
        (None, "Cluster", LOST, ["snat"]),
    ],
)
def test_oci_network_load_balancer(
    preserve: Optional[str], etp: str, client: str, codes: List[str]
) -> None:
    ann = {"oci.oraclecloud.com/load-balancer-type": "nlb"}
    if preserve is not None:
        ann["oci-network-load-balancer.oraclecloud.com/is-preserve-source"] = preserve
    entry = analyze([_svc(ann, etp=etp)]).entries[0]
    assert (entry.client_ip, _errors(entry)) == (client, codes)


@pytest.mark.parametrize("etp", ["Local", "Cluster"])
def test_proxy_protocol_to_the_app_recommends_lb_tcp_proxy(etp: str) -> None:
    # lb-tcp-proxy's spec: PROXY headers accepted from lb_cidrs, and node_cidrs under Cluster
    # (kube-proxy's SNAT changes the packet's source, not the PROXY header inside the stream).
    entry = analyze([_svc(_DO_PP, etp=etp)]).entries[0]
    assert (entry.topology, entry.client_ip, _errors(entry)) == ("lb-tcp-proxy", PRESERVED, [])
    expected = {
        "REALIP_TOPOLOGY": "lb-tcp-proxy",
        "REALIP_LB_CIDRS": "<the load balancer's address range>",
    }
    if etp == "Cluster":
        expected["REALIP_NODE_CIDRS"] = "<your node CIDR>"
    assert entry.settings == expected


def test_a_configmap_only_file_is_explained_and_an_empty_one_noted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    docs = Path(__file__).parent.parent.parent / "docs" / "kubernetes"
    files = [docs / "00-namespace.yaml", docs / "ingress-nginx.yaml", FIXTURES / "pod-to-pod.json"]
    assert _run(*map(str, files)) == 0
    data = json.loads(capsys.readouterr().out)
    namespace, configmap, pods = data["files"]
    assert namespace["entries"] == [] and "nothing doctor reads" in namespace["notes"][0]
    assert [e["kind"] for e in configmap["entries"]] == ["ConfigMap"]
    assert pods["entries"][0]["client_ip"] == PRESERVED


@pytest.mark.parametrize(
    ("config", "client"), [('{"gatewayTopology": {"proxyProtocol": {}}}', PRESERVED), ("", UNKNOWN)]
)
def test_istio_gateway_proxy_protocol_from_its_pod_annotation(config: str, client: str) -> None:
    labels = {"app": "istio-ingressgateway", "istio": "ingressgateway"}
    svc = _svc(_DO_PP, etp="Local", selector=labels)
    svc["metadata"].update(name="istio-ingressgateway", labels=labels)
    pod_meta: Dict[str, Any] = {"labels": labels}
    if config:
        pod_meta["annotations"] = {"proxy.istio.io/config": config}
    deploy = {
        "kind": "Deployment",
        "metadata": {"name": "istio-ingressgateway", "namespace": "shop"},
        "spec": {
            "template": {"metadata": pod_meta, "spec": {"containers": [{"name": "istio-proxy"}]}}
        },
    }
    report = analyze(
        [svc, deploy, _class("istio", "istio.io/ingress-controller"), _ingress("istio")]
    )
    entry = report.find("Ingress", "shop", "web")
    assert (entry.client_ip, _errors(entry)) == (client, [])


def test_a_controller_workload_found_two_ways_is_named_once() -> None:
    # The Traefik Deployment is both selected by its Service and named after the controller.
    report = analyze(parse_objects((REAL / "traefik-do-proxy-protocol.yaml").read_text()))
    entry = report.find("Service", "traefik", "traefik")
    [decodes] = [f for f in entry.findings if f.code == "controller-proxy-protocol"]
    assert decodes.message.count("Deployment traefik/traefik") == 1


@pytest.mark.parametrize(
    "name",
    ["f5-nginx-chart.yaml", "f5-nginx-chart-aws-nlb-proxy.yaml", "f5-nginx-chart-nodeport.yaml"],
)
def test_f5_chart_is_judged_the_same_without_its_ingressclass(name: str) -> None:
    # `kubectl get svc,ingress,configmap,deploy` without ingressclass: the chart's pods
    # (-nginx-configmaps, -ingress-class=nginx) still name the controller of class nginx.
    objects = parse_objects((REAL / name).read_text())
    full = analyze(objects).find("Ingress", "default", "cafe-ingress")
    bare = analyze([o for o in objects if o.get("kind") != "IngressClass"])
    entry = bare.find("Ingress", "default", "cafe-ingress")
    assert (entry.topology, entry.client_ip, _errors(entry)) == (
        full.topology,
        full.client_ip,
        _errors(full),
    )
    assert "ingress-class-f5" in entry.codes()
    assert bare.find("Service", "nginx-ingress", "my-release-nginx-ingress-controller").role == (
        "ingress-controller"
    )
