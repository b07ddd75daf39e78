"""The seed's ingress precondition, end to end: a node address that nginx (the ingress) writes
into X-Forwarded-For is flagged as SNAT, not reported as the client (issue 17).

    node 127.0.0.17 (a SNAT'ed request) --\\
    client 127.0.0.5 ---------------------+--> nginx 127.0.0.12 ==bind 127.0.0.13==> realip serve 127.0.0.14

``realip serve`` runs the ``ingress`` topology with the nginx source as the pod range and
127.0.0.17/32 as node_cidrs. nginx sets X-Forwarded-For to the address it saw, as ingress-nginx
does without use-forwarded-headers.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, Iterator

import pytest
from e2e_harness import (
    INSTALL_NGINX,
    Service,
    find_nginx,
    free_port,
    http_probe,
    nginx_conf,
    request_json,
    tcp_probe,
)

pytestmark = pytest.mark.e2e

NODE = "127.0.0.17"
CLIENT = "127.0.0.5"
NGINX = "127.0.0.12"
NGINX_SOURCE = "127.0.0.13"
APP = "127.0.0.14"


@pytest.fixture(scope="module")
def ingress(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    binary = find_nginx()
    if binary is None:
        pytest.skip(INSTALL_NGINX)
    prefix = tmp_path_factory.mktemp("node-snat")
    (prefix / "tmp").mkdir()
    app_port, nginx_port = free_port(APP), free_port(NGINX)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REALIP_")}
    env.update(
        REALIP_TOPOLOGY="ingress",
        REALIP_POD_CIDRS=f"{NGINX_SOURCE}/32",
        REALIP_NODE_CIDRS=f"{NODE}/32",
    )
    app = Service(
        "realip-serve",
        [sys.executable, "-m", "realip", "serve", "--host", APP, "--port", str(app_port)],
        log_dir=prefix,
        env=env,
    ).start()
    conf = prefix / "nginx.conf"
    server = f"""    server {{
        listen {NGINX}:{nginx_port};
        location / {{
            proxy_pass http://{APP}:{app_port};
            proxy_bind {NGINX_SOURCE};
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}"""
    conf.write_text(nginx_conf(binary, prefix, server, worker_connections=64))
    nginx = Service(
        "nginx-node-snat",
        [binary, "-p", f"{prefix}/", "-c", str(conf), "-e", str(prefix / "error.log")],
        log_dir=prefix,
        extra_logs=[prefix / "error.log", conf],
    ).start()
    try:
        app.wait_ready(http_probe(APP, app_port, "/healthz"))
        nginx.wait_ready(tcp_probe(NGINX, nginx_port))
        yield nginx_port
    finally:
        nginx.stop()
        app.stop()


def _resolution(port: int, source: str, headers: Any = ()) -> Dict[str, Any]:
    status, body = request_json(NGINX, port, "/?format=json", source=source, headers=headers)
    assert status == 200, body
    return body["resolution"]  # type: ignore[no-any-return]


def test_a_node_address_through_the_ingress_is_flagged(ingress: int) -> None:
    res = _resolution(ingress, NODE)
    assert res["client_ip"] == NODE and res["snat"] is True, res
    assert "ingress controller's Service" in res["reason"]


def test_a_node_address_cannot_be_hidden_behind_a_forged_prefix(ingress: int) -> None:
    res = _resolution(ingress, NODE, [("X-Forwarded-For", "6.6.6.6")])
    assert res["client_ip"] == NODE and res["snat"] is True, res


def test_a_client_through_the_same_ingress_is_not_flagged(ingress: int) -> None:
    res = _resolution(ingress, CLIENT, [("X-Forwarded-For", "6.6.6.6")])
    assert res["client_ip"] == CLIENT and res["snat"] is False, res
