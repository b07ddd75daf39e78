"""The lab's ingress-nginx stand-in: each ConfigMap value turns into the directives ingress-nginx
emits for it (no root needed; the lab itself runs the result in a real nginx)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List

import pytest

from .ingress_nginx import nginx_conf, server_block

CASES = [
    # (ConfigMap, directives that must appear, directives that must not)
    (
        {},
        [
            "proxy_set_header X-Forwarded-For $remote_addr;",
            "proxy_set_header X-Real-IP $remote_addr;",
        ],
        ["real_ip_header", "set_real_ip_from", "proxy_protocol;"],
    ),
    (
        {"use-forwarded-headers": "true"},
        [
            "real_ip_header X-Forwarded-For;",
            "real_ip_recursive on;",
            "set_real_ip_from 0.0.0.0/0;",
            "proxy_set_header X-Forwarded-For $remote_addr;",
        ],
        ["$full_xff_"],
    ),
    (
        {
            "use-forwarded-headers": "true",
            "compute-full-forwarded-for": "true",
            "proxy-real-ip-cidr": "100.64.0.0/10, 10.0.0.0/8",
        },
        [
            'default "$http_x_forwarded_for, $realip_remote_addr";',
            "set_real_ip_from 100.64.0.0/10;",
            "set_real_ip_from 10.0.0.0/8;",
            "proxy_set_header X-Forwarded-For $full_xff_t;",
        ],
        ["set_real_ip_from 0.0.0.0/0;"],
    ),
    (
        # compute-full-forwarded-for does nothing without use-forwarded-headers.
        {"compute-full-forwarded-for": "true"},
        ["proxy_set_header X-Forwarded-For $remote_addr;"],
        ["$full_xff_", "real_ip_header"],
    ),
    (
        {"use-proxy-protocol": "true", "proxy-real-ip-cidr": "100.64.0.0/10"},
        ["listen 0.0.0.0:80 proxy_protocol;", "real_ip_header proxy_protocol;"],
        ["real_ip_header X-Forwarded-For;"],
    ),
    (
        {
            "use-proxy-protocol": "true",
            "use-forwarded-headers": "true",
            "compute-full-forwarded-for": "true",
        },
        [
            'default "$http_x_forwarded_for, $proxy_protocol_addr";',
            "real_ip_header proxy_protocol;",
        ],
        ["$realip_remote_addr"],
    ),
    (
        {"use-forwarded-headers": "true", "forwarded-for-header": "CF-Connecting-IP"},
        [
            "real_ip_header CF-Connecting-IP;",
            "proxy_set_header X-Original-Forwarded-For $http_cf_connecting_ip;",
        ],
        ["real_ip_header X-Forwarded-For;"],
    ),
    (
        {"enable-real-ip": "true", "proxy-real-ip-cidr": "192.0.2.0/24"},
        ["real_ip_header X-Forwarded-For;", "set_real_ip_from 192.0.2.0/24;"],
        ["$full_xff_"],
    ),
    (
        {"use-forwarded-headers": "false", "proxy-real-ip-cidr": "192.0.2.0/24"},
        [],
        ["set_real_ip_from", "real_ip_header"],
    ),
]


@pytest.mark.parametrize(("config", "present", "absent"), CASES)
def test_configmap_to_directives(
    config: Dict[str, str], present: List[str], absent: List[str]
) -> None:
    text = server_block(config, listen=["0.0.0.0:80"], upstream="10.244.1.10:8000", name="t")
    for line in present:
        assert line in text, text
    for fragment in absent:
        assert fragment not in text, text


def test_conf_wraps_the_servers() -> None:
    block = server_block({}, listen=["0.0.0.0:80"], upstream="10.244.1.10:8000", name="t")
    conf = nginx_conf([block], prefix="/tmp/x")
    assert conf.count("server {") == 1 and "daemon off;" in conf and "pid /tmp/x/nginx.pid;" in conf


@pytest.mark.parametrize(("config", "present", "absent"), CASES)
def test_nginx_accepts_it(
    config: Dict[str, str], present: List[str], absent: List[str], tmp_path: Path
) -> None:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if nginx is None:
        pytest.skip("nginx is not installed: apt-get install nginx-light")
    block = server_block(config, listen=["127.0.0.1:80"], upstream="127.0.0.1:9", name="t")
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_conf([block], prefix=str(tmp_path)))
    done = subprocess.run(
        [nginx, "-t", "-q", "-c", str(conf), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
