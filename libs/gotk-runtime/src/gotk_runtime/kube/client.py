"""A thin async client for any Kubernetes resource, speaking raw JSON.

Objects are plain dicts straight from orjson: no generated model classes (slow to build and
several times larger in memory). Every failure leaves as a ``KubeError`` subclass. With a
``rate_limiter`` every request but a watch first takes a token, as client-go does: a watch
is one long-lived request, and limiting it would only delay the informers' recovery.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Literal, NamedTuple

import aiohttp
import orjson
from gotk_api.objects import Obj

from gotk_runtime.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeError,
    KubeUnavailable,
    NotFound,
    ServerError,
    TooManyRequests,
    Unauthorized,
)
from gotk_runtime.kube.config import ClusterConfig
from gotk_runtime.kube.discovery import Discovery
from gotk_runtime.kube.redact import is_secret_path, mask_secret_values
from gotk_runtime.kube.resource import Resource
from gotk_runtime.ratelimit import TokenBucket

__all__ = ["KubeClient", "PatchType", "WatchEvent"]

PatchType = Literal["merge", "json", "strategic", "apply"]

_PATCH_CONTENT_TYPES: dict[str, str] = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}
_STATUS_ERRORS: dict[int, type[KubeError]] = {
    400: Invalid,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
}
# Watch events carry whole objects; etcd's request limit is 1.5 MiB.
_READ_BUFFER = 2**21


class WatchEvent(NamedTuple):
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: Obj


class KubeClient:
    """Requests to one API server; use as an async context manager or call ``close()``."""

    def __init__(
        self,
        config: ClusterConfig,
        *,
        user_agent: str = "gotk",
        timeout: float = 30.0,
        rate_limiter: TokenBucket | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """``headers`` go on every request (e.g. ``Impersonate-User``)."""
        self.config = config
        self.timeout = timeout
        self.rate_limiter = rate_limiter
        self.headers = dict(headers or {})
        self.discovery = Discovery(self)
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- typed verbs

    async def get(self, resource: Resource, name: str, namespace: str | None = None) -> Obj:
        result: Obj = await self.request("GET", resource.path(namespace, name))
        return result

    async def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
        resource_version: str | None = None,
    ) -> Obj:
        """One page of a list: ``{"items": [...], "metadata": {"resourceVersion", "continue"}}``."""
        params = _params(
            labelSelector=label_selector,
            fieldSelector=field_selector,
            limit=limit,
            resourceVersion=resource_version,
        )
        if continue_token:
            params["continue"] = continue_token
        result: Obj = await self.request("GET", resource.path(namespace), params=params)
        return result

    async def create(
        self, resource: Resource, obj: Obj, *, namespace: str | None = None, dry_run: bool = False
    ) -> Obj:
        namespace = namespace or obj.get("metadata", {}).get("namespace")
        params = _params(dryRun="All" if dry_run else None)
        result: Obj = await self.request("POST", resource.path(namespace), params=params, body=obj)
        return result

    async def replace(self, resource: Resource, obj: Obj, *, subresource: str | None = None) -> Obj:
        """PUT the whole object; fails with ``Conflict`` if its resourceVersion is stale."""
        metadata = obj["metadata"]
        path = resource.path(metadata.get("namespace"), metadata["name"], subresource)
        result: Obj = await self.request("PUT", path, body=obj)
        return result

    async def patch(
        self,
        resource: Resource,
        name: str,
        patch: Obj | builtins.list[Obj],
        *,
        namespace: str | None = None,
        patch_type: PatchType = "merge",
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> Obj:
        """PATCH an object or its ``status`` subresource.

        ``patch_type="apply"`` is server-side apply: ``field_manager`` is required, and
        ``force`` takes over fields owned by other managers.
        """
        if patch_type == "apply" and not field_manager:
            raise ValueError("server-side apply needs a field manager")
        params = _params(
            fieldManager=field_manager,
            force="true" if force and patch_type == "apply" else None,
            dryRun="All" if dry_run else None,
        )
        result: Obj = await self.request(
            "PATCH",
            resource.path(namespace, name, subresource),
            params=params,
            body=patch,
            content_type=_PATCH_CONTENT_TYPES[patch_type],
        )
        return result

    async def apply(
        self,
        resource: Resource,
        obj: Obj,
        *,
        field_manager: str,
        force: bool = True,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """Server-side apply ``obj`` (which names itself in its metadata)."""
        metadata = obj["metadata"]
        return await self.patch(
            resource,
            metadata["name"],
            obj,
            namespace=metadata.get("namespace"),
            patch_type="apply",
            subresource=subresource,
            field_manager=field_manager,
            force=force,
            dry_run=dry_run,
        )

    async def delete(
        self,
        resource: Resource,
        name: str,
        namespace: str | None = None,
        *,
        propagation_policy: Literal["Foreground", "Background", "Orphan"] | None = None,
        dry_run: bool = False,
    ) -> Obj | None:
        body: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        if dry_run:
            body["dryRun"] = ["All"]
        result: Obj | None = await self.request("DELETE", resource.path(namespace, name), body=body)
        return result

    async def watch(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        resource_version: str,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 300,
        allow_bookmarks: bool = True,
    ) -> AsyncIterator[WatchEvent]:
        """Stream changes after ``resource_version`` until the server ends the watch.

        An ``ERROR`` event becomes the matching exception (``Gone`` for a compacted
        resourceVersion). A stream that stops answering for 30 s beyond the server-side
        timeout raises ``KubeUnavailable``.
        """
        params = _params(
            watch="true",
            resourceVersion=resource_version,
            labelSelector=label_selector,
            fieldSelector=field_selector,
            timeoutSeconds=timeout_seconds,
            allowWatchBookmarks="true" if allow_bookmarks else None,
        )
        path = resource.path(namespace)
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self.timeout, sock_read=timeout_seconds + 30
        )
        try:
            async with await self._send("GET", path, params, None, "", timeout) as response:
                if response.status >= 400:
                    raise _translate("GET", path, response.status, await response.read())
                while True:
                    line = await response.content.readline()
                    if not line:
                        return
                    if line.isspace():
                        continue
                    event = orjson.loads(line)
                    if event["type"] == "ERROR":
                        status = event["object"]
                        raise _translate("WATCH", path, int(status.get("code", 500)), status)
                    yield WatchEvent(event["type"], event["object"])
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as err:
            raise KubeUnavailable(
                f"watch stream failed: {err or type(err).__name__}", method="WATCH", path=path
            ) from err

    # --- raw access

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> Any:
        """Send one request; return the parsed JSON body (``None`` if empty)."""
        data = body if body is None or isinstance(body, bytes) else orjson.dumps(body)
        if self.rate_limiter is not None:
            await self.rate_limiter.acquire()
        client_timeout = aiohttp.ClientTimeout(total=timeout or self.timeout)
        try:
            async with await self._send(
                method, path, params, data, content_type, client_timeout
            ) as response:
                payload = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise KubeUnavailable(
                f"API server unreachable: {err or type(err).__name__}", method=method, path=path
            ) from err
        if status >= 400:
            raise _translate(method, path, status, payload)
        return orjson.loads(payload) if payload else None

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        data: bytes | None,
        content_type: str,
        timeout: aiohttp.ClientTimeout,
    ) -> aiohttp.ClientResponse:
        headers = {"Accept": "application/json", "User-Agent": self._user_agent}
        if data is not None:
            headers["Content-Type"] = content_type
        authorization = await self.config.authorization()
        if authorization:
            headers["Authorization"] = authorization
        return await self._http().request(
            method,
            self.config.host + path,
            params=params,
            data=data,
            headers=headers,
            timeout=timeout,
            proxy=self.config.proxy,
            server_hostname=self.config.tls_server_name,
        )

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                ssl=self.config.ssl if self.config.ssl is not None else False, limit=100
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                read_bufsize=_READ_BUFFER,
                skip_auto_headers=("User-Agent",),
                headers=self.headers,
            )
        return self._session


def _params(**values: str | int | None) -> dict[str, str]:
    return {key: str(value) for key, value in values.items() if value is not None}


def _translate(method: str, path: str, status: int, payload: bytes | Obj) -> KubeError:
    """Map an API ``Status`` (or a bare HTTP error) to the error tree."""
    body: Obj = {}
    if isinstance(payload, dict):
        body = payload
    else:
        try:
            parsed = orjson.loads(payload) if payload else {}
            body = parsed if isinstance(parsed, dict) else {}
        except orjson.JSONDecodeError:
            body = {"message": payload[:200].decode("utf-8", "replace")}
    api_reason = str(body.get("reason", ""))
    message = str(body.get("message") or f"HTTP {status}")
    details = body.get("details") if isinstance(body.get("details"), dict) else None
    if is_secret_path(path):
        # The API server quotes refused Secret values; they must not reach a condition.
        message = mask_secret_values(message)
        details = None
    error_class = _STATUS_ERRORS.get(status)
    if status == 409 and api_reason == "AlreadyExists":
        error_class = AlreadyExists
    if error_class is None:
        error_class = ServerError if status >= 500 else KubeError
    return error_class(
        message,
        method=method,
        path=path,
        status=status,
        api_reason=api_reason,
        details=details,
    )
