"""Downloading an index or a chart from an HTTP(S) Helm repository into a file.

The body is streamed to disk and hashed on the way; the size cap counts the bytes received
(Flux reads the whole body into memory and compares afterwards), so an oversized or
endless response costs at most the cap. aiohttp's errors are translated here.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import urljoin

import aiohttp
from gotk_artifacts.urls import redact_url

from source_controller.helm.auth import RepositoryAuth
from source_controller.helm.errors import (
    HelmError,
    RepositoryAuthFailed,
    RepositoryFetchFailed,
)

__all__ = ["Downloaded", "download"]

_CHUNK: Final = 1 << 16
_WRITE_BATCH: Final = 1 << 20
_MAX_REDIRECTS: Final = 10
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_USER_AGENT: Final = "gotk-source-controller"


@dataclass(frozen=True, slots=True)
class Downloaded:
    path: Path
    sha256: str
    size: int


def _authorization(pair: tuple[str, str] | None) -> dict[str, str]:
    if pair is None:
        return {}
    token = base64.b64encode(f"{pair[0]}:{pair[1]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@contextlib.asynccontextmanager
async def _get(
    session: aiohttp.ClientSession, url: str, auth: RepositoryAuth, repository_url: str
) -> AsyncIterator[aiohttp.ClientResponse]:
    """GET following redirects by hand, so each hop gets credentials only if Helm would
    send them there (the repository's origin, or any origin with passCredentials)."""
    for _ in range(_MAX_REDIRECTS):
        headers = _authorization(auth.basic_for(url, repository_url))
        response = await session.get(url, headers=headers, allow_redirects=False)
        location = response.headers.get("Location")
        if response.status not in _REDIRECTS or not location:
            try:
                yield response
            finally:
                response.release()
            return
        response.release()
        url = urljoin(url, location)
    raise RepositoryFetchFailed(f"too many redirects fetching {redact_url(url)}")


async def download(
    url: str,
    dest: Path,
    *,
    auth: RepositoryAuth,
    repository_url: str,
    timeout: float,
    max_size: int,
    what: str,
    too_large: type[HelmError] = RepositoryFetchFailed,
) -> Downloaded:
    """GET `url` into `dest`; `what` names the thing in messages ("index", "chart").

    Raises RepositoryAuthFailed for 401/403 and TLS failures, `too_large` past `max_size`
    bytes, RepositoryFetchFailed for anything else.
    """
    shown = redact_url(url)
    basic = auth.basic_for(url, repository_url)
    connector = aiohttp.TCPConnector(ssl=auth.ssl_context or True)
    digest = hashlib.sha256()
    size = 0
    try:
        async with (
            aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=timeout),
                headers={"User-Agent": _USER_AGENT},
            ) as session,
            _get(session, url, auth, repository_url) as response,
        ):
            if response.status in (401, 403):
                raise RepositoryAuthFailed(
                    f"failed to fetch {what} from {shown}: {response.status} {response.reason}"
                    + ("" if basic else " (no credentials were sent)")
                )
            if response.status != 200:
                raise RepositoryFetchFailed(
                    f"failed to fetch {what} from {shown}: {response.status} {response.reason}"
                )
            declared = response.content_length
            if declared is not None and declared > max_size:
                raise too_large(
                    f"{what} from {shown} is {declared} bytes, above the limit of {max_size} bytes"
                )
            fh = await asyncio.to_thread(dest.open, "wb")
            try:
                pending = bytearray()
                async for chunk in response.content.iter_chunked(_CHUNK):
                    size += len(chunk)
                    if size > max_size:
                        raise too_large(
                            f"{what} from {shown} is above the limit of {max_size} bytes "
                            "(download stopped)"
                        )
                    digest.update(chunk)
                    pending += chunk
                    if len(pending) >= _WRITE_BATCH:
                        await asyncio.to_thread(fh.write, bytes(pending))
                        pending.clear()
                await asyncio.to_thread(fh.write, bytes(pending))
            finally:
                await asyncio.to_thread(fh.close)
    except HelmError:
        raise
    except TimeoutError:
        raise RepositoryFetchFailed(
            f"failed to fetch {what} from {shown}: timed out after {timeout:g}s"
        ) from None
    except aiohttp.ClientConnectorCertificateError as exc:
        raise RepositoryAuthFailed(
            f"failed to fetch {what} from {shown}: TLS certificate verification failed: "
            f"{exc.certificate_error}"
        ) from None
    except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
        raise RepositoryAuthFailed(
            f"failed to fetch {what} from {shown}: TLS error: {exc}"
        ) from None
    except aiohttp.ClientConnectorError as exc:
        raise RepositoryFetchFailed(
            f"failed to fetch {what} from {shown}: cannot connect: {exc.os_error.strerror or exc}"
        ) from None
    except (aiohttp.ClientError, OSError) as exc:
        detail = str(exc) or type(exc).__name__
        raise RepositoryFetchFailed(f"failed to fetch {what} from {shown}: {detail}") from None
    return Downloaded(dest, digest.hexdigest(), size)
