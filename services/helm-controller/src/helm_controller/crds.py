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
import tarfile
from pathlib import Path, PurePosixPath
from typing import Final

import yaml
from gotk_api.conditions import INSTALL_FAILED_REASON
from gotk_api.errors import GotkError
from gotk_api.objects import Obj
from gotk_runtime import AlreadyExists, KubeClient, KubeError, Resource

from helm_controller.options import FIELD_MANAGER

__all__ = ["CRDError", "apply_chart_crds", "chart_crds"]

CRDS = Resource(
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False
)
_MAX_CRD_FILE: Final = 5 << 20


class CRDError(GotkError):
    """A chart CRD cannot be read or applied."""

    reason = INSTALL_FAILED_REASON


def chart_crds(archive: Path) -> list[Obj]:
    """The CustomResourceDefinitions in `<chart>/crds/` of a chart archive (not subcharts')."""
    found: list[Obj] = []
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for member in tar:
                parts = PurePosixPath(member.name).parts
                if len(parts) < 3 or parts[1] != "crds" or not member.isfile():
                    continue
                if not member.name.endswith((".yaml", ".yml", ".json")):
                    continue
                if member.size > _MAX_CRD_FILE:
                    raise CRDError(f"chart CRD file '{member.name}' is too large")
                handle = tar.extractfile(member)
                text = handle.read().decode("utf-8") if handle else ""
                for doc in yaml.safe_load_all(text):
                    if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                        found.append(doc)
    except (tarfile.TarError, OSError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise CRDError(f"cannot read the chart's CRDs: {err}") from None
    return found


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
