"""nginx configuration the way ingress-nginx writes it, from the same ConfigMap keys doctor reads.

Only the parts of ingress-nginx's template (rootfs/etc/nginx/template/nginx.tmpl) that decide
which address reaches the app are reproduced, each from the ConfigMap value that drives it:

- the realip module is on only with ``use-forwarded-headers``, ``use-proxy-protocol`` (or
  ``enable-real-ip``): ``real_ip_header`` is ``proxy_protocol`` with PROXY protocol, else the
  ``forwarded-for-header`` (default X-Forwarded-For); ``real_ip_recursive on``; one
  ``set_real_ip_from`` per ``proxy-real-ip-cidr`` entry (default 0.0.0.0/0);
- ``X-Forwarded-For`` sent upstream is ``$full_x_forwarded_for`` (the received header plus the
  real peer: ``$realip_remote_addr``, or ``$proxy_protocol_addr`` with PROXY protocol) when both
  ``use-forwarded-headers`` and ``compute-full-forwarded-for`` are on, else ``$remote_addr``;
- ``X-Real-IP $remote_addr`` and ``X-Original-Forwarded-For`` (the received header) always;
- ``listen ... proxy_protocol`` with ``use-proxy-protocol``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

DEFAULT_REAL_IP_CIDR = "0.0.0.0/0"


def _on(config: Mapping[str, str], key: str) -> bool:
    return str(config.get(key, "false")).strip().lower() == "true"


def server_block(
    config: Mapping[str, str],
    *,
    listen: Sequence[str],
    upstream: str,
    name: str,
) -> str:
    """One ``server`` (plus the http-level maps it needs, namespaced by ``name``)."""
    forwarded = _on(config, "use-forwarded-headers")
    proxy_protocol = _on(config, "use-proxy-protocol")
    real_ip = forwarded or proxy_protocol or _on(config, "enable-real-ip")
    compute_full = forwarded and _on(config, "compute-full-forwarded-for")
    header = config.get("forwarded-for-header", "X-Forwarded-For").strip() or "X-Forwarded-For"
    cidrs = [
        c.strip()
        for c in config.get("proxy-real-ip-cidr", DEFAULT_REAL_IP_CIDR).split(",")
        if c.strip()
    ]
    # ingress-nginx keeps upstream connections alive (upstream-keepalive-connections: 320).
    lines = [f"upstream up_{name} {{", f"    server {upstream};", "    keepalive 32;", "}"]
    received = "$http_" + header.lower().replace("-", "_")
    if compute_full:
        peer = "$proxy_protocol_addr" if proxy_protocol else "$realip_remote_addr"
        # The template maps $http_x_forwarded_for (not the configured header) here.
        lines += [
            f"map $http_x_forwarded_for $full_xff_{name} {{",
            f'    default "$http_x_forwarded_for, {peer}";',
            f"    '' \"{peer}\";",
            "}",
        ]
    lines.append("server {")
    suffix = " proxy_protocol" if proxy_protocol else ""
    lines += [f"    listen {address}{suffix};" for address in listen]
    if real_ip:
        lines.append(f"    real_ip_header {'proxy_protocol' if proxy_protocol else header};")
        lines.append("    real_ip_recursive on;")
        lines += [f"    set_real_ip_from {cidr};" for cidr in cidrs]
    lines += [
        "    location / {",
        f"        proxy_pass http://up_{name};",
        "        proxy_http_version 1.1;",
        '        proxy_set_header Connection "";',
        "        proxy_set_header Host $host;",
        "        proxy_set_header X-Real-IP $remote_addr;",
        f"        proxy_set_header X-Forwarded-For {f'$full_xff_{name}' if compute_full else '$remote_addr'};",
        f"        proxy_set_header X-Original-Forwarded-For {received};",
        '        proxy_set_header Proxy "";',
        "    }",
        "}",
    ]
    return "\n".join(lines)


def nginx_conf(servers: Sequence[str], *, prefix: str) -> str:
    """A whole nginx.conf (foreground, one worker, logs under ``prefix``) around ``servers``."""
    body = "\n".join(servers)
    return f"""
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 10000;
{body}
}}
"""
