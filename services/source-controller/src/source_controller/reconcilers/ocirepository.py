"""The OCIRepository reconciler: storage → source (resolve, pull one layer) → artifact.

The revision is `<tag>@<manifest digest>` (or the digest alone when `ref.digest` pins it),
found with a HEAD on the manifest; when it, `layerSelector` and `ignore` are unchanged
nothing is downloaded. Otherwise the manifest is pulled *by that digest* (so a tag moving
mid-reconcile cannot mix two artifacts), one layer is downloaded and verified, then
extracted and re-packed (honouring `spec.ignore`) or copied as-is into storage.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TypeVar

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
from gotk_artifacts.scratch import scratch_dir
from gotk_runtime import (
    Conditions,
    GenericError,
    NotFound,
    ReadySummary,
    Result,
    Stalling,
    patch_progress,
)

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
    OCIError,
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
from source_controller.reconcilers.steps import SourceReconciler
from source_controller.storage import StorageError, StoredArtifact

T = TypeVar("T")
# Flux untars OCI layers without a size cap; the entry cap still bounds a hostile layer.
_LAYER_LIMITS = ExtractLimits(max_total_bytes=None)


@dataclass(frozen=True, slots=True)
class _Target:
    """The version to pull: `pull_ref` is always a digest, `revision` what status records."""

    revision: str
    pull_ref: str

    @property
    def digest_hex(self) -> str:
        return self.pull_ref.partition(":")[2]


class OCIRepositoryReconciler(SourceReconciler):
    api_version: ClassVar[str] = OCIRepository.api_version_string()
    kind: ClassVar[str] = "OCIRepository"
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

    async def reconcile(self, obj: Obj) -> Result:
        repo = OCIRepository.model_validate(obj)
        self._check_unsupported(repo, obj)
        await artifact_steps.reconcile_storage(self.context(obj))
        if artifact_steps.current_artifact(obj) is None:
            obj.setdefault("status", {}).pop("url", None)
        timeout = parse_duration(repo.spec.timeout)
        try:
            repository = parse_oci_url(repo.spec.url)
            credentials = await self._credentials(repo, repository)
            options = await self._options(repo, timeout)
        except (OCIError, GenericError) as err:
            raise artifact_steps.fetch_failed(obj, err) from None

        async with OCIClient(repository, credentials=credentials, options=options) as client:
            target = await self._remote(obj, repo, self._resolve_target(client, repo))
            if self._up_to_date(obj, repo, target):
                Conditions(obj).delete(FETCH_FAILED)
                return self._result(target)
            if artifact_steps.mark_new_revision(obj, target.revision):
                await patch_progress(obj)
            async with scratch_dir("ocirepository-") as workdir:
                manifest, blob = await self._remote(
                    obj, repo, self._pull(client, repo, target, workdir)
                )
                content = await self._unpack(repo, obj, blob, workdir)
                Conditions(obj).delete(FETCH_FAILED)
                await self._store(repo, obj, target, manifest, content)
        return self._result(target)

    async def _remote(self, obj: Obj, repo: OCIRepository, operation: Awaitable[T]) -> T:
        """Run one registry operation within spec.timeout, recording FetchFailed on error."""
        try:
            async with asyncio.timeout(parse_duration(repo.spec.timeout)):
                return await operation
        except TimeoutError:
            late = RegistryUnreachable(
                f"operations on '{repo.spec.url}' did not finish within "
                f"{repo.spec.timeout} (spec.timeout)"
            )
            raise artifact_steps.fetch_failed(obj, late) from None
        except (OCIError, GenericError) as err:
            raise artifact_steps.fetch_failed(obj, err) from None

    # -- steps -------------------------------------------------------------------------------

    @staticmethod
    def _check_unsupported(repo: OCIRepository, obj: Obj) -> None:
        if repo.spec.provider != "generic":
            raise Stalling(
                f"spec.provider '{repo.spec.provider}' is not supported by gotk yet; "
                "use spec.secretRef with a dockerconfigjson Secret instead",
                reason=INVALID_PROVIDER_CONFIGURATION_REASON,
            )
        if repo.spec.verify is not None:
            # Producing the artifact unverified would defeat the point of asking for it.
            message = (
                f"spec.verify (provider '{repo.spec.verify.provider}') is not supported by "
                "gotk yet; no artifact is produced while it is set"
            )
            Conditions(obj).mark_false(SOURCE_VERIFIED, VERIFICATION_ERROR_REASON, message)
            raise Stalling(message, reason=VERIFICATION_ERROR_REASON)
        Conditions(obj).delete(SOURCE_VERIFIED)

    async def _credentials(
        self, repo: OCIRepository, repository: Repository
    ) -> RegistryCredentials | None:
        """The first matching entry of spec.secretRef, then the ServiceAccount's pull secrets."""
        namespace, spec = repo.namespace, repo.spec
        sources: list[tuple[str, SecretData]] = []
        if spec.secret_ref is not None:
            name = spec.secret_ref.name
            data = await read_secret(self.client, namespace, name, field="spec.secretRef")
            sources.append((f"secret '{namespace}/{name}' (spec.secretRef)", data))
        if spec.service_account_name:
            for name in await self._pull_secret_names(namespace, spec.service_account_name):
                field = f"imagePullSecrets of serviceaccount '{spec.service_account_name}'"
                data = await read_secret(self.client, namespace, name, field=field)
                sources.append((f"secret '{namespace}/{name}' ({field})", data))
        for source, data in sources:
            credentials = credentials_from_dockerconfig(data, repository.host, source=source)
            if credentials is not None:
                return credentials
        return None

    async def _pull_secret_names(self, namespace: str, account: str) -> list[str]:
        resource = await self.client.discovery.resource_for("v1", "ServiceAccount")
        try:
            service_account = await self.client.get(resource, account, namespace)
        except NotFound:
            raise RegistryAuthenticationFailed(
                f"serviceaccount '{namespace}/{account}' (spec.serviceAccountName) not found"
            ) from None
        refs = service_account.get("imagePullSecrets") or []
        return [str(ref["name"]) for ref in refs if isinstance(ref, dict) and ref.get("name")]

    async def _options(self, repo: OCIRepository, timeout: float) -> ClientOptions:
        namespace, spec = repo.namespace, repo.spec
        tls = TLSMaterial()
        if spec.cert_secret_ref is not None:
            name = spec.cert_secret_ref.name
            data = await read_secret(self.client, namespace, name, field="spec.certSecretRef")
            source = f"secret '{namespace}/{name}' (spec.certSecretRef)"
            tls = tls_from_secret(data, source=source, required=True)
        proxy: ProxyConfig | None = None
        if spec.proxy_secret_ref is not None:
            name = spec.proxy_secret_ref.name
            data = await read_secret(self.client, namespace, name, field="spec.proxySecretRef")
            proxy = proxy_from_secret(
                data, source=f"secret '{namespace}/{name}' (spec.proxySecretRef)"
            )
        return ClientOptions(
            insecure=bool(spec.insecure),
            ca_cert=tls.ca,
            client_cert=tls.cert,
            client_key=tls.key,
            proxy=proxy,
            timeout=timeout,
        )

    @staticmethod
    async def _resolve_target(client: OCIClient, repo: OCIRepository) -> _Target:
        """Digest beats semver beats tag (default `latest`), as in Flux."""
        ref = repo.spec.effective_ref()
        if ref.digest:
            digest = str(parse_reference_digest(ref.digest))
            return _Target(revision=digest, pull_ref=digest)
        if ref.semver:
            validate_semver(ref.semver, ref.semver_filter)
            tag = select_semver_tag(await client.list_tags(), ref.semver, ref.semver_filter)
        else:
            tag = validate_tag(ref.tag or "latest")
        digest = await client.head_digest(tag)
        return _Target(revision=f"{tag}@{digest}", pull_ref=digest)

    @staticmethod
    def _up_to_date(obj: Obj, repo: OCIRepository, target: _Target) -> bool:
        status = obj.get("status") or {}
        artifact = status.get("artifact")
        if not artifact or artifact.get("revision") != target.revision:
            return False
        if status.get("observedIgnore") != repo.spec.ignore:
            return False
        return status.get("observedLayerSelector") == _selector_json(repo.spec.layer_selector)

    async def _pull(
        self, client: OCIClient, repo: OCIRepository, target: _Target, workdir: Path
    ) -> tuple[Manifest, Path]:
        resolved = await client.resolve(target.pull_ref)
        selector = repo.spec.layer_selector
        media_type = selector.media_type if selector is not None else None
        layer = select_layer(resolved.manifest, media_type, repo.spec.url)
        blob = workdir / "layer.blob"
        await client.fetch_blob(layer, blob)
        return resolved.manifest, blob

    async def _unpack(self, repo: OCIRepository, obj: Obj, blob: Path, workdir: Path) -> Path:
        """The extracted tree, or the blob itself for the copy operation."""
        if _copies(repo):
            return blob
        content = workdir / "content"
        try:
            await extract_archive_async(blob, content, limits=_LAYER_LIMITS, symlinks="skip")
        except ArtifactError as exc:
            err = LayerOperationFailed(
                f"failed to extract the layer of '{repo.spec.url}': {exc} "
                "(set spec.layerSelector.operation to 'copy' for a layer that is not a tarball)"
            )
            raise artifact_steps.fetch_failed(obj, err) from None
        return content

    async def _store(
        self, repo: OCIRepository, obj: Obj, target: _Target, manifest: Manifest, content: Path
    ) -> None:
        filename = f"{target.digest_hex}.tar.gz"
        try:
            stored: StoredArtifact
            if not _copies(repo):
                ignore = await asyncio.to_thread(source_ignore_matcher, content, repo.spec.ignore)
                stored = await self.storage.archive(
                    content, self.kind, repo.namespace, repo.name, ignore=ignore, filename=filename
                )
            else:
                stored = await self.storage.copy_file(
                    content, self.kind, repo.namespace, repo.name, filename=filename
                )
            latest = await self.storage.set_latest(stored.path)
        except (StorageError, ArtifactError) as err:
            raise artifact_steps.storage_failure(obj, err) from None
        previous = (artifact_steps.current_artifact(obj) or {}).get("digest")
        metadata = dict(manifest.annotations) or None
        artifact_steps.record_artifact(obj, stored.to_api(target.revision, metadata))
        status = obj["status"]
        status["url"] = self.storage.artifact_url(latest)
        for key, value in (
            ("observedIgnore", repo.spec.ignore),
            ("observedLayerSelector", _selector_json(repo.spec.layer_selector)),
        ):
            if value is None:
                status.pop(key, None)
            else:
                status[key] = value
        if previous != stored.digest:
            await self.events.normal(
                obj,
                NEW_ARTIFACT_EVENT_REASON,
                f"stored artifact with revision '{target.revision}' from '{repo.spec.url}'",
                revision=target.revision,
                metadata={"revision": target.revision, "digest": stored.digest},
            )

    @staticmethod
    def _result(target: _Target) -> Result:
        return Result(
            message=f"stored artifact for digest '{target.revision}'", revision=target.revision
        )


def _copies(repo: OCIRepository) -> bool:
    return (repo.spec.layer_selector or OCILayerSelector()).effective_operation() == "copy"


def _selector_json(selector: OCILayerSelector | None) -> Obj | None:
    if selector is None:
        return None
    return selector.model_dump(mode="json", by_alias=True, exclude_none=True)
