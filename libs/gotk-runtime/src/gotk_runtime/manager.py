"""Runs a service's controllers: informers, workers, leader election, endpoints, shutdown.

Start-up: endpoints, then informers (every replica keeps a warm cache), then — once it holds
the lease, if leader election is on — the workers. Shutdown (``stop()``, SIGTERM or SIGINT):
stop taking work at once, let in-flight reconciles finish (up to
``--graceful-shutdown-timeout``; a second signal cancels them at once), release the lease,
stop informers and endpoints, close the client. Every step of the shutdown is bounded, so a
dead API server cannot hold the process. Cancelling ``run()`` instead is an abrupt stop:
workers are cancelled and the lease is left to expire.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from gotk_api.objects import Obj

from gotk_runtime.controller import Controller
from gotk_runtime.events import EventForwarder, EventRecorder
from gotk_runtime.flags import RuntimeOptions
from gotk_runtime.health import EndpointServer, health_app, metrics_app
from gotk_runtime.informer import EventHandler, Informer
from gotk_runtime.kube.client import KubeClient
from gotk_runtime.kube.config import load_config
from gotk_runtime.kube.resource import Resource
from gotk_runtime.leader import LeaderElector, LeadershipLost
from gotk_runtime.metrics import ControllerMetrics
from gotk_runtime.ratelimit import kube_api_limiter
from gotk_runtime.reconcile import Reconciler
from gotk_runtime.referrers import Reference, ReferrerIndex

__all__ = ["Manager", "WatchedKind"]

log = logging.getLogger(__name__)
_RELEASE_TIMEOUT = 5.0
_SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class WatchedKind:
    """The cache of a kind a manager watches; empty until the manager has started it."""

    def __init__(self) -> None:
        self.informer: Informer | None = None

    def get(self, namespace: str, name: str) -> Obj | None:
        """The cached object (do not mutate it), or None if not cached (yet)."""
        if self.informer is None or not self.informer.synced:
            return None
        return self.informer.get(f"{namespace}/{name}" if namespace else name)


class Manager:
    def __init__(
        self,
        options: RuntimeOptions,
        client: KubeClient,
        *,
        shutdown_timeout: float | None = None,
        owns_client: bool = False,
    ) -> None:
        self.options = options
        self.client = client
        self.metrics = ControllerMetrics()
        forwarder = EventForwarder(options.events_addr) if options.events_addr else None
        # Events go through a client of their own, as client-go's event broadcaster does:
        # recording them never spends the reconcilers' API rate limit.
        self._events_client = KubeClient(
            client.config,
            user_agent=options.controller_name,
            rate_limiter=kube_api_limiter(options.kube_api_qps, options.kube_api_burst),
        )
        self.events = EventRecorder(
            self._events_client, options.controller_name, forwarder=forwarder
        )
        self.controllers: dict[str, Controller] = {}
        self.leader: LeaderElector | None = None
        self.metrics_server: EndpointServer | None = None
        self.health_server: EndpointServer | None = None
        self._shutdown_timeout = (
            options.graceful_shutdown_timeout if shutdown_timeout is None else shutdown_timeout
        )
        self._owns_client = owns_client
        self._reconcilers: list[Reconciler] = []
        self._watches: list[tuple[str, str, EventHandler, str | None, WatchedKind]] = []
        self._informers: list[Informer] = []
        self._referrer_indexes: list[ReferrerIndex] = []
        self._stop = asyncio.Event()
        self._abort = asyncio.Event()
        self._ready = False

    @classmethod
    async def connect(cls, options: RuntimeOptions, **kwargs: Any) -> Manager:
        """A manager with a client for ``--kubeconfig`` / $KUBECONFIG / in-cluster, limited
        to ``--kube-api-qps`` / ``--kube-api-burst``."""
        config = await load_config(options.kubeconfig)
        client = KubeClient(
            config,
            user_agent=options.controller_name,
            rate_limiter=kube_api_limiter(options.kube_api_qps, options.kube_api_burst),
        )
        return cls(options, client, owns_client=True, **kwargs)

    @property
    def namespace(self) -> str:
        """The runtime namespace: flag, $RUNTIME_NAMESPACE, the pod's namespace, ``default``."""
        if self.options.runtime_namespace:
            return self.options.runtime_namespace
        if os.environ.get("RUNTIME_NAMESPACE"):
            return os.environ["RUNTIME_NAMESPACE"]
        try:
            return _SA_NAMESPACE.read_text().strip() or "default"
        except OSError:
            return "default"

    @property
    def ready(self) -> bool:
        return self._ready

    def add_reconciler(self, reconciler: Reconciler) -> None:
        self._reconcilers.append(reconciler)

    def watch(
        self,
        api_version: str,
        kind: str,
        handler: EventHandler,
        *,
        label_selector: str | None = None,
    ) -> WatchedKind:
        """Also watch another kind (e.g. sources a Kustomization depends on); the handle
        reads its cached objects. A kind this manager reconciles is not watched twice: the
        handler joins that controller's informer."""
        handle = WatchedKind()
        self._watches.append((api_version, kind, handler, label_selector, handle))
        return handle

    def index_referrers(
        self, kind: str, references: Callable[[Obj], Iterable[Reference]]
    ) -> ReferrerIndex:
        """Index what the reconciled ``kind`` references; handlers made by the index's
        ``on_change`` (given to ``watch``) enqueue the referrers of a changed object."""
        index = ReferrerIndex(kind, references)
        self._referrer_indexes.append(index)
        return index

    def stop(self) -> None:
        """Begin a graceful shutdown; called again, cancel in-flight reconciles at once."""
        if self._stop.is_set():
            if not self._abort.is_set():
                log.warning("stop requested again: cancelling in-flight reconciles now")
            self._abort.set()
            return
        log.info(
            "shutting down: taking no new work, in-flight reconciles have %gs to finish",
            self._shutdown_timeout,
        )
        self._stop.set()

    async def run(self, *, handle_signals: bool = False) -> None:
        """Run until ``stop()`` (or SIGTERM/SIGINT if ``handle_signals``)."""
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
        for sig in signals:
            loop.add_signal_handler(sig, self.stop)
        informer_tasks: list[asyncio.Task[None]] = []
        worker_tasks: list[asyncio.Task[None]] = []
        hold: asyncio.Task[None] | None = None
        graceful = False
        try:
            await self._start_endpoints()
            if not await self._unless_stopped(self._build()):
                graceful = True
                return
            informer_tasks = [
                asyncio.create_task(i.run(), name=f"informer-{i.resource}") for i in self._informers
            ]
            if self.options.enable_leader_election:
                self.leader = self._elector()
                if not await self._unless_stopped(self.leader.acquire()):
                    graceful = True
                    return
                hold = asyncio.create_task(self.leader.hold(), name="leader-lease")
            synced = asyncio.gather(*(i.wait_synced() for i in self._informers))
            if not await self._unless_stopped(synced):
                graceful = True
                return
            self._ready = True
            worker_tasks = [
                asyncio.create_task(c.run_workers(), name=f"workers-{c.name}")
                for c in self.controllers.values()
            ]
            stopped = asyncio.create_task(self._stop.wait())
            watched = [stopped, *worker_tasks, *informer_tasks, *([hold] if hold else [])]
            try:
                done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopped.cancel()
            for task in done:
                if task is not stopped and not task.cancelled() and task.exception():
                    raise task.exception()  # type: ignore[misc]  # LeadershipLost or a bug
            graceful = True
        finally:
            await self._shut_down(graceful, worker_tasks, informer_tasks, hold)
            for sig in signals:
                loop.remove_signal_handler(sig)

    async def _shut_down(
        self,
        graceful: bool,
        workers: list[asyncio.Task[None]],
        informers: list[asyncio.Task[None]],
        hold: asyncio.Task[None] | None,
    ) -> None:
        self._ready = False
        for controller in self.controllers.values():
            controller.shut_down()
        if workers and graceful:
            drained: asyncio.Future[Any] = asyncio.gather(*workers, return_exceptions=True)
            aborted: asyncio.Future[Any] = asyncio.create_task(self._abort.wait())
            done, _ = await asyncio.wait(
                [drained, aborted],
                timeout=self._shutdown_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
            aborted.cancel()
            if drained not in done:
                log.warning("in-flight reconciles did not finish; cancelling them")
        await _cancel(workers)
        await _cancel([hold] if hold else [])
        if graceful and self.leader is not None and self.options.leader_election_release_on_cancel:
            try:
                await asyncio.wait_for(self.leader.release(), _RELEASE_TIMEOUT)
            except TimeoutError:
                log.warning("could not release the leader lease in time; it will expire")
        await _cancel(informers)
        await self.events.close(drain=5.0 if graceful else 0.0)
        await self._events_client.close()
        for server in (self.metrics_server, self.health_server):
            if server is not None:
                await server.stop()
        if self._owns_client:
            await self.client.close()

    async def _build(self) -> None:
        namespace = None if self.options.watch_all_namespaces else self.namespace
        selector = self.options.watch_label_selector or None
        for reconciler in self._reconcilers:
            resource = await self.client.discovery.resource_for(
                reconciler.api_version, reconciler.kind
            )
            informer = Informer(self.client, resource, namespace=namespace, label_selector=selector)
            self._informers.append(informer)
            self.controllers[resource.kind] = Controller(
                client=self.client,
                reconciler=reconciler,
                resource=resource,
                informer=informer,
                events=self.events,
                metrics=self.metrics,
                concurrent=self.options.concurrent,
                min_retry_delay=self.options.min_retry_delay,
                max_retry_delay=self.options.max_retry_delay,
                interval_jitter_percentage=self.options.interval_jitter_percentage,
            )
        for index in self._referrer_indexes:
            controller = self.controllers[index.kind]
            controller.informer.add_handler(index.track)
            index.bind(controller.enqueue)
        shared: dict[tuple[Resource, str | None], Informer] = {
            (c.resource, None): c.informer for c in self.controllers.values()
        }
        for api_version, kind, handler, label_selector, handle in self._watches:
            resource = await self.client.discovery.resource_for(api_version, kind)
            watching = shared.get((resource, label_selector))
            if watching is None:
                watching = Informer(
                    self.client, resource, namespace=namespace, label_selector=label_selector
                )
                shared[(resource, label_selector)] = watching
                self._informers.append(watching)
            watching.add_handler(handler)
            handle.informer = watching

    def _elector(self) -> LeaderElector:
        name = f"{self.options.controller_name}-leader-election"
        if self.options.watch_label_selector:
            digest = hashlib.sha256(self.options.watch_label_selector.encode()).hexdigest()
            name += f"-{digest[:8]}"
        return LeaderElector(
            self.client,
            name=name,
            namespace=self.namespace,
            lease_duration=self.options.leader_election_lease_duration,
            renew_deadline=self.options.leader_election_renew_deadline,
            retry_period=self.options.leader_election_retry_period,
        )

    async def _start_endpoints(self) -> None:
        if self.options.metrics_addr not in ("", "0"):
            self.metrics_server = EndpointServer(
                metrics_app(self.metrics.registry), self.options.metrics_addr
            )
            await self.metrics_server.start()
        if self.options.health_addr not in ("", "0"):
            self.health_server = EndpointServer(
                health_app(lambda: self._ready), self.options.health_addr
            )
            await self.health_server.start()

    async def _unless_stopped(self, awaitable: Awaitable[Any]) -> bool:
        """Await ``awaitable`` unless a stop comes first; return whether it completed."""
        task = asyncio.ensure_future(awaitable)
        stopped = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not task.done():
                task.cancel()
            await asyncio.gather(task, stopped, return_exceptions=True)
        if task.done() and not task.cancelled():
            task.result()
            return True
        return False


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        try:
            await task
        except asyncio.CancelledError:
            pass
        except LeadershipLost:
            pass
        except Exception:
            log.exception("task %s failed during shutdown", task.get_name())
