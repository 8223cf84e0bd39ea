"""fetch_artifact / download_artifact against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from fixtures.artifacts import ServeApp
from gotk_artifacts.archive import ArchiveResult, build_archive
from gotk_artifacts.errors import (
    ArtifactDownloadError,
    ArtifactError,
    ArtifactNotFound,
    ArtifactTooLarge,
    DigestMismatch,
    InvalidDigest,
)
from gotk_artifacts.extract import ExtractLimits
from gotk_artifacts.fetch import download_artifact, fetch_artifact
from gotk_artifacts.urls import redact_url
from source_controller.storage import ArtifactServer


def publish(root: Path, tmp: Path, files: dict[str, bytes]) -> tuple[str, ArchiveResult]:
    """Build a real artifact into the server root; return (its path, the build result)."""
    src = tmp / "src"
    src.mkdir()
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    dest = root / "gitrepository" / "default" / "podinfo"
    dest.mkdir(parents=True)
    result = build_archive(src, dest / "abc.tar.gz")
    return "gitrepository/default/podinfo/abc.tar.gz", result


@pytest.fixture
async def served(
    artifact_server: tuple[ArtifactServer, str], tmp_path: Path
) -> tuple[str, ArchiveResult]:
    server, base = artifact_server
    path, result = publish(server.root, tmp_path, {"deploy.yaml": b"kind: Deployment\n"})
    return f"{base}/{path}", result


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir()) if parent.exists() else []


async def test_good_digest_downloads_and_extracts(
    served: tuple[str, ArchiveResult], tmp_path: Path
) -> None:
    url, result = served
    out = await fetch_artifact(
        url, str(result.digest), tmp_path / "w" / "out", max_size=None, timeout=10
    )
    assert (out / "deploy.yaml").read_bytes() == b"kind: Deployment\n"
    assert leftovers(tmp_path / "w") == ["out"], "scratch download removed"


async def test_bare_hex_digest_means_sha256(
    served: tuple[str, ArchiveResult], tmp_path: Path
) -> None:
    url, result = served
    out = await fetch_artifact(url, result.digest.hex, tmp_path / "out", max_size=None, timeout=10)
    assert (out / "deploy.yaml").exists()


async def test_lying_digest_is_rejected_naming_the_url_without_credentials(
    served: tuple[str, ArchiveResult], tmp_path: Path
) -> None:
    url, _ = served
    secret_url = url.replace("http://", "http://user:hunter2@") + "?token=s3cr3t"
    wrong = "sha256:" + "0" * 64
    with pytest.raises(DigestMismatch) as info:
        await fetch_artifact(secret_url, wrong, tmp_path / "w" / "out", max_size=None, timeout=10)
    message = str(info.value)
    assert url in message
    assert "hunter2" not in message
    assert "s3cr3t" not in message
    assert leftovers(tmp_path / "w") == [], "nothing extracted, no scratch left"


async def test_download_over_max_size_is_rejected(
    served: tuple[str, ArchiveResult], tmp_path: Path
) -> None:
    url, result = served
    with pytest.raises(ArtifactTooLarge, match="above the limit"):
        await fetch_artifact(
            url, str(result.digest), tmp_path / "w" / "out", max_size=result.size - 1, timeout=10
        )
    assert leftovers(tmp_path / "w") == []


async def test_oversize_is_counted_when_the_server_sends_no_length(
    serve_app: ServeApp, tmp_path: Path
) -> None:
    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(64):
            await resp.write(b"x" * 1024)
        return resp

    app = web.Application()
    app.router.add_get("/a.tar.gz", chunked)
    base = await serve_app(app)
    with pytest.raises(ArtifactTooLarge, match="larger than the limit of 10000"):
        await fetch_artifact(
            f"{base}/a.tar.gz", "sha256:" + "0" * 64, tmp_path / "out", max_size=10_000, timeout=10
        )
    assert leftovers(tmp_path) == []


async def test_unpacked_size_limit_applies_after_a_good_download(
    artifact_server: tuple[ArtifactServer, str], tmp_path: Path
) -> None:
    server, base = artifact_server
    path, result = publish(server.root, tmp_path, {"big.bin": bytes(50_000)})
    with pytest.raises(ArtifactTooLarge):
        await fetch_artifact(
            f"{base}/{path}",
            str(result.digest),
            tmp_path / "w" / "out",
            max_size=None,
            timeout=10,
            limits=ExtractLimits(max_total_bytes=10_000),
        )
    assert leftovers(tmp_path / "w") == []


async def test_404_is_artifact_not_found_without_retries(
    serve_app: ServeApp, tmp_path: Path
) -> None:
    hits = 0

    async def missing(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        raise web.HTTPNotFound()

    app = web.Application()
    app.router.add_get("/{tail:.*}", missing)
    base = await serve_app(app)
    with pytest.raises(ArtifactNotFound, match="not found"):
        await fetch_artifact(
            f"{base}/gone.tar.gz",
            "0" * 64,
            tmp_path / "out",
            max_size=None,
            timeout=5,
            retries=2,
            retry_wait=(0.01, 0.02),
        )
    assert hits == 1


async def test_404_from_the_artifact_server(
    artifact_server: tuple[ArtifactServer, str], tmp_path: Path
) -> None:
    _, base = artifact_server
    with pytest.raises(ArtifactNotFound):
        await fetch_artifact(
            f"{base}/nope/x.tar.gz", "0" * 64, tmp_path / "out", max_size=None, timeout=5
        )


async def test_unreachable_server_is_a_clear_error_after_retries(
    closed_port_url: str, tmp_path: Path
) -> None:
    url = f"{closed_port_url}/a.tar.gz"
    with pytest.raises(ArtifactDownloadError, match="after 3 attempts") as info:
        await fetch_artifact(
            url,
            "0" * 64,
            tmp_path / "out",
            max_size=None,
            timeout=5,
            retries=2,
            retry_wait=(0.01, 0.02),
        )
    assert url in str(info.value)
    assert leftovers(tmp_path) == []


async def test_transient_5xx_is_retried_until_success(
    serve_app: ServeApp, tmp_path: Path, served: tuple[str, ArchiveResult]
) -> None:
    real_url, result = served
    hits = 0

    async def flaky(request: web.Request) -> web.StreamResponse:
        nonlocal hits
        hits += 1
        if hits <= 2:
            raise web.HTTPServiceUnavailable()
        raise web.HTTPFound(real_url)  # the third answer redirects to the real artifact

    app = web.Application()
    app.router.add_get("/a.tar.gz", flaky)
    base = await serve_app(app)
    out = await fetch_artifact(
        f"{base}/a.tar.gz",
        str(result.digest),
        tmp_path / "out",
        max_size=None,
        timeout=5,
        retries=2,
        retry_wait=(0.01, 0.02),
    )
    assert (out / "deploy.yaml").exists()
    assert hits == 3


async def test_persistent_5xx_gives_up_with_the_status(serve_app: ServeApp, tmp_path: Path) -> None:
    async def broken(request: web.Request) -> web.Response:
        raise web.HTTPInternalServerError()

    app = web.Application()
    app.router.add_get("/a.tar.gz", broken)
    base = await serve_app(app)
    with pytest.raises(
        ArtifactDownloadError, match=r"500 Internal Server Error \(after 3 attempts\)"
    ):
        await fetch_artifact(
            f"{base}/a.tar.gz",
            "0" * 64,
            tmp_path / "out",
            max_size=None,
            timeout=5,
            retries=2,
            retry_wait=(0.01, 0.02),
        )


async def test_4xx_other_than_404_fails_at_once(serve_app: ServeApp, tmp_path: Path) -> None:
    hits = 0

    async def forbidden(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        raise web.HTTPForbidden()

    app = web.Application()
    app.router.add_get("/a.tar.gz", forbidden)
    base = await serve_app(app)
    with pytest.raises(ArtifactDownloadError, match="403"):
        await fetch_artifact(
            f"{base}/a.tar.gz",
            "0" * 64,
            tmp_path / "out",
            max_size=None,
            timeout=5,
            retries=2,
            retry_wait=(0.01, 0.02),
        )
    assert hits == 1


async def test_slow_server_times_out_per_attempt(serve_app: ServeApp, tmp_path: Path) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(body=b"late")

    app = web.Application()
    app.router.add_get("/a.tar.gz", slow)
    base = await serve_app(app)
    with pytest.raises(ArtifactDownloadError, match="timed out"):
        await fetch_artifact(
            f"{base}/a.tar.gz",
            "0" * 64,
            tmp_path / "out",
            max_size=None,
            timeout=0.2,
            retries=1,
            retry_wait=(0.01, 0.01),
        )


async def test_content_encoding_gzip_is_not_decoded_before_hashing(
    serve_app: ServeApp, tmp_path: Path, served: tuple[str, ArchiveResult]
) -> None:
    _, result = served
    body = result.path.read_bytes()

    async def labelled(request: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/a.tar.gz", labelled)
    base = await serve_app(app)
    out = await fetch_artifact(
        f"{base}/a.tar.gz", str(result.digest), tmp_path / "out", max_size=None, timeout=5
    )
    assert (out / "deploy.yaml").exists()


async def test_invalid_digest_fails_before_any_request(
    tmp_path: Path, closed_port_url: str
) -> None:
    with pytest.raises(InvalidDigest):
        await fetch_artifact(
            f"{closed_port_url}/a", "md5:abc", tmp_path / "out", max_size=None, timeout=1
        )
    with pytest.raises(InvalidDigest, match="empty"):
        await fetch_artifact(f"{closed_port_url}/a", "", tmp_path / "out", max_size=None, timeout=1)


async def test_download_artifact_keeps_the_file_as_is(
    served: tuple[str, ArchiveResult], tmp_path: Path
) -> None:
    url, result = served
    dest = await download_artifact(
        url, str(result.digest), tmp_path / "chart.tgz", max_size=None, timeout=5
    )
    assert dest.read_bytes() == result.path.read_bytes()


async def test_download_artifact_with_wrong_digest_writes_nothing(
    served: tuple[str, ArchiveResult], tmp_path: Path
) -> None:
    url, _ = served
    (tmp_path / "dl").mkdir()
    with pytest.raises(DigestMismatch):
        await download_artifact(
            url, "sha256:" + "1" * 64, tmp_path / "dl" / "chart.tgz", max_size=None, timeout=5
        )
    assert leftovers(tmp_path / "dl") == []


async def test_a_caller_session_is_used_and_left_open(
    served: tuple[str, ArchiveResult], tmp_path: Path
) -> None:
    url, result = served
    async with aiohttp.ClientSession() as session:
        await fetch_artifact(
            url, str(result.digest), tmp_path / "out", max_size=None, timeout=5, session=session
        )
        assert not session.closed


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("http://u:p@host:9090/a/b.tar.gz?x=1#f", "http://host:9090/a/b.tar.gz"),
        ("http://host/a.tar.gz", "http://host/a.tar.gz"),
        ("https://token@host/a", "https://host/a"),
        ("https://u:p@host:bad-port/r?token=t", "https://host:bad-port/r"),
        ("oci://u:p@registry/app", "oci://registry/app"),
        ("git@host:org/repo", "host:org/repo"),
        ("relative/index.yaml?sig=s", "relative/index.yaml"),
    ],
)
def test_redact_url_drops_credentials_and_query(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


async def test_non_empty_destination_is_refused_before_downloading(
    closed_port_url: str, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep").write_text("mine")
    with pytest.raises(ArtifactError, match="not an empty directory"):
        await fetch_artifact(
            f"{closed_port_url}/a.tar.gz", "0" * 64, tmp_path / "out", max_size=None, timeout=1
        )
    assert (tmp_path / "out" / "keep").read_text() == "mine"
