"""Pure parts of the Kustomization reconciler's steps: flags, access control, health-check
targets, kubeconfig sanitising, deletion policy and the source-revision watch."""

from __future__ import annotations

from typing import Any

import pytest
from gotk_api.kustomize import Kustomization
from gotk_api.meta import format_duration
from gotk_api.objects import Obj
from gotk_artifacts.revision import brings_new_artifact
from gotk_runtime import Stalling
from gotk_runtime.kube import sanitize_kubeconfig
from gotk_runtime.ratelimit import TokenBucket
from gotk_runtime.referrers import ReferrerIndex
from gotk_ssa import Action, ChangeSetEntry, ObjectRef
from kustomize_controller.finalize import should_delete_resources
from kustomize_controller.health_checks import health_check_refs
from kustomize_controller.impersonation import own_limiter, service_account_user
from kustomize_controller.options import parse_options
from kustomize_controller.source import (
    get_source_artifact,
    needs_revision,
    same_revision,
    source_references,
)


def _ks(namespace: str = "apps", **spec: Any) -> Kustomization:
    body: Obj = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "app", "namespace": namespace},
        "spec": {
            "interval": "5m",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
            **spec,
        },
    }
    return Kustomization.model_validate(body)


def test_flags_have_flux_defaults_and_names() -> None:
    runtime, options = parse_options([])
    assert runtime.controller_name == "kustomize-controller"
    assert runtime.concurrent == 4
    assert options.requeue_dependency == 30.0
    assert not options.no_cross_namespace_refs
    assert options.default_service_account == ""
    _, options = parse_options(
        [
            "--requeue-dependency=5s",
            "--no-cross-namespace-refs",
            "--default-service-account=deployer",
            "--feature-gates=StrictPostBuildSubstitutions=true",
        ]
    )
    assert options.requeue_dependency == 5.0
    assert options.no_cross_namespace_refs
    assert options.default_service_account == "deployer"
    assert options.strict_substitutions


async def test_cross_namespace_source_is_access_denied_when_locked_down() -> None:
    ks = _ks(sourceRef={"kind": "GitRepository", "name": "repo", "namespace": "flux-system"})
    with pytest.raises(Stalling) as caught:
        # The ACL is decided before any request: no client is needed.
        await get_source_artifact(
            None,  # type: ignore[arg-type]
            ks,
            no_cross_namespace_refs=True,
            requeue_dependency=30,
        )
    assert caught.value.reason == "AccessDenied"
    assert "GitRepository/flux-system/repo" in str(caught.value)


def test_health_checks_target_applied_objects_with_wait_but_never_the_kustomization() -> None:
    cm = ObjectRef("apps", "cm", "", "ConfigMap", "v1")
    me = ObjectRef("apps", "app", "kustomize.toolkit.fluxcd.io", "Kustomization", "v1")
    skipped = ObjectRef("apps", "s", "", "Secret", "v1")
    changes = [
        ChangeSetEntry(cm, Action.CREATED),
        ChangeSetEntry(me, Action.CREATED),
        ChangeSetEntry(skipped, Action.SKIPPED),
    ]
    assert health_check_refs(_ks(wait=True), changes) == [cm]
    listed = _ks(healthChecks=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}])
    assert health_check_refs(listed, changes) == [
        ObjectRef("apps", "web", "apps", "Deployment", "v1")
    ]


def test_kubeconfig_sanitising_keeps_inline_data_and_drops_files_and_exec() -> None:
    document = {
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": "https://x",
                    "certificate-authority": "/etc/ca",
                    "certificate-authority-data": "Q0E=",
                },
            }
        ],
        "users": [
            {"name": "u", "user": {"exec": {"command": "steal"}, "client-key": "/k", "token": "t"}}
        ],
    }
    sanitized = sanitize_kubeconfig(document)
    assert sanitized["clusters"][0]["cluster"] == {
        "server": "https://x",
        "certificate-authority-data": "Q0E=",
    }
    assert sanitized["users"][0]["user"] == {"token": "t"}
    assert service_account_user("apps", "deployer") == "system:serviceaccount:apps:deployer"


@pytest.mark.parametrize(
    ("spec", "inventory", "deletes"),
    [
        ({"prune": True}, True, True),
        ({"prune": False}, True, False),
        ({"prune": False, "deletionPolicy": "Delete"}, True, True),
        ({"prune": True, "deletionPolicy": "Orphan"}, True, False),
        ({"prune": True}, False, False),
        ({"prune": True, "suspend": True}, True, False),
    ],
)
def test_deletion_policy_decides_what_finalization_prunes(
    spec: Obj, inventory: bool, deletes: bool
) -> None:
    ks = _ks(**spec)
    if inventory:
        ks = Kustomization.model_validate(
            {
                **ks.model_dump(mode="json", by_alias=True),
                "status": {"inventory": {"entries": [{"id": "apps_cm__ConfigMap", "v": "v1"}]}},
            }
        )
    assert should_delete_resources(ks) is deletes


def test_new_source_revision_enqueues_only_kustomizations_that_have_not_attempted_it() -> None:
    def ks(name: str, source: str, attempted: str, ready: str = "True") -> Obj:
        return {
            "metadata": {"name": name, "namespace": "apps"},
            "spec": {"sourceRef": {"kind": "GitRepository", "name": source}},
            "status": {
                "lastAttemptedRevision": attempted,
                "conditions": [{"type": "Ready", "status": ready}],
            },
        }

    objects = [
        ks("a", "repo", "main@sha1:1"),
        ks("b", "repo", "main@sha1:2"),
        ks("c", "other", "main@sha1:1"),
        ks("d", "repo", "main@sha1:2", ready="False"),
    ]
    queued: list[str] = []
    index = ReferrerIndex("Kustomization", source_references)
    index.bind(queued.append)
    for obj in objects:
        index.track("ADDED", obj, None)
    handler = index.on_change("GitRepository", brings_new_artifact, wants=needs_revision)
    source = {
        "metadata": {"name": "repo", "namespace": "apps"},
        "status": {"artifact": {"revision": "main@sha1:2"}},
    }
    old = {"metadata": source["metadata"], "status": {"artifact": {"revision": "main@sha1:1"}}}
    handler("MODIFIED", source, old)
    assert queued == ["apps/a", "apps/d"]
    queued.clear()
    handler("MODIFIED", source, source)
    assert queued == []


def test_revisions_and_durations_are_spelled_like_flux() -> None:
    assert same_revision("main@sha1:abc", "main@sha1:abc")
    assert same_revision("main@sha1:abc", "main/abc")
    assert not same_revision("main@sha1:abc", "main@sha1:def")
    assert not same_revision("main@sha1:abc", None)
    assert format_duration(30) == "30s"
    assert format_duration(90) == "1m30s"
    assert format_duration(3600) == "1h0m0s"


def test_an_impersonating_client_gets_its_own_api_budget() -> None:
    """As in Flux (a client per rest.Config): same QPS and burst, a separate bucket."""
    template = TokenBucket(50.0, 300)
    for _ in range(300):
        template.reserve()
    own = own_limiter(template)
    assert own is not None
    assert own is not template
    assert (own.qps, own.burst) == (50.0, 300)
    assert own.reserve() == 0.0
    assert own_limiter(None) is None
