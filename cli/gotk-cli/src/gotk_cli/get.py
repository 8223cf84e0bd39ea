"""`gotk get`: one table per kind, like `flux get`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from gotk_cli.cluster import Cluster
from gotk_cli.errors import CrdNotInstalled
from gotk_cli.kinds import CliKind
from gotk_cli.log import Log
from gotk_cli.table import HEADER, format_table, row

__all__ = ["get"]


async def get(
    cluster: Cluster,
    kinds: Sequence[CliKind],
    namespace: str | None,
    *,
    every_kind: bool,
    out: TextIO,
    log: Log,
) -> None:
    """Print the objects of ``kinds`` in ``namespace`` (``None``: all namespaces).

    With ``every_kind`` (`get all`, `get sources all`) names read `kind/name`, and kinds
    with no objects or no CRD are left out silently, as Flux does.
    """
    with_namespace = namespace is None
    header = ("NAMESPACE", *HEADER) if with_namespace else HEADER
    tables: list[str] = []
    for kind in kinds:
        try:
            objects = await cluster.list(kind, namespace)
        except CrdNotInstalled:
            if every_kind:
                continue
            raise
        if not objects:
            if not every_kind:
                where = "in any namespace" if with_namespace else f"in {namespace} namespace"
                log.failure(f"no {kind.kind} objects found {where}")
            continue
        objects.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        rows = [
            row(kind, obj, prefix_kind=every_kind, with_namespace=with_namespace) for obj in objects
        ]
        tables.append(format_table(header, rows))
    if tables:
        print("\n\n".join(tables), file=out)
