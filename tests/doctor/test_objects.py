"""``realip doctor`` on hostile and broken input: bounded work, one clear line, exit 2.

Issue 20 item 7: a 576-byte YAML alias bomb hung doctor; 900 nested YAML flow sequences or
100,000 nested JSON arrays ended in a RecursionError traceback with exit 1 (the "client IP
lost" code). Issue 23: a missing file's path was said twice; ``{}`` read as "(keys: )".
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from realip._doctor import DoctorInputError, analyze, parse_objects, run
from realip._doctor._objects import MAX_ALIASES, MAX_DEPTH, MAX_NODES

REAL = Path(__file__).parent.parent / "data" / "doctor" / "real"


def _doctor(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = run(argparse.Namespace(files=[str(path)], json=False, together=False))
    err = capsys.readouterr().err
    return code, err


def _alias_bomb(levels: int = 9) -> str:
    # The classic "billion laughs": each level names the previous one nine times.
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    lines.append(f"kind: List\nitems: [*a{levels - 1}]")
    return "\n".join(lines) + "\n"


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


HOSTILE = {
    "yaml-alias-bomb": _alias_bomb(),
    "yaml-deep-flow": "kind: Service\nspec: " + "[" * 900 + "]" * 900 + "\n",
    "json-deep-arrays": "[" * 100_000 + "]" * 100_000,
    "json-deep-objects": '{"a":' * 5_000 + "1" + "}" * 5_000,
    "json-just-too-deep": json.dumps({"kind": "Service", "spec": _nested(MAX_DEPTH)}),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_is_a_one_line_error_with_exit_2(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("yaml")
    path = tmp_path / f"{name}.txt"
    path.write_text(HOSTILE[name])
    started = time.perf_counter()
    code, err = _doctor(path, capsys)
    elapsed = time.perf_counter() - started
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"realip doctor: {path}: "), err
    assert "Traceback" not in err
    assert elapsed < 10, elapsed  # the bomb took minutes and gigabytes before


def test_limits_are_exact() -> None:
    ok = {"kind": "Service", "spec": _nested(MAX_DEPTH - 3)}
    assert parse_objects(json.dumps(ok))[0]["kind"] == "Service"
    with pytest.raises(DoctorInputError, match=f"more than {MAX_DEPTH} levels"):
        parse_objects(json.dumps({"kind": "Service", "spec": _nested(MAX_DEPTH)}))
    wide = {"kind": "ConfigMap", "data": {str(i): "v" for i in range(1000)}}
    many = [wide] * (MAX_NODES // 1001 + 1)
    with pytest.raises(DoctorInputError, match="too many values"):
        parse_objects(json.dumps(many))


def test_yaml_aliases_are_counted(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("yaml")
    few = "x: &x {kind: Service, metadata: {name: a}}\nkind: List\nitems: [*x, *x]\n"
    assert len(parse_objects(few)) == 2
    many = "x: &x 1\nkind: List\nitems: [" + ",".join(["*x"] * (MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(DoctorInputError, match="alias"):
        parse_objects(many)


def test_missing_file_names_the_path_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "missing.json"
    code, err = _doctor(path, capsys)
    assert code == 2
    assert err.count(str(path)) == 1, err
    assert "No such file" in err


def test_empty_object_says_it_is_empty() -> None:
    with pytest.raises(DoctorInputError) as info:
        parse_objects("{}")
    assert "(it is empty)" in str(info.value) and "keys: )" not in str(info.value)
    proc = subprocess.run(
        [sys.executable, "-m", "realip", "doctor", "-"],
        input="{}",
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "(it is empty)" in proc.stderr, proc.stderr


def _realistic_dump(target_bytes: int) -> List[Dict[str, Any]]:
    """Copies of the corpus's objects under fresh names until the JSON is about that big."""
    pytest.importorskip("yaml")
    base: List[Dict[str, Any]] = []
    for path in sorted(REAL.glob("*.yaml")):
        base.extend(parse_objects(path.read_text()))
    out: List[Dict[str, Any]] = []
    size = 0
    i = 0
    while size < target_bytes:
        for obj in base:
            clone = copy.deepcopy(obj)
            meta = clone.setdefault("metadata", {})
            meta["namespace"] = f"{meta.get('namespace') or 'default'}-{i}"
            out.append(clone)
        size = len(json.dumps(out))
        i += 1
    return out


def test_a_2mb_cluster_dump_passes_in_about_a_second() -> None:
    objects = _realistic_dump(2_000_000)
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    assert len(text) >= 2_000_000
    started = time.perf_counter()
    report = analyze(parse_objects(text))
    elapsed = time.perf_counter() - started
    assert len(report.entries) > 1000
    # About a second on a quiet machine; the bound leaves room for a loaded CI runner.
    assert elapsed < 5, elapsed
