"""`gotk version`, `check`, `stats`, `completion`, and what `gotk --help` imports."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest
from fixtures.cli import Gotk, assert_snapshot
from gotk_envtest import ControlPlane


async def _python(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_command_tree_imports_neither_the_kube_client_nor_the_models() -> None:
    code, out, err = await _python(
        "-c",
        "import sys, gotk_cli.commands, gotk_cli.app;"
        " print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('gotk_runtime', 'gotk_api', 'aiohttp', 'pydantic', 'yaml')))",
    )
    assert (code, out, err) == (0, "[]\n", "")


async def test_version_prints_client_and_api_server(gotk: Gotk) -> None:
    result = await gotk("version")
    assert result.code == 0, result.err
    client, server = result.out.splitlines()
    assert client == "gotk: v0.1.0"
    assert server.startswith("kubernetes: v1.")


async def test_check_reports_the_crds_and_missing_services(gotk: Gotk, namespace: str) -> None:
    result = await gotk("check", "-n", namespace)
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    assert f"⚠️ source-controller: no deployment or lease in {namespace} namespace" in lines
    assert "✔ helmreleases.helm.toolkit.fluxcd.io/v2" in lines
    assert "✔ gitrepositories.source.toolkit.fluxcd.io/v1" in lines
    assert lines[-1] == "✔ all checks passed"


async def test_check_fails_on_a_stale_lease(
    gotk: Gotk, cluster: ControlPlane, namespace: str
) -> None:
    code, body = await cluster.request(
        "POST",
        f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases",
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "kustomize-controller-leader-election"},
            "spec": {
                "holderIdentity": "gone",
                "leaseDurationSeconds": 35,
                "renewTime": "2026-01-01T00:00:00.000000Z",
            },
        },
    )
    assert code == 201, body
    result = await gotk("check", "-n", namespace)
    assert result.code == 1
    assert "✗ kustomize-controller: its lease is stale (no running leader)" in result.err
    assert result.err.endswith("✗ check failed\n")


async def test_stats_counts_per_kind(gotk: Gotk, populated: str) -> None:
    result = await gotk("stats", "-n", populated)
    assert result.code == 0, result.err
    assert_snapshot("stats", result.out)


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o nosort -F _gotk_completion gotk"), ("zsh", "#compdef gotk"),
     ("fish", "complete --no-files --command gotk")],
)  # fmt: skip
async def test_completion_scripts(gotk: Gotk, shell: str, marker: str) -> None:
    result = await gotk("completion", shell)
    assert result.code == 0
    assert marker in result.out


async def test_completion_requests_are_answered_by_the_program() -> None:
    code, out, _ = await _python(
        "-m",
        "gotk_cli",
        env={
            "_GOTK_COMPLETE": "bash_complete",
            "COMP_WORDS": "gotk reconcile h",
            "COMP_CWORD": "2",
        },
    )
    assert code == 0
    assert out.splitlines() == ["plain,helmrelease"]
