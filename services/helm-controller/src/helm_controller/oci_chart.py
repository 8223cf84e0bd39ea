"""Charts from an OCIRepository carry the OCI digest in their version, as Flux's
`mutateChartWithSourceRevision` does: `<version>+<first 12 hex of the digest>`.

The digest is the manifest digest of the artifact's revision (`<tag>@sha256:<hex>`, or
`sha256:<hex>` when pinned by digest), not the digest of the stored tarball. The version is
written into the archive's own `Chart.yaml` before Helm sees it, so Helm's storage, `helm
list`, `status.history[].chartVersion`, `lastAttemptedRevision` and the events all say
the same, and a tag pushed again with the same chart version is a new version.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import tarfile
import tempfile
from dataclasses import replace
from pathlib import Path, PurePosixPath

import yaml

from helm_controller.chart import ChartArtifact, ChartLoadError, ChartMetadata

__all__ = ["oci_revision_digest", "pin_chart_version", "version_with_digest"]

_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$")


def oci_revision_digest(artifact: ChartArtifact) -> str:
    """The manifest digest in the OCIRepository artifact's revision."""
    digest = artifact.revision.rpartition("@")[2]
    if not _DIGEST.match(digest):
        raise ChartLoadError(
            f"artifact revision '{artifact.revision}' of {artifact} holds no OCI digest"
        )
    return digest


def version_with_digest(version: str, digest: str) -> str:
    """`version` with its build metadata replaced by the digest's first 12 hex characters."""
    return f"{version.partition('+')[0]}+{digest.partition(':')[2][:12]}"


async def pin_chart_version(
    archive: Path, chart: ChartMetadata, digest: str, artifact: ChartArtifact
) -> ChartMetadata:
    """Rewrite the archive's `Chart.yaml` with the digest in its version; return the chart."""
    version = version_with_digest(chart.version, digest)
    if version != chart.version:
        await asyncio.to_thread(_rewrite, archive, version, artifact)
    return replace(chart, version=version)


def _rewrite(archive: Path, version: str, artifact: ChartArtifact) -> None:
    fd, tmp = tempfile.mkstemp(dir=archive.parent, prefix=".chart-", suffix=".tgz")
    os.close(fd)
    try:
        with tarfile.open(archive, mode="r:*") as src, tarfile.open(tmp, mode="w:gz") as dst:
            for member in src:
                data = src.extractfile(member) if member.isfile() else None
                path = PurePosixPath(member.name)
                if data is not None and len(path.parts) == 2 and path.name == "Chart.yaml":
                    content = _with_version(data.read(), version, artifact)
                    member = _copy(member, len(content))
                    dst.addfile(member, io.BytesIO(content))
                else:
                    dst.addfile(member, data)
        os.replace(tmp, archive)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise ChartLoadError(f"chart artifact of {artifact} cannot be rewritten: {err}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _with_version(data: bytes, version: str, artifact: ChartArtifact) -> bytes:
    try:
        meta = yaml.safe_load(data)
    except yaml.YAMLError as err:
        raise ChartLoadError(f"Chart.yaml of {artifact} is not valid YAML: {err}") from None
    if not isinstance(meta, dict):
        raise ChartLoadError(f"Chart.yaml of {artifact} is not a mapping")
    meta["version"] = version
    return yaml.safe_dump(meta, sort_keys=False).encode()


def _copy(member: tarfile.TarInfo, size: int) -> tarfile.TarInfo:
    copied = tarfile.TarInfo(member.name)
    copied.size = size
    copied.mode, copied.mtime = member.mode, member.mtime
    copied.uid, copied.gid, copied.uname, copied.gname = (
        member.uid,
        member.gid,
        member.uname,
        member.gname,
    )
    return copied
