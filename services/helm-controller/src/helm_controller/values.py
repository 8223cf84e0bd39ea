"""The values a release is made with: `spec.valuesFrom` merged in order, then `spec.values`.

A `valuesFrom` entry is a key of a ConfigMap or Secret in the HelmRelease's namespace
(`valuesKey`, default `values.yaml`). Without `targetPath` it holds a YAML document merged
with Helm's rules (maps key by key, anything else replaced); with `targetPath` its raw text
is set at that path the way `helm --set path=value` would. `spec.values` goes on top.
The config digest is helm-controller's: sha256 of the values as Go's JSON encoder writes
them (sorted keys, HTML characters escaped, a trailing newline), nothing for no values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, Final

import yaml
from gotk_api.conditions import INIT_FAILED_REASON
from gotk_api.errors import GotkError
from gotk_api.helm import HelmRelease
from gotk_api.meta import ValuesReference
from gotk_artifacts.yaml_guard import load_yaml
from gotk_runtime import KubeClient, KubeError, NotFound
from gotk_runtime.kube import CONFIG_MAPS, SECRETS

__all__ = [
    "ValuesError",
    "compose_values",
    "config_digest",
    "merge_maps",
    "set_path_value",
]

Values = dict[str, Any]
_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_INDEX = re.compile(r"^(.*?)\[([0-9]+)\]$")
_MAX_LIST_INDEX: Final = 65536


class ValuesError(GotkError):
    """A values reference cannot be resolved: missing object or key, or bad content.

    Retried with backoff (the object may yet be created), reported as InitFailed.
    """

    reason = INIT_FAILED_REASON


def merge_maps(base: Mapping[str, Any], override: Mapping[str, Any]) -> Values:
    """Helm's MergeMaps: `override` into `base`, recursively for maps, replacing the rest."""
    merged: Values = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_maps(current, value)
        else:
            merged[key] = value
    return merged


async def compose_values(client: KubeClient, hr: HelmRelease) -> Values:
    """The merged values of `hr`; raise ValuesError naming the object and field."""
    result: Values = {}
    for index, ref in enumerate(hr.spec.values_from or ()):
        field = f"spec.valuesFrom[{index}]"
        text = await _read_reference(client, hr.namespace, ref, field)
        if text is None:
            continue
        where = f"{ref.kind} '{hr.namespace}/{ref.name}'"
        if ref.target_path:
            try:
                set_path_value(result, ref.target_path, text)
            except ValueError as err:
                raise ValuesError(
                    f"{field}: unable to set value of key '{ref.get_values_key()}' in {where} "
                    f"at targetPath '{ref.target_path}': {err}"
                ) from None
            continue
        result = merge_maps(result, _parse_yaml(text, ref, where, field))
    return merge_maps(result, hr.get_values())


async def _read_reference(
    client: KubeClient, namespace: str, ref: ValuesReference, field: str
) -> str | None:
    where = f"{ref.kind} '{namespace}/{ref.name}'"
    resource = SECRETS if ref.kind == "Secret" else CONFIG_MAPS
    try:
        obj = await client.get(resource, ref.name, namespace)
    except NotFound:
        if ref.optional:
            return None
        raise ValuesError(f"could not find {where} referenced by {field}") from None
    except KubeError as err:
        raise ValuesError(f"could not get {where} referenced by {field}: {err.message}") from None
    key = ref.get_values_key()
    data = obj.get("data") or {}
    if key not in data:
        if ref.optional:
            return None
        raise ValuesError(f"missing key '{key}' in {where} referenced by {field}")
    if ref.kind == "ConfigMap":
        return str(data[key])
    try:
        return base64.b64decode(data[key], validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as err:
        raise ValuesError(
            f"key '{key}' in {where} referenced by {field} is not valid UTF-8 text: {err}"
        ) from None


def _parse_yaml(text: str, ref: ValuesReference, where: str, field: str) -> Values:
    try:
        values = load_yaml(text)
    except yaml.YAMLError as err:
        detail = " ".join(str(err).split())
        if ref.kind == "Secret":
            # PyYAML quotes the offending line: only the position, never the Secret's text.
            mark = getattr(err, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            detail = f"{getattr(err, 'problem', None) or detail}{at}"
        raise ValuesError(
            f"unable to read values from key '{ref.get_values_key()}' in {where} "
            f"referenced by {field}: {detail}"
        ) from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ValuesError(
            f"key '{ref.get_values_key()}' in {where} referenced by {field} is not a YAML mapping"
        )
    return values


# --- targetPath: Helm's --set path syntax (a.b.c, escaped dots a\.b, list indexes x[0])


def _split_path(path: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    chars = iter(path)
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    if any(part == "" for part in parts):
        raise ValueError(f"key '{path}' has an empty segment")
    return parts


def _typed(value: str) -> Any:
    """`--set`'s inference: true/false/null, integers without leading zeros, else text."""
    if value in ("true", "false"):
        return value == "true"
    if value == "null":
        return None
    if _INT.match(value):
        return int(value)
    return value


def set_path_value(values: Values, path: str, raw: str) -> None:
    """Set `raw` (typed as `--set` types it) at `path` in `values`, creating what is missing."""
    value = _typed(raw)
    node: Any = values
    parts = _split_path(path)
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        key, indexes = _indexes(part)
        if not indexes:
            if last:
                node[key] = value
                return
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
            continue
        container = node.get(key)
        if not isinstance(container, list):
            container = node[key] = []
        for depth, index in enumerate(indexes):
            while len(container) <= index:
                container.append(None)
            final_index = depth == len(indexes) - 1
            if final_index and last:
                container[index] = value
                return
            if final_index:
                if not isinstance(container[index], dict):
                    container[index] = {}
                node = container[index]
            else:
                if not isinstance(container[index], list):
                    container[index] = []
                container = container[index]


def _indexes(part: str) -> tuple[str, list[int]]:
    indexes: list[int] = []
    while (match := _INDEX.match(part)) is not None:
        index = int(match.group(2))
        if index > _MAX_LIST_INDEX:
            raise ValueError(f"index {index} is larger than {_MAX_LIST_INDEX}")
        indexes.insert(0, index)
        part = match.group(1)
    if not part:
        raise ValueError("a list index needs a key before it")
    return part, indexes


# --- digest


def go_json(value: Any) -> bytes:
    """`value` as Go's json.Encoder writes it: sorted keys, compact, <>& escaped, newline."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text.encode() + b"\n"


def config_digest(values: Mapping[str, Any] | None) -> str:
    """helm-controller's config digest (`sha256:<hex>`); no values digest no bytes."""
    hasher = hashlib.sha256()
    if values:
        hasher.update(go_json(values))
    return f"sha256:{hasher.hexdigest()}"
