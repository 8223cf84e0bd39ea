"""Decrypt a SOPS tree with its data key and recompute its MAC, as `sops decrypt` does.

Every encrypted leaf is `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`: AES-256-GCM with a
32-byte nonce, and the leaf's path (map keys joined with `:`, plus a trailing `:`) as
additional data. The MAC is SHA-512 over every leaf's cleartext in document order
(upper-case hex), stored encrypted with the `lastmodified` timestamp as additional data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kustomize_controller.build.errors import DecryptionError

DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"
_ENCRYPTED = re.compile(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")
# sops seeds the hash with these bytes when `mac_only_encrypted` is set.
_MAC_ONLY_ENCRYPTED_INIT = bytes.fromhex(
    "8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69"
)


@dataclass(frozen=True)
class Comment:
    """A comment line of a dotenv file (sops encrypts those too)."""

    value: str


@dataclass(frozen=True)
class TreeRules:
    """Which leaves are encrypted, from the file's `sops` metadata."""

    unencrypted_suffix: str = ""
    encrypted_suffix: str = ""
    unencrypted_regex: str = ""
    encrypted_regex: str = ""
    comment_rules: bool = False
    mac_only_encrypted: bool = False

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> TreeRules:
        fields = {
            name: str(metadata.get(name) or "")
            for name in (
                "unencrypted_suffix",
                "encrypted_suffix",
                "unencrypted_regex",
                "encrypted_regex",
            )
        }
        comment_rules = bool(
            metadata.get("unencrypted_comment_regex") or metadata.get("encrypted_comment_regex")
        )
        if not any(fields.values()) and not comment_rules:
            fields["unencrypted_suffix"] = DEFAULT_UNENCRYPTED_SUFFIX
        return cls(
            **fields,
            comment_rules=comment_rules,
            mac_only_encrypted=_truthy(metadata.get("mac_only_encrypted")),
        )

    def is_encrypted(self, path: list[str], value: Any) -> bool:
        if self.comment_rules:
            # Comment-driven rules need the comments, which parsed YAML no longer has;
            # the ciphertext marker tells the same thing for the leaves that remain.
            return isinstance(value, str | Comment) and _is_ciphertext(value)
        encrypted = True
        if self.unencrypted_suffix and any(p.endswith(self.unencrypted_suffix) for p in path):
            encrypted = False
        if self.encrypted_suffix:
            encrypted = any(p.endswith(self.encrypted_suffix) for p in path)
        if self.unencrypted_regex and any(re.search(self.unencrypted_regex, p) for p in path):
            encrypted = False
        if self.encrypted_regex:
            encrypted = any(re.search(self.encrypted_regex, p) for p in path)
        return encrypted


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _is_ciphertext(value: str | Comment) -> bool:
    text = value.value if isinstance(value, Comment) else value
    return text == "" or bool(_ENCRYPTED.match(text))


def decrypt_value(ciphertext: str, key: bytes, aad: str) -> Any:
    """One leaf's cleartext, typed as sops recorded it."""
    if ciphertext == "":
        return ""
    match = _ENCRYPTED.match(ciphertext)
    if match is None:
        raise DecryptionError(f"value at '{aad}' does not match sops' data format")
    try:
        data, iv, tag = (base64.b64decode(match.group(i), validate=True) for i in (1, 2, 3))
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError(f"value at '{aad}' has invalid base64") from exc
    try:
        plain = AESGCM(key).decrypt(iv, data + tag, aad.encode())
    except (InvalidTag, ValueError) as exc:
        raise DecryptionError(
            f"value at '{aad}' failed authentication (wrong data key or tampered value)"
        ) from exc
    kind = match.group(4)
    text = plain.decode("utf-8", errors="replace")
    try:
        if kind == "str":
            return text
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            return _parse_go_bool(text)
        if kind == "bytes":
            return plain
        if kind == "comment":
            return Comment(text)
        if kind == "time":
            return text
    except ValueError as exc:
        raise DecryptionError(f"value at '{aad}' is not a valid {kind}") from exc
    raise DecryptionError(f"value at '{aad}' has unknown type '{kind}'")


def _parse_go_bool(text: str) -> bool:
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(text)


def mac_bytes(value: Any) -> bytes:
    """A leaf as sops feeds it to the MAC (Go formatting of numbers and booleans)."""
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        text = format(Decimal(repr(value)), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text.encode()
    if isinstance(value, bytes):
        return value
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z").encode()
    return str(value).encode()


def decrypt_tree(branches: list[Any], key: bytes, rules: TreeRules) -> tuple[list[Any], str]:
    """Decrypt every branch (document) and return them with the recomputed MAC."""
    digest = hashlib.sha512()
    if rules.mac_only_encrypted:
        digest.update(_MAC_ONLY_ENCRYPTED_INIT)

    def leaf(value: Any, path: list[str]) -> Any:
        encrypted = rules.is_encrypted(path, value)
        aad = ":".join(path) + ":"
        if isinstance(value, Comment):
            if not encrypted:
                return value
            try:
                result = decrypt_value(value.value, key, aad)
            except DecryptionError:
                return value  # comments written by older sops are plain text
            return result if isinstance(result, Comment) else Comment(str(result))
        if encrypted:
            if not isinstance(value, str):
                raise DecryptionError(f"value at '{aad}' should be encrypted but is not a string")
            value = decrypt_value(value, key, aad)
        if not rules.mac_only_encrypted or encrypted:
            digest.update(mac_bytes(value))
        return value

    def walk(node: Any, path: list[str]) -> Any:
        if isinstance(node, dict):
            # A comment belongs to its parent map: its path has no key of its own.
            return {
                k: walk(v, path if isinstance(v, Comment) else [*path, str(k)])
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(item, path) for item in node]
        if node is None:
            return None
        return leaf(node, path)

    decrypted = [walk(branch, []) for branch in branches]
    return decrypted, digest.hexdigest().upper()


def lastmodified_text(value: Any) -> str:
    """`lastmodified` as Go's time.RFC3339 prints it (the MAC's additional data)."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise DecryptionError(f"invalid sops lastmodified '{value}'") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    offset = moment.utcoffset()
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if not offset:
        return text + "Z"
    total = int(offset.total_seconds())
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total) // 60, 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def verify_mac(metadata: dict[str, Any], key: bytes, computed: str) -> None:
    """Compare the stored MAC with the one recomputed from the cleartext."""
    stored_text = metadata.get("mac") or ""
    aad = lastmodified_text(metadata.get("lastmodified", ""))
    try:
        stored = decrypt_value(str(stored_text), key, aad) if stored_text else ""
    except DecryptionError as exc:
        raise DecryptionError(f"failed to verify sops data integrity: {exc}") from exc
    if not hmac.compare_digest(str(stored).encode(), computed.encode()):
        raise DecryptionError(
            "failed to verify sops data integrity: the MAC does not match the content "
            "(the file was modified after encryption)"
        )
