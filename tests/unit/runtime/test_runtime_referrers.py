"""ReferrerIndex: the objects holding a reference are found without scanning the cache, and
the index follows references that change or disappear."""

from __future__ import annotations

from gotk_api.objects import Obj
from gotk_runtime.referrers import Reference, ReferrerIndex


def _ks(name: str, *sources: str) -> Obj:
    return {"metadata": {"name": name, "namespace": "apps"}, "spec": {"sources": list(sources)}}


def _refs(obj: Obj) -> list[Reference]:
    return [("GitRepository", "apps", s) for s in obj["spec"]["sources"]]


def _repo(name: str) -> Obj:
    return {"metadata": {"name": name, "namespace": "apps"}}


def _always(*_: object) -> bool:
    return True


def test_change_enqueues_only_the_objects_referencing_it() -> None:
    queued: list[str] = []
    index = ReferrerIndex("Kustomization", _refs)
    index.bind(queued.append)
    for obj in (_ks("a", "repo"), _ks("b", "other"), _ks("c", "repo", "other")):
        index.track("ADDED", obj, None)
    index.on_change("GitRepository", _always)("MODIFIED", _repo("repo"), None)
    assert queued == ["apps/a", "apps/c"]


def test_a_changed_or_deleted_reference_is_forgotten() -> None:
    queued: list[str] = []
    index = ReferrerIndex("Kustomization", _refs)
    index.bind(queued.append)
    index.track("ADDED", _ks("a", "repo"), None)
    index.track("ADDED", _ks("b", "repo"), None)
    index.track("MODIFIED", _ks("a", "other"), _ks("a", "repo"))
    index.track("DELETED", _ks("b", "repo"), _ks("b", "repo"))
    handler = index.on_change("GitRepository", _always)
    handler("MODIFIED", _repo("repo"), None)
    assert queued == []
    handler("MODIFIED", _repo("other"), None)
    assert queued == ["apps/a"]


def test_trigger_and_wants_filter_the_enqueues() -> None:
    queued: list[str] = []
    index = ReferrerIndex("Kustomization", _refs)
    index.bind(queued.append)
    index.track("ADDED", _ks("a", "repo"), None)
    index.track("ADDED", _ks("b", "repo"), None)
    index.on_change("GitRepository", lambda event, obj, old: event != "DELETED")(
        "DELETED", _repo("repo"), None
    )
    assert queued == []
    index.on_change("GitRepository", _always, wants=lambda ks, _: ks["metadata"]["name"] == "b")(
        "ADDED", _repo("repo"), None
    )
    assert queued == ["apps/b"]


def test_the_same_name_in_another_namespace_is_another_reference() -> None:
    queued: list[str] = []
    index = ReferrerIndex("Kustomization", _refs)
    index.bind(queued.append)
    index.track("ADDED", _ks("a", "repo"), None)
    other = {"metadata": {"name": "repo", "namespace": "elsewhere"}}
    index.on_change("GitRepository", _always)("MODIFIED", other, None)
    assert queued == []
