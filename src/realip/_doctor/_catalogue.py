"""Every finding code ``realip doctor`` can print: its level(s) and what it means.

One entry per code, kept beside nothing else: :class:`~realip._doctor._report.Finding` refuses a
code that is not here (or at a level not listed), and ``docs/reference/doctor.md``'s table of
findings is generated from it (:func:`render_table`), so a new finding cannot go undocumented.
"""

from __future__ import annotations

from typing import Dict, Tuple

E, W, I = "error", "warning", "info"  # noqa: E741 - the levels' own spellings

FINDINGS: Dict[str, Tuple[Tuple[str, ...], str]] = {
    # -- kube-proxy and the Service's own path --------------------------------------------
    "snat": (
        (E,),
        "externalTrafficPolicy: Cluster: kube-proxy SNATs requests to a node address "
        "whatever the load balancer in front is; fix: externalTrafficPolicy: Local",
    ),
    "etp-local": ((I,), "externalTrafficPolicy: Local: nodes with a pod deliver without SNAT"),
    "etp-cluster-http": (
        (I, W),
        "an HTTP load balancer under Cluster: the client stays in "
        "X-Forwarded-For, but the peer is a node, which realip does not trust "
        "by default",
    ),
    "etp-cluster-proxy-protocol": (
        (I,),
        "PROXY protocol under Cluster: the header survives kube-proxy's SNAT",
    ),
    "etp-cluster-unknown-lb": (
        (W,),
        "an ambiguous load balancer under Cluster: if it passes the "
        "client through, kube-proxy still SNATs",
    ),
    "dsr-dataplane": (
        (I,),
        "Cilium replaces kube-proxy with direct server return: Cluster keeps the client too",
    ),
    "cluster-ip": ((I,), "ClusterIP: reached from pods only; the peer is the calling pod"),
    "host-port": (
        (I,),
        "hostPort/hostNetwork pods take traffic on the node itself, without kube-proxy",
    ),
    "host-port-also": ((I,), "a LoadBalancer Service's pods also listen on node ports"),
    "nodeport-for-load-balancer": (
        (I,),
        "a NodePort an HTTP load balancer uses in instance "
        "mode; the node addresses must be trusted too",
    ),
    "also-exposed": ((I,), "a Service behind an Ingress/Gateway is also exposed directly"),
    "behind-ingress": ((I,), "a Service reached through an Ingress, Gateway route or tunnel"),
    "vpc-trust-scope": ((I,), "trusting the VPC CIDR trusts every pod and instance in it"),
    "provider-from-cluster": (
        (I,),
        "no annotation: the cloud comes from Nodes' providerID, the "
        "load balancer's hostname or --provider",
    ),
    "lb-unknown": ((W,), "a load balancer doctor cannot identify: how to find out what it does"),
    "proxy-protocol": (
        (W,),
        "the load balancer sends PROXY protocol: the app's server (or a proxy) must decode it",
    ),
    "proxy-protocol-mismatch": (
        (E,),
        "one side sends PROXY protocol and the other does not "
        "expect it (or the reverse): every request fails",
    ),
    "proxy-protocol-unverified": (
        (W,),
        "ingress-nginx expects PROXY protocol from a load balancer doctor cannot read",
    ),
    "proxy-protocol-decoded": (
        (I,),
        "the load balancer sends PROXY protocol and ingress-nginx decodes it",
    ),
    # -- providers ---------------------------------------------------------------------------
    "alibaba-http-listener": (
        (I,),
        "Alibaba CLB HTTP/HTTPS listener: X-Forwarded-For from 100.64.0.0/10",
    ),
    "alibaba-tcp-listener": ((I,), "Alibaba CLB TCP listener: the client is the peer"),
    "alibaba-mixed-listeners": ((I,), "Alibaba CLB with HTTP and TCP listeners on different ports"),
    "alibaba-proxy-protocol-l4-only": (
        (I,),
        "Alibaba PROXY protocol applies to its TCP listeners only",
    ),
    "alibaba-proxy-protocol-value": (
        (W,),
        "an Alibaba proxy-protocol value the cloud controller reads as off",
    ),
    "alibaba-protocol-port-unmatched": (
        (I,),
        "a protocol-port entry naming no port of the Service (ignored)",
    ),
    "alibaba-protocol-port-unreadable": (
        (W,),
        "a protocol-port entry the cloud controller rejects: no listeners are built",
    ),
    "alibaba-existing-lb-listeners": (
        (W,),
        "a reused Alibaba load balancer keeps listeners the input does not show",
    ),
    "alibaba-eni-backend": ((I,), "Alibaba backend-type eni: pods are the backends, no kube-proxy"),
    "alibaba-nlb-client-ip-not-preserved": (
        (E,),
        "Alibaba NLB with preserve-client-ip off: the client is replaced",
    ),
    "alibaba-alb": ((I,), "Alibaba Cloud ALB Ingress: appends the client, from the VPC"),
    "aws-nlb": ((I,), "AWS NLB: layer 4, no X-Forwarded-For"),
    "aws-ip-targets": ((I,), "AWS NLB IP targets: straight to pod IPs, no kube-proxy"),
    "aws-nlb-client-ip-not-preserved": (
        (E,),
        "AWS NLB IP targets without client IP preservation: the NLB's address replaces the client",
    ),
    "aws-nlb-ipv6-clients": (
        (W,),
        "dual-stack NLB without PROXY protocol: IPv6 clients arrive from the NLB",
    ),
    "aws-nlb-proxy-protocol-unverified": (
        (W,),
        "PROXY annotation on an in-tree NLB, which applies it to Classic ELBs only",
    ),
    "aws-nlb-proxy-protocol-some-ports": (
        (W,),
        "proxy-protocol-per-target-group covers some Service ports only",
    ),
    "aws-controller-unstated": (
        (I, W),
        "AWS annotations only the AWS Load Balancer Controller reads, without type or class",
    ),
    "aws-elb-http": ((I,), "Classic ELB HTTP listener: X-Forwarded-For from the VPC"),
    "aws-elb-tcp": (
        (I, E),
        "Classic ELB TCP listener: a proxy; without PROXY protocol the client is gone",
    ),
    "aws-alb": ((I,), "AWS ALB Ingress: appends the client, from the VPC"),
    "aws-alb-xff-preserve": (
        (E,),
        "ALB routing.http.xff_header_processing.mode=preserve: X-Forwarded-For is the client's own",
    ),
    "aws-alb-xff-remove": (
        (E,),
        "ALB routing.http.xff_header_processing.mode=remove: no client reaches the app",
    ),
    "aws-target-group-binding": (
        (W,),
        "a TargetGroupBinding: a load balancer made outside Kubernetes",
    ),
    "gcp-passthrough": ((I,), "GKE passthrough Network Load Balancer: the client is the peer"),
    "gke-standalone-neg": (
        (W,),
        "a GKE standalone NEG: a load balancer outside the input sends to the pods",
    ),
    "gce-alb": (
        (I,),
        "Google external Application Load Balancer: front-end ranges and its own address",
    ),
    "gce-internal-alb": (
        (I,),
        "Google internal/regional Application Load Balancer: the proxy-only subnet",
    ),
    "do-http-listener": ((I,), "DigitalOcean HTTP listener: X-Forwarded-For"),
    "do-network-lb": ((I,), "DigitalOcean REGIONAL_NETWORK: pass-through"),
    "do-network-lb-ignores-proxy-protocol": (
        (W,),
        "PROXY annotation on a DigitalOcean network load balancer",
    ),
    "do-unknown-type": (
        (W,),
        "DigitalOcean TCP listener: regional load balancers proxy, network ones don't",
    ),
    "scw-no-proxy-protocol": ((W,), "Scaleway without PROXY protocol: the load balancer proxies"),
    "hetzner-http-listener": ((I,), "Hetzner HTTP listener: X-Forwarded-For"),
    "hetzner-no-proxy-protocol": (
        (W,),
        "Hetzner TCP without PROXY protocol: the load balancer proxies",
    ),
    "oci-http-listener": ((I,), "OCI HTTP backend protocol: X-Forwarded-For"),
    "oci-lb-tcp-proxy": (
        (E,),
        "OCI Load Balancer TCP listener: a proxy; fix: PROXY protocol "
        "(connection-proxy-protocol-version)",
    ),
    "oci-nlb": ((I,), "OCI Network Load Balancer preserving the source"),
    "oci-nlb-source-not-preserved": ((E,), "OCI NLB with is-preserve-source false"),
    "oci-nlb-preserve-unknown": ((W,), "OCI NLB with an unreadable is-preserve-source value"),
    "azure-lb": ((I,), "Azure Load Balancer: layer-4 pass-through"),
    "azure-pls-nat": ((W,), "an Azure Private Link Service NATs private-endpoint clients"),
    "azure-pls-direct": (
        (I,),
        "Azure Private Link with PROXY protocol: direct clients are the peer",
    ),
    "azure-pls-direct-snat": ((W,), "Azure Private Link with PROXY protocol under Cluster"),
    "metallb": ((I,), "MetalLB: routed to a node, no proxy"),
    "kube-vip": ((I,), "kube-vip: announced by a node, no proxy"),
    "openstack-x-forwarded-for": (
        (I,),
        "OpenStack Octavia x-forwarded-for: an HTTP listener that inserts X-Forwarded-For",
    ),
    "openstack-tcp-listener": (
        (W,),
        "OpenStack Octavia TCP listener: amphora proxies, OVN passes through",
    ),
    "linode-no-proxy-protocol": ((W,), "Linode NodeBalancer without PROXY protocol"),
    "vultr-no-proxy-protocol": ((W,), "Vultr load balancer without PROXY protocol"),
    "civo-no-proxy-protocol": ((W,), "Civo load balancer without PROXY protocol"),
    "cloudscale-no-proxy-protocol": ((W,), "cloudscale.ch load balancer without PROXY protocol"),
    # -- ingress controllers ---------------------------------------------------------------
    "ingress-controller": ((I,), "the controller's own Service, where the client must survive"),
    "controller-header": ((I,), "which header a controller writes and whom it believes"),
    "controller-service-not-found": ((I, W), "the controller's Service is not in the input"),
    "controller-loses-client-ip": (
        (E,),
        "the controller's (or gateway's) Service already loses the client",
    ),
    "controller-lb-unknown": ((W,), "the controller is behind a load balancer doctor cannot read"),
    "controller-proxy-protocol": (
        (I,),
        "the controller decodes the load balancer's PROXY protocol",
    ),
    "controller-proxy-protocol-unverified": (
        (W,),
        "the controller must decode PROXY protocol; its setting is not in the input",
    ),
    "controller-trust-unverified": (
        (W,),
        "the controller must believe the HTTP load balancer's "
        "X-Forwarded-For; its setting is not in the input",
    ),
    "controller-believes-lb": ((I,), "the controller believes the HTTP load balancer's header"),
    "controller-appends": (
        (I,),
        "the controller appends its peer: trust the load balancer's range too",
    ),
    "controller-believes-clients": (
        (E,),
        "a controller setting believes a header any client "
        "writes (Traefik insecure, HAProxy src-ip-header, ...)",
    ),
    "controller-drops-client": (
        (E,),
        "a controller setting forwards no client address (Traefik notAppendXForwardedFor)",
    ),
    "ingress-controller-unknown": ((W,), "an ingress controller doctor does not know"),
    "ingress-class-ambiguous": (
        (W,),
        "class nginx without its IngressClass: two controllers use it",
    ),
    "ingress-class-assumed": ((I,), "no class: the default controller in the input is assumed"),
    "ingress-class-default": ((I,), "no class: the IngressClass marked default is used"),
    "ingress-class-f5": ((I,), "class served by F5's controller pods in the input"),
    "ingress-class-gke": ((I,), "no class with GKE annotations: GKE Ingress"),
    "ingress-class-alb-assumed-aws": ((I,), "class alb without its IngressClass: AWS assumed"),
    "agic": ((I,), "Azure Application Gateway: appends the client, from its subnet"),
    "multi-cluster-ingress": ((I,), "a GKE MultiClusterIngress"),
    "nginx-use-forwarded-headers": ((I,), "ingress-nginx use-forwarded-headers explained"),
    "nginx-compute-full-forwarded-for": (
        (I,),
        "ingress-nginx compute-full-forwarded-for explained",
    ),
    "nginx-forwarded-for-header": ((I,), "ingress-nginx forwarded-for-header explained"),
    "nginx-proxy-real-ip-cidr": ((I,), "ingress-nginx proxy-real-ip-cidr explained"),
    "nginx-use-proxy-protocol": ((I,), "ingress-nginx use-proxy-protocol explained"),
    "nginx-enable-real-ip": ((I,), "ingress-nginx enable-real-ip explained"),
    "nginx-bad-boolean": ((W,), "an ingress-nginx boolean key it cannot read (false)"),
    "nginx-bad-cidr": ((W,), "proxy-real-ip-cidr with an entry that is not a CIDR"),
    "nginx-trusts-everyone": (
        (E,),
        "use-forwarded-headers/enable-real-ip with "
        "proxy-real-ip-cidr 0.0.0.0/0: any client picks its address",
    ),
    "nginx-proxy-protocol-trusts-everyone": (
        (E,),
        "PROXY protocol and forwarded headers believed from any peer",
    ),
    "nginx-proxy-protocol-any-sender": ((W,), "a PROXY header believed from any peer"),
    "nginx-remote-addr-spoofable": (
        (W,),
        "nginx's own $remote_addr is the client's choice; realip is not fooled",
    ),
    "nginx-ignores-lb-header": (
        (E,),
        "an HTTP load balancer's X-Forwarded-For replaced by ingress-nginx",
    ),
    "nginx-wrong-header": (
        (E,),
        "forwarded-for-header names a header the load balancer does not write",
    ),
    "nginx-lb-not-trusted": ((E,), "proxy-real-ip-cidr does not cover the load balancer"),
    "nginx-full-chain": ((I,), "the full X-Forwarded-For chain reaches the app"),
    "nginx-trusted-lb": ((I,), "ingress-nginx trusts only the load balancer"),
    "nginx-proxy-protocol": ((I,), "ingress-nginx takes the client from the PROXY header"),
    "nginx-peer-forwarded": ((I,), "ingress-nginx forwards the address that connected to it"),
    "nginx-forwarded-headers-unneeded": (
        (I,),
        "use-forwarded-headers on with nothing in front writing the header",
    ),
    "f5-trusts-everyone": ((E,), "F5 NGINX real-ip-header with set-real-ip-from 0.0.0.0/0"),
    "f5-proxy-protocol": ((I,), "F5 NGINX decodes PROXY protocol"),
    "f5-proxy-protocol-not-used": ((E,), "F5 NGINX accepts PROXY headers but keeps the peer"),
    "f5-behind-http-lb": ((I,), "F5 NGINX behind an HTTP load balancer appends its peer"),
    # -- Gateway API, tunnels, other resources ---------------------------------------------
    "gateway-proxy": ((I,), "an in-cluster Gateway proxy, judged through its Service"),
    "gateway-class-unknown": ((W,), "a GatewayClass doctor does not know"),
    "istio-gateway-service": ((I,), "the Service Istio generates for a Gateway"),
    "cloudflared": ((I,), "a Cloudflare Tunnel connector and the Services it routes to"),
    "cloudflared-remote-routes": (
        (W,),
        "a remotely managed tunnel (token): any ClusterIP Service may be its target",
    ),
    "unread-route-resource": (
        (W,),
        "a routing custom resource doctor does not read fronts these Services",
    ),
    "unread-service-resource": ((W,), "a Service of another API group (Knative, ...)"),
}
"""code -> (levels it may have, what it means)."""

# A Service's own error becomes a warning when hostPort/hostNetwork pods also take traffic on the
# nodes (only clients that use the Service are affected), so these codes may be either.
HOST_PORT_DEMOTED = (
    "snat",
    "aws-elb-tcp",
    "aws-nlb-client-ip-not-preserved",
    "alibaba-nlb-client-ip-not-preserved",
    "oci-lb-tcp-proxy",
    "oci-nlb-source-not-preserved",
)
for _code in HOST_PORT_DEMOTED:
    FINDINGS[_code] = (tuple(dict.fromkeys(FINDINGS[_code][0] + (W,))), FINDINGS[_code][1])


def render_table() -> str:
    """The Markdown table of every finding code (what docs/reference/doctor.md includes)."""
    rows = ["| code | level | meaning |", "| --- | --- | --- |"]
    for code in sorted(FINDINGS):
        levels, doc = FINDINGS[code]
        rows.append(f"| `{code}` | {' / '.join(levels)} | {doc} |")
    return "\n".join(rows) + "\n"
