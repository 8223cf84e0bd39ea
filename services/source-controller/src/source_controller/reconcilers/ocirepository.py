"""The OCIRepository reconciler: storage → source (resolve, pull one layer) → artifact.

`STEPS` is the whole reconcile. The revision is `<tag>@<manifest digest>` (or the digest
alone when `ref.digest` pins it), found with a HEAD on the manifest; when it,
`layerSelector` and `ignore` are unchanged nothing is downloaded (`resolve_target`
finishes the run). Otherwise the manifest is pulled *by that digest* (so a tag moving
mid-reconcile cannot mix two artifacts), one layer is downloaded and verified, then
extracted and re-packed (honouring `spec.ignore`) or copied as-is into storage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Final, TypeVar

from gotk_api.conditions import (
    ARTIFACT_IN_STORAGE,
    ARTIFACT_OUTDATED,
    FETCH_FAILED,
    INVALID_PROVIDER_CONFIGURATION_REASON,
    NEW_ARTIFACT_EVENT_REASON,
    SOURCE_VERIFIED,
    STORAGE_OPERATION_FAILED,
    VERIFICATION_ERROR_REASON,
)
from gotk_api.meta import parse_duration
from gotk_api.objects import Obj
from gotk_api.source_oci import OCILayerSelector, OCIRepository
from gotk_artifacts.errors import ArtifactError
from gotk_artifacts.extract import ExtractLimits, extract_archive_async
from gotk_artifacts.ignore import source_ignore_matcher
from gotk_runtime import NotFound, ReadySummary, Result, Stalling, patch_progress

from source_controller.credentials import (
    ProxyConfig,
    SecretData,
    TLSMaterial,
    proxy_from_secret,
    read_secret,
    tls_from_secret,
)
from source_controller.oci import (
    ClientOptions,
    LayerOperationFailed,
    Manifest,
    OCIClient,
    RegistryAuthenticationFailed,
    RegistryCredentials,
    RegistryUnreachable,
    Repository,
    credentials_from_dockerconfig,
    parse_oci_url,
    select_layer,
    select_semver_tag,
    validate_tag,
)
from source_controller.oci.reference import parse_reference_digest
from source_controller.oci.tags import validate_semver
from source_controller.reconcilers import artifact_steps
from source_controller.reconcilers.steps import (
    SourceContext,
    SourceReconciler,
    Step,
    records,
    run_steps,
)
from source_controller.storage import StoredArtifact

__all__ = [
    "LAYER_LIMITS",
    "MAX_LAYER_SIZE",
    "STEPS",
    "OCIContext",
    "OCIRepositoryReconciler",
    "Target",
]

KIND: Final = "OCIRepository"
T = TypeVar("T")
LAYER_LIMITS: Final = ExtractLimits()
"""A layer unpacks to at most 100 MiB in 100,000 entries: what kustomize-controller accepts
from any artifact (Flux untars OCI layers without a cap)."""
MAX_LAYER_SIZE: Final = LAYER_LIMITS.archive_cap()
"""The largest layer pulled, unpacked or copied (about 165 MiB): more cannot unpack within
LAYER_LIMITS, and the registry's declared size is checked before the download starts."""


@dataclass(frozen=True, slots=True)
class Target:
    """The version to pull: `pull_ref` is always a digest, `revision` what status records."""

    revision: str
    pull_ref: str

    @property
    def digest_hex(self) -> str:
        return self.pull_ref.partition(":")[2]


@dataclass(eq=False, kw_only=True)
class OCIContext(SourceContext):
    repo: OCIRepository
    registry: OCIClient = field(init=False)
    target: Target = field(init=False)
    manifest: Manifest = field(init=False)
    blob: Path = field(init=False)
    content: Path = field(init=False)
    """The extracted layer, or the blob itself for the copy operation."""

    @property
    def timeout(self) -> float:
        return parse_duration(self.repo.spec.timeout)

    @property
    def copies(self) -> bool:
        selector = self.repo.spec.layer_selector or OCILayerSelector()
        return selector.effective_operation() == "copy"


async def check_spec(ctx: OCIContext) -> None:
    """Stall on a provider or a verification gotk cannot serve yet."""
    spec = ctx.repo.spec
    if spec.provider != "generic":
        raise Stalling(
            f"spec.provider '{spec.provider}' is not supported by gotk yet; "
            "use spec.secretRef with a dockerconfigjson Secret instead",
            reason=INVALID_PROVIDER_CONFIGURATION_REASON,
        )
    if spec.verify is not None:
        # Producing the artifact unverified would defeat the point of asking for it.
        message = (
            f"spec.verify (provider '{spec.verify.provider}') is not supported by "
            "gotk yet; no artifact is produced while it is set"
        )
        ctx.conditions.mark_false(SOURCE_VERIFIED, VERIFICATION_ERROR_REASON, message)
        raise Stalling(message, reason=VERIFICATION_ERROR_REASON)
    ctx.conditions.delete(SOURCE_VERIFIED)


async def reconcile_storage(ctx: OCIContext) -> None:
    """The shared storage step; `status.url` goes with an artifact that is gone."""
    await artifact_steps.reconcile_storage(ctx)
    if artifact_steps.current_artifact(ctx.obj) is None:
        ctx.status.pop("url", None)


@records(FETCH_FAILED)
async def connect(ctx: OCIContext) -> None:
    """A registry client with the credentials, TLS settings and proxy the spec references."""
    repository = parse_oci_url(ctx.repo.spec.url)
    credentials = await _credentials(ctx, repository)
    client = OCIClient(repository, credentials=credentials, options=await _options(ctx))
    ctx.registry = await ctx.resources.enter_async_context(client)


@records(FETCH_FAILED)
async def resolve_target(ctx: OCIContext) -> None:
    """The digest to pull; finish when it is what is stored, built the same way."""
    ctx.target = await _within_timeout(ctx, _resolve(ctx.registry, ctx.repo))
    if _up_to_date(ctx):
        ctx.conditions.delete(FETCH_FAILED)
        ctx.finish(_stored(ctx.target))
    elif artifact_steps.mark_new_revision(ctx.obj, ctx.target.revision):
        await patch_progress(ctx.obj)


@records(FETCH_FAILED)
async def pull_layer(ctx: OCIContext) -> None:
    """The manifest (by digest) and the selected layer's blob, digest-checked."""
    workdir = await ctx.scratch("ocirepository-")
    ctx.manifest, ctx.blob = await _within_timeout(ctx, _pull(ctx, workdir / "layer.blob"))


@records(FETCH_FAILED)
async def unpack_layer(ctx: OCIContext) -> None:
    if ctx.copies:
        ctx.content = ctx.blob
    else:
        ctx.content = ctx.blob.with_name("content")
        try:
            await extract_archive_async(ctx.blob, ctx.content, limits=LAYER_LIMITS, symlinks="skip")
        except ArtifactError as exc:
            raise LayerOperationFailed(
                f"failed to extract the layer of '{ctx.repo.spec.url}': {exc} "
                "(set spec.layerSelector.operation to 'copy' for a layer that is not a tarball)"
            ) from None
    ctx.conditions.delete(FETCH_FAILED)


@records(STORAGE_OPERATION_FAILED)
async def store_artifact(ctx: OCIContext) -> None:
    repo, target, storage = ctx.repo, ctx.target, ctx.storage
    filename = f"{target.digest_hex}.tar.gz"
    stored: StoredArtifact
    if ctx.copies:
        stored = await storage.copy_file(
            ctx.content, KIND, repo.namespace, repo.name, filename=filename
        )
    else:
        ignore = await asyncio.to_thread(source_ignore_matcher, ctx.content, repo.spec.ignore)
        stored = await storage.archive(
            ctx.content, KIND, repo.namespace, repo.name, ignore=ignore, filename=filename
        )
    latest = await storage.set_latest(stored.path)
    previous = (artifact_steps.current_artifact(ctx.obj) or {}).get("digest")
    metadata = dict(ctx.manifest.annotations) or None
    artifact_steps.record_artifact(ctx.obj, stored.to_api(target.revision, metadata))
    status = ctx.status
    status["url"] = storage.artifact_url(latest)
    for key, value in (
        ("observedIgnore", repo.spec.ignore),
        ("observedLayerSelector", _selector_json(repo.spec.layer_selector)),
    ):
        if value is None:
            status.pop(key, None)
        else:
            status[key] = value
    if previous != stored.digest:
        await ctx.events.normal(
            ctx.obj,
            NEW_ARTIFACT_EVENT_REASON,
            f"stored artifact with revision '{target.revision}' from '{repo.spec.url}'",
            revision=target.revision,
            metadata={"revision": target.revision, "digest": stored.digest},
        )
    ctx.finish(_stored(target))


STEPS: Final[tuple[Step[OCIContext], ...]] = (
    check_spec,
    reconcile_storage,
    connect,
    resolve_target,
    pull_layer,
    unpack_layer,
    store_artifact,
)


class OCIRepositoryReconciler(SourceReconciler):
    api_version: ClassVar[str] = OCIRepository.api_version_string()
    kind: ClassVar[str] = KIND
    ready_summary: ClassVar[ReadySummary] = ReadySummary(
        conditions=(
            STORAGE_OPERATION_FAILED,
            FETCH_FAILED,
            ARTIFACT_OUTDATED,
            ARTIFACT_IN_STORAGE,
            SOURCE_VERIFIED,
        ),
        negative_polarity=(STORAGE_OPERATION_FAILED, FETCH_FAILED, ARTIFACT_OUTDATED),
    )

    def context(self, obj: Obj) -> OCIContext:
        repo = OCIRepository.model_validate(obj)
        return OCIContext(
            obj=obj, repo=repo, client=self.client, storage=self.storage, events=self.events
        )

    async def reconcile(self, obj: Obj) -> Result:
        return await run_steps(self.context(obj), STEPS)


# -- what the steps use


async def _within_timeout(ctx: OCIContext, operation: Awaitable[T]) -> T:
    """Run one registry operation within spec.timeout."""
    try:
        async with asyncio.timeout(ctx.timeout):
            return await operation
    except TimeoutError:
        raise RegistryUnreachable(
            f"operations on '{ctx.repo.spec.url}' did not finish within "
            f"{ctx.repo.spec.timeout} (spec.timeout)"
        ) from None


async def _credentials(ctx: OCIContext, repository: Repository) -> RegistryCredentials | None:
    """The first matching entry of spec.secretRef, then the ServiceAccount's pull secrets."""
    namespace, spec = ctx.repo.namespace, ctx.repo.spec
    sources: list[tuple[str, SecretData]] = []
    if spec.secret_ref is not None:
        name = spec.secret_ref.name
        data = await read_secret(ctx.client, namespace, name, field="spec.secretRef")
        sources.append((f"secret '{namespace}/{name}' (spec.secretRef)", data))
    if spec.service_account_name:
        for name in await _pull_secret_names(ctx, spec.service_account_name):
            field = f"imagePullSecrets of serviceaccount '{spec.service_account_name}'"
            data = await read_secret(ctx.client, namespace, name, field=field)
            sources.append((f"secret '{namespace}/{name}' ({field})", data))
    for source, data in sources:
        credentials = credentials_from_dockerconfig(data, repository.host, source=source)
        if credentials is not None:
            return credentials
    return None


async def _pull_secret_names(ctx: OCIContext, account: str) -> list[str]:
    namespace = ctx.repo.namespace
    resource = await ctx.client.discovery.resource_for("v1", "ServiceAccount")
    try:
        service_account = await ctx.client.get(resource, account, namespace)
    except NotFound:
        raise RegistryAuthenticationFailed(
            f"serviceaccount '{namespace}/{account}' (spec.serviceAccountName) not found"
        ) from None
    refs = service_account.get("imagePullSecrets") or []
    return [str(ref["name"]) for ref in refs if isinstance(ref, dict) and ref.get("name")]


async def _options(ctx: OCIContext) -> ClientOptions:
    namespace, spec = ctx.repo.namespace, ctx.repo.spec
    tls = TLSMaterial()
    if spec.cert_secret_ref is not None:
        name = spec.cert_secret_ref.name
        data = await read_secret(ctx.client, namespace, name, field="spec.certSecretRef")
        source = f"secret '{namespace}/{name}' (spec.certSecretRef)"
        tls = tls_from_secret(data, source=source, required=True)
    proxy: ProxyConfig | None = None
    if spec.proxy_secret_ref is not None:
        name = spec.proxy_secret_ref.name
        data = await read_secret(ctx.client, namespace, name, field="spec.proxySecretRef")
        proxy = proxy_from_secret(data, source=f"secret '{namespace}/{name}' (spec.proxySecretRef)")
    return ClientOptions(
        insecure=bool(spec.insecure),
        ca_cert=tls.ca,
        client_cert=tls.cert,
        client_key=tls.key,
        proxy=proxy,
        timeout=ctx.timeout,
    )


async def _resolve(client: OCIClient, repo: OCIRepository) -> Target:
    """Digest beats semver beats tag (default `latest`), as in Flux."""
    ref = repo.spec.effective_ref()
    if ref.digest:
        digest = str(parse_reference_digest(ref.digest))
        return Target(revision=digest, pull_ref=digest)
    if ref.semver:
        validate_semver(ref.semver, ref.semver_filter)
        tag = select_semver_tag(await client.list_tags(), ref.semver, ref.semver_filter)
    else:
        tag = validate_tag(ref.tag or "latest")
    digest = await client.head_digest(tag)
    return Target(revision=f"{tag}@{digest}", pull_ref=digest)


def _up_to_date(ctx: OCIContext) -> bool:
    status = ctx.obj.get("status") or {}
    artifact = status.get("artifact")
    if not artifact or artifact.get("revision") != ctx.target.revision:
        return False
    if status.get("observedIgnore") != ctx.repo.spec.ignore:
        return False
    return status.get("observedLayerSelector") == _selector_json(ctx.repo.spec.layer_selector)


async def _pull(ctx: OCIContext, blob: Path) -> tuple[Manifest, Path]:
    resolved = await ctx.registry.resolve(ctx.target.pull_ref)
    selector = ctx.repo.spec.layer_selector
    media_type = selector.media_type if selector is not None else None
    layer = select_layer(resolved.manifest, media_type, ctx.repo.spec.url)
    if MAX_LAYER_SIZE is not None and layer.size > MAX_LAYER_SIZE:
        raise LayerOperationFailed(
            f"the layer {layer.digest} of '{ctx.repo.spec.url}' is {layer.size} bytes, above "
            f"the limit of {MAX_LAYER_SIZE} bytes"
        )
    # fetch_blob refuses a body longer than the size checked here.
    await ctx.registry.fetch_blob(layer, blob)
    return resolved.manifest, blob


def _stored(target: Target) -> Result:
    return Result(
        message=f"stored artifact for digest '{target.revision}'", revision=target.revision
    )


def _selector_json(selector: OCILayerSelector | None) -> Obj | None:
    if selector is None:
        return None
    return selector.model_dump(mode="json", by_alias=True, exclude_none=True)
