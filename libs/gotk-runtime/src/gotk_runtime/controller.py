"""The reconcile loop for one kind: informer events → work queue → N workers → reconciler.

Per object, in order: finalize if deleted; stop if ``spec.suspend``; add the finalizer;
record a ``reconcile.fluxcd.io/requestedAt`` request; report progress on a new generation;
run the reconciler; turn its outcome into conditions (``apply_outcome``); patch the status
once; emit an event on failure, recovery or a new Ready message; requeue.
"""

from __future__ import annotations

import asyncio
import logging
import time

import orjson
from gotk_api.conditions import (
    FINALIZER,
    PROGRESSING_REASON,
    READY,
    RECONCILE_REQUEST_ANNOTATION,
    RECONCILIATION_FAILED_REASON,
)
from gotk_api.meta import parse_duration
from gotk_api.objects import Obj

from gotk_runtime.conditions import Conditions
from gotk_runtime.errors import KubeError, NotFound, Waiting
from gotk_runtime.events import EventRecorder
from gotk_runtime.informer import EventType, Informer
from gotk_runtime.kube.client import KubeClient
from gotk_runtime.kube.resource import Resource
from gotk_runtime.logging import bind_object
from gotk_runtime.metrics import ControllerMetrics
from gotk_runtime.reconcile import (
    Decision,
    Reconciler,
    Result,
    apply_outcome,
    attempt_of,
    current_attempt,
)
from gotk_runtime.status import StatusPatcher
from gotk_runtime.workqueue import QueueShutDown, WorkQueue

__all__ = ["Controller", "should_enqueue"]

log = logging.getLogger(__name__)


def should_enqueue(event: EventType, obj: Obj, old: Obj | None) -> bool:
    """Flux's predicates: new objects, deletions, spec changes, reconcile requests.

    Status-only and metadata-only updates (including our own patches) are ignored.
    """
    if event != "MODIFIED" or old is None:
        return True
    meta, old_meta = obj["metadata"], old["metadata"]
    if meta.get("generation") != old_meta.get("generation"):
        return True
    if meta.get("deletionTimestamp") and not old_meta.get("deletionTimestamp"):
        return True
    request = (meta.get("annotations") or {}).get(RECONCILE_REQUEST_ANNOTATION)
    return request != (old_meta.get("annotations") or {}).get(RECONCILE_REQUEST_ANNOTATION)


class Controller:
    def __init__(
        self,
        *,
        client: KubeClient,
        reconciler: Reconciler,
        resource: Resource,
        informer: Informer,
        events: EventRecorder,
        metrics: ControllerMetrics,
        concurrent: int = 4,
        min_retry_delay: float = 0.75,
        max_retry_delay: float = 900.0,
        interval_jitter_percentage: float = 5.0,
    ) -> None:
        self.reconciler = reconciler
        self.resource = resource
        self.informer = informer
        self.name = resource.kind.lower()
        self.queue: WorkQueue[str] = WorkQueue(
            min_retry_delay=min_retry_delay, max_retry_delay=max_retry_delay
        )
        self._client = client
        self._events = events
        self._metrics = metrics
        self._concurrent = concurrent
        self._jitter = interval_jitter_percentage
        metrics.queue_depth.set_function(lambda: float(len(self.queue)), self.name)
        informer.add_handler(self._on_event)

    def enqueue(self, key: str) -> None:
        """Reconcile ``namespace/name`` soon (e.g. when something it depends on changed)."""
        self.queue.add(key)

    def _on_event(self, event: EventType, obj: Obj, old: Obj | None) -> None:
        if should_enqueue(event, obj, old):
            meta = obj["metadata"]
            namespace = meta.get("namespace")
            self.queue.add(f"{namespace}/{meta['name']}" if namespace else meta["name"])

    async def run_workers(self) -> None:
        """Run ``concurrent`` workers until the queue shuts down and in-flight work is done."""
        async with asyncio.TaskGroup() as group:
            for index in range(self._concurrent):
                group.create_task(self._worker(), name=f"{self.name}-worker-{index}")

    def shut_down(self) -> None:
        """Stop handing out work; workers finish what they hold, then ``run_workers`` returns."""
        self.queue.shut_down()

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except QueueShutDown:
                return
            try:
                await self.process(key)
            except Exception:
                log.exception("unhandled error processing %s %s", self.resource.kind, key)
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    async def process(self, key: str) -> None:
        cached = self.informer.get(key)
        namespace, _, name = key.rpartition("/")
        if cached is None:
            self.queue.forget(key)
            self._metrics.forget_object(self.resource.kind, namespace, name)
            return
        obj: Obj = orjson.loads(orjson.dumps(cached))
        with bind_object(kind=self.resource.kind, namespace=namespace, name=name):
            if obj["metadata"].get("deletionTimestamp"):
                await self._finalize(key, obj)
            else:
                await self._reconcile(key, obj)

    async def _reconcile(self, key: str, obj: Obj) -> None:
        meta = obj["metadata"]
        spec = obj.get("spec") or {}
        kind, namespace, name = self.resource.kind, meta.get("namespace", ""), meta["name"]
        self._metrics.suspend.set(1.0 if spec.get("suspend") else 0.0, kind, name, namespace)
        if spec.get("suspend"):
            log.info("reconciliation is suspended for this object")
            self.queue.forget(key)
            return
        if FINALIZER not in (meta.get("finalizers") or ()):
            try:
                await self._set_finalizers(obj, [*(meta.get("finalizers") or ()), FINALIZER])
            except NotFound:
                return
            except KubeError as err:  # Conflict: the cache is behind; try again shortly
                log.info("cannot add finalizer: %s", err)
                self.queue.add_rate_limited(key)
                return

        status = obj.setdefault("status", {})
        previous_ready = Conditions(obj).get(READY) or {}
        patcher = StatusPatcher(self._client, self.resource, obj)
        request = (meta.get("annotations") or {}).get(RECONCILE_REQUEST_ANNOTATION)
        if request and request != status.get("lastHandledReconcileAt"):
            status["lastHandledReconcileAt"] = request
        generation = meta.get("generation")
        if generation is not None and generation != status.get("observedGeneration"):
            conditions = Conditions(obj)
            conditions.mark_reconciling(
                f"processing object: new generation {status.get('observedGeneration', -1)}"
                f" -> {generation}"
            )
            conditions.mark_unknown(READY, PROGRESSING_REASON, "reconciliation in progress")
            # Written only if the reconcile is still running after a moment: most finish
            # sooner, and their final patch says it all.
            await patcher.progress()

        started = time.monotonic()
        token = patcher.bind()
        attempt_token = current_attempt()
        outcome: Result | BaseException
        try:
            outcome = await self.reconciler.reconcile(obj)
        except Exception as err:
            outcome = err
        finally:
            StatusPatcher.unbind(token)
            attempt = attempt_of(attempt_token)
        self._metrics.reconcile_duration.observe(time.monotonic() - started, kind, name, namespace)

        decision = apply_outcome(
            obj,
            outcome,
            self.reconciler.ready_summary,
            interval=_interval(spec),
            jitter_percentage=self._jitter,
            previous_ready=previous_ready,
            retry_after=None if isinstance(outcome, Result) else self._retry_interval(obj),
        )
        if isinstance(outcome, Waiting):
            # Waiting on something else (a source artifact, a dependency) is not a failure.
            log.info("reconciliation waiting: %s", outcome)
        elif isinstance(outcome, Exception):
            ready = Conditions(obj).get(READY) or {}
            log.error("reconciliation failed: %s: %s", ready.get("reason"), ready.get("message"))
        if not await self._patch_status(key, patcher):
            return
        self._metrics.record_condition(kind, namespace, name, READY, Conditions(obj).status(READY))
        self._metrics.reconcile_total.inc(self.name, decision.requeue)
        if decision.event is not None:
            type_, reason, message = decision.event
            revision = outcome.revision if isinstance(outcome, Result) else None
            await self._events.record(
                obj,
                type_,
                reason,
                message,
                revision=revision or attempt.revision,
                metadata=attempt.metadata,
            )
        self._requeue(key, decision)

    def _retry_interval(self, obj: Obj) -> float | None:
        try:
            return self.reconciler.retry_interval(obj)
        except Exception as err:  # a malformed spec must not stop the failure being recorded
            log.error("cannot read the retry interval: %s", err)
            return None

    def _requeue(self, key: str, decision: Decision) -> None:
        if decision.requeue == "backoff":
            delay = self.queue.add_rate_limited(key)
            log.info("retrying in %.3gs", delay)
            return
        self.queue.forget(key)
        if decision.requeue == "after" and decision.delay is not None:
            self.queue.add_after(key, decision.delay)

    async def _patch_status(self, key: str, patcher: StatusPatcher) -> bool:
        try:
            await patcher.patch()
        except NotFound:
            return False
        except KubeError as err:
            log.error("cannot patch status: %s", err)
            self.queue.add_rate_limited(key)
            return False
        return True

    async def _finalize(self, key: str, obj: Obj) -> None:
        meta = obj["metadata"]
        finalizers = list(meta.get("finalizers") or ())
        if FINALIZER not in finalizers:
            return
        if not (obj.get("spec") or {}).get("suspend"):
            try:
                await self.reconciler.finalize(obj)
            except Exception as err:
                log.error("finalization failed: %s", err)
                reason = getattr(err, "reason", None) or RECONCILIATION_FAILED_REASON
                await self._events.warning(obj, reason, f"finalization failed: {err}")
                self.queue.add_rate_limited(key)
                return
        try:
            await self._set_finalizers(obj, [f for f in finalizers if f != FINALIZER])
        except NotFound:
            pass
        except KubeError as err:
            log.error("cannot remove finalizer: %s", err)
            self.queue.add_rate_limited(key)
            return
        self.queue.forget(key)
        self._metrics.forget_object(self.resource.kind, meta.get("namespace", ""), meta["name"])

    async def _set_finalizers(self, obj: Obj, finalizers: list[str]) -> None:
        meta = obj["metadata"]
        # resourceVersion makes the patch conditional: another writer's finalizer is never lost.
        updated = await self._client.patch(
            self.resource,
            meta["name"],
            {"metadata": {"finalizers": finalizers, "resourceVersion": meta["resourceVersion"]}},
            namespace=meta.get("namespace"),
        )
        meta["finalizers"] = finalizers
        meta["resourceVersion"] = updated["metadata"]["resourceVersion"]


def _interval(spec: Obj) -> float | None:
    value = spec.get("interval")
    if not value:
        return None
    try:
        seconds = parse_duration(str(value))
    except ValueError:
        return None
    return seconds if seconds > 0 else None
