"""Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm.

A candidate takes the lease when it is free (no holder) or when its holder has not renewed
it within ``lease_duration`` as measured on *our* clock since we last saw it change (so
clock skew between replicas does not matter). The leader renews every ``retry_period``;
if it cannot renew for ``renew_deadline`` it has lost the lease. On a clean shutdown it
releases the lease (empty holder, 1 s duration) so a standby takes over at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
import uuid
from datetime import UTC, datetime

from gotk_api.objects import Obj

from gotk_runtime.errors import Conflict, GotkError, KubeError, NotFound
from gotk_runtime.kube.client import KubeClient
from gotk_runtime.kube.resource import LEASES

__all__ = ["LeaderElector", "LeadershipLost"]

log = logging.getLogger(__name__)


class LeadershipLost(GotkError):
    """The lease could not be renewed within the renew deadline, or another holder took it."""


def _micro_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(
        self,
        client: KubeClient,
        *,
        name: str,
        namespace: str,
        identity: str | None = None,
        lease_duration: float = 35.0,
        renew_deadline: float = 30.0,
        retry_period: float = 5.0,
    ) -> None:
        self.name = name
        self.namespace = namespace
        self.identity = identity or f"{socket.gethostname()}_{uuid.uuid4()}"
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self._client = client
        self._observed: Obj | None = None
        self._observed_at = 0.0
        self._leading = asyncio.Event()

    @property
    def is_leader(self) -> bool:
        return self._leading.is_set()

    async def acquire(self) -> None:
        """Return once this candidate holds the lease."""
        while not await self._try_acquire_or_renew():
            await asyncio.sleep(self.retry_period * random.uniform(1.0, 1.2))
        self._leading.set()
        log.info("acquired lease %s/%s as %s", self.namespace, self.name, self.identity)

    async def hold(self) -> None:
        """Renew the lease until cancelled; raise ``LeadershipLost`` if it slips away."""
        last_renewal = time.monotonic()
        while True:
            await asyncio.sleep(self.retry_period)
            if await self._try_acquire_or_renew():
                last_renewal = time.monotonic()
            elif self._observed_holder() not in ("", self.identity):
                self._leading.clear()
                raise LeadershipLost(f"lease {self.namespace}/{self.name} taken by another holder")
            elif time.monotonic() - last_renewal > self.renew_deadline:
                self._leading.clear()
                raise LeadershipLost(f"could not renew lease {self.namespace}/{self.name}")

    async def release(self) -> None:
        """Give the lease up if we hold it (best effort)."""
        if not self._leading.is_set() or self._observed is None:
            return
        self._leading.clear()
        lease = self._observed
        for _ in range(2):
            if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            released = {
                **lease,
                "spec": {
                    **lease["spec"],
                    "holderIdentity": "",
                    "leaseDurationSeconds": 1,
                    "renewTime": _micro_time(),
                },
            }
            try:
                await self._client.replace(LEASES, released)
                log.info("released lease %s/%s", self.namespace, self.name)
                return
            except Conflict:  # our last renewal is not the latest version we hold: re-read
                try:
                    lease = await self._client.get(LEASES, self.name, self.namespace)
                except KubeError as err:
                    log.warning("cannot release lease %s/%s: %s", self.namespace, self.name, err)
                    return
            except KubeError as err:
                log.warning("cannot release lease %s/%s: %s", self.namespace, self.name, err)
                return

    def _observed_holder(self) -> str:
        return str(((self._observed or {}).get("spec") or {}).get("holderIdentity") or "")

    async def _try_acquire_or_renew(self) -> bool:
        now = _micro_time()
        try:
            lease = await self._client.get(LEASES, self.name, self.namespace)
        except NotFound:
            return await self._create(now)
        except KubeError as err:
            log.warning("cannot read lease %s/%s: %s", self.namespace, self.name, err)
            return False
        spec = lease.get("spec") or {}
        if self._observed is None or (self._observed.get("spec") or {}) != spec:
            self._observed, self._observed_at = lease, time.monotonic()
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
        expired = time.monotonic() >= self._observed_at + duration
        if holder and holder != self.identity and not expired:
            return False
        new_spec = {
            **spec,
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, round(self.lease_duration)),
            "renewTime": now,
        }
        if holder != self.identity:
            new_spec["acquireTime"] = now
            new_spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        try:
            updated = await self._client.replace(LEASES, {**lease, "spec": new_spec})
        except Conflict:
            return False
        except KubeError as err:
            log.warning("cannot update lease %s/%s: %s", self.namespace, self.name, err)
            return False
        self._observed, self._observed_at = updated, time.monotonic()
        return True

    async def _create(self, now: str) -> bool:
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": max(1, round(self.lease_duration)),
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        }
        try:
            created = await self._client.create(LEASES, lease)
        except KubeError as err:  # AlreadyExists: another candidate was faster
            log.debug("cannot create lease %s/%s: %s", self.namespace, self.name, err)
            return False
        self._observed, self._observed_at = created, time.monotonic()
        return True
