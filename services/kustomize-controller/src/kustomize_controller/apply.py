"""Server-side apply of a Kustomization's objects, in Flux's stages, with a change set.

Per object (fluxcd/pkg ssa's ApplyAll): skip it if excluded (``reconcile: disabled``,
``ssa: Ignore``) or create-only and present (``ssa: IfNotPresent``); dry-run the apply; on an
immutable-field error, with ``spec.force`` or ``force: enabled``, delete and recreate it;
take fields over from kubectl & co (``field_managers``); compare the dry-run result with the
live object and apply only what drifted or was taken over. The stage of
CRDs/Namespaces/ClusterRoles (then the ``*Class`` stage) is waited for before the next.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass

from gotk_api.conditions import RECONCILIATION_FAILED_REASON
from gotk_api.objects import Obj, describe
from gotk_runtime import GenericError, KubeClient, KubeError, NoKindMatch, NotFound, Resource

from kustomize_controller.apply_plan import (
    apply_stages,
    is_apply_excluded,
    is_create_only,
    is_force_enabled,
)
from kustomize_controller.build import is_decryption_disabled, is_encrypted_secret
from kustomize_controller.field_managers import clean_up, flux_cleanup
from kustomize_controller.inventory import ObjectRef
from kustomize_controller.wait import WaitError, wait_for_set

FIELD_MANAGER = "kustomize-controller"
CREATED, CONFIGURED, UNCHANGED, SKIPPED, DELETED = (
    "created",
    "configured",
    "unchanged",
    "skipped",
    "deleted",
)
_IMMUTABLE = re.compile(r"is\simmutable|immutable\sfield")
_DRY_RUN_CONCURRENCY = 4


class ApplyError(GenericError):
    """An object could not be applied; the message names it and the API server's reason."""

    reason = RECONCILIATION_FAILED_REASON


@dataclass(frozen=True, slots=True)
class ChangeSetEntry:
    ref: ObjectRef
    action: str

    def __str__(self) -> str:
        return f"{self.ref} {self.action}"


@dataclass(slots=True)
class _Planned:
    obj: Obj
    resource: Resource
    entry: ChangeSetEntry
    needs_apply: bool


def is_immutable_error(err: KubeError) -> bool:
    """The API server (or a CEL rule, or a webhook) refused to change an immutable field."""
    return err.status in (409, 422) and bool(_IMMUTABLE.search(err.message))


class ResourceApplier:
    def __init__(
        self,
        client: KubeClient,
        *,
        force: bool = False,
        field_manager: str = FIELD_MANAGER,
        override_managers: Sequence[str] = (),
        wait_timeout: float = 60.0,
        wait_interval: float = 2.0,
    ) -> None:
        self.client = client
        self.force = force
        self.field_manager = field_manager
        self.cleanup = flux_cleanup(field_manager, override_managers)
        self.wait_timeout = wait_timeout
        self.wait_interval = wait_interval

    async def apply_all_staged(
        self, objects: Sequence[Obj], *, decryption_configured: bool
    ) -> list[ChangeSetEntry]:
        """Apply every object stage by stage; return the change set in apply order.

        On failure the error message lists the objects already changed, as Flux's does.
        """
        for obj in objects:
            if (
                not decryption_configured
                and is_encrypted_secret(obj)
                and not is_decryption_disabled(obj)
            ):
                raise ApplyError(
                    f"{describe(obj)} is SOPS encrypted, configuring decryption is required "
                    "for this secret to be reconciled"
                )
        changes: list[ChangeSetEntry] = []
        try:
            for _name, stage, wait in apply_stages(objects).in_order():
                entries = await self.apply_all(stage)
                changes.extend(entries)
                if wait:
                    refs = [e.ref for e in entries if e.action != SKIPPED]
                    await self._wait(refs)
        except ApplyError as err:
            changed = "\n".join(str(e) for e in changes if e.action in (CREATED, CONFIGURED))
            if changed:
                raise ApplyError(f"{err.message}\n{changed}") from None
            raise
        return changes

    async def apply_all(self, objects: Sequence[Obj]) -> list[ChangeSetEntry]:
        """Dry-run every object (concurrently), then apply those that drifted, in order."""
        limit = asyncio.Semaphore(_DRY_RUN_CONCURRENCY)

        async def plan(obj: Obj) -> _Planned | ApplyError:
            async with limit:
                try:
                    return await self._plan(obj)
                except ApplyError as err:
                    return err

        planned = await asyncio.gather(*(plan(obj) for obj in objects))
        errors = [p for p in planned if isinstance(p, ApplyError)]
        if errors:
            raise ApplyError("\n".join(e.message for e in errors))
        entries: list[ChangeSetEntry] = []
        for item in planned:
            assert isinstance(item, _Planned)
            if item.needs_apply:
                try:
                    await self.client.apply(
                        item.resource, item.obj, field_manager=self.field_manager, force=True
                    )
                except KubeError as err:
                    raise ApplyError(f"{item.entry.ref} apply failed: {_reason(err)}") from None
            entries.append(item.entry)
        return entries

    async def _plan(self, desired: Obj) -> _Planned:
        where = describe(desired)
        try:
            resource = await self.client.discovery.resource_of(desired)
        except NoKindMatch:
            raise ApplyError(
                f"{where} dry-run failed: no matches for kind '{desired.get('kind')}' in "
                f"version '{desired.get('apiVersion')}' (is its CRD installed?)"
            ) from None
        except KubeError as err:
            raise ApplyError(f"{where} dry-run failed: {_reason(err)}") from None
        obj = _scoped(desired, resource)
        ref = ObjectRef.from_object(obj)
        namespace = ref.namespace or None
        if resource.namespaced and namespace is None:
            raise ApplyError(f"{ref} namespace not specified")
        existing = await self._get(resource, ref)

        if is_apply_excluded(obj) or (existing is not None and is_apply_excluded(existing)):
            return _Planned(obj, resource, ChangeSetEntry(ref, SKIPPED), needs_apply=False)
        if existing is not None and is_create_only(obj):
            return _Planned(obj, resource, ChangeSetEntry(ref, SKIPPED), needs_apply=False)

        try:
            dry_run = await self._dry_run(resource, obj)
        except KubeError as err:
            if (
                existing is None
                or not is_immutable_error(err)
                or not self._may_force(obj, existing)
            ):
                raise ApplyError(
                    f"{ref} dry-run failed{_api_reason(err)}: {_reason(err)}"
                ) from None
            await self._recreate(resource, ref)
            existing = None
            try:
                dry_run = await self._dry_run(resource, obj)
            except KubeError as again:
                raise ApplyError(
                    f"{ref} dry-run failed{_api_reason(again)}: {_reason(again)}"
                ) from None
        if existing is None:
            return _Planned(obj, resource, ChangeSetEntry(ref, CREATED), needs_apply=True)
        try:
            cleaned = await clean_up(
                self.client, resource, obj, existing, self.cleanup, self.field_manager
            )
        except KubeError as err:
            raise ApplyError(
                f"{ref} metadata.managedFields cleanup failed: {_reason(err)}"
            ) from None
        if cleaned is not None or has_drifted(existing, dry_run):
            return _Planned(obj, resource, ChangeSetEntry(ref, CONFIGURED), needs_apply=True)
        return _Planned(obj, resource, ChangeSetEntry(ref, UNCHANGED), needs_apply=False)

    def _may_force(self, desired: Obj, existing: Obj) -> bool:
        return self.force or is_force_enabled(desired) or is_force_enabled(existing)

    async def _get(self, resource: Resource, ref: ObjectRef) -> Obj | None:
        try:
            return await self.client.get(resource, ref.name, ref.namespace or None)
        except NotFound:
            return None
        except KubeError as err:
            raise ApplyError(f"{ref} query failed: {_reason(err)}") from None

    async def _dry_run(self, resource: Resource, obj: Obj) -> Obj:
        return await self.client.apply(
            resource, obj, field_manager=self.field_manager, force=True, dry_run=True
        )

    async def _recreate(self, resource: Resource, ref: ObjectRef) -> None:
        """Delete an object whose immutable fields changed and wait until it is gone."""
        try:
            await self.client.delete(
                resource, ref.name, ref.namespace or None, propagation_policy="Background"
            )
        except NotFound:
            return
        except KubeError as err:
            raise ApplyError(
                f"{ref} immutable field detected, failed to delete object: {_reason(err)}"
            ) from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_timeout
        while loop.time() < deadline:
            if await self._get(resource, ref) is None:
                return
            await asyncio.sleep(0.5)
        raise ApplyError(f"{ref} immutable field detected, timed out waiting for its deletion")

    async def _wait(self, refs: list[ObjectRef]) -> None:
        if not refs:
            return
        try:
            await wait_for_set(
                self.client, refs, timeout=self.wait_timeout, interval=self.wait_interval
            )
        except WaitError as err:
            raise ApplyError(str(err)) from None


def has_drifted(existing: Obj, dry_run: Obj) -> bool:
    """Whether applying would change the live object: labels, annotations, or anything
    outside metadata and status (fluxcd/pkg ssa's hasDrifted)."""
    if not dry_run.get("metadata", {}).get("resourceVersion"):
        return True
    live_meta, new_meta = existing.get("metadata") or {}, dry_run.get("metadata") or {}
    for field in ("labels", "annotations"):
        if (live_meta.get(field) or {}) != (new_meta.get(field) or {}):
            return True
    return _body(existing) != _body(dry_run)


def _body(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _scoped(obj: Obj, resource: Resource) -> Obj:
    """A cluster-scoped object loses any namespace kustomize gave it (the API ignores it)."""
    metadata = obj.get("metadata") or {}
    if resource.namespaced or "namespace" not in metadata:
        return obj
    return {**obj, "metadata": {k: v for k, v in metadata.items() if k != "namespace"}}


def _api_reason(err: KubeError) -> str:
    return f" ({err.api_reason})" if err.api_reason else ""


def _reason(err: KubeError) -> str:
    return err.message
