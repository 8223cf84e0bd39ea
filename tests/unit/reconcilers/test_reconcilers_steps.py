"""The step driver every source reconciler runs on, and what the five share."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fixtures.sources import SourceDeps, condition
from gotk_api.conditions import FETCH_FAILED
from gotk_api.errors import GotkError
from gotk_runtime import GenericError, NotFound, Result, Stalling, Waiting
from source_controller.reconcilers import (
    BucketReconciler,
    GitRepositoryReconciler,
    HelmChartReconciler,
    HelmRepositoryReconciler,
    OCIRepositoryReconciler,
)
from source_controller.reconcilers.steps import (
    SourceContext,
    SourceReconciler,
    records,
    run_steps,
)


@dataclass(eq=False, kw_only=True)
class TraceContext(SourceContext):
    ran: list[str] = field(default_factory=list)
    workdir: Path = field(init=False)


def context(deps: SourceDeps) -> TraceContext:
    obj = deps.source("GitRepository", "steps", url="https://example.com/repo")
    return TraceContext(obj=obj, client=deps.client, storage=deps.storage, events=deps.events)


async def first(ctx: TraceContext) -> None:
    ctx.ran.append("first")
    ctx.workdir = await ctx.scratch("steps-")


async def finishing(ctx: TraceContext) -> None:
    ctx.ran.append("finishing")
    ctx.finish(Result(message="up to date"))


async def failing(ctx: TraceContext) -> None:
    ctx.ran.append("failing")
    raise GenericError("no", reason="Broken")


async def never(ctx: TraceContext) -> None:
    ctx.ran.append("never")


async def test_the_first_step_that_finishes_ends_the_run(source_deps: SourceDeps) -> None:
    ctx = context(source_deps)
    result = await run_steps(ctx, [first, finishing, never])
    assert result == Result(message="up to date")
    assert ctx.ran == ["first", "finishing"]
    assert ctx.workdir.name not in os.listdir(ctx.workdir.parent), "removed when the run ends"


async def test_the_first_error_ends_the_run_unchanged(source_deps: SourceDeps) -> None:
    ctx = context(source_deps)
    with pytest.raises(GenericError, match="no") as caught:
        await run_steps(ctx, [first, failing, never])
    assert caught.value.reason == "Broken"
    assert ctx.ran == ["first", "failing"]
    assert ctx.workdir.name not in os.listdir(ctx.workdir.parent), "removed on failure too"


async def test_a_run_no_step_finishes_is_a_bug(source_deps: SourceDeps) -> None:
    with pytest.raises(RuntimeError, match=r"no step finished the reconcile \(first, never\)"):
        await run_steps(context(source_deps), [first, never])


@pytest.mark.parametrize(
    ("error", "recorded"),
    [
        (GenericError("secret gone", reason="AuthenticationFailed"), "AuthenticationFailed"),
        (Stalling("bad url", reason="URLInvalid"), "URLInvalid"),
        (Waiting("later", requeue_after=5, reason="NoSourceArtifact"), "NoSourceArtifact"),
        (GotkError("plain"), "Failed"),
        (NotFound("secrets 'x' not found"), None),
        (ValueError("a bug"), None),
    ],
    ids=["generic", "stalling", "waiting", "root", "api-server", "not-gotk"],
)
async def test_records_marks_the_condition_and_raises_the_same_error(
    source_deps: SourceDeps, error: Exception, recorded: str | None
) -> None:
    @records(FETCH_FAILED)
    async def fetch(ctx: TraceContext) -> None:
        raise error

    ctx = context(source_deps)
    with pytest.raises(type(error)) as caught:
        await fetch(ctx)
    assert caught.value is error
    expected = None if recorded is None else ("True", recorded, str(error))
    assert condition(ctx.obj, FETCH_FAILED) == expected


async def test_records_leaves_the_condition_alone_on_success(source_deps: SourceDeps) -> None:
    @records(FETCH_FAILED)
    async def fetch(ctx: TraceContext) -> None:
        ctx.ran.append("fetch")

    ctx = context(source_deps)
    await fetch(ctx)
    assert ctx.ran == ["fetch"]
    assert condition(ctx.obj, FETCH_FAILED) is None
    assert fetch.__name__ == "fetch"


@pytest.mark.parametrize(
    "reconciler",
    [
        GitRepositoryReconciler,
        OCIRepositoryReconciler,
        HelmRepositoryReconciler,
        HelmChartReconciler,
        BucketReconciler,
    ],
)
async def test_finalize_removes_the_objects_artifacts(
    source_deps: SourceDeps, tmp_path: Path, reconciler: type[SourceReconciler]
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "file").write_text("x")
    storage, namespace = source_deps.storage, source_deps.namespace
    kept = await storage.archive(tree, reconciler.kind, namespace, "other")
    gone = await storage.archive(tree, reconciler.kind, namespace, "deleted")
    source = reconciler(source_deps.client, storage, source_deps.events)
    await source.finalize(source_deps.source(reconciler.kind, "deleted"))
    assert not await storage.exists(gone.path)
    assert await storage.exists(kept.path)
