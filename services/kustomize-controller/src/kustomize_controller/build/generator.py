"""Prepare the kustomization file Flux builds: find or generate it, then overlay the spec.

Mirrors fluxcd/pkg kustomize's Generator: a directory without a kustomization file gets
one listing every Kubernetes manifest under it, and the Kustomization's `targetNamespace`,
`namePrefix`/`nameSuffix`, `patches`, `components` and `images` are written into the file
that `kustomize build` then reads. Blocking file I/O: call it through `asyncio.to_thread`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from gotk_api.kustomize import KustomizationSpec
from gotk_api.kustomize_types import Image, Patch
from gotk_artifacts.yaml_guard import load_all_yaml, load_yaml

from kustomize_controller.build.errors import BuildError, PathNotFoundError

KUSTOMIZATION_FILE_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
KUSTOMIZE_API_VERSION = "kustomize.config.k8s.io/v1beta1"
MANIFEST_SUFFIXES = (".yaml", ".yml")

# Kustomize's own list of remote reference prefixes (api/internal/git/repospec.go).
_REMOTE_PREFIXES = (
    "git::",
    "gh:",
    "ssh://",
    "https://",
    "http://",
    "git@",
    "github.com:",
    "github.com/",
)
_URL_WITH_HOST = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]+")


@dataclass(frozen=True)
class GeneratedKustomization:
    """The kustomization file that was written, and whether gotk created it."""

    path: Path
    created: bool


def resolve_build_dir(root: Path, spec_path: str | None) -> Path:
    """The directory `spec.path` names inside the extracted artifact at `root`.

    Symlinks are resolved before the check, so neither `..` nor a link may lead out.
    """
    real_root = root.resolve(strict=True)
    relative = (spec_path or "").strip()
    candidate = (real_root / relative.lstrip("/")).resolve()
    if candidate != real_root and real_root not in candidate.parents:
        raise BuildError(f"spec.path '{spec_path}' points outside the artifact root")
    if not candidate.is_dir():
        raise PathNotFoundError(
            f"kustomization path not found: spec.path '{spec_path}' is not a directory "
            "in the artifact"
        )
    return candidate


def is_remote_reference(ref: str) -> bool:
    """True when a kustomization `resources`/`components` entry names a remote location."""
    lowered = ref.lower()
    if any(len(prefix) < len(ref) and lowered.startswith(prefix) for prefix in _REMOTE_PREFIXES):
        return True
    return bool(_URL_WITH_HOST.match(ref)) and not lowered.startswith("file://")


def find_kustomization_file(directory: Path) -> Path | None:
    """The kustomization file kustomize would read in `directory`, if there is one."""
    for name in KUSTOMIZATION_FILE_NAMES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def generate_kustomization(
    root: Path, build_dir: Path, spec: KustomizationSpec
) -> GeneratedKustomization:
    """Write the kustomization file of `build_dir` with the spec's overlays applied."""
    existing = find_kustomization_file(build_dir)
    if existing is not None:
        document = _load_kustomization(existing)
        kfile, created = existing, False
        if not document.get("resources"):
            # A resource-less kustomization would fail with "kustomization.yaml is empty".
            document["buildMetadata"] = ["originAnnotations"]
    else:
        document = _scan_manifests(root, build_dir)
        kfile, created = build_dir / KUSTOMIZATION_FILE_NAMES[0], True
    _apply_overlays(document, build_dir, spec)
    kfile.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return GeneratedKustomization(path=kfile, created=created)


def _load_kustomization(path: Path) -> dict[str, Any]:
    try:
        loaded = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BuildError(f"failed to parse {path.name}: {exc}") from exc
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise BuildError(f"{path.name} is not a YAML mapping")
    document: dict[str, Any] = {"apiVersion": KUSTOMIZE_API_VERSION, "kind": "Kustomization"}
    document.update(loaded)
    return document


def _scan_manifests(root: Path, build_dir: Path) -> dict[str, Any]:
    resources: list[str] = []
    _collect(root.resolve(), build_dir, build_dir, resources)
    document: dict[str, Any] = {"apiVersion": KUSTOMIZE_API_VERSION, "kind": "Kustomization"}
    if resources:
        document["resources"] = resources
    else:
        # Flux's placeholder: an empty kustomization is a kustomize error.
        document["namespace"] = "_placeholder"
    return document


def _collect(real_root: Path, base: Path, directory: Path, out: list[str]) -> None:
    # Lexical order, like Go's filepath.Walk, so the generated file is stable.
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        path = Path(entry.path)
        real = path.resolve()
        if real != real_root and real_root not in real.parents:
            raise BuildError(f"'{path.relative_to(base)}' links outside the artifact root")
        relative = "./" + path.relative_to(base).as_posix()
        if entry.is_dir(follow_symlinks=False):
            if find_kustomization_file(path) is not None:
                out.append(relative)
            else:
                _collect(real_root, base, path, out)
        elif entry.name.endswith(MANIFEST_SUFFIXES) and entry.is_file():
            _check_manifest(path, relative)
            out.append(relative)


def _check_manifest(path: Path, relative: str) -> None:
    """Refuse a YAML file kustomize could not load as Kubernetes objects, as Flux does."""
    try:
        documents = load_all_yaml(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BuildError(f"failed to decode Kubernetes YAML from {relative}: {exc}") from exc
    for document in documents:
        if document is None or document == {}:
            continue
        if not isinstance(document, dict):
            raise BuildError(f"failed to decode Kubernetes YAML from {relative}: not an object")
        kind = document.get("kind")
        if not kind:
            raise BuildError(f"failed to decode Kubernetes YAML from {relative}: missing kind")
        name = (document.get("metadata") or {}).get("name")
        if not str(kind).endswith("List") and not name:
            raise BuildError(
                f"failed to decode Kubernetes YAML from {relative}: missing metadata.name"
            )


def _apply_overlays(document: dict[str, Any], build_dir: Path, spec: KustomizationSpec) -> None:
    if spec.target_namespace:
        document["namespace"] = spec.target_namespace
    if spec.name_prefix:
        document["namePrefix"] = spec.name_prefix
    if spec.name_suffix:
        document["nameSuffix"] = spec.name_suffix
    if spec.patches:
        patches = list(document.get("patches") or [])
        patches.extend(_patch_entry(patch) for patch in spec.patches)
        document["patches"] = patches
    if spec.components:
        components = list(document.get("components") or [])
        for component in spec.components:
            if is_remote_reference(component) or os.path.isabs(component.removeprefix("file://")):
                raise BuildError(f"spec.components: '{component}' must be a local relative path")
            if spec.ignore_missing_components and not (build_dir / component).exists():
                continue
            components.append(component)
        document["components"] = components
    if spec.images:
        document["images"] = _merge_images(list(document.get("images") or []), spec.images)


def _patch_entry(patch: Patch) -> dict[str, Any]:
    entry: dict[str, Any] = {"patch": patch.patch}
    if patch.target is not None:
        target = patch.target.model_dump(by_alias=True, exclude_none=True)
        entry["target"] = {key: value for key, value in target.items() if value}
    return entry


def _merge_images(images: list[dict[str, Any]], overrides: list[Image]) -> list[dict[str, Any]]:
    for image in overrides:
        existing = next((entry for entry in images if entry.get("name") == image.name), None)
        if existing is None:
            images.append(image.model_dump(by_alias=True, exclude_none=True))
            continue
        if image.new_name:
            existing["newName"] = image.new_name
        # Tag and digest both pick the version: set together, so a stale digest never
        # outlives a new tag (kustomize's image transformer replaces both too).
        if image.new_tag or image.digest:
            existing.pop("newTag", None)
            existing.pop("digest", None)
            if image.new_tag:
                existing["newTag"] = image.new_tag
            if image.digest:
                existing["digest"] = image.digest
    return images
