"""`gotk get`: one table per kind, like `flux get`; JSON or YAML with -o; --watch."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from gotk_api.objects import Obj

from gotk_cli.cluster import Cluster
from gotk_cli.columns import Columns, StatusSelector
from gotk_cli.errors import CliError, CrdNotInstalled
from gotk_cli.kinds import CliKind
from gotk_cli.output import as_list, to_json, to_yaml
from gotk_cli.style import Style, terminal_width
from gotk_cli.table import Table

__all__ = ["GetOptions", "get", "watch"]


@dataclass(frozen=True)
class GetOptions:
    """``namespace`` None lists every namespace; ``every_kind`` is `get all`/`sources all`."""

    namespace: str | None
    name: str | None = None
    every_kind: bool = False
    label_selector: str | None = None
    status_selector: str | None = None
    output: str = "table"  # table, wide, json, yaml
    no_header: bool = False
    show_source: bool = False
    no_color: bool = False

    def columns(self) -> Columns:
        return Columns(
            with_namespace=self.namespace is None,
            prefix_kind=self.every_kind,
            show_source=self.show_source,
            wide=self.output == "wide",
        )

    def where(self) -> str:
        return "any namespace" if self.namespace is None else f'"{self.namespace}" namespace'


def _sorted(objects: list[Obj]) -> list[Obj]:
    return sorted(
        objects, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"])
    )


async def _objects(cluster: Cluster, kind: CliKind, options: GetOptions) -> tuple[list[Obj], str]:
    objects, version = await cluster.list_with_version(
        kind, options.namespace, label_selector=options.label_selector
    )
    if options.name is not None:
        objects = [o for o in objects if o["metadata"]["name"] == options.name]
    if options.status_selector:
        selector = StatusSelector.parse(options.status_selector)
        objects = [o for o in objects if selector.matches(o)]
    return _sorted(objects), version


def _table(kind: CliKind, options: GetOptions, out: TextIO) -> Table:
    columns = options.columns()
    return Table(
        columns.header(kind),
        style=Style.for_stream(out, no_color=options.no_color),
        status_column=columns.status_column(kind),
        width=None if options.output == "wide" else terminal_width(out),
    )


async def get(cluster: Cluster, kinds: Sequence[CliKind], options: GetOptions, out: TextIO) -> None:
    """Print the objects of ``kinds``.

    With ``every_kind`` names read `kind/name`, and kinds with no objects or no CRD are left
    out silently, as Flux does; otherwise finding nothing is an error (exit 1), as in Flux.
    """
    if options.status_selector:
        StatusSelector.parse(options.status_selector)
    found: list[Obj] = []
    tables: list[str] = []
    for kind in kinds:
        try:
            objects, _ = await _objects(cluster, kind, options)
        except CrdNotInstalled:
            if options.every_kind:
                continue
            raise
        if not objects:
            if options.every_kind:
                continue
            if options.name is not None:
                raise CliError(
                    f"{kind.kind} object '{options.name}' not found in {options.where()}"
                )
            raise CliError(f"no {kind.kind} objects found in {options.where()}")
        found.extend(objects)
        columns = options.columns()
        table = _table(kind, options, out)
        tables.append(
            table.render([columns.row(kind, o) for o in objects], header=not options.no_header)
        )
    if options.output == "json":
        print(to_json(as_list(found)), file=out)
    elif options.output == "yaml":
        print(to_yaml(as_list(found)), end="", file=out)
    elif tables:
        print("\n\n".join(tables), file=out, flush=True)


async def watch(
    cluster: Cluster, kind: CliKind, options: GetOptions, out: TextIO, *, timeout: float
) -> None:
    """Print the table, then a row for every change, until ``timeout`` (as `flux get -w`)."""
    if options.output in ("json", "yaml"):
        raise CliError("--watch prints a table; it cannot be combined with -o json|yaml")
    objects, version = await _objects(cluster, kind, options)
    columns = options.columns()
    table = _table(kind, options, out)
    selector = StatusSelector.parse(options.status_selector) if options.status_selector else None
    rows = [columns.row(kind, o) for o in objects]
    if rows or not options.no_header:
        print(table.render(rows, header=not options.no_header), file=out, flush=True)
    resource = await cluster.resource(kind)
    field_selector = f"metadata.name={options.name}" if options.name else None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            async for event in cluster.watch(
                resource,
                options.namespace,
                version,
                label_selector=options.label_selector,
                field_selector=field_selector,
            ):
                if selector is not None and not selector.matches(event.object):
                    continue
                line = table.render([columns.row(kind, event.object)], header=False)
                print(line, file=out, flush=True)
