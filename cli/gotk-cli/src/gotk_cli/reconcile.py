"""`gotk reconcile|suspend|resume`: request a reconcile through the annotation and wait for it.

A controller records a handled request by copying the annotation's value into
``status.lastHandledReconcileAt``; the command then reads the Ready condition of that pass.
"""

from __future__ import annotations

import asyncio
import time

from gotk_api.conditions import PROGRESSING_REASON, READY, RECONCILE_REQUEST_ANNOTATION
from gotk_api.objects import Obj

from gotk_cli.cluster import Cluster
from gotk_cli.errors import CliError
from gotk_cli.kinds import SOURCES, CliKind
from gotk_cli.log import Log

__all__ = ["handled", "reconcile", "requested_at", "resume", "suspend"]

POLL_INTERVAL = 0.5


def requested_at(now_ns: int | None = None) -> str:
    """Now as Go's RFC3339Nano in UTC (trailing zeros of the fraction dropped), like Flux."""
    seconds, nanos = divmod(time.time_ns() if now_ns is None else now_ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    fraction = f"{nanos:09d}".rstrip("0")
    return f"{stamp}.{fraction}Z" if fraction else f"{stamp}Z"


def _condition(obj: Obj, type_: str) -> Obj | None:
    for condition in (obj.get("status") or {}).get("conditions") or ():
        if condition.get("type") == type_:
            return dict(condition)
    return None


def handled(obj: Obj, token: str) -> bool:
    """Whether the pass that handled request ``token`` has finished, successfully or not.

    A mid-reconcile progress patch already carries the token, so a Ready that is Unknown,
    older than the object's generation, or next to Reconciling=True/Progressing is not final.
    """
    if (obj.get("status") or {}).get("lastHandledReconcileAt") != token:
        return False
    ready = _condition(obj, READY)
    if ready is None or ready.get("status") not in ("True", "False"):
        return False
    generation = (obj.get("metadata") or {}).get("generation")
    if generation is not None and ready.get("observedGeneration", generation) < generation:
        return False
    reconciling = _condition(obj, "Reconciling")
    return not (
        reconciling
        and reconciling.get("status") == "True"
        and reconciling.get("reason") == PROGRESSING_REASON
    )


async def _wait(
    cluster: Cluster, kind: CliKind, name: str, namespace: str, token: str, timeout: float
) -> Obj:
    obj: Obj = {}
    try:
        async with asyncio.timeout(timeout):
            while True:
                obj = await cluster.get(kind, name, namespace)
                if handled(obj, token):
                    return obj
                await asyncio.sleep(POLL_INTERVAL)
    except TimeoutError:
        raise CliError(
            f"timed out after {timeout:g}s waiting for {kind.kind} {namespace}/{name}"
            " to be reconciled"
        ) from None


async def _request_and_wait(
    cluster: Cluster,
    kind: CliKind,
    name: str,
    namespace: str,
    *,
    timeout: float,
    log: Log,
    extra: Obj | None = None,
    patched: str = "",
) -> None:
    token = requested_at()
    patch: Obj = {"metadata": {"annotations": {RECONCILE_REQUEST_ANNOTATION: token}}}
    patch.update(extra or {})
    await cluster.merge_patch(kind, name, namespace, patch)
    log.success(patched or f"{kind.kind} annotated")
    log.waiting(f"waiting for {kind.kind} reconciliation")
    obj = await _wait(cluster, kind, name, namespace, token, timeout)
    ready = _condition(obj, READY) or {}
    if ready.get("status") != "True":
        message = " ".join(str(ready.get("message", "")).split())
        raise CliError(f"{kind.kind} reconciliation failed: {message}")
    log.success(kind.success_message(obj))


async def reconcile(
    cluster: Cluster,
    kind: CliKind,
    name: str,
    namespace: str,
    *,
    timeout: float,
    log: Log,
    with_source: bool = False,
) -> None:
    obj = await cluster.get(kind, name, namespace)
    if (obj.get("spec") or {}).get("suspend"):
        raise CliError(f"{kind.kind} {namespace}/{name} is suspended; resume it first")
    if with_source:
        ref = (obj.get("spec") or {}).get("sourceRef") or {}
        source = _source_kind(str(ref.get("kind", "")))
        await reconcile(
            cluster,
            source,
            str(ref.get("name", "")),
            str(ref.get("namespace") or namespace),
            timeout=timeout,
            log=log,
        )
    log.action(f"annotating {kind.kind} {name} in {namespace} namespace")
    await _request_and_wait(cluster, kind, name, namespace, timeout=timeout, log=log)


def _source_kind(kind: str) -> CliKind:
    for source in SOURCES.values():
        if source.kind == kind:
            return source
    raise CliError(f"cannot reconcile a source of kind {kind!r}")


async def suspend(cluster: Cluster, kind: CliKind, name: str, namespace: str, *, log: Log) -> None:
    log.action(f"suspending {kind.noun} {name} in {namespace} namespace")
    await cluster.merge_patch(kind, name, namespace, {"spec": {"suspend": True}})
    log.success(f"{kind.noun} suspended")


async def resume(
    cluster: Cluster, kind: CliKind, name: str, namespace: str, *, timeout: float, log: Log
) -> None:
    log.action(f"resuming {kind.noun} {name} in {namespace} namespace")
    # One patch: the controller must not see the object resumed without the request.
    await _request_and_wait(
        cluster,
        kind,
        name,
        namespace,
        timeout=timeout,
        log=log,
        extra={"spec": {"suspend": None}},
        patched=f"{kind.noun} resumed",
    )
