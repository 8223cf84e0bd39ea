"""Download an artifact over HTTP, verify its size and digest, then unpack it safely.

Behaves like Flux's `http/fetch` archive fetcher: 5xx answers, 429 and connection errors
are retried with exponential backoff (Flux: `--http-retry=9`, waits of 5 s to 30 s), a 404
is its own error so callers can requeue, and the digest is checked before anything is
unpacked. Unlike Flux it counts the bytes as they arrive (never trusting Content-Length),
and nothing reaches the destination until the download has passed every check.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Final

import aiohttp

from gotk_artifacts.atomic import AtomicWriter
from gotk_artifacts.digest import Digest, parse_digest
from gotk_artifacts.errors import (
    ArtifactDownloadError,
    ArtifactError,
    ArtifactNotFound,
    ArtifactTooLarge,
    DigestMismatch,
)
from gotk_artifacts.extract import ExtractLimits, SymlinkPolicy, extract_archive_async
from gotk_artifacts.scratch import scratch_dir
from gotk_artifacts.urls import redact_url

__all__ = [
    "DEFAULT_RETRIES",
    "download_artifact",
    "fetch_artifact",
]

DEFAULT_RETRIES: Final = 9
_BATCH: Final = 1 << 20


class _Transient(Exception):
    """An attempt failed in a way worth retrying."""


async def fetch_artifact(
    url: str,
    digest: str,
    dest_dir: Path,
    *,
    max_size: int | None,
    timeout: float,
    session: aiohttp.ClientSession | None = None,
    retries: int = DEFAULT_RETRIES,
    retry_wait: tuple[float, float] = (5.0, 30.0),
    limits: ExtractLimits = ExtractLimits(),  # noqa: B008 - frozen, shared safely
    symlinks: SymlinkPolicy = "skip",
) -> Path:
    """Download the tar.gz at `url`, check it against `digest`, extract it into `dest_dir`.

    `dest_dir` must not exist or be empty; on any error it is left as it was. `max_size`
    caps the download (None: no cap), `timeout` bounds each attempt in seconds.
    Symlinks are dropped by default, as Flux's fetcher does.
    """
    want = parse_digest(digest)
    await asyncio.to_thread(_check_destination, dest_dir)
    # Next to `dest_dir`, so the download and the extraction share its filesystem.
    async with scratch_dir(".fetch-", parent=dest_dir.parent) as scratch:
        archive = scratch / "artifact.tar.gz"
        await _download(
            url, want, archive, max_size, timeout, session, retries, retry_wait, durable=False
        )
        await extract_archive_async(archive, dest_dir, limits=limits, symlinks=symlinks)
    return dest_dir


def _check_destination(dest_dir: Path) -> None:
    """Refuse a `dest_dir` that is not missing or empty; create its parent."""
    if dest_dir.exists() and (not dest_dir.is_dir() or any(dest_dir.iterdir())):
        raise ArtifactError(f"cannot extract artifact into {dest_dir}: not an empty directory")
    dest_dir.parent.mkdir(parents=True, exist_ok=True)


async def download_artifact(
    url: str,
    digest: str,
    dest_file: Path,
    *,
    max_size: int | None,
    timeout: float,
    session: aiohttp.ClientSession | None = None,
    retries: int = DEFAULT_RETRIES,
    retry_wait: tuple[float, float] = (5.0, 30.0),
) -> Path:
    """Download `url` to `dest_file` as-is (e.g. a Helm chart), atomically, digest-checked."""
    want = parse_digest(digest)
    await _download(url, want, dest_file, max_size, timeout, session, retries, retry_wait)
    return dest_file


async def _download(
    url: str,
    want: Digest,
    dest: Path,
    max_size: int | None,
    timeout: float,
    session: aiohttp.ClientSession | None,
    retries: int,
    retry_wait: tuple[float, float],
    *,
    durable: bool = True,
) -> None:
    safe_url = redact_url(url)
    async with contextlib.AsyncExitStack() as stack:
        if session is None:
            session = await stack.enter_async_context(aiohttp.ClientSession())
        attempts = retries + 1
        for attempt in range(attempts):
            try:
                got = await _attempt(session, url, safe_url, want, dest, max_size, timeout, durable)
            except _Transient as exc:
                if attempt + 1 == attempts:
                    raise ArtifactDownloadError(
                        f"cannot download artifact {safe_url}: {exc} (after {attempts} attempts)"
                    ) from None
                low, high = retry_wait
                await asyncio.sleep(min(high, low * 2**attempt))
                continue
            if not got.matches(want):
                raise DigestMismatch(safe_url, str(want), str(got))
            return


async def _attempt(
    session: aiohttp.ClientSession,
    url: str,
    safe_url: str,
    want: Digest,
    dest: Path,
    max_size: int | None,
    timeout: float,
    durable: bool,
) -> Digest:
    """One GET; the file at `dest` only appears if the digest matched."""
    writer = await asyncio.to_thread(AtomicWriter, dest, algorithm=want.algorithm, durable=durable)
    try:
        async with session.get(
            url,
            timeout=aiohttp.ClientTimeout(total=timeout),
            headers={"Accept-Encoding": "identity"},
            auto_decompress=False,
            allow_redirects=True,
        ) as resp:
            _check_status(resp.status, resp.reason, safe_url)
            if max_size is not None and (resp.content_length or 0) > max_size:
                raise ArtifactTooLarge(
                    f"artifact {safe_url} is {resp.content_length} bytes, "
                    f"above the limit of {max_size}"
                )
            await _stream_body(resp, writer, safe_url, max_size)
        got = writer.digest()
        if got.matches(want):
            await asyncio.to_thread(writer.commit)
        return got
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise _Transient(_describe(exc)) from exc
    finally:
        await asyncio.to_thread(writer.abort)


async def _stream_body(
    resp: aiohttp.ClientResponse, writer: AtomicWriter, safe_url: str, max_size: int | None
) -> None:
    received = 0
    batch = bytearray()
    async for chunk in resp.content.iter_chunked(256 << 10):
        received += len(chunk)
        if max_size is not None and received > max_size:
            raise ArtifactTooLarge(
                f"artifact {safe_url} is larger than the limit of {max_size} bytes"
            )
        batch += chunk
        if len(batch) >= _BATCH:
            await asyncio.to_thread(writer.write, bytes(batch))
            batch.clear()
    if batch:
        await asyncio.to_thread(writer.write, bytes(batch))


def _check_status(status: int, reason: str | None, safe_url: str) -> None:
    if status == 200:
        return
    if status == 404:
        raise ArtifactNotFound(f"artifact {safe_url} not found (404)")
    if status >= 500 or status == 429:
        raise _Transient(f"server answered {status} {reason or ''}".rstrip())
    raise ArtifactDownloadError(f"cannot download artifact {safe_url}: {status} {reason or ''}")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    # aiohttp messages can embed the request URL; keep only the exception kind and errno text.
    cause = exc.__cause__ or exc
    text = getattr(cause, "strerror", None) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"
