"""Server-side apply in Flux's stages, with a change set (fluxcd/pkg ssa's ``ApplyAllStaged``).

Per object (``ApplyAll``): skip it if excluded or create-only and present (see
:func:`gotk_ssa.drift.is_skipped`); dry-run the apply; on an immutable-field error, with
``force`` or a match of the force selector, delete and recreate it; take fields over from
kubectl & co (``field_managers``); compare the dry-run result with the live object and apply
only what drifted or was taken over. The stage of CRDs/Namespaces/ClusterRoles (then the
``*Class`` stage) is waited for before the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from gotk_api.objects import Obj
from gotk_runtime import KubeClient, KubeError, NotFound

from gotk_ssa.changeset import Action, ChangeSetEntry
from gotk_ssa.drift import (
    Target,
    dry_run,
    dry_run_failed,
    get_live,
    has_drifted,
    is_immutable_error,
    is_skipped,
    resolve,
)
from gotk_ssa.errors import ApplyError, WaitError
from gotk_ssa.field_managers import clean_up
from gotk_ssa.inventory import ObjectRef
from gotk_ssa.metadata import any_in_metadata
from gotk_ssa.options import ApplyOptions
from gotk_ssa.stages import apply_stages
from gotk_ssa.wait import wait_for_set

_DRY_RUN_CONCURRENCY = 4


@dataclass(slots=True)
class _Planned:
    target: Target
    entry: ChangeSetEntry
    needs_apply: bool


class ResourceApplier:
    """Applies objects to one cluster with one client, as ``options`` say."""

    def __init__(self, client: KubeClient, options: ApplyOptions) -> None:
        self.client = client
        self.options = options

    async def apply_all_staged(self, objects: Sequence[Obj]) -> list[ChangeSetEntry]:
        """Apply every object stage by stage; return the change set in apply order.

        On failure the error message lists the objects already changed, as Flux's does.
        """
        changes: list[ChangeSetEntry] = []
        try:
            stages = apply_stages(objects, self.options.custom_stage_kinds)
            for _name, stage, wait in stages.in_order():
                entries = await self.apply_all(stage)
                changes.extend(entries)
                if wait:
                    refs = [e.ref for e in entries if e.action != Action.SKIPPED]
                    await self._wait(refs)
        except ApplyError as err:
            changed = "\n".join(str(e) for e in changes if e.action.changed)
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
                target = item.target
                try:
                    await self.client.apply(
                        target.resource,
                        target.obj,
                        field_manager=self.options.field_manager,
                        force=True,
                    )
                except KubeError as err:
                    raise ApplyError(f"{item.entry.ref} apply failed: {err.message}") from None
            entries.append(item.entry)
        return entries

    async def _plan(self, desired: Obj) -> _Planned:
        target = await resolve(self.client, desired)
        ref = target.ref
        existing = await get_live(self.client, target)
        if is_skipped(target.obj, existing, self.options):
            return _Planned(target, ChangeSetEntry(ref, Action.SKIPPED), needs_apply=False)

        field_manager = self.options.field_manager
        try:
            merged = await dry_run(self.client, target, field_manager)
        except KubeError as err:
            if (
                existing is None
                or not is_immutable_error(err)
                or not self._may_force(target.obj, existing)
            ):
                raise dry_run_failed(ref, err) from None
            await self._recreate(target)
            existing = None
            try:
                merged = await dry_run(self.client, target, field_manager)
            except KubeError as again:
                raise dry_run_failed(ref, again) from None
        if existing is None:
            return _Planned(target, ChangeSetEntry(ref, Action.CREATED), needs_apply=True)
        try:
            cleaned = await clean_up(
                self.client,
                target.resource,
                target.obj,
                existing,
                self.options.cleanup,
                field_manager,
            )
        except KubeError as err:
            raise ApplyError(
                f"{ref} metadata.managedFields cleanup failed: {err.message}"
            ) from None
        if cleaned is not None or has_drifted(existing, merged):
            return _Planned(target, ChangeSetEntry(ref, Action.CONFIGURED), needs_apply=True)
        return _Planned(target, ChangeSetEntry(ref, Action.UNCHANGED), needs_apply=False)

    def _may_force(self, desired: Obj, existing: Obj) -> bool:
        selector = self.options.force_selector
        return (
            self.options.force
            or any_in_metadata(desired, selector)
            or any_in_metadata(existing, selector)
        )

    async def _recreate(self, target: Target) -> None:
        """Delete an object whose immutable fields changed and wait until it is gone."""
        ref = target.ref
        try:
            await self.client.delete(
                target.resource, ref.name, ref.namespace or None, propagation_policy="Background"
            )
        except NotFound:
            return
        except KubeError as err:
            raise ApplyError(
                f"{ref} immutable field detected, failed to delete object: {err.message}"
            ) from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.wait_timeout
        while loop.time() < deadline:
            if await get_live(self.client, target) is None:
                return
            await asyncio.sleep(0.5)
        raise ApplyError(f"{ref} immutable field detected, timed out waiting for its deletion")

    async def _wait(self, refs: list[ObjectRef]) -> None:
        if not refs:
            return
        try:
            await wait_for_set(
                self.client,
                refs,
                timeout=self.options.wait_timeout,
                interval=self.options.wait_interval,
            )
        except WaitError as err:
            raise ApplyError(str(err)) from None
