"""Post-build substitution: variable sources, per-object opt-out, strict mode, typing."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from kustomize_controller.build import (
    SubstitutionError,
    VariableSource,
    collect_variables,
    decode_secret_data,
    substitute_object,
)


def config_map(data: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "app", "namespace": "apps", **metadata},
        "data": data,
    }


def test_later_sources_override_earlier_and_inline_overrides_all() -> None:
    sources = [
        VariableSource("ConfigMap", "first", {"A": "1", "B": "1", "C": "1"}),
        VariableSource("Secret", "second", {"B": "2", "C": "2"}),
    ]
    assert collect_variables(sources, {"C": "3"}) == {"A": "1", "B": "2", "C": "3"}


def test_newlines_are_removed_from_values() -> None:
    sources = [VariableSource("ConfigMap", "cm", {"A": "line1\nline2\n"})]
    assert collect_variables(sources, {"B": "x\ny"}) == {"A": "line1line2", "B": "xy"}


def test_missing_optional_source_counts_as_empty() -> None:
    sources = [VariableSource("Secret", "gone", None, optional=True)]
    assert collect_variables(sources) == {}


@pytest.mark.parametrize("kind", ["ConfigMap", "Secret"])
def test_missing_required_source_is_an_error_naming_it(kind: Any) -> None:
    with pytest.raises(SubstitutionError, match=f"'{kind}/gone'") as info:
        collect_variables([VariableSource(kind, "gone", None)])
    assert info.value.reason == "BuildFailed"


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A.B", "ÄB", ""])
def test_invalid_variable_names_are_rejected(name: str) -> None:
    with pytest.raises(SubstitutionError, match="var name is invalid"):
        collect_variables([], {name: "x"})


@pytest.mark.parametrize("name", ["A", "_a", "cluster_name", "X9"])
def test_valid_variable_names_are_accepted(name: str) -> None:
    assert collect_variables([], {name: "x"}) == {name: "x"}


def test_secret_data_is_base64_decoded() -> None:
    encoded = {"TOKEN": base64.b64encode(b"s3cret").decode()}
    assert decode_secret_data(encoded) == {"TOKEN": "s3cret"}


def test_substitution_expands_values_and_yaml_decides_types() -> None:
    obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "${APP}-web", "namespace": "apps"},
        "spec": {"replicas": "${REPLICAS}", "paused": "${PAUSED:=false}"},
    }
    result = substitute_object(obj, {"APP": "podinfo", "REPLICAS": "3"})
    assert result["metadata"]["name"] == "podinfo-web"
    assert result["spec"] == {"replicas": 3, "paused": False}


def test_quoted_number_strings_stay_strings_after_substitution() -> None:
    result = substitute_object(config_map({"port": "8080", "v": "${V}"}), {"V": "x"})
    assert result["data"] == {"port": "8080", "v": "x"}


@pytest.mark.parametrize("field", ["labels", "annotations"])
def test_substitute_disabled_label_or_annotation_opts_out(field: str) -> None:
    obj = config_map(
        {"k": "${A}"}, **{field: {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}}
    )
    assert substitute_object(obj, {"A": "1"}) is obj


def test_nothing_runs_without_variables() -> None:
    obj = config_map({"k": "${A:=default}"})
    assert substitute_object(obj, {}) is obj
    assert substitute_object(obj, {}, always=True)["data"] == {"k": "default"}


def test_undefined_variable_becomes_empty_when_not_strict() -> None:
    result = substitute_object(config_map({"k": "x${UNDEFINED}y"}), {"A": "1"})
    assert result["data"] == {"k": "xy"}


def test_strict_mode_error_names_the_variable_and_the_object() -> None:
    with pytest.raises(SubstitutionError, match=r"ConfigMap/apps/app.*\"UNDEFINED\""):
        substitute_object(config_map({"k": "${UNDEFINED}"}), {"A": "1"}, strict=True)


def test_invalid_yaml_after_substitution_does_not_echo_the_value() -> None:
    with pytest.raises(SubstitutionError, match="substituted YAML is invalid") as info:
        substitute_object(config_map({"k": "${BAD}"}), {"BAD": "top: [secret-value"})
    assert "secret-value" not in str(info.value)


def test_escaped_expression_is_left_literal() -> None:
    result = substitute_object(config_map({"k": "$${A}", "plain": "$A"}), {"A": "1"})
    assert result["data"] == {"k": "${A}", "plain": "$A"}
