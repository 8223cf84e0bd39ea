"""`python -m helm_controller`: release Flux HelmReleases with the Helm 4 binary."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from gotk_api.groups import SOURCE_GROUP, SOURCE_VERSION
from gotk_api.objects import Obj
from gotk_runtime import Manager, configure_logging

from helm_controller.helm_cli import HelmCLI
from helm_controller.helmrelease import HelmReleaseReconciler
from helm_controller.options import parse_options
from helm_controller.watches import chart_source_handler, values_source_handler


async def run(argv: Sequence[str] | None = None, *, handle_signals: bool = True) -> None:
    options, helm_options = parse_options(argv)
    configure_logging(options.log_level, options.log_encoding)
    manager = await Manager.connect(options)
    helm = HelmCLI()
    reconciler = HelmReleaseReconciler(manager.client, manager.events, helm_options, helm=helm)
    manager.add_reconciler(reconciler)

    def releases() -> list[Obj]:
        controller = manager.controllers.get(reconciler.kind)
        return list(controller.informer) if controller else []

    def enqueue(key: str) -> None:
        controller = manager.controllers.get(reconciler.kind)
        if controller is not None:
            controller.enqueue(key)

    source_api = f"{SOURCE_GROUP}/{SOURCE_VERSION}"
    chart_kinds = ["HelmChart", "OCIRepository"]
    if helm_options.allow_external_artifact:
        chart_kinds.append("ExternalArtifact")
    for kind in chart_kinds:
        manager.watch(source_api, kind, chart_source_handler(kind, releases, enqueue))
    selector = helm_options.watch_configs_label_selector
    for kind in ("ConfigMap", "Secret") if selector else ():
        manager.watch(
            "v1", kind, values_source_handler(kind, releases, enqueue), label_selector=selector
        )
    try:
        await manager.run(handle_signals=handle_signals)
    finally:
        await asyncio.to_thread(helm.close)


def main() -> None:
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
