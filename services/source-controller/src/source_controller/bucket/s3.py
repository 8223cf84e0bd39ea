"""An S3 client for one bucket (aiobotocore), with its errors translated into BucketErrors.

The only module that imports aiobotocore/botocore; the reconciler imports it lazily, since
botocore costs ~10 MiB and over a second to import and most clusters have no Bucket.
Without credentials requests are unsigned (anonymous, as Flux's generic provider); botocore
never falls back to the environment's or the instance's AWS credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final, Literal

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore import UNSIGNED  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ProxyConnectionError,
    ReadTimeoutError,
    SSLError,
)
from gotk_artifacts.scratch import scratch_dir

from source_controller.bucket.connection import BucketConnection
from source_controller.bucket.errors import (
    BucketError,
    BucketNotFound,
    BucketOperationFailed,
    BucketTimeout,
    BucketUnreachable,
)
from source_controller.bucket.index import normalize_etag
from source_controller.credentials import write_private

__all__ = ["MAX_CONNECTIONS", "S3Bucket", "open_bucket"]

MAX_CONNECTIONS: Final = 100
_CHUNK: Final = 64 * 1024
_ATTEMPTS: Final = 3
_DENIED: Final = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"}
)
_QUERY_RE: Final = re.compile(r"(https?://[^\s\"'?]*)\?[^\s\"']*")

_session: AioSession | None = None


def _get_session() -> AioSession:
    global _session
    if _session is None:
        _session = get_session()
    return _session


def scrub(text: str) -> str:
    """Drop URL query strings (pre-signed parameters) from a message, as Flux does."""
    return _QUERY_RE.sub(r"\1", text)


class S3Bucket:
    """List and download the objects of one bucket over an open client."""

    def __init__(self, client: Any, connection: BucketConnection) -> None:
        self._client = client
        self.connection = connection
        self.name = connection.bucket

    async def list_objects(self, prefix: str | None) -> AsyncIterator[tuple[str, str]]:
        """Every `(key, etag)` under `prefix`, in the server's order."""
        paginator = self._client.get_paginator("list_objects_v2")
        params: dict[str, str] = {"Bucket": self.name}
        if prefix:
            params["Prefix"] = prefix
        try:
            async for page in paginator.paginate(**params):
                for item in page.get("Contents") or ():
                    yield item["Key"], normalize_etag(item.get("ETag", ""))
        except Exception as err:
            raise self.translate(err, f"listing objects from bucket '{self.name}' failed") from None

    async def read_object(
        self, key: str, *, if_none_match: str | None = None, limit: int
    ) -> tuple[bytes, str] | Literal["unchanged"] | None:
        """`(content, etag)` of a small object; None when absent, "unchanged" on a 304."""
        params: dict[str, str] = {"Bucket": self.name, "Key": key}
        if if_none_match:
            params["IfNoneMatch"] = f'"{if_none_match}"'
        try:
            response = await self._client.get_object(**params)
            async with response["Body"] as body:
                data: bytes = await body.read(limit + 1)
        except ClientError as err:
            if _status(err) == 304:
                return "unchanged"
            if _code(err) == "NoSuchKey":
                return None
            raise self.translate(err, f"failed to get '{key}' object") from None
        except Exception as err:
            raise self.translate(err, f"failed to get '{key}' object") from None
        if len(data) > limit:
            raise BucketOperationFailed(f"object '{key}' is larger than {limit} bytes")
        return data, normalize_etag(response.get("ETag", ""))

    async def download(self, key: str, dest: Path) -> str | None:
        """Write object `key` to `dest`; its etag, or None when it has disappeared."""
        try:
            response = await self._client.get_object(Bucket=self.name, Key=key)
            fh = await asyncio.to_thread(dest.open, "wb")
            try:
                async with response["Body"] as body:
                    while chunk := await body.read(_CHUNK):
                        await asyncio.to_thread(fh.write, chunk)
            finally:
                await asyncio.to_thread(fh.close)
        except ClientError as err:
            if _code(err) == "NoSuchKey":
                return None
            raise self.translate(err, f"failed to get '{key}' object") from None
        except (BotoCoreError, aiohttp.ClientError, TimeoutError) as err:
            # Before OSError: aiohttp's connection errors are OSErrors too.
            raise self.translate(err, f"failed to get '{key}' object") from None
        except OSError as err:
            raise BucketOperationFailed(f"cannot write object '{key}': {err.strerror}") from None
        return normalize_etag(response.get("ETag", ""))

    def translate(self, err: BaseException, what: str) -> BucketError:
        """A BucketError for a botocore/aiohttp failure, with no query strings in it."""
        host = self.connection.host
        if isinstance(err, BucketError):
            return err
        if isinstance(err, ClientError):
            code = _code(err)
            detail = (err.response.get("Error") or {}).get("Message") or code
            if code == "NoSuchBucket":
                return BucketNotFound(f"bucket '{self.name}' not found")
            if code in _DENIED or _status(err) == 403:
                return BucketOperationFailed(f"{what}: access denied ({code}): {scrub(detail)}")
            return BucketOperationFailed(f"{what}: {code}: {scrub(detail)}")
        if isinstance(err, SSLError):
            cause = err.kwargs.get("error", "")
            return BucketUnreachable(f"{what}: TLS handshake with '{host}' failed: {cause}")
        if isinstance(err, ProxyConnectionError):
            return BucketUnreachable(f"{what}: cannot connect through the proxy to '{host}'")
        if isinstance(err, EndpointConnectionError | ConnectTimeoutError):
            return BucketUnreachable(f"{what}: cannot connect to endpoint '{host}'")
        if isinstance(err, ReadTimeoutError | TimeoutError):
            return BucketTimeout(f"{what}: endpoint '{host}' timed out")
        if isinstance(err, BotoCoreError | aiohttp.ClientError):
            return BucketOperationFailed(f"{what}: {scrub(str(err))}")
        raise err


def _code(err: ClientError) -> str:
    return str((err.response.get("Error") or {}).get("Code") or _status(err) or "")


def _status(err: ClientError) -> int | None:
    status = (err.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


@contextlib.asynccontextmanager
async def open_bucket(connection: BucketConnection) -> AsyncIterator[S3Bucket]:
    """A client for `connection`; TLS material lives in a private temp dir until exit."""
    async with scratch_dir("bucket-tls-") as workdir:
        verify, client_cert = await asyncio.to_thread(_write_tls, connection, workdir)
        config = AioConfig(
            signature_version=None if connection.credentials else UNSIGNED,
            connect_timeout=connection.timeout,
            read_timeout=connection.timeout,
            retries={"total_max_attempts": _ATTEMPTS, "mode": "standard"},
            max_pool_connections=MAX_CONNECTIONS,
            s3={"addressing_style": _addressing_style(connection)},
            proxies=_proxies(connection),
            client_cert=client_cert,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        creds = connection.credentials
        async with _get_session().create_client(
            "s3",
            endpoint_url=connection.endpoint_url,
            region_name=connection.region or "us-east-1",
            aws_access_key_id=creds.access_key if creds else None,
            aws_secret_access_key=creds.secret_key if creds else None,
            verify=verify,
            config=config,
        ) as client:
            yield S3Bucket(client, connection)


def _addressing_style(connection: BucketConnection) -> str:
    # minio-go uses virtual-host style only for the cloud providers' own endpoints.
    host = connection.host.rsplit(":", 1)[0]
    return "virtual" if host.endswith(".amazonaws.com") else "path"


def _proxies(connection: BucketConnection) -> dict[str, str] | None:
    if connection.proxy is None:
        return None
    url = connection.proxy.url()
    return {"http": url, "https": url}


def _write_tls(
    connection: BucketConnection, workdir: Path
) -> tuple[str | bool, tuple[str, str] | None]:
    """botocore takes TLS material as files: a CA bundle (system + ca.crt, as Flux appends
    to the system pool) and the client pair."""
    tls = connection.tls
    if tls is None:
        return True, None
    verify: str | bool = True
    if tls.ca:
        bundle = workdir / "ca-bundle.pem"
        system = ssl.get_default_verify_paths().cafile
        parts = [Path(system).read_bytes()] if system and os.path.isfile(system) else []
        write_private(bundle, b"\n".join([*parts, tls.ca]))
        verify = str(bundle)
    client_cert = None
    if tls.cert:
        write_private(workdir / "tls.crt", tls.cert)
        write_private(workdir / "tls.key", tls.key)
        client_cert = (str(workdir / "tls.crt"), str(workdir / "tls.key"))
    return verify, client_cert
