"""`python -m kustomize_controller`: build and apply Flux Kustomizations."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from gotk_api.objects import Obj
from gotk_artifacts.revision import brings_new_artifact
from gotk_runtime import Manager, configure_logging

from kustomize_controller.kustomization import KustomizationReconciler
from kustomize_controller.options import parse_options
from kustomize_controller.source import (
    SOURCE_API_VERSION,
    SOURCE_KINDS,
    needs_revision,
    source_references,
)


async def run(argv: Sequence[str] | None = None, *, handle_signals: bool = True) -> None:
    options, kustomize_options = parse_options(argv)
    configure_logging(options.log_level, options.log_encoding)
    manager = await Manager.connect(options)
    # A new artifact revision reconciles the Kustomizations built from that source, and the
    # same watch's cache is where a reconcile reads its source.
    sources = manager.index_referrers(KustomizationReconciler.kind, source_references)
    caches = {
        kind: manager.watch(
            SOURCE_API_VERSION,
            kind,
            sources.on_change(kind, brings_new_artifact, wants=needs_revision),
        )
        for kind in SOURCE_KINDS
    }

    def cached_source(kind: str, namespace: str, name: str) -> Obj | None:
        watched = caches.get(kind)
        return watched.get(namespace, name) if watched else None

    reconciler = KustomizationReconciler(
        manager.client, manager.events, kustomize_options, source_cache=cached_source
    )
    manager.add_reconciler(reconciler)
    await manager.run(handle_signals=handle_signals)


def main() -> None:
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
