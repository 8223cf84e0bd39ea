"""Patch an object's ``status`` with only what changed since the last patch.

The controller patches once at the end of each reconcile; a reconciler may report progress
in between with ``await patch_progress(obj)`` (the controller binds the patcher of the
object being reconciled to the current task). Progress is written at most once per
``PROGRESS_INTERVAL``: a report that comes sooner is written when the interval has passed,
unless the reconcile ends first and its final patch carries it; the first report of a
reconcile waits ``FIRST_PROGRESS_DELAY``. A reconcile shorter than that sends only its final
status, and a longer one one progress patch a second, not one per step: that is what keeps a
thousand objects within the client's API rate limit.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time

import orjson
from gotk_api.objects import Obj

from gotk_runtime.errors import GotkError
from gotk_runtime.kube.client import KubeClient
from gotk_runtime.kube.resource import Resource

__all__ = [
    "FIRST_PROGRESS_DELAY",
    "PROGRESS_INTERVAL",
    "StatusPatcher",
    "patch_progress",
    "status_diff",
]

PROGRESS_INTERVAL = 1.0
"""Seconds between two progress patches of one object."""

FIRST_PROGRESS_DELAY = 0.5
"""Seconds a reconcile runs before its progress is first written."""

log = logging.getLogger(__name__)


_current: contextvars.ContextVar[StatusPatcher | None] = contextvars.ContextVar(
    "gotk_status_patcher", default=None
)


def status_diff(before: Obj, after: Obj) -> Obj:
    """The JSON merge patch (RFC 7386) that turns ``before`` into ``after``.

    Nested objects are diffed key by key (a merge patch merges them, so a key missing from
    the patch would survive); lists and scalars are replaced whole.
    """
    patch: Obj = {}
    for key, value in after.items():
        old = before.get(key)
        if old == value and key in before:
            continue
        if isinstance(old, dict) and isinstance(value, dict):
            patch[key] = status_diff(old, value)
        else:
            patch[key] = value
    patch.update({key: None for key in before if key not in after})
    return patch


class StatusPatcher:
    """Remembers the status last written for one object and merge-patches the difference."""

    def __init__(self, client: KubeClient, resource: Resource, obj: Obj) -> None:
        self._client = client
        self._resource = resource
        self._obj = obj
        self._written = _copy(obj.get("status") or {})
        self._last_patch = time.monotonic() - PROGRESS_INTERVAL + FIRST_PROGRESS_DELAY
        self._deferred: asyncio.Task[None] | None = None
        self._in_flight = False
        self._lock = asyncio.Lock()

    async def patch(self) -> bool:
        """Patch ``status`` if it changed (a pending progress patch is folded into this
        one); return whether a request was made."""
        deferred, self._deferred = self._deferred, None
        if deferred is not None:
            if not self._in_flight:
                deferred.cancel()
            # One already on the wire must land first: two requests on two connections
            # could reach the server in either order, and a stale progress would win.
            await asyncio.gather(deferred, return_exceptions=True)
        return await self._send()

    async def settle(self) -> None:
        """Wait until a pending progress patch has been written (it is not cancelled)."""
        if self._deferred is not None:
            await asyncio.gather(self._deferred, return_exceptions=True)

    async def progress(self) -> None:
        """Patch now, or once ``PROGRESS_INTERVAL`` has passed since the last patch."""
        wait = self._last_patch + PROGRESS_INTERVAL - time.monotonic()
        if wait <= 0 and self._deferred is None:
            await self._send()
        elif self._deferred is None:
            self._deferred = asyncio.create_task(self._send_later(wait))

    async def _send_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._in_flight = True
        try:
            await self._send()
        except GotkError as err:  # the final patch will try again and report it
            log.info("cannot write progress: %s", err)
        finally:
            self._in_flight = False
            if self._deferred is asyncio.current_task():
                self._deferred = None

    async def _send(self) -> bool:
        async with self._lock:
            # A snapshot: the reconcile may go on changing the status while this is sent.
            snapshot = _copy(self._obj.get("status") or {})
            diff = status_diff(self._written, snapshot)
            if not diff:
                return False
            metadata = self._obj["metadata"]
            await self._client.patch(
                self._resource,
                metadata["name"],
                {"status": diff},
                namespace=metadata.get("namespace"),
                subresource="status",
            )
            self._written = snapshot
            self._last_patch = time.monotonic()
            return True

    def bind(self) -> contextvars.Token[StatusPatcher | None]:
        return _current.set(self)

    @staticmethod
    def unbind(token: contextvars.Token[StatusPatcher | None]) -> None:
        _current.reset(token)

    @property
    def obj(self) -> Obj:
        return self._obj


async def patch_progress(obj: Obj) -> None:
    """Write ``obj``'s status now (mid-reconcile), e.g. after marking Reconciling."""
    patcher = _current.get()
    if patcher is None or patcher.obj is not obj:
        raise GotkError("patch_progress called outside the reconcile of this object")
    await patcher.progress()


def _copy(value: Obj) -> Obj:
    copied: Obj = orjson.loads(orjson.dumps(value))
    return copied
