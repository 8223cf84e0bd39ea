"""`python -m source_controller`: reconcile Flux source objects and serve their artifacts."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from gotk_runtime import Manager, configure_logging

from source_controller.kinds import source_reconcilers, watch_chart_sources
from source_controller.options import parse_options
from source_controller.storage import ArtifactServer, ArtifactStorage


async def run(argv: Sequence[str] | None = None, *, handle_signals: bool = True) -> None:
    options, storage_options, helm_limits = parse_options(argv)
    configure_logging(options.log_level, options.log_encoding)
    storage_options.path.mkdir(parents=True, exist_ok=True)
    storage = ArtifactStorage(
        storage_options.path,
        storage_options.adv_addr,
        retention_ttl=storage_options.retention_ttl,
        retention_records=storage_options.retention_records,
    )
    manager = await Manager.connect(options)
    for reconciler in source_reconcilers(manager.client, storage, manager.events, helm_limits):
        manager.add_reconciler(reconciler)
    watch_chart_sources(manager)
    # Only the leader serves: a standby answers 503 until it takes over (as Flux, which
    # starts the file server on the leader only).
    server = ArtifactServer(storage.root, is_serving=lambda: manager.ready)
    host, _, port = storage_options.addr.rpartition(":")
    await server.start(host or "0.0.0.0", int(port))
    try:
        await manager.run(handle_signals=handle_signals)
    finally:
        await server.stop()


def main() -> None:
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
