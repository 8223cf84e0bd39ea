"""Post-build variable substitution (`spec.postBuild`), as kustomize-controller does it.

Variables come from `substituteFrom` in order (a later source overrides an earlier one),
then inline `substitute` overrides them all; newlines are removed from every value. Each
object is serialized to YAML, expanded with Flux's envsubst dialect and parsed back, so a
value lands where its `${var}` was written, with YAML deciding its type.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from gotk_api.objects import describe
from gotk_artifacts.yaml_guard import load_yaml

from kustomize_controller.build.envsubst import EnvsubstError, VariableNotSetError, expand
from kustomize_controller.build.errors import SubstitutionError

SUBSTITUTE_KEY = "kustomize.toolkit.fluxcd.io/substitute"
DISABLED_VALUE = "disabled"
VARIABLE_NAME = re.compile(r"^[_A-Za-z][_A-Za-z0-9]*$")
"""Flux's `^[_[:alpha:]][_[:alpha:][:digit:]]*$` (POSIX classes are ASCII in Go's RE2)."""

_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True)
class VariableSource:
    """One resolved `substituteFrom` entry.

    `data` is the ConfigMap's `data`, or the Secret's `data` already base64-decoded (see
    `decode_secret_data`); `None` means the object does not exist, which is an error
    unless `optional`.
    """

    kind: Literal["ConfigMap", "Secret"]
    name: str
    data: Mapping[str, str] | None
    optional: bool = False


def decode_secret_data(data: Mapping[str, str] | None) -> dict[str, str]:
    """A Secret's base64 `data` as text (invalid UTF-8 is replaced, as Go's string() does)."""
    decoded: dict[str, str] = {}
    for key, value in (data or {}).items():
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SubstitutionError(f"Secret data key '{key}' is not valid base64") from exc
        decoded[key] = raw.decode("utf-8", errors="replace")
    return decoded


def collect_variables(
    sources: Sequence[VariableSource], inline: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Merge `substituteFrom` sources in order, then `substitute`, and validate the names."""
    variables: dict[str, str] = {}
    for source in sources:
        if source.data is None:
            if source.optional:
                continue
            raise SubstitutionError(
                f"substitute from '{source.kind}/{source.name}' error: {source.kind} not found"
            )
        for key, value in source.data.items():
            variables[key] = value.replace("\n", "")
    for key, value in (inline or {}).items():
        variables[key] = value.replace("\n", "")
    for name in variables:
        if not VARIABLE_NAME.match(name):
            raise SubstitutionError(
                f"'{name}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'"
            )
    return variables


def is_substitution_disabled(obj: Mapping[str, Any]) -> bool:
    """The object opted out with `kustomize.toolkit.fluxcd.io/substitute: disabled`."""
    metadata = obj.get("metadata") or {}
    return any(
        (metadata.get(field) or {}).get(SUBSTITUTE_KEY) == DISABLED_VALUE
        for field in ("labels", "annotations")
    )


def substitute_object(
    obj: dict[str, Any], variables: Mapping[str, str], *, strict: bool = False, always: bool = False
) -> dict[str, Any]:
    """`obj` with its variables expanded; the same object when nothing is to be done.

    Nothing runs without variables unless `always` (Flux's `substituteStrategy: Always`).
    `strict` is Flux's StrictPostBuildSubstitutions gate: an unset variable without a
    default is then an error naming it.
    """
    if is_substitution_disabled(obj) or (not variables and not always):
        return obj
    where = describe(obj)
    text = yaml.dump(obj, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 30)
    try:
        expanded = expand(text, dict(variables), strict=strict)
    except VariableNotSetError as exc:
        raise SubstitutionError(f"post build failed for '{where}': {exc}") from None
    except EnvsubstError as exc:
        raise SubstitutionError(
            f"post build failed for '{where}': variable substitution failed: {exc}"
        ) from None
    try:
        result = load_yaml(expanded)
    except yaml.YAMLError as exc:
        # Only the position: the snippet PyYAML would print may hold a secret value.
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SubstitutionError(
            f"post build failed for '{where}': substituted YAML is invalid{at}: {problem}"
        ) from None
    if not isinstance(result, dict):
        raise SubstitutionError(f"post build failed for '{where}': result is not an object")
    return result


def substitute_objects(
    objects: Sequence[dict[str, Any]],
    variables: Mapping[str, str],
    *,
    strict: bool = False,
    always: bool = False,
) -> list[dict[str, Any]]:
    """`substitute_object` over every built object, in order."""
    return [substitute_object(o, variables, strict=strict, always=always) for o in objects]
