"""`gotk why` against the real API server: a broken chain made by the real source- and
kustomize-controllers, and hand-written statuses for the walk's other leaves."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from fixtures.cli import (
    KUSTOMIZE,
    SOURCE,
    Gotk,
    assert_snapshot,
    git_repository,
    kustomization,
    ready,
)
from fixtures.controllers import (
    RunningKustomizeController,
    RunningSourceController,
    condition,
    eventually,
)
from fixtures.git_servers import GitHTTPServer, GitRepo
from gotk_api.objects import Obj
from gotk_envtest import ControlPlane

_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_AGE = re.compile(r" \((?:\d+h)?(?:\d+m)?\d+s ago\)")


def _generic_times(text: str) -> str:
    return _AGE.sub(" ({age} ago)", _TIME.sub("{time}", text))


async def _ready_reason(cluster: ControlPlane, path: str, reason: str) -> Obj:
    async def check() -> Obj | None:
        _, obj = await cluster.request("GET", path)
        return obj if condition(obj, "Ready").get("reason") == reason else None

    found: Obj = await eventually(check, timeout=60)
    return found


async def test_why_walks_a_broken_chain_to_the_git_repository(
    gotk: Gotk,
    cluster: ControlPlane,
    namespace: str,
    source_controller: RunningSourceController,
    kustomize_controller: RunningKustomizeController,
    git_http_server: GitHTTPServer,
    make_git_repo: Callable[..., GitRepo],
) -> None:
    ns = namespace
    repo = make_git_repo()
    repo.commit({"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"})
    url = git_http_server.url(repo)
    source = {"url": url, "interval": "1h", "timeout": "20s", "suspend": False}
    await git_repository(cluster, ns, "apps", None, ref={"branch": "master"}, **source)
    await git_repository(cluster, ns, "infra", None, ref={"branch": "no-such-branch"}, **source)
    applier = {"interval": "1h", "path": "./", "suspend": False, "targetNamespace": ns}
    await kustomization(
        cluster, ns, "infra", None, sourceRef={"kind": "GitRepository", "name": "infra"}, **applier
    )
    await kustomization(
        cluster,
        ns,
        "apps",
        None,
        sourceRef={"kind": "GitRepository", "name": "apps"},
        dependsOn=[{"name": "infra"}],
        **applier,
    )
    await _ready_reason(
        cluster, f"{SOURCE}/namespaces/{ns}/gitrepositories/infra", "GitOperationFailed"
    )
    await _ready_reason(
        cluster, f"{KUSTOMIZE}/namespaces/{ns}/kustomizations/apps", "DependencyNotReady"
    )

    result = await gotk("why", "kustomization", "apps", "-n", ns)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith(f"Kustomization/{ns}/apps: failing (DependencyNotReady, since ")
    assert lines[-4] == f"Root cause: GitRepository/{ns}/infra"
    assert lines[-3] == "  Reason:  GitOperationFailed"
    assert "no-such-branch" in lines[-2]
    assert_snapshot("why_ks", _generic_times(result.out), ns=ns, url=url)

    as_json = await gotk("why", "ks/apps", "-n", ns, "-o", "json")
    document = json.loads(as_json.out)
    assert document["rootCauses"] == [f"GitRepository/{ns}/infra"]
    infra = document["object"]["children"][0]
    assert (infra["relation"], infra["field"], infra["name"]) == (
        "dependsOn",
        "spec.dependsOn[0]",
        "infra",
    )
    git = infra["children"][0]
    assert (git["kind"], git["reason"], git["rootCause"]) == (
        "GitRepository",
        "GitOperationFailed",
        True,
    )
    assert git["since"] is not None


async def test_why_names_a_missing_source_and_a_ready_object(
    gotk: Gotk, cluster: ControlPlane, namespace: str
) -> None:
    ns = namespace
    await kustomization(
        cluster,
        ns,
        "orphan",
        {"conditions": [ready("False", "source not found", "ArtifactFailed")]},
        sourceRef={"kind": "GitRepository", "name": "gone"},
    )
    await git_repository(cluster, ns, "app", {"conditions": [ready("True", "stored artifact")]})
    await kustomization(cluster, ns, "fine", {"conditions": [ready("True", "Applied revision: x")]})

    missing = await gotk("why", "ks", "orphan", "-n", ns)
    assert missing.code == 0, missing.err
    assert missing.out.splitlines()[2:4] == [
        f"└── sourceRef → GitRepository/{ns}/gone: missing (NotFound)  ← root cause",
        f"        GitRepository '{ns}/gone' not found",
    ]
    fine = await gotk("why", "Kustomization", "fine", "-n", ns)
    assert fine.out == f"Kustomization/{ns}/fine is Ready: Applied revision: x\n"


async def test_why_of_an_unknown_kind_or_object_is_one_line(gotk: Gotk, namespace: str) -> None:
    unknown = await gotk("why", "deployment", "web", "-n", namespace)
    assert unknown.code == 1
    assert unknown.err.startswith("✗ unknown kind 'deployment'")
    absent = await gotk("why", "hr", "nothing", "-n", namespace)
    assert absent.err == f"✗ HelmRelease {namespace}/nothing not found\n"


async def test_why_is_in_the_help_without_heavy_imports(gotk: Gotk) -> None:
    result = await gotk("why", "--help")
    assert result.code == 0
    assert "gotk why kustomization apps" in result.out
