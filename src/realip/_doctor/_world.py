"""One input's objects, indexed once (:class:`World`); what is in front of a Service (:class:`Via`).

:class:`World` sorts the objects by kind as the analysis needs them (core Services apart from
Knative's, GKE multi-cluster views, Gateway API Gateways apart from Istio's, workloads, routes
doctor does not read) and answers the questions every ``analyze_*`` asks repeatedly (which
workloads a Service selects, which class an F5 workload serves) from indexes built once, so a
large dump stays linear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from realip._doctor._controllers import is_multi_cluster, multi_cluster_view
from realip._doctor._f5_nginx import f5_classes, f5_workloads
from realip._doctor._foreign_routes import api_group, is_foreign_route, is_gateway_api
from realip._doctor._objects import WORKLOAD_KINDS, Obj, pod_labels, selector
from realip._doctor._report import Entry


@dataclass
class Via:
    """Something in front of an app Service: an Ingress, a Gateway route or a tunnel."""

    entry: Entry
    edge_lb: bool = False
    """True when the thing in front is a cloud HTTP load balancer that may use NodePorts."""


@dataclass
class World:
    """All objects of one input, indexed once."""

    objs: List[Obj]
    services: List[Obj] = field(default_factory=list)
    ingresses: List[Obj] = field(default_factory=list)
    configmaps: List[Obj] = field(default_factory=list)
    classes: List[Obj] = field(default_factory=list)
    gateways: List[Obj] = field(default_factory=list)
    routes: List[Obj] = field(default_factory=list)
    workloads: List[Obj] = field(default_factory=list)
    foreign_routes: List[Obj] = field(default_factory=list)
    foreign_services: List[Obj] = field(default_factory=list)
    envoy_filters: List[Obj] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    _selected: Optional[Dict[Tuple[str, str], List[Obj]]] = None
    _labels: Dict[str, List[Tuple[Obj, Dict[str, str]]]] = field(default_factory=dict)
    _f5_pods: Optional[List[Obj]] = None
    _f5_classes: Dict[Tuple[str, str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for o in self.objs:
            if o.kind == "Service" and api_group(o) == "":
                self.services.append(o)
            elif o.kind == "Service":
                # Knative's serving.knative.dev Service (and the like) is not a core Service: no
                # type, no ports; its pods are reached through the platform's own ingress layer.
                self.foreign_services.append(o)
            elif is_multi_cluster(o):
                view = multi_cluster_view(o)
                if o.kind == "MultiClusterIngress":
                    self.ingresses.append(view)
                else:
                    self.services.append(view)
            elif o.kind == "Ingress":
                self.ingresses.append(o)
            elif o.kind == "ConfigMap":
                self.configmaps.append(o)
            elif o.kind == "IngressClass":
                self.classes.append(o)
            elif o.kind == "Gateway" and is_gateway_api(o):
                self.gateways.append(o)
            elif o.kind == "Gateway":
                # Istio's networking.istio.io Gateway configures gateway pods by label; it has
                # no gatewayClassName, and its VirtualServices name the Services.
                self.notes.append(
                    f"Gateway {o.ref} is a {o.api_version} Gateway, not a Gateway API one: "
                    "judged through the Service of the pods it selects and the routes that name "
                    "Services"
                )
            elif o.kind == "HTTPRoute":
                self.routes.append(o)
            elif o.kind in WORKLOAD_KINDS:
                self.workloads.append(o)
            elif is_foreign_route(o):
                self.foreign_routes.append(o)
            if o.kind == "EnvoyFilter":
                # Read only for a PROXY-protocol listener filter on an Istio Gateway's pods.
                self.envoy_filters.append(o)

    def workloads_of(self, svc: Obj) -> List[Obj]:
        """The workloads a Service selects; indexed once, so a large dump stays linear."""
        if self._selected is None:
            self._selected = {}
            self._labels = {}
            for w in self.workloads:
                self._labels.setdefault(w.namespace, []).append((w, pod_labels(w)))
        key = (svc.namespace, svc.name)
        found = self._selected.get(key)
        if found is None:
            sel = selector(svc)
            found = (
                [
                    w
                    for w, labels in self._labels.get(svc.namespace, [])
                    if all(labels.get(k) == v for k, v in sel.items())
                ]
                if sel
                else []
            )
            self._selected[key] = found
        return found

    def f5_class(self, workload: Obj) -> str:
        """The -ingress-class an F5 workload serves (read once per workload)."""
        key = (workload.kind, workload.namespace, workload.name)
        if key not in self._f5_classes:
            self._f5_classes[key] = f5_classes(workload)
        return self._f5_classes[key]

    @property
    def f5_pods(self) -> List[Obj]:
        """F5 NGINX Ingress Controller workloads (found once)."""
        if self._f5_pods is None:
            self._f5_pods = f5_workloads(self.workloads)
        return self._f5_pods
