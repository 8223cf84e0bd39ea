"""Wait for a set of objects to become Current (kstatus), polling the API server.

Like fluxcd/pkg ssa's WaitForSet: done when every object is Current; with ``fail_fast``
stop as soon as one is Failed; stop early when every object is either Current or Failed;
on timeout report each object not yet Current with its last status.

Two things gotk does differently, to answer sooner with fewer requests: the first polls come
quickly (0.5 s, 1 s, 2 s, then every ``interval``), since most objects settle within a
second of being applied; and an object once Current is not read again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gotk_runtime import KubeClient, KubeError, NoKindMatch, NotFound

from gotk_ssa.errors import WaitError
from gotk_ssa.inventory import ObjectRef
from gotk_ssa.kstatus import Status, StatusResult, compute_status

StatusFunc = Callable[[Mapping[str, Any] | None], StatusResult]


async def wait_for_set(
    client: KubeClient,
    refs: Sequence[ObjectRef],
    *,
    timeout: float,
    interval: float = 5.0,
    fail_fast: bool = True,
    status_of: StatusFunc = compute_status,
) -> None:
    """``status_of`` computes an object's status (CEL health expressions swap it in)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: dict[ObjectRef, StatusResult | None] = {}
    delays = iter(_RAMP)
    while True:
        pending = [ref for ref in refs if not _is_current(last.get(ref))]
        results = await asyncio.gather(*(_status(client, ref, status_of) for ref in pending))
        last.update(zip(pending, results, strict=True))
        statuses = {r.status for r in last.values() if r is not None}
        unknown = any(r is None for r in last.values())
        if not unknown and statuses <= {Status.CURRENT}:
            return
        failed = Status.FAILED in statuses
        if (fail_fast and failed) or (not unknown and statuses <= {Status.CURRENT, Status.FAILED}):
            raise WaitError(
                _message("failed early due to stalled resources", last, timed_out=False)
            )
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise WaitError(_message("timeout waiting for", last, timed_out=True))
        await asyncio.sleep(min(next(delays, interval), interval, remaining))


_RAMP = (0.5, 1.0, 2.0)
"""The first delays between polls, before the steady ``interval``."""


def _is_current(result: StatusResult | None) -> bool:
    return result is not None and result.status is Status.CURRENT


async def _status(client: KubeClient, ref: ObjectRef, status_of: StatusFunc) -> StatusResult | None:
    """The object's kstatus, or None when it cannot be read (unknown kind, API error)."""
    try:
        resource = await client.discovery.resource_for(ref.api_version, ref.kind)
        live = await client.get(resource, ref.name, ref.namespace or None)
    except NoKindMatch:
        return None
    except NotFound:
        return status_of(None)
    except KubeError:
        return None
    return status_of(live)


def _message(prefix: str, last: dict[ObjectRef, StatusResult | None], *, timed_out: bool) -> str:
    problems: list[str] = []
    for ref, result in last.items():
        if result is None:
            problems.append(f"can't determine status for {ref}")
        elif result.status is Status.FAILED or (timed_out and result.status is not Status.CURRENT):
            detail = f": {result.message}" if result.message else ""
            problems.append(f"{ref} status: '{result.status.value}'{detail}")
    return f"{prefix}: [{', '.join(problems)}]"
