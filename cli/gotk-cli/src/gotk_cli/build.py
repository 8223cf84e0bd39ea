"""`gotk build kustomization NAME --path DIR`: kustomize-controller's own build, run locally.

The directory stands for the Kustomization's `spec.path` in its source: the enclosing Git
work tree (or the directory itself outside one) is packed as source-controller packs an
artifact (`.sourceignore`, the source's `spec.ignore`, `--ignore-paths`), unpacked into a
scratch directory, and built with the controller's pipeline — generated kustomization,
`kustomize build`, SOPS decryption when the Kustomization's keys can be read, `postBuild`
substitution with `substituteFrom` read from the cluster — then stamped with
`commonMetadata` and the owner labels, as the controller stamps what it applies.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from gotk_api.kustomize import Kustomization
from gotk_api.objects import Obj
from gotk_artifacts import (
    build_archive_async,
    extract_archive_async,
    scratch_dir,
    source_ignore_matcher,
)
from gotk_artifacts.extract import UNLIMITED
from gotk_artifacts.yaml_guard import load_all_yaml
from gotk_runtime import KubeError
from gotk_ssa import set_common_metadata
from kustomize_controller.apply_options import set_owner_labels
from kustomize_controller.build import (
    DecryptionError,
    DecryptionKeys,
    build_kustomization,
    collect_variables,
)
from kustomize_controller.inputs import resolve_decryption_keys, resolve_variables

from gotk_cli.cluster import Cluster
from gotk_cli.errors import CliError
from gotk_cli.kinds import KUSTOMIZATION, SOURCES
from gotk_cli.log import Log
from gotk_cli.masking import strip_sops_metadata

__all__ = ["BuildRequest", "LocalBuild", "build", "check_request", "source_root"]

_SOURCE_KINDS = {kind.kind: kind for kind in SOURCES.values()}


@dataclass(frozen=True)
class BuildRequest:
    name: str
    namespace: str
    path: Path
    kustomization_file: Path | None = None
    dry_run: bool = False
    """No cluster: the Kustomization comes from the file, `substituteFrom` is skipped."""
    strict_substitute: bool = False
    ignore_paths: tuple[str, ...] = ()
    timeout: float = 120.0


@dataclass
class LocalBuild:
    """The Kustomization the build followed and the objects it would apply (unmasked)."""

    kustomization: Obj
    objects: list[Obj] = field(default_factory=list)


async def check_request(request: BuildRequest) -> None:
    """Refuse a request that cannot build, before any cluster is contacted."""
    if not await asyncio.to_thread(request.path.is_dir):
        raise CliError(f"invalid resource path {str(request.path)!r}: not a directory")
    if request.dry_run and request.kustomization_file is None:
        raise CliError("dry-run mode requires a kustomization file")
    where = request.kustomization_file
    if where is not None and not await asyncio.to_thread(where.is_file):
        raise CliError(f"invalid kustomization file {str(where)!r}: not a file")


async def build(cluster: Cluster | None, request: BuildRequest, log: Log) -> LocalBuild:
    """The objects ``request`` builds to; ``cluster`` None only in dry-run mode."""
    await check_request(request)
    path = request.path.resolve()
    obj = await _kustomization(cluster, request)
    ks = Kustomization.model_validate(obj)
    root = await asyncio.to_thread(source_root, path)
    spec = ks.spec.model_copy(update={"path": path.relative_to(root).as_posix() or "."})
    keys: DecryptionKeys | None = None
    if spec.decryption is not None:
        keys = await _decryption_keys(cluster, ks, request, log)
        if keys is None:
            spec = spec.model_copy(update={"decryption": None})
    if cluster is None or request.dry_run:
        inline = ks.spec.post_build.substitute if ks.spec.post_build else None
        variables = collect_variables([], inline)
    else:
        variables = await resolve_variables(cluster.client, ks)
    patterns = [await _source_ignore(cluster, ks, request), *request.ignore_paths]
    ignore = "\n".join(p for p in patterns if p) or None
    async with scratch_dir("gotk-build-") as scratch:
        matcher = await asyncio.to_thread(source_ignore_matcher, root, ignore)
        archive = await build_archive_async(root, scratch / "source.tar.gz", ignore=matcher)
        staged = scratch / "source"
        await extract_archive_async(archive.path, staged, limits=UNLIMITED)
        objects = await build_kustomization(
            staged,
            spec,
            variables=variables,
            decryption_keys=keys,
            strict_substitution=request.strict_substitute,
            timeout=request.timeout,
        )
    objects = [strip_sops_metadata(o) for o in objects]
    if ks.spec.common_metadata is not None:
        metadata = ks.spec.common_metadata
        set_common_metadata(objects, metadata.labels, metadata.annotations)
    set_owner_labels(objects, ks.name, ks.namespace)
    return LocalBuild(obj, objects)


def source_root(path: Path) -> Path:
    """The artifact root ``path`` lies in: the enclosing Git work tree, else ``path``."""
    for candidate in (path, *path.parents):
        if (candidate / ".git").exists():
            return candidate
    return path


async def _kustomization(cluster: Cluster | None, request: BuildRequest) -> Obj:
    """The Kustomization from the cluster, or from the file with the live status (Flux
    merges them so `diff` knows the inventory)."""
    if request.kustomization_file is None:
        if cluster is None:
            raise CliError("dry-run mode requires a kustomization file")
        return await cluster.get(KUSTOMIZATION, request.name, request.namespace)
    local = await asyncio.to_thread(_read_kustomization_file, request)
    if cluster is not None and not request.dry_run:
        try:
            live = await cluster.get(KUSTOMIZATION, request.name, request.namespace)
        except CliError:
            live = None
        if live is not None and live.get("status"):
            local["status"] = live["status"]
    return local


def _read_kustomization_file(request: BuildRequest) -> Obj:
    assert request.kustomization_file is not None
    where = request.kustomization_file
    try:
        documents = load_all_yaml(where.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise CliError(f"invalid kustomization file {str(where)!r}: {err}") from None
    for document in documents:
        if not isinstance(document, dict) or document.get("kind") != KUSTOMIZATION.kind:
            continue
        if not str(document.get("apiVersion", "")).startswith("kustomize.toolkit.fluxcd.io/"):
            continue
        metadata = document.setdefault("metadata", {})
        if metadata.get("name") == request.name and metadata.get("namespace") in (
            None,
            "",
            request.namespace,
        ):
            metadata["namespace"] = request.namespace
            return document
    raise CliError(
        f"failed to find kustomization with name '{request.name}' and namespace "
        f"'{request.namespace}' in file '{where}'"
    )


async def _decryption_keys(
    cluster: Cluster | None, ks: Kustomization, request: BuildRequest, log: Log
) -> DecryptionKeys | None:
    """The keys of `spec.decryption.secretRef` when they can be read; otherwise SOPS
    content stays encrypted (as `flux build` leaves it), with a warning."""
    decryption = ks.spec.decryption
    if decryption is None or decryption.secret_ref is None:
        return None
    if cluster is None or request.dry_run:
        log.warning("SOPS-encrypted manifests are left encrypted in dry-run mode")
        return None
    try:
        return await resolve_decryption_keys(cluster.client, ks)
    except DecryptionError as err:
        log.warning(f"SOPS-encrypted manifests are left encrypted: {err}")
        return None


async def _source_ignore(
    cluster: Cluster | None, ks: Kustomization, request: BuildRequest
) -> str | None:
    """The source's `spec.ignore`, which shaped the artifact the controller built from."""
    kind = _SOURCE_KINDS.get(ks.spec.source_ref.kind)
    if cluster is None or request.dry_run or kind is None:
        return None
    try:
        resource = await cluster.resource(kind)
        source = await cluster.client.get(
            resource, ks.spec.source_ref.name, ks.get_source_namespace()
        )
    except (CliError, KubeError):
        return None
    ignore = (source.get("spec") or {}).get("ignore")
    return str(ignore) if ignore else None
