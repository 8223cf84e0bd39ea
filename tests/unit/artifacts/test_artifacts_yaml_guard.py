"""YAML alias bombs are refused before anything expands them; ordinary anchors still load."""

from __future__ import annotations

import time

import pytest
import yaml
from gotk_artifacts.yaml_guard import ExcessiveAliasing, check_aliases, load_all_yaml, load_yaml


def _laughs(levels: int, width: int = 10) -> str:
    lines = ['a0: &a0 "lollollollollollollollollollol"']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(ExcessiveAliasing, match="alias bomb"):
        load_yaml(_laughs(12))
    assert time.monotonic() - started < 1.0


def test_one_big_scalar_aliased_many_times_is_refused() -> None:
    text = "big: &big '" + "x" * (1 << 20) + "'\nrefs: [" + ",".join(["*big"] * 200) + "]\n"
    with pytest.raises(ExcessiveAliasing):
        check_aliases(text)


def test_the_refusal_is_a_yaml_error_so_callers_report_it_as_invalid_yaml() -> None:
    assert issubclass(ExcessiveAliasing, yaml.YAMLError)


@pytest.mark.parametrize(
    "text",
    [
        "plain: document\nlist: [1, 2, 3]\n",
        "base: &base {cpu: 1m, memory: 1Mi}\nweb: {resources: *base}\napi: {resources: *base}\n",
        _laughs(3),
    ],
)
def test_ordinary_anchors_and_aliases_still_load(text: str) -> None:
    assert load_yaml(text) == yaml.safe_load(text)


def test_every_document_of_a_stream_is_loaded_and_checked() -> None:
    assert load_all_yaml("a: 1\n---\nb: &x 2\nc: *x\n") == [{"a": 1}, {"b": 2, "c": 2}]
    with pytest.raises(ExcessiveAliasing):
        load_all_yaml("a: 1\n---\n" + _laughs(12))


def test_bytes_are_accepted() -> None:
    assert load_yaml(b"k: &v 1\nw: *v\n") == {"k": 1, "w": 1}
