"""Checking packaged charts: metadata, hostile entries, size caps; packaging with real helm."""

from __future__ import annotations

import io
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
from source_controller.helm.chart_archive import inspect_chart_archive
from source_controller.helm.chart_build import (
    BuildOptions,
    build_local_chart,
    build_remote_chart,
    read_local_chart_metadata,
)
from source_controller.helm.errors import ChartPullError, ChartReferenceError, DependencyBuildError
from source_controller.helm.package import HelmPackager

CHART_YAML = b"apiVersion: v2\nname: app\nversion: 1.2.3\n"


def _tgz(path: Path, files: dict[str, bytes], *, symlink: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            link = tarfile.TarInfo(symlink)
            link.type = tarfile.SYMTYPE
            link.linkname = "/etc/passwd"
            tar.addfile(link)
    return path


def test_sound_chart_archive_yields_its_metadata(tmp_path: Path) -> None:
    archive = _tgz(tmp_path / "app.tgz", {"app/Chart.yaml": CHART_YAML, "app/values.yaml": b""})
    meta = inspect_chart_archive(archive)
    assert (meta.name, meta.version, meta.api_version) == ("app", "1.2.3", "v2")


@pytest.mark.parametrize(
    ("files", "symlink", "message"),
    [
        ({"app/Chart.yaml": CHART_YAML, "app/../../evil": b"x"}, None, "illegal entry path"),
        ({"/app/Chart.yaml": CHART_YAML}, None, "illegal entry path"),
        ({"app/Chart.yaml": CHART_YAML}, "app/link", "not a regular file"),
        ({"app/values.yaml": b""}, None, "no Chart.yaml"),
        ({"app/Chart.yaml": CHART_YAML, "other/x": b""}, None, "more than one top-level"),
        ({"app/Chart.yaml": b"name: app\nversion: latest\n"}, None, "not a valid SemVer"),
    ],
)
def test_hostile_or_broken_chart_archive_is_refused(
    tmp_path: Path, files: dict[str, bytes], symlink: str | None, message: str
) -> None:
    archive = _tgz(tmp_path / "app.tgz", files, symlink=symlink)
    with pytest.raises(ChartPullError, match=message):
        inspect_chart_archive(archive)


def test_file_above_the_per_file_cap_is_refused(tmp_path: Path) -> None:
    archive = _tgz(tmp_path / "app.tgz", {"app/Chart.yaml": CHART_YAML, "app/big": b"x" * 2048})
    with pytest.raises(ChartPullError, match="limit 1024"):
        inspect_chart_archive(archive, max_file_size=1024)


def test_not_a_gzip_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app.tgz").write_bytes(b"<html>not found</html>")
    with pytest.raises(ChartPullError, match=r"not a valid \.tgz"):
        inspect_chart_archive(tmp_path / "app.tgz")


async def test_remote_chart_is_repackaged_with_merged_values_and_metadata(tmp_path: Path) -> None:
    src = write_chart(
        tmp_path / "src", "app", "1.2.3", extra_files={"values-prod.yaml": "replicas: 3\n"}
    )
    await helm("package", str(src), "--destination", str(tmp_path), cwd=tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    options = BuildOptions(
        values_files=("values.yaml", "values-prod.yaml", "gone.yaml"),
        ignore_missing_values_files=True,
        version_metadata="2",
    )
    build = await build_remote_chart(
        tmp_path / "app-1.2.3.tgz", "app", "1.2.3+2", work, HelmPackager(work, timeout=60), options
    )
    assert build.packaged
    assert build.path is not None
    assert build.values_files == ["values.yaml", "values-prod.yaml"]
    assert build.summary() == (
        "packaged 'app' chart with version '1.2.3+2' and merged values files "
        "[values.yaml values-prod.yaml]"
    )
    with tarfile.open(build.path) as tar:
        values = tar.extractfile("app/values.yaml").read()  # type: ignore[union-attr]
        chart_yaml = tar.extractfile("app/Chart.yaml").read()  # type: ignore[union-attr]
    assert values == b"replicas: 3\n"
    assert b"version: 1.2.3+2" in chart_yaml


async def test_local_chart_with_local_dependency_is_packaged(tmp_path: Path) -> None:
    root = tmp_path / "source"
    write_chart(root / "charts", "common", "0.1.0")
    deps = [{"name": "common", "version": "0.1.0", "repository": "file://../common"}]
    chart_dir = write_chart(root / "charts", "app", "1.0.0", dependencies=deps)
    meta = read_local_chart_metadata(chart_dir, "charts/app", 1 << 20)
    work = tmp_path / "work"
    work.mkdir()
    build = await build_local_chart(
        root, chart_dir, meta, "1.0.0", work, HelmPackager(work, timeout=60), BuildOptions(), []
    )
    assert build.resolved_dependencies == 1
    assert build.path is not None
    with tarfile.open(build.path) as tar:
        assert "app/charts/common/Chart.yaml" in tar.getnames()


async def test_local_dependency_outside_the_source_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "source"
    deps = [{"name": "x", "version": "0.1.0", "repository": "file://../../../elsewhere"}]
    chart_dir = write_chart(root / "charts", "app", "1.0.0", dependencies=deps)
    meta = read_local_chart_metadata(chart_dir, "charts/app", 1 << 20)
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(DependencyBuildError, match="outside the source root"):
        await build_local_chart(
            root, chart_dir, meta, "1.0.0", work, HelmPackager(work, timeout=60), BuildOptions(), []
        )


def test_missing_chart_in_source_is_an_invalid_chart_reference(tmp_path: Path) -> None:
    with pytest.raises(ChartReferenceError, match="no chart found at path 'charts/nope'"):
        read_local_chart_metadata(tmp_path / "charts" / "nope", "charts/nope", 1 << 20)


HOSTILE_CHARTS = [
    pytest.param(
        lambda p: huge_extended_header_tgz(p, tarfile.XHDTYPE, 256 * MIB),
        "illegal entry path.*extended header of 268435456 bytes",
        id="256MiB-pax-header",
    ),
    pytest.param(
        lambda p: huge_extended_header_tgz(p, tarfile.GNUTYPE_LONGNAME, 256 * MIB),
        "extended header of 268435456 bytes",
        id="256MiB-gnu-long-name",
    ),
    pytest.param(negative_size_tgz, "declares a negative size", id="negative-pax-size"),
    pytest.param(
        lambda p: dir_entries_tgz(p, 50_000), "more than 10000 entries", id="50k-directories"
    ),
]


@pytest.mark.parametrize(("build", "message"), HOSTILE_CHARTS)
def test_small_hostile_chart_archive_is_refused_in_bounded_memory_and_time(
    tmp_path: Path, build: Callable[[Path], Path], message: str
) -> None:
    """Each archive is under 2 MiB; seekable tarfile would allocate 256 MiB, keep 50k
    TarInfos, or loop forever on it."""
    archive = build(tmp_path / "app-1.0.0.tgz")
    assert archive.stat().st_size < 2 * MIB
    with bounded(8 * MIB, 30.0), pytest.raises(ChartPullError, match=message) as caught:
        inspect_chart_archive(archive)
    assert "app-1.0.0.tgz" in str(caught.value)


def test_chart_yaml_alias_bomb_is_refused(tmp_path: Path) -> None:
    bomb = b"name: app\nversion: 1.0.0\na: &a [" + b"x," * 1000 + b"x]\n"
    bomb += b"b: &b [" + b"*a," * 1000 + b"*a]\nc: [" + b"*b," * 1000 + b"*b]\n"
    archive = _tgz(tmp_path / "app.tgz", {"app/Chart.yaml": bomb})
    with pytest.raises(ChartPullError, match="alias"):
        inspect_chart_archive(archive)
