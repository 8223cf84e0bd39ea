"""SOPS file formats: split an encrypted file into branches + metadata, and print cleartext.

YAML and JSON keep the metadata under a top-level `sops` key; dotenv flattens it into
`sops_…` keys (`sops_age__list_0__map_enc`); the binary format is a JSON envelope whose
`data` holds the file's bytes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

import yaml
from gotk_artifacts.yaml_guard import load_all_yaml

from kustomize_controller.build.errors import DecryptionError
from kustomize_controller.build.sops_tree import Comment


class Format(Enum):
    YAML = "yaml"
    JSON = "json"
    DOTENV = "dotenv"
    INI = "ini"
    BINARY = "binary"


# How Flux recognises an encrypted blob inside a Secret value, per format.
MARKERS = {
    Format.BINARY: b'"mac": "ENC[',
    Format.DOTENV: b"sops_mac=ENC[",
    Format.INI: b"[sops]",
    Format.JSON: b'"mac": "ENC[',
    Format.YAML: b"mac: ENC[",
}


def format_for_path(path: str) -> Format:
    """sops' choice of format from a file name (and Flux's `.dockerconfigjson` rule)."""
    if path.endswith(".dockerconfigjson") or path.endswith(".json"):
        return Format.JSON
    if path.endswith((".yaml", ".yml")):
        return Format.YAML
    if path.endswith(".env"):
        return Format.DOTENV
    if path.endswith(".ini"):
        return Format.INI
    return Format.BINARY


def detect_format(data: bytes) -> Format | None:
    """The format of an encrypted blob found in a Secret value, if it is one."""
    for fmt in (Format.YAML, Format.DOTENV, Format.INI, Format.JSON):
        if MARKERS[fmt] in data:
            return fmt
    return None


@dataclass
class EncryptedFile:
    branches: list[Any]
    metadata: dict[str, Any]


class SopsYamlLoader(yaml.SafeLoader):
    """YAML as sops (go-yaml v3) types it: the 1.2 core schema, not PyYAML's YAML 1.1.

    The MAC hashes unencrypted values as typed, so `yes` must stay a string, `1e+21` be a
    float and a timestamp stay text, exactly as sops saw them when it encrypted.
    """

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits.startswith(("0x", "0o", "0b")):
        return sign * int(digits, 0)
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits, 8)
    return sign * int(digits)


def _construct_float(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    text = str(loader.construct_scalar(node)).lower()  # type: ignore[arg-type]
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


SopsYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
SopsYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|0b[01]+)$"),
    list("-+0123456789"),
)
SopsYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
SopsYamlLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
SopsYamlLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def _yaml_loader() -> type[yaml.SafeLoader]:
    return SopsYamlLoader


def load(data: bytes, fmt: Format) -> EncryptedFile:
    """Parse an encrypted file; an error names the format, never the content."""
    try:
        if fmt is Format.YAML:
            docs = [d for d in load_all_yaml(data, loader=_yaml_loader()) if d is not None]
            return _split_sops_key(docs, fmt)
        if fmt in (Format.JSON, Format.BINARY):
            return _split_sops_key([json.loads(data)], fmt)
        if fmt is Format.DOTENV:
            return _load_dotenv(data.decode("utf-8"))
    except (yaml.YAMLError, ValueError) as exc:
        raise DecryptionError(f"failed to load encrypted {fmt.value} data: not valid") from exc
    raise DecryptionError(f"sops {fmt.value} files are not supported")


def _split_sops_key(docs: list[Any], fmt: Format) -> EncryptedFile:
    metadata: dict[str, Any] | None = None
    branches: list[Any] = []
    for doc in docs:
        if not isinstance(doc, dict):
            raise DecryptionError(f"failed to load encrypted {fmt.value} data: not an object")
        doc = dict(doc)
        found = doc.pop("sops", None)
        if metadata is None and isinstance(found, dict):
            metadata = found
        branches.append(doc)
    if metadata is None:
        raise DecryptionError(f"sops metadata not found in {fmt.value} data")
    return EncryptedFile(branches, metadata)


def _load_dotenv(text: str) -> EncryptedFile:
    branch: dict[Any, Any] = {}
    flat: dict[str, str] = {}
    comments = 0
    for line in text.split("\n"):
        if not line:
            continue
        if line.startswith("#"):
            # Comments are leaves without a key: keep them in order under unique markers.
            branch[(_COMMENT, comments)] = Comment(line[1:])
            comments += 1
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise DecryptionError("failed to load encrypted dotenv data: a line has no '='")
        value = value.replace("\\n", "\n")
        if key.startswith("sops_"):
            flat[key.removeprefix("sops_")] = value
        else:
            branch[key] = value
    if not flat:
        raise DecryptionError("sops metadata not found in dotenv data")
    return EncryptedFile([branch], _unflatten(flat))


_COMMENT = object()
_TOKEN = re.compile(r"__(map|list)_")


def _unflatten(flat: dict[str, str]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path, value in flat.items():
        parts = _TOKEN.split(path)
        tokens: list[str | int] = [parts[0]]
        for kind, name in zip(parts[1::2], parts[2::2], strict=True):
            tokens.append(int(name) if kind == "list" else name)
        node: Any = root
        for token, nxt in zip(tokens, [*tokens[1:], None], strict=True):
            if nxt is None:
                _assign(node, token, _scalar(value))
            else:
                child = _child(node, token)
                if child is None:
                    child = [] if isinstance(nxt, int) else {}
                    _assign(node, token, child)
                node = child
    return root


def _child(node: Any, token: str | int) -> Any:
    if isinstance(node, list):
        return node[token] if isinstance(token, int) and token < len(node) else None
    return node.get(token)


def _assign(node: Any, token: str | int, value: Any) -> None:
    if isinstance(node, list) and isinstance(token, int):
        while len(node) <= token:
            node.append(None)
        node[token] = value
    else:
        node[token] = value


def _scalar(value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    if value.isdigit():
        return int(value)
    return value


def emit(branches: list[Any], fmt: Format) -> bytes:
    """The decrypted file, printed in its own format."""
    if fmt is Format.YAML:
        docs = [yaml.safe_dump(b, sort_keys=False, allow_unicode=True) for b in branches]
        return "---\n".join(docs).encode()
    if fmt is Format.JSON:
        return json.dumps(branches[0], indent=4, ensure_ascii=False).encode() + b"\n"
    if fmt is Format.BINARY:
        data = branches[0].get("data", "")
        return data if isinstance(data, bytes) else str(data).encode()
    if fmt is Format.DOTENV:
        lines = []
        for key, value in branches[0].items():
            if isinstance(value, Comment):
                lines.append(f"#{value.value}\n")
            else:
                text = value if isinstance(value, str) else json.dumps(value)
                lines.append(f"{key}={text.replace(chr(10), chr(92) + 'n')}\n")
        return "".join(lines).encode()
    raise DecryptionError(f"sops {fmt.value} files are not supported")
