"""Values composition pieces: Helm's merge, `--set`-style targetPath, the config digest."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from gotk_api.helm import HelmRelease
from gotk_runtime import KubeClient
from gotk_runtime.kube import SECRETS
from helm_controller.values import (
    ValuesError,
    compose_values,
    config_digest,
    go_json,
    merge_maps,
    set_path_value,
)


def test_merge_maps_merges_maps_and_replaces_everything_else() -> None:
    base = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    override = {"a": {"c": [3], "e": None}, "d": {"f": 1}}
    assert merge_maps(base, override) == {"a": {"b": 1, "c": [3], "e": None}, "d": {"f": 1}}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": "x"}, "inputs are not modified"


@pytest.mark.parametrize(
    ("path", "raw", "expected"),
    [
        ("a", "1", {"a": 1}),
        ("a.b", "true", {"a": {"b": True}}),
        ("a.b", "null", {"a": {"b": None}}),
        ("a.b", "007", {"a": {"b": "007"}}),
        ("a.b", "text with spaces", {"a": {"b": "text with spaces"}}),
        (r"a\.b.c", "x", {"a.b": {"c": "x"}}),
        ("list[1]", "x", {"list": [None, "x"]}),
        ("list[0].name", "x", {"list": [{"name": "x"}]}),
        ("m[0][1]", "5", {"m": [[None, 5]]}),
    ],
)
def test_target_path_sets_values_like_helm_set(path: str, raw: str, expected: Any) -> None:
    values: dict[str, Any] = {}
    set_path_value(values, path, raw)
    assert values == expected


def test_target_path_overrides_an_earlier_scalar_with_a_map() -> None:
    values: dict[str, Any] = {"a": "scalar", "keep": 1}
    set_path_value(values, "a.b", "2")
    assert values == {"a": {"b": 2}, "keep": 1}


@pytest.mark.parametrize("path", ["a..b", ".a", "[0]"])
def test_target_path_rejects_malformed_paths(path: str) -> None:
    with pytest.raises(ValueError, match=r"empty segment|needs a key"):
        set_path_value({}, path, "x")


def test_go_json_sorts_keys_escapes_html_and_ends_with_a_newline() -> None:
    assert go_json({"b": 1, "a": "<&>"}) == b'{"a":"\\u003c\\u0026\\u003e","b":1}\n'


def test_config_digest_of_no_values_digests_nothing() -> None:
    empty = "sha256:" + hashlib.sha256(b"").hexdigest()
    assert config_digest({}) == empty
    assert config_digest(None) == empty
    assert config_digest({"a": 1}) == "sha256:" + hashlib.sha256(b'{"a":1}\n').hexdigest()


async def test_invalid_yaml_in_a_values_secret_is_reported_by_position_only(
    kube: KubeClient, namespace: str
) -> None:
    """A YAML error may quote the offending text; for a Secret only the problem and the
    position are reported."""
    bad = "password: hunter2\n  oops: [unclosed\n"
    data = {"values.yaml": base64.b64encode(bad.encode()).decode()}
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "v"}, "data": data}
    await kube.create(SECRETS, obj, namespace=namespace)
    hr = HelmRelease.model_validate(
        {
            "metadata": {"name": "app", "namespace": namespace},
            "spec": {
                "interval": "1h",
                "chartRef": {"kind": "HelmChart", "name": "c"},
                "valuesFrom": [{"kind": "Secret", "name": "v"}],
            },
        }
    )
    with pytest.raises(ValuesError, match=f"in Secret '{namespace}/v'") as caught:
        await compose_values(kube, hr)
    assert "hunter2" not in str(caught.value)
    assert "at line 2, column 7" in str(caught.value)
