"""source-controller's storage across a SIGKILL mid-write and a wiped volume.

Promises:
- killed (SIGKILL, the whole process group) while an artifact is being written, before
  the rename that publishes it: no half artifact is ever served — the temp file is not
  servable by name and no status points at it — and on restart a complete artifact,
  matching its digest, is stored and served, and the temp files are collected by the first
  reconcile once they are older than --artifact-retention-ttl;
- with its storage wiped (an emptyDir lost), the next reconcile notices the artifact is
  gone and rebuilds it (Flux: "disappeared from storage").

The controller runs as its own process (`python -m source_controller`), so the kill is a
real SIGKILL; the Git server and the API server are real.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import aiohttp
from fixtures.controllers import eventually
from fixtures.faults import SOURCE, Api, SourceControllerProcess, gitrepository
from fixtures.git_servers import GitHTTPServer, GitRepo
from gotk_api.objects import Obj
from gotk_envtest import ControlPlane
from source_controller.storage import ArtifactServer


async def _download(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read()


async def _assert_sound_artifact(api: Api, path: str) -> Obj:
    """Ready, and the artifact in status is served whole: its bytes match its digest."""
    obj = await api.until_ready(path, timeout=90)
    artifact = obj["status"]["artifact"]
    status, body = await _download(artifact["url"])
    assert status == 200
    assert f"sha256:{hashlib.sha256(body).hexdigest()}" == artifact["digest"]
    assert len(body) == artifact["size"]
    return obj


async def test_sigkill_mid_write_serves_no_half_artifact_and_restart_heals_then_a_wipe_rebuilds(
    cluster: ControlPlane,
    namespace: str,
    make_git_repo: Callable[..., GitRepo],
    git_http_server: GitHTTPServer,
    tmp_path: Path,
) -> None:
    api = Api(cluster, namespace)
    storage = tmp_path / "storage"
    controller = SourceControllerProcess(
        cluster, storage, tmp_path / "source-controller.log", "--artifact-retention-ttl=1s"
    )
    repo = make_git_repo()
    # ~24 MiB that gzip cannot shrink much: packing it takes long enough to be caught.
    repo.commit({"big.txt": base64.b64encode(os.urandom(18 << 20)).decode()})
    path = api.path(SOURCE, "gitrepositories", "big")
    directory = storage / "gitrepository" / namespace / "big"
    controller.start()
    try:
        await api.create(SOURCE, "gitrepositories", gitrepository("big", git_http_server.url(repo)))

        async def writing() -> str | None:
            if directory.is_dir():
                return next(
                    (p.name for p in directory.iterdir() if p.name.startswith(".tmp-")), None
                )
            return None

        temp: str = await eventually(writing, timeout=90, interval=0.005)
        controller.kill()

        # What any server over this storage serves now: neither the temp nor an artifact.
        server = ArtifactServer(storage)
        port = await server.start("127.0.0.1", 0)
        try:
            base = f"http://127.0.0.1:{port}/gitrepository/{namespace}/big"
            assert (directory / temp).exists(), "the kill left the half-written file behind"
            assert (await _download(f"{base}/{temp}"))[0] == 404
            assert (await _download(f"{base}/latest.tar.gz"))[0] == 404
        finally:
            await server.stop()
        _, obj = await api.get(path)
        assert "artifact" not in (obj.get("status") or {}), "no status points at a half file"

        controller.start()
        await _assert_sound_artifact(api, path)

        # Garbage collection (each reconcile) removes temp files past the retention TTL.
        await asyncio.sleep(1.5)
        await api.request_reconcile(path)

        async def collected() -> bool:
            return not any(p.name.startswith(".tmp-") for p in directory.iterdir())

        await eventually(collected, timeout=30)

        # The volume is lost: everything under the storage path goes.
        for child in storage.iterdir():
            shutil.rmtree(child)
        await api.request_reconcile(path)

        async def rebuilt() -> bool:
            return directory.is_dir() and any(p.suffix == ".gz" for p in directory.iterdir())

        await eventually(rebuilt, timeout=60)
        await asyncio.sleep(0.5)
        await _assert_sound_artifact(api, path)
        await api.delete(path)
    finally:
        controller.kill()
