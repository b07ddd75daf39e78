"""Reading Kubernetes objects (JSON or YAML) and plain views of the fields doctor uses."""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

KUBECTL_COMMAND = "kubectl get svc,ingress,ingressclass,configmap,deploy,ds -A -o json"
"""What to feed doctor; add gateway,httproute when the Gateway API is installed."""


class DoctorInputError(ValueError):
    """The input is not a readable set of Kubernetes objects."""


MAX_DEPTH = 100
"""Deepest nesting doctor reads; Kubernetes objects (even CRD schemas) stay far below it."""
MAX_NODES = 2_000_000
"""Most values (each alias use counted again) doctor walks; a 2 MB cluster dump has ~10^5."""
MAX_ALIASES = 10_000
"""Most YAML alias uses in one input; manifests use a handful, an alias bomb millions."""


def _check_size(docs: List[Any]) -> None:
    """Bound the work on what was parsed: depth and value count, alias uses counted each time.

    Iterative, so a hostile input can neither exhaust the stack nor (an alias bomb: a few
    hundred bytes naming the same list a billion times) keep doctor walking for minutes.
    """
    stack: List[Tuple[Any, int]] = [(doc, 1) for doc in docs]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise DoctorInputError(
                f"too many values (more than {MAX_NODES:,}, counting every use of a YAML alias); "
                "is it a YAML alias bomb?"
            )
        if depth > MAX_DEPTH:
            raise DoctorInputError(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def _flatten(value: Any, out: List[Dict[str, Any]]) -> None:
    if isinstance(value, list):
        for item in value:
            _flatten(item, out)
    elif isinstance(value, dict):
        kind = value.get("kind")
        if isinstance(value.get("items"), list) and (
            kind is None or (isinstance(kind, str) and kind.endswith("List"))
        ):
            _flatten(value["items"], out)
        else:
            out.append(value)
    elif value is not None:
        raise DoctorInputError(
            f"expected Kubernetes objects (JSON objects with a 'kind'), found the "
            f"{type(value).__name__} {str(value)[:40]!r}"
        )


def _json_documents(text: str) -> List[Any]:
    decoder = json.JSONDecoder()
    docs: List[Any] = []
    pos = 0
    length = len(text)
    while True:
        while pos < length and text[pos] in " \t\r\n":
            pos += 1
        if pos >= length:
            return docs
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)


def _yaml_documents(text: str) -> Optional[List[Any]]:
    try:
        # PyYAML is optional: YAML input works when it happens to be installed.
        yaml = importlib.import_module("yaml")
    except ImportError:
        return None

    class _Loader(yaml.SafeLoader):  # type: ignore[misc,name-defined]
        """SafeLoader that refuses an input using aliases more than MAX_ALIASES times."""

        aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    raise DoctorInputError(
                        f"more than {MAX_ALIASES:,} YAML alias uses; is it a YAML alias bomb?"
                    )
            return super().compose_node(parent, index)

    try:
        return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()
        raise DoctorInputError(
            f"neither JSON nor YAML: {' '.join(line.strip() for line in first)}"
        ) from None
    except RecursionError:
        raise DoctorInputError(f"nested more than {MAX_DEPTH} levels deep") from None


def parse_objects(text: str) -> List[Dict[str, Any]]:
    """Kubernetes objects from JSON (a List, one object, several objects) or YAML.

    Raises :class:`DoctorInputError` with a readable message when the text is neither.
    """
    if not text.strip():
        raise DoctorInputError(f"the input is empty; feed it the output of `{KUBECTL_COMMAND}`")
    try:
        docs = _json_documents(text)
    except RecursionError:
        raise DoctorInputError(f"nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as exc:
        yaml_docs = _yaml_documents(text)
        if yaml_docs is None:
            raise DoctorInputError(
                f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
                "YAML input needs PyYAML (pip install pyyaml)"
            ) from None
        docs = yaml_docs
    _check_size(docs)
    objects: List[Dict[str, Any]] = []
    for doc in docs:
        _flatten(doc, objects)
    if not objects:
        raise DoctorInputError(f"no Kubernetes objects found; feed it `{KUBECTL_COMMAND}`")
    for obj in objects:
        if not isinstance(obj.get("kind"), str):
            keys = sorted(map(str, obj))
            has = f"keys: {', '.join(keys[:6])}" + (", ..." if len(keys) > 6 else "")
            raise DoctorInputError(
                f"an object has no 'kind' ({has if keys else 'it is empty'}); "
                f"feed it `{KUBECTL_COMMAND}`"
            )
    return objects


# -- plain views ------------------------------------------------------------------------


def d(value: Any) -> Dict[str, Any]:
    """``value`` if it is a dict, else an empty one (inputs are untrusted)."""
    return value if isinstance(value, dict) else {}


def lst(value: Any) -> List[Any]:
    """``value`` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def s(value: Any) -> str:
    """``value`` as Kubernetes would store it in a string field."""
    if value is None:
        return ""
    if isinstance(value, bool):
        # YAML turns an unquoted true into a bool; Kubernetes would have stored "true".
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def strmap(value: Any) -> Dict[str, str]:
    """A string-to-string map (labels, annotations, ConfigMap data)."""
    return {s(k): s(v) for k, v in d(value).items()}


def parse_bool(text: str) -> Optional[bool]:
    """The values Go's strconv.ParseBool accepts (what ingress-nginx and most CCMs use)."""
    value = text.strip()
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if value in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    return None


@dataclass(frozen=True)
class Obj:
    """The parts of one Kubernetes object that doctor reads."""

    kind: str
    namespace: str
    name: str
    labels: Dict[str, str]
    annotations: Dict[str, str]
    spec: Dict[str, Any]
    data: Dict[str, str]
    status: Dict[str, Any]
    api_version: str = ""

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Obj:
        """View one raw object; missing or ill-typed fields read as empty."""
        meta = d(raw.get("metadata"))
        return cls(
            kind=s(raw.get("kind")),
            namespace=s(meta.get("namespace")) or "default",
            name=s(meta.get("name")) or "<unnamed>",
            labels=strmap(meta.get("labels")),
            annotations=strmap(meta.get("annotations")),
            spec=d(raw.get("spec")),
            data=strmap(raw.get("data")),
            status=d(raw.get("status")),
            api_version=s(raw.get("apiVersion")),
        )

    @property
    def key(self) -> Tuple[str, str]:
        """``(namespace, name)``."""
        return (self.namespace, self.name)

    @property
    def ref(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    def __hash__(self) -> int:
        return hash((self.kind, self.namespace, self.name))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Obj):
            return NotImplemented
        return (self.kind, self.namespace, self.name) == (other.kind, other.namespace, other.name)


# -- Services -------------------------------------------------------------------------


def service_type(svc: Obj) -> str:
    """``spec.type``, defaulting to ClusterIP as the API server does."""
    return s(svc.spec.get("type")) or "ClusterIP"


def etp(svc: Obj) -> str:
    """``spec.externalTrafficPolicy``, defaulting to Cluster as the API server does."""
    return s(svc.spec.get("externalTrafficPolicy")) or "Cluster"


def external_ips(svc: Obj) -> List[str]:
    """``spec.externalIPs``: node-routed addresses kube-proxy also answers on."""
    return [s(x) for x in lst(svc.spec.get("externalIPs")) if s(x)]


def service_ports(svc: Obj) -> str:
    """Ports as ``port->target (node N)/PROTO``."""
    shown = []
    for port in lst(svc.spec.get("ports")):
        port = d(port)
        text = s(port.get("port"))
        target = s(port.get("targetPort"))
        if target and target != text:
            text += f"->{target}"
        node_port = s(port.get("nodePort"))
        if node_port and service_type(svc) in ("NodePort", "LoadBalancer"):
            text += f" (node {node_port})"
        shown.append(f"{text}/{s(port.get('protocol')) or 'TCP'}")
    return ", ".join(shown)


def service_summary(svc: Obj) -> str:
    """One line: type, policy, class, ports."""
    stype = service_type(svc)
    parts = [stype]
    if stype in ("NodePort", "LoadBalancer") or external_ips(svc):
        parts.append(f"externalTrafficPolicy: {etp(svc)}")
    lb_class = s(svc.spec.get("loadBalancerClass"))
    if lb_class:
        parts.append(f"loadBalancerClass: {lb_class}")
    if external_ips(svc):
        parts.append("externalIPs: " + ", ".join(external_ips(svc)))
    ports = service_ports(svc)
    if ports:
        parts.append(ports)
    return ", ".join(parts)


def selector(svc: Obj) -> Dict[str, str]:
    """``spec.selector``; empty for Services without one."""
    return strmap(svc.spec.get("selector"))


# -- workloads ------------------------------------------------------------------------

WORKLOAD_KINDS = ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet")


def pod_spec(workload: Obj) -> Dict[str, Any]:
    """The pod template's spec (or a Pod's own spec)."""
    if workload.kind == "Pod":
        return workload.spec
    return d(d(workload.spec.get("template")).get("spec"))


def pod_labels(workload: Obj) -> Dict[str, str]:
    """The pod template's labels."""
    if workload.kind == "Pod":
        return workload.labels
    return strmap(d(d(workload.spec.get("template")).get("metadata")).get("labels"))


def containers(workload: Obj) -> List[Dict[str, Any]]:
    """The pod's containers (dicts)."""
    return [d(c) for c in lst(pod_spec(workload).get("containers"))]


def images(workload: Obj) -> List[str]:
    """The containers' images."""
    return [s(c.get("image")) for c in containers(workload)]


def args(workload: Obj) -> List[str]:
    """Every container's command and args, flattened."""
    out: List[str] = []
    for c in containers(workload):
        out.extend(s(a) for a in lst(c.get("command")))
        out.extend(s(a) for a in lst(c.get("args")))
    return out


def host_network(workload: Obj) -> bool:
    """``hostNetwork: true``: the pods listen on the node's own addresses."""
    return pod_spec(workload).get("hostNetwork") in (True, "true")


def host_ports(workload: Obj) -> List[str]:
    """``hostPort`` values: node ports forwarded straight to the pod."""
    found = []
    for c in containers(workload):
        for port in lst(c.get("ports")):
            hp = s(d(port).get("hostPort"))
            if hp:
                found.append(hp)
    return found


def selects(svc: Obj, workload: Obj) -> bool:
    """True when the Service's selector picks the workload's pods (same namespace)."""
    sel = selector(svc)
    if not sel or svc.namespace != workload.namespace:
        return False
    labels = pod_labels(workload)
    return all(labels.get(k) == v for k, v in sel.items())
