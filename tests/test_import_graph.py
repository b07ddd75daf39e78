"""realip's imports point down through its layers, with no cycle (design.md section 3).

The graph is read from src/realip with ``ast`` (tests/support/import_graph.py): imports inside
functions, under ``TYPE_CHECKING`` and through ``__import__``/``importlib`` count as much as
module-level ones. A module may import any module of its own layer or of a lower one; a new
module fails the test until it is placed in LAYERS. The synthetic packages below show that each
way of hiding an import is found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import pytest
from support.import_graph import (
    Edge,
    cycles,
    describe_cycle,
    import_graph,
    layer_problems,
    read_package,
)

SRC = Path(__file__).resolve().parent.parent / "src" / "realip"

LAYERS: Sequence[Tuple[str, Sequence[str]]] = (
    # Bottom up. A package's entry (``_doctor``) holds its submodules too. A new module goes in
    # the lowest layer whose modules it needs (a Result module split from resolver: core).
    ("base", ("_version", "_errors", "_extras")),  # what every layer may raise, warn or print
    (
        "grammar",
        (
            "_addresses",
            "_headers",
            "_forwarded",  # Forwarded elements, on top of _headers' lists and limits
            "_client_headers",
            "_proxy_header",  # the PROXY header's values, TLVs and errors
            "_proxy_v1",
            "_proxy_v2",
            "proxy_protocol",  # their public face: parse, encode, bytes_needed
        ),
    ),
    ("trust", ("_networks", "_topologies")),
    ("core", ("_result", "_settings", "_lints", "_options", "_walk", "_config", "resolver")),
    (
        "adapters",
        (
            "_adapters",
            "_middleware",
            "_wiring",
            "request",
            "asgi",
            "wsgi",
            "django",
            "aiohttp",
            "log",
            "_context",
            "uvicorn",
            "gunicorn",
            "proxy_server",
            "_proxy_policy",
            "_proxy_sockets",
            "_proxy_asyncio",
            "__init__",  # the public face re-exports get_client_ip from request
        ),
    ),
    (
        "tools",
        (
            "cli",
            "_cli_options",
            "_explain",
            "_demo",
            "_serve",
            "_serve_report",
            "_doctor",
            "__main__",
        ),
    ),
)


def checked(sources: Dict[str, str], layers: Sequence[Tuple[str, Sequence[str]]]) -> List[str]:
    """Every problem with a package: unreadable imports, cycles, strays and upward imports."""
    edges, problems = import_graph(sources)
    problems += [f"cycle: {describe_cycle(cycle)}" for cycle in cycles(edges)]
    return problems + layer_problems(edges, list(sources), layers)


def test_realip_imports_point_down_with_no_cycle() -> None:
    problems = checked(read_package(SRC), LAYERS)
    assert not problems, "\n".join(problems)


# 0.2's three cycles, each hidden its own way, as they were written (resolver.py, _config.py,
# request.py, aiohttp.py, cli.py, _serve.py): the test above failed on exactly these three.
KNOWN_CYCLES = {
    "resolver": """
class Resolver:
    @classmethod
    def from_env(cls, environ=None):
        from realip._config import resolver_from_env  # _config builds on this module
        return resolver_from_env(environ)
""",
    "_config": "from realip._errors import ConfigError\nfrom realip.resolver import Resolver\n",
    "request": """
def _stored(request):
    if hasattr(request, "app"):
        from realip.aiohttp import RESULT_KEY as AIOHTTP_RESULT_KEY
        return request.get(AIOHTTP_RESULT_KEY)
""",
    "aiohttp": "from realip.request import _middleware_resolver\n",
    "cli": """
def build_parser(sub):
    for module in ("realip._serve", "realip._doctor"):
        try:
            mod = __import__(module, fromlist=["add_parser"])
        except ImportError:
            continue
        mod.add_parser(sub)
""",
    "_serve": """
def add_parser(sub):
    from realip.cli import add_config_options
    add_config_options(sub)
""",
    "_doctor": "def add_parser(sub):\n    pass\n",
    "_errors": "",
}


def test_the_three_known_cycles_are_each_reported() -> None:
    assert checked(KNOWN_CYCLES, LAYERS) == [
        "cycle: _config -> resolver (_config:2 'from realip.resolver import Resolver') -> _config "
        "(resolver:5 'from realip._config import resolver_from_env')",
        "cycle: _serve -> cli (_serve:3 'from realip.cli import add_config_options') -> _serve "
        "(cli:5 \"__import__('realip._serve')\")",
        "cycle: aiohttp -> request (aiohttp:1 'from realip.request import _middleware_resolver') "
        "-> aiohttp (request:4 'from realip.aiohttp import RESULT_KEY')",
    ]


# --- the detector itself, on synthetic packages ----------------------------------------------

TWO_LAYERS = (("low", ("low",)), ("high", ("high", "tool")))


def graph_of(**sources: str) -> List[Edge]:
    return import_graph(sources)[0]


def cycle_names(**sources: str) -> List[List[str]]:
    return [[edge.source for edge in cycle] for cycle in cycles(graph_of(**sources))]


@pytest.mark.parametrize(
    "hidden",
    [
        "def later():\n    from realip.a import x\n",
        "def later():\n    import realip.a\n",
        "def later():\n    from . import a\n",
        "if TYPE_CHECKING:\n    from .a import X\n",
        "def later():\n    return __import__('realip.a', fromlist=['x'])\n",
        "def later():\n    return __import__('realip.a')\n",
        "import importlib\nmod = importlib.import_module('realip.a')\n",
        "from importlib import import_module\nmod = import_module('.a', __package__)\n",
        "def later():\n    for m in ('realip.other', 'realip.a'):\n        __import__(m)\n",
        "def later():\n    name = 'realip.a'\n    return __import__(name)\n",
    ],
)
def test_a_cycle_hidden_behind_a_lazy_or_dynamic_import_is_found(hidden: str) -> None:
    found = cycle_names(a="from realip.b import y\n", b=hidden, other="")
    assert found == [["a", "b"]]


def test_a_cycle_through_three_modules_is_reported_with_its_lines() -> None:
    edges = graph_of(
        a="from realip.b import x\n",
        b="\n\nimport realip.c\n",
        c="def f():\n    from realip import a\n",
    )
    (cycle,) = cycles(edges)
    assert describe_cycle(cycle) == (
        "a -> b (a:1 'from realip.b import x') -> c (b:3 'import realip.c') "
        "-> a (c:2 'from realip import a')"
    )


def test_no_cycle_no_report() -> None:
    assert cycle_names(a="import realip.b\n", b="import realip.c\n", c="import os\n") == []


def test_a_dynamic_import_of_an_unreadable_name_is_a_problem() -> None:
    edges, problems = import_graph({"a": "import sys\nmod = __import__(sys.argv[1])\n"})
    assert edges == []
    assert problems == [
        "a:2: __import__() of a name the source does not spell out; write the module name as a "
        "literal so the import graph can be checked"
    ]


@pytest.mark.parametrize(
    "upward",
    [
        "from realip.high import x\n",
        "def later():\n    from .high import x\n",
        "if TYPE_CHECKING:\n    import realip.tool\n",
        "import importlib\n\ndef later():\n    importlib.import_module('realip.tool')\n",
    ],
)
def test_an_upward_import_is_found_wherever_it_is_written(upward: str) -> None:
    sources = {"low": upward, "high": "from realip.low import y\n", "tool": ""}
    edges, unreadable = import_graph(sources)
    assert unreadable == []
    (problem,) = layer_problems(edges, list(sources), TWO_LAYERS)
    assert " points up: low low -> high " in problem and problem.startswith("low:")


def test_imports_down_and_within_a_layer_are_fine() -> None:
    sources = {
        "low": "import os\n",
        "high": "from realip import low\n",
        "tool": "import realip.high",
    }
    edges, _ = import_graph(sources)
    assert layer_problems(edges, list(sources), TWO_LAYERS) == []


def test_a_module_in_no_layer_fails_with_where_to_place_it() -> None:
    assert layer_problems([], ["low", "stray"], TWO_LAYERS) == [
        "stray: in no layer; add it to LAYERS in tests/test_import_graph.py, in the lowest layer "
        "whose modules it needs"
    ]


def test_a_package_entry_holds_its_submodules_and_relative_imports_resolve() -> None:
    sources = {
        "__init__": "from realip.pkg import run\n",
        "pkg": "from realip.pkg._a import run\n",
        "pkg._a": "from . import _b\nfrom .. import low\n",
        "pkg._b": "from ._a import run\n",
        "low": "",
    }
    edges, problems = import_graph(sources)
    assert problems == []
    assert {(edge.source, edge.target) for edge in edges} == {
        ("__init__", "pkg"),
        ("pkg", "pkg._a"),
        ("pkg._a", "pkg._b"),
        ("pkg._a", "low"),
        ("pkg._b", "pkg._a"),
    }
    assert cycle_names(**sources) == [["pkg._a", "pkg._b"]]
    layers = (("low", ("low",)), ("tools", ("pkg", "__init__")))
    assert layer_problems(edges, list(sources), layers) == []


def test_the_real_tree_is_read_whole() -> None:
    """Every module, subpackages' included, each under its name relative to the package."""
    sources = read_package(SRC)
    assert {"__init__", "__main__", "resolver", "_doctor"} <= set(sources)
    assert any(name.startswith("_doctor.") for name in sources)
    assert len(sources) == len(list(SRC.rglob("*.py")))
