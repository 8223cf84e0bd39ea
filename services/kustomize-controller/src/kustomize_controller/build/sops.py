"""SOPS decryption for a Kustomization, before and after `kustomize build`.

Before the build, files that kustomize reads as data are decrypted in place: the files and
env files of `secretGenerator`s and local `patches` (Flux's DecryptSources). After the
build, each object is decrypted (Flux's DecryptResource): a whole SOPS-encrypted object,
or, in a Secret, any `data` value that holds a SOPS-encrypted file.

Unlike Flux, the SOPS MAC is checked. It covers the cleartext of the whole file, so it
is checked where the file is still as it was encrypted: generator sources and encrypted
manifests are verified before the build (kustomize may legitimately rewrite an object's
unencrypted fields, e.g. its namespace), Secret data blobs when they are decrypted.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from gotk_api.objects import describe
from gotk_artifacts.yaml_guard import load_all_yaml, load_yaml

from kustomize_controller.build import sops_formats
from kustomize_controller.build.errors import DecryptionError
from kustomize_controller.build.generator import is_remote_reference, walk_kustomizations
from kustomize_controller.build.sops_formats import Format
from kustomize_controller.build.sops_keys import DecryptionKeys, KeyRing
from kustomize_controller.build.sops_tree import TreeRules, decrypt_tree, verify_mac

DECRYPT_KEY = "kustomize.toolkit.fluxcd.io/decrypt"
MAX_ENCRYPTED_FILE_SIZE = 5 << 20
_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


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

    async def decrypt_sources(self, root: Path, build_dir: Path) -> None:
        """Decrypt generator sources and patches in place; verify encrypted manifests."""
        plan = await asyncio.to_thread(_source_plan, root, build_dir)
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
        data = await asyncio.to_thread(_read_limited, root, path)
        if b"sops" not in data:
            return
        try:
            loaded = load_all_yaml(data, loader=sops_formats.SopsYamlLoader)
            docs = [d for d in loaded if isinstance(d, dict)]
        except yaml.YAMLError:
            return  # kustomize reports malformed manifests with a better message
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
        for group in groups:
            metadata = dict(group[0]["sops"])
            branches = [{k: v for k, v in d.items() if k != "sops"} for d in group]
            try:
                await self._decrypt(sops_formats.EncryptedFile(branches, metadata), check_mac=True)
            except DecryptionError as exc:
                raise DecryptionError(f"{_relative(root, path)}: {exc}") from None


class _SourcePlan:
    def __init__(self) -> None:
        self.decrypt: list[tuple[Path, Format]] = []
        self.manifests: list[Path] = []


def _source_plan(root: Path, build_dir: Path) -> _SourcePlan:
    """Walk the kustomization tree for files to decrypt and manifests to verify."""
    root = root.resolve()
    plan = _SourcePlan()
    seen: set[Path] = set()

    def visit(directory: Path, kfile: Path) -> list[Path]:
        document = load_yaml(kfile.read_text(encoding="utf-8")) or {}
        if not isinstance(document, dict):
            return []

        def add(ref: str, fmt: Format) -> None:
            target = _inside(root, directory / ref, ref)
            if target not in seen:
                seen.add(target)
                plan.decrypt.append((target, fmt))

        for generator in document.get("secretGenerator") or []:
            for entry in generator.get("files") or []:
                key, _, file_path = str(entry).partition("=")
                add(file_path or key, sops_formats.format_for_path(key))
            envs = list(generator.get("envs") or [])
            if generator.get("env"):
                envs.append(generator["env"])
            for env in envs:
                fmt = sops_formats.format_for_path(str(env))
                add(str(env), Format.DOTENV if fmt is Format.BINARY else fmt)
        for patch in document.get("patches") or []:
            patch_path = (patch or {}).get("path") if isinstance(patch, dict) else None
            if patch_path and not is_remote_reference(patch_path):
                add(str(patch_path), sops_formats.format_for_path(str(patch_path)))
        children = []
        for ref in [*(document.get("resources") or []), *(document.get("components") or [])]:
            if not isinstance(ref, str) or is_remote_reference(ref):
                continue
            target = (directory / ref).resolve()
            if not target.is_relative_to(root):
                continue  # check_references refuses these with a clear message
            if target.is_dir():
                children.append(target)
            elif target.is_file() and target.name.endswith(_MANIFEST_SUFFIXES):
                plan.manifests.append(target)
        return children

    walk_kustomizations(build_dir, visit)
    return plan


def _inside(root: Path, candidate: Path, ref: str) -> Path:
    target = candidate.resolve()
    if not target.is_relative_to(root):
        raise DecryptionError(f"error decrypting sources: '{ref}' points outside the artifact")
    return target


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


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _relative(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name
