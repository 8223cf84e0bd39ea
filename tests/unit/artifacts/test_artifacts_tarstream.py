"""Small archives that would cost a seekable `tarfile` GiBs or forever are refused cheaply.

Each archive here is a few hundred KiB on disk. Read with `tarfile.open(path, "r:gz")`, the
first would make Python allocate its whole 256 MiB PAX header, the second keeps a TarInfo
for each of its entries, and the third loops forever on Python 3.11.7 (a negative PAX
`size` sends the reader back to the same header). Through gotk_artifacts each is refused
(or, for many entries without a cap, read in constant memory) while Python's allocations,
measured with tracemalloc, stay under a few MiB.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures.hostile_archives import (
    MIB,
    bounded,
    dir_entries_tgz,
    huge_extended_header_tgz,
    negative_size_tgz,
)
from gotk_artifacts import (
    ArtifactError,
    ExtractLimits,
    TooManyEntries,
    UnsafeArchiveEntry,
    extract_archive,
    scan_archive,
)
from gotk_artifacts.errors import CorruptArchive
from gotk_artifacts.extract import UNLIMITED
from gotk_artifacts.tarstream import tar_members

_MIB = MIB


def _header(name: str, type_: bytes, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.type = type_
    info.size = size
    info.mtime = 0
    return info.tobuf(tarfile.USTAR_FORMAT)


def _pad(size: int) -> bytes:
    return bytes(-size % 512)


Reader = Callable[[Path, Path], Any]
READERS: list[Any] = [
    pytest.param(lambda a, _t: scan_archive(a, limits=ExtractLimits(None, None, None)), id="scan"),
    pytest.param(lambda a, t: extract_archive(a, t, limits=UNLIMITED), id="extract"),
]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    "type_",
    [tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME],
    ids=["pax", "global", "gnu"],
)
def test_huge_extended_header_is_refused_before_it_is_read(
    tmp_path: Path, reader: Reader, type_: bytes
) -> None:
    archive = huge_extended_header_tgz(tmp_path / "chart.tgz", type_, 256 * _MIB)
    assert archive.stat().st_size < 2 * _MIB
    with bounded(4 * _MIB, 30.0), pytest.raises(UnsafeArchiveEntry, match="extended header"):
        reader(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("reader", READERS)
def test_negative_pax_size_is_refused_not_looped_on(tmp_path: Path, reader: Reader) -> None:
    archive = negative_size_tgz(tmp_path / "chart.tgz")
    with bounded(4 * _MIB, 30.0), pytest.raises(CorruptArchive, match="negative size"):
        reader(archive, tmp_path / "out")


def test_global_headers_are_capped_in_total(tmp_path: Path) -> None:
    """Each global PAX header is copied into every later entry: many small ones are refused."""
    record = b"30 comment=" + b"g" * 18 + b"\n"
    with gzip.open(tmp_path / "g.tgz", "wb") as out:
        for i in range(3000):
            out.write(_header("pax_global_header", tarfile.XGLTYPE, len(record)))
            out.write(record + _pad(len(record)))
            out.write(_header(f"d{i}/", tarfile.DIRTYPE, 0))
        out.write(bytes(1024))
    with pytest.raises(UnsafeArchiveEntry, match="global headers"):
        scan_archive(tmp_path / "g.tgz")


def test_a_long_chain_of_extended_headers_is_refused(tmp_path: Path) -> None:
    """tarfile recurses once per extended header in a row; a thousand would overflow."""
    record = b"17 comment=abcd\n"
    with gzip.open(tmp_path / "chain.tgz", "wb") as out:
        for _ in range(2000):
            out.write(_header("././@PaxHeader", tarfile.XHDTYPE, len(record)))
            out.write(record + _pad(len(record)))
        out.write(_header("f", tarfile.REGTYPE, 0) + bytes(1024))
    with pytest.raises(UnsafeArchiveEntry, match="extended headers in a row"):
        scan_archive(tmp_path / "chain.tgz")


def test_entry_cap_stops_a_million_entry_archive_early(tmp_path: Path) -> None:
    archive = dir_entries_tgz(tmp_path / "dirs.tgz", 200_000)
    assert archive.stat().st_size < 4 * _MIB
    with bounded(4 * _MIB, 30.0), pytest.raises(TooManyEntries, match="10000 entries"):
        scan_archive(archive, limits=ExtractLimits(max_entries=10_000))


def test_entries_are_forgotten_as_the_stream_moves_on(tmp_path: Path) -> None:
    """Without an entry cap, memory does not grow with the number of entries read."""
    archive = dir_entries_tgz(tmp_path / "dirs.tgz", 30_000)
    seen = 0
    with (
        bounded(2 * _MIB, 60.0),
        archive.open("rb") as raw,
        tar_members(raw, None, UNLIMITED) as members,
    ):
        for _tar, _member in members:
            seen += 1
    assert seen == 30_000


def test_scan_lists_entries_and_reads_only_what_is_asked(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in (("c/Chart.yaml", b"name: c\n"), ("c/values.yaml", b"x: 1\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("c/link")
        link.type, link.linkname = tarfile.SYMTYPE, "values.yaml"
        tar.addfile(link)
    scan = scan_archive(io.BytesIO(raw.getvalue()), read=lambda p: p.endswith("Chart.yaml"))
    assert [(e.path, e.kind) for e in scan.entries] == [
        ("c/Chart.yaml", "file"),
        ("c/values.yaml", "file"),
        ("c/link", "symlink"),
    ]
    assert scan.files == {"c/Chart.yaml": b"name: c\n"}
    assert scan.total_bytes == 13


@pytest.mark.parametrize(
    ("name", "type_", "error"),
    [
        ("../escape", tarfile.REGTYPE, UnsafeArchiveEntry),
        ("/abs", tarfile.REGTYPE, UnsafeArchiveEntry),
        ("dev", tarfile.CHRTYPE, UnsafeArchiveEntry),
    ],
)
def test_scan_refuses_what_extraction_refuses(
    name: str, type_: bytes, error: type[ArtifactError]
) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.type = type_
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(error):
        scan_archive(io.BytesIO(raw.getvalue()))


def test_archive_cap_bounds_any_archive_that_unpacks_within_the_limits() -> None:
    limits = ExtractLimits()
    stream, cap = limits.stream_cap(), limits.archive_cap()
    assert stream is not None
    assert cap is not None
    incompressible = gzip.compress(bytes(range(256)) * 4096, compresslevel=0)
    assert len(incompressible) / (256 * 4096) < cap / stream
    assert ExtractLimits(None).archive_cap() is None
