"""The artifact server: GET/HEAD, ETag, Range, 404s, traversal refusal, leader-only serving."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp
import pytest
from gotk_artifacts.atomic import AtomicWriter
from source_controller.storage import ArtifactServer

BODY = bytes(range(256)) * 40  # 10240 bytes
ART = "gitrepository/ns/app/abc.tar.gz"


@pytest.fixture
async def site(
    artifact_server: tuple[ArtifactServer, str], tmp_path: Path
) -> tuple[ArtifactServer, str, Path]:
    server, base = artifact_server
    artifact = server.root / ART
    artifact.parent.mkdir(parents=True)
    artifact.write_bytes(BODY)
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    return server, base, tmp_path


async def raw_request(
    base: str, target: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Send the request line byte-for-byte, so no client normalizes the path first."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        parsed[key.strip().lower()] = value.strip()
    return int(status_line.split()[1]), parsed, body


async def test_get_serves_the_file_with_length_etag_and_type(
    site: tuple[ArtifactServer, str, Path],
) -> None:
    _, base, _ = site
    async with aiohttp.ClientSession() as session, session.get(f"{base}/{ART}") as resp:
        body = await resp.read()
        assert resp.status == 200
        assert body == BODY
        assert resp.headers["Content-Length"] == str(len(BODY))
        assert resp.headers["Accept-Ranges"] == "bytes"
        assert resp.headers["Content-Type"] == "application/gzip"
        assert "Content-Encoding" not in resp.headers
        etag = resp.headers["ETag"]
        assert etag.startswith('"')
        assert not etag.startswith("W/")


async def test_head_has_length_and_no_body(site: tuple[ArtifactServer, str, Path]) -> None:
    _, base, _ = site
    status, headers, body = await raw_request(base, f"/{ART}", method="HEAD")
    assert status == 200
    assert headers["content-length"] == str(len(BODY))
    assert body == b""


async def test_if_none_match_gives_304(site: tuple[ArtifactServer, str, Path]) -> None:
    _, base, _ = site
    _, headers, _ = await raw_request(base, f"/{ART}", method="HEAD")
    etag = headers["etag"]
    assert (await raw_request(base, f"/{ART}", headers={"If-None-Match": etag}))[0] == 304
    assert (await raw_request(base, f"/{ART}", headers={"If-None-Match": '"other"'}))[0] == 200


async def test_etag_changes_when_the_artifact_is_replaced(
    site: tuple[ArtifactServer, str, Path],
) -> None:
    server, base, _ = site
    first = (await raw_request(base, f"/{ART}", method="HEAD"))[1]["etag"]
    replacement = server.root / "gitrepository/ns/app/.tmp-new"
    replacement.write_bytes(BODY)
    os.replace(replacement, server.root / ART)
    second = (await raw_request(base, f"/{ART}", method="HEAD"))[1]["etag"]
    assert first != second


SIZE = len(BODY)


@pytest.mark.parametrize(
    ("range_header", "status", "content_range", "expected"),
    [
        ("bytes=0-9", 206, f"bytes 0-9/{SIZE}", BODY[0:10]),
        ("bytes=100-", 206, f"bytes 100-{SIZE - 1}/{SIZE}", BODY[100:]),
        ("bytes=-5", 206, f"bytes {SIZE - 5}-{SIZE - 1}/{SIZE}", BODY[-5:]),
        ("bytes=10-999999", 206, f"bytes 10-{SIZE - 1}/{SIZE}", BODY[10:]),
        (f"bytes={SIZE - 1}-{SIZE - 1}", 206, f"bytes {SIZE - 1}-{SIZE - 1}/{SIZE}", BODY[-1:]),
        (f"bytes={SIZE}-", 416, f"bytes */{SIZE}", b""),
        ("bytes=9-3", 416, f"bytes */{SIZE}", b""),
        ("bytes=-0", 416, f"bytes */{SIZE}", b""),
        ("bytes=abc", 416, f"bytes */{SIZE}", b""),
        ("bytes=-", 416, f"bytes */{SIZE}", b""),
        ("items=0-5", 416, f"bytes */{SIZE}", b""),
        ("bytes=0-1,5-6", 200, None, BODY),  # multipart not supported: whole file
    ],
)
async def test_range_requests(
    site: tuple[ArtifactServer, str, Path],
    range_header: str,
    status: int,
    content_range: str | None,
    expected: bytes,
) -> None:
    _, base, _ = site
    got_status, headers, body = await raw_request(base, f"/{ART}", headers={"Range": range_header})
    assert got_status == status
    assert headers.get("content-range") == content_range
    assert body == expected
    if status != 416:
        assert headers["content-length"] == str(len(expected))


async def test_if_range_with_a_stale_etag_serves_the_whole_file(
    site: tuple[ArtifactServer, str, Path],
) -> None:
    _, base, _ = site
    status, _, body = await raw_request(
        base, f"/{ART}", headers={"Range": "bytes=0-9", "If-Range": '"stale"'}
    )
    assert (status, body) == (200, BODY)


async def test_symlink_inside_the_root_is_followed(site: tuple[ArtifactServer, str, Path]) -> None:
    server, base, _ = site
    (server.root / "gitrepository/ns/app/latest.tar.gz").symlink_to("abc.tar.gz")
    status, _, body = await raw_request(base, "/gitrepository/ns/app/latest.tar.gz")
    assert (status, body) == (200, BODY)


@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        "/gitrepository/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/gitrepository/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%2Fsecret.txt",
        "/..%5csecret.txt",
        "/..\\secret.txt",
        "/gitrepository\\..\\..\\secret.txt",
        "//secret.txt",
        "/./gitrepository/ns/app/abc.tar.gz",
        "/gitrepository/ns/app/abc.tar.gz%00",
        "/gitrepository//ns/app/abc.tar.gz",
        "/%ff%fe",
        "/outside-link",
        "/outside-dir/secret.txt",
    ],
)
async def test_traversal_attempts_are_404(
    site: tuple[ArtifactServer, str, Path], target: str
) -> None:
    server, base, tmp_path = site
    (server.root / "outside-link").symlink_to(tmp_path / "secret.txt")
    (server.root / "outside-dir").symlink_to(tmp_path)
    status, _, body = await raw_request(base, target)
    assert status == 404
    assert b"TOP SECRET" not in body


@pytest.mark.parametrize(
    "target",
    [
        "/",
        "/gitrepository",
        "/gitrepository/",
        "/missing.tar.gz",
        "/gitrepository/ns/app/abc.tar.gz/",
    ],
)
async def test_no_listings_and_no_missing_files(
    site: tuple[ArtifactServer, str, Path], target: str
) -> None:
    _, base, _ = site
    status, _, body = await raw_request(base, target)
    assert status == 404
    assert b"abc.tar.gz" not in body


async def test_fifo_is_404_and_does_not_hang(site: tuple[ArtifactServer, str, Path]) -> None:
    server, base, _ = site
    os.mkfifo(server.root / "pipe")
    status, _, _ = await asyncio.wait_for(raw_request(base, "/pipe"), timeout=5)
    assert status == 404


async def test_percent_encoded_names_are_decoded(site: tuple[ArtifactServer, str, Path]) -> None:
    server, base, _ = site
    (server.root / "helmchart/ns/x").mkdir(parents=True)
    (server.root / "helmchart/ns/x/podinfo-6.0.3+abc.tgz").write_bytes(b"chart")
    status, _, body = await raw_request(base, "/helmchart/ns/x/podinfo-6.0.3%2Babc.tgz")
    assert (status, body) == (200, b"chart")
    status, _, body = await raw_request(base, "/helmchart/ns/x/podinfo-6.0.3+abc.tgz?x=1")
    assert (status, body) == (200, b"chart")


async def test_other_methods_are_405(site: tuple[ArtifactServer, str, Path]) -> None:
    _, base, _ = site
    status, headers, _ = await raw_request(base, f"/{ART}", method="DELETE")
    assert status == 405
    assert "GET" in headers["allow"]


async def test_only_serves_while_leading(site: tuple[ArtifactServer, str, Path]) -> None:
    server, base, _ = site
    server.serving = False
    status, headers, _ = await raw_request(base, f"/{ART}")
    assert status == 503
    assert headers["retry-after"] == "5"
    server.serving = True
    assert (await raw_request(base, f"/{ART}"))[0] == 200


async def test_large_file_streams_completely(site: tuple[ArtifactServer, str, Path]) -> None:
    server, base, _ = site
    big = os.urandom(3 << 20)
    (server.root / "big.bin").write_bytes(big)
    async with aiohttp.ClientSession() as session, session.get(f"{base}/big.bin") as resp:
        assert await resp.read() == big


async def test_stop_releases_the_port(tmp_path: Path) -> None:
    server = ArtifactServer(tmp_path)
    port = await server.start("127.0.0.1", 0)
    await server.stop()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


@pytest.mark.parametrize(
    "range_header",
    [
        "bytes=" + "9" * 5000 + "-",
        "bytes=0-" + "9" * 5000,
        "bytes=-" + "9" * 5000,
        "bytes=" + "1" * 20 + "-",
    ],
    ids=["start-5000-digits", "end-5000-digits", "suffix-5000-digits", "start-20-digits"],
)
async def test_an_oversized_range_is_416_without_a_traceback(
    site: tuple[ArtifactServer, str, Path], caplog: pytest.LogCaptureFixture, range_header: str
) -> None:
    """int() refuses strings past 4300 digits; the header was a 500 and a logged traceback."""
    _, base, _ = site
    caplog.set_level("DEBUG")
    got_status, headers, body = await raw_request(base, f"/{ART}", headers={"Range": range_header})
    assert (got_status, headers.get("content-range"), body) == (416, f"bytes */{SIZE}", b"")
    assert not [r for r in caplog.records if r.levelno >= 40 or r.exc_info]


async def test_a_write_in_progress_and_lock_files_are_not_served(
    site: tuple[ArtifactServer, str, Path],
) -> None:
    server, base, _ = site
    directory = (server.root / ART).parent
    with AtomicWriter(directory / "next.tar.gz") as writer:
        writer.write(b"half an artifact")
        writer.flush()
        temp = writer.temp_path.name
        assert temp.startswith(".tmp-")
        (directory / "abc.tar.gz.lock").write_text("")
        (directory / ".hidden").write_text("x")
        for name in (temp, "abc.tar.gz.lock", ".hidden"):
            status, _, _ = await raw_request(base, f"/gitrepository/ns/app/{name}")
            assert status == 404, name
        status, _, _ = await raw_request(base, "/gitrepository/ns/app/next.tar.gz")
        assert status == 404, "not renamed into place yet"
    status, _, _ = await raw_request(base, f"/{ART}")
    assert status == 200
