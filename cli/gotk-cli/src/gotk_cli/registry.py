"""The write side of the OCI distribution API, for `push artifact` and `tag artifact`.

source-controller's ``OCIClient`` only reads (resolve, list tags, fetch blobs) and the CLI
uses it for that; this client adds what a push needs: blob existence checks, monolithic
blob uploads (POST then PUT), and manifests read as raw bytes and PUT under a tag.

Authentication answers the registry's challenges the way ``OCIClient`` does — `Basic`
with the credentials, `Bearer` with a token from the challenge's realm (whose scope asks
for push on an upload) — and the Authorization header never leaves the registry's origin.
Messages name the repository and redacted URLs, never a credential.
"""

from __future__ import annotations

import hashlib
import json
from types import TracebackType
from typing import Final, Self
from urllib.parse import urljoin, urlsplit

import aiohttp
from gotk_artifacts import redact_url
from source_controller.oci import ClientOptions, RegistryCredentials, Repository
from source_controller.oci.auth import Challenge, parse_challenge
from source_controller.oci.errors import RegistryAuthenticationFailed, RegistryUnreachable
from source_controller.oci.transport import new_session

from gotk_cli.errors import CliError

__all__ = ["RegistryWriter", "sha256_digest"]

_MAX_BODY: Final = 4 << 20
_ACCEPT: Final = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RegistryWriter:
    """Writes to one repository; use as ``async with RegistryWriter(...) as registry``."""

    def __init__(
        self,
        repository: Repository,
        credentials: RegistryCredentials | None = None,
        options: ClientOptions | None = None,
    ) -> None:
        self.repository = repository
        self.credentials = credentials or RegistryCredentials()
        self.options = options or ClientOptions()
        self.base_url = f"{self.options.scheme}://{repository.api_host}"
        self._session: aiohttp.ClientSession | None = None
        self._authorization: str | None = None

    async def __aenter__(self) -> Self:
        self._session = await new_session(self.options)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def push_blob(self, data: bytes) -> str:
        """Upload ``data`` unless the repository already has it; its digest."""
        digest = sha256_digest(data)
        status, _, _ = await self._call("HEAD", self._url(f"blobs/{digest}"))
        if status == 200:
            return digest
        status, headers, body = await self._call("POST", self._url("blobs/uploads/"))
        self._expect(status, (202,), "POST", "blobs/uploads/", body)
        location = headers.get("Location", "")
        if not location:
            raise CliError(f"registry gave no upload location for '{self.repository}'")
        upload = urljoin(self.base_url, location)
        parts = urlsplit(upload)
        query = f"{parts.query}&digest={digest}" if parts.query else f"digest={digest}"
        target = parts._replace(query=query).geturl()
        status, _, body = await self._call(
            "PUT", target, data=data, headers={"Content-Type": "application/octet-stream"}
        )
        self._expect(status, (201, 204), "PUT", f"blob {digest}", body)
        return digest

    async def put_manifest(self, ref: str, body: bytes, media_type: str) -> str:
        """Store ``body`` under the tag ``ref``; the manifest's digest."""
        status, headers, answer = await self._call(
            "PUT", self._url(f"manifests/{ref}"), data=body, headers={"Content-Type": media_type}
        )
        self._expect(status, (201,), "PUT", f"manifest '{ref}'", answer)
        digest = sha256_digest(body)
        advertised = headers.get("Docker-Content-Digest")
        if advertised and advertised != digest:
            raise CliError(
                f"registry stored manifest '{ref}' of '{self.repository}' as {advertised}, "
                f"not {digest}"
            )
        return digest

    async def get_manifest(self, ref: str) -> tuple[bytes, str]:
        """The manifest ``ref`` names, as stored (bytes and media type)."""
        status, headers, body = await self._call(
            "GET", self._url(f"manifests/{ref}"), headers={"Accept": _ACCEPT}
        )
        if status == 404:
            raise CliError(f"'{ref}' not found in '{self.repository}'")
        self._expect(status, (200,), "GET", f"manifest '{ref}'", body)
        return body, headers.get("Content-Type", "")

    # --- HTTP

    def _url(self, suffix: str) -> str:
        return f"{self.base_url}/v2/{self.repository.repository}/{suffix}"

    def _expect(
        self, status: int, wanted: tuple[int, ...], method: str, what: str, body: bytes
    ) -> None:
        if status in wanted:
            return
        if status in (401, 403):
            raise self._denied(status)
        raise CliError(
            f"registry answered {method} for {what} of '{self.repository}' with "
            f"{status}{_registry_message(body)}"
        )

    async def _call(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request; a 401 is answered once with the challenge's credentials."""
        for attempt in (1, 2):
            status, answer, body = await self._send(method, url, data, headers or {})
            if status != 401 or attempt == 2:
                return status, answer, body
            await self._answer(parse_challenge(answer.get("WWW-Authenticate", "")))
        raise AssertionError("unreachable")

    async def _send(
        self, method: str, url: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        if self._session is None:
            raise RuntimeError("RegistryWriter used outside 'async with'")
        sent = dict(headers)
        if self._authorization and _origin(url) == _origin(self.base_url):
            sent["Authorization"] = self._authorization
        try:
            async with self._session.request(
                method, url, data=data, headers=sent, allow_redirects=False
            ) as response:
                body = await response.content.read(_MAX_BODY)
                return response.status, dict(response.headers), body
        except (TimeoutError, aiohttp.ClientError) as err:
            raise RegistryUnreachable(
                f"cannot reach registry '{self.repository.host}' at {redact_url(url)}: "
                f"{str(err) or type(err).__name__}"
            ) from None

    def _denied(self, status: int) -> RegistryAuthenticationFailed:
        host, repo = self.repository.host, self.repository.repository
        if status == 403:
            return RegistryAuthenticationFailed(f"registry '{host}' denied access to '{repo}'")
        if self.credentials:
            return RegistryAuthenticationFailed(
                f"registry '{host}' rejected the credentials for '{repo}' (401 Unauthorized)"
            )
        return RegistryAuthenticationFailed(
            f"registry '{host}' requires authentication for '{repo}': give --creds or log in "
            "with docker login (401 Unauthorized)"
        )

    async def _answer(self, challenge: Challenge) -> None:
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
        scope = challenge.params.get("scope") or (
            f"repository:{self.repository.repository}:pull,push"
        )
        params = {"scope": scope}
        if challenge.params.get("service"):
            params["service"] = challenge.params["service"]
        basic = self.credentials.basic_header()
        try:
            async with self._session.get(
                realm, params=params, headers={"Authorization": basic} if basic else {}
            ) as response:
                if response.status in (401, 403):
                    raise self._denied(401)
                if response.status >= 400:
                    raise RegistryAuthenticationFailed(
                        f"token service {redact_url(realm)} answered {response.status}"
                    )
                document = json.loads(await response.content.read(1 << 20))
        except (TimeoutError, aiohttp.ClientError, ValueError) as err:
            raise RegistryAuthenticationFailed(
                f"no token from {redact_url(realm)}: {str(err) or type(err).__name__}"
            ) from None
        token = (
            document.get("token") or document.get("access_token")
            if isinstance(document, dict)
            else None
        )
        if not isinstance(token, str) or not token:
            raise RegistryAuthenticationFailed(
                f"token service {redact_url(realm)} answered without a token"
            )
        return token


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _registry_message(body: bytes) -> str:
    """The registry's own error (distribution's `errors[0].message`), if any."""
    try:
        errors = json.loads(body).get("errors") or []
        message = str(errors[0].get("message") or errors[0].get("code") or "")
    except (ValueError, AttributeError, IndexError, TypeError):
        return ""
    return f": {message[:200]}" if message else ""
