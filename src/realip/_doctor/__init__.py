"""``realip doctor``: read Kubernetes objects and say whether the client IP reaches the app.

    kubectl get svc,ingress,ingressclass,configmap,deploy,ds -A -o json | realip doctor -

For every Service, Ingress, Gateway and Cloudflare Tunnel connector it reports the topology the
object implies (the names of :data:`realip.TOPOLOGIES`), whether the client's address survives
the path, what the load balancer annotations and the ingress controller change, and the
``REALIP_*`` settings that fit. Where the input does not say (a load balancer or controller
doctor does not know) it says what is unknown and how to find out.

The package follows the concerns: ``_objects`` (reading input, bounded), ``_report`` (findings
and output), ``_catalogue`` (every finding code and what it means), ``_fronts`` (what
kube-proxy and a load balancer do to the client address), ``_cloud_aws``, ``_cloud_alibaba`` and
``_cloud_others`` (each provider's annotations judged), ``_providers`` (the provider registry:
recognising a Service's load balancer), ``_nginx_config`` and ``_nginx_verdict`` (ingress-nginx read, then judged), ``_controllers`` (which
controller serves an Ingress, and those doctor knows), ``_controller_evidence`` (the settings that
make a controller believe a client, and the verdict), ``_cloud_ingress`` (ALB and GKE Ingresses),
``_f5_nginx`` (F5's NGINX controller), ``_gateway_api``, ``_cloudflare_tunnel``,
``_foreign_routes`` (route resources doctor does not read), ``_analyze`` (one
``analyze_*`` per object kind), ``_reference`` (the generated parts of the reference) and
``_cli``. :func:`analyze` is pure (objects in, :class:`Report` out);
:func:`run` does the I/O.
"""

from __future__ import annotations

# What callers read doctor through (the CLI imports _cli itself); the rest from its module.
from realip._doctor._analyze import analyze
from realip._doctor._cli import run
from realip._doctor._objects import DoctorInputError, parse_objects
from realip._doctor._report import (
    LOST,
    NOT_APPLICABLE,
    PRESERVED,
    SPOOFABLE,
    UNKNOWN,
    Entry,
    Report,
)

__all__ = [
    "LOST",
    "NOT_APPLICABLE",
    "PRESERVED",
    "SPOOFABLE",
    "UNKNOWN",
    "DoctorInputError",
    "Entry",
    "Report",
    "analyze",
    "parse_objects",
    "run",
]
