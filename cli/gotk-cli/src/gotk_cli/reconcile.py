"""`gotk reconcile|suspend|resume`: request a reconcile through the annotation and wait for it.

A controller records a handled request by copying the annotation's value into
``status.lastHandledReconcileAt``; the command then reads the Ready condition of that pass.
HelmRelease's `--force` and `--reset` set `reconcile.fluxcd.io/forceAt` / `resetAt` to the
same token, which helm-controller reads in that same pass.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from gotk_api.conditions import (
    FORCE_REQUEST_ANNOTATION,
    PROGRESSING_REASON,
    READY,
    RECONCILE_REQUEST_ANNOTATION,
    RESET_REQUEST_ANNOTATION,
)
from gotk_api.objects import Obj

from gotk_cli.cluster import Cluster
from gotk_cli.errors import CliError
from gotk_cli.kinds import SOURCES, CliKind, kind_named
from gotk_cli.log import Log

__all__ = [
    "ReconcileRequest",
    "handled",
    "reconcile",
    "requested_at",
    "resume",
    "source_of",
    "suspend",
]

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


@dataclass(frozen=True)
class ReconcileRequest:
    """What `reconcile` asks for besides the reconcile itself."""

    with_source: bool = False
    force: bool = False  # HelmRelease: a one-off install or upgrade
    reset: bool = False  # HelmRelease: reset the failure counts


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


def _request_patch(token: str, request: ReconcileRequest) -> Obj:
    annotations = {RECONCILE_REQUEST_ANNOTATION: token}
    if request.force:
        annotations[FORCE_REQUEST_ANNOTATION] = token
    if request.reset:
        annotations[RESET_REQUEST_ANNOTATION] = token
    return {"metadata": {"annotations": annotations}}


async def _request_and_wait(
    cluster: Cluster,
    kind: CliKind,
    name: str,
    namespace: str,
    *,
    timeout: float,
    log: Log,
    request: ReconcileRequest = ReconcileRequest(),
    extra: Obj | None = None,
    patched: str = "",
) -> Obj:
    token = requested_at()
    patch = _request_patch(token, request)
    patch.update(extra or {})
    await cluster.merge_patch(kind, name, namespace, patch)
    log.success(patched or f"{kind.kind} annotated")
    log.waiting(f"waiting for {kind.kind} reconciliation")
    obj = await _wait(cluster, kind, name, namespace, token, timeout)
    ready = _condition(obj, READY) or {}
    if ready.get("status") != "True":
        message = " ".join(str(ready.get("message", "")).split())
        raise CliError(f"{kind.kind} reconciliation failed: {message}")
    return obj


def source_of(kind: CliKind, obj: Obj) -> tuple[CliKind, str, str, bool] | None:
    """The source `--with-source` reconciles first: (kind, name, namespace, its own source).

    A HelmRelease's source is its HelmChart (`<namespace>-<name>` for `spec.chart`, in the
    chart's source namespace) or its `chartRef`; Flux reconciles a HelmChart with its own
    source first.
    """
    spec = obj.get("spec") or {}
    namespace = obj["metadata"]["namespace"]
    if kind.kind == "HelmRelease":
        if spec.get("chartRef"):
            ref = spec["chartRef"]
            source = kind_named(str(ref.get("kind", "")))
            chained = source.kind == "HelmChart"
            return source, str(ref["name"]), str(ref.get("namespace") or namespace), chained
        source_ref = ((spec.get("chart") or {}).get("spec") or {}).get("sourceRef") or {}
        chart_namespace = str(source_ref.get("namespace") or namespace)
        return SOURCES["chart"], f"{namespace}-{obj['metadata']['name']}", chart_namespace, True
    ref = spec.get("sourceRef") or {}
    if not ref:
        return None
    return (
        kind_named(str(ref.get("kind", ""))),
        str(ref["name"]),
        str(ref.get("namespace") or namespace),
        False,
    )


def _static(kind: CliKind, obj: Obj) -> bool:
    """An OCI HelmRepository has no reconciler of its own (nothing to fetch)."""
    return kind.kind == "HelmRepository" and (obj.get("spec") or {}).get("type") == "oci"


async def reconcile(
    cluster: Cluster,
    kind: CliKind,
    name: str,
    namespace: str,
    *,
    timeout: float,
    log: Log,
    request: ReconcileRequest = ReconcileRequest(),
) -> None:
    obj = await cluster.get(kind, name, namespace)
    if _static(kind, obj):
        log.success("reconciliation not supported by the object")
        return
    if (obj.get("spec") or {}).get("suspend"):
        raise CliError(f"{kind.kind} {namespace}/{name} is suspended; resume it first")
    if request.with_source:
        source = source_of(kind, obj)
        if source is not None:
            source_kind, source_name, source_namespace, chained = source
            if not source_kind.is_source:
                raise CliError(f"cannot reconcile source of kind {source_kind.kind}")
            await reconcile(
                cluster,
                source_kind,
                source_name,
                source_namespace,
                timeout=timeout,
                log=log,
                request=ReconcileRequest(with_source=chained),
            )
    log.action(f"annotating {kind.kind} {name} in {namespace} namespace")
    done = await _request_and_wait(
        cluster, kind, name, namespace, timeout=timeout, log=log, request=request
    )
    log.success(kind.success_message(done))


async def _targets(
    cluster: Cluster, kind: CliKind, names: Sequence[str], namespace: str, every: bool
) -> list[str]:
    if not names and not every:
        raise CliError(f"{kind.noun} name is required (or --all)")
    if every:
        objects = await cluster.list(kind, namespace)
        if not objects:
            raise CliError(f'no {kind.kind} objects found in "{namespace}" namespace')
        return sorted(obj["metadata"]["name"] for obj in objects)
    return list(dict.fromkeys(names))


async def suspend(
    cluster: Cluster,
    kind: CliKind,
    names: Sequence[str],
    namespace: str,
    *,
    log: Log,
    every: bool = False,
) -> None:
    """Set ``spec.suspend``; a name not found is reported and the others still suspended."""
    failed = 0
    for name in await _targets(cluster, kind, names, namespace, every):
        log.action(f"suspending {kind.noun} {name} in {namespace} namespace")
        try:
            await cluster.merge_patch(kind, name, namespace, {"spec": {"suspend": True}})
        except CliError as err:
            log.failure(str(err))
            failed += 1
            continue
        log.success(f"{kind.noun} suspended")
    if failed:
        raise CliError(f"suspending failed for {failed} {kind.kind}(s)")


async def resume(
    cluster: Cluster,
    kind: CliKind,
    names: Sequence[str],
    namespace: str,
    *,
    timeout: float,
    log: Log,
    every: bool = False,
    wait: bool | None = None,
) -> None:
    """Clear ``spec.suspend`` and request a reconcile in one patch; wait for one object
    (or for each with ``wait``), as Flux does."""
    targets = await _targets(cluster, kind, names, namespace, every)
    should_wait = wait if wait is not None else (len(targets) == 1 and not every)
    token = requested_at()
    resumed: list[str] = []
    for name in targets:
        log.action(f"resuming {kind.noun} {name} in {namespace} namespace")
        # One patch: the controller must not see the object resumed without the request.
        patch = _request_patch(token, ReconcileRequest())
        patch["spec"] = {"suspend": None}
        try:
            await cluster.merge_patch(kind, name, namespace, patch)
        except CliError as err:
            log.failure(str(err))
            continue
        log.success(f"{kind.noun} resumed")
        resumed.append(name)
    if not should_wait:
        return
    failed = 0
    results = await asyncio.gather(
        *(_wait_ready(cluster, kind, name, namespace, token, timeout, log) for name in resumed),
        return_exceptions=True,
    )
    for name, result in zip(resumed, results, strict=True):
        if isinstance(result, BaseException):
            if not isinstance(result, CliError):
                raise result
            log.failure(f"{kind.kind} {name} reconciliation failed: {result}")
            failed += 1
        else:
            log.success(f"{kind.kind} {name} reconciliation completed")
            log.success(kind.success_message(result))
    if failed:
        raise CliError(f"reconciliation failed for {failed} {kind.kind}(s)")


async def _wait_ready(
    cluster: Cluster, kind: CliKind, name: str, namespace: str, token: str, timeout: float, log: Log
) -> Obj:
    log.waiting(f"waiting for {kind.kind} reconciliation")
    obj = await _wait(cluster, kind, name, namespace, token, timeout)
    ready = _condition(obj, READY) or {}
    if ready.get("status") != "True":
        raise CliError(" ".join(str(ready.get("message", "")).split()))
    return obj
