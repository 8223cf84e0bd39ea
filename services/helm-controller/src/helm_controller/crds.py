"""The chart's `crds/` directory under the Create and CreateReplace policies.

Helm installs `crds/` only on a first install and never touches them again; Flux goes
further: on upgrade, Create creates the CRDs that do not exist yet and CreateReplace
updates them all (and install with CreateReplace replaces existing ones). gotk does the
same with the release's own client (impersonation included) before running helm, which
then gets `--skip-crds`.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path, PurePosixPath

import yaml
from gotk_api.conditions import INSTALL_FAILED_REASON
from gotk_api.errors import GotkError
from gotk_api.objects import Obj
from gotk_artifacts import ArtifactError, scan_archive
from gotk_artifacts.yaml_guard import load_all_yaml
from gotk_runtime import AlreadyExists, KubeClient, KubeError, Resource

from helm_controller.chart import CHART_LIMITS
from helm_controller.options import FIELD_MANAGER

__all__ = ["CRDError", "apply_chart_crds", "chart_crds"]

CRDS = Resource(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False
)


class CRDError(GotkError):
    """A chart CRD cannot be read or applied."""

    reason = INSTALL_FAILED_REASON


def chart_crds(archive: Path) -> list[Obj]:
    """The CustomResourceDefinitions in `<chart>/crds/` of a chart archive (not subcharts')."""
    try:
        scan = scan_archive(archive, read=_is_crd_file, limits=CHART_LIMITS)
    except ArtifactError as err:
        raise CRDError(f"cannot read the chart's CRDs: {err}") from None
    found: list[Obj] = []
    for name, data in scan.files.items():
        try:
            docs = load_all_yaml(data.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            raise CRDError(f"cannot read the chart's CRD file '{name}': {err}") from None
        found.extend(
            d for d in docs if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"
        )
    return found


def _is_crd_file(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return len(parts) >= 3 and parts[1] == "crds" and path.endswith((".yaml", ".yml", ".json"))


async def apply_chart_crds(client: KubeClient, archive: Path, policy: str) -> int:
    """Create (policy Create) or create-and-update (CreateReplace) the chart's CRDs."""
    crds = await asyncio.to_thread(chart_crds, archive)
    for crd in crds:
        name = (crd.get("metadata") or {}).get("name", "?")
        try:
            if policy == "CreateReplace":
                await client.apply(CRDS, crd, field_manager=FIELD_MANAGER, force=True)
            else:
                with contextlib.suppress(AlreadyExists):
                    await client.create(CRDS, crd)
        except KubeError as err:
            raise CRDError(f"failed to apply chart CRD '{name}': {err.message}") from None
    return len(crds)
