"""The whole build step of a Kustomization: artifact directory in, objects out."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gotk_api.kustomize import KustomizationSpec

from kustomize_controller.build.generator import generate_kustomization, resolve_build_dir
from kustomize_controller.build.kustomize import DEFAULT_BUILD_TIMEOUT, kustomize_build
from kustomize_controller.build.references import collect_references
from kustomize_controller.build.sops import SopsDecryptor
from kustomize_controller.build.sops_keys import DecryptionKeys
from kustomize_controller.build.substitute import substitute_object


async def build_kustomization(
    root: Path,
    spec: KustomizationSpec,
    *,
    variables: Mapping[str, str] | None = None,
    decryption_keys: DecryptionKeys | None = None,
    strict_substitution: bool = False,
    timeout: float = DEFAULT_BUILD_TIMEOUT,
) -> list[dict[str, Any]]:
    """Build `spec.path` of the artifact extracted at `root` (a scratch copy: files in it
    are rewritten) into decrypted, substituted objects.

    `variables` is `collect_variables(...)` of the resolved `postBuild` sources; substitution
    runs only when `spec.postBuild` is set. Decryption runs only when `spec.decryption` is.
    """
    build_dir = await asyncio.to_thread(resolve_build_dir, root, spec.path)
    await asyncio.to_thread(generate_kustomization, root, build_dir, spec)
    if spec.decryption is None:
        objects = await kustomize_build(root, build_dir, timeout=timeout)
    else:
        # Refuse what leaves the artifact before any file is read for decryption.
        tree = await asyncio.to_thread(collect_references, root, build_dir)
        async with SopsDecryptor(decryption_keys or DecryptionKeys()) as decryptor:
            await decryptor.decrypt_sources(root, build_dir, tree)
            objects = await kustomize_build(root, build_dir, timeout=timeout)
            objects = [await decryptor.decrypt_object(obj) for obj in objects]
    if spec.post_build is not None:
        objects = [
            substitute_object(obj, variables or {}, strict=strict_substitution) for obj in objects
        ]
    return objects
