"""kubectl-style manifests for each lab path: what ``realip doctor`` would read in that cluster.

Each function returns a ``kind: List`` with the Services (and, behind an ingress, the controller
Service, its ConfigMap and the Ingress) that match how the lab wired the path: the same
policy, the same load-balancer listener (Alibaba Cloud SLB annotations, as in the seed), the same
ingress-nginx ConfigMap values the lab's nginx was generated from.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

_ALI = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-"


def _service(
    name: str,
    namespace: str,
    kind: str,
    policy: Optional[str],
    *,
    nodeport: Optional[int] = None,
    annotations: Optional[Mapping[str, str]] = None,
    labels: Optional[Mapping[str, str]] = None,
    target: Any = 8080,
) -> Dict[str, Any]:
    port: Dict[str, Any] = {"name": "http", "port": 80, "protocol": "TCP", "targetPort": target}
    if nodeport is not None and kind != "ClusterIP":
        port["nodePort"] = nodeport
    spec: Dict[str, Any] = {"type": kind, "ports": [port], "selector": {"app": name}}
    if policy is not None and kind != "ClusterIP":
        spec["externalTrafficPolicy"] = policy
    meta: Dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(labels or {})}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def _list(items: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {}}


def app_service(kind: str, policy: Optional[str], listener: Optional[str] = None) -> Dict[str, Any]:
    """The app's own Service: ClusterIP, NodePort or LoadBalancer (SLB listener ``listener``)."""
    annotations = None
    if listener is not None:
        annotations = {f"{_ALI}protocol-port": listener, f"{_ALI}address-type": "internet"}
        if listener.startswith("tcp") and listener.endswith("proxy"):
            annotations = {
                f"{_ALI}protocol-port": "tcp:80",
                f"{_ALI}proxy-protocol": "on",
                f"{_ALI}address-type": "internet",
            }
    svc = _service(
        "shop",
        "shop",
        kind,
        policy,
        nodeport=30080,
        annotations=annotations,
        labels={"app": "shop"},
    )
    return _list([svc])


def behind_ingress(
    config: Mapping[str, str], policy: str, listener: Optional[str] = "tcp:80"
) -> Dict[str, Any]:
    """ingress-nginx's controller Service (+ ConfigMap) and an app behind an Ingress."""
    labels = {
        "app.kubernetes.io/component": "controller",
        "app.kubernetes.io/instance": "ingress-nginx",
        "app.kubernetes.io/name": "ingress-nginx",
    }
    annotations = {f"{_ALI}protocol-port": listener or "tcp:80"}
    if config.get("use-proxy-protocol") == "true":
        annotations[f"{_ALI}proxy-protocol"] = "on"
    controller = _service(
        "ingress-nginx-controller",
        "ingress-nginx",
        "LoadBalancer",
        policy,
        nodeport=30443,
        annotations=annotations,
        labels=labels,
        target="http",
    )
    controller["spec"]["selector"] = dict(labels)
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "ingress-nginx-controller",
            "namespace": "ingress-nginx",
            "labels": labels,
        },
        "data": dict(config),
    }
    app = _service("shop", "shop", "ClusterIP", None, labels={"app": "shop"})
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "shop", "namespace": "shop"},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": "shop.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "shop", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }
    return _list([controller, configmap, app, ingress])
