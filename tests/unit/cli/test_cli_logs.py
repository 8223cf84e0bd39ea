"""`gotk logs` over logs written by the services' own logging (gotk_runtime's JSON encoder
and object binding, in a child process as a service runs it), from a file, stdin and,
against the real API server, the pods of the gotk Deployments."""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fixtures.cli import Gotk, create
from gotk_envtest import ControlPlane

SERVICE = """
import logging
from gotk_runtime import bind_object, configure_logging

configure_logging("debug", "json")
log = logging.getLogger("gotk_runtime.controller")
log.info("starting workers")
with bind_object(kind="GitRepository", namespace="apps", name="podinfo"):
    log.info("stored artifact for revision 'main@sha1:1234'")
    try:
        raise ValueError("remote ref not found")
    except ValueError:
        log.exception("reconciliation failed: GitOperationFailed")
with bind_object(kind="Kustomization", namespace="apps", name="podinfo"):
    log.error("reconciliation failed: DependencyNotReady")
with bind_object(kind="Kustomization", namespace="other", name="web"):
    log.info("Applied revision: main@sha1:1234")
"""
_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


def _service_log(path: Path) -> str:
    """What a service writes to stderr, kept in ``path`` (plus a line that is not JSON)."""
    done = subprocess.run(
        [sys.executable, "-c", SERVICE], capture_output=True, text=True, timeout=60, check=True
    )
    text = "not a JSON line\n" + done.stderr
    path.write_text(text)
    return text


def _lines(out: str) -> list[str]:
    lines = out.splitlines()
    assert all(_TS.match(line) for line in lines), lines
    return [_TS.sub("", line) for line in lines]


async def test_logs_from_a_file_filtered_like_flux(gotk: Gotk, tmp_path: Path) -> None:
    log = tmp_path / "source-controller.log"
    _service_log(log)

    apps = await gotk("logs", "--file", str(log), "-n", "apps")
    assert apps.code == 0, apps.err
    assert _lines(apps.out) == [
        "info GitRepository/podinfo.apps - stored artifact for revision 'main@sha1:1234'",
        "error GitRepository/podinfo.apps - reconciliation failed: GitOperationFailed "
        "ValueError: remote ref not found",
        "error Kustomization/podinfo.apps - reconciliation failed: DependencyNotReady",
    ]
    errors = await gotk(
        "logs", "--file", str(log), "-n", "apps", "--kind", "kustomization", "--level", "error"
    )
    assert _lines(errors.out) == [
        "error Kustomization/podinfo.apps - reconciliation failed: DependencyNotReady"
    ]
    everything = await gotk("logs", "--file", str(log), "-A", "--name", "web")
    assert _lines(everything.out) == [
        "info Kustomization/web.other - Applied revision: main@sha1:1234"
    ]
    every_line = await gotk("logs", "--file", str(log), "-A")
    assert _lines(every_line.out)[0] == "info gotk_runtime.controller - starting workers"
    last = await gotk("logs", "--file", str(log), "-A", "--tail", "1")
    assert _lines(last.out) == ["info Kustomization/web.other - Applied revision: main@sha1:1234"]
    recent = await gotk("logs", "--file", str(log), "-A", "--since", "1h")
    assert len(recent.out.splitlines()) == 5


async def test_logs_from_stdin(gotk: Gotk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _service_log(tmp_path / "log")
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    result = await gotk("logs", "--file", "-", "--kind", "GitRepository", "-A")
    assert result.code == 0, result.err
    assert len(result.out.splitlines()) == 2


async def test_logs_follow_a_growing_file_until_the_timeout(gotk: Gotk, tmp_path: Path) -> None:
    log = tmp_path / "kustomize-controller.log"
    _service_log(log)
    more = tmp_path / "more.log"
    appended = _service_log(more).splitlines()[-1]

    async def write_later() -> None:
        await asyncio.sleep(1)
        with log.open("a") as stream:
            # Written in two parts: a half line is held back until it is whole.
            stream.write(appended[:20])
            stream.flush()
            await asyncio.sleep(0.5)
            stream.write(appended[20:] + "\n")

    writer = asyncio.create_task(write_later())
    result = await gotk("logs", "--file", str(log), "-f", "-n", "other", "--timeout=3s")
    await writer
    assert result.code == 0, result.err
    assert (
        _lines(result.out)
        == ["info Kustomization/web.other - Applied revision: main@sha1:1234"] * 2
    )


async def test_logs_from_pods_reads_the_gotk_deployments(
    gotk: Gotk, cluster: ControlPlane, namespace: str
) -> None:
    none = await gotk("logs", "--flux-namespace", namespace)
    assert none.code == 1
    assert none.err.startswith(f"✗ no gotk pods found in '{namespace}' namespace")

    labels = {"app": "source-controller"}
    await create(
        cluster,
        f"/apis/apps/v1/namespaces/{namespace}/deployments",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "source-controller",
                "labels": {"app.kubernetes.io/part-of": "gotk"},
            },
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "manager", "image": "gotk"}]},
                },
            },
        },
    )
    pods = f"/api/v1/namespaces/{namespace}/pods"
    container = {"name": "manager", "image": "gotk"}

    async def pod(name: str, node: str | None = None, phase: str | None = None) -> None:
        spec = {"containers": [container], **({"nodeName": node} if node else {})}
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels}}
        await create(cluster, pods, {**body, "spec": spec}, {"phase": phase} if phase else None)

    await pod("source-controller-pending")
    # No kubelet in the minimal cluster: a pod not yet on a node has an empty log.
    pending = await gotk("logs", "--flux-namespace", namespace, "-A")
    assert (pending.code, pending.out, pending.err) == (0, "", "")

    # A running pod is read rather than a newer pending one; its node does not exist,
    # which the API server reports for the pod the command asked about.
    await pod("source-controller-running", node="gone", phase="Running")
    await asyncio.sleep(1.1)  # creationTimestamp has a resolution of one second
    await pod("source-controller-newest")
    running = await gotk("logs", "--flux-namespace", namespace, "-A")
    assert running.code == 1
    assert running.err == (
        f"✗ cannot read the log of pod {namespace}/source-controller-running: "
        'pods "gone" not found\n'
    )
