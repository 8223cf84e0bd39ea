"""The shape of every source reconciler: an ordered list of steps over one context.

Flux's source reconcilers run `reconcileStorage` → `reconcileSource` → (`reconcileInclude`)
→ `reconcileArtifact` and stop at the first error or early result. Here a step is
`async def step(ctx) -> None` over its kind's `SourceContext`. A step

- reads and writes `ctx.obj` (conditions, status fields) and keeps on `ctx` what later
  steps need (credentials, the remote revision, a checked-out tree);
- raises a typed `GotkError` to stop with a failure: the runtime alone turns its reason
  and `stalling` into Ready/Stalled, a requeue and an event;
- or calls `ctx.finish(result)` to stop with a success (say, nothing changed upstream).

What a step opens for the rest of the run (a scratch directory, a registry client) goes on
`ctx.resources`, closed when the run ends, however it ends.
"""

from __future__ import annotations

import abc
import contextlib
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from gotk_api.errors import GotkError
from gotk_api.objects import Obj
from gotk_artifacts.scratch import scratch_dir
from gotk_runtime import Conditions, EventRecorder, KubeClient, KubeError, Reconciler, Result

from source_controller.storage import ArtifactStorage

__all__ = ["SourceContext", "SourceReconciler", "Step", "records", "run_steps"]

Ctx = TypeVar("Ctx", bound="SourceContext")
Step = Callable[[Ctx], Awaitable[None]]


@dataclass(eq=False, kw_only=True)
class SourceContext:
    """What the steps of one reconcile share; each kind adds its parsed object and the
    fields its steps fill in (declared `field(init=False)`: set by the step that owns them)."""

    obj: Obj
    client: KubeClient
    storage: ArtifactStorage
    events: EventRecorder
    resources: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    result: Result | None = None

    @property
    def conditions(self) -> Conditions:
        return Conditions(self.obj)

    @property
    def status(self) -> Obj:
        status: Obj = self.obj.setdefault("status", {})
        return status

    async def scratch(self, prefix: str) -> Path:
        """A scratch directory that lives until the run ends."""
        return await self.resources.enter_async_context(scratch_dir(prefix))

    def finish(self, result: Result) -> None:
        """End the run successfully once the current step returns."""
        self.result = result


async def run_steps(ctx: Ctx, steps: Sequence[Step[Ctx]]) -> Result:
    """Run `steps` in order until one raises or finishes the run."""
    async with ctx.resources:
        for step in steps:
            await step(ctx)
            if ctx.result is not None:
                return ctx.result
    names = ", ".join(step.__name__ for step in steps)
    raise RuntimeError(f"no step finished the reconcile ({names})")


def records(condition: str) -> Callable[[Step[Ctx]], Step[Ctx]]:
    """Mark `condition` (FetchFailed, StorageOperationFailed) True with the reason and
    message of a gotk error the step raises; the error itself goes on unchanged.

    An API server failure is not the source's fault and is not recorded.
    """

    def wrap(step: Step[Ctx]) -> Step[Ctx]:
        @functools.wraps(step)
        async def recorded(ctx: Ctx) -> None:
            try:
                await step(ctx)
            except KubeError:
                raise
            except GotkError as err:
                ctx.conditions.mark_true(condition, err.reason, str(err))
                raise

        return recorded

    return wrap


class SourceReconciler(Reconciler):
    """What the five source reconcilers share: their dependencies, and the finalizer that
    removes an object's artifacts from storage. Each kind's `reconcile` runs its steps."""

    def __init__(self, client: KubeClient, storage: ArtifactStorage, events: EventRecorder) -> None:
        self.client = client
        self.storage = storage
        self.events = events

    @abc.abstractmethod
    def context(self, obj: Obj) -> SourceContext:
        """What one reconcile of `obj` runs on: the kind's own context, the object parsed."""

    async def finalize(self, obj: Obj) -> None:
        meta = obj["metadata"]
        await self.storage.remove_all(self.kind, meta["namespace"], meta["name"])
