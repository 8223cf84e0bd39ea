"""The steps every source kind shares: checking storage, noting a new revision, recording."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.sources import SourceDeps, condition
from gotk_api.conditions import ARTIFACT_IN_STORAGE, ARTIFACT_OUTDATED, READY, RECONCILING
from gotk_api.objects import Obj
from gotk_runtime import Conditions
from source_controller.reconcilers import artifact_steps
from source_controller.reconcilers.steps import SourceContext
from source_controller.storage import StoredArtifact


async def _stored(deps: SourceDeps, tmp_path: Path, name: str, content: str) -> StoredArtifact:
    tree = tmp_path / name
    tree.mkdir()
    (tree / "file").write_text(content)
    return await deps.storage.archive(tree, "GitRepository", deps.namespace, "r")


def _context(deps: SourceDeps, artifact: StoredArtifact | None) -> SourceContext:
    obj = deps.source("GitRepository", "r", url="https://example.com/repo")
    if artifact is not None:
        api = artifact.to_api("master@sha1:" + "a" * 40)
        obj["status"] = {"artifact": api.model_dump(mode="json", exclude_none=True)}
        obj["status"]["artifact"]["url"] = "http://old-address/" + artifact.path
    Conditions(obj).mark_true(ARTIFACT_IN_STORAGE, "Succeeded", "stored earlier")
    return SourceContext(obj=obj, client=deps.client, storage=deps.storage, events=deps.events)


async def test_reconcile_storage_keeps_a_sound_artifact_on_the_current_address(
    source_deps: SourceDeps, tmp_path: Path
) -> None:
    stored = await _stored(source_deps, tmp_path, "one", "1")
    ctx = _context(source_deps, stored)
    await artifact_steps.reconcile_storage(ctx)
    assert ctx.obj["status"]["artifact"]["url"] == f"http://127.0.0.1:9090/{stored.path}"
    assert condition(ctx.obj, ARTIFACT_IN_STORAGE) == (
        "True",
        "Succeeded",
        f"stored artifact for revision 'master@sha1:{'a' * 40}'",
    )


@pytest.mark.parametrize(
    ("damage", "problem"),
    [("delete", "disappeared from storage"), ("corrupt", "no longer matches its digest")],
)
async def test_reconcile_storage_forgets_an_artifact_that_is_gone_or_corrupt(
    source_deps: SourceDeps, tmp_path: Path, damage: str, problem: str
) -> None:
    stored = await _stored(source_deps, tmp_path, "one", "1")
    local = source_deps.storage.local_path(stored.path)
    if damage == "delete":
        local.unlink()
    else:
        local.write_bytes(b"not what was stored")
    ctx = _context(source_deps, stored)
    await artifact_steps.reconcile_storage(ctx)
    assert "artifact" not in ctx.obj["status"]
    assert condition(ctx.obj, ARTIFACT_IN_STORAGE) is None
    message = f"building artifact: {problem}"
    assert condition(ctx.obj, RECONCILING) == ("True", "Progressing", message)
    assert condition(ctx.obj, READY) == ("Unknown", "Progressing", message)


async def test_reconcile_storage_without_an_artifact_drops_artifact_in_storage(
    source_deps: SourceDeps,
) -> None:
    ctx = _context(source_deps, None)
    await artifact_steps.reconcile_storage(ctx)
    assert condition(ctx.obj, ARTIFACT_IN_STORAGE) is None


async def test_reconcile_storage_collects_garbage_but_never_the_current_artifact(
    source_deps: SourceDeps, tmp_path: Path
) -> None:
    old = await _stored(source_deps, tmp_path, "old", "old")
    current = await _stored(source_deps, tmp_path, "current", "current")
    await artifact_steps.reconcile_storage(_context(source_deps, current))
    assert not await source_deps.storage.exists(old.path)
    assert await source_deps.storage.exists(current.path)


@pytest.mark.parametrize(("stored_revision", "new"), [(None, True), ("v1", True), ("v2", False)])
def test_mark_new_revision_only_for_a_revision_not_stored(
    stored_revision: str | None, new: bool
) -> None:
    obj: Obj = {"metadata": {"name": "r", "generation": 1}, "status": {}}
    if stored_revision is not None:
        obj["status"]["artifact"] = {"revision": stored_revision}
    assert artifact_steps.mark_new_revision(obj, "v2") is new
    outdated = condition(obj, ARTIFACT_OUTDATED)
    assert outdated == (("True", "NewRevision", "new upstream revision 'v2'") if new else None)
