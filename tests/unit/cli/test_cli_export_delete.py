"""`gotk export` (clean YAML, --all) and `gotk delete` (confirmation, -s)."""

from __future__ import annotations

import pytest
import yaml
from fixtures.cli import KUSTOMIZE, Gotk, assert_snapshot, kustomization
from gotk_envtest import ControlPlane


async def test_export_all_prints_spec_without_status_or_server_fields(
    gotk: Gotk, populated: str
) -> None:
    result = await gotk("export", "source", "git", "--all", "-n", populated)
    assert result.code == 0, result.err
    assert_snapshot("export_source_git_all", result.out, ns=populated)
    documents = list(yaml.safe_load_all(result.out))
    assert [doc["metadata"]["name"] for doc in documents] == ["app", "broken"]
    assert all(set(doc) == {"apiVersion", "kind", "metadata", "spec"} for doc in documents)


async def test_export_one_helmrelease(gotk: Gotk, populated: str) -> None:
    result = await gotk("export", "hr", "podinfo", "-n", populated)
    assert result.code == 0, result.err
    [doc] = yaml.safe_load_all(result.out)
    assert doc["spec"]["chart"]["spec"]["chart"] == "podinfo"
    assert set(doc["metadata"]) == {"name", "namespace"}


async def test_export_of_nothing_is_an_error(gotk: Gotk, namespace: str) -> None:
    result = await gotk("export", "ks", "--all", "-n", namespace)
    assert result.code == 1
    assert result.err == f'✗ no objects found in "{namespace}" namespace\n'


@pytest.mark.parametrize(("answer", "deleted"), [("y\n", True), ("n\n", False), ("\n", False)])
async def test_delete_asks_first(
    gotk: Gotk,
    cluster: ControlPlane,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    deleted: bool,
) -> None:
    import io

    await kustomization(cluster, namespace, "apps", None)
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    result = await gotk("delete", "ks", "apps", "-n", namespace)
    code, _ = await cluster.request(
        "GET", f"{KUSTOMIZE}/namespaces/{namespace}/kustomizations/apps"
    )
    # A Kustomization without finalizers goes at once.
    assert (code == 404) is deleted
    if deleted:
        assert result.code == 0
        assert result.err == (
            "Are you sure you want to delete this kustomization [y/N]: "
            f"► deleting kustomization apps in {namespace} namespace\n"
            "✔ kustomization deleted\n"
        )
    else:
        assert result.code == 1
        assert result.err.endswith("✗ aborting\n")


async def test_delete_silent_and_missing(gotk: Gotk, cluster: ControlPlane, namespace: str) -> None:
    await kustomization(cluster, namespace, "apps", None)
    assert (await gotk("delete", "ks", "apps", "-s", "-n", namespace)).code == 0
    missing = await gotk("delete", "ks", "apps", "-s", "-n", namespace)
    assert missing.code == 1
    assert missing.err == f"✗ Kustomization {namespace}/apps not found\n"
