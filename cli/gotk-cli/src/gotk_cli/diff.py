"""`gotk diff kustomization NAME --path DIR`: what applying the local build would change.

Each built object is dry-run server-side as kustomize-controller's field manager
(``gotk_ssa.diff``) and compared with its live copy; a changed object is shown as a
unified diff of the two, Secret values masked. With ``spec.prune``, objects of the live
inventory the build no longer has are reported as deleted. Any difference is a failure
(exit 1), as with `flux diff`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from gotk_api.kustomize import Kustomization
from gotk_api.objects import Obj
from gotk_ssa import Action, ApplyError, Diff, diff, inventory_from_objects, stale_refs
from kustomize_controller.apply_options import apply_options
from kustomize_controller.options import CONTROLLER_NAME

from gotk_cli.build import BuildRequest, build
from gotk_cli.cluster import Cluster
from gotk_cli.errors import CliError
from gotk_cli.log import Log
from gotk_cli.masking import mask_secret_pair
from gotk_cli.output import to_yaml
from gotk_cli.style import Style

__all__ = [
    "CHANGED",
    "DiffReport",
    "diff_kustomization",
    "print_diffs",
    "raise_for_report",
    "unified_diff",
]

CHANGED = "identified at least one change, exiting with non-zero exit code"
"""Flux's message for the exit code 1 of a diff that found something."""

_SERVER_FIELDS = ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation")


@dataclass
class DiffReport:
    diffs: list[Diff]
    deleted: list[str]
    errors: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.deleted) or any(d.entry.action.changed for d in self.diffs)


async def diff_kustomization(cluster: Cluster, request: BuildRequest, log: Log) -> DiffReport:
    """Build as `gotk build` does, then dry-run every object against the cluster."""
    built = await build(cluster, request, log)
    ks = Kustomization.model_validate(built.kustomization)
    options = apply_options(ks, CONTROLLER_NAME)
    diffs: list[Diff] = []
    errors: list[str] = []
    for obj in built.objects:
        try:
            diffs.append(await diff(cluster.client, obj, options))
        except ApplyError as err:
            # Flux gathers the failures and goes on, so every diff is still shown.
            errors.append(str(err))
    deleted: list[str] = []
    if ks.spec.prune and not errors:
        new = inventory_from_objects(d.entry.ref.as_object() for d in diffs)
        deleted = [str(ref) for ref in stale_refs(ks.status.inventory, new)]
    return DiffReport(diffs, deleted, errors)


def print_diffs(report: DiffReport, out: TextIO, style: Style) -> None:
    """`► Kind/namespace/name created|configured|unchanged|skipped|deleted` lines, each
    configured one followed by its unified diff."""
    colours = {Action.CREATED: "green", Action.CONFIGURED: "yellow"}
    for item in report.diffs:
        action = item.entry.action
        line = f"► {item.entry.ref} {action}"
        print(style.paint(line, colours[action]) if action in colours else line, file=out)
        if action is Action.CONFIGURED:
            live, merged = mask_secret_pair(item.live, item.merged)
            out.write(unified_diff(live, merged, style))
    for ref in report.deleted:
        print(style.paint(f"► {ref} deleted", "red"), file=out)


def unified_diff(live: Obj | None, merged: Obj | None, style: Style) -> str:
    """The live and dry-run objects as YAML, without what only the server sets."""
    before = _lines(live)
    after = _lines(merged)
    lines = []
    for line in difflib.unified_diff(before, after, "live", "merged", lineterm=""):
        if line.startswith(("+++", "---")):
            lines.append(style.paint(line, "bold"))
        elif line.startswith("+"):
            lines.append(style.paint(line, "green"))
        elif line.startswith("-"):
            lines.append(style.paint(line, "red"))
        else:
            lines.append(line)
    return "".join(f"{line}\n" for line in lines)


def _lines(obj: Obj | None) -> Sequence[str]:
    if obj is None:
        return []
    shown = {k: v for k, v in obj.items() if k != "status"}
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SERVER_FIELDS}
    shown["metadata"] = metadata
    return to_yaml(shown).splitlines()


def raise_for_report(report: DiffReport) -> None:
    """The command's outcome: API failures first, then Flux's exit 1 on a change."""
    if report.errors:
        raise CliError("; ".join(report.errors))
    if report.changed:
        raise CliError(CHANGED)
