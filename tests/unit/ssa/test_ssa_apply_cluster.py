"""Staged server-side apply against the real API server: the change set, exclusions and
create-only objects, forced recreation, and each step's failure named in the ApplyError."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fixtures.rbac import client_allowed
from fixtures.runtime import eventually, widget
from gotk_api.objects import Obj
from gotk_runtime import KubeClient, KubeError, NotFound, Resource
from gotk_runtime.kube import CONFIG_MAPS, NAMESPACES, SECRETS
from gotk_ssa import Action, ApplyError, ApplyOptions, ResourceApplier

OWNER = "ssa-tests"
EXCLUDE = {"example.com/ssa": "ignore"}
CREATE_ONLY = {"example.com/ssa": "IfNotPresent"}
FORCE = {"example.com/force": "enabled"}


def configmap(namespace: str, name: str, **data: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


def options(**overrides: Any) -> ApplyOptions:
    values: dict[str, Any] = {
        "field_manager": OWNER,
        "exclusion_selector": EXCLUDE,
        "if_not_present_selector": CREATE_ONLY,
        "force_selector": FORCE,
        "wait_timeout": 5.0,
        "wait_interval": 0.2,
    }
    return ApplyOptions(**(values | overrides))


def annotated(obj: Obj, annotations: dict[str, str]) -> Obj:
    obj["metadata"]["annotations"] = annotations
    return obj


def immutable_secret(namespace: str, value: str, annotations: dict[str, str] | None = None) -> Obj:
    secret: Obj = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "frozen", "namespace": namespace},
        "immutable": True,
        "stringData": {"k": value},
    }
    if annotations:
        secret["metadata"]["annotations"] = annotations
    return secret


def actions(changes: list[Any]) -> list[tuple[str, str]]:
    return [(str(e.ref), str(e.action)) for e in changes]


async def test_change_set_is_created_then_unchanged_then_configured(
    kube: KubeClient, namespace: str
) -> None:
    applier = ResourceApplier(kube, options())
    objects = [configmap(namespace, "b", k="1"), configmap(namespace, "a", k="1")]

    first = await applier.apply_all_staged(objects)
    again = await applier.apply_all_staged(objects)
    objects[0]["data"] = {"k": "2"}
    changed = await applier.apply_all_staged(objects)

    a, b = f"ConfigMap/{namespace}/a", f"ConfigMap/{namespace}/b"
    assert actions(first) == [(a, "created"), (b, "created")]
    assert actions(again) == [(a, "unchanged"), (b, "unchanged")]
    assert actions(changed) == [(a, "unchanged"), (b, "configured")]
    live = await kube.get(CONFIG_MAPS, "b", namespace)
    assert live["data"] == {"k": "2"}
    assert [m["manager"] for m in live["metadata"]["managedFields"]] == [OWNER]


async def test_a_namespace_is_applied_and_waited_for_before_what_goes_in_it(
    kube: KubeClient, namespace: str
) -> None:
    fresh = f"{namespace}-n"
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": fresh}}
    try:
        changes = await ResourceApplier(kube, options()).apply_all_staged(
            [configmap(fresh, "in-it"), ns]
        )
        assert actions(changes) == [
            (f"Namespace/{fresh}", "created"),
            (f"ConfigMap/{fresh}/in-it", "created"),
        ]
    finally:
        with contextlib.suppress(NotFound):
            await kube.delete(NAMESPACES, fresh)


@pytest.mark.parametrize(
    ("live_annotations", "desired_annotations", "action", "data"),
    [
        ({}, EXCLUDE, "skipped", {"k": "live"}),
        (EXCLUDE, {}, "skipped", {"k": "live"}),
        ({}, CREATE_ONLY, "skipped", {"k": "live"}),
        ({}, {}, "configured", {"k": "desired"}),
    ],
)
async def test_excluded_and_create_only_objects_are_left_as_they_are(
    kube: KubeClient,
    namespace: str,
    live_annotations: dict[str, str],
    desired_annotations: dict[str, str],
    action: str,
    data: dict[str, str],
) -> None:
    await kube.create(CONFIG_MAPS, annotated(configmap(namespace, "c", k="live"), live_annotations))
    desired = annotated(configmap(namespace, "c", k="desired"), desired_annotations)

    (entry,) = await ResourceApplier(kube, options()).apply_all_staged([desired])

    assert str(entry.action) == action
    assert (await kube.get(CONFIG_MAPS, "c", namespace))["data"] == data


async def test_create_only_objects_are_created_when_missing(
    kube: KubeClient, namespace: str
) -> None:
    desired = annotated(configmap(namespace, "c", k="1"), CREATE_ONLY)
    (entry,) = await ResourceApplier(kube, options()).apply_all_staged([desired])
    assert entry.action is Action.CREATED


@pytest.mark.parametrize(
    ("force", "desired_annotations", "live_annotations"),
    [(True, {}, {}), (False, FORCE, {}), (False, {}, FORCE)],
)
async def test_an_immutable_change_recreates_the_object_when_forced(
    kube: KubeClient,
    namespace: str,
    force: bool,
    desired_annotations: dict[str, str],
    live_annotations: dict[str, str],
) -> None:
    await kube.create(SECRETS, immutable_secret(namespace, "old", live_annotations))
    old_uid = (await kube.get(SECRETS, "frozen", namespace))["metadata"]["uid"]

    (entry,) = await ResourceApplier(kube, options(force=force)).apply_all_staged(
        [immutable_secret(namespace, "new", desired_annotations)]
    )

    assert entry.action is Action.CREATED
    live = await kube.get(SECRETS, "frozen", namespace)
    assert live["metadata"]["uid"] != old_uid
    assert live["data"] == {"k": "bmV3"}


Setup = Callable[[KubeClient, str], Awaitable[None]]


async def _nothing(kube: KubeClient, namespace: str) -> None:
    return None


async def _old_immutable_secret(kube: KubeClient, namespace: str) -> None:
    await kube.create(SECRETS, immutable_secret(namespace, "old"))


@pytest.mark.parametrize(
    ("setup", "desired", "message"),
    [
        pytest.param(
            _nothing,
            lambda ns: {
                "apiVersion": "nope.example.com/v1",
                "kind": "Nope",
                "metadata": {"name": "x", "namespace": ns},
            },
            "Nope/{ns}/x dry-run failed: no matches for kind 'Nope' in version "
            "'nope.example.com/v1' (is its CRD installed?)",
            id="unknown-kind",
        ),
        pytest.param(
            _nothing,
            lambda ns: {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
            "ConfigMap/x namespace not specified",
            id="no-namespace",
        ),
        pytest.param(
            _nothing,
            lambda ns: widget(ns, "w", replicas=-1),
            "Widget/{ns}/w dry-run failed (Invalid): ",
            id="invalid",
        ),
        pytest.param(
            _old_immutable_secret,
            lambda ns: immutable_secret(ns, "new"),
            "Secret/{ns}/frozen dry-run failed (Invalid): ",
            id="immutable-not-forced",
        ),
    ],
)
@pytest.mark.usefixtures("widget_crd")
async def test_a_refused_dry_run_fails_naming_the_object_and_the_api_reason(
    kube: KubeClient,
    namespace: str,
    setup: Setup,
    desired: Callable[[str], Obj],
    message: str,
) -> None:
    await setup(kube, namespace)
    with pytest.raises(ApplyError) as info:
        await ResourceApplier(kube, options()).apply_all_staged([desired(namespace)])
    assert info.value.message.startswith(message.format(ns=namespace))
    assert info.value.reason == "ReconciliationFailed"
    assert "\n" not in info.value.message


@pytest.mark.usefixtures("widget_crd")
async def test_every_refused_object_of_a_stage_is_named_and_nothing_of_it_is_applied(
    kube: KubeClient, namespace: str
) -> None:
    objects = [
        widget(namespace, "bad-1", replicas=-1),
        configmap(namespace, "fine"),
        widget(namespace, "bad-2", replicas=-2),
    ]
    with pytest.raises(ApplyError) as info:
        await ResourceApplier(kube, options()).apply_all_staged(objects)
    lines = info.value.message.splitlines()
    assert [line.split(" ")[0] for line in lines] == [
        f"Widget/{namespace}/bad-1",
        f"Widget/{namespace}/bad-2",
    ]
    with pytest.raises(NotFound):
        await kube.get(CONFIG_MAPS, "fine", namespace)


async def test_a_failure_in_a_later_stage_lists_what_earlier_stages_changed(
    kube: KubeClient, namespace: str
) -> None:
    fresh = f"{namespace}-n"
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": fresh}}
    unknown: Obj = {
        "apiVersion": "nope.example.com/v1",
        "kind": "Nope",
        "metadata": {"name": "x", "namespace": fresh},
    }
    try:
        with pytest.raises(ApplyError) as info:
            await ResourceApplier(kube, options()).apply_all_staged([unknown, ns])
        assert info.value.message.splitlines()[-1] == f"Namespace/{fresh} created"
    finally:
        with contextlib.suppress(NotFound):
            await kube.delete(NAMESPACES, fresh)


async def test_a_staged_wait_that_times_out_fails_the_apply(
    kube: KubeClient, namespace: str
) -> None:
    # The minimal cluster has no namespace controller: a deleted namespace stays Terminating.
    doomed = f"{namespace}-t"
    await kube.create(
        NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": doomed}}
    )
    await kube.delete(NAMESPACES, doomed)
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": doomed}}

    with pytest.raises(ApplyError) as info:
        await ResourceApplier(kube, options(wait_timeout=1.0)).apply_all_staged([ns])

    assert info.value.message == (
        f"timeout waiting for: [Namespace/{doomed} status: 'Terminating': "
        "Resource scheduled for deletion]"
    )


async def test_a_forced_recreate_that_cannot_delete_fails_naming_the_object(
    kube: KubeClient, namespace: str
) -> None:
    await kube.create(SECRETS, immutable_secret(namespace, "old"))
    async with client_allowed(kube, namespace, ["get", "patch"]) as client:
        with pytest.raises(ApplyError) as info:
            await ResourceApplier(client, options(force=True)).apply_all_staged(
                [immutable_secret(namespace, "new")]
            )
    assert info.value.message.startswith(
        f"Secret/{namespace}/frozen immutable field detected, failed to delete object: "
    )
    assert "forbidden" in info.value.message


async def test_a_forced_recreate_that_never_completes_times_out(
    kube: KubeClient, namespace: str
) -> None:
    held = immutable_secret(namespace, "old")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    await kube.create(SECRETS, held)
    try:
        with pytest.raises(ApplyError) as info:
            await ResourceApplier(kube, options(force=True, wait_timeout=1.0)).apply_all_staged(
                [immutable_secret(namespace, "new")]
            )
        assert info.value.message == (
            f"Secret/{namespace}/frozen immutable field detected, "
            "timed out waiting for its deletion"
        )
    finally:
        await kube.patch(SECRETS, "frozen", {"metadata": {"finalizers": None}}, namespace=namespace)


async def test_an_object_that_cannot_be_read_fails_as_a_query(
    kube: KubeClient, namespace: str
) -> None:
    async with client_allowed(kube, namespace, ["patch"], resources=["secrets"]) as client:
        with pytest.raises(ApplyError) as info:
            await ResourceApplier(client, options()).apply_all_staged([configmap(namespace, "c")])
    assert info.value.message.startswith(f"ConfigMap/{namespace}/c query failed: ")


POLICIES = Resource(
    "admissionregistration.k8s.io",
    "v1",
    "validatingadmissionpolicies",
    "ValidatingAdmissionPolicy",
    namespaced=False,
)
POLICY_BINDINGS = Resource(
    "admissionregistration.k8s.io",
    "v1",
    "validatingadmissionpolicybindings",
    "ValidatingAdmissionPolicyBinding",
    namespaced=False,
)


async def test_an_apply_refused_after_its_dry_run_passed_names_the_object(
    kube: KubeClient, namespace: str
) -> None:
    # An admission policy that admits dry runs only: the plan passes, the apply is refused.
    name = f"dry-run-only-{namespace}"
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["configmaps"],
                    }
                ]
            },
            "validations": [{"expression": "request.dryRun == true", "message": "dry runs only"}],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
            },
        },
    }
    await kube.apply(POLICIES, policy, field_manager=OWNER)
    await kube.apply(POLICY_BINDINGS, binding, field_manager=OWNER)
    try:

        async def enforced() -> bool:
            try:
                await kube.apply(CONFIG_MAPS, configmap(namespace, "probe"), field_manager=OWNER)
            except KubeError:
                return True
            return False

        await eventually(enforced, timeout=20, interval=0.5)
        with pytest.raises(ApplyError) as info:
            await ResourceApplier(kube, options()).apply_all_staged([configmap(namespace, "c")])
        assert info.value.message.startswith(f"ConfigMap/{namespace}/c apply failed: ")
        assert "dry runs only" in info.value.message
    finally:
        await kube.delete(POLICY_BINDINGS, name)
        await kube.delete(POLICIES, name)
