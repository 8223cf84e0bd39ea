"""Flux's envsubst dialect (fluxcd/pkg/envsubst), re-implemented in build/envsubst.py."""

from __future__ import annotations

import pytest
from kustomize_controller.build.envsubst import EnvsubstError, VariableNotSetError, expand

VARS = {
    "NAME": "podinfo",
    "EMPTY": "",
    "IMAGE": "ghcr.io/stefanprodan/podinfo:6.5.0",
    "PATH_VAR": "/usr/local/bin",
    "MIXED": "hello World",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: ${NAME}", "name: podinfo"),
        ("${NAME}-${NAME}", "podinfo-podinfo"),
        ("plain $NAME is left alone", "plain $NAME is left alone"),
        ("escaped $${NAME}", "escaped ${NAME}"),
        ("dollars $$ and $", "dollars $ and $"),
        ("${MISSING:=fallback}", "fallback"),
        ("${MISSING:-fallback}", "fallback"),
        ("${MISSING=fallback}", "fallback"),
        ("${EMPTY:=fallback}", "fallback"),
        ("${NAME:=fallback}", "podinfo"),
        ("${MISSING:=a b c}", "a b c"),
        ("${MISSING:=${NAME}-x}", "podinfo-x"),
        ("${MISSING:=}", ""),
        ("${#NAME}", "7"),
        ("${NAME:3}", "info"),
        ("${NAME:0:3}", "pod"),
        ("${NAME:-4}", "podinfo"),
        ("${NAME:10}", ""),
        ("${MIXED^}", "Hello World"),
        ("${MIXED^^}", "HELLO WORLD"),
        ("${MIXED,,}", "hello world"),
        ("${IMAGE#*/}", "stefanprodan/podinfo:6.5.0"),
        ("${IMAGE##*/}", "stefanprodan/podinfo:6.5.0"),  # Go path.Match: * stops at /
        ("${PATH_VAR##/*/}", "local/bin"),
        ("${IMAGE%:*}", "ghcr.io/stefanprodan/podinfo"),
        ("${NAME/pod/web}", "webinfo"),
        ("${NAME//o/0}", "p0dinf0"),
        ("${NAME/#pod/web}", "webinfo"),
        ("${NAME/%info/cast}", "podcast"),
        ("${PATH_VAR/\\/usr/\\/opt}", "/opt/local/bin"),
        ("${MISSING}", ""),
        ("no variables at all", "no variables at all"),
    ],
)
def test_expand_matches_flux_envsubst(text: str, expected: str) -> None:
    assert expand(text, VARS) == expected


@pytest.mark.parametrize(
    "text",
    ["${MISSING}", "${MISSING^^}", "${#MISSING}", "${MISSING/a/b}", "x ${OK:=1} ${MISSING}"],
)
def test_strict_mode_rejects_unset_variable_without_default(text: str) -> None:
    with pytest.raises(VariableNotSetError, match='"MISSING"'):
        expand(text, VARS, strict=True)


@pytest.mark.parametrize("text", ["${MISSING:=d}", "${MISSING:-d}", "${MISSING=d}", "${EMPTY}"])
def test_strict_mode_accepts_defaults_and_empty_values(text: str) -> None:
    assert expand(text, VARS, strict=True) in ("d", "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${NAME", "missing closing brace"),
        ("${}", "unable to parse variable name"),
        ("${NAME-x}", "missing closing brace"),
        ("${NAME:}", "unable to parse substitution within function"),
        ("${NAME/x}", "bad substitution"),
        ("${MISSING:=unterminated", "unable to parse substitution within function"),
    ],
)
def test_malformed_expressions_are_errors(text: str, message: str) -> None:
    with pytest.raises(EnvsubstError, match=message):
        expand(text, VARS)
