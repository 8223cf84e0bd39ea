"""`gotk get` and `gotk suspend` against the real API server.

Status is written by hand through the /status subresource; every object is suspended so a
controller running elsewhere in the session leaves it alone.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from gotk_api.objects import Obj
from gotk_api.source import GitRepository
from gotk_cli import run
from gotk_cli.cluster import Cluster
from gotk_cli.errors import CrdNotInstalled
from gotk_cli.get import get
from gotk_cli.kinds import CliKind
from gotk_cli.log import Log
from gotk_envtest import ControlPlane
from gotk_runtime import KubeClient, load_config

SOURCE = "/apis/source.toolkit.fluxcd.io/v1"
KUSTOMIZE = "/apis/kustomize.toolkit.fluxcd.io/v1"


async def create(cluster: ControlPlane, path: str, obj: Obj, status: Obj | None = None) -> None:
    code, body = await cluster.request("POST", path, obj)
    assert code == 201, body
    if status is not None:
        code, body = await cluster.request(
            "PATCH",
            f"{path}/{obj['metadata']['name']}/status",
            {"status": status},
            content_type="application/merge-patch+json",
        )
        assert code == 200, body


def ready(status: str, message: str) -> Obj:
    return {
        "type": "Ready",
        "status": status,
        "reason": "Succeeded" if status == "True" else "Failed",
        "message": message,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
        "observedGeneration": 1,
    }


async def git_repository(
    cluster: ControlPlane, namespace: str, name: str, status: Obj | None
) -> None:
    obj = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"url": "https://example.invalid/repo.git", "interval": "1m", "suspend": True},
    }
    await create(cluster, f"{SOURCE}/namespaces/{namespace}/gitrepositories", obj, status)


async def kustomization(
    cluster: ControlPlane, namespace: str, name: str, status: Obj | None
) -> None:
    obj = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "interval": "5m",
            "prune": True,
            "suspend": True,
            "sourceRef": {"kind": "GitRepository", "name": "app"},
        },
    }
    await create(cluster, f"{KUSTOMIZE}/namespaces/{namespace}/kustomizations", obj, status)


@pytest.fixture
async def populated(cluster: ControlPlane, namespace: str) -> str:
    await git_repository(
        cluster,
        namespace,
        "app",
        {
            "artifact": {
                "path": "gitrepository/x/app/a.tar.gz",
                "url": "http://storage/a.tar.gz",
                "revision": "main@sha1:1111",
                "digest": "sha256:" + "0" * 64,
                "lastUpdateTime": "2026-01-01T00:00:00Z",
            },
            "conditions": [ready("True", "stored artifact for revision 'main@sha1:1111'")],
        },
    )
    await git_repository(
        cluster, namespace, "broken", {"conditions": [ready("False", "auth failed")]}
    )
    await kustomization(
        cluster,
        namespace,
        "apps",
        {
            "lastAppliedRevision": "main@sha1:1111",
            "conditions": [ready("True", "Applied revision: main@sha1:1111")],
        },
    )
    return namespace


async def test_get_sources_git_prints_flux_table(
    cluster: ControlPlane, populated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await run(
        ["get", "sources", "git", "-n", populated, f"--kubeconfig={cluster.kubeconfig}"]
    )
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"]
    assert lines[1].split() == [
        "app",
        "main@sha1:1111",
        "True",
        "True",
        "stored",
        "artifact",
        "for",
        "revision",
        "'main@sha1:1111'",
    ]
    assert lines[2].split() == ["broken", "True", "False", "auth", "failed"]
    assert len(lines) == 3


async def test_get_ks_shows_last_applied_revision(
    cluster: ControlPlane, populated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(["get", "ks", "-n", populated, f"--kubeconfig={cluster.kubeconfig}"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:4] == ["apps", "main@sha1:1111", "True", "True"]


async def test_get_all_namespaces_adds_namespace_column(
    cluster: ControlPlane, populated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(["get", "sources", "git", "-A", f"--kubeconfig={cluster.kubeconfig}"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    mine = [line.split()[:2] for line in lines[1:] if line.startswith(populated + " ")]
    assert mine == [[populated, "app"], [populated, "broken"]]


async def test_get_all_lists_each_kind_with_kind_prefixed_names(
    cluster: ControlPlane, populated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(["get", "all", "-n", populated, f"--kubeconfig={cluster.kubeconfig}"]) == 0
    out = capsys.readouterr().out
    tables = [table.splitlines() for table in out.strip().split("\n\n")]
    assert [[line.split()[0] for line in table] for table in tables] == [
        ["NAME", "gitrepository/app", "gitrepository/broken"],
        ["NAME", "kustomization/apps"],
    ]


async def test_get_with_no_objects_says_so_and_succeeds(
    cluster: ControlPlane, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        await run(["get", "sources", "oci", "-n", namespace, f"--kubeconfig={cluster.kubeconfig}"])
        == 0
    )
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"✗ no OCIRepository objects found in {namespace} namespace\n"


async def test_get_of_a_kind_without_crd_is_a_clear_error(cluster: ControlPlane) -> None:
    class Missing(GitRepository):
        GROUP = "nothing.gotk.example.com"

    async with KubeClient(await load_config(cluster.kubeconfig)) as client:
        with pytest.raises(CrdNotInstalled, match=r"GitRepository CRD .* is not installed"):
            await get(
                Cluster(client),
                [CliKind(Missing, "source git")],
                "default",
                every_kind=False,
                out=sys.stdout,
                log=Log(),
            )


async def test_missing_object_is_one_line_and_exit_1(
    cluster: ControlPlane, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "reconcile",
        "source",
        "git",
        "nope",
        "-n",
        namespace,
        f"--kubeconfig={cluster.kubeconfig}",
    ]
    assert await run(argv) == 1
    assert capsys.readouterr().err == f"✗ GitRepository {namespace}/nope not found\n"


async def test_unreadable_kubeconfig_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run(["get", "ks", f"--kubeconfig={tmp_path / 'absent'}"]) == 1
    assert capsys.readouterr().err == f"✗ kubeconfig {tmp_path / 'absent'} not found\n"
    for name, text in [
        ("garbage", "apiVersion: v1\nkind: Config\n"),
        ("wrong-types", "apiVersion: v1\nkind: Config\nclusters: 3\n"),
    ]:
        (tmp_path / name).write_text(text)
        assert await run(["get", "ks", f"--kubeconfig={tmp_path / name}"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("✗ cannot load Kubernetes client configuration"), err
        assert err.count("\n") == 1


async def test_suspend_kustomization_sets_spec_suspend(
    cluster: ControlPlane, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await kustomization(cluster, namespace, "apps", None)
    path = f"{KUSTOMIZE}/namespaces/{namespace}/kustomizations/apps"
    code, _ = await cluster.request(
        "PATCH", path, {"spec": {"suspend": None}}, content_type="application/merge-patch+json"
    )
    assert code == 200
    assert (
        await run(["suspend", "ks", "apps", "-n", namespace, f"--kubeconfig={cluster.kubeconfig}"])
        == 0
    )
    _, obj = await cluster.request("GET", path)
    assert obj["spec"]["suspend"] is True
    assert capsys.readouterr().err.splitlines() == [
        f"► suspending kustomization apps in {namespace} namespace",
        "✔ kustomization suspended",
    ]


async def test_reconcile_of_a_suspended_object_refuses(
    cluster: ControlPlane, populated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "reconcile",
        "source",
        "git",
        "app",
        "-n",
        populated,
        f"--kubeconfig={cluster.kubeconfig}",
    ]
    assert await run(argv) == 1
    assert (
        capsys.readouterr().err
        == f"✗ GitRepository {populated}/app is suspended; resume it first\n"
    )


async def test_python_m_gotk_cli_runs_as_a_program(cluster: ControlPlane, populated: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gotk_cli",
        "get",
        "sources",
        "git",
        "-n",
        populated,
        "--kubeconfig",
        str(cluster.kubeconfig),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err
    assert err == b""
    assert [line.split()[0] for line in out.decode().splitlines()] == ["NAME", "app", "broken"]
