"""Generate CustomResourceDefinitions (apiextensions.k8s.io/v1) from the API models.

    python -m gotk_api.crds --out config/crds           # write one YAML file per kind
    python -m gotk_api.crds --out config/crds --check   # exit 1 if the files are stale

The OpenAPI schema starts from pydantic's JSON schema and is rewritten into a Kubernetes
structural schema: references inlined, nullability dropped (absent means unset), and only
defaults that Flux's CRDs declare are kept (None never is; see `meta.omit_crd_default`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from gotk_api.meta import JsonDict
from gotk_api.registry import KINDS, KindModel

_API_VERSION_DOC = (
    "APIVersion defines the versioned schema of this representation of an object. "
    "Servers convert recognized schemas to the latest internal value."
)
_KIND_DOC = "Kind is the REST resource this object represents. In CamelCase."
_DROPPED_KEYS = frozenset({"title", "$defs"})


class SchemaError(ValueError):
    """A model cannot be expressed as a Kubernetes structural schema."""


def crd_filename(model: KindModel) -> str:
    """Flux's file name for a kind's CRD, e.g. source.toolkit.fluxcd.io_gitrepositories.yaml."""
    return f"{model.GROUP}_{model.plural()}.yaml"


def openapi_schema(model: KindModel) -> JsonDict:
    """The structural `openAPIV3Schema` of a kind."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs: dict[str, JsonDict] = raw.get("$defs", {})
    properties = raw["properties"]
    out: JsonDict = {
        "properties": {
            "apiVersion": {"description": _API_VERSION_DOC, "type": "string"},
            "kind": {"description": _KIND_DOC, "type": "string"},
            "metadata": {"type": "object"},
            "spec": _structural(properties["spec"], defs, "spec"),
            "status": _structural(properties["status"], defs, "status"),
        },
        "type": "object",
    }
    if model.__doc__:
        out["description"] = model.__doc__.strip()
    return out


def _structural(node: JsonDict, defs: dict[str, JsonDict], where: str) -> JsonDict:
    node = _inline(node, defs)
    if "anyOf" in node:
        branches = [b for b in node["anyOf"] if b != {"type": "null"}]
        if len(branches) != 1:
            raise SchemaError(f"{where}: a union of several types is not structural")
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        node = {**_inline(branches[0], defs), **rest}
    out: JsonDict = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS or (key == "default" and value is None):
            continue
        if key == "properties":
            out[key] = {
                name: _structural(child, defs, f"{where}.{name}") for name, child in value.items()
            }
        elif key == "items" or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = _structural(value, defs, f"{where}[]")
        elif key == "additionalProperties":
            continue
        elif key == "required":
            out[key] = sorted(value)
        elif key == "const":
            out["enum"] = [value]
        else:
            out[key] = value
    if "type" not in out and not out.get("x-kubernetes-preserve-unknown-fields"):
        raise SchemaError(f"{where}: no type (use meta.JSONValue for free-form JSON)")
    return out


def _inline(node: JsonDict, defs: dict[str, JsonDict]) -> JsonDict:
    if "$ref" not in node:
        return node
    name = node["$ref"].rsplit("/", 1)[-1]
    siblings = {k: v for k, v in node.items() if k != "$ref"}
    return {**defs[name], **siblings}


def crd(model: KindModel) -> JsonDict:
    """The CustomResourceDefinition of a kind, as a JSON-ready dict."""
    names: JsonDict = {
        "kind": model.KIND,
        "listKind": f"{model.KIND}List",
        "plural": model.plural(),
        "singular": model.singular(),
    }
    if model.SHORT_NAMES:
        names["shortNames"] = list(model.SHORT_NAMES)
    if model.CATEGORIES:
        names["categories"] = list(model.CATEGORIES)
    columns = []
    for column in model.PRINTER_COLUMNS:
        entry: JsonDict = {"jsonPath": column.json_path, "name": column.name, "type": column.type}
        if column.description:
            entry["description"] = column.description
        if column.priority is not None:
            entry["priority"] = column.priority
        columns.append(entry)
    version: JsonDict = {
        "additionalPrinterColumns": columns,
        "name": model.VERSION,
        "schema": {"openAPIV3Schema": openapi_schema(model)},
        "served": True,
        "storage": True,
        "subresources": {"status": {}},
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": model.crd_name()},
        "spec": {
            "group": model.GROUP,
            "names": names,
            "scope": "Namespaced",
            "versions": [version],
        },
    }


def render(model: KindModel) -> str:
    """The CRD of a kind as YAML text; byte-for-byte stable across runs."""
    body = yaml.safe_dump(crd(model), sort_keys=True, default_flow_style=False, width=100)
    return "---\n" + body


def render_all(kinds: Sequence[KindModel] = KINDS) -> dict[str, str]:
    """File name → YAML text for every kind."""
    return {crd_filename(model): render(model) for model in kinds}


def stale_files(out: Path, kinds: Sequence[KindModel] = KINDS) -> list[str]:
    """Names of files under `out` that are missing or differ from fresh output."""
    stale = []
    for name, text in sorted(render_all(kinds).items()):
        path = out / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale


def write_all(out: Path, kinds: Sequence[KindModel] = KINDS) -> list[Path]:
    """Write every kind's CRD into `out`, returning the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in sorted(render_all(kinds).items()):
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gotk_api.crds", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="directory for the CRD files")
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args: Any = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.out)
        for name in stale:
            print(f"stale: {args.out / name}", file=sys.stderr)
        return 1 if stale else 0
    for path in write_all(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
