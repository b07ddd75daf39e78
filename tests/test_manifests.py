"""docs/kubernetes: every manifest parses, lines up, and configures realip as doctor reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from realip import Resolver
from realip._doctor import analyze
from realip.resolver import ENV_VARS

yaml = pytest.importorskip("yaml")

DOCS = Path(__file__).parent.parent / "docs" / "kubernetes"
MANIFESTS = sorted(DOCS.glob("*.yaml"))
API_VERSIONS = {
    "Namespace": "v1",
    "Deployment": "apps/v1",
    "Service": "v1",
    "Ingress": "networking.k8s.io/v1",
    "ConfigMap": "v1",
}
# The topology each file demonstrates, and the Service type/policy that produces it.
TOPOLOGY_FILES = {
    "pod-to-pod.yaml": ("pod-to-pod", "ClusterIP", None),
    "nodeport-cluster.yaml": ("nodeport-cluster", "NodePort", "Cluster"),
    "nodeport-local.yaml": ("nodeport-local", "NodePort", "Local"),
    "lb-tcp.yaml": ("lb-tcp", "LoadBalancer", "Local"),
    "lb-tcp-proxy.yaml": ("lb-tcp-proxy", "LoadBalancer", "Local"),
    "lb-http.yaml": ("lb-http", "LoadBalancer", "Local"),
    "ingress.yaml": ("ingress", "ClusterIP", None),
}


def docs(path: Path) -> List[Dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


ALL: List[Tuple[str, Dict[str, Any]]] = [(p.name, d) for p in MANIFESTS for d in docs(p)]


def of_kind(kind: str) -> List[Dict[str, Any]]:
    return [d for _, d in ALL if d["kind"] == kind]


def containers(deploy: Dict[str, Any]) -> List[Dict[str, Any]]:
    return deploy["spec"]["template"]["spec"]["containers"]


def env_of(deploy: Dict[str, Any]) -> Dict[str, str]:
    return {e["name"]: e["value"] for c in containers(deploy) for e in c.get("env", [])}


def selected(service: Dict[str, Any]) -> List[Dict[str, Any]]:
    sel = service["spec"]["selector"]
    ns = service["metadata"]["namespace"]
    return [
        d
        for d in of_kind("Deployment")
        if d["metadata"]["namespace"] == ns
        and sel.items() <= d["spec"]["template"]["metadata"]["labels"].items()
    ]


def test_every_topology_of_the_seed_has_a_manifest() -> None:
    names = {p.name for p in MANIFESTS}
    assert set(TOPOLOGY_FILES) <= names
    assert {"00-namespace.yaml", "ingress-nginx.yaml"} <= names
    assert (DOCS / "README.md").is_file()


@pytest.mark.parametrize(("name", "doc"), ALL, ids=[f"{n}:{d['kind']}" for n, d in ALL])
def test_kinds_and_api_versions(name: str, doc: Dict[str, Any]) -> None:
    assert doc["kind"] in API_VERSIONS, name
    assert doc["apiVersion"] == API_VERSIONS[doc["kind"]]
    assert doc["metadata"]["name"]
    if doc["kind"] != "Namespace":
        assert doc["metadata"]["namespace"] in ("realip-demo", "ingress-nginx")


def test_namespace_is_declared() -> None:
    declared = {d["metadata"]["name"] for d in of_kind("Namespace")}
    used = {
        d["metadata"]["namespace"]
        for _, d in ALL
        if d["kind"] in ("Deployment", "Service", "Ingress")
    }
    assert used == declared == {"realip-demo"}


def test_names_are_unique() -> None:
    keys = [(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for _, d in ALL]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize(
    "deploy", of_kind("Deployment"), ids=[d["metadata"]["name"] for d in of_kind("Deployment")]
)
def test_deployment_selector_matches_its_pods_and_runs_realip_serve(deploy: Dict[str, Any]) -> None:
    labels = deploy["spec"]["template"]["metadata"]["labels"]
    assert deploy["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (container,) = containers(deploy)
    command = " ".join(container["command"] + container["args"])
    assert "pip install" in command and " realip" in command
    assert "python -m realip serve --host 0.0.0.0 --port 8080" in command
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8080}
    for probe in ("startupProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}


@pytest.mark.parametrize(
    "deploy", of_kind("Deployment"), ids=[d["metadata"]["name"] for d in of_kind("Deployment")]
)
def test_env_names_are_read_by_realip_and_build_a_resolver(deploy: Dict[str, Any]) -> None:
    env = env_of(deploy)
    realip_env = {k: v for k, v in env.items() if k.startswith("REALIP_")}
    assert realip_env, "each demo Deployment configures realip"
    assert set(realip_env) <= set(ENV_VARS)
    resolver = Resolver.from_env(realip_env)
    assert resolver.topology == realip_env["REALIP_TOPOLOGY"]
    assert set(env) - set(realip_env) <= {"PYTHONPATH", "HOME"}


@pytest.mark.parametrize(
    "service", of_kind("Service"), ids=[s["metadata"]["name"] for s in of_kind("Service")]
)
def test_service_selects_one_deployment_and_targets_its_port(service: Dict[str, Any]) -> None:
    (deploy,) = selected(service)
    ports_by_name = {p["name"]: p["containerPort"] for c in containers(deploy) for p in c["ports"]}
    for port in service["spec"]["ports"]:
        target = port["targetPort"]
        assert target in ports_by_name or target in ports_by_name.values(), target
        assert port["protocol"] == "TCP"
        if "nodePort" in port:
            assert 30000 <= port["nodePort"] <= 32767


@pytest.mark.parametrize("name", sorted(TOPOLOGY_FILES))
def test_each_file_sets_the_topology_its_service_implies(name: str) -> None:
    topology, stype, etp = TOPOLOGY_FILES[name]
    objects = docs(DOCS / name)
    (service,) = [d for d in objects if d["kind"] == "Service"]
    (deploy,) = [d for d in objects if d["kind"] == "Deployment"]
    assert selected(service) == [deploy]
    assert service["spec"]["type"] == stype
    assert service["spec"].get("externalTrafficPolicy") == etp
    assert env_of(deploy)["REALIP_TOPOLOGY"] == topology
    # And `realip doctor`, reading the same files, agrees on topology and settings.
    entry = analyze(objects).find("Service", "realip-demo", service["metadata"]["name"])
    assert entry.topology == topology
    expected = {k: v for k, v in env_of(deploy).items() if k.startswith("REALIP_")}
    assert entry.settings.keys() == expected.keys()
    for key, value in entry.settings.items():
        assert value.startswith("<") or value == expected[key], key


def test_ingress_routes_to_a_service_port_that_exists() -> None:
    (ingress,) = of_kind("Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    services = {s["metadata"]["name"]: s for s in of_kind("Service")}
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            svc = services[backend["name"]]
            assert svc["metadata"]["namespace"] == ingress["metadata"]["namespace"]
            port_names = {p["name"] for p in svc["spec"]["ports"]}
            port_numbers = {p["port"] for p in svc["spec"]["ports"]}
            assert (
                backend["port"].get("name") in port_names
                or backend["port"].get("number") in port_numbers
            )
            assert path["pathType"] in ("Prefix", "Exact", "ImplementationSpecific")


def test_ingress_nginx_configmap_is_safe_and_understood() -> None:
    (cm,) = of_kind("ConfigMap")
    assert (cm["metadata"]["namespace"], cm["metadata"]["name"]) == (
        "ingress-nginx",
        "ingress-nginx-controller",
    )
    data = cm["data"]
    assert all(isinstance(v, str) for v in data.values())  # ConfigMap values are strings
    assert {
        "use-forwarded-headers",
        "compute-full-forwarded-for",
        "forwarded-for-header",
        "proxy-real-ip-cidr",
        "use-proxy-protocol",
        "enable-real-ip",
    } <= set(data)
    objects = [d for _, d in ALL]
    report = analyze(objects)
    ingress = report.find("Ingress", "realip-demo", "realip-ingress")
    # The controller's Service comes from the user's own install, so it is not among these
    # files: whether the client reaches the controller is unknown, and that is the only doubt.
    assert ingress.client_ip == "unknown"
    assert [f.code for f in ingress.findings if f.level != "info"] == [
        "controller-service-not-found"
    ]
    controller_svc = {
        "kind": "Service",
        "metadata": {
            "name": "ingress-nginx-controller",
            "namespace": "ingress-nginx",
            "labels": {"app.kubernetes.io/name": "ingress-nginx"},
        },
        "spec": {"type": "NodePort", "externalTrafficPolicy": "Local", "ports": [{"port": 80}]},
    }
    ingress = analyze([*objects, controller_svc]).find("Ingress", "realip-demo", "realip-ingress")
    assert ingress.client_ip == "preserved"
    assert not [f for f in ingress.findings if f.level != "info"]


def test_alibaba_listener_annotations_are_the_documented_ones() -> None:
    by_file = {name: d for name, d in ALL if d["kind"] == "Service"}
    key = "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-protocol-port"
    assert by_file["lb-http.yaml"]["metadata"]["annotations"] == {key: "http:80"}
    assert by_file["lb-tcp.yaml"]["metadata"]["annotations"] == {key: "tcp:80"}


def test_readme_mentions_every_manifest() -> None:
    readme = (DOCS / "README.md").read_text()
    for path in MANIFESTS:
        assert path.name in readme, path.name
    assert "realip doctor" in readme


def test_env_var_list_comes_from_the_code() -> None:
    # Guard against the test silently checking nothing if the constant became empty.
    assert "REALIP_TOPOLOGY" in ENV_VARS and len(ENV_VARS) >= 7
