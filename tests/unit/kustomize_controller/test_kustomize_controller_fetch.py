"""kustomize-controller's artifact download is bounded by what its extraction accepts."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from aiohttp import web
from fixtures.artifacts import ServeApp
from gotk_artifacts import ArtifactTooLarge
from gotk_runtime import EventRecorder, KubeClient
from kustomize_controller.kustomization import (
    ARTIFACT_LIMITS,
    MAX_ARTIFACT_SIZE,
    KustomizationReconciler,
)
from kustomize_controller.options import KustomizeOptions
from kustomize_controller.source import SourceArtifact

_MIB = 1 << 20


def test_the_download_cap_is_derived_from_the_extraction_limits() -> None:
    stream = ARTIFACT_LIMITS.stream_cap()
    assert ARTIFACT_LIMITS.max_total_bytes == 100 * _MIB
    assert ARTIFACT_LIMITS.max_entries == 100_000
    assert stream is not None
    assert MAX_ARTIFACT_SIZE is not None
    assert stream < MAX_ARTIFACT_SIZE < stream * 1.01
    assert 165 * _MIB < MAX_ARTIFACT_SIZE < 166 * _MIB


async def test_an_artifact_larger_than_the_cap_is_refused_while_it_arrives(
    kube: KubeClient, serve_app: ServeApp, tmp_path: Path
) -> None:
    """The server streams 200 MiB without a Content-Length; the download stops at the cap,
    not at the end, and nothing is extracted."""
    assert MAX_ARTIFACT_SIZE is not None
    block = os.urandom(_MIB)
    sent = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(200):
            await response.write(block)
            sent += len(block)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/gitrepository/ns/repo/latest.tar.gz", endless)
    base = await serve_app(app)
    artifact = SourceArtifact(
        kind="GitRepository",
        namespace="ns",
        name="repo",
        url=f"{base}/gitrepository/ns/repo/latest.tar.gz",
        revision="main@sha1:" + "a" * 40,
        digest="sha256:" + hashlib.sha256(b"never").hexdigest(),
        origin_revision="",
    )
    reconciler = KustomizationReconciler(
        kube, EventRecorder(kube, "kustomize-controller"), KustomizeOptions(http_retry=0)
    )
    with pytest.raises(ArtifactTooLarge, match=f"larger than the limit of {MAX_ARTIFACT_SIZE}"):
        await reconciler._fetch(artifact, tmp_path / "artifact", timeout=30.0)
    assert not (tmp_path / "artifact").exists()
    assert sent < 200 * _MIB
