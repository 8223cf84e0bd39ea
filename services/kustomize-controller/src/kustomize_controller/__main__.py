"""`python -m kustomize_controller`: build and apply Flux Kustomizations."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from gotk_api.objects import Obj
from gotk_runtime import Manager, configure_logging

from kustomize_controller.kustomization import KustomizationReconciler
from kustomize_controller.options import parse_options
from kustomize_controller.source import SOURCE_API_VERSION, SOURCE_KINDS, revision_change_handler


async def run(argv: Sequence[str] | None = None, *, handle_signals: bool = True) -> None:
    options, kustomize_options = parse_options(argv)
    configure_logging(options.log_level, options.log_encoding)
    manager = await Manager.connect(options)
    reconciler = KustomizationReconciler(manager.client, manager.events, kustomize_options)
    manager.add_reconciler(reconciler)

    def kustomizations() -> list[Obj]:
        controller = manager.controllers.get(reconciler.kind)
        return list(controller.informer) if controller else []

    def enqueue(key: str) -> None:
        controller = manager.controllers.get(reconciler.kind)
        if controller is not None:
            controller.enqueue(key)

    # A new artifact revision reconciles the Kustomizations built from that source.
    for kind in SOURCE_KINDS:
        manager.watch(
            SOURCE_API_VERSION, kind, revision_change_handler(kind, kustomizations, enqueue)
        )
    await manager.run(handle_signals=handle_signals)


def main() -> None:
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
