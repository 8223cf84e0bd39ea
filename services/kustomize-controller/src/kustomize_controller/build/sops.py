"""SOPS decryption for a Kustomization, before and after `kustomize build`.

Before the build, files that kustomize reads as data are decrypted in place: the files and
env files of `secretGenerator`s and local `patches` (Flux's DecryptSources). After the
build, each object is decrypted (Flux's DecryptResource): a whole SOPS-encrypted object,
or, in a Secret, any `data` value that holds a SOPS-encrypted file.

Unlike Flux, the SOPS MAC is checked. It covers the cleartext of the whole file, so it
is checked where the file is still as it was encrypted: generator sources, patch files and
every file kustomize will read as objects (whatever its name, through resources, bases or
components at any depth) are verified before the build, since kustomize may legitimately
rewrite an object's unencrypted fields, e.g. its namespace; Secret data blobs are verified
when they are decrypted. An object that comes out of the build still encrypted is only
decrypted if it carries the MAC of a document verified before the build and holds only
encrypted values of that document, at the same places: one that reached kustomize another
way (an inline patch, a plugin) is refused rather than decrypted unverified.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from gotk_api.objects import describe
from gotk_artifacts.yaml_guard import load_all_yaml

from kustomize_controller.build import sops_formats
from kustomize_controller.build.errors import DecryptionError
from kustomize_controller.build.references import ReferenceTree, collect_references
from kustomize_controller.build.sops_formats import Format
from kustomize_controller.build.sops_keys import DecryptionKeys, KeyRing
from kustomize_controller.build.sops_tree import TreeRules, decrypt_tree, verify_mac

DECRYPT_KEY = "kustomize.toolkit.fluxcd.io/decrypt"
MAX_ENCRYPTED_FILE_SIZE = 5 << 20
Leaf = tuple[tuple[Any, ...], str]
"""Where an encrypted value sits in its document, and the ciphertext."""


def is_sops_encrypted(obj: Mapping[str, Any]) -> bool:
    """The object carries SOPS metadata with a MAC (Flux's test for whole-object decryption)."""
    metadata = obj.get("sops")
    return isinstance(metadata, Mapping) and bool(metadata.get("mac"))


def is_encrypted_secret(obj: Mapping[str, Any]) -> bool:
    """A v1 Secret still carrying SOPS metadata: applying it needs decryption configured."""
    return obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1" and "sops" in obj


def is_decryption_disabled(obj: Mapping[str, Any]) -> bool:
    """`decrypt: disabled` annotation (case-insensitive, as Flux)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(DECRYPT_KEY, "")).casefold() == "disabled"


class SopsDecryptor:
    """Decrypts with the keys of one Kustomization; use as an async context manager."""

    def __init__(self, keys: DecryptionKeys, *, verify_mac: bool = True) -> None:
        self._ring = KeyRing(keys)
        self._verify_mac = verify_mac
        # MAC of each document verified before the build -> (its file, its encrypted leaves)
        self._verified: dict[str, tuple[str, set[Leaf]]] = {}

    async def __aenter__(self) -> SopsDecryptor:
        await self._ring.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._ring.__aexit__(*exc_info)

    async def decrypt_file_data(
        self, data: bytes, in_fmt: Format, out_fmt: Format, *, check_mac: bool = True
    ) -> bytes:
        """Decrypt an encrypted file's bytes and print the cleartext in `out_fmt`."""
        encrypted = sops_formats.load(data, in_fmt)
        branches = await self._decrypt(encrypted, check_mac=check_mac)
        return sops_formats.emit(branches, out_fmt)

    async def _decrypt(
        self, encrypted: sops_formats.EncryptedFile, *, check_mac: bool
    ) -> list[Any]:
        key = await self._ring.data_key(encrypted.metadata)
        rules = TreeRules.from_metadata(encrypted.metadata)
        branches, mac = decrypt_tree(encrypted.branches, key, rules)
        if check_mac and self._verify_mac:
            verify_mac(encrypted.metadata, key, mac)
        return branches

    async def decrypt_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The object decrypted, or unchanged when it is not encrypted or opted out."""
        if is_decryption_disabled(obj):
            return obj
        where = describe(obj)
        if is_sops_encrypted(obj):
            encrypted = sops_formats.EncryptedFile(
                [{k: v for k, v in obj.items() if k != "sops"}], dict(obj["sops"])
            )
            self._check_verified(obj, where)
            try:
                # The MAC was checked on the source file before the build (see module doc).
                (decrypted,) = await self._decrypt(encrypted, check_mac=False)
            except DecryptionError as exc:
                raise DecryptionError(f"decryption failed for '{where}': {exc}") from None
            if not isinstance(decrypted, dict):
                raise DecryptionError(f"decryption failed for '{where}': not an object")
            return decrypted
        if obj.get("kind") == "Secret" and isinstance(obj.get("data"), dict):
            return await self._decrypt_secret_data(obj, where)
        return obj

    def _check_verified(self, obj: dict[str, Any], where: str) -> None:
        if not self._verify_mac:
            return
        verified = self._verified.get(str(obj["sops"]["mac"]))
        if verified is None:
            raise DecryptionError(
                f"decryption failed for '{where}': its SOPS document was not verified against "
                "its MAC before the build (it reached kustomize other than in a file named by "
                "resources, bases, components or a patch path, e.g. in an inline patch); "
                "refusing to decrypt it"
            )
        source, leaves = verified
        if not set(encrypted_leaves(obj)) <= leaves:
            raise DecryptionError(
                f"decryption failed for '{where}': its encrypted values are not those of "
                f"{source}, whose MAC it carries; refusing to decrypt it"
            )

    async def _decrypt_secret_data(self, obj: dict[str, Any], where: str) -> dict[str, Any]:
        data = dict(obj["data"])
        changed = False
        for key, value in data.items():
            try:
                blob = base64.b64decode(str(value), validate=True)
            except (binascii.Error, ValueError):
                continue  # kustomize or the API server reports bad base64 better
            in_fmt = sops_formats.detect_format(blob)
            if in_fmt is None:
                continue
            out_fmt = sops_formats.format_for_path(key)
            try:
                plain = await self.decrypt_file_data(blob, in_fmt, out_fmt)
            except DecryptionError as exc:
                raise DecryptionError(
                    f"decryption failed for '{where}' Secret field '{key}': {exc}"
                ) from None
            data[key] = base64.b64encode(plain).decode()
            changed = True
        return {**obj, "data": data} if changed else obj

    async def decrypt_sources(
        self, root: Path, build_dir: Path, tree: ReferenceTree | None = None
    ) -> None:
        """Decrypt generator sources and patches in place; verify (and remember) every
        encrypted document kustomize will read as an object.

        `tree` is `collect_references(root, build_dir)` when the caller has it already.
        """
        if tree is None:
            tree = await asyncio.to_thread(collect_references, root, build_dir)
        plan = _source_plan(root, tree)
        for path, fmt in plan.decrypt:
            data = await asyncio.to_thread(_read_limited, root, path)
            if sops_formats.MARKERS[fmt] not in data:
                continue
            try:
                plain = await self.decrypt_file_data(data, fmt, fmt)
            except DecryptionError as exc:
                raise DecryptionError(
                    f"error decrypting sources: {_relative(root, path)}: {exc}"
                ) from None
            await asyncio.to_thread(_write_private, path, plain)
        if self._verify_mac:
            for path in plan.manifests:
                await self._verify_manifest(root, path)

    async def _verify_manifest(self, root: Path, path: Path) -> None:
        data = await asyncio.to_thread(_read_manifest, path)
        if b"sops" not in data or b"mac" not in data:
            return
        try:
            loaded = _load_documents(data)
        except (yaml.YAMLError, ValueError):
            # kustomize reports a malformed manifest better; an encrypted object it still
            # builds from it is refused after the build, as never verified.
            return
        docs = [d for d in loaded if isinstance(d, dict)]
        encrypted = [d for d in docs if is_sops_encrypted(d) and not is_decryption_disabled(d)]
        if not encrypted:
            return
        macs = {str(d["sops"]["mac"]) for d in encrypted}
        # `sops -e` on a multi-document file writes one MAC over all documents.
        groups = (
            [encrypted]
            if len(macs) == 1 and len(encrypted) == len(docs)
            else [[d] for d in encrypted]
        )
        where = _relative(root, path)
        for group in groups:
            metadata = dict(group[0]["sops"])
            branches = [{k: v for k, v in d.items() if k != "sops"} for d in group]
            try:
                await self._decrypt(sops_formats.EncryptedFile(branches, metadata), check_mac=True)
            except DecryptionError as exc:
                raise DecryptionError(f"{where}: {exc}") from None
            _, leaves = self._verified.setdefault(str(metadata["mac"]), (where, set()))
            for doc in group:
                leaves.update(encrypted_leaves(doc))


def encrypted_leaves(document: dict[str, Any]) -> list[Leaf]:
    """Every encrypted value of a SOPS document (its `sops` metadata aside), with its path."""
    found: list[Leaf] = []

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if path or key != "sops":
                    walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*path, index))
        elif isinstance(node, str) and node.startswith("ENC["):
            found.append((path, node))

    walk(document, ())
    return found


class _SourcePlan:
    def __init__(self) -> None:
        self.decrypt: list[tuple[Path, Format]] = []
        self.manifests: list[Path] = []


def _source_plan(root: Path, tree: ReferenceTree) -> _SourcePlan:
    """What to decrypt in place (Flux's DecryptSources, plus every patch file and plugin
    SecretGenerator) and which files kustomize reads as objects, from the checked tree."""
    plan = _SourcePlan()
    seen: set[Path] = set()
    for ref in tree.references:
        target = ref.target
        if target is None or target in seen:
            continue
        if ref.role == "generator-source" and ref.generator == "secretGenerator":
            seen.add(target)
            if ".envs[" in ref.field or ref.field.endswith(".env"):
                fmt = sops_formats.format_for_path(ref.value)
                plan.decrypt.append((target, Format.DOTENV if fmt is Format.BINARY else fmt))
            else:
                plan.decrypt.append((target, sops_formats.format_for_path(ref.key or ref.value)))
        elif ref.role == "patch":
            seen.add(target)
            plan.decrypt.append((target, sops_formats.format_for_path(ref.value)))
        elif ref.role == "resource" and target.is_file():
            # Any name: kustomize reads a resource file as objects whatever it is called.
            seen.add(target)
            plan.manifests.append(target)
    return plan


def _read_limited(root: Path, path: Path) -> bytes:
    if not path.exists():
        return b""  # a missing file is kustomize's error to report
    if not path.is_file() or path.is_symlink():
        raise DecryptionError(f"cannot decrypt {_relative(root, path)}: not a regular file")
    size = path.stat().st_size
    if size > MAX_ENCRYPTED_FILE_SIZE:
        raise DecryptionError(
            f"cannot decrypt {_relative(root, path)}: size {size} bytes exceeds the limit "
            f"({MAX_ENCRYPTED_FILE_SIZE})"
        )
    return path.read_bytes()


def _load_documents(data: bytes) -> list[Any]:
    # sops writes JSON indented with tabs, which is no YAML; kustomize reads both.
    if data.lstrip()[:1] in (b"{", b"["):
        loaded = json.loads(data)
        return loaded if isinstance(loaded, list) else [loaded]
    return load_all_yaml(data, loader=sops_formats.SopsYamlLoader)


def _read_manifest(path: Path) -> bytes:
    # A manifest is read whatever its size (the artifact bounds it); only one holding a
    # SOPS MAC is parsed.
    return path.read_bytes() if path.is_file() else b""


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _relative(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name
