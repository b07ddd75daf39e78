"""Cloudflare Tunnel connectors: a ``cloudflared`` workload and the Services it sends to.

A tunnel connector opens its own connections to the Services its ingress rules name, so the
app's peer is the connector and the client is in Cloudflare's headers. :func:`cloudflared_targets`
reads those Services from its configuration; :func:`cloudflared_remote` tells a remotely managed
tunnel, whose routes live in Cloudflare's dashboard where doctor cannot see them.
"""

from __future__ import annotations

import re
from typing import List, Sequence, Tuple

from realip._doctor._objects import Obj, args, containers, d, images, lst, s

# -- Cloudflare Tunnel --------------------------------------------------------------------

_CLOUDFLARED_SERVICE = re.compile(r"service:\s*(?:https?|h2c|tcp)://([A-Za-z0-9.-]+?)(?::\d+)?\s")


def is_cloudflared(workload: Obj) -> bool:
    """A cloudflared Deployment/DaemonSet (Cloudflare Tunnel connector)."""
    return any("cloudflared" in img.rsplit("/", 1)[-1] for img in images(workload))


def cloudflared_remote(workload: Obj) -> bool:
    """A remotely managed tunnel: run with a token, its routes kept in Cloudflare's dashboard."""
    # Cloudflare docs (Tunnel, "Create a tunnel (dashboard)" and the cloudflared run parameters):
    # "cloudflared tunnel run --token <TOKEN>" or TUNNEL_TOKEN starts a remotely managed tunnel,
    # whose public hostnames and services are configured in the dashboard, not in a file.
    flat = args(workload)
    if any(a == "--token" or a.startswith("--token=") for a in flat):
        return True
    return any(
        s(d(e).get("name")) == "TUNNEL_TOKEN"
        for c in containers(workload)
        for e in lst(c.get("env"))
    )


def cloudflared_targets(workload: Obj, configmaps: Sequence[Obj]) -> List[Tuple[str, str]]:
    """Services named in the tunnel's ingress rules, as (namespace, name)."""
    # cloudflare/argo-tunnel-examples named-tunnel-k8s/cloudflared.yaml: the config.yaml in a
    # ConfigMap has ingress rules "service: http://web-service:80".
    found: List[Tuple[str, str]] = []
    mounted = set()
    pod = d(d(workload.spec.get("template")).get("spec"))
    for vol in lst(pod.get("volumes")):
        name = s(d(d(vol).get("configMap")).get("name"))
        if name:
            mounted.add(name)
    for cm in configmaps:
        if cm.namespace != workload.namespace or cm.name not in mounted:
            continue
        for text in cm.data.values():
            for host in _CLOUDFLARED_SERVICE.findall(text + "\n"):
                parts = host.split(".")
                ns = parts[1] if len(parts) > 1 and parts[1] != "svc" else workload.namespace
                key = (ns, parts[0])
                if key not in found:
                    found.append(key)
    return found
