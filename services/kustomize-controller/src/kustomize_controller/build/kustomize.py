"""Run the real `kustomize build`, confined to the artifact, and parse what it prints.

Flux builds in-process with a filesystem that refuses anything outside the artifact root.
gotk runs the `kustomize` binary instead, so the confinement is done in two parts: every
kustomization reachable from the build directory is walked first, refusing any remote
reference and any path that resolves outside the root in every field that names one
(build.references); then kustomize runs with its root-only load restrictor, so each file
it reads lies under its kustomization.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml
from gotk_artifacts.yaml_guard import load_all_yaml
from gotk_runtime import process
from gotk_runtime.tools import find_tool

from kustomize_controller.build.errors import BuildError
from kustomize_controller.build.references import ReferenceTree, collect_references

DEFAULT_BUILD_TIMEOUT = 120.0


def check_references(root: Path, build_dir: Path) -> ReferenceTree:
    """Refuse remote references and paths outside `root` anywhere in the kustomization tree
    (every field that names a file, directory or URL; see build.references)."""
    return collect_references(root, build_dir)


async def kustomize_build(
    root: Path, build_dir: Path, *, timeout: float = DEFAULT_BUILD_TIMEOUT
) -> list[dict[str, Any]]:
    """Build `build_dir` (inside the extracted artifact at `root`) into objects."""
    await asyncio.to_thread(check_references, root, build_dir)
    try:
        binary = find_tool("kustomize")
    except FileNotFoundError as exc:
        raise BuildError(str(exc)) from exc
    argv = [str(binary), "build", "--load-restrictor", "LoadRestrictionsRootOnly", str(build_dir)]
    try:
        result = await process.run(argv, cwd=build_dir, timeout=timeout)
    except process.ProcessTimeout as exc:
        raise BuildError(f"kustomize build timed out after {timeout:g}s") from exc
    except process.ProcessFailed as exc:
        if exc.out_of_memory:
            raise BuildError(
                f"kustomize build failed: it reached its memory limit ({exc.memory_limit}); "
                "a manifest may expand YAML aliases without bound"
            ) from exc
        detail = _relative_message(exc.stderr_tail, root)
        raise BuildError(f"kustomize build failed: {detail}") from exc
    except process.ProcessError as exc:
        raise BuildError(f"kustomize build failed: {exc}") from exc
    return await asyncio.to_thread(parse_manifests, result.stdout)


def _relative_message(text: str, root: Path) -> str:
    # Temp-dir paths mean nothing to the user: show paths relative to the artifact.
    for prefix in {str(root.resolve()), str(root)}:
        text = text.replace(prefix + "/", "").replace(prefix, ".")
    return text.removeprefix("Error: ")


def parse_manifests(data: bytes | str) -> list[dict[str, Any]]:
    """Parse multi-document YAML into objects, refusing any without apiVersion/kind/name."""
    try:
        documents = load_all_yaml(data)
    except yaml.YAMLError as exc:
        raise BuildError(f"failed to parse kustomize output: {exc}") from exc
    objects: list[dict[str, Any]] = []
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, dict):
            raise BuildError(f"failed to decode Kubernetes object from: {document!r:.200}")
        name = (document.get("metadata") or {}).get("name")
        if not document.get("apiVersion") or not document.get("kind") or not name:
            raise BuildError(
                "failed to decode Kubernetes apiVersion, kind and name from: "
                f"{yaml.safe_dump(document)[:200]}"
            )
        objects.append(document)
    return objects
