"""An OCI distribution API client for one repository: resolve, list tags, fetch blobs.

Speaks the registry HTTP API (`/v2/<name>/manifests|blobs|tags`) over aiohttp:

- authentication on demand: a 401 carries a `WWW-Authenticate` challenge; `Bearer` is
  answered by fetching a token from the challenge's realm (with the credentials as Basic
  auth, or an OAuth2 refresh-token grant for an identity token), `Basic` by sending the
  credentials; the answer is cached for the client's lifetime;
- manifests are read with every supported media type accepted and their bytes checked
  against the digest asked for (or the one the registry advertises for a tag);
- blobs are streamed to a temp file next to the destination, hashed on the way, and only
  renamed into place when the digest matches;
- redirects (blob storage on another host) are followed by hand so the registry's
  Authorization header never leaves the registry's origin.

Every failure is an `OCIError` with the Flux reason; messages name the repository and
never contain credentials or a redirect's signed query string.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Self
from urllib.parse import urljoin, urlsplit

import aiohttp
from gotk_artifacts.atomic import AtomicWriter
from gotk_artifacts.digest import Digest, new_hasher
from gotk_artifacts.urls import redact_url

from source_controller.oci.auth import Challenge, RegistryCredentials, parse_challenge
from source_controller.oci.errors import (
    BlobDigestMismatch,
    ManifestDigestMismatch,
    ManifestNotFound,
    OCIError,
    PullFailed,
    RegistryAuthenticationFailed,
    RegistryUnreachable,
    UnsupportedManifest,
)
from source_controller.oci.manifest import (
    ACCEPTED_MANIFEST_TYPES,
    Descriptor,
    Index,
    Manifest,
    parse_manifest_document,
)
from source_controller.oci.reference import Repository, is_digest, parse_reference_digest
from source_controller.oci.transport import ClientOptions, new_session, proxy_auth, proxy_url

__all__ = ["OCIClient", "Resolved"]

MAX_MANIFEST_BYTES: Final = 4 << 20  # the distribution registry's own limit
MAX_REDIRECTS: Final = 10
_TAGS_PAGE: Final = 1000
_CHUNK: Final = 1 << 20
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_ACCEPT: Final = ", ".join(ACCEPTED_MANIFEST_TYPES)


@dataclass(frozen=True, slots=True)
class Resolved:
    """What a tag or digest points at.

    `digest` is the digest of the manifest the reference names (the index's, for a
    multi-platform artifact); `manifest` is the image manifest to pull layers from.
    """

    digest: str
    manifest: Manifest
    index: Index | None = None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return f"no answer within {timeout:g}s (timeout)"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate verification failed: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect: {exc.os_error.strerror or exc.os_error}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _registry_error(response: aiohttp.ClientResponse) -> str:
    """The registry's own error message (distribution's `errors[0].message`), if any."""
    try:
        body = await response.content.read(8192)
        errors = json.loads(body).get("errors") or []
        message = str(errors[0].get("message") or errors[0].get("code") or "")
    except (TimeoutError, ValueError, AttributeError, IndexError, aiohttp.ClientError):
        return ""
    return f": {message[:200]}" if message else ""


class OCIClient:
    """A client for one repository; use as `async with OCIClient(repo, ...) as client`."""

    def __init__(
        self,
        repository: Repository,
        *,
        credentials: RegistryCredentials | None = None,
        options: ClientOptions | None = None,
    ) -> None:
        self.repository = repository
        self.credentials = credentials or RegistryCredentials()
        self.options = options or ClientOptions()
        self.base_url = f"{self.options.scheme}://{repository.api_host}"
        self._session: aiohttp.ClientSession | None = None
        self._authorization: str | None = None
        if self.credentials.registry_token:
            self._authorization = f"Bearer {self.credentials.registry_token}"

    async def __aenter__(self) -> Self:
        self._session = await new_session(self.options)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- public API

    async def head_digest(self, ref: str) -> str:
        """The digest of the manifest `ref` (a tag or digest) names, from a HEAD if possible."""
        url = self._url(f"manifests/{ref}")
        async with self._request("HEAD", url, headers={"Accept": _ACCEPT}, check=False) as response:
            status = response.status
            advertised = response.headers.get("Docker-Content-Digest", "")
        if status == 404:
            raise self._not_found(ref)
        if 200 <= status < 300 and advertised:
            try:
                return str(parse_reference_digest(advertised))
            except OCIError:
                pass  # a malformed header: the GET below computes the digest itself
        _, _, digest = await self._get_manifest(ref)
        return str(digest)

    async def resolve(self, ref: str) -> Resolved:
        """Fetch and verify the manifest `ref` (a tag or `sha256:...`) names.

        For an index the linux/amd64 (else the first) image manifest is fetched too.
        """
        body, content_type, digest = await self._get_manifest(ref)
        document = parse_manifest_document(body, content_type, str(digest))
        if isinstance(document, Manifest):
            return Resolved(str(digest), document)
        chosen = document.choose()
        body, content_type, child = await self._get_manifest(chosen.digest)
        manifest = parse_manifest_document(body, content_type, str(child))
        if not isinstance(manifest, Manifest):
            raise UnsupportedManifest(
                f"index {digest} in '{self.repository}' points at another index {child}"
            )
        return Resolved(str(digest), manifest, document)

    async def list_tags(self) -> list[str]:
        """Every tag of the repository, following the registry's pagination."""
        tags: list[str] = []
        url: str | None = self._url(f"tags/list?n={_TAGS_PAGE}")
        while url is not None:
            async with self._request("GET", url, what="the tag list") as response:
                body = await self._read_capped(response, MAX_MANIFEST_BYTES, "tag list")
                link = response.headers.get("Link", "")
            try:
                page = json.loads(body).get("tags") or []
            except (ValueError, AttributeError):
                raise PullFailed(
                    f"registry answered the tag list of '{self.repository}' with invalid JSON"
                ) from None
            tags.extend(str(tag) for tag in page)
            url = self._next_page(link)
        return tags

    async def fetch_blob(self, descriptor: Descriptor | str, dest: Path) -> Digest:
        """Download a blob to `dest`, verified against its digest; nothing is left on failure.

        With a Descriptor, a body larger than its `size` is refused before it is all read.
        """
        digest_text = descriptor if isinstance(descriptor, str) else descriptor.digest
        limit = None if isinstance(descriptor, str) else descriptor.size
        expected = parse_reference_digest(digest_text)
        url = self._url(f"blobs/{expected}")
        writer = await asyncio.to_thread(
            AtomicWriter, dest, algorithm=expected.algorithm, durable=False
        )
        try:
            async with self._request("GET", url, what=f"blob {expected}") as response:
                buffer = bytearray()
                async for chunk in response.content.iter_chunked(_CHUNK):
                    buffer += chunk
                    if limit is not None and writer.size + len(buffer) > limit:
                        raise BlobDigestMismatch(
                            f"blob {expected} of '{self.repository}' is larger than the "
                            f"{limit} bytes its descriptor declares"
                        )
                    if len(buffer) >= _CHUNK:
                        await asyncio.to_thread(writer.write, bytes(buffer))
                        buffer.clear()
                if buffer:
                    await asyncio.to_thread(writer.write, bytes(buffer))
            actual = writer.digest()
            if not actual.matches(expected):
                raise BlobDigestMismatch(
                    f"blob {expected} of '{self.repository}' has digest {actual}: "
                    "the content does not match its descriptor, refusing it"
                )
            await asyncio.to_thread(writer.commit)
            return actual
        finally:
            await asyncio.to_thread(writer.abort)

    # --- manifests

    async def _get_manifest(self, ref: str) -> tuple[bytes, str, Digest]:
        pinned = parse_reference_digest(ref) if is_digest(ref) else None
        async with self._request(
            "GET", self._url(f"manifests/{ref}"), headers={"Accept": _ACCEPT}, not_found=ref
        ) as response:
            body = await self._read_capped(response, MAX_MANIFEST_BYTES, f"manifest '{ref}'")
            content_type = response.headers.get("Content-Type", "")
            advertised = response.headers.get("Docker-Content-Digest", "")
        expected = pinned
        if expected is None and advertised:
            try:
                expected = parse_reference_digest(advertised)
            except OCIError:
                raise ManifestDigestMismatch(
                    f"registry advertised an invalid digest for '{self.repository}:{ref}'"
                ) from None
        hasher = new_hasher(expected.algorithm if expected else "sha256")
        hasher.update(body)
        actual = Digest(expected.algorithm if expected else "sha256", hasher.hexdigest())
        if expected is not None and not actual.matches(expected):
            raise ManifestDigestMismatch(
                f"manifest '{ref}' of '{self.repository}' has digest {actual} but "
                f"{expected} was expected: refusing it"
            )
        return body, content_type, actual

    # --- HTTP

    def _url(self, suffix: str) -> str:
        return f"{self.base_url}/v2/{self.repository.repository}/{suffix}"

    def _next_page(self, link: str) -> str | None:
        # `Link: </v2/name/tags/list?last=x&n=1000>; rel="next"`
        for part in link.split(","):
            target, _, params = part.partition(";")
            if 'rel="next"' in params.replace(" ", "") and target.strip().startswith("<"):
                return urljoin(self.base_url, target.strip()[1:-1])
        return None

    def _not_found(self, ref: str) -> ManifestNotFound:
        kind = "digest" if is_digest(ref) else "tag"
        return ManifestNotFound(f"{kind} '{ref}' not found in '{self.repository}'")

    @staticmethod
    async def _read_capped(response: aiohttp.ClientResponse, cap: int, what: str) -> bytes:
        body = await response.content.read(cap + 1)
        if len(body) > cap:
            raise PullFailed(f"{what} is larger than {cap} bytes")
        return body

    @contextlib.asynccontextmanager
    async def _request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        what: str = "",
        not_found: str | None = None,
        check: bool = True,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send with auth and redirects; unless `check` is off, raise for an error status."""
        response = await self._send(method, url, headers or {})
        try:
            if response.status == 401:
                challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
                response.release()
                await self._answer(challenge)
                response = await self._send(method, url, headers or {})
            if response.status in (401, 403):
                raise self._denied(response.status)
            if check and response.status >= 400:
                if response.status == 404 and not_found is not None:
                    raise self._not_found(not_found)
                detail = await _registry_error(response)
                raise PullFailed(
                    f"registry answered {method} {redact_url(url)} for {what or 'the request'} "
                    f"with {response.status} {response.reason}{detail}"
                )
            yield response
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise RegistryUnreachable(
                f"reading {what or 'from'} '{self.repository}' failed: "
                f"{_describe(exc, self.options.timeout)}"
            ) from None
        finally:
            response.release()

    async def _send(self, method: str, url: str, headers: dict[str, str]) -> aiohttp.ClientResponse:
        if self._session is None:
            raise RuntimeError("OCIClient used outside 'async with'")
        registry = _origin(self.base_url)
        proxy = self.options.proxy
        for _ in range(MAX_REDIRECTS + 1):
            sent = dict(headers)
            if self._authorization and _origin(url) == registry:
                sent["Authorization"] = self._authorization
            try:
                response = await self._session.request(
                    method,
                    url,
                    headers=sent,
                    allow_redirects=False,
                    proxy=proxy_url(proxy),
                    proxy_auth=proxy_auth(proxy),
                )
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise RegistryUnreachable(
                    f"cannot reach registry '{self.repository.host}' at {redact_url(url)}: "
                    f"{_describe(exc, self.options.timeout)}"
                ) from None
            location = response.headers.get("Location")
            if response.status not in _REDIRECTS or not location:
                return response
            response.release()
            url = urljoin(url, location)
            if response.status == 303 and method != "HEAD":
                method = "GET"
        raise PullFailed(f"more than {MAX_REDIRECTS} redirects from '{self.repository}'")

    def _denied(self, status: int) -> RegistryAuthenticationFailed:
        host, repo = self.repository.host, self.repository.repository
        if status == 403:
            return RegistryAuthenticationFailed(
                f"registry '{host}' denied access to '{repo}' (403 Forbidden)"
            )
        if self.credentials:
            return RegistryAuthenticationFailed(
                f"registry '{host}' rejected the credentials for '{repo}' (401 Unauthorized)"
            )
        return RegistryAuthenticationFailed(
            f"registry '{host}' requires authentication for '{repo}' and no credentials "
            "were given (401 Unauthorized)"
        )

    # --- authentication

    async def _answer(self, challenge: Challenge) -> None:
        """Set the Authorization header that answers the registry's challenge."""
        if challenge.scheme == "basic":
            basic = self.credentials.basic_header()
            if basic is None:
                raise self._denied(401)
            self._authorization = basic
        elif challenge.scheme == "bearer":
            self._authorization = f"Bearer {await self._token(challenge)}"
        else:
            raise RegistryAuthenticationFailed(
                f"registry '{self.repository.host}' asked for unsupported authentication "
                f"scheme '{challenge.scheme or '(none)'}'"
            )

    async def _token(self, challenge: Challenge) -> str:
        assert self._session is not None
        realm = challenge.params.get("realm", "")
        if urlsplit(realm).scheme not in ("http", "https"):
            raise RegistryAuthenticationFailed(
                f"registry '{self.repository.host}' sent a bearer challenge without a valid realm"
            )
        scope = challenge.params.get("scope") or f"repository:{self.repository.repository}:pull"
        service = challenge.params.get("service", "")
        proxy = self.options.proxy
        creds = self.credentials
        request: dict[str, object] = {
            "proxy": proxy_url(proxy),
            "proxy_auth": proxy_auth(proxy),
        }
        try:
            if creds.identity_token:
                form = {
                    "grant_type": "refresh_token",
                    "refresh_token": creds.identity_token,
                    "service": service,
                    "scope": scope,
                    "client_id": "gotk",
                }
                call = self._session.post(realm, data=form, **request)  # type: ignore[arg-type]
            else:
                basic = creds.basic_header()
                call = self._session.get(
                    realm,
                    params={k: v for k, v in (("service", service), ("scope", scope)) if v},
                    headers={"Authorization": basic} if basic else {},
                    **request,  # type: ignore[arg-type]
                )
            async with call as response:
                if response.status in (401, 403):
                    raise self._denied(401)
                if response.status >= 400:
                    raise RegistryAuthenticationFailed(
                        f"token service {redact_url(realm)} answered {response.status} "
                        f"{response.reason}"
                    )
                body = await response.content.read(1 << 20)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise RegistryUnreachable(
                f"cannot reach token service {redact_url(realm)}: "
                f"{_describe(exc, self.options.timeout)}"
            ) from None
        try:
            document = json.loads(body)
            token = document.get("token") or document.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryAuthenticationFailed(
                f"token service {redact_url(realm)} answered without a token"
            )
        return token
