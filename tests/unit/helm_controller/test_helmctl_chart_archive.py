"""helm-controller reads Chart.yaml and crds/ from the chart archive as a bounded stream.

A chart reaches helm-controller from any source it may reference (a HelmChart, an
OCIRepository layer copied as is), so its archive is as untrusted as a download.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.helm_repo import helm, write_chart
from fixtures.hostile_archives import (
    MIB,
    bounded,
    dir_entries_tgz,
    huge_extended_header_tgz,
    negative_size_tgz,
)
from helm_controller.chart import ChartArtifact, ChartLoadError, read_chart_metadata
from helm_controller.crds import CRDError, chart_crds

ARTIFACT = ChartArtifact(
    kind="HelmChart",
    namespace="ns",
    name="app",
    url="http://source-controller/helmchart/ns/app/app-1.0.0.tgz",
    revision="1.0.0",
    digest="sha256:" + "a" * 64,
)
CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true}]
"""

HOSTILE = [
    pytest.param(
        lambda p: huge_extended_header_tgz(p, tarfile.XHDTYPE, 256 * MIB),
        "extended header",
        id="256MiB-pax-header",
    ),
    pytest.param(negative_size_tgz, "negative size", id="negative-pax-size"),
    pytest.param(lambda p: dir_entries_tgz(p, 50_000), "10000 entries", id="50k-directories"),
]


async def test_metadata_and_crds_come_from_a_chart_packaged_by_helm(tmp_path: Path) -> None:
    chart = write_chart(tmp_path / "src", "app", "1.0.0", extra_files={"crds/widget.yaml": CRD})
    await helm("package", str(chart), "--destination", str(tmp_path), cwd=tmp_path)
    archive = tmp_path / "app-1.0.0.tgz"
    meta = await read_chart_metadata(archive, ARTIFACT)
    assert (meta.name, meta.version, meta.app_version) == ("app", "1.0.0", "1.0")
    assert [c["metadata"]["name"] for c in chart_crds(archive)] == ["widgets.example.com"]


@pytest.mark.parametrize(("build", "message"), HOSTILE)
async def test_a_hostile_chart_archive_is_refused_in_bounded_memory(
    tmp_path: Path, build: Callable[[Path], Path], message: str
) -> None:
    archive = build(tmp_path / "app-1.0.0.tgz")
    with bounded(8 * MIB, 30.0):
        with pytest.raises(ChartLoadError, match=message) as caught:
            await read_chart_metadata(archive, ARTIFACT)
        with pytest.raises(CRDError, match=message):
            chart_crds(archive)
    assert "HelmChart" in str(caught.value)
