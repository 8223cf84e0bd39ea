"""`gotk create`: apply what a builder made and wait for its first reconcile, or --export it."""

from __future__ import annotations

import asyncio
from typing import TextIO

from gotk_api.objects import Obj

from gotk_cli.cluster import Cluster
from gotk_cli.errors import CliError
from gotk_cli.log import Log
from gotk_cli.output import yaml_documents

__all__ = ["apply_and_wait", "export", "first_reconcile_done"]

POLL_INTERVAL = 0.5


def export(objects: list[Obj], out: TextIO) -> None:
    print(yaml_documents(objects), end="", file=out)


def _conditions(obj: Obj) -> dict[str, Obj]:
    return {c.get("type", ""): c for c in (obj.get("status") or {}).get("conditions") or ()}


def first_reconcile_done(obj: Obj) -> bool:
    """Ready is True or False for the object's current generation, with no pass in progress."""
    conditions = _conditions(obj)
    ready = conditions.get("Ready")
    if ready is None or ready.get("status") not in ("True", "False"):
        return False
    generation = obj["metadata"].get("generation", 0)
    if ready.get("observedGeneration", generation) < generation:
        return False
    reconciling = conditions.get("Reconciling", {})
    return not (reconciling.get("status") == "True" and reconciling.get("reason") == "Progressing")


async def apply_and_wait(
    cluster: Cluster, obj: Obj, *, label: str, log: Log, timeout: float, wait: bool = True
) -> Obj:
    """Apply ``obj`` (named ``label`` in messages, e.g. `GitRepository source`) and wait for
    its Ready result; a Ready=False is the command's failure, as in Flux."""
    metadata = obj["metadata"]
    log.generate(f"generating {label}")
    log.action(f"applying {label}")
    existed = await cluster.find(obj) is not None
    applied = await cluster.apply(obj)
    log.success(f"{label} {'updated' if existed else 'created'}")
    if not wait:
        return applied
    log.waiting(f"waiting for {label} reconciliation")
    resource = await cluster.resource_of(obj)
    try:
        async with asyncio.timeout(timeout):
            while not first_reconcile_done(applied):
                await asyncio.sleep(POLL_INTERVAL)
                applied = await cluster.client.get(
                    resource, metadata["name"], metadata.get("namespace")
                )
    except TimeoutError:
        raise CliError(
            f"timed out after {timeout:g}s waiting for {obj['kind']}"
            f" {metadata['namespace']}/{metadata['name']} to be reconciled"
        ) from None
    ready = _conditions(applied)["Ready"]
    if ready["status"] != "True":
        message = " ".join(str(ready.get("message", "")).split())
        raise CliError(
            f"{obj['kind']} {metadata['namespace']}/{metadata['name']} failed: {message}"
        )
    log.success(f"{label} reconciliation completed")
    return applied
