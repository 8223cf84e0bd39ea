"""Charts from an OCIRepository: the OCI digest of the revision, put in the chart version
(`<version>+<12 hex>`) and in the archive's Chart.yaml, everything else left as it was."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
import yaml
from helm_controller.chart import ChartArtifact, ChartLoadError, read_chart_metadata
from helm_controller.oci_chart import oci_revision_digest, pin_chart_version, version_with_digest

HEX = "0123456789abcdef" * 4


def artifact(revision: str) -> ChartArtifact:
    return ChartArtifact("OCIRepository", "ns", "demo", "http://x", revision, "sha256:other")


@pytest.mark.parametrize(
    ("revision", "digest"),
    [(f"1.0.0@sha256:{HEX}", f"sha256:{HEX}"), (f"sha256:{HEX}", f"sha256:{HEX}")],
)
def test_the_digest_comes_from_the_revision(revision: str, digest: str) -> None:
    assert oci_revision_digest(artifact(revision)) == digest


def test_a_revision_without_a_digest_is_an_artifact_failure() -> None:
    with pytest.raises(ChartLoadError, match="holds no OCI digest"):
        oci_revision_digest(artifact("1.0.0"))


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.0.0", "1.0.0+0123456789ab"), ("2.1.0-rc.1+build.5", "2.1.0-rc.1+0123456789ab")],
)
def test_the_version_gets_the_digest_as_build_metadata(version: str, expected: str) -> None:
    assert version_with_digest(version, f"sha256:{HEX}") == expected


def _archive(path: Path, files: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))


async def test_the_archive_chart_yaml_gets_the_pinned_version(tmp_path: Path) -> None:
    chart_yaml = yaml.safe_dump({"apiVersion": "v2", "name": "demo", "version": "1.0.0"})
    template = b"apiVersion: v1\nkind: ConfigMap\n"
    archive = tmp_path / "chart.tgz"
    _archive(
        archive,
        {
            "demo/Chart.yaml": chart_yaml.encode(),
            "demo/templates/cm.yaml": template,
            "demo/charts/sub/Chart.yaml": b"name: sub\nversion: 0.1.0\n",
        },
    )
    source = artifact(f"1.0.0@sha256:{HEX}")
    chart = await read_chart_metadata(archive, source)

    pinned = await pin_chart_version(archive, chart, f"sha256:{HEX}", source)

    assert pinned.version == "1.0.0+0123456789ab"
    assert (await read_chart_metadata(archive, source)).version == pinned.version
    names, files = _contents(archive)
    assert names == ["demo/Chart.yaml", "demo/templates/cm.yaml", "demo/charts/sub/Chart.yaml"]
    assert files["demo/templates/cm.yaml"] == template
    assert files["demo/charts/sub/Chart.yaml"] == b"name: sub\nversion: 0.1.0\n", (
        "subcharts keep their versions"
    )
    assert sorted(_listing(tmp_path)) == ["chart.tgz"], "no temp file left"


def _contents(archive: Path) -> tuple[list[str], dict[str, bytes]]:
    with tarfile.open(archive) as tar:
        files = {}
        for member in tar:
            handle = tar.extractfile(member)
            files[member.name] = handle.read() if handle else b""
        return tar.getnames(), files


def _listing(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir()]
