"""Field-manager take-over on apply, end to end: objects first written by `kubectl apply`
(client-side), `kubectl create` or `kubectl edit` lose the fields that are not in Git, while
fields of other managers and of `ssa: Merge` objects survive. The real kustomize-controller
and source-controller against the real API server, with a Git repository served over HTTP;
kubectl's writes are made as kubectl makes them (its field-manager names)."""

from __future__ import annotations

import json

from fixtures.kustomize_env import KsEnv, ready_at
from gotk_api.objects import Obj

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MERGE = {"kustomize.toolkit.fluxcd.io/ssa": "Merge"}


def _configmap(
    name: str, namespace: str, data: dict[str, str], annotations: dict[str, str] | None = None
) -> Obj:
    metadata: Obj = {"name": name, "namespace": namespace}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def _manifest(obj: Obj) -> str:
    return json.dumps(obj) + "\n"  # JSON is YAML


async def _kubectl_write(env: KsEnv, manager: str, obj: Obj, *, last_applied: bool = False) -> None:
    """Create `obj` as a kubectl command does: POST under kubectl's field-manager name,
    carrying the last-applied annotation when it is a client-side `kubectl apply`."""
    body = json.loads(json.dumps(obj))
    if last_applied:
        annotations = body["metadata"].setdefault("annotations", {})
        annotations[LAST_APPLIED] = json.dumps(obj, separators=(",", ":"))
    await env.call("POST", env.core_path(f"configmaps?fieldManager={manager}"), body)


async def _patch_as(env: KsEnv, manager: str, name: str, patch: Obj) -> None:
    await env.call("PATCH", env.core_path(f"configmaps/{name}?fieldManager={manager}"), patch)


async def _cm(env: KsEnv, name: str) -> Obj:
    return await env.call("GET", env.core_path(f"configmaps/{name}"))


def _managers(obj: Obj) -> set[tuple[str, str]]:
    return {(e["manager"], e["operation"]) for e in obj["metadata"].get("managedFields") or []}


async def test_kubectl_fields_missing_from_git_are_removed_while_other_managers_keep_theirs(
    env: KsEnv,
) -> None:
    namespace = env.namespace
    with_extra = {"a": "1", "extra": "x"}
    await _kubectl_write(
        env,
        "kubectl-client-side-apply",
        _configmap("applied", namespace, with_extra),
        last_applied=True,
    )
    await _kubectl_write(env, "kubectl-create", _configmap("created", namespace, with_extra))
    await _kubectl_write(
        env,
        "kubectl-client-side-apply",
        _configmap("merged", namespace, with_extra),
        last_applied=True,
    )
    shared = _configmap("shared", namespace, {"a": "1"})
    repo, sha1 = await env.source(
        {
            "deploy/applied.yaml": _manifest(_configmap("applied", namespace, {"a": "1"})),
            "deploy/created.yaml": _manifest(_configmap("created", namespace, {"a": "1"})),
            "deploy/merged.yaml": _manifest(_configmap("merged", namespace, {"a": "1"}, MERGE)),
            "deploy/shared.yaml": _manifest(shared),
        }
    )
    await env.kustomization("app", path="./deploy")
    await env.until("app", ready_at(sha1))

    # Taken over: the key left in place by kubectl is gone, and so is kubectl's annotation.
    for name in ("applied", "created"):
        cm = await _cm(env, name)
        assert cm["data"] == {"a": "1"}, name
        assert LAST_APPLIED not in (cm["metadata"].get("annotations") or {}), name
        managers = _managers(cm)
        assert ("kustomize-controller", "Apply") in managers, name
        assert not any(m.startswith("kubectl") for m, _ in managers), (name, managers)
    # `ssa: Merge`: kubectl keeps its key and annotation.
    merged = await _cm(env, "merged")
    assert merged["data"] == with_extra
    assert LAST_APPLIED in merged["metadata"]["annotations"]
    assert ("kubectl-client-side-apply", "Update") in _managers(merged)

    # After the first apply: a `kubectl edit` is undone, another manager's edit is kept.
    await _patch_as(env, "kubectl-edit", "applied", {"data": {"edited": "z"}})
    await _patch_as(
        env,
        "someone-else",
        "shared",
        {"metadata": {"labels": {"team": "x"}}, "data": {"other": "y"}},
    )
    shared["data"] = {"a": "2"}
    sha2 = await env.new_commit(repo, {"deploy/shared.yaml": _manifest(shared)})
    await env.until("app", ready_at(sha2))

    applied = await _cm(env, "applied")
    assert applied["data"] == {"a": "1"}
    assert not any(m.startswith("kubectl") for m, _ in _managers(applied))
    kept = await _cm(env, "shared")
    assert kept["data"] == {"a": "2", "other": "y"}
    assert kept["metadata"]["labels"]["team"] == "x"
    assert ("someone-else", "Update") in _managers(kept)

    # Once taken over, later reconciles leave the object alone.
    version = applied["metadata"]["resourceVersion"]
    shared["data"] = {"a": "3"}
    sha3 = await env.new_commit(repo, {"deploy/shared.yaml": _manifest(shared)})
    await env.until("app", ready_at(sha3))
    assert (await _cm(env, "applied"))["metadata"]["resourceVersion"] == version
